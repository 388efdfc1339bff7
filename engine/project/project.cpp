#include "project/project.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "abc/abc.h"
#include "sampling/mcmc.h"
#include "simulators/catalogue.h"

namespace sbiw {

namespace {

std::string listOf(const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
    return text;
}

bool contains(const std::vector<std::string>& items, const std::string& value) {
    return std::find(items.begin(), items.end(), value) != items.end();
}

void requireOneOf(Problems& problems, const std::string& path, const std::string& value,
                  const std::vector<std::string>& allowed) {
    if (!contains(allowed, value))
        problems.push_back({path, "'" + value + "' is not one of: " + listOf(allowed)});
}

// Parameter names become CSV column headers and labels: keep them simple.
std::string nameProblem(const std::string& name) {
    if (name.empty()) return "must not be empty";
    for (char c : name)
        if (c == ',' || c == '"' || c == '\n' || c == '\r')
            return "must not contain commas, quotes or line breaks";
    return {};
}

}  // namespace

const std::vector<std::string>& inferenceMethods() {
    static const std::vector<std::string> methods = {"npe",   "snpe",   "nle",     "snle",
                                                     "nre",   "snre",   "nre-b",   "snre-b",
                                                     "nre-c", "snre-c", "rej-abc", "smc-abc"};
    return methods;
}

const std::vector<std::string>& densityEstimators() {
    static const std::vector<std::string> estimators = {"maf", "nsf", "mdn", "auto"};
    return estimators;
}

bool isNeuralLikelihoodMethod(const std::string& method) {
    return method == "nle" || method == "snle";
}

const std::vector<std::string>& computeDevices() {
    static const std::vector<std::string> devices = {"auto", "cpu", "cuda"};
    return devices;
}

const std::vector<std::string>& simulatorKinds() {
    static const std::vector<std::string> kinds = {"builtin", "program", "script", "plugin", "imported"};
    return kinds;
}

Problems SimulatorBinding::validate() const {
    Problems problems;
    if (std::find(simulatorKinds().begin(), simulatorKinds().end(), kind) == simulatorKinds().end()) {
        problems.push_back({"kind", "'" + kind + "' is not a known simulator kind (known: " + listOf(simulatorKinds()) + ")"});
        return problems;
    }
    // A field of another kind is a mistake (a half-edited file), not something to ignore.
    auto onlyFor = [&](bool set, const char* field, const char* owner) {
        if (set && kind != owner)
            problems.push_back({field, std::string("only used by kind '") + owner + "'; remove it"});
    };
    onlyFor(!task.empty(), "task", "builtin");
    onlyFor(!command.empty(), "command", "program");
    onlyFor(!script.empty(), "script", "script");
    onlyFor(!library.empty(), "library", "plugin");
    onlyFor(!csv.empty(), "csv", "imported");
    if (kind == "builtin") {
        if (task.empty()) {
            problems.push_back({"task", "missing: name a built-in task"});
        } else if (!findTask(task)) {
            std::vector<std::string> ids;
            for (const TaskInfo& t : builtinTasks()) ids.push_back(t.id);
            problems.push_back({"task", "unknown built-in task '" + task + "' (known: " + listOf(ids) + ")"});
        }
        if (dataDimension != 0)
            problems.push_back({"data_dimension", "not used by built-in tasks (they know theirs); remove it"});
        return problems;
    }
    if (kind == "program") {
        if (command.empty() || command.front().empty())
            problems.push_back({"command", "missing: give the program and its arguments, e.g. [\"python3\", \"sim.py\"]"});
        if (batchSize < 1) problems.push_back({"batch_size", "must be at least 1"});
    }
    if (kind == "script" && script.empty()) problems.push_back({"script", "missing: name a JavaScript file"});
    if (kind == "plugin" && library.empty()) problems.push_back({"library", "missing: name a shared library"});
    if (kind == "imported" && csv.empty()) problems.push_back({"csv", "missing: name a CSV file of simulations"});
    if (dataDimension < 1) problems.push_back({"data_dimension", "missing or below 1: give the length of x"});
    if (!(timeoutSeconds > 0.0) || !std::isfinite(timeoutSeconds))
        problems.push_back({"timeout_seconds", "must be a positive number of seconds"});
    return problems;
}

bool SimulatorBinding::operator==(const SimulatorBinding& o) const {
    return kind == o.kind && task == o.task && command == o.command && script == o.script &&
           library == o.library && csv == o.csv && dataDimension == o.dataDimension &&
           batchSize == o.batchSize && timeoutSeconds == o.timeoutSeconds;
}

Problems TrainingSettings::validate() const {
    Problems problems;
    if (batchSize < 1) problems.push_back({"batch_size", "must be at least 1"});
    if (!(learningRate > 0.0 && learningRate < 1.0))
        problems.push_back({"learning_rate", "must be between 0 and 1 (exclusive)"});
    if (!(validationFraction > 0.0 && validationFraction < 0.5))
        problems.push_back({"validation_fraction", "must be between 0 and 0.5 (exclusive)"});
    if (patience < 1) problems.push_back({"patience", "must be at least 1 epoch"});
    if (maxEpochs < 1) problems.push_back({"max_epochs", "must be at least 1"});
    if (!(gradientClipNorm >= 0.0) || !std::isfinite(gradientClipNorm))
        problems.push_back({"gradient_clip_norm", "must be 0 (off) or a positive number"});
    return problems;
}

bool TrainingSettings::operator==(const TrainingSettings& o) const {
    return batchSize == o.batchSize && learningRate == o.learningRate &&
           validationFraction == o.validationFraction && patience == o.patience &&
           maxEpochs == o.maxEpochs && gradientClipNorm == o.gradientClipNorm;
}

Problems AbcProjectSettings::validate() const {
    Problems problems;
    const std::optional<SummaryKind> kind = parseSummaryKind(summary);
    if (!kind)
        problems.push_back(
            {"summary", "'" + summary + "' is not one of: identity, columns, iid_mean_std"});
    if (!parseAbcDistance(distance))
        problems.push_back({"distance", "'" + distance + "' is not one of: l2, l1"});
    if (kind) {
        SummarySettings statistics;
        statistics.kind = *kind;
        statistics.columns = columns;
        appendProblems(problems, statistics.validate(), "");
    }
    return problems;
}

bool AbcProjectSettings::operator==(const AbcProjectSettings& o) const {
    return summary == o.summary && columns == o.columns && distance == o.distance &&
           zScore == o.zScore && regressionAdjustment == o.regressionAdjustment;
}

void AbcProjectSettings::applyTo(AbcSettings& settings) const {
    settings.summary.kind = parseSummaryKind(summary).value_or(SummaryKind::Identity);
    settings.summary.columns = columns;
    settings.distance = parseAbcDistance(distance).value_or(AbcDistance::L2);
    settings.zScore = zScore;
    settings.regressionAdjustment = regressionAdjustment;
}

Problems McmcProjectSettings::validate() const {
    Problems problems;
    if (!parseMcmcMethod(sampler))
        problems.push_back({"sampler", "'" + sampler + "' is not one of: slice, mh"});
    if (chains < 1 || chains > 100000)
        problems.push_back({"chains", "must be between 1 and 100000"});
    if (warmupSteps < 0 || warmupSteps > 1000000)
        problems.push_back({"warmup_steps", "must be between 0 and 1000000"});
    if (thinning < 1 || thinning > 10000)
        problems.push_back({"thinning", "must be between 1 and 10000"});
    if (!parseMcmcInit(init))
        problems.push_back({"init", "'" + init + "' is not one of: resample, prior"});
    return problems;
}

bool McmcProjectSettings::operator==(const McmcProjectSettings& o) const {
    return sampler == o.sampler && chains == o.chains && warmupSteps == o.warmupSteps &&
           thinning == o.thinning && init == o.init;
}

void McmcProjectSettings::applyTo(McmcSettings& settings) const {
    settings.method = parseMcmcMethod(sampler).value_or(McmcMethod::Slice);
    settings.chains = chains;
    settings.warmupSteps = warmupSteps;
    settings.thinning = thinning;
    settings.init = parseMcmcInit(init).value_or(McmcInit::Resample);
}

Problems InferenceSettings::validate() const {
    Problems problems;
    requireOneOf(problems, "method", method, inferenceMethods());
    requireOneOf(problems, "estimator", estimator, densityEstimators());
    // NRE and ABC ignore the estimator; NPE's flows would need their own choosing.
    if (estimator == "auto" && (method == "npe" || method == "snpe"))
        problems.push_back({"estimator",
                            "'auto' (MAF or NSF, whichever fits better) is for nle and "
                            "snle only: choose maf, nsf or mdn for " +
                                method});
    requireOneOf(problems, "device", device, computeDevices());
    if (simulations < 1) problems.push_back({"simulations", "must be at least 1"});
    if (rounds < 1) problems.push_back({"rounds", "must be at least 1"});
    if (rounds > 1 && simulations < rounds)
        problems.push_back({"simulations", "must be at least the number of rounds"});
    if (threads < 0) problems.push_back({"threads", "must be 0 (all cores) or positive"});
    if (posteriorSamples < 1) problems.push_back({"posterior_samples", "must be at least 1"});
    appendProblems(problems, training.validate(), "training");
    appendProblems(problems, abc.validate(), "abc");
    appendProblems(problems, mcmc.validate(), "mcmc");
    return problems;
}

bool InferenceSettings::operator==(const InferenceSettings& o) const {
    return method == o.method && estimator == o.estimator && simulations == o.simulations &&
           rounds == o.rounds && seed == o.seed && device == o.device && threads == o.threads &&
           posteriorSamples == o.posteriorSamples && training == o.training && abc == o.abc &&
           mcmc == o.mcmc && dequantizeWholeNumbers == o.dequantizeWholeNumbers &&
           logPositiveData == o.logPositiveData && transformParameters == o.transformParameters;
}

Problems ViewSettings::validate() const {
    Problems problems;
    if (histogramBins < 2 || histogramBins > 1000)
        problems.push_back({"histogram_bins", "must be between 2 and 1000"});
    for (std::size_t i = 0; i < credibleLevels.size(); ++i)
        if (!(credibleLevels[i] > 0.0 && credibleLevels[i] < 1.0))
            problems.push_back({"credible_levels[" + std::to_string(i) + "]",
                                "must be between 0 and 1 (exclusive)"});
    return problems;
}

bool ViewSettings::operator==(const ViewSettings& o) const {
    return histogramBins == o.histogramBins && showTrueParameters == o.showTrueParameters &&
           showPriorBounds == o.showPriorBounds && showReferenceSamples == o.showReferenceSamples &&
           credibleLevels == o.credibleLevels;
}

Problems Project::validate() const {
    Problems problems;
    if (name.empty()) problems.push_back({"name", "must not be empty"});

    // Parameters and the prior blocks they form.
    if (parameters.empty()) problems.push_back({"parameters", "a project needs at least one parameter"});
    std::set<std::string> seen;
    int coveredUntil = 0;  // parameters [.., coveredUntil) belong to an earlier multivariate block
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        const std::string path = "parameters[" + std::to_string(i) + "]";
        const ParameterSpec& parameter = parameters[i];
        if (std::string why = nameProblem(parameter.name); !why.empty())
            problems.push_back({path + ".name", why});
        else if (!seen.insert(parameter.name).second)
            problems.push_back({path + ".name", "'" + parameter.name + "' is used twice"});

        const bool covered = int(i) < coveredUntil;
        if (parameter.prior) {
            if (covered) {
                problems.push_back({path + ".prior", "this parameter is already covered by the multivariate prior of an earlier parameter; remove this prior"});
                continue;
            }
            const Problems priorProblems = parameter.prior->validate();
            appendProblems(problems, priorProblems, path + ".prior");
            const int dim = priorProblems.empty() ? parameter.prior->dimension() : 1;
            if (dim > 1) {
                coveredUntil = int(i) + dim;
                if (coveredUntil > int(parameters.size()))
                    problems.push_back({path + ".prior", "spans " + std::to_string(dim) +
                                                             " parameters but only " +
                                                             std::to_string(parameters.size() - i) +
                                                             " follow from here"});
            }
        } else if (!covered) {
            problems.push_back({path + ".prior", "missing"});
        }
    }

    // The simulator and the dimensions it implies.
    const Problems simulatorProblems = simulator.validate();
    appendProblems(problems, simulatorProblems, "simulator");
    int dataDim = 0;
    if (simulatorProblems.empty() && simulator.kind != "builtin") {
        // The program, script or plugin declares its parameters when it runs (checked then).
        dataDim = simulator.dataDimension;
    } else if (simulatorProblems.empty()) {
        const TaskInfo* task = findTask(simulator.task);
        dataDim = task->dataDimension;
        if (task->parameterDimension() != int(parameters.size()))
            problems.push_back({"parameters", "the simulator '" + task->id + "' takes " +
                                                  std::to_string(task->parameterDimension()) +
                                                  " parameters, the project defines " +
                                                  std::to_string(parameters.size())});
    }

    std::set<std::string> observationNames;
    for (std::size_t i = 0; i < observations.size(); ++i) {
        const std::string path = "observations[" + std::to_string(i) + "]";
        const Observation& observation = observations[i];
        if (observation.name.empty())
            problems.push_back({path + ".name", "must not be empty"});
        else if (!observationNames.insert(observation.name).second)
            problems.push_back({path + ".name", "'" + observation.name + "' is used twice"});
        if (observation.data.rows() == 0)
            problems.push_back({path + ".data", "must hold at least one row of values"});
        else if (dataDim > 0 && observation.data.cols() != dataDim)
            problems.push_back({path + ".data", "has " + std::to_string(observation.data.cols()) +
                                                    " values per row, the simulator produces " +
                                                    std::to_string(dataDim)});
        if (!observation.data.allFinite())
            problems.push_back({path + ".data", "contains non-finite values"});
        if (!observation.trueParameters.empty() &&
            observation.trueParameters.size() != parameters.size())
            problems.push_back({path + ".true_parameters",
                                "has " + std::to_string(observation.trueParameters.size()) +
                                    " values for " + std::to_string(parameters.size()) +
                                    " parameters"});
    }
    if (!defaultObservation.empty() && !findObservation(defaultObservation))
        problems.push_back({"default_observation", "no observation is named '" + defaultObservation + "'"});
    if (defaultObservation.empty() && !observations.empty())
        problems.push_back({"default_observation", "missing: name one of the observations"});

    appendProblems(problems, inference.validate(), "inference");
    for (std::size_t i = 0; i < inference.abc.columns.size(); ++i)
        if (dataDim > 0 && inference.abc.columns[i] >= dataDim)
            problems.push_back({"inference.abc.columns[" + std::to_string(i) + "]",
                                "is column " + std::to_string(inference.abc.columns[i]) +
                                    ", the simulator produces columns 0 to " +
                                    std::to_string(dataDim - 1)});
    appendProblems(problems, view.validate(), "view");
    return problems;
}

std::vector<std::string> Project::parameterNames() const {
    std::vector<std::string> names;
    for (const ParameterSpec& p : parameters) names.push_back(p.name);
    return names;
}

std::vector<PriorSpec> Project::priorBlocks() const {
    std::vector<PriorSpec> blocks;
    for (const ParameterSpec& p : parameters)
        if (p.prior) blocks.push_back(*p.prior);
    return blocks;
}

JointPrior Project::makePrior() const {
    throwIfProblems(validate());
    return JointPrior(priorBlocks());
}

std::unique_ptr<Simulator> Project::makeSimulator() const {
    Problems problems;
    appendProblems(problems, simulator.validate(), "simulator");
    if (problems.empty() && simulator.kind != "builtin")
        problems.push_back({"simulator.kind", "'" + simulator.kind +
                                                  "' simulators are made by the app (makeProjectSimulator), which "
                                                  "knows the project's folder and asks for trust"});
    throwIfProblems(problems);
    return findTask(simulator.task)->create();
}

const Observation* Project::findObservation(const std::string& observationName) const {
    for (const Observation& o : observations)
        if (o.name == observationName) return &o;
    return nullptr;
}

int Project::dataDimension() const {
    if (simulator.kind != "builtin") return simulator.dataDimension;
    const TaskInfo* task = findTask(simulator.task);
    return task ? task->dataDimension : 0;
}

bool Project::operator==(const Project& o) const {
    return name == o.name && description == o.description && parameters == o.parameters &&
           simulator == o.simulator && observations == o.observations &&
           defaultObservation == o.defaultObservation && inference == o.inference &&
           view == o.view;
}

Project projectFromTask(const TaskInfo& task) {
    Project project;
    project.name = task.title;
    project.description = task.description;
    std::size_t block = 0;
    int remainingInBlock = 0;
    for (const std::string& parameterName : task.parameterNames) {
        ParameterSpec parameter{parameterName, std::nullopt};
        if (remainingInBlock == 0 && block < task.defaultPrior.size()) {
            parameter.prior = task.defaultPrior[block++];
            remainingInBlock = std::max(1, parameter.prior->dimension());
        }
        --remainingInBlock;
        project.parameters.push_back(std::move(parameter));
    }
    project.simulator.kind = "builtin";
    project.simulator.task = task.id;
    for (const ReferenceObservation& reference : task.referenceObservations) {
        Observation observation;
        observation.name = "observation " + std::to_string(reference.number);
        observation.data = Eigen::Map<const Matrix>(reference.data.data(), 1, Eigen::Index(reference.data.size()));
        observation.trueParameters = reference.trueParameters;
        observation.note = "reference observation " + std::to_string(reference.number) + " of " +
                           task.id + " (" + task.source + ")";
        project.observations.push_back(std::move(observation));
    }
    if (!project.observations.empty()) project.defaultObservation = project.observations.front().name;
    return project;
}

}  // namespace sbiw
