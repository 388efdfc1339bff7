// The rational-quadratic spline's forward direction fused into one autograd operation for CPU
// tensors. Composed of torch operations the spline costs ~60 dispatches forward and as many
// backward per coupling layer; for sbi-sized flows on batches of a few hundred rows that
// per-operation overhead, not arithmetic, was most of a training step (docs/BENCHMARKS.md).
// Here each element is computed by a plain loop, and its backward pass re-evaluates the same
// formula with forward-mode dual numbers, so the derivatives come from the one formula instead
// of a second, hand-derived one that could drift from it.

#include <array>
#include <cmath>

#include "neural/flow_internal.h"

namespace sbiw::neural {

namespace {

// A value with its derivatives with respect to the spline's seven local inputs.
enum LocalInput {
    kX,
    kKnotX,
    kBinWidth,
    kKnotY,
    kBinHeight,
    kSlopeLeft,
    kSlopeRight,
    kLocalInputs
};

struct Dual {
    double v = 0.0;
    std::array<double, kLocalInputs> d{};

    static Dual variable(double value, int index) {
        Dual x{value, {}};
        x.d[std::size_t(index)] = 1.0;
        return x;
    }
    static Dual constant(double value) { return Dual{value, {}}; }
};

inline Dual operator+(const Dual& a, const Dual& b) {
    Dual r{a.v + b.v, {}};
    for (std::size_t i = 0; i < kLocalInputs; ++i)
        r.d[i] = a.d[i] + b.d[i];
    return r;
}
inline Dual operator-(const Dual& a, const Dual& b) {
    Dual r{a.v - b.v, {}};
    for (std::size_t i = 0; i < kLocalInputs; ++i)
        r.d[i] = a.d[i] - b.d[i];
    return r;
}
inline Dual operator*(const Dual& a, const Dual& b) {
    Dual r{a.v * b.v, {}};
    for (std::size_t i = 0; i < kLocalInputs; ++i)
        r.d[i] = a.d[i] * b.v + a.v * b.d[i];
    return r;
}
inline Dual operator/(const Dual& a, const Dual& b) {
    Dual r{a.v / b.v, {}};
    for (std::size_t i = 0; i < kLocalInputs; ++i)
        r.d[i] = (a.d[i] - r.v * b.d[i]) / b.v;
    return r;
}
inline Dual operator*(double s, const Dual& a) {
    Dual r{s * a.v, {}};
    for (std::size_t i = 0; i < kLocalInputs; ++i)
        r.d[i] = s * a.d[i];
    return r;
}
inline Dual operator-(double s, const Dual& a) {
    return Dual::constant(s) - a;
}
inline Dual log(const Dual& a) {
    Dual r{std::log(a.v), {}};
    for (std::size_t i = 0; i < kLocalInputs; ++i)
        r.d[i] = a.d[i] / a.v;
    return r;
}
inline double log(double a) {
    return std::log(a);
}
// Clamping to [0, 1] freezes the value, as torch's clamp does with its gradient.
inline Dual clampUnit(const Dual& a) {
    return a.v < 0.0 ? Dual::constant(0.0) : a.v > 1.0 ? Dual::constant(1.0) : a;
}
inline double clampUnit(double a) {
    return a < 0.0 ? 0.0 : a > 1.0 ? 1.0 : a;
}

// The spline inside one bin (Durkan et al. 2019, eqs. 4 and 5), for doubles or duals.
template <class T>
void splineInBin(const T& x, const T& knotX, const T& binWidth, const T& knotY, const T& binHeight,
                 const T& slopeLeft, const T& slopeRight, T& y, T& logDerivative) {
    const T xi = clampUnit((x - knotX) / binWidth);
    const T slope = binHeight / binWidth;
    const T xiOneMinusXi = xi * (1.0 - xi);
    const T denominator = slope + (slopeLeft + slopeRight - 2.0 * slope) * xiOneMinusXi;
    y = knotY + binHeight * (slope * xi * xi + slopeLeft * xiOneMinusXi) / denominator;
    const T oneMinusXi = 1.0 - xi;
    const T numerator =
        slope * slope *
        (slopeRight * xi * xi + 2.0 * slope * xiOneMinusXi + slopeLeft * oneMinusXi * oneMinusXi);
    logDerivative = log(numerator) - 2.0 * log(denominator);
}

double softplus(double z) {
    return z > 20.0 ? z : std::log1p(std::exp(z));
}  // torch's threshold
double sigmoid(double z) {
    return 1.0 / (1.0 + std::exp(-z));
}

// The knots of one element, from its row of 3K-1 conditioner outputs.
struct Knots {
    int bins = 0;
    std::array<double, 65> x{}, y{};                     // K+1 knot positions
    std::array<double, 64> widthShare{}, heightShare{};  // softmax of the scaled raw sizes
    const float* rawSlopes = nullptr;                    // K-1 interior slopes before softplus
    double minDerivative = 0.0;

    Knots(const float* raw, int bins_, double scale, const SplineOptions& o)
        : bins(bins_), rawSlopes(raw + 2 * bins_), minDerivative(o.minDerivative) {
        const double b = o.tailBound;
        auto knotsOf = [&](const float* sizes, double minSize, std::array<double, 64>& share,
                           std::array<double, 65>& knot) {
            double top = -INFINITY;
            for (int i = 0; i < bins; ++i)
                top = std::max(top, double(sizes[i]) * scale);
            double total = 0.0;
            for (int i = 0; i < bins; ++i)
                total += share[std::size_t(i)] = std::exp(double(sizes[i]) * scale - top);
            double cumulative = 0.0;
            knot[0] = -b;
            for (int i = 0; i < bins; ++i) {
                share[std::size_t(i)] /= total;
                cumulative += minSize + (1.0 - minSize * bins) * share[std::size_t(i)];
                knot[std::size_t(i) + 1] = 2.0 * b * cumulative - b;
            }
            knot[std::size_t(bins)] = b;  // exactly, as in the composed version
        };
        knotsOf(raw, o.minBinWidth, widthShare, x);
        knotsOf(raw + bins, o.minBinHeight, heightShare, y);
    }

    // The slope at knot j: 1 at the ends, else from the raw value through softplus. Computed
    // when asked: an element needs the two of its bin, not all K + 1 (two transcendental
    // functions each).
    double slope(int j) const {
        return j == 0 || j == bins ? 1.0 : minDerivative + softplus(double(rawSlopes[j - 1]));
    }

    int binOf(double value) const {
        int k = 0;
        for (int j = 1; j < bins; ++j)
            k += value >= x[std::size_t(j)];
        return k;
    }
};

// Gradient of the knot positions/bin sizes (for bin k) back to the raw sizes through the
// cumulative sum and the softmax.
void sizeGradient(const std::array<double, 64>& share, int bins, int k, double gradKnot,
                  double gradSize, double minSize, double tailBound, double scale, float* gradRaw) {
    std::array<double, 64> gradShare{};
    // knot_k = -B + 2B Σ_{i<k} size_i (k >= 1); size_k = knot_{k+1} - knot_k, with knot_K = B
    // fixed.
    for (int i = 0; i < k; ++i)
        gradShare[std::size_t(i)] += 2.0 * tailBound * gradKnot;
    if (k < bins - 1) {
        gradShare[std::size_t(k)] += 2.0 * tailBound * gradSize;
    } else {
        for (int i = 0; i < bins - 1; ++i)
            gradShare[std::size_t(i)] -= 2.0 * tailBound * gradSize;
    }
    const double spread = 1.0 - minSize * bins;
    double dot = 0.0;
    for (int i = 0; i < bins; ++i)
        dot += share[std::size_t(i)] * gradShare[std::size_t(i)];
    for (int i = 0; i < bins; ++i)
        gradRaw[i] =
            float(spread * share[std::size_t(i)] * (gradShare[std::size_t(i)] - dot) * scale);
}

struct SplineForwardFunction : public torch::autograd::Function<SplineForwardFunction> {
    // inputs [N, T], raw [N, T, 3K-1] -> {outputs [N, T], log|det| summed over T [N]}
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                  const torch::Tensor& inputs,
                                                  const torch::Tensor& raw, double scale,
                                                  double tailBound, double minBinWidth,
                                                  double minBinHeight, double minDerivative) {
        const SplineOptions options{tailBound, minBinWidth, minBinHeight, minDerivative};
        const auto x = inputs.contiguous();
        const auto p = raw.contiguous();
        ctx->save_for_backward({x, p});
        ctx->saved_data["scale"] = scale;
        ctx->saved_data["tail_bound"] = tailBound;
        ctx->saved_data["min_bin_width"] = minBinWidth;
        ctx->saved_data["min_bin_height"] = minBinHeight;
        ctx->saved_data["min_derivative"] = minDerivative;

        const std::int64_t rows = x.size(0), features = x.size(1), width = p.size(2);
        const int bins = int((width + 1) / 3);
        auto outputs = torch::empty_like(x);
        auto logDet = torch::zeros({rows}, x.options());
        const float* xs = x.data_ptr<float>();
        const float* ps = p.data_ptr<float>();
        float* ys = outputs.data_ptr<float>();
        float* ls = logDet.data_ptr<float>();
        for (std::int64_t n = 0; n < rows; ++n) {
            double rowLogDet = 0.0;
            for (std::int64_t t = 0; t < features; ++t) {
                const std::int64_t e = n * features + t;
                const double value = xs[e];
                if (value < -tailBound || value > tailBound) {  // identity tails
                    ys[e] = float(value);
                    continue;
                }
                const Knots knots(ps + e * width, bins, scale, options);
                const int k = knots.binOf(value);
                const auto kk = std::size_t(k);
                double y = 0.0, logDerivative = 0.0;
                splineInBin(value, knots.x[kk], knots.x[kk + 1] - knots.x[kk], knots.y[kk],
                            knots.y[kk + 1] - knots.y[kk], knots.slope(k), knots.slope(k + 1), y,
                            logDerivative);
                ys[e] = float(y);
                rowLogDet += logDerivative;
            }
            ls[n] = float(rowLogDet);
        }
        return {outputs, logDet};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs) {
        const auto saved = ctx->get_saved_variables();
        const auto& x = saved[0];
        const auto& p = saved[1];
        const SplineOptions options{ctx->saved_data["tail_bound"].toDouble(),
                                    ctx->saved_data["min_bin_width"].toDouble(),
                                    ctx->saved_data["min_bin_height"].toDouble(),
                                    ctx->saved_data["min_derivative"].toDouble()};
        const double scale = ctx->saved_data["scale"].toDouble();
        const double b = options.tailBound;
        const std::int64_t rows = x.size(0), features = x.size(1), width = p.size(2);
        const int bins = int((width + 1) / 3);

        const auto gradY =
            gradOutputs[0].defined() ? gradOutputs[0].contiguous() : torch::zeros_like(x);
        const auto gradLogDet = gradOutputs[1].defined() ? gradOutputs[1].contiguous()
                                                         : torch::zeros({rows}, x.options());
        auto gradX = torch::empty_like(x);
        auto gradP = torch::zeros_like(p);
        const float* xs = x.data_ptr<float>();
        const float* ps = p.data_ptr<float>();
        const float* gys = gradY.data_ptr<float>();
        const float* gls = gradLogDet.data_ptr<float>();
        float* gxs = gradX.data_ptr<float>();
        float* gps = gradP.data_ptr<float>();
        for (std::int64_t n = 0; n < rows; ++n) {
            for (std::int64_t t = 0; t < features; ++t) {
                const std::int64_t e = n * features + t;
                const double value = xs[e];
                if (value < -b || value > b) {
                    gxs[e] = gys[e];
                    continue;
                }
                const Knots knots(ps + e * width, bins, scale, options);
                const int k = knots.binOf(value);
                const auto kk = std::size_t(k);
                Dual y, logDerivative;
                splineInBin(Dual::variable(value, kX), Dual::variable(knots.x[kk], kKnotX),
                            Dual::variable(knots.x[kk + 1] - knots.x[kk], kBinWidth),
                            Dual::variable(knots.y[kk], kKnotY),
                            Dual::variable(knots.y[kk + 1] - knots.y[kk], kBinHeight),
                            Dual::variable(knots.slope(k), kSlopeLeft),
                            Dual::variable(knots.slope(k + 1), kSlopeRight), y, logDerivative);
                std::array<double, kLocalInputs> g{};
                for (std::size_t i = 0; i < kLocalInputs; ++i)
                    g[i] = gys[e] * y.d[i] + gls[n] * logDerivative.d[i];
                gxs[e] = float(g[kX]);
                float* gRaw = gps + e * width;
                // knot_0 is fixed at -B: no gradient flows to the sizes from it.
                sizeGradient(knots.widthShare, bins, k, k > 0 ? g[kKnotX] : 0.0, g[kBinWidth],
                             options.minBinWidth, b, scale, gRaw);
                sizeGradient(knots.heightShare, bins, k, k > 0 ? g[kKnotY] : 0.0, g[kBinHeight],
                             options.minBinHeight, b, scale, gRaw + bins);
                // Interior slopes j = 1..K-1 come from raw[2K + j - 1] through softplus.
                if (k >= 1)
                    gRaw[2 * bins + k - 1] +=
                        float(g[kSlopeLeft] * sigmoid(double(ps[e * width + 2 * bins + k - 1])));
                if (k + 1 <= bins - 1)
                    gRaw[2 * bins + k] +=
                        float(g[kSlopeRight] * sigmoid(double(ps[e * width + 2 * bins + k])));
            }
        }
        return {gradX,           gradP,           torch::Tensor(), torch::Tensor(),
                torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

TransformResult rationalQuadraticSplineFused(const torch::Tensor& inputs, const torch::Tensor& raw,
                                             double scale, const SplineOptions& options) {
    TORCH_CHECK(inputs.dim() == 2 && raw.dim() == 3 && raw.size(0) == inputs.size(0) &&
                    raw.size(1) == inputs.size(1),
                "fused spline: expected inputs [N, T] and parameters [N, T, 3K-1]");
    TORCH_CHECK(raw.size(2) % 3 == 2 && raw.size(2) <= 3 * 64 - 1,
                "fused spline: 3K-1 parameters per element, K <= 64");
    TORCH_CHECK(inputs.device().is_cpu() && inputs.scalar_type() == torch::kFloat32 &&
                    raw.scalar_type() == torch::kFloat32,
                "fused spline: float32 CPU tensors only");
    TORCH_CHECK(options.minBinWidth * double((raw.size(2) + 1) / 3) < 1.0 &&
                    options.minBinHeight * double((raw.size(2) + 1) / 3) < 1.0,
                "spline: minimal bin size too large for the number of bins");
    auto result =
        SplineForwardFunction::apply(inputs, raw, scale, options.tailBound, options.minBinWidth,
                                     options.minBinHeight, options.minDerivative);
    return {result[0], result[1]};
}

}  // namespace sbiw::neural
