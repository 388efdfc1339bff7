#pragma once
// Approximate Bayesian computation: the classical likelihood-free baselines that sbibm compares
// neural methods with.
//
//  - Rejection ABC (sbibm's REJ-ABC): simulate the budget at prior draws and keep the parameters
//    whose summary statistics lie closest to the observation's (sbibm keeps the 100 closest).
//  - SMC-ABC (Beaumont, Cornuet, Marin & Robert 2009, "Adaptive approximate Bayesian
//    computation", Biometrika 96(4); sbi's SMCABC variant "C"): a population of particles moves
//    through decreasing tolerances ε. Each ε is a quantile of the current population's distances;
//    new particles are drawn from the weighted population, perturbed by a Gaussian kernel with a
//    multiple of the population's weighted covariance, simulated, kept when within ε, and
//    weighted by prior / (kernel mixture density). The population can be resampled when its
//    effective sample size drops too low; the simulation budget ends the run. A last round that
//    the budget cuts short keeps the particles closest to x_o among its candidates and the
//    previous population (sbi fills it up with the previous population's closest), which widens
//    its ε.
//
// Defaults follow sbibm's published configuration (see SmcAbcSettings for where, and why, they
// differ from the textbook choices).
//
// Both can correct the kept parameters by linear regression on the summary statistics
// (Beaumont, Zhang & Balding 2002) and draw any number of posterior samples from a Gaussian
// kernel density estimate over the final particles (see kde.h), as sbibm does.
//
// Reproducible for any thread count: θ number i comes from stream (seed, Prior, i) (rejection
// ABC and SMC's first round; the same θ and x as a project's simulations with that seed), SMC's
// perturbations from streams under StreamPurpose::Abc, and simulation j from
// (seed, Simulator, j) through simulateAt.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "abc/kde.h"
#include "core/matrix.h"
#include "core/parallel.h"
#include "core/problems.h"

namespace sbiw {

class JointPrior;
class Simulator;

// Summary statistics "chosen in the project", computed from the data simulated for one θ:
//  - identity:     the data vector as it is.
//  - columns:      the chosen data columns, in the order given.
//  - iid_mean_std: the observation has several rows, independent draws for one θ. Every θ is
//                  simulated once per observation row, and the summary is the mean of every
//                  used column over the rows, followed by its standard deviation (n - 1). The
//                  used columns are `columns`, or all when it is empty.
// identity and columns need a one-row observation; iid_mean_std needs at least two rows.
enum class SummaryKind { Identity, Columns, IidMeanStd };

struct SummarySettings {
    SummaryKind kind = SummaryKind::Identity;
    std::vector<int> columns;  // 0-based data columns (columns, iid_mean_std)

    // Names the offending field, e.g. {"columns[1]", "must not be negative"}. Columns beyond
    // the data are reported when the data dimension is known (the ABC functions throw then).
    Problems validate() const;
};

enum class AbcDistance {
    L2,  // Euclidean, as sbibm
    L1,  // sum of absolute differences
};

// "identity", "columns", "iid_mean_std"; "l2", "l1".
std::string toString(SummaryKind kind);
std::string toString(AbcDistance distance);
std::optional<SummaryKind> parseSummaryKind(const std::string& name);
std::optional<AbcDistance> parseAbcDistance(const std::string& name);

// What both algorithms share. Defaults follow sbibm.
struct AbcSettings {
    // Simulator calls in total; with an i.i.d. observation of n rows every θ costs n calls.
    std::int64_t simulations = 10000;
    SummarySettings summary;
    AbcDistance distance = AbcDistance::L2;
    // Divide every summary statistic by its spread over prior-predictive simulations (median
    // absolute deviation, scaled to the standard deviation of a normal; SMC: of its first round)
    // so that statistics on large scales do not dominate the distance. sbibm does not.
    bool zScore = false;
    // Replace every kept θ by θ - B (s - s_o), B from the (weighted) least-squares regression
    // of θ on the summaries s of the kept particles. Done in the prior's unconstrained space so
    // that adjusted parameters stay inside the support.
    bool regressionAdjustment = false;
    // Posterior samples returned: drawn from a KDE over the final particles, or (kdeEnabled
    // false) by weighted resampling of the particles themselves.
    std::int64_t posteriorSamples = 10000;
    bool kdeEnabled = true;
    KdeBandwidth kdeBandwidth = KdeBandwidth::CrossValidation;
    double kdeFixedBandwidth = 0.5;  // h for KdeBandwidth::Fixed
    std::uint64_t seed = 1;
    int threads = 0;  // simulation threads; 0: all cores

    Problems validate() const;
};

struct RejectionAbcSettings : AbcSettings {
    std::int64_t keep = 100;    // closest simulations kept (sbibm's num_top_samples)
    double keepFraction = 0.0;  // if > 0, keep this fraction of the θ simulated instead

    Problems validate() const;
};

struct SmcAbcSettings : AbcSettings {
    // Particles per population; 0: sbibm's rule, 100, or 1000 when more than 10^4 θ can be
    // simulated.
    int populationSize = 0;
    // The first round simulates this many times the population at prior draws and keeps the
    // closest (sbibm: 5), but never more than half the budget.
    int initialRoundFactor = 5;
    // Each ε is this weighted quantile of the current population's distances. A quantile α keeps
    // about a fraction α of what resampling alone would, and α ln(1/α) (the log-tolerance gained
    // per simulation) peaks at 1/e; sbi's rule (0.2 on cumulative distances) amounts to about
    // 0.25 to 0.35.
    double epsilonQuantile = 0.3;
    // Perturbation kernel covariance = this times the weighted covariance of the population.
    // Beaumont et al. (2009) derive 2; sbibm runs sbi with 0.5, and on gaussian_linear (10-D)
    // 0.5 ends with a smaller ε and a posterior closer to the truth at 10^4 and 10^5
    // simulations, where 2 does worse than rejection ABC.
    double kernelScale = 0.5;
    // Resample the population (systematically, to equal weights) when its effective sample
    // size falls below this fraction of its size; 0 never does, as sbibm.
    double resampleBelowEss = 0.0;
    // Whether the posterior samples (and the regression) use the final particles' importance
    // weights. sbibm's KDE treats the particles as equally likely, and so does the default: in
    // 10-D the weights of a few hundred particles are so uneven (effective size 3-25% of the
    // population) that the equal-weight estimate is closer to the true posterior at every sbibm
    // budget on gaussian_linear, although only the weighted one targets the ABC posterior.
    bool weightedPosterior = false;

    Problems validate() const;
};

struct AbcPopulation {
    double epsilon = 0.0;          // tolerance (rejection ABC: the largest kept distance)
    std::int64_t simulations = 0;  // simulator calls spent on this population
    std::int64_t accepted = 0;     // particles in it
    // The tolerance SMC aimed at (rejection ABC: epsilon). It differs from `epsilon` only for a
    // last population that the budget cut short: made of the particles closest to x_o, its
    // epsilon is the largest of their distances.
    double plannedEpsilon = 0.0;
    bool cutShort = false;
    std::int64_t carriedOver = 0;      // of its particles, how many the previous population gave
    double acceptanceRate = 0.0;       // accepted / θ simulated
    double effectiveSampleSize = 0.0;  // of its weights, before any resampling
    bool resampled = false;
};

struct AbcResult {
    Matrix samples;    // posteriorSamples rows (none when cancelled)
    Matrix particles;  // the final population (regression-adjusted when asked)
    Vector weights;    // normalised importance weights of the particles (SMC: also when
                       // weightedPosterior is off and the samples ignore them; equal for a
                       // last population pooled with particles of the one before)
    Vector distances;  // their distances to the observation
    std::vector<AbcPopulation> populations;  // rejection ABC: one
    std::int64_t simulations = 0;            // simulator calls used
    double kdeBandwidth = 0.0;               // h (NaN without KDE)
    bool regressionAdjusted = false;         // false also when too few particles to regress
    double elapsedSeconds = 0.0;
    // Stopped through LoopControl: particles hold the last complete population (if any).
    bool cancelled = false;
};

// `observation` has one row per i.i.d. observation (usually one) and the simulator's data
// columns. Throws SettingsError for invalid settings (paths such as "summary.columns[0]"),
// std::invalid_argument for mismatched dimensions, a budget too small for one population or
// non-finite observations. Simulations with non-finite summaries are never kept. Progress counts
// simulator calls.
AbcResult rejectionAbc(const JointPrior& prior, const Simulator& simulator,
                       const Matrix& observation, const RejectionAbcSettings& settings = {},
                       const LoopControl& control = {});

// Called on the calling thread after every population SMC-ABC completes (the first included),
// with its report and its particles (θ rows, before any regression adjustment), so that a
// display can show the posterior concentrating population by population.
using AbcPopulationHook = std::function<void(const AbcPopulation& report, const Matrix& particles)>;

AbcResult smcAbc(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const SmcAbcSettings& settings = {}, const LoopControl& control = {},
                 const AbcPopulationHook& onPopulation = {});

// One line for logs and the run history, e.g. "SMC-ABC: 10000 simulations, 14 populations,
// final epsilon 0.05123, 100 particles (37 carried over from the population before)".
// `method` names the algorithm ("Rejection ABC", "SMC-ABC").
std::string describe(const std::string& method, const AbcResult& result);

// One line per population for logs, e.g. "population 3: epsilon 0.4123, 100 particles from 2318
// simulations (acceptance 4.31%), ESS 47.2".
std::string describe(int number, const AbcPopulation& population);

}  // namespace sbiw
