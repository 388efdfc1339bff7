#pragma once
// The sbiw-cli commands. Exit codes: 0 success, 1 failure, 2 usage error; errors go to `err`.

#include <QStringList>
#include <QTextStream>

#include <atomic>

namespace sbiw {

enum ExitCode { kExitSuccess = 0, kExitFailure = 1, kExitUsage = 2, kExitInterrupted = 130 };

// Runs one command line (arguments[0] is the program name).
int runCli(const QStringList& arguments, QTextStream& out, QTextStream& err);
int runCli(const QStringList& arguments);  // on stdout / stderr

// Ctrl-C sets this flag; long commands stop at the next chunk and write nothing partial.
std::atomic<bool>& interruptFlag();
void installInterruptHandler();

}  // namespace sbiw
