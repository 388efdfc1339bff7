// sbiw: the SBI Workbench GUI. Everything lives in the sbiw_app library; this file only parses
// the command line.
#include <QApplication>
#include <QCommandLineParser>
#include <QTextStream>

#include "core/blas_kernels.h"
#include "gui/app_main.h"

int main(int argc, char** argv) {
    sbiw::restartWithFastBlasKernelsIfNeeded(argv);  // before anything else: see blas_kernels.h
    return sbiw::gui::runApplication(argc, argv);
}
