#include "gui/project_document.h"

#include <QDir>
#include <QFileInfo>
#include <QUndoCommand>

#include "qt/project_file.h"

namespace sbiw::gui {

class ProjectEditCommand : public QUndoCommand {
  public:
    ProjectEditCommand(ProjectDocument* document, const QString& text, Project before,
                       Project after, int mergeKey)
        : QUndoCommand(text),
          document_(document),
          before_(std::move(before)),
          after_(std::move(after)),
          mergeKey_(mergeKey) {}

    void undo() override { document_->setProject(before_); }
    void redo() override { document_->setProject(after_); }
    int id() const override { return mergeKey_; }
    bool mergeWith(const QUndoCommand* other) override {
        const auto* next = static_cast<const ProjectEditCommand*>(other);
        if (next->mergeKey_ != mergeKey_ || mergeKey_ < 0)
            return false;
        after_ = next->after_;
        return true;
    }

  private:
    ProjectDocument* document_;
    Project before_, after_;
    int mergeKey_;
};

ProjectDocument::ProjectDocument(QObject* parent) : QObject(parent) {
    connect(&undoStack_, &QUndoStack::cleanChanged, this,
            [this](bool clean) { Q_EMIT modifiedChanged(!clean); });
}

QString ProjectDocument::displayName() const {
    return path_.isEmpty() ? QStringLiteral("Untitled") : QFileInfo(path_).fileName();
}

void ProjectDocument::reset(const Project& project, const QString& path) {
    undoStack_.clear();
    project_ = project;
    path_ = path;
    undoStack_.setClean();
    Q_EMIT pathChanged(path_);
    Q_EMIT projectChanged();
    Q_EMIT modifiedChanged(false);
}

QString ProjectDocument::open(const QString& path) {
    const ProjectLoadResult loaded = loadProject(path);
    if (!loaded.ok())
        return loaded.errorText();
    reset(*loaded.project, QFileInfo(path).absoluteFilePath());
    return {};
}

namespace {

// A project saved into another folder keeps pointing at the same simulator files: its relative
// paths are made relative to the new folder (absolute when the file lies outside it).
Project rebased(Project project, const QString& newFolder) {
    const QDir oldBase(project.baseDirectory.empty()
                           ? QDir::currentPath()
                           : QString::fromStdString(project.baseDirectory));
    const QDir newBase(newFolder);
    if (oldBase.absolutePath() == newBase.absolutePath())
        return project;
    const auto move = [&](std::string& path, bool onlyExistingFiles) {
        const QString text = QString::fromStdString(path);
        if (text.isEmpty() || QDir::isAbsolutePath(text))
            return;
        const QString absolute = oldBase.absoluteFilePath(text);
        if (onlyExistingFiles && !QFileInfo(absolute).isFile())
            return;
        const QString relative = newBase.relativeFilePath(absolute);
        path = (relative.startsWith("..") ? absolute : relative).toStdString();
    };
    SimulatorBinding& b = project.simulator;
    move(b.script, false);
    move(b.library, false);
    move(b.csv, false);
    for (std::size_t i = 0; i < b.command.size(); ++i)
        // The program when given as a path (a bare name is looked up on PATH), files among the
        // arguments.
        if (i > 0 || b.command[i].find('/') != std::string::npos)
            move(b.command[i], i > 0);
    project.baseDirectory = newBase.absolutePath().toStdString();
    return project;
}

}  // namespace

QString ProjectDocument::save(const QString& path) {
    const QString target = path.isEmpty() ? path_ : path;
    if (target.isEmpty())
        return QStringLiteral("the project has no file name yet");
    const Project moved = rebased(project_, QFileInfo(target).absolutePath());
    if (const QString error = saveProject(moved, target); !error.isEmpty())
        return error;
    project_ = moved;
    undoStack_.setClean();
    const QString absolute = QFileInfo(target).absoluteFilePath();
    if (absolute != path_) {
        path_ = absolute;
        Q_EMIT pathChanged(path_);
    }
    return {};
}

void ProjectDocument::edit(const QString& text, const Project& changed, int mergeKey) {
    if (changed == project_)
        return;
    undoStack_.push(new ProjectEditCommand(this, text, project_, changed, mergeKey));
}

void ProjectDocument::setProject(const Project& project) {
    project_ = project;
    Q_EMIT projectChanged();
}

}  // namespace sbiw::gui
