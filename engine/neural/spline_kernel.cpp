// The rational-quadratic spline's forward direction fused into one autograd operation for CPU
// tensors. Composed of torch operations the spline costs ~60 dispatches forward and as many
// backward per coupling layer; for sbi-sized flows on batches of a few hundred rows that
// per-operation overhead, not arithmetic, was most of a training step (docs/BENCHMARKS.md).
// Here the elements are computed by plain loops over blocks of them (their exponentials and logs
// in vectorised passes), and the backward pass re-evaluates the same formula with forward-mode
// dual numbers, so the derivatives come from the one formula instead
// of a second, hand-derived one that could drift from it.

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include <Eigen/Core>

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
// Clamping to [0, 1] freezes the value, as torch's clamp does with its gradient.
inline Dual clampUnit(const Dual& a) {
    return a.v < 0.0 ? Dual::constant(0.0) : a.v > 1.0 ? Dual::constant(1.0) : a;
}
inline double clampUnit(double a) {
    return a < 0.0 ? 0.0 : a > 1.0 ? 1.0 : a;
}

// The spline inside one bin (Durkan et al. 2019, eqs. 4 and 5), for doubles or duals. Gives the
// derivative dy/dx itself, not its log: the logs of a whole block are taken in one vectorised pass.
template <class T>
void splineInBin(const T& x, const T& knotX, const T& binWidth, const T& knotY, const T& binHeight,
                 const T& slopeLeft, const T& slopeRight, T& y, T& derivative) {
    const T xi = clampUnit((x - knotX) / binWidth);
    const T slope = binHeight / binWidth;
    const T xiOneMinusXi = xi * (1.0 - xi);
    const T denominator = slope + (slopeLeft + slopeRight - 2.0 * slope) * xiOneMinusXi;
    y = knotY + binHeight * (slope * xi * xi + slopeLeft * xiOneMinusXi) / denominator;
    const T oneMinusXi = 1.0 - xi;
    const T numerator =
        slope * slope *
        (slopeRight * xi * xi + 2.0 * slope * xiOneMinusXi + slopeLeft * oneMinusXi * oneMinusXi);
    derivative = numerator / (denominator * denominator);
}

constexpr float kSoftplusThreshold = 20.0f;  // torch's: softplus(z) = z above it

// One element's bin: where its input falls and the bin's geometry.
struct ElementBin {
    int bin = -1;  // -1: outside [-B, B], the identity tails
    double knotX = 0.0, binWidth = 0.0, knotY = 0.0, binHeight = 0.0;
    double slopeLeft = 1.0, slopeRight = 1.0;
    // d slope / d raw value (the sigmoid), 0 for the fixed boundary slopes of 1
    double slopeLeftGrad = 0.0, slopeRightGrad = 0.0;
};

// The splines of a block of consecutive elements. Each element needs 2K exponentials for its
// bins' softmax and two softplus for its bin's slopes; computed one at a time by libm in double
// they were about half of the kernel's time (perf, NLE sampling on 100-D data), so they are
// taken here for the whole block at once, in float, with Eigen's vectorised exp and log.
class SplineBlock {
  public:
    static constexpr std::int64_t kElements = 256;  // per block: its buffers stay in cache

    SplineBlock(int bins, double scale, const SplineOptions& options, std::int64_t capacity)
        : bins_(bins),
          scale_(scale),
          options_(options),
          shares_(std::size_t(capacity * 2 * bins)),
          rawSlopes_(std::size_t(capacity * 2)),
          elements_(std::size_t(capacity)) {}

    // Elements [0, count) of the block: inputs xs[i], raw conditioner rows raw + i * (3K-1).
    void prepare(const float* xs, const float* raw, std::int64_t count) {
        const int k2 = 2 * bins_, width = 3 * bins_ - 1;
        // Pass 1: the widths' and heights' raw sizes, scaled, less their maximum.
        for (std::int64_t i = 0; i < count; ++i) {
            const float* sizes = raw + i * width;
            float* out = shares_.data() + i * k2;
            for (int group = 0; group < 2; ++group) {
                float top = -INFINITY;
                for (int j = 0; j < bins_; ++j)
                    top = std::max(top, float(double(sizes[group * bins_ + j]) * scale_));
                for (int j = 0; j < bins_; ++j)
                    out[group * bins_ + j] = float(double(sizes[group * bins_ + j]) * scale_) - top;
            }
        }
        auto exps = Eigen::Map<Eigen::ArrayXf>(shares_.data(), Eigen::Index(count * k2));
        exps = exps.exp();
        // Pass 2: normalise, place the knots, find each input's bin.
        for (std::int64_t i = 0; i < count; ++i) {
            ElementBin& element = elements_[std::size_t(i)];
            element = ElementBin{};
            float* share = shares_.data() + i * k2;
            normalise(share);
            normalise(share + bins_);
            const double value = xs[i];
            const double b = options_.tailBound;
            rawSlopes_[std::size_t(2 * i)] = rawSlopes_[std::size_t(2 * i + 1)] = 0.0f;
            if (value < -b || value > b)
                continue;
            // Knots x_j = -B + 2B Σ_{i<j} (m + (1 - mK) share_i), x_K = B exactly.
            const double spreadX = 1.0 - options_.minBinWidth * bins_;
            double left = -b, right = b;
            int k = 0;
            double cumulative = 0.0;
            for (; k < bins_ - 1; ++k) {
                cumulative += options_.minBinWidth + spreadX * share[k];
                const double knot = 2.0 * b * cumulative - b;
                if (value < knot) {
                    right = knot;
                    break;
                }
                left = knot;
            }
            element.bin = k;
            element.knotX = left;
            element.binWidth = right - left;
            const double spreadY = 1.0 - options_.minBinHeight * bins_;
            cumulative = 0.0;
            for (int j = 0; j < k; ++j)
                cumulative += options_.minBinHeight + spreadY * share[bins_ + j];
            element.knotY = k == 0 ? -b : 2.0 * b * cumulative - b;
            const double top =
                k == bins_ - 1
                    ? b
                    : 2.0 * b * (cumulative + options_.minBinHeight + spreadY * share[bins_ + k]) -
                          b;
            element.binHeight = top - element.knotY;
            // Interior slopes j = 1..K-1 come from raw[2K + j - 1].
            const float* rawSlope = raw + i * width + k2;
            if (k >= 1)
                rawSlopes_[std::size_t(2 * i)] = rawSlope[k - 1];
            if (k + 1 <= bins_ - 1)
                rawSlopes_[std::size_t(2 * i + 1)] = rawSlope[k];
        }
        // Pass 3: softplus (and its derivative, the sigmoid) of the bins' raw slopes.
        auto z = Eigen::Map<Eigen::ArrayXf>(rawSlopes_.data(), Eigen::Index(2 * count));
        const Eigen::ArrayXf expZ = z.min(kSoftplusThreshold).exp();
        // log(1 + e) in Eigen's vectorised log (its log1p is scalar libm on SSE); below 1e-4, where
        // 1 + e loses e's digits in float, the series e - e²/2.
        const Eigen::ArrayXf softplus =
            (z > kSoftplusThreshold)
                .select(z, (expZ < 1e-4f).select(expZ * (1.0f - 0.5f * expZ), (1.0f + expZ).log()));
        for (std::int64_t i = 0; i < count; ++i) {
            ElementBin& element = elements_[std::size_t(i)];
            if (element.bin < 0)
                continue;
            const auto slopeAt = [&](Eigen::Index j, double& slope, double& grad) {
                slope = options_.minDerivative + double(softplus[j]);
                grad = double(expZ[j]) / (1.0 + double(expZ[j]));
            };
            if (element.bin >= 1)
                slopeAt(2 * i, element.slopeLeft, element.slopeLeftGrad);
            if (element.bin + 1 <= bins_ - 1)
                slopeAt(2 * i + 1, element.slopeRight, element.slopeRightGrad);
        }
    }

    const ElementBin& element(std::int64_t i) const { return elements_[std::size_t(i)]; }
    const float* widthShares(std::int64_t i) const { return shares_.data() + i * 2 * bins_; }
    const float* heightShares(std::int64_t i) const { return widthShares(i) + bins_; }

  private:
    void normalise(float* share) const {
        double total = 0.0;
        for (int j = 0; j < bins_; ++j)
            total += share[j];
        const float inverse = float(1.0 / total);
        for (int j = 0; j < bins_; ++j)
            share[j] *= inverse;
    }

    int bins_;
    double scale_;
    SplineOptions options_;
    std::vector<float> shares_;     // per element: K width shares, then K height shares
    std::vector<float> rawSlopes_;  // per element: its bin's left and right raw slopes
    std::vector<ElementBin> elements_;
};

// Gradient of the knot positions/bin sizes (for bin k) back to the raw sizes through the
// cumulative sum and the softmax.
void sizeGradient(const float* share, int bins, int k, double gradKnot, double gradSize,
                  double minSize, double tailBound, double scale, float* gradRaw) {
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
        dot += double(share[i]) * gradShare[std::size_t(i)];
    for (int i = 0; i < bins; ++i)
        gradRaw[i] = float(spread * double(share[i]) * (gradShare[std::size_t(i)] - dot) * scale);
}

// Rows [begin, end) of the kernel, one block of elements at a time: rows are independent, so
// torch's intra-op threads take ranges of them.
template <class PerBlock>
void forEachBlock(int bins, double scale, const SplineOptions& options, std::int64_t features,
                  std::int64_t rows, PerBlock&& perBlock) {
    if (rows == 0 || features == 0)
        return;
    const std::int64_t rowsPerBlock = std::max<std::int64_t>(1, SplineBlock::kElements / features);
    const std::int64_t grain = std::max<std::int64_t>(1, 2048 / features);
    at::parallel_for(0, rows, grain, [&](std::int64_t begin, std::int64_t end) {
        SplineBlock block(bins, scale, options, rowsPerBlock * features);
        for (std::int64_t first = begin; first < end; first += rowsPerBlock)
            perBlock(block, first, std::min(end, first + rowsPerBlock));
    });
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
        forEachBlock(bins, scale, options, features, rows,
                     [&](SplineBlock& block, std::int64_t firstRow, std::int64_t endRow) {
                         const std::int64_t first = firstRow * features,
                                            count = (endRow - firstRow) * features;
                         block.prepare(xs + first, ps + first * width, count);
                         Eigen::ArrayXf derivatives = Eigen::ArrayXf::Ones(Eigen::Index(count));
                         for (std::int64_t i = 0; i < count; ++i) {
                             const ElementBin& e = block.element(i);
                             if (e.bin < 0) {  // identity tails
                                 ys[first + i] = xs[first + i];
                                 continue;
                             }
                             double y = 0.0, derivative = 0.0;
                             splineInBin(double(xs[first + i]), e.knotX, e.binWidth, e.knotY,
                                         e.binHeight, e.slopeLeft, e.slopeRight, y, derivative);
                             ys[first + i] = float(y);
                             derivatives[Eigen::Index(i)] = float(derivative);
                         }
                         const Eigen::ArrayXf logDerivatives = derivatives.log();
                         for (std::int64_t n = firstRow; n < endRow; ++n)
                             ls[n] = float(logDerivatives
                                               .segment(Eigen::Index((n - firstRow) * features),
                                                        Eigen::Index(features))
                                               .cast<double>()
                                               .sum());
                     });
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
        forEachBlock(
            bins, scale, options, features, rows,
            [&](SplineBlock& block, std::int64_t firstRow, std::int64_t endRow) {
                const std::int64_t first = firstRow * features,
                                   count = (endRow - firstRow) * features;
                block.prepare(xs + first, ps + first * width, count);
                for (std::int64_t i = 0; i < count; ++i) {
                    const std::int64_t e = first + i;
                    const ElementBin& element = block.element(i);
                    if (element.bin < 0) {
                        gxs[e] = gys[e];
                        continue;
                    }
                    const int k = element.bin;
                    Dual y, derivative;
                    splineInBin(Dual::variable(xs[e], kX), Dual::variable(element.knotX, kKnotX),
                                Dual::variable(element.binWidth, kBinWidth),
                                Dual::variable(element.knotY, kKnotY),
                                Dual::variable(element.binHeight, kBinHeight),
                                Dual::variable(element.slopeLeft, kSlopeLeft),
                                Dual::variable(element.slopeRight, kSlopeRight), y, derivative);
                    const double gradLog = gls[e / features] / derivative.v;  // d log u = du / u
                    std::array<double, kLocalInputs> g{};
                    for (std::size_t j = 0; j < kLocalInputs; ++j)
                        g[j] = gys[e] * y.d[j] + gradLog * derivative.d[j];
                    gxs[e] = float(g[kX]);
                    float* gRaw = gps + e * width;
                    // knot_0 is fixed at -B: no gradient flows to the sizes from it.
                    sizeGradient(block.widthShares(i), bins, k, k > 0 ? g[kKnotX] : 0.0,
                                 g[kBinWidth], options.minBinWidth, b, scale, gRaw);
                    sizeGradient(block.heightShares(i), bins, k, k > 0 ? g[kKnotY] : 0.0,
                                 g[kBinHeight], options.minBinHeight, b, scale, gRaw + bins);
                    // Interior slopes j = 1..K-1 come from raw[2K + j - 1] through softplus.
                    if (k >= 1)
                        gRaw[2 * bins + k - 1] += float(g[kSlopeLeft] * element.slopeLeftGrad);
                    if (k + 1 <= bins - 1)
                        gRaw[2 * bins + k] += float(g[kSlopeRight] * element.slopeRightGrad);
                }
            });
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
