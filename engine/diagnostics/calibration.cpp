#include "diagnostics/calibration.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/math/distributions/binomial.hpp>
#include <boost/math/special_functions/erf.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include "core/random.h"
#include "priors/joint_prior.h"
#include "simulators/simulator.h"

namespace sbiw {

namespace {

// Streams under StreamPurpose::Diagnostics. Per-row streams use the row index plus a base far
// apart from the others (and from c2st's 0xC257...), so switching one diagnostic off changes
// none of the others' draws.
constexpr std::uint64_t kPosteriorSeedStream = 0;  // + row: the seed passed to sample()
constexpr std::uint64_t kTarpReferenceStream = 0x7A49'0000'0000'0000ULL;  // + row
constexpr std::uint64_t kSbcTieStream = 0x7A49'1000'0000'0000ULL;         // + row
constexpr std::uint64_t kCoverageTieStream = 0x7A49'2000'0000'0000ULL;    // + row
constexpr std::uint64_t kTarpTieStream = 0x7A49'3000'0000'0000ULL;        // + row
constexpr std::uint64_t kCalibrationSetStream = 0xCA11'B000'0000'0000ULL;
constexpr std::uint64_t kPredictiveStream = 0x99C0'0000'0000'0000ULL;

std::string format(const char* pattern, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* pattern, ...) {
    char buffer[512];
    va_list args;
    va_start(args, pattern);
    std::vsnprintf(buffer, sizeof buffer, pattern, args);
    va_end(args);
    return buffer;
}

bool isProbability(double p) {
    return std::isfinite(p) && p > 0.0 && p < 1.0;
}

// z with P(|Z| > z) = level for a standard normal Z.
double twoSidedNormalQuantile(double level) {
    return std::sqrt(2.0) * boost::math::erfc_inv(level);
}

double twoSidedNormalPValue(double z) {
    return std::erfc(std::abs(z) / std::sqrt(2.0));
}

// Kolmogorov's limiting distribution: P(sqrt(n) D > lambda). Two series, each fast where the
// other is slow.
double kolmogorovTail(double lambda) {
    if (!(lambda > 0.0))
        return 1.0;
    constexpr double pi = 3.14159265358979323846;
    double tail;
    if (lambda < 1.18) {
        double sum = 0.0;
        for (int j = 1; j <= 20; ++j) {
            const double k = 2.0 * j - 1.0;
            sum += std::exp(-k * k * pi * pi / (8.0 * lambda * lambda));
        }
        tail = 1.0 - std::sqrt(2.0 * pi) / lambda * sum;
    } else {
        tail = 0.0;
        double sign = 1.0;
        for (int k = 1; k <= 100; ++k, sign = -sign) {
            const double term = std::exp(-2.0 * k * k * lambda * lambda);
            tail += 2.0 * sign * term;
            if (term < 1e-300)
                break;
        }
    }
    return std::clamp(tail, 0.0, 1.0);
}

std::string nameOf(const std::vector<std::string>& names, std::size_t index, const char* kind) {
    if (index < names.size())
        return names[index];
    return std::string(kind) + " " + std::to_string(index + 1);
}

// "a, b, c" for at most `shown` entries, then ", ...".
std::string listOf(const std::vector<std::string>& items, std::size_t shown = 5) {
    std::string text;
    for (std::size_t i = 0; i < items.size() && i < shown; ++i)
        text += (i ? ", " : "") + items[i];
    if (items.size() > shown)
        text += ", ...";
    return text;
}

void checkRanks(const std::int64_t* begin, const std::int64_t* end, std::int64_t posteriorSamples,
                const char* what) {
    if (begin == end)
        throw std::invalid_argument(std::string(what) + ": no ranks to judge");
    if (posteriorSamples < 1)
        throw std::invalid_argument(std::string(what) + ": posteriorSamples must be at least 1");
    for (const std::int64_t* r = begin; r != end; ++r)
        if (*r < 0 || *r > posteriorSamples)
            throw std::invalid_argument(std::string(what) + ": rank " + std::to_string(*r) +
                                        " lies outside 0.." + std::to_string(posteriorSamples));
}

// How often each value 0..L occurs.
std::vector<std::int64_t> valueCounts(const std::vector<std::int64_t>& ranks, std::int64_t L) {
    std::vector<std::int64_t> counts(static_cast<std::size_t>(L + 1), 0);
    for (std::int64_t r : ranks)
        ++counts[static_cast<std::size_t>(r)];
    return counts;
}

// Adds a uniformly random share of the ties to `below`, so that ties (a discrete posterior, or
// duplicated MCMC samples) keep the rank uniform instead of piling up at one end.
std::int64_t splitTies(std::int64_t below, std::int64_t ties, std::uint64_t seed,
                       std::uint64_t stream) {
    if (ties == 0)
        return below;
    RandomStream rng(seed, StreamPurpose::Diagnostics, stream);
    return below + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(ties) + 1));
}

}  // namespace

const char* verdictName(CalibrationVerdict verdict) {
    switch (verdict) {
        case CalibrationVerdict::Calibrated:
            return "calibrated";
        case CalibrationVerdict::OverConfident:
            return "over-confident";
        case CalibrationVerdict::UnderConfident:
            return "under-confident";
        case CalibrationVerdict::BiasedHigh:
            return "biased high";
        case CalibrationVerdict::BiasedLow:
            return "biased low";
        case CalibrationVerdict::Miscalibrated:
            return "miscalibrated";
    }
    return "unknown";
}

const char* verdictName(PredictiveVerdict verdict) {
    return verdict == PredictiveVerdict::Consistent ? "consistent" : "atypical";
}

// ---- statistics ----

std::int64_t binomialQuantile(std::int64_t trials, double successProbability, double probability) {
    if (trials < 0)
        throw std::invalid_argument("binomialQuantile: trials must not be negative");
    if (!(successProbability >= 0.0 && successProbability <= 1.0))
        throw std::invalid_argument("binomialQuantile: success probability must lie in [0, 1]");
    if (!(probability >= 0.0 && probability <= 1.0))
        throw std::invalid_argument("binomialQuantile: probability must lie in [0, 1]");
    if (trials == 0 || successProbability == 0.0)
        return 0;
    if (successProbability == 1.0)
        return trials;
    // The CDF comes from the regularised incomplete beta function (exact to rounding); bisect
    // for the smallest k that reaches the probability.
    const boost::math::binomial_distribution<double> distribution(static_cast<double>(trials),
                                                                  successProbability);
    std::int64_t low = 0, high = trials;  // cdf(high) = 1 >= probability
    while (low < high) {
        const std::int64_t middle = low + (high - low) / 2;
        if (boost::math::cdf(distribution, static_cast<double>(middle)) >= probability)
            high = middle;
        else
            low = middle + 1;
    }
    return low;
}

CountBand binomialBand(std::int64_t trials, double successProbability, double confidence) {
    if (!isProbability(confidence))
        throw std::invalid_argument("binomialBand: confidence must lie in (0, 1)");
    const double tail = 0.5 * (1.0 - confidence);
    return {binomialQuantile(trials, successProbability, tail),
            binomialQuantile(trials, successProbability, 1.0 - tail)};
}

double chiSquarePValue(double statistic, int degreesOfFreedom) {
    if (degreesOfFreedom < 1)
        throw std::invalid_argument("chiSquarePValue: degrees of freedom must be at least 1");
    if (std::isnan(statistic))
        return std::numeric_limits<double>::quiet_NaN();
    if (statistic <= 0.0)
        return 1.0;
    if (std::isinf(statistic))
        return 0.0;
    return boost::math::gamma_q(0.5 * degreesOfFreedom, 0.5 * statistic);
}

KsTest ksDiscreteUniform(const std::vector<std::int64_t>& counts) {
    if (counts.empty())
        throw std::invalid_argument("ksDiscreteUniform: no values");
    std::int64_t n = 0;
    for (std::int64_t c : counts) {
        if (c < 0)
            throw std::invalid_argument("ksDiscreteUniform: negative count");
        n += c;
    }
    if (n == 0)
        throw std::invalid_argument("ksDiscreteUniform: no values");
    // Both CDFs are step functions jumping at the same points, so the largest gap is at one
    // of the support points.
    const double values = static_cast<double>(counts.size());
    KsTest test;
    std::int64_t cumulative = 0;
    for (std::size_t k = 0; k < counts.size(); ++k) {
        cumulative += counts[k];
        const double gap = std::abs(double(cumulative) / double(n) - double(k + 1) / values);
        test.distance = std::max(test.distance, gap);
    }
    const double root = std::sqrt(static_cast<double>(n));
    test.pValue = kolmogorovTail((root + 0.12 + 0.11 / root) * test.distance);
    return test;
}

// ---- settings ----

Problems SbcSettings::validate() const {
    Problems problems;
    if (bins < 2)
        problems.push_back({"bins", "must be at least 2"});
    if (!isProbability(bandConfidence))
        problems.push_back({"bandConfidence", "must lie strictly between 0 and 1"});
    if (!isProbability(significance))
        problems.push_back({"significance", "must lie strictly between 0 and 1"});
    return problems;
}

Problems CoverageSettings::validate() const {
    Problems problems;
    if (levelCount < 1)
        problems.push_back({"levelCount", "must be at least 1"});
    if (!isProbability(bandConfidence))
        problems.push_back({"bandConfidence", "must lie strictly between 0 and 1"});
    return problems;
}

Problems TarpSettings::validate() const {
    Problems problems;
    if (levelCount < 2)
        problems.push_back({"levelCount", "must be at least 2"});
    if (!isProbability(significance))
        problems.push_back({"significance", "must lie strictly between 0 and 1"});
    return problems;
}

Problems CalibrationSettings::validate() const {
    Problems problems;
    if (posteriorSamples < 1)
        problems.push_back({"posteriorSamples", "must be at least 1"});
    if (threads < 0)
        problems.push_back({"threads", "must be 0 (all cores) or positive"});
    if (!runSbc && !runCoverage && !runTarp)
        problems.push_back({"runSbc",
                            "at least one of runSbc, runCoverage and runTarp must be "
                            "set"});
    appendProblems(problems, sbc.validate(), "sbc");
    if (posteriorSamples >= 1 && sbc.bins > posteriorSamples + 1)
        problems.push_back({"sbc.bins", "must not exceed posteriorSamples + 1 = " +
                                            std::to_string(posteriorSamples + 1) +
                                            ", the number of distinct ranks"});
    appendProblems(problems, coverage.validate(), "coverage");
    appendProblems(problems, tarp.validate(), "tarp");
    return problems;
}

Problems PredictiveCheckSettings::validate() const {
    Problems problems;
    if (posteriorSamples < 2)
        problems.push_back({"posteriorSamples", "must be at least 2"});
    if (threads < 0)
        problems.push_back({"threads", "must be 0 (all cores) or positive"});
    if (!isProbability(intervalLevel))
        problems.push_back({"intervalLevel", "must lie strictly between 0 and 1"});
    if (!isProbability(significance)) {
        problems.push_back({"significance", "must lie strictly between 0 and 1"});
    } else if (posteriorSamples >= 2 && significance * double(posteriorSamples + 1) < 1.0) {
        problems.push_back(
            {"significance",
             format("must be at least 1 / (posteriorSamples + 1) = %.3g: %lld "
                    "predictions cannot give a smaller p-value",
                    1.0 / double(posteriorSamples + 1), static_cast<long long>(posteriorSamples))});
    }
    return problems;
}

// ---- compute ----

SimulationBatch simulateCalibrationSet(const JointPrior& prior, const Simulator& simulator,
                                       std::int64_t count, std::uint64_t seed, int threads,
                                       const LoopControl& control) {
    SimulationOptions options;
    options.seed = RandomStream(seed, StreamPurpose::Diagnostics, kCalibrationSetStream).nextBits();
    options.threads = threads;
    return simulateFromPrior(prior, simulator, count, options, control);
}

CalibrationRanks computeCalibrationRanks(const Matrix& theta, const Matrix& x,
                                         const PosteriorAccess& posterior,
                                         const CalibrationSettings& settings,
                                         const LoopControl& control) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    throwIfProblems(settings.validate());
    if (theta.rows() != x.rows())
        throw std::invalid_argument("calibration: " + std::to_string(theta.rows()) +
                                    " parameter rows but " + std::to_string(x.rows()) +
                                    " data rows");
    if (theta.cols() == 0 || x.cols() == 0)
        throw std::invalid_argument("calibration: the parameters or the data have no columns");
    if (!posterior.sample)
        throw std::invalid_argument(
            "calibration: the posterior cannot be sampled (no sample "
            "function)");
    if (settings.runCoverage && !posterior.logProb)
        throw std::invalid_argument(
            "calibration: expected coverage needs the posterior's log "
            "density (PosteriorAccess::logProb)");
    if (!settings.parameterNames.empty() &&
        settings.parameterNames.size() != static_cast<std::size_t>(theta.cols()))
        throw std::invalid_argument(
            "calibration: " + std::to_string(settings.parameterNames.size()) +
            " parameter names for " + std::to_string(theta.cols()) + " parameters");
    for (Eigen::Index r = 0; r < theta.rows(); ++r)
        if (!theta.row(r).allFinite())
            throw std::invalid_argument(
                "calibration: the parameters have a non-finite value in "
                "row " +
                std::to_string(r));

    const std::int64_t L = settings.posteriorSamples;
    const Eigen::Index d = theta.cols();
    CalibrationRanks ranks;
    ranks.posteriorSamples = L;
    // Rows with non-finite data have no posterior to ask; the caller sees how many were left out.
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
        if (x.row(r).allFinite())
            ranks.rows.push_back(r);
        else
            ++ranks.skippedRows;
    }
    const auto n = static_cast<std::int64_t>(ranks.rows.size());
    if (settings.runSbc)
        ranks.sbc.resize(n, d);
    if (settings.runCoverage)
        ranks.coverage.assign(static_cast<std::size_t>(n), 0);
    if (settings.runTarp)
        ranks.tarp.assign(static_cast<std::size_t>(n), 0);

    // TARP draws its reference points uniformly over the box spanned by the θ*, and (normalised)
    // measures distances in units of that box, so no parameter dominates by its scale alone.
    Vector low = Vector::Zero(d), width = Vector::Ones(d), weight = Vector::Ones(d);
    if (settings.runTarp && n > 0) {
        low = theta.row(ranks.rows.front()).transpose();
        Vector high = low;
        for (std::int64_t row : ranks.rows) {
            low = low.cwiseMin(theta.row(row).transpose());
            high = high.cwiseMax(theta.row(row).transpose());
        }
        width = high - low;
        for (Eigen::Index j = 0; j < d; ++j)
            if (settings.tarp.normalise && width(j) > 0.0)
                weight(j) = 1.0 / width(j);
    }

    auto rankRow = [&](std::int64_t i) {
        const std::int64_t row = ranks.rows[static_cast<std::size_t>(i)];
        const auto stream = static_cast<std::uint64_t>(row);
        const Matrix observation = x.row(row);
        const Eigen::RowVectorXd truth = theta.row(row);

        const std::uint64_t sampleSeed =
            RandomStream(settings.seed, StreamPurpose::Diagnostics, kPosteriorSeedStream + stream)
                .nextBits();
        const Matrix samples = posterior.sample(observation, L, sampleSeed);
        if (samples.rows() != L || samples.cols() != d)
            throw std::invalid_argument(format(
                "calibration: the posterior returned %lld x %lld samples for row %lld; expected "
                "%lld x %lld",
                static_cast<long long>(samples.rows()), static_cast<long long>(samples.cols()),
                static_cast<long long>(row), static_cast<long long>(L), static_cast<long long>(d)));
        if (!samples.allFinite())
            throw std::invalid_argument(
                "calibration: the posterior returned non-finite samples "
                "for row " +
                std::to_string(row));

        if (settings.runSbc) {
            for (Eigen::Index j = 0; j < d; ++j) {
                std::int64_t below = 0, ties = 0;
                for (Eigen::Index l = 0; l < L; ++l) {
                    below += samples(l, j) < truth(j);
                    ties += samples(l, j) == truth(j);
                }
                ranks.sbc(i, j) = splitTies(below, ties, settings.seed,
                                            kSbcTieStream + stream * std::uint64_t(d) + j);
            }
        }

        if (settings.runCoverage) {
            // One call with θ* as the first row, so the posterior can batch the L + 1 points.
            Matrix points(L + 1, d);
            points.row(0) = truth;
            points.bottomRows(L) = samples;
            const Vector logDensity = posterior.logProb(points, observation);
            if (logDensity.size() != L + 1)
                throw std::invalid_argument(
                    format("calibration: the posterior returned %lld log densities for %lld points "
                           "(row %lld)",
                           static_cast<long long>(logDensity.size()), static_cast<long long>(L + 1),
                           static_cast<long long>(row)));
            // -inf is allowed: θ* outside the posterior's support lies outside every region.
            for (Eigen::Index l = 0; l <= L; ++l)
                if (std::isnan(logDensity(l)) ||
                    logDensity(l) == std::numeric_limits<double>::infinity())
                    throw std::invalid_argument(
                        "calibration: the posterior's log density is NaN "
                        "or +inf in row " +
                        std::to_string(row));
            std::int64_t higher = 0, ties = 0;
            for (Eigen::Index l = 1; l <= L; ++l) {
                higher += logDensity(l) > logDensity(0);
                ties += logDensity(l) == logDensity(0);
            }
            ranks.coverage[static_cast<std::size_t>(i)] =
                splitTies(higher, ties, settings.seed, kCoverageTieStream + stream);
        }

        if (settings.runTarp) {
            RandomStream rng(settings.seed, StreamPurpose::Diagnostics,
                             kTarpReferenceStream + stream);
            Eigen::RowVectorXd reference(d);
            for (Eigen::Index j = 0; j < d; ++j)
                reference(j) = low(j) + width(j) * rng.uniform();
            auto squaredDistance = [&](const auto& point) {
                return (point - reference).cwiseProduct(weight.transpose()).squaredNorm();
            };
            const double truthDistance = squaredDistance(truth);
            std::int64_t closer = 0, ties = 0;
            for (Eigen::Index l = 0; l < L; ++l) {
                const double distance = squaredDistance(samples.row(l));
                closer += distance < truthDistance;
                ties += distance == truthDistance;
            }
            ranks.tarp[static_cast<std::size_t>(i)] =
                splitTies(closer, ties, settings.seed, kTarpTieStream + stream);
        }
    };

    // One row (L posterior samples, and as many log densities) per chunk: enough work to hide
    // the scheduling, and cancellation stops within a row's time.
    const LoopOutcome outcome = parallelChunks(
        n, settings.threads, 1,
        [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t i = begin; i < end; ++i)
                rankRow(i);
        },
        control);

    ranks.cancelled = outcome.cancelled;
    if (outcome.completedPrefix < n) {
        const std::int64_t kept = outcome.completedPrefix;
        ranks.rows.resize(static_cast<std::size_t>(kept));
        if (settings.runSbc)
            ranks.sbc.conservativeResize(kept, d);
        if (settings.runCoverage)
            ranks.coverage.resize(static_cast<std::size_t>(kept));
        if (settings.runTarp)
            ranks.tarp.resize(static_cast<std::size_t>(kept));
    }
    ranks.elapsedSeconds = std::chrono::duration<double>(Clock::now() - start).count();
    return ranks;
}

// ---- judge ----

bool SbcResult::flagged() const {
    return std::any_of(parameters.begin(), parameters.end(), [](const SbcParameterResult& p) {
        return p.verdict != CalibrationVerdict::Calibrated;
    });
}

SbcResult judgeSbc(const RankMatrix& ranks, std::int64_t posteriorSamples,
                   const SbcSettings& settings, const std::vector<std::string>& parameterNames) {
    throwIfProblems(settings.validate());
    const std::int64_t L = posteriorSamples;
    checkRanks(ranks.data(), ranks.data() + ranks.size(), L, "SBC");
    if (settings.bins > L + 1)
        throw SettingsError(
            {{"bins", "must not exceed posteriorSamples + 1 = " + std::to_string(L + 1) +
                          ", the number of distinct ranks"}});
    const Eigen::Index d = ranks.cols();
    if (!parameterNames.empty() && parameterNames.size() != static_cast<std::size_t>(d))
        throw std::invalid_argument("SBC: " + std::to_string(parameterNames.size()) +
                                    " parameter names for " + std::to_string(d) + " parameters");
    const std::int64_t n = ranks.rows();
    const int bins = settings.bins;

    // Rank r falls in bin floor(r B / (L + 1)); when B does not divide L + 1 the bins hold
    // different numbers of ranks, and their expected counts and bands follow.
    auto binOf = [&](std::int64_t r) { return static_cast<std::size_t>(r * bins / (L + 1)); };
    std::vector<std::int64_t> ranksPerBin(static_cast<std::size_t>(bins), 0);
    for (std::int64_t r = 0; r <= L; ++r)
        ++ranksPerBin[binOf(r)];
    std::vector<double> expected(static_cast<std::size_t>(bins));
    std::vector<CountBand> band(static_cast<std::size_t>(bins));
    for (std::size_t b = 0; b < ranksPerBin.size(); ++b) {
        const double p = double(ranksPerBin[b]) / double(L + 1);
        expected[b] = double(n) * p;
        band[b] = binomialBand(n, p, settings.bandConfidence);
    }

    // Moments of a rank uniform on {0..L}: the location test compares the mean rank with L/2,
    // the spread test the mean of (r - L/2)^2 with its variance.
    const double middle = 0.5 * double(L);
    const double variance = (double(L + 1) * double(L + 1) - 1.0) / 12.0;
    double fourth = 0.0;
    for (std::int64_t r = 0; r <= L; ++r)
        fourth += std::pow(double(r) - middle, 4);
    fourth /= double(L + 1);
    const double spreadVariance = fourth - variance * variance;  // 0 only for L = 1

    SbcResult result;
    result.simulations = n;
    result.posteriorSamples = L;
    result.testLevel = settings.significance / (2.0 * double(d));
    const double zThreshold = twoSidedNormalQuantile(result.testLevel);
    std::vector<std::string> flaggedNames;

    for (Eigen::Index j = 0; j < d; ++j) {
        SbcParameterResult p;
        p.expected = expected;
        p.band = band;
        p.histogram.assign(static_cast<std::size_t>(bins), 0);
        std::vector<std::int64_t> column(static_cast<std::size_t>(n));
        double sum = 0.0, spreadSum = 0.0;
        for (std::int64_t i = 0; i < n; ++i) {
            const std::int64_t r = ranks(i, j);
            column[static_cast<std::size_t>(i)] = r;
            ++p.histogram[binOf(r)];
            sum += double(r);
            spreadSum += (double(r) - middle) * (double(r) - middle);
        }
        for (int b = 0; b < bins; ++b) {
            const double gap = double(p.histogram[std::size_t(b)]) - expected[std::size_t(b)];
            p.chiSquare += gap * gap / expected[std::size_t(b)];
        }
        p.chiSquarePValue = chiSquarePValue(p.chiSquare, bins - 1);
        p.ks = ksDiscreteUniform(valueCounts(column, L));
        const double meanRank = sum / double(n);
        p.meanRank = meanRank / double(L);
        p.locationZ = (meanRank - middle) / std::sqrt(variance / double(n));
        p.spreadZ = spreadVariance > 0.0
                        ? (spreadSum / double(n) - variance) / std::sqrt(spreadVariance / double(n))
                        : 0.0;

        const bool uniform = std::min(p.chiSquarePValue, p.ks.pValue) >= result.testLevel;
        const char* shape = "ranks uniform";
        if (!uniform) {
            if (std::max(std::abs(p.locationZ), std::abs(p.spreadZ)) < zThreshold) {
                p.verdict = CalibrationVerdict::Miscalibrated;
                shape = "ranks not uniform, in no single direction: miscalibrated";
            } else if (std::abs(p.locationZ) >= std::abs(p.spreadZ)) {
                // Low ranks: θ* lies below most samples, so the posterior sits too high.
                const bool low = p.locationZ < 0.0;
                p.verdict = low ? CalibrationVerdict::BiasedHigh : CalibrationVerdict::BiasedLow;
                shape = low ? "ranks skewed low: biased high (posterior over-estimates)"
                            : "ranks skewed high: biased low (posterior under-estimates)";
            } else if (p.spreadZ > 0.0) {
                p.verdict = CalibrationVerdict::OverConfident;
                shape = "U-shaped ranks: over-confident (posterior too narrow)";
            } else {
                p.verdict = CalibrationVerdict::UnderConfident;
                shape = "hump-shaped ranks: under-confident (posterior too wide)";
            }
        }
        const std::string name = nameOf(parameterNames, std::size_t(j), "parameter");
        p.summary = format("%s: %s (chi2 p = %.2g, KS p = %.2g, mean rank %.3f)", name.c_str(),
                           shape, p.chiSquarePValue, p.ks.pValue, p.meanRank);
        if (!uniform)
            flaggedNames.push_back(name + " " + verdictName(p.verdict));
        result.parameters.push_back(std::move(p));
    }

    const std::string head =
        format("SBC (%lld simulations, %lld posterior samples each): ", static_cast<long long>(n),
               static_cast<long long>(L));
    if (flaggedNames.empty())
        result.summary =
            head + format("ranks uniform for all %lld parameters", static_cast<long long>(d));
    else
        result.summary = head +
                         format("%zu of %lld parameters flagged: ", flaggedNames.size(),
                                static_cast<long long>(d)) +
                         listOf(flaggedNames);
    return result;
}

CoverageResult judgeCoverage(const std::vector<std::int64_t>& counts, std::int64_t posteriorSamples,
                             const CoverageSettings& settings) {
    throwIfProblems(settings.validate());
    const std::int64_t L = posteriorSamples;
    checkRanks(counts.data(), counts.data() + counts.size(), L, "coverage");
    const auto n = static_cast<std::int64_t>(counts.size());

    CoverageResult result;
    result.simulations = n;
    result.posteriorSamples = L;
    result.credibility.reserve(counts.size());
    for (std::int64_t c : counts)
        result.credibility.push_back(double(c) / double(L));
    std::vector<double> sorted = result.credibility;
    std::sort(sorted.begin(), sorted.end());

    // Bonferroni over the levels: the whole calibrated curve stays inside with probability of
    // at least bandConfidence.
    const double levelConfidence = 1.0 - (1.0 - settings.bandConfidence) / settings.levelCount;
    double worstGap = -1.0;
    std::size_t worst = 0;
    for (int k = 1; k <= settings.levelCount; ++k) {
        const double level = double(k) / double(settings.levelCount + 1);
        // Count the calibrated outcomes k / L <= level with the same floating-point comparison
        // as the empirical ones, so the two can never disagree at a boundary.
        std::int64_t reachable = 0;
        for (std::int64_t c = 0; c <= L; ++c)
            reachable += double(c) / double(L) <= level;
        const double p = double(reachable) / double(L + 1);
        const auto covered = static_cast<std::int64_t>(
            std::upper_bound(sorted.begin(), sorted.end(), level) - sorted.begin());
        const CountBand band = binomialBand(n, p, levelConfidence);

        const std::size_t index = result.levels.size();
        result.levels.push_back(level);
        result.empirical.push_back(double(covered) / double(n));
        result.expected.push_back(p);
        result.bandLow.push_back(double(band.low) / double(n));
        result.bandHigh.push_back(double(band.high) / double(n));
        const bool below = covered<band.low, above = covered> band.high;
        if (below)
            result.belowBand.push_back(int(index));
        if (above)
            result.aboveBand.push_back(int(index));
        const double gap = std::abs(result.empirical[index] - p);
        if ((below || above) && gap > worstGap) {
            worstGap = gap;
            worst = index;
        }
    }

    const bool low = !result.belowBand.empty(), high = !result.aboveBand.empty();
    result.verdict = low && high ? CalibrationVerdict::Miscalibrated
                     : low       ? CalibrationVerdict::OverConfident
                     : high      ? CalibrationVerdict::UnderConfident
                                 : CalibrationVerdict::Calibrated;
    const std::string head =
        format("Expected coverage (%lld simulations, %lld posterior samples each): ",
               static_cast<long long>(n), static_cast<long long>(L));
    const double percent = 100.0 * settings.bandConfidence;
    if (result.verdict == CalibrationVerdict::Calibrated) {
        result.summary = head + format(
                                    "calibrated: on the diagonal within the %g%% band at all "
                                    "%d levels",
                                    percent, settings.levelCount);
    } else {
        const char* where = low && high ? "below the band at some levels and above it at others"
                            : low       ? "below the band (credible regions miss the truth too "
                                          "often)"
                                        : "above the band (credible regions are too large)";
        result.summary =
            head + format("%s: coverage %s, at %zu of %d levels; at %.2f: %.3f instead of %.3f",
                          verdictName(result.verdict), where,
                          result.belowBand.size() + result.aboveBand.size(), settings.levelCount,
                          result.levels[worst], result.empirical[worst], result.expected[worst]);
    }
    return result;
}

TarpResult judgeTarp(const std::vector<std::int64_t>& counts, std::int64_t posteriorSamples,
                     const TarpSettings& settings) {
    throwIfProblems(settings.validate());
    const std::int64_t L = posteriorSamples;
    checkRanks(counts.data(), counts.data() + counts.size(), L, "TARP");
    const auto n = static_cast<std::int64_t>(counts.size());

    TarpResult result;
    result.simulations = n;
    result.posteriorSamples = L;
    double tailArea = 0.0;
    for (std::int64_t c : counts) {
        const double f = (double(c) + 0.5) / double(L + 1);
        result.credibility.push_back(f);
        tailArea += 1.0 - std::max(f, 0.5);
    }
    std::vector<double> sorted = result.credibility;
    std::sort(sorted.begin(), sorted.end());
    for (int k = 0; k <= settings.levelCount; ++k) {
        const double level = double(k) / double(settings.levelCount);
        const auto covered = std::upper_bound(sorted.begin(), sorted.end(), level) - sorted.begin();
        result.levels.push_back(level);
        result.ecp.push_back(double(covered) / double(n));
    }

    // The exact integral of the empirical step curve over [0.5, 1]: each credibility value f
    // contributes 1 - max(f, 0.5); the diagonal contributes 3/8. Under calibration ECP - level
    // is a Brownian bridge over sqrt(N), whose integral over [0.5, 1] has variance 5 / 192.
    result.atc = tailArea / double(n) - 0.375;
    result.atcStandardError = std::sqrt(5.0 / (192.0 * double(n)));
    const double atcZ = result.atc / result.atcStandardError;
    result.atcPValue = twoSidedNormalPValue(atcZ);
    result.ks = ksDiscreteUniform(valueCounts(counts, L));

    // Bonferroni over the two tests; the sign of ATC gives the direction when it is itself
    // significant (a bias can bend the curve both ways and leave ATC near 0).
    const double testLevel = 0.5 * settings.significance;
    const bool flagged = result.ks.pValue < testLevel || result.atcPValue < testLevel;
    if (flagged) {
        if (result.atcPValue < testLevel)
            result.verdict =
                atcZ < 0.0 ? CalibrationVerdict::OverConfident : CalibrationVerdict::UnderConfident;
        else
            result.verdict = CalibrationVerdict::Miscalibrated;
    }
    const char* meaning = "";
    switch (result.verdict) {
        case CalibrationVerdict::OverConfident:
            meaning = " (ECP below the diagonal)";
            break;
        case CalibrationVerdict::UnderConfident:
            meaning = " (ECP above the diagonal)";
            break;
        case CalibrationVerdict::Miscalibrated:
            meaning = " (credibility values not uniform; a bias?)";
            break;
        default:
            break;
    }
    result.summary = format(
        "TARP (%lld simulations, %lld posterior samples each): ATC = %.4f "
        "(standard error %.4f), KS p = %.2g: %s%s",
        static_cast<long long>(n), static_cast<long long>(L), result.atc, result.atcStandardError,
        result.ks.pValue, verdictName(result.verdict), meaning);
    return result;
}

std::string CalibrationResult::summary() const {
    if (cancelled)
        return format("Calibration cancelled after %zu simulations", ranks.rows.size());
    std::string text;
    for (const std::string* line :
         {sbc ? &sbc->summary : nullptr, coverage ? &coverage->summary : nullptr,
          tarp ? &tarp->summary : nullptr}) {
        if (!line)
            continue;
        if (!text.empty())
            text += '\n';
        text += *line;
    }
    if (ranks.skippedRows > 0)
        text += format("\n%lld simulations with non-finite data were left out",
                       static_cast<long long>(ranks.skippedRows));
    return text;
}

CalibrationResult runCalibration(const Matrix& theta, const Matrix& x,
                                 const PosteriorAccess& posterior,
                                 const CalibrationSettings& settings, const LoopControl& control) {
    CalibrationResult result;
    result.ranks = computeCalibrationRanks(theta, x, posterior, settings, control);
    result.cancelled = result.ranks.cancelled;
    if (!result.cancelled) {
        const std::int64_t L = settings.posteriorSamples;
        if (settings.runSbc)
            result.sbc = judgeSbc(result.ranks.sbc, L, settings.sbc, settings.parameterNames);
        if (settings.runCoverage)
            result.coverage = judgeCoverage(result.ranks.coverage, L, settings.coverage);
        if (settings.runTarp)
            result.tarp = judgeTarp(result.ranks.tarp, L, settings.tarp);
    }
    result.elapsedSeconds = result.ranks.elapsedSeconds;
    return result;
}

// ---- posterior predictive check ----

namespace {

// Linear interpolation between order statistics (R's type 7, NumPy's default).
double quantileOfSorted(const std::vector<double>& sorted, double probability) {
    const double position = probability * double(sorted.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, sorted.size() - 1);
    const double weight = position - double(below);
    return sorted[below] + weight * (sorted[above] - sorted[below]);
}

}  // namespace

PredictiveCheckResult posteriorPredictiveCheck(const Matrix& observation,
                                               const PosteriorAccess& posterior,
                                               const Simulator& simulator,
                                               const PredictiveCheckSettings& settings,
                                               const LoopControl& control) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    throwIfProblems(settings.validate());
    const int dataDimension = simulator.dataDimension();
    if (observation.rows() != 1 || observation.cols() != dataDimension)
        throw std::invalid_argument(format(
            "predictive check: the observation is %lld x %lld; expected one row of %d values",
            static_cast<long long>(observation.rows()), static_cast<long long>(observation.cols()),
            dataDimension));
    if (!observation.allFinite())
        throw std::invalid_argument("predictive check: the observation has non-finite values");
    if (!posterior.sample)
        throw std::invalid_argument(
            "predictive check: the posterior cannot be sampled (no sample "
            "function)");
    if (!settings.dataNames.empty() &&
        settings.dataNames.size() != static_cast<std::size_t>(dataDimension))
        throw std::invalid_argument(
            "predictive check: " + std::to_string(settings.dataNames.size()) + " data names for " +
            std::to_string(dataDimension) + " dimensions");

    PredictiveCheckResult result;
    RandomStream seeds(settings.seed, StreamPurpose::Diagnostics, kPredictiveStream);
    const std::uint64_t sampleSeed = seeds.nextBits();
    const std::uint64_t simulationSeed = seeds.nextBits();
    const std::int64_t m = settings.posteriorSamples;
    const Matrix theta = posterior.sample(observation, m, sampleSeed);
    if (theta.rows() != m || theta.cols() != simulator.parameterDimension())
        throw std::invalid_argument(format(
            "predictive check: the posterior returned %lld x %lld samples; expected %lld x %d",
            static_cast<long long>(theta.rows()), static_cast<long long>(theta.cols()),
            static_cast<long long>(m), simulator.parameterDimension()));
    if (!theta.allFinite())
        throw std::invalid_argument("predictive check: the posterior returned non-finite samples");

    SimulationOptions options;
    options.seed = simulationSeed;
    options.threads = settings.threads;
    const SimulationBatch batch = simulateAt(theta, simulator, options, control);
    if (batch.cancelled) {
        result.cancelled = true;
        result.elapsedSeconds = std::chrono::duration<double>(Clock::now() - start).count();
        return result;
    }
    result.droppedNonFinite = static_cast<std::int64_t>(batch.nonFiniteRows.size());
    const std::int64_t kept = batch.finiteCount();
    if (kept < 2)
        throw std::invalid_argument("predictive check: fewer than 2 finite predictions (" +
                                    batch.nonFiniteSummary() + ")");
    result.theta.resize(kept, theta.cols());
    result.predictions.resize(kept, dataDimension);
    {
        std::size_t next = 0;
        std::int64_t out = 0;
        for (std::int64_t r = 0; r < batch.count(); ++r) {
            if (next < batch.nonFiniteRows.size() && batch.nonFiniteRows[next] == r) {
                ++next;
                continue;
            }
            result.theta.row(out) = theta.row(r);
            result.predictions.row(out) = batch.x.row(r);
            ++out;
        }
    }
    const Matrix& predictions = result.predictions;

    const double tail = 0.5 * (1.0 - settings.intervalLevel);
    Eigen::RowVectorXd mean(dataDimension), scale(dataDimension);
    std::vector<std::string> outside;
    for (int j = 0; j < dataDimension; ++j) {
        PredictiveDimension dimension;
        const double observed = observation(0, j);
        dimension.observed = observed;
        std::vector<double> values(static_cast<std::size_t>(kept));
        for (std::int64_t r = 0; r < kept; ++r)
            values[std::size_t(r)] = predictions(r, j);
        std::sort(values.begin(), values.end());
        double sum = 0.0;
        for (double v : values)
            sum += v;
        dimension.mean = sum / double(kept);
        double squares = 0.0;
        for (double v : values)
            squares += (v - dimension.mean) * (v - dimension.mean);
        dimension.standardDeviation = std::sqrt(squares / double(kept - 1));
        dimension.low = quantileOfSorted(values, tail);
        dimension.median = quantileOfSorted(values, 0.5);
        dimension.high = quantileOfSorted(values, 1.0 - tail);
        const auto atMost =
            std::upper_bound(values.begin(), values.end(), observed) - values.begin();
        const auto atLeast =
            values.end() - std::lower_bound(values.begin(), values.end(), observed);
        dimension.fractionBelow = double(atMost) / double(kept);
        // (count + 1) / (M + 1): the observation counts as one of the draws, so the p-value is
        // valid (never 0) for any number of predictions.
        dimension.pValue =
            std::min(1.0, 2.0 * double(std::min(atMost, atLeast) + 1) / double(kept + 1));
        dimension.outsideInterval = observed < dimension.low || observed > dimension.high;
        if (dimension.outsideInterval)
            outside.push_back(nameOf(settings.dataNames, j, "data"));
        mean(j) = dimension.mean;
        scale(j) = settings.zScore && dimension.standardDeviation > 0.0
                       ? dimension.standardDeviation
                       : 1.0;
        result.dimensions.push_back(dimension);
    }

    const Eigen::RowVectorXd observed = observation.row(0);
    auto distance = [&](const Eigen::RowVectorXd& a, const Eigen::RowVectorXd& b) {
        return (a - b).cwiseQuotient(scale).norm();
    };
    result.distances.resize(static_cast<std::size_t>(kept));
    result.observedDistance = distance(observed, mean);
    std::int64_t atLeastAsFar = 0;
    for (std::int64_t r = 0; r < kept; ++r) {
        const Eigen::RowVectorXd prediction = predictions.row(r);
        result.distances[std::size_t(r)] = distance(prediction, observed);
        atLeastAsFar += distance(prediction, mean) >= result.observedDistance;
    }
    std::vector<double> sortedDistances = result.distances;
    std::sort(sortedDistances.begin(), sortedDistances.end());
    result.medianDistance = quantileOfSorted(sortedDistances, 0.5);
    result.distancePValue = double(atLeastAsFar + 1) / double(kept + 1);
    result.verdict = result.distancePValue < settings.significance ? PredictiveVerdict::Atypical
                                                                   : PredictiveVerdict::Consistent;

    std::string text = format(
        "Posterior predictive (%lld simulations): x_o is %s (distance p = %.2g, median "
        "distance %.3g%s)",
        static_cast<long long>(kept),
        result.verdict == PredictiveVerdict::Consistent ? "typical of the posterior predictive"
                                                        : "atypical of the posterior predictive",
        result.distancePValue, result.medianDistance, settings.zScore ? " sd" : "");
    if (outside.empty())
        text += format("; inside the central %g%% interval in all %d dimensions",
                       100.0 * settings.intervalLevel, dataDimension);
    else
        text += format("; outside the central %g%% interval in %zu of %d dimensions: ",
                       100.0 * settings.intervalLevel, outside.size(), dataDimension) +
                listOf(outside);
    if (result.droppedNonFinite > 0)
        text += format("; %lld non-finite simulations left out",
                       static_cast<long long>(result.droppedNonFinite));
    result.summary = text;
    result.elapsedSeconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
}

}  // namespace sbiw
