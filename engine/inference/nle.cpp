#include "inference/nle.h"

#include <cmath>
#include <stdexcept>

#include "inference/conditional_estimator.h"
#include "inference/npe.h"
#include "inference/trainer.h"

namespace sbiw {

Problems NleSettings::validate() const {
    Problems problems;
    appendProblems(problems, estimator.validate(), "estimator");
    appendProblems(problems, training.validate(), "training");
    appendProblems(problems, mcmc.validate(), "mcmc");
    if (simulations < 2) problems.push_back({"simulations", "must be at least 2"});
    if (threads < 0) problems.push_back({"threads", "must be 0 (all cores) or positive"});
    if (device != "auto" && device != "cpu" && device != "cuda")
        problems.push_back({"device", "'" + device + "' is not one of: auto, cpu, cuda"});
    if (estimator.kind != "mdn" && estimator.embedding != "none" && estimator.embedding != "auto")
        problems.push_back({"estimator.embedding", "a likelihood estimator conditions on θ and embeds nothing"});
    return problems;
}

NleResult runNle(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NleSettings& settings, const TrainingHooks& hooks) {
    throwIfProblems(settings.validate());
    if (observation.rows() < 1 || observation.cols() != simulator.dataDimension() || !observation.allFinite())
        throw std::invalid_argument("the observation must have at least one finite row of " +
                                    std::to_string(simulator.dataDimension()) + " values");

    // The same simulations NPE would train on with this seed (shared code, same streams).
    NpeSettings simulation;
    simulation.simulations = settings.simulations;
    simulation.seed = settings.seed;
    simulation.threads = settings.threads;
    const NpeTrainingSet set = simulateTrainingSet(prior, simulator, simulation, hooks);
    NleResult result;
    result.simulationCount = set.simulationCount;
    result.simulationSeconds = set.simulationSeconds;
    result.nonFiniteSummary = set.nonFiniteSummary;
    if (set.cancelled) {
        result.training.status = RunStatus::Cancelled;
        result.training.stopReason = set.stopReason;
        return result;
    }
    result.trainingPairs = set.theta.rows();

    neural::setComputeThreads(1);
    const torch::Device device(resolveDevice(settings.device));
    const torch::Tensor thetaData = neural::toTensor(set.theta, device);
    const torch::Tensor xData = neural::toTensor(set.x, device);
    // Roles swapped against NPE: the density is over x, the condition is θ.
    neural::EstimatorShape shape;
    shape.parameters = int(set.x.cols());
    shape.data = int(set.theta.cols());
    shape.embedding = "none";
    const auto [xMean, xStd] = neural::columnStandardization(xData.to(torch::kCPU));
    const auto [thetaMean, thetaStd] = neural::columnStandardization(thetaData.to(torch::kCPU));
    EstimatorSettings estimatorSettings = settings.estimator;
    estimatorSettings.embedding = "none";
    auto estimator = std::make_shared<neural::ConditionalEstimatorImpl>(estimatorSettings, shape, xMean, xStd,
                                                                        thetaMean, thetaStd, settings.seed);
    estimator->to(device);

    neural::TrainingProblem problem;
    problem.module = estimator.get();
    problem.rows = set.theta.rows();
    problem.batchLoss = [&](const torch::Tensor& indices) {
        const torch::Tensor rows = indices.to(device);
        return -estimator->logProb(xData.index_select(0, rows), thetaData.index_select(0, rows)).mean();
    };
    if (hooks.onStage) hooks.onStage("training");
    result.training = neural::train(problem, settings.training, settings.seed, hooks);
    if (result.training.bestEpoch == 0 || result.training.status != RunStatus::Finished) return result;
    result.trained = true;

    // log p(θ | x_o) up to a constant, for all chains in one network call: every chain's θ is
    // paired with every observation row, and the rows' log-likelihoods are summed per chain.
    const torch::Tensor xo = neural::toTensor(observation, device);
    const std::int64_t trials = observation.rows();
    const BatchLogDensity logPosterior = [&](const Matrix& thetas) -> Vector {
        Vector logPrior = prior.logProb(thetas);
        torch::NoGradGuard noGrad;
        const std::int64_t chains = thetas.rows();
        const torch::Tensor t = neural::toTensor(thetas, device).repeat_interleave(trials, 0);
        const torch::Tensor x = xo.repeat({chains, 1});
        const Matrix logLikelihood = neural::toMatrix(estimator->logProb(x, t).view({chains, trials}).sum(1, true));
        for (Eigen::Index c = 0; c < chains; ++c)
            if (std::isfinite(logPrior(c))) logPrior(c) += logLikelihood(c, 0);
        return logPrior;
    };
    if (hooks.onStage) hooks.onStage("sampling");
    McmcSettings mcmc = settings.mcmc;
    mcmc.threads = 1;  // one network call for all chains beats two half-size calls, and torch modules are not re-entrant
    LoopControl control;
    control.cancelFlag = hooks.cancel;
    result.posterior = sampleMcmc(logPosterior, prior, mcmc, control);
    if (result.posterior.cancelled) {
        result.training.status = RunStatus::Cancelled;
        result.training.stopReason = "cancelled while sampling the posterior";
    }
    return result;
}

}  // namespace sbiw
