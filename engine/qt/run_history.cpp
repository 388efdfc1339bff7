#include "qt/run_history.h"
#include "qt/simulator_factory.h"
#include "qt/trust_store.h"

#include <QAtomicInteger>
#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QSysInfo>
#include <QThread>
#include <QVariant>
#include <QtEndian>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#ifdef Q_OS_UNIX
#include <signal.h>
#endif

#include "core/memory.h"
#include "project/project.h"
#include "qt/project_file.h"
#include "qt/run_history_schema.h"

namespace sbiw {

namespace {

// ---------------------------------------------------------------------------------------------
// Values as stored: times as ISO 8601 UTC text (readable in the sqlite3 shell, sorts as text),
// matrices as little-endian float64 blobs, NaN as NULL (SQLite turns NaN into NULL anyway).

QString nowText() {
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
}

QDateTime timeFrom(const QVariant& value) {
    return value.isNull() ? QDateTime()
                          : QDateTime::fromString(value.toString(), Qt::ISODateWithMs);
}

QVariant textOrNull(const QString& text) {
    return text.isEmpty() ? QVariant() : QVariant(text);
}

QVariant doubleOrNull(std::optional<double> value) {
    return value ? QVariant(*value) : QVariant();
}

double doubleOrNaN(const QVariant& value) {
    return value.isNull() ? std::numeric_limits<double>::quiet_NaN() : value.toDouble();
}

std::optional<double> optionalDouble(const QVariant& value) {
    if (value.isNull())
        return std::nullopt;
    return value.toDouble();
}

// Qt binds a null QByteArray as SQL NULL; an empty blob is a blob.
QVariant blob(const QByteArray& bytes) {
    return bytes.isNull() ? QByteArray("", 0) : bytes;
}

QVariant matrixBytes(const Matrix& m) {
    if (m.size() == 0)
        return blob({});
    QByteArray bytes(reinterpret_cast<const char*>(m.data()), qsizetype(m.size() * sizeof(double)));
    if constexpr (Q_BYTE_ORDER == Q_BIG_ENDIAN) {
        auto* values = reinterpret_cast<double*>(bytes.data());
        for (Eigen::Index i = 0; i < m.size(); ++i)
            values[i] = qToLittleEndian(values[i]);
    }
    return bytes;
}

// Copies `bytes` into rows [firstRow, firstRow + rows) of `out`.
void copyBlobInto(const QByteArray& bytes, Matrix& out, Eigen::Index firstRow, qint64 rows) {
    double* target = out.data() + firstRow * out.cols();
    std::memcpy(target, bytes.constData(), std::size_t(bytes.size()));
    if constexpr (Q_BYTE_ORDER == Q_BIG_ENDIAN) {
        for (qint64 i = 0; i < rows * out.cols(); ++i)
            target[i] = qFromLittleEndian(target[i]);
    }
}

QString jsonText(const QJsonObject& object) {
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

QString sha256Hex(const QJsonObject& object) {
    return QString::fromLatin1(
        QCryptographicHash::hash(QJsonDocument(object).toJson(QJsonDocument::Compact),
                                 QCryptographicHash::Sha256)
            .toHex());
}

// ---------------------------------------------------------------------------------------------
// Which process owns a running run. A run is interrupted when its process is gone; a pid alone
// is not enough (pids are reused, and the machine may have rebooted), so the start time of the
// process and the boot id are kept with it.

struct ProcessIdentity {
    QString host;
    QString bootId;
    qint64 pid = 0;
    QString startToken;
};

// The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); empty where
// there is no /proc.
QString processStartToken(qint64 pid) {
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return {};
    const QByteArray text = stat.readAll();
    // Field 2 is the command name in parentheses and may itself hold spaces or parentheses.
    const qsizetype close = text.lastIndexOf(')');
    if (close < 0)
        return {};
    const QList<QByteArray> fields = text.mid(close + 1).simplified().split(' ');
    constexpr int kStartTimeIndex = 22 - 3;  // fields after the name start at field 3
    return fields.size() > kStartTimeIndex ? QString::fromLatin1(fields[kStartTimeIndex])
                                           : QString();
}

bool processExists(qint64 pid) {
    if (pid <= 0)
        return false;
#ifdef Q_OS_UNIX
    return ::kill(pid_t(pid), 0) == 0 || errno == EPERM;
#else
    return true;  // cannot tell: never mark another process's run as interrupted
#endif
}

const ProcessIdentity& thisProcess() {
    static const ProcessIdentity self = [] {
        ProcessIdentity p;
        p.host = QSysInfo::machineHostName();
        p.bootId = QString::fromLatin1(QSysInfo::bootUniqueId());
        p.pid = QCoreApplication::applicationPid();
        p.startToken = processStartToken(p.pid);
        return p;
    }();
    return self;
}

bool ownerIsGone(const ProcessIdentity& owner) {
    const ProcessIdentity& self = thisProcess();
    if (owner.pid <= 0)
        return true;  // nobody claims the run
    if (owner.host != self.host)
        return false;  // another machine: no way to tell from here
    if (!owner.bootId.isEmpty() && !self.bootId.isEmpty() && owner.bootId != self.bootId)
        return true;  // the machine rebooted since
    if (owner.pid == self.pid && owner.startToken == self.startToken)
        return false;
    if (!processExists(owner.pid))
        return true;
    const QString token = processStartToken(owner.pid);
    return !owner.startToken.isEmpty() && !token.isEmpty() && token != owner.startToken;
}

// ---------------------------------------------------------------------------------------------

const char* const kSummaryColumns =
    "id, project_name, project_hash, project_path, observation, method, estimator, seed, "
    "app_version, device, status, started_at, ended_at, updated_at, simulation_count, epochs, "
    "final_train_loss, final_validation_loss, error_message, "
    "EXISTS (SELECT 1 FROM models WHERE models.run_id = runs.id), "
    "EXISTS (SELECT 1 FROM checkpoints WHERE checkpoints.run_id = runs.id)";

const char* const kBatchColumns =
    "b.id, b.source_key, b.producer_run_id, b.round, b.rows, b.theta_cols, b.x_cols, b.created_at";

QString sortColumn(RunSortKey key) {
    switch (key) {
        case RunSortKey::Id:
            return "id";
        case RunSortKey::StartedAt:
            return "started_at";
        case RunSortKey::EndedAt:
            return "ended_at";
        case RunSortKey::ProjectName:
            return "project_name";
        case RunSortKey::Method:
            return "method";
        case RunSortKey::State:
            return "status";
        case RunSortKey::Epochs:
            return "epochs";
        case RunSortKey::SimulationCount:
            return "simulation_count";
        case RunSortKey::FinalValidationLoss:
            return "final_validation_loss";
    }
    return "id";
}

bool sortColumnMayBeNull(RunSortKey key) {
    return key == RunSortKey::EndedAt || key == RunSortKey::FinalValidationLoss;
}

}  // namespace

QString runStateName(RunState state) {
    switch (state) {
        case RunState::Running:
            return "running";
        case RunState::Finished:
            return "finished";
        case RunState::Cancelled:
            return "cancelled";
        case RunState::Failed:
            return "failed";
        case RunState::Interrupted:
            return "interrupted";
    }
    return {};
}

std::optional<RunState> runStateFromName(const QString& name) {
    for (RunState s : {RunState::Running, RunState::Finished, RunState::Cancelled, RunState::Failed,
                       RunState::Interrupted})
        if (runStateName(s) == name)
            return s;
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------

struct RunHistory::Impl {
    QString path;
    QString connection;
    QThread* thread = QThread::currentThread();
    int transactionDepth = 0;
    std::vector<qint64> ownRuns;  // started or resumed here and not ended yet

    ~Impl() {
        {
            QSqlDatabase database = QSqlDatabase::database(connection, false);
            if (database.isValid())
                database.close();
        }
        QSqlDatabase::removeDatabase(connection);
    }

    QSqlDatabase db() const { return QSqlDatabase::database(connection, false); }

    void checkThread() const {
        if (QThread::currentThread() != thread)
            throw std::logic_error(
                "RunHistory used from a thread other than the one that opened it; open one "
                "RunHistory per thread");
    }

    [[noreturn]] void fail(const QString& what, const QString& reason) const {
        throw std::runtime_error(
            QStringLiteral("run history %1: %2: %3").arg(path, what, reason).toStdString());
    }

    // One prepared statement; failures throw with `what` and SQLite's message.
    class Statement {
      public:
        Statement(const Impl& impl, const QString& sql, const QString& what)
            : impl_(impl), query_(impl.db()), what_(what) {
            query_.setForwardOnly(true);
            if (!query_.prepare(sql))
                history::throwError(impl_.path, what_, query_.lastError());
        }
        Statement& bind(const QVariant& value) {
            query_.addBindValue(value);
            return *this;
        }
        Statement& exec() {
            if (!query_.exec())
                history::throwError(impl_.path, what_, query_.lastError());
            return *this;
        }
        bool next() {
            if (query_.next())
                return true;
            if (query_.lastError().isValid())
                history::throwError(impl_.path, what_, query_.lastError());
            return false;
        }
        QVariant value(int column) const { return query_.value(column); }
        qint64 lastInsertId() const { return query_.lastInsertId().toLongLong(); }

      private:
        const Impl& impl_;
        QSqlQuery query_;
        QString what_;
    };

    void execute(const QString& sql, const QString& what) const {
        Statement(*this, sql, what).exec();
    }

    // Runs `body` atomically: the outermost call is a transaction, nested ones are savepoints,
    // so a failed call inside transaction() undoes just its own writes before the error
    // reaches the caller. IMMEDIATE takes the write lock up front: a deferred transaction that
    // reads first could not wait for the lock and would fail with "database is locked".
    void atomically(const QString& what, const std::function<void()>& body) {
        const bool outermost = transactionDepth == 0;
        const QString savepoint = QStringLiteral("nested_%1").arg(transactionDepth);
        execute(outermost ? QStringLiteral("BEGIN IMMEDIATE") : "SAVEPOINT " + savepoint, what);
        ++transactionDepth;
        try {
            body();
        } catch (...) {
            --transactionDepth;
            QSqlQuery undo(db());
            if (outermost) {
                undo.exec("ROLLBACK");
            } else {
                undo.exec("ROLLBACK TO " + savepoint);
                undo.exec("RELEASE " + savepoint);
            }
            throw;
        }
        --transactionDepth;
        QSqlQuery finish(db());
        if (!finish.exec(outermost ? QStringLiteral("COMMIT") : "RELEASE " + savepoint)) {
            const QSqlError error = finish.lastError();
            if (outermost)
                QSqlQuery(db()).exec("ROLLBACK");
            history::throwError(path, what, error);
        }
    }

    int pragmaInt(const QString& name, const QString& what) const {
        Statement query(*this, "PRAGMA " + name, what);
        query.exec();
        if (!query.next())
            fail(what, "no answer from PRAGMA " + name);
        return query.value(0).toInt();
    }

    // Throws unless the run exists; returns its state.
    RunState requireRun(qint64 runId, const QString& what) const {
        Statement query(*this, "SELECT status FROM runs WHERE id = ?", what);
        query.bind(runId).exec();
        if (!query.next())
            fail(what, QStringLiteral("there is no run %1").arg(runId));
        return runStateFromName(query.value(0).toString()).value_or(RunState::Failed);
    }

    void touch(qint64 runId, const QString& what) const {
        Statement(*this, "UPDATE runs SET updated_at = ? WHERE id = ?", what)
            .bind(nowText())
            .bind(runId)
            .exec();
    }

    // The run's epoch count and latest losses, from its epochs table.
    void refreshEpochSummary(qint64 runId, const QString& what) const {
        Statement(*this,
                  "UPDATE runs SET epochs = (SELECT COUNT(*) FROM epochs WHERE run_id = ?), "
                  "final_train_loss = (SELECT train_loss FROM epochs WHERE run_id = ? "
                  "ORDER BY round DESC, epoch DESC LIMIT 1), "
                  "final_validation_loss = (SELECT validation_loss FROM epochs WHERE run_id = ? "
                  "ORDER BY round DESC, epoch DESC LIMIT 1), "
                  "updated_at = ? WHERE id = ?",
                  what)
            .bind(runId)
            .bind(runId)
            .bind(runId)
            .bind(nowText())
            .bind(runId)
            .exec();
    }

    void refreshSimulationCount(qint64 runId, const QString& what) const {
        Statement(*this,
                  "UPDATE runs SET simulation_count = (SELECT COALESCE(SUM(b.rows), 0) "
                  "FROM run_simulations r JOIN simulation_batches b ON b.id = r.batch_id "
                  "WHERE r.run_id = ?), updated_at = ? WHERE id = ?",
                  what)
            .bind(runId)
            .bind(nowText())
            .bind(runId)
            .exec();
    }

    // Every batch of a run must have the same θ and x dimensions.
    void checkBatchShape(qint64 runId, int thetaCols, int xCols, const QString& what) const {
        Statement query(*this,
                        "SELECT b.theta_cols, b.x_cols FROM run_simulations r JOIN "
                        "simulation_batches b ON b.id = r.batch_id WHERE r.run_id = ? LIMIT 1",
                        what);
        query.bind(runId).exec();
        if (query.next() &&
            (query.value(0).toInt() != thetaCols || query.value(1).toInt() != xCols))
            fail(what, QStringLiteral("the run's simulations have %1 parameters and %2 data "
                                      "values, these have %3 and %4")
                           .arg(query.value(0).toInt())
                           .arg(query.value(1).toInt())
                           .arg(thetaCols)
                           .arg(xCols));
    }

    void linkBatch(qint64 runId, qint64 batchId, const QString& what) const {
        Statement(*this,
                  "INSERT OR IGNORE INTO run_simulations (run_id, position, batch_id) "
                  "SELECT ?, COALESCE(MAX(position), 0) + 1, ? FROM run_simulations "
                  "WHERE run_id = ?",
                  what)
            .bind(runId)
            .bind(batchId)
            .bind(runId)
            .exec();
    }

    Matrix matrixFrom(const QVariant& blob, qint64 rows, qint64 cols, const QString& what) const {
        const QByteArray bytes = blob.toByteArray();
        if (rows < 0 || cols < 0 || bytes.size() != rows * cols * qint64(sizeof(double)))
            fail(what, QStringLiteral("a stored matrix has %1 bytes for %2 x %3 values (the file "
                                      "is damaged)")
                           .arg(bytes.size())
                           .arg(rows)
                           .arg(cols));
        Matrix m(rows, cols);
        if (m.size() > 0)
            copyBlobInto(bytes, m, 0, rows);
        return m;
    }

    QJsonObject jsonFrom(const QVariant& text, const QString& what) const {
        QJsonParseError error;
        const QJsonDocument document = QJsonDocument::fromJson(text.toString().toUtf8(), &error);
        if (error.error != QJsonParseError::NoError || !document.isObject())
            fail(what, "stored JSON is not an object (the file is damaged)");
        return document.object();
    }

    RunSummary summaryFrom(const Statement& q) const {
        RunSummary s;
        s.id = q.value(0).toLongLong();
        s.projectName = q.value(1).toString();
        s.projectHash = q.value(2).toString();
        s.projectPath = q.value(3).toString();
        s.observation = q.value(4).toString();
        s.method = q.value(5).toString();
        s.estimator = q.value(6).toString();
        s.seed = std::uint64_t(q.value(7).toLongLong());
        s.appVersion = q.value(8).toString();
        s.device = q.value(9).toString();
        s.state = runStateFromName(q.value(10).toString()).value_or(RunState::Failed);
        s.startedAt = timeFrom(q.value(11));
        s.endedAt = timeFrom(q.value(12));
        s.updatedAt = timeFrom(q.value(13));
        s.simulationCount = q.value(14).toLongLong();
        s.epochs = q.value(15).toInt();
        s.finalTrainLoss = optionalDouble(q.value(16));
        s.finalValidationLoss = optionalDouble(q.value(17));
        s.errorMessage = q.value(18).toString();
        s.hasModel = q.value(19).toBool();
        s.hasCheckpoint = q.value(20).toBool();
        return s;
    }

    static SimulationBatchInfo batchInfoFrom(const Statement& q) {
        SimulationBatchInfo info;
        info.id = q.value(0).toLongLong();
        info.sourceKey = q.value(1).toString();
        if (!q.value(2).isNull())
            info.producerRunId = q.value(2).toLongLong();
        info.round = q.value(3).toInt();
        info.rows = q.value(4).toLongLong();
        info.thetaColumns = q.value(5).toInt();
        info.dataColumns = q.value(6).toInt();
        info.createdAt = timeFrom(q.value(7));
        return info;
    }

    std::optional<Checkpoint> checkpoint(qint64 runId) const {
        const QString what = QStringLiteral("cannot read the checkpoint of run %1").arg(runId);
        Statement q(*this,
                    "SELECT round, epoch, model_format, saved_at, trainer_state_json, model, "
                    "optimizer_state FROM checkpoints WHERE run_id = ?",
                    what);
        q.bind(runId).exec();
        if (!q.next())
            return std::nullopt;
        Checkpoint c;
        c.round = q.value(0).toInt();
        c.epoch = q.value(1).toInt();
        c.modelFormat = q.value(2).toString();
        c.savedAt = timeFrom(q.value(3));
        c.trainerState = jsonFrom(q.value(4), what);
        c.model = q.value(5).toByteArray();
        c.optimizerState = q.value(6).toByteArray();
        return c;
    }

    // Gives the pages freed by a deletion back to the file system (the file was created with
    // auto_vacuum = INCREMENTAL). The pragma frees one page per step of its statement, and Qt
    // steps a statement without result columns only once, so it runs once per free page; a
    // file without auto_vacuum keeps its free list (later writes reuse it).
    void releaseFreePages(const QString& what) const {
        Statement count(*this, "PRAGMA freelist_count", what);
        Statement vacuum(*this, "PRAGMA incremental_vacuum", what);
        qint64 previous = -1;
        for (;;) {
            count.exec();
            const qint64 free = count.next() ? count.value(0).toLongLong() : 0;
            if (free == 0 || free == previous)
                return;
            previous = free;
            for (qint64 i = 0; i < free; ++i)
                vacuum.exec();
        }
    }

    // Marks the given runs interrupted if they are still running.
    void markInterrupted(const std::vector<std::pair<qint64, QString>>& runsAndReasons) {
        if (runsAndReasons.empty())
            return;
        atomically("cannot mark interrupted runs", [&] {
            for (const auto& [runId, reason] : runsAndReasons)
                Statement(*this,
                          "UPDATE runs SET status = 'interrupted', ended_at = updated_at, "
                          "error_message = ?, owner_host = NULL, owner_boot_id = NULL, "
                          "owner_pid = NULL, owner_start = NULL "
                          "WHERE id = ? AND status = 'running'",
                          "cannot mark interrupted runs")
                    .bind(reason)
                    .bind(runId)
                    .exec();
        });
    }

    void setOwnerToThisProcess(qint64 runId, const QString& what) {
        const ProcessIdentity& self = thisProcess();
        Statement(
            *this,
            "UPDATE runs SET owner_host = ?, owner_boot_id = ?, owner_pid = ?, owner_start = ? "
            "WHERE id = ?",
            what)
            .bind(self.host)
            .bind(textOrNull(self.bootId))
            .bind(self.pid)
            .bind(textOrNull(self.startToken))
            .bind(runId)
            .exec();
    }

    void open() {
        const QFileInfo info(path);
        const QString what = "cannot open it";
        if (!info.dir().exists())
            fail("cannot create it", "the folder " + info.absolutePath() + " does not exist");
        if (info.isDir())
            fail(what, "it is a folder");
        if (info.exists() && !info.isWritable())
            fail(what, "the file is read-only, and a run history must be writable");
        if (!QFileInfo(info.absolutePath()).isWritable())
            fail(what, "the folder " + info.absolutePath() +
                           " is not writable (SQLite keeps its write-ahead log beside the file)");

        QSqlDatabase database = QSqlDatabase::addDatabase("QSQLITE", connection);
        database.setDatabaseName(path);
        // Another connection (the GUI reading while the worker writes, a second process) may
        // hold the write lock for a moment: wait for it instead of failing at once.
        database.setConnectOptions("QSQLITE_BUSY_TIMEOUT=10000");
        if (!database.open())
            history::throwError(path, what, database.lastError());

        // Read the header before writing anything: a file that is not ours is left untouched.
        const int applicationId = pragmaInt("application_id", "cannot read the file header");
        const int version = pragmaInt("user_version", "cannot read the schema version");
        if (applicationId != 0 && applicationId != history::kApplicationId)
            fail(what, QStringLiteral("it is another program's SQLite database (application id "
                                      "0x%1), not a run history")
                           .arg(quint32(applicationId), 8, 16, QLatin1Char('0')));
        bool fresh = false;
        if (applicationId == 0) {
            Statement tables(*this, "SELECT COUNT(*) FROM sqlite_master", "cannot read the schema");
            tables.exec();
            tables.next();
            fresh = tables.value(0).toInt() == 0;
            if (!fresh)
                fail(what,
                     "it is an SQLite database of another program, not a run history (it has "
                     "tables but no run-history marker)");
        }
        if (version > history::currentSchemaVersion())
            fail(what, QStringLiteral("written by a newer SBI Workbench (schema version %1; this "
                                      "version reads versions up to %2). Open it with a newer "
                                      "version.")
                           .arg(version)
                           .arg(history::currentSchemaVersion()));

        // Lets deleting a run give the space back (possible only before the first table).
        if (fresh)
            execute("PRAGMA auto_vacuum = INCREMENTAL", "cannot set up the new file");
        {
            // WAL: readers (the history browser) never block the training worker's writes, and
            // a commit appends to the log instead of rewriting pages in place.
            Statement mode(*this, "PRAGMA journal_mode = WAL", "cannot switch to WAL mode");
            mode.exec();
            if (!mode.next() || mode.value(0).toString().compare("wal", Qt::CaseInsensitive) != 0)
                fail("cannot switch to WAL mode",
                     "the file system does not support it (journal mode stays " +
                         mode.value(0).toString() + ")");
        }
        // synchronous=NORMAL: in WAL mode a commit is then written to the log without waiting
        // for the disk (fsync happens at checkpoints). A killed process loses nothing committed
        // (the log is in the operating system's cache) and the file is never corrupted; only a
        // power cut can drop the last few commits, i.e. the last epochs of a training log.
        // FULL would wait for the disk at every epoch's commit for no gain we need.
        execute("PRAGMA synchronous = NORMAL", "cannot set synchronous mode");
        // Off by default in SQLite, per connection: without it, deleting a run would leave
        // its epochs, blobs and links behind.
        execute("PRAGMA foreign_keys = ON", "cannot enable foreign keys");
        // Only an older file needs the write lock; the usual open stays read-only.
        if (version < history::currentSchemaVersion())
            history::migrate(db(), history::migrations(), path);
    }
};

// ---------------------------------------------------------------------------------------------

RunHistory::RunHistory(const QString& path) : d_(std::make_unique<Impl>()) {
    static QAtomicInteger<quint64> counter;
    if (path.isEmpty())
        throw std::runtime_error("run history: no file name given");
    d_->path = QFileInfo(path).absoluteFilePath();
    d_->connection = QStringLiteral("sbiw-run-history-%1").arg(counter.fetchAndAddRelaxed(1));
    d_->open();
    markInterruptedRuns();
}

RunHistory::~RunHistory() {
    if (d_->ownRuns.empty() || QThread::currentThread() != d_->thread)
        return;
    std::vector<std::pair<qint64, QString>> runs;
    for (qint64 id : d_->ownRuns)
        runs.emplace_back(id, "the program closed the run history before the run ended");
    try {
        d_->markInterrupted(runs);
    } catch (const std::exception& error) {
        qWarning("%s", error.what());  // a destructor must not throw; the next open marks them
    }
}

int RunHistory::schemaVersion() {
    return history::currentSchemaVersion();
}

QString RunHistory::pathBesideProject(const QString& projectFile) {
    const QFileInfo info(projectFile);
    return info.absoluteDir().filePath(info.completeBaseName() + ".history.sqlite");
}

QString RunHistory::pathForUnsavedProjects() {
    // One place whichever program asks (sbiw or sbiw-cli): ~/.local/share/sbi-workbench on Linux
    // (beside the trust store, see trust_store.h).
    const QString generic = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation);
    const QString folder = generic.isEmpty() ? QString() : QDir(generic).filePath("sbi-workbench");
    if (folder.isEmpty())
        throw std::runtime_error("run history: this system has no data folder");
    if (!QDir().mkpath(folder))
        throw std::runtime_error(QStringLiteral("run history: cannot create the data folder %1")
                                     .arg(folder)
                                     .toStdString());
    return QDir(folder).filePath("unsaved-projects.history.sqlite");
}

QString RunHistory::resolvePath(const QString& explicitPath, const QString& projectFile) {
    if (!explicitPath.isEmpty())
        return QFileInfo(explicitPath).absoluteFilePath();
    if (!projectFile.isEmpty())
        return pathBesideProject(projectFile);
    return pathForUnsavedProjects();
}

const QString& RunHistory::path() const {
    return d_->path;
}

QString RunHistory::connectionName() const {
    return d_->connection;
}

void RunHistory::transaction(const std::function<void()>& writes) {
    d_->checkThread();
    d_->atomically("cannot write", writes);
}

qint64 RunHistory::startRun(const RunStart& start) {
    d_->checkThread();
    const QString what = "cannot start a run";
    const ProcessIdentity& self = thisProcess();
    qint64 id = 0;
    d_->atomically(what, [&] {
        const QString now = nowText();
        Impl::Statement insert(
            *d_,
            "INSERT INTO runs (project_name, project_hash, project_path, observation, method, "
            "estimator, seed, app_version, device, status, started_at, updated_at, owner_host, "
            "owner_boot_id, owner_pid, owner_start, settings_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
            what);
        insert.bind(start.projectName)
            .bind(start.projectHash)
            .bind(textOrNull(start.projectPath))
            .bind(textOrNull(start.observation))
            .bind(start.method)
            .bind(start.estimator)
            .bind(qint64(start.seed))
            .bind(QStringLiteral(SBIW_VERSION))
            .bind(start.device)
            .bind(now)
            .bind(now)
            .bind(self.host)
            .bind(textOrNull(self.bootId))
            .bind(self.pid)
            .bind(textOrNull(self.startToken))
            .bind(jsonText(start.settings))
            .exec();
        id = insert.lastInsertId();
    });
    d_->ownRuns.push_back(id);
    return id;
}

void RunHistory::addEpochs(qint64 runId, const std::vector<EpochRecord>& epochs) {
    d_->checkThread();
    const QString what = QStringLiteral("cannot add epochs to run %1").arg(runId);
    d_->atomically(what, [&] {
        d_->requireRun(runId, what);
        Impl::Statement insert(*d_,
                               "INSERT OR REPLACE INTO epochs (run_id, round, epoch, train_loss, "
                               "validation_loss, elapsed_seconds) VALUES (?, ?, ?, ?, ?, ?)",
                               what);
        for (const EpochRecord& e : epochs)
            insert.bind(runId)
                .bind(e.round)
                .bind(e.epoch)
                .bind(e.trainLoss)
                .bind(e.validationLoss)
                .bind(e.elapsedSeconds)
                .exec();
        d_->refreshEpochSummary(runId, what);
    });
}

void RunHistory::addSnapshot(qint64 runId, const SnapshotRecord& snapshot) {
    d_->checkThread();
    const QString what = QStringLiteral("cannot add a snapshot to run %1").arg(runId);
    d_->atomically(what, [&] {
        d_->requireRun(runId, what);
        Impl::Statement(*d_,
                        "INSERT INTO snapshots (run_id, sequence, round, epoch, elapsed_seconds, "
                        "rows, cols, samples) SELECT ?, COALESCE(MAX(sequence), 0) + 1, ?, ?, ?, "
                        "?, ?, ? FROM snapshots WHERE run_id = ?",
                        what)
            .bind(runId)
            .bind(snapshot.round)
            .bind(snapshot.epoch)
            .bind(snapshot.elapsedSeconds)
            .bind(qint64(snapshot.samples.rows()))
            .bind(qint64(snapshot.samples.cols()))
            .bind(matrixBytes(snapshot.samples))
            .bind(runId)
            .exec();
        d_->touch(runId, what);
    });
}

void RunHistory::saveCheckpoint(qint64 runId, const Checkpoint& checkpoint) {
    d_->checkThread();
    const QString what = QStringLiteral("cannot save a checkpoint of run %1").arg(runId);
    d_->atomically(what, [&] {
        d_->requireRun(runId, what);
        Impl::Statement(*d_,
                        "INSERT OR REPLACE INTO checkpoints (run_id, round, epoch, model_format, "
                        "saved_at, trainer_state_json, model, optimizer_state) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        what)
            .bind(runId)
            .bind(checkpoint.round)
            .bind(checkpoint.epoch)
            .bind(checkpoint.modelFormat)
            .bind(nowText())
            .bind(jsonText(checkpoint.trainerState))
            .bind(blob(checkpoint.model))
            .bind(blob(checkpoint.optimizerState))
            .exec();
        d_->touch(runId, what);
    });
}

void RunHistory::saveModel(qint64 runId, const StoredModel& model) {
    d_->checkThread();
    const QString what = QStringLiteral("cannot save the model of run %1").arg(runId);
    d_->atomically(what, [&] {
        d_->requireRun(runId, what);
        Impl::Statement(*d_,
                        "INSERT OR REPLACE INTO models (run_id, format, saved_at, data) "
                        "VALUES (?, ?, ?, ?)",
                        what)
            .bind(runId)
            .bind(model.format)
            .bind(nowText())
            .bind(blob(model.data))
            .exec();
        d_->touch(runId, what);
    });
}

void RunHistory::saveSamples(qint64 runId, const StoredSamples& samples) {
    d_->checkThread();
    const QString what = QStringLiteral("cannot save the posterior samples of run %1").arg(runId);
    d_->atomically(what, [&] {
        d_->requireRun(runId, what);
        Impl::Statement(
            *d_,
            "INSERT OR REPLACE INTO posterior_samples (run_id, observation, rows, cols, "
            "saved_at, samples) VALUES (?, ?, ?, ?, ?, ?)",
            what)
            .bind(runId)
            .bind(textOrNull(samples.observation))
            .bind(qint64(samples.samples.rows()))
            .bind(qint64(samples.samples.cols()))
            .bind(nowText())
            .bind(matrixBytes(samples.samples))
            .exec();
        d_->touch(runId, what);
    });
}

qint64 RunHistory::addDiagnostic(qint64 runId, const QString& kind, const QJsonObject& result) {
    d_->checkThread();
    const QString what =
        QStringLiteral("cannot add a %1 diagnostic to run %2").arg(kind).arg(runId);
    qint64 id = 0;
    d_->atomically(what, [&] {
        d_->requireRun(runId, what);
        Impl::Statement insert(
            *d_,
            "INSERT INTO diagnostics (run_id, kind, created_at, result_json) VALUES (?, ?, ?, ?)",
            what);
        insert.bind(runId).bind(kind).bind(nowText()).bind(jsonText(result)).exec();
        id = insert.lastInsertId();
        d_->touch(runId, what);
    });
    return id;
}

qint64 RunHistory::addSimulations(qint64 runId, const QString& sourceKey, int round,
                                  const Matrix& theta, const Matrix& x) {
    d_->checkThread();
    const QString what = QStringLiteral("cannot store simulations of run %1").arg(runId);
    if (theta.rows() != x.rows() || theta.rows() == 0 || theta.cols() == 0 || x.cols() == 0)
        d_->fail(what, QStringLiteral("theta has %1 x %2 values and x %3 x %4; both need the same, "
                                      "non-zero number of rows")
                           .arg(theta.rows())
                           .arg(theta.cols())
                           .arg(x.rows())
                           .arg(x.cols()));
    qint64 batchId = 0;
    d_->atomically(what, [&] {
        d_->requireRun(runId, what);
        d_->checkBatchShape(runId, int(theta.cols()), int(x.cols()), what);
        Impl::Statement insert(
            *d_,
            "INSERT INTO simulation_batches (source_key, producer_run_id, round, "
            "rows, theta_cols, x_cols, created_at, theta, x) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            what);
        insert.bind(sourceKey)
            .bind(runId)
            .bind(round)
            .bind(qint64(theta.rows()))
            .bind(qint64(theta.cols()))
            .bind(qint64(x.cols()))
            .bind(nowText())
            .bind(matrixBytes(theta))
            .bind(matrixBytes(x))
            .exec();
        batchId = insert.lastInsertId();
        d_->linkBatch(runId, batchId, what);
        d_->refreshSimulationCount(runId, what);
    });
    return batchId;
}

void RunHistory::useSimulations(qint64 runId, const std::vector<qint64>& batchIds) {
    d_->checkThread();
    const QString what = QStringLiteral("cannot add stored simulations to run %1").arg(runId);
    d_->atomically(what, [&] {
        d_->requireRun(runId, what);
        for (qint64 batchId : batchIds) {
            Impl::Statement batch(
                *d_, "SELECT theta_cols, x_cols FROM simulation_batches WHERE id = ?", what);
            batch.bind(batchId).exec();
            if (!batch.next())
                d_->fail(what, QStringLiteral("there is no simulation batch %1").arg(batchId));
            d_->checkBatchShape(runId, batch.value(0).toInt(), batch.value(1).toInt(), what);
            d_->linkBatch(runId, batchId, what);
        }
        d_->refreshSimulationCount(runId, what);
    });
}

void RunHistory::finishRun(qint64 runId, const RunOutcome& outcome) {
    d_->checkThread();
    const QString what = QStringLiteral("cannot end run %1").arg(runId);
    if (outcome.state == RunState::Running)
        d_->fail(what, "the outcome must not be 'running'");
    d_->atomically(what, [&] {
        const RunState state = d_->requireRun(runId, what);
        if (state != RunState::Running)
            d_->fail(what, "it is not running (it is " + runStateName(state) + ")");
        const QString now = nowText();
        Impl::Statement(*d_,
                        "UPDATE runs SET status = ?, error_message = ?, "
                        "final_train_loss = COALESCE(?, final_train_loss), "
                        "final_validation_loss = COALESCE(?, final_validation_loss), "
                        "estimator = COALESCE(?, estimator), "
                        "simulation_count = COALESCE(?, simulation_count), "
                        "ended_at = ?, updated_at = ?, owner_host = NULL, owner_boot_id = NULL, "
                        "owner_pid = NULL, owner_start = NULL WHERE id = ?",
                        what)
            .bind(runStateName(outcome.state))
            .bind(textOrNull(outcome.errorMessage))
            .bind(doubleOrNull(outcome.finalTrainLoss))
            .bind(doubleOrNull(outcome.finalValidationLoss))
            .bind(textOrNull(outcome.estimator))
            .bind(outcome.simulationCount ? QVariant(*outcome.simulationCount) : QVariant())
            .bind(now)
            .bind(now)
            .bind(runId)
            .exec();
    });
    d_->ownRuns.erase(std::remove(d_->ownRuns.begin(), d_->ownRuns.end(), runId),
                      d_->ownRuns.end());
}

ResumePoint RunHistory::resumeRun(qint64 runId) {
    d_->checkThread();
    const QString what = QStringLiteral("cannot resume run %1").arg(runId);
    markInterruptedRuns();  // a run whose process died is resumable now
    d_->atomically(what, [&] {
        const RunState state = d_->requireRun(runId, what);
        if (state == RunState::Running)
            d_->fail(what, "it is still running (in this process or another)");
        if (state == RunState::Finished)
            d_->fail(what, "it has finished");
        const std::optional<Checkpoint> checkpoint = d_->checkpoint(runId);
        // Training restarts after the checkpoint: what was recorded later will be recorded again.
        const int round = checkpoint ? checkpoint->round : std::numeric_limits<int>::min();
        const int epoch = checkpoint ? checkpoint->epoch : std::numeric_limits<int>::min();
        for (const char* table : {"epochs", "snapshots"})
            Impl::Statement(*d_,
                            QStringLiteral("DELETE FROM %1 WHERE run_id = ? AND (round > ? OR "
                                           "(round = ? AND epoch > ?))")
                                .arg(table),
                            what)
                .bind(runId)
                .bind(round)
                .bind(round)
                .bind(epoch)
                .exec();
        Impl::Statement(*d_,
                        "UPDATE runs SET status = 'running', ended_at = NULL, error_message = NULL "
                        "WHERE id = ?",
                        what)
            .bind(runId)
            .exec();
        d_->setOwnerToThisProcess(runId, what);
        d_->refreshEpochSummary(runId, what);
    });
    d_->ownRuns.push_back(runId);
    return resumePoint(runId);
}

void RunHistory::deleteRun(qint64 runId) {
    d_->checkThread();
    const QString what = QStringLiteral("cannot delete run %1").arg(runId);
    markInterruptedRuns();
    d_->atomically(what, [&] {
        if (d_->requireRun(runId, what) == RunState::Running)
            d_->fail(what, "it is running; cancel it first");
        std::vector<qint64> batches;
        Impl::Statement used(*d_, "SELECT batch_id FROM run_simulations WHERE run_id = ?", what);
        used.bind(runId).exec();
        while (used.next())
            batches.push_back(used.value(0).toLongLong());
        // Epochs, snapshots, model, checkpoint, samples, diagnostics and links follow by
        // ON DELETE CASCADE.
        Impl::Statement(*d_, "DELETE FROM runs WHERE id = ?", what).bind(runId).exec();
        Impl::Statement orphan(*d_,
                               "DELETE FROM simulation_batches WHERE id = ? AND NOT EXISTS "
                               "(SELECT 1 FROM run_simulations WHERE batch_id = ?)",
                               what);
        for (qint64 batchId : batches)
            orphan.bind(batchId).bind(batchId).exec();
        d_->releaseFreePages(what);
    });
}

int RunHistory::markInterruptedRuns() {
    d_->checkThread();
    const QString what = "cannot check for interrupted runs";
    std::vector<std::pair<qint64, QString>> gone;
    {
        Impl::Statement running(*d_,
                                "SELECT id, owner_host, owner_boot_id, owner_pid, owner_start "
                                "FROM runs WHERE status = 'running'",
                                what);
        running.exec();
        while (running.next()) {
            ProcessIdentity owner;
            owner.host = running.value(1).toString();
            owner.bootId = running.value(2).toString();
            owner.pid = running.value(3).toLongLong();
            owner.startToken = running.value(4).toString();
            if (ownerIsGone(owner))
                gone.emplace_back(
                    running.value(0).toLongLong(),
                    QStringLiteral("the process writing this run (pid %1 on %2) ended "
                                   "without finishing it")
                        .arg(owner.pid)
                        .arg(owner.host));
        }
    }
    d_->markInterrupted(gone);
    return int(gone.size());
}

std::vector<RunSummary> RunHistory::listRuns(const RunQuery& query) const {
    d_->checkThread();
    QString sql = QStringLiteral("SELECT %1 FROM runs").arg(kSummaryColumns);
    QStringList conditions;
    if (!query.projectHash.isEmpty())
        conditions << "project_hash = ?";
    if (query.state)
        conditions << "status = ?";
    if (!conditions.isEmpty())
        sql += " WHERE " + conditions.join(" AND ");
    const QString column = sortColumn(query.sortBy);
    const QString direction = query.descending ? " DESC" : " ASC";
    sql += " ORDER BY ";
    if (sortColumnMayBeNull(query.sortBy))
        sql += column + " IS NULL, ";
    sql += column + direction + ", id" + direction + " LIMIT ? OFFSET ?";

    Impl::Statement q(*d_, sql, "cannot list the runs");
    if (!query.projectHash.isEmpty())
        q.bind(query.projectHash);
    if (query.state)
        q.bind(runStateName(*query.state));
    q.bind(query.limit).bind(query.offset).exec();
    std::vector<RunSummary> runs;
    while (q.next())
        runs.push_back(d_->summaryFrom(q));
    return runs;
}

std::optional<RunSummary> RunHistory::run(qint64 runId) const {
    d_->checkThread();
    Impl::Statement q(*d_, QStringLiteral("SELECT %1 FROM runs WHERE id = ?").arg(kSummaryColumns),
                      QStringLiteral("cannot read run %1").arg(runId));
    q.bind(runId).exec();
    if (!q.next())
        return std::nullopt;
    return d_->summaryFrom(q);
}

QJsonObject RunHistory::settings(qint64 runId) const {
    d_->checkThread();
    const QString what = QStringLiteral("cannot read the settings of run %1").arg(runId);
    Impl::Statement q(*d_, "SELECT settings_json FROM runs WHERE id = ?", what);
    q.bind(runId).exec();
    if (!q.next())
        d_->fail(what, QStringLiteral("there is no run %1").arg(runId));
    return d_->jsonFrom(q.value(0), what);
}

QStringList RunHistory::report(qint64 runId) const {
    d_->checkThread();
    const QString what = QStringLiteral("cannot read the report of run %1").arg(runId);
    Impl::Statement q(*d_, "SELECT report FROM runs WHERE id = ?", what);
    q.bind(runId).exec();
    if (!q.next())
        d_->fail(what, QStringLiteral("there is no run %1").arg(runId));
    const QVariant text = q.value(0);
    return text.isNull() ? QStringList() : text.toString().split(QLatin1Char('\n'));
}

void RunHistory::setReport(qint64 runId, const QStringList& lines) {
    d_->checkThread();
    const QString what = QStringLiteral("cannot record the report of run %1").arg(runId);
    d_->atomically(what, [&] {
        d_->requireRun(runId, what);
        Impl::Statement(*d_, "UPDATE runs SET report = ? WHERE id = ?", what)
            .bind(lines.isEmpty() ? QVariant() : QVariant(lines.join(QLatin1Char('\n'))))
            .bind(runId)
            .exec();
    });
}

std::vector<EpochRecord> RunHistory::epochs(qint64 runId) const {
    d_->checkThread();
    Impl::Statement q(
        *d_,
        "SELECT round, epoch, train_loss, validation_loss, elapsed_seconds FROM epochs "
        "WHERE run_id = ? ORDER BY round, epoch",
        QStringLiteral("cannot read the epochs of run %1").arg(runId));
    q.bind(runId).exec();
    std::vector<EpochRecord> epochs;
    while (q.next())
        epochs.push_back({q.value(0).toInt(), q.value(1).toInt(), doubleOrNaN(q.value(2)),
                          doubleOrNaN(q.value(3)), q.value(4).toDouble()});
    return epochs;
}

std::vector<SnapshotRecord> RunHistory::snapshots(qint64 runId) const {
    d_->checkThread();
    const QString what = QStringLiteral("cannot read the snapshots of run %1").arg(runId);
    Impl::Statement q(*d_,
                      "SELECT round, epoch, elapsed_seconds, rows, cols, samples FROM snapshots "
                      "WHERE run_id = ? ORDER BY sequence",
                      what);
    q.bind(runId).exec();
    std::vector<SnapshotRecord> snapshots;
    while (q.next())
        snapshots.push_back(
            {q.value(0).toInt(), q.value(1).toInt(), q.value(2).toDouble(),
             d_->matrixFrom(q.value(5), q.value(3).toLongLong(), q.value(4).toLongLong(), what)});
    return snapshots;
}

std::optional<StoredModel> RunHistory::model(qint64 runId) const {
    d_->checkThread();
    Impl::Statement q(*d_, "SELECT format, saved_at, data FROM models WHERE run_id = ?",
                      QStringLiteral("cannot read the model of run %1").arg(runId));
    q.bind(runId).exec();
    if (!q.next())
        return std::nullopt;
    return StoredModel{q.value(0).toString(), q.value(2).toByteArray(), timeFrom(q.value(1))};
}

std::optional<Checkpoint> RunHistory::checkpoint(qint64 runId) const {
    d_->checkThread();
    return d_->checkpoint(runId);
}

std::optional<StoredSamples> RunHistory::samples(qint64 runId) const {
    d_->checkThread();
    const QString what = QStringLiteral("cannot read the posterior samples of run %1").arg(runId);
    Impl::Statement q(*d_,
                      "SELECT observation, rows, cols, saved_at, samples FROM posterior_samples "
                      "WHERE run_id = ?",
                      what);
    q.bind(runId).exec();
    if (!q.next())
        return std::nullopt;
    return StoredSamples{
        q.value(0).toString(),
        d_->matrixFrom(q.value(4), q.value(1).toLongLong(), q.value(2).toLongLong(), what),
        timeFrom(q.value(3))};
}

std::vector<DiagnosticRecord> RunHistory::diagnostics(qint64 runId) const {
    d_->checkThread();
    const QString what = QStringLiteral("cannot read the diagnostics of run %1").arg(runId);
    Impl::Statement q(*d_,
                      "SELECT id, kind, created_at, result_json FROM diagnostics WHERE run_id = ? "
                      "ORDER BY id",
                      what);
    q.bind(runId).exec();
    std::vector<DiagnosticRecord> records;
    while (q.next())
        records.push_back({q.value(0).toLongLong(), q.value(1).toString(),
                           d_->jsonFrom(q.value(3), what), timeFrom(q.value(2))});
    return records;
}

StoredSimulations RunHistory::simulations(qint64 runId) const {
    d_->checkThread();
    const QString what = QStringLiteral("cannot read the simulations of run %1").arg(runId);
    // The sizes first (they come before the blobs in each row, so this reads no blob pages),
    // then one pass that copies each batch straight into place.
    Impl::Statement sizes(*d_,
                          "SELECT COALESCE(SUM(b.rows), 0), MIN(b.theta_cols), MAX(b.theta_cols), "
                          "MIN(b.x_cols), MAX(b.x_cols) FROM run_simulations r "
                          "JOIN simulation_batches b ON b.id = r.batch_id WHERE r.run_id = ?",
                          what);
    sizes.bind(runId).exec();
    sizes.next();
    const qint64 total = sizes.value(0).toLongLong();
    const qint64 thetaCols = sizes.value(1).toLongLong();
    const qint64 xCols = sizes.value(3).toLongLong();
    if (thetaCols != sizes.value(2).toLongLong() || xCols != sizes.value(4).toLongLong())
        d_->fail(what, "its batches have different dimensions (the file is damaged)");

    StoredSimulations result;
    result.theta.resize(total, thetaCols);
    result.x.resize(total, xCols);
    // Fresh pages cost a fault each 4 KiB, more than the copy itself (10^6 simulations).
    adviseHugePages(result.theta.data(), sizeof(double) * std::size_t(result.theta.size()));
    adviseHugePages(result.x.data(), sizeof(double) * std::size_t(result.x.size()));
    Impl::Statement q(*d_,
                      "SELECT b.id, b.rows, b.theta, b.x FROM run_simulations r "
                      "JOIN simulation_batches b ON b.id = r.batch_id WHERE r.run_id = ? "
                      "ORDER BY r.position",
                      what);
    q.bind(runId).exec();
    qint64 row = 0;
    while (q.next()) {
        const qint64 rows = q.value(1).toLongLong();
        const QByteArray theta = q.value(2).toByteArray();
        const QByteArray x = q.value(3).toByteArray();
        if (row + rows > total || theta.size() != rows * thetaCols * qint64(sizeof(double)) ||
            x.size() != rows * xCols * qint64(sizeof(double)))
            d_->fail(what,
                     QStringLiteral("simulation batch %1 has the wrong size (the file is damaged)")
                         .arg(q.value(0).toLongLong()));
        copyBlobInto(theta, result.theta, row, rows);
        copyBlobInto(x, result.x, row, rows);
        row += rows;
        result.batchIds.push_back(q.value(0).toLongLong());
    }
    return result;
}

std::vector<SimulationBatchInfo> RunHistory::simulationBatches(qint64 runId) const {
    d_->checkThread();
    Impl::Statement q(*d_,
                      QStringLiteral("SELECT %1 FROM run_simulations r JOIN simulation_batches b "
                                     "ON b.id = r.batch_id WHERE r.run_id = ? ORDER BY r.position")
                          .arg(kBatchColumns),
                      QStringLiteral("cannot list the simulations of run %1").arg(runId));
    q.bind(runId).exec();
    std::vector<SimulationBatchInfo> batches;
    while (q.next())
        batches.push_back(Impl::batchInfoFrom(q));
    return batches;
}

std::vector<SimulationBatchInfo> RunHistory::findSimulations(const QString& sourceKey) const {
    d_->checkThread();
    Impl::Statement q(*d_,
                      QStringLiteral("SELECT %1 FROM simulation_batches b WHERE b.source_key = ? "
                                     "ORDER BY b.id")
                          .arg(kBatchColumns),
                      "cannot look for stored simulations");
    q.bind(sourceKey).exec();
    std::vector<SimulationBatchInfo> batches;
    while (q.next())
        batches.push_back(Impl::batchInfoFrom(q));
    return batches;
}

ResumePoint RunHistory::resumePoint(qint64 runId) const {
    d_->checkThread();
    ResumePoint point;
    std::optional<RunSummary> summary = run(runId);
    if (!summary)
        d_->fail(QStringLiteral("cannot resume run %1").arg(runId),
                 QStringLiteral("there is no run %1").arg(runId));
    point.run = *summary;
    point.settings = settings(runId);
    point.checkpoint = checkpoint(runId);
    point.simulations = simulations(runId);
    for (const EpochRecord& e : epochs(runId)) {
        const bool afterCheckpoint =
            !point.checkpoint || e.round > point.checkpoint->round ||
            (e.round == point.checkpoint->round && e.epoch > point.checkpoint->epoch);
        if (!afterCheckpoint)
            point.epochs.push_back(e);
    }
    return point;
}

// ---------------------------------------------------------------------------------------------

QString projectContentHash(const Project& project) {
    const QJsonObject json = projectToJson(project);
    // Notes are commentary; the data and true parameters of an observation are the problem.
    QJsonArray observations;
    for (const QJsonValue& value : json.value("observations").toArray()) {
        QJsonObject observation = value.toObject();
        observation.remove("note");
        observations.append(observation);
    }
    return sha256Hex(QJsonObject{{"parameters", json.value("parameters")},
                                 {"simulator", json.value("simulator")},
                                 {"observations", observations}});
}

QString simulationSourceKey(const Project& project, int trials) {
    const QJsonObject json = projectToJson(project);
    QJsonObject key{{"parameters", json.value("parameters")}, {"simulator", json.value("simulator")}};
    if (trials > 1) key.insert("iid_trials", trials);
    // A program or plugin is its files' content, not its name: an edited simulator is another one.
    if (project.simulator.runsForeignCode())
        key.insert("code", QString::fromLatin1(foreignCode(project).fingerprint));
    for (const std::string& file : {project.simulator.script, project.simulator.csv}) {
        if (file.empty()) continue;
        QFile content(resolveAgainstProject(project, file));
        QCryptographicHash hash(QCryptographicHash::Sha256);
        if (content.open(QIODevice::ReadOnly)) hash.addData(&content);
        key.insert("content", QString::fromLatin1(hash.result().toHex()));
    }
    return sha256Hex(key);
}

}  // namespace sbiw
