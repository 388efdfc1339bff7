// Batch simulation: reproducible for any thread count and split, non-finite outputs and
// failures reported (never dropped), progress and cancellation.
#include <atomic>
#include <chrono>
#include <thread>
#include <cmath>
#include <stdexcept>

#include "priors/joint_prior.h"
#include "simulators/batch_simulation.h"
#include "simulators/iid_trials.h"
#include "simulators/simulator.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

// x = θ + N(0, 1) noise; NaN when θ0 > nanAbove; throws when θ0 < throwBelow.
class NoisyIdentity : public Simulator {
public:
    NoisyIdentity(double nanAbove = INFINITY, double throwBelow = -INFINITY)
        : nanAbove_(nanAbove), throwBelow_(throwBelow) {}
    int parameterDimension() const override { return 2; }
    int dataDimension() const override { return 2; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        if (theta[0] < throwBelow_) throw std::runtime_error("theta too small");
        for (int i = 0; i < 2; ++i) x[i] = theta[i] + rng.normal();
        if (theta[0] > nanAbove_) x[1] = std::nan("");
    }

private:
    double nanAbove_, throwBelow_;
};

JointPrior uniformPrior() {
    return JointPrior({PriorSpec::scalar("uniform", {{"low", -1.0}, {"high", 1.0}}),
                       PriorSpec::scalar("uniform", {{"low", -1.0}, {"high", 1.0}})});
}

bool sameWithNaN(const Matrix& a, const Matrix& b) {
    if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
    for (Eigen::Index i = 0; i < a.size(); ++i) {
        const double u = a.data()[i], v = b.data()[i];
        if (!(u == v || (std::isnan(u) && std::isnan(v)))) return false;
    }
    return true;
}

}  // namespace

class TestBatchSimulation : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sameResultForAnyThreadCountAndChunking() {
        const JointPrior prior = uniformPrior();
        NoisyIdentity simulator;
        SimulationOptions options;
        options.seed = 42;
        options.threads = 1;
        const SimulationBatch reference = simulateFromPrior(prior, simulator, 5000, options);
        for (int threads : {2, 3, 8}) {
            for (std::int64_t chunk : {0, 1, 7, 1000}) {
                options.threads = threads;
                options.chunkSize = chunk;
                const SimulationBatch other = simulateFromPrior(prior, simulator, 5000, options);
                QVERIFY2(other.theta == reference.theta, qPrintable(QString("threads %1 chunk %2").arg(threads).arg(chunk)));
                QVERIFY(other.x == reference.x);
            }
        }
    }

    void differentSeedsGiveDifferentDraws() {
        const JointPrior prior = uniformPrior();
        NoisyIdentity simulator;
        SimulationOptions a, b;
        a.seed = 1;
        b.seed = 2;
        QVERIFY(simulateFromPrior(prior, simulator, 10, a).theta != simulateFromPrior(prior, simulator, 10, b).theta);
    }

    void firstIndexExtendsAnEarlierBatch() {
        const JointPrior prior = uniformPrior();
        NoisyIdentity simulator;
        SimulationOptions options;
        options.seed = 7;
        const SimulationBatch whole = simulateFromPrior(prior, simulator, 300, options);
        options.firstIndex = 200;
        const SimulationBatch tail = simulateFromPrior(prior, simulator, 100, options);
        QVERIFY(tail.theta == whole.theta.bottomRows(100));
        QVERIFY(tail.x == whole.x.bottomRows(100));
    }

    void simulateAtReproducesTheSameNoise() {
        // Simulation i uses the stream (seed, i) whether θ came from the prior or from a file.
        const JointPrior prior = uniformPrior();
        NoisyIdentity simulator;
        SimulationOptions options;
        options.seed = 99;
        const SimulationBatch fromPrior = simulateFromPrior(prior, simulator, 1000, options);
        const SimulationBatch atTheta = simulateAt(fromPrior.theta, simulator, options);
        QVERIFY(atTheta.x == fromPrior.x);
    }

    void noiseHasTheRequestedDistribution() {
        // Known answer: x - θ ~ N(0, 1) per coordinate.
        const JointPrior prior = uniformPrior();
        NoisyIdentity simulator;
        SimulationOptions options;
        options.seed = 3;
        const SimulationBatch batch = simulateFromPrior(prior, simulator, 200000, options);
        const Matrix noise = batch.x - batch.theta;
        const Vector mean = test::columnMeans(noise);
        const Matrix cov = test::covariance(noise);
        for (int i = 0; i < 2; ++i) {
            SBIW_COMPARE_NEAR(mean(i), 0.0, 0.01);
            SBIW_COMPARE_NEAR(cov(i, i), 1.0, 0.015);
        }
        SBIW_COMPARE_NEAR(cov(0, 1), 0.0, 0.01);
        const Vector thetaMean = test::columnMeans(batch.theta);
        SBIW_COMPARE_NEAR(thetaMean(0), 0.0, 0.01);
        SBIW_COMPARE_NEAR(test::covariance(batch.theta)(0, 0), 1.0 / 3.0, 0.01);
    }

    void nonFiniteRowsAreKeptAndReported() {
        const JointPrior prior = uniformPrior();
        NoisyIdentity simulator(/*nanAbove=*/0.5);
        SimulationOptions options;
        options.seed = 5;
        const SimulationBatch batch = simulateFromPrior(prior, simulator, 1000, options);
        QCOMPARE(batch.count(), 1000);
        std::vector<std::int64_t> expected;
        for (std::int64_t r = 0; r < batch.count(); ++r)
            if (batch.theta(r, 0) > 0.5) expected.push_back(r);
        QVERIFY(expected.size() > 150 && expected.size() < 350);  // ~25% of U(-1, 1)
        QCOMPARE(batch.nonFiniteRows, expected);
        QCOMPARE(batch.finiteCount(), 1000 - std::int64_t(expected.size()));
        QCOMPARE(batch.failureCount, 0);
        QVERIFY(QString::fromStdString(batch.nonFiniteSummary())
                    .startsWith(QString("%1 of 1000 simulations gave non-finite data").arg(expected.size())));
    }

    // Sets of i.i.d. trials: simulation i's trial m is the wrapped simulator's simulation
    // i * trials + m at the same θ, so the sets are reproducible for any thread count and their
    // trials independent; a failing trial fails its whole set, naming the trial.
    void iidTrialsAreTheWrappedSimulationsAtOneTheta() {
        const JointPrior prior = uniformPrior();
        NoisyIdentity base;
        const IidTrialsSimulator sets(base, 3);
        QCOMPARE(sets.dataDimension(), 6);
        SimulationOptions options;
        options.seed = 9;
        options.threads = 1;
        const SimulationBatch grouped = simulateFromPrior(prior, sets, 400, options);
        options.threads = 2;
        options.chunkSize = 7;
        QVERIFY(sameWithNaN(simulateFromPrior(prior, sets, 400, options).x, grouped.x));
        Matrix repeated(1200, 2);
        for (Eigen::Index r = 0; r < 1200; ++r) repeated.row(r) = grouped.theta.row(r / 3);
        const SimulationBatch single = simulateAt(repeated, base, options);
        for (Eigen::Index r = 0; r < 400; ++r)
            for (int m = 0; m < 3; ++m)
                QCOMPARE(grouped.x.block(r, 2 * m, 1, 2), single.x.row(3 * r + m));
        // x - θ is N(0, 1) noise, independent between the trials of a set.
        const Matrix noise = grouped.x - (Matrix(400, 6) << grouped.theta, grouped.theta, grouped.theta).finished();
        const Matrix cov = test::covariance(noise);
        SBIW_COMPARE_NEAR(cov(0, 0), 1.0, 0.2);
        SBIW_COMPARE_NEAR(cov(0, 2), 0.0, 0.15);
        SBIW_COMPARE_NEAR(cov(0, 4), 0.0, 0.15);

        NoisyIdentity failing(INFINITY, /*throwBelow=*/-0.9);
        const SimulationBatch withFailures = simulateFromPrior(prior, IidTrialsSimulator(failing, 2), 500, options);
        QVERIFY(withFailures.failureCount > 10);
        QVERIFY(QString::fromStdString(withFailures.failures.front().message).startsWith("trial 1: theta too small"));
        for (std::int64_t r = 0; r < withFailures.count(); ++r)
            QCOMPARE(!withFailures.x.row(r).allFinite(), withFailures.theta(r, 0) < -0.9);

        Matrix observation(2, 3);
        observation << 1, 2, 3, 4, 5, 6;
        QCOMPARE(flattenTrials(observation), (Matrix(1, 6) << 1, 2, 3, 4, 5, 6).finished());
    }

    void simulatorErrorsBecomeNaNRowsWithTheirMessage() {
        const JointPrior prior = uniformPrior();
        NoisyIdentity simulator(INFINITY, /*throwBelow=*/-0.9);
        SimulationOptions options;
        options.seed = 11;
        options.threads = 2;
        const SimulationBatch batch = simulateFromPrior(prior, simulator, 2000, options);
        std::int64_t expected = 0;
        for (std::int64_t r = 0; r < batch.count(); ++r) {
            const bool shouldFail = batch.theta(r, 0) < -0.9;
            expected += shouldFail;
            QCOMPARE(!batch.x.row(r).allFinite(), shouldFail);
        }
        QVERIFY(expected > 50);
        QCOMPARE(batch.failureCount, expected);
        QCOMPARE(batch.failures.size(), SimulationBatch::kMaxRecordedFailures);
        QCOMPARE(QString::fromStdString(batch.failures.front().message), QString("theta too small"));
        QVERIFY(batch.theta(batch.failures.front().row, 0) < -0.9);
        QVERIFY(std::is_sorted(batch.failures.begin(), batch.failures.end(),
                               [](const auto& a, const auto& b) { return a.row < b.row; }));
    }

    void cancellationKeepsACompletedPrefix() {
        // A slow simulator so that the cancel lands mid-run.
        class Slow : public NoisyIdentity {
            void simulate(const double* theta, double* x, RandomStream& rng) const override {
                std::this_thread::sleep_for(std::chrono::microseconds(200));
                NoisyIdentity::simulate(theta, x, rng);
            }
        } simulator;
        const JointPrior prior = uniformPrior();
        SimulationOptions options;
        options.seed = 1;
        options.threads = 2;
        options.chunkSize = 10;
        std::atomic<bool> cancel{false};
        int progressCalls = 0;
        LoopControl control;
        control.cancelFlag = &cancel;
        control.progressIntervalSeconds = 0.01;
        control.onProgress = [&](const LoopProgress& p) {
            ++progressCalls;
            QVERIFY(p.total == 100000);
            if (p.completed > 100) cancel = true;
        };
        const SimulationBatch batch = simulateFromPrior(prior, simulator, 100000, options, control);
        QVERIFY(batch.cancelled);
        QVERIFY(batch.count() >= 100 && batch.count() < 100000);
        QCOMPARE(batch.count() % 10, 0);
        QVERIFY(progressCalls >= 2);
        // The prefix equals what an uncancelled run gives.
        options.threads = 1;
        const SimulationBatch full = simulateFromPrior(prior, NoisyIdentity(), batch.count(), options);
        QVERIFY(sameWithNaN(full.x, batch.x));
    }

    void dimensionMismatchIsAnError() {
        NoisyIdentity simulator;
        const JointPrior prior({PriorSpec::scalar("normal", {{"mean", 0.0}, {"std", 1.0}})});
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, simulateFromPrior(prior, simulator, 10, {}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, simulateAt(Matrix::Zero(3, 5), simulator, {}));
    }
};

QTEST_APPLESS_MAIN(TestBatchSimulation)
#include "test_batch_simulation.moc"
