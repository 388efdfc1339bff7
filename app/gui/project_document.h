#pragma once
// The open project as the GUI edits it: the Project value, its file, and an undo stack on which
// every edit is one command holding the project before and after. Whole-project snapshots keep
// every kind of edit undoable with one command class; a project is a few kilobytes.

#include <QObject>
#include <QString>
#include <QUndoStack>

#include "project/project.h"

namespace sbiw::gui {

class ProjectDocument : public QObject {
    Q_OBJECT
  public:
    explicit ProjectDocument(QObject* parent = nullptr);

    const Project& project() const { return project_; }
    const QString& path() const { return path_; }  // empty until saved
    QString displayName() const;                   // file name, or "Untitled"
    bool isModified() const { return !undoStack_.isClean(); }
    QUndoStack* undoStack() { return &undoStack_; }

    // New or opened project: replaces everything and clears the undo history.
    void reset(const Project& project, const QString& path);
    // Loads `path`; on failure returns the problems (one per line) and leaves the document alone.
    QString open(const QString& path);
    // Saves atomically to `path` (or the current path when empty). Returns an error or "".
    QString save(const QString& path = {});

    // One undoable edit: `text` names it in the Edit menu ("Change prior of theta_1").
    // Nothing is pushed when `changed` equals the current project. Edits with the same
    // non-negative `mergeKey` in a row merge into one undo step (typing in a field).
    void edit(const QString& text, const Project& changed, int mergeKey = -1);

  Q_SIGNALS:
    void projectChanged();
    void pathChanged(const QString& path);
    void modifiedChanged(bool modified);

  private:
    friend class ProjectEditCommand;
    void setProject(const Project& project);

    Project project_;
    QString path_;
    QUndoStack undoStack_;
};

}  // namespace sbiw::gui
