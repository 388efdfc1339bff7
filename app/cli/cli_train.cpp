// sbiw-cli train: simulate, train NPE, write posterior samples; every run is recorded in the run
// history (docs/run-history.md) and an interrupted or cancelled one continues with --resume.
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>

#include <cmath>
#include <cstdio>
#include <memory>

#include "cli/cli.h"
#include "cli/cli_common.h"
#include "core/csv.h"
#include "inference/nle.h"
#include "qt/imported_simulations.h"
#include "inference/npe.h"
#include "inference/nre.h"
#include "inference/snpe.h"
#include "priors/joint_prior.h"
#include "qt/run_history.h"
#include "qt/run_job.h"
#include "qt/run_recorder.h"
#include "simulators/catalogue.h"

namespace sbiw::cli {

namespace {

// What to train and where the results go.
struct TrainingJob {
    Project project;
    NpeRunSettings run;
    QString samplesPath;    // --out (optional with a history)
    QString posteriorPath;  // --save-posterior
    bool quiet = false;
};

TrainingHooks printingHooks(const TrainingJob& job, QTextStream& out, QTextStream& err) {
    TrainingHooks hooks;
    hooks.cancel = &interruptFlag();
    const bool quiet = job.quiet;
    hooks.onStage = [&err, quiet](const std::string& stage) {
        if (!quiet) err << QString::fromStdString(stage) << "...\n";
        err.flush();
    };
    // Simulation progress as `simulate` prints it: a line a second, none for a quick batch.
    auto clock = std::make_shared<QElapsedTimer>();
    clock->start();
    auto lastLine = std::make_shared<qint64>(0);
    hooks.onSimulationProgress = [&err, quiet, clock, lastLine](std::int64_t done, std::int64_t total) {
        if (quiet || done >= total || clock->elapsed() - *lastLine < 1000) return;
        *lastLine = clock->elapsed();
        err << "simulated " << done << "/" << total << "\n";
        err.flush();
    };
    hooks.onEpoch = [&out, quiet](const EpochReport& r) {
        if (!quiet) {
            if (r.round > 0) out << "round " << r.round << "  ";
            out << "epoch " << r.epoch << "  train " << QString::number(r.trainLoss, 'f', 4) << "  validation "
                << QString::number(r.validationLoss, 'f', 4) << (r.improved ? " *" : "  ") << "  ("
                << QString::number(r.elapsedSeconds, 'f', 1) << " s)\n";
            out.flush();
        }
        return false;
    };
    hooks.onTrialEpoch = [&out, quiet](const std::string& candidate, const EpochReport& r) {
        if (quiet || r.epoch % 10 != 0) return;  // a line every 10 epochs: it is not the run's curve yet
        out << "trying " << QString::fromStdString(candidate) << "  epoch " << r.epoch << "  validation "
            << QString::number(r.validationLoss, 'f', 4) << "  best " << QString::number(r.bestValidationLoss, 'f', 4)
            << "  (" << QString::number(r.elapsedSeconds, 'f', 1) << " s)\n";
        out.flush();
    };
    return hooks;
}

// The train loss of the best epoch (what the restored weights scored), if known.
QString trainingSummaryLine(const TrainingJob& job, qint64 pairs, double simulationSeconds, const TrainingSummary& t) {
    return QStringLiteral("NPE (%1) on %2 simulations (%3 s): %4 epochs in %5 s, %6; best validation loss %7")
        .arg(QString::fromStdString(job.run.npe.estimator.kind))
        .arg(pairs)
        .arg(QString::number(simulationSeconds, 'f', 2))
        .arg(t.epochs)
        .arg(QString::number(t.seconds, 'f', 1), QString::fromStdString(t.stopReason),
             QString::number(t.bestValidationLoss, 'f', 4));
}

void printSamplesWritten(const TrainingJob& job, qint64 rows, const SamplingReport& report, QTextStream& out) {
    out << "wrote " << rows << " posterior samples to " << job.samplesPath << " ("
        << QString::number(report.seconds, 'f', 2) << " s, acceptance "
        << QString::number(100.0 * report.acceptanceRate(), 'f', 1) << "% inside the prior's support)\n";
}

// The training set of an imported project, with what was left out said on `err`.
ImportedSimulations loadImported(const Project& project, QTextStream& out, QTextStream& err) {
    ImportedSimulations imported = loadImportedSimulations(project);
    for (const std::string& note : imported.notes) err << "note: " << QString::fromStdString(note) << "\n";
    out << "training on " << imported.theta.rows() << " imported simulations from "
        << QString::fromStdString(imported.path) << " (no simulator runs)\n";
    return imported;
}

// --no-history: train and write files, nothing recorded.
int trainWithoutHistory(const TrainingJob& job, QTextStream& out, QTextStream& err) {
    try {
        const JointPrior prior = job.project.makePrior();
        const NpeResult result = [&] {
            if (job.project.simulator.kind == "imported") {
                const ImportedSimulations imported = loadImported(job.project, out, err);
                return trainNpe(prior, imported.theta, imported.x, job.run.observation, job.run.npe,
                                printingHooks(job, out, err));
            }
            const std::unique_ptr<Simulator> simulator = makeSimulator(job.project);
            return runNpe(prior, *simulator, job.run.observation, job.run.npe, printingHooks(job, out, err));
        }();
        if (!result.nonFiniteSummary.empty()) err << "warning: " << QString::fromStdString(result.nonFiniteSummary) << "\n";
        if (result.training.status == RunStatus::Cancelled) {
            err << "interrupted: " << QString::fromStdString(result.training.stopReason) << "; nothing was written\n";
            return kExitInterrupted;
        }
        if (result.training.status == RunStatus::Failed || !result.posterior) {
            err << "error: training failed: " << QString::fromStdString(result.training.stopReason) << "\n";
            return kExitFailure;
        }
        SamplingReport report;
        const Matrix draws = result.posterior->sample(job.run.posteriorSamples, job.run.observation, job.run.npe.seed, &report);
        writeCsv(job.samplesPath.toStdString(), job.project.parameterNames(), draws);
        if (!job.posteriorPath.isEmpty()) result.posterior->save(job.posteriorPath.toStdString());
        out << trainingSummaryLine(job, result.trainingPairs, result.simulationSeconds, result.training) << "\n";
        printSamplesWritten(job, draws.rows(), report, out);
        return kExitSuccess;
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return kExitFailure;
    }
}

QString resumeHint(const RunHistory& history, qint64 runId) {
    return QStringLiteral("sbiw-cli train --resume %1 --db %2").arg(runId).arg(QDir::toNativeSeparators(history.path()));
}

// Trains run `runId` (running, owned by this process) and records everything. `stored` holds
// its training set when it has one already (resume), `checkpoint` where training continues.
int trainRecorded(RunHistory& history, qint64 runId, const TrainingJob& job, StoredSimulations stored,
                  const TrainingCheckpoint* checkpoint, QTextStream& out, QTextStream& err) {
    const RunRecorder recorder(history, runId);
    const NpeSettings& settings = job.run.npe;
    try {
        const JointPrior prior = job.project.makePrior();
        const QString sourceKey = simulationSourceKey(job.project, settings.trials);
        TrainingHooks hooks = printingHooks(job, out, err);
        Matrix theta = std::move(stored.theta), x = std::move(stored.x);
        double simulationSeconds = 0.0;
        if (theta.rows() > 0) {
            out << "training on the run's " << theta.rows() << " stored simulations\n";
        } else if (job.project.simulator.kind == "imported") {
            ImportedSimulations imported = loadImported(job.project, out, err);
            recorder.recordSimulations(sourceKey, imported.theta, imported.x);
            theta = std::move(imported.theta);
            x = std::move(imported.x);
        } else {
            std::optional<ReusableSimulations> source;
            if (job.run.reuseSimulations)
                source = findReusableSimulations(history, sourceKey, settings.simulations, runId);
            if (source) {
                StoredSimulations reused = recorder.reuseSimulations(*source, sourceKey, settings.simulations);
                theta = std::move(reused.theta);
                x = std::move(reused.x);
                out << "reusing " << theta.rows() << " stored simulations of run " << source->runId
                    << " (nothing simulated)\n";
            } else {
                if (job.run.reuseSimulations)
                    out << "no earlier run of this prior and simulator has " << settings.simulations
                        << " stored simulations; simulating\n";
                const std::unique_ptr<Simulator> simulator = makeSimulator(job.project);
                NpeTrainingSet set = simulateTrainingSet(prior, *simulator, settings, hooks);
                if (set.cancelled) {
                    recorder.finish(RunOutcome::ended(RunState::Cancelled, QString::fromStdString(set.stopReason)));
                    err << "interrupted: " << QString::fromStdString(set.stopReason) << "; run " << runId
                        << " can be resumed: " << resumeHint(history, runId) << "\n";
                    return kExitInterrupted;
                }
                if (!set.nonFiniteSummary.empty())
                    err << "warning: " << QString::fromStdString(set.nonFiniteSummary) << "\n";
                // Stored before training, so that a run killed while training resumes on them.
                recorder.recordSimulations(sourceKey, set.theta, set.x);
                theta = std::move(set.theta);
                x = std::move(set.x);
                simulationSeconds = set.simulationSeconds;
            }
        }

        hooks = recorder.recordingHooks(hooks);
        hooks.snapshotEvery = job.run.snapshotEvery;
        hooks.snapshotSamples = job.run.snapshotSamples;
        hooks.checkpointEvery = job.run.checkpointEvery;
        const NpeResult result = trainNpe(prior, theta, x, job.run.observation, settings, hooks, checkpoint);
        const TrainingSummary& training = result.training;
        if (training.status == RunStatus::Cancelled) {
            recorder.finish(outcomeOf(training, RunState::Cancelled, QString::fromStdString(training.stopReason)));
            err << "interrupted: " << QString::fromStdString(training.stopReason) << "; run " << runId
                << " can be resumed: " << resumeHint(history, runId) << "\n";
            return kExitInterrupted;
        }
        if (training.status == RunStatus::Failed || !result.posterior) {
            const std::string why = training.stopReason.empty() ? "no epoch completed" : training.stopReason;
            recorder.finish(outcomeOf(training, RunState::Failed, QString::fromStdString(why)));
            err << "error: training failed: " << QString::fromStdString(why) << "\n";
            return kExitFailure;
        }
        SamplingReport report;
        const Matrix draws = result.posterior->sample(job.run.posteriorSamples, job.run.observation, settings.seed, &report);
        recorder.finishTrained(*result.posterior, {job.run.observationName, draws, {}},
                               outcomeOf(training, RunState::Finished, {}));
        const QString summary = trainingSummaryLine(job, theta.rows(), simulationSeconds, training);
        history.setReport(runId, {summary});
        out << summary << "\n";
        out << "recorded as run " << runId << " in " << QDir::toNativeSeparators(history.path()) << " ("
            << draws.rows() << " posterior samples, acceptance "
            << QString::number(100.0 * report.acceptanceRate(), 'f', 1) << "% inside the prior's support)\n";
        // The run is finished and stored; a file that cannot be written is reported, not undone.
        try {
            if (!job.samplesPath.isEmpty()) {
                writeCsv(job.samplesPath.toStdString(), job.run.parameterNames, draws);
                printSamplesWritten(job, draws.rows(), report, out);
            }
            if (!job.posteriorPath.isEmpty()) result.posterior->save(job.posteriorPath.toStdString());
        } catch (const std::exception& error) {
            err << "error: " << error.what() << " (run " << runId << " is stored: 'sbiw-cli history export " << runId
                << " --db " << QDir::toNativeSeparators(history.path()) << " --samples FILE.csv' writes its samples)\n";
            return kExitFailure;
        }
        return kExitSuccess;
    } catch (const std::exception& error) {
        err << "error: run " << runId << ": " << error.what() << "\n";
        try {
            recorder.finish(RunOutcome::ended(RunState::Failed, QString::fromUtf8(error.what())));
        } catch (const std::exception&) {
            // Already ended, or the history itself failed: the error above says why.
        }
        return kExitFailure;
    }
}

const char* const kResumeConflicts[] = {"method",  "rounds", "estimator",   "simulations",      "seed",           "observation",
                                        "samples", "device",      "threads",          "max-epochs",     "checkpoint-every",
                                        "snapshot-every", "reuse-simulations", "no-history"};

int resumeTraining(const QCommandLineParser& parser, const QString& usage, QTextStream& out, QTextStream& err) {
    for (const char* option : kResumeConflicts)
        if (parser.isSet(option))
            return usageError(err, QStringLiteral("--resume continues a run with its own settings; --%1 cannot be "
                                                  "given with it")
                                       .arg(option),
                              usage);
    if (parser.positionalArguments().size() > 1) return usageError(err, "name at most one project", usage);
    const std::optional<qint64> runId = parseRunId(parser.value("resume"), err);
    if (!runId) return kExitUsage;
    const QString projectArgument = parser.positionalArguments().value(0);
    const QString path = historyPathFor(parser.value("db"), projectArgument);
    if (path.isEmpty())
        return usageError(err, "say which history holds the run: --db FILE, or the project it sits beside", usage);
    const std::unique_ptr<RunHistory> history = openExistingHistory(path, err);
    if (!history) return kExitFailure;
    const QString where = QDir::toNativeSeparators(history->path());
    try {
        const std::optional<RunSummary> run = history->run(*runId);
        if (!run) {
            err << "error: no run " << *runId << " in " << where << "\n";
            return kExitFailure;
        }
        if (run->state == RunState::Finished) {
            err << "error: run " << *runId << " in " << where
                << " has finished; nothing to resume (a new run with --reuse-simulations trains on its simulations)\n";
            return kExitFailure;
        }
        if (run->state == RunState::Running) {
            err << "error: run " << *runId << " in " << where
                << " is still running in another process; stop that process first\n";
            return kExitFailure;
        }
        TrainingJob job;
        try {
            job.run = npeRunSettingsFromJson(history->settings(*runId));
        } catch (const std::exception& error) {
            err << "error: run " << *runId << " in " << where << " cannot be resumed: " << error.what() << "\n";
            return kExitFailure;
        }
        const QString projectPath = projectArgument.isEmpty() ? run->projectPath : projectArgument;
        if (projectPath.isEmpty()) {
            err << "error: run " << *runId << " in " << where << " has no project file recorded; name the project\n";
            return kExitFailure;
        }
        std::optional<Project> project = loadOrReport(projectPath, err);
        if (!project) return kExitFailure;
        if (projectContentHash(*project) != run->projectHash) {
            err << "error: " << projectPath << " is not the problem run " << *runId
                << " was trained on (its parameters, priors, simulator or observations changed since); resuming "
                   "would train on another problem\n";
            return kExitFailure;
        }
        resolveDevice(job.run.npe.device);  // says so now if the run's device is not here
        if (const std::optional<Checkpoint> stored = history->checkpoint(*runId)) toTrainingCheckpoint(*stored, {});
        job.project = std::move(*project);
        job.samplesPath = parser.value("out");
        job.posteriorPath = parser.value("save-posterior");
        job.quiet = parser.isSet("quiet");

        ResumePoint point = history->resumeRun(*runId);
        std::optional<TrainingCheckpoint> checkpoint;
        if (point.checkpoint) checkpoint = toTrainingCheckpoint(*point.checkpoint, point.epochs);
        out << "resuming run " << *runId << " in " << where << " "
            << (checkpoint ? QStringLiteral("after epoch %1 (its checkpoint)").arg(checkpoint->epoch)
                           : QStringLiteral("from the first epoch (it has no checkpoint)"))
            << "\n";
        out.flush();
        return trainRecorded(*history, *runId, job, std::move(point.simulations), checkpoint ? &*checkpoint : nullptr,
                             out, err);
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return kExitFailure;
    }
}

// The row a new run starts with: who, what, on which problem.
RunStart runStartFor(const Project& project, const QString& projectPath, const QString& observationName,
                     const QString& method, const QString& estimator, const QJsonObject& settings, std::uint64_t seed,
                     const QString& device) {
    RunStart start;
    start.projectName = QString::fromStdString(project.name);
    start.projectHash = projectContentHash(project);
    start.projectPath = QFileInfo(projectPath).absoluteFilePath();
    start.observation = observationName;
    start.method = method;
    start.estimator = estimator;
    start.settings = settings;
    start.seed = seed;
    start.device = device;
    return start;
}

// The methods that run as the GUI runs them (runJob): sequential NPE, the likelihood and ratio
// methods and ABC. Recorded with settings, per-epoch losses and samples (snpe: also every round's
// simulations and the model), but without checkpoints: such runs cannot be resumed.
struct JobCommand {
    RunJob run;
    QString samplesPath;
    bool quiet = false;
};

int runJobCommand(JobCommand& command, QTextStream& out, QTextStream& err) {
    TrainingJob printing;
    printing.quiet = command.quiet;
    RunJob& run = command.run;
    run.simulatorLog = [](const std::string& line) { std::fprintf(stderr, "simulator: %s\n", line.c_str()); };
    run.onRunStarted = [&out, &run](qint64 runId) {
        out << "run " << runId << " in " << QDir::toNativeSeparators(run.historyPath) << "\n";
        out.flush();
    };
    const QString method = QString::fromStdString(run.project.inference.method).toUpper();
    const RunJobResult result = runJob(run, printingHooks(printing, out, err));
    if (result.state == RunState::Cancelled) {
        err << "interrupted: " << result.message << "; " << method << " runs cannot be resumed, nothing was written\n";
        return kExitInterrupted;
    }
    if (result.state != RunState::Finished) {
        err << "error: " << result.message << "\n";
        return kExitFailure;
    }
    out << result.summary << "\n";
    for (const QString& line : result.details) out << "  " << line << "\n";
    out << result.samples.rows() << " posterior samples"
        << (command.samplesPath.isEmpty() ? QString() : " written to " + command.samplesPath)
        << (result.runId > 0 ? QStringLiteral(", recorded as run %1").arg(result.runId) : QString()) << "\n";
    try {
        if (!command.samplesPath.isEmpty())
            writeCsv(command.samplesPath.toStdString(), run.project.parameterNames(), result.samples);
    } catch (const std::exception& error) {
        err << "error: " << error.what()
            << (result.runId > 0 ? QStringLiteral(" (run %1 is stored)").arg(result.runId) : QString()) << "\n";
        return kExitFailure;
    }
    return kExitSuccess;
}

bool isMethodWithMcmc(const QString& method) { return samplesByMcmc(method.toStdString()); }

// snpe, the likelihood and ratio methods and ABC: the command line's options written into the
// project's inference settings, then run as the GUI runs them.
int trainThroughJob(const QCommandLineParser& parser, const QString& usage, const Project& project,
                    const QString& projectPath, const QString& method, QTextStream& out, QTextStream& err) {
    const bool abc = method == "rej-abc" || method == "smc-abc";
    if (method != "snpe" && !isMethodWithMcmc(method) && !abc) {
        err << "error: method '" << method << "' is not one of: npe, snpe, nle, snle, nre, snre, nre-b, snre-b, nre-c, snre-c, "
            << "rej-abc, smc-abc\n";
        return kExitUsage;
    }
    const bool sequential = isSequentialMethod(method.toStdString());
    QStringList notHere{"reuse-simulations", "checkpoint-every"};
    if (method != "snpe") notHere << "save-posterior";
    if (method.contains("nre") || abc) notHere << "estimator";  // no density estimator
    if (abc) notHere << "device" << "max-epochs";                // no network
    if (!sequential) notHere << "rounds";
    if (!isMethodWithMcmc(method)) notHere << "mcmc" << "chains" << "transform";
    for (const QString& option : notHere)
        if (parser.isSet(option))
            return usageError(err, QStringLiteral("--%1 does not apply to %2").arg(option, method), usage);

    JobCommand command;
    RunJob& run = command.run;
    run.project = project;
    InferenceSettings& inference = run.project.inference;
    inference.method = method.toStdString();
    if (parser.isSet("estimator")) inference.estimator = parser.value("estimator").toStdString();
    if (parser.isSet("device")) inference.device = parser.value("device").toStdString();
    qint64 simulations = inference.simulations, seed = qint64(inference.seed), samples = inference.posteriorSamples,
           threads = inference.threads, maxEpochs = inference.training.maxEpochs, rounds = inference.rounds,
           chains = inference.mcmc.chains, snapshotEvery = 5;
    if (!readInteger(parser, "simulations", 2, simulations, err) || !readInteger(parser, "seed", 0, seed, err) ||
        !readInteger(parser, "samples", 1, samples, err) || !readInteger(parser, "threads", 1, threads, err) ||
        !readInteger(parser, "max-epochs", 1, maxEpochs, err) || !readInteger(parser, "rounds", 1, rounds, err) ||
        !readInteger(parser, "chains", 1, chains, err) || !readInteger(parser, "snapshot-every", 0, snapshotEvery, err)) {
        err << "usage: " << usage << "\n";
        return kExitUsage;
    }
    inference.simulations = simulations;
    inference.seed = std::uint64_t(seed);
    inference.threads = int(threads);
    inference.posteriorSamples = samples;
    inference.training.maxEpochs = int(std::min<qint64>(maxEpochs, 1'000'000));
    inference.rounds = int(std::min<qint64>(rounds, 100'000));
    inference.mcmc.chains = int(std::min<qint64>(chains, 1'000'000));  // the project's check names a bad count
    run.snapshotEvery = int(std::min<qint64>(snapshotEvery, 1'000'000));
    if (parser.isSet("mcmc")) {
        const std::optional<McmcMethod> sampler = parseMcmcMethod(parser.value("mcmc").toStdString());
        if (!sampler) return usageError(err, "--mcmc is slice or mh, not '" + parser.value("mcmc") + "'", usage);
        inference.mcmc.sampler = toString(*sampler);
    }
    if (parser.isSet("transform")) {
        const QString value = parser.value("transform");
        if (value != "on" && value != "off") return usageError(err, "--transform is on or off, not '" + value + "'", usage);
        inference.transformParameters = value == "on";
    }
    const std::optional<Matrix> observation = chooseObservation(project, parser.value("observation"), err);
    if (!observation) return kExitFailure;
    if (method == "snpe" && observation->rows() != 1) {
        err << "error: the observation has " << observation->rows()
            << " rows; SNPE conditions on one observation (likelihood, ratio and ABC methods take i.i.d. rows)\n";
        return kExitFailure;
    }
    run.observation = *observation;  // several rows: i.i.d. observations of one θ
    run.observationName =
        parser.isSet("observation") ? parser.value("observation") : QString::fromStdString(project.defaultObservation);
    if (const Problems problems = run.validate(); !problems.empty()) {
        for (const Problem& p : problems) err << "error: " << QString::fromStdString(p.toString()) << "\n";
        return kExitUsage;
    }
    try {
        resolveDevice(inference.device);
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return kExitFailure;
    }
    if (sequential && inference.rounds == 1 && !parser.isSet("rounds"))
        err << "note: the project's inference.rounds is 1, so this " << method.toUpper() << " run has one round; "
            << "pass --rounds R\n";
    run.projectPath = projectPath;
    run.historyPath = parser.isSet("no-history") ? QString() : historyPathFor(parser.value("db"), projectPath);
    run.savePosteriorPath = parser.value("save-posterior");
    command.samplesPath = parser.value("out");
    command.quiet = parser.isSet("quiet");
    return runJobCommand(command, out, err);
}

}  // namespace

int runTrain(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage =
        "sbiw-cli train PROJECT [--method npe|snpe|nle|snle|nre|snre|nre-b|snre-b|nre-c|snre-c|rej-abc|smc-abc]\n"
        "       [--rounds R]\n"
        "       [--estimator maf|nsf|mdn|auto] [--simulations N] [--seed S]\n"
        "       [--observation FILE.csv|NAME] [--samples M] [--out SAMPLES.csv] [--device auto|cpu|cuda]\n"
        "       [--threads T] [--max-epochs E] [--save-posterior FILE.pt] [--db FILE | --no-history]\n"
        "       [--reuse-simulations] [--checkpoint-every K] [--snapshot-every K] [--mcmc slice|mh] [--chains C]\n"
        "       [--transform on|off]\n"
        "       [--quiet] [--trust]\n"
        "   or: sbiw-cli train --resume RUN [PROJECT] [--db FILE] [--out SAMPLES.csv] [--save-posterior FILE.pt]";
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Simulate from the project's prior, train a neural posterior estimator, and draw posterior samples at\n"
        "the observation (written to --out with the parameter names as header). Options default to the\n"
        "project's inference settings. Prints one line per epoch.\n"
        "\n"
        "Every run is recorded in the run history: settings, losses, snapshots, checkpoints, the simulations,\n"
        "the model and the samples. The history is --db FILE, or else <folder>/<name>.history.sqlite beside\n"
        "the project. Ctrl-C stops a run as 'cancelled' (exit 130); a killed process leaves it 'interrupted'.\n"
        "Either continues with --resume RUN: the stored simulations are reused and training restarts from\n"
        "the last checkpoint, with the run's own settings, giving the epochs an uninterrupted run would give.\n"
        "\n"
        "--reuse-simulations trains on the stored simulations of the newest earlier run of the same prior and\n"
        "simulator that holds at least N of them (its first N), instead of simulating; without such a run it\n"
        "simulates. It is off by default: the seed then decides the simulations, so runs with other seeds\n"
        "stay independent replicates.");
    parser.addPositionalArgument("PROJECT", "Project file (*.sbiw).");
    parser.addOption({"method",
                      "npe (default); snpe (sequential NPE, APT atomic loss, --rounds R); nle (likelihood estimator + MCMC), "
                      "nre (ratio classifier, binary NRE-A, + MCMC), nre-b (10 atoms, NRE-B: sbibm's NRE) or nre-c (contrastive "
                      "NRE-C), where several observation rows are i.i.d., and their sequential versions snle, snre, "
                      "snre-b, snre-c (--rounds R); or the "
                      "ABC baselines rej-abc (keep the 100 closest) and smc-abc.",
                      "METHOD"});
    parser.addOption({"rounds",
                      "snpe, snle, snre, snre-b, snre-c: rounds (default: the project's inference.rounds); the budget is split "
                      "evenly.",
                      "R"});
    parser.addOption({"mcmc",
                      "likelihood and ratio methods: the MCMC sampler, slice or mh (default: the project's "
                      "inference.mcmc.sampler, slice; warm-up, thinning and initialisation come from the project).",
                      "SAMPLER"});
    parser.addOption({"chains", "likelihood and ratio methods: MCMC chains (default: the project's, 100).", "C"});
    parser.addOption({"transform",
                      "likelihood and ratio methods: on (default: the project's inference.transform_parameters) trains "
                      "the network and runs MCMC on the parameters in the prior's unbounded space (log for positive, "
                      "logit for bounded ones); off uses them as they are.",
                      "on|off"});
    parser.addOption({"estimator",
                      "Density estimator: maf, nsf or mdn; for nle and snle also auto (train MAF and NSF in round 1, "
                      "keep the lower validation loss).",
                      "KIND"});
    parser.addOption({"simulations", "Simulation budget.", "N"});
    parser.addOption({"seed", "Random seed.", "S"});
    parser.addOption({"observation", "Observation: a CSV file (header + one row) or a project observation's name.",
                      "FILE.csv"});
    parser.addOption({"samples", "Number of posterior samples to draw.", "M"});
    parser.addOption({"out", "Output CSV of posterior samples (required with --no-history).", "SAMPLES.csv"});
    parser.addOption({"device", "auto, cpu or cuda.", "DEVICE"});
    parser.addOption({"threads", "Threads for simulation and training (default: all cores).", "T"});
    parser.addOption({"max-epochs", "Stop after this many epochs (default: the project's).", "E"});
    parser.addOption({"save-posterior", "Also save the trained posterior (versioned archive).", "FILE.pt"});
    parser.addOption({"db", "Run history to record in (default: beside the project).", "FILE"});
    parser.addOption({"no-history", "Record nothing (then --out is required)."});
    parser.addOption({"reuse-simulations", "Train on stored simulations of the same prior and simulator."});
    parser.addOption({"checkpoint-every", "Epochs between checkpoints (default 5; 0: only on Ctrl-C).", "K"});
    parser.addOption({"snapshot-every", "Epochs between posterior snapshots of 500 samples (default 5; 0: none).", "K"});
    parser.addOption({"resume", "Continue the interrupted or cancelled run RUN.", "RUN"});
    parser.addOption({"quiet", "Do not print a line per epoch."});
    parser.addOption({"trust", "Trust and run the project's program or plugin (remembered)."});
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    if (parser.isSet("resume")) return resumeTraining(parser, usage, out, err);
    if (parser.positionalArguments().size() != 1) return usageError(err, "name exactly one project", usage);
    const bool record = !parser.isSet("no-history");
    if (!record && !parser.isSet("out")) return usageError(err, "--out is required with --no-history", usage);
    if (!record && (parser.isSet("db") || parser.isSet("reuse-simulations")))
        return usageError(err, "--no-history records nothing; --db and --reuse-simulations need a history", usage);

    const QString projectPath = parser.positionalArguments().first();
    const std::optional<Project> project = loadOrReport(projectPath, err);
    if (!project) return kExitFailure;
    if (!ensureTrusted(*project, parser.isSet("trust"), err)) return kExitFailure;
    const InferenceSettings& defaults = project->inference;
    const QString method = parser.isSet("method") ? parser.value("method") : QString::fromStdString(defaults.method);
    if (project->simulator.kind == "imported" && method != "npe") {
        err << "error: " << method << " needs a simulator; an imported project's simulations train NPE only "
            << "(--method npe)\n";
        return kExitFailure;
    }
    if (method != "npe") return trainThroughJob(parser, usage, *project, projectPath, method, out, err);
    for (const char* option : {"mcmc", "chains", "rounds", "transform"})
        if (parser.isSet(option))
            return usageError(err, QStringLiteral("--%1 does not apply to npe").arg(option), usage);
    TrainingJob job;
    NpeSettings& settings = job.run.npe;
    settings.estimator.kind = parser.isSet("estimator") ? parser.value("estimator").toStdString() : defaults.estimator;
    if (settings.estimator.kind == "auto")
        return usageError(err,
                          QStringLiteral("estimator 'auto' (MAF or NSF, whichever fits better) is for nle and snle "
                                         "only: give npe --estimator maf, nsf or mdn"),
                          usage);
    settings.training = defaults.training;
    settings.device = parser.isSet("device") ? parser.value("device").toStdString() : defaults.device;
    qint64 simulations = defaults.simulations, seed = qint64(defaults.seed), samples = defaults.posteriorSamples,
           threads = defaults.threads, maxEpochs = settings.training.maxEpochs, checkpointEvery = 5, snapshotEvery = 5;
    if (!readInteger(parser, "simulations", 2, simulations, err) || !readInteger(parser, "seed", 0, seed, err) ||
        !readInteger(parser, "samples", 1, samples, err) || !readInteger(parser, "threads", 1, threads, err) ||
        !readInteger(parser, "max-epochs", 1, maxEpochs, err) ||
        !readInteger(parser, "checkpoint-every", 0, checkpointEvery, err) ||
        !readInteger(parser, "snapshot-every", 0, snapshotEvery, err)) {
        err << "usage: " << usage << "\n";
        return kExitUsage;
    }
    settings.simulations = simulations;
    settings.seed = std::uint64_t(seed);
    settings.threads = int(threads);
    settings.training.maxEpochs = int(std::min<qint64>(maxEpochs, 1'000'000));
    const TaskInfo* task = findTask(project->simulator.task);
    settings.isTimeSeries = task && task->dataKind == DataKind::TimeSeries;
    if (const Problems problems = settings.validate(); !problems.empty()) {
        for (const Problem& p : problems) err << "error: " << QString::fromStdString(p.toString()) << "\n";
        return kExitUsage;
    }
    std::string device;
    try {
        device = resolveDevice(settings.device);
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return kExitFailure;
    }
    const std::optional<Matrix> observation = chooseObservation(*project, parser.value("observation"), err);
    if (!observation) return kExitFailure;
    // Several rows: i.i.d. observations of one θ; NPE then trains on sets of as many simulations
    // through the permutation-invariant set embedding.
    settings.trials = int(observation->rows());
    if (settings.trials > 1 && project->simulator.kind == "imported") {
        err << "error: the observation has " << observation->rows()
            << " rows, but imported simulations hold one output per θ and cannot train on sets\n";
        return kExitFailure;
    }
    job.run.observation = *observation;
    job.run.observationName = parser.isSet("observation") ? parser.value("observation")
                                                           : QString::fromStdString(project->defaultObservation);
    job.run.posteriorSamples = samples;
    job.run.parameterNames = project->parameterNames();
    job.run.checkpointEvery = int(std::min<qint64>(checkpointEvery, 1'000'000));
    job.run.snapshotEvery = int(std::min<qint64>(snapshotEvery, 1'000'000));
    job.run.reuseSimulations = parser.isSet("reuse-simulations");
    job.samplesPath = parser.value("out");
    job.posteriorPath = parser.value("save-posterior");
    job.quiet = parser.isSet("quiet");
    job.project = *project;
    if (!record) return trainWithoutHistory(job, out, err);

    try {
        RunHistory history(historyPathFor(parser.value("db"), projectPath));
        const qint64 runId = history.startRun(runStartFor(*project, projectPath, job.run.observationName, "npe",
                                                          QString::fromStdString(settings.estimator.kind), toJson(job.run),
                                                          settings.seed, QString::fromStdString(device)));
        out << "run " << runId << " in " << QDir::toNativeSeparators(history.path()) << "\n";
        out.flush();
        return trainRecorded(history, runId, job, {}, nullptr, out, err);
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return kExitFailure;
    }
}

}  // namespace sbiw::cli
