#include "inference/nre.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "inference/conditional_estimator.h"
#include "inference/likelihood_posterior.h"
#include "inference/snpe_loss.h"
#include "inference/trainer.h"
#include "neural/flow_internal.h"

namespace sbiw {

namespace {

// The classifier on z-scored [θ, x]; forward gives the logit (the log-ratio estimate).
class RatioClassifierImpl : public torch::nn::Module {
  public:
    RatioClassifierImpl(int parameters, int data, int hidden, int blocks,
                        const torch::Tensor& thetaMean, const torch::Tensor& thetaStd,
                        const torch::Tensor& xMean, const torch::Tensor& xStd, std::uint64_t seed)
        : architecture_{{"kind", "ratio"},           {"parameters", parameters}, {"data", data},
                        {"hidden_features", hidden}, {"blocks", blocks},         {"seed", seed}} {
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

    // What rebuilds it: its kind, dimensions, width, depth and seed.
    const nlohmann::json& architecture() const { return architecture_; }

  private:
    nlohmann::json architecture_;
    torch::Tensor thetaMean_, thetaStd_, xMean_, xStd_;
    std::shared_ptr<neural::ConditionerImpl> net_;
};

// NRE-C's loss for a batch (sbi's SNRE_C): per row, the log-probabilities of the marginal class
// (K atoms from other rows, none simulated with x_i) and of the joint class (θ_i among K - 1
// others), from logits f: p(marginal) = K / (K + γ Σ_k e^{f_k}) and p(joint at θ_i) =
// γ e^{f_i} / (K + γ Σ_k e^{f_k}), weighted 1 : γ.
torch::Tensor contrastiveLoss(RatioClassifierImpl& classifier, const torch::Tensor& theta,
                              const torch::Tensor& x, int classes, double gamma, std::uint64_t seed,
                              std::uint64_t stream) {
    const std::int64_t batch = theta.size(0);
    const std::int64_t k =
        std::min<std::int64_t>(classes, batch - 1);  // atoms per row the batch allows
    if (k < 1)
        return classifier.logRatio(theta, x).sum() * 0.0;  // one row: nothing to contrast
    const torch::Tensor own = torch::arange(batch, torch::kLong).unsqueeze(1);
    const torch::Tensor jointRows =
        torch::cat({own, neural::drawContrastingAtoms(batch, int(k), seed, 2 * stream)}, 1)
            .reshape({-1});
    const torch::Tensor marginalRows =
        neural::drawContrastingAtoms(batch, int(k) + 1, seed, 2 * stream + 1).reshape({-1});
    const torch::Tensor repeatedX =
        x.unsqueeze(1).expand({batch, k, x.size(1)}).reshape({batch * k, x.size(1)});
    const torch::Device device = theta.device();
    const torch::Tensor joint =
        classifier.logRatio(theta.index_select(0, jointRows.to(device)), repeatedX)
            .reshape({batch, k});
    const torch::Tensor marginal =
        classifier.logRatio(theta.index_select(0, marginalRows.to(device)), repeatedX)
            .reshape({batch, k});
    const double logGamma = std::log(gamma), logK = std::log(double(k));
    const torch::Tensor logKColumn = torch::full({batch, 1}, logK, joint.options());
    const torch::Tensor logMarginal =
        logK - torch::logsumexp(torch::cat({logGamma + marginal, logKColumn}, 1), 1);
    const torch::Tensor logJoint =
        logGamma + joint.select(1, 0) -
        torch::logsumexp(torch::cat({logGamma + joint, logKColumn}, 1), 1);
    return -(logMarginal / (1.0 + gamma) + logJoint * (gamma / (1.0 + gamma))).mean();
}

// The classifier as the rounds and the MCMC posterior use it (no loss yet); `network` says how to
// build it again (rebuildRatioNetwork).
neural::LikelihoodModel ratioModel(const std::shared_ptr<RatioClassifierImpl>& classifier) {
    neural::LikelihoodModel model;
    model.module = classifier;
    model.network = classifier->architecture();
    model.term = [classifier](const torch::Tensor& thetaRows, const torch::Tensor& xRows) {
        return classifier->logRatio(thetaRows, xRows);
    };
    return model;
}

}  // namespace

Problems NreSettings::validate() const {
    Problems problems;
    if (loss != "a" && loss != "c")
        problems.push_back({"loss", "'" + loss + "' is not one of: a (NRE-A), c (NRE-C)"});
    if (classes < 1)
        problems.push_back({"classes", "must be at least 1"});
    if (!(gamma > 0.0) || !std::isfinite(gamma))
        problems.push_back({"gamma", "must be positive and finite"});
    if (hiddenFeatures < 1)
        problems.push_back({"hiddenFeatures", "must be positive"});
    if (blocks < 0)
        problems.push_back({"blocks", "must not be negative"});
    const Problems run = validateRun();
    problems.insert(problems.end(), run.begin(), run.end());
    return problems;
}

NreResult runNre(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NreSettings& settings, const TrainingHooks& hooks) {
    throwIfProblems(settings.validate());
    const auto makeModel = [&settings](const torch::Tensor& theta, const torch::Tensor& x,
                                       const torch::Device&) {
        const auto [thetaMean, thetaStd] = neural::columnStandardization(theta.to(torch::kCPU));
        const auto [xMean, xStd] = neural::columnStandardization(x.to(torch::kCPU));
        auto classifier = std::make_shared<RatioClassifierImpl>(
            int(theta.size(1)), int(x.size(1)), settings.hiddenFeatures, settings.blocks, thetaMean,
            thetaStd, xMean, xStd, settings.seed);
        neural::LikelihoodModel model = ratioModel(classifier);
        if (settings.loss == "a") {
            // Each batch gives its pairs (label 1) and the same x with the θ of the next row (label
            // 0): the rows are reshuffled every epoch, so the negatives change too, and the loss is
            // deterministic for given rows (validation stays comparable across epochs).
            model.loss = [classifier](const torch::Tensor& thetaRows, const torch::Tensor& xRows,
                                      const torch::Tensor&) {
                const torch::Tensor joint = classifier->logRatio(thetaRows, xRows);
                const torch::Tensor marginal = classifier->logRatio(thetaRows.roll(1, 0), xRows);
                // BCE with logits: -log σ(joint) - log(1 - σ(marginal)).
                return (torch::nn::functional::softplus(-joint) +
                        torch::nn::functional::softplus(marginal))
                    .mean();
            };
        } else {
            // Training batches draw fresh atoms; a validation chunk always the same ones (its first
            // row names its stream), so that validation losses compare across epochs.
            auto batches = std::make_shared<std::uint64_t>(0);
            const std::uint64_t atomSeed = settings.seed ^ 0xC0117A57ULL;
            model.loss = [classifier, batches, atomSeed, classes = settings.classes,
                          gamma = settings.gamma](const torch::Tensor& thetaRows,
                                                  const torch::Tensor& xRows,
                                                  const torch::Tensor& indices) {
                const std::uint64_t stream =
                    classifier->is_training()
                        ? (*batches)++
                        : (std::uint64_t(1) << 61) + std::uint64_t(indices[0].item<std::int64_t>());
                return contrastiveLoss(*classifier, thetaRows, xRows, classes, gamma, atomSeed,
                                       stream);
            };
        }
        return model;
    };
    return neural::runLikelihoodRounds(prior, simulator, observation, settings,
                                       {{"resnet", makeModel}}, hooks);
}

neural::LikelihoodModel neural::rebuildRatioNetwork(const nlohmann::json& network,
                                                    const torch::Device&) {
    const int parameters = network.at("parameters").get<int>();
    const int data = network.at("data").get<int>();
    if (parameters < 1 || data < 1)
        throw std::runtime_error("the ratio network's dimensions are not positive");
    // Placeholder z-scoring: load() replaces it with the stored buffers.
    return ratioModel(std::make_shared<RatioClassifierImpl>(
        parameters, data, network.at("hidden_features").get<int>(), network.at("blocks").get<int>(),
        torch::zeros({parameters}), torch::ones({parameters}), torch::zeros({data}),
        torch::ones({data}), network.at("seed").get<std::uint64_t>()));
}

}  // namespace sbiw
