#include "core/blas_kernels.h"
#include "cli/cli.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>

#include <csignal>
#include <cstdio>
#include <functional>
#include <map>

#include "cli/cli_common.h"
#include "core/csv.h"
#include "diagnostics/c2st.h"
#include "priors/joint_prior.h"
#include "project/project.h"
#include "qt/project_file.h"
#include "qt/run_history.h"
#include "qt/simulator_factory.h"
#include "qt/trust_store.h"
#include "simulators/batch_simulation.h"
#include "simulators/catalogue.h"

namespace sbiw {

namespace cli {

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

bool ensureTrusted(const Project& project, bool trustGiven, QTextStream& err) {
    const ForeignCode code = foreignCode(project);
    TrustStore store;
    if (store.isTrusted(code)) return true;
    if (!code.missingFile.isEmpty()) {
        err << "error: this project " << code.summary() << ", but " << code.missingFile << " does not exist\n";
        return false;
    }
    if (!trustGiven) {
        err << "error: this project " << code.summary() << "\n"
            << "  Code from a project file runs only once you trust it. If you trust it, rerun with --trust\n"
            << "  (remembered in " << store.path() << " for exactly this code; changing it asks again).\n";
        return false;
    }
    if (const QString problem = store.trust(code); !problem.isEmpty()) {
        err << "error: cannot record trust: " << problem << "\n";
        return false;
    }
    err << "trusted: " << code.description << "\n";
    return true;
}

std::unique_ptr<Simulator> makeSimulator(const Project& project) {
    return makeTrustedSimulator(project,
                                [](const std::string& line) { std::fprintf(stderr, "simulator: %s\n", line.c_str()); });
}

LoopControl progressPrinter(QTextStream& err, const char* what) {
    LoopControl control;
    control.cancelFlag = &interruptFlag();
    control.progressIntervalSeconds = 1.0;
    control.onProgress = [&err, what](const LoopProgress& p) {
        if (p.completed >= p.total || p.elapsedSeconds < 1.0) return;
        // Three significant digits: slow loops (MCMC per calibration simulation) run below 1/s.
        err << what << " " << p.completed << "/" << p.total << " ("
            << QString::number(double(p.completed) / p.elapsedSeconds, 'g', 3) << "/s)\n";
        err.flush();
    };
    return control;
}

QString historyPathFor(const QString& dbOption, const QString& projectFile) {
    if (dbOption.isEmpty() && projectFile.isEmpty()) return {};
    return RunHistory::resolvePath(dbOption, projectFile);
}

std::unique_ptr<RunHistory> openExistingHistory(const QString& path, QTextStream& err) {
    if (!QFileInfo(path).isFile()) {
        err << "error: no run history at " << QDir::toNativeSeparators(path) << "\n";
        return nullptr;
    }
    try {
        return std::make_unique<RunHistory>(path);
    } catch (const std::exception& error) {
        err << "error: " << error.what() << "\n";
        return nullptr;
    }
}

std::optional<qint64> parseRunId(const QString& text, QTextStream& err) {
    bool ok = false;
    const qint64 id = text.toLongLong(&ok);
    if (!ok || id < 1) {
        err << "error: '" << text << "' is not a run id (a whole number >= 1; see 'sbiw-cli history list')\n";
        return std::nullopt;
    }
    return id;
}

}  // namespace cli

namespace {

using namespace cli;

struct Command {
    const char* name;
    const char* summary;
    std::function<int(const QStringList&, QTextStream&, QTextStream&)> run;
};

const std::vector<Command>& commands();

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
        "sbiw-cli simulate PROJECT (--count N | --theta THETA.csv) [--seed S] [--threads T] [--trust] --out FILE.csv";
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
    parser.addOption({"trust", "Trust and run the project's program or plugin (remembered)."});
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
    if (!ensureTrusted(*project, parser.isSet("trust"), err)) return kExitFailure;
    SimulationOptions options;
    options.seed = seed >= 0 ? std::uint64_t(seed) : project->inference.seed;
    options.threads = int(threads);
    const QString outPath = parser.value("out");

    try {
        const std::unique_ptr<Simulator> simulator = makeSimulator(*project);
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
        {"train", "Train a neural posterior (recorded in the run history); --resume continues a run.", runTrain},
        {"history", "List, show, export or delete the recorded runs.", runHistory},
        {"diagnose", "Calibration checks (SBC, coverage, TARP, predictive) of a recorded run.", runDiagnose},
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
        const std::string kernels = blasKernelName();
        out << "sbiw-cli " << SBIW_VERSION << "\n"
            << "BLAS: "
            << (kernels.empty() ? QStringLiteral("not OpenBLAS")
                                : QStringLiteral("OpenBLAS, %1 kernels").arg(QString::fromStdString(kernels)))
            << "\n";
        return kExitSuccess;
    }
    for (const Command& command : commands()) {
        if (name == QLatin1String(command.name)) {
            QStringList rest = arguments.mid(2);
            rest.prepend(arguments.at(0) + " " + name);
            // A Ctrl-C belongs to the command it interrupted, not to the next one run in the
            // same process (tests, a future GUI console).
            interruptFlag().store(false);
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
