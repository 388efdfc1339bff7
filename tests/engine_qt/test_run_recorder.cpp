// Recording training runs: the stored settings round-trip (and a damaged one names its key), the
// trainer's checkpoint survives its stored form byte for byte, the hooks write what they are
// given and pass the caller's answer on, reuse picks one earlier run of the same prior and
// simulator and takes exactly its first N rows, and calibration results become JSON.
#include <QJsonArray>
#include <QTemporaryDir>

#include <cmath>

#include "qt/diagnostics_json.h"
#include "qt/run_recorder.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

NpeRunSettings sampleSettings() {
    NpeRunSettings s;
    s.npe.estimator.kind = "maf";
    s.npe.estimator.hiddenFeatures = 17;
    s.npe.estimator.transforms = 4;
    s.npe.estimator.tailBound = 2.5;
    s.npe.estimator.embedding = "mlp";
    s.npe.training.batchSize = 64;
    s.npe.training.learningRate = 3e-4;
    s.npe.training.maxEpochs = 77;
    s.npe.simulations = 12345;
    s.npe.seed = (std::uint64_t(1) << 63) + 5;  // more than a double holds exactly
    s.npe.threads = 3;
    s.npe.device = "cpu";
    s.npe.isTimeSeries = true;
    s.observationName = "obs.csv";
    s.observation = Matrix(1, 3);
    s.observation << 0.1, -2.5, 1e-300;
    s.posteriorSamples = 999;
    s.parameterNames = {"a", "b"};
    s.snapshotEvery = 3;
    s.checkpointEvery = 0;
    s.reuseSimulations = true;
    return s;
}

Matrix counting(Eigen::Index rows, Eigen::Index cols, double start) {
    Matrix m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = start + double(i);
    return m;
}

RunStart start(const QString& name) {
    RunStart s;
    s.projectName = name;
    s.projectHash = "hash";
    s.method = "npe";
    s.estimator = "nsf";
    s.device = "cpu";
    return s;
}

}  // namespace

class TestRunRecorder : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void settingsRoundTrip() {
        const NpeRunSettings s = sampleSettings();
        const NpeRunSettings back = npeRunSettingsFromJson(toJson(s));
        QCOMPARE(back.npe.estimator.kind, std::string("maf"));
        QCOMPARE(back.npe.estimator.hiddenFeatures, 17);
        QCOMPARE(back.npe.estimator.transforms, 4);
        QCOMPARE(back.npe.estimator.tailBound, 2.5);
        QCOMPARE(back.npe.estimator.embedding, std::string("mlp"));
        QVERIFY(back.npe.training == s.npe.training);
        QCOMPARE(back.npe.simulations, std::int64_t(12345));
        QCOMPARE(back.npe.seed, s.npe.seed);
        QCOMPARE(back.npe.threads, 3);
        QCOMPARE(back.npe.device, std::string("cpu"));
        QVERIFY(back.npe.isTimeSeries);
        QCOMPARE(back.observationName, QString("obs.csv"));
        QVERIFY(back.observation == s.observation);
        QCOMPARE(back.posteriorSamples, std::int64_t(999));
        QCOMPARE(back.parameterNames, s.parameterNames);
        QCOMPARE(back.snapshotEvery, 3);
        QCOMPARE(back.checkpointEvery, 0);
        QVERIFY(back.reuseSimulations);
        // A small seed is stored as a plain number.
        NpeRunSettings small = s;
        small.npe.seed = 42;
        QCOMPARE(toJson(small).value("seed").toInteger(), 42);
        QCOMPARE(npeRunSettingsFromJson(toJson(small)).npe.seed, std::uint64_t(42));
    }

    void damagedSettingsNameTheKey() {
        QJsonObject json = toJson(sampleSettings());
        QJsonObject training = json.value("training").toObject();
        training.remove("batch_size");
        json.insert("training", training);
        try {
            npeRunSettingsFromJson(json);
            QFAIL("expected an error");
        } catch (const std::runtime_error& e) {
            QCOMPARE(QString(e.what()), QString("the stored settings' 'training.batch_size' is missing"));
        }
        json = toJson(sampleSettings());
        json.insert("posterior_samples", 0);
        try {
            npeRunSettingsFromJson(json);
            QFAIL("expected an error");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).contains("posterior_samples: must be at least 1"), e.what());
        }
    }

    void checkpointSurvivesItsStoredForm() {
        TrainingCheckpoint c;
        c.round = 0;
        c.epoch = 3;
        c.rows = 5000;
        c.seed = (std::uint64_t(1) << 63) + 1;
        c.modelState = std::string("weights\0with\0zeros", 18);
        c.optimizerState = std::string("adam\0state", 10);
        c.bestModelState = std::string("best\0", 5);
        c.bestValidationLoss = -1.25;
        c.bestEpoch = 2;
        c.epochsWithoutImprovement = 1;
        c.elapsedSeconds = 12.5;
        const Checkpoint stored = toStoredCheckpoint(c);
        QCOMPARE(stored.modelFormat, QString(kTrainerWeightsFormat));
        QCOMPARE(stored.epoch, 3);
        // The loss curve recorded so far (epoch 4 came after the checkpoint and is left out).
        const std::vector<EpochRecord> epochs = {{0, 1, 1.0, 3.0, 1.0}, {0, 2, 0.5, 2.0, 2.0},
                                                 {0, 3, 0.4, 2.5, 3.0}, {0, 4, 0.3, 1.0, 4.0}};
        const TrainingCheckpoint back = toTrainingCheckpoint(stored, epochs);
        QCOMPARE(back.epoch, 3);
        QCOMPARE(back.rows, std::int64_t(5000));
        QCOMPARE(back.seed, c.seed);
        QVERIFY(back.modelState == c.modelState);
        QVERIFY(back.optimizerState == c.optimizerState);
        QVERIFY(back.bestModelState == c.bestModelState);
        QCOMPARE(back.bestValidationLoss, -1.25);
        QCOMPARE(back.bestEpoch, 2);
        QCOMPARE(back.epochsWithoutImprovement, 1);
        QCOMPARE(back.elapsedSeconds, 12.5);
        QCOMPARE(int(back.history.size()), 3);
        QCOMPARE(back.history[1].improved, true);
        QCOMPARE(back.history[2].improved, false);
        QCOMPARE(back.history[2].bestValidationLoss, 2.0);
        // Without a best epoch yet, no best loss is stored (JSON has no infinity).
        c.bestEpoch = 0;
        c.bestValidationLoss = INFINITY;
        c.bestModelState.clear();
        const TrainingCheckpoint none = toTrainingCheckpoint(toStoredCheckpoint(c), {});
        QCOMPARE(none.bestEpoch, 0);
        QVERIFY(none.bestModelState.empty());
        Checkpoint foreign = stored;
        foreign.modelFormat = "something-else/9";
        try {
            toTrainingCheckpoint(foreign, {});
            QFAIL("expected an error");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).contains("'something-else/9'"), e.what());
        }
    }

    void hooksWriteAndPassTheAnswerOn() {
        QTemporaryDir dir;
        RunHistory history(dir.filePath("h.history.sqlite"));
        const qint64 id = history.startRun(start("p"));
        const RunRecorder recorder(history, id);
        int callerEpochs = 0, callerSnapshots = 0, callerCheckpoints = 0;
        TrainingHooks caller;
        caller.onEpoch = [&](const EpochReport& r) { return ++callerEpochs, r.epoch == 2; };
        caller.onSnapshot = [&](const PosteriorSnapshot&) { ++callerSnapshots; };
        caller.onCheckpoint = [&](const TrainingCheckpoint&) { ++callerCheckpoints; };
        const TrainingHooks hooks = recorder.recordingHooks(caller);
        EpochReport report;
        report.epoch = 1;
        report.trainLoss = 0.5;
        report.validationLoss = NAN;
        report.elapsedSeconds = 0.25;
        QCOMPARE(hooks.onEpoch(report), false);
        report.epoch = 2;
        report.validationLoss = 0.75;
        QCOMPARE(hooks.onEpoch(report), true);  // the caller's request to stop
        hooks.onSnapshot({0, 2, counting(5, 2, 0.0), 0.5});
        hooks.onSnapshot({0, 2, Matrix(0, 2), 0.6});  // nothing inside the support yet: not stored
        TrainingCheckpoint c;
        c.epoch = 2;
        c.rows = 10;
        c.modelState = "m";
        c.optimizerState = "o";
        hooks.onCheckpoint(c);
        QCOMPARE(callerEpochs, 2);
        QCOMPARE(callerSnapshots, 2);
        QCOMPARE(callerCheckpoints, 1);
        const std::vector<EpochRecord> epochs = history.epochs(id);
        QCOMPARE(int(epochs.size()), 2);
        QVERIFY(std::isnan(epochs[0].validationLoss));
        QCOMPARE(epochs[1].validationLoss, 0.75);
        QCOMPARE(int(history.snapshots(id).size()), 1);
        QVERIFY(history.snapshots(id)[0].samples == counting(5, 2, 0.0));
        QCOMPARE(history.checkpoint(id)->epoch, 2);
        QCOMPARE(toTrainingCheckpoint(*history.checkpoint(id), epochs).modelState, std::string("m"));
    }

    void reuseTakesOneRunsFirstRows() {
        QTemporaryDir dir;
        RunHistory history(dir.filePath("h.history.sqlite"));
        const qint64 a = history.startRun(start("a"));
        history.addSimulations(a, "key", 0, counting(600, 2, 0.0), counting(600, 3, 1e6));
        history.addSimulations(a, "key", 0, counting(400, 2, 5000.0), counting(400, 3, 2e6));
        const qint64 other = history.startRun(start("other"));
        history.addSimulations(other, "other key", 0, counting(3000, 2, 0.0), counting(3000, 3, 0.0));
        const qint64 small = history.startRun(start("small"));
        history.addSimulations(small, "key", 0, counting(500, 2, 9000.0), counting(500, 3, 3e6));

        // The newest run of the same key with enough rows.
        QCOMPARE(findReusableSimulations(history, "key", 400)->runId, small);
        QCOMPARE(findReusableSimulations(history, "key", 800)->runId, a);
        QCOMPARE(findReusableSimulations(history, "key", 400, small)->runId, a);
        QVERIFY(!findReusableSimulations(history, "key", 1001));  // never joins two runs' sets
        QVERIFY(!findReusableSimulations(history, "missing", 1));

        const qint64 reuser = history.startRun(start("reuser"));
        const RunRecorder recorder(history, reuser);
        const StoredSimulations used = recorder.reuseSimulations(*findReusableSimulations(history, "key", 800), "key", 800);
        const StoredSimulations source = history.simulations(a);
        QVERIFY(used.theta == source.theta.topRows(800));
        QVERIFY(history.simulations(reuser).theta == source.theta.topRows(800));
        QVERIFY(history.simulations(reuser).x == source.x.topRows(800));
        // The whole first batch is shared; the 200 rows of the second are stored anew.
        const std::vector<SimulationBatchInfo> batches = history.simulationBatches(reuser);
        QCOMPARE(int(batches.size()), 2);
        QCOMPARE(batches[0].id, history.simulationBatches(a)[0].id);
        QCOMPARE(batches[1].rows, 200);
        QCOMPARE(*batches[1].producerRunId, reuser);
        QCOMPARE(history.run(reuser)->simulationCount, 800);
    }

    void calibrationResultsBecomeJson() {
        // Every rank value equally often: uniform, calibrated.
        RankMatrix ranks(100, 2);
        for (Eigen::Index i = 0; i < ranks.rows(); ++i) ranks(i, 0) = ranks(i, 1) = i % 10;
        SbcSettings settings;
        settings.bins = 10;  // one per rank value 0..9
        const SbcResult sbc = judgeSbc(ranks, 9, settings, {"a", "b"});
        const QJsonObject json = toJson(sbc, ranks, {"a", "b"});
        QCOMPARE(json.value("verdict").toString(), QString("calibrated"));
        QCOMPARE(json.value("simulations").toInt(), 100);
        const QJsonObject first = json.value("parameters").toArray()[0].toObject();
        QCOMPARE(first.value("name").toString(), QString("a"));
        qint64 total = 0;
        for (const QJsonValue& count : first.value("histogram").toArray()) total += count.toInteger();
        QCOMPARE(total, 100);
        QCOMPARE(json.value("ranks").toArray().size(), 100);
        QCOMPARE(json.value("ranks").toArray()[3].toArray()[1].toInt(), 3);
        // Non-finite numbers become null (JSON has none).
        TarpResult tarp;
        tarp.atc = NAN;
        QVERIFY(toJson(tarp).value("atc").isNull());
    }
};

QTEST_GUILESS_MAIN(TestRunRecorder)
#include "test_run_recorder.moc"
