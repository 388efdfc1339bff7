// Calibration diagnostics against answers known in advance. On gaussian_linear the posterior is
// N(x/2, 0.05 I) exactly, so the exact posterior must pass SBC, expected coverage and TARP, and
// the same posterior made too narrow, too wide or shifted must be flagged in the right
// direction. Plus hand-computed binomial bands and test p-values, the judges on hand-made ranks,
// ties, determinism across thread counts, cancellation, and input and settings errors.
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <thread>

#include "core/problems.h"
#include "diagnostics/calibration.h"
#include "priors/joint_prior.h"
#include "simulators/catalogue.h"
#include "simulators/simulator.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

constexpr double kPosteriorVariance = 0.05;  // gaussian_linear: N(x/2, 0.05 I)

// The analytic gaussian_linear posterior, its covariance scaled by `varianceScale` and its mean
// moved by `shift[j]` in parameter j (missing entries: 0).
PosteriorAccess gaussianLinearPosterior(double varianceScale, std::vector<double> shift = {}) {
    const double sd = std::sqrt(kPosteriorVariance * varianceScale);
    auto meanOf = [shift](const Matrix& observation) {
        Eigen::RowVectorXd mean = 0.5 * observation.row(0);
        for (std::size_t j = 0; j < shift.size(); ++j)
            mean(Eigen::Index(j)) += shift[j];
        return mean;
    };
    PosteriorAccess access;
    access.sample = [=](const Matrix& observation, std::int64_t count, std::uint64_t seed) {
        const Eigen::RowVectorXd mean = meanOf(observation);
        RandomStream rng(seed, StreamPurpose::Sampling, 0);
        Matrix samples(count, mean.size());
        for (Eigen::Index r = 0; r < count; ++r)
            for (Eigen::Index c = 0; c < mean.size(); ++c)
                samples(r, c) = rng.normal(mean(c), sd);
        return samples;
    };
    access.logProb = [=](const Matrix& theta, const Matrix& observation) {
        const Eigen::RowVectorXd mean = meanOf(observation);
        Vector logDensity(theta.rows());
        for (Eigen::Index r = 0; r < theta.rows(); ++r)
            logDensity(r) = -0.5 * ((theta.row(r) - mean) / sd).squaredNorm();
        return logDensity;
    };
    return access;
}

struct Task {
    JointPrior prior;
    std::unique_ptr<Simulator> simulator;
    const TaskInfo* info = nullptr;
};

Task gaussianLinear() {
    Task task;
    task.info = findTask("gaussian_linear");
    if (!task.info)
        qFatal("gaussian_linear is not in the catalogue");
    task.prior = JointPrior(task.info->defaultPrior);
    task.simulator = task.info->create();
    return task;
}

// N = 1,000 prior-predictive pairs and L = 99 samples (100 ranks in 20 bins of 5): all three
// diagnostics for one posterior in well under a second.
constexpr std::int64_t kSimulations = 1000;

CalibrationSettings smallSettings() {
    CalibrationSettings s;
    s.posteriorSamples = 99;
    s.seed = 7;
    return s;
}

const SimulationBatch& calibrationSet() {
    static const SimulationBatch batch = [] {
        const Task task = gaussianLinear();
        return simulateCalibrationSet(task.prior, *task.simulator, kSimulations, 2024);
    }();
    return batch;
}

CalibrationResult calibrate(const PosteriorAccess& posterior,
                            const CalibrationSettings& settings = smallSettings()) {
    const SimulationBatch& set = calibrationSet();
    const CalibrationResult result = runCalibration(set.theta, set.x, posterior, settings);
    qInfo("%s", result.summary().c_str());
    return result;
}

void checkAllParameters(const SbcResult& sbc, CalibrationVerdict expected) {
    QCOMPARE(int(sbc.parameters.size()), 10);
    for (const SbcParameterResult& p : sbc.parameters)
        QVERIFY2(p.verdict == expected, p.summary.c_str());
}

// Ranks of N rows and one column with the given rank counts (value k appears counts[k] times).
RankMatrix ranksFromCounts(const std::vector<std::int64_t>& counts) {
    std::int64_t n = 0;
    for (std::int64_t c : counts)
        n += c;
    RankMatrix ranks(n, 1);
    std::int64_t row = 0;
    for (std::size_t k = 0; k < counts.size(); ++k)
        for (std::int64_t c = 0; c < counts[k]; ++c)
            ranks(row++, 0) = std::int64_t(k);
    return ranks;
}

QStringList pathsOf(const Problems& problems) {
    QStringList paths;
    for (const Problem& p : problems)
        paths << QString::fromStdString(p.path);
    return paths;
}

template <typename F>
QString messageOf(F&& call) {
    try {
        call();
    } catch (const std::invalid_argument& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

// gaussian_linear's simulator, slowed down so that a cancellation lands in the middle, and slower
// still once `stop` is set, so that a busy machine cannot finish the loop before it notices.
class SlowSimulator : public Simulator {
  public:
    SlowSimulator(const Simulator& inner, const std::atomic<bool>& stop)
        : inner_(inner), stop_(stop) {}
    int parameterDimension() const override { return inner_.parameterDimension(); }
    int dataDimension() const override { return inner_.dataDimension(); }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        std::this_thread::sleep_for(std::chrono::microseconds(stop_ ? 5000 : 500));
        inner_.simulate(theta, x, rng);
    }

  private:
    const Simulator& inner_;
    const std::atomic<bool>& stop_;
};

}  // namespace

class TestCalibration : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void binomialBandMatchesHandComputedValues() {
        // Quantiles q = 0.005 and 0.995 from exact sums of binomial probabilities, e.g.
        // Binomial(10, 1/2): P(X <= 0) = 1/1024 < 0.005 <= P(X <= 1) = 11/1024, and
        // P(X <= 8) = 1013/1024 < 0.995 <= P(X <= 9) = 1023/1024.
        auto check = [](std::int64_t n, double p, std::int64_t low, std::int64_t high) {
            const CountBand band = binomialBand(n, p, 0.99);
            QCOMPARE(band.low, low);
            QCOMPARE(band.high, high);
        };
        check(10, 0.5, 1, 9);
        check(20, 0.05, 0, 4);  // P(X <= 0) = 0.95^20 = 0.358 already exceeds 0.005
        check(100, 0.1, 3, 18);
        check(1000, 0.05, 33, 69);
        QCOMPARE(binomialQuantile(10, 0.5, 11.0 / 1024.0 - 1e-12), std::int64_t(1));
        QCOMPARE(binomialQuantile(10, 0.5, 11.0 / 1024.0 + 1e-12), std::int64_t(2));
        QCOMPARE(binomialQuantile(10, 0.0, 0.9), std::int64_t(0));
        QCOMPARE(binomialQuantile(10, 1.0, 0.1), std::int64_t(10));
        QCOMPARE(binomialQuantile(0, 0.3, 0.5), std::int64_t(0));
    }

    void testStatisticsMatchHandComputedValues() {
        // Chi-square: with one degree of freedom P(X >= x) = erfc(sqrt(x / 2)); with two,
        // exp(-x / 2).
        SBIW_COMPARE_REL(chiSquarePValue(10.0, 1), std::erfc(std::sqrt(5.0)), 1e-12);
        SBIW_COMPARE_REL(chiSquarePValue(6.0, 2), std::exp(-3.0), 1e-12);
        QCOMPARE(chiSquarePValue(0.0, 4), 1.0);

        // KS: 10 zeros and 30 ones against uniform {0, 1}: D = |10/40 - 1/2| = 0.25;
        // lambda = (sqrt(40) + 0.12 + 0.11 / sqrt(40)) 0.25 = 1.6155, and Kolmogorov's tail
        // 2 sum (-1)^(k-1) exp(-2 k^2 lambda^2) = 0.010819.
        const KsTest skewed = ksDiscreteUniform({10, 30});
        SBIW_COMPARE_NEAR(skewed.distance, 0.25, 1e-15);
        SBIW_COMPARE_NEAR(skewed.pValue, 0.010819, 1e-6);
        const KsTest flat = ksDiscreteUniform({25, 25, 25, 25});
        QCOMPARE(flat.distance, 0.0);
        QCOMPARE(flat.pValue, 1.0);
        // Below lambda = 1.18 the other series: 60 and 40 give D = 0.1, lambda = 1.0131, and
        // both series give 0.256221.
        const KsTest close = ksDiscreteUniform({60, 40});
        SBIW_COMPARE_NEAR(close.distance, 0.1, 1e-15);
        SBIW_COMPARE_NEAR(close.pValue, 0.256221, 1e-6);
    }

    void judgeReadsHandMadeRankShapes() {
        // L = 9: ten rank values, five bins of two.
        SbcSettings s;
        s.bins = 5;
        const SbcResult flat = judgeSbc(ranksFromCounts(std::vector<std::int64_t>(10, 50)), 9, s);
        QCOMPARE(flat.parameters[0].verdict, CalibrationVerdict::Calibrated);
        QCOMPARE(flat.parameters[0].histogram, (std::vector<std::int64_t>(5, 100)));
        QCOMPARE(flat.parameters[0].chiSquare, 0.0);
        SBIW_COMPARE_NEAR(flat.parameters[0].meanRank, 0.5, 1e-15);
        QVERIFY(!flat.flagged());

        const SbcResult cup =
            judgeSbc(ranksFromCounts({90, 70, 50, 30, 10, 10, 30, 50, 70, 90}), 9, s);
        QCOMPARE(cup.parameters[0].verdict, CalibrationVerdict::OverConfident);
        QVERIFY(cup.parameters[0].spreadZ > 0.0);
        const SbcResult cap =
            judgeSbc(ranksFromCounts({10, 30, 50, 70, 90, 90, 70, 50, 30, 10}), 9, s);
        QCOMPARE(cap.parameters[0].verdict, CalibrationVerdict::UnderConfident);
        const SbcResult low =
            judgeSbc(ranksFromCounts({100, 90, 80, 70, 60, 40, 30, 20, 10, 0}), 9, s);
        QCOMPARE(low.parameters[0].verdict, CalibrationVerdict::BiasedHigh);
        QVERIFY(low.parameters[0].meanRank < 0.5);
        const SbcResult high =
            judgeSbc(ranksFromCounts({0, 10, 20, 30, 40, 60, 70, 80, 90, 100}), 9, s);
        QCOMPARE(high.parameters[0].verdict, CalibrationVerdict::BiasedLow);
        QVERIFY(high.flagged());
        QVERIFY2(QString::fromStdString(high.summary).contains("1 of 1 parameters flagged"),
                 high.summary.c_str());

        // Bins that do not divide the ranks evenly: L = 10 (11 values) in 2 bins of 6 and 5.
        SbcSettings two;
        two.bins = 2;
        const SbcResult uneven =
            judgeSbc(ranksFromCounts(std::vector<std::int64_t>(11, 10)), 10, two);
        QCOMPARE(uneven.parameters[0].histogram, (std::vector<std::int64_t>{60, 50}));
        SBIW_COMPARE_NEAR(uneven.parameters[0].expected[0], 60.0, 1e-12);
        SBIW_COMPARE_NEAR(uneven.parameters[0].expected[1], 50.0, 1e-12);
        QCOMPARE(uneven.parameters[0].chiSquare, 0.0);

        // Coverage: α* = 0 always (θ* at the mode) is under-confident, α* = 1 over-confident.
        QCOMPARE(judgeCoverage(std::vector<std::int64_t>(200, 0), 9).verdict,
                 CalibrationVerdict::UnderConfident);
        QCOMPARE(judgeCoverage(std::vector<std::int64_t>(200, 9), 9).verdict,
                 CalibrationVerdict::OverConfident);
        QCOMPARE(judgeTarp(std::vector<std::int64_t>(200, 0), 9).verdict,
                 CalibrationVerdict::UnderConfident);
        QCOMPARE(judgeTarp(std::vector<std::int64_t>(200, 9), 9).verdict,
                 CalibrationVerdict::OverConfident);
        std::vector<std::int64_t> even;
        for (int i = 0; i < 200; ++i)
            even.push_back(i % 10);
        const CoverageResult coverage = judgeCoverage(even, 9);
        QCOMPARE(coverage.verdict, CalibrationVerdict::Calibrated);
        // With L = 9 the calibrated curve is a staircase: at level 0.5, α* = k/9 <= 0.5 for
        // k = 0..4, so 5 of 10 outcomes.
        QCOMPARE(coverage.levels[9], 0.5);
        QCOMPARE(coverage.expected[9], 0.5);
        QCOMPARE(coverage.empirical[9], 0.5);
        const TarpResult tarp = judgeTarp(even, 9);
        QCOMPARE(tarp.verdict, CalibrationVerdict::Calibrated);
        SBIW_COMPARE_NEAR(tarp.atc, 0.0, 1e-12);  // mid-ranks 0.05..0.95, symmetric about 0.5
        QCOMPARE(tarp.ecp.front(), 0.0);
        QCOMPARE(tarp.ecp.back(), 1.0);
    }

    void exactPosteriorIsCalibrated() {
        const CalibrationResult r = calibrate(gaussianLinearPosterior(1.0));
        QVERIFY(!r.cancelled);
        QCOMPARE(std::int64_t(r.ranks.rows.size()), kSimulations);
        QVERIFY(r.sbc && r.coverage && r.tarp);
        QVERIFY2(!r.sbc->flagged(), r.sbc->summary.c_str());
        checkAllParameters(*r.sbc, CalibrationVerdict::Calibrated);

        QCOMPARE(r.coverage->verdict, CalibrationVerdict::Calibrated);
        QVERIFY(r.coverage->belowBand.empty() && r.coverage->aboveBand.empty());
        for (std::size_t k = 0; k < r.coverage->levels.size(); ++k) {
            QVERIFY(r.coverage->bandLow[k] <= r.coverage->empirical[k]);
            QVERIFY(r.coverage->empirical[k] <= r.coverage->bandHigh[k]);
            // On the diagonal: the band itself is only a few percent wide at N = 1,000.
            SBIW_COMPARE_NEAR(r.coverage->empirical[k], r.coverage->levels[k], 0.06);
        }

        QCOMPARE(r.tarp->verdict, CalibrationVerdict::Calibrated);
        SBIW_COMPARE_NEAR(r.tarp->atc, 0.0, 3.0 * r.tarp->atcStandardError);
        SBIW_COMPARE_NEAR(r.tarp->atcStandardError, std::sqrt(5.0 / 192.0 / 1000.0), 1e-15);
        for (std::size_t k = 0; k < r.tarp->levels.size(); ++k)
            SBIW_COMPARE_NEAR(r.tarp->ecp[k], r.tarp->levels[k], 0.06);
    }

    void narrowPosteriorIsOverConfident() {
        const CalibrationResult r = calibrate(gaussianLinearPosterior(0.5));
        checkAllParameters(*r.sbc, CalibrationVerdict::OverConfident);
        for (const SbcParameterResult& p : r.sbc->parameters) {
            // U-shaped: both outer bins above their band.
            QVERIFY2(p.histogram.front() > p.band.front().high, p.summary.c_str());
            QVERIFY2(p.histogram.back() > p.band.back().high, p.summary.c_str());
        }
        QCOMPARE(r.coverage->verdict, CalibrationVerdict::OverConfident);
        QVERIFY(!r.coverage->belowBand.empty() && r.coverage->aboveBand.empty());
        // Exact: α* = F(2Y) for Y ~ chi2(10), so coverage at 0.5 is F_chi2(10)(9.34 / 2) = 0.09.
        SBIW_COMPARE_NEAR(r.coverage->empirical[9], 0.088, 0.03);
        QCOMPARE(r.tarp->verdict, CalibrationVerdict::OverConfident);
        QVERIFY(r.tarp->atc < -3.0 * r.tarp->atcStandardError);
    }

    void widePosteriorIsUnderConfident() {
        const CalibrationResult r = calibrate(gaussianLinearPosterior(2.0));
        checkAllParameters(*r.sbc, CalibrationVerdict::UnderConfident);
        for (const SbcParameterResult& p : r.sbc->parameters)
            QVERIFY(p.spreadZ < 0.0);
        QCOMPARE(r.coverage->verdict, CalibrationVerdict::UnderConfident);
        QVERIFY(r.coverage->belowBand.empty() && !r.coverage->aboveBand.empty());
        // Coverage at 0.5 is F_chi2(10)(2 * 9.34) = 0.956.
        SBIW_COMPARE_NEAR(r.coverage->empirical[9], 0.956, 0.03);
        QCOMPARE(r.tarp->verdict, CalibrationVerdict::UnderConfident);
        QVERIFY(r.tarp->atc > 3.0 * r.tarp->atcStandardError);
    }

    void shiftedPosteriorIsBiased() {
        // Parameter 1 moved up by one posterior standard deviation, parameter 2 down; the other
        // eight are exact and must stay calibrated.
        const double sd = std::sqrt(kPosteriorVariance);
        CalibrationSettings s = smallSettings();
        s.parameterNames = findTask("gaussian_linear")->parameterNames;
        const CalibrationResult r = calibrate(gaussianLinearPosterior(1.0, {sd, -sd}), s);
        QCOMPARE(r.sbc->parameters[0].verdict, CalibrationVerdict::BiasedHigh);
        QCOMPARE(r.sbc->parameters[1].verdict, CalibrationVerdict::BiasedLow);
        QVERIFY(r.sbc->parameters[0].meanRank < 0.4 && r.sbc->parameters[1].meanRank > 0.6);
        for (std::size_t j = 2; j < 10; ++j)
            QVERIFY2(r.sbc->parameters[j].verdict == CalibrationVerdict::Calibrated,
                     r.sbc->parameters[j].summary.c_str());
        const QString summary = QString::fromStdString(r.sbc->summary);
        QVERIFY2(summary.contains("2 of 10 parameters flagged") &&
                     summary.contains(QString::fromStdString(s.parameterNames[0]) + " biased high"),
                 qPrintable(summary));
        // A shifted posterior also misses the truth in HPD terms.
        QCOMPARE(r.coverage->verdict, CalibrationVerdict::OverConfident);
    }

    void tiesAreSplitAtRandom() {
        // θ* uniform on {0, ..., 4} and a posterior that ignores x and is that same distribution:
        // calibrated, but every rank comes with about L / 5 ties. Splitting them at random keeps
        // the ranks uniform; counting ties as "below" (or not) would skew them.
        const std::int64_t n = 2000;
        Matrix theta(n, 1), x = Matrix::Zero(n, 1);
        RandomStream rng = test::testStream(3, 0);
        for (Eigen::Index r = 0; r < n; ++r)
            theta(r, 0) = double(rng.below(5));
        PosteriorAccess discrete;
        discrete.sample = [](const Matrix&, std::int64_t count, std::uint64_t seed) {
            RandomStream draws(seed, StreamPurpose::Sampling, 0);
            Matrix samples(count, 1);
            for (Eigen::Index r = 0; r < count; ++r)
                samples(r, 0) = double(draws.below(5));
            return samples;
        };
        discrete.logProb = [](const Matrix& t, const Matrix&) {
            return Vector::Constant(t.rows(), std::log(0.2));
        };
        CalibrationSettings s = smallSettings();
        const CalibrationResult r = runCalibration(theta, x, discrete, s);
        QVERIFY2(!r.sbc->flagged(), r.sbc->summary.c_str());
        QCOMPARE(r.coverage->verdict, CalibrationVerdict::Calibrated);  // all log densities tie
        QCOMPARE(r.tarp->verdict, CalibrationVerdict::Calibrated);
    }

    void sameResultsForAnyThreadCount() {
        const SimulationBatch& set = calibrationSet();
        const Matrix theta = set.theta.topRows(200), x = set.x.topRows(200);
        const PosteriorAccess posterior = gaussianLinearPosterior(0.7);
        CalibrationSettings s = smallSettings();
        s.threads = 1;
        const CalibrationResult one = runCalibration(theta, x, posterior, s);
        for (int threads : {2, 3}) {
            s.threads = threads;
            const CalibrationResult more = runCalibration(theta, x, posterior, s);
            QVERIFY(more.ranks.sbc == one.ranks.sbc);
            QCOMPARE(more.ranks.coverage, one.ranks.coverage);
            QCOMPARE(more.ranks.tarp, one.ranks.tarp);
            QCOMPARE(more.summary(), one.summary());
            QCOMPARE(more.sbc->parameters[3].chiSquarePValue,
                     one.sbc->parameters[3].chiSquarePValue);
            QCOMPARE(more.tarp->atc, one.tarp->atc);
        }
        // The diagnostics draw from separate streams: switching two off leaves the third alone.
        s.runSbc = s.runTarp = false;
        const CalibrationResult coverageOnly = runCalibration(theta, x, posterior, s);
        QCOMPARE(coverageOnly.ranks.coverage, one.ranks.coverage);
        QVERIFY(!coverageOnly.sbc && !coverageOnly.tarp && coverageOnly.coverage);
        QCOMPARE(coverageOnly.ranks.sbc.size(), Eigen::Index(0));
        // Another seed, other samples.
        s = smallSettings();
        s.seed = 8;
        QVERIFY(runCalibration(theta, x, posterior, s).ranks.sbc != one.ranks.sbc);

        // The calibration set itself: same seed, same pairs for any thread count, and not the
        // pairs a training run with that seed would draw.
        const Task task = gaussianLinear();
        const SimulationBatch a = simulateCalibrationSet(task.prior, *task.simulator, 50, 9, 1);
        const SimulationBatch b = simulateCalibrationSet(task.prior, *task.simulator, 50, 9, 2);
        QVERIFY(a.theta == b.theta && a.x == b.x);
        SimulationOptions training;
        training.seed = 9;
        QVERIFY(simulateFromPrior(task.prior, *task.simulator, 50, training).theta != a.theta);
    }

    void cancellationStopsMidRun() {
        const SimulationBatch& set = calibrationSet();
        const PosteriorAccess exact = gaussianLinearPosterior(1.0);
        std::atomic<int> calls{0};
        std::atomic<bool> cancel{false};
        PosteriorAccess slow = exact;
        slow.sample = [&](const Matrix& observation, std::int64_t count, std::uint64_t seed) {
            // 2 ms per row until the request, then 20 ms: the loop cannot run to its end
            // before the calling thread sees the flag, however busy the machine.
            if (++calls == 20)
                cancel = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(cancel ? 20 : 2));
            return exact.sample(observation, count, seed);
        };
        LoopControl control;
        control.cancelFlag = &cancel;
        control.progressIntervalSeconds = 0.005;
        std::int64_t lastTotal = 0;
        control.onProgress = [&](const LoopProgress& p) { lastTotal = p.total; };
        CalibrationSettings s = smallSettings();
        s.threads = 2;
        const CalibrationResult r = runCalibration(set.theta, set.x, slow, s, control);
        QVERIFY(r.cancelled);
        QVERIFY(!r.sbc && !r.coverage && !r.tarp);
        const auto kept = std::int64_t(r.ranks.rows.size());
        QVERIFY2(kept >= 1 && kept < kSimulations / 2, QByteArray::number(qlonglong(kept)));
        QCOMPARE(r.ranks.sbc.rows(), Eigen::Index(kept));
        QCOMPARE(std::int64_t(r.ranks.coverage.size()), kept);
        QCOMPARE(lastTotal, kSimulations);
        QVERIFY(calls < 500);
        QVERIFY(QString::fromStdString(r.summary()).contains("cancelled"));
        // The ranked prefix equals what an uncancelled run gives for those rows.
        const CalibrationResult full =
            runCalibration(set.theta.topRows(kept), set.x.topRows(kept), exact, smallSettings());
        QVERIFY(full.ranks.sbc == r.ranks.sbc);

        // The predictive check stops in its simulations.
        const Task task = gaussianLinear();
        std::atomic<bool> stop{false};
        const SlowSimulator simulator(*task.simulator, stop);
        LoopControl stopSoon;
        stopSoon.cancelFlag = &stop;
        stopSoon.progressIntervalSeconds = 0.005;
        stopSoon.onProgress = [&](const LoopProgress& p) {
            if (p.completed > 0)
                stop = true;
        };
        PredictiveCheckSettings ppc;
        ppc.posteriorSamples = 4000;
        ppc.threads = 2;
        const PredictiveCheckResult check =
            posteriorPredictiveCheck(set.x.topRows(1), exact, simulator, ppc, stopSoon);
        QVERIFY(check.cancelled);
        QVERIFY(check.summary.empty() && check.dimensions.empty());
    }

    void nonFiniteDataRowsAreSkipped() {
        const SimulationBatch& set = calibrationSet();
        Matrix theta = set.theta.topRows(300), x = set.x.topRows(300);
        x(5, 2) = std::numeric_limits<double>::quiet_NaN();
        x(17, 0) = std::numeric_limits<double>::infinity();
        const CalibrationResult r =
            runCalibration(theta, x, gaussianLinearPosterior(1.0), smallSettings());
        QCOMPARE(r.ranks.skippedRows, std::int64_t(2));
        QCOMPARE(r.ranks.rows.size(), std::size_t(298));
        QCOMPARE(r.ranks.rows[5], std::int64_t(6));
        QCOMPARE(r.sbc->simulations, std::int64_t(298));
        QVERIFY(QString::fromStdString(r.summary()).contains("2 simulations with non-finite data"));
    }

    void predictiveCheckOnGaussianLinear() {
        // Posterior predictive of gaussian_linear: x ~ N(x_o / 2, 0.05 + 0.1) per dimension.
        const Task task = gaussianLinear();
        const ReferenceObservation& obs = task.info->referenceObservations.at(0);
        const Matrix xo =
            Eigen::Map<const Eigen::RowVectorXd>(obs.data.data(), Eigen::Index(obs.data.size()));
        PredictiveCheckSettings s;
        s.posteriorSamples = 4000;
        for (int j = 1; j <= 10; ++j)
            s.dataNames.push_back("data_" + std::to_string(j));
        const PredictiveCheckResult r =
            posteriorPredictiveCheck(xo, gaussianLinearPosterior(1.0), *task.simulator, s);
        qInfo("%s", r.summary.c_str());
        QVERIFY(!r.cancelled);
        QCOMPARE(r.verdict, PredictiveVerdict::Consistent);
        QCOMPARE(r.predictions.rows(), Eigen::Index(4000));
        QCOMPARE(r.distances.size(), std::size_t(4000));
        const double sd = std::sqrt(0.15), z95 = 1.6448536;
        for (int j = 0; j < 10; ++j) {
            const PredictiveDimension& d = r.dimensions[std::size_t(j)];
            const double mean = 0.5 * xo(0, j);
            // Sample sd of the mean: 0.39 / sqrt(4000) = 0.006; of the 5% quantile about 0.01.
            SBIW_COMPARE_NEAR(d.mean, mean, 0.025);
            SBIW_COMPARE_REL(d.standardDeviation, sd, 0.05);
            SBIW_COMPARE_NEAR(d.low, mean - z95 * sd, 0.04);
            SBIW_COMPARE_NEAR(d.high, mean + z95 * sd, 0.04);
            SBIW_COMPARE_NEAR(d.median, mean, 0.03);
            // Where x_o falls: P(X <= x_o) = Phi((x_o / 2) / sd).
            const double expected = 0.5 * std::erfc(-(0.5 * xo(0, j) / sd) / std::sqrt(2.0));
            SBIW_COMPARE_NEAR(d.fractionBelow, expected, 0.03);
        }

        // A posterior moved by 3 sd in every parameter predicts data far from x_o.
        const double shift = 3.0 * std::sqrt(kPosteriorVariance);
        const PredictiveCheckResult off = posteriorPredictiveCheck(
            xo, gaussianLinearPosterior(1.0, std::vector<double>(10, shift)), *task.simulator, s);
        qInfo("%s", off.summary.c_str());
        QCOMPARE(off.verdict, PredictiveVerdict::Atypical);
        QVERIFY(off.distancePValue < 0.01);
        QVERIFY(off.medianDistance > r.medianDistance);
        int outside = 0;
        for (const PredictiveDimension& d : off.dimensions)
            outside += d.outsideInterval;
        QVERIFY(outside >= 5);
        QVERIFY2(QString::fromStdString(off.summary).contains("atypical"), off.summary.c_str());

        // Same seed, same check for any thread count.
        s.threads = 1;
        const PredictiveCheckResult one =
            posteriorPredictiveCheck(xo, gaussianLinearPosterior(1.0), *task.simulator, s);
        s.threads = 2;
        const PredictiveCheckResult two =
            posteriorPredictiveCheck(xo, gaussianLinearPosterior(1.0), *task.simulator, s);
        QVERIFY(one.predictions == two.predictions);
        QCOMPARE(one.distances, two.distances);
        QCOMPARE(one.summary, two.summary);
    }

    void settingsValidationNamesTheField() {
        QVERIFY(CalibrationSettings{}.validate().empty());
        QVERIFY(PredictiveCheckSettings{}.validate().empty());
        CalibrationSettings s;
        s.posteriorSamples = 0;
        s.threads = -1;
        QCOMPARE(pathsOf(s.validate()), (QStringList{"posteriorSamples", "threads"}));
        s = {};
        s.sbc.bins = 1;
        s.sbc.bandConfidence = 1.0;
        s.sbc.significance = std::numeric_limits<double>::quiet_NaN();
        s.coverage.levelCount = 0;
        s.coverage.bandConfidence = 0.0;
        s.tarp.levelCount = 1;
        s.tarp.significance = 2.0;
        QCOMPARE(pathsOf(s.validate()),
                 (QStringList{"sbc.bins", "sbc.bandConfidence", "sbc.significance",
                              "coverage.levelCount", "coverage.bandConfidence", "tarp.levelCount",
                              "tarp.significance"}));
        s = {};
        s.posteriorSamples = 9;
        s.sbc.bins = 11;
        const Problems tooManyBins = s.validate();
        QCOMPARE(pathsOf(tooManyBins), QStringList{"sbc.bins"});
        QVERIFY2(QString::fromStdString(tooManyBins[0].message).contains("10"),
                 tooManyBins[0].message.c_str());
        s = {};
        s.runSbc = s.runCoverage = s.runTarp = false;
        QCOMPARE(pathsOf(s.validate()), QStringList{"runSbc"});

        PredictiveCheckSettings p;
        p.posteriorSamples = 1;
        p.intervalLevel = 1.5;
        p.threads = -2;
        QCOMPARE(pathsOf(p.validate()),
                 (QStringList{"posteriorSamples", "threads", "intervalLevel"}));
        p = {};
        p.posteriorSamples = 50;
        p.significance = 0.01;  // 50 predictions cannot give p < 1/51
        const Problems tooFew = p.validate();
        QCOMPARE(pathsOf(tooFew), QStringList{"significance"});
        QVERIFY2(QString::fromStdString(tooFew[0].message).contains("0.0196"),
                 tooFew[0].message.c_str());

        // The runners refuse invalid settings with a SettingsError naming the field.
        s = {};
        s.coverage.levelCount = 0;
        const SimulationBatch& set = calibrationSet();
        try {
            runCalibration(set.theta, set.x, gaussianLinearPosterior(1.0), s);
            QFAIL("expected a SettingsError");
        } catch (const SettingsError& e) {
            QVERIFY2(QString(e.what()).contains("coverage.levelCount"), e.what());
        }
        try {
            judgeSbc(ranksFromCounts({5, 5}), 1, SbcSettings{});  // 20 bins for 2 ranks
            QFAIL("expected a SettingsError");
        } catch (const SettingsError& e) {
            QVERIFY2(QString(e.what()).contains("bins"), e.what());
        }
    }

    void invalidInputsThrowWithMessages() {
        const SimulationBatch& set = calibrationSet();
        const Matrix theta = set.theta.topRows(20), x = set.x.topRows(20);
        const CalibrationSettings s = smallSettings();
        PosteriorAccess noDensity = gaussianLinearPosterior(1.0);
        noDensity.logProb = nullptr;
        QString m = messageOf([&] { runCalibration(theta, x, noDensity, s); });
        QVERIFY2(m.contains("log density"), qPrintable(m));
        CalibrationSettings withoutCoverage = s;
        withoutCoverage.runCoverage = false;
        QVERIFY(runCalibration(theta, x, noDensity, withoutCoverage).sbc.has_value());

        m = messageOf(
            [&] { runCalibration(theta, x.topRows(19), gaussianLinearPosterior(1.0), s); });
        QVERIFY2(m.contains("20 parameter rows") && m.contains("19 data rows"), qPrintable(m));

        PosteriorAccess shortSamples = gaussianLinearPosterior(1.0);
        shortSamples.sample = [](const Matrix&, std::int64_t, std::uint64_t) {
            return Matrix(Matrix::Zero(3, 10));
        };
        m = messageOf([&] { runCalibration(theta, x, shortSamples, s); });
        QVERIFY2(m.contains("3 x 10") && m.contains("99 x 10"), qPrintable(m));

        Matrix badTheta = theta;
        badTheta(4, 1) = std::numeric_limits<double>::quiet_NaN();
        m = messageOf([&] { runCalibration(badTheta, x, gaussianLinearPosterior(1.0), s); });
        QVERIFY2(m.contains("row 4"), qPrintable(m));

        CalibrationSettings names = s;
        names.parameterNames = {"a", "b"};
        m = messageOf([&] { runCalibration(theta, x, gaussianLinearPosterior(1.0), names); });
        QVERIFY2(m.contains("2 parameter names for 10"), qPrintable(m));

        m = messageOf([&] { judgeSbc(ranksFromCounts({3, 0, 0, 4}), 2, SbcSettings{}); });
        QVERIFY2(m.contains("rank 3") && m.contains("0..2"), qPrintable(m));
        m = messageOf([&] { judgeCoverage({}, 10); });
        QVERIFY2(m.contains("no ranks"), qPrintable(m));

        const Task task = gaussianLinear();
        m = messageOf([&] {
            posteriorPredictiveCheck(Matrix::Zero(1, 3), gaussianLinearPosterior(1.0),
                                     *task.simulator);
        });
        QVERIFY2(m.contains("1 x 3") && m.contains("10 values"), qPrintable(m));
    }
};

QTEST_APPLESS_MAIN(TestCalibration)
#include "test_calibration.moc"
