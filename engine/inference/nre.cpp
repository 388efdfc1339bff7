#include "inference/nre.h"

#include <cmath>
#include <stdexcept>

#include "inference/conditional_estimator.h"
#include "inference/likelihood_posterior.h"
#include "inference/trainer.h"
#include "neural/flow_internal.h"

namespace sbiw {

namespace {

// The classifier on z-scored [θ, x]; forward gives the logit (the log-ratio estimate).
class RatioClassifierImpl : public torch::nn::Module {
  public:
    RatioClassifierImpl(int parameters, int data, int hidden, int blocks,
                        const torch::Tensor& thetaMean, const torch::Tensor& thetaStd,
                        const torch::Tensor& xMean, const torch::Tensor& xStd, std::uint64_t seed) {
        torch::manual_seed(seed);
        thetaMean_ = register_buffer("theta_mean", thetaMean.clone());
        thetaStd_ = register_buffer("theta_std", thetaStd.clone());
        xMean_ = register_buffer("x_mean", xMean.clone());
        xStd_ = register_buffer("x_std", xStd.clone());
        net_ = register_module("classifier",
                               neural::makeResidualNet(parameters + data, 1, hidden, 0, blocks));
    }

    // theta [N, D], x [N, X] -> logits [N]
    torch::Tensor logRatio(const torch::Tensor& theta, const torch::Tensor& x) {
        const auto input = torch::cat({(theta - thetaMean_) / thetaStd_, (x - xMean_) / xStd_}, 1);
        return net_->forward(input, torch::Tensor()).squeeze(1);
    }

  private:
    torch::Tensor thetaMean_, thetaStd_, xMean_, xStd_;
    std::shared_ptr<neural::ConditionerImpl> net_;
};

}  // namespace

Problems NreSettings::validate() const {
    Problems problems;
    appendProblems(problems, training.validate(), "training");
    appendProblems(problems, mcmc.validate(), "mcmc");
    if (hiddenFeatures < 1)
        problems.push_back({"hiddenFeatures", "must be positive"});
    if (blocks < 0)
        problems.push_back({"blocks", "must not be negative"});
    if (simulations < 2)
        problems.push_back({"simulations", "must be at least 2"});
    if (threads < 0)
        problems.push_back({"threads", "must be 0 (all cores) or positive"});
    if (device != "auto" && device != "cpu" && device != "cuda")
        problems.push_back({"device", "'" + device + "' is not one of: auto, cpu, cuda"});
    return problems;
}

NreResult runNre(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NreSettings& settings, const TrainingHooks& hooks) {
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
    const auto [thetaMean, thetaStd] = neural::columnStandardization(thetaData.to(torch::kCPU));
    const auto [xMean, xStd] = neural::columnStandardization(xData.to(torch::kCPU));
    auto classifier = std::make_shared<RatioClassifierImpl>(
        int(set.theta.cols()), int(set.x.cols()), settings.hiddenFeatures, settings.blocks,
        thetaMean, thetaStd, xMean, xStd, settings.seed);
    classifier->to(device);

    neural::TrainingProblem problem;
    problem.module = classifier.get();
    problem.rows = set.theta.rows();
    // Each batch gives its pairs (label 1) and the same x with the θ of the next row (label 0):
    // the rows are reshuffled every epoch, so the negatives change too, and the loss is
    // deterministic for given rows (validation stays comparable across epochs).
    problem.batchLoss = [&](const torch::Tensor& indices) {
        const torch::Tensor rows = indices.to(device);
        const torch::Tensor theta = thetaData.index_select(0, rows);
        const torch::Tensor x = xData.index_select(0, rows);
        const torch::Tensor joint = classifier->logRatio(theta, x);
        const torch::Tensor marginal = classifier->logRatio(theta.roll(1, 0), x);
        // BCE with logits: -log σ(joint) - log(1 - σ(marginal)).
        return (torch::nn::functional::softplus(-joint) + torch::nn::functional::softplus(marginal))
            .mean();
    };
    // The posterior, up to a constant: for all chains in one network call, every chain's θ is
    // paired with every observation row and the rows' terms are summed per chain.
    neural::trainThenSample(
        problem, settings.training, settings.seed, prior, observation, device,
        [&](const torch::Tensor& theta, const torch::Tensor& x) { return classifier->logRatio(theta, x); }, settings.mcmc,
        hooks, result);
    return result;
}

}  // namespace sbiw
