// sbiw-cli history (list, show, export, delete) and sbiw-cli diagnose: the recorded runs.
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

#include <chrono>

#include "cli/cli.h"
#include "cli/cli_common.h"
#include "core/csv.h"
#include "diagnostics/c2st.h"
#include "diagnostics/calibration.h"
#include "inference/posterior.h"
#include "inference/settings.h"
#include "priors/joint_prior.h"
#include "qt/diagnostics_json.h"
#include "qt/run_diagnostics.h"
#include "qt/run_history.h"
#include "qt/run_recorder.h"

namespace sbiw::cli {

namespace {

const char* const kHistoryRule =
    "The history is --db FILE when given, else the one beside PROJECT (<folder>/<name>.history.sqlite,\n"
    "where 'sbiw-cli train PROJECT' records by default). One of the two is required.";

QString where(const RunHistory& history) { return QDir::toNativeSeparators(history.path()); }

QString localTime(const QDateTime& time) {
    return time.isValid() ? time.toLocalTime().toString("yyyy-MM-dd HH:mm:ss") : QString("-");
}

QString utcTime(const QDateTime& time) {
    return time.isValid() ? time.toUTC().toString(Qt::ISODateWithMs) : QString();
}

QString loss(const std::optional<double>& value, int decimals = 4) {
    return value ? QString::number(*value, 'f', decimals) : QString("-");
}

QString duration(double seconds) {
    if (seconds < 60) return QString::number(seconds, 'f', 1) + " s";
    const qint64 s = qint64(seconds + 0.5);
    if (s < 3600) return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled.
QString csvField(const QString& value) {
    if (!value.contains(',') && !value.contains('"') && !value.contains('\n') && !value.contains('\r')) return value;
    QString quoted = value;
    quoted.replace('"', "\"\"");
    return '"' + quoted + '"';
}

QString csvNumber(const std::optional<double>& value) {
    return value ? QString::fromStdString(formatNumber(*value)) : QString();
}

// Parameter names stored with the run (for headers), else parameter_1..d.
std::vector<std::string> parameterNamesOf(const RunHistory& history, qint64 runId, Eigen::Index columns) {
    const QJsonArray stored = history.settings(runId).value("parameter_names").toArray();
    std::vector<std::string> names;
    for (const QJsonValue& name : stored) names.push_back(name.toString().toStdString());
    if (names.size() != std::size_t(columns)) {
        names.clear();
        for (Eigen::Index i = 1; i <= columns; ++i) names.push_back("parameter_" + std::to_string(i));
    }
    return names;
}

// Resolves PROJECT / --db and opens the history, or reports why not (returns the exit code).
struct OpenedHistory {
    std::unique_ptr<RunHistory> history;
    int code = kExitSuccess;
};

OpenedHistory openHistoryFor(const QCommandLineParser& parser, const QString& project, const QString& usage,
                             QTextStream& err) {
    OpenedHistory opened;
    const QString path = historyPathFor(parser.value("db"), project);
    if (path.isEmpty()) {
        opened.code = usageError(err, "say which history: --db FILE, or the project it sits beside", usage);
        return opened;
    }
    opened.history = openExistingHistory(path, err);
    if (!opened.history) opened.code = kExitFailure;
    return opened;
}

std::optional<RunSummary> findRun(const RunHistory& history, qint64 runId, QTextStream& err) {
    std::optional<RunSummary> run = history.run(runId);
    if (!run) err << "error: no run " << runId << " in " << where(history) << "\n";
    return run;
}

// ------------------------------------------------------------------------------ history list

int historyList(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage = "sbiw-cli history list [PROJECT] [--db FILE] [--format table|csv]";
    QCommandLineParser parser;
    parser.setApplicationDescription(QString("List the recorded runs, newest first.\n") + kHistoryRule);
    parser.addPositionalArgument("PROJECT", "Project file whose history to list.");
    parser.addOption({"db", "Run history file.", "FILE"});
    parser.addOption({"format", "table (default) or csv (first column the run id).", "FORMAT"});
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    if (parser.positionalArguments().size() > 1) return usageError(err, "name at most one project", usage);
    const QString format = parser.isSet("format") ? parser.value("format") : QString("table");
    if (format != "table" && format != "csv")
        return usageError(err, "--format must be table or csv (got '" + format + "')", usage);
    OpenedHistory opened = openHistoryFor(parser, parser.positionalArguments().value(0), usage, err);
    if (!opened.history) return opened.code;
    const RunHistory& history = *opened.history;
    RunQuery query;
    query.sortBy = RunSortKey::Id;
    const std::vector<RunSummary> runs = history.listRuns(query);
    if (format == "csv") {
        out << "id,status,project,observation,method,estimator,seed,device,started_at,ended_at,simulations,epochs,"
               "final_train_loss,final_validation_loss,app_version,error_message\n";
        for (const RunSummary& r : runs) {
            const QStringList fields = {QString::number(r.id),
                                        runStateName(r.state),
                                        csvField(r.projectName),
                                        csvField(r.observation),
                                        csvField(r.method),
                                        csvField(r.estimator),
                                        QString::number(r.seed),
                                        csvField(r.device),
                                        utcTime(r.startedAt),
                                        utcTime(r.endedAt),
                                        QString::number(r.simulationCount),
                                        QString::number(r.epochs),
                                        csvNumber(r.finalTrainLoss),
                                        csvNumber(r.finalValidationLoss),
                                        csvField(r.appVersion),
                                        csvField(r.errorMessage)};
            out << fields.join(',') << "\n";
        }
        return kExitSuccess;
    }
    if (runs.empty()) {
        out << "no runs in " << where(history) << "\n";
        return kExitSuccess;
    }
    out << "   id  status       started              project              method estimator  simulations  epochs"
           "  val. loss  device\n";
    for (const RunSummary& r : runs) {
        out << QString::number(r.id).rightJustified(5) << "  " << runStateName(r.state).leftJustified(11) << "  "
            << localTime(r.startedAt).leftJustified(19) << "  " << r.projectName.left(20).leftJustified(20) << " "
            << r.method.leftJustified(6) << " " << r.estimator.leftJustified(9) << " "
            << QString::number(r.simulationCount).rightJustified(12) << "  " << QString::number(r.epochs).rightJustified(6)
            << "  " << loss(r.finalValidationLoss).rightJustified(9) << "  " << r.device << "\n";
    }
    out << runs.size() << " run" << (runs.size() == 1 ? "" : "s") << " in " << where(history) << "\n";
    return kExitSuccess;
}

// ------------------------------------------------------------------------------ history show

int historyShow(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage = "sbiw-cli history show RUN [PROJECT] [--db FILE]";
    QCommandLineParser parser;
    parser.setApplicationDescription(QString("Everything recorded about one run.\n") + kHistoryRule);
    parser.addPositionalArgument("RUN", "Run id (see 'sbiw-cli history list').");
    parser.addPositionalArgument("PROJECT", "Project file whose history holds the run.");
    parser.addOption({"db", "Run history file.", "FILE"});
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    const QStringList positional = parser.positionalArguments();
    if (positional.isEmpty() || positional.size() > 2) return usageError(err, "name a run (and at most one project)", usage);
    const std::optional<qint64> runId = parseRunId(positional.first(), err);
    if (!runId) return kExitUsage;
    OpenedHistory opened = openHistoryFor(parser, positional.value(1), usage, err);
    if (!opened.history) return opened.code;
    const RunHistory& history = *opened.history;
    const std::optional<RunSummary> run = findRun(history, *runId, err);
    if (!run) return kExitFailure;
    const RunSummary& r = *run;
    auto line = [&out](const char* label, const QString& text) { out << QString(label).leftJustified(14) << text << "\n"; };

    out << "run " << r.id << " (" << runStateName(r.state) << ") in " << where(history) << "\n";
    line("project", r.projectName + (r.projectPath.isEmpty() ? QString() : " (" + r.projectPath + ")") +
                        ", content hash " + r.projectHash.left(12));
    line("observation", r.observation);
    line("method", QStringLiteral("%1, estimator %2, seed %3, device %4, SBI Workbench %5")
                       .arg(r.method, r.estimator)
                       .arg(r.seed)
                       .arg(r.device, r.appVersion));
    QString times = "started " + localTime(r.startedAt);
    if (r.endedAt.isValid())
        times += ", ended " + localTime(r.endedAt) + " (" + duration(double(r.startedAt.msecsTo(r.endedAt)) / 1000.0) + ")";
    line("time", times);
    QString simulations = QString::number(r.simulationCount);
    QStringList producers;
    for (const SimulationBatchInfo& batch : history.simulationBatches(r.id)) {
        const QString by = !batch.producerRunId ? QString("a deleted run")
                           : *batch.producerRunId == r.id ? QString("this run")
                                                          : QStringLiteral("run %1").arg(*batch.producerRunId);
        if (!producers.contains(by)) producers << by;
    }
    if (!producers.isEmpty()) simulations += " (simulated by " + producers.join(", ") + ")";
    line("simulations", simulations);
    line("epochs", QStringLiteral("%1, final validation loss %2, train loss %3")
                       .arg(r.epochs)
                       .arg(loss(r.finalValidationLoss), loss(r.finalTrainLoss)));
    if (const std::optional<Checkpoint> checkpoint = history.checkpoint(r.id))
        line("checkpoint", QStringLiteral("after epoch %1 (%2)").arg(checkpoint->epoch).arg(localTime(checkpoint->savedAt)));
    if (const std::optional<StoredModel> model = history.model(r.id))
        line("model", QStringLiteral("%1, %2 KB").arg(model->format).arg((model->data.size() + 1023) / 1024));
    if (const std::optional<StoredSamples> samples = history.samples(r.id))
        line("samples", QStringLiteral("%1 at %2").arg(samples->samples.rows()).arg(samples->observation));
    line("snapshots", QString::number(history.snapshots(r.id).size()));
    for (const DiagnosticRecord& d : history.diagnostics(r.id))
        line("diagnostic", QStringLiteral("%1: %2 (%3)")
                               .arg(d.kind, d.result.value("verdict").toString(), localTime(d.createdAt)));
    if (!r.errorMessage.isEmpty()) line("message", r.errorMessage);
    const QStringList report = history.report(r.id);
    if (!report.isEmpty()) line("report", report.join("\n              "));
    out << "settings      "
        << QString::fromUtf8(QJsonDocument(history.settings(r.id)).toJson(QJsonDocument::Indented)).trimmed().replace("\n", "\n              ")
        << "\n";
    return kExitSuccess;
}

// ---------------------------------------------------------------------------- history export

int historyExport(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage = "sbiw-cli history export RUN [PROJECT] [--db FILE] [--samples FILE.csv] [--epochs FILE.csv]";
    QCommandLineParser parser;
    parser.setApplicationDescription(QString("Write a run's final posterior samples (header: the parameter names)\n"
                                             "and/or its loss curve (round, epoch, train_loss, validation_loss,\n"
                                             "elapsed_seconds) as CSV.\n") +
                                     kHistoryRule);
    parser.addPositionalArgument("RUN", "Run id (see 'sbiw-cli history list').");
    parser.addPositionalArgument("PROJECT", "Project file whose history holds the run.");
    parser.addOption({"db", "Run history file.", "FILE"});
    parser.addOption({"samples", "Where to write the posterior samples.", "FILE.csv"});
    parser.addOption({"epochs", "Where to write the per-epoch losses.", "FILE.csv"});
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    const QStringList positional = parser.positionalArguments();
    if (positional.isEmpty() || positional.size() > 2) return usageError(err, "name a run (and at most one project)", usage);
    if (!parser.isSet("samples") && !parser.isSet("epochs"))
        return usageError(err, "say what to export: --samples FILE.csv and/or --epochs FILE.csv", usage);
    const std::optional<qint64> runId = parseRunId(positional.first(), err);
    if (!runId) return kExitUsage;
    OpenedHistory opened = openHistoryFor(parser, positional.value(1), usage, err);
    if (!opened.history) return opened.code;
    const RunHistory& history = *opened.history;
    const std::optional<RunSummary> run = findRun(history, *runId, err);
    if (!run) return kExitFailure;
    try {
        if (parser.isSet("samples")) {
            const std::optional<StoredSamples> samples = history.samples(*runId);
            if (!samples) {
                err << "error: run " << *runId << " in " << where(history) << " has no posterior samples (it is "
                    << runStateName(run->state) << ")\n";
                return kExitFailure;
            }
            writeCsv(parser.value("samples").toStdString(), parameterNamesOf(history, *runId, samples->samples.cols()),
                     samples->samples);
            out << "wrote " << samples->samples.rows() << " posterior samples of run " << *runId << " to "
                << parser.value("samples") << "\n";
        }
        if (parser.isSet("epochs")) {
            const std::vector<EpochRecord> epochs = history.epochs(*runId);
            Matrix table(Eigen::Index(epochs.size()), 5);
            for (std::size_t i = 0; i < epochs.size(); ++i)
                table.row(Eigen::Index(i)) << epochs[i].round, epochs[i].epoch, epochs[i].trainLoss,
                    epochs[i].validationLoss, epochs[i].elapsedSeconds;
            writeCsv(parser.value("epochs").toStdString(),
                     {"round", "epoch", "train_loss", "validation_loss", "elapsed_seconds"}, table);
            out << "wrote " << epochs.size() << " epochs of run " << *runId << " to " << parser.value("epochs") << "\n";
        }
        return kExitSuccess;
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return kExitFailure;
    }
}

// ---------------------------------------------------------------------------- history delete

int historyDelete(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage = "sbiw-cli history delete RUN [PROJECT] [--db FILE]";
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QString("Delete a run and everything recorded with it. Its simulations go too, unless another run\n"
                "trains on them. A running run cannot be deleted.\n") +
        kHistoryRule);
    parser.addPositionalArgument("RUN", "Run id (see 'sbiw-cli history list').");
    parser.addPositionalArgument("PROJECT", "Project file whose history holds the run.");
    parser.addOption({"db", "Run history file.", "FILE"});
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    const QStringList positional = parser.positionalArguments();
    if (positional.isEmpty() || positional.size() > 2) return usageError(err, "name a run (and at most one project)", usage);
    const std::optional<qint64> runId = parseRunId(positional.first(), err);
    if (!runId) return kExitUsage;
    OpenedHistory opened = openHistoryFor(parser, positional.value(1), usage, err);
    if (!opened.history) return opened.code;
    RunHistory& history = *opened.history;
    if (!findRun(history, *runId, err)) return kExitFailure;
    try {
        history.deleteRun(*runId);
        out << "deleted run " << *runId << " from " << where(history) << "\n";
        return kExitSuccess;
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return kExitFailure;
    }
}

// The project a run was trained on: PROJECT when given, else the file recorded with the run.
// Problems go to `err`.
std::optional<Project> loadRunProject(const QStringList& positional, const RunSummary& run, const RunHistory& history,
                                      QTextStream& err) {
    const QString projectPath = positional.size() > 1 ? positional.at(1) : run.projectPath;
    if (projectPath.isEmpty()) {
        err << "error: run " << run.id << " in " << where(history) << " has no project file recorded; name the project\n";
        return std::nullopt;
    }
    return loadOrReport(projectPath, err);
}

// ---------------------------------------------------------------------------- history sample

int historySample(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage =
        "sbiw-cli history sample RUN [PROJECT] [--db FILE] [--observation NAME|FILE.csv] [--samples N] [--seed S]\n"
        "       --out FILE.csv";
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QString("Draw samples from a finished run's stored posterior at an observation: the run's own, or another\n"
                "of the project's observations or a CSV file (sbibm layout, a row per i.i.d. trial). An NPE, NLE or\n"
                "NRE posterior is amortised: it serves any observation without training again. NPE samples its\n"
                "flow directly, NLE and NRE run MCMC with the run's sampler settings. A sequential run (SNPE,\n"
                "SNLE, SNRE) was trained for its own observation and samples only there.\n") +
        kHistoryRule);
    parser.addPositionalArgument("RUN", "Run id (see 'sbiw-cli history list').");
    parser.addPositionalArgument("PROJECT", "The run's project (default: the file recorded with the run).");
    parser.addOption({"db", "Run history file.", "FILE"});
    parser.addOption({"observation", "A project observation's name or a CSV file (default: the run's own).", "NAME|FILE"});
    parser.addOption({"samples", "How many samples (default 10000).", "N"});
    parser.addOption({"seed", "Seed of the sampling (default 1).", "S"});
    parser.addOption({"out", "Where to write the samples (header: the parameter names).", "FILE.csv"});
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    const QStringList positional = parser.positionalArguments();
    if (positional.isEmpty() || positional.size() > 2) return usageError(err, "name a run (and at most one project)", usage);
    if (!parser.isSet("out")) return usageError(err, "name the file for the samples: --out FILE.csv", usage);
    qint64 count = 10000, seed = 1;
    if (!readInteger(parser, "samples", 1, count, err) || !readInteger(parser, "seed", 0, seed, err)) return kExitUsage;
    const std::optional<qint64> runId = parseRunId(positional.first(), err);
    if (!runId) return kExitUsage;
    OpenedHistory opened = openHistoryFor(parser, positional.value(1), usage, err);
    if (!opened.history) return opened.code;
    RunHistory& history = *opened.history;
    const std::optional<RunSummary> run = findRun(history, *runId, err);
    if (!run) return kExitFailure;
    try {
        const std::optional<Project> project = loadRunProject(positional, *run, history, err);
        if (!project) return kExitFailure;
        // One torch thread: MCMC calls the network with a few hundred rows at a time, where a
        // second thread only adds waiting (and on a busy machine, much more).
        setComputeThreadCount(1);
        const StoredRunPosterior posterior = loadRunPosterior(history, *runId, *project);
        const StoredRunProblem& problem = posterior.problem;
        Matrix observation = problem.observation;
        QString observationName = problem.observationName;
        if (parser.isSet("observation")) {
            const std::optional<Matrix> chosen = chooseObservation(*project, parser.value("observation"), err);
            if (!chosen) return kExitFailure;
            if (problem.rounds > 1 && !chosen->isApprox(problem.observation)) {
                err << "error: " << posterior.runName << " is sequential (" << problem.method.toUpper() << ", "
                    << problem.rounds << " rounds): its posterior was trained for the observation '"
                    << problem.observationName << "' only; train a run for '" << parser.value("observation")
                    << "', or an amortised one (npe, nle, nre)\n";
                return kExitFailure;
            }
            observation = *chosen;
            observationName = parser.value("observation");
        }
        const auto start = std::chrono::steady_clock::now();
        const Matrix draws = posterior.sample(observation, count, std::uint64_t(seed));
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        writeCsv(parser.value("out").toStdString(), problem.parameterNames, draws);
        out << "wrote " << draws.rows() << " posterior samples of run " << *runId << " at " << observationName << " to "
            << parser.value("out") << " (" << (posterior.byMcmc ? "MCMC, " : "") << QString::number(seconds, 'f', 1)
            << " s)\n";
        return kExitSuccess;
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return kExitFailure;
    }
}

}  // namespace

// ----------------------------------------------------------------------------------- history

int runHistory(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage =
        "sbiw-cli history list|show|export|sample|delete ...   (sbiw-cli history SUBCOMMAND --help for details)\n\n"
        "  list [PROJECT] [--db FILE] [--format table|csv]   the recorded runs, newest first\n"
        "  show RUN [PROJECT] [--db FILE]                    everything recorded about a run\n"
        "  export RUN [PROJECT] [--db FILE] [--samples FILE.csv] [--epochs FILE.csv]\n"
        "  sample RUN [PROJECT] [--db FILE] [--observation NAME|FILE.csv] --out FILE.csv   draw from its posterior again\n"
        "  delete RUN [PROJECT] [--db FILE]                  a run and what only it uses\n\n" +
        QString(kHistoryRule) + "\n";
    const QString sub = arguments.value(1);
    if (sub.isEmpty()) {
        err << "usage: " << usage;
        return kExitUsage;
    }
    if (sub == "--help" || sub == "-h" || sub == "help") {
        out << "usage: " << usage;
        return kExitSuccess;
    }
    QStringList rest = arguments.mid(2);
    rest.prepend(arguments.at(0) + " " + sub);
    if (sub == "list") return historyList(rest, out, err);
    if (sub == "show") return historyShow(rest, out, err);
    if (sub == "export") return historyExport(rest, out, err);
    if (sub == "delete") return historyDelete(rest, out, err);
    if (sub == "sample") return historySample(rest, out, err);
    err << "error: unknown history command '" << sub << "'\nusage: " << usage;
    return kExitUsage;
}

// ---------------------------------------------------------------------------------- diagnose

int runDiagnose(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage =
        "sbiw-cli diagnose RUN [PROJECT] [--db FILE] [--sbc N | --simulations N] [--coverage] [--tarp] [--ppc]\n"
        "       [--c2st REFERENCE.csv]\n"
        "       [--posterior-samples L] [--seed S] [--threads T] [--out REPORT.json]";
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QString("Check the calibration of a finished run's posterior on N fresh prior-predictive simulations:\n"
                "--sbc N runs simulation-based calibration on N of them (N then also serves --coverage and\n"
                "--tarp; without --sbc give --simulations N), --coverage the expected coverage of HPD regions,\n"
                "--tarp the TARP coverage test, --ppc a posterior predictive check at the run's observation,\n"
                "--c2st the classifier two-sample test of the run's posterior at its observation against\n"
                "reference posterior samples (sbibm CSV layout; as many draws as reference rows).\n"
                "NPE runs are sampled directly; NLE and NRE runs by MCMC with the run's sampler settings at\n"
                "every simulation (slower). Sequential runs (SNPE, SNLE, SNRE) were trained for their\n"
                "observation only: --ppc and --c2st apply to them, --sbc, --coverage and --tarp do not.\n"
                "Writes the figures and verdicts to --out as JSON, prints a summary, and stores each result in\n"
                "the run's diagnostics. The exit code is 0 whatever the verdicts (130 after Ctrl-C: nothing is\n"
                "stored). The project is the one the run was trained on, or PROJECT.\n") +
        kHistoryRule);
    parser.addPositionalArgument("RUN", "Run id (see 'sbiw-cli history list').");
    parser.addPositionalArgument("PROJECT", "The run's project (default: the file recorded with the run).");
    parser.addOption({"db", "Run history file.", "FILE"});
    parser.addOption({"sbc", "Simulation-based calibration on N prior-predictive simulations.", "N"});
    parser.addOption({"simulations", "N without SBC.", "N"});
    parser.addOption({"coverage", "Expected coverage of highest-posterior-density regions."});
    parser.addOption({"tarp", "TARP expected coverage probability."});
    parser.addOption({"ppc", "Posterior predictive check at the run's observation."});
    parser.addOption({"c2st", "C2ST against reference posterior samples at the run's observation.", "REFERENCE.csv"});
    parser.addOption({"posterior-samples", "Posterior samples L per simulation (default 999) and for --ppc (default 1000).", "L"});
    parser.addOption({"seed", "Seed of the calibration simulations and sampling (default 1).", "S"});
    parser.addOption({"threads", "Threads (default: all cores).", "T"});
    parser.addOption({"out", "JSON report.", "REPORT.json"});
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    const QStringList positional = parser.positionalArguments();
    if (positional.isEmpty() || positional.size() > 2) return usageError(err, "name a run (and at most one project)", usage);
    const bool sbc = parser.isSet("sbc"), coverage = parser.isSet("coverage"), tarp = parser.isSet("tarp"),
               ppc = parser.isSet("ppc"), c2stWanted = parser.isSet("c2st");
    if (!sbc && !coverage && !tarp && !ppc && !c2stWanted)
        return usageError(err, "choose at least one of --sbc N, --coverage, --tarp, --ppc, --c2st FILE", usage);
    if (sbc && parser.isSet("simulations")) return usageError(err, "give N once: --sbc N or --simulations N", usage);
    qint64 simulations = 0, samples = -1, seed = 1, threads = 0;
    if (!readInteger(parser, "sbc", 2, simulations, err) || !readInteger(parser, "simulations", 2, simulations, err) ||
        !readInteger(parser, "posterior-samples", 1, samples, err) || !readInteger(parser, "seed", 0, seed, err) ||
        !readInteger(parser, "threads", 1, threads, err)) {
        err << "usage: " << usage << "\n";
        return kExitUsage;
    }
    if ((coverage || tarp) && simulations == 0)
        return usageError(err, "--coverage and --tarp need the number of simulations: --sbc N or --simulations N", usage);
    const std::optional<qint64> runId = parseRunId(positional.first(), err);
    if (!runId) return kExitUsage;
    OpenedHistory opened = openHistoryFor(parser, positional.value(1), usage, err);
    if (!opened.history) return opened.code;
    RunHistory& history = *opened.history;
    const std::optional<RunSummary> run = findRun(history, *runId, err);
    if (!run) return kExitFailure;
    const QString runName = QStringLiteral("run %1 in %2").arg(*runId).arg(where(history));
    try {
        const std::optional<Project> project = loadRunProject(positional, *run, history, err);
        if (!project) return kExitFailure;
        DiagnosticsRequest request;
        request.sbc = sbc;
        request.coverage = coverage;
        request.tarp = tarp;
        request.ppc = ppc;
        request.c2stReference = parser.value("c2st");
        request.simulations = simulations;
        request.posteriorSamples = samples;
        request.seed = std::uint64_t(seed);
        request.threads = int(threads);
        const DiagnosticsOutcome outcome = diagnoseRun(history, *runId, *project, request, progressPrinter(err, "done"));
        if (outcome.cancelled) {
            err << "interrupted; nothing was stored\n";
            return kExitInterrupted;
        }
        if (parser.isSet("out")) {
            QSaveFile file(parser.value("out"));
            if (!file.open(QIODevice::WriteOnly) ||
                file.write(QJsonDocument(outcome.report).toJson(QJsonDocument::Indented)) < 0 || !file.commit()) {
                err << "error: cannot write " << parser.value("out") << ": " << file.errorString()
                    << " (the results are stored with " << runName << ")\n";
                return kExitFailure;
            }
        }
        for (const QString& line : outcome.summary) out << line << "\n";
        out << "stored with " << runName << " (" << QString::number(outcome.seconds, 'f', 1) << " s)";
        if (parser.isSet("out")) out << "; report in " << parser.value("out");
        out << "\n";
        return kExitSuccess;
    } catch (const std::exception& error) {
        err << "error: " << runName << ": " << error.what() << "\n";
        return kExitFailure;
    }
}

}  // namespace sbiw::cli
