#pragma once
// Calibration checks of a finished run's posterior, started from the GUI with progress and
// cancel: SBC rank histograms with their bands, the expected-coverage curve, TARP, the posterior
// predictive plot and C2ST against reference samples. Results are stored with the run.

#include <QWidget>

#include <atomic>
#include <memory>

#include "qt/run_diagnostics.h"

class QCheckBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QScrollArea;
class QSpinBox;
class QThread;

namespace sbiw::widgets {
class SbcRankPlot;
class CoveragePlot;
class TarpPlot;
class PredictivePlot;
}  // namespace sbiw::widgets

namespace sbiw::gui {

class ProjectDocument;
class HistoryPanel;

class DiagnosticsPanel : public QWidget {
    Q_OBJECT
  public:
    DiagnosticsPanel(ProjectDocument* document, HistoryPanel* historyPanel,
                     QWidget* parent = nullptr);
    ~DiagnosticsPanel() override;

    // Starts the checks on `runId` (0: the run selected in the history, else the newest run with a
    // model). Returns why not, or "".
    QString start(qint64 runId = 0);
    void cancel();
    bool isRunning() const;
    QSpinBox* simulationsSpin() const { return simulationsSpin_; }
    QSpinBox* samplesSpin() const { return samplesSpin_; }
    QLabel* summaryLabel() const { return summaryLabel_; }
    QScrollArea* plotScroll() const { return plotScroll_; }
    widgets::SbcRankPlot* sbcPlot() const { return sbcPlot_; }

  Q_SIGNALS:
    void finished(bool ok);

  private:
    static constexpr int kSbcColumns = 4;      // rank panels per row
    static constexpr int kSbcRowHeight = 150;  // pixels per row of rank panels, at least

    void show(const sbiw::DiagnosticsOutcome& outcome);
    // The plots' places: two by two for one row of rank panels, else the ranks on top at full
    // width and as high as their rows need.
    void arrangePlots(int sbcRows);

    ProjectDocument* document_;
    HistoryPanel* historyPanel_;
    QSpinBox *simulationsSpin_, *samplesSpin_;
    QCheckBox *sbcCheck_, *coverageCheck_, *tarpCheck_, *ppcCheck_;
    QLineEdit* referenceEdit_;
    QGridLayout* plotGrid_;
    QScrollArea* plotScroll_;
    QPushButton *runButton_, *cancelButton_, *browseButton_;
    QProgressBar* progress_;
    QLabel* summaryLabel_;
    widgets::SbcRankPlot* sbcPlot_;
    widgets::CoveragePlot* coveragePlot_;
    widgets::TarpPlot* tarpPlot_;
    widgets::PredictivePlot* predictivePlot_;
    std::unique_ptr<QThread> thread_;
    std::atomic<bool> cancel_{false};
};

}  // namespace sbiw::gui
