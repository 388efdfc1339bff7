#include "inference/snpe.h"

#include <algorithm>
#include <stdexcept>

#include "core/random.h"
#include "inference/posterior_state.h"
#include "inference/snpe_loss.h"
#include "inference/trainer.h"
#include "simulators/batch_simulation.h"

namespace sbiw {

using neural::toMatrix;
using neural::toTensor;

namespace neural {

torch::Tensor drawContrastingAtoms(std::int64_t batch, int atoms, std::uint64_t seed,
                                   std::uint64_t index) {
    if (batch < 1)
        throw std::invalid_argument("drawContrastingAtoms: the batch is empty");
    const std::int64_t k = std::max<std::int64_t>(0, std::min<std::int64_t>(atoms, batch) - 1);
    torch::Tensor out = torch::empty({batch, k}, torch::kLong);
    std::int64_t* o = out.data_ptr<std::int64_t>();
    // Offsets 1..B-1 from row i, picked by a partial Fisher-Yates shuffle (uniform whatever
    // order the pool is left in by the previous row): distinct rows, never i itself.
    std::vector<std::int64_t> pool(std::size_t(batch - 1));
    for (std::int64_t j = 0; j < batch - 1; ++j)
        pool[std::size_t(j)] = j + 1;
    RandomStream rng(seed, StreamPurpose::Training, index);
    for (std::int64_t i = 0; i < batch; ++i)
        for (std::int64_t a = 0; a < k; ++a) {
            const std::int64_t r = a + std::int64_t(rng.below(std::uint64_t(batch - 1 - a)));
            std::swap(pool[std::size_t(a)], pool[std::size_t(r)]);
            o[i * k + a] = (i + pool[std::size_t(a)]) % batch;
        }
    return out;
}

torch::Tensor atomicLogProbs(const ConditionalLogDensity& logQ, const torch::Tensor& theta,
                             const torch::Tensor& x, const torch::Tensor& logPrior,
                             const torch::Tensor& contrast) {
    const std::int64_t b = theta.size(0);
    const std::int64_t k = contrast.size(1) + 1;
    if (contrast.size(0) != b || x.size(0) != b || logPrior.size(0) != b)
        throw std::invalid_argument(
            "atomicLogProbs: theta, x, logPrior and contrast need one row per batch row");
    const torch::Tensor own = torch::arange(b, contrast.options()).unsqueeze(1);
    const torch::Tensor atomRows =
        torch::cat({own, contrast}, 1).reshape({-1});  // [B*K], row i's atoms first
    const torch::Tensor atomTheta = theta.index_select(0, atomRows);
    const torch::Tensor repeatedX =
        x.unsqueeze(1).expand({b, k, x.size(1)}).reshape({b * k, x.size(1)});
    const torch::Tensor u = logQ(atomTheta, repeatedX).reshape({b, k}) -
                            logPrior.index_select(0, atomRows).reshape({b, k});
    return u.select(1, 0) - torch::logsumexp(u, 1);
}

}  // namespace neural

Problems SnpeSettings::validate() const {
    Problems problems;
    appendProblems(problems, npe.validate(), "npe");
    if (rounds < 1)
        problems.push_back({"rounds", "must be at least 1"});
    if (atoms < 2)
        problems.push_back({"atoms", "must be at least 2 (the true θ and one contrasting atom)"});
    if (rounds >= 1 && npe.simulations < 2 * std::int64_t(rounds))
        problems.push_back({"npe.simulations",
                            "must be at least 2 per round (" + std::to_string(2 * rounds) + ")"});
    return problems;
}

std::int64_t SnpeSettings::simulationsInRound(int round) const {
    const std::int64_t each = npe.simulations / rounds;
    return round == 1 ? each + npe.simulations % rounds : each;
}

namespace {

void checkObservation(const Matrix& observation, int dataDimension) {
    if (observation.rows() != 1 || observation.cols() != dataDimension)
        throw std::invalid_argument("SNPE conditions on one observation row of " +
                                    std::to_string(dataDimension) + " values (got " +
                                    std::to_string(observation.rows()) + " x " +
                                    std::to_string(observation.cols()) + ")");
    if (!observation.allFinite())
        throw std::invalid_argument("the observation contains non-finite values");
}

}  // namespace

SnpeResult runSnpe(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                   const SnpeSettings& settings, const TrainingHooks& hooks) {
    throwIfProblems(settings.validate());
    checkObservation(observation, simulator.dataDimension());
    const NpeSettings& npe = settings.npe;
    SnpeResult result;
    auto noteNonFinite = [&](int round, const std::string& summary) {
        if (summary.empty())
            return;
        if (!result.nonFiniteSummary.empty())
            result.nonFiniteSummary += "; ";
        result.nonFiniteSummary += "round " + std::to_string(round) + ": " + summary;
    };

    // Round 1: the prior's simulations, as NPE draws them with this seed.
    SnpeRound first;
    first.round = 1;
    {
        NpeSettings roundOne = npe;
        roundOne.simulations = settings.simulationsInRound(1);
        NpeTrainingSet set = simulateTrainingSet(prior, simulator, roundOne, hooks);
        first.simulations = set.simulationCount;
        first.simulationSeconds = set.simulationSeconds;
        result.simulationCount = set.simulationCount;
        result.simulationSeconds = set.simulationSeconds;
        if (set.cancelled) {
            result.rounds.push_back(first);
            result.training.status = RunStatus::Cancelled;
            result.training.stopReason = "round 1: " + set.stopReason;
            return result;
        }
        noteNonFinite(1, set.nonFiniteSummary);
        result.theta = std::move(set.theta);
        result.x = std::move(set.x);
        result.roundOfRow.assign(std::size_t(result.theta.rows()), 1);
    }
    if (result.theta.rows() < 2) {
        result.rounds.push_back(first);
        result.training.status = RunStatus::Failed;
        result.training.stopReason = "round 1: training needs at least 2 finite simulations, got " +
                                     std::to_string(result.theta.rows());
        return result;
    }

    neural::setComputeThreads(npe.threads > 0 ? npe.threads : 1);
    const torch::Device device(resolveDevice(npe.device));
    torch::Tensor thetaData = toTensor(result.theta, device);
    torch::Tensor xData = toTensor(result.x, device);
    auto logPriorOf = [&](const Matrix& theta) {
        const Vector values = prior.logProb(theta);
        Matrix column(values.size(), 1);
        column.col(0) = values;
        return toTensor(column, device).reshape({-1});
    };
    torch::Tensor logPriorData = logPriorOf(result.theta);
    // z-scoring from round 1's simulations, kept for every later round (as sbi does).
    const std::shared_ptr<detail::PosteriorState> state =
        detail::newPosteriorState(prior, thetaData, xData, npe, device);
    neural::ConditionalEstimatorImpl& estimator = *state->estimator;
    const NeuralPosterior posterior(state);
    const neural::ConditionalLogDensity logQ = [&](const torch::Tensor& theta,
                                                   const torch::Tensor& x) {
        return estimator.logProb(theta, x);
    };

    for (int round = 1; round <= settings.rounds; ++round) {
        SnpeRound current = first;
        if (round > 1) {
            current = SnpeRound{};
            current.round = round;
            // The proposal: the current posterior at x_o, restricted to the prior's support.
            const std::int64_t count = settings.simulationsInRound(round);
            SamplingReport report;
            Matrix proposals;
            try {
                proposals = posterior.sample(count, observation,
                                             neural::roundSeed(npe.seed, round, 1), &report);
            } catch (const std::runtime_error& error) {
                result.rounds.push_back(current);
                result.training.status = RunStatus::Failed;
                result.training.stopReason =
                    "round " + std::to_string(round) + ": cannot draw proposals: " + error.what();
                break;
            }
            current.proposalAcceptance = report.acceptanceRate();
            SimulationOptions options;
            options.seed = npe.seed;
            options.threads = npe.threads;
            options.firstIndex = result.simulationCount;  // fresh simulator streams every round
            const NpeTrainingSet set = simulateTrainingSetAt(proposals, simulator, options, hooks);
            current.simulations = set.simulationCount;
            current.simulationSeconds = set.simulationSeconds;
            result.simulationCount += set.simulationCount;
            result.simulationSeconds += set.simulationSeconds;
            if (set.cancelled) {
                result.rounds.push_back(current);
                result.training.status = RunStatus::Cancelled;
                result.training.stopReason =
                    "round " + std::to_string(round) + ": " + set.stopReason;
                break;
            }
            noteNonFinite(round, set.nonFiniteSummary);
            const Matrix& theta = set.theta;
            const Matrix& x = set.x;
            appendRows(result.theta, theta);
            appendRows(result.x, x);
            result.roundOfRow.insert(result.roundOfRow.end(), std::size_t(theta.rows()), round);
            thetaData = torch::cat({thetaData, toTensor(theta, device)}, 0);
            xData = torch::cat({xData, toTensor(x, device)}, 0);
            logPriorData = torch::cat({logPriorData, logPriorOf(theta)}, 0);
        }
        current.trainingPairs = result.theta.rows();

        neural::TrainingProblem problem;
        problem.module = &estimator;
        problem.rows = result.theta.rows();
        std::uint64_t batchCounter = 0;
        const std::uint64_t atomSeed = neural::roundSeed(npe.seed, round, 2);
        if (round == 1) {
            problem.batchLoss = [&](const torch::Tensor& indices) {
                const torch::Tensor rows = indices.to(device);
                return -estimator
                            .logProb(thetaData.index_select(0, rows), xData.index_select(0, rows))
                            .mean();
            };
        } else {
            problem.batchLoss = [&](const torch::Tensor& indices) {
                const torch::Tensor rows = indices.to(device);
                // Training batches draw fresh atoms; a validation chunk always the same ones (its
                // first row names its stream), so that validation losses compare across epochs.
                const std::uint64_t stream =
                    estimator.is_training()
                        ? batchCounter++
                        : (std::uint64_t(1) << 62) + std::uint64_t(indices[0].item<std::int64_t>());
                const torch::Tensor contrast =
                    neural::drawContrastingAtoms(indices.size(0), settings.atoms, atomSeed, stream)
                        .to(device);
                return -neural::atomicLogProbs(logQ, thetaData.index_select(0, rows),
                                               xData.index_select(0, rows),
                                               logPriorData.index_select(0, rows), contrast)
                            .mean();
            };
        }
        problem.snapshot = [&](int count, int epoch) {
            try {
                return posterior.sample(count, observation,
                                        neural::roundSeed(npe.seed, round, 3) +
                                            0x9E3779B97F4A7C15ULL * std::uint64_t(epoch));
            } catch (const std::runtime_error&) {
                return Matrix(0, result.theta.cols());  // nothing inside the support yet
            }
        };
        // The weights this round starts from: if it ends before any epoch improved (cancelled or
        // failed in its first epochs), the posterior stays the previous round's.
        const std::vector<torch::Tensor> before = neural::copyOfParameters(estimator);
        if (hooks.onStage)
            hooks.onStage("training");
        current.training = neural::train(problem, npe.training,
                                         neural::roundSeed(npe.seed, round, 0), hooks, round);
        const TrainingSummary& t = current.training;
        result.rounds.push_back(current);
        neural::addRound(result.training, t);
        if (t.bestEpoch > 0) {
            result.posterior = posterior;
        } else {
            neural::restoreParameters(estimator, before);
        }
        result.training.stopReason = "round " + std::to_string(round) + ": " + t.stopReason;
        if (t.status != RunStatus::Finished) {
            result.training.status = t.status;
            break;
        }
    }
    return result;
}

}  // namespace sbiw
