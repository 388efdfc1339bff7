// Mixture density network (Bishop 1994) with full-covariance Gaussian components, as sbi's MDN.

#include <cmath>
#include <stdexcept>

#include "neural/flow_internal.h"
#include "neural/flows.h"

namespace sbiw::neural {

namespace {

const double kLog2Pi = std::log(2.0 * 3.14159265358979323846);

class MixtureDensityNetworkImpl : public ConditionalDensityImpl {
public:
    MixtureDensityNetworkImpl(int features, int contextFeatures, int hidden, int components)
        : features_(features), components_(components) {
        if (features < 1 || contextFeatures < 1 || hidden < 1 || components < 1)
            throw std::invalid_argument("MDN: invalid sizes");
        hiddenNet_ = register_module("hidden_net", torch::nn::Sequential());
        hiddenNet_->push_back(torch::nn::Linear(contextFeatures, hidden));
        hiddenNet_->push_back(torch::nn::ReLU());
        hiddenNet_->push_back(torch::nn::Linear(hidden, hidden));
        hiddenNet_->push_back(torch::nn::ReLU());
        logits_ = register_module("logits_layer", torch::nn::Linear(hidden, components));
        means_ = register_module("means_layer", torch::nn::Linear(hidden, components * features));
        diagonal_ = register_module("unconstrained_diagonal_layer",
                                    torch::nn::Linear(hidden, components * features));
        upperCount_ = features * (features - 1) / 2;
        if (upperCount_ > 0)
            upper_ =
                register_module("upper_layer", torch::nn::Linear(hidden, components * upperCount_));

        // sbi's custom initialisation: nearly equal weights and unit precision factors, so the
        // untrained mixture is a set of unit Gaussians around the (random) means.
        torch::NoGradGuard noGrad;
        const double small = 1e-2;
        logits_->weight.normal_(0.0, small);
        logits_->bias.normal_(0.0, small);
        diagonal_->weight.normal_(0.0, small);
        diagonal_->bias.fill_(std::log(std::expm1(1.0 - kEps)));
        if (upper_) {
            upper_->weight.normal_(0.0, small);
            upper_->bias.zero_();
        }
    }

    torch::Tensor logProb(const torch::Tensor& inputs, const torch::Tensor& context) override {
        TORCH_CHECK(inputs.dim() == 2 && inputs.size(1) == features_, "MDN: inputs must be [N, ",
                    features_, "]");
        auto c = components(context);
        // log N(θ; μ, (UᵀU)⁻¹) = -D/2 log 2π + Σ log diag U - ½ ‖U (θ - μ)‖²
        auto diff = (inputs.unsqueeze(1) - c.means).unsqueeze(-1);  // [N, K, D, 1]
        auto y = torch::matmul(c.factors, diff).squeeze(-1);        // [N, K, D]
        auto logComponent = c.logWeights - 0.5 * features_ * kLog2Pi + c.logDiagonal.sum(-1) -
                            0.5 * y.pow(2).sum(-1);
        return torch::logsumexp(logComponent, -1);
    }

    torch::Tensor sample(std::int64_t count, const torch::Tensor& context) override {
        TORCH_CHECK(context.dim() == 2 && context.size(0) == 1,
                    "MDN: sample() takes one context row [1, C]");
        if (count == 0)
            return torch::empty({0, features_}, context.options());
        auto c = components(context);
        auto which = torch::multinomial(c.logWeights[0].exp(), count, /*replacement=*/true);
        auto eps = torch::randn({count, features_, 1}, context.options());
        // θ = μ + U⁻¹ ε has covariance U⁻¹ U⁻ᵀ = (UᵀU)⁻¹.
        auto factors = c.factors[0].index_select(0, which);
        auto offset = torch::linalg_solve_triangular(factors, eps, /*upper=*/true).squeeze(-1);
        return c.means[0].index_select(0, which) + offset;
    }

private:
    static constexpr double kEps = 1e-3;

    struct Components {
        torch::Tensor logWeights;   // [N, K]
        torch::Tensor means;        // [N, K, D]
        torch::Tensor factors;      // [N, K, D, D] upper triangular U, precision UᵀU
        torch::Tensor logDiagonal;  // [N, K, D] log diag U
    };

    Components components(const torch::Tensor& context) {
        const auto n = context.size(0);
        const std::int64_t d = features_, k = components_;
        auto h = hiddenNet_->forward(context);
        Components c;
        c.logWeights = torch::log_softmax(logits_->forward(h), -1);
        c.means = means_->forward(h).view({n, k, d});
        auto diagonal = torch::softplus(diagonal_->forward(h)).view({n, k, d}) + kEps;
        c.logDiagonal = torch::log(diagonal);
        // U row-major from [0, diagonal, strict upper triangle] by one gather (faster, also
        // backwards, than filling a zero matrix by index_copy).
        const auto longOpts = context.options().dtype(torch::kLong);
        const auto triu = torch::triu_indices(d, d, 1, longOpts);
        const auto source = torch::zeros({d * d}, longOpts)
                                .index_copy(0, torch::arange(d, longOpts) * (d + 1),
                                            torch::arange(1, d + 1, longOpts))
                                .index_copy(0, triu[0] * d + triu[1],
                                            torch::arange(d + 1, d + 1 + upperCount_, longOpts));
        std::vector<torch::Tensor> parts{torch::zeros({n, k, 1}, context.options()), diagonal};
        if (upper_)
            parts.push_back(upper_->forward(h).view({n, k, upperCount_}));
        auto flat = torch::cat(parts, 2).index_select(2, source);
        c.factors = flat.view({n, k, d, d});
        return c;
    }

    int features_, components_;
    std::int64_t upperCount_ = 0;
    torch::nn::Sequential hiddenNet_{nullptr};
    torch::nn::Linear logits_{nullptr}, means_{nullptr}, diagonal_{nullptr}, upper_{nullptr};
};

}  // namespace

ConditionalDensity makeMixtureDensityNetwork(int features, int contextFeatures, int hidden,
                                             int components) {
    return std::make_shared<MixtureDensityNetworkImpl>(features, contextFeatures, hidden,
                                                       components);
}

}  // namespace sbiw::neural
