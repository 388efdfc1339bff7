#include "inference/trainer.h"

#include <dlfcn.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <chrono>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "core/random.h"

namespace sbiw::neural {

namespace {

// Fisher-Yates with our counter-based stream, so a seed gives the same split and order on any
// machine and device.
std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed, std::uint64_t index) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
        order[std::size_t(i)] = i;
    RandomStream rng(seed, StreamPurpose::Training, index);
    for (std::int64_t i = n - 1; i > 0; --i)
        std::swap(order[std::size_t(i)], order[rng.below(std::uint64_t(i + 1))]);
    return order;
}

torch::Tensor indexTensor(const std::vector<std::int64_t>& order, std::size_t begin,
                          std::size_t end) {
    return torch::tensor(
        std::vector<std::int64_t>(order.begin() + long(begin), order.begin() + long(end)),
        torch::kLong);
}

struct StateCopy {
    std::vector<torch::Tensor> values;
};

StateCopy copyState(torch::nn::Module& module) {
    StateCopy copy;
    torch::NoGradGuard noGrad;
    for (const auto& p : module.parameters())
        copy.values.push_back(p.detach().clone());
    for (const auto& b : module.buffers())
        copy.values.push_back(b.detach().clone());
    return copy;
}

void restoreState(torch::nn::Module& module, const StateCopy& copy) {
    torch::NoGradGuard noGrad;
    std::size_t i = 0;
    for (auto& p : module.parameters())
        p.copy_(copy.values[i++]);
    for (auto& b : module.buffers())
        b.copy_(copy.values[i++]);
}

std::string archiveBytes(torch::serialize::OutputArchive& archive) {
    std::ostringstream stream;
    archive.save_to(stream);
    return stream.str();
}

void readArchive(torch::serialize::InputArchive& archive, const std::string& bytes,
                 const char* what) {
    if (bytes.empty())
        throw std::invalid_argument(std::string("cannot resume training: the checkpoint's ") +
                                    what + " is empty");
    std::istringstream stream(bytes);
    try {
        archive.load_from(stream, torch::Device(torch::kCPU));
    } catch (const c10::Error& error) {
        throw std::invalid_argument(std::string("cannot resume training: the checkpoint's ") +
                                    what + " is not readable: " + error.what_without_backtrace());
    }
}

// Weights and buffers in module order, as CPU tensors, with their names: the module writes
// nothing here, so the flat optimizer views stay in place when a state is restored (copy_).
std::string stateBytes(torch::nn::Module& module, const StateCopy& state) {
    torch::serialize::OutputArchive archive;
    std::string names;
    for (const auto& item : module.named_parameters())
        names += item.key() + "\n";
    for (const auto& item : module.named_buffers())
        names += item.key() + "\n";
    archive.write("names", c10::IValue(names));
    for (std::size_t i = 0; i < state.values.size(); ++i)
        archive.write("tensor_" + std::to_string(i), state.values[i].to(torch::kCPU));
    return archiveBytes(archive);
}

StateCopy stateFromBytes(torch::nn::Module& module, const std::string& bytes, const char* what) {
    torch::serialize::InputArchive archive;
    readArchive(archive, bytes, what);
    std::string names;
    std::vector<torch::Tensor> targets;
    for (const auto& item : module.named_parameters()) {
        names += item.key() + "\n";
        targets.push_back(item.value());
    }
    for (const auto& item : module.named_buffers()) {
        names += item.key() + "\n";
        targets.push_back(item.value());
    }
    c10::IValue stored;
    if (!archive.try_read("names", stored) || !stored.isString() || stored.toStringRef() != names)
        throw std::invalid_argument(std::string("cannot resume training: the checkpoint's ") +
                                    what + " belongs to a model of another architecture");
    StateCopy state;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        torch::Tensor value;
        if (!archive.try_read("tensor_" + std::to_string(i), value) ||
            !value.sizes().equals(targets[i].sizes()))
            throw std::invalid_argument(std::string("cannot resume training: the checkpoint's ") +
                                        what + " does not fit the model (tensor " +
                                        std::to_string(i) + ")");
        state.values.push_back(value.to(targets[i].device(), targets[i].scalar_type()));
    }
    return state;
}

// Adam (with sbi's defaults: β = (0.9, 0.999), ε = 1e-8, no weight decay) and gradient-norm
// clipping over all parameters at once. The parameters and their gradients are made views of
// two flat buffers for the duration of training, so a step is a handful of operations instead
// of a dozen per parameter tensor: with ~100 small tensors per flow, torch::optim::Adam plus
// clip_grad_norm_ were ~20% of a training step here. Parameters get their own storage back
// when training ends (saved models stay per-tensor).
// A training step allocates and frees hundreds of small tensors. With glibc's defaults the top
// of the heap is given back to the kernel and taken again over and over (brk + page faults):
// keeping a margin made a two_moons NSF step ~30% faster here. Process-wide, set once.
void keepHeapMarginForTraining() {
#ifdef __GLIBC__
    static const bool done = [] {
        mallopt(M_TOP_PAD, 64 << 20);
        mallopt(M_TRIM_THRESHOLD, 256 << 20);
        return true;
    }();
    (void)done;
#endif
}

struct AdamState {
    torch::Tensor firstMoment, secondMoment;
    std::int64_t steps = 0;
};

class FlatAdam {
  public:
    FlatAdam(std::vector<torch::Tensor> parameters, double learningRate)
        : parameters_(std::move(parameters)), learningRate_(learningRate) {
        TORCH_CHECK(!parameters_.empty(), "training: the model has no parameters");
        std::vector<torch::Tensor> flatParts;
        for (const auto& p : parameters_) {
            TORCH_CHECK(p.scalar_type() == parameters_[0].scalar_type() &&
                            p.device() == parameters_[0].device(),
                        "training: all parameters must share one dtype and device");
            flatParts.push_back(p.detach().reshape({-1}));
        }
        torch::NoGradGuard noGrad;
        values_ = torch::cat(flatParts);
        grads_ = torch::zeros_like(values_);
        firstMoment_ = torch::zeros_like(values_);
        secondMoment_ = torch::zeros_like(values_);
        std::int64_t offset = 0;
        for (auto& p : parameters_) {
            const std::int64_t n = p.numel();
            p.set_data(values_.narrow(0, offset, n).view(p.sizes()));
            // A defined gradient is accumulated in place by autograd, so it stays a view.
            p.mutable_grad() = grads_.narrow(0, offset, n).view(p.sizes());
            offset += n;
        }
    }

    ~FlatAdam() {
        torch::NoGradGuard noGrad;
        for (auto& p : parameters_) {
            p.set_data(p.detach().clone());
            p.mutable_grad() = torch::Tensor();
        }
    }

    FlatAdam(const FlatAdam&) = delete;
    FlatAdam& operator=(const FlatAdam&) = delete;

    void zeroGrad() { grads_.zero_(); }

    void clipGradientNorm(double maxNorm) {
        torch::NoGradGuard noGrad;
        // Kept on the device (no host sync): scale = min(1, max / (‖g‖ + 1e-6)).
        grads_.mul_((maxNorm / (grads_.norm() + 1e-6)).clamp_max(1.0));
    }

    void step() {
        torch::NoGradGuard noGrad;
        constexpr double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
        ++steps_;
        const double correction1 = 1.0 - std::pow(beta1, double(steps_));
        const double correction2 = 1.0 - std::pow(beta2, double(steps_));
        firstMoment_.mul_(beta1).add_(grads_, 1.0 - beta1);
        secondMoment_.mul_(beta2).addcmul_(grads_, grads_, 1.0 - beta2);
        const auto denominator = (secondMoment_.sqrt() / std::sqrt(correction2)).add_(epsilon);
        values_.addcdiv_(firstMoment_, denominator, -learningRate_ / correction1);
    }

    AdamState state() const { return {firstMoment_.clone(), secondMoment_.clone(), steps_}; }

    void restore(const AdamState& state) {
        if (state.firstMoment.numel() != values_.numel() ||
            state.secondMoment.numel() != values_.numel())
            throw std::invalid_argument(
                "cannot resume training: the checkpoint's optimizer state holds " +
                std::to_string(state.firstMoment.numel()) + " moments, the model has " +
                std::to_string(values_.numel()) + " parameters");
        torch::NoGradGuard noGrad;
        firstMoment_.copy_(state.firstMoment.reshape({-1}));
        secondMoment_.copy_(state.secondMoment.reshape({-1}));
        steps_ = state.steps;
    }

  private:
    std::vector<torch::Tensor> parameters_;
    double learningRate_;
    std::int64_t steps_ = 0;
    torch::Tensor values_, grads_, firstMoment_, secondMoment_;
};

std::string adamBytes(const AdamState& state) {
    torch::serialize::OutputArchive archive;
    archive.write("first_moment", state.firstMoment.to(torch::kCPU));
    archive.write("second_moment", state.secondMoment.to(torch::kCPU));
    archive.write("steps", c10::IValue(state.steps));
    return archiveBytes(archive);
}

AdamState adamFromBytes(const std::string& bytes) {
    torch::serialize::InputArchive archive;
    readArchive(archive, bytes, "optimizer state");
    AdamState state;
    c10::IValue steps;
    if (!archive.try_read("first_moment", state.firstMoment) ||
        !archive.try_read("second_moment", state.secondMoment) ||
        !archive.try_read("steps", steps) || !steps.isInt())
        throw std::invalid_argument(
            "cannot resume training: the checkpoint's optimizer state is incomplete");
    state.steps = steps.toInt();
    return state;
}

// The state at the end of the latest completed epoch, kept in memory (a few tensor copies) so
// that a cancel in the middle of the next epoch can still hand out a checkpoint to resume from.
struct EpochBoundary {
    int epoch = 0;
    StateCopy model;
    AdamState adam;
    StateCopy best;
    double bestLoss = INFINITY;
    int bestEpoch = 0;
    int epochsWithoutImprovement = 0;
    double elapsedSeconds = 0.0;
};

}  // namespace

TrainingSummary train(const TrainingProblem& problem, const TrainingSettings& settings,
                      std::uint64_t seed, const TrainingHooks& hooks, int round,
                      const TrainingCheckpoint* resumeFrom) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const double elapsedBefore = resumeFrom ? resumeFrom->elapsedSeconds : 0.0;
    auto elapsed = [&] {
        return elapsedBefore + std::chrono::duration<double>(Clock::now() - start).count();
    };
    throwIfProblems(settings.validate());
    keepHeapMarginForTraining();

    TrainingSummary summary;
    torch::nn::Module& module = *problem.module;
    const std::int64_t n = problem.rows;
    std::int64_t validationRows = std::max<std::int64_t>(
        1, std::int64_t(std::llround(double(n) * settings.validationFraction)));
    if (n < 2) {
        summary.status = RunStatus::Failed;
        summary.stopReason =
            "training needs at least 2 finite simulations, got " + std::to_string(n);
        return summary;
    }
    validationRows = std::min(validationRows, n - 1);
    const std::vector<std::int64_t> split = permutation(n, seed, 0);
    const std::vector<std::int64_t> validation(split.end() - validationRows, split.end());
    const std::vector<std::int64_t> trainingRows(split.begin(), split.end() - validationRows);
    const std::size_t batch = std::size_t(settings.batchSize);

    if (resumeFrom) {
        if (resumeFrom->rows != n)
            throw std::invalid_argument("cannot resume training: the checkpoint was taken with " +
                                        std::to_string(resumeFrom->rows) +
                                        " training rows, this run has " + std::to_string(n));
        if (resumeFrom->seed != seed)
            throw std::invalid_argument(
                "cannot resume training: the checkpoint was taken with seed " +
                std::to_string(resumeFrom->seed) + ", this run has seed " + std::to_string(seed));
        if (resumeFrom->round != round || resumeFrom->epoch < 0)
            throw std::invalid_argument("cannot resume training: the checkpoint is of round " +
                                        std::to_string(resumeFrom->round) + ", epoch " +
                                        std::to_string(resumeFrom->epoch) + "; this is round " +
                                        std::to_string(round));
    }

    FlatAdam optimizer(module.parameters(), settings.learningRate);
    StateCopy best = copyState(module);
    double bestLoss = INFINITY;
    int epochsWithoutImprovement = 0;
    int firstEpoch = 1;
    if (resumeFrom) {
        // Read everything before changing anything, so a bad checkpoint leaves the model as it was.
        const StateCopy weights = stateFromBytes(module, resumeFrom->modelState, "model state");
        const AdamState adam = adamFromBytes(resumeFrom->optimizerState);
        if (resumeFrom->bestEpoch > 0)
            best = stateFromBytes(module, resumeFrom->bestModelState, "best weights");
        restoreState(module, weights);
        optimizer.restore(adam);
        if (resumeFrom->bestEpoch > 0)
            bestLoss = resumeFrom->bestValidationLoss;
        summary.bestEpoch = resumeFrom->bestEpoch;
        epochsWithoutImprovement = resumeFrom->epochsWithoutImprovement;
        firstEpoch = resumeFrom->epoch + 1;
        summary.epochs = resumeFrom->epoch;
        summary.history = resumeFrom->history;
    }

    EpochBoundary boundary;  // kept only when someone takes checkpoints
    int lastCheckpointEpoch = firstEpoch - 1;
    auto rememberBoundary = [&](int epoch) {
        boundary.epoch = epoch;
        boundary.model = copyState(module);
        boundary.adam = optimizer.state();
        boundary.best = best;  // `best` is replaced, never changed in place: sharing is safe
        boundary.bestLoss = bestLoss;
        boundary.bestEpoch = summary.bestEpoch;
        boundary.epochsWithoutImprovement = epochsWithoutImprovement;
        boundary.elapsedSeconds = elapsed();
    };
    auto emitCheckpoint = [&] {
        TrainingCheckpoint checkpoint;
        checkpoint.round = round;
        checkpoint.epoch = boundary.epoch;
        checkpoint.rows = n;
        checkpoint.seed = seed;
        checkpoint.modelState = stateBytes(module, boundary.model);
        checkpoint.optimizerState = adamBytes(boundary.adam);
        if (boundary.bestEpoch > 0) {
            checkpoint.bestModelState = stateBytes(module, boundary.best);
            checkpoint.bestValidationLoss = boundary.bestLoss;
        }
        checkpoint.bestEpoch = boundary.bestEpoch;
        checkpoint.epochsWithoutImprovement = boundary.epochsWithoutImprovement;
        checkpoint.elapsedSeconds = boundary.elapsedSeconds;
        lastCheckpointEpoch = boundary.epoch;
        hooks.onCheckpoint(checkpoint);
    };
    if (hooks.onCheckpoint && resumeFrom)
        rememberBoundary(resumeFrom->epoch);

    auto validationLoss = [&]() {
        torch::NoGradGuard noGrad;
        module.eval();
        double total = 0.0;
        for (std::size_t begin = 0; begin < validation.size(); begin += 4096) {
            const std::size_t end = std::min(validation.size(), begin + 4096);
            total += problem.batchLoss(indexTensor(validation, begin, end)).item<double>() *
                     double(end - begin);
        }
        module.train();
        return total / double(validation.size());
    };

    auto emitSnapshot = [&](int epoch) {
        if (!hooks.onSnapshot || !problem.snapshot)
            return;
        module.eval();
        PosteriorSnapshot snapshot;
        snapshot.round = round;
        snapshot.epoch = epoch;
        snapshot.samples = problem.snapshot(hooks.snapshotSamples, epoch);
        snapshot.elapsedSeconds = elapsed();
        module.train();
        hooks.onSnapshot(snapshot);
    };

    module.train();
    for (int epoch = firstEpoch; epoch <= settings.maxEpochs; ++epoch) {
        const std::vector<std::int64_t> order = [&] {
            const std::vector<std::int64_t> shuffle =
                permutation(std::int64_t(trainingRows.size()), seed, std::uint64_t(epoch));
            std::vector<std::int64_t> rows(trainingRows.size());
            for (std::size_t i = 0; i < rows.size(); ++i)
                rows[i] = trainingRows[std::size_t(shuffle[i])];
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
            optimizer.zeroGrad();
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
                optimizer.clipGradientNorm(settings.gradientClipNorm);
            optimizer.step();
            trainTotal += value * double(end - begin);
        }
        if (summary.status != RunStatus::Finished)
            break;

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
        if (hooks.snapshotEvery > 0 && epoch % hooks.snapshotEvery == 0)
            emitSnapshot(epoch);
        const bool lastEpoch = stopRequested || epochsWithoutImprovement >= settings.patience ||
                               epoch == settings.maxEpochs;
        if (hooks.onCheckpoint && !lastEpoch) {
            rememberBoundary(epoch);
            if (hooks.checkpointEvery > 0 && epoch % hooks.checkpointEvery == 0)
                emitCheckpoint();
        }
        if (stopRequested) {
            summary.stopReason = "stopped by request after epoch " + std::to_string(epoch);
            break;
        }
        if (epochsWithoutImprovement >= settings.patience) {
            summary.stopReason = "converged: no validation improvement for " +
                                 std::to_string(settings.patience) + " epochs (best epoch " +
                                 std::to_string(summary.bestEpoch) + ")";
            break;
        }
        if (epoch == settings.maxEpochs)
            summary.stopReason =
                "reached the maximum of " + std::to_string(settings.maxEpochs) + " epochs";
    }
    // Cancelled: hand out the last completed epoch, unless it was just sent (resuming repeats
    // the epoch in progress).
    if (summary.status == RunStatus::Cancelled && hooks.onCheckpoint &&
        boundary.epoch > lastCheckpointEpoch)
        emitCheckpoint();
    if (summary.status == RunStatus::Finished &&
        summary.stopReason.empty())  // resumed past the end
        summary.stopReason =
            "reached the maximum of " + std::to_string(settings.maxEpochs) + " epochs";
    if (summary.bestEpoch > 0)
        restoreState(module, best);
    module.eval();
    summary.bestValidationLoss = bestLoss;
    if (summary.status != RunStatus::Failed && summary.bestEpoch > 0 && hooks.snapshotEvery > 0)
        emitSnapshot(summary.epochs);
    summary.seconds = elapsed();
    return summary;
}

void setComputeThreads(int threads) {
    torch::set_num_threads(threads);
    // Looked up at run time: the BLAS behind LibTorch is whatever the system provides.
    using SetThreads = void (*)(int);
    if (auto openblasSetThreads =
            reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        openblasSetThreads(threads);
}

torch::Tensor toTensor(const Matrix& matrix, const torch::Device& device) {
    torch::Tensor t = torch::from_blob(const_cast<double*>(matrix.data()),
                                       {matrix.rows(), matrix.cols()}, torch::kFloat64)
                          .to(torch::kFloat32);
    return t.to(device);
}

Matrix toMatrix(const torch::Tensor& tensor) {
    const torch::Tensor t = tensor.detach().to(torch::kCPU).to(torch::kFloat64).contiguous();
    Matrix m(t.size(0), t.dim() > 1 ? t.size(1) : 1);
    std::memcpy(m.data(), t.data_ptr<double>(), sizeof(double) * std::size_t(m.size()));
    return m;
}

void addRound(TrainingSummary& run, const TrainingSummary& round) {
    run.epochs += round.epochs;
    run.seconds += round.seconds;
    run.history.insert(run.history.end(), round.history.begin(), round.history.end());
    if (round.bestEpoch == 0)
        return;
    run.bestEpoch = round.bestEpoch;
    run.bestValidationLoss = round.bestValidationLoss;
}

std::vector<torch::Tensor> copyOfParameters(torch::nn::Module& module) {
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> copy;
    for (const auto& p : module.parameters())
        copy.push_back(p.detach().clone());
    return copy;
}

void restoreParameters(torch::nn::Module& module, const std::vector<torch::Tensor>& copy) {
    torch::NoGradGuard noGrad;
    std::size_t i = 0;
    for (auto& p : module.parameters())
        p.copy_(copy.at(i++));
}

}  // namespace sbiw::neural
