// sbiw-cli: the workbench without a window. All logic lives in cli/cli.cpp.
#include <QCoreApplication>

#include "core/blas_kernels.h"
#include "cli/cli.h"

int main(int argc, char* argv[]) {
    sbiw::restartWithFastBlasKernelsIfNeeded(argv);  // before anything else: see blas_kernels.h
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("sbiw-cli");
    QCoreApplication::setApplicationVersion(SBIW_VERSION);
    sbiw::installInterruptHandler();
    return sbiw::runCli(QCoreApplication::arguments());
}
