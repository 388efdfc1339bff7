#include "diagnostics/c2st.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/random.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace sbiw {

namespace {

// Streams under StreamPurpose::Diagnostics, far above the per-draw indices of other diagnostics.
constexpr std::uint64_t kFoldSplitStream = 0xC2570000'00000000ULL;
constexpr std::uint64_t kClassifierStream = kFoldSplitStream + 1;

// Hidden widths are padded with zero units to a multiple of kLanes so that the kernels below
// never need a remainder loop over units. Zero weights, biases and gradients stay exactly zero
// under Adam, so the padding changes no result.
constexpr int kLanes = 8;

int padToLanes(int n) { return (n + kLanes - 1) / kLanes * kLanes; }

enum class Store { Plain, Relu, Mask };

struct Operands {
    const double* P;
    std::ptrdiff_t pm, pk;
    const double* Q;
    std::ptrdiff_t ldq;
    const double* init;
    double* C;
    std::ptrdiff_t ldc;
    const double* mask;
};

// kWidth doubles as GCC/Clang vector extensions: element-wise IEEE arithmetic, so a tile gives
// the same bits in SSE2 (width 2) and AVX (width 4) registers.
template <int kWidth>
struct Vectors {
    typedef double Value __attribute__((vector_size(8 * kWidth)));
    typedef std::int64_t Bits __attribute__((vector_size(8 * kWidth)));
};

template <typename V>
inline __attribute__((always_inline)) void load(V& v, const double* p) {
    std::memcpy(&v, p, sizeof v);
}

// Rows [m0, m0 + kRows) and columns [n0, n0 + kWidth kVecs) of the product below, accumulated
// in registers.
template <Store kStore, int kWidth, int kRows, int kVecs>
inline __attribute__((always_inline)) void tile(const Operands& o, int K, int m0, int n0) {
    using Vec = typename Vectors<kWidth>::Value;
    using Bits = typename Vectors<kWidth>::Bits;
    Vec acc[kRows][kVecs];
    for (int c = 0; c < kVecs; ++c) {
        Vec start = {};
        if (o.init) load(start, o.init + n0 + kWidth * c);
        for (int r = 0; r < kRows; ++r) acc[r][c] = start;
    }
    const double* p = o.P + m0 * o.pm;
    const double* q = o.Q + n0;
    for (int k = 0; k < K; ++k, p += o.pk, q += o.ldq) {
        Vec qv[kVecs];
        for (int c = 0; c < kVecs; ++c) load(qv[c], q + kWidth * c);
        for (int r = 0; r < kRows; ++r) {
            const double pr = p[r * o.pm];
            for (int c = 0; c < kVecs; ++c) acc[r][c] += pr * qv[c];
        }
    }
    const Vec zero = {};
    for (int r = 0; r < kRows; ++r) {
        const std::ptrdiff_t at = (m0 + r) * o.ldc + n0;
        for (int c = 0; c < kVecs; ++c) {
            Vec value = acc[r][c];
            // Branch-free selects: comparisons give all-ones or all-zeros lanes.
            if (kStore == Store::Relu) value = (Vec)((Bits)value & (Bits)(value > zero));
            if (kStore == Store::Mask) {
                Vec mask;
                load(mask, o.mask + at + kWidth * c);
                value = (Vec)((Bits)value & (Bits)(mask != zero));
            }
            std::memcpy(o.C + at + kWidth * c, &value, sizeof value);
        }
    }
}

// C[m][n] = init[n] + sum_{k<K} P(m,k) Q[k][n] for m < M, n < N (N a multiple of kLanes), with
// P(m,k) = P[m*pm + k*pk], Q[k][n] = Q[k*ldq + n], C[m][n] = C[m*ldc + n]; init may be null.
// Store::Relu stores max(value, 0); Store::Mask stores 0 where mask[m*ldc + n] == 0.
// Every element is summed in the order k = 0, 1, ..., K-1 with separate multiplies and adds
// (no fused multiply-add), and only the loop over n is vectorised, so the result is
// bit-identical whatever the tile shape or instruction set. Column strips run outermost so that
// a strip of Q stays in L1 while the rows of P stream past.
template <Store kStore, int kWidth, int kRows, int kVecs>
inline __attribute__((always_inline)) void multiplyBody(int M, int N, int K, const Operands& o) {
    for (int n0 = 0; n0 < N; n0 += kWidth * kVecs) {
        int m0 = 0;
        for (; m0 + kRows <= M; m0 += kRows) tile<kStore, kWidth, kRows, kVecs>(o, K, m0, n0);
        for (; m0 < M; ++m0) tile<kStore, kWidth, 1, kVecs>(o, K, m0, n0);
    }
}

// Baseline x86-64 (SSE2): 2 x 8 tiles fill 8 of the 16 registers.
template <Store kStore>
void multiplyBaseline(int M, int N, int K, const Operands& o) {
    multiplyBody<kStore, 2, 2, 4>(M, N, K, o);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SBIW_C2ST_AVX 1
// The same kernel compiled for AVX (4 x 8 tiles in 8 of 16 ymm registers), chosen at run time;
// about twice as fast and bit-identical, since AVX alone brings no fused multiply-add.
template <Store kStore>
__attribute__((target("avx"))) void multiplyAvx(int M, int N, int K, const Operands& o) {
    multiplyBody<kStore, 4, 4, 2>(M, N, K, o);
}

bool haveAvx() {
    static const bool yes = __builtin_cpu_supports("avx");
    return yes;
}
#endif

template <Store kStore>
void multiply(int M, int N, int K, const double* P, std::ptrdiff_t pm, std::ptrdiff_t pk,
              const double* Q, std::ptrdiff_t ldq, const double* init, double* C,
              std::ptrdiff_t ldc, const double* mask = nullptr) {
    const Operands o{P, pm, pk, Q, ldq, init, C, ldc, mask};
#ifdef SBIW_C2ST_AVX
    if (haveAvx()) return multiplyAvx<kStore>(M, N, K, o);
#endif
    multiplyBaseline<kStore>(M, N, K, o);
}

// scipy.special.expit, as MLPClassifier's logistic output uses it.
double logistic(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// MLPClassifier(hidden_layer_sizes=(h, h), activation="relu", solver="adam") for two classes:
// one logistic output unit trained on the binary log-loss. Every buffer is allocated here, so
// training allocates nothing. Layouts are row-major with samples as rows (as in scikit-learn:
// coefs are fan_in x fan_out), hidden units padded to `hp`.
class Classifier {
public:
    Classifier(int inputs, int hidden, int batchCapacity, const C2stSettings& settings)
        : d_(inputs), h_(hidden), hp_(padToLanes(hidden)), capacity_(batchCapacity),
          settings_(settings) {
        offB1_ = d_ * hp_;
        offW2_ = offB1_ + hp_;
        offB2_ = offW2_ + hp_ * hp_;
        offW3_ = offB2_ + hp_;
        offB3_ = offW3_ + hp_;
        const std::size_t count = static_cast<std::size_t>(offB3_ + 2) / 2 * 2;  // even, for Adam
        theta_.assign(count, 0.0);
        grad_.assign(count, 0.0);
        moment1_.assign(count, 0.0);
        moment2_.assign(count, 0.0);
        w2t_.assign(static_cast<std::size_t>(hp_ * hp_), 0.0);
        const std::size_t cells = static_cast<std::size_t>(capacity_) * hp_;
        x_.assign(static_cast<std::size_t>(capacity_) * d_, 0.0);
        y_.assign(static_cast<std::size_t>(capacity_), 0.0);
        a1_.assign(cells, 0.0);
        a2_.assign(cells, 0.0);
        d1_.assign(cells, 0.0);
        d2_.assign(cells, 0.0);
        prob_.assign(static_cast<std::size_t>(capacity_), 0.0);
        d3_.assign(static_cast<std::size_t>(capacity_), 0.0);
    }

    // Glorot-uniform as scikit-learn's _init_coef: weights and intercepts of every layer uniform
    // in ±sqrt(6 / (fan_in + fan_out)). The factor is 2 instead of 6 only when the *hidden*
    // activation is logistic, so with ReLU the output layer uses 6 too. Drawn layer by layer
    // (weights row by row, then intercepts) like scikit-learn.
    void initialise(RandomStream& rng) {
        std::fill(theta_.begin(), theta_.end(), 0.0);
        auto layer = [&](int fanIn, int fanOut, double* weights, std::ptrdiff_t ld,
                         double* intercepts) {
            const double bound = std::sqrt(6.0 / (fanIn + fanOut));
            for (int i = 0; i < fanIn; ++i)
                for (int o = 0; o < fanOut; ++o) weights[i * ld + o] = rng.uniform(-bound, bound);
            for (int o = 0; o < fanOut; ++o) intercepts[o] = rng.uniform(-bound, bound);
        };
        layer(d_, h_, w1(), hp_, b1());
        layer(h_, h_, w2(), hp_, b2());
        layer(h_, 1, w3(), 1, b3());
        std::fill(moment1_.begin(), moment1_.end(), 0.0);
        std::fill(moment2_.begin(), moment2_.end(), 0.0);
        steps_ = 0;
        transposeW2();
    }

    // Copies rows `rows[0..count)` of `data` (d columns) and their labels into the batch buffers.
    void gather(const Matrix& data, const std::vector<double>& labels, const std::int64_t* rows,
                int count) {
        for (int s = 0; s < count; ++s) {
            const auto row = static_cast<Eigen::Index>(rows[s]);
            std::copy_n(data.row(row).data(), d_, x_.data() + s * d_);
            y_[static_cast<std::size_t>(s)] = labels[static_cast<std::size_t>(row)];
        }
    }

    // Predicted probabilities of class 1 for the gathered batch.
    const double* forward(int b) {
        multiply<Store::Relu>(b, hp_, d_, x_.data(), d_, 1, w1(), hp_, b1(), a1_.data(), hp_);
        multiply<Store::Relu>(b, hp_, h_, a1_.data(), hp_, 1, w2(), hp_, b2(), a2_.data(), hp_);
        const double* w = w3();
        for (int s = 0; s < b; ++s) {
            const double* a = a2_.data() + s * hp_;
            double z = *b3();
            for (int i = 0; i < h_; ++i) z += a[i] * w[i];
            prob_[static_cast<std::size_t>(s)] = logistic(z);
        }
        return prob_.data();
    }

    // Number of correct predictions (class 1 iff probability > 0.5) in the gathered batch.
    int countCorrect(int b) {
        const double* p = forward(b);
        int correct = 0;
        for (int s = 0; s < b; ++s) correct += (p[s] > 0.5) == (y_[std::size_t(s)] > 0.5);
        return correct;
    }

    // One Adam step on the gathered batch; returns the batch loss before the step, as
    // scikit-learn's _backprop: mean log-loss + 0.5 * alpha * sum(W^2) / b (weights only).
    double trainStep(int b) {
        forward(b);
        const double alpha = settings_.l2;

        // Binary log-loss with scikit-learn's clipping of the probabilities to [eps, 1 - eps].
        constexpr double eps = std::numeric_limits<double>::epsilon();
        double logLoss = 0.0;
        for (int s = 0; s < b; ++s) {
            const auto i = static_cast<std::size_t>(s);
            const double p = std::clamp(prob_[i], eps, 1.0 - eps);
            logLoss -= y_[i] > 0.5 ? std::log(p) : std::log(1.0 - p);
            d3_[i] = prob_[i] - y_[i];  // d loss / d output pre-activation
        }
        double squares = 0.0;
        for (const auto& [offset, size] : weightRegions())
            for (std::ptrdiff_t k = offset; k < offset + size; ++k)
                squares += theta_[k] * theta_[k];
        const double loss = logLoss / b + 0.5 * alpha * squares / b;

        // Output layer.
        double* g3 = grad_.data() + offW3_;
        multiply<Store::Plain>(1, hp_, b, d3_.data(), 0, 1, a2_.data(), hp_, nullptr, g3, hp_);
        double bias3 = 0.0;
        for (int s = 0; s < b; ++s) bias3 += d3_[std::size_t(s)];
        grad_[offB3_] = bias3 / b;
        // Second hidden layer: delta2 = delta3 w3^T (a product over k = 1), zero where the ReLU
        // was inactive.
        multiply<Store::Mask>(b, hp_, 1, d3_.data(), 1, 0, w3(), 0, nullptr, d2_.data(), hp_,
                              a2_.data());
        multiply<Store::Plain>(h_, hp_, b, a1_.data(), 1, hp_, d2_.data(), hp_, nullptr,
                               grad_.data() + offW2_, hp_);
        columnMeans(d2_.data(), b, grad_.data() + offB2_);
        // First hidden layer: delta1 = delta2 W2^T, masked by the first ReLU.
        multiply<Store::Mask>(b, hp_, h_, d2_.data(), hp_, 1, w2t_.data(), hp_, nullptr,
                              d1_.data(), hp_, a1_.data());
        multiply<Store::Plain>(d_, hp_, b, x_.data(), 1, d_, d1_.data(), hp_, nullptr,
                               grad_.data() + offW1_, hp_);
        columnMeans(d1_.data(), b, grad_.data() + offB1_);
        // coef_grads = (A^T delta + alpha W) / b.
        for (const auto& [offset, size] : weightRegions())
            for (std::ptrdiff_t k = 0; k < size; ++k)
                grad_[offset + k] = (grad_[offset + k] + alpha * theta_[offset + k]) / b;

        adamStep();
        transposeW2();
        return loss;
    }

private:
    struct Region {
        std::ptrdiff_t offset;
        std::ptrdiff_t size;
    };
    std::array<Region, 3> weightRegions() const {
        return {Region{offW1_, offB1_ - offW1_}, Region{offW2_, offB2_ - offW2_},
                Region{offW3_, hp_}};
    }

    double* w1() { return theta_.data() + offW1_; }
    double* b1() { return theta_.data() + offB1_; }
    double* w2() { return theta_.data() + offW2_; }
    double* b2() { return theta_.data() + offB2_; }
    double* w3() { return theta_.data() + offW3_; }
    double* b3() { return theta_.data() + offB3_; }

    // out[i] = mean over the batch of delta[s][i], summed in order s = 0, 1, ... by the kernel
    // (a product with a row of ones, reading one 1.0 with zero strides).
    void columnMeans(const double* delta, int b, double* out) const {
        static const double one = 1.0;
        multiply<Store::Plain>(1, hp_, b, &one, 0, 0, delta, hp_, nullptr, out, hp_);
        for (int i = 0; i < hp_; ++i) out[i] /= b;
    }

    // scikit-learn's AdamOptimizer: the bias correction is folded into the step size,
    // lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t), t = number of updates so far.
    // Two parameters at a time (the vector is padded to even length); sqrt and division are
    // correctly rounded in SSE2 as in scalar code.
    void adamStep() {
        constexpr double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
        ++steps_;
        const double t = static_cast<double>(steps_);
        const double rate = settings_.learningRate * std::sqrt(1.0 - std::pow(beta2, t)) /
                            (1.0 - std::pow(beta1, t));
        using Vec = Vectors<2>::Value;
        const std::size_t count = theta_.size();
        for (std::size_t k = 0; k < count; k += 2) {
            Vec g, m, v, w;
            load(g, grad_.data() + k);
            load(m, moment1_.data() + k);
            load(v, moment2_.data() + k);
            load(w, theta_.data() + k);
            m = beta1 * m + (1.0 - beta1) * g;
            v = beta2 * v + (1.0 - beta2) * (g * g);
#ifdef __SSE2__
            const Vec root = _mm_sqrt_pd(v);
#else
            const Vec root = {std::sqrt(v[0]), std::sqrt(v[1])};
#endif
            w += -rate * m / (root + epsilon);
            std::memcpy(moment1_.data() + k, &m, sizeof m);
            std::memcpy(moment2_.data() + k, &v, sizeof v);
            std::memcpy(theta_.data() + k, &w, sizeof w);
        }
    }

    // The backward pass through W2 runs over its transpose to keep the vector loop over units.
    void transposeW2() {
        const double* w = w2();
        for (int i = 0; i < h_; ++i)
            for (int o = 0; o < h_; ++o) w2t_[std::size_t(o * hp_ + i)] = w[i * hp_ + o];
    }

    int d_, h_, hp_, capacity_;
    const C2stSettings& settings_;
    std::ptrdiff_t offW1_ = 0, offB1_ = 0, offW2_ = 0, offB2_ = 0, offW3_ = 0, offB3_ = 0;
    std::vector<double> theta_, grad_, moment1_, moment2_, w2t_;
    std::vector<double> x_, y_, a1_, a2_, d1_, d2_, prob_, d3_;
    std::int64_t steps_ = 0;
};

void checkInputs(const Matrix& reference, const Matrix& samples, int folds) {
    if (reference.cols() == 0)
        throw std::invalid_argument("c2st: the reference samples have no columns");
    if (reference.cols() != samples.cols())
        throw std::invalid_argument(
            "c2st: the reference samples have " + std::to_string(reference.cols()) +
            " columns but the samples to compare have " + std::to_string(samples.cols()));
    auto check = [folds](const Matrix& m, const char* name) {
        if (m.rows() < folds)
            throw std::invalid_argument("c2st: the " + std::string(name) + " have " +
                                        std::to_string(m.rows()) + " rows; at least " +
                                        std::to_string(folds) + " (one per fold) are needed");
        for (Eigen::Index r = 0; r < m.rows(); ++r)
            for (Eigen::Index c = 0; c < m.cols(); ++c)
                if (!std::isfinite(m(r, c)))
                    throw std::invalid_argument("c2st: the " + std::string(name) + " have a " +
                                                "non-finite value in row " + std::to_string(r) +
                                                ", column " + std::to_string(c));
    };
    check(reference, "reference samples");
    check(samples, "samples to compare");
}

}  // namespace

Problems C2stSettings::validate() const {
    Problems problems;
    auto finite = [](double v) { return std::isfinite(v); };
    if (folds < 2) problems.push_back({"folds", "must be at least 2"});
    if (maxEpochs < 1) problems.push_back({"maxEpochs", "must be at least 1"});
    if (!finite(tolerance) || tolerance < 0)
        problems.push_back({"tolerance", "must be a finite number >= 0"});
    if (epochsWithoutImprovement < 1)
        problems.push_back({"epochsWithoutImprovement", "must be at least 1"});
    if (batchSize < 1) problems.push_back({"batchSize", "must be at least 1"});
    if (!finite(learningRate) || learningRate <= 0)
        problems.push_back({"learningRate", "must be a finite number > 0"});
    if (!finite(l2) || l2 < 0) problems.push_back({"l2", "must be a finite number >= 0"});
    if (hiddenUnitsPerDimension < 1)
        problems.push_back({"hiddenUnitsPerDimension", "must be at least 1"});
    if (threads < 0) problems.push_back({"threads", "must be 0 (all cores) or positive"});
    return problems;
}

C2stResult c2st(const Matrix& reference, const Matrix& samples, const C2stSettings& settings,
                const LoopControl& control) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    throwIfProblems(settings.validate());
    checkInputs(reference, samples, settings.folds);

    const int d = static_cast<int>(reference.cols());
    const Eigen::Index nx = reference.rows(), ny = samples.rows(), n = nx + ny;

    // data = concat(X, Y), z-scored by the reference's column means and unbiased stds (as
    // torch.std). A constant reference column has std 0, where sbibm would divide by zero and
    // get inf/NaN; we divide by 1 instead, which only centres that column.
    Matrix data(n, d);
    data.topRows(nx) = reference;
    data.bottomRows(ny) = samples;
    if (settings.zScore) {
        for (int c = 0; c < d; ++c) {
            double sum = 0.0;
            for (Eigen::Index r = 0; r < nx; ++r) sum += reference(r, c);
            const double mean = sum / static_cast<double>(nx);
            double squares = 0.0;
            for (Eigen::Index r = 0; r < nx; ++r)
                squares += (reference(r, c) - mean) * (reference(r, c) - mean);
            double stddev = std::sqrt(squares / static_cast<double>(nx - 1));
            if (!(stddev > 0.0)) stddev = 1.0;
            for (Eigen::Index r = 0; r < n; ++r) data(r, c) = (data(r, c) - mean) / stddev;
        }
    }
    std::vector<double> labels(static_cast<std::size_t>(n), 0.0);
    std::fill(labels.begin() + nx, labels.end(), 1.0);

    // KFold(shuffle=True): permute all rows, then cut consecutive test folds; the first
    // n % folds folds get one row more. Training rows keep their original order.
    const int folds = settings.folds;
    std::vector<std::int64_t> permutation(static_cast<std::size_t>(n));
    std::iota(permutation.begin(), permutation.end(), std::int64_t(0));
    {
        RandomStream rng(settings.seed, StreamPurpose::Diagnostics, kFoldSplitStream);
        for (std::size_t i = permutation.size() - 1; i > 0; --i)
            std::swap(permutation[i], permutation[rng.below(i + 1)]);
    }
    std::vector<std::int64_t> foldStart(static_cast<std::size_t>(folds) + 1, 0);
    for (int f = 0; f < folds; ++f)
        foldStart[std::size_t(f) + 1] = foldStart[std::size_t(f)] + n / folds + (f < n % folds);

    const int hidden = settings.hiddenUnitsPerDimension * d;
    C2stResult result;
    result.foldAccuracies.assign(static_cast<std::size_t>(folds),
                                 std::numeric_limits<double>::quiet_NaN());
    result.foldEpochs.assign(static_cast<std::size_t>(folds), 0);

    std::atomic<bool> abort{false};
    auto cancelRequested = [&] {
        return abort.load(std::memory_order_relaxed) ||
               (control.cancelFlag && control.cancelFlag->load(std::memory_order_relaxed));
    };

    auto trainFold = [&](int fold) {
        const std::int64_t* testBegin = permutation.data() + foldStart[std::size_t(fold)];
        const std::int64_t* testEnd = permutation.data() + foldStart[std::size_t(fold) + 1];
        std::vector<unsigned char> isTest(static_cast<std::size_t>(n), 0);
        for (const std::int64_t* t = testBegin; t != testEnd; ++t) isTest[std::size_t(*t)] = 1;
        std::vector<std::int64_t> order;
        order.reserve(static_cast<std::size_t>(n - (testEnd - testBegin)));
        for (std::int64_t r = 0; r < n; ++r)
            if (!isTest[std::size_t(r)]) order.push_back(r);
        const auto trainCount = static_cast<std::int64_t>(order.size());
        const int batch = static_cast<int>(std::min<std::int64_t>(settings.batchSize, trainCount));

        // Every fold starts from the same seed, as sklearn's cross_val_score clones the
        // estimator with random_state=1 for each fold: same initial weights, same shuffle stream.
        RandomStream rng(settings.seed, StreamPurpose::Diagnostics, kClassifierStream);
        Classifier net(d, hidden, batch, settings);
        net.initialise(rng);

        double bestLoss = std::numeric_limits<double>::infinity();
        int withoutImprovement = 0;
        int epoch = 0;
        while (epoch < settings.maxEpochs) {
            if (cancelRequested()) return;
            ++epoch;
            for (std::size_t i = order.size() - 1; i > 0; --i)
                std::swap(order[i], order[rng.below(i + 1)]);
            double accumulated = 0.0;
            for (std::int64_t first = 0; first < trainCount; first += batch) {
                const int b = static_cast<int>(std::min<std::int64_t>(batch, trainCount - first));
                net.gather(data, labels, order.data() + first, b);
                accumulated += net.trainStep(b) * b;
            }
            const double loss = accumulated / static_cast<double>(trainCount);
            if (!std::isfinite(loss))
                throw std::runtime_error("c2st: training diverged (non-finite loss) in fold " +
                                         std::to_string(fold) + ", epoch " +
                                         std::to_string(epoch));
            // scikit-learn's _update_no_improvement_count without early stopping.
            if (loss > bestLoss - settings.tolerance)
                ++withoutImprovement;
            else
                withoutImprovement = 0;
            bestLoss = std::min(bestLoss, loss);
            if (withoutImprovement > settings.epochsWithoutImprovement) break;
        }

        std::int64_t correct = 0;
        const std::int64_t testCount = testEnd - testBegin;
        for (std::int64_t first = 0; first < testCount; first += batch) {
            const int b = static_cast<int>(std::min<std::int64_t>(batch, testCount - first));
            net.gather(data, labels, testBegin + first, b);
            correct += net.countCorrect(b);
        }
        result.foldAccuracies[std::size_t(fold)] =
            static_cast<double>(correct) / static_cast<double>(testCount);
        result.foldEpochs[std::size_t(fold)] = epoch;
    };

    LoopControl loop;
    loop.onProgress = control.onProgress;
    loop.progressIntervalSeconds = control.progressIntervalSeconds;
    loop.shouldCancel = [&] {
        const bool cancel = (control.cancelFlag && control.cancelFlag->load()) ||
                            (control.shouldCancel && control.shouldCancel());
        if (cancel) abort = true;
        return cancel;
    };
    parallelChunks(
        folds, settings.threads, 1,
        [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t fold = begin; fold < end; ++fold) trainFold(static_cast<int>(fold));
        },
        loop);

    // Cancelled means some fold did not finish (a late request after the last fold is ignored).
    result.cancelled = std::count(result.foldEpochs.begin(), result.foldEpochs.end(), 0) > 0;
    double sum = 0.0;
    for (double a : result.foldAccuracies) sum += a;
    result.accuracy = result.cancelled ? std::numeric_limits<double>::quiet_NaN() : sum / folds;
    result.elapsedSeconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
}

}  // namespace sbiw
