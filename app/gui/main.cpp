// sbiw: the SBI Workbench GUI. Everything lives in the sbiw_app library; this file only parses
// the command line.
#include <QApplication>
#include <QCommandLineParser>
#include <QTextStream>

#include "gui/app_main.h"

int main(int argc, char** argv) {
    return sbiw::gui::runApplication(argc, argv);
}
