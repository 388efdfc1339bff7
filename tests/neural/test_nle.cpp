// Neural likelihood estimation against known answers: on the 3-D gaussian_linear problem the
// posterior is Gaussian and analytic for one observation and for several i.i.d. ones.
#include "inference/nle.h"
#include "support/gaussian_linear_3d.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

NleSettings smallSettings() {
    NleSettings s;
    s.estimator.hiddenFeatures = 32;
    s.estimator.transforms = 3;
    s.simulations = 4000;
    s.seed = 5;
    s.device = "cpu";
    s.threads = 1;
    s.training.batchSize = 100;
    s.training.learningRate = 1e-3;
    s.training.maxEpochs = 200;
    s.mcmc.chains = 20;
    s.mcmc.samples = 4000;
    s.mcmc.warmupSteps = 50;
    s.mcmc.thinning = 5;
    s.mcmc.seed = 2;
    return s;
}

}  // namespace

class TestNle : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    // n i.i.d. rows x_1..x_n of N(θ, 0.1 I) under the prior N(0, 0.1 I): the posterior is
    // N(Σ x_i / (n + 1), 0.1 / (n + 1) I).
    void recoversTheAnalyticPosterior_data() {
        QTest::addColumn<int>("trials");
        QTest::newRow("one observation") << 1;
        QTest::newRow("three i.i.d. observations") << 3;
    }

    void recoversTheAnalyticPosterior() {
        QFETCH(int, trials);
        Matrix observation(trials, 3);
        const Matrix first = test::gaussianLinear3Observation();
        for (int r = 0; r < trials; ++r)
            observation.row(r) = first.row(0) * (1.0 - 0.2 * r);
        const NleResult result = runNle(test::gaussianLinear3Prior(), test::GaussianLinear3(),
                                        observation, smallSettings());
        QVERIFY2(result.trained, result.training.stopReason.c_str());
        QCOMPARE(result.posterior.samples.rows(), 4000);
        const Vector mean = test::columnMeans(result.posterior.samples);
        const Matrix cov = test::covariance(result.posterior.samples);
        const double variance = 0.1 / (trials + 1);
        for (int i = 0; i < 3; ++i) {
            SBIW_COMPARE_NEAR(mean(i), observation.col(i).sum() / (trials + 1), 0.05);
            SBIW_COMPARE_NEAR(cov(i, i), variance, 0.35 * variance);
            QVERIFY(result.posterior.rhat(i) < 1.1);
        }
    }

    // The GUI draws every method's posterior while it trains: NLE's snapshots come from a short
    // MCMC run with the current network, and the last one is already near the answer.
    void snapshotsComeFromShortChains() {
        std::vector<PosteriorSnapshot> snapshots;
        TrainingHooks hooks;
        hooks.snapshotEvery = 5;
        hooks.snapshotSamples = 300;
        hooks.onSnapshot = [&snapshots](const PosteriorSnapshot& s) { snapshots.push_back(s); };
        const Matrix observation = test::gaussianLinear3Observation();
        const NleResult result = runNle(test::gaussianLinear3Prior(), test::GaussianLinear3(), observation,
                                        smallSettings(), hooks);
        QVERIFY2(result.trained, result.training.stopReason.c_str());
        QVERIFY(snapshots.size() >= 2);
        for (const PosteriorSnapshot& s : snapshots) {
            QCOMPARE(s.samples.rows(), Eigen::Index(300));
            QCOMPARE(s.samples.cols(), Eigen::Index(3));
            QVERIFY(s.samples.allFinite());
        }
        const Vector mean = test::columnMeans(snapshots.back().samples);
        for (int i = 0; i < 3; ++i) SBIW_COMPARE_NEAR(mean(i), observation(0, i) / 2, 0.1);
    }

    void badSettingsAreRejected() {
        NleSettings settings = smallSettings();
        settings.mcmc.chains = 0;
        settings.estimator.kind = "realnvp";
        try {
            runNle(test::gaussianLinear3Prior(), test::GaussianLinear3(),
                   test::gaussianLinear3Observation(), settings);
            QFAIL("expected SettingsError");
        } catch (const SettingsError& e) {
            QVERIFY2(QString(e.what()).contains("estimator.kind"), e.what());
            QVERIFY2(QString(e.what()).contains("mcmc.chains"), e.what());
        }
        Matrix wrong(1, 2);
        wrong << 0.1, 0.2;
        QVERIFY_THROWS_EXCEPTION(
            std::invalid_argument,
            runNle(test::gaussianLinear3Prior(), test::GaussianLinear3(), wrong, smallSettings()));
    }
};

QTEST_APPLESS_MAIN(TestNle)
#include "test_nle.moc"
