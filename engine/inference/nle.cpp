#include "inference/nle.h"

#include "inference/conditional_estimator.h"
#include "inference/likelihood_posterior.h"

namespace sbiw {

Problems NleSettings::validate() const {
    Problems problems;
    appendProblems(problems, estimator.validate(), "estimator");
    appendProblems(problems, training.validate(), "training");
    appendProblems(problems, mcmc.validate(), "mcmc");
    appendRunProblems(problems, *this);
    if (estimator.kind != "mdn" && estimator.embedding != "none" && estimator.embedding != "auto")
        problems.push_back(
            {"estimator.embedding", "a likelihood estimator conditions on θ and embeds nothing"});
    return problems;
}

NleResult runNle(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NleSettings& settings, const TrainingHooks& hooks) {
    throwIfProblems(settings.validate());
    const auto makeModel = [&settings](const torch::Tensor& theta, const torch::Tensor& x,
                                       const torch::Device&) {
        // Roles swapped against NPE: the density is over x, the condition is θ.
        neural::EstimatorShape shape;
        shape.parameters = int(x.size(1));
        shape.data = int(theta.size(1));
        shape.embedding = "none";
        const auto [xMean, xStd] = neural::columnStandardization(x.to(torch::kCPU));
        const auto [thetaMean, thetaStd] = neural::columnStandardization(theta.to(torch::kCPU));
        EstimatorSettings estimatorSettings = settings.estimator;
        estimatorSettings.embedding = "none";
        auto estimator = std::make_shared<neural::ConditionalEstimatorImpl>(
            estimatorSettings, shape, xMean, xStd, thetaMean, thetaStd, settings.seed);
        neural::LikelihoodModel model;
        model.module = estimator;
        model.loss = [estimator](const torch::Tensor& thetaRows, const torch::Tensor& xRows,
                                 const torch::Tensor&) {
            return -estimator->logProb(xRows, thetaRows).mean();
        };
        model.term = [estimator](const torch::Tensor& thetaRows, const torch::Tensor& xRows) {
            return estimator->logProb(xRows, thetaRows);
        };
        return model;
    };
    return neural::runLikelihoodRounds(prior, simulator, observation,
                                       neural::likelihoodRunOf(settings), makeModel, hooks);
}

}  // namespace sbiw
