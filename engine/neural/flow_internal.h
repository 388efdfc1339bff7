#pragma once
// Building blocks shared by the flow transforms (internal to sbiw_neural; includes LibTorch).
// Exposed in a header so that tests can check them directly (the spline's known answers, MADE's
// autoregressive property).

#include <cstdint>
#include <memory>
#include <vector>

#include "neural/transform.h"

namespace sbiw::neural {

// --- Rational-quadratic spline (Durkan et al. 2019, "Neural Spline Flows") ---------------------

struct SplineOptions {
    double tailBound = 3.0;  // spline on [-B, B], identity outside (linear tails)
    double minBinWidth = 1e-3;
    double minBinHeight = 1e-3;
    double minDerivative = 1e-3;
};

// Elementwise monotone spline with K bins. inputs [...]; unnormalizedWidths/Heights [..., K];
// unnormalizedDerivatives [..., K-1] (the interior knots; the two boundary derivatives are 1 so
// that the spline joins the identity tails smoothly). Returns {outputs [...], log|dy/dx| [...]}
// of the requested direction (inverse: the log-derivative of the inverse map).
TransformResult rationalQuadraticSpline(const torch::Tensor& inputs,
                                        const torch::Tensor& unnormalizedWidths,
                                        const torch::Tensor& unnormalizedHeights,
                                        const torch::Tensor& unnormalizedDerivatives, bool inverse,
                                        const SplineOptions& options = {});

// The forward direction of the same spline as one autograd operation on float32 CPU tensors
// (per-operation overhead dominated the composed version on small batches): inputs [N, T],
// raw conditioner outputs [N, T, 3K-1] laid out as K widths, K heights, K-1 derivatives, the
// widths and heights multiplied by `scale` first. Returns {outputs [N, T], log|det| summed
// over T [N]}. Agrees with rationalQuadraticSpline in values and gradients (tests/neural).
TransformResult rationalQuadraticSplineFused(const torch::Tensor& inputs, const torch::Tensor& raw, double scale,
                                             const SplineOptions& options = {});

// Knot positions [..., K+1] (from -B to B) for unnormalised bin sizes [..., K], as used by
// rationalQuadraticSpline for both the x (widths) and y (heights) knots.
torch::Tensor splineKnots(const torch::Tensor& unnormalizedSizes, double minSize, double tailBound);

// --- MADE (Germain et al. 2015) as in nflows --------------------------------------------------

// Linear layer whose weight is multiplied by a fixed 0/1 mask (a buffer).
class MaskedLinearImpl : public torch::nn::Module {
public:
    MaskedLinearImpl(const torch::Tensor& mask);  // mask [out, in]
    torch::Tensor forward(const torch::Tensor& inputs);

private:
    torch::Tensor weight_, bias_, mask_;
};
TORCH_MODULE(MaskedLinear);

// Masked autoencoder: output j (feature j / outputMultiplier, the multipliers of one feature
// adjacent) depends only on inputs with a lower index, and on the whole context (also the first
// feature's outputs, unlike nflows). The context enters unmasked through tanh(linear(context))
// added to the first hidden layer. Hidden blocks are masked linear + tanh (sbi's MAF: not
// residual).
class MadeImpl : public torch::nn::Module {
public:
    MadeImpl(int features, int contextFeatures, int hidden, int blocks, int outputMultiplier);
    // inputs [N, features], context [N, contextFeatures] (undefined when contextFeatures == 0)
    // -> [N, features * outputMultiplier]
    torch::Tensor forward(const torch::Tensor& inputs, const torch::Tensor& context);

private:
    int contextFeatures_;
    MaskedLinear initial_{nullptr};
    torch::nn::Linear contextLayer_{nullptr};
    std::vector<MaskedLinear> blocks_;
    MaskedLinear final_{nullptr};
};
TORCH_MODULE(Made);

// --- Conditioners of the coupling layers ------------------------------------------------------

class ConditionerImpl : public torch::nn::Module {
public:
    // inputs [N, in] (may be undefined for context-only conditioners), context [N, C] -> [N, out]
    virtual torch::Tensor forward(const torch::Tensor& inputs, const torch::Tensor& context) = 0;
};

// nflows' ResidualNet: linear(inputs ++ context) -> blocks of [relu, linear, relu, linear, gated
// by sigmoid(linear(context))] with skip connections -> linear.
// `fused` evaluates the whole network as one autograd operation (same parameters, same values;
// the per-layer graph made most of a small flow's backward pass); false keeps the module-by-module
// graph, which the tests compare it with.
std::shared_ptr<ConditionerImpl> makeResidualNet(int inFeatures, int outFeatures, int hidden,
                                                 int contextFeatures, int blocks, bool fused = true);
// sbi's ContextSplineMap: an MLP of the context alone (one-feature splines).
std::shared_ptr<ConditionerImpl> makeContextSplineMap(int outFeatures, int hidden,
                                                      int contextFeatures, int hiddenLayers = 1);

// --- Helpers ----------------------------------------------------------------------------------

// Options (dtype, device) for tensors a module creates without inputs to copy them from: those
// of its first parameter or floating buffer, else the defaults.
torch::TensorOptions moduleOptions(const torch::nn::Module& module);

}  // namespace sbiw::neural
