#pragma once
// Invertible conditional transforms, the building blocks of normalizing flows.
//
// Direction convention (as in nflows): forward() maps data (θ) towards noise (z) and returns
// log|det ∂z/∂θ| per row; inverse() maps noise to data and returns log|det ∂θ/∂z|. A flow's
// log-density is log N(z; 0, I) + Σ forward log-dets; sampling runs inverse() in reverse order.
// Internal header of sbiw_neural: includes LibTorch.

#include <torch/torch.h>

#include <utility>

namespace sbiw::neural {

// {outputs [N, D], log|det Jacobian| [N]}
using TransformResult = std::pair<torch::Tensor, torch::Tensor>;

class TransformImpl : public torch::nn::Module {
public:
    // inputs [N, D]; context [N, C] (already embedded) or an undefined tensor when unconditional.
    virtual TransformResult forward(const torch::Tensor& inputs, const torch::Tensor& context) = 0;
    virtual TransformResult inverse(const torch::Tensor& inputs, const torch::Tensor& context) = 0;
};

using Transform = std::shared_ptr<TransformImpl>;

// Conditional density q(inputs | context) with sampling. Implemented by flows and the MDN.
class ConditionalDensityImpl : public torch::nn::Module {
public:
    // inputs [N, D], context [N, C] (already embedded) -> log q [N].
    virtual torch::Tensor logProb(const torch::Tensor& inputs, const torch::Tensor& context) = 0;
    // count draws for ONE context row: context [1, C] -> [count, D].
    virtual torch::Tensor sample(std::int64_t count, const torch::Tensor& context) = 0;
};

using ConditionalDensity = std::shared_ptr<ConditionalDensityImpl>;

}  // namespace sbiw::neural
