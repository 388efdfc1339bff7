// Event-loop latency of the workbench window while a training run goes on: a timer asks to fire
// every 5 ms and the gaps between its calls are recorded; the excess over 5 ms is how long the GUI
// thread was busy (redrawing the corner plot from a snapshot, handling epoch reports). Target:
// below 50 ms. Runs the project's own settings (default: projects/two_moons.sbiw, NPE with 10^4
// simulations) on the offscreen platform unless a display is set.
//
//   bench_gui_latency [PROJECT] [--simulations N] [--snapshot-every K]
#include <QApplication>
#include <QElapsedTimer>
#include <QTextStream>
#include <QTimer>

#include <algorithm>
#include <vector>

#include <qcustomplot.h>
#include "core/blas_kernels.h"
#include "gui/main_window.h"
#include "gui/posterior_view.h"
#include "gui/project_document.h"
#include "qt/training_controller.h"
#include "widgets/corner_plot.h"

int main(int argc, char** argv) {
    sbiw::restartWithFastBlasKernelsIfNeeded(argv);  // before anything else: see blas_kernels.h
    if (!qEnvironmentVariableIsSet("DISPLAY") && !qEnvironmentVariableIsSet("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QApplication::setApplicationName("sbiw-bench");
    QString project = QStringLiteral(SBIW_SOURCE_DIR "/projects/two_moons.sbiw");
    qint64 simulations = 0;
    const QStringList args = app.arguments();
    for (int i = 1; i < args.size(); ++i) {
        if (args[i] == "--simulations" && i + 1 < args.size())
            simulations = args[++i].toLongLong();
        else
            project = args[i];
    }
    QTextStream out(stdout);
    sbiw::gui::MainWindow window;
    window.resize(1400, 900);
    window.show();
    if (const QString error = window.openProject(project); !error.isEmpty()) {
        out << "cannot open " << project << ": " << error << "\n";
        return 1;
    }
    if (simulations > 0) {
        sbiw::Project changed = window.document()->project();
        changed.inference.simulations = simulations;
        window.document()->edit("benchmark budget", changed);
    }
    std::vector<double> gapsMs;
    QElapsedTimer clock;
    QTimer ticker;
    ticker.setTimerType(Qt::PreciseTimer);
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        if (clock.isValid())
            gapsMs.push_back(double(clock.nsecsElapsed()) / 1e6);
        clock.restart();
    });
    int epochs = 0;
    QObject::connect(window.controller(), &sbiw::TrainingController::epochReported,
                     [&epochs] { ++epochs; });
    QObject::connect(
        window.controller(), &sbiw::TrainingController::finished, &app,
        [&](const sbiw::RunJobResult& result) {
            ticker.stop();
            std::vector<double> sorted = gapsMs;
            std::sort(sorted.begin(), sorted.end());
            const auto quantile = [&sorted](double q) {
                return sorted.empty() ? 0.0 : sorted[std::size_t(q * double(sorted.size() - 1))];
            };
            out << "project " << project << ": " << sbiw::runStateName(result.state) << " in "
                << QString::number(result.seconds, 'f', 1) << " s, " << epochs << " epochs, "
                << window.posteriorView()->refreshCount() << " corner-plot redraws\n";
            out << "event-loop gaps (5 ms timer), " << sorted.size() << " ticks: median "
                << QString::number(quantile(0.5), 'f', 1) << " ms, p99 "
                << QString::number(quantile(0.99), 'f', 1) << " ms, max "
                << QString::number(sorted.empty() ? 0.0 : sorted.back(), 'f', 1) << " ms\n";
            // Where a redraw's time goes: the densities (setSamples, on the GUI thread) and the
            // replot.
            if (result.samples.rows() > 0) {
                sbiw::widgets::CornerPlot* corner = window.posteriorView()->cornerPlot();
                for (const Eigen::Index rows : {Eigen::Index(500), result.samples.rows()}) {
                    const sbiw::Matrix samples =
                        result.samples.topRows(std::min(rows, result.samples.rows()));
                    QElapsedTimer timer;
                    double computeMs = 0, replotMs = 0;
                    for (int repeat = 0; repeat < 5; ++repeat) {
                        timer.restart();
                        corner->setSamples(samples);
                        computeMs += double(timer.nsecsElapsed()) / 5e6;
                        timer.restart();
                        corner->plot()->replot(QCustomPlot::rpImmediateRefresh);
                        replotMs += double(timer.nsecsElapsed()) / 5e6;
                    }
                    out << "corner plot, " << samples.rows() << " samples: densities "
                        << QString::number(computeMs, 'f', 1) << " ms, replot "
                        << QString::number(replotMs, 'f', 1) << " ms\n";
                }
            }
            app.exit(result.state == sbiw::RunState::Finished ? 0 : 1);
        });
    ticker.start(5);
    if (const QString error = window.startTraining(); !error.isEmpty()) {
        out << "cannot start: " << error << "\n";
        return 1;
    }
    return app.exec();
}
