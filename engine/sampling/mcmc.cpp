#include "sampling/mcmc.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include <Eigen/Cholesky>

#include "core/random.h"
#include "priors/joint_prior.h"
#include "sampling/chain_diagnostics.h"

namespace sbiw {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kMinusInfinity = -kInfinity;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Streams under StreamPurpose::Sampling, far above the per-sample indices that posterior
// sampling uses: chain c moves with stream kChainStream + c, finds its start with
// kStartStream + c, and pool candidate i of "resample" comes from kPoolStream + i.
constexpr std::uint64_t kChainStream = 0x4D434D43'00000000ULL;  // "MCMC"
constexpr std::uint64_t kStartStream = kChainStream + (1ULL << 32);
constexpr std::uint64_t kPoolStream = kChainStream + (2ULL << 32);
constexpr std::uint64_t kWidthStream = kChainStream + (3ULL << 32);
// Prior draws whose spread in z space sets the initial step sizes there.
constexpr Eigen::Index kWidthDraws = 1000;

// Tries per chain to find a prior draw where the target is finite (prior init).
constexpr int kMaxStartAttempts = 1000;
// Pool candidates are evaluated in batches of this many rows (sbi's sir_batch_size).
constexpr std::int64_t kPoolBatch = 1000;

// What all chain groups share: the target, the support, the counters and the stop flag.
struct Run {
    Run(const BatchLogDensity& target, const JointPrior& prior, const McmcSettings& settings,
        const LoopControl& control)
        : target(target), prior(prior), settings(settings), control(control), start(Clock::now()) {}

    const BatchLogDensity& target;
    const JointPrior& prior;
    const McmcSettings& settings;
    const LoopControl& control;
    Clock::time_point start;
    int dimension = 0;
    // The chains' space: θ, or with settings.transform z = prior.toUnconstrained(θ), where every
    // coordinate is unbounded. "Points" below are in that space; starts and draws are mapped.
    bool transformed = false;
    std::vector<double> lower, upper;  // the support in the chains' space, per coordinate
    std::int64_t drawsPerChain = 0;
    std::int64_t iterationsPerChain = 0;

    std::atomic<bool> stop{false};
    std::atomic<std::int64_t> iterationsDone{0};
    std::atomic<std::int64_t> evaluations{0};
    std::atomic<std::int64_t> calls{0};

    double elapsed() const { return std::chrono::duration<double>(Clock::now() - start).count(); }

    // Workers poll this between calls of the target; the user's shouldCancel callback is only
    // called on the calling thread (by parallelChunks through phaseControl below).
    bool stopRequested() const {
        return stop.load(std::memory_order_relaxed) ||
               (control.cancelFlag && control.cancelFlag->load(std::memory_order_relaxed));
    }
    bool userCancelled() const {
        return (control.cancelFlag && control.cancelFlag->load()) ||
               (control.shouldCancel && control.shouldCancel());
    }

    // θ of a point (a copy in θ space, mapped in z space).
    Matrix parametersOf(const Matrix& points) const {
        return transformed ? prior.fromUnconstrained(points) : points;
    }
    Matrix pointsOf(const Matrix& theta) const {
        return transformed ? prior.toUnconstrained(theta) : theta;
    }
    // A prior draw as a point of the chains' space.
    void drawPoint(RandomStream& rng, double* out) const {
        prior.sample(rng, out);
        if (transformed) {
            std::vector<double> theta(out, out + dimension);
            prior.toUnconstrained(theta.data(), out);
        }
    }
    bool inSupport(const double* point) const {
        if (!transformed)
            return prior.inSupport(point);
        return std::all_of(point, point + dimension, [](double z) { return std::isfinite(z); });
    }
    // The prior's log-density at a point, in the chains' space (with the Jacobian in z space).
    double priorLogDensity(const double* point) const {
        if (!transformed)
            return prior.logProb(point);
        std::vector<double> theta(std::size_t(dimension), 0.0);
        prior.fromUnconstrained(point, theta.data());
        return prior.logProb(theta.data()) + prior.logAbsDetJacobian(point);
    }

    // The target at points of the chains' space: in z space log p(θ(z)) + log |dθ/dz|.
    Vector evaluate(const Matrix& points) {
        const Matrix rows = parametersOf(points);
        Vector values = target(rows);
        calls.fetch_add(1, std::memory_order_relaxed);
        evaluations.fetch_add(rows.rows(), std::memory_order_relaxed);
        if (values.size() != rows.rows()) {
            std::ostringstream text;
            text << "MCMC: the log-density returned " << values.size() << " values for "
                 << rows.rows() << " points";
            throw std::runtime_error(text.str());
        }
        for (Eigen::Index r = 0; r < values.size(); ++r) {
            if (std::isnan(values[r])) {
                values[r] = kMinusInfinity;
            } else if (values[r] == std::numeric_limits<double>::infinity()) {
                std::ostringstream text;
                text << "MCMC: the log-density is +infinity at (";
                for (int j = 0; j < rows.cols(); ++j)
                    text << (j ? ", " : "") << rows(r, j);
                text << ")";
                throw std::runtime_error(text.str());
            }
        }
        if (transformed)
            for (Eigen::Index r = 0; r < values.size(); ++r)
                if (values[r] != kMinusInfinity)
                    values[r] += prior.logAbsDetJacobian(points.row(r).data());
        return values;
    }
};

// Loop control for one parallel phase: the user's cancellation sets the shared stop flag that
// the workers poll, and progress is reported in chain iterations rather than in groups.
LoopControl phaseControl(Run& run) {
    LoopControl control;
    control.progressIntervalSeconds = run.control.progressIntervalSeconds;
    control.shouldCancel = [&run] {
        if (!run.stop && run.userCancelled())
            run.stop = true;
        return run.stop.load();
    };
    if (run.control.onProgress)
        control.onProgress = [&run](const LoopProgress&) {
            run.control.onProgress({run.iterationsDone.load(),
                                    run.iterationsPerChain * run.settings.chains, run.elapsed()});
        };
    return control;
}

// Chains are split into `groups` contiguous ranges, one parallel work item each.
int groupCount(const McmcSettings& settings) {
    return std::min(resolveThreadCount(settings.threads), settings.chains);
}
int groupBegin(int group, int groups, int chains) {
    return int(std::int64_t(group) * chains / groups);
}

struct ChainState {
    ChainState(int index, std::uint64_t seed, Vector start, double logDensity)
        : index(index),
          rng(seed, StreamPurpose::Sampling, kChainStream + std::uint64_t(index)),
          x(std::move(start)),
          logDensity(logDensity) {}

    int index;
    RandomStream rng;
    Vector x;
    double logDensity;
    std::int64_t iteration = 0;  // completed iterations
    std::int64_t kept = 0;       // draws stored
};

// Counts one completed iteration and keeps the state every `thinning` iterations after warm-up.
// Chain c writes only rows k * chains + c, so groups never write the same row.
void finishIteration(Run& run, ChainState& chain, Matrix& draws) {
    ++chain.iteration;
    const std::int64_t afterWarmup = chain.iteration - run.settings.warmupSteps;
    if (afterWarmup > 0 && afterWarmup % run.settings.thinning == 0 &&
        chain.kept < run.drawsPerChain) {
        draws.row(chain.kept * run.settings.chains + chain.index) = chain.x.transpose();
        ++chain.kept;
    }
    run.iterationsDone.fetch_add(1, std::memory_order_relaxed);
}

void shuffle(std::vector<int>& order, RandomStream& rng) {
    for (std::size_t i = order.size(); i > 1; --i)
        std::swap(order[i - 1], order[std::size_t(rng.below(i))]);
}

// ---------------------------------------------------------------------------------------------
// Slice sampling. Every chain is a small state machine (start a coordinate, step out, shrink);
// each round gathers the points every active chain needs next, evaluates them in one call and
// advances every chain by one stage.

struct SliceChain : ChainState {
    SliceChain(int index, std::uint64_t seed, Vector start, double logDensity, Vector width)
        : ChainState(index, seed, std::move(start), logDensity),
          width(std::move(width)),
          order(std::size_t(this->width.size())) {
        for (std::size_t i = 0; i < order.size(); ++i)
            order[i] = int(i);
    }

    enum class Stage { Start, Bracket, Shrink, Done };
    Vector width;            // bracket width per coordinate, tuned during warm-up
    std::vector<int> order;  // coordinates in this sweep's order
    std::size_t sweepPosition = 0;
    Stage stage = Stage::Start;

    int coordinate = 0;
    double origin = 0.0;  // the coordinate's current value
    double level = 0.0;   // log height of the slice
    double below = 0.0, above = 0.0;
    int stepsBelow = 0, stepsAbove = 0;
    bool belowOpen = false, aboveOpen = false;  // that end still needs an evaluation
    double candidate = 0.0;
    Eigen::Index rowBelow = -1, rowAbove = -1, rowCandidate = -1;
};

class SliceGroup {
  public:
    SliceGroup(Run& run, std::vector<SliceChain>& chains, int begin, int end, Matrix& draws)
        : run_(run), chains_(chains), begin_(begin), end_(end), draws_(draws) {}

    void run() {
        const int d = run_.dimension;
        for (;;) {
            if (run_.stopRequested())
                return;
            Eigen::Index rows = 0;
            for (int c = begin_; c < end_; ++c) {
                SliceChain& chain = chains_[std::size_t(c)];
                chain.rowBelow = chain.rowAbove = chain.rowCandidate = -1;
                if (chain.stage == SliceChain::Stage::Done)
                    continue;
                if (chain.stage == SliceChain::Stage::Start)
                    startCoordinate(chain);
                if (chain.stage == SliceChain::Stage::Bracket) {
                    if (chain.belowOpen)
                        chain.rowBelow = rows++;
                    if (chain.aboveOpen)
                        chain.rowAbove = rows++;
                } else {
                    chain.rowCandidate = rows++;
                }
            }
            if (rows == 0)
                return;  // every chain of the group is done

            Matrix batch(rows, d);
            for (int c = begin_; c < end_; ++c) {
                const SliceChain& chain = chains_[std::size_t(c)];
                auto put = [&](Eigen::Index row, double value) {
                    if (row < 0)
                        return;
                    batch.row(row) = chain.x.transpose();
                    batch(row, chain.coordinate) = value;
                };
                put(chain.rowBelow, chain.below);
                put(chain.rowAbove, chain.above);
                put(chain.rowCandidate, chain.candidate);
            }
            const Vector values = run_.evaluate(batch);
            for (int c = begin_; c < end_; ++c) {
                SliceChain& chain = chains_[std::size_t(c)];
                if (chain.stage == SliceChain::Stage::Bracket)
                    advanceBracket(chain, values);
                else if (chain.stage == SliceChain::Stage::Shrink)
                    advanceShrink(chain, values[chain.rowCandidate]);
            }
        }
    }

  private:
    // Neal's stepping-out with at most m steps, split at random between the two ends so that
    // the move stays reversible: J = floor(m V) below, m - 1 - J above.
    void startCoordinate(SliceChain& chain) {
        if (chain.sweepPosition == 0)
            shuffle(chain.order, chain.rng);
        const int i = chain.order[chain.sweepPosition];
        chain.coordinate = i;
        chain.origin = chain.x[i];
        chain.level = chain.logDensity + std::log(chain.rng.uniform());
        const double w = chain.width[i];
        chain.below = chain.origin - w * chain.rng.uniform();
        chain.above = chain.below + w;
        const int m = run_.settings.sliceMaxStepsOut;
        chain.stepsBelow = std::min(m - 1, int(std::floor(m * chain.rng.uniform())));
        chain.stepsAbove = m - 1 - chain.stepsBelow;
        chain.belowOpen = chain.stepsBelow > 0;
        chain.aboveOpen = chain.stepsAbove > 0;
        clipToSupport(chain);
        chain.stage = SliceChain::Stage::Bracket;
        if (!chain.belowOpen && !chain.aboveOpen)
            beginShrink(chain);
    }

    // Outside the support the target is -infinity, so an end there is known to be outside the
    // slice: the bracket stops at the bound without an evaluation. Points shrinkage would draw
    // beyond the bound are rejected anyway, so the accepted point has the same distribution.
    void clipToSupport(SliceChain& chain) const {
        const double low = run_.lower[std::size_t(chain.coordinate)];
        const double high = run_.upper[std::size_t(chain.coordinate)];
        if (chain.below <= low) {
            chain.below = low;
            chain.belowOpen = false;
        }
        if (chain.above >= high) {
            chain.above = high;
            chain.aboveOpen = false;
        }
    }

    void advanceBracket(SliceChain& chain, const Vector& values) {
        const double w = chain.width[chain.coordinate];
        if (chain.rowBelow >= 0) {
            if (values[chain.rowBelow] > chain.level) {
                chain.below -= w;
                chain.belowOpen = --chain.stepsBelow > 0;
            } else {
                chain.belowOpen = false;
            }
        }
        if (chain.rowAbove >= 0) {
            if (values[chain.rowAbove] > chain.level) {
                chain.above += w;
                chain.aboveOpen = --chain.stepsAbove > 0;
            } else {
                chain.aboveOpen = false;
            }
        }
        clipToSupport(chain);
        if (!chain.belowOpen && !chain.aboveOpen)
            beginShrink(chain);
    }

    void beginShrink(SliceChain& chain) {
        chain.candidate = chain.below + (chain.above - chain.below) * chain.rng.uniform();
        chain.stage = SliceChain::Stage::Shrink;
    }

    void advanceShrink(SliceChain& chain, double value) {
        if (value > chain.level) {
            chain.x[chain.coordinate] = chain.candidate;
            chain.logDensity = value;
            finishCoordinate(chain, true);
            return;
        }
        if (chain.candidate < chain.origin)
            chain.below = chain.candidate;
        else
            chain.above = chain.candidate;
        // The origin is always in the slice, so the bracket can only collapse onto it when the
        // target is not a function of θ alone (e.g. noisy): keep the current point then.
        if (chain.above - chain.below <= 1e-12 * std::max(1.0, std::abs(chain.origin))) {
            finishCoordinate(chain, false);
            return;
        }
        beginShrink(chain);
    }

    void finishCoordinate(SliceChain& chain, bool tune) {
        // sbi's tuning: the width becomes the running mean of the final brackets of warm-up.
        if (tune && chain.iteration < run_.settings.warmupSteps) {
            double& w = chain.width[chain.coordinate];
            w += ((chain.above - chain.below) - w) / double(chain.iteration + 1);
        }
        if (++chain.sweepPosition < chain.order.size()) {
            chain.stage = SliceChain::Stage::Start;
            return;
        }
        chain.sweepPosition = 0;
        finishIteration(run_, chain, draws_);
        chain.stage = chain.iteration == run_.iterationsPerChain ? SliceChain::Stage::Done
                                                                 : SliceChain::Stage::Start;
    }

    Run& run_;
    std::vector<SliceChain>& chains_;
    int begin_, end_;
    Matrix& draws_;
};

// Initial bracket width per coordinate: the prior's standard deviation, or the support's width
// where that is not finite, or 1. In z space: the standard deviation of prior draws mapped there.
Vector initialWidths(const Run& run) {
    const JointPrior& prior = run.prior;
    const int d = prior.dimension();
    Vector width(d);
    if (run.transformed) {
        Matrix points(kWidthDraws, d);
        RandomStream rng(run.settings.seed, StreamPurpose::Sampling, kWidthStream);
        for (Eigen::Index i = 0; i < points.rows(); ++i)
            run.drawPoint(rng, points.row(i).data());
        const Eigen::RowVectorXd mean = points.colwise().mean();
        for (int i = 0; i < d; ++i) {
            const double w = std::sqrt((points.col(i).array() - mean[i]).square().sum() /
                                       double(points.rows() - 1));
            width[i] = std::isfinite(w) && w > 0.0 ? w : 1.0;
        }
        return width;
    }
    const std::vector<double> variance = prior.variance();
    for (int i = 0; i < d; ++i) {
        const Interval support = prior.support(i);
        double w = std::sqrt(variance[std::size_t(i)]);
        if (!std::isfinite(w) || w <= 0.0)
            w = support.isBounded() ? support.upper - support.lower : 1.0;
        width[i] = w;
    }
    return width;
}

// Runs the slice sampler from the given states; returns every chain's number of kept draws.
std::vector<std::int64_t> runSlice(Run& run, const Matrix& starts, const Vector& startDensities,
                                   Matrix& draws, Vector& stepSize) {
    const Vector width = initialWidths(run);
    std::vector<SliceChain> chains;
    chains.reserve(std::size_t(run.settings.chains));
    for (int c = 0; c < run.settings.chains; ++c)
        chains.emplace_back(c, run.settings.seed, starts.row(c).transpose(), startDensities[c],
                            width);

    const int groups = groupCount(run.settings);
    parallelChunks(
        groups, groups, 1,
        [&](std::int64_t first, std::int64_t last) {
            for (std::int64_t g = first; g < last; ++g)
                SliceGroup(run, chains, groupBegin(int(g), groups, run.settings.chains),
                           groupBegin(int(g) + 1, groups, run.settings.chains), draws)
                    .run();
        },
        phaseControl(run));

    stepSize = Vector::Zero(run.dimension);
    std::vector<std::int64_t> kept;
    for (const SliceChain& chain : chains) {
        stepSize += chain.width;
        kept.push_back(chain.kept);
    }
    stepSize /= double(chains.size());
    return kept;
}

// ---------------------------------------------------------------------------------------------
// Random-walk Metropolis-Hastings: all chains of a group propose, one call evaluates the
// proposals inside the support, all chains accept or reject.

struct MhChain : ChainState {
    using ChainState::ChainState;
    double logScale = 0.0;  // log of the factor on the proposal's Cholesky factor
    Vector proposal;
    std::int64_t proposals = 0, accepted = 0;  // after warm-up
};

// Robbins-Monro gain for the scale adaptation, t steps after the adaptation (re)started.
double adaptationGain(std::int64_t t) {
    return std::pow(double(t + 1), -0.6);
}

class MhGroup {
  public:
    MhGroup(Run& run, std::vector<MhChain>& chains, int begin, int end, const Matrix& cholesky,
            Matrix& draws)
        : run_(run),
          chains_(chains),
          begin_(begin),
          end_(end),
          cholesky_(cholesky),
          draws_(draws) {}

    // Iterations [from, to); the scale adapts while in warm-up, counting from adaptationStart.
    // States of warm-up iterations from windowStart on are copied into `window` (if given) at
    // row (iteration - windowStart) * chains + chain.
    void run(std::int64_t from, std::int64_t to, std::int64_t adaptationStart, Matrix* window,
             std::int64_t windowStart) {
        const int d = run_.dimension;
        const int chainCount = run_.settings.chains;
        const double target = run_.settings.mhTargetAcceptance;
        std::vector<Eigen::Index> rowOf(std::size_t(end_ - begin_));
        Vector z(d), step(d);
        for (std::int64_t it = from; it < to; ++it) {
            if (run_.stopRequested())
                return;
            Eigen::Index rows = 0;
            for (int c = begin_; c < end_; ++c) {
                MhChain& chain = chains_[std::size_t(c)];
                for (int j = 0; j < d; ++j)
                    z[j] = chain.rng.normal();
                step.noalias() = cholesky_.triangularView<Eigen::Lower>() * z;
                chain.proposal = chain.x + std::exp(chain.logScale) * step;
                rowOf[std::size_t(c - begin_)] =
                    run_.inSupport(chain.proposal.data()) ? rows++ : -1;
            }
            Vector values;
            if (rows > 0) {
                Matrix batch(rows, d);
                for (int c = begin_; c < end_; ++c)
                    if (rowOf[std::size_t(c - begin_)] >= 0)
                        batch.row(rowOf[std::size_t(c - begin_)]) =
                            chains_[std::size_t(c)].proposal.transpose();
                values = run_.evaluate(batch);
            }
            const bool warmup = it < run_.settings.warmupSteps;
            for (int c = begin_; c < end_; ++c) {
                MhChain& chain = chains_[std::size_t(c)];
                const Eigen::Index row = rowOf[std::size_t(c - begin_)];
                bool accepted = false;
                if (row >= 0) {
                    const double value = values[row];
                    accepted = std::log(chain.rng.uniform()) < value - chain.logDensity;
                    if (accepted) {
                        chain.x = chain.proposal;
                        chain.logDensity = value;
                    }
                }
                if (warmup) {
                    chain.logScale +=
                        adaptationGain(it - adaptationStart) * ((accepted ? 1.0 : 0.0) - target);
                    if (window && it >= windowStart)
                        window->row((it - windowStart) * chainCount + c) = chain.x.transpose();
                } else {
                    ++chain.proposals;
                    if (accepted)
                        ++chain.accepted;
                }
                finishIteration(run_, chain, draws_);
            }
        }
    }

  private:
    Run& run_;
    std::vector<MhChain>& chains_;
    int begin_, end_;
    const Matrix& cholesky_;
    Matrix& draws_;
};

Matrix covarianceOf(const Matrix& rows) {
    const Eigen::RowVectorXd mean = rows.colwise().mean();
    const Matrix centred = rows.rowwise() - mean;
    return (centred.transpose() * centred) / double(std::max<Eigen::Index>(rows.rows() - 1, 1));
}

// Lower Cholesky factor of a covariance, or nothing when it is not positive definite.
std::optional<Matrix> choleskyOf(const Matrix& covariance) {
    if (!covariance.allFinite())
        return std::nullopt;
    Eigen::LLT<Eigen::MatrixXd> llt(covariance);
    if (llt.info() != Eigen::Success)
        return std::nullopt;
    Matrix lower = llt.matrixL();
    for (Eigen::Index i = 0; i < lower.rows(); ++i)
        if (!(lower(i, i) > 0.0))
            return std::nullopt;
    return lower;
}

// The first proposal covariance: the spread of the starting states when there are enough of
// them to estimate it (after "resample" this is already close to the posterior's), otherwise
// independent coordinates with the initial slice widths as standard deviations.
Matrix initialProposalFactor(const Matrix& starts, const Run& run) {
    if (starts.rows() > starts.cols())
        if (auto lower = choleskyOf(covarianceOf(starts)))
            return *lower;
    const Vector width = initialWidths(run);
    return width.asDiagonal();
}

std::vector<std::int64_t> runMh(Run& run, const Matrix& starts, const Vector& startDensities,
                                Matrix& draws, Vector& stepSize, double& acceptanceRate) {
    const int d = run.dimension;
    const int chainCount = run.settings.chains;
    const double initialLogScale = std::log(2.38 / std::sqrt(double(d)));
    std::vector<MhChain> chains;
    chains.reserve(std::size_t(chainCount));
    for (int c = 0; c < chainCount; ++c) {
        chains.emplace_back(c, run.settings.seed, starts.row(c).transpose(), startDensities[c]);
        chains.back().logScale = initialLogScale;
    }
    Matrix cholesky = initialProposalFactor(starts, run);

    const int groups = groupCount(run.settings);
    auto phase = [&](std::int64_t from, std::int64_t to, Matrix* window, std::int64_t windowStart) {
        parallelChunks(
            groups, groups, 1,
            [&](std::int64_t first, std::int64_t last) {
                for (std::int64_t g = first; g < last; ++g)
                    MhGroup(run, chains, groupBegin(int(g), groups, chainCount),
                            groupBegin(int(g) + 1, groups, chainCount), cholesky, draws)
                        .run(from, to, from, window, windowStart);
            },
            phaseControl(run));
    };

    // Warm-up in two halves: the first adapts the scale of the initial proposal and records
    // its second half; between them the proposal takes the covariance of those states, pooled
    // over all chains (computed in chain order, so the same for every thread count).
    const std::int64_t warmup = run.settings.warmupSteps;
    const std::int64_t firstHalf = warmup >= 10 ? warmup / 2 : 0;
    if (firstHalf > 0) {
        const std::int64_t windowStart = firstHalf / 2;
        Matrix window((firstHalf - windowStart) * chainCount, d);
        phase(0, firstHalf, &window, windowStart);
        if (!run.stop) {
            if (auto lower = choleskyOf(covarianceOf(window)))
                cholesky = *lower;
            for (MhChain& chain : chains)
                chain.logScale = initialLogScale;
        }
    }
    if (!run.stop)
        phase(firstHalf, run.iterationsPerChain, nullptr, 0);

    stepSize = Vector::Zero(d);
    const Vector factorScale = cholesky.rowwise().norm();  // sqrt(diag(L L^T))
    std::int64_t proposals = 0, accepted = 0;
    std::vector<std::int64_t> kept;
    for (const MhChain& chain : chains) {
        stepSize += std::exp(chain.logScale) * factorScale;
        proposals += chain.proposals;
        accepted += chain.accepted;
        kept.push_back(chain.kept);
    }
    stepSize /= double(chainCount);
    acceptanceRate = proposals > 0 ? double(accepted) / double(proposals) : kNaN;
    return kept;
}

// ---------------------------------------------------------------------------------------------
// Starting states.

struct Starts {
    Matrix states;
    Vector logDensity;
    bool cancelled = false;
};

Starts priorStarts(Run& run) {
    const int chains = run.settings.chains, d = run.dimension;
    Starts starts;
    starts.states.resize(chains, d);
    std::vector<RandomStream> streams;
    streams.reserve(std::size_t(chains));
    for (int c = 0; c < chains; ++c) {
        streams.emplace_back(run.settings.seed, StreamPurpose::Sampling,
                             kStartStream + std::uint64_t(c));
        run.drawPoint(streams.back(), starts.states.row(c).data());
    }
    starts.logDensity = run.evaluate(starts.states);
    // Redraw (from the chain's own stream) where the target is -infinity, all such chains in
    // one call per attempt.
    for (int attempt = 1;; ++attempt) {
        std::vector<int> pending;
        for (int c = 0; c < chains; ++c)
            if (starts.logDensity[c] == kMinusInfinity)
                pending.push_back(c);
        if (pending.empty())
            return starts;
        if (attempt == kMaxStartAttempts)
            throw std::runtime_error(
                "MCMC: no prior draw with a finite log-density was found for chain " +
                std::to_string(pending.front()) + " in " + std::to_string(kMaxStartAttempts) +
                " tries; the target may be -infinity almost everywhere");
        if (run.userCancelled()) {
            starts.cancelled = true;
            return starts;
        }
        Matrix redraw(Eigen::Index(pending.size()), d);
        for (std::size_t k = 0; k < pending.size(); ++k)
            run.drawPoint(streams[std::size_t(pending[k])], redraw.row(Eigen::Index(k)).data());
        const Vector values = run.evaluate(redraw);
        for (std::size_t k = 0; k < pending.size(); ++k) {
            starts.states.row(pending[k]) = redraw.row(Eigen::Index(k));
            starts.logDensity[pending[k]] = values[Eigen::Index(k)];
        }
    }
}

// Sampling-importance-resampling (Rubin 1988): a pool of prior draws weighted by
// target / prior (the likelihood, for a posterior target); every chain starts at one draw picked
// with probability proportional to its weight.
Starts resampleStarts(Run& run) {
    const int chains = run.settings.chains, d = run.dimension;
    const std::int64_t pool = run.settings.resampleCandidates;
    Starts starts;
    Matrix candidates(pool, d);
    for (std::int64_t i = 0; i < pool; ++i) {
        RandomStream rng(run.settings.seed, StreamPurpose::Sampling,
                         kPoolStream + std::uint64_t(i));
        run.drawPoint(rng, candidates.row(i).data());
    }
    Vector values(pool);
    parallelChunks((pool + kPoolBatch - 1) / kPoolBatch, resolveThreadCount(run.settings.threads),
                   1,
                   [&](std::int64_t first, std::int64_t last) {
                       for (std::int64_t b = first; b < last; ++b) {
                           const std::int64_t begin = b * kPoolBatch;
                           const std::int64_t count = std::min(kPoolBatch, pool - begin);
                           if (run.stopRequested())
                               return;
                           values.segment(begin, count) =
                               run.evaluate(candidates.middleRows(begin, count).eval());
                       }
                   },
                   phaseControl(run));
    if (run.stop) {
        starts.cancelled = true;
        return starts;
    }

    Vector logWeight(pool);
    double largest = kMinusInfinity;
    for (std::int64_t i = 0; i < pool; ++i) {
        logWeight[i] = values[i] == kMinusInfinity
                           ? kMinusInfinity
                           : values[i] - run.priorLogDensity(candidates.row(i).data());
        if (std::isnan(logWeight[i]))
            logWeight[i] = kMinusInfinity;
        largest = std::max(largest, logWeight[i]);
    }
    if (largest == kMinusInfinity)
        throw std::runtime_error("MCMC: the log-density is -infinity at all " +
                                 std::to_string(pool) +
                                 " prior draws used to initialise the chains");
    std::vector<double> cumulative(static_cast<std::size_t>(pool));
    double total = 0.0;
    for (std::int64_t i = 0; i < pool; ++i) {
        total += std::exp(logWeight[i] - largest);
        cumulative[std::size_t(i)] = total;
    }
    starts.states.resize(chains, d);
    starts.logDensity.resize(chains);
    for (int c = 0; c < chains; ++c) {
        RandomStream rng(run.settings.seed, StreamPurpose::Sampling,
                         kStartStream + std::uint64_t(c));
        const double u = rng.uniform() * total;
        const auto at = std::upper_bound(cumulative.begin(), cumulative.end(), u);
        const std::int64_t pick = std::min<std::int64_t>(at - cumulative.begin(), pool - 1);
        starts.states.row(c) = candidates.row(pick);
        starts.logDensity[c] = values[pick];
    }
    return starts;
}

Starts givenStarts(Run& run, const Matrix& states) {
    const int chains = run.settings.chains, d = run.dimension;
    if (states.rows() != chains || states.cols() != d)
        throw std::invalid_argument(
            "MCMC: the initial states are " + std::to_string(states.rows()) + " x " +
            std::to_string(states.cols()) + " but " + std::to_string(chains) + " chains x " +
            std::to_string(d) + " parameters are needed");
    for (int c = 0; c < chains; ++c)
        if (!states.row(c).allFinite() || !run.prior.inSupport(states.row(c).data()))
            throw std::invalid_argument("MCMC: the initial state of chain " + std::to_string(c) +
                                        " is not a finite point inside the prior's support");
    Starts starts;
    starts.states = run.pointsOf(states);
    starts.logDensity = run.evaluate(starts.states);
    for (int c = 0; c < chains; ++c)
        if (starts.logDensity[c] == kMinusInfinity)
            throw std::invalid_argument(
                "MCMC: the log-density is -infinity at the initial state "
                "of chain " +
                std::to_string(c));
    return starts;
}

McmcResult runMcmc(const Matrix* initialStates, const BatchLogDensity& logDensity,
                   const JointPrior& prior, const McmcSettings& settings,
                   const LoopControl& control) {
    throwIfProblems(settings.validate());
    if (prior.dimension() < 1)
        throw std::invalid_argument("MCMC: the prior has no parameters");
    if (!logDensity)
        throw std::invalid_argument("MCMC: no log-density given");

    Run run(logDensity, prior, settings, control);
    run.dimension = prior.dimension();
    run.transformed = settings.transform;
    for (int i = 0; i < run.dimension; ++i) {
        const Interval support =
            run.transformed ? Interval{-kInfinity, kInfinity} : prior.support(i);
        run.lower.push_back(support.lower);
        run.upper.push_back(support.upper);
    }
    run.drawsPerChain = (settings.samples + settings.chains - 1) / settings.chains;
    run.iterationsPerChain = settings.warmupSteps + settings.thinning * run.drawsPerChain;

    McmcResult result;
    result.chains = settings.chains;
    result.acceptanceRate = kNaN;
    result.rhat = result.ess = result.stepSize = Vector::Constant(run.dimension, kNaN);

    Starts starts;
    if (run.userCancelled())
        starts.cancelled = true;
    else if (initialStates)
        starts = givenStarts(run, *initialStates);
    else if (settings.init == McmcInit::Prior)
        starts = priorStarts(run);
    else
        starts = resampleStarts(run);
    result.initEvaluations = run.evaluations.load();

    std::int64_t kept = 0;
    Matrix draws;
    if (!starts.cancelled) {
        draws.resize(run.drawsPerChain * settings.chains, run.dimension);
        const std::vector<std::int64_t> keptPerChain =
            settings.method == McmcMethod::Slice
                ? runSlice(run, starts.states, starts.logDensity, draws, result.stepSize)
                : runMh(run, starts.states, starts.logDensity, draws, result.stepSize,
                        result.acceptanceRate);
        kept = *std::min_element(keptPerChain.begin(), keptPerChain.end());
    }
    // A worker that saw the cancel flag returns early without setting `stop` itself.
    result.cancelled = starts.cancelled || run.stop.load() || kept < run.drawsPerChain;

    // Every chain contributes the same number of draws, also when cancelled.
    result.drawsPerChain = int(kept);
    result.draws = run.parametersOf(draws.topRows(kept * settings.chains));
    result.samples =
        result.draws.topRows(std::min<std::int64_t>(settings.samples, result.draws.rows()));
    if (kept > 0) {
        std::vector<Matrix> chains(std::size_t(settings.chains), Matrix(kept, run.dimension));
        for (std::int64_t k = 0; k < kept; ++k)
            for (int c = 0; c < settings.chains; ++c)
                chains[std::size_t(c)].row(k) = result.draws.row(k * settings.chains + c);
        result.rhat = splitRhat(chains);
        result.ess = effectiveSampleSize(chains);
    }
    result.evaluations = run.evaluations.load();
    result.targetCalls = run.calls.load();
    if (result.draws.rows() > 0)
        result.evaluationsPerSample =
            double(result.evaluations - result.initEvaluations) / double(result.draws.rows());
    result.elapsedSeconds = run.elapsed();
    if (control.onProgress)
        control.onProgress({run.iterationsDone.load(), run.iterationsPerChain * settings.chains,
                            result.elapsedSeconds});
    return result;
}

}  // namespace

std::string toString(McmcMethod method) {
    return method == McmcMethod::Slice ? "slice" : "mh";
}

std::string toString(McmcInit init) {
    return init == McmcInit::Prior ? "prior" : "resample";
}

std::optional<McmcMethod> parseMcmcMethod(const std::string& name) {
    if (name == "slice")
        return McmcMethod::Slice;
    if (name == "mh")
        return McmcMethod::MetropolisHastings;
    return std::nullopt;
}

std::optional<McmcInit> parseMcmcInit(const std::string& name) {
    if (name == "prior")
        return McmcInit::Prior;
    if (name == "resample")
        return McmcInit::Resample;
    return std::nullopt;
}

Problems McmcSettings::validate() const {
    Problems problems;
    if (method != McmcMethod::Slice && method != McmcMethod::MetropolisHastings)
        problems.push_back({"method", "must be slice or mh"});
    if (chains < 1)
        problems.push_back({"chains", "must be at least 1"});
    if (warmupSteps < 0)
        problems.push_back({"warmupSteps", "must not be negative"});
    if (thinning < 1)
        problems.push_back({"thinning", "must be at least 1"});
    if (samples < 1)
        problems.push_back({"samples", "must be at least 1"});
    if (init != McmcInit::Prior && init != McmcInit::Resample)
        problems.push_back({"init", "must be prior or resample"});
    if (resampleCandidates < 1)
        problems.push_back({"resampleCandidates", "must be at least 1"});
    if (threads < 0)
        problems.push_back({"threads", "must be 0 (all cores) or positive"});
    if (sliceMaxStepsOut < 1)
        problems.push_back({"sliceMaxStepsOut", "must be at least 1"});
    if (!(mhTargetAcceptance > 0.0 && mhTargetAcceptance < 1.0))
        problems.push_back({"mhTargetAcceptance", "must be between 0 and 1 (exclusive)"});
    // Iterations per chain must stay countable (and the run finite).
    if (chains >= 1 && thinning >= 1 && samples >= 1 && warmupSteps >= 0) {
        const std::int64_t perChain = (samples + chains - 1) / chains;
        if (perChain > (std::int64_t(1) << 40) / thinning)
            problems.push_back({"samples", "too many iterations per chain"});
    }
    return problems;
}

McmcResult sampleMcmc(const BatchLogDensity& logDensity, const JointPrior& prior,
                      const McmcSettings& settings, const LoopControl& control) {
    return runMcmc(nullptr, logDensity, prior, settings, control);
}

McmcResult sampleMcmcFrom(const Matrix& initialStates, const BatchLogDensity& logDensity,
                          const JointPrior& prior, const McmcSettings& settings,
                          const LoopControl& control) {
    return runMcmc(&initialStates, logDensity, prior, settings, control);
}

}  // namespace sbiw
