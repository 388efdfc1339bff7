#pragma once
// The workbench window: the project (parameters and priors, simulator, observation) and the
// training settings in docks, the posterior, diagnostics and history as tabs in the middle.
// File menu with recent projects and the examples, undo/redo of every project edit, the layout
// remembered between sessions.

#include <QMainWindow>

#include "qt/run_job.h"

class QAction;
class QMenu;
class QPlainTextEdit;
class QTabWidget;

namespace sbiw {
class TrainingController;
}

namespace sbiw::gui {

class DiagnosticsPanel;
class HistoryPanel;
class ObservationPanel;
class ParametersPanel;
class PosteriorView;
class ProjectDocument;
class SimulatorPanel;
class TrainingPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    ProjectDocument* document() const { return document_; }
    TrainingController* controller() const { return controller_; }
    ParametersPanel* parametersPanel() const { return parametersPanel_; }
    SimulatorPanel* simulatorPanel() const { return simulatorPanel_; }
    ObservationPanel* observationPanel() const { return observationPanel_; }
    TrainingPanel* trainingPanel() const { return trainingPanel_; }
    PosteriorView* posteriorView() const { return posteriorView_; }
    DiagnosticsPanel* diagnosticsPanel() const { return diagnosticsPanel_; }
    HistoryPanel* historyPanel() const { return historyPanel_; }
    QTabWidget* centralTabs() const { return tabs_; }

    // Opens `path` without asking about unsaved changes; returns the error or "".
    QString openProject(const QString& path);
    // Starts training the current project at its default observation; returns why not, or "".
    QString startTraining();
    // The folder of the example projects (installed, or the source tree's projects/).
    static QString examplesFolder();

  protected:
    void closeEvent(QCloseEvent* event) override;

  private:
    void createActions();
    void updateTitle();
    bool maybeSave();  // true when it is fine to discard the current project
    bool save();
    bool saveAs();
    void newProject();
    void openWithDialog();
    void addRecent(const QString& path);
    void rebuildRecentMenu();
    void onFinished(const sbiw::RunJobResult& result);

    ProjectDocument* document_;
    TrainingController* controller_;
    ParametersPanel* parametersPanel_;
    SimulatorPanel* simulatorPanel_;
    ObservationPanel* observationPanel_;
    TrainingPanel* trainingPanel_;
    PosteriorView* posteriorView_;
    DiagnosticsPanel* diagnosticsPanel_;
    HistoryPanel* historyPanel_;
    QTabWidget* tabs_;
    QPlainTextEdit* runLog_;
    QMenu* recentMenu_;
    QMenu* examplesMenu_;
};

}  // namespace sbiw::gui
