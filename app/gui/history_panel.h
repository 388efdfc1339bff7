#pragma once
// The project's run history: a sortable table of runs (method, budget, status, duration, loss,
// diagnostics). Select runs to overlay their posteriors, replay a run's snapshots as a movie,
// sample a run's stored posterior at the project's current observation, re-apply its settings
// to the project, export its samples, or delete it.

#include <QTimer>
#include <QWidget>

#include <memory>
#include <vector>

#include "core/matrix.h"
#include "qt/run_history.h"

class QLabel;
class QPushButton;
class QThread;
class QSortFilterProxyModel;
class QStandardItemModel;
class QTableView;

namespace sbiw::gui {

class ProjectDocument;
class PosteriorView;

class HistoryPanel : public QWidget {
    Q_OBJECT
  public:
    HistoryPanel(ProjectDocument* document, PosteriorView* posteriorView,
                 QWidget* parent = nullptr);
    ~HistoryPanel() override;

    // The history file the project's runs go to: beside the project file, or the per-user one
    // for unsaved projects (the same files sbiw-cli uses).
    QString historyPath() const;
    int runCount() const;
    // What the selected run said when it ended, its diagnostics, or why nothing is shown.
    QLabel* detailsLabel() const { return detailsLabel_; }
    QTableView* table() const { return table_; }
    std::vector<qint64> selectedRuns() const;
    void selectRun(qint64 runId, bool addToSelection = false);

    QString overlaySelected();
    QString replaySelected(int millisecondsPerFrame = 300);
    QString reapplySelected();
    QString deleteSelected();
    QString exportSelected(const QString& csvPath);
    // Draws the selected run's stored posterior at the project's current observation (an NPE,
    // NLE or NRE network serves any observation without training again) on a worker thread,
    // then shows the samples and emits sampledAtObservation. Returns why not, or "".
    QString sampleSelectedAtObservation();
    bool isSampling() const;

  Q_SIGNALS:
    void sampledAtObservation(bool ok);

  public Q_SLOTS:
    void refresh();

  private:
    RunHistory* history();  // opened lazily on the GUI thread; nullptr (and a message) on failure
    void showDetails();

    ProjectDocument* document_;
    PosteriorView* posteriorView_;
    std::unique_ptr<RunHistory> history_;
    QStandardItemModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* table_;
    QLabel* detailsLabel_;
    QPushButton *overlayButton_, *replayButton_, *sampleButton_, *reapplyButton_, *exportButton_,
        *deleteButton_, *refreshButton_;
    std::unique_ptr<QThread> sampleThread_;
    QTimer replayTimer_;
    std::vector<SnapshotRecord> replayFrames_;
    std::size_t replayIndex_ = 0;
    qint64 replayRun_ = 0;
};

}  // namespace sbiw::gui
