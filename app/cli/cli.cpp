#include "cli/cli.h"

#include <QCommandLineParser>
#include <QFileInfo>

#include <csignal>
#include <cstdio>
#include <functional>
#include <map>

#include "core/csv.h"
#include "diagnostics/c2st.h"
#include "inference/npe.h"
#include "priors/joint_prior.h"
#include "project/project.h"
#include "qt/project_file.h"
#include "simulators/batch_simulation.h"
#include "simulators/catalogue.h"

namespace sbiw {

namespace {

struct Command {
    const char* name;
    const char* summary;
    std::function<int(const QStringList&, QTextStream&, QTextStream&)> run;
};

const std::vector<Command>& commands();

// Parses `arguments` (program name, then the command's own arguments). Returns -1 when the
// command should go on, otherwise the exit code (after --help, or a usage error).
int parseArguments(QCommandLineParser& parser, const QStringList& arguments, const QString& usage,
                   QTextStream& out, QTextStream& err) {
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption help({"h", "help"}, "Show this help.");
    parser.addOption(help);
    if (!parser.parse(arguments)) {
        err << "error: " << parser.errorText() << "\n" << "usage: " << usage << "\n";
        return kExitUsage;
    }
    if (parser.isSet(help)) {
        out << "usage: " << usage << "\n\n" << parser.helpText().section('\n', 2);
        return kExitSuccess;
    }
    return -1;
}

int usageError(QTextStream& err, const QString& message, const QString& usage) {
    err << "error: " << message << "\nusage: " << usage << "\n";
    return kExitUsage;
}

// Parses a whole number option; reports a usage error naming the option otherwise.
bool readInteger(const QCommandLineParser& parser, const QString& name, qint64 minimum, qint64& value,
                 QTextStream& err) {
    if (!parser.isSet(name)) return true;
    bool ok = false;
    const qint64 parsed = parser.value(name).toLongLong(&ok);
    if (!ok || parsed < minimum) {
        err << "error: --" << name << " must be a whole number >= " << minimum << " (got '"
            << parser.value(name) << "')\n";
        return false;
    }
    value = parsed;
    return true;
}

std::optional<Project> loadOrReport(const QString& path, QTextStream& err) {
    ProjectLoadResult loaded = loadProject(path);
    if (!loaded.ok()) {
        err << "error: " << path << " is not a usable project:\n";
        for (const Problem& p : loaded.problems) err << "  " << QString::fromStdString(p.toString()) << "\n";
        return std::nullopt;
    }
    return std::move(loaded.project);
}

// Prints progress to `err` at most once per second.
LoopControl progressPrinter(QTextStream& err, const char* what) {
    LoopControl control;
    control.cancelFlag = &interruptFlag();
    control.progressIntervalSeconds = 1.0;
    control.onProgress = [&err, what](const LoopProgress& p) {
        if (p.completed >= p.total || p.elapsedSeconds < 1.0) return;
        err << what << " " << p.completed << "/" << p.total << " ("
            << qint64(double(p.completed) / p.elapsedSeconds) << "/s)\n";
        err.flush();
    };
    return control;
}

// ------------------------------------------------------------------------------------ tasks

int runTasks(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage = "sbiw-cli tasks";
    QCommandLineParser parser;
    parser.setApplicationDescription("List the built-in simulators.");
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    if (!parser.positionalArguments().isEmpty()) return usageError(err, "tasks takes no arguments", usage);
    for (const TaskInfo& task : builtinTasks()) {
        out << QString::fromStdString(task.id).leftJustified(26) << " θ: "
            << QString::number(task.parameterDimension()).rightJustified(2) << "  x: "
            << QString::number(task.dataDimension).rightJustified(3) << "  "
            << QString::fromStdString(task.title) << "\n";
    }
    return kExitSuccess;
}

// -------------------------------------------------------------------------------------- new

int runNew(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage = "sbiw-cli new TASK --out FILE.sbiw";
    QCommandLineParser parser;
    parser.setApplicationDescription("Create a project for a built-in task (see 'sbiw-cli tasks').");
    parser.addPositionalArgument("TASK", "Built-in task id, e.g. two_moons.");
    parser.addOption({"out", "Where to write the project file.", "FILE.sbiw"});
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    if (parser.positionalArguments().size() != 1) return usageError(err, "name exactly one task", usage);
    if (!parser.isSet("out")) return usageError(err, "--out is required", usage);
    const QString taskId = parser.positionalArguments().first();
    const TaskInfo* task = findTask(taskId.toStdString());
    if (!task) {
        err << "error: unknown task '" << taskId << "' (see 'sbiw-cli tasks')\n";
        return kExitFailure;
    }
    const QString path = parser.value("out");
    if (const QString error = saveProject(projectFromTask(*task), path); !error.isEmpty()) {
        err << "error: " << error << "\n";
        return kExitFailure;
    }
    out << "wrote " << path << "\n";
    return kExitSuccess;
}

// --------------------------------------------------------------------------------- validate

int runValidate(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage = "sbiw-cli validate PROJECT";
    QCommandLineParser parser;
    parser.setApplicationDescription("Check a project file and explain every problem.");
    parser.addPositionalArgument("PROJECT", "Project file (*.sbiw).");
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    if (parser.positionalArguments().size() != 1) return usageError(err, "name exactly one project", usage);
    const QString path = parser.positionalArguments().first();
    const std::optional<Project> project = loadOrReport(path, err);
    if (!project) return kExitFailure;
    out << path << ": valid. '" << QString::fromStdString(project->name) << "', simulator "
        << QString::fromStdString(project->simulator.task) << ", " << project->parameters.size()
        << " parameters, data dimension " << project->dataDimension() << ", "
        << project->observations.size() << " observations (default: '"
        << QString::fromStdString(project->defaultObservation) << "')\n";
    return kExitSuccess;
}

// --------------------------------------------------------------------------------- simulate

std::vector<std::string> dataColumnNames(int dimension) {
    std::vector<std::string> names;
    for (int i = 1; i <= dimension; ++i) names.push_back("data_" + std::to_string(i));
    return names;
}

int runSimulate(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage =
        "sbiw-cli simulate PROJECT (--count N | --theta THETA.csv) [--seed S] [--threads T] --out FILE.csv";
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Simulate from the project's prior (--count), writing the parameter columns then data_1..data_D,\n"
        "or simulate once at each row of THETA.csv (--theta), writing only the data columns.\n"
        "The same seed gives the same rows whatever the thread count.");
    parser.addPositionalArgument("PROJECT", "Project file (*.sbiw).");
    parser.addOption({"count", "Number of simulations from the prior.", "N"});
    parser.addOption({"theta", "CSV of parameters (a header line, one row per θ).", "THETA.csv"});
    parser.addOption({"seed", "Random seed (default: the project's inference seed).", "S"});
    parser.addOption({"threads", "Worker threads (default: all cores).", "T"});
    parser.addOption({"out", "Output CSV file.", "FILE.csv"});
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    if (parser.positionalArguments().size() != 1) return usageError(err, "name exactly one project", usage);
    if (parser.isSet("count") == parser.isSet("theta"))
        return usageError(err, "give exactly one of --count and --theta", usage);
    if (!parser.isSet("out")) return usageError(err, "--out is required", usage);
    qint64 count = 0, seed = -1, threads = 0;
    if (!readInteger(parser, "count", 0, count, err) || !readInteger(parser, "seed", 0, seed, err) ||
        !readInteger(parser, "threads", 1, threads, err)) {
        err << "usage: " << usage << "\n";
        return kExitUsage;
    }

    const std::optional<Project> project = loadOrReport(parser.positionalArguments().first(), err);
    if (!project) return kExitFailure;
    SimulationOptions options;
    options.seed = seed >= 0 ? std::uint64_t(seed) : project->inference.seed;
    options.threads = int(threads);
    const QString outPath = parser.value("out");

    try {
        const std::unique_ptr<Simulator> simulator = project->makeSimulator();
        SimulationBatch batch;
        std::vector<std::string> header;
        if (parser.isSet("count")) {
            const JointPrior prior = project->makePrior();
            batch = simulateFromPrior(prior, *simulator, count, options, progressPrinter(err, "simulated"));
            header = project->parameterNames();
        } else {
            const CsvTable theta = readCsv(parser.value("theta").toStdString());
            if (theta.values.cols() != Eigen::Index(project->parameters.size())) {
                err << "error: " << parser.value("theta") << " has " << theta.values.cols()
                    << " columns, the project has " << project->parameters.size() << " parameters\n";
                return kExitFailure;
            }
            batch = simulateAt(theta.values, *simulator, options, progressPrinter(err, "simulated"));
        }
        if (batch.cancelled) {
            err << "interrupted after " << batch.count() << " simulations; nothing was written\n";
            return kExitInterrupted;
        }
        const std::vector<std::string> dataNames = dataColumnNames(simulator->dataDimension());
        header.insert(header.end(), dataNames.begin(), dataNames.end());
        Matrix table(batch.count(), Eigen::Index(header.size()));
        if (parser.isSet("count")) table << batch.theta, batch.x;
        else table = batch.x;
        writeCsv(outPath.toStdString(), header, table);
        if (!batch.nonFiniteRows.empty())
            err << "warning: " << QString::fromStdString(batch.nonFiniteSummary())
                << " (written as nan)\n";
        const double rate = batch.elapsedSeconds > 0 ? double(batch.count()) / batch.elapsedSeconds : 0.0;
        out << "wrote " << batch.count() << " simulations to " << outPath << " (seed " << options.seed
            << ", " << QString::number(batch.elapsedSeconds, 'f', 3) << " s, "
            << QString::number(rate, 'g', 3) << " simulations/s)\n";
        return kExitSuccess;
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return kExitFailure;
    }
}


// ------------------------------------------------------------------------------------ train

// The observation to condition on: a project observation by name, or a CSV file in the sbibm
// layout (a header line, one row), or the project's default observation.
std::optional<Matrix> chooseObservation(const Project& project, const QString& choice, QTextStream& err) {
    if (choice.isEmpty()) {
        const Observation* observation = project.findObservation(project.defaultObservation);
        if (!observation) {
            err << "error: the project has no default observation; pass --observation FILE.csv\n";
            return std::nullopt;
        }
        return observation->data;
    }
    if (const Observation* named = project.findObservation(choice.toStdString())) return named->data;
    try {
        const CsvTable table = readCsv(choice.toStdString());
        if (table.values.cols() != project.dataDimension()) {
            err << "error: " << choice << " has " << table.values.cols() << " columns, the simulator produces "
                << project.dataDimension() << "\n";
            return std::nullopt;
        }
        if (table.values.rows() < 1) {
            err << "error: " << choice << " holds no observation row\n";
            return std::nullopt;
        }
        return table.values;
    } catch (const CsvError& error) {
        err << "error: --observation '" << choice << "' is neither an observation of the project nor a readable CSV file: "
            << error.what() << "\n";
        return std::nullopt;
    }
}

int runTrain(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage =
        "sbiw-cli train PROJECT [--method npe] [--estimator maf|nsf|mdn] [--simulations N] [--seed S]\n"
        "       [--observation FILE.csv|NAME] [--samples M] --out SAMPLES.csv [--device auto|cpu|cuda]\n"
        "       [--threads T] [--save-posterior FILE.pt]";
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Simulate from the project's prior, train a neural posterior estimator, and write posterior samples\n"
        "at the observation (header = parameter names). Options default to the project's inference settings.\n"
        "Prints one progress line per epoch.");
    parser.addPositionalArgument("PROJECT", "Project file (*.sbiw).");
    parser.addOption({"method", "Inference method: npe.", "METHOD"});
    parser.addOption({"estimator", "Density estimator: maf, nsf or mdn.", "KIND"});
    parser.addOption({"simulations", "Simulation budget.", "N"});
    parser.addOption({"seed", "Random seed.", "S"});
    parser.addOption({"observation", "Observation: a CSV file (header + one row) or a project observation's name.",
                      "FILE.csv"});
    parser.addOption({"samples", "Number of posterior samples to write.", "M"});
    parser.addOption({"out", "Output CSV of posterior samples.", "SAMPLES.csv"});
    parser.addOption({"device", "auto, cpu or cuda.", "DEVICE"});
    parser.addOption({"threads", "Threads for simulation and training (default: all cores).", "T"});
    parser.addOption({"save-posterior", "Also save the trained posterior (versioned archive).", "FILE.pt"});
    parser.addOption({"quiet", "Do not print a line per epoch."});
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    if (parser.positionalArguments().size() != 1) return usageError(err, "name exactly one project", usage);
    if (!parser.isSet("out")) return usageError(err, "--out is required", usage);

    const std::optional<Project> project = loadOrReport(parser.positionalArguments().first(), err);
    if (!project) return kExitFailure;
    const InferenceSettings& defaults = project->inference;
    const QString method = parser.isSet("method") ? parser.value("method") : QString::fromStdString(defaults.method);
    if (method != "npe") {
        err << "error: method '" << method << "' is not available in this version (available: npe)\n";
        return kExitUsage;
    }
    NpeSettings settings;
    settings.estimator.kind = parser.isSet("estimator") ? parser.value("estimator").toStdString() : defaults.estimator;
    settings.training = defaults.training;
    settings.device = parser.isSet("device") ? parser.value("device").toStdString() : defaults.device;
    qint64 simulations = defaults.simulations, seed = qint64(defaults.seed), samples = defaults.posteriorSamples,
           threads = defaults.threads;
    if (!readInteger(parser, "simulations", 2, simulations, err) || !readInteger(parser, "seed", 0, seed, err) ||
        !readInteger(parser, "samples", 1, samples, err) || !readInteger(parser, "threads", 1, threads, err)) {
        err << "usage: " << usage << "\n";
        return kExitUsage;
    }
    settings.simulations = simulations;
    settings.seed = std::uint64_t(seed);
    settings.threads = int(threads);
    const TaskInfo* task = findTask(project->simulator.task);
    settings.isTimeSeries = task && task->dataKind == DataKind::TimeSeries;
    if (const Problems problems = settings.validate(); !problems.empty()) {
        for (const Problem& p : problems) err << "error: " << QString::fromStdString(p.toString()) << "\n";
        return kExitUsage;
    }
    const std::optional<Matrix> observation = chooseObservation(*project, parser.value("observation"), err);
    if (!observation) return kExitFailure;
    if (observation->rows() != 1) {
        err << "error: the observation has " << observation->rows()
            << " rows; NPE conditions on one observation (i.i.d. sets come with the sequential methods)\n";
        return kExitFailure;
    }

    TrainingHooks hooks;
    hooks.cancel = &interruptFlag();
    const bool quiet = parser.isSet("quiet");
    hooks.onStage = [&](const std::string& stage) {
        if (!quiet) err << QString::fromStdString(stage) << "...\n";
        err.flush();
    };
    hooks.onEpoch = [&](const EpochReport& r) {
        if (!quiet) {
            out << "epoch " << r.epoch << "  train " << QString::number(r.trainLoss, 'f', 4) << "  validation "
                << QString::number(r.validationLoss, 'f', 4) << (r.improved ? " *" : "  ") << "  ("
                << QString::number(r.elapsedSeconds, 'f', 1) << " s)\n";
            out.flush();
        }
        return false;
    };
    try {
        const JointPrior prior = project->makePrior();
        const std::unique_ptr<Simulator> simulator = project->makeSimulator();
        const NpeResult result = runNpe(prior, *simulator, *observation, settings, hooks);
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
        const Matrix draws = result.posterior->sample(samples, *observation, settings.seed, &report);
        writeCsv(parser.value("out").toStdString(), project->parameterNames(), draws);
        if (parser.isSet("save-posterior")) result.posterior->save(parser.value("save-posterior").toStdString());
        out << "NPE (" << QString::fromStdString(settings.estimator.kind) << ") on " << result.trainingPairs
            << " simulations (" << QString::number(result.simulationSeconds, 'f', 2) << " s): "
            << result.training.epochs << " epochs in " << QString::number(result.training.seconds, 'f', 1)
            << " s, " << QString::fromStdString(result.training.stopReason) << "; best validation loss "
            << QString::number(result.training.bestValidationLoss, 'f', 4) << "\n"
            << "wrote " << draws.rows() << " posterior samples to " << parser.value("out") << " ("
            << QString::number(report.seconds, 'f', 2) << " s, acceptance "
            << QString::number(100.0 * report.acceptanceRate(), 'f', 1) << "% inside the prior's support)\n";
        return kExitSuccess;
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return kExitFailure;
    }
}


// ------------------------------------------------------------------------------------- c2st

int runC2st(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    const QString usage = "sbiw-cli c2st REFERENCE.csv SAMPLES.csv [--seed S] [--threads T]";
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Classifier two-sample test as sbibm publishes it: z-scored by the reference, an MLP with two hidden\n"
        "layers of 10·d units, 5-fold cross-validated accuracy. 0.5: indistinguishable; 1.0: separable.");
    parser.addPositionalArgument("REFERENCE.csv", "Reference samples (a header line, one row per sample).");
    parser.addPositionalArgument("SAMPLES.csv", "Samples to score, same columns.");
    parser.addOption({"seed", "Random seed of the folds and the classifier (default 1).", "S"});
    parser.addOption({"threads", "Threads (default: all cores).", "T"});
    if (int code = parseArguments(parser, arguments, usage, out, err); code >= 0) return code;
    if (parser.positionalArguments().size() != 2) return usageError(err, "name two CSV files", usage);
    qint64 seed = 1, threads = 0;
    if (!readInteger(parser, "seed", 0, seed, err) || !readInteger(parser, "threads", 1, threads, err)) {
        err << "usage: " << usage << "\n";
        return kExitUsage;
    }
    try {
        const CsvTable reference = readCsv(parser.positionalArguments().at(0).toStdString());
        const CsvTable samples = readCsv(parser.positionalArguments().at(1).toStdString());
        C2stSettings settings;
        settings.seed = std::uint64_t(seed);
        settings.threads = int(threads);
        const C2stResult result = c2st(reference.values, samples.values, settings);
        out << QString::number(result.accuracy, 'f', 4) << "\n";
        return kExitSuccess;
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return kExitFailure;
    }
}

// ------------------------------------------------------------------------------------- main

const std::vector<Command>& commands() {
    static const std::vector<Command> list = {
        {"validate", "Check a project file and explain every problem.", runValidate},
        {"simulate", "Simulate from a project's prior, or at given parameters.", runSimulate},
        {"train", "Train a neural posterior and write posterior samples.", runTrain},
        {"c2st", "Classifier two-sample test between two sample sets.", runC2st},
        {"new", "Create a project for a built-in task.", runNew},
        {"tasks", "List the built-in simulators.", runTasks},
    };
    return list;
}

QString overallUsage() {
    QString text = "usage: sbiw-cli COMMAND [options]   (sbiw-cli COMMAND --help for details)\n\ncommands:\n";
    for (const Command& c : commands())
        text += "  " + QString(c.name).leftJustified(10) + c.summary + "\n";
    return text;
}

void onInterrupt(int) { interruptFlag().store(true); }

}  // namespace

std::atomic<bool>& interruptFlag() {
    static std::atomic<bool> flag{false};
    return flag;
}

void installInterruptHandler() {
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
}

int runCli(const QStringList& arguments, QTextStream& out, QTextStream& err) {
    if (arguments.size() < 2) {
        err << overallUsage();
        return kExitUsage;
    }
    const QString name = arguments.at(1);
    if (name == "--help" || name == "-h" || name == "help") {
        out << overallUsage();
        return kExitSuccess;
    }
    if (name == "--version") {
        out << "sbiw-cli " << SBIW_VERSION << "\n";
        return kExitSuccess;
    }
    for (const Command& command : commands()) {
        if (name == QLatin1String(command.name)) {
            QStringList rest = arguments.mid(2);
            rest.prepend(arguments.at(0) + " " + name);
            const int code = command.run(rest, out, err);
            out.flush();
            err.flush();
            return code;
        }
    }
    err << "error: unknown command '" << name << "'\n" << overallUsage();
    return kExitUsage;
}

int runCli(const QStringList& arguments) {
    QTextStream out(stdout);
    QTextStream err(stderr);
    return runCli(arguments, out, err);
}

}  // namespace sbiw
