#include "abc/kde.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/random.h"
#include "priors/joint_prior.h"

namespace sbiw {

namespace {

constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();
constexpr double kPi = 3.14159265358979323846;

// KDE draw i comes from stream (seed, Abc, kDrawStream + i), clear of ABC's own streams.
constexpr std::uint64_t kDrawStream = 0x4B444500'00000000ULL;  // "KDE"
constexpr int kMaxDrawAttempts = 1000;

// Cross-validation works on at most this many particles (a systematic subsample beyond), so that
// its cost stays below a second; h is then rescaled like Scott's rule to the full count.
constexpr Eigen::Index kMaxCrossValidationParticles = 1000;

double logSumExp(const double* values, Eigen::Index count) {
    double top = kMinusInfinity;
    for (Eigen::Index i = 0; i < count; ++i)
        top = std::max(top, values[i]);
    if (top == kMinusInfinity)
        return kMinusInfinity;
    double sum = 0.0;
    for (Eigen::Index i = 0; i < count; ++i)
        sum += std::exp(values[i] - top);
    return top + std::log(sum);
}

double kish(const Vector& weights) {
    return 1.0 / weights.squaredNorm();
}

// Weighted leave-one-out log-likelihood as a function of h, from the squared Mahalanobis
// distances between the particles (constants dropped).
class LeaveOneOut {
  public:
    LeaveOneOut(const Matrix& whitened, const Vector& weights)
        : dimension_(int(whitened.cols())), weights_(weights), logWeights_(weights.array().log()) {
        const Eigen::Index n = whitened.rows();
        squared_.resize(n, n);
        for (Eigen::Index i = 0; i < n; ++i)
            for (Eigen::Index j = 0; j < n; ++j)
                squared_(i, j) = (whitened.row(i) - whitened.row(j)).squaredNorm();
        terms_.resize(n);
    }

    double operator()(double logH) {
        const Eigen::Index n = squared_.rows();
        const double scale = 0.5 * std::exp(-2.0 * logH);
        const double d = double(dimension_);
        double total = 0.0;
        for (Eigen::Index i = 0; i < n; ++i) {
            for (Eigen::Index j = 0; j < n; ++j)
                terms_[j] = j == i ? kMinusInfinity : logWeights_[j] - scale * squared_(i, j);
            total += weights_[i] * (logSumExp(terms_.data(), n) - std::log1p(-weights_[i]));
        }
        return total - d * logH;
    }

  private:
    int dimension_;
    Vector weights_, logWeights_;
    Matrix squared_;
    Vector terms_;
};

// Maximises the leave-one-out likelihood over log h: a grid over [0.01, 3], then golden-section
// search between the neighbours of the best grid point.
double crossValidatedBandwidth(const Matrix& whitened, const Vector& weights) {
    LeaveOneOut objective(whitened, weights);
    constexpr int kGrid = 41;
    const double lo = std::log(0.01), hi = std::log(3.0), step = (hi - lo) / (kGrid - 1);
    int best = 0;
    double bestValue = kMinusInfinity;
    for (int k = 0; k < kGrid; ++k) {
        const double value = objective(lo + k * step);
        if (value > bestValue) {
            bestValue = value;
            best = k;
        }
    }
    double a = lo + std::max(best - 1, 0) * step, b = lo + std::min(best + 1, kGrid - 1) * step;
    const double ratio = 0.5 * (std::sqrt(5.0) - 1.0);
    double c = b - ratio * (b - a), e = a + ratio * (b - a);
    double fc = objective(c), fe = objective(e);
    while (b - a > 1e-3) {
        if (fc > fe) {
            b = e;
            e = c;
            fe = fc;
            c = b - ratio * (b - a);
            fc = objective(c);
        } else {
            a = c;
            c = e;
            fc = fe;
            e = a + ratio * (b - a);
            fe = objective(e);
        }
    }
    return std::exp(0.5 * (a + b));
}

}  // namespace

std::string toString(KdeBandwidth bandwidth) {
    switch (bandwidth) {
        case KdeBandwidth::CrossValidation:
            return "cv";
        case KdeBandwidth::Scott:
            return "scott";
        case KdeBandwidth::Silverman:
            return "silverman";
        case KdeBandwidth::Fixed:
            return "fixed";
    }
    return "cv";
}

std::optional<KdeBandwidth> parseKdeBandwidth(const std::string& name) {
    if (name == "cv")
        return KdeBandwidth::CrossValidation;
    if (name == "scott")
        return KdeBandwidth::Scott;
    if (name == "silverman")
        return KdeBandwidth::Silverman;
    if (name == "fixed")
        return KdeBandwidth::Fixed;
    return std::nullopt;
}

GaussianKde::GaussianKde(const Matrix& particles, const Vector& weights, KdeBandwidth rule,
                         double fixedBandwidth) {
    const Eigen::Index n = particles.rows(), d = particles.cols();
    if (n == 0 || d == 0)
        throw std::invalid_argument("KDE: no particles");
    if (weights.size() != n)
        throw std::invalid_argument("KDE: " + std::to_string(weights.size()) + " weights for " +
                                    std::to_string(n) + " particles");
    if (!particles.allFinite())
        throw std::invalid_argument("KDE: non-finite particle");
    if (!weights.allFinite() || (weights.array() < 0.0).any() || !(weights.sum() > 0.0))
        throw std::invalid_argument("KDE: weights must be finite, non-negative, not all zero");
    if (rule == KdeBandwidth::Fixed && !(fixedBandwidth > 0.0 && std::isfinite(fixedBandwidth)))
        throw std::invalid_argument("KDE: a fixed bandwidth must be a finite number > 0");

    // Merge identical particles (lexicographic order), drop zero weights.
    std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), Eigen::Index(0));
    auto less = [&](Eigen::Index a, Eigen::Index b) {
        for (Eigen::Index j = 0; j < d; ++j)
            if (particles(a, j) != particles(b, j))
                return particles(a, j) < particles(b, j);
        return false;
    };
    std::sort(order.begin(), order.end(), less);
    std::vector<Eigen::Index> kept;
    std::vector<double> mergedWeights;
    for (Eigen::Index i : order) {
        if (weights[i] == 0.0)
            continue;
        if (!kept.empty() && !less(kept.back(), i) && !less(i, kept.back()))
            mergedWeights.back() += weights[i];
        else {
            kept.push_back(i);
            mergedWeights.push_back(weights[i]);
        }
    }
    const Eigen::Index m = Eigen::Index(kept.size());
    centres_.resize(m, d);
    weights_.resize(m);
    for (Eigen::Index k = 0; k < m; ++k) {
        centres_.row(k) = particles.row(kept[std::size_t(k)]);
        weights_[k] = mergedWeights[std::size_t(k)];
    }
    weights_ /= weights_.sum();
    cumulative_.resize(m);
    double running = 0.0;
    for (Eigen::Index k = 0; k < m; ++k)
        cumulative_[k] = running += weights_[k];

    // Weighted variances with the reliability-weights correction (numpy's cov with aweights);
    // a coordinate that does not vary gets a tiny scale, so the estimate stays at its value.
    const Eigen::RowVectorXd mean = weights_.transpose() * centres_;
    const Matrix centred = centres_.rowwise() - mean;
    const double correction = std::max(1.0 - weights_.squaredNorm(), 1e-12);
    Vector scale(d);
    for (Eigen::Index j = 0; j < d; ++j) {
        const double variance = weights_.dot(centred.col(j).cwiseAbs2()) / correction;
        scale[j] = variance > 0.0 ? std::sqrt(variance) : 1e-6 * std::max(1.0, std::abs(mean[j]));
    }
    const Matrix lower = scale.asDiagonal();
    whitening_ = scale.cwiseInverse().asDiagonal();
    logDetSigma_ = 2.0 * scale.array().log().sum();

    const double neff = kish(weights_);
    const double dd = double(d);
    double h = 1.0;
    switch (rule) {
        case KdeBandwidth::Fixed:
            h = fixedBandwidth;
            break;
        case KdeBandwidth::Scott:
            h = std::pow(neff, -1.0 / (dd + 4.0));
            break;
        case KdeBandwidth::Silverman:
            h = std::pow(neff * (dd + 2.0) / 4.0, -1.0 / (dd + 4.0));
            break;
        case KdeBandwidth::CrossValidation: {
            if (m < 2) {
                h = std::pow(neff, -1.0 / (dd + 4.0));
                break;
            }
            // A systematic subsample (every k-th particle in the merged order) for large sets.
            const Eigen::Index used = std::min(m, kMaxCrossValidationParticles);
            Matrix whitened(used, d);
            Vector subWeights(used);
            for (Eigen::Index k = 0; k < used; ++k) {
                const Eigen::Index i = k * m / used;
                whitened.row(k) = (whitening_ * centres_.row(i).transpose()).transpose();
                subWeights[k] = weights_[i];
            }
            subWeights /= subWeights.sum();
            if (subWeights.maxCoeff() >= 1.0 - 1e-12) {
                h = std::pow(neff, -1.0 / (dd + 4.0));
                break;
            }
            h = crossValidatedBandwidth(whitened, subWeights);
            if (used < m)
                h *= std::pow(kish(subWeights) / neff, 1.0 / (dd + 4.0));
            break;
        }
    }
    bandwidth_ = h;
    factor_ = bandwidth_ * lower;
}

double GaussianKde::effectiveSize() const {
    return kish(weights_);
}

Vector GaussianKde::logDensity(const Matrix& points) const {
    if (points.cols() != centres_.cols())
        throw std::invalid_argument("KDE: points have " + std::to_string(points.cols()) +
                                    " columns, the estimate " + std::to_string(centres_.cols()));
    const Eigen::Index m = centres_.rows(), d = centres_.cols();
    const Matrix whitenedCentres = centres_ * whitening_.transpose();
    const double h2 = bandwidth_ * bandwidth_;
    const double constant = -0.5 * double(d) * std::log(2.0 * kPi * h2) - 0.5 * logDetSigma_;
    Vector out(points.rows());
    Vector terms(m);
    for (Eigen::Index r = 0; r < points.rows(); ++r) {
        const Eigen::RowVectorXd y = points.row(r) * whitening_.transpose();
        for (Eigen::Index k = 0; k < m; ++k)
            terms[k] =
                std::log(weights_[k]) - 0.5 * (y - whitenedCentres.row(k)).squaredNorm() / h2;
        out[r] = logSumExp(terms.data(), m) + constant;
    }
    return out;
}

Matrix GaussianKde::sample(std::int64_t count, std::uint64_t seed,
                           const JointPrior* support) const {
    const Eigen::Index d = centres_.cols();
    if (support && support->dimension() != d)
        throw std::invalid_argument("KDE: the prior has " + std::to_string(support->dimension()) +
                                    " parameters, the estimate " + std::to_string(d));
    Matrix out(count, d);
    Vector z(d);
    for (std::int64_t i = 0; i < count; ++i) {
        RandomStream rng(seed, StreamPurpose::Abc, kDrawStream + std::uint64_t(i));
        for (int attempt = 0;; ++attempt) {
            const double u = rng.uniform() * cumulative_[cumulative_.size() - 1];
            const Eigen::Index k = std::min<Eigen::Index>(
                std::upper_bound(cumulative_.data(), cumulative_.data() + cumulative_.size(), u) -
                    cumulative_.data(),
                cumulative_.size() - 1);
            if (attempt == kMaxDrawAttempts) {
                out.row(i) = centres_.row(k);
                break;
            }
            for (Eigen::Index j = 0; j < d; ++j)
                z[j] = rng.normal();
            out.row(i) = centres_.row(k) + (factor_.triangularView<Eigen::Lower>() * z).transpose();
            if (!support || support->inSupport(out.row(i).data()))
                break;
        }
    }
    return out;
}

}  // namespace sbiw
