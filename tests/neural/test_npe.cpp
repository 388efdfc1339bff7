// Neural posterior estimation against known answers: the analytic Gaussian posterior of
// gaussian_linear, save/load (file and bytes) reproducing log-probabilities, determinism, support
// handling, training resumed from a checkpoint matching an uninterrupted run, and the posterior
// as the calibration diagnostics call it from several threads.
#include <QTemporaryDir>

#include <atomic>
#include <map>

#include "inference/npe.h"
#include "simulators/catalogue.h"
#include "support/gaussian_linear_3d.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

using test::GaussianLinear3;
JointPrior gaussianPrior() { return test::gaussianLinear3Prior(); }
NpeSettings smallSettings(const std::string& kind) { return test::gaussianLinear3Settings(kind); }
Matrix observation() { return test::gaussianLinear3Observation(); }

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

    // Several i.i.d. observations through the set embedding: with 3 rows x_1..x_3 of N(θ, 0.1 I)
    // the posterior is N(Σ x_i / 4, 0.025 I); the rows may come in any order.
    void setsOfIidTrialsGiveTheAnalyticPosterior() {
        NpeSettings settings = smallSettings("nsf");
        settings.trials = 3;
        settings.simulations = 10000;
        Matrix rows(3, 3);
        rows << 0.4, -0.3, 0.1, 0.2, -0.1, 0.3, 0.6, -0.2, -0.1;
        const NpeResult result = runNpe(gaussianPrior(), GaussianLinear3(), rows, settings);
        QVERIFY2(result.posterior, result.training.stopReason.c_str());
        QCOMPARE(result.posterior->dataDimension(), 9);
        const Matrix samples = result.posterior->sample(20000, rows, 1);
        const Vector mean = test::columnMeans(samples);
        const Matrix cov = test::covariance(samples);
        for (int i = 0; i < 3; ++i) {
            SBIW_COMPARE_NEAR(mean(i), rows.col(i).sum() / 4.0, 0.05);
            SBIW_COMPARE_NEAR(cov(i, i), 0.025, 0.25 * 0.025);
        }
        Matrix shuffled = rows;
        shuffled.row(0) = rows.row(2);
        shuffled.row(2) = rows.row(0);
        const Vector shuffledMean = test::columnMeans(result.posterior->sample(20000, shuffled, 1));
        for (int i = 0; i < 3; ++i) SBIW_COMPARE_NEAR(shuffledMean(i), mean(i), 0.03);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, result.posterior->sample(10, rows.topRows(2), 1));
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

    void resumedTrainingMatchesAnUninterruptedRun() {
        NpeSettings settings = smallSettings("nsf");
        settings.simulations = 600;
        settings.training.maxEpochs = 8;
        settings.training.patience = 100;
        const NpeTrainingSet set = simulateTrainingSet(gaussianPrior(), GaussianLinear3(), settings);
        QCOMPARE(set.theta.rows(), 600);

        struct Trace {
            std::vector<EpochReport> epochs;
            std::vector<TrainingCheckpoint> checkpoints;
            std::map<int, Matrix> snapshots;  // by epoch (the last one: after the best weights are back)
        };
        std::atomic<bool> cancel{false};
        auto hooksFor = [&](Trace& trace, int cancelAfterEpoch) {
            TrainingHooks hooks;
            hooks.cancel = &cancel;
            hooks.checkpointEvery = 2;
            hooks.snapshotEvery = 3;
            hooks.snapshotSamples = 20;
            hooks.onEpoch = [&trace, &cancel, cancelAfterEpoch](const EpochReport& r) {
                trace.epochs.push_back(r);
                if (r.epoch == cancelAfterEpoch) cancel = true;  // stops at epoch 4's first batch
                return false;
            };
            hooks.onCheckpoint = [&trace](const TrainingCheckpoint& c) { trace.checkpoints.push_back(c); };
            hooks.onSnapshot = [&trace](const PosteriorSnapshot& s) { trace.snapshots[s.epoch] = s.samples; };
            return hooks;
        };
        Trace whole, stopped, resumed;
        const NpeResult a = trainNpe(gaussianPrior(), set.theta, set.x, observation(), settings, hooksFor(whole, -1));
        QCOMPARE(int(whole.epochs.size()), 8);

        const NpeResult b = trainNpe(gaussianPrior(), set.theta, set.x, observation(), settings, hooksFor(stopped, 3));
        QCOMPARE(b.training.status, RunStatus::Cancelled);
        QCOMPARE(int(stopped.checkpoints.size()), 2);  // after epoch 2, and epoch 3 when cancelled
        TrainingCheckpoint checkpoint = stopped.checkpoints.back();
        QCOMPARE(checkpoint.epoch, 3);
        checkpoint.history = stopped.epochs;
        cancel = false;
        const NpeResult c = trainNpe(gaussianPrior(), set.theta, set.x, observation(), settings,
                                     hooksFor(resumed, -1), &checkpoint);
        QCOMPARE(c.training.status, RunStatus::Finished);
        QCOMPARE(int(resumed.epochs.size()), 5);
        for (std::size_t i = 0; i < resumed.epochs.size(); ++i) {
            QCOMPARE(resumed.epochs[i].epoch, int(i) + 4);
            SBIW_COMPARE_REL(resumed.epochs[i].validationLoss, whole.epochs[i + 3].validationLoss, 1e-6);
        }
        QCOMPARE(c.training.bestEpoch, a.training.bestEpoch);
        QCOMPARE(int(c.training.history.size()), 8);
        // The same snapshot in epoch 6, and the same posterior at the end.
        QVERIFY(resumed.snapshots.count(6) && whole.snapshots.count(6));
        QVERIFY(((resumed.snapshots[6] - whole.snapshots[6]).array().abs() < 1e-5).all());
        const Matrix theta = gaussianPrior().sample(20, 9);
        const Vector expected = a.posterior->logProb(theta, observation());
        const Vector actual = c.posterior->logProb(theta, observation());
        for (int i = 0; i < 20; ++i) SBIW_COMPARE_NEAR(actual(i), expected(i), 1e-5);
    }

    void bytesRoundTripAndNameTheirSource() {
        NpeSettings settings = smallSettings("maf");
        settings.simulations = 300;
        settings.training.maxEpochs = 2;
        const NpeResult result = runNpe(gaussianPrior(), GaussianLinear3(), observation(), settings);
        QVERIFY(result.posterior);
        const NeuralPosterior loaded = NeuralPosterior::fromBytes(result.posterior->toBytes(), "run 1");
        const Matrix theta = gaussianPrior().sample(30, 4);
        QVERIFY(loaded.logProb(theta, observation()) == result.posterior->logProb(theta, observation()));
        // A Gaussian prior's support is everything: every draw looked at is kept.
        SamplingReport report;
        loaded.sample(1000, observation(), 2, &report);
        QCOMPARE(report.proposed, std::int64_t(1000));
        QCOMPARE(report.acceptanceRate(), 1.0);
        try {
            NeuralPosterior::fromBytes("garbage", "run 7 of /p/x.history.sqlite");
            QFAIL("expected an error");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).startsWith("cannot load the posterior of run 7 of /p/x.history.sqlite: "), e.what());
        }
    }

    void calibrationGivesTheSameRanksOnAnyThreadCount() {
        // The diagnostics call the posterior from several threads at once; its calls take turns
        // and every sampling call seeds its own draws, so the thread count changes nothing.
        NpeSettings settings = smallSettings("mdn");
        settings.simulations = 300;
        settings.training.maxEpochs = 2;
        const NpeResult result = runNpe(gaussianPrior(), GaussianLinear3(), observation(), settings);
        QVERIFY(result.posterior);
        const SimulationBatch set = simulateCalibrationSet(gaussianPrior(), GaussianLinear3(), 40, 3);
        CalibrationSettings calibration;
        calibration.posteriorSamples = 99;
        calibration.sbc.bins = 10;
        calibration.threads = 1;
        const CalibrationRanks one = computeCalibrationRanks(set.theta, set.x, posteriorAccess(*result.posterior), calibration);
        calibration.threads = 4;
        const CalibrationRanks four = computeCalibrationRanks(set.theta, set.x, posteriorAccess(*result.posterior), calibration);
        QVERIFY(one.sbc == four.sbc);
        QVERIFY(one.coverage == four.coverage);
        QVERIFY(one.tarp == four.tarp);
        QCOMPARE(one.sbc.rows(), 40);
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
