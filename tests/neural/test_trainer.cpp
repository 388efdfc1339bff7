// The shared training loop: cancellation within one batch, a NaN loss stops with a clear
// message, early stopping restores the best weights, hooks fire, and a run resumed from a
// checkpoint (periodic, or taken when cancelled mid-epoch) continues exactly like one that never
// stopped.
#include <atomic>

#include "inference/trainer.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

// One scalar parameter w; the training loss pulls w to 1, the validation loss (eval mode) is
// smallest at w = 0.3, so the best weights are those of an early epoch.
struct Scalar : torch::nn::Module {
    torch::Tensor w = register_parameter("w", torch::zeros({1}));
};

// A straight line a·t + b fitted to 200 noisy points: Adam's moments, the step count and the
// per-epoch shuffle all shape the path, so a resume that lost any of them would drift off it.
struct Line : torch::nn::Module {
    torch::Tensor a = register_parameter("a", torch::zeros({1}));
    torch::Tensor b = register_parameter("b", torch::zeros({1}));
    torch::Tensor t, y;
    int trainingBatches = 0;
    int cancelAtBatch = -1;  // training batch (1-based, counted over the run) that requests cancel
    std::atomic<bool> cancel{false};

    Line() {
        t = torch::linspace(0.0, 2.0, 200);
        y = 2.0 * t + 0.5 + 0.3 * torch::sin(37.0 * t);
    }
    neural::TrainingProblem problem() {
        neural::TrainingProblem p;
        p.module = this;
        p.rows = 200;
        p.batchLoss = [this](const torch::Tensor& rows) {
            if (is_training() && ++trainingBatches == cancelAtBatch) cancel = true;
            return (a * t.index_select(0, rows) + b - y.index_select(0, rows)).pow(2).mean();
        };
        return p;
    }
};

struct Recorded {
    TrainingSummary summary;
    std::vector<EpochReport> epochs;
    std::vector<TrainingCheckpoint> checkpoints;
    double a = 0, b = 0;
};

Recorded trainLine(const TrainingSettings& settings, int checkpointEvery, int cancelAtBatch = -1,
                   const TrainingCheckpoint* resumeFrom = nullptr) {
    Line line;
    line.cancelAtBatch = cancelAtBatch;
    Recorded recorded;
    TrainingHooks hooks;
    hooks.cancel = &line.cancel;
    hooks.checkpointEvery = checkpointEvery;
    hooks.onEpoch = [&](const EpochReport& r) {
        recorded.epochs.push_back(r);
        return false;
    };
    hooks.onCheckpoint = [&](const TrainingCheckpoint& c) { recorded.checkpoints.push_back(c); };
    recorded.summary = neural::train(line.problem(), settings, 11, hooks, 0, resumeFrom);
    recorded.a = line.a.item<double>();
    recorded.b = line.b.item<double>();
    return recorded;
}

TrainingSettings lineSettings() {
    TrainingSettings s;
    s.batchSize = 20;  // 9 training batches per epoch (20 validation rows)
    s.learningRate = 0.05;
    s.patience = 100;
    s.maxEpochs = 12;
    return s;
}

// Validation losses of epochs `from`..end agree to float precision.
void compareEpochs(const std::vector<EpochReport>& resumed, const std::vector<EpochReport>& reference, int from) {
    QCOMPARE(int(resumed.size()), int(reference.size()) - from + 1);
    for (std::size_t i = 0; i < resumed.size(); ++i) {
        const EpochReport& expected = reference[std::size_t(from - 1) + i];
        QCOMPARE(resumed[i].epoch, expected.epoch);
        SBIW_COMPARE_REL(resumed[i].validationLoss, expected.validationLoss, 1e-6);
        SBIW_COMPARE_REL(resumed[i].trainLoss, expected.trainLoss, 1e-6);
    }
}

TrainingSettings quickSettings() {
    TrainingSettings s;
    s.batchSize = 10;
    s.learningRate = 0.05;
    s.patience = 5;
    s.maxEpochs = 200;
    return s;
}

}  // namespace

class TestTrainer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void earlyStoppingRestoresTheBestWeights() {
        // Adam moves w by about the learning rate per step: 9 steps of 0.01 per epoch.
        Scalar model;
        neural::TrainingProblem problem;
        problem.module = &model;
        problem.rows = 100;
        problem.batchLoss = [&](const torch::Tensor&) {
            const double target = model.is_training() ? 1.0 : 0.3;
            return (model.w - target).pow(2).sum();
        };
        std::vector<EpochReport> reports;
        TrainingHooks hooks;
        hooks.onEpoch = [&](const EpochReport& r) {
            reports.push_back(r);
            return false;
        };
        TrainingSettings settings = quickSettings();
        settings.learningRate = 0.01;
        const TrainingSummary summary = neural::train(problem, settings, 1, hooks);
        QCOMPARE(summary.status, RunStatus::Finished);
        QVERIFY2(QString::fromStdString(summary.stopReason).startsWith("converged"), summary.stopReason.c_str());
        QCOMPARE(summary.epochs, summary.bestEpoch + 5);
        QCOMPARE(int(reports.size()), summary.epochs);
        // Restored: validation loss of the final weights equals the best one.
        model.eval();
        SBIW_COMPARE_NEAR((model.w - 0.3).pow(2).sum().item<double>(), summary.bestValidationLoss, 1e-7);
        QVERIFY2(std::abs(model.w.item<double>() - 0.3) < 0.06, qPrintable(QString::number(model.w.item<double>())));
    }

    void cancellationStopsWithinOneBatch() {
        Scalar model;
        std::atomic<bool> cancel{false};
        int batches = 0;
        neural::TrainingProblem problem;
        problem.module = &model;
        problem.rows = 1000;  // 90 training batches of 10 per epoch
        problem.batchLoss = [&](const torch::Tensor&) {
            if (model.is_training() && ++batches == 3) cancel = true;
            return (model.w - 1.0).pow(2).sum();
        };
        TrainingHooks hooks;
        hooks.cancel = &cancel;
        const TrainingSummary summary = neural::train(problem, quickSettings(), 1, hooks);
        QCOMPARE(summary.status, RunStatus::Cancelled);
        QCOMPARE(batches, 3);  // the batch after the request never ran
        QCOMPARE(summary.epochs, 0);
    }

    void nanLossFailsWithAClearMessage() {
        Scalar model;
        int batches = 0;
        neural::TrainingProblem problem;
        problem.module = &model;
        problem.rows = 100;
        problem.batchLoss = [&](const torch::Tensor&) {
            const torch::Tensor loss = (model.w - 1.0).pow(2).sum();
            if (model.is_training()) ++batches;
            return batches == 25 && model.is_training() ? loss * std::nan("") : loss;
        };
        const TrainingSummary summary = neural::train(problem, quickSettings(), 1, {});
        QCOMPARE(summary.status, RunStatus::Failed);
        QVERIFY2(QString::fromStdString(summary.stopReason).contains("the training loss became nan in epoch 3 (batch 7)"),
                 summary.stopReason.c_str());
        QVERIFY(std::isfinite(model.w.item<double>()));
    }

    void snapshotsFollowTheSchedule() {
        Scalar model;
        neural::TrainingProblem problem;
        problem.module = &model;
        problem.rows = 50;
        problem.batchLoss = [&](const torch::Tensor&) { return (model.w - 1.0).pow(2).sum(); };
        problem.snapshot = [](int count, int) { return Matrix::Zero(count, 1).eval(); };
        TrainingSettings settings = quickSettings();
        settings.maxEpochs = 9;
        settings.patience = 100;
        std::vector<int> epochs;
        TrainingHooks hooks;
        hooks.snapshotEvery = 3;
        hooks.snapshotSamples = 7;
        hooks.onSnapshot = [&](const PosteriorSnapshot& s) {
            QCOMPARE(s.samples.rows(), 7);
            epochs.push_back(s.epoch);
        };
        const TrainingSummary summary = neural::train(problem, settings, 1, hooks);
        QCOMPARE(summary.stopReason, std::string("reached the maximum of 9 epochs"));
        QCOMPARE(epochs, (std::vector<int>{3, 6, 9, 9}));  // and once more after the best weights are back
    }

    void resumingFromAPeriodicCheckpointContinuesTheSamePath() {
        const Recorded whole = trainLine(lineSettings(), 4);
        QCOMPARE(whole.summary.epochs, 12);
        // Every 4 epochs while training goes on; none after the last epoch.
        QCOMPARE(int(whole.checkpoints.size()), 2);
        QCOMPARE(whole.checkpoints[0].epoch, 4);
        QCOMPARE(whole.checkpoints[1].epoch, 8);
        QCOMPARE(whole.checkpoints[1].rows, 200);
        // As if the process had been killed in epoch 10: continue after epoch 8.
        TrainingCheckpoint checkpoint = whole.checkpoints[1];
        checkpoint.history.assign(whole.epochs.begin(), whole.epochs.begin() + 8);
        const Recorded resumed = trainLine(lineSettings(), 4, -1, &checkpoint);
        compareEpochs(resumed.epochs, whole.epochs, 9);
        QCOMPARE(resumed.summary.epochs, 12);
        QCOMPARE(int(resumed.summary.history.size()), 12);
        QCOMPARE(resumed.summary.bestEpoch, whole.summary.bestEpoch);
        SBIW_COMPARE_REL(resumed.a, whole.a, 1e-6);
        SBIW_COMPARE_REL(resumed.b, whole.b, 1e-6);
        QVERIFY(resumed.summary.epochs == 12 && resumed.epochs.front().elapsedSeconds >= checkpoint.elapsedSeconds);
    }

    void cancellingMidEpochHandsOutTheLastCompletedEpoch() {
        const Recorded whole = trainLine(lineSettings(), 4);
        // Cancel in the 4th batch of epoch 6: epochs 1..5 are complete, the periodic checkpoint
        // was after epoch 4, so the cancel hands out epoch 5.
        const Recorded stopped = trainLine(lineSettings(), 4, 5 * 9 + 4);
        QCOMPARE(stopped.summary.status, RunStatus::Cancelled);
        QCOMPARE(int(stopped.epochs.size()), 5);
        QCOMPARE(int(stopped.checkpoints.size()), 2);
        QCOMPARE(stopped.checkpoints[1].epoch, 5);
        const Recorded resumed = trainLine(lineSettings(), 4, -1, &stopped.checkpoints[1]);
        QCOMPARE(resumed.summary.status, RunStatus::Finished);
        compareEpochs(resumed.epochs, whole.epochs, 6);
        SBIW_COMPARE_REL(resumed.a, whole.a, 1e-6);
        // Only the periodic checkpoint after epoch 8 is new: epoch 5 was handed out already.
        QCOMPARE(int(resumed.checkpoints.size()), 1);
        QCOMPARE(resumed.checkpoints[0].epoch, 8);
        // Cancelled right after resuming: nothing newer than the checkpoint to hand out.
        const Recorded again = trainLine(lineSettings(), 4, 2, &stopped.checkpoints[1]);
        QCOMPARE(again.summary.status, RunStatus::Cancelled);
        QVERIFY(again.checkpoints.empty());
    }

    void resumingKeepsTheEarlyStoppingState() {
        // The earlyStopping problem above: the best epoch comes early, training stops 5 epochs
        // later. Resuming from a checkpoint taken between the two must stop at the same epoch
        // and restore the same best weights, which only the checkpoint holds.
        auto run = [](const TrainingCheckpoint* resumeFrom, std::vector<TrainingCheckpoint>* checkpoints) {
            Scalar model;
            neural::TrainingProblem problem;
            problem.module = &model;
            problem.rows = 100;
            problem.batchLoss = [&](const torch::Tensor&) {
                return (model.w - (model.is_training() ? 1.0 : 0.3)).pow(2).sum();
            };
            TrainingHooks hooks;
            hooks.checkpointEvery = 1;
            hooks.onCheckpoint = [&](const TrainingCheckpoint& c) {
                if (checkpoints) checkpoints->push_back(c);
            };
            TrainingSettings settings = quickSettings();
            settings.learningRate = 0.01;
            const TrainingSummary summary = neural::train(problem, settings, 1, hooks, 0, resumeFrom);
            return std::make_pair(summary, model.w.item<double>());
        };
        std::vector<TrainingCheckpoint> checkpoints;
        const auto [whole, wholeW] = run(nullptr, &checkpoints);
        QVERIFY(whole.epochs > whole.bestEpoch + 2);
        const TrainingCheckpoint& between = checkpoints.at(std::size_t(whole.bestEpoch + 1));  // after best + 2
        QCOMPARE(between.epoch, whole.bestEpoch + 2);
        QCOMPARE(between.epochsWithoutImprovement, 2);
        QCOMPARE(between.bestEpoch, whole.bestEpoch);
        const auto [resumed, resumedW] = run(&between, nullptr);
        QCOMPARE(resumed.epochs, whole.epochs);
        QCOMPARE(resumed.bestEpoch, whole.bestEpoch);
        QCOMPARE(resumed.stopReason, whole.stopReason);
        SBIW_COMPARE_REL(resumed.bestValidationLoss, whole.bestValidationLoss, 1e-9);
        SBIW_COMPARE_REL(resumedW, wholeW, 1e-7);
    }

    void aCheckpointMustFitTheRun() {
        const Recorded whole = trainLine(lineSettings(), 4);
        const TrainingCheckpoint& checkpoint = whole.checkpoints.front();
        auto expectError = [](const std::function<void()>& resume, const QString& expected) {
            try {
                resume();
                QFAIL("expected std::invalid_argument");
            } catch (const std::invalid_argument& e) {
                QVERIFY2(QString(e.what()).contains(expected), e.what());
            }
        };
        expectError([&] {
            Line line;
            neural::TrainingProblem problem = line.problem();
            problem.rows = 150;
            neural::train(problem, lineSettings(), 11, {}, 0, &checkpoint);
        }, "the checkpoint was taken with 200 training rows, this run has 150");
        expectError([&] {
            Line line;
            neural::train(line.problem(), lineSettings(), 12, {}, 0, &checkpoint);
        }, "the checkpoint was taken with seed 11, this run has seed 12");
        expectError([&] {
            Scalar other;  // another architecture: one parameter "w"
            neural::TrainingProblem problem;
            problem.module = &other;
            problem.rows = 200;
            problem.batchLoss = [&](const torch::Tensor&) { return other.w.sum(); };
            neural::train(problem, lineSettings(), 11, {}, 0, &checkpoint);
        }, "belongs to a model of another architecture");
        expectError([&] {
            TrainingCheckpoint damaged = checkpoint;
            damaged.optimizerState = "garbage";
            Line line;
            neural::train(line.problem(), lineSettings(), 11, {}, 0, &damaged);
        }, "optimizer state is not readable");
    }

    void invalidSettingsNameTheField() {
        Scalar model;
        neural::TrainingProblem problem;
        problem.module = &model;
        problem.rows = 10;
        problem.batchLoss = [&](const torch::Tensor&) { return model.w.sum(); };
        TrainingSettings settings;
        settings.batchSize = 0;
        try {
            neural::train(problem, settings, 1, {});
            QFAIL("expected SettingsError");
        } catch (const SettingsError& e) {
            QCOMPARE(QString(e.what()), QString("batch_size: must be at least 1"));
        }
    }
};

QTEST_APPLESS_MAIN(TestTrainer)
#include "test_trainer.moc"
