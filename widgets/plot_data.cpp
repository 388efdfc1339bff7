#include "widgets/plot_data.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <memory>

#include "priors/distribution.h"

namespace sbiw::widgets {

int bestLossIndex(const std::vector<LossPoint>& history) {
    for (int i = static_cast<int>(history.size()) - 1; i >= 0; --i)
        if (history[std::size_t(i)].improved && std::isfinite(history[std::size_t(i)].validation))
            return i;
    int best = -1;
    for (std::size_t i = 0; i < history.size(); ++i) {
        const double v = history[i].validation;
        if (std::isfinite(v) && (best < 0 || v < history[std::size_t(best)].validation))
            best = static_cast<int>(i);
    }
    return best;
}

std::pair<double, double> finiteRange(const std::vector<double>& values) {
    double low = std::numeric_limits<double>::infinity();
    double high = -std::numeric_limits<double>::infinity();
    for (double v : values)
        if (std::isfinite(v)) {
            low = std::min(low, v);
            high = std::max(high, v);
        }
    return {low, high};
}

std::pair<double, double> paddedRange(std::pair<double, double> range, double padding) {
    auto [low, high] = range;
    if (!(std::isfinite(low) && std::isfinite(high)) || low > high)
        return {0.0, 1.0};
    if (high == low)
        return {low - 1.0, high + 1.0};
    const double margin = padding * (high - low);
    return {low - margin, high + margin};
}

Matrix columnQuantiles(const Matrix& samples, const std::vector<double>& probabilities) {
    Matrix quantiles(Eigen::Index(probabilities.size()), samples.cols());
    std::vector<double> column;
    for (Eigen::Index j = 0; j < samples.cols(); ++j) {
        column.clear();
        for (Eigen::Index r = 0; r < samples.rows(); ++r)
            if (std::isfinite(samples(r, j)))
                column.push_back(samples(r, j));
        std::sort(column.begin(), column.end());
        for (std::size_t k = 0; k < probabilities.size(); ++k) {
            if (column.empty()) {
                quantiles(Eigen::Index(k), j) = std::numeric_limits<double>::quiet_NaN();
                continue;
            }
            const double position =
                std::clamp(probabilities[k], 0.0, 1.0) * double(column.size() - 1);
            const auto below = static_cast<std::size_t>(std::floor(position));
            const std::size_t above = std::min(below + 1, column.size() - 1);
            quantiles(Eigen::Index(k), j) =
                column[below] + (position - double(below)) * (column[above] - column[below]);
        }
    }
    return quantiles;
}

double kolmogorovCriticalValue(double confidence) {
    // P(K > c) = 2 sum_k (-1)^(k-1) exp(-2 k^2 c^2) falls monotonically in c: bisect.
    auto tail = [](double c) {
        double sum = 0.0, sign = 1.0;
        for (int k = 1; k <= 100; ++k, sign = -sign)
            sum += 2.0 * sign * std::exp(-2.0 * k * k * c * c);
        return sum;
    };
    const double target = 1.0 - std::clamp(confidence, 1e-6, 1.0 - 1e-12);
    double low = 0.2, high = 5.0;
    for (int iteration = 0; iteration < 100; ++iteration) {
        const double middle = 0.5 * (low + high);
        (tail(middle) > target ? low : high) = middle;
    }
    return 0.5 * (low + high);
}

PriorCurve priorDensityCurve(const PriorSpec& spec, int component, int points) {
    PriorCurve curve;
    const Problems problems = spec.validate();
    if (!problems.empty()) {
        curve.message = problems.front().toString();
        return curve;
    }
    std::unique_ptr<Distribution> distribution;
    try {
        distribution = makeDistribution(spec);
    } catch (const std::exception& error) {
        curve.message = error.what();
        return curve;
    }
    const int dimension = distribution->dimension();
    if (component < 0 || component >= dimension) {
        curve.message = "the prior has no component " + std::to_string(component + 1);
        return curve;
    }
    const Interval support = distribution->support(component);
    const double mean = distribution->mean()[std::size_t(component)];
    const double sd = std::sqrt(distribution->variance()[std::size_t(component)]);
    curve.lower = support.lower;
    curve.upper = support.upper;

    // Marginal densities of the multivariate families: each coordinate of a box uniform is
    // uniform, each of a multivariate normal normal with its mean and variance.
    std::function<double(double)> density;
    if (dimension == 1) {
        density = [&](double x) { return std::exp(distribution->logProb(&x)); };
    } else if (spec.family == "box_uniform") {
        const double height = 1.0 / (support.upper - support.lower);
        density = [=](double x) { return support.contains(x) ? height : 0.0; };
    } else if (spec.family == "multivariate_normal") {
        density = [=](double x) {
            const double z = (x - mean) / sd;
            return std::exp(-0.5 * z * z) / (sd * std::sqrt(2.0 * 3.14159265358979323846));
        };
    } else {
        curve.message = "no marginal density for the family '" + spec.family + "'";
        return curve;
    }

    double low, high;
    if (support.isBounded()) {
        const double margin = 0.05 * (support.upper - support.lower);
        low = support.lower - margin;
        high = support.upper + margin;
    } else {
        low = std::max(support.lower, mean - 4.0 * sd);
        high = std::min(support.upper, mean + 4.0 * sd);
    }
    if (!(std::isfinite(low) && std::isfinite(high) && low < high)) {
        curve.message = "the prior's spread cannot be shown (mean or variance not finite)";
        return curve;
    }
    points = std::max(points, 2);
    for (int k = 0; k < points; ++k) {
        const double x = low + (high - low) * double(k) / double(points - 1);
        const double value = density(x);
        curve.x.push_back(x);
        curve.density.push_back(std::isfinite(value) ? value
                                                     : std::numeric_limits<double>::quiet_NaN());
    }
    curve.valid = true;
    return curve;
}

}  // namespace sbiw::widgets
