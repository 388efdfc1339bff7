// Rational-quadratic spline with linear tails, its conditioners, and the spline coupling layer.

#include <cmath>
#include <stdexcept>

#include "neural/flow_internal.h"
#include "neural/flows.h"

namespace sbiw::neural {

// --- The spline -------------------------------------------------------------------------------

torch::Tensor splineKnots(const torch::Tensor& unnormalizedSizes, double minSize,
                          double tailBound) {
    const auto bins = unnormalizedSizes.size(-1);
    auto sizes = minSize + (1.0 - minSize * static_cast<double>(bins)) *
                               torch::softmax(unnormalizedSizes, -1);
    auto interior = 2.0 * tailBound * torch::cumsum(sizes, -1).narrow(-1, 0, bins - 1) - tailBound;
    // The ends are set exactly so that rounding in the cumulative sum cannot move them.
    auto end = torch::ones_like(sizes.narrow(-1, 0, 1)) * tailBound;
    return torch::cat({-end, interior, end}, -1);
}

TransformResult rationalQuadraticSpline(const torch::Tensor& inputs,
                                        const torch::Tensor& unnormalizedWidths,
                                        const torch::Tensor& unnormalizedHeights,
                                        const torch::Tensor& unnormalizedDerivatives, bool inverse,
                                        const SplineOptions& options) {
    const auto bins = unnormalizedWidths.size(-1);
    const double bound = options.tailBound;
    TORCH_CHECK(
        unnormalizedHeights.size(-1) == bins && unnormalizedDerivatives.size(-1) == bins - 1,
        "spline: expected K widths, K heights and K-1 derivatives");
    TORCH_CHECK(unnormalizedWidths.dim() == inputs.dim() + 1,
                "spline: parameters must have the inputs' shape plus one bin dimension");
    TORCH_CHECK(options.minBinWidth * static_cast<double>(bins) < 1.0 &&
                    options.minBinHeight * static_cast<double>(bins) < 1.0,
                "spline: minimal bin size too large for the number of bins");

    const auto inside = torch::logical_and(inputs >= -bound, inputs <= bound);
    // Evaluate the spline on clamped inputs so that the branch torch::where discards is finite
    // (a NaN there would still poison the gradients).
    const auto x = inputs.clamp(-bound, bound);

    const auto cumWidths = splineKnots(unnormalizedWidths, options.minBinWidth, bound);
    const auto cumHeights = splineKnots(unnormalizedHeights, options.minBinHeight, bound);
    const auto widths = cumWidths.narrow(-1, 1, bins) - cumWidths.narrow(-1, 0, bins);
    const auto heights = cumHeights.narrow(-1, 1, bins) - cumHeights.narrow(-1, 0, bins);
    // Boundary derivatives 1: the spline joins the identity tails with a continuous slope.
    const auto one = torch::ones_like(unnormalizedWidths.narrow(-1, 0, 1));
    const auto derivatives = torch::cat(
        {one, options.minDerivative + torch::softplus(unnormalizedDerivatives), one}, -1);

    // Bin index = number of interior knots at or below the input: 0..K-1, also exactly at ±B.
    const auto& knots = inverse ? cumHeights : cumWidths;
    const auto bin = (x.unsqueeze(-1) >= knots.narrow(-1, 1, bins - 1))
                         .sum(-1, /*keepdim=*/true)
                         .to(torch::kLong);
    auto pick = [&](const torch::Tensor& t) { return t.gather(-1, bin).squeeze(-1); };
    const auto xk = pick(cumWidths), wk = pick(widths);
    const auto yk = pick(cumHeights), hk = pick(heights);
    const auto dk = pick(derivatives), dk1 = pick(derivatives.narrow(-1, 1, bins));
    const auto delta = hk / wk;
    const auto curvature = dk + dk1 - 2.0 * delta;

    torch::Tensor outputs, logDet;
    if (!inverse) {
        const auto theta = ((x - xk) / wk).clamp(0.0, 1.0);
        const auto t1 = theta * (1.0 - theta);
        const auto denominator = delta + curvature * t1;
        outputs = yk + hk * (delta * theta * theta + dk * t1) / denominator;
        const auto slopeNumerator =
            delta * delta *
            (dk1 * theta * theta + 2.0 * delta * t1 + dk * (1.0 - theta) * (1.0 - theta));
        logDet = torch::log(slopeNumerator) - 2.0 * torch::log(denominator);
    } else {
        // Solve a θ² + b θ + c = 0 for the θ in [0, 1]; the form 2c / (-b - √disc) avoids the
        // cancellation of the textbook formula (Durkan et al. 2019, eq. 29).
        const auto dy = x - yk;
        const auto a = hk * (delta - dk) + dy * curvature;
        const auto b = hk * dk - dy * curvature;
        const auto c = -delta * dy;
        const auto discriminant = (b * b - 4.0 * a * c).clamp_min(0.0);
        const auto theta = ((2.0 * c) / (-b - torch::sqrt(discriminant))).clamp(0.0, 1.0);
        outputs = xk + theta * wk;
        const auto t1 = theta * (1.0 - theta);
        const auto denominator = delta + curvature * t1;
        const auto slopeNumerator =
            delta * delta *
            (dk1 * theta * theta + 2.0 * delta * t1 + dk * (1.0 - theta) * (1.0 - theta));
        logDet = 2.0 * torch::log(denominator) - torch::log(slopeNumerator);
    }
    return {torch::where(inside, outputs, inputs),
            torch::where(inside, logDet, torch::zeros_like(logDet))};
}

// --- Conditioners -----------------------------------------------------------------------------

namespace {

class ResidualBlockImpl : public torch::nn::Module {
public:
    ResidualBlockImpl(int features, int contextFeatures) {
        linear0_ = register_module("linear0", torch::nn::Linear(features, features));
        linear1_ = register_module("linear1", torch::nn::Linear(features, features));
        if (contextFeatures > 0)
            context_ =
                register_module("context_layer", torch::nn::Linear(contextFeatures, features));
        // nflows' zero initialisation: each block starts close to the identity.
        torch::NoGradGuard noGrad;
        linear1_->weight.uniform_(-1e-3, 1e-3);
        linear1_->bias.uniform_(-1e-3, 1e-3);
    }

    torch::Tensor forward(const torch::Tensor& inputs, const torch::Tensor& context) {
        auto t = linear0_->forward(torch::relu(inputs));
        t = linear1_->forward(torch::relu(t));
        // Gated by the context (GLU of [t, context_layer(context)]).
        if (context_)
            t = t * torch::sigmoid(context_->forward(context));
        return inputs + t;
    }

private:
    torch::nn::Linear linear0_{nullptr}, linear1_{nullptr}, context_{nullptr};
};
TORCH_MODULE(ResidualBlock);

class ResidualNetImpl : public ConditionerImpl {
public:
    ResidualNetImpl(int inFeatures, int outFeatures, int hidden, int contextFeatures, int blocks)
        : contextFeatures_(contextFeatures) {
        initial_ = register_module("initial_layer",
                                   torch::nn::Linear(inFeatures + contextFeatures, hidden));
        for (int b = 0; b < blocks; ++b)
            blocks_.push_back(register_module("block" + std::to_string(b),
                                              ResidualBlock(hidden, contextFeatures)));
        final_ = register_module("final_layer", torch::nn::Linear(hidden, outFeatures));
    }

    torch::Tensor forward(const torch::Tensor& inputs, const torch::Tensor& context) override {
        torch::Tensor ctx;
        if (contextFeatures_ > 0) {
            TORCH_CHECK(context.defined(), "ResidualNet: this layer needs a context");
            ctx = context;
        }
        auto t = initial_->forward(ctx.defined() ? torch::cat({inputs, ctx}, 1) : inputs);
        for (auto& block : blocks_)
            t = block->forward(t, ctx);
        return final_->forward(t);
    }

private:
    int contextFeatures_;
    torch::nn::Linear initial_{nullptr}, final_{nullptr};
    std::vector<ResidualBlock> blocks_;
};

class ContextSplineMapImpl : public ConditionerImpl {
public:
    ContextSplineMapImpl(int outFeatures, int hidden, int contextFeatures, int hiddenLayers)
        : outFeatures_(outFeatures) {
        if (contextFeatures > 0) {
            net_ = register_module("spline_predictor", torch::nn::Sequential());
            net_->push_back(torch::nn::Linear(contextFeatures, hidden));
            net_->push_back(torch::nn::ReLU());
            for (int l = 0; l < hiddenLayers; ++l) {
                net_->push_back(torch::nn::Linear(hidden, hidden));
                net_->push_back(torch::nn::ReLU());
            }
            net_->push_back(torch::nn::Linear(hidden, outFeatures));
        } else {
            // Unconditional: the spline parameters themselves are learned.
            constant_ =
                register_parameter("spline_parameters", torch::randn({1, outFeatures}) * 0.01);
        }
    }

    torch::Tensor forward(const torch::Tensor& inputs, const torch::Tensor& context) override {
        if (net_) {
            TORCH_CHECK(context.defined(), "ContextSplineMap: this layer needs a context");
            return net_->forward(context);
        }
        const auto rows = inputs.defined() ? inputs.size(0) : context.size(0);
        return constant_.expand({rows, outFeatures_});
    }

private:
    int outFeatures_;
    torch::nn::Sequential net_{nullptr};
    torch::Tensor constant_;
};

}  // namespace

std::shared_ptr<ConditionerImpl> makeResidualNet(int inFeatures, int outFeatures, int hidden,
                                                 int contextFeatures, int blocks) {
    return std::make_shared<ResidualNetImpl>(inFeatures, outFeatures, hidden, contextFeatures,
                                             blocks);
}

std::shared_ptr<ConditionerImpl> makeContextSplineMap(int outFeatures, int hidden,
                                                      int contextFeatures, int hiddenLayers) {
    return std::make_shared<ContextSplineMapImpl>(outFeatures, hidden, contextFeatures,
                                                  hiddenLayers);
}

// --- Coupling layer ---------------------------------------------------------------------------

namespace {

// Alternating mask: the features start, start + 2, ... are transformed (mask 1) given the others.
class RationalQuadraticCouplingImpl : public TransformImpl {
public:
    RationalQuadraticCouplingImpl(int features, int contextFeatures, bool evenMask, int hidden,
                                  int blocks, int bins, double tailBound)
        : features_(features), bins_(bins), hidden_(hidden) {
        if (features < 1 || bins < 1 || hidden < 1 || tailBound <= 0.0)
            throw std::invalid_argument("spline coupling: invalid sizes");
        options_.tailBound = tailBound;
        transformStart_ = (features == 1 || evenMask) ? 0 : 1;
        identityStart_ = 1 - transformStart_;
        transformCount_ = (features - transformStart_ + 1) / 2;
        const int identityCount = features - transformCount_;
        const int paramCount = transformCount_ * (3 * bins - 1);
        conditioner_ = register_module(
            "transform_net",
            features == 1
                ? makeContextSplineMap(paramCount, hidden, contextFeatures)
                : makeResidualNet(identityCount, paramCount, hidden, contextFeatures, blocks));
    }

    TransformResult forward(const torch::Tensor& inputs, const torch::Tensor& context) override {
        return apply(inputs, context, false);
    }
    TransformResult inverse(const torch::Tensor& inputs, const torch::Tensor& context) override {
        return apply(inputs, context, true);
    }

private:
    TransformResult apply(const torch::Tensor& inputs, const torch::Tensor& context, bool inverse) {
        if (features_ == 1) {
            auto params = conditioner_->forward(inputs, context);
            return spline(inputs, params, inverse);
        }
        const auto identity = inputs.slice(1, identityStart_, features_, 2);
        const auto transformed = inputs.slice(1, transformStart_, features_, 2);
        auto params = conditioner_->forward(identity, context);
        auto [out, logDet] = spline(transformed, params, inverse);
        auto outputs = torch::empty_like(inputs);
        outputs.slice(1, identityStart_, features_, 2).copy_(identity);
        outputs.slice(1, transformStart_, features_, 2).copy_(out);
        return {outputs, logDet};
    }

    // {outputs [N, T], log|det| summed over the transformed features [N]}
    TransformResult spline(const torch::Tensor& x, const torch::Tensor& params, bool inverse) {
        auto p = params.reshape({x.size(0), transformCount_, 3 * bins_ - 1});
        // nflows divides the widths and heights by sqrt(hidden): the initial spline is then
        // close to uniform bins whatever the conditioner's width.
        const double scale = 1.0 / std::sqrt(static_cast<double>(hidden_));
        // Training and validation run the forward direction: on CPU as one fused operation.
        if (!inverse && x.device().is_cpu() && x.scalar_type() == torch::kFloat32)
            return rationalQuadraticSplineFused(x, p, scale, options_);
        auto [out, logDet] = rationalQuadraticSpline(x, p.narrow(-1, 0, bins_) * scale,
                                                     p.narrow(-1, bins_, bins_) * scale,
                                                     p.narrow(-1, 2 * bins_, bins_ - 1), inverse, options_);
        return {out, logDet.sum(-1)};
    }

    int features_, bins_, hidden_;
    int transformStart_ = 0, identityStart_ = 1, transformCount_ = 1;
    SplineOptions options_;
    std::shared_ptr<ConditionerImpl> conditioner_;
};

}  // namespace

Transform makeRationalQuadraticCoupling(int features, int contextFeatures, bool evenMask,
                                        int hidden, int blocks, int bins, double tailBound) {
    return std::make_shared<RationalQuadraticCouplingImpl>(features, contextFeatures, evenMask,
                                                           hidden, blocks, bins, tailBound);
}

}  // namespace sbiw::neural
