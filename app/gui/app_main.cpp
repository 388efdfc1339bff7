#include "gui/app_main.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QTextStream>

#include <cstdlib>

#include "gui/demo.h"
#include "gui/main_window.h"

namespace sbiw::gui {

namespace {

bool hasDisplay() {
    return qEnvironmentVariableIsSet("DISPLAY") || qEnvironmentVariableIsSet("WAYLAND_DISPLAY") ||
           qEnvironmentVariableIsSet("QT_QPA_PLATFORM");
}

}  // namespace

int runApplication(int argc, char** argv) {
    // Peek for --demo before QApplication exists: the platform must be chosen before.
    bool demo = false;
    for (int i = 1; i < argc; ++i)
        demo = demo || QByteArray(argv[i]) == "--demo";
    const bool headless = !hasDisplay();
    if (headless && demo)
        qputenv("QT_QPA_PLATFORM", "offscreen");
    if (headless && !demo) {
        QTextStream(stderr)
            << "sbiw: no display (DISPLAY / WAYLAND_DISPLAY unset). Run the demo headless with\n"
               "  sbiw --demo PROJECT --screenshots DIR --quit-when-done\n"
               "or use sbiw-cli.\n";
        return 2;
    }
    QApplication app(argc, argv);
    // The same names as sbiw-cli: unsaved projects share one run history (QStandardPaths).
    QApplication::setOrganizationName("sbiw");
    QApplication::setApplicationName("sbiw");
    QApplication::setApplicationDisplayName("SBI Workbench");
    QApplication::setWindowIcon(QIcon(":/icons/sbiw.svg"));

    QCommandLineParser parser;
    parser.setApplicationDescription("SBI Workbench: simulation-based inference on the desktop.");
    parser.addHelpOption();
    parser.addPositionalArgument("PROJECT", "Project file (*.sbiw) to open.");
    parser.addOption({"demo", "Open PROJECT, train it, and show the posterior concentrating."});
    parser.addOption({"screenshots",
                      "Demo: save a PNG of the window at every posterior refresh into DIR.",
                      "DIR"});
    parser.addOption(
        {"quit-when-done", "Demo: exit when training ends (exit code 1 if it failed)."});
    parser.process(app);
    const QString project = parser.positionalArguments().value(0);

    MainWindow window;
    if (!parser.isSet("demo")) {
        if (!project.isEmpty())
            if (const QString error = window.openProject(project); !error.isEmpty())
                QTextStream(stderr) << "sbiw: " << project << " cannot be opened:\n"
                                    << error << "\n";
        window.show();
        return app.exec();
    }
    if (project.isEmpty()) {
        QTextStream(stderr) << "sbiw: --demo needs a project file\n";
        return 2;
    }
    if (headless)
        QTextStream(stdout) << "sbiw: no display; running the demo on the offscreen platform"
                            << (parser.isSet("screenshots")
                                    ? " (pictures in " + parser.value("screenshots") + ")"
                                    : QString())
                            << "\n";
    window.show();
    DemoRunner runner(&window,
                      {project, parser.value("screenshots"), parser.isSet("quit-when-done")});
    if (const QString error = runner.start(); !error.isEmpty()) {
        QTextStream(stderr) << "sbiw: " << error << "\n";
        return 1;
    }
    return app.exec();
}

}  // namespace sbiw::gui
