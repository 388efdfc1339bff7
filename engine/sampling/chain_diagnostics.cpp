#include "sampling/chain_diagnostics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include <boost/math/special_functions/erf.hpp>

namespace sbiw {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// series[c][i]: draw i of (split) chain c, one parameter.
using Series = std::vector<std::vector<double>>;

void checkChains(const std::vector<Matrix>& chains, const char* what) {
    if (chains.empty())
        throw std::invalid_argument(std::string(what) + ": no chains");
    for (std::size_t c = 1; c < chains.size(); ++c)
        if (chains[c].rows() != chains[0].rows() || chains[c].cols() != chains[0].cols())
            throw std::invalid_argument(
                std::string(what) + ": chain " + std::to_string(c) + " has " +
                std::to_string(chains[c].rows()) + " x " + std::to_string(chains[c].cols()) +
                " draws but chain 0 has " + std::to_string(chains[0].rows()) + " x " +
                std::to_string(chains[0].cols()));
}

// The first and the last half of every chain, as separate chains; the middle draw of an odd
// length is dropped. Splitting lets R-hat notice a chain that drifts (its halves disagree).
Series splitHalves(const std::vector<Matrix>& chains, Eigen::Index column) {
    const Eigen::Index n = chains[0].rows(), half = n / 2;
    Series halves;
    halves.reserve(2 * chains.size());
    for (const Matrix& chain : chains) {
        std::vector<double> first(static_cast<std::size_t>(half)), second(first.size());
        for (Eigen::Index i = 0; i < half; ++i) {
            first[std::size_t(i)] = chain(i, column);
            second[std::size_t(i)] = chain(n - half + i, column);
        }
        halves.push_back(std::move(first));
        halves.push_back(std::move(second));
    }
    return halves;
}

double mean(const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

// sqrt(var+ / W) with W the mean within-chain variance and var+ = (n-1)/n W + var(chain means).
double rhatOf(const Series& series) {
    const std::size_t chains = series.size(), n = series[0].size();
    if (n < 2)
        return kNaN;
    std::vector<double> means(chains);
    double within = 0.0;
    for (std::size_t c = 0; c < chains; ++c) {
        means[c] = mean(series[c]);
        double squares = 0.0;
        for (double v : series[c])
            squares += (v - means[c]) * (v - means[c]);
        within += squares / double(n - 1);
    }
    within /= double(chains);
    if (!(within > 0.0) || !std::isfinite(within))
        return kNaN;
    double between = 0.0;  // variance of the chain means (B / n in BDA's notation)
    if (chains > 1) {
        const double grand = mean(means);
        for (double m : means)
            between += (m - grand) * (m - grand);
        between /= double(chains - 1);
    }
    const double varPlus = double(n - 1) / double(n) * within + between;
    return std::sqrt(varPlus / within);
}

// Replaces every draw by the normal score of its rank among all draws of all chains:
// Φ⁻¹((rank - 3/8) / (S + 1/4)), with tied draws sharing their average rank (Blom's offsets,
// as in Vehtari et al.).
Series rankNormalise(const Series& series) {
    std::vector<double> pooled;
    for (const auto& chain : series)
        pooled.insert(pooled.end(), chain.begin(), chain.end());
    const std::size_t total = pooled.size();
    std::vector<std::size_t> order(total);
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return pooled[a] < pooled[b]; });
    std::vector<double> score(total);
    for (std::size_t i = 0; i < total;) {
        std::size_t j = i + 1;
        while (j < total && pooled[order[j]] == pooled[order[i]])
            ++j;
        const double rank = 0.5 * double(i + 1 + j);  // average of the 1-based ranks i+1 .. j
        const double p = (rank - 0.375) / (double(total) + 0.25);
        const double z = std::sqrt(2.0) * boost::math::erf_inv(2.0 * p - 1.0);
        for (std::size_t k = i; k < j; ++k)
            score[order[k]] = z;
        i = j;
    }
    Series out = series;
    std::size_t at = 0;
    for (auto& chain : out)
        for (double& v : chain)
            v = score[at++];
    return out;
}

// |draw - median of all draws|: rank-normalised, its R-hat compares the chains' scales.
Series foldAroundMedian(const Series& series) {
    std::vector<double> pooled;
    for (const auto& chain : series)
        pooled.insert(pooled.end(), chain.begin(), chain.end());
    const std::size_t mid = pooled.size() / 2;
    std::nth_element(pooled.begin(), pooled.begin() + std::ptrdiff_t(mid), pooled.end());
    double median = pooled[mid];
    if (pooled.size() % 2 == 0) {
        const double below =
            *std::max_element(pooled.begin(), pooled.begin() + std::ptrdiff_t(mid));
        median = 0.5 * (median + below);
    }
    Series out = series;
    for (auto& chain : out)
        for (double& v : chain)
            v = std::abs(v - median);
    return out;
}

bool anyNonFinite(const Series& series) {
    for (const auto& chain : series)
        for (double v : chain)
            if (!std::isfinite(v))
                return true;
    return false;
}

// Effective sample size of draws combined over chains (Stan's estimator): autocorrelations
// ρ_t = 1 - (W - mean autocovariance at lag t) / var+, summed in pairs (ρ_2k + ρ_2k+1) while the
// pairs stay positive and made non-increasing (Geyer's initial monotone sequence).
double essOf(const Series& series) {
    const std::size_t chains = series.size(), n = series[0].size();
    if (n < 4)
        return kNaN;
    std::vector<double> means(chains);
    for (std::size_t c = 0; c < chains; ++c)
        means[c] = mean(series[c]);
    // Mean over chains of the biased (1/n) autocovariance at lag t.
    auto autocovariance = [&](std::size_t lag) {
        double sum = 0.0;
        for (std::size_t c = 0; c < chains; ++c) {
            const std::vector<double>& x = series[c];
            double s = 0.0;
            for (std::size_t i = 0; i + lag < n; ++i)
                s += (x[i] - means[c]) * (x[i + lag] - means[c]);
            sum += s / double(n);
        }
        return sum / double(chains);
    };
    const double within = autocovariance(0) * double(n) / double(n - 1);
    double betweenMeans = 0.0;
    if (chains > 1) {
        const double grand = mean(means);
        for (double m : means)
            betweenMeans += (m - grand) * (m - grand);
        betweenMeans /= double(chains - 1);
    }
    const double varPlus = within * double(n - 1) / double(n) + betweenMeans;
    if (!(varPlus > 0.0) || !std::isfinite(varPlus))
        return kNaN;
    auto rho = [&](std::size_t lag) { return 1.0 - (within - autocovariance(lag)) / varPlus; };

    double pairSum = 0.0, previousPair = std::numeric_limits<double>::infinity();
    double tail = 0.0;
    for (std::size_t t = 0; t + 1 < n - 2; t += 2) {
        const double even = t == 0 ? 1.0 : rho(t);
        double pair = even + rho(t + 1);
        if (pair < 0.0) {
            tail = std::max(even, 0.0);  // the last positive even term counts once, as in Stan
            break;
        }
        pair = std::min(pair, previousPair);
        pairSum += pair;
        previousPair = pair;
    }
    const double draws = double(chains * n);
    double tau = -1.0 + 2.0 * pairSum + tail;
    tau = std::max(tau, 1.0 / std::log10(draws));
    return draws / tau;
}

}  // namespace

Vector splitRhat(const std::vector<Matrix>& chains, RhatKind kind) {
    checkChains(chains, "splitRhat");
    const Eigen::Index parameters = chains[0].cols();
    Vector out = Vector::Constant(parameters, kNaN);
    if (chains[0].rows() < 4)
        return out;
    for (Eigen::Index p = 0; p < parameters; ++p) {
        const Series halves = splitHalves(chains, p);
        if (anyNonFinite(halves))
            continue;
        if (kind == RhatKind::Plain) {
            out[p] = rhatOf(halves);
        } else {
            const double bulk = rhatOf(rankNormalise(halves));
            const double tail = rhatOf(rankNormalise(foldAroundMedian(halves)));
            out[p] = std::isnan(bulk) || std::isnan(tail) ? kNaN : std::max(bulk, tail);
        }
    }
    return out;
}

Vector effectiveSampleSize(const std::vector<Matrix>& chains) {
    checkChains(chains, "effectiveSampleSize");
    const Eigen::Index parameters = chains[0].cols();
    Vector out = Vector::Constant(parameters, kNaN);
    if (chains[0].rows() < 8)
        return out;  // halves need at least 4 draws
    for (Eigen::Index p = 0; p < parameters; ++p) {
        const Series halves = splitHalves(chains, p);
        if (anyNonFinite(halves))
            continue;
        out[p] = essOf(rankNormalise(halves));
    }
    return out;
}

}  // namespace sbiw
