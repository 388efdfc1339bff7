#include "abc/abc.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include <Eigen/Cholesky>
#include <Eigen/QR>

#include "core/random.h"
#include "priors/joint_prior.h"
#include "simulators/batch_simulation.h"
#include "simulators/simulator.h"

namespace sbiw {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kMinusInfinity = -kInfinity;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Streams under StreamPurpose::Abc: SMC candidate θ number i perturbs with kPerturbStream + i,
// population t resamples with kResampleStream + t, and posterior sample i without KDE is drawn
// with kPosteriorStream + i.
constexpr std::uint64_t kPerturbStream = 0x41424300'00000000ULL;  // "ABC"
constexpr std::uint64_t kResampleStream = kPerturbStream + (1ULL << 40);
constexpr std::uint64_t kPosteriorStream = kPerturbStream + (2ULL << 40);
// Perturbations that leave the support are redrawn (particle and offset) this often at most.
constexpr int kMaxPerturbAttempts = 1000;

// The summary statistics of one θ's data, as SummarySettings describes them.
class Summaries {
  public:
    Summaries(const SummarySettings& settings, int dataDimension, Eigen::Index observationRows)
        : kind_(settings.kind), dataDimension_(dataDimension), rows_(observationRows) {
        Problems problems;
        for (std::size_t i = 0; kind_ != SummaryKind::Identity && i < settings.columns.size(); ++i)
            if (settings.columns[i] >= dataDimension)
                problems.push_back({"summary.columns[" + std::to_string(i) + "]",
                                    "column " + std::to_string(settings.columns[i]) +
                                        " does not exist (the data have " +
                                        std::to_string(dataDimension) + " columns)"});
        throwIfProblems(problems);
        if (kind_ == SummaryKind::IidMeanStd && rows_ < 2)
            throw std::invalid_argument(
                "ABC: summary iid_mean_std needs an observation of at least 2 i.i.d. rows, got " +
                std::to_string(rows_));
        if (kind_ != SummaryKind::IidMeanStd && rows_ != 1)
            throw std::invalid_argument("ABC: the observation has " + std::to_string(rows_) +
                                        " rows; i.i.d. observations need summary iid_mean_std");
        if (kind_ == SummaryKind::Identity || settings.columns.empty()) {
            columns_.resize(std::size_t(dataDimension));
            std::iota(columns_.begin(), columns_.end(), 0);
        } else {
            columns_ = settings.columns;
        }
    }

    int dimension() const {
        return int(columns_.size()) * (kind_ == SummaryKind::IidMeanStd ? 2 : 1);
    }
    Eigen::Index rowsPerTheta() const { return rows_; }

    // x: rowsPerTheta() consecutive data rows of one θ (row-major).
    void compute(const double* x, double* out) const {
        const std::size_t used = columns_.size();
        if (kind_ != SummaryKind::IidMeanStd) {
            for (std::size_t c = 0; c < used; ++c)
                out[c] = x[columns_[c]];
            return;
        }
        for (std::size_t c = 0; c < used; ++c) {
            double mean = 0.0;
            for (Eigen::Index r = 0; r < rows_; ++r)
                mean += x[r * dataDimension_ + columns_[c]];
            mean /= double(rows_);
            double squares = 0.0;
            for (Eigen::Index r = 0; r < rows_; ++r) {
                const double delta = x[r * dataDimension_ + columns_[c]] - mean;
                squares += delta * delta;
            }
            out[c] = mean;
            out[used + c] = std::sqrt(squares / double(rows_ - 1));
        }
    }

    // x: rowsPerTheta() rows per θ, θ after θ; one summary row per θ.
    Matrix computeAll(const Matrix& x) const {
        const Eigen::Index count = x.rows() / rows_;
        Matrix out(count, dimension());
        for (Eigen::Index i = 0; i < count; ++i)
            compute(x.row(i * rows_).data(), out.row(i).data());
        return out;
    }

  private:
    SummaryKind kind_;
    int dataDimension_;
    Eigen::Index rows_;
    std::vector<int> columns_;
};

// Spread of every column for z-scoring: the median absolute deviation times 1.4826 (the
// standard deviation for normal data, but not pulled by outliers), else the standard deviation,
// else 1; non-finite values are ignored.
Vector robustScales(const Matrix& summaries) {
    Vector scale = Vector::Ones(summaries.cols());
    for (Eigen::Index c = 0; c < summaries.cols(); ++c) {
        std::vector<double> values;
        for (Eigen::Index r = 0; r < summaries.rows(); ++r)
            if (std::isfinite(summaries(r, c)))
                values.push_back(summaries(r, c));
        if (values.size() < 2)
            continue;
        auto median = [](std::vector<double> v) {
            const std::size_t mid = v.size() / 2;
            std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(mid), v.end());
            double m = v[mid];
            if (v.size() % 2 == 0)
                m = 0.5 * (m + *std::max_element(v.begin(), v.begin() + std::ptrdiff_t(mid)));
            return m;
        };
        const double centre = median(values);
        std::vector<double> deviations;
        for (double v : values)
            deviations.push_back(std::abs(v - centre));
        double spread = 1.4826 * median(deviations);
        if (!(spread > 0.0)) {
            const double mean = std::accumulate(values.begin(), values.end(), 0.0) / values.size();
            double squares = 0.0;
            for (double v : values)
                squares += (v - mean) * (v - mean);
            spread = std::sqrt(squares / double(values.size() - 1));
        }
        if (spread > 0.0 && std::isfinite(spread))
            scale[c] = spread;
    }
    return scale;
}

// State shared by both algorithms: the summaries, the observed summary, the distance and the
// budget bookkeeping.
class AbcRun {
  public:
    AbcRun(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
           const AbcSettings& settings, const LoopControl& control)
        : prior(prior),
          simulator(simulator),
          settings(settings),
          control(control),
          start(Clock::now()),
          summaries(checked(prior, simulator, observation, settings), simulator.dataDimension(),
                    observation.rows()) {
        observed.resize(summaries.dimension());
        summaries.compute(observation.data(), observed.data());
        scale = Vector::Ones(summaries.dimension());
        thetaBudget = settings.simulations / summaries.rowsPerTheta();
        if (thetaBudget < 1)
            throw std::invalid_argument("ABC: a budget of " + std::to_string(settings.simulations) +
                                        " simulations is less than one θ (" +
                                        std::to_string(summaries.rowsPerTheta()) +
                                        " simulations each, one per observation row)");
    }

    // Simulates every row of `theta` once per observation row, continuing the simulation
    // indices, and returns one summary row per θ (empty when cancelled).
    Matrix simulate(const Matrix& theta) {
        // Checked here too: a fast batch can finish before parallelChunks polls the flag.
        if ((control.cancelFlag && control.cancelFlag->load()) ||
            (control.shouldCancel && control.shouldCancel())) {
            cancelled = true;
            return {};
        }
        const Eigen::Index rows = summaries.rowsPerTheta();
        Matrix repeated;
        if (rows > 1) {
            repeated.resize(theta.rows() * rows, theta.cols());
            for (Eigen::Index i = 0; i < theta.rows(); ++i)
                for (Eigen::Index k = 0; k < rows; ++k)
                    repeated.row(i * rows + k) = theta.row(i);
        }
        SimulationOptions options;
        options.seed = settings.seed;
        options.threads = settings.threads;
        options.firstIndex = simulationsUsed;
        LoopControl inner;
        inner.cancelFlag = control.cancelFlag;
        inner.shouldCancel = control.shouldCancel;
        inner.progressIntervalSeconds = control.progressIntervalSeconds;
        if (control.onProgress)
            inner.onProgress = [this](const LoopProgress& p) {
                control.onProgress(
                    {simulationsUsed + p.completed, settings.simulations, elapsed()});
            };
        const SimulationBatch batch =
            simulateAt(rows > 1 ? repeated : theta, simulator, options, inner);
        if (batch.cancelled) {
            cancelled = true;
            return {};
        }
        simulationsUsed += batch.count();
        return summaries.computeAll(batch.x);
    }

    // Distance of every summary row to the observation (+infinity for non-finite summaries).
    Vector distancesTo(const Matrix& s) const {
        Vector out(s.rows());
        for (Eigen::Index i = 0; i < s.rows(); ++i) {
            const Eigen::ArrayXd delta = (s.row(i).transpose() - observed).array() / scale.array();
            const double d = settings.distance == AbcDistance::L2 ? std::sqrt(delta.square().sum())
                                                                  : delta.abs().sum();
            out[i] = std::isfinite(d) ? d : kInfinity;
        }
        return out;
    }

    double elapsed() const { return std::chrono::duration<double>(Clock::now() - start).count(); }

    const JointPrior& prior;
    const Simulator& simulator;
    const AbcSettings& settings;
    const LoopControl& control;
    Clock::time_point start;
    Summaries summaries;
    Vector observed;  // the observation's summary
    Vector scale;     // divides every summary in the distance
    std::int64_t thetaBudget = 0;
    std::int64_t simulationsUsed = 0;
    bool cancelled = false;

  private:
    static const SummarySettings& checked(const JointPrior& prior, const Simulator& simulator,
                                          const Matrix& observation, const AbcSettings& settings) {
        if (prior.dimension() != simulator.parameterDimension())
            throw std::invalid_argument("ABC: the prior has " + std::to_string(prior.dimension()) +
                                        " parameters but the simulator takes " +
                                        std::to_string(simulator.parameterDimension()));
        if (observation.rows() < 1 || observation.cols() != simulator.dataDimension())
            throw std::invalid_argument(
                "ABC: the observation is " + std::to_string(observation.rows()) + " x " +
                std::to_string(observation.cols()) + " but the simulator gives " +
                std::to_string(simulator.dataDimension()) + " columns per row");
        if (!observation.allFinite())
            throw std::invalid_argument("ABC: the observation has non-finite values");
        return settings.summary;
    }
};

// A weighted set of particles with their summaries and distances.
struct Population {
    Matrix theta;
    Matrix summaries;
    Vector distances;
    Vector weights;  // normalised

    Eigen::Index size() const { return theta.rows(); }
};

Population selectRows(const Matrix& theta, const Matrix& summaries, const Vector& distances,
                      const std::vector<Eigen::Index>& rows) {
    Population p;
    const Eigen::Index n = Eigen::Index(rows.size());
    p.theta.resize(n, theta.cols());
    p.summaries.resize(n, summaries.cols());
    p.distances.resize(n);
    for (Eigen::Index k = 0; k < n; ++k) {
        p.theta.row(k) = theta.row(rows[std::size_t(k)]);
        p.summaries.row(k) = summaries.row(rows[std::size_t(k)]);
        p.distances[k] = distances[rows[std::size_t(k)]];
    }
    p.weights = Vector::Constant(n, 1.0 / double(std::max<Eigen::Index>(n, 1)));
    return p;
}

// Adds particles (and their summaries and distances) below those of `to`.
void appendParticles(Population& to, const Matrix& theta, const Matrix& summaries,
                     const Vector& distances) {
    appendRows(to.theta, theta);
    appendRows(to.summaries, summaries);
    const Eigen::Index before = to.distances.size();
    to.distances.conservativeResize(before + distances.size());
    to.distances.tail(distances.size()) = distances;
}

// Indices of the `count` smallest finite distances, closest first (ties by index).
std::vector<Eigen::Index> closest(const Vector& distances, std::int64_t count) {
    std::vector<Eigen::Index> order;
    for (Eigen::Index i = 0; i < distances.size(); ++i)
        if (std::isfinite(distances[i]))
            order.push_back(i);
    auto byDistance = [&](Eigen::Index a, Eigen::Index b) {
        return distances[a] < distances[b] || (distances[a] == distances[b] && a < b);
    };
    const std::size_t kept = std::min(order.size(), std::size_t(std::max<std::int64_t>(count, 0)));
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(kept), order.end(), byDistance);
    order.resize(kept);
    return order;
}

double effectiveSize(const Vector& weights) {
    return 1.0 / weights.squaredNorm();
}

// Index drawn with probability proportional to weight (cumulative sums given).
Eigen::Index drawIndex(const Vector& cumulative, RandomStream& rng) {
    const double u = rng.uniform() * cumulative[cumulative.size() - 1];
    const double* at =
        std::upper_bound(cumulative.data(), cumulative.data() + cumulative.size(), u);
    return std::min<Eigen::Index>(at - cumulative.data(), cumulative.size() - 1);
}

Vector cumulativeSums(const Vector& weights) {
    Vector out(weights.size());
    double running = 0.0;
    for (Eigen::Index i = 0; i < weights.size(); ++i)
        out[i] = running += weights[i];
    return out;
}

// Beaumont, Zhang & Balding (2002), without the Epanechnikov kernel (as sbi): weighted
// least squares of z = unconstrained(θ) on [1, s - s_o], then z - B (s - s_o).
bool adjustByRegression(const JointPrior& prior, Population& population, const Vector& weights,
                        const Vector& observed, const Vector& scale) {
    const Eigen::Index n = population.size(), k = population.summaries.cols();
    if (n <= k + 1)
        return false;
    Matrix design(n, k + 1);
    design.col(0).setOnes();
    for (Eigen::Index i = 0; i < n; ++i)
        design.row(i).tail(k) =
            ((population.summaries.row(i).transpose() - observed).array() / scale.array())
                .transpose();
    if (!design.allFinite())
        return false;
    const Matrix z = prior.toUnconstrained(population.theta);
    const Vector root = weights.array().sqrt();
    const Eigen::MatrixXd weightedDesign = root.asDiagonal() * design;
    const Eigen::MatrixXd weightedZ = root.asDiagonal() * z;
    Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(weightedDesign);
    if (qr.rank() < k + 1)
        return false;
    const Eigen::MatrixXd beta = qr.solve(weightedZ);  // (k+1) x d
    const Matrix adjustedZ = z - design.rightCols(k) * beta.bottomRows(k);
    const Matrix adjusted = prior.fromUnconstrained(adjustedZ);
    if (!adjusted.allFinite())
        return false;
    for (Eigen::Index i = 0; i < n; ++i)
        if (!prior.inSupport(adjusted.row(i).data()))
            return false;
    population.theta = adjusted;
    return true;
}

// Regression adjustment, then the posterior samples, into the result. With `useWeights`
// false both treat the particles as equally likely (the result still reports the weights).
void finish(AbcRun& run, Population population, bool useWeights, AbcResult& result) {
    const AbcSettings& s = run.settings;
    const Eigen::Index n = population.size();
    const Vector weights = useWeights ? population.weights : Vector::Constant(n, 1.0 / double(n));
    if (s.regressionAdjustment)
        result.regressionAdjusted =
            adjustByRegression(run.prior, population, weights, run.observed, run.scale);
    result.kdeBandwidth = kNaN;
    if (s.kdeEnabled) {
        const GaussianKde kde(population.theta, weights, s.kdeBandwidth, s.kdeFixedBandwidth);
        result.samples = kde.sample(s.posteriorSamples, s.seed, &run.prior);
        result.kdeBandwidth = kde.bandwidth();
    } else {
        const Vector cumulative = cumulativeSums(weights);
        result.samples.resize(s.posteriorSamples, population.theta.cols());
        for (std::int64_t i = 0; i < s.posteriorSamples; ++i) {
            RandomStream rng(s.seed, StreamPurpose::Abc, kPosteriorStream + std::uint64_t(i));
            result.samples.row(i) = population.theta.row(drawIndex(cumulative, rng));
        }
    }
    result.particles = std::move(population.theta);
    result.weights = std::move(population.weights);
    result.distances = std::move(population.distances);
}

void finishReport(const AbcRun& run, AbcResult& result) {
    result.simulations = run.simulationsUsed;
    result.cancelled = run.cancelled;
    result.elapsedSeconds = run.elapsed();
}

// Weighted quantile: the smallest distance whose cumulative weight (closest first) reaches q.
double weightedQuantile(const Vector& distances, const Vector& weights, double q) {
    std::vector<Eigen::Index> order(static_cast<std::size_t>(distances.size()));
    std::iota(order.begin(), order.end(), Eigen::Index(0));
    std::sort(order.begin(), order.end(),
              [&](Eigen::Index a, Eigen::Index b) { return distances[a] < distances[b]; });
    const double total = weights.sum();
    double running = 0.0;
    for (Eigen::Index i : order) {
        running += weights[i];
        if (running >= q * total)
            return distances[i];
    }
    return distances[order.back()];
}

// Lower Cholesky factor of scale x the weighted covariance of the particles; independent
// coordinates (tiny where a coordinate does not vary) when that is singular.
Matrix kernelFactor(const Population& p, double scale) {
    const Eigen::Index d = p.theta.cols();
    const Eigen::RowVectorXd mean = p.weights.transpose() * p.theta;
    const Matrix centred = p.theta.rowwise() - mean;
    const double correction = std::max(1.0 - p.weights.squaredNorm(), 1e-12);
    const Matrix covariance =
        scale * (centred.transpose() * p.weights.asDiagonal() * centred) / correction;
    Eigen::LLT<Eigen::MatrixXd> llt(covariance);
    if (llt.info() == Eigen::Success) {
        Matrix lower = llt.matrixL();
        if ((lower.diagonal().array() > 0.0).all())
            return lower;
    }
    Matrix lower = Matrix::Zero(d, d);
    for (Eigen::Index j = 0; j < d; ++j)
        lower(j, j) = covariance(j, j) > 0.0 ? std::sqrt(covariance(j, j))
                                             : 1e-6 * std::max(1.0, std::abs(mean[j]));
    return lower;
}

// Candidates for θ numbers [first, first + count): a particle drawn by weight, moved by the
// kernel, redrawn until inside the support. Redrawing the particle too (not only the offset)
// makes the candidates' density the kernel mixture restricted to the support, whose normaliser is
// one constant, so the importance weights below need no correction for the bounds.
Matrix perturb(const Population& p, const Vector& cumulative, const Matrix& factor,
               const JointPrior& prior, std::uint64_t seed, std::int64_t first,
               std::int64_t count) {
    const Eigen::Index d = p.theta.cols();
    Matrix out(count, d);
    Vector z(d);
    for (std::int64_t i = 0; i < count; ++i) {
        RandomStream rng(seed, StreamPurpose::Abc, kPerturbStream + std::uint64_t(first + i));
        for (int attempt = 0;; ++attempt) {
            const Eigen::Index j = drawIndex(cumulative, rng);
            if (attempt == kMaxPerturbAttempts) {
                out.row(i) = p.theta.row(j);
                break;
            }
            for (Eigen::Index k = 0; k < d; ++k)
                z[k] = rng.normal();
            out.row(i) = p.theta.row(j) + (factor.triangularView<Eigen::Lower>() * z).transpose();
            if (prior.inSupport(out.row(i).data()))
                break;
        }
    }
    return out;
}

// w_i ∝ prior(θ_i) / Σ_j w_j K(θ_i - θ_j), K the Gaussian kernel (constants cancel).
Vector importanceWeights(const Matrix& theta, const Population& previous, const Matrix& factor,
                         const JointPrior& prior) {
    const Eigen::Index n = theta.rows(), m = previous.size();
    const auto lower = factor.triangularView<Eigen::Lower>();
    const Matrix whitenedOld = lower.solve(previous.theta.transpose()).transpose();
    const Matrix whitenedNew = lower.solve(theta.transpose()).transpose();
    const Vector logOld = previous.weights.array().log();
    Vector logWeights(n);
    Vector terms(m);
    for (Eigen::Index i = 0; i < n; ++i) {
        double top = kMinusInfinity;
        for (Eigen::Index j = 0; j < m; ++j) {
            terms[j] = logOld[j] - 0.5 * (whitenedNew.row(i) - whitenedOld.row(j)).squaredNorm();
            top = std::max(top, terms[j]);
        }
        const double mixture = top + std::log((terms.array() - top).exp().sum());
        logWeights[i] = prior.logProb(theta.row(i).data()) - mixture;
    }
    const double top = logWeights.maxCoeff();
    Vector weights = (logWeights.array() - top).exp();
    return weights / weights.sum();
}

// Systematic resampling to `count` particles with equal weights.
Population resample(const Population& p, Eigen::Index count, RandomStream& rng) {
    const Vector cumulative = cumulativeSums(p.weights);
    std::vector<Eigen::Index> rows;
    const double step = cumulative[cumulative.size() - 1] / double(count);
    double u = rng.uniform() * step;
    Eigen::Index j = 0;
    for (Eigen::Index k = 0; k < count; ++k, u += step) {
        while (j + 1 < cumulative.size() && cumulative[j] < u)
            ++j;
        rows.push_back(j);
    }
    return selectRows(p.theta, p.summaries, p.distances, rows);
}

}  // namespace

std::string toString(SummaryKind kind) {
    switch (kind) {
        case SummaryKind::Identity:
            return "identity";
        case SummaryKind::Columns:
            return "columns";
        case SummaryKind::IidMeanStd:
            return "iid_mean_std";
    }
    return "identity";
}

std::string toString(AbcDistance distance) {
    return distance == AbcDistance::L1 ? "l1" : "l2";
}

std::optional<SummaryKind> parseSummaryKind(const std::string& name) {
    if (name == "identity")
        return SummaryKind::Identity;
    if (name == "columns")
        return SummaryKind::Columns;
    if (name == "iid_mean_std")
        return SummaryKind::IidMeanStd;
    return std::nullopt;
}

std::optional<AbcDistance> parseAbcDistance(const std::string& name) {
    if (name == "l2")
        return AbcDistance::L2;
    if (name == "l1")
        return AbcDistance::L1;
    return std::nullopt;
}

Problems SummarySettings::validate() const {
    Problems problems;
    if (kind != SummaryKind::Identity && kind != SummaryKind::Columns &&
        kind != SummaryKind::IidMeanStd)
        problems.push_back({"kind", "must be identity, columns or iid_mean_std"});
    if (kind == SummaryKind::Columns && columns.empty())
        problems.push_back({"columns", "must name at least one data column"});
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const std::string path = "columns[" + std::to_string(i) + "]";
        if (columns[i] < 0)
            problems.push_back({path, "must not be negative"});
        for (std::size_t j = 0; j < i; ++j)
            if (columns[j] == columns[i]) {
                problems.push_back({path, "repeats column " + std::to_string(columns[i])});
                break;
            }
    }
    return problems;
}

Problems AbcSettings::validate() const {
    Problems problems;
    if (simulations < 1)
        problems.push_back({"simulations", "must be at least 1"});
    appendProblems(problems, summary.validate(), "summary");
    if (distance != AbcDistance::L2 && distance != AbcDistance::L1)
        problems.push_back({"distance", "must be l2 or l1"});
    if (posteriorSamples < 1)
        problems.push_back({"posteriorSamples", "must be at least 1"});
    if (kdeBandwidth != KdeBandwidth::CrossValidation && kdeBandwidth != KdeBandwidth::Scott &&
        kdeBandwidth != KdeBandwidth::Silverman && kdeBandwidth != KdeBandwidth::Fixed)
        problems.push_back({"kdeBandwidth", "must be cv, scott, silverman or fixed"});
    if (kdeBandwidth == KdeBandwidth::Fixed &&
        !(kdeFixedBandwidth > 0.0 && std::isfinite(kdeFixedBandwidth)))
        problems.push_back({"kdeFixedBandwidth", "must be a finite number > 0"});
    if (threads < 0)
        problems.push_back({"threads", "must be 0 (all cores) or positive"});
    return problems;
}

Problems RejectionAbcSettings::validate() const {
    Problems problems = AbcSettings::validate();
    if (keep < 1)
        problems.push_back({"keep", "must be at least 1"});
    if (!(keepFraction >= 0.0 && keepFraction <= 1.0))
        problems.push_back({"keepFraction", "must be between 0 (use keep) and 1"});
    return problems;
}

Problems SmcAbcSettings::validate() const {
    Problems problems = AbcSettings::validate();
    if (populationSize < 0)
        problems.push_back({"populationSize", "must be 0 (automatic) or positive"});
    if (initialRoundFactor < 1)
        problems.push_back({"initialRoundFactor", "must be at least 1"});
    if (!(epsilonQuantile > 0.0 && epsilonQuantile < 1.0))
        problems.push_back({"epsilonQuantile", "must be between 0 and 1 (exclusive)"});
    if (!(kernelScale > 0.0 && std::isfinite(kernelScale)))
        problems.push_back({"kernelScale", "must be a finite number > 0"});
    if (!(resampleBelowEss >= 0.0 && resampleBelowEss <= 1.0))
        problems.push_back({"resampleBelowEss", "must be between 0 (never) and 1"});
    return problems;
}

AbcResult rejectionAbc(const JointPrior& prior, const Simulator& simulator,
                       const Matrix& observation, const RejectionAbcSettings& settings,
                       const LoopControl& control) {
    throwIfProblems(settings.validate());
    AbcRun run(prior, simulator, observation, settings, control);
    AbcResult result;
    const std::int64_t count = run.thetaBudget;
    const Matrix theta = prior.sample(count, settings.seed, 0);
    const Matrix summaries = run.simulate(theta);
    if (run.cancelled) {
        finishReport(run, result);
        return result;
    }
    if (settings.zScore)
        run.scale = robustScales(summaries);
    const Vector distances = run.distancesTo(summaries);
    const std::int64_t keep =
        settings.keepFraction > 0.0
            ? std::max<std::int64_t>(1, std::int64_t(std::ceil(settings.keepFraction * count)))
            : settings.keep;
    const std::vector<Eigen::Index> rows = closest(distances, keep);
    if (rows.empty())
        throw std::runtime_error("rejection ABC: none of the " + std::to_string(count) +
                                 " simulations gave finite summary statistics");
    Population population = selectRows(theta, summaries, distances, rows);

    AbcPopulation report;
    report.epsilon = population.distances.maxCoeff();
    report.plannedEpsilon = report.epsilon;
    report.simulations = run.simulationsUsed;
    report.accepted = population.size();
    report.acceptanceRate = double(population.size()) / double(count);
    report.effectiveSampleSize = double(population.size());
    result.populations.push_back(report);
    finish(run, std::move(population), true, result);
    finishReport(run, result);
    return result;
}

AbcResult smcAbc(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const SmcAbcSettings& settings, const LoopControl& control,
                 const AbcPopulationHook& onPopulation) {
    throwIfProblems(settings.validate());
    AbcRun run(prior, simulator, observation, settings, control);
    AbcResult result;
    const std::int64_t budget = run.thetaBudget;  // θ to simulate, not simulator calls
    std::int64_t size =
        settings.populationSize > 0 ? settings.populationSize : (budget > 10000 ? 1000 : 100);
    size = std::min(size, budget);
    const std::int64_t initial = std::clamp<std::int64_t>(
        std::int64_t(settings.initialRoundFactor) * size, size, std::max(budget / 2, size));

    // Round 0: the closest of `initial` prior draws.
    const Matrix theta0 = prior.sample(initial, settings.seed, 0);
    const Matrix summaries0 = run.simulate(theta0);
    if (run.cancelled) {
        finishReport(run, result);
        return result;
    }
    if (settings.zScore)
        run.scale = robustScales(summaries0);
    const Vector distances0 = run.distancesTo(summaries0);
    const std::vector<Eigen::Index> rows0 = closest(distances0, size);
    if (rows0.empty())
        throw std::runtime_error("SMC-ABC: none of the " + std::to_string(initial) +
                                 " first-round simulations gave finite summary statistics");
    Population population = selectRows(theta0, summaries0, distances0, rows0);
    AbcPopulation first;
    first.epsilon = population.distances.maxCoeff();
    first.plannedEpsilon = first.epsilon;
    first.simulations = run.simulationsUsed;
    first.accepted = population.size();
    first.acceptanceRate = double(population.size()) / double(initial);
    first.effectiveSampleSize = double(population.size());
    result.populations.push_back(first);
    if (onPopulation)
        onPopulation(first, population.theta);

    std::int64_t thetaUsed = initial;
    double rate = settings.epsilonQuantile;  // first guess of the acceptance rate
    while (thetaUsed < budget && !run.cancelled) {
        const double epsilon =
            weightedQuantile(population.distances, population.weights, settings.epsilonQuantile);
        const Matrix factor = kernelFactor(population, settings.kernelScale);
        const Vector cumulative = cumulativeSums(population.weights);
        const std::int64_t simulationsBefore = run.simulationsUsed;

        // Accept candidates until the population is full or the budget is spent. Batches aim
        // at the missing particles at the running acceptance rate; all accepted particles are
        // kept, so a population can end slightly larger than `size`. The closest rejected
        // candidates are kept too, for a round that the budget cuts short.
        Population kept;  // the round's candidates that may become members (no weights)
        std::int64_t accepted = 0, tried = 0;
        while (accepted < size && thetaUsed < budget) {
            const std::int64_t missing = size - accepted;
            const std::int64_t batch = std::min(
                budget - thetaUsed,
                std::max(missing, std::int64_t(std::ceil(double(missing) / std::max(rate, 0.01)))));
            const Matrix candidates =
                perturb(population, cumulative, factor, prior, settings.seed, thetaUsed, batch);
            const Matrix s = run.simulate(candidates);
            if (run.cancelled)
                break;
            thetaUsed += batch;
            tried += batch;
            const Vector d = run.distancesTo(s);
            appendParticles(kept, candidates, s, d);
            accepted += (d.array() <= epsilon).count();
            rate = std::max(double(accepted) / double(tried), 1e-3);
            // Only the closest max(size, accepted) candidates can be members: keep those, so
            // that a round of many simulations at a low acceptance rate holds little memory.
            if (kept.size() > 4 * std::max(size, accepted))
                kept = selectRows(kept.theta, kept.summaries, kept.distances,
                                  closest(kept.distances, std::max(size, accepted)));
        }
        if (run.cancelled || tried == 0)
            break;
        // A round that the budget cuts short ends the run with the `size` particles closest to
        // x_o among its candidates and, for the equal-weight posterior, the previous
        // population's particles (sbi fills up with those): its tolerance widens to the largest
        // of their distances, and it replaces the previous population only if that is smaller.
        // The importance weights are exact for the round's candidates only, so a weighted
        // posterior does not pool.
        const bool cutShort = accepted < size;
        const bool pool = cutShort && !settings.weightedPosterior;
        Population all;  // the previous population's particles first, when pooled (weights unused)
        if (pool)
            all = population;
        const Eigen::Index carriedRows = all.size();
        appendParticles(all, kept.theta, kept.summaries, kept.distances);
        const Vector& allDistances = all.distances;
        double tolerance = epsilon;
        std::vector<Eigen::Index> members;
        if (!cutShort) {
            for (Eigen::Index i = 0; i < allDistances.size(); ++i)
                if (allDistances[i] <= epsilon)
                    members.push_back(i);
        } else {
            members = closest(allDistances, size);
            if (std::int64_t(members.size()) < size)
                break;
            tolerance = allDistances[members.back()];
            if (!(tolerance < result.populations.back().epsilon))
                break;
        }
        const std::int64_t carried =
            std::count_if(members.begin(), members.end(),
                          [carriedRows](Eigen::Index i) { return i < carriedRows; });
        // (selectRows weighs equally: the pooled particles came from two proposals.)
        Population next = selectRows(all.theta, all.summaries, allDistances, members);
        if (carried == 0)
            next.weights = importanceWeights(next.theta, population, factor, prior);

        AbcPopulation report;
        report.epsilon = tolerance;
        report.plannedEpsilon = epsilon;
        report.cutShort = cutShort;
        report.carriedOver = carried;
        report.simulations = run.simulationsUsed - simulationsBefore;
        report.accepted = next.size();
        report.acceptanceRate = double(next.size() - carried) / double(tried);
        report.effectiveSampleSize = effectiveSize(next.weights);
        if (report.effectiveSampleSize < settings.resampleBelowEss * double(next.size())) {
            RandomStream rng(settings.seed, StreamPurpose::Abc,
                             kResampleStream + std::uint64_t(result.populations.size()));
            next = resample(next, next.size(), rng);
            report.resampled = true;
        }
        result.populations.push_back(report);
        population = std::move(next);
        if (onPopulation)
            onPopulation(report, population.theta);
    }

    if (!run.cancelled) {
        finish(run, std::move(population), settings.weightedPosterior, result);
    } else {
        result.particles = population.theta;
        result.weights = population.weights;
        result.distances = population.distances;
    }
    finishReport(run, result);
    return result;
}

std::string describe(const std::string& method, const AbcResult& result) {
    std::ostringstream line;
    line << method << ": " << result.simulations << " simulations, " << result.populations.size()
         << (result.populations.size() == 1 ? " population" : " populations");
    if (!result.populations.empty()) {
        const AbcPopulation& last = result.populations.back();
        line << ", final epsilon " << std::setprecision(4) << last.epsilon << ", "
             << result.particles.rows() << " particles";
        if (last.cutShort)
            line << " (the budget cut the last population short: the closest of its "
                 << last.simulations << " simulations"
                 << (last.carriedOver > 0 ? " and the previous population's, " +
                                                std::to_string(last.carriedOver) + " carried over"
                                          : std::string())
                 << "; epsilon planned " << last.plannedEpsilon << ")";
    }
    return line.str();
}

std::string describe(int number, const AbcPopulation& population) {
    std::ostringstream line;
    line << "population " << number << ": epsilon " << std::setprecision(4) << population.epsilon;
    if (population.cutShort)
        line << " (planned " << population.plannedEpsilon << ", cut short by the budget)";
    line << ", " << population.accepted << " particles";
    if (population.carriedOver > 0)
        line << " (" << population.carriedOver << " carried over)";
    line << " from " << population.simulations << " simulations (acceptance "
         << std::setprecision(3) << 100 * population.acceptanceRate << "%), ESS "
         << std::setprecision(4) << population.effectiveSampleSize
         << (population.resampled ? ", resampled" : "");
    return line.str();
}

}  // namespace sbiw
