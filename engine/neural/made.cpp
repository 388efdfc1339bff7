// MADE and the masked affine autoregressive transform (MAF layer), following nflows.

#include <cmath>
#include <stdexcept>

#include "neural/flow_internal.h"
#include "neural/flows.h"

namespace sbiw::neural {

namespace {

// Degrees as in nflows (non-random masks): inputs 1..D; a hidden unit may see inputs of degree
// <= its own, an output of degree d only hidden units of degree < d. Unconditional hidden units
// get k % max(1, D-1) + min(1, D-1) (nflows). With a context, degrees run over 0..D-1 instead:
// the degree-0 units see only the context and carry it to the first feature's parameters, which
// in nflows are bare biases that ignore the context (nflows PR #85, sbi PR #1269).
std::vector<std::int64_t> inputDegrees(int features) {
    std::vector<std::int64_t> degrees(static_cast<std::size_t>(features));
    for (int i = 0; i < features; ++i)
        degrees[static_cast<std::size_t>(i)] = i + 1;
    return degrees;
}

std::vector<std::int64_t> hiddenDegrees(int hidden, int features, bool conditional) {
    const int cycle = conditional ? features : std::max(1, features - 1);
    const int offset = conditional ? 0 : std::min(1, features - 1);
    std::vector<std::int64_t> degrees(static_cast<std::size_t>(hidden));
    for (int k = 0; k < hidden; ++k)
        degrees[static_cast<std::size_t>(k)] = k % cycle + offset;
    return degrees;
}

torch::Tensor degreeMask(const std::vector<std::int64_t>& out, const std::vector<std::int64_t>& in,
                         bool strict) {
    auto mask =
        torch::zeros({static_cast<std::int64_t>(out.size()), static_cast<std::int64_t>(in.size())});
    auto a = mask.accessor<float, 2>();
    for (std::size_t o = 0; o < out.size(); ++o)
        for (std::size_t i = 0; i < in.size(); ++i)
            a[static_cast<std::int64_t>(o)][static_cast<std::int64_t>(i)] =
                (strict ? out[o] > in[i] : out[o] >= in[i]) ? 1.0f : 0.0f;
    return mask;
}

}  // namespace

torch::TensorOptions moduleOptions(const torch::nn::Module& module) {
    for (const auto& p : module.parameters())
        return p.options();
    for (const auto& b : module.buffers())
        if (b.is_floating_point())
            return b.options();
    return torch::TensorOptions();
}

// --- MaskedLinear -----------------------------------------------------------------------------

MaskedLinearImpl::MaskedLinearImpl(const torch::Tensor& mask) {
    const auto out = mask.size(0), in = mask.size(1);
    // Same distribution as torch::nn::Linear's default initialisation.
    const double bound = 1.0 / std::sqrt(static_cast<double>(std::max<std::int64_t>(in, 1)));
    weight_ = register_parameter("weight", torch::empty({out, in}).uniform_(-bound, bound));
    bias_ = register_parameter("bias", torch::empty({out}).uniform_(-bound, bound));
    mask_ = register_buffer("mask", mask.to(weight_.options()));
}

torch::Tensor MaskedLinearImpl::forward(const torch::Tensor& inputs) {
    return torch::nn::functional::linear(inputs, weight_ * mask_, bias_);
}

// --- MADE -------------------------------------------------------------------------------------

MadeImpl::MadeImpl(int features, int contextFeatures, int hidden, int blocks, int outputMultiplier)
    : contextFeatures_(contextFeatures) {
    if (features < 1 || hidden < 1 || blocks < 0 || outputMultiplier < 1 || contextFeatures < 0)
        throw std::invalid_argument("MADE: invalid sizes");
    const auto in = inputDegrees(features);
    const auto hid = hiddenDegrees(hidden, features, contextFeatures > 0);
    initial_ = register_module("initial_layer", MaskedLinear(degreeMask(hid, in, false)));
    if (contextFeatures > 0)
        contextLayer_ =
            register_module("context_layer", torch::nn::Linear(contextFeatures, hidden));
    for (int b = 0; b < blocks; ++b)
        blocks_.push_back(register_module("block" + std::to_string(b),
                                          MaskedLinear(degreeMask(hid, hid, false))));
    // Output j belongs to feature j / outputMultiplier (nflows tiles the degrees).
    std::vector<std::int64_t> outDegrees;
    for (int f = 0; f < features; ++f)
        for (int m = 0; m < outputMultiplier; ++m)
            outDegrees.push_back(f + 1);
    final_ = register_module("final_layer", MaskedLinear(degreeMask(outDegrees, hid, true)));
}

torch::Tensor MadeImpl::forward(const torch::Tensor& inputs, const torch::Tensor& context) {
    auto h = initial_->forward(inputs);
    if (contextFeatures_ > 0) {
        TORCH_CHECK(context.defined(), "MADE: this layer needs a context");
        h = h + torch::tanh(contextLayer_->forward(context));
    }
    h = torch::tanh(h);
    for (auto& block : blocks_)
        h = torch::tanh(block->forward(h));
    return final_->forward(h);
}

// --- Masked affine autoregressive transform ---------------------------------------------------

namespace {

class MaskedAffineAutoregressiveImpl : public TransformImpl {
public:
    MaskedAffineAutoregressiveImpl(int features, int contextFeatures, int hidden, int blocks)
        : features_(features) {
        made_ = register_module("made", Made(features, contextFeatures, hidden, blocks, 2));
    }

    TransformResult forward(const torch::Tensor& inputs, const torch::Tensor& context) override {
        auto [logScale, scale, shift] = scaleAndShift(made_->forward(inputs, context));
        return {inputs * scale + shift, logScale.sum(-1)};
    }

    // Output i needs the outputs before i: one MADE pass per feature (as nflows); pass k fixes
    // feature k, the later features are refined in later passes.
    TransformResult inverse(const torch::Tensor& inputs, const torch::Tensor& context) override {
        auto outputs = torch::zeros_like(inputs);
        torch::Tensor logScale;
        for (int k = 0; k < features_; ++k) {
            auto [ls, scale, shift] = scaleAndShift(made_->forward(outputs, context));
            outputs = (inputs - shift) / scale;
            logScale = ls;
        }
        return {outputs, -logScale.sum(-1)};
    }

private:
    std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> scaleAndShift(
        const torch::Tensor& params) {
        auto p = params.view({params.size(0), features_, 2});
        // Released nflows: scale = softplus(u) + 1e-3. (Its older sigmoid(u + 2) + 1e-3 keeps
        // every scale below 1, so the density could never exceed the base's peak.)
        auto scale = torch::softplus(p.select(2, 0)) + 1e-3;
        return {torch::log(scale), scale, p.select(2, 1)};
    }

    int features_;
    Made made_{nullptr};
};

}  // namespace

Transform makeMaskedAffineAutoregressive(int features, int contextFeatures, int hidden,
                                         int blocks) {
    return std::make_shared<MaskedAffineAutoregressiveImpl>(features, contextFeatures, hidden,
                                                            blocks);
}

}  // namespace sbiw::neural
