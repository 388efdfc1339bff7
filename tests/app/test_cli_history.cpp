// sbiw-cli with the run history: 'train' records every run (settings, epochs, snapshots,
// checkpoints, simulations, model, samples); 'history list/show/export/delete'; reusing stored
// simulations; 'diagnose' stores calibration results; and the real program, stopped with Ctrl-C
// (SIGINT) or killed with SIGKILL mid-training, leaves a sound history whose run 'train --resume'
// finishes with the very losses of a run that was never stopped.
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>

#include <csignal>

#include "cli/cli.h"
#include "core/blas_kernels.h"
#include "core/csv.h"
#include "inference/posterior.h"
#include "qt/project_file.h"
#include "qt/run_history.h"
#include "support/cli_runner.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

using test::CliRun;
using test::cli;

// The built program, for what needs a process of its own.
CliRun program(const QStringList& arguments) {
    QProcess process;
    process.start(SBIW_CLI_PATH, arguments);
    CliRun run;
    if (!process.waitForFinished(240000)) {
        process.kill();
        process.waitForFinished();
    }
    run.code = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

QString runsDiagnostic(const CliRun& run) { return run.out + "\n--- stderr ---\n" + run.err; }

// A two_moons project in `dir` (the history goes beside it unless --db says otherwise).
QString makeProject(const QTemporaryDir& dir) {
    const QString path = dir.filePath("moons.sbiw");
    if (cli({"new", "two_moons", "--out", path}).code != kExitSuccess) qFatal("cannot create a project");
    return path;
}

// A small, quick, deterministic training run (one thread; MDN).
QStringList smallTraining(const QString& project, int simulations, int maxEpochs) {
    return {"train", project, "--estimator", "mdn", "--simulations", QString::number(simulations),
            "--max-epochs", QString::number(maxEpochs), "--seed", "3", "--samples", "300",
            "--device", "cpu", "--threads", "1"};
}

// Run id from the first line, "run 7 in /path/x.history.sqlite".
qint64 runIdOf(const QString& out) {
    const QString first = out.section('\n', 0, 0);
    return first.startsWith("run ") ? first.section(' ', 1, 1).toLongLong() : -1;
}

QString integrityCheck(const QString& path) {
    QString result;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", "integrity");
        db.setDatabaseName(path);
        if (db.open()) {
            QSqlQuery query(db);
            if (query.exec("PRAGMA integrity_check") && query.next()) result = query.value(0).toString();
        }
        db.close();
    }
    QSqlDatabase::removeDatabase("integrity");
    return result;
}

std::vector<double> validationLosses(const QString& historyPath, qint64 runId) {
    RunHistory history(historyPath);
    std::vector<double> losses;
    for (const EpochRecord& e : history.epochs(runId)) losses.push_back(e.validationLoss);
    return losses;
}

// The epochs up to the checkpoint as they were recorded before resuming: resuming must keep
// them (same times too), not train them again.
std::vector<EpochRecord> epochsUpTo(const QString& historyPath, qint64 runId, int lastEpoch) {
    RunHistory history(historyPath);
    std::vector<EpochRecord> kept;
    for (const EpochRecord& e : history.epochs(runId))
        if (e.epoch <= lastEpoch) kept.push_back(e);
    return kept;
}

void compareKept(const std::vector<EpochRecord>& before, const std::vector<EpochRecord>& after) {
    QVERIFY(after.size() >= before.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
        QCOMPARE(after[i].epoch, before[i].epoch);
        QCOMPARE(after[i].elapsedSeconds, before[i].elapsedSeconds);
        QCOMPARE(after[i].validationLoss, before[i].validationLoss);
    }
}

void compareLosses(const std::vector<double>& actual, const std::vector<double>& expected) {
    QCOMPARE(actual.size(), expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i) SBIW_COMPARE_REL(actual[i], expected[i], 1e-6);
}

// Starts the program, waits for the line of `epoch`, and sends `signal`.
struct Stopped {
    qint64 runId = -1;
    int code = -1;
    bool crashed = false;
    QString out;
};

Stopped stopDuringTraining(const QStringList& arguments, int epoch, int signal) {
    QProcess child;
    child.start(SBIW_CLI_PATH, arguments);
    Stopped stopped;
    if (!child.waitForStarted()) return stopped;
    const QByteArray marker = "epoch " + QByteArray::number(epoch) + " ";
    QByteArray seen;
    QElapsedTimer timer;
    timer.start();
    while (!seen.contains(marker) && child.state() == QProcess::Running && timer.elapsed() < 240000) {
        child.waitForReadyRead(200);
        seen += child.readAllStandardOutput();
    }
    if (seen.contains(marker)) ::kill(pid_t(child.processId()), signal);
    child.waitForFinished(240000);  // reaps it: a zombie would still look alive
    seen += child.readAllStandardOutput();
    stopped.out = QString::fromUtf8(seen) + "\n--- stderr ---\n" + QString::fromUtf8(child.readAllStandardError());
    stopped.runId = runIdOf(QString::fromUtf8(seen));
    stopped.crashed = child.exitStatus() == QProcess::CrashExit;
    stopped.code = child.exitCode();
    return stopped;
}

}  // namespace

class TestCliHistory : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // The program runs on the same OpenBLAS kernels as this test process, whose in-process
    // runs are the references that resumed runs must match bit for bit: a program left to pick
    // faster kernels (core/blas_kernels.h) computes slightly different sums.
    void initTestCase() {
        if (const std::string kernels = blasKernelName(); !kernels.empty())
            qputenv("OPENBLAS_CORETYPE", QByteArray::fromStdString(kernels));
    }

    // OpenBLAS falls back to generic kernels on CPUs it does not know; the program then starts
    // itself again with the kernels the CPU can run. A user's choice stands.
    void fastBlasKernelsAreChosen() {
        const auto version = [](const QString& kernels) {
            QProcess process;
            QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
            environment.remove("OPENBLAS_CORETYPE");
            if (!kernels.isEmpty()) environment.insert("OPENBLAS_CORETYPE", kernels);
            process.setProcessEnvironment(environment);
            process.start(SBIW_CLI_PATH, {"--version"});
            process.waitForFinished(60000);
            return QString::fromUtf8(process.readAllStandardOutput());
        };
        const QString chosen = version({});
        if (!chosen.contains("OpenBLAS")) QSKIP("the BLAS of this build is not OpenBLAS");
        if (__builtin_cpu_supports("avx2")) QVERIFY2(!chosen.contains("Prescott"), qPrintable(chosen));
        QVERIFY2(version("Prescott").contains("OpenBLAS, Prescott kernels"), "the user's OPENBLAS_CORETYPE was not kept");
    }

    void trainRecordsEverything() {
        QTemporaryDir dir;
        const QString project = makeProject(dir);
        QStringList arguments = smallTraining(project, 2000, 3);
        arguments << "--snapshot-every" << "1" << "--checkpoint-every" << "1";
        const CliRun run = cli(arguments);
        QVERIFY2(run.code == kExitSuccess, qPrintable(runsDiagnostic(run)));
        // The default location: beside the project.
        const QString historyPath = dir.filePath("moons.history.sqlite");
        QVERIFY(run.out.startsWith("run 1 in " + QDir::toNativeSeparators(historyPath)));
        QVERIFY2(run.out.contains("recorded as run 1"), qPrintable(run.out));

        RunHistory history(historyPath);
        const RunSummary summary = *history.run(1);
        QCOMPARE(summary.state, RunState::Finished);
        QCOMPARE(summary.projectName, QString("Two Moons"));
        QCOMPARE(summary.projectPath, QFileInfo(project).absoluteFilePath());
        QCOMPARE(summary.method, QString("npe"));
        QCOMPARE(summary.estimator, QString("mdn"));
        QCOMPARE(summary.seed, std::uint64_t(3));
        QCOMPARE(summary.device, QString("cpu"));
        QCOMPARE(summary.appVersion, QString(SBIW_VERSION));
        QCOMPARE(summary.simulationCount, 2000);
        QCOMPARE(summary.epochs, 3);
        // The final validation loss is the best epoch's (the weights kept).
        const std::vector<EpochRecord> epochs = history.epochs(1);
        double best = INFINITY;
        for (const EpochRecord& e : epochs) best = std::min(best, e.validationLoss);
        QCOMPARE(*summary.finalValidationLoss, best);
        // A snapshot after every epoch and one of the final weights; no checkpoint after the
        // last epoch, so the newest is of epoch 2.
        QCOMPARE(int(history.snapshots(1).size()), 4);
        QCOMPARE(history.snapshots(1).front().samples.rows(), 500);
        QCOMPARE(history.checkpoint(1)->epoch, 2);
        const QJsonObject settings = history.settings(1);
        QCOMPARE(settings.value("simulations").toInteger(), 2000);
        QCOMPARE(settings.value("training").toObject().value("max_epochs").toInt(), 3);
        QCOMPARE(settings.value("observation").toString(), QString("observation 1"));
        // The training set is the prior's stream of seed 3: the θ columns of 'simulate'.
        const QString simulated = dir.filePath("sims.csv");
        QCOMPARE(cli({"simulate", project, "--count", "2000", "--seed", "3", "--out", simulated}).code, 0);
        const Matrix expectedTheta = readCsv(simulated.toStdString()).values.leftCols(2);
        QVERIFY(history.simulations(1).theta == expectedTheta);
        // The model loads and the stored samples are its draws at the observation.
        const std::optional<StoredModel> model = history.model(1);
        QCOMPARE(model->format, QString("sbiw-posterior"));
        const NeuralPosterior posterior =
            NeuralPosterior::fromBytes(std::string(model->data.constData(), std::size_t(model->data.size())), "run 1");
        const StoredSamples samples = *history.samples(1);
        QCOMPARE(samples.samples.rows(), 300);
        QCOMPARE(samples.observation, QString("observation 1"));
        QVERIFY((samples.samples.array().abs() <= 1.0).all());  // inside the prior's box
        QCOMPARE(posterior.parameterDimension(), 2);
    }

    void historyCommands() {
        QTemporaryDir dir;
        const QString project = makeProject(dir);
        const QString db = dir.filePath("elsewhere/runs.sqlite");
        QVERIFY(QDir().mkpath(dir.filePath("elsewhere")));
        QStringList arguments = smallTraining(project, 1000, 2);
        arguments << "--db" << db;
        QCOMPARE(cli(arguments).code, int(kExitSuccess));
        QCOMPARE(cli(arguments).code, int(kExitSuccess));
        QVERIFY(!QFile::exists(dir.filePath("moons.history.sqlite")));  // --db decides

        const CliRun csv = cli({"history", "list", "--db", db, "--format", "csv"});
        QCOMPARE(csv.code, int(kExitSuccess));
        const QStringList lines = csv.out.trimmed().split('\n');
        QCOMPARE(lines.size(), 3);
        QVERIFY(lines[0].startsWith("id,status,"));
        QVERIFY2(lines[1].startsWith("2,finished,Two Moons,observation 1,npe,mdn,3,cpu,"), qPrintable(lines[1]));
        QVERIFY(lines[2].startsWith("1,finished,"));
        const CliRun table = cli({"history", "list", "--db", db});
        QCOMPARE(table.code, int(kExitSuccess));
        QVERIFY2(table.out.contains("finished") && table.out.contains("2 runs in"), qPrintable(table.out));

        const CliRun show = cli({"history", "show", "1", "--db", db});
        QCOMPARE(show.code, int(kExitSuccess));
        QVERIFY2(show.out.startsWith("run 1 (finished) in "), qPrintable(show.out));
        QVERIFY(show.out.contains("simulated by this run"));
        QVERIFY(show.out.contains("\"max_epochs\": 2"));
        // The line the run ended with is its report.
        QVERIFY2(
            show.out.contains(QRegularExpression("\nreport +NPE \\(mdn\\) on 1000 simulations")),
            qPrintable(show.out));
        const CliRun missing = cli({"history", "show", "99", "--db", db});
        QCOMPARE(missing.code, int(kExitFailure));
        QCOMPARE(missing.err.trimmed(), "error: no run 99 in " + QDir::toNativeSeparators(QFileInfo(db).absoluteFilePath()));

        const QString samples = dir.filePath("samples.csv"), epochs = dir.filePath("epochs.csv");
        QCOMPARE(cli({"history", "export", "2", "--db", db, "--samples", samples, "--epochs", epochs}).code, 0);
        const CsvTable exported = readCsv(samples.toStdString());
        QCOMPARE(exported.header, (std::vector<std::string>{"parameter_1", "parameter_2"}));
        RunHistory history(db);
        QVERIFY(exported.values == history.samples(2)->samples);
        const CsvTable losses = readCsv(epochs.toStdString());
        QCOMPARE(losses.header.at(3), std::string("validation_loss"));
        QCOMPARE(losses.values.rows(), 2);
        QCOMPARE(losses.values(1, 3), history.epochs(2)[1].validationLoss);

        QCOMPARE(cli({"history", "delete", "1", "--db", db}).code, int(kExitSuccess));
        QVERIFY(!history.run(1));
        QCOMPARE(cli({"history", "delete", "1", "--db", db}).code, int(kExitFailure));

        // Which history: --db or a project; neither is a usage error; a missing file is not created.
        QCOMPARE(cli({"history", "list"}).code, int(kExitUsage));
        const CliRun none = cli({"history", "list", project});
        QCOMPARE(none.code, int(kExitFailure));
        QVERIFY2(none.err.contains("no run history at"), qPrintable(none.err));
        QVERIFY(!QFile::exists(dir.filePath("moons.history.sqlite")));
        QCOMPARE(cli({"history", "show", "x", "--db", db}).code, int(kExitUsage));
        QCOMPARE(cli({"history", "frobnicate"}).code, int(kExitUsage));
        QCOMPARE(cli({"history", "export", "2", "--db", db}).code, int(kExitUsage));
        for (const char* sub : {"list", "show", "export", "delete"}) {
            const CliRun help = cli({"history", sub, "--help"});
            QCOMPARE(help.code, int(kExitSuccess));
            QVERIFY2(help.out.contains("--db FILE when given, else the one beside PROJECT"), qPrintable(help.out));
        }
    }

    void reuseTakesOneEarlierRunsSimulations() {
        QTemporaryDir dir;
        const QString project = makeProject(dir);
        const QString db = dir.filePath("runs.sqlite");
        auto train = [&](int simulations, bool reuse, int seed) {
            QStringList arguments = smallTraining(project, simulations, 1);
            arguments << "--db" << db << "--seed" << QString::number(seed);
            if (reuse) arguments << "--reuse-simulations";
            return cli(arguments);
        };
        QCOMPARE(train(2000, false, 3).code, 0);  // run 1 simulates
        const CliRun same = train(2000, true, 4);  // run 2 trains on run 1's 2000
        QCOMPARE(same.code, int(kExitSuccess));
        QVERIFY2(same.out.contains("reusing 2000 stored simulations of run 1 (nothing simulated)"), qPrintable(same.out));
        const CliRun fewer = train(1500, true, 5);  // run 3: the first 1500 of them
        QVERIFY2(fewer.out.contains("reusing 1500 stored simulations of run 2"), qPrintable(fewer.out));
        const CliRun more = train(3000, true, 6);  // run 4: nobody has 3000
        QVERIFY2(more.out.contains("no earlier run of this prior and simulator has 3000 stored simulations; simulating"),
                 qPrintable(more.out));

        RunHistory history(db);
        const StoredSimulations first = history.simulations(1);
        QCOMPARE(history.simulationBatches(2).size(), std::size_t(1));
        QCOMPARE(history.simulationBatches(2)[0].id, history.simulationBatches(1)[0].id);  // shared, not copied
        QVERIFY(history.simulations(2).theta == first.theta);
        QCOMPARE(history.run(3)->simulationCount, 1500);
        QVERIFY(history.simulations(3).theta == first.theta.topRows(1500));
        QVERIFY(history.simulations(3).x == first.x.topRows(1500));
        QCOMPARE(history.run(4)->simulationCount, 3000);
        QCOMPARE(*history.simulationBatches(4)[0].producerRunId, qint64(4));
        // Run 1's batch outlives run 1 while run 2 trains on it.
        QCOMPARE(cli({"history", "delete", "1", "--db", db}).code, 0);
        QVERIFY(history.simulations(2).theta == first.theta);
        QVERIFY(cli({"history", "show", "2", "--db", db}).out.contains("simulated by a deleted run"));
    }

    // An amortised run's stored network serves other observations: NLE on gaussian_linear,
    // sampled again at observation 2, gives that observation's posterior mean x_o / 2. A
    // sequential run samples only at its own observation.
    void sampleDrawsFromAStoredPosteriorAtAnyObservation() {
        QTemporaryDir dir;
        const QString project = dir.filePath("linear.sbiw");
        QCOMPARE(cli({"new", "gaussian_linear", "--out", project}).code, int(kExitSuccess));
        const QStringList common = {
            "--simulations", "3000", "--seed",   "3",   "--samples", "500", "--chains", "20",
            "--max-epochs",  "40",   "--device", "cpu", "--threads", "1"};
        const CliRun trained =
            cli(QStringList{"train", project, "--method", "nle", "--estimator", "maf"} + common);
        QVERIFY2(trained.code == kExitSuccess, qPrintable(trained.err));
        const QString out = dir.filePath("obs2.csv");
        const CliRun sampled = cli({"history", "sample", "1", project, "--observation",
                                    "observation 2", "--samples", "1000", "--out", out});
        QVERIFY2(sampled.code == kExitSuccess, qPrintable(sampled.err));
        QVERIFY2(sampled.out.startsWith("wrote 1000 posterior samples of run 1 at observation 2"),
                 qPrintable(sampled.out));
        const CsvTable draws = readCsv(out.toStdString());
        QCOMPARE(draws.header.front(), std::string("parameter_1"));
        const Matrix xo = loadProject(project).project->findObservation("observation 2")->data;
        const Vector mean = test::columnMeans(draws.values);
        for (int i = 0; i < 10; ++i)
            SBIW_COMPARE_NEAR(mean(i), xo(0, i) / 2.0, 0.12);

        // Accuracy does not matter here: a quick two-round run (a repeated option's last value
        // counts).
        const CliRun sequential =
            cli(QStringList{"train", project, "--method", "snre-c", "--rounds", "2"} + common +
                QStringList{"--simulations", "1000", "--max-epochs", "5"});
        QVERIFY2(sequential.code == kExitSuccess, qPrintable(sequential.err));
        const CliRun refused = cli(
            {"history", "sample", "2", project, "--observation", "observation 2", "--out", out});
        QCOMPARE(refused.code, int(kExitFailure));
        QVERIFY2(refused.err.contains("is sequential (SNRE-C, 2 rounds)") &&
                     refused.err.contains("trained for the observation 'observation 1' only"),
                 qPrintable(refused.err));
        QCOMPARE(cli({"history", "sample", "2", project, "--samples", "50", "--out", out}).code,
                 int(kExitSuccess));
        QCOMPARE(cli({"history", "sample", "1", project}).code, int(kExitUsage));  // no --out
    }

    void diagnoseStoresItsResults() {
        QTemporaryDir dir;
        const QString project = makeProject(dir);
        QCOMPARE(cli(smallTraining(project, 3000, 5)).code, int(kExitSuccess));
        const QString report = dir.filePath("report.json");
        const CliRun run = cli({"diagnose", "1", project, "--sbc", "60", "--coverage", "--tarp", "--ppc",
                                "--posterior-samples", "99", "--threads", "2", "--out", report});
        QVERIFY2(run.code == kExitSuccess, qPrintable(runsDiagnostic(run)));
        QVERIFY2(run.out.contains("stored with run 1"), qPrintable(run.out));
        QFile file(report);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject json = QJsonDocument::fromJson(file.readAll()).object();
        QCOMPARE(json.value("format").toString(), QString("sbiw-diagnostics-report"));
        QCOMPARE(json.value("run").toInt(), 1);
        const QJsonObject sbc = json.value("sbc").toObject();
        QCOMPARE(sbc.value("parameters").toArray().size(), 2);
        QCOMPARE(sbc.value("parameters").toArray()[0].toObject().value("name").toString(), QString("parameter_1"));
        const QJsonArray ranks = sbc.value("ranks").toArray();
        QCOMPARE(ranks.size() + json.value("skipped_simulations").toInt(), 60);
        for (const QJsonValue& row : ranks)
            for (const QJsonValue& rank : row.toArray()) QVERIFY(rank.toInt() >= 0 && rank.toInt() <= 99);
        const QStringList verdicts = {"calibrated", "over-confident", "under-confident", "biased high", "biased low",
                                      "miscalibrated"};
        for (const char* kind : {"sbc", "coverage", "tarp"})
            QVERIFY2(verdicts.contains(json.value(kind).toObject().value("verdict").toString()), kind);
        QCOMPARE(json.value("coverage").toObject().value("levels").toArray().size(), 19);
        QCOMPARE(json.value("ppc").toObject().value("dimensions").toArray().size(), 2);
        QCOMPARE(json.value("ppc").toObject().value("posterior_samples").toInt(), 99);

        RunHistory history(dir.filePath("moons.history.sqlite"));
        const std::vector<DiagnosticRecord> stored = history.diagnostics(1);
        QCOMPARE(int(stored.size()), 4);
        QStringList kinds;
        for (const DiagnosticRecord& d : stored) kinds << d.kind;
        QCOMPARE(kinds, (QStringList{"sbc", "coverage", "tarp", "ppc"}));
        QCOMPARE(stored[0].result.value("verdict"), sbc.value("verdict"));
        QCOMPARE(stored[0].result.value("ranks").toArray(), ranks);
        QCOMPARE(stored[0].result.value("settings").toObject().value("simulations").toInt(), 60);
        QVERIFY(cli({"history", "show", "1", project}).out.contains("diagnostic    sbc: "));

        // C2ST against sbibm's reference samples of the project's observation (two_moons obs 1):
        // a posterior trained for 5 epochs is far from them, and the score says so.
        const QString reference = test::testDataPath("sbibm/two_moons/obs1/reference_posterior_samples.csv");
        const CliRun scored = cli({"diagnose", "1", project, "--c2st", reference, "--threads", "2"});
        QVERIFY2(scored.code == kExitSuccess, qPrintable(runsDiagnostic(scored)));
        QVERIFY2(scored.out.contains("C2ST against reference_posterior_samples.csv (10000 samples each)"), qPrintable(scored.out));
        const std::vector<DiagnosticRecord> withC2st = history.diagnostics(1);
        QCOMPARE(withC2st.back().kind, QString("c2st"));
        const double accuracy = withC2st.back().result.value("accuracy").toDouble();
        QVERIFY2(accuracy > 0.6 && accuracy <= 1.0, qPrintable(QString::number(accuracy)));
        QCOMPARE(cli({"diagnose", "1", project, "--c2st", project}).code, int(kExitFailure));  // not a sample table

        QCOMPARE(cli({"diagnose", "1", project}).code, int(kExitUsage));  // nothing chosen
        QCOMPARE(cli({"diagnose", "1", project, "--coverage"}).code, int(kExitUsage));  // no N
        QCOMPARE(cli({"diagnose", "7", project, "--sbc", "10"}).code, int(kExitFailure));
    }

    void resumeRefusesWhatItCannotContinue() {
        QTemporaryDir dir;
        const QString project = makeProject(dir);
        QCOMPARE(cli(smallTraining(project, 500, 1)).code, int(kExitSuccess));
        const CliRun finished = cli({"train", "--resume", "1", project});
        QCOMPARE(finished.code, int(kExitFailure));
        QVERIFY2(finished.err.contains("has finished; nothing to resume"), qPrintable(finished.err));
        QCOMPARE(cli({"train", "--resume", "1", project, "--estimator", "nsf"}).code, int(kExitUsage));
        QCOMPARE(cli({"train", "--resume", "1"}).code, int(kExitUsage));  // which history?
        const CliRun missing = cli({"train", "--resume", "9", project});
        QCOMPARE(missing.code, int(kExitFailure));
        QVERIFY2(missing.err.contains("no run 9 in"), qPrintable(missing.err));
    }

    // Ctrl-C: the run ends 'cancelled' with a checkpoint of its last completed epoch; resuming
    // gives the losses of a run that was never stopped.
    void interruptedWithCtrlCResumesExactly() {
        QTemporaryDir dir;
        const QString project = makeProject(dir);
        const QString reference = dir.filePath("reference.sqlite"), db = dir.filePath("runs.sqlite");
        QStringList arguments = smallTraining(project, 20000, 10);
        arguments << "--checkpoint-every" << "4";
        QCOMPARE(cli(QStringList(arguments) << "--db" << reference).code, int(kExitSuccess));
        const std::vector<double> expected = validationLosses(reference, 1);
        QCOMPARE(int(expected.size()), 10);

        const Stopped stopped = stopDuringTraining(QStringList(arguments) << "--db" << db, 2, SIGINT);
        QVERIFY2(!stopped.crashed && stopped.code == kExitInterrupted, qPrintable(stopped.out));
        QVERIFY2(stopped.out.contains("can be resumed: sbiw-cli train --resume 1"), qPrintable(stopped.out));
        int checkpointEpoch = 0;
        {
            RunHistory history(db);
            QCOMPARE(history.run(1)->state, RunState::Cancelled);
            // Epochs 1..k completed (k >= 2); the checkpoint holds epoch k, not the periodic 4.
            QVERIFY(history.checkpoint(1));
            checkpointEpoch = history.checkpoint(1)->epoch;
            QCOMPARE(checkpointEpoch, history.run(1)->epochs);
        }
        const std::vector<EpochRecord> kept = epochsUpTo(db, 1, checkpointEpoch);
        const CliRun resumed = program({"train", "--resume", "1", "--db", db});
        QVERIFY2(resumed.code == kExitSuccess, qPrintable(runsDiagnostic(resumed)));
        QVERIFY2(resumed.out.contains(QStringLiteral("after epoch %1 (its checkpoint)").arg(checkpointEpoch)),
                 qPrintable(resumed.out));
        QVERIFY(!resumed.out.contains(QStringLiteral("epoch %1  train").arg(checkpointEpoch)));
        compareKept(kept, epochsUpTo(db, 1, checkpointEpoch));
        QVERIFY(resumed.out.contains("training on the run's 20000 stored simulations"));
        compareLosses(validationLosses(db, 1), expected);
        RunHistory history(db);
        QCOMPARE(history.run(1)->state, RunState::Finished);
        QCOMPARE(*history.run(1)->finalValidationLoss, *RunHistory(reference).run(1)->finalValidationLoss);
    }

    // SIGKILL mid-training: the history passes integrity_check, lists the run as interrupted,
    // and 'train --resume' continues from the last periodic checkpoint to the uninterrupted losses.
    void killedMidTrainingResumesFromItsCheckpoint() {
        QTemporaryDir dir;
        const QString project = makeProject(dir);
        const QString reference = dir.filePath("reference.sqlite"), db = dir.filePath("runs.sqlite");
        QStringList arguments = smallTraining(project, 20000, 14);  // ~0.1 s per epoch here
        arguments << "--checkpoint-every" << "2";
        QCOMPARE(cli(QStringList(arguments) << "--db" << reference).code, int(kExitSuccess));
        const std::vector<double> expected = validationLosses(reference, 1);
        // An earlier run in the same file must survive the kill.
        QCOMPARE(cli(smallTraining(project, 500, 1) << "--db" << db).code, int(kExitSuccess));

        const Stopped killed = stopDuringTraining(QStringList(arguments) << "--db" << db, 5, SIGKILL);
        QVERIFY2(killed.crashed, qPrintable(killed.out));
        QCOMPARE(killed.runId, qint64(2));
        QCOMPARE(integrityCheck(db), QString("ok"));

        const CliRun list = program({"history", "list", "--db", db, "--format", "csv"});
        QCOMPARE(list.code, int(kExitSuccess));
        QVERIFY2(list.out.contains("\n2,interrupted,"), qPrintable(list.out));
        QVERIFY2(list.out.contains("\n1,finished,"), qPrintable(list.out));
        int checkpointEpoch = 0;
        {
            RunHistory history(db);
            const RunSummary run = *history.run(2);
            QVERIFY2(run.errorMessage.contains("ended without finishing it"), qPrintable(run.errorMessage));
            QVERIFY(run.epochs >= 5 && run.epochs < 14);
            QCOMPARE(run.simulationCount, 20000);
            checkpointEpoch = history.checkpoint(2)->epoch;
            QVERIFY(checkpointEpoch >= 4 && checkpointEpoch % 2 == 0);
        }
        QCOMPARE(integrityCheck(db), QString("ok"));
        const std::vector<EpochRecord> kept = epochsUpTo(db, 2, checkpointEpoch);

        const CliRun resumed = program({"train", "--resume", "2", "--db", db});
        QVERIFY2(resumed.code == kExitSuccess, qPrintable(runsDiagnostic(resumed)));
        QVERIFY2(resumed.out.contains(QStringLiteral("after epoch %1 (its checkpoint)").arg(checkpointEpoch)),
                 qPrintable(resumed.out));
        compareKept(kept, epochsUpTo(db, 2, checkpointEpoch));
        compareLosses(validationLosses(db, 2), expected);
        RunHistory history(db);
        QCOMPARE(history.run(2)->state, RunState::Finished);
        QVERIFY(history.model(2) && history.samples(2));
        QCOMPARE(history.run(1)->state, RunState::Finished);
    }
};

QTEST_GUILESS_MAIN(TestCliHistory)
#include "test_cli_history.moc"
