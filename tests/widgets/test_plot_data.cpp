// The numbers behind the small plots against known answers: best epochs, ranges, quantiles of
// hand-made columns, Kolmogorov critical values from tables, and prior density curves against
// the densities' formulas.
#include <cmath>
#include <limits>

#include <QtTest>

#include "support/test_support.h"
#include "widgets/plot_data.h"

using namespace sbiw;
using namespace sbiw::widgets;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

class TestPlotData : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void bestLossPrefersTheTrainersFlag() {
        std::vector<LossPoint> history{
            {1, 3.0, 2.0, true}, {2, 2.0, 1.0, true}, {3, 1.5, 1.2, false}, {4, 1.0, kNaN, false}};
        QCOMPARE(bestLossIndex(history), 1);
        // Without flags: the lowest finite validation loss.
        for (LossPoint& point : history)
            point.improved = false;
        history[3].validation = 0.5;
        QCOMPARE(bestLossIndex(history), 3);
        history[3].validation = -kInf;
        QCOMPARE(bestLossIndex(history), 1);
        QCOMPARE(bestLossIndex({}), -1);
        QCOMPARE(bestLossIndex({{1, 1.0, kNaN, true}}), -1);
    }

    void rangesSkipNonFiniteValues() {
        const auto [low, high] = finiteRange({3.0, kNaN, -1.0, kInf, 2.0});
        QCOMPARE(low, -1.0);
        QCOMPARE(high, 3.0);
        QCOMPARE(paddedRange({-1.0, 3.0}, 0.25), (std::pair<double, double>{-2.0, 4.0}));
        QCOMPARE(paddedRange({2.0, 2.0}), (std::pair<double, double>{1.0, 3.0}));
        QCOMPARE(paddedRange(finiteRange({kNaN})), (std::pair<double, double>{0.0, 1.0}));
    }

    void columnQuantilesOfKnownColumns() {
        Matrix samples(5, 2);
        samples << 1, 10,  //
            2, kNaN,       //
            3, 30,         //
            4, 40,         //
            5, 20;
        const Matrix q = columnQuantiles(samples, {0.0, 0.25, 0.5, 1.0});
        QCOMPARE(q(0, 0), 1.0);
        QCOMPARE(q(1, 0), 2.0);
        QCOMPARE(q(2, 0), 3.0);
        QCOMPARE(q(3, 0), 5.0);
        // Second column without the NaN: 10, 20, 30, 40; median 25, first quartile 17.5.
        QCOMPARE(q(2, 1), 25.0);
        QCOMPARE(q(1, 1), 17.5);
        const Matrix empty = columnQuantiles(Matrix::Constant(2, 1, kNaN), {0.5});
        QVERIFY(std::isnan(empty(0, 0)));
    }

    void kolmogorovCriticalValuesFromTables() {
        SBIW_COMPARE_NEAR(kolmogorovCriticalValue(0.95), 1.3581, 1e-3);
        SBIW_COMPARE_NEAR(kolmogorovCriticalValue(0.99), 1.6276, 1e-3);
        SBIW_COMPARE_NEAR(kolmogorovCriticalValue(0.90), 1.2238, 1e-3);
    }

    void normalPriorCurve() {
        const PriorCurve curve =
            priorDensityCurve(PriorSpec::scalar("normal", {{"mean", 1.0}, {"std", 2.0}}), 0, 161);
        QVERIFY(curve.valid);
        QCOMPARE(curve.x.size(), std::size_t(161));
        QCOMPARE(curve.x.front(), 1.0 - 8.0);  // mean +- 4 sd
        QCOMPARE(curve.x.back(), 1.0 + 8.0);
        // The peak at the mean: 1 / (sd sqrt(2 pi)).
        SBIW_COMPARE_NEAR(curve.density[80], 1.0 / (2.0 * std::sqrt(2.0 * M_PI)), 1e-12);
        // x = 3 is one sd above the mean.
        SBIW_COMPARE_NEAR(curve.density[100], std::exp(-0.5) / (2.0 * std::sqrt(2.0 * M_PI)),
                          1e-12);
        QVERIFY(std::isinf(curve.lower) && std::isinf(curve.upper));
    }

    void boundedAndOneSidedSupports() {
        const PriorCurve uniform =
            priorDensityCurve(PriorSpec::scalar("uniform", {{"low", 1.0}, {"high", 3.0}}), 0, 241);
        QVERIFY(uniform.valid);
        SBIW_COMPARE_NEAR(uniform.x.front(), 0.9, 1e-12);  // 5% beyond each end
        SBIW_COMPARE_NEAR(uniform.x.back(), 3.1, 1e-12);
        QCOMPARE(uniform.density.front(), 0.0);
        SBIW_COMPARE_NEAR(uniform.density[120], 0.5, 1e-12);
        QCOMPARE(uniform.lower, 1.0);
        // An exponential starts at its bound 0, where its density equals the rate.
        const PriorCurve exponential =
            priorDensityCurve(PriorSpec::scalar("exponential", {{"rate", 2.0}}));
        QVERIFY(exponential.valid);
        QCOMPARE(exponential.x.front(), 0.0);
        SBIW_COMPARE_NEAR(exponential.density.front(), 2.0, 1e-9);
        // Gamma with shape < 1 diverges at 0: a gap, not an infinity.
        const PriorCurve gamma =
            priorDensityCurve(PriorSpec::scalar("gamma", {{"shape", 0.5}, {"rate", 1.0}}));
        QVERIFY(gamma.valid);
        QVERIFY(std::isnan(gamma.density.front()));
        QVERIFY(std::isfinite(gamma.density[10]));
    }

    void marginalsOfMultivariateBlocks() {
        PriorSpec box;
        box.family = "box_uniform";
        box.values["low"] = {0.0, -2.0};
        box.values["high"] = {1.0, 2.0};
        const PriorCurve second = priorDensityCurve(box, 1, 101);
        QVERIFY(second.valid);
        SBIW_COMPARE_NEAR(second.density[50], 0.25, 1e-12);
        QCOMPARE(second.lower, -2.0);

        PriorSpec gaussian;
        gaussian.family = "multivariate_normal";
        gaussian.values["mean"] = {0.0, 3.0};
        gaussian.values["covariance"] = {1.0, 0.5, 0.5, 4.0};
        gaussian.matrixRows["covariance"] = 2;
        const PriorCurve marginal = priorDensityCurve(gaussian, 1, 101);
        QVERIFY2(marginal.valid, marginal.message.c_str());
        SBIW_COMPARE_NEAR(marginal.x[50], 3.0, 1e-12);
        SBIW_COMPARE_NEAR(marginal.density[50], 1.0 / (2.0 * std::sqrt(2.0 * M_PI)), 1e-12);
        QVERIFY(!priorDensityCurve(gaussian, 2).valid);
    }

    void invalidSpecsSayWhy() {
        const PriorCurve curve =
            priorDensityCurve(PriorSpec::scalar("uniform", {{"low", 2.0}, {"high", 1.0}}));
        QVERIFY(!curve.valid);
        QVERIFY(curve.x.empty());
        QVERIFY2(QString::fromStdString(curve.message).contains("high"), curve.message.c_str());
        QVERIFY(!priorDensityCurve(PriorSpec::scalar("no_such_family", {})).valid);
    }

    void seriesOrMarkers() {
        QVERIFY(!drawAsSeries(31));
        QVERIFY(drawAsSeries(32));
        QVERIFY(drawAsSeries(512));
    }
};

QTEST_APPLESS_MAIN(TestPlotData)
#include "test_plot_data.moc"
