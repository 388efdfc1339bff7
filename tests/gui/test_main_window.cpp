// The workbench window driven as a user would, on the offscreen platform: edit a prior (and see
// why a bad value is refused), undo and redo it; train gaussian_linear at a small budget and
// receive the finished signal while the event loop keeps turning; the corner plot has d x d
// panels and follows the snapshots; the history lists the run; save and reopen a project
// unchanged; the demo mode writes its pictures.
#include <algorithm>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>
#include <QUndoStack>

#include <qcustomplot.h>

#include "gui/demo.h"
#include "gui/diagnostics_panel.h"
#include "gui/history_panel.h"
#include "gui/main_window.h"
#include "gui/observation_panel.h"
#include "gui/parameters_panel.h"
#include "gui/posterior_view.h"
#include "gui/project_document.h"
#include "gui/simulator_panel.h"
#include "gui/training_panel.h"
#include "qt/project_file.h"
#include "qt/training_controller.h"
#include "simulators/catalogue.h"
#include "support/screenshots.h"
#include "support/test_support.h"
#include "widgets/calibration_plots.h"
#include "widgets/corner_plot.h"
#include "widgets/loss_curve_plot.h"
#include "widgets/script_editor.h"
#include "widgets/tolerance_schedule_plot.h"

using namespace sbiw;
using namespace sbiw::gui;

namespace {

// A gaussian_linear project saved in `dir`, set up for a run of a few seconds.
QString smallGaussianLinearProject(const QTemporaryDir& dir) {
    Project project = projectFromTask(*findTask("gaussian_linear"));
    InferenceSettings& s = project.inference;
    s.method = "npe";
    s.estimator = "maf";
    s.simulations = 3000;
    s.threads = 1;
    s.device = "cpu";
    s.seed = 5;
    s.posteriorSamples = 2000;
    s.training.maxEpochs = 40;
    const QString path = dir.filePath("linear.sbiw");
    if (!saveProject(project, path).isEmpty())
        qFatal("cannot save the test project");
    return path;
}

RunJobResult waitForRun(MainWindow& window, int* ticks = nullptr) {
    QSignalSpy finished(window.controller(), &TrainingController::finished);
    QTimer ticker;
    int count = 0;
    QObject::connect(&ticker, &QTimer::timeout, [&count] { ++count; });
    ticker.start(10);
    if (!finished.wait(300000))
        qFatal("training did not finish");
    if (ticks)
        *ticks = count;
    return finished.first().first().value<RunJobResult>();
}

}  // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);  // recent files, layout, unsaved histories
        QApplication::setOrganizationName("sbiw-test");
        QApplication::setApplicationName("sbiw-test");
    }

    void editAPriorThenUndoAndRedoIt() {
        MainWindow window;
        window.show();
        ProjectDocument* document = window.document();
        const Project original = document->project();  // two_moons: uniform(-1, 1) priors
        ParametersPanel* panel = window.parametersPanel();
        panel->selectParameter(0);
        QLineEdit* high = panel->fieldEdit("high");
        QVERIFY(high);

        // Below "low": refused, with the reason, and the project keeps its valid prior.
        high->setFocus();
        high->selectAll();
        QTest::keyClicks(high, "-2");
        QVERIFY2(!panel->problemLabel()->text().isEmpty(), "no reason shown for high < low");
        QVERIFY(document->project() == original);
        QVERIFY(!document->isModified());

        high->selectAll();
        QTest::keyClicks(high, "2.5");
        QVERIFY2(panel->problemLabel()->text().isEmpty(),
                 qPrintable(panel->problemLabel()->text()));
        QCOMPARE(document->project().parameters[0].prior->scalar("high"), 2.5);
        QVERIFY(document->isModified());
        QVERIFY(window.windowTitle().contains('*'));
        QCOMPARE(document->undoStack()->count(), 1);  // typing "2.5" is one undo step

        document->undoStack()->undo();
        QVERIFY(document->project() == original);
        QVERIFY(!document->isModified());
        document->undoStack()->redo();
        QCOMPARE(document->project().parameters[0].prior->scalar("high"), 2.5);

        // Another family: the fields follow it, and that too is one undoable edit.
        QComboBox* family = panel->familyCombo();
        family->setCurrentIndex(family->findData("normal"));
        QCOMPARE(QString::fromStdString(document->project().parameters[0].prior->family),
                 QString("normal"));
        QVERIFY(panel->fieldEdit("std"));
        document->undoStack()->undo();
        QCOMPARE(document->project().parameters[0].prior->scalar("high"), 2.5);
    }

    void renameAddAndRemoveParameters() {
        MainWindow window;
        ProjectDocument* document = window.document();
        ParametersPanel* panel = window.parametersPanel();
        panel->selectParameter(1);
        panel->nameEdit()->setText("angle");
        QMetaObject::invokeMethod(panel->nameEdit(), "editingFinished");
        QCOMPARE(QString::fromStdString(document->project().parameters[1].name), QString("angle"));
        document->undoStack()->undo();
        QCOMPARE(QString::fromStdString(document->project().parameters[1].name),
                 QString("parameter_2"));

        panel->projectNameEdit()->setText("Moons for class");
        QMetaObject::invokeMethod(panel->projectNameEdit(), "editingFinished");
        QCOMPARE(document->project().name, std::string("Moons for class"));

        const std::size_t before = document->project().parameters.size();
        QPushButton* add = panel->findChild<QPushButton*>("addParameter");
        QVERIFY(add);
        add->click();
        QCOMPARE(document->project().parameters.size(), before + 1);
        QCOMPARE(panel->currentParameter(), int(before));
        QPushButton* remove = panel->findChild<QPushButton*>("removeParameter");
        remove->click();
        QCOMPARE(document->project().parameters.size(), before);
        document->undoStack()->undo();  // the removal
        document->undoStack()->undo();  // the addition
        document->undoStack()->undo();  // the project name
        QCOMPARE(document->project().name, std::string("Two Moons"));
        QVERIFY(!document->isModified());
    }

    void generateAnObservationFromATrueTheta() {
        MainWindow window;
        ProjectDocument* document = window.document();
        window.simulatorPanel()->thetaEdit()->setText("0.3, -0.4");
        QCOMPARE(window.observationPanel()->generateFromTheta(), QString());
        const Observation* o =
            document->project().findObservation(document->project().defaultObservation);
        QVERIFY(o);
        QCOMPARE(o->trueParameters, (std::vector<double>{0.3, -0.4}));
        QCOMPARE(o->data.cols(), Eigen::Index(2));
        // Outside the prior: refused with the reason.
        window.simulatorPanel()->thetaEdit()->setText("3, 0");
        QVERIFY(window.observationPanel()->generateFromTheta().contains("outside"));
    }

    void trainsWhileTheEventLoopTurnsAndListsTheRun() {
        QTemporaryDir dir;
        MainWindow window;
        window.show();
        QCOMPARE(window.openProject(smallGaussianLinearProject(dir)), QString());
        widgets::CornerPlot* corner = window.posteriorView()->cornerPlot();
        QCOMPARE(corner->parameterCount(), 10);
        QVERIFY(corner->panel(9, 9) && corner->panel(9, 0) && corner->panel(0, 9));  // d x d cells
        QCOMPARE(window.startTraining(), QString());
        QVERIFY(!window.trainingPanel()->startButton()->isEnabled());
        QVERIFY(window.trainingPanel()->cancelButton()->isEnabled());
        int ticks = 0;
        const RunJobResult result = waitForRun(window, &ticks);
        QVERIFY2(result.state == RunState::Finished, qPrintable(result.message));
        QVERIFY2(ticks >= 10,
                 qPrintable(QString("%1 ticks in %2 s").arg(ticks).arg(result.seconds)));
        // Snapshots every 5 epochs and the final samples redrew the corner plot (densities are
        // computed on a worker, so the last redraw may still be on its way).
        QTRY_VERIFY_WITH_TIMEOUT(!window.posteriorView()->isRedrawing(), 10000);
        QVERIFY(window.posteriorView()->refreshCount() >= 2);
        QCOMPARE(corner->densities().marginals.size(), std::size_t(10));
        QCOMPARE(window.posteriorView()->samples().rows(), Eigen::Index(2000));
        QVERIFY(window.trainingPanel()->startButton()->isEnabled());
        QVERIFY(window.trainingPanel()->statusLabel()->text().startsWith("Finished"));
        // The history beside the project lists it.
        QCOMPARE(window.historyPanel()->historyPath(), dir.filePath("linear.history.sqlite"));
        QTRY_COMPARE(window.historyPanel()->runCount(), 1);
        window.historyPanel()->selectRun(result.runId);
        QCOMPARE(window.historyPanel()->selectedRuns(), std::vector<qint64>{result.runId});
        QVERIFY2(window.historyPanel()->detailsLabel()->text().contains(result.summary),
                 qPrintable(window.historyPanel()->detailsLabel()->text()));
        QCOMPARE(window.historyPanel()->overlaySelected(), QString());
        QCOMPARE(window.historyPanel()->exportSelected(dir.filePath("samples.csv")), QString());
        QCOMPARE(test::readCsvMatrix(dir.filePath("samples.csv")).rows(), Eigen::Index(2000));
        QCOMPARE(window.posteriorView()->exportPlot(dir.filePath("corner.svg")), QString());
        QVERIFY(QFileInfo(dir.filePath("corner.svg")).size() > 1000);

        // Diagnostics from the GUI, stored with the run.
        DiagnosticsPanel* diagnostics = window.diagnosticsPanel();
        diagnostics->simulationsSpin()->setValue(20);
        QSignalSpy checked(diagnostics, &DiagnosticsPanel::finished);
        QCOMPARE(diagnostics->start(result.runId), QString());
        QVERIFY(checked.wait(120000));
        QVERIFY2(checked.first().first().toBool(), qPrintable(diagnostics->summaryLabel()->text()));
        QVERIFY(diagnostics->summaryLabel()->text().contains("SBC"));

        // Re-applying the run's settings to a changed project brings its budget back.
        Project changed = window.document()->project();
        changed.inference.simulations = 777;
        window.document()->edit("test", changed);
        QCOMPARE(window.historyPanel()->reapplySelected(), QString());
        QCOMPARE(window.document()->project().inference.simulations, std::int64_t(3000));
    }

    void samplesWaitingBehindASnapshotCountAsRedrawing() {
        // SMC-ABC's last population arrives just before the final samples: the view is still
        // redrawing when the snapshot's redraw ends, until the final samples are drawn (the
        // demo's last picture waits for that).
        MainWindow window;
        window.show();
        PosteriorView* view = window.posteriorView();  // two_moons: 2 parameters
        PosteriorSnapshot snapshot;
        snapshot.round = 3;
        snapshot.samples = Matrix::Constant(100, 2, 0.1);
        const int before = view->refreshCount();
        view->showSnapshot(snapshot);
        view->showSamples(Matrix::Constant(2000, 2, -0.1), "final");
        bool redrawingAtFirstRefresh = false;
        const auto connection = connect(view, &PosteriorView::refreshed, this, [&] {
            if (view->refreshCount() == before + 1)
                redrawingAtFirstRefresh = view->isRedrawing();
        });
        QTRY_VERIFY_WITH_TIMEOUT(!view->isRedrawing(), 10000);
        disconnect(connection);
        QVERIFY(redrawingAtFirstRefresh);
        QCOMPARE(view->refreshCount(), before + 2);
        QCOMPARE(view->samples().rows(), Eigen::Index(2000));
    }

    // "Auto" (MAF or NSF by validation loss) is NLE's and SNLE's: greyed out for NPE, and
    // switching a likelihood run back to NPE puts the default flow in its place, in one undo step.
    void estimatorAutoIsOfferedToLikelihoodMethodsOnly() {
        MainWindow window;
        window.show();
        ProjectDocument* document = window.document();
        TrainingPanel* panel = window.trainingPanel();
        QComboBox* estimator = panel->estimatorCombo();
        const int autoIndex = estimator->findData("auto");
        QVERIFY(autoIndex >= 0);
        const auto autoEnabled = [&] {
            auto* model = qobject_cast<QStandardItemModel*>(estimator->model());
            return model->item(autoIndex)->isEnabled();
        };
        QCOMPARE(QString::fromStdString(document->project().inference.method), QString("npe"));
        QVERIFY(!autoEnabled());
        panel->methodCombo()->setCurrentIndex(panel->methodCombo()->findData("snle"));
        QVERIFY(autoEnabled());
        estimator->setCurrentIndex(autoIndex);
        QCOMPARE(QString::fromStdString(document->project().inference.estimator), QString("auto"));
        QVERIFY(document->project().validate().empty());
        panel->methodCombo()->setCurrentIndex(panel->methodCombo()->findData("npe"));
        QCOMPARE(QString::fromStdString(document->project().inference.estimator), QString("nsf"));
        QCOMPARE(estimator->currentData().toString(), QString("nsf"));
        QVERIFY(!autoEnabled());
        QVERIFY(document->project().validate().empty());
        document->undoStack()->undo();
        QCOMPARE(QString::fromStdString(document->project().inference.method), QString("snle"));
        QCOMPARE(QString::fromStdString(document->project().inference.estimator), QString("auto"));
    }

    // At the default size, no dock's panel is cut or needs scrolling sideways, whatever rows the
    // method shows (the docks cannot be squeezed below their panels' minimum width).
    void docksShowTheirPanelsUncut() {
        QSettings().remove("window");  // the default layout, not one an earlier test saved
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        const auto verifyUncut = [&window](const char* method) {
            window.trainingPanel()->methodCombo()->setCurrentIndex(
                window.trainingPanel()->methodCombo()->findData(method));
            QApplication::processEvents();
            QApplication::processEvents();
            for (QDockWidget* d : window.findChildren<QDockWidget*>()) {
                if (!d->isVisible())
                    continue;
                const auto* scroll = qobject_cast<QScrollArea*>(d->widget());
                QVERIFY(scroll);
                QVERIFY2(scroll->viewport()->width() >= scroll->widget()->minimumSizeHint().width(),
                         qPrintable(QString("%1 with %2: %3 px shown of %4")
                                        .arg(d->objectName(), method)
                                        .arg(scroll->viewport()->width())
                                        .arg(scroll->widget()->minimumSizeHint().width())));
                QVERIFY(!scroll->horizontalScrollBar()->isVisible());
            }
        };
        for (const char* method : {"npe", "snle", "smc-abc"})
            verifyUncut(method);
        // Ten parameters: a wider parameter table and a ten-by-ten corner plot.
        QTemporaryDir dir;
        QCOMPARE(window.openProject(smallGaussianLinearProject(dir)), QString());
        for (const char* method : {"snle", "npe"})
            verifyUncut(method);
        QVERIFY(window.width() >= window.minimumSizeHint().width());  // nothing beyond the edge
    }

    // On a 1366- or 1280-px laptop screen (tests/gui/offscreen_screens.json) the window fits:
    // the side docks give way and scroll sideways instead of pushing it past the screen's edge;
    // back on the wide screen they show their panels whole again.
    void docksScrollOnANarrowScreen() {
        QSettings().remove("window");
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* parametersScroll =
            qobject_cast<QScrollArea*>(window.findChild<QDockWidget*>("parametersDock")->widget());
        for (const QString name : {"laptop", "small laptop"}) {
            const auto screens = QGuiApplication::screens();
            const auto narrowScreen = std::find_if(screens.begin(), screens.end(),
                                                   [&](QScreen* s) { return s->name() == name; });
            QVERIFY2(narrowScreen != screens.end(),
                     "the GUI tests run with offscreen_screens.json");
            const QRect narrow = (*narrowScreen)->availableGeometry();
            QVERIFY(window.minimumSizeHint().width() > narrow.width());  // else nothing to test
            window.move(narrow.topLeft() + QPoint(10, 10));
            QTRY_COMPARE(window.screen()->name(), name);
            QTRY_VERIFY(window.minimumSizeHint().width() <= narrow.width());
            window.resize(narrow.width(), narrow.height());
            QApplication::processEvents();
            QVERIFY(window.width() <= narrow.width());
            // The parameters dock, the widest panel, gives way: shown in part, with a scroll bar.
            QVERIFY(parametersScroll->viewport()->width() > 0);
            QVERIFY(parametersScroll->viewport()->width() <
                    parametersScroll->widget()->minimumSizeHint().width());
            QTRY_VERIFY(parametersScroll->horizontalScrollBar()->isVisible());
            if (name == "laptop")
                test::saveScreenshot(window, "gui-laptop-screen.png");

            window.move(10, 10);  // back to the desktop screen
            QTRY_COMPARE(window.screen()->name(), QString("desktop"));
            window.resize(std::max(1480, window.minimumSizeHint().width()), 920);
            QTRY_VERIFY(parametersScroll->viewport()->width() >=
                        parametersScroll->widget()->minimumSizeHint().width());
            QTRY_VERIFY(!parametersScroll->horizontalScrollBar()->isVisible());
        }
    }

    // The likelihood and ratio methods' MCMC is chosen in the panel, saved in the project, undone
    // like any edit, and used by the run.
    void chooseTheMcmcOfLikelihoodMethodsInThePanel() {
        QTemporaryDir dir;
        MainWindow window;
        window.show();
        QCOMPARE(window.openProject(smallGaussianLinearProject(dir)), QString());
        ProjectDocument* document = window.document();
        TrainingPanel* panel = window.trainingPanel();
        QVERIFY(!panel->mcmcSamplerCombo()->isEnabled());  // NPE samples its flow directly
        QVERIFY(!panel->dequantizeCheck()->isVisibleTo(panel));
        QVERIFY(!panel->transformCheck()->isVisibleTo(panel));
        panel->methodCombo()->setCurrentIndex(panel->methodCombo()->findData("nle"));
        QVERIFY(panel->mcmcSamplerCombo()->isEnabled());
        // Training and sampling on the log/logit scale: off by default, on as an undoable edit
        // that the run records.
        QVERIFY(panel->transformCheck()->isVisibleTo(panel) &&
                !panel->transformCheck()->isChecked());
        panel->transformCheck()->setChecked(true);
        QVERIFY(document->project().inference.transformParameters);
        document->undoStack()->undo();
        QVERIFY(!document->project().inference.transformParameters);
        panel->transformCheck()->setChecked(true);
        // NLE's dequantisation of whole-number data: on by default, switched off as an edit.
        QVERIFY(panel->dequantizeCheck()->isVisibleTo(panel) &&
                panel->dequantizeCheck()->isChecked());
        QVERIFY(panel->logDataCheck()->isVisibleTo(panel) && panel->logDataCheck()->isChecked());
        panel->logDataCheck()->setChecked(false);
        QVERIFY(!document->project().inference.logPositiveData);
        document->undoStack()->undo();
        QVERIFY(document->project().inference.logPositiveData);
        panel->dequantizeCheck()->setChecked(false);
        QVERIFY(!document->project().inference.dequantizeWholeNumbers);
        document->undoStack()->undo();
        QVERIFY(document->project().inference.dequantizeWholeNumbers);
        QVERIFY(panel->dequantizeCheck()->isChecked());
        QApplication::processEvents();
        test::saveScreenshot(window, "gui-nle-training-options.png");
        QCOMPARE(panel->mcmcChainsSpin()->value(), 100);  // sbibm's settings by default
        panel->mcmcSamplerCombo()->setCurrentIndex(panel->mcmcSamplerCombo()->findData("mh"));
        panel->mcmcChainsSpin()->setValue(20);
        panel->mcmcThinningSpin()->setValue(2);
        const McmcProjectSettings& mcmc = document->project().inference.mcmc;
        QCOMPARE(QString::fromStdString(mcmc.sampler), QString("mh"));
        QCOMPARE(mcmc.chains, 20);
        QCOMPARE(mcmc.thinning, 2);
        document->undoStack()->undo();
        QCOMPARE(document->project().inference.mcmc.thinning, 10);
        QCOMPARE(panel->mcmcThinningSpin()->value(), 10);
        document->undoStack()->redo();
        QCOMPARE(window.startTraining(), QString());
        const RunJobResult result = waitForRun(window);
        QVERIFY2(result.state == RunState::Finished, qPrintable(result.message));
        QVERIFY2(result.summary.contains("mh MCMC: 2000 samples from 20 chains"),
                 qPrintable(result.summary));
        // Back to sbibm's MCMC, then the run's choice re-applied from the history.
        Project reset = document->project();
        reset.inference.mcmc = McmcProjectSettings{};
        reset.inference.dequantizeWholeNumbers = false;
        reset.inference.transformParameters = false;
        document->edit("test", reset);
        window.historyPanel()->refresh();
        window.historyPanel()->selectRun(result.runId);
        QCOMPARE(window.historyPanel()->reapplySelected(), QString());
        const McmcProjectSettings& reapplied = document->project().inference.mcmc;
        QCOMPARE(QString::fromStdString(reapplied.sampler), QString("mh"));
        QCOMPARE(reapplied.chains, 20);
        QCOMPARE(reapplied.thinning, 2);
        QVERIFY(document->project().inference.dequantizeWholeNumbers);
        QVERIFY(document->project().inference.transformParameters);

        // The run kept its network: the diagnostics panel checks it, sampling by MCMC.
        DiagnosticsPanel* diagnostics = window.diagnosticsPanel();
        diagnostics->simulationsSpin()->setValue(10);
        diagnostics->samplesSpin()->setValue(30);
        QSignalSpy checked(diagnostics, &DiagnosticsPanel::finished);
        QCOMPARE(diagnostics->start(result.runId), QString());
        QVERIFY(checked.wait(120000));
        QVERIFY2(checked.first().first().toBool(), qPrintable(diagnostics->summaryLabel()->text()));
        QVERIFY(diagnostics->summaryLabel()->text().contains("SBC"));
        // Ten parameters: the rank panels span the width, three rows of them tall enough to
        // read, and the plots scroll.
        QCOMPARE(diagnostics->sbcPlot()->panelCount(), 10);
        window.centralTabs()->setCurrentWidget(diagnostics);
        QTRY_VERIFY(diagnostics->sbcPlot()->height() >= 3 * 150);
        QVERIFY(diagnostics->sbcPlot()->width() >
                diagnostics->plotScroll()->viewport()->width() * 0.9);
        test::saveScreenshot(window, "gui-nle-diagnostics.png");

        // The run's network serves another observation: its posterior there is N(x_o / 2, 0.05 I).
        Project other = document->project();
        other.defaultObservation = "observation 2";
        document->edit("test", other);
        HistoryPanel* historyPanel = window.historyPanel();
        historyPanel->selectRun(result.runId);
        QSignalSpy sampled(historyPanel, &HistoryPanel::sampledAtObservation);
        QCOMPARE(historyPanel->sampleSelectedAtObservation(), QString());
        QVERIFY(sampled.wait(120000));
        QVERIFY2(sampled.first().first().toBool(),
                 qPrintable(historyPanel->detailsLabel()->text()));
        QTRY_VERIFY_WITH_TIMEOUT(!window.posteriorView()->isRedrawing(), 10000);
        const Matrix at2 = window.posteriorView()->samples();
        QCOMPARE(at2.rows(), Eigen::Index(document->project().inference.posteriorSamples));
        const Matrix x2 = document->project().findObservation("observation 2")->data;
        const Vector mean2 = test::columnMeans(at2);
        for (int i = 0; i < 10; ++i)
            SBIW_COMPARE_NEAR(mean2(i), x2(0, i) / 2, 0.15);
        window.centralTabs()->setCurrentWidget(window.historyPanel());
        test::saveScreenshot(window, "gui-history-sample-at-observation.png");
    }

    // NLE "auto" tries each flow before the run's training starts: the loss plot shows the one
    // being tried, titled so, and the chosen flow's own curve replaces them.
    void triedFlowsShowInTheLossPlotUntilTheRunsEpochsArrive() {
        MainWindow window;
        window.show();
        TrainingPanel* panel = window.trainingPanel();
        TrainingController* controller = window.controller();
        EpochReport report;
        report.trainLoss = 1.0;
        report.validationLoss = 1.1;
        report.bestValidationLoss = 1.1;
        report.improved = true;
        for (int epoch = 1; epoch <= 3; ++epoch) {
            report.epoch = epoch;
            Q_EMIT controller->trialEpochReported("nsf", report);
        }
        QVERIFY2(panel->lossPlot()->title().contains("Trying NSF"),
                 qPrintable(panel->lossPlot()->title()));
        QCOMPARE(panel->lossPlot()->history().size(), std::size_t(3));
        QVERIFY(panel->statusLabel()->text().startsWith("Trying NSF, epoch 3"));
        report.epoch = 1;
        Q_EMIT controller->trialEpochReported("maf", report);  // the next flow starts afresh
        QVERIFY(panel->lossPlot()->title().contains("Trying MAF"));
        QCOMPARE(panel->lossPlot()->history().size(), std::size_t(1));
        Q_EMIT controller->epochReported(report);  // the run's own first epoch
        QVERIFY(panel->lossPlot()->title().isEmpty());
        QCOMPARE(panel->lossPlot()->history().size(), std::size_t(1));
    }

    void chooseAbcSummaryStatisticsInThePanel() {
        MainWindow window;
        window.show();
        ProjectDocument* document = window.document();  // two_moons
        TrainingPanel* panel = window.trainingPanel();
        QVERIFY(!panel->summaryCombo()->isEnabled());  // NPE: no summary statistics
        QVERIFY(panel->lossPlot()->isVisibleTo(panel));
        QVERIFY(!panel->tolerancePlot()->isVisibleTo(panel));
        panel->methodCombo()->setCurrentIndex(panel->methodCombo()->findData("rej-abc"));
        QVERIFY(panel->summaryCombo()->isEnabled());
        // No network, no loss: the tolerance plot takes the loss curves' place.
        QVERIFY(!panel->lossPlot()->isVisibleTo(panel));
        QVERIFY(panel->tolerancePlot()->isVisibleTo(panel));
        QVERIFY(!panel->summaryColumnsEdit()->isEnabled());  // identity: all data
        panel->summaryCombo()->setCurrentIndex(panel->summaryCombo()->findData("columns"));
        QCOMPARE(QString::fromStdString(document->project().inference.abc.summary),
                 QString("columns"));
        QLineEdit* columns = panel->summaryColumnsEdit();
        QVERIFY(columns->isEnabled());
        columns->setText("1");
        Q_EMIT columns->editingFinished();
        QCOMPARE(document->project().inference.abc.columns, std::vector<int>{1});
        // Not a column number: refused with the reason, the project keeps column 1.
        columns->setText("1, x");
        Q_EMIT columns->editingFinished();
        QVERIFY2(panel->statusLabel()->text().contains("'x'"),
                 qPrintable(panel->statusLabel()->text()));
        QCOMPARE(document->project().inference.abc.columns, std::vector<int>{1});
        QCOMPARE(columns->text(), QString("1"));
        document->undoStack()->undo();
        QVERIFY(document->project().inference.abc.columns.empty());

        // The run uses the project's choice and says what it did.
        columns->setText("0");
        Q_EMIT columns->editingFinished();
        panel->simulationsSpin()->setValue(2000);
        QCOMPARE(window.startTraining(), QString());
        const RunJobResult result = waitForRun(window);
        QVERIFY2(result.state == RunState::Finished, qPrintable(result.message));
        QVERIFY2(result.summary.startsWith("Rejection ABC: 2000 simulations"),
                 qPrintable(result.summary));
        QTRY_COMPARE(panel->tolerancePlot()->epsilons().size(), std::size_t(1));  // its one ε
        // The run's statistics come back from the history after they were changed.
        columns->setText("1");
        Q_EMIT columns->editingFinished();
        window.historyPanel()->refresh();
        window.historyPanel()->selectRun(result.runId);
        QCOMPARE(window.historyPanel()->reapplySelected(), QString());
        QCOMPARE(document->project().inference.abc.columns, std::vector<int>{0});
    }

    void attachAScriptSimulatorInThePanel() {
        // The example JS two_moons, copied beside a saved project: check a broken version (the
        // error line is marked), fix it, apply, simulate once, train a few epochs on it.
        QTemporaryDir dir;
        QFile::copy(test::sourcePath("projects/custom/two_moons.js"), dir.filePath("moons.js"));
        MainWindow window;
        ProjectDocument* document = window.document();
        QCOMPARE(document->save(dir.filePath("scripted.sbiw")), QString());
        SimulatorPanel* panel = window.simulatorPanel();
        panel->kindCombo()->setCurrentIndex(panel->kindCombo()->findData("script"));
        QLineEdit* path = panel->findChild<QLineEdit*>("scriptPath");
        path->setText("moons.js");
        QMetaObject::invokeMethod(path, "editingFinished");
        const QString good = panel->scriptEditor()->toPlainText();
        QVERIFY(good.contains("function simulate"));
        panel->scriptEditor()->setPlainText(
            "function simulate(theta, rng) {\n  return [theta[0] +];\n}\n");
        QVERIFY(panel->checkScript().contains("moons.js:2"));
        QCOMPARE(panel->scriptEditor()->errorLine(), 2);
        panel->scriptEditor()->setPlainText(good);
        panel->findChild<QSpinBox*>("dataDimension")->setValue(2);
        QCOMPARE(panel->applyBinding(), QString());
        QCOMPARE(document->project().simulator.kind, std::string("script"));
        QCOMPARE(document->project().simulator.script, std::string("moons.js"));
        panel->thetaEdit()->setText("0.2, 0.1");
        panel->simulateOnce();
        QVERIFY2(panel->resultLabel()->text().startsWith("x: 2 values"),
                 qPrintable(panel->resultLabel()->text()));
        // Undo returns to the built-in simulator.
        document->undoStack()->undo();
        QCOMPARE(document->project().simulator.kind, std::string("builtin"));
    }

    void saveAndReopenAProjectUnchanged() {
        QTemporaryDir dir;
        const QString path = dir.filePath("moons.sbiw");
        MainWindow window;
        ProjectDocument* document = window.document();
        Project changed = document->project();
        changed.inference.simulations = 1234;
        changed.parameters[0].name = "alpha";
        document->edit("test edits", changed);
        QCOMPARE(document->save(path), QString());
        QVERIFY(!document->isModified());
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray saved = file.readAll();

        MainWindow reopened;
        QCOMPARE(reopened.openProject(path), QString());
        QVERIFY(reopened.document()->project() == changed);
        QCOMPARE(reopened.document()->save(dir.filePath("again.sbiw")), QString());
        QFile again(dir.filePath("again.sbiw"));
        QVERIFY(again.open(QIODevice::ReadOnly));
        QCOMPARE(again.readAll(), saved);
    }

    void demoModeSavesAPictureAtEveryRefresh() {
        QTemporaryDir dir;
        MainWindow window;
        window.show();
        DemoRunner demo(&window, {smallGaussianLinearProject(dir), dir.filePath("shots"), false});
        QSignalSpy done(&demo, &DemoRunner::done);
        QCOMPARE(demo.start(), QString());
        QVERIFY(done.wait(300000));
        QCOMPARE(done.first().first().toInt(), 0);
        const QStringList pictures = QDir(dir.filePath("shots")).entryList({"*.png"});
        QVERIFY(pictures.contains("final.png"));
        QVERIFY(pictures.contains("history.png"));
        QCOMPARE(int(pictures.size()), demo.framesSaved());
        QVERIFY(demo.framesSaved() >= 2);
    }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
