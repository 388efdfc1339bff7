#pragma once
// Trust in foreign code. A project file from a stranger must never run code silently: before a
// project's program or plugin runs for the first time, the user sees exactly what would run
// and agrees. The agreement is remembered per fingerprint: the absolute paths and the content
// (SHA-256) of the files involved, and the exact command line. Editing the program or the
// command asks again.

#include <QByteArray>
#include <QString>
#include <QStringList>

#include "project/project.h"

namespace sbiw {

// What running a project's simulator would execute.
struct ForeignCode {
    bool runsCode = false;     // false for builtin, script (sandboxed) and imported kinds
    QString kind;              // "program" or "plugin"
    QString description;       // the exact command line, or the library's absolute path
    QStringList command;       // program: exactly what runs (the program resolved)
    QString workingDirectory;  // programs run in the project's folder
    QStringList files;         // absolute paths whose content the fingerprint covers
    QString missingFile;       // a named file that does not exist (then nothing can run)
    QByteArray fingerprint;    // hex SHA-256 over description, folder, file paths and contents

    // For dialogs and the CLI: "runs the program: python3 /p/sim.py (in /p)".
    QString summary() const;
};

// Resolves the binding like the factory does: a command's program with a '/' (or a plugin's
// library) relative to the project's folder, a bare program name through PATH; an argument
// that names an existing file in the project's folder is hashed too.
ForeignCode foreignCode(const Project& project);

class TrustStore {
  public:
    // A JSON file; defaultPath() unless given.
    explicit TrustStore(QString path = defaultPath());
    // $SBIW_TRUST_FILE if set, else <generic data dir>/sbi-workbench/trusted-simulators.json
    // (shared by the GUI and the CLI).
    static QString defaultPath();
    const QString& path() const { return path_; }

    // True for code that runs nothing, or whose fingerprint was trusted before.
    bool isTrusted(const ForeignCode& code) const;
    // Records trust (atomically). Returns an empty string, else why the file could not be written.
    QString trust(const ForeignCode& code);

  private:
    QString path_;
};

}  // namespace sbiw
