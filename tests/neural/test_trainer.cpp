// The shared training loop: cancellation within one batch, a NaN loss stops with a clear
// message, early stopping restores the best weights, hooks fire.
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
        problem.snapshot = [](int count) { return Matrix::Zero(count, 1).eval(); };
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
