#pragma once
// Prior distributions: sampling, log-density, support and a bijection to unconstrained space.
//
// The bijection lets estimators work in R^d while posterior samples never leave the support:
// θ = fromUnconstrained(z), and log p_θ(θ) = log p_z(z) - logAbsDetJacobian(z), where
// logAbsDetJacobian(z) = log |det dθ/dz|.

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "priors/prior_spec.h"

namespace sbiw {

struct Interval {
    double lower = -std::numeric_limits<double>::infinity();
    double upper = std::numeric_limits<double>::infinity();
    bool contains(double value) const { return value >= lower && value <= upper; }
    bool isBounded() const { return std::isfinite(lower) && std::isfinite(upper); }
};

class Distribution {
  public:
    virtual ~Distribution() = default;

    virtual int dimension() const = 0;
    // Writes one draw (dimension() values) to `out`.
    virtual void sample(RandomStream& rng, double* out) const = 0;
    // Log-density at `theta` (dimension() values); -infinity outside the support.
    virtual double logProb(const double* theta) const = 0;
    // Support of coordinate i (a box; every family here has a box-shaped support).
    virtual Interval support(int i) const = 0;
    // Analytic moments, used by tests and by the GUI's prior summary.
    virtual std::vector<double> mean() const = 0;
    virtual std::vector<double> variance() const = 0;
    // True when sample() draws each coordinate i as min(low + (high - low) * rng.uniform(),
    // high) with [low, high] = support(i), one uniform() per coordinate in order (uniform,
    // box_uniform): JointPrior then draws whole batches without a call per row.
    virtual bool isUniformBox() const { return false; }

    // Bijection to R^dimension(): per-coordinate transforms chosen from the support
    // (identity on R, log on (a, inf), scaled logit on (a, b)).
    void toUnconstrained(const double* theta, double* z) const;
    void fromUnconstrained(const double* z, double* theta) const;
    // log |det dθ/dz| at z.
    double logAbsDetJacobian(const double* z) const;

    bool inSupport(const double* theta) const;
};

// Throws SettingsError (naming the field) when the spec is invalid.
std::unique_ptr<Distribution> makeDistribution(const PriorSpec& spec);

}  // namespace sbiw
