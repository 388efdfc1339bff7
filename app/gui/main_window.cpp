#include "gui/main_window.h"

#include <algorithm>
#include <limits>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QCoreApplication>
#include <QDir>
#include <QDockWidget>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QTime>
#include <QTimer>
#include <QUndoStack>

#include "gui/diagnostics_panel.h"
#include "gui/history_panel.h"
#include "gui/observation_panel.h"
#include "gui/parameters_panel.h"
#include "gui/posterior_view.h"
#include "gui/project_document.h"
#include "gui/simulator_panel.h"
#include "gui/training_panel.h"
#include "gui/trust_prompt.h"
#include "qt/training_controller.h"
#include "simulators/catalogue.h"

namespace sbiw::gui {

namespace {

constexpr int kMaxRecent = 8;

// A dock's scroll area: scrolls its panel vertically, but is never narrower than the panel's
// minimum width, so that the main window's layout cannot squeeze a dock until labels and spin
// boxes are cut (the central tabs give way instead). The minimum follows the panel as rows are
// shown and hidden.
class DockScrollArea : public QScrollArea {
  public:
    DockScrollArea(QWidget* content, QWidget* parent) : QScrollArea(parent) {
        setWidget(content);
        setWidgetResizable(true);
        setFrameShape(QFrame::NoFrame);
        followPanelWidth();  // setWidget installed this as the panel's event filter
    }

  protected:
    bool eventFilter(QObject* watched, QEvent* event) override {
        const bool handled = QScrollArea::eventFilter(watched, event);
        if (watched == widget() && event->type() == QEvent::LayoutRequest)
            followPanelWidth();
        return handled;
    }
    bool event(QEvent* event) override {
        const bool handled = QScrollArea::event(event);
        if (event->type() == QEvent::ScreenChangeInternal)  // the window moved to another screen
            followPanelWidth();
        return handled;
    }

  private:
    void followPanelWidth() {
        int width = widget()->minimumSizeHint().width() +
                    style()->pixelMetric(QStyle::PM_ScrollBarExtent, nullptr, this) +
                    2 * frameWidth();
        width = std::min(width, sideDockRoom());
        if (width != minimumWidth())
            setMinimumWidth(width);
    }

    // Half of what the screen leaves beside the plots (the central widget): on a narrow screen (a
    // 1366-px laptop) the two side docks scroll sideways rather than push the window past the
    // screen's edge.
    int sideDockRoom() const {
        const QScreen* screen = this->screen();
        const auto* mainWindow = qobject_cast<const QMainWindow*>(window());
        if (!screen || !mainWindow || !mainWindow->centralWidget())
            return std::numeric_limits<int>::max();
        const int beside = screen->availableGeometry().width() -
                           mainWindow->centralWidget()->minimumSizeHint().width() -
                           kSeparatorsAndMargins;
        return std::max(kNarrowestDock, beside / 2);
    }

    static constexpr int kSeparatorsAndMargins = 16;
    static constexpr int kNarrowestDock = 220;
};

QDockWidget* dock(QMainWindow* window, const QString& title, const char* name, QWidget* content,
                  Qt::DockWidgetArea area) {
    auto* scroll = new DockScrollArea(content, window);
    auto* d = new QDockWidget(title, window);
    d->setObjectName(name);  // QMainWindow::saveState keys the layout by object name
    d->setWidget(scroll);
    window->addDockWidget(area, d);
    return d;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    document_ = new ProjectDocument(this);
    controller_ = new TrainingController(this);
    posteriorView_ = new PosteriorView(document_, this);
    historyPanel_ = new HistoryPanel(document_, posteriorView_, this);
    diagnosticsPanel_ = new DiagnosticsPanel(document_, historyPanel_, this);
    tabs_ = new QTabWidget(this);
    tabs_->addTab(posteriorView_, tr("Posterior"));
    tabs_->addTab(diagnosticsPanel_, tr("Diagnostics"));
    tabs_->addTab(historyPanel_, tr("History"));
    setCentralWidget(tabs_);

    parametersPanel_ = new ParametersPanel(document_, this);
    simulatorPanel_ = new SimulatorPanel(document_, this);
    observationPanel_ = new ObservationPanel(document_, simulatorPanel_, this);
    trainingPanel_ = new TrainingPanel(document_, controller_, this);
    QDockWidget* parametersDock = dock(this, tr("Parameters and priors"), "parametersDock",
                                       parametersPanel_, Qt::LeftDockWidgetArea);
    QDockWidget* simulatorDock =
        dock(this, tr("Simulator"), "simulatorDock", simulatorPanel_, Qt::LeftDockWidgetArea);
    QDockWidget* observationDock =
        dock(this, tr("Observation"), "observationDock", observationPanel_, Qt::LeftDockWidgetArea);
    QDockWidget* trainingDock =
        dock(this, tr("Training"), "trainingDock", trainingPanel_, Qt::RightDockWidgetArea);
    // The run log: stages, the outcome, and what the simulator says (a program's stderr).
    runLog_ = new QPlainTextEdit(this);
    runLog_->setObjectName("runLog");
    runLog_->setReadOnly(true);
    runLog_->setMaximumBlockCount(10000);
    QDockWidget* logDock =
        dock(this, tr("Run log"), "runLogDock", runLog_, Qt::BottomDockWidgetArea);
    logDock->hide();
    tabifyDockWidget(simulatorDock, observationDock);
    simulatorDock->raise();

    createActions();
    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* d : {parametersDock, simulatorDock, observationDock, trainingDock, logDock})
        view->addAction(d->toggleViewAction());
    const auto log = [this](const QString& line) {
        runLog_->appendPlainText(QTime::currentTime().toString("hh:mm:ss ") + line);
    };
    connect(controller_, &TrainingController::simulatorLog, this,
            [log](const QString& line) { log("simulator: " + line); });
    connect(controller_, &TrainingController::stageChanged, this, log);
    connect(controller_, &TrainingController::finished, this, [log](const RunJobResult& r) {
        log(r.state == RunState::Finished ? r.summary : runStateName(r.state) + ": " + r.message);
        for (const QString& line : r.details)
            log("  " + line);
    });

    connect(document_, &ProjectDocument::modifiedChanged, this, &MainWindow::updateTitle);
    connect(document_, &ProjectDocument::pathChanged, this, &MainWindow::updateTitle);
    connect(trainingPanel_, &TrainingPanel::startRequested, this, [this] {
        if (const QString why = startTraining(); !why.isEmpty())
            QMessageBox::warning(this, tr("Cannot start training"), why);
    });
    connect(controller_, &TrainingController::snapshotReady, posteriorView_,
            &PosteriorView::showSnapshot);
    connect(controller_, &TrainingController::finished, this, &MainWindow::onFinished);

    if (const TaskInfo* task = findTask("two_moons"))
        document_->reset(projectFromTask(*task), {});
    // Wide enough for both side panels uncut beside the plots' toolbar (about 1,450 px), unless
    // the screen is narrower (the docks then scroll).
    QSize size(std::max(1480, minimumSizeHint().width()), 920);
    if (const QScreen* screen = this->screen())
        size = size.boundedTo(screen->availableGeometry().size());
    resize(size);
    QSettings settings;
    restoreGeometry(settings.value("window/geometry").toByteArray());
    restoreState(settings.value("window/state").toByteArray());
    updateTitle();
    statusBar()->showMessage(cudaAvailable() ? tr("CUDA GPU available")
                                             : tr("Training on the CPU"));
}

MainWindow::~MainWindow() {
    controller_->cancel();
    controller_->waitForFinished();
}

QString MainWindow::examplesFolder() {
    const QString app = QCoreApplication::applicationDirPath();
    for (const QString& candidate : {app + "/../share/sbiw/projects", app + "/../../projects",
                                     QStringLiteral(SBIW_SOURCE_PROJECTS)})
        if (QFileInfo(candidate).isDir())
            return QDir(candidate).canonicalPath();
    return {};
}

void MainWindow::createActions() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&New"), QKeySequence::New, this, [this] {
        if (maybeSave())
            newProject();
    });
    file->addAction(tr("&Open…"), QKeySequence::Open, this, [this] {
        if (maybeSave())
            openWithDialog();
    });
    recentMenu_ = file->addMenu(tr("Open &recent"));
    examplesMenu_ = file->addMenu(tr("&Examples"));
    const QDir examples(examplesFolder());
    for (const QString& name : examples.entryList({"*.sbiw"}, QDir::Files, QDir::Name)) {
        const QString path = examples.absoluteFilePath(name);
        examplesMenu_->addAction(QFileInfo(name).completeBaseName(), this, [this, path] {
            if (!maybeSave())
                return;
            if (const QString error = openProject(path); !error.isEmpty())
                QMessageBox::warning(this, tr("Open example"), error);
        });
    }
    file->addSeparator();
    file->addAction(tr("&Save"), QKeySequence::Save, this, [this] { save(); });
    file->addAction(tr("Save &as…"), QKeySequence::SaveAs, this, [this] { saveAs(); });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = document_->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = document_->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    edit->addAction(undo);
    edit->addAction(redo);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    run->addAction(tr("&Start training"), QKeySequence(Qt::CTRL | Qt::Key_R), this, [this] {
        if (const QString why = startTraining(); !why.isEmpty())
            QMessageBox::warning(this, tr("Cannot start training"), why);
    });
    run->addAction(tr("&Cancel training"), QKeySequence(Qt::Key_Escape), controller_,
                   &TrainingController::cancel);
    rebuildRecentMenu();
}

void MainWindow::updateTitle() {
    setWindowTitle(QStringLiteral("%1%2 — SBI Workbench")
                       .arg(document_->displayName(), document_->isModified() ? "*" : ""));
    setWindowModified(document_->isModified());
}

QString MainWindow::openProject(const QString& path) {
    const QString error = document_->open(path);
    if (error.isEmpty())
        addRecent(document_->path());
    return error;
}

QString MainWindow::startTraining() {
    if (controller_->isRunning())
        return tr("a training run is going on; cancel it first");
    const Project& project = document_->project();
    const Observation* observation = project.findObservation(project.defaultObservation);
    if (!observation)
        return tr("the project has no observation to condition on");
    RunJob job;
    job.project = project;
    job.projectPath = document_->path();
    job.historyPath = historyPanel_->historyPath();
    job.observationName = QString::fromStdString(observation->name);
    job.observation = observation->data;
    if (const Problems problems = job.validate(); !problems.empty()) {
        QStringList lines;
        for (const Problem& p : problems)
            lines << QString::fromStdString(p.toString());
        return lines.join("\n");
    }
    if (QString why; !ensureTrusted(this, project, &why))
        return why;
    controller_->start(job);
    tabs_->setCurrentWidget(posteriorView_);
    return {};
}

void MainWindow::onFinished(const RunJobResult& result) {
    if (result.state == RunState::Finished)
        posteriorView_->showSamples(
            result.samples,
            tr("Posterior: %1 samples%2")
                .arg(result.samples.rows())
                .arg(result.runId > 0 ? tr(" (run %1)").arg(result.runId) : QString()));
    // A separate event, so that the GUI thread never does both at once.
    QTimer::singleShot(0, historyPanel_, &HistoryPanel::refresh);
    statusBar()->showMessage(result.state == RunState::Finished ? result.summary : result.message);
}

bool MainWindow::maybeSave() {
    if (!document_->isModified())
        return true;
    const auto answer =
        QMessageBox::warning(this, tr("Unsaved changes"),
                             tr("%1 has unsaved changes. Save them?").arg(document_->displayName()),
                             QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (answer == QMessageBox::Save)
        return save();
    return answer == QMessageBox::Discard;
}

bool MainWindow::save() {
    if (document_->path().isEmpty())
        return saveAs();
    if (const QString error = document_->save(); !error.isEmpty()) {
        QMessageBox::warning(this, tr("Save"), error);
        return false;
    }
    statusBar()->showMessage(tr("Saved %1").arg(document_->path()), 3000);
    return true;
}

bool MainWindow::saveAs() {
    const QString suggested = document_->path().isEmpty()
                                  ? QString::fromStdString(document_->project().name) + ".sbiw"
                                  : document_->path();
    QString path = QFileDialog::getSaveFileName(this, tr("Save project"), suggested,
                                                tr("SBI Workbench projects (*.sbiw)"));
    if (path.isEmpty())
        return false;
    if (!path.endsWith(".sbiw"))
        path += ".sbiw";
    if (const QString error = document_->save(path); !error.isEmpty()) {
        QMessageBox::warning(this, tr("Save"), error);
        return false;
    }
    addRecent(document_->path());
    return true;
}

void MainWindow::newProject() {
    if (const TaskInfo* task = findTask("two_moons")) {
        Project project = projectFromTask(*task);
        project.name = "untitled";
        document_->reset(project, {});
    }
}

void MainWindow::openWithDialog() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open project"), examplesFolder(),
                                                      tr("SBI Workbench projects (*.sbiw)"));
    if (path.isEmpty())
        return;
    if (const QString error = openProject(path); !error.isEmpty())
        QMessageBox::warning(this, tr("Open project"),
                             tr("%1 cannot be opened:\n%2").arg(path, error));
}

void MainWindow::addRecent(const QString& path) {
    QSettings settings;
    QStringList recent = settings.value("recentProjects").toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecent)
        recent.removeLast();
    settings.setValue("recentProjects", recent);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
    recentMenu_->clear();
    const QStringList recent = QSettings().value("recentProjects").toStringList();
    for (int i = 0; i < recent.size(); ++i) {
        const QString path = recent.at(i);
        QAction* action = recentMenu_->addAction(
            QStringLiteral("&%1 %2").arg(i + 1).arg(QFileInfo(path).fileName()), this,
            [this, path] {
                if (!maybeSave())
                    return;
                if (const QString error = openProject(path); !error.isEmpty())
                    QMessageBox::warning(this, tr("Open project"), error);
            });
        action->setToolTip(path);
    }
    recentMenu_->setEnabled(!recent.isEmpty());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!maybeSave()) {
        event->ignore();
        return;
    }
    if (controller_->isRunning()) {
        controller_->cancel();
        controller_->waitForFinished();
    }
    QSettings settings;
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/state", saveState());
    event->accept();
}

}  // namespace sbiw::gui
