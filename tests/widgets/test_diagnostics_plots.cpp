// Calibration and predictive plots fed with the engine's own judges: bars that add up to the
// rank histograms, bands equal to the binomial bands, flagged bins and levels drawn apart,
// curves with one point per level, and predictive bands equal to hand-computed quantiles.
#include <algorithm>
#include <cmath>

#include <qcustomplot.h>
#include <QGridLayout>
#include <QtTest>

#include "widget_test_data.h"
#include "widgets/calibration_plots.h"
#include "widgets/plot_data.h"
#include "widgets/predictive_plot.h"

using namespace sbiw;
using namespace sbiw::widgets;

namespace {

constexpr std::int64_t kPosteriorSamples = 99;

// Ranks of a calibrated posterior (uniform), an over-confident one (piled at both ends) and a
// biased one (skewed low).
RankMatrix syntheticRanks(Eigen::Index simulations) {
    RandomStream rng = test::testStream(21);
    RankMatrix ranks(simulations, 3);
    const double L = double(kPosteriorSamples);
    for (Eigen::Index i = 0; i < simulations; ++i) {
        const double u = rng.uniform(), v = rng.uniform(), w = rng.uniform();
        ranks(i, 0) = std::min<std::int64_t>(kPosteriorSamples, std::int64_t(u * (L + 1)));
        const double edge = 0.5 + 0.5 * (v < 0.5 ? -1.0 : 1.0) * std::pow(std::abs(2 * v - 1), 0.6);
        ranks(i, 1) = std::llround(edge * L);
        ranks(i, 2) = std::llround(std::pow(w, 1.4) * L);
    }
    return ranks;
}

std::vector<std::int64_t> column(const RankMatrix& ranks, int j) {
    std::vector<std::int64_t> values(std::size_t(ranks.rows()));
    for (Eigen::Index i = 0; i < ranks.rows(); ++i)
        values[std::size_t(i)] = ranks(i, j);
    return values;
}

PredictiveCheckResult predictiveResult(int dimension, std::uint64_t seed) {
    // A damped oscillation with noise: 400 predictions and an observation from the same model.
    RandomStream rng = test::testStream(seed);
    auto simulate = [&](double amplitude) {
        Eigen::RowVectorXd x(dimension);
        for (int t = 0; t < dimension; ++t) {
            const double time = dimension >= 32 ? t / 40.0 : t;
            x(t) =
                amplitude * std::exp(-0.15 * time) * std::cos(1.3 * time) + rng.normal(0.0, 0.15);
        }
        return x;
    };
    PredictiveCheckResult result;
    result.predictions.resize(400, dimension);
    for (int r = 0; r < 400; ++r)
        result.predictions.row(r) = simulate(rng.normal(1.0, 0.15));
    const Eigen::RowVectorXd observed = simulate(1.05);
    for (int j = 0; j < dimension; ++j) {
        PredictiveDimension dim;
        dim.observed = observed(j);
        result.dimensions.push_back(dim);
    }
    result.distancePValue = 0.42;
    return result;
}

}  // namespace

class TestDiagnosticsPlots : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void sbcBarsMatchTheHistogram() {
        const SbcResult result = judgeSbc(syntheticRanks(600), kPosteriorSamples);
        QCOMPARE(result.parameters[1].verdict, CalibrationVerdict::OverConfident);
        SbcRankPlot plot;
        plot.setResult(result, {"θ₁", "θ₂", "θ₃"});
        QCOMPARE(plot.panelCount(), 3);
        QCOMPARE(plot.plot()->axisRectCount(), 3);
        for (int j = 0; j < 3; ++j) {
            const SbcParameterResult& parameter = result.parameters[std::size_t(j)];
            const int bins = int(parameter.histogram.size());
            QCOMPARE(plot.insideBars(j)->dataCount() + plot.outsideBars(j)->dataCount(), bins);
            int outside = 0;
            double total = 0.0;
            for (int b = 0; b < bins; ++b) {
                const auto count = parameter.histogram[std::size_t(b)];
                outside += count < parameter.band[std::size_t(b)].low ||
                           count > parameter.band[std::size_t(b)].high;
            }
            for (QCPBars* bars : {plot.insideBars(j), plot.outsideBars(j)})
                for (int k = 0; k < bars->dataCount(); ++k) {
                    const double key = bars->data()->at(k)->key;
                    const int bin = int(key / ((kPosteriorSamples + 1.0) / bins));
                    QCOMPARE(bars->data()->at(k)->value,
                             double(parameter.histogram[std::size_t(bin)]));
                    total += bars->data()->at(k)->value;
                }
            QCOMPARE(plot.outsideBars(j)->dataCount(), outside);
            QCOMPARE(total, 600.0);
            QCOMPARE(plot.bandUpper(j)->data()->at(3)->value, double(parameter.band[3].high));
        }
        QVERIFY(plot.outsideBars(1)->dataCount() > 0);
        // A new result replaces the panels.
        const RankMatrix two = syntheticRanks(300).leftCols(2);
        plot.setResult(judgeSbc(two, kPosteriorSamples));
        QCOMPARE(plot.panelCount(), 2);
        QCOMPARE(plot.plot()->axisRectCount(), 2);
        plot.clear();
        QCOMPARE(plot.plot()->axisRectCount(), 0);
    }

    void coverageCurveAndFlaggedLevels() {
        const RankMatrix ranks = syntheticRanks(600);
        CoveragePlot calibrated;
        const CoverageResult good = judgeCoverage(column(ranks, 0), kPosteriorSamples);
        calibrated.setResult(good);
        QCOMPARE(calibrated.empiricalGraph()->dataCount(), int(good.levels.size()) + 2);
        QCOMPARE(calibrated.empiricalGraph()->data()->at(5)->value, good.empirical[4]);
        QCOMPARE(calibrated.bandUpperGraph()->data()->at(5)->value, good.bandHigh[4]);
        QCOMPARE(calibrated.outsideBandGraph()->dataCount(), 0);

        CoveragePlot flagged;
        const CoverageResult bad = judgeCoverage(column(ranks, 1), kPosteriorSamples);
        QVERIFY(bad.verdict != CalibrationVerdict::Calibrated);
        flagged.setResult(bad);
        QCOMPARE(flagged.outsideBandGraph()->dataCount(),
                 int(bad.belowBand.size() + bad.aboveBand.size()));
        QVERIFY(flagged.plot()->legend->hasItemWithPlottable(flagged.outsideBandGraph()));
        QVERIFY(!calibrated.plot()->legend->hasItemWithPlottable(calibrated.outsideBandGraph()));
    }

    void tarpCurveWithBand() {
        const TarpResult result = judgeTarp(column(syntheticRanks(400), 0), kPosteriorSamples);
        TarpPlot plot;
        plot.setResult(result);
        QCOMPARE(plot.ecpGraph()->dataCount(), int(result.levels.size()));
        QCOMPARE(plot.ecpGraph()->data()->at(10)->value, result.ecp[10]);
        // The KS band at level 0.5: 0.5 + 1.628 / sqrt(400).
        QVERIFY(std::abs(plot.bandUpperGraph()->data()->at(50)->value - (0.5 + 1.6276 / 20.0)) <
                1e-3);
        QVERIFY(plot.title().contains("ATC"));
    }

    void predictiveSeriesBandsAreQuantiles() {
        const PredictiveCheckResult result = predictiveResult(512, 31);
        PredictivePlot plot;
        plot.setResult(result);
        QVERIFY(plot.drawnAsSeries());
        QCOMPARE(plot.observedGraph()->dataCount(), 512);
        QCOMPARE(plot.medianGraph()->dataCount(), 512);
        QCOMPARE(plot.band50Upper()->dataCount(), 512);
        // The 75% quantile of column 100 by hand: sort, interpolate at 0.75 * 399.
        std::vector<double> values(400);
        for (int r = 0; r < 400; ++r)
            values[std::size_t(r)] = result.predictions(r, 100);
        std::sort(values.begin(), values.end());
        const double expected = values[299] + 0.25 * (values[300] - values[299]);
        QVERIFY(std::abs(plot.band50Upper()->data()->at(100)->value - expected) < 1e-12);
        QVERIFY(plot.band90Upper()->data()->at(100)->value > expected);
        QCOMPARE(plot.interval50(), nullptr);
    }

    void predictiveMarkersForShortData() {
        const PredictiveCheckResult result = predictiveResult(6, 32);
        PredictivePlot plot;
        plot.setResult(result, {"mean", "sd", "min", "max", "lag 1", "lag 2"});
        QVERIFY(!plot.drawnAsSeries());
        QCOMPARE(plot.observedGraph()->dataCount(), 6);
        QCOMPARE(plot.interval50()->dataCount(), 6);
        QCOMPARE(plot.interval90()->dataCount(), 6);
        QCOMPARE(plot.observedGraph()->data()->at(2)->value, result.dimensions[2].observed);
        QCOMPARE(plot.band50Upper(), nullptr);
        // Redrawing does not pile up plottables.
        const int plottables = plot.plot()->plottableCount();
        plot.setResult(result);
        QCOMPARE(plot.plot()->plottableCount(), plottables);
    }

    void screenshot() {
        const RankMatrix ranks = syntheticRanks(600);
        QWidget page;
        page.setStyleSheet("background: white");
        auto* layout = new QGridLayout(&page);
        auto* sbc = new SbcRankPlot;
        sbc->setResult(judgeSbc(ranks, kPosteriorSamples), {"θ₁", "θ₂", "θ₃"});
        auto* coverage = new CoveragePlot;
        coverage->setResult(judgeCoverage(column(ranks, 1), kPosteriorSamples));
        auto* tarp = new TarpPlot;
        tarp->setResult(judgeTarp(column(ranks, 0), kPosteriorSamples));
        layout->addWidget(sbc, 0, 0, 1, 2);
        layout->addWidget(coverage, 1, 0);
        layout->addWidget(tarp, 1, 1);
        layout->setRowStretch(0, 4);
        layout->setRowStretch(1, 5);
        page.resize(900, 640);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        for (PlotWidget* widget : std::initializer_list<PlotWidget*>{sbc, coverage, tarp})
            widget->plot()->replot(QCustomPlot::rpImmediateRefresh);
        test::saveScreenshot(page, "widgets-calibration.png");
    }
};

QTEST_MAIN(TestDiagnosticsPlots)
#include "test_diagnostics_plots.moc"
