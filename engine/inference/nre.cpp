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
    // logColumns: 1.0 where the classifier reads log x (x's z-scoring is of those values).
    RatioClassifierImpl(int parameters, int data, int hidden, int blocks,
                        const torch::Tensor& thetaMean, const torch::Tensor& thetaStd,
                        const torch::Tensor& xMean, const torch::Tensor& xStd,
                        const std::vector<double>& logColumns, std::uint64_t seed)
        : architecture_{{"kind", "ratio"},           {"parameters", parameters}, {"data", data},
                        {"hidden_features", hidden}, {"blocks", blocks},         {"seed", seed},
                        {"log_columns", logColumns}},
          logColumns_(torch::tensor(logColumns, torch::TensorOptions().dtype(torch::kDouble))),
          anyLog_(
              std::any_of(logColumns.begin(), logColumns.end(), [](double v) { return v > 0; })) {
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
        const torch::Tensor xRead = anyLog_ ? neural::logScaled(x, logColumns_) : x;
        const auto input =
            torch::cat({(theta - thetaMean_) / thetaStd_, (xRead - xMean_) / xStd_}, 1);
        return net_->forward(input, torch::Tensor()).squeeze(1);
    }

    // What rebuilds it: its kind, dimensions, width, depth and seed.
    const nlohmann::json& architecture() const { return architecture_; }

  private:
    nlohmann::json architecture_;
    torch::Tensor logColumns_;  // not a buffer: archives from before it existed load as they are
    bool anyLog_ = false;
    torch::Tensor thetaMean_, thetaStd_, xMean_, xStd_;
    std::shared_ptr<neural::ConditionerImpl> net_;
};

// NRE-B's loss for a batch (sbi's SNRE_B): per row, -log of the softmax probability that θ_i,
// among K atoms (θ_i and K - 1 θ of other rows), is the one simulated with x_i.
torch::Tensor atomLoss(RatioClassifierImpl& classifier, const torch::Tensor& theta,
                       const torch::Tensor& x, int atoms, std::uint64_t seed,
                       std::uint64_t stream) {
    const std::int64_t batch = theta.size(0);
    const std::int64_t k = std::min<std::int64_t>(atoms, batch);  // atoms the batch allows
    if (k < 2)
        return classifier.logRatio(theta, x).sum() * 0.0;  // one row: nothing to contrast
    const torch::Tensor own = torch::arange(batch, torch::kLong).unsqueeze(1);
    const torch::Tensor rows =
        torch::cat({own, neural::drawContrastingAtoms(batch, int(k), seed, stream)}, 1)
            .reshape({-1});
    const torch::Tensor repeatedX =
        x.unsqueeze(1).expand({batch, k, x.size(1)}).reshape({batch * k, x.size(1)});
    const torch::Tensor logits =
        classifier.logRatio(theta.index_select(0, rows.to(theta.device())), repeatedX)
            .reshape({batch, k});
    return -(logits.select(1, 0) - torch::logsumexp(logits, 1)).mean();
}

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
    if (loss != "a" && loss != "b" && loss != "c")
        problems.push_back(
            {"loss", "'" + loss + "' is not one of: a (NRE-A), b (NRE-B), c (NRE-C)"});
    if (atoms < 2)
        problems.push_back({"atoms", "must be at least 2 (the row's own θ and another)"});
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
    std::vector<int> logColumnList;
    const auto makeModel = [&settings, &logColumnList](const torch::Tensor& theta,
                                                       const torch::Tensor& x,
                                                       const torch::Device&) {
        const auto [thetaMean, thetaStd] = neural::columnStandardization(theta.to(torch::kCPU));
        const torch::Tensor xCpu = x.to(torch::kCPU, torch::kDouble);
        const torch::Tensor logColumns =
            settings.logPositiveColumns
                ? neural::positiveColumns(xCpu, neural::wholeNumberColumns(xCpu))
                : torch::zeros({x.size(1)}, torch::kDouble);
        auto [xMean, xStd] = neural::columnStandardization(neural::logScaled(xCpu, logColumns));
        logColumnList = neural::columnsOf(logColumns);
        auto classifier = std::make_shared<RatioClassifierImpl>(
            int(theta.size(1)), int(x.size(1)), settings.hiddenFeatures, settings.blocks, thetaMean,
            thetaStd, xMean.to(x.dtype()), xStd.to(x.dtype()),
            std::vector<double>(logColumns.data_ptr<double>(),
                                logColumns.data_ptr<double>() + logColumns.numel()),
            settings.seed);
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
            const auto streamOf = [classifier, batches](const torch::Tensor& indices) {
                return classifier->is_training()
                           ? (*batches)++
                           : (std::uint64_t(1) << 61) +
                                 std::uint64_t(indices[0].item<std::int64_t>());
            };
            if (settings.loss == "b")
                model.loss = [classifier, streamOf, atomSeed, atoms = settings.atoms](
                                 const torch::Tensor& thetaRows, const torch::Tensor& xRows,
                                 const torch::Tensor& indices) {
                    return atomLoss(*classifier, thetaRows, xRows, atoms, atomSeed,
                                    streamOf(indices));
                };
            else
                model.loss = [classifier, streamOf, atomSeed, classes = settings.classes,
                              gamma = settings.gamma](const torch::Tensor& thetaRows,
                                                      const torch::Tensor& xRows,
                                                      const torch::Tensor& indices) {
                    return contrastiveLoss(*classifier, thetaRows, xRows, classes, gamma, atomSeed,
                                           streamOf(indices));
                };
        }
        return model;
    };
    NreResult result = neural::runLikelihoodRounds(prior, simulator, observation, settings,
                                                   {{"resnet", makeModel}}, hooks);
    result.logColumns = logColumnList;
    return result;
}

neural::LikelihoodModel neural::rebuildRatioNetwork(const nlohmann::json& network,
                                                    const torch::Device&) {
    const int parameters = network.at("parameters").get<int>();
    const int data = network.at("data").get<int>();
    if (parameters < 1 || data < 1)
        throw std::runtime_error("the ratio network's dimensions are not positive");
    // Classifiers stored before log columns existed read every column as it is.
    const std::vector<double> logColumns =
        network.contains("log_columns") ? network.at("log_columns").get<std::vector<double>>()
                                        : std::vector<double>(std::size_t(data), 0.0);
    if (int(logColumns.size()) != data)
        throw std::runtime_error("the ratio network's log columns do not match its data");
    // Placeholder z-scoring: load() replaces it with the stored buffers.
    return ratioModel(std::make_shared<RatioClassifierImpl>(
        parameters, data, network.at("hidden_features").get<int>(), network.at("blocks").get<int>(),
        torch::zeros({parameters}), torch::ones({parameters}), torch::zeros({data}),
        torch::ones({data}), logColumns, network.at("seed").get<std::uint64_t>()));
}

}  // namespace sbiw
