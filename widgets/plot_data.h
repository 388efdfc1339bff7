#pragma once
// The numbers behind the small plots, free of Qt so that they are tested against known answers
// on their own: best epochs and value ranges of loss curves, quantile bands of predictive
// samples, and the density curve of one prior.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/matrix.h"
#include "priors/prior_spec.h"

namespace sbiw::widgets {

struct LossPoint {
    int epoch = 0;  // x position: epochs counted over all rounds
    double train = 0.0;
    double validation = 0.0;
    bool improved = false;  // the validation loss improved on the best so far
};

// Index of the best epoch: the last one flagged `improved`, else the lowest finite validation
// loss, else -1.
int bestLossIndex(const std::vector<LossPoint>& history);

// Smallest and largest finite value in `values` (first > second when there are none).
std::pair<double, double> finiteRange(const std::vector<double>& values);

// The range [low, high] widened by `padding` of its width on each side; an empty or degenerate
// range becomes [value - 1, value + 1] (or [0, 1] when empty).
std::pair<double, double> paddedRange(std::pair<double, double> range, double padding = 0.05);

// Quantiles (linear between order statistics, like NumPy's default) of every column of
// `samples`, non-finite values skipped: row k holds probability k for every column (NaN for a
// column without finite values).
Matrix columnQuantiles(const Matrix& samples, const std::vector<double>& probabilities);

// Kolmogorov's limiting critical value c with P(sup |F_n - F| > c / sqrt(n)) = 1 - confidence
// (1.358 for 95%, 1.628 for 99%): the half-width of a simultaneous band around a CDF.
double kolmogorovCriticalValue(double confidence);

// Whether a data vector of this length reads better as a line (a time series or spectrum) than
// as bars or markers.
inline bool drawAsSeries(std::size_t length) {
    return length >= 32;
}

// Density of one parameter under a prior block: the family's density for univariate families,
// the marginal of `component` for box_uniform and multivariate_normal.
struct PriorCurve {
    bool valid = false;
    std::string message;              // why not valid, in words (the first problem of the spec)
    std::vector<double> x, density;   // density is NaN where it is infinite (e.g. gamma k < 1 at 0)
    double lower = 0.0, upper = 0.0;  // support of the component (may be infinite)
};

// `points` values over the support when it is bounded (5% beyond each end, so the edges show),
// else over mean +- 4 standard deviations clipped to the support.
PriorCurve priorDensityCurve(const PriorSpec& spec, int component = 0, int points = 241);

}  // namespace sbiw::widgets
