// Sequential NPE with the atomic APT loss: the loss itself against hand-computed values, the
// contrasting atoms, the analytic gaussian_linear posterior after two rounds, proposals that
// stay inside a bounded prior, and hooks/cancellation round by round.
#include <atomic>
#include <cmath>
#include <set>

#include "inference/snpe.h"
#include "inference/snpe_loss.h"
#include "support/gaussian_linear_3d.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

SnpeSettings smallSettings() {
    SnpeSettings s;
    s.npe = test::gaussianLinear3Settings("nsf");
    s.npe.simulations = 3000;
    s.npe.training.maxEpochs = 150;
    s.rounds = 2;
    return s;
}

// gaussian_linear's simulator under the uniform box [-1, 1]^3.
JointPrior boxPrior() {
    return JointPrior(
        std::vector<PriorSpec>(3, PriorSpec::scalar("uniform", {{"low", -1.0}, {"high", 1.0}})));
}

// A fixed conditional "density" for the loss checks: log q(θ | x) = -(θ - x)^2 (1-D).
torch::Tensor squareLogQ(const torch::Tensor& theta, const torch::Tensor& x) {
    return -(theta - x).pow(2).sum(1);
}

}  // namespace

class TestSnpe : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    // θ = (0, 1, 2), x = (0, 1, 3), log p(θ) = (0, -1, 0.5); u_ij = -(θ_j - x_i)^2 - log p(θ_j).
    void atomicLossHasTheHandComputedValue_data() {
        QTest::addColumn<int>("atoms");
        QTest::newRow("2 atoms") << 2;
        QTest::newRow("3 atoms (all rows)") << 3;
    }

    void atomicLossHasTheHandComputedValue() {
        QFETCH(int, atoms);
        const torch::Tensor theta = torch::tensor({0.0, 1.0, 2.0}, torch::kDouble).unsqueeze(1);
        const torch::Tensor x = torch::tensor({0.0, 1.0, 3.0}, torch::kDouble).unsqueeze(1);
        const torch::Tensor logPrior = torch::tensor({0.0, -1.0, 0.5}, torch::kDouble);
        torch::Tensor contrast;
        double expected[3];
        if (atoms == 2) {
            contrast = torch::tensor({1, 2, 0}, torch::kLong).unsqueeze(1);
            // row 0: u00 = 0, u01 = -1 + 1 = 0         -> -log 2
            // row 1: u11 = 0 + 1 = 1, u12 = -1 - 0.5    -> 1 - log(e + e^-1.5)
            // row 2: u22 = -1 - 0.5, u20 = -9           -> -1.5 - log(e^-1.5 + e^-9)
            expected[0] = -std::log(2.0);
            expected[1] = 1.0 - std::log(std::exp(1.0) + std::exp(-1.5));
            expected[2] = -1.5 - std::log(std::exp(-1.5) + std::exp(-9.0));
        } else {
            contrast = torch::tensor({1, 2, 2, 0, 0, 1}, torch::kLong).reshape({3, 2});
            // row 0 adds u02 = -4 - 0.5; row 1 adds u10 = -1 - 0; row 2 adds u21 = -4 + 1
            expected[0] = -std::log(2.0 + std::exp(-4.5));
            expected[1] = 1.0 - std::log(std::exp(1.0) + std::exp(-1.5) + std::exp(-1.0));
            expected[2] = -1.5 - std::log(std::exp(-1.5) + std::exp(-9.0) + std::exp(-3.0));
        }
        const torch::Tensor logProbs =
            neural::atomicLogProbs(squareLogQ, theta, x, logPrior, contrast);
        QCOMPARE(logProbs.size(0), 3);
        for (int i = 0; i < 3; ++i)
            SBIW_COMPARE_NEAR(logProbs[i].item<double>(), expected[i], 1e-12);
        if (atoms == 2)
            SBIW_COMPARE_NEAR(-logProbs.mean().item<double>(), 0.2575295, 1e-6);
    }

    // With q equal to the prior (x ignored) every atom scores the same: the loss is log K.
    void atomicLossOfAnUninformedEstimatorIsLogK() {
        const torch::Tensor theta = torch::randn({50, 2}, torch::kDouble);
        const torch::Tensor x = torch::randn({50, 3}, torch::kDouble);
        const auto logQ = [](const torch::Tensor& t, const torch::Tensor&) {
            return -0.5 * t.pow(2).sum(1);
        };
        const torch::Tensor logPrior = -0.5 * theta.pow(2).sum(1);
        const torch::Tensor contrast = neural::drawContrastingAtoms(50, 10, 3, 0);
        SBIW_COMPARE_NEAR(
            -neural::atomicLogProbs(logQ, theta, x, logPrior, contrast).mean().item<double>(),
            std::log(10.0), 1e-12);
    }

    void contrastingAtomsAreDistinctOtherRows() {
        for (const auto& [batch, atoms] :
             std::vector<std::pair<int, int>>{{200, 10}, {5, 10}, {2, 10}, {1, 10}, {7, 2}}) {
            const torch::Tensor c = neural::drawContrastingAtoms(batch, atoms, 11, 4);
            QCOMPARE(c.size(0), std::int64_t(batch));
            QCOMPARE(c.size(1), std::int64_t(std::min(atoms, batch) - 1));
            for (int i = 0; i < batch; ++i) {
                std::set<std::int64_t> seen;
                for (int a = 0; a < c.size(1); ++a) {
                    const std::int64_t j = c[i][a].item<std::int64_t>();
                    QVERIFY(j >= 0 && j < batch && j != i);
                    QVERIFY(seen.insert(j).second);
                }
            }
        }
        // Reproducible from (seed, index), different across indices.
        QVERIFY(torch::equal(neural::drawContrastingAtoms(100, 10, 1, 2),
                             neural::drawContrastingAtoms(100, 10, 1, 2)));
        QVERIFY(!torch::equal(neural::drawContrastingAtoms(100, 10, 1, 2),
                              neural::drawContrastingAtoms(100, 10, 1, 3)));
    }

    // Prior N(0, 0.1 I), x ~ N(θ, 0.1 I): the posterior is N(x_o / 2, 0.05 I).
    void twoRoundsRecoverTheAnalyticPosterior() {
        const Matrix xo = test::gaussianLinear3Observation();
        const SnpeSettings settings = smallSettings();
        const SnpeResult result =
            runSnpe(test::gaussianLinear3Prior(), test::GaussianLinear3(), xo, settings);
        QVERIFY2(result.training.status == RunStatus::Finished, result.training.stopReason.c_str());
        QVERIFY(result.posterior.has_value());
        QCOMPARE(int(result.rounds.size()), 2);
        QCOMPARE(result.simulationCount, std::int64_t(3000));
        QCOMPARE(result.rounds[0].simulations, std::int64_t(1500));
        QCOMPARE(result.rounds[1].trainingPairs, std::int64_t(3000));
        QCOMPARE(result.theta.rows(), std::int64_t(3000));
        const Matrix samples = result.posterior->sample(5000, xo, 9);
        const Vector mean = test::columnMeans(samples);
        const Matrix cov = test::covariance(samples);
        for (int i = 0; i < 3; ++i) {
            SBIW_COMPARE_NEAR(mean(i), xo(0, i) / 2.0, 0.04);
            SBIW_COMPARE_NEAR(cov(i, i), 0.05, 0.3 * 0.05);
            for (int j = 0; j < i; ++j)
                SBIW_COMPARE_NEAR(cov(i, j), 0.0, 0.015);
        }
        // Round 2's proposals come from round 1's posterior: closer to x_o / 2 than the prior.
        Vector proposalMean = Vector::Zero(3);
        for (Eigen::Index r = 0; r < result.theta.rows(); ++r)
            if (result.roundOfRow[std::size_t(r)] == 2)
                proposalMean += result.theta.row(r).transpose() / 1500.0;
        for (int i = 0; i < 3; ++i)
            SBIW_COMPARE_NEAR(proposalMean(i), xo(0, i) / 2.0, 0.05);
    }

    // An observation at the corner of the box: the flow puts much of its mass outside, and every
    // proposal θ must still be inside (the posterior's support rejection), row by row.
    void proposalsNeverLeaveThePriorSupport() {
        const JointPrior prior = boxPrior();
        Matrix xo(1, 3);
        xo << 0.97, -0.95, 0.99;
        SnpeSettings settings = smallSettings();
        settings.npe.simulations = 900;
        settings.npe.training.maxEpochs = 15;
        settings.rounds = 3;
        const SnpeResult result = runSnpe(prior, test::GaussianLinear3(), xo, settings);
        QVERIFY2(result.training.status == RunStatus::Finished, result.training.stopReason.c_str());
        QCOMPARE(int(result.rounds.size()), 3);
        QCOMPARE(std::int64_t(result.roundOfRow.size()), result.theta.rows());
        int later = 0;
        for (Eigen::Index r = 0; r < result.theta.rows(); ++r) {
            QVERIFY2(prior.inSupport(result.theta.row(r).data()),
                     qPrintable(QString("row %1 outside").arg(r)));
            later += result.roundOfRow[std::size_t(r)] >= 2;
        }
        QCOMPARE(later, 600);
        // The rejection had something to reject: otherwise this test would prove nothing.
        double lowest = 1.0;
        for (const SnpeRound& round : result.rounds)
            lowest = std::min(lowest, round.proposalAcceptance);
        QVERIFY2(lowest < 0.95, qPrintable(QString("acceptance %1").arg(lowest)));
    }

    void hooksReportRoundsAndCancelInLaterRounds() {
        SnpeSettings settings = smallSettings();
        settings.npe.simulations = 600;
        settings.npe.training.maxEpochs = 3;
        settings.rounds = 3;
        std::atomic<bool> cancel{false};
        std::set<int> epochRounds, snapshotRounds;
        int simulatingStages = 0;
        TrainingHooks hooks;
        hooks.cancel = &cancel;
        hooks.snapshotEvery = 1;
        hooks.snapshotSamples = 20;
        hooks.onStage = [&](const std::string& stage) {
            simulatingStages += stage == "simulating";
        };
        hooks.onEpoch = [&](const EpochReport& r) {
            epochRounds.insert(r.round);
            if (r.round == 2 && r.epoch == 2)
                cancel = true;  // caught by round 2's next batch
            return false;
        };
        hooks.onSnapshot = [&](const PosteriorSnapshot& s) { snapshotRounds.insert(s.round); };
        const SnpeResult result = runSnpe(test::gaussianLinear3Prior(), test::GaussianLinear3(),
                                          test::gaussianLinear3Observation(), settings, hooks);
        QCOMPARE(result.training.status, RunStatus::Cancelled);
        QVERIFY2(QString::fromStdString(result.training.stopReason).startsWith("round 2:"),
                 result.training.stopReason.c_str());
        QCOMPARE(int(result.rounds.size()), 2);
        QCOMPARE(epochRounds, (std::set<int>{1, 2}));
        QVERIFY(snapshotRounds.count(1) && snapshotRounds.count(2));
        QCOMPARE(simulatingStages, 2);
        QVERIFY(result.posterior.has_value());  // round 2's best epoch so far
        for (const EpochReport& r : result.training.history)
            QVERIFY(r.round == 1 || r.round == 2);

        // Cancelled while simulating round 2.
        cancel = false;
        hooks.onEpoch = [](const EpochReport&) { return false; };
        hooks.onSnapshot = nullptr;
        hooks.onStage = [&](const std::string& stage) {
            if (stage == "simulating" && simulatingStages++ > 0)
                cancel = true;
        };
        simulatingStages = 0;
        const SnpeResult second = runSnpe(test::gaussianLinear3Prior(), test::GaussianLinear3(),
                                          test::gaussianLinear3Observation(), settings, hooks);
        QCOMPARE(second.training.status, RunStatus::Cancelled);
        QVERIFY2(QString::fromStdString(second.training.stopReason).contains("while simulating"),
                 second.training.stopReason.c_str());
        QCOMPARE(int(second.rounds.size()), 2);
        QVERIFY(second.posterior.has_value());  // round 1's
    }

    void badSettingsAreRejected() {
        SnpeSettings settings = smallSettings();
        settings.rounds = 0;
        settings.atoms = 1;
        try {
            runSnpe(test::gaussianLinear3Prior(), test::GaussianLinear3(),
                    test::gaussianLinear3Observation(), settings);
            QFAIL("expected SettingsError");
        } catch (const SettingsError& e) {
            QVERIFY2(QString(e.what()).contains("rounds"), e.what());
            QVERIFY2(QString(e.what()).contains("atoms"), e.what());
        }
        settings = smallSettings();
        settings.npe.simulations = 5;
        settings.rounds = 3;
        QVERIFY(!settings.validate().empty());
        settings.npe.simulations = 7;  // 3 + 2 + 2
        QVERIFY(settings.validate().empty());
        QCOMPARE(settings.simulationsInRound(1), std::int64_t(3));
        QCOMPARE(settings.simulationsInRound(3), std::int64_t(2));
        Matrix two(2, 3);
        two.setZero();
        QVERIFY_THROWS_EXCEPTION(
            std::invalid_argument,
            runSnpe(test::gaussianLinear3Prior(), test::GaussianLinear3(), two, smallSettings()));
    }
};

QTEST_APPLESS_MAIN(TestSnpe)
#include "test_snpe.moc"
