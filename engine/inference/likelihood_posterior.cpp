#include "inference/likelihood_posterior.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "inference/mcmc_posterior_state.h"
#include "inference/posterior_state.h"
#include "inference/trainer.h"

namespace sbiw::neural {

torch::Tensor wholeNumberColumns(const torch::Tensor& x) {
    return (x == x.round()).all(0).to(torch::kDouble);
}

torch::Tensor positiveColumns(const torch::Tensor& x, const torch::Tensor& discrete) {
    return ((x > 0).all(0) & (discrete == 0)).to(torch::kDouble);
}

torch::Tensor logScaled(const torch::Tensor& x, const torch::Tensor& logColumns) {
    return torch::where(logColumns.to(x.device()) > 0.5, torch::log(x.clamp_min(kLogColumnFloor)),
                        x);
}

std::vector<int> columnsOf(const torch::Tensor& mask) {
    std::vector<int> columns;
    const torch::Tensor m = mask.to(torch::kCPU, torch::kDouble).contiguous();
    for (std::int64_t j = 0; j < m.numel(); ++j)
        if (m.data_ptr<double>()[j] > 0.5)
            columns.push_back(int(j));
    return columns;
}

std::int64_t simulationsInRound(std::int64_t simulations, int rounds, int round) {
    const std::int64_t each = simulations / rounds;
    return round == 1 ? each + simulations % rounds : each;
}

namespace {

void checkObservation(const Matrix& observation, int dataDimension) {
    if (observation.rows() < 1 || observation.cols() != dataDimension || !observation.allFinite())
        throw std::invalid_argument("the observation must have at least one finite row of " +
                                    std::to_string(dataDimension) + " values");
}

// log p(θ) + Σ_i term(θ, x_o,i) for a batch of chains (the i.i.d. rows' terms add up). With
// transformInput the network takes θ in the prior's unconstrained space.
BatchLogDensity logPosteriorOf(const JointPrior& prior, const Matrix& observation,
                               const torch::Device& device, const LikelihoodTerm& term,
                               bool transformInput) {
    const torch::Tensor xo = toTensor(observation, device);
    const std::int64_t trials = observation.rows();
    return [&prior, xo, trials, device, term, transformInput](const Matrix& thetas) -> Vector {
        Vector logDensity = prior.logProb(thetas);
        torch::NoGradGuard noGrad;
        const std::int64_t chains = thetas.rows();
        const torch::Tensor theta =
            toTensor(transformInput ? prior.toUnconstrained(thetas) : thetas, device)
                .repeat_interleave(trials, 0);
        const Matrix summed =
            toMatrix(term(theta, xo.repeat({chains, 1})).view({chains, trials}).sum(1, true));
        for (Eigen::Index c = 0; c < chains; ++c)
            if (std::isfinite(logDensity(c)))
                logDensity(c) += summed(c, 0);
        return logDensity;
    };
}

McmcResult sampleMcmcWithNetwork(const BatchLogDensity& logPosterior, const JointPrior& prior,
                                 const McmcSettings& settings, const TrainingHooks& hooks) {
    McmcSettings mcmc = settings;
    mcmc.threads =
        1;  // one network call for all chains beats two half-size calls; modules are not re-entrant
    LoopControl control;
    control.cancelFlag = hooks.cancel;
    return sampleMcmc(logPosterior, prior, mcmc, control);
}

// Snapshots of an MCMC-based posterior: a short, cheap chain with the current network (a few
// chains, short warm-up, no thinning), enough for the GUI to show it concentrating.
std::function<Matrix(int, int)> quickChainSnapshots(const JointPrior& prior,
                                                    const BatchLogDensity& logPosterior,
                                                    std::uint64_t seed, bool transform) {
    return [&prior, logPosterior, seed, transform](int count, int epoch) {
        McmcSettings quick;
        quick.transform = transform;  // the run's chains' space
        quick.chains = std::max(1, std::min(20, count));
        quick.warmupSteps = 20;
        quick.thinning = 1;
        quick.samples = count;
        quick.resampleCandidates = 1000;
        quick.threads = 1;
        quick.seed = seed + std::uint64_t(epoch);
        McmcResult draws = sampleMcmc(logPosterior, prior, quick, {});
        return Matrix(draws.samples.topRows(std::min<Eigen::Index>(count, draws.samples.rows())));
    };
}

void copyCounts(const NpeTrainingSet& set, LikelihoodRound& round, NleResult& result) {
    round.simulations = set.simulationCount;
    round.simulationSeconds = set.simulationSeconds;
    result.simulationCount += set.simulationCount;
    result.simulationSeconds += set.simulationSeconds;
    if (set.nonFiniteSummary.empty())
        return;
    if (!result.nonFiniteSummary.empty())
        result.nonFiniteSummary += "; ";
    result.nonFiniteSummary += "round " + std::to_string(round.round) + ": " + set.nonFiniteSummary;
}

void stopRun(NleResult& result, const LikelihoodRound& round, RunStatus status,
             const std::string& why) {
    result.rounds.push_back(round);
    result.training.status = status;
    result.training.stopReason = "round " + std::to_string(round.round) + ": " + why;
}

// The chosen candidate trained quietly: its epochs go to the hooks now, in order, followed by
// the snapshot the trainer would have taken after its last epoch.
void reportChosenTraining(const TrainingSummary& training, int round,
                          const std::function<Matrix(int, int)>& snapshot,
                          const TrainingHooks& hooks) {
    if (hooks.onStage)
        hooks.onStage("training");
    if (hooks.onEpoch)
        for (const EpochReport& report : training.history)
            hooks.onEpoch(report);  // too late to stop anything: the result is ignored
    if (!hooks.onSnapshot || hooks.snapshotEvery <= 0 || training.bestEpoch <= 0 ||
        training.status == RunStatus::Failed)
        return;
    PosteriorSnapshot frame;
    frame.round = round;
    frame.epoch = training.epochs;
    frame.samples = snapshot(hooks.snapshotSamples, training.epochs);
    frame.elapsedSeconds = training.seconds;
    hooks.onSnapshot(frame);
}

}  // namespace

McmcResult samplePosteriorByMcmc(const JointPrior& prior, const Matrix& observation,
                                 const torch::Device& device, const LikelihoodTerm& term,
                                 bool transformInput, const McmcSettings& settings,
                                 const TrainingHooks& hooks) {
    if (hooks.onStage)
        hooks.onStage("sampling");
    return sampleMcmcWithNetwork(logPosteriorOf(prior, observation, device, term, transformInput),
                                 prior, settings, hooks);
}

NleResult runLikelihoodRounds(const JointPrior& prior, const Simulator& simulator,
                              const Matrix& observation, const LikelihoodRunSettings& settings,
                              const std::vector<LikelihoodCandidate>& candidates,
                              const TrainingHooks& hooks) {
    if (candidates.empty())
        throw std::invalid_argument("runLikelihoodRounds needs at least one network");
    checkObservation(observation, simulator.dataDimension());
    NleResult result;

    // Round 1: the prior's simulations, the pairs NPE would train on with this seed.
    LikelihoodRound first;
    first.round = 1;
    NpeSettings simulation;
    simulation.simulations = simulationsInRound(settings.simulations, settings.rounds, 1);
    simulation.seed = settings.seed;
    simulation.threads = settings.threads;
    NpeTrainingSet set = simulateTrainingSet(prior, simulator, simulation, hooks);
    copyCounts(set, first, result);
    if (set.cancelled) {
        stopRun(result, first, RunStatus::Cancelled, set.stopReason);
        return result;
    }
    if (set.theta.rows() < 2) {
        stopRun(result, first, RunStatus::Failed,
                "training needs at least 2 finite simulations, got " +
                    std::to_string(set.theta.rows()));
        return result;
    }

    setComputeThreads(1);
    const torch::Device device(resolveDevice(settings.device));
    Matrix pooledTheta = std::move(set.theta);
    // The network's θ input: θ itself, or z = toUnconstrained(θ) (sbibm trains NLE and NRE
    // there: log θ for LogNormal priors, logit θ for uniform ones).
    const bool transformInput = settings.transformParameters;
    // The chains move where the network's input lives: one choice, not two to keep in step.
    McmcSettings mcmc = settings.mcmc;
    mcmc.transform = transformInput;
    const auto networkInput = [&](const Matrix& theta) {
        return toTensor(transformInput ? prior.toUnconstrained(theta) : theta, device);
    };
    torch::Tensor thetaData = networkInput(pooledTheta);
    torch::Tensor xData = toTensor(set.x, device);
    const auto roundLabel = [&settings](int round) { return settings.rounds > 1 ? round : 0; };
    // One round's training of `model` on all pairs so far.
    const auto trainModel = [&](const LikelihoodModel& model, int round,
                                const TrainingHooks& roundHooks,
                                const BatchLogDensity* snapshotDensity) {
        TrainingProblem problem;
        problem.module = model.module.get();
        problem.rows = thetaData.size(0);
        problem.batchLoss = [&](const torch::Tensor& indices) {
            const torch::Tensor rows = indices.to(device);
            return model.loss(thetaData.index_select(0, rows), xData.index_select(0, rows),
                              indices);
        };
        if (roundHooks.onSnapshot && snapshotDensity)
            problem.snapshot = quickChainSnapshots(
                prior, *snapshotDensity, roundSeed(settings.seed, round, 3), transformInput);
        if (roundHooks.onStage)
            roundHooks.onStage("training");
        return train(problem, settings.training, roundSeed(settings.seed, round, 0), roundHooks,
                     roundLabel(round));
    };

    // Several candidates: round 1 trains each in turn on the same pairs with the same seed (so
    // on the same validation rows) and keeps the lowest best validation loss. They train
    // quietly, as their epochs would collide in the run's history; the chosen one's epochs are
    // reported afterwards.
    LikelihoodModel model;
    std::optional<TrainingSummary> firstRoundTraining;
    if (candidates.size() == 1) {
        model = candidates.front().make(thetaData, xData, device);
        model.module->to(device);
    } else {
        TrainingHooks quiet;
        quiet.cancel = hooks.cancel;
        std::size_t chosen = 0;
        bool anyTrained = false;
        for (std::size_t i = 0; i < candidates.size(); ++i) {
            if (hooks.onStage)
                hooks.onStage("training " + candidates[i].name + " (" + std::to_string(i + 1) +
                              " of " + std::to_string(candidates.size()) +
                              " estimators; the lower validation loss is kept)");
            if (hooks.onTrialEpoch)
                quiet.onEpoch = [&hooks, &name = candidates[i].name](const EpochReport& report) {
                    hooks.onTrialEpoch(name, report);
                    return false;
                };
            LikelihoodModel tried = candidates[i].make(thetaData, xData, device);
            tried.module->to(device);
            const TrainingSummary summary = trainModel(tried, 1, quiet, nullptr);
            result.estimatorTrials.push_back({candidates[i].name, summary});
            const bool better =
                summary.bestEpoch > 0 &&
                (!anyTrained || summary.bestValidationLoss <
                                    result.estimatorTrials[chosen].training.bestValidationLoss);
            if (i == 0 || better) {
                chosen = i;
                model = tried;
                anyTrained = anyTrained || summary.bestEpoch > 0;
            }
            if (summary.status != RunStatus::Finished) {  // the run ends with this trial's round
                chosen = i;
                model = tried;
                break;
            }
        }
        firstRoundTraining = result.estimatorTrials[chosen].training;
        // The round took as long as all its trials: the time of the flows not kept counts too.
        firstRoundTraining->seconds = 0.0;
        for (const EstimatorTrial& trial : result.estimatorTrials)
            firstRoundTraining->seconds += trial.training.seconds;
        result.estimator = candidates[chosen].name;
    }
    if (result.estimator.empty())
        result.estimator = candidates.front().name;
    const BatchLogDensity logPosterior =
        logPosteriorOf(prior, observation, device, model.term, transformInput);

    for (int round = 1; round <= settings.rounds; ++round) {
        LikelihoodRound current = first;
        if (round > 1) {
            current = LikelihoodRound{};
            current.round = round;
            if (hooks.onStage)
                hooks.onStage("sampling");
            McmcSettings proposal = mcmc;
            proposal.samples = simulationsInRound(settings.simulations, settings.rounds, round);
            proposal.seed = roundSeed(settings.seed, round, 1);
            McmcResult draws;
            try {
                draws = sampleMcmcWithNetwork(logPosterior, prior, proposal, hooks);
            } catch (const std::runtime_error& error) {
                stopRun(result, current, RunStatus::Failed,
                        std::string("cannot draw proposals: ") + error.what());
                break;
            }
            current.proposalSeconds = draws.elapsedSeconds;
            if (draws.cancelled) {
                stopRun(result, current, RunStatus::Cancelled,
                        "cancelled while drawing proposals by MCMC");
                break;
            }
            SimulationOptions options;
            options.seed = settings.seed;
            options.threads = settings.threads;
            options.firstIndex = result.simulationCount;  // fresh simulator streams every round
            const NpeTrainingSet added =
                simulateTrainingSetAt(draws.samples, simulator, options, hooks);
            copyCounts(added, current, result);
            if (added.cancelled) {
                stopRun(result, current, RunStatus::Cancelled, added.stopReason);
                break;
            }
            appendRows(pooledTheta, added.theta);
            thetaData = torch::cat({thetaData, networkInput(added.theta)}, 0);
            xData = torch::cat({xData, toTensor(added.x, device)}, 0);
        }
        current.trainingPairs = pooledTheta.rows();
        result.trainingPairs = current.trainingPairs;

        const std::vector<torch::Tensor> before = copyOfParameters(*model.module);
        if (round == 1 && firstRoundTraining) {
            current.training = *firstRoundTraining;
            reportChosenTraining(
                current.training, roundLabel(round),
                quickChainSnapshots(prior, logPosterior, roundSeed(settings.seed, round, 3),
                                    transformInput),
                hooks);
        } else {
            current.training = trainModel(model, round, hooks, &logPosterior);
        }
        const TrainingSummary& t = current.training;
        result.rounds.push_back(current);
        addRound(result.training, t);
        result.training.stopReason = settings.rounds > 1
                                         ? "round " + std::to_string(round) + ": " + t.stopReason
                                         : t.stopReason;
        if (t.bestEpoch > 0) {
            result.trained = true;
        } else {
            restoreParameters(*model.module, before);
        }
        if (t.status != RunStatus::Finished) {
            result.training.status = t.status;
            break;
        }
    }
    if (!result.trained || result.training.status != RunStatus::Finished)
        return result;
    result.network = makeMcmcPosterior(model, transformInput, prior, mcmc, int(thetaData.size(1)),
                                       int(xData.size(1)), device);
    result.posterior =
        samplePosteriorByMcmc(prior, observation, device, model.term, transformInput, mcmc, hooks);
    if (result.posterior.cancelled) {
        result.training.status = RunStatus::Cancelled;
        result.training.stopReason = "cancelled while sampling the posterior";
    }
    return result;
}

}  // namespace sbiw::neural

namespace sbiw {

using neural::toMatrix;
using neural::toTensor;

namespace {

constexpr const char* kMcmcFormatName = "sbiw-mcmc-posterior";
constexpr int kMcmcFormatVersion = 1;

nlohmann::json mcmcToJson(const McmcSettings& s) {
    return {{"method", toString(s.method)},
            {"chains", s.chains},
            {"warmup_steps", s.warmupSteps},
            {"thinning", s.thinning},
            {"samples", s.samples},
            {"init", toString(s.init)},
            {"resample_candidates", s.resampleCandidates},
            {"seed", s.seed},
            {"slice_max_steps_out", s.sliceMaxStepsOut},
            {"mh_target_acceptance", s.mhTargetAcceptance},
            {"transform", s.transform}};
}

McmcSettings mcmcFromJson(const nlohmann::json& j) {
    McmcSettings s;
    const std::string method = j.at("method").get<std::string>();
    const std::string init = j.at("init").get<std::string>();
    if (!parseMcmcMethod(method) || !parseMcmcInit(init))
        throw std::runtime_error("unknown MCMC sampler '" + method + "' or start '" + init + "'");
    s.method = *parseMcmcMethod(method);
    s.init = *parseMcmcInit(init);
    s.chains = j.at("chains").get<int>();
    s.warmupSteps = j.at("warmup_steps").get<int>();
    s.thinning = j.at("thinning").get<int>();
    s.samples = j.at("samples").get<std::int64_t>();
    s.resampleCandidates = j.at("resample_candidates").get<int>();
    s.seed = j.at("seed").get<std::uint64_t>();
    s.sliceMaxStepsOut = j.at("slice_max_steps_out").get<int>();
    s.mhTargetAcceptance = j.at("mh_target_acceptance").get<double>();
    s.transform = j.value("transform", false);  // absent in archives of before the option
    throwIfProblems(s.validate());
    return s;
}

void checkMcmcObservation(const Matrix& observation, int dataDimension) {
    if (observation.rows() < 1 || observation.cols() != dataDimension)
        throw std::invalid_argument(
            "the observation must be rows of " + std::to_string(dataDimension) + " values (got " +
            std::to_string(observation.rows()) + " x " + std::to_string(observation.cols()) + ")");
    if (!observation.allFinite())
        throw std::invalid_argument("the observation contains non-finite values");
}

}  // namespace

McmcPosterior neural::makeMcmcPosterior(const LikelihoodModel& model, bool transformInput,
                                        const JointPrior& prior, const McmcSettings& mcmc,
                                        int parameters, int data, const torch::Device& device) {
    auto state = std::make_shared<detail::McmcPosteriorState>();
    state->module = model.module;
    state->term = model.term;
    state->transformInput = transformInput;
    state->network = model.network;
    state->priorBlocks = prior.blockSpecs();
    state->prior = prior;
    state->mcmc = mcmc;
    state->parameters = parameters;
    state->data = data;
    state->device = device;
    return McmcPosterior(state);
}

McmcPosterior::McmcPosterior() = default;
McmcPosterior::McmcPosterior(std::shared_ptr<detail::McmcPosteriorState> state)
    : state_(std::move(state)) {}
McmcPosterior::~McmcPosterior() = default;
McmcPosterior::McmcPosterior(const McmcPosterior&) = default;
McmcPosterior& McmcPosterior::operator=(const McmcPosterior&) = default;

int McmcPosterior::parameterDimension() const {
    return state_->parameters;
}
int McmcPosterior::dataDimension() const {
    return state_->data;
}
const JointPrior& McmcPosterior::prior() const {
    return state_->prior;
}
std::string McmcPosterior::network() const {
    return state_->network.at("kind").get<std::string>();
}
const McmcSettings& McmcPosterior::mcmc() const {
    return state_->mcmc;
}
std::string McmcPosterior::device() const {
    return state_->device.str();
}

Vector McmcPosterior::logPotential(const Matrix& theta, const Matrix& observation) const {
    checkMcmcObservation(observation, dataDimension());
    if (theta.cols() != parameterDimension())
        throw std::invalid_argument("theta must have " + std::to_string(parameterDimension()) +
                                    " columns");
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->module->eval();
    return neural::logPosteriorOf(state_->prior, observation, state_->device, state_->term,
                                  state_->transformInput)(theta);
}

McmcResult McmcPosterior::sample(std::int64_t count, const Matrix& observation, std::uint64_t seed,
                                 const LoopControl& control) const {
    checkMcmcObservation(observation, dataDimension());
    McmcSettings settings = state_->mcmc;
    settings.samples = count;
    settings.seed = seed;
    settings.threads = 1;  // one network call for all chains; the modules are not re-entrant
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->module->eval();
    return sampleMcmc(neural::logPosteriorOf(state_->prior, observation, state_->device,
                                             state_->term, state_->transformInput),
                      state_->prior, settings, control);
}

std::string McmcPosterior::toBytes() const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    nlohmann::json meta;
    meta["format"] = kMcmcFormatName;
    meta["version"] = kMcmcFormatVersion;
    meta["network"] = state_->network;
    meta["transform_parameters"] = state_->transformInput;
    meta["parameters"] = state_->parameters;
    meta["data"] = state_->data;
    meta["mcmc"] = mcmcToJson(state_->mcmc);
    meta["prior"] = detail::priorBlocksToJson(state_->priorBlocks);
    torch::serialize::OutputArchive archive;
    detail::writeArchiveMetadata(archive, meta);
    state_->module->save(archive);
    std::ostringstream stream;
    archive.save_to(stream);
    return stream.str();
}

McmcPosterior McmcPosterior::fromBytes(const std::string& bytes, const std::string& source,
                                       const std::string& device) {
    try {
        torch::serialize::InputArchive archive;
        std::istringstream stream(bytes);
        archive.load_from(stream);
        const nlohmann::json meta =
            detail::readArchiveMetadata(archive, kMcmcFormatName, kMcmcFormatVersion);
        const std::vector<PriorSpec> blocks = detail::priorBlocksFromJson(meta.at("prior"));
        const torch::Device on(resolveDevice(device));
        const nlohmann::json& network = meta.at("network");
        const std::string kind = network.at("kind").get<std::string>();
        neural::LikelihoodModel model;
        if (kind == "likelihood")
            model = neural::rebuildLikelihoodNetwork(network, on);
        else if (kind == "ratio")
            model = neural::rebuildRatioNetwork(network, on);
        else
            throw std::runtime_error("unknown network kind '" + kind + "'");
        model.module->load(archive);
        model.module->to(on);
        model.module->eval();
        // Archives written before the field existed fed the network θ itself.
        const bool transformInput = meta.value("transform_parameters", false);
        return neural::makeMcmcPosterior(
            model, transformInput, JointPrior(blocks), mcmcFromJson(meta.at("mcmc")),
            meta.at("parameters").get<int>(), meta.at("data").get<int>(), on);
    } catch (const std::exception& error) {
        throw std::runtime_error("cannot load the posterior of " + source + ": " + error.what());
    }
}

const char* McmcPosterior::formatName() {
    return kMcmcFormatName;
}

PosteriorAccess posteriorAccess(const McmcPosterior& posterior, int trials) {
    // A set of i.i.d. trials arrives flattened into one row; the posterior takes them as rows.
    const auto asRows = [posterior, trials](const Matrix& observation) -> Matrix {
        const int d = posterior.dataDimension();
        if (trials <= 1 || observation.rows() != 1 ||
            observation.cols() != Eigen::Index(trials) * d)
            return observation;
        Matrix rows(trials, d);
        for (int t = 0; t < trials; ++t)
            rows.row(t) = observation.block(0, Eigen::Index(t) * d, 1, d);
        return rows;
    };
    PosteriorAccess access;
    access.sample = [posterior, asRows](const Matrix& observation, std::int64_t count,
                                        std::uint64_t seed) {
        McmcResult draws = posterior.sample(count, asRows(observation), seed);
        return Matrix(draws.samples);
    };
    access.logProb = [posterior, asRows](const Matrix& theta, const Matrix& observation) {
        return posterior.logPotential(theta, asRows(observation));
    };
    return access;
}

}  // namespace sbiw
