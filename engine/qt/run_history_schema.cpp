#include "qt/run_history_schema.h"

#include <QSqlQuery>
#include <QVariant>

#include <stdexcept>

namespace sbiw::history {

namespace {

// Column order matters for speed: SQLite stores a row's values in column order and large values
// spill into chains of overflow pages, so reading a column that comes after a blob walks the
// blob's chain. Small columns come first, JSON and blobs last.
// The comments inside the statements are kept by SQLite in sqlite_master, so the file explains
// itself to anyone who opens it with the sqlite3 shell.
const QStringList kVersion1 = {
    QStringLiteral("PRAGMA application_id = %1").arg(kApplicationId),

    R"(CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so 'sbiw-cli train --resume 12' stays unambiguous
    project_name TEXT NOT NULL,
    project_hash TEXT NOT NULL,            -- SHA-256 of the inference problem (priors, simulator, observations)
    project_path TEXT,                     -- the project file when the run started; NULL for unsaved projects
    observation TEXT,                      -- name of the observation the posterior is conditioned on
    method TEXT NOT NULL,                  -- npe, snpe, ...
    estimator TEXT NOT NULL,               -- nsf, maf, mdn, ...
    seed INTEGER NOT NULL,                 -- the 64 bits of the unsigned seed (two's complement above 2^63)
    app_version TEXT NOT NULL,
    device TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('running', 'finished', 'cancelled', 'failed', 'interrupted')),
    started_at TEXT NOT NULL,              -- ISO 8601 UTC with milliseconds
    ended_at TEXT,
    updated_at TEXT NOT NULL,              -- last write for this run: its last sign of life
    simulation_count INTEGER NOT NULL DEFAULT 0,
    epochs INTEGER NOT NULL DEFAULT 0,
    final_train_loss REAL,                 -- NULL: none yet, or not a number
    final_validation_loss REAL,
    error_message TEXT,
    owner_host TEXT,                       -- the process writing a running run (NULL once it ended)
    owner_boot_id TEXT,
    owner_pid INTEGER,
    owner_start TEXT,                      -- the process's start time, so a reused pid is not mistaken for it
    settings_json TEXT NOT NULL            -- every setting of the run, as a JSON object
))",
    "CREATE INDEX runs_by_project ON runs (project_hash, started_at)",
    "CREATE INDEX runs_by_start ON runs (started_at)",
    "CREATE INDEX runs_running ON runs (status) WHERE status = 'running'",

    R"(CREATE TABLE epochs (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    train_loss REAL,                       -- NULL: not a number
    validation_loss REAL,
    elapsed_seconds REAL NOT NULL,
    PRIMARY KEY (run_id, round, epoch)
) WITHOUT ROWID)",

    R"(CREATE TABLE snapshots (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    sequence INTEGER NOT NULL,             -- 1, 2, ... in the order they were taken
    round INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    elapsed_seconds REAL NOT NULL,
    rows INTEGER NOT NULL,
    cols INTEGER NOT NULL,
    samples BLOB NOT NULL,                 -- rows x cols little-endian float64, row-major
    PRIMARY KEY (run_id, sequence)
))",

    R"(CREATE TABLE models (
    run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    format TEXT NOT NULL,                  -- what wrote `data` and how to read it back
    saved_at TEXT NOT NULL,
    data BLOB NOT NULL
))",

    R"(CREATE TABLE checkpoints (
    run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    epoch INTEGER NOT NULL,                -- training continues after this epoch
    model_format TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    trainer_state_json TEXT NOT NULL,      -- early-stopping counters and the like
    model BLOB NOT NULL,
    optimizer_state BLOB NOT NULL
))",

    R"(CREATE TABLE posterior_samples (
    run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    observation TEXT,
    rows INTEGER NOT NULL,
    cols INTEGER NOT NULL,
    saved_at TEXT NOT NULL,
    samples BLOB NOT NULL                  -- rows x cols little-endian float64, row-major
))",

    R"(CREATE TABLE diagnostics (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                    -- sbc, coverage, tarp, ppc, c2st, ...
    created_at TEXT NOT NULL,
    result_json TEXT NOT NULL
))",
    "CREATE INDEX diagnostics_by_run ON diagnostics (run_id, id)",

    R"(CREATE TABLE simulation_batches (
    id INTEGER PRIMARY KEY,
    source_key TEXT NOT NULL,              -- identity of what produced (theta, x): prior and simulator
    producer_run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    round INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    theta_cols INTEGER NOT NULL,
    x_cols INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    theta BLOB NOT NULL,                   -- rows x theta_cols little-endian float64, row-major
    x BLOB NOT NULL                        -- rows x x_cols
))",
    "CREATE INDEX simulation_batches_by_source ON simulation_batches (source_key, id)",
    "CREATE INDEX simulation_batches_by_producer ON simulation_batches (producer_run_id)",

    // A batch lives as long as a run uses it: a later run that reuses another's simulations
    // keeps them when the first run is deleted.
    R"(CREATE TABLE run_simulations (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,             -- 1, 2, ...: the order of the run's training set
    batch_id INTEGER NOT NULL REFERENCES simulation_batches (id) ON DELETE CASCADE,
    PRIMARY KEY (run_id, position),
    UNIQUE (run_id, batch_id)
) WITHOUT ROWID)",
    "CREATE INDEX run_simulations_by_batch ON run_simulations (batch_id)",
};

int readUserVersion(const QSqlDatabase& db, const QString& fileName) {
    QSqlQuery query(db);
    if (!query.exec("PRAGMA user_version") || !query.next())
        throwError(fileName, "cannot read the schema version", query.lastError());
    return query.value(0).toInt();
}

void checkStepNumbers(const std::vector<Migration>& steps) {
    for (std::size_t i = 0; i < steps.size(); ++i)
        if (steps[i].version != int(i) + 1)
            throw std::logic_error("run history migrations must be numbered 1, 2, ... in order");
}

}  // namespace

const std::vector<Migration>& migrations() {
    static const std::vector<Migration> steps = {
        {1, "create the run history tables", kVersion1},
        {2,
         "add the runs' report",
         // A block comment: SQLite splices the column's text into the table's CREATE statement,
         // where a line comment would swallow the closing parenthesis.
         {R"(ALTER TABLE runs ADD COLUMN report TEXT /* the lines a run ended with (summary, rounds, populations, the estimator choice); NULL: none recorded */)"}},
    };
    return steps;
}

int currentSchemaVersion() {
    return migrations().back().version;
}

int migrate(const QSqlDatabase& db, const std::vector<Migration>& steps, const QString& fileName) {
    checkStepNumbers(steps);
    const int target = steps.empty() ? 0 : steps.back().version;
    QSqlQuery query(db);
    // IMMEDIATE takes the write lock before reading the version, so two processes opening a
    // new file at once cannot both create the tables.
    if (!query.exec("BEGIN IMMEDIATE"))
        throwError(fileName, "cannot start the schema check", query.lastError());
    try {
        const int found = readUserVersion(db, fileName);
        if (found > target)
            throw std::runtime_error(
                QStringLiteral(
                    "run history %1: written by a newer SBI Workbench (schema version %2; "
                    "this version reads versions up to %3). Open it with a newer version.")
                    .arg(fileName)
                    .arg(found)
                    .arg(target)
                    .toStdString());
        for (const Migration& step : steps) {
            if (step.version <= found)
                continue;
            for (const QString& statement : step.statements)
                if (!query.exec(statement))
                    throwError(fileName,
                               QStringLiteral("cannot migrate the schema to version %1 (%2)")
                                   .arg(step.version)
                                   .arg(step.summary),
                               query.lastError());
        }
        if (found != target && !query.exec(QStringLiteral("PRAGMA user_version = %1").arg(target)))
            throwError(fileName, "cannot record the schema version", query.lastError());
        if (!query.exec("COMMIT"))
            throwError(fileName, "cannot commit the schema", query.lastError());
        return found;
    } catch (...) {
        QSqlQuery(db).exec("ROLLBACK");
        throw;
    }
}

QString errorText(const QSqlError& error) {
    return error.databaseText().isEmpty() ? error.driverText() : error.databaseText();
}

void throwError(const QString& fileName, const QString& what, const QSqlError& error) {
    // Primary SQLite result codes (the low byte of an extended code).
    const int code = error.nativeErrorCode().toInt() & 0xff;
    QString plain;
    switch (code) {
        case 5:
            plain = "another program kept the database locked";
            break;
        case 8:
            plain = "the file is read-only";
            break;
        case 10:
            plain = "the disk could not be read or written";
            break;
        case 11:
            plain = "the database file is corrupt";
            break;
        case 13:
            plain = "the disk is full; nothing of this write was kept";
            break;
        case 14:
            plain = "the file cannot be opened";
            break;
        case 26:
            plain = "not an SQLite database, so not a run history";
            break;
        default:
            break;
    }
    const QString detail = errorText(error);
    const QString reason = plain.isEmpty() ? detail : plain + " (" + detail + ")";
    throw std::runtime_error(
        QStringLiteral("run history %1: %2: %3").arg(fileName, what, reason).toStdString());
}

}  // namespace sbiw::history
