#pragma once
// Runs sbiw-cli in this process (fast, and the library is what is tested), for the suites that
// link sbiw_cli_lib. Header-only: the shared support library does not depend on the CLI.

#include <QString>
#include <QStringList>
#include <QTextStream>

#include "cli/cli.h"

namespace sbiw::test {

struct CliRun {
    int code = -1;
    QString out, err;
};

inline CliRun cli(QStringList arguments) {
    CliRun run;
    QTextStream out(&run.out), err(&run.err);
    arguments.prepend("sbiw-cli");
    run.code = runCli(arguments, out, err);
    return run;
}

}  // namespace sbiw::test
