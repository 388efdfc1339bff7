#pragma once
// A workbench project as plain data: parameters with priors, the simulator binding, named
// observations, inference and view settings. The JSON file format (engine/qt/project_file)
// mirrors these structs field by field, so validation paths read like JSON paths:
// "parameters[2].prior.high: must be greater than low".

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "core/problems.h"
#include "priors/joint_prior.h"
#include "priors/prior_spec.h"
#include "simulators/simulator.h"

namespace sbiw {

struct TaskInfo;

struct ParameterSpec {
    std::string name;
    // Absent for the 2nd..k-th parameters of a k-dimensional multivariate prior, which the
    // first parameter of the block declares.
    std::optional<PriorSpec> prior;

    bool operator==(const ParameterSpec& o) const { return name == o.name && prior == o.prior; }
};

// Where the simulations come from. Paths are relative to the project file's folder
// (Project::baseDirectory); only the fields of the chosen kind may be set.
struct SimulatorBinding {
    std::string kind = "builtin";      // one of simulatorKinds()
    std::string task;                  // builtin: catalogue id
    std::vector<std::string> command;  // program: the program and its arguments, run in the project's folder
    std::string script;                // script: a JavaScript file defining simulate(theta, rng)
    std::string library;               // plugin: a shared library with the C ABI of sbiw_simulator_plugin.h
    std::string csv;                   // imported: a CSV of simulations, θ columns then x columns
    int dataDimension = 0;             // all kinds but builtin: the length of x
    int batchSize = 200;               // program: rows per request
    double timeoutSeconds = 60.0;      // program: per request; script: per simulation

    Problems validate() const;
    // True for the kinds that run code from outside the workbench (the user must trust it).
    bool runsForeignCode() const { return kind == "program" || kind == "plugin"; }
    bool operator==(const SimulatorBinding& o) const;
};

const std::vector<std::string>& simulatorKinds();

struct Observation {
    std::string name;
    Matrix data;  // one row per i.i.d. observation of the same θ (usually one row)
    std::vector<double> trueParameters;  // empty when unknown
    std::string note;                    // where it came from

    bool operator==(const Observation& o) const {
        return name == o.name && data.rows() == o.data.rows() && data.cols() == o.data.cols() &&
               data == o.data && trueParameters == o.trueParameters && note == o.note;
    }
};

struct TrainingSettings {
    int batchSize = 200;
    double learningRate = 5e-4;
    double validationFraction = 0.1;
    int patience = 20;        // epochs without validation improvement before stopping
    int maxEpochs = 1000;
    double gradientClipNorm = 5.0;  // 0 disables clipping

    Problems validate() const;
    bool operator==(const TrainingSettings& o) const;
};

struct AbcSettings;

// The summary statistics and distance of the ABC methods (rej-abc, smc-abc), as the project
// chooses them; abc/abc.h has their meaning.
struct AbcProjectSettings {
    std::string summary = "identity";   // identity | columns | iid_mean_std
    std::vector<int> columns;           // 0-based data columns (columns, iid_mean_std)
    std::string distance = "l2";        // l2 | l1
    bool zScore = false;                // scale every statistic by its prior-predictive spread
    bool regressionAdjustment = false;  // Beaumont et al. (2002) linear regression

    Problems validate() const;
    bool operator==(const AbcProjectSettings& o) const;
    // Copies these choices into an ABC run's settings (valid ones; validate() first).
    void applyTo(AbcSettings& settings) const;
};

struct McmcSettings;

// How the likelihood and ratio methods (nle, snle and the nre, nre-b, nre-c families) sample
// the posterior by MCMC, as the project chooses it; sampling/mcmc.h has the meaning. Defaults
// are sbibm's.
struct McmcProjectSettings {
    std::string sampler = "slice";  // slice | mh
    int chains = 100;
    int warmupSteps = 100;          // iterations per chain spent tuning, then discarded
    int thinning = 10;              // every chain keeps one iteration in `thinning`
    std::string init = "resample";  // resample (prior draws weighed by the posterior) | prior

    Problems validate() const;
    bool operator==(const McmcProjectSettings& o) const;
    // Copies these choices into a sampler's settings (valid ones; validate() first).
    void applyTo(McmcSettings& settings) const;
};

struct InferenceSettings {
    std::string method = "npe";     // one of inferenceMethods()
    std::string estimator = "nsf";  // one of densityEstimators()
    std::int64_t simulations = 10000;  // total budget over all rounds
    int rounds = 1;
    std::uint64_t seed = 1;
    std::string device = "auto";  // auto | cpu | cuda
    int threads = 0;              // 0: all cores
    std::int64_t posteriorSamples = 10000;
    TrainingSettings training;
    AbcProjectSettings abc;
    McmcProjectSettings mcmc;
    // nle, snle: model data columns that hold only whole numbers dequantised (NleSettings).
    bool dequantizeWholeNumbers = true;
    // Likelihood and ratio methods: read data columns that are positive in every simulation on
    // the log scale (LikelihoodRunSettings::logPositiveColumns).
    bool logPositiveData = true;
    // Likelihood and ratio methods: the network takes θ, and MCMC moves, in the prior's
    // unconstrained space (log θ for a positive parameter, logit for a bounded one), as sbibm
    // runs them (LikelihoodRunSettings::transformParameters, McmcSettings::transform). Off by
    // default: on bounded priors it made things worse (docs/BENCHMARKS.md, "Session 9").
    bool transformParameters = false;

    Problems validate() const;
    bool operator==(const InferenceSettings& o) const;
};

struct ViewSettings {
    int histogramBins = 40;
    bool showTrueParameters = true;
    bool showPriorBounds = true;
    bool showReferenceSamples = false;
    std::vector<double> credibleLevels = {0.68, 0.95};

    Problems validate() const;
    bool operator==(const ViewSettings& o) const;
};

const std::vector<std::string>& inferenceMethods();
// maf, nsf, mdn, and auto: NLE and SNLE train MAF and NSF in round 1 and keep the one with the
// lower validation loss (engine/inference/nle.h).
const std::vector<std::string>& densityEstimators();
// nle, snle: a flow over x given θ; the estimator may be "auto", whole numbers are dequantised.
bool isNeuralLikelihoodMethod(const std::string& method);
const std::vector<std::string>& computeDevices();

struct Project {
    static constexpr const char* kFormatName = "sbiw-project";
    static constexpr int kFormatVersion = 1;

    std::string name;
    std::string description;
    std::vector<ParameterSpec> parameters;
    SimulatorBinding simulator;
    std::vector<Observation> observations;
    std::string defaultObservation;  // name of one of `observations`
    InferenceSettings inference;
    ViewSettings view;
    // Where the simulator binding's relative paths resolve: the project file's folder, set
    // when loading (not saved, not compared). Empty: the current directory.
    std::string baseDirectory;

    // Every problem, with paths such as "parameters[2].prior.high" or "observations[0].data".
    Problems validate() const;

    std::vector<std::string> parameterNames() const;
    // The prior blocks in parameter order (valid projects only).
    std::vector<PriorSpec> priorBlocks() const;
    JointPrior makePrior() const;  // throws SettingsError
    // Built-in simulators only; the app makes the other kinds (engine/qt/simulator_factory.h),
    // which need the project's folder and the user's trust. Throws SettingsError.
    std::unique_ptr<Simulator> makeSimulator() const;
    const Observation* findObservation(const std::string& observationName) const;
    int dataDimension() const;  // from the simulator binding; 0 if unknown

    bool operator==(const Project& o) const;
};

// A new project for a built-in task: its default prior, its five reference observations
// (observation 1 as the default) and default settings.
Project projectFromTask(const TaskInfo& task);

}  // namespace sbiw
