#include "inference/nle.h"

#include <cmath>
#include <stdexcept>

#include "inference/conditional_estimator.h"
#include "inference/likelihood_posterior.h"
#include "inference/trainer.h"

namespace sbiw {

Problems NleSettings::validate() const {
    Problems problems;
    appendProblems(problems, estimator.validate(), "estimator");
    appendProblems(problems, training.validate(), "training");
    appendProblems(problems, mcmc.validate(), "mcmc");
    if (simulations < 2)
        problems.push_back({"simulations", "must be at least 2"});
    if (threads < 0)
        problems.push_back({"threads", "must be 0 (all cores) or positive"});
    if (device != "auto" && device != "cpu" && device != "cuda")
        problems.push_back({"device", "'" + device + "' is not one of: auto, cpu, cuda"});
    if (estimator.kind != "mdn" && estimator.embedding != "none" && estimator.embedding != "auto")
        problems.push_back(
            {"estimator.embedding", "a likelihood estimator conditions on θ and embeds nothing"});
    return problems;
}

NleResult runNle(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NleSettings& settings, const TrainingHooks& hooks) {
    throwIfProblems(settings.validate());

    NpeTrainingSet set;  // the same simulations NPE trains on with this seed
    NleResult result;
    if (!neural::simulateForLikelihood(prior, simulator, observation, settings.simulations,
                                       settings.seed, settings.threads, hooks, set, result))
        return result;

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
    auto estimator = std::make_shared<neural::ConditionalEstimatorImpl>(
        estimatorSettings, shape, xMean, xStd, thetaMean, thetaStd, settings.seed);
    estimator->to(device);

    neural::TrainingProblem problem;
    problem.module = estimator.get();
    problem.rows = set.theta.rows();
    problem.batchLoss = [&](const torch::Tensor& indices) {
        const torch::Tensor rows = indices.to(device);
        return -estimator->logProb(xData.index_select(0, rows), thetaData.index_select(0, rows))
                    .mean();
    };
    // The posterior, up to a constant: for all chains in one network call, every chain's θ is
    // paired with every observation row and the rows' terms are summed per chain.
    neural::trainThenSample(
        problem, settings.training, settings.seed, prior, observation, device,
        [&](const torch::Tensor& theta, const torch::Tensor& x) { return estimator->logProb(x, theta); }, settings.mcmc,
        hooks, result);
    return result;
}

}  // namespace sbiw
