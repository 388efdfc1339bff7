#include "simulators/catalogue.h"

#include <cmath>
#include <utility>

#include "simulators/tasks/tasks.h"

namespace sbiw {
namespace {

constexpr double kPi = 3.14159265358979323846;
const char* const kSbibmSource = "sbibm (Lueckmann et al. 2021), MIT licence";
const char* const kGwChirpSource = "SBI Workbench gw_chirp teaching task";

// Observations 1..5 of every task with their true parameters, as stored in the ground truth.
struct RawObservation {
    const char* task;
    int number;
    std::vector<double> data;
    std::vector<double> theta;
};

// Built directly (not through PriorSpec::scalar) so that the catalogue is plain data.
PriorSpec univariate(const char* family,
                     std::initializer_list<std::pair<const char*, double>> fields) {
    PriorSpec spec;
    spec.family = family;
    for (const auto& [name, value] : fields)
        spec.values[name] = {value};
    return spec;
}

PriorSpec uniform(double low, double high) {
    return univariate("uniform", {{"low", low}, {"high", high}});
}

std::vector<PriorSpec> repeated(const PriorSpec& spec, int count) {
    return std::vector<PriorSpec>(std::size_t(count), spec);
}

std::vector<std::string> numberedNames(int count) {
    std::vector<std::string> names;
    for (int i = 1; i <= count; ++i)
        names.push_back("parameter_" + std::to_string(i));
    return names;
}

// Bernoulli GLM prior: MVN(0, B^-1) given by its precision B. With M = 9 filter taps,
// D = I - (sub-diagonal ones), F = D D + diag(sqrt(i / M)), B = diag(0.5, F^T F).
PriorSpec bernoulliGlmPrior() {
    constexpr int kM = 9, kDim = kM + 1;
    double d[kM][kM] = {};
    for (int i = 0; i < kM; ++i) {
        d[i][i] = 1.0;
        if (i + 1 < kM)
            d[i + 1][i] = -1.0;
    }
    double f[kM][kM] = {};
    for (int i = 0; i < kM; ++i)
        for (int j = 0; j < kM; ++j) {
            for (int k = 0; k < kM; ++k)
                f[i][j] += d[i][k] * d[k][j];
            if (i == j)
                f[i][j] += std::sqrt(double(i) / kM);
        }
    std::vector<double> precision(kDim * kDim, 0.0);
    precision[0] = 0.5;  // offset variance 2
    for (int i = 0; i < kM; ++i)
        for (int j = 0; j < kM; ++j) {
            double sum = 0.0;
            for (int k = 0; k < kM; ++k)
                sum += f[k][i] * f[k][j];
            precision[(i + 1) * kDim + (j + 1)] = sum;
        }
    PriorSpec spec;
    spec.family = "multivariate_normal";
    spec.values["mean"] = std::vector<double>(kDim, 0.0);
    spec.values["precision"] = std::move(precision);
    spec.matrixRows["precision"] = kDim;
    return spec;
}

std::vector<TaskInfo> makeTasks() {
    std::vector<TaskInfo> tasks;
    const auto add = [&tasks](TaskInfo info) { tasks.push_back(std::move(info)); };

    TaskInfo t;
    t = {};
    t.id = "gaussian_linear";
    t.title = "Gaussian Linear";
    t.description =
        "The simplest sbibm task: x is θ plus Gaussian noise, x ~ N(θ, 0.1·I), in 10 "
        "dimensions, with a Gaussian prior N(0, 0.1·I). The posterior is Gaussian and known in "
        "closed form (N(x_o/2, 0.05·I)), so it is the place to check that a method works at all "
        "and how it scales with dimension.";
    t.source = kSbibmSource;
    t.parameterNames = numberedNames(10);
    t.dataDimension = 10;
    t.defaultPrior = repeated(univariate("normal", {{"mean", 0.0}, {"std", std::sqrt(0.1)}}), 10);
    t.create = tasks::makeGaussianLinear;
    add(t);

    t = {};
    t.id = "gaussian_linear_uniform";
    t.title = "Gaussian Linear Uniform";
    t.description =
        "The Gaussian Linear simulator, x ~ N(θ, 0.1·I) in 10 dimensions, with a uniform prior "
        "on [-1, 1]^10. The posterior is a Gaussian truncated to the prior box: simple in shape, "
        "but its edges test how a method handles bounded support.";
    t.source = kSbibmSource;
    t.parameterNames = numberedNames(10);
    t.dataDimension = 10;
    t.defaultPrior = repeated(uniform(-1.0, 1.0), 10);
    t.create = tasks::makeGaussianLinear;
    add(t);

    t = {};
    t.id = "two_moons";
    t.title = "Two Moons";
    t.description =
        "A 2-D toy problem: x is a noisy half-circle point shifted by |θ1 + θ2| and rotated "
        "coordinates of θ. The absolute value makes the posterior bimodal and each mode is a thin "
        "crescent, so it tests whether a method captures both global (multimodal) and local "
        "(curved, narrow) structure.";
    t.source = kSbibmSource;
    t.parameterNames = numberedNames(2);
    t.dataDimension = 2;
    t.defaultPrior = repeated(uniform(-1.0, 1.0), 2);
    t.create = tasks::makeTwoMoons;
    add(t);

    t = {};
    t.id = "slcp";
    t.title = "SLCP (simple likelihood, complex posterior)";
    t.description =
        "Four i.i.d. draws from a 2-D Gaussian whose mean, scales and correlation are nonlinear "
        "functions of 5 parameters (x has 8 values). The likelihood is a simple Gaussian, but "
        "the posterior has four symmetric modes (the signs of θ3 and θ4 are not identifiable) "
        "with vertical cut-offs: hard for methods that model the posterior directly.";
    t.source = kSbibmSource;
    t.parameterNames = numberedNames(5);
    t.dataDimension = 8;
    t.defaultPrior = repeated(uniform(-3.0, 3.0), 5);
    t.create = tasks::makeSlcp;
    add(t);

    t = {};
    t.id = "slcp_distractors";
    t.title = "SLCP with Distractors";
    t.description =
        "SLCP's 8 informative values hidden among 92 uninformative ones drawn from a fixed "
        "mixture of heavy-tailed Student-t distributions, shuffled into a 100-dimensional x. "
        "Same parameters and posterior as SLCP: tests whether a method (or its embedding "
        "network) can find the few informative features.";
    t.source = kSbibmSource;
    t.parameterNames = numberedNames(5);
    t.dataDimension = 100;
    t.defaultPrior = repeated(uniform(-3.0, 3.0), 5);
    t.create = tasks::makeSlcpDistractors;
    add(t);

    t = {};
    t.id = "gaussian_mixture";
    t.title = "Gaussian Mixture";
    t.description =
        "x is θ plus noise from an equal mixture of a broad (std 1) and a narrow (std 0.1) "
        "Gaussian, in 2-D with a uniform prior on [-10, 10]^2. The posterior is a sharp peak on a "
        "wide base: tests whether a method resolves both scales.";
    t.source = kSbibmSource;
    t.parameterNames = numberedNames(2);
    t.dataDimension = 2;
    t.defaultPrior = repeated(uniform(-10.0, 10.0), 2);
    t.create = tasks::makeGaussianMixture;
    add(t);

    t = {};
    t.id = "bernoulli_glm";
    t.title = "Bernoulli GLM";
    t.description =
        "A generalised linear model of a neuron: 100 time bins of spikes with probability "
        "sigmoid(offset + 9-tap linear filter of a white-noise stimulus). θ = (offset, filter), "
        "with a smoothness prior on the filter. x holds the 10 sufficient statistics (spike "
        "count and spike-triggered sums), so the posterior is unimodal and nearly Gaussian, but "
        "10-dimensional and correlated.";
    t.source = kSbibmSource;
    t.parameterNames = numberedNames(10);
    t.dataDimension = 10;
    t.defaultPrior = {bernoulliGlmPrior()};
    t.create = tasks::makeBernoulliGlm;
    add(t);

    t = {};
    t.id = "bernoulli_glm_raw";
    t.title = "Bernoulli GLM (raw spikes)";
    t.description =
        "The Bernoulli GLM with the raw binary spike train (100 values) as data instead of its "
        "sufficient statistics. Same posterior as Bernoulli GLM: tests whether a method can "
        "learn good summaries from high-dimensional, discrete data.";
    t.source = kSbibmSource;
    t.parameterNames = numberedNames(10);
    t.dataDimension = 100;
    t.dataKind = DataKind::TimeSeries;
    t.defaultPrior = {bernoulliGlmPrior()};
    t.create = tasks::makeBernoulliGlmRaw;
    add(t);

    t = {};
    t.id = "sir";
    t.title = "SIR epidemic";
    t.description =
        "The SIR epidemic model: contact rate β and recovery rate γ drive an ODE for a "
        "population of one million with one initial infection over 160 days. x holds 10 "
        "binomial samples (out of 1000) of the infected fraction, every 17 days. A realistic "
        "scientific model: each simulation solves an ODE, and the posterior is a narrow, "
        "correlated ridge.";
    t.source = kSbibmSource;
    t.parameterNames = {"beta", "gamma"};
    t.dataDimension = 10;
    t.dataKind = DataKind::TimeSeries;
    t.defaultPrior = {univariate("lognormal", {{"log_mean", std::log(0.4)}, {"log_std", 0.5}}),
                      univariate("lognormal", {{"log_mean", std::log(0.125)}, {"log_std", 0.2}})};
    t.create = tasks::makeSir;
    add(t);

    t = {};
    t.id = "lotka_volterra";
    t.title = "Lotka-Volterra";
    t.description =
        "Predator-prey dynamics: an ODE with prey growth α, predation β, predator death γ and "
        "predator growth δ, observed with log-normal noise at 10 times over 20 time units "
        "(x = 10 prey values, then 10 predator values). The posterior is very narrow compared "
        "with the prior, so methods must concentrate their simulations.";
    t.source = kSbibmSource;
    t.parameterNames = {"alpha", "beta", "gamma", "delta"};
    t.dataDimension = 20;
    for (double logMean : {-0.125, -3.0, -0.125, -3.0})
        t.defaultPrior.push_back(
            univariate("lognormal", {{"log_mean", logMean}, {"log_std", 0.5}}));
    t.create = tasks::makeLotkaVolterra;
    add(t);

    t = {};
    t.id = "gw_chirp";
    t.title = "Gravitational-wave chirp";
    t.description =
        "A toy gravitational-wave inspiral: a Newtonian chirp (chirp mass, coalescence time, "
        "amplitude, phase) buried in white Gaussian noise, 1 s sampled at 512 Hz. The data are a "
        "512-sample time series (use an embedding network), the phase is a periodic nuisance "
        "parameter, and the posterior narrows with the signal-to-noise ratio: broad and "
        "multimodal at low SNR, narrow at high SNR.";
    t.source = kGwChirpSource;
    t.parameterNames = {"chirp_mass", "t_c", "amplitude", "phase"};
    t.dataDimension = tasks::kGwChirpSamples;
    t.dataKind = DataKind::TimeSeries;
    t.defaultPrior = {uniform(15.0, 40.0), uniform(0.6, 0.95), uniform(0.2, 1.0),
                      uniform(0.0, 2.0 * kPi)};
    t.create = tasks::makeGwChirp;
    add(t);

    const RawObservation observations[] = {
#include "simulators/generated/reference_observations.inc"
    };
    for (const RawObservation& raw : observations)
        for (TaskInfo& task : tasks)
            if (task.id == raw.task)
                task.referenceObservations.push_back({raw.number, raw.data, raw.theta});
    return tasks;
}

}  // namespace

const std::vector<TaskInfo>& builtinTasks() {
    static const std::vector<TaskInfo> tasks = makeTasks();
    return tasks;
}

const TaskInfo* findTask(const std::string& id) {
    for (const TaskInfo& task : builtinTasks())
        if (task.id == id)
            return &task;
    return nullptr;
}

}  // namespace sbiw
