#include "gui/demo.h"

#include <qcustomplot.h>
#include <QCoreApplication>
#include <QDir>
#include <QTabWidget>
#include <QTextStream>

#include <memory>

#include "gui/main_window.h"
#include "gui/posterior_view.h"
#include "qt/training_controller.h"

namespace sbiw::gui {

DemoRunner::DemoRunner(MainWindow* window, DemoOptions options, QObject* parent)
    : QObject(parent), window_(window), options_(std::move(options)) {}

QString DemoRunner::saveFrame(const QString& name) {
    if (options_.screenshotFolder.isEmpty())
        return {};
    const QString path = QDir(options_.screenshotFolder).filePath(name);
    // Plots redraw on a queued replot; draw them now so that the picture shows this refresh.
    for (QCustomPlot* plot : window_->findChildren<QCustomPlot*>())
        plot->replot(QCustomPlot::rpImmediateRefresh);
    if (!window_->grab().save(path))
        return tr("cannot write %1").arg(path);
    ++frames_;
    return {};
}

// The final samples are drawn asynchronously (PosteriorView): the last pictures wait for them.
void DemoRunner::finishAfterRedraw(const RunJobResult& result) {
    if (window_->posteriorView()->isRedrawing()) {
        auto connection = std::make_shared<QMetaObject::Connection>();
        *connection = connect(window_->posteriorView(), &PosteriorView::refreshed, this,
                              [this, result, connection] {
                                  if (window_->posteriorView()->isRedrawing())
                                      return;
                                  disconnect(*connection);
                                  finishAfterRedraw(result);
                              });
        return;
    }
    QTextStream out(stdout);
    QString error = saveFrame(QStringLiteral("final.png"));
    // The run as the history lists it, then back to the posterior.
    QTabWidget* tabs = window_->centralTabs();
    QWidget* posterior = tabs->currentWidget();
    tabs->setCurrentIndex(tabs->count() - 1);
    QCoreApplication::processEvents();
    if (error.isEmpty())
        error = saveFrame(QStringLiteral("history.png"));
    tabs->setCurrentWidget(posterior);
    if (result.state == RunState::Finished) {
        out << "demo: " << result.summary << "\n";
    } else {
        out << "demo: training " << runStateName(result.state) << ": " << result.message << "\n";
        exitCode_ = 1;
    }
    if (!error.isEmpty()) {
        out << "demo: " << error << "\n";
        exitCode_ = 1;
    }
    if (!options_.screenshotFolder.isEmpty())
        out << "demo: " << frames_ << " screenshots in "
            << QDir(options_.screenshotFolder).absolutePath() << "\n";
    out.flush();
    Q_EMIT done(exitCode_);
    if (options_.quitWhenDone)
        QCoreApplication::exit(exitCode_);
}

QString DemoRunner::start() {
    if (!options_.screenshotFolder.isEmpty() && !QDir().mkpath(options_.screenshotFolder))
        return tr("cannot create the folder %1").arg(options_.screenshotFolder);
    if (const QString error = window_->openProject(options_.projectPath); !error.isEmpty())
        return tr("%1 cannot be opened:\n%2").arg(options_.projectPath, error);
    connect(window_->posteriorView(), &PosteriorView::refreshed, this, [this] {
        saveFrame(QStringLiteral("frame-%1.png").arg(frames_ + 1, 3, 10, QChar('0')));
    });
    connect(window_->controller(), &TrainingController::finished, this,
            [this](const RunJobResult& result) { finishAfterRedraw(result); });
    return window_->startTraining();
}

}  // namespace sbiw::gui
