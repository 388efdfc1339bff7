#include "inference/likelihood_posterior.h"

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

void samplePosteriorByMcmc(
    const JointPrior& prior, const Matrix& observation, const torch::Device& device,
    const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& term,
    const McmcSettings& settings, const TrainingHooks& hooks, NleResult& result) {
    const torch::Tensor xo = toTensor(observation, device);
    const std::int64_t trials = observation.rows();
    const BatchLogDensity logPosterior = [&](const Matrix& thetas) -> Vector {
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
    result.training = train(problem, training, seed, hooks);
    if (result.training.bestEpoch == 0 || result.training.status != RunStatus::Finished) return;
    result.trained = true;
    samplePosteriorByMcmc(prior, observation, device, term, settings, hooks, result);
}

}  // namespace sbiw::neural
