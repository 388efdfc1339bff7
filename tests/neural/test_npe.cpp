// Neural posterior estimation against known answers: the analytic Gaussian posterior of
// gaussian_linear, save/load reproducing log-probabilities, determinism, support handling.
#include <QTemporaryDir>

#include "inference/npe.h"
#include "simulators/catalogue.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

// A 3-D version of sbibm's gaussian_linear (prior N(0, 0.1 I), x ~ N(θ, 0.1 I)): the posterior
// is N(x_o / 2, 0.05 I). Small enough to train in seconds.
class GaussianLinear3 : public Simulator {
public:
    int parameterDimension() const override { return 3; }
    int dataDimension() const override { return 3; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        for (int i = 0; i < 3; ++i) x[i] = theta[i] + std::sqrt(0.1) * rng.normal();
    }
};

JointPrior gaussianPrior() {
    std::vector<PriorSpec> blocks(3, PriorSpec::scalar("normal", {{"mean", 0.0}, {"std", std::sqrt(0.1)}}));
    return JointPrior(blocks);
}

NpeSettings smallSettings(const std::string& kind) {
    NpeSettings s;
    s.estimator.kind = kind;
    s.estimator.hiddenFeatures = 32;
    s.estimator.transforms = 3;
    s.simulations = 5000;
    s.seed = 7;
    s.device = "cpu";
    s.threads = 1;  // small networks train fastest on one thread
    s.training.batchSize = 100;
    s.training.learningRate = 1e-3;
    s.training.maxEpochs = 300;
    return s;
}

Matrix observation() {
    Matrix x(1, 3);
    x << 0.4, -0.3, 0.1;
    return x;
}

}  // namespace

class TestNpe : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void recoversTheAnalyticPosterior_data() {
        QTest::addColumn<QString>("kind");
        QTest::newRow("nsf") << "nsf";
        QTest::newRow("maf") << "maf";
        QTest::newRow("mdn") << "mdn";
    }

    void recoversTheAnalyticPosterior() {
        QFETCH(QString, kind);
        const NpeResult result =
            runNpe(gaussianPrior(), GaussianLinear3(), observation(), smallSettings(kind.toStdString()));
        QVERIFY2(result.posterior, result.training.stopReason.c_str());
        QCOMPARE(result.training.status, RunStatus::Finished);
        const Matrix samples = result.posterior->sample(20000, observation(), 1);
        const Vector mean = test::columnMeans(samples);
        const Matrix cov = test::covariance(samples);
        for (int i = 0; i < 3; ++i) {
            // Exact: mean x_o / 2, variance 0.05 (std 0.224); allow a few percent of estimator error.
            SBIW_COMPARE_NEAR(mean(i), observation()(0, i) / 2.0, 0.05);
            SBIW_COMPARE_NEAR(cov(i, i), 0.05, 0.012);
            for (int j = 0; j < i; ++j) SBIW_COMPARE_NEAR(cov(i, j), 0.0, 0.012);
        }
        // log q at the posterior mean vs the exact log-density there: -3/2 log(2π 0.05).
        Matrix centre(1, 3);
        centre << 0.2, -0.15, 0.05;
        SBIW_COMPARE_NEAR(result.posterior->logProb(centre, observation())(0), -1.5 * std::log(2 * M_PI * 0.05), 0.25);
    }

    void saveAndLoadReproduceLogProbabilities() {
        NpeSettings settings = smallSettings("nsf");
        settings.simulations = 500;
        settings.training.maxEpochs = 3;
        const NpeResult result = runNpe(gaussianPrior(), GaussianLinear3(), observation(), settings);
        QVERIFY(result.posterior);
        QTemporaryDir dir;
        const std::string path = (dir.path() + "/posterior.pt").toStdString();
        result.posterior->save(path);
        const NeuralPosterior loaded = NeuralPosterior::load(path);
        QCOMPARE(loaded.parameterDimension(), 3);
        QCOMPARE(loaded.estimatorSettings().kind, std::string("nsf"));
        const Matrix theta = gaussianPrior().sample(50, 3);
        const Vector before = result.posterior->logProb(theta, observation());
        const Vector after = loaded.logProb(theta, observation());
        for (int i = 0; i < 50; ++i) QCOMPARE(after(i), before(i));
        QVERIFY(result.posterior->sample(100, observation(), 5) == loaded.sample(100, observation(), 5));
        // A file that is not a posterior is refused with its name in the message.
        QFile junk(dir.path() + "/junk.pt");
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.write("not a model");
        junk.close();
        try {
            NeuralPosterior::load((dir.path() + "/junk.pt").toStdString());
            QFAIL("expected an error");
        } catch (const std::runtime_error& e) {
            QVERIFY(QString(e.what()).contains("junk.pt"));
        }
    }

    void sameSeedSameResult() {
        NpeSettings settings = smallSettings("maf");
        settings.simulations = 400;
        settings.training.maxEpochs = 2;
        const NpeResult a = runNpe(gaussianPrior(), GaussianLinear3(), observation(), settings);
        const NpeResult b = runNpe(gaussianPrior(), GaussianLinear3(), observation(), settings);
        QCOMPARE(a.training.history.back().validationLoss, b.training.history.back().validationLoss);
        QVERIFY(a.posterior->sample(50, observation(), 3) == b.posterior->sample(50, observation(), 3));
    }

    void samplesStayInsideABoundedPrior() {
        // two_moons has a uniform prior on [-1, 1]^2; rejection keeps every draw inside and
        // reports the acceptance rate.
        const TaskInfo* task = findTask("two_moons");
        NpeSettings settings = smallSettings("maf");
        settings.simulations = 1000;
        settings.training.maxEpochs = 5;
        const JointPrior prior(task->defaultPrior);
        Matrix xo = Eigen::Map<const Matrix>(task->referenceObservations[0].data.data(), 1, 2);
        const NpeResult result = runNpe(prior, *task->create(), xo, settings);
        QVERIFY(result.posterior);
        SamplingReport report;
        const Matrix samples = result.posterior->sample(5000, xo, 2, &report);
        QVERIFY((samples.array().abs() <= 1.0).all());
        QCOMPARE(report.accepted, 5000);
        QVERIFY(report.proposed >= 5000);
        QVERIFY(report.acceptanceRate() > 0.0 && report.acceptanceRate() <= 1.0);
        Matrix outside(1, 2);
        outside << 1.5, 0.0;
        QCOMPARE(result.posterior->logProb(outside, xo)(0), -INFINITY);
    }

    void snapshotsAreDrawnAtTheObservation() {
        NpeSettings settings = smallSettings("mdn");
        settings.simulations = 500;
        settings.training.maxEpochs = 4;
        settings.training.patience = 100;
        TrainingHooks hooks;
        hooks.snapshotEvery = 2;
        hooks.snapshotSamples = 64;
        int snapshots = 0;
        hooks.onSnapshot = [&](const PosteriorSnapshot& s) {
            ++snapshots;
            QCOMPARE(s.samples.rows(), 64);
            QCOMPARE(s.samples.cols(), 3);
        };
        runNpe(gaussianPrior(), GaussianLinear3(), observation(), settings, hooks);
        QCOMPARE(snapshots, 3);  // epochs 2 and 4, and the final (best) weights
    }

    void badSettingsAreRejected() {
        NpeSettings settings = smallSettings("realnvp");
        try {
            runNpe(gaussianPrior(), GaussianLinear3(), observation(), settings);
            QFAIL("expected SettingsError");
        } catch (const SettingsError& e) {
            QVERIFY(QString(e.what()).contains("estimator.kind: 'realnvp' is not one of: maf, nsf, mdn"));
        }
    }
};

QTEST_APPLESS_MAIN(TestNpe)
#include "test_npe.moc"
