// Run history: every table round-trips exactly; deleting a run cascades (shared simulations
// survive while another run uses them); a process killed with SIGKILL while writing leaves a
// sound file with its run marked interrupted; migrations run in order in one transaction;
// files from newer versions, other programs, non-SQLite and corrupt files are refused with
// messages that name the file.
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTextStream>

#include <cmath>
#include <limits>
#include <thread>

#include <unistd.h>

#include "project/project.h"
#include "qt/run_history.h"
#include "qt/run_history_schema.h"
#include "simulators/catalogue.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

const char* const kChildModeArgument = "--write-epochs-until-killed";

// A plain SQLite connection beside the history's own, to look at the file as other tools do.
class RawDatabase {
  public:
    explicit RawDatabase(const QString& path)
        : name_(QStringLiteral("raw-%1").arg(quintptr(this))) {
        QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", name_);
        db.setDatabaseName(path);
        if (!db.open())
            qFatal("cannot open %s", qPrintable(path));
    }
    ~RawDatabase() {
        QSqlDatabase::database(name_, false).close();
        QSqlDatabase::removeDatabase(name_);
    }
    bool exec(const QString& sql) {
        QSqlQuery query(QSqlDatabase::database(name_));
        const bool ok = query.exec(sql);
        if (!ok)
            qWarning("%s: %s", qPrintable(sql), qPrintable(query.lastError().text()));
        return ok;
    }
    QVariant scalar(const QString& sql) {
        QSqlQuery query(QSqlDatabase::database(name_));
        if (!query.exec(sql) || !query.next()) {
            qWarning("%s: %s", qPrintable(sql), qPrintable(query.lastError().text()));
            return {};
        }
        return query.value(0);
    }
    QSqlDatabase database() const { return QSqlDatabase::database(name_); }

  private:
    QString name_;
};

RunStart makeStart(const QString& projectName = "Two Moons", const QString& hash = "hash-a") {
    RunStart start;
    start.projectName = projectName;
    start.projectHash = hash;
    start.projectPath = "/projects/two_moons.sbiw";
    start.observation = "observation 1";
    start.method = "npe";
    start.estimator = "nsf";
    start.settings =
        QJsonObject{{"simulations", 10000}, {"training", QJsonObject{{"batch_size", 200}}}};
    start.seed = 42;
    start.device = "cpu";
    return start;
}

Matrix countingMatrix(Eigen::Index rows, Eigen::Index cols, double offset = 0.0) {
    Matrix m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i)
        m.data()[i] = offset + double(i) * 0.25 - 3.0;
    return m;
}

bool sameMatrix(const Matrix& a, const Matrix& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() && (a.array() == b.array()).all();
}

QByteArray everyByte() {
    QByteArray bytes;
    for (int i = 0; i < 1024; ++i)
        bytes.append(char(i % 256));
    return bytes;
}

QString exceptionText(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::runtime_error& error) {
        return QString::fromUtf8(error.what());
    }
    return {};
}

QByteArray fileBytes(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// The child process of the SIGKILL test: records a run, then epochs (each with a snapshot and
// a checkpoint, one transaction per epoch) until it is killed, printing each committed epoch.
int writeEpochsUntilKilled(const QString& path) {
    RunHistory history(path);
    const qint64 runId = history.startRun(makeStart("killed mid-training"));
    QTextStream out(stdout);
    out << "run " << runId << Qt::endl;
    const Matrix snapshot = countingMatrix(500, 4);
    for (int epoch = 1; epoch < 1000000; ++epoch) {
        history.transaction([&] {
            history.addEpoch(runId, {0, epoch, 1.0 / epoch, 2.0 / epoch, 0.01 * epoch});
            history.addSnapshot(runId, {0, epoch, 0.01 * epoch, snapshot});
            history.saveCheckpoint(runId, {0,
                                           epoch,
                                           "test-model",
                                           QByteArray(64 * 1024, char(epoch)),
                                           QByteArray(16 * 1024, char(epoch + 1)),
                                           QJsonObject{{"epoch", epoch}},
                                           {}});
        });
        out << "epoch " << epoch << Qt::endl;
    }
    return 0;
}

}  // namespace

class TestRunHistory : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    QString path(const QString& name = "p.history.sqlite") const { return dir_.filePath(name); }

  private Q_SLOTS:
    void init() {
        // A fresh file per test.
        for (const QString& name : QDir(dir_.path()).entryList(QDir::Files))
            QFile::remove(dir_.filePath(name));
    }

    // --- Opening and the schema -------------------------------------------------------------

    void newFileIsInitialised() {
        {
            RunHistory history(path());
            QVERIFY(history.listRuns().empty());
            QCOMPARE(history.path(), path());
        }
        RawDatabase raw(path());
        QCOMPARE(raw.scalar("PRAGMA user_version").toInt(), RunHistory::schemaVersion());
        QCOMPARE(raw.scalar("PRAGMA application_id").toInt(), history::kApplicationId);
        QCOMPARE(raw.scalar("PRAGMA journal_mode").toString(), QString("wal"));
        QCOMPARE(raw.scalar("PRAGMA auto_vacuum").toInt(), 2);  // incremental
        for (const char* table :
             {"runs", "epochs", "snapshots", "models", "checkpoints", "posterior_samples",
              "diagnostics", "simulation_batches", "run_simulations"})
            QVERIFY2(raw.scalar(QStringLiteral("SELECT COUNT(*) FROM sqlite_master WHERE type = "
                                               "'table' AND name = '%1'")
                                    .arg(table))
                             .toInt() == 1,
                     table);
    }

    void emptyFileIsInitialised() {
        // An empty file is an SQLite database with user_version 0 and no tables.
        QFile file(path());
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        {
            RunHistory history(path());
            history.startRun(makeStart());
        }
        RawDatabase raw(path());
        QCOMPARE(raw.scalar("PRAGMA user_version").toInt(), RunHistory::schemaVersion());
        QCOMPARE(raw.scalar("SELECT COUNT(*) FROM runs").toInt(), 1);
    }

    void migrationsRunInOrderInOneTransaction() {
        // A version-1 database built by hand, with data, is brought to version 3 by the
        // mechanism RunHistory uses; the data survives and the steps ran in order.
        {
            RawDatabase raw(path());
            QVERIFY(raw.exec("CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT)"));
            QVERIFY(raw.exec("INSERT INTO runs (name) VALUES ('first'), ('second')"));
            QVERIFY(raw.exec("PRAGMA user_version = 1"));
        }
        const std::vector<history::Migration> steps = {
            {1, "create runs", {"CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT)"}},
            {2,
             "add a status",
             {"ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'finished'"}},
            {3,
             "log the order",
             {"CREATE TABLE steps (step INTEGER)",
              "INSERT INTO steps SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = "
              "'status'"}},
        };
        RawDatabase raw(path());
        QCOMPARE(history::migrate(raw.database(), steps, path()), 1);
        QCOMPARE(raw.scalar("PRAGMA user_version").toInt(), 3);
        QCOMPARE(raw.scalar("SELECT step FROM steps").toInt(), 1);  // step 3 saw step 2's column
        QCOMPARE(raw.scalar("SELECT group_concat(name || ':' || status, ',') FROM runs").toString(),
                 QString("first:finished,second:finished"));
        // Already current: nothing to do.
        QCOMPARE(history::migrate(raw.database(), steps, path()), 3);
    }

    // A run's report (the lines it ended with) is kept; a history of schema version 1 gains the
    // column on opening, its runs without a report.
    void reportIsKeptWithTheRun() {
        {
            RawDatabase raw(path());
            QCOMPARE(history::migrate(raw.database(), {history::migrations().front()}, path()), 0);
            QCOMPARE(raw.scalar("PRAGMA user_version").toInt(), 1);
        }
        qint64 older = 0;
        {
            // What version 1 could hold: a finished run (inserted as that schema had it).
            RawDatabase raw(path());
            QVERIFY(raw.exec(
                "INSERT INTO runs (project_name, project_hash, method, estimator, seed, "
                "app_version, device, status, started_at, updated_at, settings_json) VALUES "
                "('p', 'h', 'npe', 'nsf', 1, '0.1', 'cpu', 'finished', '2026-11-01T00:00:00.000Z', "
                "'2026-11-01T00:00:00.000Z', '{}')"));
            older = raw.scalar("SELECT MAX(id) FROM runs").toLongLong();
        }
        RunHistory history(path());
        QCOMPARE(RawDatabase(path()).scalar("PRAGMA user_version").toInt(),
                 RunHistory::schemaVersion());
        QVERIFY(history.report(older).isEmpty());
        const qint64 runId = history.startRun(makeStart());
        history.finishRun(runId, RunOutcome::ended(RunState::Finished));
        const QStringList lines{"SMC-ABC on 5000 simulations: 5 populations",
                                "population 1: epsilon 3.2", "population 2: epsilon 2.1"};
        history.setReport(runId, lines);
        QCOMPARE(history.report(runId), lines);
        QCOMPARE(RunHistory(path()).report(runId), lines);  // read back from the file
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, history.setReport(runId + 1, lines));
    }

    void failedMigrationChangesNothing() {
        {
            RawDatabase raw(path());
            QVERIFY(raw.exec("CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT)"));
            QVERIFY(raw.exec("INSERT INTO runs (name) VALUES ('kept')"));
            QVERIFY(raw.exec("PRAGMA user_version = 1"));
        }
        const std::vector<history::Migration> steps = {
            {1, "create runs", {"CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT)"}},
            {2, "add a table", {"CREATE TABLE added (x INTEGER)", "INSERT INTO added VALUES (1)"}},
            {3, "a broken step", {"ALTER TABLE no_such_table ADD COLUMN y"}},
        };
        RawDatabase raw(path());
        const QString error =
            exceptionText([&] { history::migrate(raw.database(), steps, path()); });
        QVERIFY2(error.contains(path()) && error.contains("version 3 (a broken step)") &&
                     error.contains("no_such_table"),
                 qPrintable(error));
        QCOMPARE(raw.scalar("PRAGMA user_version").toInt(), 1);
        QCOMPARE(raw.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'added'").toInt(), 0);
        QCOMPARE(raw.scalar("SELECT name FROM runs").toString(), QString("kept"));
    }

    void newerVersionIsRefusedAndLeftAlone() {
        { RunHistory history(path()); }
        {
            RawDatabase raw(path());
            QVERIFY(raw.exec(
                QStringLiteral("PRAGMA user_version = %1").arg(RunHistory::schemaVersion() + 1)));
            QVERIFY(raw.exec("PRAGMA journal_mode = DELETE"));
        }
        const QByteArray before = fileBytes(path());
        const QString error = exceptionText([&] { RunHistory history(path()); });
        QVERIFY2(error.contains(path()) && error.contains("newer SBI Workbench") &&
                     error.contains(
                         QStringLiteral("schema version %1").arg(RunHistory::schemaVersion() + 1)),
                 qPrintable(error));
        QCOMPARE(fileBytes(path()), before);  // not even switched to WAL
        // The migration mechanism refuses it too (it re-reads the version under the write lock).
        RawDatabase raw(path());
        const QString mechanism =
            exceptionText([&] { history::migrate(raw.database(), history::migrations(), path()); });
        QVERIFY2(mechanism.contains("newer SBI Workbench"), qPrintable(mechanism));
    }

    void otherProgramsDatabasesAreRefused() {
        {
            RawDatabase raw(path("other.sqlite"));
            QVERIFY(raw.exec("CREATE TABLE contacts (name TEXT)"));
        }
        QString error = exceptionText([&] { RunHistory history(path("other.sqlite")); });
        QVERIFY2(error.contains(path("other.sqlite")) && error.contains("another program"),
                 qPrintable(error));
        {
            RawDatabase raw(path("tagged.sqlite"));
            QVERIFY(raw.exec("PRAGMA application_id = 1234"));
        }
        error = exceptionText([&] { RunHistory history(path("tagged.sqlite")); });
        QVERIFY2(error.contains("another program's SQLite database (application id 0x000004d2)"),
                 qPrintable(error));
    }

    void nonSqliteFileIsRefused() {
        QFile file(path("notes.sbiw"));
        QVERIFY(file.open(QIODevice::WriteOnly));
        for (int i = 0; i < 200; ++i)
            file.write("These are my notes, not a database.\n");
        file.close();
        const QByteArray before = fileBytes(path("notes.sbiw"));
        const QString error = exceptionText([&] { RunHistory history(path("notes.sbiw")); });
        QVERIFY2(error.contains(path("notes.sbiw")) && error.contains("not an SQLite database"),
                 qPrintable(error));
        QCOMPARE(fileBytes(path("notes.sbiw")), before);
    }

    void corruptFileIsReported() {
        {
            RunHistory history(path());
            for (int i = 0; i < 40; ++i) {
                const qint64 id = history.startRun(makeStart(QStringLiteral("run %1").arg(i)));
                history.addEpoch(id, {0, 1, 1.0, 1.0, 0.1});
                history.finishRun(id, {});
            }
        }  // the last connection to close folds the write-ahead log into the file
        QVERIFY(!QFile::exists(path() + "-wal"));
        QFile file(path());
        QVERIFY(file.open(QIODevice::ReadWrite));
        const qint64 size = file.size();
        QVERIFY(size > 4 * 4096);
        // Keep page 1 (header and schema), scribble over every other page.
        file.seek(4096);
        file.write(QByteArray(size - 4096, char(0xAB)));
        file.close();
        const QString error = exceptionText([&] {
            RunHistory history(path());
            history.listRuns();
        });
        QVERIFY2(error.contains(path()) && error.contains("corrupt"), qPrintable(error));
    }

    void missingFolderAndReadOnlyFileAreReported() {
        QString error =
            exceptionText([&] { RunHistory history(dir_.filePath("no/such/folder/h.sqlite")); });
        QVERIFY2(error.contains("no/such/folder") && error.contains("does not exist"),
                 qPrintable(error));

        { RunHistory history(path()); }
        QVERIFY(QFile::setPermissions(path(), QFile::ReadOwner | QFile::ReadGroup));
        if (::geteuid() == 0) {
            QFile::setPermissions(path(), QFile::ReadOwner | QFile::WriteOwner);
            QSKIP("running as root: every file is writable");
        }
        error = exceptionText([&] { RunHistory history(path()); });
        QFile::setPermissions(path(), QFile::ReadOwner | QFile::WriteOwner);
        QVERIFY2(error.contains(path()) && error.contains("read-only"), qPrintable(error));
    }

    void diskFullRollsTheWriteBack() {
        RunHistory history(path());
        const qint64 runId = history.startRun(makeStart());
        history.addSimulations(runId, "key", 0, countingMatrix(10, 3), countingMatrix(10, 2));
        // Let the file grow by a few pages only: SQLite then fails with SQLITE_FULL, exactly
        // as on a full disk.
        QSqlQuery limit(QSqlDatabase::database(history.connectionName()));
        QVERIFY(limit.exec("PRAGMA page_count") && limit.next());
        const int pages = limit.value(0).toInt();
        QVERIFY(limit.exec(QStringLiteral("PRAGMA max_page_count = %1").arg(pages + 8)));
        limit.finish();
        const QString error = exceptionText([&] {
            history.addSimulations(runId, "key", 0, countingMatrix(5000, 3),
                                   countingMatrix(5000, 2));
        });
        QVERIFY2(error.contains(path()) && error.contains("cannot store simulations of run") &&
                     error.contains("disk is full"),
                 qPrintable(error));
        QCOMPARE(history.run(runId)->simulationCount, qint64(10));
        QCOMPARE(history.simulationBatches(runId).size(), std::size_t(1));
        QVERIFY(sameMatrix(history.simulations(runId).theta, countingMatrix(10, 3)));
        history.addEpoch(runId, {0, 1, 0.5, 0.6, 1.0});  // small writes still fit
        QCOMPARE(history.run(runId)->epochs, 1);
    }

    // --- Round trips --------------------------------------------------------------------------

    void runRoundTrip() {
        RunHistory history(path());
        RunStart start = makeStart(QString::fromUtf8("Zwei Monde · θ"), "0123abcd");
        start.seed = std::numeric_limits<std::uint64_t>::max() - 58;  // above 2^63
        start.device = "cuda:0";
        const QDateTime before = QDateTime::currentDateTimeUtc().addMSecs(-1);
        const qint64 id = history.startRun(start);
        const std::optional<RunSummary> run = history.run(id);
        QVERIFY(run);
        QCOMPARE(run->id, id);
        QCOMPARE(run->projectName, start.projectName);
        QCOMPARE(run->projectHash, start.projectHash);
        QCOMPARE(run->projectPath, start.projectPath);
        QCOMPARE(run->observation, start.observation);
        QCOMPARE(run->method, start.method);
        QCOMPARE(run->estimator, start.estimator);
        QCOMPARE(run->seed, start.seed);
        QCOMPARE(run->device, start.device);
        QCOMPARE(run->appVersion, QString(SBIW_VERSION));
        QCOMPARE(run->state, RunState::Running);
        QVERIFY(run->startedAt >= before && run->startedAt <= QDateTime::currentDateTimeUtc());
        QVERIFY(!run->endedAt.isValid());
        QCOMPARE(run->simulationCount, qint64(0));
        QCOMPARE(run->epochs, 0);
        QVERIFY(!run->finalTrainLoss && !run->finalValidationLoss && !run->hasModel &&
                !run->hasCheckpoint);
        QCOMPARE(history.settings(id), start.settings);
        QVERIFY(!history.run(id + 1));
        // Unsaved project: no path.
        RunStart unsaved = makeStart();
        unsaved.projectPath.clear();
        QCOMPARE(history.run(history.startRun(unsaved))->projectPath, QString());
    }

    void epochsRoundTrip() {
        RunHistory history(path());
        const qint64 id = history.startRun(makeStart());
        const double nan = std::numeric_limits<double>::quiet_NaN();
        const double inf = std::numeric_limits<double>::infinity();
        history.addEpochs(
            id, {{0, 1, 3.5, 3.75, 0.5}, {0, 2, 2.25, 2.5, 1.0}, {0, 3, 99.0, 99.0, 1.5}});
        // Epoch 3 again replaces the first record of it; round 1 starts over at epoch 1.
        history.addEpochs(id, {{0, 3, nan, inf, 1.5}, {1, 1, 1.125, -0.5, 2.0}});
        const std::vector<EpochRecord> epochs = history.epochs(id);
        QCOMPARE(epochs.size(), std::size_t(4));
        QCOMPARE(epochs[0].trainLoss, 3.5);
        QCOMPARE(epochs[0].validationLoss, 3.75);
        QCOMPARE(epochs[1].elapsedSeconds, 1.0);
        QVERIFY(std::isnan(epochs[2].trainLoss));
        QCOMPARE(epochs[2].validationLoss, inf);
        QCOMPARE(epochs[3].round, 1);
        QCOMPARE(epochs[3].epoch, 1);
        QCOMPARE(epochs[3].validationLoss, -0.5);
        const RunSummary run = *history.run(id);
        QCOMPARE(run.epochs, 4);
        QCOMPARE(run.finalTrainLoss.value_or(0), 1.125);  // the latest epoch's
        QCOMPARE(run.finalValidationLoss.value_or(0), -0.5);
    }

    void snapshotsKeepTheirOrder() {
        RunHistory history(path());
        const qint64 id = history.startRun(makeStart());
        history.addSnapshot(id, {0, 5, 1.5, countingMatrix(3, 2)});
        history.addSnapshot(id, {0, 10, 3.0, countingMatrix(100, 2, 7.0)});
        history.addSnapshot(id, {1, 2, 4.5, Matrix(0, 2)});
        const std::vector<SnapshotRecord> snapshots = history.snapshots(id);
        QCOMPARE(snapshots.size(), std::size_t(3));
        QCOMPARE(snapshots[0].epoch, 5);
        QCOMPARE(snapshots[1].epoch, 10);
        QCOMPARE(snapshots[1].elapsedSeconds, 3.0);
        QCOMPARE(snapshots[2].round, 1);
        QVERIFY(sameMatrix(snapshots[0].samples, countingMatrix(3, 2)));
        QVERIFY(sameMatrix(snapshots[1].samples, countingMatrix(100, 2, 7.0)));
        QCOMPARE(snapshots[2].samples.rows(), Eigen::Index(0));
        QCOMPARE(snapshots[2].samples.cols(), Eigen::Index(2));
    }

    void modelCheckpointSamplesAndDiagnosticsRoundTrip() {
        RunHistory history(path());
        const qint64 id = history.startRun(makeStart());
        QVERIFY(!history.model(id) && !history.checkpoint(id) && !history.samples(id));
        history.saveModel(id, {"old-format", QByteArray("old"), {}});
        history.saveModel(id, {"sbiw-neural-posterior", everyByte(), {}});
        history.saveCheckpoint(
            id, {0, 3, "fmt", QByteArray("m3"), QByteArray("o3"), QJsonObject{{"best", 1.5}}, {}});
        history.saveCheckpoint(id, {1,
                                    7,
                                    "sbiw-neural-posterior",
                                    everyByte(),
                                    everyByte().repeated(3),
                                    QJsonObject{{"best", 0.25}, {"bad_epochs", 4}},
                                    {}});
        history.saveSamples(id, {"observation 2", countingMatrix(1000, 3), {}});
        const QJsonObject sbc{{"ranks", QJsonArray{1, 2, 3}}, {"uniform", true}};
        const QJsonObject coverage{{"levels", QJsonArray{0.5, 0.9}},
                                   {"empirical", QJsonArray{0.49, 0.91}}};
        const qint64 first = history.addDiagnostic(id, "sbc", sbc);
        const qint64 second = history.addDiagnostic(id, "coverage", coverage);
        QVERIFY(second > first);

        const StoredModel model = *history.model(id);
        QCOMPARE(model.format, QString("sbiw-neural-posterior"));
        QCOMPARE(model.data, everyByte());
        QVERIFY(model.savedAt.isValid());
        const Checkpoint checkpoint = *history.checkpoint(id);
        QCOMPARE(checkpoint.round, 1);
        QCOMPARE(checkpoint.epoch, 7);
        QCOMPARE(checkpoint.modelFormat, QString("sbiw-neural-posterior"));
        QCOMPARE(checkpoint.model, everyByte());
        QCOMPARE(checkpoint.optimizerState, everyByte().repeated(3));
        QCOMPARE(checkpoint.trainerState, (QJsonObject{{"best", 0.25}, {"bad_epochs", 4}}));
        const StoredSamples samples = *history.samples(id);
        QCOMPARE(samples.observation, QString("observation 2"));
        QVERIFY(sameMatrix(samples.samples, countingMatrix(1000, 3)));
        const std::vector<DiagnosticRecord> diagnostics = history.diagnostics(id);
        QCOMPARE(diagnostics.size(), std::size_t(2));
        QCOMPARE(diagnostics[0].id, first);
        QCOMPARE(diagnostics[0].kind, QString("sbc"));
        QCOMPARE(diagnostics[0].result, sbc);
        QCOMPARE(diagnostics[1].kind, QString("coverage"));
        QCOMPARE(diagnostics[1].result, coverage);
        const RunSummary run = *history.run(id);
        QVERIFY(run.hasModel && run.hasCheckpoint);
    }

    void simulationsRoundTripAndAreFoundForReuse() {
        RunHistory history(path());
        const qint64 producer = history.startRun(makeStart());
        const qint64 b1 = history.addSimulations(producer, "prior-a", 0, countingMatrix(300, 3),
                                                 countingMatrix(300, 5, 1));
        const qint64 b2 = history.addSimulations(producer, "prior-a", 0, countingMatrix(200, 3, 2),
                                                 countingMatrix(200, 5, 3));
        history.addSimulations(history.startRun(makeStart()), "prior-b", 0, countingMatrix(10, 1),
                               countingMatrix(10, 1));

        StoredSimulations stored = history.simulations(producer);
        QCOMPARE(stored.batchIds, (std::vector<qint64>{b1, b2}));
        Matrix theta(500, 3), x(500, 5);
        theta << countingMatrix(300, 3), countingMatrix(200, 3, 2);
        x << countingMatrix(300, 5, 1), countingMatrix(200, 5, 3);
        QVERIFY(sameMatrix(stored.theta, theta));
        QVERIFY(sameMatrix(stored.x, x));
        QCOMPARE(history.run(producer)->simulationCount, qint64(500));

        const std::vector<SimulationBatchInfo> found = history.findSimulations("prior-a");
        QCOMPARE(found.size(), std::size_t(2));
        QCOMPARE(found[0].id, b1);
        QCOMPARE(found[0].producerRunId.value_or(0), producer);
        QCOMPARE(found[0].rows, qint64(300));
        QCOMPARE(found[0].thetaColumns, 3);
        QCOMPARE(found[0].dataColumns, 5);
        QVERIFY(history.findSimulations("prior-c").empty());

        // A later run trains on them without simulating again.
        const qint64 reuser = history.startRun(makeStart());
        history.useSimulations(reuser, {found[0].id, found[1].id});
        history.useSimulations(reuser, {found[0].id});  // already part of its training set
        stored = history.simulations(reuser);
        QVERIFY(sameMatrix(stored.theta, theta));
        QVERIFY(sameMatrix(stored.x, x));
        QCOMPARE(history.run(reuser)->simulationCount, qint64(500));

        // Batches of other dimensions cannot join a run's training set.
        QString error = exceptionText([&] {
            history.addSimulations(reuser, "prior-a", 0, countingMatrix(5, 2),
                                   countingMatrix(5, 5));
        });
        QVERIFY2(error.contains("have 3 parameters and 5 data values, these have 2 and 5"),
                 qPrintable(error));
        error = exceptionText([&] { history.useSimulations(reuser, {999}); });
        QVERIFY2(error.contains("there is no simulation batch 999"), qPrintable(error));
        error = exceptionText([&] {
            history.addSimulations(reuser, "k", 0, countingMatrix(5, 3), countingMatrix(4, 5));
        });
        QVERIFY2(error.contains("same, non-zero number of rows"), qPrintable(error));
        QCOMPARE(history.run(reuser)->simulationCount, qint64(500));
    }

    void historyWrittenWithPlainSqlIsRead() {
        // The documented encodings (docs/run-history.md) are the contract: a row written by
        // another tool with plain SQL reads back as the numbers it meant.
        { RunHistory history(path()); }
        {
            RawDatabase raw(path());
            QVERIFY(raw.exec(
                "INSERT INTO runs (id, project_name, project_hash, method, estimator, seed, "
                "app_version, device, status, started_at, ended_at, updated_at, epochs, "
                "final_validation_loss, settings_json) VALUES (7, 'by hand', 'h', 'npe', 'maf', "
                "-1, '0.0.1', 'cpu', 'finished', '2024-03-01T10:00:00.000Z', "
                "'2024-03-01T10:05:30.250Z', '2024-03-01T10:05:30.250Z', 1, NULL, "
                "'{\"rounds\": 2}')"));
            // 1.5 and -2.25 as little-endian float64: 0x3FF8000000000000, 0xC002000000000000.
            QVERIFY(raw.exec(
                "INSERT INTO posterior_samples VALUES (7, 'o', 1, 2, '2024-03-01T10:05:30.250Z', "
                "X'000000000000F83F00000000000002C0')"));
            QVERIFY(raw.exec("INSERT INTO epochs VALUES (7, 0, 1, NULL, 0.5, 12.0)"));
        }
        RunHistory history(path());
        const RunSummary run = *history.run(7);
        QCOMPARE(run.seed, std::numeric_limits<std::uint64_t>::max());  // -1: all 64 bits set
        QCOMPARE(run.state, RunState::Finished);
        QCOMPARE(run.startedAt, QDateTime(QDate(2024, 3, 1), QTime(10, 0), Qt::UTC));
        QCOMPARE(run.endedAt, QDateTime(QDate(2024, 3, 1), QTime(10, 5, 30, 250), Qt::UTC));
        QVERIFY(!run.finalValidationLoss);
        QCOMPARE(history.settings(7), (QJsonObject{{"rounds", 2}}));
        const Matrix samples = history.samples(7)->samples;
        QCOMPARE(samples.rows(), Eigen::Index(1));
        QCOMPARE(samples(0, 0), 1.5);
        QCOMPARE(samples(0, 1), -2.25);
        QVERIFY(std::isnan(history.epochs(7)[0].trainLoss));
        // New runs never reuse an id, not even one inserted by hand.
        QVERIFY(history.startRun(makeStart()) > 7);
    }

    // --- Ending, listing, deleting, resuming -------------------------------------------------

    void finishRunRecordsTheOutcome() {
        RunHistory history(path());
        const qint64 id = history.startRun(makeStart());
        history.addEpochs(id, {{0, 1, 2.0, 3.0, 1.0}, {0, 2, 1.0, 2.5, 2.0}});
        RunOutcome failed = RunOutcome::ended(RunState::Failed, "loss became NaN");
        failed.finalValidationLoss = 2.25;
        history.finishRun(id, failed);
        RunSummary run = *history.run(id);
        QCOMPARE(run.state, RunState::Failed);
        QCOMPARE(run.errorMessage, QString("loss became NaN"));
        QCOMPARE(run.finalTrainLoss.value_or(0), 1.0);        // kept from the last epoch
        QCOMPARE(run.finalValidationLoss.value_or(0), 2.25);  // given
        QVERIFY(run.endedAt.isValid() && run.endedAt >= run.startedAt);
        QCOMPARE(run.estimator, makeStart().estimator);  // none given: the start's stays
        // An automatic estimator choice replaces the one the run started with.
        const qint64 chosen = history.startRun(makeStart());
        RunOutcome outcome;
        outcome.estimator = "auto:maf";
        outcome.simulationCount = 10000;  // ran, not stored (an NLE run)
        history.finishRun(chosen, outcome);
        QCOMPARE(history.run(chosen)->estimator, QString("auto:maf"));
        QCOMPARE(history.run(chosen)->simulationCount, qint64(10000));
        QCOMPARE(history.run(id)->simulationCount, qint64(0));  // none given, none stored
        QString error = exceptionText([&] { history.finishRun(id, {}); });
        QVERIFY2(error.contains("it is not running (it is failed)"), qPrintable(error));
        error = exceptionText([&] { history.finishRun(id + 100, {}); });
        QVERIFY2(error.contains(QStringLiteral("there is no run %1").arg(id + 100)),
                 qPrintable(error));
        error = exceptionText([&] { history.addEpoch(id + 100, {}); });
        QVERIFY2(error.contains(path()) && error.contains("cannot add epochs to run"),
                 qPrintable(error));
    }

    void listingSortsAndFilters() {
        RunHistory history(path());
        // id: project, epochs, validation loss (none for the last), state
        std::vector<qint64> ids;
        const QString hashes[] = {"a", "b", "a", "a", "b"};
        const int epochs[] = {3, 1, 5, 2, 4};
        for (int i = 0; i < 5; ++i) {
            const qint64 id =
                history.startRun(makeStart(QStringLiteral("project %1").arg(hashes[i]), hashes[i]));
            for (int e = 1; e <= epochs[i]; ++e)
                history.addEpoch(id, {0, e, 1.0, 10.0 - i - e, 0.0});
            ids.push_back(id);
        }
        history.finishRun(ids[0], {});
        history.finishRun(ids[1], RunOutcome::ended(RunState::Cancelled));
        history.finishRun(ids[2], {});
        RunStart noLoss = makeStart("project c", "c");
        ids.push_back(history.startRun(noLoss));

        auto idsOf = [](const std::vector<RunSummary>& runs) {
            std::vector<qint64> out;
            for (const RunSummary& r : runs)
                out.push_back(r.id);
            return out;
        };
        QCOMPARE(idsOf(history.listRuns()),
                 (std::vector<qint64>{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}));
        RunQuery query;
        query.sortBy = RunSortKey::Epochs;
        query.descending = false;
        QCOMPARE(idsOf(history.listRuns(query)),
                 (std::vector<qint64>{ids[5], ids[1], ids[3], ids[0], ids[4], ids[2]}));
        query.sortBy =
            RunSortKey::FinalValidationLoss;  // 10 - i - epochs: 7, 8, 3, 5, 2; none last
        QCOMPARE(idsOf(history.listRuns(query)),
                 (std::vector<qint64>{ids[4], ids[2], ids[3], ids[0], ids[1], ids[5]}));
        query.descending = true;
        QCOMPARE(idsOf(history.listRuns(query)),
                 (std::vector<qint64>{ids[1], ids[0], ids[3], ids[2], ids[4], ids[5]}));
        query = {};
        query.projectHash = "a";
        QCOMPARE(idsOf(history.listRuns(query)), (std::vector<qint64>{ids[3], ids[2], ids[0]}));
        query.state = RunState::Finished;
        QCOMPARE(idsOf(history.listRuns(query)), (std::vector<qint64>{ids[2], ids[0]}));
        query = {};
        query.sortBy = RunSortKey::Id;
        query.descending = false;
        query.limit = 2;
        query.offset = 3;
        QCOMPARE(idsOf(history.listRuns(query)), (std::vector<qint64>{ids[3], ids[4]}));
        query = {};
        query.sortBy = RunSortKey::ProjectName;
        query.descending = false;
        QCOMPARE(idsOf(history.listRuns(query)),
                 (std::vector<qint64>{ids[0], ids[2], ids[3], ids[1], ids[4], ids[5]}));
        query.sortBy = RunSortKey::State;
        const std::vector<RunSummary> byState = history.listRuns(query);
        QCOMPARE(byState.front().state, RunState::Cancelled);
        QCOMPARE(byState.back().state, RunState::Running);
    }

    void deleteCascadesAndKeepsSharedSimulations() {
        RunHistory history(path());
        auto fill = [&](qint64 id) {
            history.addEpoch(id, {0, 1, 1.0, 1.0, 1.0});
            history.addSnapshot(id, {0, 1, 1.0, countingMatrix(4, 2)});
            history.saveModel(id, {"f", everyByte(), {}});
            history.saveCheckpoint(id, {0, 1, "f", everyByte(), everyByte(), {}, {}});
            history.saveSamples(id, {"o", countingMatrix(4, 2), {}});
            history.addDiagnostic(id, "sbc", QJsonObject{{"ok", true}});
        };
        const qint64 doomed = history.startRun(makeStart());
        const qint64 kept = history.startRun(makeStart());
        fill(doomed);
        fill(kept);
        const qint64 shared =
            history.addSimulations(doomed, "k", 0, countingMatrix(50, 2), countingMatrix(50, 2));
        const qint64 own = history.addSimulations(doomed, "k", 0, countingMatrix(6000, 2),
                                                  countingMatrix(6000, 2));
        history.useSimulations(kept, {shared});
        history.finishRun(doomed, {});

        history.deleteRun(doomed);
        QVERIFY(!history.run(doomed));
        RawDatabase raw(path());
        for (const char* table : {"epochs", "snapshots", "models", "checkpoints",
                                  "posterior_samples", "diagnostics", "run_simulations"}) {
            QVERIFY2(raw.scalar(QStringLiteral("SELECT COUNT(*) FROM %1 WHERE run_id = %2")
                                    .arg(table)
                                    .arg(doomed))
                             .toInt() == 0,
                     table);
            QVERIFY2(raw.scalar(QStringLiteral("SELECT COUNT(*) FROM %1 WHERE run_id = %2")
                                    .arg(table)
                                    .arg(kept))
                             .toInt() == 1,
                     table);
        }
        // The batch only it used is gone; the shared one stays, no longer linked to a producer.
        QCOMPARE(
            raw.scalar(
                   QStringLiteral("SELECT COUNT(*) FROM simulation_batches WHERE id = %1").arg(own))
                .toInt(),
            0);
        const std::vector<SimulationBatchInfo> remaining = history.simulationBatches(kept);
        QCOMPARE(remaining.size(), std::size_t(1));
        QCOMPARE(remaining[0].id, shared);
        QVERIFY(!remaining[0].producerRunId);
        QVERIFY(sameMatrix(history.simulations(kept).theta, countingMatrix(50, 2)));
        QCOMPARE(raw.scalar("SELECT COUNT(*) FROM pragma_foreign_key_check").toInt(), 0);
        // The ~50 pages of its blobs went back to the file system.
        QCOMPARE(raw.scalar("PRAGMA freelist_count").toInt(), 0);

        // A running run is not deleted under its writer.
        const QString error = exceptionText([&] { history.deleteRun(kept); });
        QVERIFY2(error.contains("it is running; cancel it first"), qPrintable(error));
    }

    void resumeContinuesFromTheCheckpoint() {
        RunHistory history(path());
        const qint64 id = history.startRun(makeStart());
        history.addSimulations(id, "k", 0, countingMatrix(40, 2), countingMatrix(40, 3));
        for (int e = 1; e <= 10; ++e) {
            history.addEpoch(id, {0, e, 1.0 / e, 2.0 / e, double(e)});
            if (e % 4 == 0)
                history.addSnapshot(id, {0, e, double(e), countingMatrix(2, 2, e)});
            if (e == 6)
                history.saveCheckpoint(
                    id, {0, 6, "f", QByteArray("weights@6"), QByteArray("adam@6"), {}, {}});
        }
        history.finishRun(id, RunOutcome::ended(RunState::Cancelled, "stopped by the user"));

        const ResumePoint preview = history.resumePoint(id);
        QCOMPARE(preview.epochs.size(), std::size_t(6));
        QCOMPARE(history.epochs(id).size(), std::size_t(10));  // a preview changes nothing

        const ResumePoint point = history.resumeRun(id);
        QCOMPARE(point.run.state, RunState::Running);
        QVERIFY(point.run.errorMessage.isEmpty() && !point.run.endedAt.isValid());
        QCOMPARE(point.run.epochs, 6);
        QCOMPARE(point.run.finalValidationLoss.value_or(0), 2.0 / 6);
        QCOMPARE(point.settings, makeStart().settings);
        QVERIFY(point.checkpoint);
        QCOMPARE(point.checkpoint->model, QByteArray("weights@6"));
        QCOMPARE(point.checkpoint->optimizerState, QByteArray("adam@6"));
        QVERIFY(sameMatrix(point.simulations.theta, countingMatrix(40, 2)));
        QVERIFY(sameMatrix(point.simulations.x, countingMatrix(40, 3)));
        QCOMPARE(point.epochs.size(), std::size_t(6));
        QCOMPARE(point.epochs.back().epoch, 6);
        QCOMPARE(history.epochs(id).size(), std::size_t(6));
        QCOMPARE(history.snapshots(id).size(), std::size_t(1));  // epoch 4 kept, 8 dropped

        // Training goes on and ends; a finished run is not resumed.
        history.addEpoch(id, {0, 7, 0.1, 0.2, 7.0});
        history.finishRun(id, {});
        QCOMPARE(history.run(id)->epochs, 7);
        QString error = exceptionText([&] { history.resumeRun(id); });
        QVERIFY2(error.contains("it has finished"), qPrintable(error));

        // Without a checkpoint, training starts over on the stored simulations.
        const qint64 fresh = history.startRun(makeStart());
        history.addSimulations(fresh, "k", 0, countingMatrix(8, 2), countingMatrix(8, 3));
        history.addEpoch(fresh, {0, 1, 1.0, 1.0, 1.0});
        history.addSnapshot(fresh, {0, 1, 1.0, countingMatrix(2, 2)});
        history.finishRun(fresh, RunOutcome::ended(RunState::Failed, "out of memory"));
        const ResumePoint again = history.resumeRun(fresh);
        QVERIFY(!again.checkpoint);
        QVERIFY(again.epochs.empty() && history.snapshots(fresh).empty());
        QCOMPARE(again.simulations.theta.rows(), Eigen::Index(8));
        error = exceptionText([&] { history.resumeRun(fresh); });
        QVERIFY2(error.contains("still running"), qPrintable(error));
    }

    void transactionKeepsAllOrNothing() {
        RunHistory history(path());
        const qint64 id = history.startRun(makeStart());
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, history.transaction([&] {
            history.addEpoch(id, {0, 1, 1.0, 1.0, 1.0});
            history.addSnapshot(id, {0, 1, 1.0, countingMatrix(2, 2)});
            throw std::runtime_error("the caller gave up");
        }));
        QVERIFY(history.epochs(id).empty() && history.snapshots(id).empty());
        // A failing call inside undoes only itself (it links the first batch, then fails on the
        // second); the caller decides about the rest.
        const qint64 batch = history.addSimulations(history.startRun(makeStart()), "k", 0,
                                                    countingMatrix(2, 2), countingMatrix(2, 2));
        history.transaction([&] {
            history.addEpoch(id, {0, 1, 1.0, 1.0, 1.0});
            const QString error = exceptionText([&] { history.useSimulations(id, {batch, 999}); });
            QVERIFY(error.contains("there is no simulation batch 999"));
            history.addEpoch(id, {0, 2, 1.0, 1.0, 1.0});
        });
        QCOMPARE(history.epochs(id).size(), std::size_t(2));
        QCOMPARE(history.run(id)->epochs, 2);
        QVERIFY(history.simulationBatches(id).empty());
        QCOMPARE(history.run(id)->simulationCount, qint64(0));
    }

    // --- Interrupted runs --------------------------------------------------------------------

    void destructorMarksItsUnfinishedRunsInterrupted() {
        qint64 unfinished = 0, finished = 0;
        {
            RunHistory history(path());
            unfinished = history.startRun(makeStart());
            finished = history.startRun(makeStart());
            history.addEpoch(unfinished, {0, 1, 1.0, 1.0, 1.0});
            history.finishRun(finished, {});
            // Another instance in the same process does not touch a live run.
            RunHistory reader(path());
            QCOMPARE(reader.run(unfinished)->state, RunState::Running);
        }
        RunHistory history(path());
        const RunSummary run = *history.run(unfinished);
        QCOMPARE(run.state, RunState::Interrupted);
        QVERIFY(run.errorMessage.contains("closed the run history before the run ended"));
        QCOMPARE(run.endedAt, run.updatedAt);
        QCOMPARE(history.run(finished)->state, RunState::Finished);
    }

    void ownerIdentityDecidesInterruption() {
        // Runs of this process, edited by hand to look like other processes' runs.
        RunHistory owner(path());
        const qint64 alive = owner.startRun(makeStart());
        const qint64 reusedPid = owner.startRun(makeStart());
        const qint64 rebooted = owner.startRun(makeStart());
        const qint64 deadPid = owner.startRun(makeStart());
        const qint64 elsewhere = owner.startRun(makeStart());
        {
            RawDatabase raw(path());
            QVERIFY(raw.exec(
                QStringLiteral("UPDATE runs SET owner_start = 'not-our-start' WHERE id = %1")
                    .arg(reusedPid)));
            QVERIFY(raw.exec(
                QStringLiteral("UPDATE runs SET owner_boot_id = 'an-earlier-boot' WHERE id = %1")
                    .arg(rebooted)));
            // Above any Linux pid_max, so certainly no live process.
            QVERIFY(raw.exec(QStringLiteral("UPDATE runs SET owner_pid = 999999999 WHERE id = %1")
                                 .arg(deadPid)));
            QVERIFY(raw.exec(
                QStringLiteral("UPDATE runs SET owner_host = 'another-machine', owner_pid = 1 "
                               "WHERE id = %1")
                    .arg(elsewhere)));
        }
        RunHistory other(path());
        QCOMPARE(other.run(alive)->state, RunState::Running);
        QCOMPARE(other.run(reusedPid)->state, RunState::Interrupted);
        QCOMPARE(other.run(rebooted)->state, RunState::Interrupted);
        QCOMPARE(other.run(deadPid)->state, RunState::Interrupted);
        QVERIFY(other.run(deadPid)->errorMessage.contains("pid 999999999"));
        QCOMPARE(other.run(elsewhere)->state, RunState::Running);
        QCOMPARE(other.markInterruptedRuns(), 0);
    }

    void sigkillMidTrainingLeavesASoundHistory_data() {
        // The child commits about a thousand epochs a second and is killed as soon as it has
        // reported this many, so the kill lands in the middle of its next transaction (or of
        // a write-ahead-log checkpoint).
        QTest::addColumn<int>("killAfter");
        QTest::newRow("early") << 5;
        QTest::newRow("later") << 100;
        QTest::newRow("after a log checkpoint") << 400;
    }

    void sigkillMidTrainingLeavesASoundHistory() {
        QFETCH(int, killAfter);
        // Earlier runs, complete with blobs.
        qint64 earlier = 0;
        {
            RunHistory history(path());
            earlier = history.startRun(makeStart("earlier"));
            history.addEpochs(earlier, {{0, 1, 1.5, 1.75, 0.5}, {0, 2, 1.25, 1.5, 1.0}});
            history.addSimulations(earlier, "k", 0, countingMatrix(1000, 2),
                                   countingMatrix(1000, 4));
            history.saveModel(earlier, {"f", everyByte(), {}});
            history.finishRun(earlier, {});
        }

        QProcess child;
        child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        child.start(QCoreApplication::applicationFilePath(), {kChildModeArgument, path()});
        QVERIFY(child.waitForStarted());
        const qint64 childPid = child.processId();
        QByteArray output;
        qint64 runId = 0;
        int lastEpoch = 0;
        auto readLines = [&] {
            output += child.readAllStandardOutput();
            while (output.contains('\n')) {
                const qsizetype end = output.indexOf('\n');
                const QList<QByteArray> words = output.left(end).split(' ');
                output.remove(0, end + 1);
                if (words.size() == 2 && words[0] == "run")
                    runId = words[1].toLongLong();
                if (words.size() == 2 && words[0] == "epoch")
                    lastEpoch = words[1].toInt();
            }
        };
        QElapsedTimer timer;
        timer.start();
        while (lastEpoch < killAfter && timer.elapsed() < 15000 &&
               child.state() == QProcess::Running) {
            child.waitForReadyRead(100);
            readLines();
        }
        QVERIFY2(lastEpoch >= killAfter, "the child did not write epochs");
        {
            // A second instance opened while the writer lives leaves its run alone.
            RunHistory reader(path());
            QCOMPARE(reader.run(runId)->state, RunState::Running);
        }
        child.kill();  // SIGKILL: no destructor, no rollback, possibly mid-commit
        QVERIFY(child.waitForFinished());
        QCOMPARE(child.exitStatus(), QProcess::CrashExit);
        readLines();

        RunHistory history(path());
        {
            RawDatabase raw(path());
            QCOMPARE(raw.scalar("PRAGMA integrity_check").toString(), QString("ok"));
        }
        const RunSummary killed = *history.run(runId);
        QCOMPARE(killed.state, RunState::Interrupted);
        QVERIFY2(killed.errorMessage.contains(QStringLiteral("(pid %1 on ").arg(childPid)),
                 qPrintable(killed.errorMessage));
        // Every epoch it reported is there; at most one more (committed, not yet printed).
        const std::vector<EpochRecord> epochs = history.epochs(runId);
        QVERIFY2(
            int(epochs.size()) == lastEpoch || int(epochs.size()) == lastEpoch + 1,
            qPrintable(
                QStringLiteral("%1 epochs stored, %2 reported").arg(epochs.size()).arg(lastEpoch)));
        for (std::size_t i = 0; i < epochs.size(); ++i) {
            QCOMPARE(epochs[i].epoch, int(i) + 1);
            QCOMPARE(epochs[i].trainLoss, 1.0 / double(i + 1));
        }
        QCOMPARE(killed.epochs, int(epochs.size()));
        QCOMPARE(history.snapshots(runId).size(), epochs.size());  // same transaction as the epoch
        QCOMPARE(history.checkpoint(runId)->epoch, int(epochs.size()));
        QCOMPARE(history.checkpoint(runId)->model, QByteArray(64 * 1024, char(epochs.size())));

        const RunSummary before = *history.run(earlier);
        QCOMPARE(before.state, RunState::Finished);
        QCOMPARE(history.epochs(earlier).size(), std::size_t(2));
        QVERIFY(sameMatrix(history.simulations(earlier).x, countingMatrix(1000, 4)));
        QCOMPARE(history.model(earlier)->data, everyByte());

        // And it can be resumed from its last checkpoint.
        const ResumePoint point = history.resumeRun(runId);
        QCOMPARE(point.checkpoint->epoch, int(epochs.size()));
        history.finishRun(runId, RunOutcome::ended(RunState::Cancelled));
    }

    // --- Threads, locations, identities -------------------------------------------------------

    void workerThreadUsesItsOwnConnection() {
        RunHistory main(path());
        const qint64 id = main.startRun(makeStart());
        bool misuseRefused = false;
        QString workerError;
        std::thread worker([&] {
            try {
                RunHistory own(path());
                for (int batch = 0; batch < 20; ++batch) {
                    std::vector<EpochRecord> epochs;
                    for (int e = 1; e <= 10; ++e)
                        epochs.push_back({0, batch * 10 + e, 1.0, 1.0, 0.0});
                    own.addEpochs(id, epochs);
                }
            } catch (const std::exception& error) {
                workerError = error.what();
            }
            try {
                main.listRuns();
            } catch (const std::logic_error&) {
                misuseRefused = true;
            }
        });
        // The GUI thread reads while the worker writes.
        int reads = 0;
        while (reads < 20) {
            QVERIFY(main.run(id)->epochs <= 200);
            ++reads;
        }
        worker.join();
        QVERIFY2(workerError.isEmpty(), qPrintable(workerError));
        QVERIFY(misuseRefused);
        QCOMPARE(main.run(id)->epochs, 200);
        QCOMPARE(main.run(id)->state, RunState::Running);  // the worker's instance did not own it
    }

    void locationFollowsTheProject() {
        QCOMPARE(RunHistory::pathBesideProject("/home/ada/work/two_moons.sbiw"),
                 QString("/home/ada/work/two_moons.history.sqlite"));
        QCOMPARE(RunHistory::pathBesideProject("/data/v1.2.sbiw"),
                 QString("/data/v1.2.history.sqlite"));
        QCOMPARE(RunHistory::resolvePath("/tmp/chosen.sqlite", "/home/ada/p.sbiw"),
                 QString("/tmp/chosen.sqlite"));
        QCOMPARE(RunHistory::resolvePath({}, "/home/ada/p.sbiw"),
                 QString("/home/ada/p.history.sqlite"));
        QStandardPaths::setTestModeEnabled(true);
        const QString unsaved = RunHistory::resolvePath({}, {});
        const QString dataFolder =
            QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + "/sbi-workbench";
        QStandardPaths::setTestModeEnabled(false);
        QCOMPARE(unsaved, QDir(dataFolder).filePath("unsaved-projects.history.sqlite"));
        QVERIFY(QFileInfo(dataFolder).isDir());
    }

    void projectHashesFollowTheProblem() {
        const Project base = projectFromTask(*findTask("two_moons"));
        const QString hash = projectContentHash(base);
        const QString source = simulationSourceKey(base);
        QCOMPARE(hash.size(), 64);
        QVERIFY(hash != source);
        QCOMPARE(projectContentHash(projectFromTask(*findTask("two_moons"))), hash);

        Project settings = base;  // other settings, name and notes: the same problem
        settings.name = "renamed";
        settings.inference.training.learningRate = 1e-3;
        settings.view.histogramBins = 10;
        settings.observations[0].note = "a new note";
        QCOMPARE(projectContentHash(settings), hash);
        QCOMPARE(simulationSourceKey(settings), source);

        Project observed = base;  // another observation: another problem, same simulations
        observed.observations[0].data(0, 0) += 0.5;
        QVERIFY(projectContentHash(observed) != hash);
        QCOMPARE(simulationSourceKey(observed), source);

        Project prior = base;  // another prior: other simulations
        prior.parameters[0].prior->values["low"] = {-2.0};
        QVERIFY(projectContentHash(prior) != hash);
        QVERIFY(simulationSourceKey(prior) != source);
        QVERIFY(simulationSourceKey(projectFromTask(*findTask("gaussian_linear"))) != source);
    }
};

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    if (argc == 3 && qstrcmp(argv[1], kChildModeArgument) == 0)
        return writeEpochsUntilKilled(QString::fromLocal8Bit(argv[2]));
    TestRunHistory test;
    return QTest::qExec(&test, argc, argv);
}

#include "test_run_history.moc"
