#include "gui/training_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QStackedWidget>
#include <QStandardItemModel>
#include <QVBoxLayout>

#include <cmath>
#include <map>

#include "gui/project_document.h"
#include "qt/training_controller.h"
#include "widgets/loss_curve_plot.h"
#include "widgets/tolerance_schedule_plot.h"

namespace sbiw::gui {

namespace {

QString formatDuration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0)
        return QStringLiteral("?");
    if (seconds < 60)
        return QStringLiteral("%1 s").arg(int(std::ceil(seconds)));
    return QStringLiteral("%1 min %2 s").arg(int(seconds) / 60).arg(int(seconds) % 60);
}

// A QComboBox's own model is a QStandardItemModel: its items can be greyed out one by one.
void setItemEnabled(QComboBox* combo, int index, bool enabled) {
    if (auto* model = qobject_cast<QStandardItemModel*>(combo->model()))
        if (QStandardItem* item = model->item(index))
            item->setEnabled(enabled);
}

QSpinBox* spin(QWidget* parent, int low, int high, const char* name) {
    auto* box = new QSpinBox(parent);
    box->setRange(low, high);
    box->setObjectName(name);
    box->setKeyboardTracking(false);  // one edit per finished number, not per digit
    return box;
}

}  // namespace

TrainingPanel::TrainingPanel(ProjectDocument* document, TrainingController* controller,
                             QWidget* parent)
    : QWidget(parent), document_(document), controller_(controller) {
    methodCombo_ = new QComboBox(this);
    methodCombo_->setObjectName("method");
    const std::map<std::string, QString> methodLabels = {
        {"npe", tr("NPE — neural posterior estimation")},
        {"snpe", tr("SNPE — sequential NPE (APT), rounds")},
        {"nle", tr("NLE — likelihood estimation + MCMC")},
        {"snle", tr("SNLE — sequential NLE, rounds")},
        {"nre", tr("NRE-A — ratio estimation (binary) + MCMC")},
        {"snre", tr("SNRE-A — sequential NRE-A, rounds")},
        {"nre-b", tr("NRE-B — ratio estimation (atoms) + MCMC")},
        {"snre-b", tr("SNRE-B — sequential NRE-B, rounds")},
        {"nre-c", tr("NRE-C — contrastive ratio estimation + MCMC")},
        {"snre-c", tr("SNRE-C — sequential NRE-C, rounds")},
        {"rej-abc", tr("Rejection ABC")},
        {"smc-abc", tr("SMC-ABC")}};
    for (const std::string& method : runnableMethods()) {
        const auto label = methodLabels.find(method);
        methodCombo_->addItem(
            label != methodLabels.end() ? label->second : QString::fromStdString(method),
            QString::fromStdString(method));
    }
    estimatorCombo_ = new QComboBox(this);
    estimatorCombo_->setObjectName("estimator");
    for (const std::string& e : densityEstimators())
        estimatorCombo_->addItem(
            e == "auto" ? tr("Auto (MAF or NSF)") : QString::fromStdString(e).toUpper(),
            QString::fromStdString(e));
    estimatorCombo_->setItemData(
        estimatorCombo_->findData(QStringLiteral("auto")),
        tr("NLE and SNLE: train both MAF and NSF in round 1 and keep the one with the lower "
           "validation loss (round 1 takes about twice as long)"),
        Qt::ToolTipRole);
    simulationsSpin_ = spin(this, 2, 100'000'000, "simulations");
    simulationsSpin_->setSingleStep(1000);
    roundsSpin_ = spin(this, 1, 100, "rounds");
    batchSpin_ = spin(this, 1, 100'000, "batchSize");
    maxEpochsSpin_ = spin(this, 1, 1'000'000, "maxEpochs");
    patienceSpin_ = spin(this, 1, 100'000, "patience");
    seedSpin_ = spin(this, 0, 2'000'000'000, "seed");
    learningRateSpin_ = new QDoubleSpinBox(this);
    learningRateSpin_->setObjectName("learningRate");
    learningRateSpin_->setDecimals(6);
    learningRateSpin_->setRange(1e-6, 1.0);
    learningRateSpin_->setSingleStep(1e-4);
    learningRateSpin_->setKeyboardTracking(false);
    deviceCombo_ = new QComboBox(this);
    deviceCombo_->setObjectName("device");
    for (const std::string& d : computeDevices())
        deviceCombo_->addItem(QString::fromStdString(d), QString::fromStdString(d));
    cudaLabel_ = new QLabel(
        cudaAvailable() ? tr("CUDA GPU available") : tr("no CUDA GPU: runs on the CPU"), this);
    cudaLabel_->setObjectName("cudaStatus");

    mcmcSamplerCombo_ = new QComboBox(this);
    mcmcSamplerCombo_->setObjectName("mcmcSampler");
    mcmcSamplerCombo_->addItem(tr("Slice sampling"), "slice");
    mcmcSamplerCombo_->addItem(tr("Metropolis-Hastings"), "mh");
    mcmcChainsSpin_ = spin(this, 1, 100'000, "mcmcChains");
    mcmcChainsSpin_->setToolTip(tr("Chains run side by side, all in one network call per step"));
    mcmcWarmupSpin_ = spin(this, 0, 1'000'000, "mcmcWarmup");
    mcmcWarmupSpin_->setSuffix(tr(" steps"));
    mcmcWarmupSpin_->setToolTip(tr("Iterations per chain spent tuning, then discarded"));
    mcmcThinningSpin_ = spin(this, 1, 10'000, "mcmcThinning");
    mcmcThinningSpin_->setPrefix(tr("keep 1 in "));
    mcmcThinningSpin_->setToolTip(tr("Thinning: every chain keeps one iteration in this many"));
    mcmcInitCombo_ = new QComboBox(this);
    mcmcInitCombo_->setObjectName("mcmcInit");
    mcmcInitCombo_->addItem(tr("Prior draws, resampled by weight"), "resample");
    mcmcInitCombo_->addItem(tr("Prior draws"), "prior");
    mcmcInitCombo_->setToolTip(
        tr("Where the chains start: prior draws weighed by the posterior "
           "(importance resampling), or plain prior draws"));

    summaryCombo_ = new QComboBox(this);
    summaryCombo_->setObjectName("abcSummary");
    summaryCombo_->addItem(tr("Data as they are"), "identity");
    summaryCombo_->addItem(tr("Chosen data columns"), "columns");
    summaryCombo_->addItem(tr("Mean and std over i.i.d. rows"), "iid_mean_std");
    summaryColumnsEdit_ = new QLineEdit(this);
    summaryColumnsEdit_->setObjectName("abcColumns");
    summaryColumnsEdit_->setPlaceholderText(tr("e.g. 0, 2, 5 (empty: all, for i.i.d. rows)"));
    summaryColumnsEdit_->setToolTip(tr("0-based data columns used as summary statistics"));
    distanceCombo_ = new QComboBox(this);
    distanceCombo_->setObjectName("abcDistance");
    distanceCombo_->addItem(tr("Euclidean (L2)"), "l2");
    distanceCombo_->addItem(tr("Manhattan (L1)"), "l1");
    dequantizeCheck_ = new QCheckBox(tr("Dequantise whole-number data"), this);
    dequantizeCheck_->setObjectName("dequantize");
    dequantizeCheck_->setToolTip(
        tr("NLE: data columns holding only whole numbers (counts, 0/1) are learnt as x + U[0, 1), "
           "so that the flow does not fit spikes at the integers"));
    logDataCheck_ = new QCheckBox(tr("Positive data on log scale"), this);
    logDataCheck_->setObjectName("logPositiveData");
    logDataCheck_->setToolTip(
        tr("Data columns positive in every simulation are read as log x, where noise "
           "proportional to the value (populations, rates) is simple"));
    transformCheck_ = new QCheckBox(tr("Parameters on log/logit scale"), this);
    transformCheck_->setObjectName("transformParameters");
    transformCheck_->setToolTip(
        tr("The network takes, and MCMC moves, the parameters in the prior's unbounded space: "
           "log θ for positive parameters, logit for bounded ones (as sbibm runs NLE and NRE)"));
    zScoreCheck_ = new QCheckBox(tr("Scale statistics (z-score)"), this);
    zScoreCheck_->setToolTip(tr("Divide every statistic by its spread over prior-predictive simulations"));
    zScoreCheck_->setObjectName("abcZScore");
    regressionCheck_ = new QCheckBox(tr("Regression adjustment"), this);
    regressionCheck_->setObjectName("abcRegression");

    startButton_ = new QPushButton(tr("Start training"), this);
    startButton_->setObjectName("startTraining");
    startButton_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    startButton_->setToolTip(tr("Simulate, train and sample (Ctrl+R)"));
    cancelButton_ = new QPushButton(tr("Cancel"), this);
    cancelButton_->setObjectName("cancelTraining");
    cancelButton_->setEnabled(false);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    progress_->setTextVisible(false);
    statusLabel_ = new QLabel(tr("Ready"), this);
    statusLabel_->setObjectName("trainingStatus");
    statusLabel_->setWordWrap(true);
    lossPlot_ = new widgets::LossCurvePlot(this);
    lossPlot_->setMinimumHeight(180);
    tolerancePlot_ = new widgets::ToleranceSchedulePlot(this);
    tolerancePlot_->setObjectName("toleranceSchedule");
    tolerancePlot_->setMinimumHeight(180);
    // ABC trains no network: its populations' tolerances take the loss curves' place.
    plots_ = new QStackedWidget(this);
    plots_->addWidget(lossPlot_);
    plots_->addWidget(tolerancePlot_);

    // Long item texts ("NLE — likelihood estimation + MCMC") must not widen the dock beyond the
    // window: combos ask for room for 12 characters and elide the rest.
    for (QComboBox* combo : findChildren<QComboBox*>()) {
        combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        combo->setMinimumContentsLength(12);
    }
    auto* form = form_ = new QFormLayout;
    form->addRow(tr("Method"), methodCombo_);
    form->addRow(tr("Estimator"), estimatorCombo_);
    form->addRow(tr("Simulations"), simulationsSpin_);
    form->addRow(tr("Rounds"), roundsSpin_);
    form->addRow(tr("Batch size"), batchSpin_);
    form->addRow(tr("Learning rate"), learningRateSpin_);
    form->addRow(tr("Max. epochs"), maxEpochsSpin_);
    form->addRow(tr("Patience"), patienceSpin_);
    form->addRow(tr("Device"), deviceCombo_);
    form->addRow(QString(), cudaLabel_);
    form->addRow(tr("Seed"), seedSpin_);
    form->addRow(tr("MCMC sampler"), mcmcSamplerCombo_);
    form->addRow(tr("Chains"), mcmcChainsSpin_);
    mcmcChainRow_ = new QHBoxLayout;
    mcmcChainRow_->addWidget(mcmcWarmupSpin_);
    mcmcChainRow_->addWidget(mcmcThinningSpin_);
    form->addRow(tr("Warm-up, thinning"), mcmcChainRow_);
    form->addRow(tr("Chains start at"), mcmcInitCombo_);
    form->addRow(QString(), transformCheck_);
    form->addRow(QString(), dequantizeCheck_);
    form->addRow(QString(), logDataCheck_);
    form->addRow(tr("ABC summary"), summaryCombo_);
    form->addRow(tr("Summary columns"), summaryColumnsEdit_);
    form->addRow(tr("ABC distance"), distanceCombo_);
    form->addRow(QString(), zScoreCheck_);
    form->addRow(QString(), regressionCheck_);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(startButton_);
    buttons->addWidget(cancelButton_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(buttons);
    layout->addWidget(progress_);
    layout->addWidget(statusLabel_);
    layout->addWidget(plots_, 1);

    connect(document_, &ProjectDocument::projectChanged, this, &TrainingPanel::refresh);
    connect(methodCombo_, &QComboBox::currentIndexChanged, this, [this] { commit(-1); });
    connect(estimatorCombo_, &QComboBox::currentIndexChanged, this, [this] { commit(-1); });
    connect(deviceCombo_, &QComboBox::currentIndexChanged, this, [this] { commit(-1); });
    connect(mcmcSamplerCombo_, &QComboBox::currentIndexChanged, this, [this] { commit(-1); });
    connect(mcmcInitCombo_, &QComboBox::currentIndexChanged, this, [this] { commit(-1); });
    connect(summaryCombo_, &QComboBox::currentIndexChanged, this, [this] { commit(-1); });
    connect(distanceCombo_, &QComboBox::currentIndexChanged, this, [this] { commit(-1); });
    connect(summaryColumnsEdit_, &QLineEdit::editingFinished, this, [this] { commit(-1); });
    connect(zScoreCheck_, &QCheckBox::toggled, this, [this] { commit(-1); });
    connect(dequantizeCheck_, &QCheckBox::toggled, this, [this] { commit(-1); });
    connect(transformCheck_, &QCheckBox::toggled, this, [this] { commit(-1); });
    connect(logDataCheck_, &QCheckBox::toggled, this, [this] { commit(-1); });
    connect(regressionCheck_, &QCheckBox::toggled, this, [this] { commit(-1); });
    int key = 2000;
    for (QSpinBox* box : {simulationsSpin_, roundsSpin_, batchSpin_, maxEpochsSpin_, patienceSpin_,
                          seedSpin_, mcmcChainsSpin_, mcmcWarmupSpin_, mcmcThinningSpin_})
        connect(box, &QSpinBox::valueChanged, this, [this, k = key++] { commit(k); });
    connect(learningRateSpin_, &QDoubleSpinBox::valueChanged, this, [this] { commit(2100); });
    connect(startButton_, &QPushButton::clicked, this, &TrainingPanel::startRequested);
    connect(cancelButton_, &QPushButton::clicked, this, [this] {
        controller_->cancel();
        statusLabel_->setText(tr("Cancelling…"));
        cancelButton_->setEnabled(false);
    });
    connect(controller_, &TrainingController::started, this, &TrainingPanel::onStarted);
    connect(controller_, &TrainingController::stageChanged, this, &TrainingPanel::onStage);
    connect(controller_, &TrainingController::simulationProgress, this,
            &TrainingPanel::onSimulationProgress);
    connect(controller_, &TrainingController::epochReported, this, &TrainingPanel::onEpoch);
    connect(controller_, &TrainingController::trialEpochReported, this,
            &TrainingPanel::onTrialEpoch);
    connect(controller_, &TrainingController::finished, this, &TrainingPanel::onFinished);
    connect(controller_, &TrainingController::abcPopulationReported, tolerancePlot_,
            &widgets::ToleranceSchedulePlot::appendPopulation);
    refresh();
}

void TrainingPanel::refresh() {
    updating_ = true;
    const InferenceSettings& s = document_->project().inference;
    methodCombo_->setCurrentIndex(methodCombo_->findData(QString::fromStdString(s.method)));
    estimatorCombo_->setCurrentIndex(
        estimatorCombo_->findData(QString::fromStdString(s.estimator)));
    deviceCombo_->setCurrentIndex(deviceCombo_->findData(QString::fromStdString(s.device)));
    simulationsSpin_->setValue(
        int(std::min<std::int64_t>(s.simulations, simulationsSpin_->maximum())));
    roundsSpin_->setValue(s.rounds);
    batchSpin_->setValue(s.training.batchSize);
    maxEpochsSpin_->setValue(s.training.maxEpochs);
    patienceSpin_->setValue(s.training.patience);
    seedSpin_->setValue(int(std::min<std::uint64_t>(s.seed, std::uint64_t(seedSpin_->maximum()))));
    learningRateSpin_->setValue(s.training.learningRate);
    const bool neural = s.method != "rej-abc" && s.method != "smc-abc";
    const bool sequential = isSequentialMethod(s.method);
    for (QWidget* w : std::initializer_list<QWidget*>{batchSpin_, learningRateSpin_, maxEpochsSpin_,
                                                      patienceSpin_, deviceCombo_})
        w->setEnabled(neural);
    estimatorCombo_->setEnabled(neural && s.method.find("nre") == std::string::npos);
    setItemEnabled(estimatorCombo_, estimatorCombo_->findData(QStringLiteral("auto")),
                   isNeuralLikelihoodMethod(s.method));
    roundsSpin_->setEnabled(sequential);
    mcmcSamplerCombo_->setCurrentIndex(
        mcmcSamplerCombo_->findData(QString::fromStdString(s.mcmc.sampler)));
    mcmcChainsSpin_->setValue(s.mcmc.chains);
    mcmcWarmupSpin_->setValue(s.mcmc.warmupSteps);
    mcmcThinningSpin_->setValue(s.mcmc.thinning);
    mcmcInitCombo_->setCurrentIndex(mcmcInitCombo_->findData(QString::fromStdString(s.mcmc.init)));
    // Rows of settings the method does not use are hidden (and disabled), keeping the form short.
    for (QWidget* w :
         std::initializer_list<QWidget*>{mcmcSamplerCombo_, mcmcChainsSpin_, mcmcWarmupSpin_,
                                         mcmcThinningSpin_, mcmcInitCombo_})
        w->setEnabled(samplesByMcmc(s.method));
    for (QWidget* w :
         std::initializer_list<QWidget*>{mcmcSamplerCombo_, mcmcChainsSpin_, mcmcInitCombo_})
        form_->setRowVisible(w, samplesByMcmc(s.method));
    form_->setRowVisible(mcmcChainRow_, samplesByMcmc(s.method));
    transformCheck_->setChecked(s.transformParameters);
    transformCheck_->setEnabled(samplesByMcmc(s.method));
    form_->setRowVisible(transformCheck_, samplesByMcmc(s.method));
    dequantizeCheck_->setChecked(s.dequantizeWholeNumbers);
    dequantizeCheck_->setEnabled(isNeuralLikelihoodMethod(s.method));
    logDataCheck_->setChecked(s.logPositiveData);
    logDataCheck_->setEnabled(samplesByMcmc(s.method));
    form_->setRowVisible(logDataCheck_, samplesByMcmc(s.method));
    form_->setRowVisible(dequantizeCheck_, isNeuralLikelihoodMethod(s.method));
    summaryCombo_->setCurrentIndex(summaryCombo_->findData(QString::fromStdString(s.abc.summary)));
    distanceCombo_->setCurrentIndex(
        distanceCombo_->findData(QString::fromStdString(s.abc.distance)));
    QStringList columns;
    for (int c : s.abc.columns)
        columns << QString::number(c);
    summaryColumnsEdit_->setText(columns.join(", "));
    zScoreCheck_->setChecked(s.abc.zScore);
    regressionCheck_->setChecked(s.abc.regressionAdjustment);
    for (QWidget* w : std::initializer_list<QWidget*>{summaryCombo_, distanceCombo_, zScoreCheck_,
                                                      regressionCheck_})
        w->setEnabled(!neural);
    summaryColumnsEdit_->setEnabled(!neural && s.abc.summary != "identity");
    for (QWidget* w : std::initializer_list<QWidget*>{
             summaryCombo_, summaryColumnsEdit_, distanceCombo_, zScoreCheck_, regressionCheck_})
        form_->setRowVisible(w, !neural);
    roundsSpin_->setToolTip(sequential ? QString() : tr("Rounds apply to the sequential methods"));
    plots_->setCurrentWidget(neural ? static_cast<QWidget*>(lossPlot_) : tolerancePlot_);
    updating_ = false;
}

void TrainingPanel::commit(int mergeKey) {
    if (updating_)
        return;
    Project changed = document_->project();
    InferenceSettings& s = changed.inference;
    s.method = methodCombo_->currentData().toString().toStdString();
    s.estimator = estimatorCombo_->currentData().toString().toStdString();
    // Switching to NPE or SNPE: "auto" is not theirs, so the default flow takes its place.
    if (s.estimator == "auto" && (s.method == "npe" || s.method == "snpe"))
        s.estimator = InferenceSettings{}.estimator;
    s.device = deviceCombo_->currentData().toString().toStdString();
    s.simulations = simulationsSpin_->value();
    s.rounds = roundsSpin_->value();
    s.training.batchSize = batchSpin_->value();
    s.training.maxEpochs = maxEpochsSpin_->value();
    s.training.patience = patienceSpin_->value();
    s.seed = std::uint64_t(seedSpin_->value());
    s.training.learningRate = learningRateSpin_->value();
    s.mcmc.sampler = mcmcSamplerCombo_->currentData().toString().toStdString();
    s.mcmc.chains = mcmcChainsSpin_->value();
    s.mcmc.warmupSteps = mcmcWarmupSpin_->value();
    s.mcmc.thinning = mcmcThinningSpin_->value();
    s.mcmc.init = mcmcInitCombo_->currentData().toString().toStdString();
    s.dequantizeWholeNumbers = dequantizeCheck_->isChecked();
    s.transformParameters = transformCheck_->isChecked();
    s.logPositiveData = logDataCheck_->isChecked();
    s.abc.summary = summaryCombo_->currentData().toString().toStdString();
    s.abc.distance = distanceCombo_->currentData().toString().toStdString();
    s.abc.zScore = zScoreCheck_->isChecked();
    s.abc.regressionAdjustment = regressionCheck_->isChecked();
    std::vector<int> columns;
    for (const QString& token :
         summaryColumnsEdit_->text().split(QRegularExpression("[,;\\s]+"), Qt::SkipEmptyParts)) {
        bool ok = false;
        const int column = token.toInt(&ok);
        if (!ok || column < 0) {
            statusLabel_->setText(
                tr("Summary columns: '%1' is not a data column number (0, 1, 2, …)").arg(token));
            refresh();  // back to the project's columns
            return;
        }
        columns.push_back(column);
    }
    s.abc.columns = columns;
    document_->edit(tr("Change training settings"), changed, mergeKey);
}

void TrainingPanel::onStarted() {
    startButton_->setEnabled(false);
    cancelButton_->setEnabled(true);
    progress_->setValue(0);
    lossPlot_->clear();
    lossPlot_->setTitle({});
    trialCandidate_.clear();
    tolerancePlot_->clear();
    epochs_ = 0;
    sinceBest_ = 0;
    lastRound_ = -1;
    statusLabel_->setText(tr("Starting…"));
}

void TrainingPanel::onStage(const QString& stage) {
    stage_ = stage;
    stageClock_.start();
    if (stage == "training")
        progress_->setValue(0);
    statusLabel_->setText(stage.left(1).toUpper() + stage.mid(1) + QStringLiteral("…"));
}

void TrainingPanel::onSimulationProgress(qint64 completed, qint64 total) {
    if (total <= 0)
        return;
    const double fraction = double(completed) / double(total);
    progress_->setValue(int(1000 * fraction));
    const double elapsed = stageClock_.isValid() ? stageClock_.elapsed() / 1000.0 : 0.0;
    const double left = fraction > 0 ? elapsed * (1 - fraction) / fraction : NAN;
    statusLabel_->setText(tr("Simulating: %1 of %2 (about %3 left)")
                              .arg(completed)
                              .arg(total)
                              .arg(formatDuration(left)));
}

void TrainingPanel::onTrialEpoch(const QString& candidate, const EpochReport& report) {
    if (candidate != trialCandidate_) {  // each candidate gets the plot to itself
        trialCandidate_ = candidate;
        lossPlot_->clear();
        lossPlot_->setTitle(tr("Trying %1: the flow with the lower validation loss is kept")
                                .arg(candidate.toUpper()));
    }
    lossPlot_->appendEpoch(report.epoch, report.trainLoss, report.validationLoss, report.improved);
    statusLabel_->setText(tr("Trying %1, epoch %2: validation %3 (best %4)")
                              .arg(candidate.toUpper())
                              .arg(report.epoch)
                              .arg(report.validationLoss, 0, 'g', 5)
                              .arg(report.bestValidationLoss, 0, 'g', 5));
}

void TrainingPanel::onEpoch(const EpochReport& report) {
    if (!trialCandidate_.isEmpty()) {  // the trials are over: the chosen flow's curve replaces them
        trialCandidate_.clear();
        lossPlot_->clear();
        lossPlot_->setTitle({});
    }
    ++epochs_;
    if (report.round != lastRound_) {
        if (lastRound_ >= 0)
            lossPlot_->markRound(epochs_, report.round);
        lastRound_ = report.round;
        sinceBest_ = 0;  // each round trains to its own early stop
    }
    lossPlot_->appendEpoch(epochs_, report.trainLoss, report.validationLoss, report.improved);
    // Training ends at early stopping or the epoch limit, whichever comes first; the bar shows
    // the nearer one, so it can jump back when the validation loss improves.
    const TrainingSettings& t = document_->project().inference.training;
    sinceBest_ = report.improved ? 0 : sinceBest_ + 1;
    const int sinceBest = sinceBest_;
    const int leftToStop = std::min(t.patience - sinceBest, t.maxEpochs - report.epoch);
    const double secondsPerEpoch = report.epoch > 0 ? report.elapsedSeconds / report.epoch : NAN;
    const double fraction =
        std::max(double(report.epoch) / t.maxEpochs, double(sinceBest) / std::max(1, t.patience));
    // Sequential methods count rounds from 1: the bar covers all of them.
    const int rounds = std::max(1, document_->project().inference.rounds);
    const double overall = report.round > 0 ? (report.round - 1 + std::min(1.0, fraction)) / rounds
                                            : std::min(1.0, fraction);
    progress_->setValue(int(1000 * std::min(1.0, overall)));
    statusLabel_->setText(
        tr("Epoch %1%2: train %3, validation %4 (best %5); stops in %6 epochs (%7) unless it "
           "improves")
            .arg(report.epoch)
            .arg(report.round > 0 ? tr(" of round %1").arg(report.round) : QString())
            .arg(report.trainLoss, 0, 'f', 4)
            .arg(report.validationLoss, 0, 'f', 4)
            .arg(report.bestValidationLoss, 0, 'f', 4)
            .arg(leftToStop)
            .arg(formatDuration(leftToStop * secondsPerEpoch)));
}

void TrainingPanel::onFinished(const RunJobResult& result) {
    startButton_->setEnabled(true);
    cancelButton_->setEnabled(false);
    progress_->setValue(result.state == RunState::Finished ? 1000 : progress_->value());
    const QString run = result.runId > 0 ? tr(" (run %1)").arg(result.runId) : QString();
    switch (result.state) {
        case RunState::Finished:
            statusLabel_->setText(tr("Finished in %1%2. %3")
                                      .arg(formatDuration(result.seconds), run, result.summary));
            break;
        case RunState::Cancelled:
            statusLabel_->setText(tr("Cancelled%1: %2").arg(run, result.message));
            break;
        default:
            statusLabel_->setText(tr("Failed%1: %2").arg(run, result.message));
            break;
    }
}

}  // namespace sbiw::gui
