#include "gui/history_panel.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>
#include <QTableView>
#include <QThread>
#include <QVBoxLayout>

#include "core/csv.h"
#include "gui/posterior_view.h"
#include "gui/project_document.h"
#include "inference/settings.h"
#include "qt/run_diagnostics.h"

namespace sbiw::gui {

namespace {

enum Column {
    Id,
    Method,
    Estimator,
    Observation,
    Budget,
    Status,
    Started,
    Duration,
    Epochs,
    Loss,
    Diagnostics,
    Columns
};

QStandardItem* cell(const QString& text, const QVariant& sortKey = {}) {
    auto* item = new QStandardItem(text);
    item->setData(sortKey.isValid() ? sortKey : QVariant(text), Qt::UserRole);
    item->setEditable(false);
    return item;
}

QString durationText(const RunSummary& run) {
    if (!run.endedAt.isValid())
        return QStringLiteral("…");
    const double seconds = double(run.startedAt.msecsTo(run.endedAt)) / 1000.0;
    return seconds < 60 ? QStringLiteral("%1 s").arg(seconds, 0, 'f', 1)
                        : QStringLiteral("%1 min").arg(seconds / 60.0, 0, 'f', 1);
}

// The stored settings' value at `key`, also inside the nested objects NPE runs store.
QJsonValue setting(const QJsonObject& json, const QString& key) {
    if (json.contains(key))
        return json.value(key);
    for (const QString& group : {QStringLiteral("training"), QStringLiteral("estimator")})
        if (json.value(group).toObject().contains(key))
            return json.value(group).toObject().value(key);
    return {};
}

}  // namespace

HistoryPanel::HistoryPanel(ProjectDocument* document, PosteriorView* posteriorView, QWidget* parent)
    : QWidget(parent), document_(document), posteriorView_(posteriorView) {
    model_ = new QStandardItemModel(0, Columns, this);
    model_->setHorizontalHeaderLabels({tr("Run"), tr("Method"), tr("Estimator"), tr("Observation"),
                                       tr("Simulations"), tr("Status"), tr("Started"),
                                       tr("Duration"), tr("Epochs"), tr("Val. loss"),
                                       tr("Diagnostics")});
    proxy_ = new QSortFilterProxyModel(this);
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(Qt::UserRole);
    table_ = new QTableView(this);
    table_->setObjectName("historyTable");
    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(Id, Qt::DescendingOrder);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    table_->verticalHeader()->setVisible(false);
    table_->horizontalHeader()->setStretchLastSection(true);
    detailsLabel_ = new QLabel(this);
    detailsLabel_->setWordWrap(true);
    detailsLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    // Short labels: the row must fit the central area between the docks; tooltips say more.
    overlayButton_ = new QPushButton(tr("Overlay"), this);
    overlayButton_->setToolTip(tr("Overlay the posteriors of the selected runs"));
    replayButton_ = new QPushButton(tr("Replay"), this);
    replayButton_->setToolTip(tr("Play the run's posterior snapshots as a movie"));
    sampleButton_ = new QPushButton(tr("Sample at observation"), this);
    sampleButton_->setToolTip(
        tr("Draw the selected run's posterior at the project's current observation: a trained "
           "NPE, NLE or NRE network serves any observation without training again"));
    reapplyButton_ = new QPushButton(tr("Re-apply"), this);
    reapplyButton_->setToolTip(tr("Make the selected run's settings the project's again"));
    exportButton_ = new QPushButton(tr("Export…"), this);
    exportButton_->setToolTip(tr("Write the selected run's posterior samples to a CSV file"));
    deleteButton_ = new QPushButton(tr("Delete"), this);
    refreshButton_ = new QPushButton(tr("Refresh"), this);
    auto* buttons = new QHBoxLayout;
    for (QPushButton* b : {overlayButton_, replayButton_, sampleButton_, reapplyButton_,
                           exportButton_, deleteButton_})
        buttons->addWidget(b);
    buttons->addStretch();
    buttons->addWidget(refreshButton_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(buttons);
    layout->addWidget(table_, 1);
    layout->addWidget(detailsLabel_);

    const auto report = [this](const QString& title, const QString& error) {
        if (!error.isEmpty())
            QMessageBox::warning(this, title, error);
    };
    connect(overlayButton_, &QPushButton::clicked, this,
            [=] { report(tr("Overlay"), overlaySelected()); });
    connect(replayButton_, &QPushButton::clicked, this,
            [=] { report(tr("Replay"), replaySelected()); });
    connect(sampleButton_, &QPushButton::clicked, this,
            [=] { report(tr("Sample at observation"), sampleSelectedAtObservation()); });
    connect(reapplyButton_, &QPushButton::clicked, this,
            [=] { report(tr("Re-apply settings"), reapplySelected()); });
    connect(deleteButton_, &QPushButton::clicked, this, [=] {
        const std::vector<qint64> runs = selectedRuns();
        if (runs.empty())
            return;
        if (QMessageBox::question(this, tr("Delete runs"),
                                  tr("Delete %n run(s) with their models, samples and diagnostics?",
                                     "", int(runs.size()))) != QMessageBox::Yes)
            return;
        report(tr("Delete"), deleteSelected());
    });
    connect(exportButton_, &QPushButton::clicked, this, [=] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export samples"), "samples.csv",
                                                          tr("CSV files (*.csv)"));
        if (!path.isEmpty())
            report(tr("Export samples"), exportSelected(path));
    });
    connect(refreshButton_, &QPushButton::clicked, this, &HistoryPanel::refresh);
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &HistoryPanel::showDetails);
    connect(document_, &ProjectDocument::pathChanged, this, [this] {
        history_.reset();  // another project, another history file
        refresh();
    });
    connect(&replayTimer_, &QTimer::timeout, this, [this] {
        if (replayIndex_ >= replayFrames_.size()) {
            replayTimer_.stop();
            return;
        }
        const SnapshotRecord& frame = replayFrames_[replayIndex_++];
        posteriorView_->showSamples(
            frame.samples, tr("Run %1 replay: epoch %2%3")
                               .arg(replayRun_)
                               .arg(frame.epoch)
                               .arg(frame.round > 0 ? tr(", round %1").arg(frame.round)
                                                    : QString()));  // rounds count from 1 (snpe)
    });
    refresh();
}

HistoryPanel::~HistoryPanel() {
    if (sampleThread_)
        sampleThread_->wait();  // a draw cannot be interrupted; it ends on its own
}

bool HistoryPanel::isSampling() const {
    return sampleThread_ && sampleThread_->isRunning();
}

QString HistoryPanel::sampleSelectedAtObservation() {
    const std::vector<qint64> runs = selectedRuns();
    if (runs.size() != 1)
        return tr("select one run to sample");
    if (isSampling())
        return tr("a run is being sampled already");
    const Project project = document_->project();
    const sbiw::Observation* observation = project.findObservation(project.defaultObservation);
    if (!observation)
        return tr("the project has no observation to condition on");
    const qint64 runId = runs.front();
    const QString observationName = QString::fromStdString(observation->name);
    const Matrix data = observation->data;
    const std::int64_t count = project.inference.posteriorSamples;
    const QString path = historyPath();
    sampleButton_->setEnabled(false);
    detailsLabel_->setText(tr("Sampling run %1 at %2…").arg(runId).arg(observationName));
    sampleThread_.reset(QThread::create([this, path, runId, project, observationName, data, count] {
        Matrix samples;
        QString error, how;
        try {
            RunHistory history(path);  // this thread's own connection
            // One torch thread: MCMC calls the network with a few hundred rows at a time.
            setComputeThreadCount(1);
            const StoredRunPosterior posterior = loadRunPosterior(history, runId, project);
            const StoredRunProblem& problem = posterior.problem;
            if (problem.rounds > 1 && !data.isApprox(problem.observation))
                throw std::runtime_error(
                    tr("run %1 is sequential (%2, %3 rounds): its posterior was trained for '%4' "
                       "only; train a run for '%5', or an amortised one (NPE, NLE, NRE)")
                        .arg(runId)
                        .arg(problem.method.toUpper())
                        .arg(problem.rounds)
                        .arg(problem.observationName, observationName)
                        .toStdString());
            samples = posterior.sample(data, count, 1);
            how = posterior.byMcmc ? tr(" (MCMC)") : QString();
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        QMetaObject::invokeMethod(
            this,
            [this, samples, error, how, runId, observationName] {
                sampleButton_->setEnabled(true);
                if (!error.isEmpty()) {
                    detailsLabel_->setText(tr("Sampling failed: %1").arg(error));
                } else {
                    posteriorView_->showSamples(samples, tr("Run %1 at %2: %3 samples%4")
                                                             .arg(runId)
                                                             .arg(observationName)
                                                             .arg(samples.rows())
                                                             .arg(how));
                    detailsLabel_->setText(
                        tr("Run %1 sampled at %2.").arg(runId).arg(observationName));
                }
                Q_EMIT sampledAtObservation(error.isEmpty());
            },
            Qt::QueuedConnection);
    }));
    sampleThread_->start();
    return {};
}

QString HistoryPanel::historyPath() const {
    return RunHistory::resolvePath({}, document_->path());
}

RunHistory* HistoryPanel::history() {
    if (!history_) {
        try {
            history_ = std::make_unique<RunHistory>(historyPath());
        } catch (const std::exception& error) {
            detailsLabel_->setText(
                tr("The run history cannot be opened: %1").arg(QString::fromUtf8(error.what())));
            return nullptr;
        }
    }
    return history_.get();
}

int HistoryPanel::runCount() const {
    return model_->rowCount();
}

void HistoryPanel::refresh() {
    const std::vector<qint64> selected = selectedRuns();
    model_->removeRows(0, model_->rowCount());
    RunHistory* store = history();
    if (!store)
        return;
    try {
        RunQuery query;
        // A saved project has a history of its own, listed whole (also runs of earlier versions
        // of its priors); unsaved projects share one, so only this problem's runs are shown.
        if (document_->path().isEmpty())
            query.projectHash = projectContentHash(document_->project());
        for (const RunSummary& run : store->listRuns(query)) {
            QStringList verdicts;
            for (const DiagnosticRecord& d : store->diagnostics(run.id))
                verdicts << d.kind;
            const double seconds =
                run.endedAt.isValid() ? double(run.startedAt.msecsTo(run.endedAt)) / 1000.0 : -1.0;
            model_->appendRow(
                {cell(QString::number(run.id), run.id), cell(run.method.toUpper()),
                 cell(run.estimator), cell(run.observation),
                 cell(QString::number(run.simulationCount), run.simulationCount),
                 cell(runStateName(run.state)),
                 cell(run.startedAt.toLocalTime().toString("yyyy-MM-dd hh:mm"), run.startedAt),
                 cell(durationText(run), seconds), cell(QString::number(run.epochs), run.epochs),
                 cell(run.finalValidationLoss ? QString::number(*run.finalValidationLoss, 'f', 4)
                                              : QString(),
                      run.finalValidationLoss ? QVariant(*run.finalValidationLoss)
                                              : QVariant(1e300)),
                 cell(verdicts.join(", "))});
        }
    } catch (const std::exception& error) {
        detailsLabel_->setText(QString::fromUtf8(error.what()));
    }
    table_->resizeColumnsToContents();
    for (qint64 id : selected)
        selectRun(id, true);
}

std::vector<qint64> HistoryPanel::selectedRuns() const {
    std::vector<qint64> runs;
    for (const QModelIndex& index : table_->selectionModel()->selectedRows(Id))
        runs.push_back(index.data(Qt::UserRole).toLongLong());
    return runs;
}

void HistoryPanel::selectRun(qint64 runId, bool addToSelection) {
    if (!addToSelection)
        table_->clearSelection();
    for (int row = 0; row < proxy_->rowCount(); ++row)
        if (proxy_->index(row, Id).data(Qt::UserRole).toLongLong() == runId)
            table_->selectionModel()->select(
                proxy_->index(row, Id), QItemSelectionModel::Select | QItemSelectionModel::Rows);
}

void HistoryPanel::showDetails() {
    const std::vector<qint64> runs = selectedRuns();
    RunHistory* store = history();
    if (runs.size() != 1 || !store) {
        detailsLabel_->setText(runs.empty() ? QString() : tr("%1 runs selected").arg(runs.size()));
        return;
    }
    try {
        const std::optional<RunSummary> run = store->run(runs.front());
        if (!run)
            return;
        QStringList lines{tr("Run %1 · %2 · seed %3 · %4")
                              .arg(run->id)
                              .arg(run->method.toUpper())
                              .arg(run->seed)
                              .arg(run->device)};
        if (!run->errorMessage.isEmpty())
            lines << run->errorMessage;
        lines << store->report(run->id);
        for (const DiagnosticRecord& d : store->diagnostics(run->id))
            lines << d.result.value("summary").toString();
        detailsLabel_->setText(lines.join("\n"));
    } catch (const std::exception& error) {
        detailsLabel_->setText(QString::fromUtf8(error.what()));
    }
}

QString HistoryPanel::overlaySelected() {
    RunHistory* store = history();
    if (!store)
        return tr("no run history");
    std::vector<std::pair<QString, Matrix>> overlays;
    for (qint64 id : selectedRuns()) {
        const std::optional<StoredSamples> samples = store->samples(id);
        if (samples)
            overlays.emplace_back(tr("run %1").arg(id), samples->samples);
    }
    if (overlays.empty() && !selectedRuns().empty())
        return tr("the selected runs have no posterior samples");
    posteriorView_->setRunOverlays(overlays);
    return {};
}

QString HistoryPanel::replaySelected(int millisecondsPerFrame) {
    const std::vector<qint64> runs = selectedRuns();
    RunHistory* store = history();
    if (runs.size() != 1 || !store)
        return tr("select one run to replay");
    replayFrames_ = store->snapshots(runs.front());
    if (const std::optional<StoredSamples> final = store->samples(runs.front()))
        replayFrames_.push_back({replayFrames_.empty() ? 0 : replayFrames_.back().round,
                                 replayFrames_.empty() ? 0 : replayFrames_.back().epoch, 0.0,
                                 final->samples});
    if (replayFrames_.empty())
        return tr("run %1 has no snapshots to replay").arg(runs.front());
    replayRun_ = runs.front();
    replayIndex_ = 0;
    replayTimer_.start(millisecondsPerFrame);
    return {};
}

QString HistoryPanel::reapplySelected() {
    const std::vector<qint64> runs = selectedRuns();
    RunHistory* store = history();
    if (runs.size() != 1 || !store)
        return tr("select one run whose settings to re-apply");
    const QJsonObject json = store->settings(runs.front());
    Project changed = document_->project();
    InferenceSettings& s = changed.inference;
    s.method = json.value("method").toString(QString::fromStdString(s.method)).toStdString();
    const QJsonValue estimator = json.value("estimator");
    if (estimator.isObject())
        s.estimator = estimator.toObject().value("kind").toString().toStdString();
    else if (estimator.isString() && estimator.toString() != "resnet" &&
             estimator.toString() != "-")
        s.estimator = estimator.toString().toStdString();
    if (const QJsonValue v = setting(json, "simulations"); v.isDouble())
        s.simulations = v.toInteger();
    if (const QJsonValue v = setting(json, "seed"); !v.isUndefined())
        s.seed = v.isString() ? v.toString().toULongLong() : std::uint64_t(v.toInteger());
    if (const QJsonValue v = setting(json, "posterior_samples"); v.isDouble())
        s.posteriorSamples = v.toInteger();
    if (const QJsonValue v = setting(json, "device"); v.isString())
        s.device = v.toString().toStdString();
    if (const QJsonValue v = setting(json, "batch_size"); v.isDouble())
        s.training.batchSize = v.toInt();
    if (const QJsonValue v = setting(json, "learning_rate"); v.isDouble())
        s.training.learningRate = v.toDouble();
    if (const QJsonValue v = setting(json, "patience"); v.isDouble())
        s.training.patience = v.toInt();
    if (const QJsonValue v = setting(json, "max_epochs"); v.isDouble())
        s.training.maxEpochs = v.toInt();
    if (const QJsonValue v = setting(json, "rounds"); v.isDouble())
        s.rounds = v.toInt();
    // Likelihood and ratio runs: their MCMC and (NLE) dequantisation.
    if (const QJsonValue v = json.value("mcmc"); v.isString())
        s.mcmc.sampler = v.toString().toStdString();
    if (const QJsonValue v = json.value("chains"); v.isDouble())
        s.mcmc.chains = v.toInt();
    if (const QJsonValue v = json.value("warmup"); v.isDouble())
        s.mcmc.warmupSteps = v.toInt();
    if (const QJsonValue v = json.value("thinning"); v.isDouble())
        s.mcmc.thinning = v.toInt();
    if (const QJsonValue v = json.value("mcmc_init"); v.isString())
        s.mcmc.init = v.toString().toStdString();
    if (const QJsonValue v = json.value("dequantize_whole_numbers"); v.isBool())
        s.dequantizeWholeNumbers = v.toBool();
    // Runs recorded before these options existed trained and sampled θ, and modelled x, as is.
    if (json.value("mcmc").isString()) {
        s.transformParameters = json.value("transform_parameters").toBool(false);
        s.logPositiveData = json.value("log_positive_data").toBool(false);
    }
    // ABC runs: their summary statistics and distance.
    if (json.value("method").toString().endsWith("-abc")) {
        if (const QJsonValue v = json.value("summary"); v.isString())
            s.abc.summary = v.toString().toStdString();
        if (const QJsonValue v = json.value("columns"); v.isArray()) {
            s.abc.columns.clear();
            for (const QJsonValue& column : v.toArray())
                s.abc.columns.push_back(column.toInt());
        }
        if (const QJsonValue v = json.value("distance"); v.isString())
            s.abc.distance = v.toString().toStdString();
        if (const QJsonValue v = json.value("z_score"); v.isBool())
            s.abc.zScore = v.toBool();
        if (const QJsonValue v = json.value("regression_adjustment"); v.isBool())
            s.abc.regressionAdjustment = v.toBool();
    }
    const std::string observation = json.value("observation").toString().toStdString();
    if (changed.findObservation(observation))
        changed.defaultObservation = observation;
    if (const Problems problems = changed.validate(); !problems.empty())
        return tr("run %1's settings do not fit this project: %2")
            .arg(runs.front())
            .arg(QString::fromStdString(problems.front().toString()));
    document_->edit(tr("Re-apply settings of run %1").arg(runs.front()), changed);
    return {};
}

QString HistoryPanel::deleteSelected() {
    RunHistory* store = history();
    if (!store)
        return tr("no run history");
    try {
        for (qint64 id : selectedRuns())
            store->deleteRun(id);
    } catch (const std::exception& error) {
        refresh();
        return QString::fromUtf8(error.what());
    }
    refresh();
    return {};
}

QString HistoryPanel::exportSelected(const QString& csvPath) {
    const std::vector<qint64> runs = selectedRuns();
    RunHistory* store = history();
    if (runs.size() != 1 || !store)
        return tr("select one run to export");
    try {
        const std::optional<StoredSamples> samples = store->samples(runs.front());
        if (!samples)
            return tr("run %1 has no posterior samples").arg(runs.front());
        std::vector<std::string> names = document_->project().parameterNames();
        if (int(names.size()) != samples->samples.cols()) {
            names.clear();
            for (Eigen::Index c = 0; c < samples->samples.cols(); ++c)
                names.push_back("parameter_" + std::to_string(c + 1));
        }
        writeCsv(csvPath.toStdString(), names, samples->samples);
        return {};
    } catch (const std::exception& error) {
        return QString::fromUtf8(error.what());
    }
}

}  // namespace sbiw::gui
