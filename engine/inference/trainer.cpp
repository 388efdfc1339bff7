#include "inference/trainer.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "core/random.h"

namespace sbiw::neural {

namespace {

// Fisher-Yates with our counter-based stream, so a seed gives the same split and order on any
// machine and device.
std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed, std::uint64_t index) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) order[std::size_t(i)] = i;
    RandomStream rng(seed, StreamPurpose::Training, index);
    for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[std::size_t(i)], order[rng.below(std::uint64_t(i + 1))]);
    return order;
}

torch::Tensor indexTensor(const std::vector<std::int64_t>& order, std::size_t begin, std::size_t end) {
    return torch::tensor(std::vector<std::int64_t>(order.begin() + long(begin), order.begin() + long(end)),
                         torch::kLong);
}

struct StateCopy {
    std::vector<torch::Tensor> values;
};

StateCopy copyState(torch::nn::Module& module) {
    StateCopy copy;
    torch::NoGradGuard noGrad;
    for (const auto& p : module.parameters()) copy.values.push_back(p.detach().clone());
    for (const auto& b : module.buffers()) copy.values.push_back(b.detach().clone());
    return copy;
}

void restoreState(torch::nn::Module& module, const StateCopy& copy) {
    torch::NoGradGuard noGrad;
    std::size_t i = 0;
    for (auto& p : module.parameters()) p.copy_(copy.values[i++]);
    for (auto& b : module.buffers()) b.copy_(copy.values[i++]);
}

}  // namespace

TrainingSummary train(const TrainingProblem& problem, const TrainingSettings& settings, std::uint64_t seed,
                      const TrainingHooks& hooks, int round) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
    throwIfProblems(settings.validate());

    TrainingSummary summary;
    torch::nn::Module& module = *problem.module;
    const std::int64_t n = problem.rows;
    std::int64_t validationRows = std::max<std::int64_t>(1, std::int64_t(std::llround(double(n) * settings.validationFraction)));
    if (n < 2) {
        summary.status = RunStatus::Failed;
        summary.stopReason = "training needs at least 2 finite simulations, got " + std::to_string(n);
        return summary;
    }
    validationRows = std::min(validationRows, n - 1);
    const std::vector<std::int64_t> split = permutation(n, seed, 0);
    const std::vector<std::int64_t> validation(split.end() - validationRows, split.end());
    const std::vector<std::int64_t> trainingRows(split.begin(), split.end() - validationRows);
    const std::size_t batch = std::size_t(settings.batchSize);

    torch::optim::Adam optimizer(module.parameters(), torch::optim::AdamOptions(settings.learningRate));
    StateCopy best = copyState(module);
    double bestLoss = INFINITY;
    int epochsWithoutImprovement = 0;

    auto validationLoss = [&]() {
        torch::NoGradGuard noGrad;
        module.eval();
        double total = 0.0;
        for (std::size_t begin = 0; begin < validation.size(); begin += 4096) {
            const std::size_t end = std::min(validation.size(), begin + 4096);
            total += problem.batchLoss(indexTensor(validation, begin, end)).item<double>() * double(end - begin);
        }
        module.train();
        return total / double(validation.size());
    };

    auto emitSnapshot = [&](int epoch) {
        if (!hooks.onSnapshot || !problem.snapshot) return;
        module.eval();
        PosteriorSnapshot snapshot;
        snapshot.round = round;
        snapshot.epoch = epoch;
        snapshot.samples = problem.snapshot(hooks.snapshotSamples);
        snapshot.elapsedSeconds = elapsed();
        module.train();
        hooks.onSnapshot(snapshot);
    };

    module.train();
    for (int epoch = 1; epoch <= settings.maxEpochs; ++epoch) {
        const std::vector<std::int64_t> order = [&] {
            const std::vector<std::int64_t> shuffle = permutation(std::int64_t(trainingRows.size()), seed, std::uint64_t(epoch));
            std::vector<std::int64_t> rows(trainingRows.size());
            for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = trainingRows[std::size_t(shuffle[i])];
            return rows;
        }();
        double trainTotal = 0.0;
        for (std::size_t begin = 0; begin < order.size(); begin += batch) {
            if (hooks.cancelled()) {
                summary.status = RunStatus::Cancelled;
                summary.stopReason = "cancelled in epoch " + std::to_string(epoch);
                break;
            }
            const std::size_t end = std::min(order.size(), begin + batch);
            optimizer.zero_grad();
            const torch::Tensor loss = problem.batchLoss(indexTensor(order, begin, end));
            const double value = loss.item<double>();
            if (!std::isfinite(value)) {
                std::ostringstream why;
                why << "the training loss became " << value << " in epoch " << epoch << " (batch "
                    << begin / batch + 1
                    << "); try a lower learning rate, and check the simulations for extreme values";
                summary.status = RunStatus::Failed;
                summary.stopReason = why.str();
                break;
            }
            loss.backward();
            if (settings.gradientClipNorm > 0.0)
                torch::nn::utils::clip_grad_norm_(module.parameters(), settings.gradientClipNorm);
            optimizer.step();
            trainTotal += value * double(end - begin);
        }
        if (summary.status != RunStatus::Finished) break;

        EpochReport report;
        report.round = round;
        report.epoch = epoch;
        report.trainLoss = trainTotal / double(order.size());
        report.validationLoss = validationLoss();
        report.improved = report.validationLoss < bestLoss;
        if (report.improved) {
            bestLoss = report.validationLoss;
            best = copyState(module);
            summary.bestEpoch = epoch;
            epochsWithoutImprovement = 0;
        } else {
            ++epochsWithoutImprovement;
        }
        report.bestValidationLoss = bestLoss;
        report.elapsedSeconds = elapsed();
        summary.history.push_back(report);
        summary.epochs = epoch;
        const bool stopRequested = hooks.onEpoch && hooks.onEpoch(report);
        if (hooks.snapshotEvery > 0 && epoch % hooks.snapshotEvery == 0) emitSnapshot(epoch);
        if (stopRequested) {
            summary.stopReason = "stopped by request after epoch " + std::to_string(epoch);
            break;
        }
        if (epochsWithoutImprovement >= settings.patience) {
            summary.stopReason = "converged: no validation improvement for " + std::to_string(settings.patience) +
                                 " epochs (best epoch " + std::to_string(summary.bestEpoch) + ")";
            break;
        }
        if (epoch == settings.maxEpochs)
            summary.stopReason = "reached the maximum of " + std::to_string(settings.maxEpochs) + " epochs";
    }
    if (summary.bestEpoch > 0) restoreState(module, best);
    module.eval();
    summary.bestValidationLoss = bestLoss;
    if (summary.status != RunStatus::Failed && summary.bestEpoch > 0 && hooks.snapshotEvery > 0)
        emitSnapshot(summary.epochs);
    summary.seconds = elapsed();
    return summary;
}

torch::Tensor toTensor(const Matrix& matrix, const torch::Device& device) {
    torch::Tensor t = torch::from_blob(const_cast<double*>(matrix.data()), {matrix.rows(), matrix.cols()},
                                       torch::kFloat64)
                          .to(torch::kFloat32);
    return t.to(device);
}

Matrix toMatrix(const torch::Tensor& tensor) {
    const torch::Tensor t = tensor.detach().to(torch::kCPU).to(torch::kFloat64).contiguous();
    Matrix m(t.size(0), t.dim() > 1 ? t.size(1) : 1);
    std::memcpy(m.data(), t.data_ptr<double>(), sizeof(double) * std::size_t(m.size()));
    return m;
}

}  // namespace sbiw::neural
