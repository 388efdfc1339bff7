#pragma once
// Markov chain Monte Carlo over a *batched* log-density. Many chains advance in lock-step and
// every call of the target evaluates the next proposal of every active chain at once, so a
// neural likelihood or ratio costs one network call per step of all chains, never one per chain.
//
// Two samplers:
//  - slice: axis-aligned slice sampling (Neal 2003, "Slice sampling", Ann. Statist. 31(3)),
//    one coordinate at a time in a random order per sweep, stepping out and shrinking, the
//    bracket width of every chain and coordinate tuned during warm-up to the mean final bracket
//    (as sbi's slice_np_vectorized). Unlike sbi, the density at the current point is remembered
//    rather than evaluated again, both ends of a bracket step out in the same call, and brackets
//    are clipped to the prior's support, where the target is known to be -infinity.
//  - mh: random-walk Metropolis-Hastings with a Gaussian proposal. During warm-up every chain
//    adapts its proposal scale towards 23.4% acceptance (Roberts, Gelman & Gilks 1997); half-way
//    the proposal covariance becomes the empirical covariance of all chains' recent states.
//    Proposals outside the prior's support are rejected without evaluating the target.
//
// Chains start from prior draws or by sampling-importance-resampling of prior draws (sbi's
// init_strategy "sir"/"resample"), or from given states. They are split into groups that run on
// separate threads; chain c draws its random numbers from its own stream and sees only its own
// rows, so the result does not depend on the thread count as long as the target's value for a
// row does not depend on the other rows of its batch.

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "core/matrix.h"
#include "core/parallel.h"
#include "core/problems.h"

namespace sbiw {

class JointPrior;

// Log-density (up to a constant) of each row of `thetas`: one value per row, -infinity outside
// the prior's support. NaN counts as -infinity; +infinity is an error. With threads != 1 it is
// called concurrently from several threads (each call with a different group of chains), so it
// must be thread-safe then; set threads = 1 for a target that is not, or that parallelises
// internally.
using BatchLogDensity = std::function<Vector(const Matrix& thetas)>;

enum class McmcMethod { Slice, MetropolisHastings };
enum class McmcInit {
    Prior,     // every chain starts at a prior draw (redrawn while the target is -infinity there)
    Resample,  // every chain starts at a draw from a pool of prior draws weighted by target/prior
};

// Names as project files and the command line spell them: "slice", "mh"; "prior", "resample".
std::string toString(McmcMethod method);
std::string toString(McmcInit init);
std::optional<McmcMethod> parseMcmcMethod(const std::string& name);
std::optional<McmcInit> parseMcmcInit(const std::string& name);

// Defaults are sbibm's for NLE/NRE (100 chains, 100 warm-up steps, thinning 10, SIR init).
struct McmcSettings {
    McmcMethod method = McmcMethod::Slice;
    int chains = 100;
    // Iterations per chain (a sweep over all coordinates for slice) spent tuning and discarded.
    int warmupSteps = 100;
    // After warm-up every chain keeps one iteration in `thinning`.
    int thinning = 10;
    // Samples wanted: every chain keeps ceil(samples / chains) draws.
    std::int64_t samples = 10000;
    McmcInit init = McmcInit::Resample;
    // Size of the pool of prior draws that "resample" weighs. sbi draws 10,000 per chain; one
    // pool shared by all chains is 100x cheaper. Chains may then start at the same point, which
    // their own random moves separate within the first steps of warm-up.
    int resampleCandidates = 10000;
    std::uint64_t seed = 1;
    // Chain groups run on this many threads (0: all cores), each group calling the target
    // with its own chains. For a target with a large fixed cost per call that parallelises
    // internally (a network), 1 makes half as many calls of twice the rows as 2 does.
    int threads = 0;
    // Slice: most steps the two ends of a bracket step out together (Neal's m).
    int sliceMaxStepsOut = 100;
    // MH: acceptance rate the warm-up adapts the proposal scale towards.
    double mhTargetAcceptance = 0.234;
    // Move the chains in the prior's unconstrained space z = prior.toUnconstrained(θ) (log for
    // a positive parameter, logit for a bounded one; sbi's enable_transform), with the target's
    // Jacobian added there; starts and draws stay in θ. A narrow posterior near a bound or on a
    // log scale (LogNormal priors) mixes better there. Off: the chains move in θ.
    bool transform = false;

    // Names the offending field, e.g. {"thinning", "must be at least 1"}.
    Problems validate() const;
};

struct McmcResult {
    // settings.samples rows (fewer when cancelled), iteration-major: row k * chains + c is the
    // k-th kept draw of chain c, so any prefix spreads over all chains.
    Matrix samples;
    // Every kept draw, drawsPerChain * chains rows in the same order (samples is its prefix).
    Matrix draws;
    int chains = 0;
    int drawsPerChain = 0;
    // Per parameter, from `draws`: rank-normalised split R-hat (see chain_diagnostics.h) and
    // bulk effective sample size; NaN when too few draws.
    Vector rhat;
    Vector ess;
    // MH: fraction of proposals accepted after warm-up (NaN for slice).
    double acceptanceRate = std::numeric_limits<double>::quiet_NaN();
    // Rows the target evaluated during warm-up and sampling per kept draw (warm-up and thinning
    // included): the sampler's cost per sample. MH evaluates at most one row per chain and
    // iteration (none for proposals outside the support); slice a few per coordinate.
    double evaluationsPerSample = 0.0;
    std::int64_t evaluations = 0;      // rows evaluated in total, initialisation included
    std::int64_t initEvaluations = 0;  // rows evaluated to initialise the chains
    std::int64_t targetCalls = 0;      // calls of the target
    // Per parameter, averaged over chains: slice bracket width, or MH proposal standard deviation
    // (in the unconstrained space with settings.transform).
    Vector stepSize;
    double elapsedSeconds = 0.0;
    bool cancelled = false;  // stopped through LoopControl; then every chain has drawsPerChain
};

// Samples the target with settings.init. Throws SettingsError for invalid settings,
// std::invalid_argument when the prior has no parameters, std::runtime_error when no
// initial point with a finite log-density is found or the target returns the wrong number of
// values, and whatever the target throws. Progress counts chain iterations (warm-up included).
McmcResult sampleMcmc(const BatchLogDensity& logDensity, const JointPrior& prior,
                      const McmcSettings& settings, const LoopControl& control = {});

// The same from given starting states (one row per chain, settings.chains rows, inside the
// prior's support; settings.init is not used), e.g. the chains of an earlier round.
McmcResult sampleMcmcFrom(const Matrix& initialStates, const BatchLogDensity& logDensity,
                          const JointPrior& prior, const McmcSettings& settings,
                          const LoopControl& control = {});

}  // namespace sbiw
