// The training worker as the GUI drives it: a run of the project's settings on its own thread,
// reported through queued signals while the event loop keeps turning, recorded in the history,
// cancellable; and runJob's own checks. Known answer: gaussian_linear's posterior is
// N(x_o / 2, 0.05 I) (prior N(0, 0.1 I), noise N(0, 0.1 I)).
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTimer>

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
        // The GUI thread kept turning: at least one tick per 50 ms of the run.
        QVERIFY2(ticks >= int(result.seconds * 1000 / 50), qPrintable(QString("%1 ticks in %2 s").arg(ticks).arg(result.seconds)));
        QCOMPARE(epochs.count(), result.training.epochs);
        QVERIFY(snapshots.count() >= 1);
        QVERIFY(stages.count() >= 2);
        const PosteriorSnapshot last = snapshots.last().first().value<PosteriorSnapshot>();
        QCOMPARE(last.samples.cols(), Eigen::Index(10));

        QCOMPARE(result.samples.rows(), Eigen::Index(2000));
        const Vector mean = test::columnMeans(result.samples);
        for (int i = 0; i < 10; ++i) {
            const double expected = job.observation(0, i) / 2;
            QVERIFY2(test::fuzzyEqual(mean(i), expected, 0.1), test::fuzzyMessage(mean(i), expected, 0.1, 0));
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
        QObject::connect(&controller, &TrainingController::epochReported, &controller, [&controller] { controller.cancel(); });
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
        job.project.inference.method = "snre";
        QVERIFY(runJob(job, {}).message.contains("inference.method"));
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
        for (int i = 0; i < 10; ++i) towards += mean(i) * job.observation(0, i);
        QVERIFY(towards > 0);
    }
};

QTEST_GUILESS_MAIN(TestTrainingController)
#include "test_training_controller.moc"
