#pragma once
// Helpers shared by the sbiw-cli commands (internal to the CLI library).

#include <QCommandLineParser>
#include <QString>
#include <QStringList>
#include <QTextStream>

#include <memory>
#include <optional>

#include "core/parallel.h"
#include "project/project.h"

namespace sbiw {

class RunHistory;

namespace cli {

// Parses `arguments` (program name, then the command's own arguments). Returns -1 when the
// command should go on, otherwise the exit code (after --help, or a usage error).
int parseArguments(QCommandLineParser& parser, const QStringList& arguments, const QString& usage, QTextStream& out,
                   QTextStream& err);
int usageError(QTextStream& err, const QString& message, const QString& usage);
// Parses a whole number option; reports a usage error naming the option otherwise.
bool readInteger(const QCommandLineParser& parser, const QString& name, qint64 minimum, qint64& value,
                 QTextStream& err);
std::optional<Project> loadOrReport(const QString& path, QTextStream& err);
// The observation to condition on: a project observation by name, a CSV file in the sbibm
// layout (a header line, one row per i.i.d. trial), or the project's default observation when
// `choice` is empty. Problems go to `err`.
std::optional<Matrix> chooseObservation(const Project& project, const QString& choice, QTextStream& err);
// A project that runs a program or plugin needs the user's trust first. With `trustGiven`
// (--trust) the trust is recorded; without it, prints exactly what would run and how to
// trust it, and returns false. True at once for projects that run no foreign code.
bool ensureTrusted(const Project& project, bool trustGiven, QTextStream& err);
// The project's simulator, any kind (trusted code only); a program's stderr lines go to this
// process's stderr, prefixed "simulator: ".
std::unique_ptr<Simulator> makeSimulator(const Project& project);
// Prints progress to `err` at most once per second; Ctrl-C cancels.
LoopControl progressPrinter(QTextStream& err, const char* what);

// Which history a command uses: --db FILE when given, else the one beside PROJECT
// (<folder>/<name>.history.sqlite). Empty (after reporting a usage error) when neither is given.
QString historyPathFor(const QString& dbOption, const QString& projectFile);
// Opens an existing history for the history, diagnose and resume commands: a missing file is
// reported ("no run history at PATH"), not created. Errors go to `err`.
std::unique_ptr<RunHistory> openExistingHistory(const QString& path, QTextStream& err);
// A run id argument: a whole number >= 1.
std::optional<qint64> parseRunId(const QString& text, QTextStream& err);

int runTrain(const QStringList& arguments, QTextStream& out, QTextStream& err);
int runHistory(const QStringList& arguments, QTextStream& out, QTextStream& err);
int runDiagnose(const QStringList& arguments, QTextStream& out, QTextStream& err);

}  // namespace cli
}  // namespace sbiw
