#include "qt/run_recorder.h"

#include <QDataStream>
#include <QIODevice>
#include <QJsonArray>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace sbiw {

const char* const kTrainerWeightsFormat = "sbiw-trainer-weights/1";

namespace {

// ------------------------------------------------------------------ reading stored JSON

// Reads a stored settings object; every miss names the key's path ("training.batch_size").
class JsonReader {
  public:
    JsonReader(const QJsonObject& object, QString path) : object_(object), path_(std::move(path)) {}

    QJsonValue value(const char* key) const {
        const QJsonValue v = object_.value(QLatin1String(key));
        if (v.isUndefined())
            fail(key, "is missing");
        return v;
    }
    double number(const char* key) const {
        const QJsonValue v = value(key);
        if (!v.isDouble())
            fail(key, "is not a number");
        return v.toDouble();
    }
    qint64 integer(const char* key) const {
        const double v = number(key);
        if (v != std::floor(v) || std::abs(v) > 9.007199254740992e15)
            fail(key, "is not a whole number");
        return qint64(v);
    }
    int smallInteger(const char* key) const {
        const qint64 v = integer(key);
        if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
            fail(key, "is out of range");
        return int(v);
    }
    // An integer added to the format later: `fallback` for runs recorded before.
    int smallIntegerOr(const char* key, int fallback) const {
        return object_.contains(QLatin1String(key)) ? smallInteger(key) : fallback;
    }
    bool boolean(const char* key) const {
        const QJsonValue v = value(key);
        if (!v.isBool())
            fail(key, "is not true or false");
        return v.toBool();
    }
    std::string text(const char* key) const {
        const QJsonValue v = value(key);
        if (!v.isString())
            fail(key, "is not a string");
        return v.toString().toStdString();
    }
    QJsonArray array(const char* key) const {
        const QJsonValue v = value(key);
        if (!v.isArray())
            fail(key, "is not an array");
        return v.toArray();
    }
    JsonReader object(const char* key) const {
        const QJsonValue v = value(key);
        if (!v.isObject())
            fail(key, "is not an object");
        return JsonReader(v.toObject(), joined(key));
    }
    // Seeds use all 64 bits: stored as a number when they fit in a double exactly, else as text.
    std::uint64_t seed(const char* key) const {
        const QJsonValue v = value(key);
        if (v.isString()) {
            bool ok = false;
            const std::uint64_t parsed = v.toString().toULongLong(&ok);
            if (!ok)
                fail(key, "is not a seed");
            return parsed;
        }
        const qint64 parsed = integer(key);
        if (parsed < 0)
            fail(key, "is negative");
        return std::uint64_t(parsed);
    }

    [[noreturn]] void fail(const char* key, const char* why) const {
        throw std::runtime_error("the stored settings' '" + joined(key).toStdString() + "' " + why);
    }

  private:
    QString joined(const char* key) const {
        return path_.isEmpty() ? QString(key) : path_ + "." + key;
    }

    QJsonObject object_;
    QString path_;
};

QJsonValue seedValue(std::uint64_t seed) {
    if (seed <= (std::uint64_t(1) << 53))
        return QJsonValue(qint64(seed));
    return QString::number(seed);
}

// JSON has no infinity or NaN: such values are left out.
void putFinite(QJsonObject& object, const char* key, double value) {
    if (std::isfinite(value))
        object.insert(QLatin1String(key), value);
}

QByteArray bytes(const std::string& s) {
    return QByteArray(s.data(), qsizetype(s.size()));
}
std::string text(const QByteArray& b) {
    return std::string(b.constData(), std::size_t(b.size()));
}

}  // namespace

// -------------------------------------------------------------------------------- settings

Problems NpeRunSettings::validate() const {
    Problems problems = npe.validate();
    if (posteriorSamples < 1)
        problems.push_back({"posterior_samples", "must be at least 1"});
    if (snapshotEvery < 0)
        problems.push_back({"snapshot_every", "must not be negative"});
    if (snapshotSamples < 1)
        problems.push_back({"snapshot_samples", "must be at least 1"});
    if (checkpointEvery < 0)
        problems.push_back({"checkpoint_every", "must not be negative"});
    if (observation.rows() != npe.trials || observation.cols() < 1 || !observation.allFinite())
        problems.push_back({"observation_values", "must be one row of finite values per i.i.d. trial"});
    if (parameterNames.empty())
        problems.push_back({"parameter_names", "must name every parameter"});
    return problems;
}

RunOutcome outcomeOf(const TrainingSummary& summary, RunState state, const QString& message) {
    RunOutcome outcome;
    outcome.state = state;
    outcome.errorMessage = message;
    if (summary.bestEpoch > 0) {
        outcome.finalValidationLoss = summary.bestValidationLoss;
        for (const EpochReport& r : summary.history)
            if (r.epoch == summary.bestEpoch) outcome.finalTrainLoss = r.trainLoss;
    }
    return outcome;
}

namespace {

// An observation's values, trial-major when it has several rows, as the stored settings keep them.
QJsonArray observationValuesJson(const Matrix& observation) {
    QJsonArray values;
    for (Eigen::Index r = 0; r < observation.rows(); ++r)
        for (Eigen::Index c = 0; c < observation.cols(); ++c)
            values.append(observation(r, c));
    return values;
}

QJsonArray namesJson(const std::vector<std::string>& names) {
    QJsonArray array;
    for (const std::string& name : names)
        array.append(QString::fromStdString(name));
    return array;
}

}  // namespace

QJsonObject likelihoodRunSettingsJson(const QString& method, const QString& estimator,
                                      const NleSettings& settings, const QString& observationName,
                                      const Matrix& observation,
                                      const std::vector<std::string>& parameterNames) {
    return QJsonObject{{"method", method},
                       {"estimator", estimator},
                       {"simulations", qint64(settings.simulations)},
                       {"rounds", settings.rounds},
                       {"seed", QString::number(settings.seed)},
                       {"mcmc", QString::fromStdString(toString(settings.mcmc.method))},
                       {"chains", settings.mcmc.chains},
                       {"thinning", settings.mcmc.thinning},
                       {"warmup", settings.mcmc.warmupSteps},
                       {"mcmc_init", QString::fromStdString(toString(settings.mcmc.init))},
                       {"transform_parameters", settings.transformParameters},
                       {"log_positive_data", settings.logPositiveColumns},
                       {"posterior_samples", qint64(settings.mcmc.samples)},
                       {"device", QString::fromStdString(settings.device)},
                       {"observation", observationName},
                       {"observation_values", observationValuesJson(observation)},
                       {"trials", int(observation.rows())},
                       {"parameter_names", namesJson(parameterNames)}};
}

QJsonObject toJson(const NpeRunSettings& s) {
    const EstimatorSettings& e = s.npe.estimator;
    const TrainingSettings& t = s.npe.training;
    const QJsonArray observation = observationValuesJson(s.observation);
    const QJsonArray names = namesJson(s.parameterNames);
    return QJsonObject{
        {"method", "npe"},
        {"estimator", QJsonObject{{"kind", QString::fromStdString(e.kind)},
                                  {"hidden_features", e.hiddenFeatures},
                                  {"transforms", e.transforms},
                                  {"blocks", e.blocks},
                                  {"bins", e.bins},
                                  {"tail_bound", e.tailBound},
                                  {"components", e.components},
                                  {"embedding", QString::fromStdString(e.embedding)},
                                  {"embedding_features", e.embeddingFeatures},
                                  {"cnn_channels", e.cnnChannels},
                                  {"set_element_features", e.setElementFeatures}}},
        {"training", QJsonObject{{"batch_size", t.batchSize},
                                 {"learning_rate", t.learningRate},
                                 {"validation_fraction", t.validationFraction},
                                 {"patience", t.patience},
                                 {"max_epochs", t.maxEpochs},
                                 {"gradient_clip_norm", t.gradientClipNorm}}},
        {"simulations", qint64(s.npe.simulations)},
        {"seed", seedValue(s.npe.seed)},
        {"threads", s.npe.threads},
        {"device", QString::fromStdString(s.npe.device)},
        {"is_time_series", s.npe.isTimeSeries},
        {"observation", s.observationName},
        {"observation_values", observation},
        {"trials", s.npe.trials},
        {"posterior_samples", qint64(s.posteriorSamples)},
        {"parameter_names", names},
        {"snapshot_every", s.snapshotEvery},
        {"snapshot_samples", s.snapshotSamples},
        {"checkpoint_every", s.checkpointEvery},
        {"reuse_simulations", s.reuseSimulations},
    };
}

namespace {

// The observation's rows: `trials` of them (absent before 2026-11-26: one row).
Matrix observationFromJson(const JsonReader& r) {
    const QJsonArray observation = r.array("observation_values");
    const int trials = r.smallIntegerOr("trials", 1);
    if (trials < 1 || observation.size() % trials != 0)
        r.fail("trials", "does not divide the observation's values into rows");
    Matrix values(trials, observation.size() / trials);
    for (qsizetype i = 0; i < observation.size(); ++i) {
        if (!observation.at(i).isDouble())
            r.fail("observation_values", "holds something other than numbers");
        values(i / values.cols(), i % values.cols()) = observation.at(i).toDouble();
    }
    return values;
}

std::vector<std::string> namesFromJson(const JsonReader& r) {
    std::vector<std::string> names;
    for (const QJsonValue& name : r.array("parameter_names"))
        names.push_back(name.toString().toStdString());
    return names;
}

}  // namespace

StoredRunProblem storedRunProblemFromJson(const QJsonObject& json) {
    const JsonReader r(json, {});
    StoredRunProblem problem;
    problem.method = QString::fromStdString(r.text("method"));
    problem.rounds = r.smallIntegerOr("rounds", 1);
    problem.observationName = QString::fromStdString(r.text("observation"));
    // Likelihood and ratio runs recorded before 2026-12-07 kept neither; they kept no model either.
    problem.observation = observationFromJson(r);
    problem.parameterNames = namesFromJson(r);
    problem.device = r.text("device");
    return problem;
}

NpeRunSettings npeRunSettingsFromJson(const QJsonObject& json) {
    const JsonReader r(json, {});
    NpeRunSettings s;
    if (r.text("method") != "npe")
        throw std::runtime_error("the stored settings are of method '" + r.text("method") +
                                 "', not npe");
    const JsonReader e = r.object("estimator");
    s.npe.estimator.kind = e.text("kind");
    s.npe.estimator.hiddenFeatures = e.smallInteger("hidden_features");
    s.npe.estimator.transforms = e.smallInteger("transforms");
    s.npe.estimator.blocks = e.smallInteger("blocks");
    s.npe.estimator.bins = e.smallInteger("bins");
    s.npe.estimator.tailBound = e.number("tail_bound");
    s.npe.estimator.components = e.smallInteger("components");
    s.npe.estimator.embedding = e.text("embedding");
    s.npe.estimator.embeddingFeatures = e.smallInteger("embedding_features");
    s.npe.estimator.cnnChannels = e.smallIntegerOr("cnn_channels", 8);
    s.npe.estimator.setElementFeatures = e.smallInteger("set_element_features");
    const JsonReader t = r.object("training");
    s.npe.training.batchSize = t.smallInteger("batch_size");
    s.npe.training.learningRate = t.number("learning_rate");
    s.npe.training.validationFraction = t.number("validation_fraction");
    s.npe.training.patience = t.smallInteger("patience");
    s.npe.training.maxEpochs = t.smallInteger("max_epochs");
    s.npe.training.gradientClipNorm = t.number("gradient_clip_norm");
    s.npe.simulations = r.integer("simulations");
    s.npe.seed = r.seed("seed");
    s.npe.threads = r.smallInteger("threads");
    s.npe.device = r.text("device");
    s.npe.isTimeSeries = r.boolean("is_time_series");
    s.observationName = QString::fromStdString(r.text("observation"));
    s.observation = observationFromJson(r);
    s.npe.trials = int(s.observation.rows());
    s.posteriorSamples = r.integer("posterior_samples");
    s.parameterNames = namesFromJson(r);
    s.snapshotEvery = r.smallInteger("snapshot_every");
    s.snapshotSamples = r.smallInteger("snapshot_samples");
    s.checkpointEvery = r.smallInteger("checkpoint_every");
    s.reuseSimulations = r.boolean("reuse_simulations");
    if (const Problems problems = s.validate(); !problems.empty())
        throw std::runtime_error("the stored settings are not usable: " + formatProblems(problems));
    return s;
}

// ----------------------------------------------------------------------------- checkpoints

Checkpoint toStoredCheckpoint(const TrainingCheckpoint& c) {
    Checkpoint stored;
    stored.round = c.round;
    stored.epoch = c.epoch;
    stored.modelFormat = kTrainerWeightsFormat;
    QDataStream weights(&stored.model, QIODevice::WriteOnly);
    weights.setVersion(QDataStream::Qt_6_0);
    weights << bytes(c.modelState) << bytes(c.bestModelState);
    stored.optimizerState = bytes(c.optimizerState);
    QJsonObject state{{"rows", qint64(c.rows)},
                      {"seed", seedValue(c.seed)},
                      {"best_epoch", c.bestEpoch},
                      {"epochs_without_improvement", c.epochsWithoutImprovement},
                      {"elapsed_seconds", c.elapsedSeconds},
                      {"optimizer", "adam"}};
    if (c.bestEpoch > 0)
        putFinite(state, "best_validation_loss", c.bestValidationLoss);
    stored.trainerState = state;
    return stored;
}

TrainingCheckpoint toTrainingCheckpoint(const Checkpoint& stored,
                                        const std::vector<EpochRecord>& epochs) {
    if (stored.modelFormat != QLatin1String(kTrainerWeightsFormat))
        throw std::runtime_error(
            "the checkpoint's weights are in the format '" + stored.modelFormat.toStdString() +
            "', which this version cannot read (it reads " + kTrainerWeightsFormat + ")");
    TrainingCheckpoint c;
    c.round = stored.round;
    c.epoch = stored.epoch;
    QByteArray model, best;
    QDataStream weights(stored.model);
    weights.setVersion(QDataStream::Qt_6_0);
    weights >> model >> best;
    if (weights.status() != QDataStream::Ok)
        throw std::runtime_error("the checkpoint's weights are damaged");
    c.modelState = text(model);
    c.bestModelState = text(best);
    c.optimizerState = text(stored.optimizerState);
    const JsonReader r(stored.trainerState, "trainer_state");
    c.rows = r.integer("rows");
    c.seed = r.seed("seed");
    c.bestEpoch = r.smallInteger("best_epoch");
    c.epochsWithoutImprovement = r.smallInteger("epochs_without_improvement");
    c.elapsedSeconds = r.number("elapsed_seconds");
    c.bestValidationLoss = c.bestEpoch > 0 ? r.number("best_validation_loss") : INFINITY;
    // The reports as the trainer made them: the best loss so far and whether each improved.
    double bestSoFar = INFINITY;
    for (const EpochRecord& e : epochs) {
        if (e.round != c.round || e.epoch > c.epoch)
            continue;
        EpochReport report;
        report.round = e.round;
        report.epoch = e.epoch;
        report.trainLoss = e.trainLoss;
        report.validationLoss = e.validationLoss;
        report.improved = e.validationLoss < bestSoFar;
        if (report.improved)
            bestSoFar = e.validationLoss;
        report.bestValidationLoss = bestSoFar;
        report.elapsedSeconds = e.elapsedSeconds;
        c.history.push_back(report);
    }
    return c;
}

// ------------------------------------------------------------------------ reusing simulations

std::optional<ReusableSimulations> findReusableSimulations(const RunHistory& history,
                                                           const QString& sourceKey, qint64 count,
                                                           qint64 excludeRunId) {
    RunQuery query;
    query.sortBy = RunSortKey::Id;  // newest first
    for (const RunSummary& run : history.listRuns(query)) {
        if (run.id == excludeRunId || run.simulationCount < count)
            continue;
        const std::vector<SimulationBatchInfo> batches = history.simulationBatches(run.id);
        bool sameSource = !batches.empty();
        for (const SimulationBatchInfo& batch : batches)
            sameSource = sameSource && batch.sourceKey == sourceKey;
        if (sameSource)
            return ReusableSimulations{run.id, run.simulationCount};
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------- recorder

RunRecorder::RunRecorder(RunHistory& history, qint64 runId) : history_(history), runId_(runId) {}

TrainingHooks RunRecorder::recordingHooks(TrainingHooks hooks) const {
    RunHistory* history = &history_;
    const qint64 id = runId_;
    hooks.onEpoch = [history, id, next = hooks.onEpoch](const EpochReport& r) {
        history->addEpoch(id, {r.round, r.epoch, r.trainLoss, r.validationLoss, r.elapsedSeconds});
        return next ? next(r) : false;
    };
    hooks.onSnapshot = [history, id, next = hooks.onSnapshot](const PosteriorSnapshot& s) {
        if (s.samples.rows() > 0)
            history->addSnapshot(id, {s.round, s.epoch, s.elapsedSeconds, s.samples});
        if (next)
            next(s);
    };
    hooks.onCheckpoint = [history, id, next = hooks.onCheckpoint](const TrainingCheckpoint& c) {
        history->saveCheckpoint(id, toStoredCheckpoint(c));
        if (next)
            next(c);
    };
    return hooks;
}

void RunRecorder::recordSimulations(const QString& sourceKey, const Matrix& theta,
                                    const Matrix& x) const {
    if (theta.rows() > 0)
        history_.addSimulations(runId_, sourceKey, 0, theta, x);
}

StoredSimulations RunRecorder::reuseSimulations(const ReusableSimulations& source,
                                                const QString& sourceKey, qint64 count) const {
    const StoredSimulations all = history_.simulations(source.runId);
    if (all.theta.rows() < count)
        throw std::runtime_error(
            "run " + std::to_string(source.runId) + " holds " + std::to_string(all.theta.rows()) +
            " simulations, fewer than the " + std::to_string(count) + " asked for");
    std::vector<qint64> whole;
    qint64 linked = 0;
    for (const SimulationBatchInfo& batch : history_.simulationBatches(source.runId)) {
        if (linked + batch.rows > count)
            break;
        whole.push_back(batch.id);
        linked += batch.rows;
    }
    history_.transaction([&] {
        if (!whole.empty())
            history_.useSimulations(runId_, whole);
        if (linked < count)
            history_.addSimulations(runId_, sourceKey, 0,
                                    all.theta.middleRows(linked, count - linked),
                                    all.x.middleRows(linked, count - linked));
    });
    StoredSimulations used;
    used.theta = all.theta.topRows(count);
    used.x = all.x.topRows(count);
    used.batchIds = whole;
    return used;
}

void RunRecorder::finishTrained(const NeuralPosterior& posterior, const StoredSamples& samples,
                                const RunOutcome& outcome) const {
    finishTrained(StoredModel{NeuralPosterior::formatName(), bytes(posterior.toBytes()), {}},
                  samples, outcome);
}

void RunRecorder::finishTrained(const McmcPosterior& posterior, const StoredSamples& samples,
                                const RunOutcome& outcome) const {
    finishTrained(StoredModel{McmcPosterior::formatName(), bytes(posterior.toBytes()), {}}, samples,
                  outcome);
}

void RunRecorder::finishTrained(const StoredModel& model, const StoredSamples& samples,
                                const RunOutcome& outcome) const {
    history_.transaction([&] {
        history_.saveModel(runId_, model);
        history_.saveSamples(runId_, samples);
        history_.finishRun(runId_, outcome);
    });
}

void RunRecorder::finish(const RunOutcome& outcome) const {
    history_.finishRun(runId_, outcome);
}

}  // namespace sbiw
