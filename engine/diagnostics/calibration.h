#pragma once
// Calibration diagnostics: does a posterior estimator put the right amount of mass in the right
// place, averaged over the prior predictive? Three rank-based checks share one pass over N
// prior-predictive pairs (θ*, x*) with L posterior samples each:
//
//  - simulation-based calibration (SBC; Talts et al. 2018): the rank of θ*_j among the samples'
//    j-th coordinates, per parameter;
//  - expected coverage of highest-posterior-density regions (Hermans et al. 2022): the rank of
//    log q(θ*|x*) among log q(θ_l|x*);
//  - TARP (Lemos et al. 2023): the rank of |θ* - r| among |θ_l - r| for a random reference r.
//
// For a calibrated posterior, θ* and the L samples are exchangeable given x*, so each rank is
// uniform on {0, ..., L} whatever the reduction: every judgement below is a test of that.
// Computing (ranks) and judging (histograms, bands, tests, verdicts) are separate steps, so
// stored ranks can be judged again with other settings; drawing is left to the widgets.
//
// A posterior predictive check for one observation x_o completes the set.
//
// Every loop runs on several threads through parallelChunks; every random draw comes from a
// stream derived from the seed and the simulation's row, so results do not depend on the thread
// count.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "core/parallel.h"
#include "core/problems.h"
#include "simulators/batch_simulation.h"

namespace sbiw {

class JointPrior;
class Simulator;

using RankMatrix = Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// What a diagnostic needs from any posterior (NPE, NLE + MCMC, ABC, an analytic one). Both
// functions are called concurrently from several threads and must be thread-safe (or run the
// diagnostic with threads = 1).
struct PosteriorAccess {
    // `count` samples (rows) from q(θ | observation); observation is one row. The same seed must
    // give the same samples.
    std::function<Matrix(const Matrix& observation, std::int64_t count, std::uint64_t seed)> sample;
    // log q(θ_r | observation) for every row of theta. Only expected coverage needs it, and only
    // the ordering within one observation matters, so an unnormalised log density (e.g. an
    // MCMC potential) is enough.
    std::function<Vector(const Matrix& theta, const Matrix& observation)> logProb;
};

enum class CalibrationVerdict {
    Calibrated,      // no evidence against calibration at the chosen significance
    OverConfident,   // too narrow: truth falls in the tails (U-shaped ranks, low coverage)
    UnderConfident,  // too wide: truth sits in the middle (hump-shaped ranks, high coverage)
    BiasedHigh,      // the posterior lies above the truth (ranks of θ* skewed low)
    BiasedLow,       // the posterior lies below the truth (ranks of θ* skewed high)
    Miscalibrated,   // not uniform, but in no single direction
};

// "calibrated", "over-confident", "under-confident", "biased high", "biased low",
// "miscalibrated".
const char* verdictName(CalibrationVerdict verdict);

// ---- statistics shared by the judges (exact, no normal approximations) ----

// Smallest k with P(X <= k) >= probability for X ~ Binomial(trials, successProbability).
std::int64_t binomialQuantile(std::int64_t trials, double successProbability, double probability);

struct CountBand {
    std::int64_t low = 0;   // counts below low have probability < (1 - confidence) / 2
    std::int64_t high = 0;  // counts above high have probability <= (1 - confidence) / 2
};
// Central interval holding at least `confidence` of Binomial(trials, successProbability).
CountBand binomialBand(std::int64_t trials, double successProbability, double confidence);

// Upper tail of the chi-square distribution: P(X >= statistic).
double chiSquarePValue(double statistic, int degreesOfFreedom);

// Kolmogorov-Smirnov test of values in {0, ..., L} (counts[k] = how many equal k) against the
// discrete uniform distribution on those L + 1 values. The distance is exact; the p-value uses
// Kolmogorov's limit with Stephens' correction, which is conservative for discrete data.
struct KsTest {
    double distance = 0;
    double pValue = 1;
};
KsTest ksDiscreteUniform(const std::vector<std::int64_t>& counts);

// ---- settings ----

struct SbcSettings {
    int bins = 20;                 // histogram bins over the L + 1 rank values
    double bandConfidence = 0.99;  // pointwise binomial band per bin (for drawing)
    // Family-wise false-alarm rate over all parameters and both uniformity tests (Bonferroni:
    // each parameter's chi-square and KS tests use significance / (2 d)).
    double significance = 0.01;

    Problems validate() const;
};

struct CoverageSettings {
    int levelCount = 19;           // credibility levels k / (levelCount + 1), k = 1..levelCount
    double bandConfidence = 0.99;  // simultaneous over the levels (Bonferroni)

    Problems validate() const;
};

struct TarpSettings {
    int levelCount = 50;  // ECP curve on levels k / levelCount, k = 0..levelCount
    // False-alarm rate of the verdict, split (Bonferroni) between the KS test of the
    // credibility values and the test of ATC against its spread under calibration.
    double significance = 0.01;
    bool normalise = true;  // scale θ to the unit box of the θ* before measuring distances

    Problems validate() const;
};

struct CalibrationSettings {
    std::int64_t posteriorSamples = 999;  // L; L + 1 = 1000 ranks fill 20 bins evenly
    std::uint64_t seed = 1;               // posterior sampling, TARP references, ties
    int threads = 0;                      // 0: all cores
    bool runSbc = true;
    bool runCoverage = true;  // needs PosteriorAccess::logProb
    bool runTarp = true;
    SbcSettings sbc;
    CoverageSettings coverage;
    TarpSettings tarp;
    // For summaries; empty means "parameter 1", "parameter 2", ...
    std::vector<std::string> parameterNames;

    // Names the field, nested ones as "sbc.bins".
    Problems validate() const;
};

// ---- compute ----

// Prior-predictive pairs for calibration. The simulation seed is derived from `seed`, so passing
// the seed of the training run does not reproduce the training set (calibrating on training
// data would hide over-fitting).
SimulationBatch simulateCalibrationSet(const JointPrior& prior, const Simulator& simulator,
                                       std::int64_t count, std::uint64_t seed, int threads = 0,
                                       const LoopControl& control = {});

struct CalibrationRanks {
    std::int64_t posteriorSamples = 0;  // L: every rank lies in 0..L
    // Rows of the input used, ascending (rows with non-finite x are skipped).
    std::vector<std::int64_t> rows;
    std::int64_t skippedRows = 0;
    RankMatrix sbc;  // rows.size() x d: how many samples lie below θ*_j (ties split at random)
    // How many samples have a higher posterior density than θ*: α* = count / L.
    std::vector<std::int64_t> coverage;
    // How many samples lie closer to the row's reference point than θ*.
    std::vector<std::int64_t> tarp;
    bool cancelled = false;  // if so, only a prefix of the rows is ranked
    double elapsedSeconds = 0;
};

// Ranks for every row of (theta, x): rows are prior draws θ* and their simulations x*.
// Throws std::invalid_argument for mismatched shapes, non-finite θ*, a missing callback or a
// callback returning the wrong shape or non-finite values; SettingsError for invalid settings.
// Progress is reported in rows.
CalibrationRanks computeCalibrationRanks(const Matrix& theta, const Matrix& x,
                                         const PosteriorAccess& posterior,
                                         const CalibrationSettings& settings,
                                         const LoopControl& control = {});

// ---- judge ----

struct SbcParameterResult {
    std::vector<std::int64_t> histogram;  // bins counts
    std::vector<double> expected;         // expected count per bin under uniform ranks
    std::vector<CountBand> band;          // per bin
    double chiSquare = 0;
    double chiSquarePValue = 1;
    KsTest ks;
    double meanRank = 0.5;  // mean of rank / L (0.5 when calibrated)
    // Standardised departures of the rank mean (location) and of the mean squared distance
    // from the middle rank (spread: > 0 U-shaped, < 0 hump-shaped) from their uniform values.
    double locationZ = 0;
    double spreadZ = 0;
    CalibrationVerdict verdict = CalibrationVerdict::Calibrated;
    std::string summary;  // one line, e.g. "theta_3: U-shaped ranks: over-confident (...)"
};

struct SbcResult {
    std::int64_t simulations = 0;
    std::int64_t posteriorSamples = 0;
    std::vector<SbcParameterResult> parameters;
    double testLevel = 0;  // per-test significance after the Bonferroni correction
    bool flagged() const;  // any parameter not calibrated
    std::string summary;
};

struct CoverageResult {
    std::int64_t simulations = 0;
    std::int64_t posteriorSamples = 0;
    std::vector<double> credibility;  // α* per simulation
    std::vector<double> levels;       // nominal credibility levels
    std::vector<double> empirical;    // fraction of α* <= level
    // What a calibrated posterior gives with L samples: (#{k in 0..L : k / L <= level}) / (L + 1),
    // which differs from the level by at most 1 / (L + 1).
    std::vector<double> expected;
    std::vector<double> bandLow, bandHigh;  // fractions, simultaneous band around `expected`
    std::vector<int> belowBand, aboveBand;  // indices of levels outside the band
    CalibrationVerdict verdict = CalibrationVerdict::Calibrated;
    std::string summary;
};

struct TarpResult {
    std::int64_t simulations = 0;
    std::int64_t posteriorSamples = 0;
    // Credibility of the ball around each reference that reaches θ*, as a mid-rank
    // (count + 0.5) / (L + 1): uniform on a grid in (0, 1) when calibrated.
    std::vector<double> credibility;
    std::vector<double> levels;  // 0..1
    std::vector<double> ecp;     // expected coverage probability: fraction of credibility <= level
    // Area between the ECP curve and the diagonal for levels >= 0.5 (trapezoids): about 0 when
    // calibrated, < 0 over-confident, > 0 under-confident.
    double atc = 0;
    double atcStandardError = 0;  // its spread for a calibrated posterior: sqrt(5 / 192 N)
    double atcPValue = 1;         // two-sided, normal limit of that spread
    KsTest ks;                    // of the counts against the discrete uniform
    CalibrationVerdict verdict = CalibrationVerdict::Calibrated;
    std::string summary;
};

// Judges ranks in 0..posteriorSamples. Throw std::invalid_argument for empty or out-of-range
// ranks or a names list of the wrong length, SettingsError for invalid settings.
SbcResult judgeSbc(const RankMatrix& ranks, std::int64_t posteriorSamples,
                   const SbcSettings& settings = {},
                   const std::vector<std::string>& parameterNames = {});
CoverageResult judgeCoverage(const std::vector<std::int64_t>& counts, std::int64_t posteriorSamples,
                             const CoverageSettings& settings = {});
TarpResult judgeTarp(const std::vector<std::int64_t>& counts, std::int64_t posteriorSamples,
                     const TarpSettings& settings = {});

struct CalibrationResult {
    CalibrationRanks ranks;
    // Judged only when requested and not cancelled.
    std::optional<SbcResult> sbc;
    std::optional<CoverageResult> coverage;
    std::optional<TarpResult> tarp;
    bool cancelled = false;
    double elapsedSeconds = 0;
    std::string summary() const;  // one line per diagnostic run
};

// computeCalibrationRanks, then the judges for the diagnostics requested.
CalibrationResult runCalibration(const Matrix& theta, const Matrix& x,
                                 const PosteriorAccess& posterior,
                                 const CalibrationSettings& settings,
                                 const LoopControl& control = {});

// ---- posterior predictive check ----

struct PredictiveCheckSettings {
    std::int64_t posteriorSamples = 1000;  // θ drawn from q(θ | x_o), one simulation each
    std::uint64_t seed = 1;                // posterior sampling and simulation noise
    int threads = 0;
    bool zScore = true;          // distances in units of the predictive standard deviation
    double intervalLevel = 0.9;  // central predictive interval per data dimension
    // For the distance test; must be at least 1 / (posteriorSamples + 1), the smallest p-value
    // that many predictive samples can give.
    double significance = 0.01;
    std::vector<std::string> dataNames;  // for summaries; empty means "data 1", ...

    Problems validate() const;
};

struct PredictiveDimension {
    double observed = 0;  // x_o in this dimension
    double mean = 0, standardDeviation = 0;
    double low = 0, median = 0, high = 0;  // central interval at intervalLevel
    double fractionBelow = 0;              // predictive p-value: fraction of predictions <= x_o
    double pValue = 1;  // two-sided: 2 min(P(X <= x_o), P(X >= x_o)), (count+1)/(M+1)
    bool outsideInterval = false;
};

enum class PredictiveVerdict {
    Consistent,  // x_o looks like a draw from the posterior predictive
    Atypical,    // x_o lies farther from the predictive mean than almost every prediction
};
const char* verdictName(PredictiveVerdict verdict);

struct PredictiveCheckResult {
    Matrix theta;        // posterior samples used
    Matrix predictions;  // their simulations (rows with non-finite output removed)
    std::int64_t droppedNonFinite = 0;
    // Distance of every prediction to x_o (Euclidean; per dimension divided by the predictive
    // standard deviation when zScore).
    std::vector<double> distances;
    double medianDistance = 0;
    // Outlyingness: the distance of x_o to the predictive mean, and the fraction of predictions
    // at least as far from it ((count + 1) / (M + 1)).
    double observedDistance = 0;
    double distancePValue = 1;
    std::vector<PredictiveDimension> dimensions;
    PredictiveVerdict verdict = PredictiveVerdict::Consistent;
    std::string summary;
    bool cancelled = false;  // simulation stopped; nothing is judged
    double elapsedSeconds = 0;
};

// Throws std::invalid_argument for an observation that is not one finite row of the simulator's
// data dimension, a posterior returning the wrong shape, or too few finite predictions (< 2);
// SettingsError for invalid settings.
PredictiveCheckResult posteriorPredictiveCheck(const Matrix& observation,
                                               const PosteriorAccess& posterior,
                                               const Simulator& simulator,
                                               const PredictiveCheckSettings& settings = {},
                                               const LoopControl& control = {});

}  // namespace sbiw
