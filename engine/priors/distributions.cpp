// The prior families and the support-based bijection shared by all of them.

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <cmath>

#include "priors/distribution.h"

namespace sbiw {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPi = 3.14159265358979323846;
const double kLogSqrt2Pi = 0.5 * std::log(2.0 * kPi);
const double kSqrt2 = std::sqrt(2.0);
// exp() of anything above this overflows; the bijection clamps z there so θ stays finite.
constexpr double kMaxExpArgument = 709.0;
// log of the smallest positive double: z for a θ that sits exactly on a bound.
const double kMinLog = std::log(std::numeric_limits<double>::denorm_min());

// Quantiles must not throw inside a sampler: p is always in (0, 1) by construction, and an
// error value is better than an exception escaping a worker thread.
using QuietPolicy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::underflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>>;
using StandardNormal = boost::math::normal_distribution<double, QuietPolicy>;

// log(1 + e^x) without overflow or loss for large |x|.
double softplus(double x) {
    return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
}

// 1 / (1 + e^-x), accurate in both tails.
double sigmoid(double x) {
    if (x >= 0.0)
        return 1.0 / (1.0 + std::exp(-x));
    const double e = std::exp(x);
    return e / (1.0 + e);
}

// c * log(x) with 0 * log(0) = 0, so boundary densities of gamma/beta do not become NaN.
double xlogy(double c, double x) {
    return c == 0.0 ? 0.0 : c * std::log(x);
}

// Standard normal CDF Φ(x) and upper tail Q(x) = 1 - Φ(x), each accurate in its own tail.
double normalCdf(double x) {
    return 0.5 * std::erfc(-x / kSqrt2);
}
double normalUpper(double x) {
    return 0.5 * std::erfc(x / kSqrt2);
}
double normalLogPdf(double x) {
    return -kLogSqrt2Pi - 0.5 * x * x;
}
double normalPdf(double x) {
    return std::exp(normalLogPdf(x));
}

// log Γ(x); Boost's version, unlike std::lgamma, writes no global (signgam) and so is safe to
// call from several threads.
double logGamma(double x) {
    return boost::math::lgamma(x, QuietPolicy());
}

// log of a Gamma(shape, 1) variate, valid even when the variate underflows (tiny shapes).
double logGammaVariate(RandomStream& rng, double shape) {
    if (shape >= 1.0)
        return std::log(rng.gamma(shape));
    // Gamma(a) = Gamma(a + 1) * U^(1/a) (Marsaglia & Tsang), taken in logs.
    const double u = rng.uniform();
    return std::log(rng.gamma(shape + 1.0)) + std::log(u) / shape;
}

class Univariate : public Distribution {
  public:
    int dimension() const override { return 1; }
    void sample(RandomStream& rng, double* out) const override { *out = draw(rng); }
    double logProb(const double* theta) const override { return logDensity(*theta); }
    Interval support(int) const override { return interval(); }
    std::vector<double> mean() const override { return {firstMoment()}; }
    std::vector<double> variance() const override { return {secondCentralMoment()}; }

  protected:
    virtual double draw(RandomStream& rng) const = 0;
    virtual double logDensity(double x) const = 0;
    virtual Interval interval() const = 0;
    virtual double firstMoment() const = 0;
    virtual double secondCentralMoment() const = 0;
};

class Uniform final : public Univariate {
  public:
    Uniform(double low, double high) : low_(low), high_(high), logDensity_(-std::log(high - low)) {}

    bool isUniformBox() const override { return true; }

  protected:
    double draw(RandomStream& rng) const override {
        // Rounding of low + width * u may land on high; keep the draw inside.
        return std::min(rng.uniform(low_, high_), high_);
    }
    double logDensity(double x) const override {
        return x >= low_ && x <= high_ ? logDensity_ : -kInf;
    }
    Interval interval() const override { return {low_, high_}; }
    double firstMoment() const override { return 0.5 * (low_ + high_); }
    double secondCentralMoment() const override {
        const double w = high_ - low_;
        return w * w / 12.0;
    }

  private:
    double low_, high_, logDensity_;
};

class Normal final : public Univariate {
  public:
    Normal(double mean, double sd) : mean_(mean), sd_(sd), logSd_(std::log(sd)) {}

  protected:
    double draw(RandomStream& rng) const override { return rng.normal(mean_, sd_); }
    double logDensity(double x) const override {
        if (std::isnan(x))
            return -kInf;
        return normalLogPdf((x - mean_) / sd_) - logSd_;
    }
    Interval interval() const override { return {}; }
    double firstMoment() const override { return mean_; }
    double secondCentralMoment() const override { return sd_ * sd_; }

  private:
    double mean_, sd_, logSd_;
};

class LogNormal final : public Univariate {
  public:
    LogNormal(double logMean, double logSd)
        : logMean_(logMean), logSd_(logSd), logLogSd_(std::log(logSd)) {}

  protected:
    double draw(RandomStream& rng) const override { return std::exp(rng.normal(logMean_, logSd_)); }
    double logDensity(double x) const override {
        if (!(x > 0.0))
            return -kInf;
        const double y = std::log(x);
        return normalLogPdf((y - logMean_) / logSd_) - logLogSd_ - y;
    }
    Interval interval() const override { return {0.0, kInf}; }
    double firstMoment() const override { return std::exp(logMean_ + 0.5 * logSd_ * logSd_); }
    double secondCentralMoment() const override {
        const double s2 = logSd_ * logSd_;
        return std::expm1(s2) * std::exp(2.0 * logMean_ + s2);
    }

  private:
    double logMean_, logSd_, logLogSd_;
};

class Gamma final : public Univariate {
  public:
    Gamma(double shape, double rate)
        : shape_(shape), rate_(rate), logNorm_(shape * std::log(rate) - logGamma(shape)) {}

  protected:
    double draw(RandomStream& rng) const override { return rng.gamma(shape_, 1.0 / rate_); }
    double logDensity(double x) const override {
        // +inf is excluded explicitly: (k - 1) log x - rate x would be inf - inf there.
        if (!(x >= 0.0) || std::isinf(x))
            return -kInf;
        return logNorm_ + xlogy(shape_ - 1.0, x) - rate_ * x;
    }
    Interval interval() const override { return {0.0, kInf}; }
    double firstMoment() const override { return shape_ / rate_; }
    double secondCentralMoment() const override { return shape_ / (rate_ * rate_); }

  private:
    double shape_, rate_, logNorm_;
};

class Beta final : public Univariate {
  public:
    Beta(double a, double b)
        : a_(a), b_(b), logNorm_(logGamma(a + b) - logGamma(a) - logGamma(b)) {}

  protected:
    double draw(RandomStream& rng) const override {
        // X / (X + Y) = sigmoid(log X - log Y): no 0/0 when both gamma variates underflow.
        const double logX = logGammaVariate(rng, a_);
        const double logY = logGammaVariate(rng, b_);
        return sigmoid(logX - logY);
    }
    double logDensity(double x) const override {
        if (!(x >= 0.0 && x <= 1.0))
            return -kInf;
        return logNorm_ + xlogy(a_ - 1.0, x) + (b_ == 1.0 ? 0.0 : (b_ - 1.0) * std::log1p(-x));
    }
    Interval interval() const override { return {0.0, 1.0}; }
    double firstMoment() const override { return a_ / (a_ + b_); }
    double secondCentralMoment() const override {
        const double s = a_ + b_;
        return a_ * b_ / (s * s * (s + 1.0));
    }

  private:
    double a_, b_, logNorm_;
};

class Exponential final : public Univariate {
  public:
    explicit Exponential(double rate) : rate_(rate), logRate_(std::log(rate)) {}

  protected:
    double draw(RandomStream& rng) const override { return rng.exponential(rate_); }
    double logDensity(double x) const override { return x >= 0.0 ? logRate_ - rate_ * x : -kInf; }
    Interval interval() const override { return {0.0, kInf}; }
    double firstMoment() const override { return 1.0 / rate_; }
    double secondCentralMoment() const override { return 1.0 / (rate_ * rate_); }

  private:
    double rate_, logRate_;
};

class HalfNormal final : public Univariate {
  public:
    explicit HalfNormal(double scale) : scale_(scale), logScale_(std::log(scale)) {}

  protected:
    double draw(RandomStream& rng) const override { return std::abs(rng.normal()) * scale_; }
    double logDensity(double x) const override {
        if (!(x >= 0.0))
            return -kInf;
        // Twice the normal density on the positive half-line.
        return std::log(2.0) + normalLogPdf(x / scale_) - logScale_;
    }
    Interval interval() const override { return {0.0, kInf}; }
    double firstMoment() const override { return scale_ * std::sqrt(2.0 / kPi); }
    double secondCentralMoment() const override { return scale_ * scale_ * (1.0 - 2.0 / kPi); }

  private:
    double scale_, logScale_;
};

// Normal(mean, sd) restricted to [low, high]. Works on the standardised bounds α, β and always
// in the tail that is nearer, so intervals far from the mean (α = 5, β = 6) keep full precision.
class TruncatedNormal final : public Univariate {
  public:
    TruncatedNormal(double mean, double sd, double low, double high)
        : mean_(mean), sd_(sd), low_(low), high_(high) {
        alpha_ = (low - mean) / sd;
        beta_ = (high - mean) / sd;
        cdfAlpha_ = normalCdf(alpha_);
        upperBeta_ = normalUpper(beta_);
        // Φ(β) - Φ(α) as a difference of the small tail values, never of two numbers near 1.
        if (alpha_ >= 0.0)
            mass_ = normalUpper(alpha_) - upperBeta_;
        else if (beta_ <= 0.0)
            mass_ = normalCdf(beta_) - cdfAlpha_;
        else
            mass_ = 1.0 - cdfAlpha_ - upperBeta_;
        logNorm_ = -std::log(mass_) - std::log(sd);
    }

  protected:
    double draw(RandomStream& rng) const override {
        // Inverse CDF: the target is p = Φ(α) + u Z = 1 - q with q = Q(β) + (1 - u) Z.
        // Inverting whichever of p, q is below 1/2 avoids cancellation in either tail.
        const double u = rng.uniform();
        const double p = cdfAlpha_ + u * mass_;
        const double q = upperBeta_ + (1.0 - u) * mass_;
        const StandardNormal standard;
        const double x = p <= q ? boost::math::quantile(standard, p)
                                : boost::math::quantile(boost::math::complement(standard, q));
        return std::clamp(mean_ + sd_ * x, low_, high_);
    }
    double logDensity(double x) const override {
        if (!(x >= low_ && x <= high_))
            return -kInf;
        return normalLogPdf((x - mean_) / sd_) + logNorm_;
    }
    Interval interval() const override { return {low_, high_}; }
    double firstMoment() const override {
        return mean_ + sd_ * (normalPdf(alpha_) - normalPdf(beta_)) / mass_;
    }
    double secondCentralMoment() const override {
        const double lambda = (normalPdf(alpha_) - normalPdf(beta_)) / mass_;
        const double spread = (alpha_ * normalPdf(alpha_) - beta_ * normalPdf(beta_)) / mass_;
        return sd_ * sd_ * (1.0 + spread - lambda * lambda);
    }

  private:
    double mean_, sd_, low_, high_;
    double alpha_, beta_, cdfAlpha_, upperBeta_, mass_, logNorm_;
};

class BoxUniform final : public Distribution {
  public:
    BoxUniform(std::vector<double> low, std::vector<double> high)
        : low_(std::move(low)), high_(std::move(high)) {
        logDensity_ = 0.0;
        for (std::size_t i = 0; i < low_.size(); ++i)
            logDensity_ -= std::log(high_[i] - low_[i]);
    }

    int dimension() const override { return static_cast<int>(low_.size()); }
    void sample(RandomStream& rng, double* out) const override {
        for (std::size_t i = 0; i < low_.size(); ++i)
            out[i] = std::min(rng.uniform(low_[i], high_[i]), high_[i]);
    }
    bool isUniformBox() const override { return true; }
    double logProb(const double* theta) const override {
        for (std::size_t i = 0; i < low_.size(); ++i)
            if (!(theta[i] >= low_[i] && theta[i] <= high_[i]))
                return -kInf;
        return logDensity_;
    }
    Interval support(int i) const override { return {low_[i], high_[i]}; }
    std::vector<double> mean() const override {
        std::vector<double> m(low_.size());
        for (std::size_t i = 0; i < m.size(); ++i)
            m[i] = 0.5 * (low_[i] + high_[i]);
        return m;
    }
    std::vector<double> variance() const override {
        std::vector<double> v(low_.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            const double w = high_[i] - low_[i];
            v[i] = w * w / 12.0;
        }
        return v;
    }

  private:
    std::vector<double> low_, high_;
    double logDensity_ = 0.0;
};

// Full-covariance normal. Keeps the Cholesky factor of whichever matrix was given, so the
// precision form never inverts anything for logProb or sampling:
//   covariance Σ = L Lᵀ:  x = μ + L n,     whitened w = L⁻¹ (x - μ),  log|Σ| = 2 Σ log L_ii
//   precision  P = L Lᵀ:  x = μ + L⁻ᵀ n,   whitened w = Lᵀ (x - μ),   log|Σ| = -2 Σ log L_ii
class MultivariateNormal final : public Distribution {
  public:
    MultivariateNormal(Eigen::VectorXd mean, const Eigen::MatrixXd& matrix, bool isPrecision)
        : mean_(std::move(mean)), isPrecision_(isPrecision) {
        const Eigen::LLT<Eigen::MatrixXd> llt(matrix);
        factor_ = llt.matrixL();
        const double halfLogDetFactor = factor_.diagonal().array().log().sum();
        const double halfLogDetCovariance = isPrecision ? -halfLogDetFactor : halfLogDetFactor;
        logNorm_ = -double(mean_.size()) * kLogSqrt2Pi - halfLogDetCovariance;
        if (isPrecision) {
            const Eigen::MatrixXd covariance =
                llt.solve(Eigen::MatrixXd::Identity(matrix.rows(), matrix.cols()));
            variance_ = covariance.diagonal();
        } else {
            variance_ = matrix.diagonal();
        }
    }

    int dimension() const override { return static_cast<int>(mean_.size()); }
    void sample(RandomStream& rng, double* out) const override {
        Eigen::VectorXd n(mean_.size());
        for (Eigen::Index i = 0; i < n.size(); ++i)
            n[i] = rng.normal();
        Eigen::Map<Eigen::VectorXd> x(out, mean_.size());
        if (isPrecision_)
            x = mean_ + factor_.transpose().triangularView<Eigen::Upper>().solve(n);
        else
            x = mean_ + factor_.triangularView<Eigen::Lower>() * n;
    }
    double logProb(const double* theta) const override {
        const Eigen::Map<const Eigen::VectorXd> x(theta, mean_.size());
        if (!x.allFinite())
            return -kInf;
        const Eigen::VectorXd d = x - mean_;
        const Eigen::VectorXd w =
            isPrecision_ ? Eigen::VectorXd(factor_.transpose() * d)
                         : Eigen::VectorXd(factor_.triangularView<Eigen::Lower>().solve(d));
        return logNorm_ - 0.5 * w.squaredNorm();
    }
    Interval support(int) const override { return {}; }
    std::vector<double> mean() const override {
        return std::vector<double>(mean_.data(), mean_.data() + mean_.size());
    }
    std::vector<double> variance() const override {
        return std::vector<double>(variance_.data(), variance_.data() + variance_.size());
    }

  private:
    Eigen::VectorXd mean_;
    Eigen::MatrixXd factor_;  // lower-triangular Cholesky factor of covariance or precision
    bool isPrecision_;
    double logNorm_ = 0.0;
    Eigen::VectorXd variance_;
};

Eigen::MatrixXd matrixField(const PriorSpec& spec, const std::string& field) {
    const std::vector<double>& values = spec.values.at(field);
    const auto n = static_cast<Eigen::Index>(spec.dimension());
    Eigen::MatrixXd m =
        Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
            values.data(), n, n);
    // Validation allowed rounding-level asymmetry; average it away so LLT sees one matrix.
    return 0.5 * (m + m.transpose());
}

}  // namespace

// --- Bijection -----------------------------------------------------------------------------
// Per coordinate, from the support:  R: θ = z;  (a, ∞): θ = a + e^z;  (-∞, b): θ = b - e^z;
// (a, b): θ = a + (b - a) sigmoid(z).

void Distribution::toUnconstrained(const double* theta, double* z) const {
    for (int i = 0, d = dimension(); i < d; ++i) {
        const Interval s = support(i);
        const bool hasLower = std::isfinite(s.lower), hasUpper = std::isfinite(s.upper);
        double value;
        if (hasLower && hasUpper)
            // logit((θ - a) / (b - a)) from the two distances, each exact near its own bound.
            value = std::log(theta[i] - s.lower) - std::log(s.upper - theta[i]);
        else if (hasLower)
            value = std::log(theta[i] - s.lower);
        else if (hasUpper)
            value = std::log(s.upper - theta[i]);
        else
            value = theta[i];
        // θ on a bound maps to a large finite z, so estimators never see infinities.
        if (hasLower || hasUpper)
            value = std::clamp(value, kMinLog, -kMinLog);
        z[i] = value;
    }
}

void Distribution::fromUnconstrained(const double* z, double* theta) const {
    for (int i = 0, d = dimension(); i < d; ++i) {
        const Interval s = support(i);
        const bool hasLower = std::isfinite(s.lower), hasUpper = std::isfinite(s.upper);
        if (hasLower && hasUpper) {
            // Measure from the nearer bound so sigmoid's small side keeps its precision.
            const double width = s.upper - s.lower;
            const double value =
                z[i] < 0.0 ? s.lower + width * sigmoid(z[i]) : s.upper - width * sigmoid(-z[i]);
            theta[i] = std::clamp(value, s.lower, s.upper);
        } else if (hasLower) {
            theta[i] = s.lower + std::exp(std::min(z[i], kMaxExpArgument));
        } else if (hasUpper) {
            theta[i] = s.upper - std::exp(std::min(z[i], kMaxExpArgument));
        } else {
            theta[i] = z[i];
        }
    }
}

double Distribution::logAbsDetJacobian(const double* z) const {
    double sum = 0.0;
    for (int i = 0, d = dimension(); i < d; ++i) {
        const Interval s = support(i);
        const bool hasLower = std::isfinite(s.lower), hasUpper = std::isfinite(s.upper);
        if (hasLower && hasUpper)
            // log((b - a) σ(z) σ(-z)) = log(b - a) - softplus(-z) - softplus(z).
            sum += std::log(s.upper - s.lower) - softplus(-z[i]) - softplus(z[i]);
        else if (hasLower || hasUpper)
            sum += z[i];
    }
    return sum;
}

bool Distribution::inSupport(const double* theta) const {
    for (int i = 0, d = dimension(); i < d; ++i)
        if (!support(i).contains(theta[i]))
            return false;
    return true;
}

std::unique_ptr<Distribution> makeDistribution(const PriorSpec& spec) {
    throwIfProblems(spec.validate());
    const std::string& f = spec.family;
    auto s = [&](const char* field) { return spec.scalar(field); };
    if (f == "uniform")
        return std::make_unique<Uniform>(s("low"), s("high"));
    if (f == "normal")
        return std::make_unique<Normal>(s("mean"), s("std"));
    if (f == "lognormal")
        return std::make_unique<LogNormal>(s("log_mean"), s("log_std"));
    if (f == "gamma")
        return std::make_unique<Gamma>(s("shape"), s("rate"));
    if (f == "beta")
        return std::make_unique<Beta>(s("alpha"), s("beta"));
    if (f == "exponential")
        return std::make_unique<Exponential>(s("rate"));
    if (f == "half_normal")
        return std::make_unique<HalfNormal>(s("scale"));
    if (f == "truncated_normal")
        return std::make_unique<TruncatedNormal>(s("mean"), s("std"), s("low"), s("high"));
    if (f == "box_uniform")
        return std::make_unique<BoxUniform>(spec.values.at("low"), spec.values.at("high"));
    if (f == "multivariate_normal") {
        const std::vector<double>& mean = spec.values.at("mean");
        const bool isPrecision = spec.has("precision");
        return std::make_unique<MultivariateNormal>(
            Eigen::Map<const Eigen::VectorXd>(mean.data(), Eigen::Index(mean.size())),
            matrixField(spec, isPrecision ? "precision" : "covariance"), isPrecision);
    }
    // validate() knows every family in priorFamilies(); reaching here means the two disagree.
    throw SettingsError({{"family", "prior family '" + f + "' has no implementation"}});
}

}  // namespace sbiw
