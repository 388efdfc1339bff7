#include "inference/npe.h"

#include <sstream>

#include "core/parallel.h"
#include "inference/posterior_state.h"
#include "inference/trainer.h"
#include "simulators/batch_simulation.h"
#include "simulators/iid_trials.h"

namespace sbiw {

using neural::toMatrix;
using neural::toTensor;

Problems NpeSettings::validate() const {
    Problems problems;
    appendProblems(problems, estimator.validate(), "estimator");
    appendProblems(problems, training.validate(), "training");
    if (simulations < 2)
        problems.push_back({"simulations", "must be at least 2"});
    if (trials < 1) problems.push_back({"trials", "must be at least 1"});
    if (threads < 0)
        problems.push_back({"threads", "must be 0 (all cores) or positive"});
    if (device != "auto" && device != "cpu" && device != "cuda")
        problems.push_back({"device", "'" + device + "' is not one of: auto, cpu, cuda"});
    return problems;
}

namespace detail {

std::shared_ptr<PosteriorState> newPosteriorState(const JointPrior& prior,
                                                  const torch::Tensor& theta,
                                                  const torch::Tensor& x,
                                                  const NpeSettings& settings,
                                                  const torch::Device& device) {
    auto state = std::make_shared<PosteriorState>();
    state->prior = prior;
    state->priorBlocks = prior.blockSpecs();
    state->device = device;
    state->seed = settings.seed;
    neural::EstimatorShape shape;
    shape.parameters = int(theta.size(1));
    shape.data = int(x.size(1));
    shape.embedding = settings.trials > 1 && settings.estimator.embedding == "auto"
                          ? "set"
                          : settings.estimator.resolvedEmbedding(shape.data, settings.isTimeSeries);
    shape.setElementFeatures = settings.estimator.setElementFeatures > 0 ? settings.estimator.setElementFeatures
                                                                         : shape.data / settings.trials;
    const auto [thetaMean, thetaStd] = neural::columnStandardization(theta.to(torch::kCPU));
    const auto [xMean, xStd] = neural::columnStandardization(x.to(torch::kCPU));
    state->estimator = std::make_shared<neural::ConditionalEstimatorImpl>(
        settings.estimator, shape, thetaMean, thetaStd, xMean, xStd, settings.seed);
    state->estimator->to(device);
    return state;
}

}  // namespace detail

NpeResult trainNpe(const JointPrior& prior, const Matrix& theta, const Matrix& x,
                   const Matrix& observation, const NpeSettings& settings,
                   const TrainingHooks& hooks, const TrainingCheckpoint* resumeFrom) {
    throwIfProblems(settings.validate());
    if (theta.rows() != x.rows())
        throw std::invalid_argument("theta and x must have the same number of rows");
    if (theta.cols() != prior.dimension())
        throw std::invalid_argument("theta has " + std::to_string(theta.cols()) +
                                    " columns, the prior " + std::to_string(prior.dimension()));
    // With threads = 0 (automatic) training uses one intra-op thread: sbi-sized networks on
    // batches of a few hundred rows are dominated by per-operation overhead, and on 2 cores a
    // second OpenMP thread made a batch 5-50x slower here (docs/BENCHMARKS.md).
    neural::setComputeThreads(settings.threads > 0 ? settings.threads : 1);
    const torch::Device device(resolveDevice(settings.device));

    NpeResult result;
    result.trainingPairs = theta.rows();
    const torch::Tensor thetaData = toTensor(theta, device);
    const torch::Tensor xData = toTensor(x, device);

    auto state = detail::newPosteriorState(prior, thetaData, xData, settings, device);
    neural::TrainingProblem problem;
    problem.module = state->estimator.get();
    problem.rows = theta.rows();
    problem.batchLoss = [&](const torch::Tensor& indices) {
        const torch::Tensor rows = indices.to(device);
        return -state->estimator
                    ->logProb(thetaData.index_select(0, rows), xData.index_select(0, rows))
                    .mean();
    };
    const bool canSnapshot = observation.size() == x.cols() &&
                             (observation.rows() == 1 || observation.rows() == settings.trials) &&
                             observation.allFinite();
    NeuralPosterior posterior(state);
    if (canSnapshot) {
        // The seed follows from the epoch, so a resumed run takes the snapshots an uninterrupted
        // one would have taken.
        problem.snapshot = [&](int count, int epoch) {
            try {
                return posterior.sample(
                    count, observation,
                    settings.seed + 0x9E3779B97F4A7C15ULL * std::uint64_t(epoch));
            } catch (const std::runtime_error&) {
                return Matrix(0, theta.cols());  // nothing inside the support yet
            }
        };
    }
    if (hooks.onStage)
        hooks.onStage("training");
    result.training =
        neural::train(problem, settings.training, settings.seed, hooks, 0, resumeFrom);
    if (result.training.bestEpoch > 0)
        result.posterior = posterior;
    return result;
}

LoopControl loopControlOf(const TrainingHooks& hooks) {
    LoopControl control;
    control.cancelFlag = hooks.cancel;
    if (hooks.onSimulationProgress)
        control.onProgress = [&hooks](const LoopProgress& p) {
            hooks.onSimulationProgress(p.completed, p.total);
        };
    return control;
}

NpeTrainingSet trainingSetOf(const SimulationBatch& batch, std::int64_t requested) {
    NpeTrainingSet set;
    set.simulationCount = batch.count();
    set.simulationSeconds = batch.elapsedSeconds;
    if (batch.cancelled) {
        set.cancelled = true;
        set.stopReason = "cancelled while simulating (" + std::to_string(batch.count()) + " of " +
                         std::to_string(requested) + " done)";
        return set;
    }
    // Non-finite simulations cannot be trained on: drop them, and say so.
    if (batch.nonFiniteRows.empty()) {
        set.theta = batch.theta;
        set.x = batch.x;
        return set;
    }
    set.theta.resize(batch.finiteCount(), batch.theta.cols());
    set.x.resize(batch.finiteCount(), batch.x.cols());
    std::size_t skip = 0;
    Eigen::Index kept = 0;
    for (Eigen::Index r = 0; r < batch.theta.rows(); ++r) {
        if (skip < batch.nonFiniteRows.size() && batch.nonFiniteRows[skip] == r) {
            ++skip;
            continue;
        }
        set.theta.row(kept) = batch.theta.row(r);
        set.x.row(kept++) = batch.x.row(r);
    }
    set.nonFiniteSummary = batch.nonFiniteSummary() + " (left out of training)";
    return set;
}

NpeTrainingSet simulateTrainingSet(const JointPrior& prior, const Simulator& simulator,
                                   const NpeSettings& settings, const TrainingHooks& hooks) {
    throwIfProblems(settings.validate());
    if (hooks.onStage)
        hooks.onStage("simulating");
    SimulationOptions options;
    options.seed = settings.seed;
    options.threads = settings.threads;
    const IidTrialsSimulator sets(simulator, settings.trials);
    const Simulator& simulated = settings.trials > 1 ? static_cast<const Simulator&>(sets) : simulator;
    return trainingSetOf(
        simulateFromPrior(prior, simulated, settings.simulations, options, loopControlOf(hooks)),
        settings.simulations);
}

NpeTrainingSet simulateTrainingSetAt(const Matrix& theta, const Simulator& simulator,
                                     const SimulationOptions& options, const TrainingHooks& hooks) {
    if (hooks.onStage)
        hooks.onStage("simulating");
    // Checked here too: a batch small enough for one chunk would not look at the flag.
    SimulationBatch batch;
    if (hooks.cancelled())
        batch.cancelled = true;
    else
        batch = simulateAt(theta, simulator, options, loopControlOf(hooks));
    return trainingSetOf(batch, theta.rows());
}

NpeResult runNpe(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NpeSettings& settings, const TrainingHooks& hooks) {
    const NpeTrainingSet set = simulateTrainingSet(prior, simulator, settings, hooks);
    NpeResult result;
    if (!set.cancelled)
        result = trainNpe(prior, set.theta, set.x, observation, settings, hooks);
    else {
        result.training.status = RunStatus::Cancelled;
        result.training.stopReason = set.stopReason;
    }
    result.simulationCount = set.simulationCount;
    result.simulationSeconds = set.simulationSeconds;
    result.nonFiniteSummary = set.nonFiniteSummary;
    return result;
}

}  // namespace sbiw
