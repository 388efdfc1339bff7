#include "inference/likelihood_posterior.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "inference/trainer.h"

namespace sbiw::neural {

bool simulateForLikelihood(const JointPrior& prior, const Simulator& simulator,
                           const Matrix& observation, std::int64_t simulations, std::uint64_t seed,
                           int threads, const TrainingHooks& hooks, NpeTrainingSet& set,
                           NleResult& result) {
    if (observation.rows() < 1 || observation.cols() != simulator.dataDimension() ||
        !observation.allFinite())
        throw std::invalid_argument("the observation must have at least one finite row of " +
                                    std::to_string(simulator.dataDimension()) + " values");
    NpeSettings simulation;
    simulation.simulations = simulations;
    simulation.seed = seed;
    simulation.threads = threads;
    set = simulateTrainingSet(prior, simulator, simulation, hooks);
    result.simulationCount = set.simulationCount;
    result.simulationSeconds = set.simulationSeconds;
    result.nonFiniteSummary = set.nonFiniteSummary;
    result.trainingPairs = set.theta.rows();
    if (!set.cancelled)
        return true;
    result.training.status = RunStatus::Cancelled;
    result.training.stopReason = set.stopReason;
    return false;
}

namespace {

using LikelihoodTerm = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;

// log p(θ) + Σ_i term(θ, x_o,i) for a batch of chains (the i.i.d. rows' terms add up).
BatchLogDensity logPosteriorOf(const JointPrior& prior, const Matrix& observation, const torch::Device& device,
                               const LikelihoodTerm& term) {
    const torch::Tensor xo = toTensor(observation, device);
    const std::int64_t trials = observation.rows();
    return [&prior, xo, trials, device, term](const Matrix& thetas) -> Vector {
        Vector logDensity = prior.logProb(thetas);
        torch::NoGradGuard noGrad;
        const std::int64_t chains = thetas.rows();
        const torch::Tensor theta = toTensor(thetas, device).repeat_interleave(trials, 0);
        const Matrix summed =
            toMatrix(term(theta, xo.repeat({chains, 1})).view({chains, trials}).sum(1, true));
        for (Eigen::Index c = 0; c < chains; ++c)
            if (std::isfinite(logDensity(c)))
                logDensity(c) += summed(c, 0);
        return logDensity;
    };
}

}  // namespace

void samplePosteriorByMcmc(const JointPrior& prior, const Matrix& observation, const torch::Device& device,
                           const LikelihoodTerm& term, const McmcSettings& settings, const TrainingHooks& hooks,
                           NleResult& result) {
    const BatchLogDensity logPosterior = logPosteriorOf(prior, observation, device, term);
    if (hooks.onStage)
        hooks.onStage("sampling");
    McmcSettings mcmc = settings;
    mcmc.threads =
        1;  // one network call for all chains beats two half-size calls; modules are not re-entrant
    LoopControl control;
    control.cancelFlag = hooks.cancel;
    result.posterior = sampleMcmc(logPosterior, prior, mcmc, control);
    if (result.posterior.cancelled) {
        result.training.status = RunStatus::Cancelled;
        result.training.stopReason = "cancelled while sampling the posterior";
    }
}

void trainThenSample(const TrainingProblem& problem, const TrainingSettings& training, std::uint64_t seed,
                     const JointPrior& prior, const Matrix& observation, const torch::Device& device,
                     const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& term,
                     const McmcSettings& settings, const TrainingHooks& hooks, NleResult& result) {
    if (hooks.onStage) hooks.onStage("training");
    // Snapshots of an MCMC-based posterior: a short, cheap chain with the current network (a few
    // chains, short warm-up, no thinning), enough for the GUI to show it concentrating.
    TrainingProblem withSnapshots = problem;
    const BatchLogDensity logPosterior = logPosteriorOf(prior, observation, device, term);
    if (!withSnapshots.snapshot && hooks.onSnapshot)
        withSnapshots.snapshot = [&prior, &logPosterior, seed](int count, int epoch) {
            McmcSettings quick;
            quick.chains = std::max(1, std::min(20, count));
            quick.warmupSteps = 20;
            quick.thinning = 1;
            quick.samples = count;
            quick.resampleCandidates = 1000;
            quick.threads = 1;
            quick.seed = seed + std::uint64_t(epoch);
            McmcResult draws = sampleMcmc(logPosterior, prior, quick, {});
            return Matrix(draws.samples.topRows(std::min<Eigen::Index>(count, draws.samples.rows())));
        };
    result.training = train(withSnapshots, training, seed, hooks);
    if (result.training.bestEpoch == 0 || result.training.status != RunStatus::Finished) return;
    result.trained = true;
    samplePosteriorByMcmc(prior, observation, device, term, settings, hooks, result);
}

}  // namespace sbiw::neural
