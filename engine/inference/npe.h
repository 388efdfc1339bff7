#pragma once
// Neural posterior estimation (amortised, one round): simulate from the prior, train a
// conditional density estimator q(θ | x) on the pairs, and return it as a posterior.

#include <cstdint>
#include <optional>
#include <string>

#include "core/matrix.h"
#include "inference/posterior.h"
#include "inference/settings.h"
#include "priors/joint_prior.h"
#include "project/project.h"
#include "simulators/batch_simulation.h"
#include "simulators/simulator.h"

namespace sbiw {

struct NpeSettings {
    EstimatorSettings estimator;
    TrainingSettings training;
    std::int64_t simulations = 10000;
    std::uint64_t seed = 1;
    int threads = 0;  // simulation and torch threads; 0: all cores for simulation, 1 for training
    std::string device = "auto";  // auto | cpu | cuda
    bool isTimeSeries = false;    // lets the "auto" embedding pick a CNN
    // i.i.d. observations of one θ per simulation: x is `trials` simulator outputs concatenated
    // (IidTrialsSimulator), and the "auto" embedding is the permutation-invariant set network.
    // The posterior then conditions on an observation of `trials` rows.
    int trials = 1;

    Problems validate() const;
};

struct NpeResult {
    std::optional<NeuralPosterior> posterior;  // absent if training failed before any epoch
    TrainingSummary training;
    std::int64_t simulationCount = 0;  // simulations run
    std::int64_t trainingPairs = 0;    // finite pairs used for training
    std::string nonFiniteSummary;      // empty when every simulation was finite
    double simulationSeconds = 0.0;
};

// The training set of a run: `settings.simulations` draws from the prior, simulated with
// `settings.seed`, without the pairs whose x is not finite.
struct NpeTrainingSet {
    Matrix theta, x;                   // finite pairs only
    std::int64_t simulationCount = 0;  // simulations run
    std::string nonFiniteSummary;      // empty when every simulation was finite
    double simulationSeconds = 0.0;
    bool cancelled = false;  // then theta and x are empty
    std::string stopReason;  // why, when cancelled
};

NpeTrainingSet simulateTrainingSet(const JointPrior& prior, const Simulator& simulator,
                                   const NpeSettings& settings, const TrainingHooks& hooks = {});

// The simulation loop's control from training hooks: their cancel flag and progress callback.
LoopControl loopControlOf(const TrainingHooks& hooks);

// A batch's finite pairs and counts as a training set; `requested` is how many simulations the
// batch was asked for (named in the stop reason when it was cancelled).
NpeTrainingSet trainingSetOf(const SimulationBatch& batch, std::int64_t requested);

// Simulates once at each row of `theta` (a later round's proposals) with `options` (their
// firstIndex keeps the streams fresh), reporting to the hooks; cancelled before starting when
// the hooks already are.
NpeTrainingSet simulateTrainingSetAt(const Matrix& theta, const Simulator& simulator,
                                     const SimulationOptions& options,
                                     const TrainingHooks& hooks = {});

// simulateTrainingSet, then trainNpe. `observation` (one row) is used only for the posterior
// snapshots of the hooks.
NpeResult runNpe(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NpeSettings& settings, const TrainingHooks& hooks = {});

// Trains on given (θ, x) pairs (rows must be finite). With `resumeFrom` (a checkpoint the hooks
// received from an earlier call with the same pairs and settings), training continues from it.
NpeResult trainNpe(const JointPrior& prior, const Matrix& theta, const Matrix& x,
                   const Matrix& observation, const NpeSettings& settings,
                   const TrainingHooks& hooks = {}, const TrainingCheckpoint* resumeFrom = nullptr);

}  // namespace sbiw
