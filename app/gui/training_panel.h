#pragma once
// Training settings of the project (method, estimator, budget, rounds, batch size, learning
// rate, device, seed, the MCMC of the likelihood and ratio methods, ABC's statistics: each
// change is an undoable project edit), Start and Cancel, a progress bar
// with an estimate of the time left, and the live loss curves.

#include <QElapsedTimer>
#include <QWidget>

#include "inference/settings.h"
#include "qt/run_job.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QHBoxLayout;
class QLineEdit;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QStackedWidget;

namespace sbiw::widgets {
class LossCurvePlot;
class ToleranceSchedulePlot;
}

namespace sbiw {
class TrainingController;
}

namespace sbiw::gui {

class ProjectDocument;

class TrainingPanel : public QWidget {
    Q_OBJECT
  public:
    TrainingPanel(ProjectDocument* document, TrainingController* controller,
                  QWidget* parent = nullptr);

    QPushButton* startButton() const { return startButton_; }
    QPushButton* cancelButton() const { return cancelButton_; }
    QComboBox* methodCombo() const { return methodCombo_; }
    QComboBox* estimatorCombo() const { return estimatorCombo_; }
    QComboBox* mcmcSamplerCombo() const { return mcmcSamplerCombo_; }
    QCheckBox* dequantizeCheck() const { return dequantizeCheck_; }
    QCheckBox* transformCheck() const { return transformCheck_; }
    QCheckBox* logDataCheck() const { return logDataCheck_; }
    QSpinBox* mcmcChainsSpin() const { return mcmcChainsSpin_; }
    QSpinBox* mcmcThinningSpin() const { return mcmcThinningSpin_; }
    QSpinBox* simulationsSpin() const { return simulationsSpin_; }
    QComboBox* summaryCombo() const { return summaryCombo_; }
    QLineEdit* summaryColumnsEdit() const { return summaryColumnsEdit_; }
    QProgressBar* progressBar() const { return progress_; }
    QLabel* statusLabel() const { return statusLabel_; }
    widgets::LossCurvePlot* lossPlot() const { return lossPlot_; }
    widgets::ToleranceSchedulePlot* tolerancePlot() const { return tolerancePlot_; }

  Q_SIGNALS:
    void startRequested();

  private:
    void refresh();
    void commit(int mergeKey);
    void onStarted();
    void onStage(const QString& stage);
    void onSimulationProgress(qint64 completed, qint64 total);
    void onEpoch(const sbiw::EpochReport& report);
    void onTrialEpoch(const QString& candidate, const sbiw::EpochReport& report);
    void onFinished(const sbiw::RunJobResult& result);

    ProjectDocument* document_;
    TrainingController* controller_;
    QComboBox *methodCombo_, *estimatorCombo_, *deviceCombo_;
    // MCMC of the likelihood and ratio methods (inference.mcmc).
    QComboBox *mcmcSamplerCombo_, *mcmcInitCombo_;
    QSpinBox *mcmcChainsSpin_, *mcmcWarmupSpin_, *mcmcThinningSpin_;
    QHBoxLayout* mcmcChainRow_;  // warm-up and thinning side by side
    QFormLayout* form_;
    // ABC: summary statistics and distance (inference.abc).
    QComboBox *summaryCombo_, *distanceCombo_;
    QLineEdit* summaryColumnsEdit_;
    QCheckBox *zScoreCheck_, *regressionCheck_;
    QCheckBox* dequantizeCheck_;  // nle, snle
    QCheckBox* transformCheck_;   // likelihood and ratio methods
    QCheckBox* logDataCheck_;     // likelihood and ratio methods
    QSpinBox *simulationsSpin_, *roundsSpin_, *batchSpin_, *maxEpochsSpin_, *patienceSpin_,
        *seedSpin_;
    QDoubleSpinBox* learningRateSpin_;
    QLabel *cudaLabel_, *statusLabel_;
    QPushButton *startButton_, *cancelButton_;
    QProgressBar* progress_;
    widgets::LossCurvePlot* lossPlot_;
    widgets::ToleranceSchedulePlot* tolerancePlot_;
    QStackedWidget* plots_;  // the loss curves, or ABC's tolerances
    QElapsedTimer stageClock_;
    QString stage_;
    int epochs_ = 0;
    int sinceBest_ = 0;  // epochs since the validation loss last improved
    int lastRound_ = -1;
    QString trialCandidate_;  // the flow being tried (NLE "auto"), shown in the loss plot
    bool updating_ = false;
};

}  // namespace sbiw::gui
