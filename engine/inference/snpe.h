#pragma once
// Sequential neural posterior estimation with the atomic APT / SNPE-C loss (Greenberg et al.
// 2019, as in sbi's SNPE_C with num_atoms and use_combined_loss off): round 1 simulates from
// the prior and trains q(θ | x) with the NPE loss; every later round draws θ from the current
// posterior at x_o (inside the prior's support, by the posterior's rejection), simulates, adds
// the pairs to those of all earlier rounds, and trains on, from the current weights, with the
// atomic loss, which corrects for the proposal without knowing its density. The z-scoring of θ
// and x is fixed from round 1's simulations. Torch-free header.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "inference/npe.h"
#include "inference/posterior.h"
#include "inference/settings.h"
#include "priors/joint_prior.h"
#include "simulators/simulator.h"

namespace sbiw {

struct SnpeSettings {
    NpeSettings npe;  // npe.simulations is the budget of all rounds together
    int rounds = 2;   // round r gets simulations / rounds (round 1 also the remainder)
    int atoms = 10;   // atoms per row of the atomic loss: the true θ and atoms - 1 from the batch

    Problems validate() const;
    // Simulations of round `round` (1-based).
    std::int64_t simulationsInRound(int round) const;
};

// One round's account.
struct SnpeRound {
    int round = 0;
    std::int64_t simulations = 0;     // simulated this round
    std::int64_t trainingPairs = 0;   // finite pairs of all rounds so far, trained on
    double proposalAcceptance = 1.0;  // share of the proposal's draws inside the prior's support
    double simulationSeconds = 0.0;
    TrainingSummary training;
};

struct SnpeResult {
    std::optional<NeuralPosterior> posterior;  // after the last round trained (absent if none did)
    // The run as one summary: status and stop reason of the round that ended the run, epochs and
    // history of all rounds (each report carries its round), best loss of the last round trained.
    TrainingSummary training;
    std::vector<SnpeRound> rounds;  // the rounds that ran, completed or not
    Matrix theta, x;                // the pooled finite training pairs of all rounds, in order
    std::vector<std::int64_t> roundOfRow;  // round (1-based) of each row of theta
    std::int64_t simulationCount = 0;
    std::string nonFiniteSummary;  // empty when every simulation was finite
    double simulationSeconds = 0.0;
};

// `observation`: one row, finite, of the simulator's data. Hooks: every EpochReport and
// PosteriorSnapshot carries its round (1-based); onStage says "simulating" / "training" at the
// start of each round's steps; cancellation is checked in every round. Each round's training
// is one call of the trainer: its epochs count from 1 and its elapsedSeconds from 0, it ends by
// early stopping with the round's best weights and a snapshot, and it keeps no checkpoint worth
// resuming from (an SNPE run restarts from round 1). The loss is the atomic one for every
// estimator kind (sbi uses the non-atomic loss for MDNs with Gaussian or uniform priors). Throws SettingsError
// for bad settings and std::invalid_argument for a bad observation.
SnpeResult runSnpe(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                   const SnpeSettings& settings, const TrainingHooks& hooks = {});

}  // namespace sbiw
