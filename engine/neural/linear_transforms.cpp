// Transforms without conditioner networks: LU-factorised linear, fixed permutation, standardize.

#include <cmath>
#include <mutex>
#include <numeric>
#include <stdexcept>

#include "core/random.h"
#include "neural/flow_internal.h"
#include "neural/flows.h"

namespace sbiw::neural {

namespace {

torch::ScalarType defaultFloat() {
    return c10::get_default_dtype_as_scalartype();
}

// z = W θ + b with W = L U (as nflows' LULinear: no pivoting permutation, which keeps the
// identity initialisation exact; the coupling masks already mix the features). L has a unit
// diagonal, U a diagonal softplus(u) + 1e-3 > 0, so log|det W| = Σ log diag U.
class LuLinearImpl : public TransformImpl {
public:
    explicit LuLinearImpl(int features) : features_(features) {
        if (features < 1)
            throw std::invalid_argument("LU linear: invalid size");
        const std::int64_t triangle = features * (features - 1) / 2;
        lower_ = register_parameter("lower_entries", torch::zeros({triangle}));
        upper_ = register_parameter("upper_entries", torch::zeros({triangle}));
        // softplus(u) + eps = 1 at the start: W = I.
        const double u = std::log(std::expm1(1.0 - kEps));
        diag_ = register_parameter("unconstrained_upper_diag", torch::full({features}, u));
        bias_ = register_parameter("bias", torch::zeros({features}));
    }

    TransformResult forward(const torch::Tensor& inputs, const torch::Tensor&) override {
        auto [lower, upper, upperDiag] = factors();
        auto outputs = torch::nn::functional::linear(torch::nn::functional::linear(inputs, upper),
                                                     lower, bias_);
        return {outputs, torch::log(upperDiag).sum().expand({inputs.size(0)})};
    }

    TransformResult inverse(const torch::Tensor& inputs, const torch::Tensor&) override {
        auto [lower, upper, upperDiag] = factors();
        // Columns are the samples: solve L U θᵀ = (z - b)ᵀ with two triangular solves.
        auto rhs = (inputs - bias_).t();
        auto y = torch::linalg_solve_triangular(lower, rhs, /*upper=*/false, /*left=*/true,
                                                /*unitriangular=*/true);
        auto outputs = torch::linalg_solve_triangular(upper, y, /*upper=*/true).t();
        return {outputs, -torch::log(upperDiag).sum().expand({inputs.size(0)})};
    }

private:
    static constexpr double kEps = 1e-3;

    std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> factors() {
        const auto d = static_cast<std::int64_t>(features_);
        const Scatter& scatter = scatterFor(lower_.options());
        const auto upperDiag = torch::softplus(diag_) + kEps;
        // Few operations on purpose: this runs in every training step of every LU layer.
        auto lower = scatter.identity.index_copy(0, scatter.lowerIndex, lower_);
        auto upper = scatter.zeros.index_copy(0, scatter.upperIndex, torch::cat({upper_, upperDiag}));
        return {lower.view({d, d}), upper.view({d, d}), upperDiag};
    }

    // Flat row-major positions of L's strict lower triangle and of U's strict upper triangle
    // followed by its diagonal, with the constant tensors they are scattered into. Built once
    // per device and dtype (not buffers: Module::to would turn the indices into floats).
    struct Scatter {
        torch::Tensor lowerIndex, upperIndex, identity, zeros;
    };

    const Scatter& scatterFor(const torch::TensorOptions& opts) {
        std::lock_guard<std::mutex> lock(scatterMutex_);  // posteriors may be sampled from several threads
        if (!scatter_.identity.defined() || scatter_.identity.device() != opts.device() ||
            scatter_.identity.scalar_type() != c10::typeMetaToScalarType(opts.dtype())) {
            const auto d = static_cast<std::int64_t>(features_);
            const auto longOpts = torch::TensorOptions().dtype(torch::kLong).device(opts.device());
            const auto tril = torch::tril_indices(d, d, -1, longOpts);
            const auto triu = torch::triu_indices(d, d, 1, longOpts);
            scatter_.lowerIndex = tril[0] * d + tril[1];
            scatter_.upperIndex = torch::cat({triu[0] * d + triu[1], torch::arange(d, longOpts) * (d + 1)});
            scatter_.identity = torch::eye(d, opts).reshape({-1});
            scatter_.zeros = torch::zeros({d * d}, opts);
        }
        return scatter_;
    }

    std::mutex scatterMutex_;
    Scatter scatter_;
    int features_;
    torch::Tensor lower_, upper_, diag_, bias_;
};

// Fixed random permutation of the features, drawn from the seed's training stream. Stored as a
// buffer so that a saved model keeps its order.
class PermutationImpl : public TransformImpl {
public:
    PermutationImpl(int features, std::uint64_t seed) {
        if (features < 1)
            throw std::invalid_argument("permutation: invalid size");
        std::vector<std::int64_t> order(static_cast<std::size_t>(features));
        std::iota(order.begin(), order.end(), 0);
        // Fisher-Yates with our own stream: std::shuffle's algorithm differs between libraries.
        RandomStream stream(seed, StreamPurpose::Training, 0);
        for (std::size_t i = order.size() - 1; i > 0; --i)
            std::swap(order[i], order[stream.below(i + 1)]);
        permutation_ = register_buffer(
            "permutation", torch::tensor(order, torch::TensorOptions().dtype(torch::kLong)));
    }

    TransformResult forward(const torch::Tensor& inputs, const torch::Tensor&) override {
        // Module::to(dtype) converts every buffer, integer ones included: cast back here.
        const auto perm = permutation_.to(inputs.device(), torch::kLong);
        return {inputs.index_select(1, perm), torch::zeros({inputs.size(0)}, inputs.options())};
    }

    TransformResult inverse(const torch::Tensor& inputs, const torch::Tensor&) override {
        const auto perm = permutation_.to(inputs.device(), torch::kLong);
        return {inputs.index_select(1, torch::argsort(perm)),
                torch::zeros({inputs.size(0)}, inputs.options())};
    }

private:
    torch::Tensor permutation_;
};

class StandardizeImpl : public TransformImpl {
public:
    StandardizeImpl(const torch::Tensor& mean, const torch::Tensor& std) {
        TORCH_CHECK(mean.numel() == std.numel() && mean.numel() > 0,
                    "standardize: mean and std must have the same, positive size");
        TORCH_CHECK((std > 0).all().item<bool>(), "standardize: std must be positive");
        const auto opts = torch::TensorOptions().dtype(defaultFloat()).device(torch::kCPU);
        mean_ = register_buffer("mean", mean.detach().reshape({-1}).to(opts).clone());
        std_ = register_buffer("std", std.detach().reshape({-1}).to(opts).clone());
    }

    TransformResult forward(const torch::Tensor& inputs, const torch::Tensor&) override {
        return {(inputs - mean_) / std_, (-torch::log(std_).sum()).expand({inputs.size(0)})};
    }

    TransformResult inverse(const torch::Tensor& inputs, const torch::Tensor&) override {
        return {inputs * std_ + mean_, torch::log(std_).sum().expand({inputs.size(0)})};
    }

private:
    torch::Tensor mean_, std_;
};

}  // namespace

Transform makeStandardize(const torch::Tensor& mean, const torch::Tensor& std) {
    return std::make_shared<StandardizeImpl>(mean, std);
}

Transform makeRandomPermutation(int features, std::uint64_t seed) {
    return std::make_shared<PermutationImpl>(features, seed);
}

Transform makeLuLinear(int features) {
    return std::make_shared<LuLinearImpl>(features);
}

}  // namespace sbiw::neural
