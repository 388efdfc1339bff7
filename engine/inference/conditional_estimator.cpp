#include "inference/conditional_estimator.h"

#include <cmath>
#include <stdexcept>

#include "neural/flows.h"

namespace sbiw::neural {

ConditionalEstimatorImpl::ConditionalEstimatorImpl(const EstimatorSettings& settings, const EstimatorShape& shape,
                                                   const torch::Tensor& thetaMean, const torch::Tensor& thetaStd,
                                                   const torch::Tensor& xMean, const torch::Tensor& xStd,
                                                   std::uint64_t seed)
    : settings_(settings), shape_(shape) {
    throwIfProblems(settings.validate());
    torch::manual_seed(seed);  // weight initialisation
    thetaMean_ = register_buffer("theta_mean", thetaMean.clone());
    thetaStd_ = register_buffer("theta_std", thetaStd.clone());
    xMean_ = register_buffer("x_mean", xMean.clone());
    xStd_ = register_buffer("x_std", xStd.clone());

    const int h = settings.hiddenFeatures;
    if (shape.embedding == "none")
        embedding_ = makeIdentityEmbedding(shape.data);
    else if (shape.embedding == "mlp")
        embedding_ = makeMlpEmbedding(shape.data, h, settings.embeddingFeatures);
    else if (shape.embedding == "cnn")
        embedding_ = makeCnnEmbedding(shape.data, settings.embeddingFeatures, settings.cnnChannels);
    else if (shape.embedding == "set")
        embedding_ = makeSetEmbedding(shape.setElementFeatures, h, settings.embeddingFeatures);
    else
        throw std::invalid_argument("unknown embedding '" + shape.embedding + "'");
    register_module("embedding", embedding_);

    const int d = shape.parameters;
    const int context = embedding_->outputFeatures();
    if (settings.kind == "mdn") {
        density_ = makeMixtureDensityNetwork(d, context, h, settings.components);
    } else {
        std::vector<Transform> transforms;
        for (int i = 0; i < settings.transforms; ++i) {
            if (settings.kind == "maf") {
                transforms.push_back(makeMaskedAffineAutoregressive(d, context, h, settings.blocks));
                if (d > 1) transforms.push_back(makeRandomPermutation(d, seed + std::uint64_t(i)));
            } else {
                transforms.push_back(makeRationalQuadraticCoupling(d, context, i % 2 == 0, h, settings.blocks,
                                                                   settings.bins, settings.tailBound));
                if (d > 1) transforms.push_back(makeLuLinear(d));
            }
        }
        density_ = makeFlow(std::move(transforms), d);
    }
    register_module("density", density_);
}

torch::Tensor ConditionalEstimatorImpl::embed(const torch::Tensor& x) {
    return embedding_->forward((x - xMean_) / xStd_);
}

torch::Tensor ConditionalEstimatorImpl::logProb(const torch::Tensor& theta, const torch::Tensor& x) {
    const torch::Tensor z = (theta - thetaMean_) / thetaStd_;
    return density_->logProb(z, embed(x)) - thetaStd_.log().sum();
}

torch::Tensor ConditionalEstimatorImpl::sample(std::int64_t count, const torch::Tensor& x) {
    return density_->sample(count, embed(x)) * thetaStd_ + thetaMean_;
}

std::pair<torch::Tensor, torch::Tensor> columnStandardization(const torch::Tensor& data) {
    const torch::Tensor mean = data.mean(0);
    torch::Tensor std = data.std(0);
    std = torch::where(std > 1e-12, std, torch::ones_like(std));
    return {mean, std};
}

}  // namespace sbiw::neural
