// Neural likelihood (NLE, SNLE) and ratio estimation (NRE-A, NRE-C, SNRE-C) against known
// answers: on the 3-D gaussian_linear problem (prior N(0, 0.1 I), x ~ N(θ, 0.1 I)) the posterior
// of n i.i.d. rows x_1..x_n is N(Σ x_i / (n + 1), 0.1 / (n + 1) I).
#include <map>
#include <mutex>

#include "inference/mcmc_posterior.h"
#include "inference/nle.h"
#include "inference/nre.h"
#include "support/gaussian_linear_3d.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

// The sequential methods simulate where the current posterior is: this records every θ asked.
class RecordingSimulator : public test::GaussianLinear3 {
  public:
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            asked_.emplace_back(theta, theta + 3);
        }
        test::GaussianLinear3::simulate(theta, x, rng);
    }
    Matrix askedFrom(std::size_t first) const {
        Matrix rows(Eigen::Index(asked_.size() - first), 3);
        for (std::size_t r = first; r < asked_.size(); ++r)
            for (int c = 0; c < 3; ++c)
                rows(Eigen::Index(r - first), c) = asked_[r][std::size_t(c)];
        return rows;
    }
    std::size_t count() const { return asked_.size(); }

  private:
    mutable std::mutex mutex_;
    mutable std::vector<std::vector<double>> asked_;
};

// Eight 0/1 outcomes of one success probability θ, x_j ~ Bernoulli(θ), under θ ~ U(0, 1): the
// posterior of x_o with k successes is Beta(k + 1, 8 - k + 1).
class EightCoinFlips : public Simulator {
  public:
    int parameterDimension() const override { return 1; }
    int dataDimension() const override { return 8; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        for (int j = 0; j < 8; ++j)
            x[j] = rng.uniform() < theta[0] ? 1.0 : 0.0;
    }
};

// Two positive rates with multiplicative noise, x_j = θ_j exp(0.2 ε_j), under LogNormal(0, 0.5)
// priors: in log θ and log x this is a conjugate Gaussian problem, so the posterior of log θ_j is
// N(log x_j · 25 / 29, 1 / 29) (precisions 1 / 0.2² = 25 and 1 / 0.5² = 4).
class NoisyRates : public Simulator {
  public:
    int parameterDimension() const override { return 2; }
    int dataDimension() const override { return 2; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        for (int j = 0; j < 2; ++j)
            x[j] = theta[j] * std::exp(0.2 * rng.normal());
    }
};

JointPrior noisyRatesPrior() {
    return JointPrior(std::vector<PriorSpec>(
        2, PriorSpec::scalar("lognormal", {{"log_mean", 0.0}, {"log_std", 0.5}})));
}

NleSettings smallNle() {
    return test::gaussianLinear3Nle();
}
NreSettings smallNre(const std::string& loss) {
    return test::gaussianLinear3Nre(loss);
}

// method: nle | snle | nre | nre-b | nre-c | snre-c; the sequential ones run two rounds.
NleResult runMethod(const std::string& method, const Simulator& simulator,
                    const Matrix& observation, const TrainingHooks& hooks = {}) {
    const int rounds = method[0] == 's' ? 2 : 1;
    if (method.find("nle") != std::string::npos) {
        NleSettings s = smallNle();
        s.rounds = rounds;
        return runNle(test::gaussianLinear3Prior(), simulator, observation, s, hooks);
    }
    NreSettings s = smallNre(nreLossOfMethod(method));
    s.rounds = rounds;
    return runNre(test::gaussianLinear3Prior(), simulator, observation, s, hooks);
}

}  // namespace

class TestLikelihoodMethods : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void recoversTheAnalyticPosterior_data() {
        QTest::addColumn<QString>("method");
        QTest::addColumn<int>("trials");
        QTest::addColumn<double>("meanTolerance");      // absolute
        QTest::addColumn<double>("varianceTolerance");  // relative
        QTest::newRow("nle, one observation") << "nle" << 1 << 0.05 << 0.35;
        QTest::newRow("nle, three i.i.d. observations") << "nle" << 3 << 0.05 << 0.35;
        // A classifier's ratio is less exact than a flow's likelihood: looser bounds.
        QTest::newRow("nre-a, one observation") << "nre" << 1 << 0.07 << 0.5;
        QTest::newRow("nre-a, two i.i.d. observations") << "nre" << 2 << 0.07 << 0.5;
        QTest::newRow("nre-b, one observation") << "nre-b" << 1 << 0.07 << 0.5;
        QTest::newRow("nre-b, two i.i.d. observations") << "nre-b" << 2 << 0.07 << 0.5;
        QTest::newRow("nre-c, one observation") << "nre-c" << 1 << 0.07 << 0.5;
        QTest::newRow("nre-c, two i.i.d. observations") << "nre-c" << 2 << 0.07 << 0.5;
    }

    void recoversTheAnalyticPosterior() {
        QFETCH(QString, method);
        QFETCH(int, trials);
        QFETCH(double, meanTolerance);
        QFETCH(double, varianceTolerance);
        Matrix observation(trials, 3);
        const Matrix first = test::gaussianLinear3Observation();
        for (int r = 0; r < trials; ++r)
            observation.row(r) = first.row(0) * (1.0 - 0.2 * r);
        const NleResult result =
            runMethod(method.toStdString(), test::GaussianLinear3(), observation);
        QVERIFY2(result.trained, result.training.stopReason.c_str());
        QCOMPARE(result.rounds.size(), std::size_t(1));
        QCOMPARE(result.posterior.samples.rows(), 4000);
        const Vector mean = test::columnMeans(result.posterior.samples);
        const Matrix cov = test::covariance(result.posterior.samples);
        const double variance = 0.1 / (trials + 1);
        for (int i = 0; i < 3; ++i) {
            SBIW_COMPARE_NEAR(mean(i), observation.col(i).sum() / (trials + 1), meanTolerance);
            SBIW_COMPARE_NEAR(cov(i, i), variance, varianceTolerance * variance);
            QVERIFY(result.posterior.rhat(i) < 1.1);
        }

        // The stored network samples the same posterior again, and amortises: at another
        // observation its posterior is that observation's analytic one.
        QVERIFY(result.network.isValid());
        QCOMPARE(result.network.network(),
                 std::string(method.startsWith("nle") ? "likelihood" : "ratio"));
        const McmcPosterior loaded =
            McmcPosterior::fromBytes(result.network.toBytes(), "the test's bytes");
        QCOMPARE(loaded.parameterDimension(), 3);
        QCOMPARE(loaded.dataDimension(), 3);
        QCOMPARE(loaded.mcmc().chains, result.network.mcmc().chains);
        const McmcResult again = loaded.sample(4000, observation, result.network.mcmc().seed);
        QVERIFY(again.samples.isApprox(result.posterior.samples, 1e-5));
        const Matrix other = -observation;
        const McmcResult elsewhere = loaded.sample(4000, other, 11);
        const Vector otherMean = test::columnMeans(elsewhere.samples);
        for (int i = 0; i < 3; ++i)
            SBIW_COMPARE_NEAR(otherMean(i), other.col(i).sum() / (trials + 1), meanTolerance);
        const Vector potential = loaded.logPotential(elsewhere.samples.topRows(20), other);
        const Vector potentialBefore =
            result.network.logPotential(elsewhere.samples.topRows(20), other);
        QVERIFY(potential.isApprox(potentialBefore, 1e-5));
    }

    // The calibration checks see the stored network through PosteriorAccess: a set of i.i.d.
    // trials flattened into one row (as IidTrialsSimulator simulates it) is split into its rows.
    void storedNetworkServesTheCalibrationChecks() {
        Matrix observation(2, 3);
        observation << 0.4, -0.3, 0.1, 0.2, -0.1, 0.3;
        const NleResult result = runMethod("nle", test::GaussianLinear3(), observation);
        QVERIFY2(result.trained, result.training.stopReason.c_str());
        const PosteriorAccess access = posteriorAccess(result.network, 2);
        Matrix flattened(1, 6);
        flattened << 0.4, -0.3, 0.1, 0.2, -0.1, 0.3;
        const Matrix draws = access.sample(flattened, 500, 3);
        QCOMPARE(draws.rows(), Eigen::Index(500));
        QVERIFY(draws.isApprox(result.network.sample(500, observation, 3).samples));
        QVERIFY(access.logProb(draws.topRows(5), flattened)
                    .isApprox(result.network.logPotential(draws.topRows(5), observation)));
        // Outside the prior's support the potential is -infinity (here: none, the prior is
        // Gaussian); a wrong observation width is named.
        Matrix wrong(1, 4);
        wrong.setZero();
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, result.network.sample(10, wrong, 1));
        try {
            McmcPosterior::fromBytes("not an archive", "run 9 of h.sqlite");
            QFAIL("expected an error");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).startsWith("cannot load the posterior of run 9 of h.sqlite"),
                     e.what());
        }
    }

    // 0/1 outcomes and counts are whole numbers: a flow fitted to them as they are grows spikes
    // at the integers, and MCMC on that likelihood goes wherever the spikes happen to be highest.
    // Dequantised (the default), NLE recovers the Beta posterior of eight coin flips.
    void wholeNumberDataAreDequantized() {
        const JointPrior prior({PriorSpec::scalar("uniform", {{"low", 0.0}, {"high", 1.0}})});
        Matrix observation(1, 8);
        observation << 1, 0, 0, 1, 1, 0, 1, 1;
        NleSettings s = smallNle();
        QVERIFY(s.dequantizeWholeNumbers);
        const NleResult result = runNle(prior, EightCoinFlips(), observation, s);
        QVERIFY2(result.trained, result.training.stopReason.c_str());
        // Whole numbers are dequantised, never log-modelled (a count may be 0).
        QCOMPARE(result.dequantizedColumns, std::vector<int>({0, 1, 2, 3, 4, 5, 6, 7}));
        QVERIFY(result.logColumns.empty());
        QCOMPARE(describeDataModelling(result),
                 std::string("data columns dequantised (whole numbers): 1-8"));
        const double mean = test::columnMeans(result.posterior.samples)(0);
        const double variance = test::covariance(result.posterior.samples)(0, 0);
        const double a = 5 + 1, b = 3 + 1;  // Beta(6, 4)
        const double betaMean = a / (a + b),
                     betaVariance = a * b / ((a + b) * (a + b) * (a + b + 1));
        qInfo("mean %.3f (Beta %.3f), variance %.4f (Beta %.4f)", mean, betaMean, variance,
              betaVariance);
        // Seeds 1-7: mean 0.576-0.620, variance 0.020-0.029. Without dequantisation the mean
        // was 0.695 (seed 5).
        SBIW_COMPARE_NEAR(mean, betaMean, 0.04);
        SBIW_COMPARE_NEAR(variance, betaVariance, 0.4 * betaVariance);

        // The stored network reads x_o at its cells' centres as the run did.
        const McmcPosterior loaded = McmcPosterior::fromBytes(result.network.toBytes(), "bytes");
        Matrix grid(9, 1);
        for (int i = 0; i < 9; ++i)
            grid(i, 0) = 0.1 * (i + 1);
        QVERIFY(loaded.logPotential(grid, observation)
                    .isApprox(result.network.logPotential(grid, observation), 1e-6));
        QVERIFY(loaded.sample(500, observation, 5)
                    .samples.isApprox(result.network.sample(500, observation, 5).samples, 1e-6));
    }

    // With transformParameters the network takes log θ and MCMC moves there; with
    // logPositiveColumns NLE's flow models log x, NRE's classifier reads it. Either way the
    // posterior is over θ, and on the log-scale problem both make the network's task a linear
    // Gaussian one.
    void logScaleRatesRecoverTheAnalyticPosterior_data() {
        QTest::addColumn<QString>("method");
        QTest::addColumn<bool>("logData");
        QTest::newRow("nle, log θ and log x") << "nle" << true;
        QTest::newRow("nre-c, log θ") << "nre-c" << false;
        QTest::newRow("nre-c, log θ and log x") << "nre-c" << true;
    }
    void logScaleRatesRecoverTheAnalyticPosterior() {
        QFETCH(QString, method);
        QFETCH(bool, logData);
        Matrix observation(1, 2);
        observation << 1.5, 0.7;
        NleResult result;
        if (method == "nle") {
            NleSettings s = smallNle();
            s.transformParameters = true;
            s.mcmc.transform = true;
            s.logPositiveColumns = logData;
            result = runNle(noisyRatesPrior(), NoisyRates(), observation, s);
        } else {
            NreSettings s = smallNre("c");
            s.transformParameters = true;
            s.mcmc.transform = true;
            s.logPositiveColumns = logData;
            result = runNre(noisyRatesPrior(), NoisyRates(), observation, s);
        }
        QVERIFY2(result.trained, result.training.stopReason.c_str());
        if (method == "nle") {
            QCOMPARE(result.logColumns, std::vector<int>({0, 1}));
            QCOMPARE(describeDataModelling(result),
                     std::string("data columns modelled on the log scale (positive in every "
                                 "simulation): 1-2"));
        }
        QVERIFY((result.posterior.samples.array() > 0.0).all());
        const Matrix logTheta = result.posterior.samples.array().log().matrix();
        const Vector mean = test::columnMeans(logTheta);
        const Matrix cov = test::covariance(logTheta);
        const double variance = 1.0 / 29.0;
        for (int j = 0; j < 2; ++j) {
            const double expected = std::log(observation(0, j)) * 25.0 / 29.0;
            qInfo("log θ_%d: mean %.3f (expected %.3f), variance %.4f (expected %.4f)", j + 1,
                  mean(j), expected, cov(j, j), variance);
            SBIW_COMPARE_NEAR(mean(j), expected, 0.05);
            SBIW_COMPARE_NEAR(cov(j, j), variance, 0.35 * variance);
        }
        // The stored network knows it takes log θ (and log x): loaded, it gives the same
        // potential and the same draws.
        const McmcPosterior loaded = McmcPosterior::fromBytes(result.network.toBytes(), "bytes");
        QVERIFY(loaded.mcmc().transform);
        const Matrix some = result.posterior.samples.topRows(20);
        QVERIFY(loaded.logPotential(some, observation)
                    .isApprox(result.network.logPotential(some, observation), 1e-6));
        QVERIFY(loaded.sample(500, observation, 5)
                    .samples.isApprox(result.network.sample(500, observation, 5).samples, 1e-6));
    }

    // SNLE / SNRE-C: round 2 simulates at MCMC draws from round 1's posterior N(x_o / 2, 0.05 I)
    // (half the prior's variance), and the final posterior is still the analytic one.
    void sequentialRoundsSimulateAtThePosterior_data() {
        QTest::addColumn<QString>("method");
        QTest::newRow("snle") << "snle";
        QTest::newRow("snre-b") << "snre-b";
        QTest::newRow("snre-c") << "snre-c";
    }

    void sequentialRoundsSimulateAtThePosterior() {
        QFETCH(QString, method);
        const Matrix observation = test::gaussianLinear3Observation();
        RecordingSimulator simulator;
        std::vector<int> roundsReported;
        TrainingHooks hooks;
        hooks.onEpoch = [&roundsReported](const EpochReport& r) {
            if (roundsReported.empty() || roundsReported.back() != r.round)
                roundsReported.push_back(r.round);
            return false;
        };
        const NleResult result = runMethod(method.toStdString(), simulator, observation, hooks);
        QVERIFY2(result.trained, result.training.stopReason.c_str());
        QCOMPARE(result.rounds.size(), std::size_t(2));
        QCOMPARE(roundsReported, (std::vector<int>{1, 2}));
        QCOMPARE(result.rounds[0].simulations, std::int64_t(2000));
        QCOMPARE(result.rounds[1].simulations, std::int64_t(2000));
        QCOMPARE(result.rounds[1].trainingPairs, std::int64_t(4000));
        QCOMPARE(result.simulationCount, std::int64_t(4000));
        QCOMPARE(simulator.count(), std::size_t(4000));
        const Matrix proposals = simulator.askedFrom(2000);
        const Vector proposalMean = test::columnMeans(proposals);
        const Matrix proposalCov = test::covariance(proposals);
        const Vector mean = test::columnMeans(result.posterior.samples);
        for (int i = 0; i < 3; ++i) {
            SBIW_COMPARE_NEAR(proposalMean(i), observation(0, i) / 2, 0.07);
            SBIW_COMPARE_NEAR(proposalCov(i, i), 0.05, 0.5 * 0.05);
            SBIW_COMPARE_NEAR(mean(i), observation(0, i) / 2, 0.07);
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
        const NleResult result = runMethod("nle", test::GaussianLinear3(), observation, hooks);
        QVERIFY2(result.trained, result.training.stopReason.c_str());
        QVERIFY(snapshots.size() >= 2);
        for (const PosteriorSnapshot& s : snapshots) {
            QCOMPARE(s.samples.rows(), Eigen::Index(300));
            QCOMPARE(s.samples.cols(), Eigen::Index(3));
            QVERIFY(s.samples.allFinite());
        }
        const Vector mean = test::columnMeans(snapshots.back().samples);
        for (int i = 0; i < 3; ++i)
            SBIW_COMPARE_NEAR(mean(i), observation(0, i) / 2, 0.1);
    }

    // "auto" trains NSF and MAF in round 1 on the same pairs with the same seed, keeps the lower
    // best validation loss, and goes on exactly as a run with that flow alone would: the same
    // trials as the standalone runs, the same reported epochs, the same samples.
    void autoEstimatorKeepsTheFlowWithTheLowerValidationLoss() {
        NleSettings s = smallNle();
        s.simulations = 1500;
        s.training.maxEpochs = 15;
        s.mcmc.samples = 400;
        s.mcmc.chains = 10;
        const Matrix observation = test::gaussianLinear3Observation();
        std::map<std::string, int> trialEpochs;  // per candidate, from onTrialEpoch
        const auto run = [&](const std::string& kind, std::vector<double>* losses,
                             std::vector<PosteriorSnapshot>* snapshots) {
            NleSettings settings = s;
            settings.estimator.kind = kind;
            TrainingHooks hooks;
            hooks.onEpoch = [losses](const EpochReport& r) {
                losses->push_back(r.validationLoss);
                return false;
            };
            hooks.onTrialEpoch = [&trialEpochs](const std::string& candidate, const EpochReport&) {
                ++trialEpochs[candidate];
            };
            hooks.snapshotEvery = 100;  // only the one after the last epoch
            hooks.snapshotSamples = 50;
            hooks.onSnapshot = [snapshots](const PosteriorSnapshot& p) { snapshots->push_back(p); };
            return runNle(test::gaussianLinear3Prior(), test::GaussianLinear3(), observation,
                          settings, hooks);
        };
        std::vector<double> autoLosses, nsfLosses, mafLosses;
        std::vector<PosteriorSnapshot> autoFrames, nsfFrames, mafFrames;
        const NleResult chosen = run("auto", &autoLosses, &autoFrames);
        const NleResult nsf = run("nsf", &nsfLosses, &nsfFrames);
        const NleResult maf = run("maf", &mafLosses, &mafFrames);
        QVERIFY2(chosen.trained, chosen.training.stopReason.c_str());
        QCOMPARE(chosen.estimatorTrials.size(), std::size_t(2));
        QCOMPARE(chosen.estimatorTrials[0].kind, std::string("nsf"));
        QCOMPARE(chosen.estimatorTrials[1].kind, std::string("maf"));
        QCOMPARE(chosen.estimatorTrials[0].training.bestValidationLoss,
                 nsf.training.bestValidationLoss);
        QCOMPARE(chosen.estimatorTrials[1].training.bestValidationLoss,
                 maf.training.bestValidationLoss);
        QVERIFY(nsf.training.bestValidationLoss != maf.training.bestValidationLoss);
        const bool mafWins = maf.training.bestValidationLoss < nsf.training.bestValidationLoss;
        const NleResult& winner = mafWins ? maf : nsf;
        QCOMPARE(chosen.estimator, std::string(mafWins ? "maf" : "nsf"));
        QCOMPARE(nsf.estimator, std::string("nsf"));
        QVERIFY(nsf.estimatorTrials.empty());
        QCOMPARE(autoLosses, mafWins ? mafLosses : nsfLosses);
        QCOMPARE(chosen.training.epochs, winner.training.epochs);
        // Progress displays saw both trials epoch by epoch (standalone runs try nothing).
        QCOMPARE(trialEpochs, (std::map<std::string, int>{{"maf", maf.training.epochs},
                                                          {"nsf", nsf.training.epochs}}));
        // Its time is both trials' time: choosing is part of the round.
        QCOMPARE(chosen.rounds.front().training.seconds,
                 0.0 + chosen.estimatorTrials[0].training.seconds +
                     chosen.estimatorTrials[1].training.seconds);
        QCOMPARE(autoFrames.size(), std::size_t(1));
        QVERIFY(autoFrames.front().samples == (mafWins ? mafFrames : nsfFrames).front().samples);
        QVERIFY(chosen.posterior.samples == winner.posterior.samples);
        const std::string line = describeEstimatorChoice(chosen);
        qInfo("%s", line.c_str());
        QVERIFY2(
            QString::fromStdString(line).startsWith("estimator auto: NSF best validation loss "),
            line.c_str());
        QVERIFY2(QString::fromStdString(line).endsWith(mafWins ? "; kept MAF" : "; kept NSF"),
                 line.c_str());
        QVERIFY(describeEstimatorChoice(nsf).empty());
    }

    // Cancelled while the first flow is tried: the run stops there, without the second trial,
    // a posterior, or epochs reported as the run's own.
    void cancellingAnAutomaticChoiceStopsInItsTrial() {
        NleSettings s = smallNle();
        s.estimator.kind = "auto";
        std::atomic<bool> cancel{false};
        int runEpochs = 0;
        TrainingHooks hooks;
        hooks.cancel = &cancel;
        hooks.onTrialEpoch = [&cancel](const std::string&, const EpochReport& r) {
            if (r.epoch == 3)
                cancel = true;
        };
        hooks.onEpoch = [&runEpochs](const EpochReport&) {
            ++runEpochs;
            return false;
        };
        const NleResult result = runNle(test::gaussianLinear3Prior(), test::GaussianLinear3(),
                                        test::gaussianLinear3Observation(), s, hooks);
        QCOMPARE(result.training.status, RunStatus::Cancelled);
        QCOMPARE(result.estimatorTrials.size(), std::size_t(1));
        QCOMPARE(result.estimatorTrials.front().kind, std::string("nsf"));
        QCOMPARE(result.posterior.samples.rows(), Eigen::Index(0));
        QCOMPARE(runEpochs, result.training.epochs);  // what was trained is reported, no more
        QVERIFY(result.training.epochs <= 4);
    }

    void cancellingStopsTheRunWithoutSampling() {
        std::atomic<bool> cancel{false};
        TrainingHooks hooks;
        hooks.cancel = &cancel;
        hooks.onEpoch = [&cancel](const EpochReport& r) {
            if (r.round == 2 && r.epoch == 2)
                cancel = true;
            return false;
        };
        const NleResult result =
            runMethod("snle", test::GaussianLinear3(), test::gaussianLinear3Observation(), hooks);
        QCOMPARE(result.training.status, RunStatus::Cancelled);
        QVERIFY2(QString::fromStdString(result.training.stopReason).startsWith("round 2"),
                 result.training.stopReason.c_str());
        QCOMPARE(result.posterior.samples.rows(), Eigen::Index(0));
    }

    void badSettingsAreRejected() {
        NleSettings nle = smallNle();
        nle.mcmc.chains = 0;
        nle.estimator.kind = "realnvp";
        nle.rounds = 0;
        try {
            runNle(test::gaussianLinear3Prior(), test::GaussianLinear3(),
                   test::gaussianLinear3Observation(), nle);
            QFAIL("expected SettingsError");
        } catch (const SettingsError& e) {
            QVERIFY2(QString(e.what()).contains("estimator.kind"), e.what());
            QVERIFY2(QString(e.what()).contains("mcmc.chains"), e.what());
            QVERIFY2(QString(e.what()).contains("rounds"), e.what());
            QVERIFY2(QString(e.what()).contains("not one of: auto, maf, nsf, mdn"), e.what());
        }
        nle = smallNle();
        nle.estimator.kind = "auto";
        nle.estimator.bins = 1;  // auto checks the settings both flows would use
        QCOMPARE(nle.validate().size(), std::size_t(1));
        QCOMPARE(nle.validate().front().path, std::string("estimator.bins"));
        NreSettings nre = smallNre("d");
        nre.hiddenFeatures = 0;
        nre.gamma = -1.0;
        try {
            runNre(test::gaussianLinear3Prior(), test::GaussianLinear3(),
                   test::gaussianLinear3Observation(), nre);
            QFAIL("expected SettingsError");
        } catch (const SettingsError& e) {
            QVERIFY2(QString(e.what()).contains("loss"), e.what());
            QVERIFY2(QString(e.what()).contains("not one of: a (NRE-A), b (NRE-B), c (NRE-C)"),
                     e.what());
            QVERIFY2(QString(e.what()).contains("hiddenFeatures"), e.what());
            QVERIFY2(QString(e.what()).contains("gamma"), e.what());
        }
        nre = smallNre("b");
        nre.atoms = 1;  // nothing to contrast the row's own θ with
        QCOMPARE(nre.validate().size(), std::size_t(1));
        QCOMPARE(nre.validate().front().path, std::string("atoms"));
        Matrix wrong(1, 2);
        wrong << 0.1, 0.2;
        QVERIFY_THROWS_EXCEPTION(
            std::invalid_argument,
            runNle(test::gaussianLinear3Prior(), test::GaussianLinear3(), wrong, smallNle()));
    }
};

QTEST_APPLESS_MAIN(TestLikelihoodMethods)
#include "test_likelihood_methods.moc"
