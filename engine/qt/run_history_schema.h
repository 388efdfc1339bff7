#pragma once
// The run history's SQLite schema as an ordered list of migration steps, and the mechanism that
// applies them. Internal to RunHistory (run_history.h); a header of its own so the tests can
// drive the mechanism with made-up steps. docs/run-history.md describes every table.

#include <QSqlDatabase>
#include <QSqlError>
#include <QString>
#include <QStringList>

#include <vector>

namespace sbiw::history {

// Written to the SQLite header (PRAGMA application_id) so that other programs' databases are
// recognised as such: "SBIW" in ASCII.
constexpr int kApplicationId = 0x53424957;

// One step from schema version `version - 1` to `version`. Steps must never change once
// released: a new schema is a new step appended to the list.
struct Migration {
    int version = 0;
    QString summary;         // what the step does, in words (for error messages)
    QStringList statements;  // executed in order
};

// The run history's steps, oldest first; the last step's version is the current schema version.
const std::vector<Migration>& migrations();
int currentSchemaVersion();

// Brings `db` from its PRAGMA user_version to the last step's version in one IMMEDIATE
// transaction: on any failure nothing changes. A database newer than the last step is refused.
// Throws std::runtime_error naming `fileName`. Returns the version found before migrating.
int migrate(const QSqlDatabase& db, const std::vector<Migration>& steps, const QString& fileName);

// SQLite's own words for a failed statement ("database or disk is full"), else Qt's.
QString errorText(const QSqlError& error);
// "run history FILE: WHAT: SQLITE MESSAGE", with a plainer explanation for the errors people
// meet (not a database, corrupt file, read-only file, disk full).
[[noreturn]] void throwError(const QString& fileName, const QString& what, const QSqlError& error);

}  // namespace sbiw::history
