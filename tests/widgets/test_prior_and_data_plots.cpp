// PriorDensityPlot and DataPreviewPlot: the curve drawn is the prior's density, an invalid spec
// empties the plot and says why; data vectors become lines or bars by their length, with the
// observation on top. The last test renders a training page for docs/screenshots.
#include <cmath>

#include <qcustomplot.h>
#include <QGridLayout>
#include <QtTest>

#include "widget_test_data.h"
#include "widgets/data_preview_plot.h"
#include "widgets/loss_curve_plot.h"
#include "widgets/predictive_plot.h"
#include "widgets/prior_density_plot.h"

using namespace sbiw;
using namespace sbiw::widgets;

class TestPriorAndDataPlots : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void priorCurveIsTheDensity() {
        PriorDensityPlot plot;
        QVERIFY(!plot.isValid());
        plot.setPrior(PriorSpec::scalar("normal", {{"mean", 0.0}, {"std", 1.0}}), 0, "θ₁");
        QVERIFY(plot.isValid());
        QCPGraph* graph = plot.densityGraph();
        QCOMPARE(graph->dataCount(), int(plot.curve().x.size()));
        const int middle = graph->dataCount() / 2;
        QVERIFY(std::abs(graph->data()->at(middle)->key) < 1e-12);
        QVERIFY(std::abs(graph->data()->at(middle)->value - 1.0 / std::sqrt(2.0 * M_PI)) < 1e-12);
        QCOMPARE(plot.plot()->xAxis->label(), QString("θ₁"));
        QVERIFY(plot.plot()->yAxis->range().upper > graph->data()->at(middle)->value);
    }

    void invalidPriorGreysOut() {
        PriorDensityPlot plot;
        plot.setPrior(PriorSpec::scalar("uniform", {{"low", 0.0}, {"high", 1.0}}));
        QVERIFY(plot.densityGraph()->dataCount() > 0);
        plot.setPrior(PriorSpec::scalar("uniform", {{"low", 2.0}, {"high", 1.0}}));
        QVERIFY(!plot.isValid());
        QCOMPARE(plot.densityGraph()->dataCount(), 0);
        QVERIFY(plot.message().contains("high"));
        QCOMPARE(plot.plot()->axisRect()->backgroundBrush().style(), Qt::SolidPattern);
        QTemporaryDir folder;
        QCOMPARE(plot.save(folder.filePath("prior.png")), QString());
    }

    void shortDataAsBarsLongAsLines() {
        DataPreviewPlot plot;
        plot.setData({1.0, 2.0, -0.5, 4.0}, "simulation 3");
        QVERIFY(!plot.drawnAsSeries());
        QCOMPARE(plot.dataBars()->dataCount(), 4);
        QCOMPARE(plot.dataBars()->data()->at(2)->value, -0.5);
        QCOMPARE(plot.dataBars()->data()->at(0)->key, 1.0);  // dimensions numbered from 1
        QCOMPARE(plot.dataLine(), nullptr);
        plot.setObservation({1.5, 1.5, 0.0, 3.0});
        QCOMPARE(plot.observationGraph()->dataCount(), 4);
        QVERIFY(plot.plot()->legend->visible());
        QVERIFY(plot.plot()->yAxis->range().contains(-0.5) &&
                plot.plot()->yAxis->range().contains(4.0));

        std::vector<double> series(512);
        for (std::size_t t = 0; t < series.size(); ++t)
            series[t] = std::sin(0.05 * double(t));
        series[100] = std::nan("");
        plot.setData(series);
        plot.clearObservation();
        QVERIFY(plot.drawnAsSeries());
        QCOMPARE(plot.dataLine()->dataCount(), 512);
        QVERIFY(std::isnan(plot.dataLine()->data()->at(100)->value));
        QCOMPARE(plot.dataBars(), nullptr);
        QCOMPARE(plot.observationGraph(), nullptr);
        QCOMPARE(plot.plot()->plottableCount(), 1);
        plot.clear();
        QCOMPARE(plot.plot()->plottableCount(), 0);
        QVERIFY(!plot.plot()->legend->visible());
    }

    void screenshot() {
        // A training page: loss, posterior predictive of a time series, a prior and one
        // simulation's summary statistics against the observation.
        QWidget page;
        page.setStyleSheet("background: white");
        auto* layout = new QGridLayout(&page);
        auto* loss = new LossCurvePlot;
        std::vector<LossPoint> history;
        double best = 1e9;
        for (int e = 1; e <= 60; ++e) {
            const int inRound = (e - 1) % 30 + 1;
            const double offset = e > 30 ? -0.7 : 0.0;
            const double train = 0.8 + offset + 3.0 / inRound - 0.004 * inRound;
            const double validation = 0.9 + offset + 3.0 / inRound + 0.00012 * inRound * inRound;
            if (inRound == 1)
                best = 1e9;
            history.push_back({e, train, validation, validation < best});
            best = std::min(best, validation);
        }
        loss->setHistory(history, {{1, 1}, {31, 2}});
        loss->setTitle("Training loss");

        auto* predictive = new PredictivePlot;
        PredictiveCheckResult result;
        RandomStream rng = test::testStream(41);
        const int n = 256;
        auto simulate = [&](double amplitude, double rate) {
            Eigen::RowVectorXd x(n);
            for (int t = 0; t < n; ++t)
                x(t) = amplitude * std::exp(-rate * t / 40.0) * std::cos(1.3 * t / 40.0 * 3.0) +
                       rng.normal(0.0, 0.08);
            return x;
        };
        result.predictions.resize(500, n);
        for (int r = 0; r < 500; ++r)
            result.predictions.row(r) = simulate(rng.normal(1.0, 0.1), rng.normal(0.5, 0.08));
        const Eigen::RowVectorXd observed = simulate(1.05, 0.52);
        for (int t = 0; t < n; ++t) {
            PredictiveDimension dim;
            dim.observed = observed(t);
            result.dimensions.push_back(dim);
        }
        result.distancePValue = 0.61;
        predictive->setResult(result);

        auto* prior = new PriorDensityPlot;
        prior->setPrior(PriorSpec::scalar("gamma", {{"shape", 2.0}, {"rate", 4.0}}), 0, "β (rate)");
        prior->setTitle("Prior of β: Gamma(2, 4)");
        auto* invalid = new PriorDensityPlot;
        invalid->setPrior(PriorSpec::scalar("normal", {{"mean", 0.0}, {"std", -1.0}}), 0, "γ");
        invalid->setTitle("Prior of γ");
        auto* data = new DataPreviewPlot;
        data->setDataNames({"mean", "sd", "min", "max", "lag 1", "lag 2"});
        data->setData({0.21, 0.95, -1.4, 1.9, 0.62, 0.18}, "simulation 17");
        data->setObservation({0.25, 1.02, -1.2, 2.1, 0.58, 0.22});
        data->setTitle("Summary statistics");

        layout->addWidget(loss, 0, 0);
        layout->addWidget(predictive, 0, 1, 1, 2);
        layout->addWidget(prior, 1, 0);
        layout->addWidget(invalid, 1, 1);
        layout->addWidget(data, 1, 2);
        layout->setColumnStretch(0, 4);
        layout->setColumnStretch(1, 3);
        layout->setColumnStretch(2, 3);
        layout->setRowStretch(0, 3);
        layout->setRowStretch(1, 2);
        page.resize(1100, 620);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        for (PlotWidget* widget :
             std::initializer_list<PlotWidget*>{loss, predictive, prior, invalid, data})
            widget->plot()->replot(QCustomPlot::rpImmediateRefresh);
        test::saveScreenshot(page, "widgets-training.png");
    }
};

QTEST_MAIN(TestPriorAndDataPlots)
#include "test_prior_and_data_plots.moc"
