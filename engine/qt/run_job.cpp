#include "qt/run_job.h"
#include "qt/simulator_factory.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>

#include <QStringList>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "abc/abc.h"
#include "inference/nle.h"
#include "inference/npe.h"
#include "inference/nre.h"
#include "inference/snpe.h"
#include "qt/imported_simulations.h"
#include "qt/run_recorder.h"
#include "simulators/catalogue.h"

namespace sbiw {

const std::vector<std::string>& runnableMethods() {
    static const std::vector<std::string> methods = {"npe",   "snpe",   "nle",     "snle",
                                                     "nre",   "snre",   "nre-b",   "snre-b",
                                                     "nre-c", "snre-c", "rej-abc", "smc-abc"};
    return methods;
}

bool isSequentialMethod(const std::string& method) {
    return method == "snpe" || method == "snle" || method == "snre" || method == "snre-b" ||
           method == "snre-c";
}

namespace {

bool isAbc(const std::string& method) {
    return method == "rej-abc" || method == "smc-abc";
}

bool isRatioMethod(const std::string& method) {
    return method == "nre" || method == "snre" || method == "nre-b" || method == "snre-b" ||
           method == "nre-c" || method == "snre-c";
}

int roundsOf(const InferenceSettings& inference) {
    return isSequentialMethod(inference.method) ? inference.rounds : 1;
}

// The budget every method's settings take from the project: simulations, seed, threads.
template <class Settings>
void copyBudget(Settings& settings, const InferenceSettings& inference) {
    settings.simulations = inference.simulations;
    settings.seed = inference.seed;
    settings.threads = inference.threads;
}

// ... and what the neural methods add: training settings and device.
template <class Settings>
void copyNeural(Settings& settings, const InferenceSettings& inference) {
    copyBudget(settings, inference);
    settings.training = inference.training;
    settings.device = inference.device;
}

NpeSettings npeSettingsOf(const Project& project) {
    NpeSettings settings;
    copyNeural(settings, project.inference);
    settings.estimator.kind = project.inference.estimator;
    const TaskInfo* task = findTask(project.simulator.task);
    settings.isTimeSeries = task && task->dataKind == DataKind::TimeSeries;
    return settings;
}

// The posterior's MCMC: as many samples as the project asks, seeded like the run, with the
// project's sampler, chains, warm-up, thinning and initialisation.
McmcSettings mcmcSettingsOf(const RunJob& job) {
    McmcSettings mcmc;
    mcmc.samples = job.project.inference.posteriorSamples;
    mcmc.seed = job.project.inference.seed;
    job.project.inference.mcmc.applyTo(mcmc);
    return mcmc;
}

NleSettings nleSettingsOf(const RunJob& job) {
    const InferenceSettings& inference = job.project.inference;
    NleSettings settings;
    copyNeural(settings, inference);
    settings.estimator.kind = inference.estimator;  // maf, nsf, mdn or auto
    settings.dequantizeWholeNumbers = inference.dequantizeWholeNumbers;
    settings.rounds = roundsOf(inference);
    settings.mcmc = mcmcSettingsOf(job);
    settings.transformParameters = inference.transformParameters;
    settings.logPositiveColumns = inference.logPositiveData;
    return settings;
}

NreSettings nreSettingsOf(const RunJob& job) {
    const InferenceSettings& inference = job.project.inference;
    NreSettings settings;
    copyNeural(settings, inference);
    settings.loss = nreLossOfMethod(inference.method);
    settings.rounds = roundsOf(inference);
    settings.mcmc = mcmcSettingsOf(job);
    settings.transformParameters = inference.transformParameters;
    settings.logPositiveColumns = inference.logPositiveData;
    return settings;
}

template <class Settings>
void fillAbc(Settings& settings, const InferenceSettings& inference) {
    copyBudget(settings, inference);
    settings.posteriorSamples = inference.posteriorSamples;
    inference.abc.applyTo(settings);
}

RunStart runStartOf(const RunJob& job, const QString& estimator, const QJsonObject& settings,
                    const QString& device) {
    RunStart start;
    start.projectName = QString::fromStdString(job.project.name);
    start.projectHash = projectContentHash(job.project);
    start.projectPath =
        job.projectPath.isEmpty() ? QString() : QFileInfo(job.projectPath).absoluteFilePath();
    start.observation = job.observationName;
    start.method = QString::fromStdString(job.project.inference.method);
    start.estimator = estimator;
    start.settings = settings;
    start.seed = job.project.inference.seed;
    start.device = device;
    return start;
}

QString trainingLine(const QString& what, const TrainingSummary& t, std::int64_t pairs) {
    return QStringLiteral("%1 on %2 simulations: %3 epochs in %4 s, %5; best validation loss %6")
        .arg(what)
        .arg(pairs)
        .arg(t.epochs)
        .arg(t.seconds, 0, 'f', 1)
        .arg(QString::fromStdString(t.stopReason))
        .arg(t.bestValidationLoss, 0, 'f', 4);
}

// Ends a neural run whose training did not finish; true when it did finish.
// `simulations`: for methods that store no training set, the simulations the run ran.
bool endUnfinished(const TrainingSummary& training, bool trained, const RunRecorder* recorder,
                   RunJobResult& result, std::optional<qint64> simulations = std::nullopt) {
    if (training.status == RunStatus::Cancelled) {
        result.state = RunState::Cancelled;
        result.message = QString::fromStdString(training.stopReason);
    } else if (training.status == RunStatus::Failed || !trained) {
        result.state = RunState::Failed;
        result.message = QString::fromStdString(training.stopReason.empty() ? "no epoch completed"
                                                                            : training.stopReason);
    } else {
        return true;
    }
    if (recorder) {
        RunOutcome outcome = outcomeOf(training, result.state, result.message);
        outcome.simulationCount = simulations;
        recorder->finish(outcome);
    }
    return false;
}

void runNpeJob(const RunJob& job, TrainingHooks hooks, RunHistory* history, RunJobResult& result) {
    NpeRunSettings run;
    run.npe = npeSettingsOf(job.project);
    run.npe.trials = int(job.observation.rows());  // several rows: sets of i.i.d. trials
    run.observationName = job.observationName;
    run.observation = job.observation;
    run.posteriorSamples = job.project.inference.posteriorSamples;
    run.parameterNames = job.project.parameterNames();
    run.snapshotEvery = job.snapshotEvery;
    run.snapshotSamples = job.snapshotSamples;
    run.checkpointEvery = job.checkpointEvery;
    const std::string device = resolveDevice(run.npe.device);
    const JointPrior prior = job.project.makePrior();
    // Imported simulations replace the simulator: their rows are the training set.
    const bool imported = job.project.simulator.kind == "imported";
    const std::unique_ptr<Simulator> simulator =
        imported ? nullptr : makeTrustedSimulator(job.project, job.simulatorLog);

    std::optional<RunRecorder> recorder;
    if (history) {
        result.runId =
            history->startRun(runStartOf(job, QString::fromStdString(run.npe.estimator.kind),
                                         toJson(run), QString::fromStdString(device)));
        recorder.emplace(*history, result.runId);
        if (job.onRunStarted)
            job.onRunStarted(result.runId);
    }
    try {
        NpeTrainingSet set;
        if (imported) {
            ImportedSimulations rows = loadImportedSimulations(job.project);
            set.theta = std::move(rows.theta);
            set.x = std::move(rows.x);
            set.simulationCount = rows.rowsRead;
            for (const std::string& note : rows.notes)
                set.nonFiniteSummary += (set.nonFiniteSummary.empty() ? "" : "; ") + note;
        } else {
            set = simulateTrainingSet(prior, *simulator, run.npe, hooks);
        }
        if (set.cancelled) {
            result.state = RunState::Cancelled;
            result.message = QString::fromStdString(set.stopReason);
            if (recorder)
                recorder->finish(RunOutcome::ended(RunState::Cancelled, result.message));
            return;
        }
        // Stored before training, so that a run killed while training resumes on them.
        if (recorder) {
            recorder->recordSimulations(simulationSourceKey(job.project, run.npe.trials), set.theta,
                                        set.x);
            hooks = recorder->recordingHooks(hooks);
        }
        hooks.snapshotEvery = job.snapshotEvery;
        hooks.snapshotSamples = job.snapshotSamples;
        hooks.checkpointEvery = recorder ? job.checkpointEvery : 0;
        const NpeResult npe = trainNpe(prior, set.theta, set.x, job.observation, run.npe, hooks);
        result.training = npe.training;
        if (!endUnfinished(npe.training, npe.posterior.has_value(), recorder ? &*recorder : nullptr,
                           result))
            return;
        if (hooks.onStage)
            hooks.onStage("sampling");
        SamplingReport report;
        result.samples =
            npe.posterior->sample(run.posteriorSamples, job.observation, run.npe.seed, &report);
        if (recorder)
            recorder->finishTrained(*npe.posterior, {job.observationName, result.samples, {}},
                                    outcomeOf(npe.training, RunState::Finished, {}));
        result.state = RunState::Finished;
        result.summary =
            trainingLine(
                QStringLiteral("NPE (%1)").arg(QString::fromStdString(run.npe.estimator.kind)),
                npe.training, set.theta.rows()) +
            QStringLiteral("; %1% of proposals inside the prior's support")
                .arg(100.0 * report.acceptanceRate(), 0, 'f', 1);
        if (!set.nonFiniteSummary.empty())
            result.summary += "; " + QString::fromStdString(set.nonFiniteSummary);
        if (!job.savePosteriorPath.isEmpty())
            npe.posterior->save(job.savePosteriorPath.toStdString());
    } catch (...) {
        if (recorder)
            recorder->finish(
                RunOutcome::ended(RunState::Failed, QStringLiteral("stopped by an error")));
        throw;
    }
}

// Sequential NPE (APT). Recorded like NPE (settings with the rounds, per-epoch losses and
// snapshots carrying their round, every round's simulations, the model and the samples), but
// without checkpoints: an SNPE run cannot be resumed.
void runSnpeJob(const RunJob& job, TrainingHooks hooks, RunHistory* history, RunJobResult& result) {
    SnpeSettings settings;
    settings.npe = npeSettingsOf(job.project);
    settings.rounds = job.project.inference.rounds;
    settings.atoms = job.snpeAtoms;
    const std::string device = resolveDevice(settings.npe.device);
    std::optional<RunRecorder> recorder;
    if (history) {
        NpeRunSettings run;
        run.npe = settings.npe;
        run.observationName = job.observationName;
        run.observation = job.observation;
        run.posteriorSamples = job.project.inference.posteriorSamples;
        run.parameterNames = job.project.parameterNames();
        run.snapshotEvery = job.snapshotEvery;
        run.snapshotSamples = job.snapshotSamples;
        run.checkpointEvery = 0;
        QJsonObject json = toJson(run);
        json["method"] = "snpe";
        json["rounds"] = settings.rounds;
        json["atoms"] = settings.atoms;
        result.runId =
            history->startRun(runStartOf(job, QString::fromStdString(settings.npe.estimator.kind),
                                         json, QString::fromStdString(device)));
        recorder.emplace(*history, result.runId);
        hooks = recorder->recordingHooks(hooks);
        hooks.onCheckpoint = nullptr;  // nothing to resume from
        if (job.onRunStarted)
            job.onRunStarted(result.runId);
    }
    try {
        hooks.snapshotEvery = job.snapshotEvery;
        hooks.snapshotSamples = job.snapshotSamples;
        const JointPrior prior = job.project.makePrior();
        const SnpeResult snpe = runSnpe(prior, *makeTrustedSimulator(job.project, job.simulatorLog),
                                        job.observation, settings, hooks);
        if (history && snpe.theta.rows() > 0) {
            // Every round's training pairs, by round. Only round 1's are prior draws: later rounds
            // carry another source key, so that no run reuses this run's set as prior simulations.
            const QString sourceKey = simulationSourceKey(job.project);
            history->transaction([&] {
                Eigen::Index begin = 0;
                while (begin < snpe.theta.rows()) {
                    const int round = snpe.roundOfRow[std::size_t(begin)];
                    Eigen::Index end = begin;
                    while (end < snpe.theta.rows() && snpe.roundOfRow[std::size_t(end)] == round)
                        ++end;
                    const QString key =
                        round == 1
                            ? sourceKey
                            : sourceKey +
                                  QStringLiteral(" | snpe proposal of run %1").arg(result.runId);
                    history->addSimulations(result.runId, key, round,
                                            snpe.theta.middleRows(begin, end - begin),
                                            snpe.x.middleRows(begin, end - begin));
                    begin = end;
                }
            });
        }
        result.training = snpe.training;
        TrainingSummary lastRound =
            snpe.rounds.empty() ? snpe.training : snpe.rounds.back().training;
        lastRound.status = snpe.training.status;
        lastRound.stopReason = snpe.training.stopReason;
        if (!endUnfinished(lastRound, snpe.posterior.has_value(), recorder ? &*recorder : nullptr,
                           result))
            return;
        if (hooks.onStage)
            hooks.onStage("sampling");
        SamplingReport report;
        result.samples = snpe.posterior->sample(job.project.inference.posteriorSamples,
                                                job.observation, settings.npe.seed, &report);
        if (recorder)
            recorder->finishTrained(*snpe.posterior, {job.observationName, result.samples, {}},
                                    outcomeOf(lastRound, RunState::Finished, {}));
        result.state = RunState::Finished;
        result.summary =
            QStringLiteral(
                "SNPE (%1, %2 rounds, %3 atoms) on %4 simulations (%5 s): %6 epochs in %7 s; %8; "
                "%9% of posterior draws inside the prior's support")
                .arg(QString::fromStdString(settings.npe.estimator.kind))
                .arg(snpe.rounds.size())
                .arg(settings.atoms)
                .arg(snpe.theta.rows())
                .arg(snpe.simulationSeconds, 0, 'f', 2)
                .arg(snpe.training.epochs)
                .arg(snpe.training.seconds, 0, 'f', 1)
                .arg(QString::fromStdString(snpe.training.stopReason))
                .arg(100.0 * report.acceptanceRate(), 0, 'f', 1);
        for (const SnpeRound& round : snpe.rounds)
            result.details
                << QStringLiteral(
                       "round %1: %2 simulations, %3, %4 epochs (%5 s), best validation loss %6")
                       .arg(round.round)
                       .arg(round.simulations)
                       .arg(round.round == 1
                                ? QStringLiteral("from the prior")
                                : QStringLiteral(
                                      "proposal acceptance %1% inside the prior's support")
                                      .arg(100.0 * round.proposalAcceptance, 0, 'f', 1))
                       .arg(round.training.epochs)
                       .arg(round.training.seconds, 0, 'f', 1)
                       .arg(round.training.bestValidationLoss, 0, 'f', 4);
        if (!snpe.nonFiniteSummary.empty())
            result.details << QString::fromStdString(snpe.nonFiniteSummary);
        if (!job.savePosteriorPath.isEmpty())
            snpe.posterior->save(job.savePosteriorPath.toStdString());
    } catch (...) {
        if (recorder)
            recorder->finish(
                RunOutcome::ended(RunState::Failed, QStringLiteral("stopped by an error")));
        throw;
    }
}

// nle, snle and the nre, nre-b, nre-c families: a likelihood estimator or a ratio classifier,
// sampled by MCMC. Recorded with settings, per-epoch losses (carrying their round) and samples,
// but without a model or checkpoints: such a run cannot be resumed.
void runMcmcMethodJob(const RunJob& job, TrainingHooks hooks, RunHistory* history,
                      RunJobResult& result) {
    const std::string& method = job.project.inference.method;
    const bool ratio = isRatioMethod(method);
    const NleSettings nle = nleSettingsOf(job);
    const NreSettings nre = nreSettingsOf(job);
    const QString estimator =
        ratio ? QStringLiteral("resnet") : QString::fromStdString(nle.estimator.kind);
    const std::string device = resolveDevice(nle.device);
    std::optional<RunRecorder> recorder;
    if (history) {
        QJsonObject settings = likelihoodRunSettingsJson(QString::fromStdString(method), estimator,
                                                         nle, job.observationName, job.observation,
                                                         job.project.parameterNames());
        if (!ratio) {
            settings["dequantize_whole_numbers"] = nle.dequantizeWholeNumbers;
        } else {
            settings["loss"] = QString::fromStdString(nre.loss);
            if (nre.loss == "b")
                settings["atoms"] = nre.atoms;
            if (nre.loss == "c") {
                settings["classes"] = nre.classes;
                settings["gamma"] = nre.gamma;
            }
        }
        result.runId =
            history->startRun(runStartOf(job, estimator, settings, QString::fromStdString(device)));
        recorder.emplace(*history, result.runId);
        hooks = recorder->recordingHooks(hooks);
        hooks.onCheckpoint = nullptr;  // nothing to resume from
        if (job.onRunStarted)
            job.onRunStarted(result.runId);
    }
    // Snapshots come from short MCMC chains with the current network (likelihood_posterior.cpp).
    hooks.snapshotEvery = job.snapshotEvery;
    hooks.snapshotSamples = job.snapshotSamples;
    try {
        const JointPrior prior = job.project.makePrior();
        const std::unique_ptr<Simulator> simulator =
            makeTrustedSimulator(job.project, job.simulatorLog);
        const NleResult run = ratio ? runNre(prior, *simulator, job.observation, nre, hooks)
                                    : runNle(prior, *simulator, job.observation, nle, hooks);
        result.training = run.training;
        if (!endUnfinished(run.training, run.trained, recorder ? &*recorder : nullptr, result,
                           run.simulationCount))
            return;
        result.samples = run.posterior.samples;
        if (recorder) {
            RunOutcome outcome = outcomeOf(run.training, RunState::Finished, {});
            if (!run.estimatorTrials.empty())
                outcome.estimator = estimator + ":" + QString::fromStdString(run.estimator);
            outcome.simulationCount = run.simulationCount;
            // The network with the samples: the run's posterior can be sampled and checked later.
            if (run.network.isValid())
                recorder->finishTrained(run.network, {job.observationName, result.samples, {}},
                                        outcome);
            else
                history->transaction([&] {
                    history->saveSamples(result.runId, {job.observationName, result.samples, {}});
                    recorder->finish(outcome);
                });
        }
        result.state = RunState::Finished;
        const QString name = QString::fromStdString(method).toUpper();
        const QString shownEstimator = ratio ? QStringLiteral("classifier")
                                       : run.estimatorTrials.empty()
                                           ? estimator
                                           : QStringLiteral("%1, chosen by validation loss")
                                                 .arg(QString::fromStdString(run.estimator));
        result.summary =
            trainingLine(run.rounds.size() > 1
                             ? QStringLiteral("%1 (%2, %3 rounds)")
                                   .arg(name, shownEstimator)
                                   .arg(run.rounds.size())
                             : QStringLiteral("%1 (%2)").arg(name, shownEstimator),
                         run.training, run.trainingPairs) +
            QStringLiteral("; %1 MCMC: %2 samples from %3 chains in %4 s, max split R-hat %5")
                .arg(QString::fromStdString(toString(nle.mcmc.method)))
                .arg(run.posterior.samples.rows())
                .arg(run.posterior.chains)
                .arg(run.posterior.elapsedSeconds, 0, 'f', 1)
                .arg(run.posterior.rhat.size() ? run.posterior.rhat.maxCoeff() : std::nan(""), 0,
                     'f', 3);
        if (!run.estimatorTrials.empty())
            result.details << QString::fromStdString(describeEstimatorChoice(run));
        if (const std::string modelling = describeDataModelling(run); !modelling.empty())
            result.details << QString::fromStdString(modelling);
        if (run.rounds.size() > 1)
            for (const LikelihoodRound& round : run.rounds)
                result.details
                    << QStringLiteral(
                           "round %1: %2 simulations %3, %4 epochs (%5 s), best validation loss %6")
                           .arg(round.round)
                           .arg(round.simulations)
                           .arg(round.round == 1
                                    ? QStringLiteral("from the prior")
                                    : QStringLiteral("at MCMC draws from the posterior (%1 s)")
                                          .arg(round.proposalSeconds, 0, 'f', 1))
                           .arg(round.training.epochs)
                           .arg(round.training.seconds, 0, 'f', 1)
                           .arg(round.training.bestValidationLoss, 0, 'g', 5);
    } catch (...) {
        if (recorder)
            recorder->finish(
                RunOutcome::ended(RunState::Failed, QStringLiteral("stopped by an error")));
        throw;
    }
}

void runAbcJob(const RunJob& job, const TrainingHooks& hooks, RunHistory* history,
               RunJobResult& result) {
    const InferenceSettings& inference = job.project.inference;
    LoopControl control;
    control.cancelFlag = hooks.cancel;
    if (hooks.onSimulationProgress)
        control.onProgress = [&hooks](const LoopProgress& p) {
            hooks.onSimulationProgress(p.completed, p.total);
        };
    control.progressIntervalSeconds = 0.2;
    std::optional<RunRecorder> recorder;
    if (history) {
        QJsonArray columns;
        for (int c : inference.abc.columns)
            columns.append(c);
        const QJsonObject settings{{"method", QString::fromStdString(inference.method)},
                                   {"simulations", qint64(inference.simulations)},
                                   {"seed", QString::number(inference.seed)},
                                   {"threads", inference.threads},
                                   {"posterior_samples", qint64(inference.posteriorSamples)},
                                   {"observation", job.observationName},
                                   {"summary", QString::fromStdString(inference.abc.summary)},
                                   {"columns", columns},
                                   {"distance", QString::fromStdString(inference.abc.distance)},
                                   {"z_score", inference.abc.zScore},
                                   {"regression_adjustment", inference.abc.regressionAdjustment}};
        result.runId = history->startRun(
            runStartOf(job, QStringLiteral("-"), settings, QStringLiteral("cpu")));
        recorder.emplace(*history, result.runId);
        if (job.onRunStarted)
            job.onRunStarted(result.runId);
    }
    try {
        const JointPrior prior = job.project.makePrior();
        const std::unique_ptr<Simulator> simulator =
            makeTrustedSimulator(job.project, job.simulatorLog);
        if (hooks.onStage)
            hooks.onStage("simulating");
        AbcResult abc;
        if (inference.method == "rej-abc") {
            RejectionAbcSettings settings;
            fillAbc(settings, inference);
            abc = rejectionAbc(prior, *simulator, job.observation, settings, control);
            if (job.onAbcPopulation && !abc.cancelled && !abc.populations.empty())
                job.onAbcPopulation(1, abc.populations.front().epsilon,
                                    abc.populations.front().acceptanceRate);
        } else {
            SmcAbcSettings settings;
            fillAbc(settings, inference);
            // Each population is a snapshot (round = population, epoch 0: nothing is trained),
            // shown live and kept for the history's replay, as training methods' snapshots are.
            AbcPopulationHook onPopulation =
                [&job, recording = recorder ? recorder->recordingHooks(hooks) : hooks, count = 0,
                 started = std::chrono::steady_clock::now()](const AbcPopulation& population,
                                                             const Matrix& particles) mutable {
                    ++count;
                    if (job.onAbcPopulation)
                        job.onAbcPopulation(count, population.epsilon, population.acceptanceRate);
                    if (job.snapshotEvery <= 0 || !recording.onSnapshot)
                        return;
                    PosteriorSnapshot snapshot;
                    snapshot.round = count;
                    snapshot.samples = particles;
                    snapshot.elapsedSeconds =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                            .count();
                    recording.onSnapshot(snapshot);  // stored in the history, then shown
                };
            abc = smcAbc(prior, *simulator, job.observation, settings, control, onPopulation);
        }
        if (abc.cancelled) {
            result.state = RunState::Cancelled;
            result.message = QStringLiteral("cancelled after %1 simulations").arg(abc.simulations);
            if (recorder) {
                RunOutcome outcome = RunOutcome::ended(RunState::Cancelled, result.message);
                outcome.simulationCount = abc.simulations;
                recorder->finish(outcome);
            }
            return;
        }
        result.samples = abc.samples;
        for (std::size_t i = 0; i < abc.populations.size(); ++i)
            result.details << QString::fromStdString(describe(int(i) + 1, abc.populations[i]));
        if (recorder) {
            history->saveSamples(result.runId, {job.observationName, result.samples, {}});
            RunOutcome outcome = RunOutcome::ended(RunState::Finished);
            outcome.simulationCount = abc.simulations;
            recorder->finish(outcome);
        }
        result.state = RunState::Finished;
        result.summary = QString::fromStdString(
            describe(inference.method == "rej-abc" ? "Rejection ABC" : "SMC-ABC", abc));
    } catch (...) {
        if (recorder)
            recorder->finish(
                RunOutcome::ended(RunState::Failed, QStringLiteral("stopped by an error")));
        throw;
    }
}

}  // namespace

Problems RunJob::validate() const {
    Problems problems = project.validate();
    if (!problems.empty())
        return problems;
    const std::string& method = project.inference.method;
    if (std::find(runnableMethods().begin(), runnableMethods().end(), method) ==
        runnableMethods().end()) {
        problems.push_back(
            {"inference.method", "'" + method + "' cannot be run from the workbench yet"});
        return problems;
    }
    if (observation.rows() < 1 || observation.cols() != project.dataDimension())
        problems.push_back({"observation", "must have " + std::to_string(project.dataDimension()) +
                                               " columns and a row"});
    else if (method == "snpe" && observation.rows() != 1)
        problems.push_back({"observation",
                            "SNPE conditions on one row; several i.i.d. rows need npe (set "
                            "embedding), a likelihood (nle), ratio (nre) or ABC method"});
    if (project.simulator.kind == "imported" && observation.rows() > 1)
        problems.push_back({"observation",
                            "imported simulations hold one output per θ: they cannot train on sets "
                            "of " +
                                std::to_string(observation.rows()) + " i.i.d. rows"});
    if (project.simulator.kind == "imported" && method != "npe")
        problems.push_back({"inference.method", "imported simulations train NPE only: " + method +
                                                    " simulates as it goes and needs a simulator"});
    if (snapshotEvery < 0)
        problems.push_back({"snapshotEvery", "must not be negative"});
    if (snapshotSamples < 1)
        problems.push_back({"snapshotSamples", "must be at least 1"});
    if (checkpointEvery < 0)
        problems.push_back({"checkpointEvery", "must not be negative"});
    const auto prefixed = [&problems](const Problems& found, const std::string& prefix) {
        for (const Problem& p : found)
            problems.push_back({joinPath(prefix, p.path), p.message});
    };
    if (method == "npe")
        prefixed(npeSettingsOf(project).validate(), "inference");
    if (method == "snpe") {
        SnpeSettings snpe;
        snpe.npe = npeSettingsOf(project);
        snpe.rounds = project.inference.rounds;
        snpe.atoms = snpeAtoms;
        prefixed(snpe.validate(), "inference");
    }
    if (isNeuralLikelihoodMethod(method))
        prefixed(nleSettingsOf(*this).validate(), "inference");
    if (isRatioMethod(method))
        prefixed(nreSettingsOf(*this).validate(), "inference");
    return problems;
}

RunJobResult runJob(const RunJob& job, const TrainingHooks& hooks) {
    RunJobResult result;
    const auto started = std::chrono::steady_clock::now();
    try {
        if (const Problems problems = job.validate(); !problems.empty()) {
            QStringList lines;
            for (const Problem& p : problems)
                lines << QString::fromStdString(p.toString());
            result.message = lines.join("\n");
            return result;
        }
        std::optional<RunHistory> history;
        if (!job.historyPath.isEmpty())
            history.emplace(job.historyPath);
        RunHistory* recordIn = history ? &*history : nullptr;
        const std::string& method = job.project.inference.method;
        if (method == "npe")
            runNpeJob(job, hooks, recordIn, result);
        else if (method == "snpe")
            runSnpeJob(job, hooks, recordIn, result);
        else if (isAbc(method))
            runAbcJob(job, hooks, recordIn, result);
        else
            runMcmcMethodJob(job, hooks, recordIn, result);
        // The lines the user sees at the end stay with the run (rounds, populations, choices).
        if (history && result.runId > 0 && !result.summary.isEmpty())
            history->setReport(result.runId, QStringList{result.summary} + result.details);
    } catch (const std::exception& error) {
        result.state = RunState::Failed;
        result.message = QString::fromUtf8(error.what());
    }
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

bool samplesByMcmc(const std::string& method) {
    return isNeuralLikelihoodMethod(method) || isRatioMethod(method);
}

}  // namespace sbiw
