#pragma once
// Demo mode: open a project, start its training, save a PNG of the main window at every
// posterior refresh and at the end, and optionally quit — for teaching, for the README's
// pictures, and for machines without a display (run it on the offscreen platform).

#include <QObject>
#include <QString>

#include "qt/run_job.h"

namespace sbiw::gui {

class MainWindow;

struct DemoOptions {
    QString projectPath;
    QString screenshotFolder;  // empty: no pictures
    bool quitWhenDone = false;
};

class DemoRunner : public QObject {
    Q_OBJECT
  public:
    DemoRunner(MainWindow* window, DemoOptions options, QObject* parent = nullptr);

    // Opens the project and starts training; returns why not, or "".
    QString start();
    int framesSaved() const { return frames_; }
    int exitCode() const { return exitCode_; }

  Q_SIGNALS:
    void done(int exitCode);

  private:
    void finishAfterRedraw(const sbiw::RunJobResult& result);
    QString saveFrame(const QString& name);

    MainWindow* window_;
    DemoOptions options_;
    int frames_ = 0;
    int exitCode_ = 0;
};

}  // namespace sbiw::gui
