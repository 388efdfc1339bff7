// sbiw-cli: the workbench without a window. All logic lives in cli/cli.cpp.
#include <QCoreApplication>

#include "cli/cli.h"

int main(int argc, char* argv[]) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("sbiw-cli");
    QCoreApplication::setApplicationVersion(SBIW_VERSION);
    sbiw::installInterruptHandler();
    return sbiw::runCli(QCoreApplication::arguments());
}
