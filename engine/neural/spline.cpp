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

    // W1, b1, W2, b2 (and the context layer's weight and bias), in ResidualNetFunction's order.
    std::vector<torch::Tensor> weights() const {
        std::vector<torch::Tensor> w{linear0_->weight, linear0_->bias, linear1_->weight, linear1_->bias};
        if (context_) w.insert(w.end(), {context_->weight, context_->bias});
        return w;
    }

private:
    torch::nn::Linear linear0_{nullptr}, linear1_{nullptr}, context_{nullptr};
};
TORCH_MODULE(ResidualBlock);

// The residual net's forward and backward as one autograd node. Inside, the work is the same
// matrix products and elementwise maps, but run without recording a graph: per coupling layer
// that replaces ~20 recorded operations and ~35 backward nodes by one of each.
struct ResidualNetFunction : public torch::autograd::Function<ResidualNetFunction> {
    // tensors: inputs [N, I], context [N, C] (if hasContext), W0, b0, per block W1, b1, W2, b2
    // (and Wc, bc if hasContext), Wf, bf — torch::nn::Linear's layout (weight [out, in]).
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::TensorList tensors,
                                                  bool hasContext, std::int64_t blocks) {
        std::size_t next = 0;
        const torch::Tensor inputs = tensors[next++];
        const torch::Tensor context = hasContext ? tensors[next++] : torch::Tensor();
        const torch::Tensor x0 = hasContext ? torch::cat({inputs, context}, 1) : inputs.contiguous();
        torch::Tensor h = torch::addmm(tensors[next + 1], x0, tensors[next].t());
        next += 2;
        std::vector<torch::Tensor> saved{x0};  // then per block: h (block input), t1, t2, gate
        for (std::int64_t b = 0; b < blocks; ++b) {
            const auto& w1 = tensors[next];
            const auto& b1 = tensors[next + 1];
            const auto& w2 = tensors[next + 2];
            const auto& b2 = tensors[next + 3];
            next += 4;
            const torch::Tensor t1 = torch::addmm(b1, torch::relu(h), w1.t());
            torch::Tensor t2 = torch::addmm(b2, torch::relu(t1), w2.t());
            torch::Tensor gate;
            if (hasContext) {
                gate = torch::sigmoid(torch::addmm(tensors[next + 1], context, tensors[next].t()));
                next += 2;
            }
            saved.insert(saved.end(), {h, t1, t2, gate.defined() ? gate : torch::empty({0})});
            h = h + (gate.defined() ? t2 * gate : t2);
        }
        saved.push_back(h);
        const torch::Tensor out = torch::addmm(tensors[next + 1], h, tensors[next].t());
        ctx->save_for_backward(tensors.vec());
        ctx->saved_data["intermediates"] = saved;
        ctx->saved_data["has_context"] = hasContext;
        ctx->saved_data["blocks"] = blocks;
        return {out};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs) {
        const auto tensors = ctx->get_saved_variables();
        const auto saved = ctx->saved_data["intermediates"].toTensorVector();
        const bool hasContext = ctx->saved_data["has_context"].toBool();
        const std::int64_t blocks = ctx->saved_data["blocks"].toInt();
        std::vector<torch::Tensor> grads(tensors.size());

        const std::size_t perBlock = hasContext ? 6 : 4;
        const std::size_t firstWeight = hasContext ? 2 : 1;
        const std::size_t finalWeight = firstWeight + 2 + perBlock * std::size_t(blocks);
        const torch::Tensor& context = hasContext ? tensors[1] : tensors[0];

        torch::Tensor gradOut = gradOutputs[0];
        const torch::Tensor& hFinal = saved.back();
        grads[finalWeight] = gradOut.t().mm(hFinal);
        grads[finalWeight + 1] = gradOut.sum(0);
        torch::Tensor gradH = gradOut.mm(tensors[finalWeight]);
        torch::Tensor gradContext;
        for (std::int64_t b = blocks - 1; b >= 0; --b) {
            const std::size_t w = firstWeight + 2 + perBlock * std::size_t(b);
            const torch::Tensor& hIn = saved[1 + 4 * std::size_t(b)];
            const torch::Tensor& t1 = saved[2 + 4 * std::size_t(b)];
            const torch::Tensor& t2 = saved[3 + 4 * std::size_t(b)];
            const torch::Tensor& gate = saved[4 + 4 * std::size_t(b)];
            torch::Tensor gradT2 = gradH;
            if (hasContext) {
                gradT2 = gradH * gate;
                const torch::Tensor gradPreGate = gradH * t2 * gate * (1.0 - gate);
                grads[w + 4] = gradPreGate.t().mm(context);
                grads[w + 5] = gradPreGate.sum(0);
                const torch::Tensor g = gradPreGate.mm(tensors[w + 4]);
                gradContext = gradContext.defined() ? gradContext + g : g;
            }
            grads[w + 2] = gradT2.t().mm(torch::relu(t1));
            grads[w + 3] = gradT2.sum(0);
            const torch::Tensor gradT1 = torch::threshold_backward(gradT2.mm(tensors[w + 2]), t1, 0.0);
            grads[w] = gradT1.t().mm(torch::relu(hIn));
            grads[w + 1] = gradT1.sum(0);
            gradH = gradH + torch::threshold_backward(gradT1.mm(tensors[w]), hIn, 0.0);
        }
        grads[firstWeight] = gradH.t().mm(saved[0]);
        grads[firstWeight + 1] = gradH.sum(0);
        const torch::Tensor gradX0 = gradH.mm(tensors[firstWeight]);
        const std::int64_t inFeatures = tensors[0].size(1);
        grads[0] = gradX0.narrow(1, 0, inFeatures);
        if (hasContext) {
            const torch::Tensor g = gradX0.narrow(1, inFeatures, gradX0.size(1) - inFeatures);
            grads[1] = gradContext.defined() ? gradContext + g : g;
        }
        grads.emplace_back();  // hasContext
        grads.emplace_back();  // blocks
        return grads;
    }
};

class ResidualNetImpl : public ConditionerImpl {
public:
    ResidualNetImpl(int inFeatures, int outFeatures, int hidden, int contextFeatures, int blocks, bool fused)
        : contextFeatures_(contextFeatures), fused_(fused) {
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
        if (fused_) return forwardFused(inputs, ctx);
        auto t = initial_->forward(ctx.defined() ? torch::cat({inputs, ctx}, 1) : inputs);
        for (auto& block : blocks_)
            t = block->forward(t, ctx);
        return final_->forward(t);
    }

private:
    torch::Tensor forwardFused(const torch::Tensor& inputs, const torch::Tensor& context) {
        std::vector<torch::Tensor> tensors{inputs};
        if (context.defined()) tensors.push_back(context);
        tensors.insert(tensors.end(), {initial_->weight, initial_->bias});
        for (auto& block : blocks_) {
            const auto weights = block->weights();
            tensors.insert(tensors.end(), weights.begin(), weights.end());
        }
        tensors.insert(tensors.end(), {final_->weight, final_->bias});
        // As a TensorList, so that autograd sees every tensor as an input (a std::vector would not be).
        return ResidualNetFunction::apply(at::TensorList(tensors), context.defined(), std::int64_t(blocks_.size()))[0];
    }

    int contextFeatures_;
    bool fused_;
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
                                                 int contextFeatures, int blocks, bool fused) {
    return std::make_shared<ResidualNetImpl>(inFeatures, outFeatures, hidden, contextFeatures,
                                             blocks, fused);
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
