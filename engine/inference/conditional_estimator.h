#pragma once
// q(θ | x) as one torch module: z-scoring of θ and x (from the training data), an embedding of
// x, and a conditional density (flow or MDN) over the standardised θ. Internal to sbiw_neural.

#include <torch/torch.h>

#include "inference/settings.h"
#include "neural/embedding.h"
#include "neural/transform.h"

namespace sbiw::neural {

struct EstimatorShape {
    int parameters = 0;
    int data = 0;
    std::string embedding;  // resolved kind: none | mlp | cnn | set
    int setElementFeatures = 0;
};

class ConditionalEstimatorImpl : public torch::nn::Module {
public:
    // The normalisation tensors are [D] and [X]; their values are replaced on load().
    ConditionalEstimatorImpl(const EstimatorSettings& settings, const EstimatorShape& shape,
                             const torch::Tensor& thetaMean, const torch::Tensor& thetaStd,
                             const torch::Tensor& xMean, const torch::Tensor& xStd, std::uint64_t seed);

    // log q(θ | x) for matching rows: theta [N, D], x [N, X] -> [N].
    torch::Tensor logProb(const torch::Tensor& theta, const torch::Tensor& x);
    // Draws for one observation: x [1, X] -> [count, D].
    torch::Tensor sample(std::int64_t count, const torch::Tensor& x);

    const EstimatorSettings& settings() const { return settings_; }
    const EstimatorShape& shape() const { return shape_; }

private:
    torch::Tensor embed(const torch::Tensor& x);

    EstimatorSettings settings_;
    EstimatorShape shape_;
    torch::Tensor thetaMean_, thetaStd_, xMean_, xStd_;
    Embedding embedding_;
    ConditionalDensity density_;
};

using ConditionalEstimator = std::shared_ptr<ConditionalEstimatorImpl>;

// Mean and std per column of the finite data, with std = 1 where a column is constant.
std::pair<torch::Tensor, torch::Tensor> columnStandardization(const torch::Tensor& data);

}  // namespace sbiw::neural
