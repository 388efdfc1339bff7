// The training worker as the GUI drives it: a run of the project's settings on its own thread,
// reported through queued signals while the event loop keeps turning, recorded in the history,
// cancellable; and runJob's own checks. Known answer: gaussian_linear's posterior is
// N(x_o / 2, 0.05 I) (prior N(0, 0.1 I), noise N(0, 0.1 I)).
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTimer>

#include <set>

#include "inference/mcmc_posterior.h"
#include "qt/project_file.h"
#include "qt/run_diagnostics.h"
#include "qt/run_history.h"
#include "qt/training_controller.h"
#include "simulators/catalogue.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

RunJob smallGaussianLinearJob(const QString& historyPath, std::int64_t simulations) {
    RunJob job;
    job.project = projectFromTask(*findTask("gaussian_linear"));
    InferenceSettings& s = job.project.inference;
    s.method = "npe";
    s.estimator = "maf";
    s.simulations = simulations;
    s.seed = 5;
    s.threads = 1;
    s.device = "cpu";
    s.posteriorSamples = 2000;
    s.training.maxEpochs = 200;
    const Observation& observation = job.project.observations.front();
    job.observationName = QString::fromStdString(observation.name);
    job.observation = observation.data;
    job.historyPath = historyPath;
    job.snapshotEvery = 2;
    job.snapshotSamples = 200;
    return job;
}

}  // namespace

class TestTrainingController : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void trainsOnItsOwnThreadWhileTheEventLoopTurns() {
        QTemporaryDir dir;
        const QString historyPath = dir.filePath("runs.sqlite");
        const RunJob job = smallGaussianLinearJob(historyPath, 3000);
        TrainingController controller;
        QSignalSpy epochs(&controller, &TrainingController::epochReported);
        QSignalSpy snapshots(&controller, &TrainingController::snapshotReady);
        QSignalSpy stages(&controller, &TrainingController::stageChanged);
        QSignalSpy finished(&controller, &TrainingController::finished);
        int ticks = 0;
        QTimer ticker;
        QObject::connect(&ticker, &QTimer::timeout, [&ticks] { ++ticks; });
        ticker.start(10);
        QVERIFY(controller.start(job));
        QVERIFY(!controller.start(job));  // one run at a time
        QVERIFY(finished.wait(240000));
        const RunJobResult result = finished.first().first().value<RunJobResult>();
        QVERIFY2(result.state == RunState::Finished, qPrintable(result.message));
        // The GUI thread kept turning while the run went on (latency figures: bench_gui_latency).
        QVERIFY2(ticks >= 10,
                 qPrintable(QString("%1 ticks in %2 s").arg(ticks).arg(result.seconds)));
        QCOMPARE(epochs.count(), result.training.epochs);
        QVERIFY(snapshots.count() >= 1);
        QVERIFY(stages.count() >= 2);
        const PosteriorSnapshot last = snapshots.last().first().value<PosteriorSnapshot>();
        QCOMPARE(last.samples.cols(), Eigen::Index(10));

        QCOMPARE(result.samples.rows(), Eigen::Index(2000));
        const Vector mean = test::columnMeans(result.samples);
        for (int i = 0; i < 10; ++i) {
            const double expected = job.observation(0, i) / 2;
            QVERIFY2(test::fuzzyEqual(mean(i), expected, 0.1),
                     test::fuzzyMessage(mean(i), expected, 0.1, 0));
        }
        RunHistory history(historyPath);
        const std::optional<RunSummary> run = history.run(result.runId);
        QVERIFY(run);
        QCOMPARE(run->state, RunState::Finished);
        QCOMPARE(run->method, QString("npe"));
        QCOMPARE(run->epochs, result.training.epochs);
        QVERIFY(run->hasModel);
        QCOMPARE(history.samples(result.runId)->samples.rows(), Eigen::Index(2000));
        QVERIFY(!history.snapshots(result.runId).empty());
    }

    void cancelEndsTheRunAsCancelled() {
        QTemporaryDir dir;
        const QString historyPath = dir.filePath("runs.sqlite");
        RunJob job = smallGaussianLinearJob(historyPath, 20000);
        job.project.inference.training.maxEpochs = 100000;
        job.project.inference.training.patience = 100000;
        TrainingController controller;
        QSignalSpy finished(&controller, &TrainingController::finished);
        QObject::connect(&controller, &TrainingController::epochReported, &controller,
                         [&controller] { controller.cancel(); });
        QVERIFY(controller.start(job));
        QVERIFY(finished.wait(240000));
        const RunJobResult result = finished.first().first().value<RunJobResult>();
        QCOMPARE(result.state, RunState::Cancelled);
        QVERIFY(result.samples.rows() == 0);
        RunHistory history(historyPath);
        QCOMPARE(history.run(result.runId)->state, RunState::Cancelled);
    }

    void aBadJobFailsWithTheReason() {
        RunJob job = smallGaussianLinearJob({}, 1000);
        job.observation = Matrix::Zero(1, 3);  // the simulator gives 10 values
        const RunJobResult result = runJob(job, {});
        QCOMPARE(result.state, RunState::Failed);
        QVERIFY2(result.message.contains("observation"), qPrintable(result.message));
        QCOMPARE(result.runId, qint64(0));

        job = smallGaussianLinearJob({}, 1000);
        job.project.inference.method = "npe-a";  // not a method
        QVERIFY(runJob(job, {}).message.contains("inference.method"));
    }

    void runsSequentialNpeRoundByRound() {
        QTemporaryDir dir;
        RunJob job;
        job.project = projectFromTask(*findTask("two_moons"));
        InferenceSettings& s = job.project.inference;
        s.method = "snpe";
        s.estimator = "maf";
        s.rounds = 2;
        s.simulations = 2000;
        s.seed = 4;
        s.threads = 1;
        s.device = "cpu";
        s.posteriorSamples = 500;
        s.training.maxEpochs = 15;
        job.observationName = QString::fromStdString(job.project.observations.front().name);
        job.observation = job.project.observations.front().data;
        job.historyPath = dir.filePath("runs.sqlite");
        std::set<int> rounds;
        qint64 announced = 0;
        job.onRunStarted = [&announced](qint64 runId) { announced = runId; };
        TrainingHooks hooks;
        hooks.onEpoch = [&rounds](const EpochReport& r) {
            rounds.insert(r.round);
            return false;
        };
        const RunJobResult result = runJob(job, hooks);
        QVERIFY2(result.state == RunState::Finished, qPrintable(result.message));
        QCOMPARE(rounds, (std::set<int>{1, 2}));
        QCOMPARE(announced, result.runId);
        QCOMPARE(result.details.size(), 2);  // one line per round
        QCOMPARE(result.samples.rows(), Eigen::Index(500));
        QVERIFY((result.samples.array().abs() <= 1.0).all());  // inside the prior box [-1, 1]^2
        RunHistory history(job.historyPath);
        QCOMPARE(history.run(result.runId)->method, QString("snpe"));
        QCOMPARE(history.run(result.runId)->simulationCount, qint64(2000));
        QCOMPARE(history.simulationBatches(result.runId).size(), std::size_t(2));  // one per round
    }

    void trainsNpeOnImportedSimulations() {
        ProjectLoadResult loaded =
            loadProject(test::sourcePath("projects/custom/two_moons_imported.sbiw"));
        QVERIFY2(loaded.ok(), qPrintable(loaded.errorText()));
        RunJob job;
        job.project = *loaded.project;
        InferenceSettings& s = job.project.inference;
        s.method = "npe";
        s.estimator = "maf";
        s.threads = 1;
        s.device = "cpu";
        s.posteriorSamples = 300;
        s.training.maxEpochs = 5;
        job.observationName = QString::fromStdString(job.project.defaultObservation);
        job.observation = job.project.findObservation(job.project.defaultObservation)->data;
        const RunJobResult result = runJob(job, {});
        QVERIFY2(result.state == RunState::Finished, qPrintable(result.message));
        QCOMPARE(result.samples.rows(), Eigen::Index(300));
        // Every other method simulates as it goes: refused with the reason.
        job.project.inference.method = "nle";
        const RunJobResult refused = runJob(job, {});
        QCOMPARE(refused.state, RunState::Failed);
        QVERIFY2(refused.message.contains("imported simulations train NPE only"),
                 qPrintable(refused.message));
    }

    // The project's MCMC settings reach the sampler and the history: MH with 8 chains, a short
    // warm-up, thinning 3 and plain prior starts, on NLE's gaussian_linear posterior N(x_o / 2,
    // 0.05 I).
    void likelihoodRunsSampleWithTheProjectsMcmc() {
        QTemporaryDir dir;
        RunJob job = smallGaussianLinearJob(dir.filePath("runs.sqlite"), 2000);
        InferenceSettings& s = job.project.inference;
        s.method = "nle";
        s.estimator = "maf";
        s.posteriorSamples = 400;
        s.training.maxEpochs = 30;
        s.mcmc = {"mh", 8, 200, 3, "prior"};
        s.dequantizeWholeNumbers = false;
        s.transformParameters = false;
        job.snapshotEvery = 0;
        const RunJobResult result = runJob(job, {});
        QVERIFY2(result.state == RunState::Finished, qPrintable(result.message));
        QVERIFY2(result.summary.contains("mh MCMC: 400 samples from 8 chains"),
                 qPrintable(result.summary));
        QCOMPARE(result.samples.rows(), Eigen::Index(400));
        const Vector mean = test::columnMeans(result.samples);
        for (int i = 0; i < 10; ++i)
            SBIW_COMPARE_NEAR(mean(i), job.observation(0, i) / 2, 0.15);
        const QJsonObject stored = RunHistory(job.historyPath).settings(result.runId);
        QCOMPARE(stored.value("mcmc").toString(), QString("mh"));
        QCOMPARE(stored.value("chains").toInt(), 8);
        QCOMPARE(stored.value("warmup").toInt(), 200);
        QCOMPARE(stored.value("thinning").toInt(), 3);
        QCOMPARE(stored.value("mcmc_init").toString(), QString("prior"));
        QCOMPARE(stored.value("dequantize_whole_numbers").toBool(true), false);
        QCOMPARE(stored.value("transform_parameters").toBool(true), false);
        QCOMPARE(stored.value("log_positive_data").toBool(false), true);
        // The history shows the budget, though the pairs themselves are not stored.
        QCOMPARE(RunHistory(job.historyPath).run(result.runId)->simulationCount, qint64(2000));
        // A bad choice is named before anything runs.
        s.mcmc.sampler = "gibbs";
        const RunJobResult refused = runJob(job, {});
        QCOMPARE(refused.state, RunState::Failed);
        QVERIFY2(
            refused.message.contains("inference.mcmc.sampler: 'gibbs' is not one of: slice, mh"),
            qPrintable(refused.message));
    }

    // A likelihood or ratio run keeps its network: the calibration checks sample it by MCMC at
    // every simulated data set. A sequential run's posterior holds only at its observation, so
    // SBC, coverage and TARP are refused there, PPC is not.
    void likelihoodRunsKeepTheirNetworkForTheChecks_data() {
        QTest::addColumn<QString>("method");
        QTest::newRow("nle, mdn") << "nle";
        QTest::newRow("nre-c") << "nre-c";
    }
    void likelihoodRunsKeepTheirNetworkForTheChecks() {
        QFETCH(QString, method);
        QTemporaryDir dir;
        RunJob job = smallGaussianLinearJob(dir.filePath("runs.sqlite"), 2000);
        InferenceSettings& s = job.project.inference;
        s.method = method.toStdString();
        s.estimator = "mdn";  // NLE's mixture density network (NRE ignores it)
        s.posteriorSamples = 400;
        s.training.maxEpochs = 30;
        s.mcmc = {"mh", 8, 100, 2, "prior"};
        job.snapshotEvery = 0;
        const RunJobResult result = runJob(job, {});
        QVERIFY2(result.state == RunState::Finished, qPrintable(result.message));
        RunHistory history(job.historyPath);
        QCOMPARE(history.run(result.runId)->estimator, QString(method == "nle" ? "mdn" : "resnet"));
        const std::optional<StoredModel> model = history.model(result.runId);
        QVERIFY(model.has_value());
        QCOMPARE(model->format, QString(McmcPosterior::formatName()));
        const McmcPosterior stored = McmcPosterior::fromBytes(
            std::string(model->data.constData(), std::size_t(model->data.size())), "run");
        QCOMPARE(stored.network(), std::string(method == "nle" ? "likelihood" : "ratio"));
        QCOMPARE(stored.mcmc().chains, 8);
        QCOMPARE(int(stored.mcmc().method), int(McmcMethod::MetropolisHastings));

        DiagnosticsRequest request;
        request.sbc = true;
        request.ppc = true;
        request.simulations = 12;
        request.posteriorSamples = 40;
        request.threads = 1;
        const DiagnosticsOutcome checked = diagnoseRun(history, result.runId, job.project, request);
        QVERIFY(checked.sbc.has_value());
        QVERIFY(checked.ppc.has_value());
        QCOMPARE(checked.parameterNames.size(), std::size_t(10));
        QCOMPARE(history.diagnostics(result.runId).size(), std::size_t(2));

        s.rounds = 2;
        s.method = "s" + s.method;
        const RunJobResult sequential = runJob(job, {});
        QVERIFY2(sequential.state == RunState::Finished, qPrintable(sequential.message));
        try {
            diagnoseRun(history, sequential.runId, job.project, request);
            QFAIL("expected an error");
        } catch (const std::runtime_error& e) {
            QVERIFY2(
                QString(e.what()).contains("is sequential (S" + method.toUpper() + ", 2 rounds)") &&
                    QString(e.what()).contains("SBC, coverage and TARP") &&
                    QString(e.what()).contains("PPC and C2ST do"),
                e.what());
        }
        request.sbc = false;
        QVERIFY(diagnoseRun(history, sequential.runId, job.project, request).ppc.has_value());
    }

    void smcAbcShowsEveryPopulationAsASnapshot() {
        QTemporaryDir dir;
        RunJob job = smallGaussianLinearJob(dir.filePath("runs.sqlite"), 5000);
        job.project.inference.method = "smc-abc";
        job.project.inference.posteriorSamples = 500;
        std::vector<PosteriorSnapshot> snapshots;
        TrainingHooks hooks;
        hooks.onSnapshot = [&snapshots](const PosteriorSnapshot& s) { snapshots.push_back(s); };
        std::vector<int> populations;
        std::vector<double> tolerances;
        job.onAbcPopulation = [&](int population, double epsilon, double acceptance) {
            populations.push_back(population);
            tolerances.push_back(epsilon);
            QVERIFY(acceptance > 0.0 && acceptance <= 1.0);
        };
        const RunJobResult result = runJob(job, hooks);
        QVERIFY2(result.state == RunState::Finished, qPrintable(result.message));
        // One snapshot per population (populations of 100 for this budget), numbered from 1,
        // as the summary line counts them, and the same frames in the history for replay.
        QVERIFY(snapshots.size() >= 3);
        QVERIFY2(result.summary.contains(QStringLiteral("%1 populations").arg(snapshots.size())),
                 qPrintable(result.summary));
        for (std::size_t i = 0; i < snapshots.size(); ++i) {
            QCOMPARE(snapshots[i].round, int(i) + 1);
            QCOMPARE(snapshots[i].epoch, 0);
            QVERIFY(snapshots[i].samples.rows() >= 100 && snapshots[i].samples.cols() == 10);
        }
        // The tolerance of every population reaches the panel's plot, shrinking (never growing:
        // a population is made of particles within the one before's tolerance).
        QCOMPARE(populations.size(), snapshots.size());
        for (std::size_t i = 0; i < populations.size(); ++i)
            QCOMPARE(populations[i], int(i) + 1);
        for (std::size_t i = 1; i < tolerances.size(); ++i)
            QVERIFY2(tolerances[i] <= tolerances[i - 1],
                     qPrintable(QString("%1 -> %2").arg(tolerances[i - 1]).arg(tolerances[i])));
        QVERIFY(tolerances.back() < tolerances.front());
        // The run log gets one line per population.
        QCOMPARE(std::size_t(result.details.size()), snapshots.size());
        QVERIFY2(result.details.front().startsWith(QStringLiteral("population 1: epsilon ")),
                 qPrintable(result.details.front()));
        RunHistory history(job.historyPath);
        const std::vector<SnapshotRecord> stored = history.snapshots(result.runId);
        QCOMPARE(stored.size(), snapshots.size());
        QVERIFY(stored.back().samples == snapshots.back().samples);
        // The run log, the tolerance schedule with it, stays with the run.
        QCOMPARE(history.report(result.runId), QStringList{result.summary} + result.details);
        // The run's settings hold every ABC choice of the project.
        const QJsonObject settings = history.settings(result.runId);
        for (const char* key :
             {"summary", "columns", "distance", "z_score", "regression_adjustment"})
            QVERIFY2(settings.contains(key), key);
        QCOMPARE(history.run(result.runId)->state, RunState::Finished);
        QCOMPARE(history.run(result.runId)->simulationCount, qint64(5000));
        // The populations concentrate: the last one's mean is nearer the posterior mean x_o / 2
        // than the first one's (the closest 100 of 1,000 prior draws).
        const Vector target = job.observation.row(0).transpose() / 2;
        const double firstError = (test::columnMeans(snapshots.front().samples) - target).norm();
        const double lastError = (test::columnMeans(snapshots.back().samples) - target).norm();
        QVERIFY2(lastError < firstError,
                 qPrintable(QString("%1 -> %2").arg(firstError).arg(lastError)));
    }

    void runsRejectionAbcWithoutAHistory() {
        RunJob job = smallGaussianLinearJob({}, 20000);
        job.project.inference.method = "rej-abc";
        job.project.inference.posteriorSamples = 100;
        const RunJobResult result = runJob(job, {});
        QVERIFY2(result.state == RunState::Finished, qPrintable(result.message));
        QCOMPARE(result.samples.rows(), Eigen::Index(100));
        QCOMPARE(result.runId, qint64(0));
        // 100 of 20,000 prior draws closest to x_o: the mean moves from 0 towards x_o / 2.
        const Vector mean = test::columnMeans(result.samples);
        double towards = 0;
        for (int i = 0; i < 10; ++i)
            towards += mean(i) * job.observation(0, i);
        QVERIFY(towards > 0);
    }
};

QTEST_GUILESS_MAIN(TestTrainingController)
#include "test_training_controller.moc"
