#pragma once
// Neural likelihood estimation (Papamakarios et al. 2019): simulate from the prior, train a
// conditional density estimator q(x | θ) on the pairs, and sample the posterior
// p(θ | x_o) ∝ Π_i q(x_o,i | θ) p(θ) by MCMC. Several observation rows are i.i.d. observations
// of one θ: their log-likelihoods add up, so one trained estimator serves any number of them.
// With rounds > 1 it is sequential NLE (SNLE): every later round simulates at MCMC draws from
// the current posterior and trains on the pairs of all rounds.

#include <cstdint>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "inference/mcmc_posterior.h"
#include "inference/settings.h"
#include "priors/joint_prior.h"
#include "project/project.h"
#include "sampling/mcmc.h"
#include "simulators/simulator.h"

namespace sbiw {

// What a likelihood or ratio run needs besides its network (NleSettings, NreSettings).
struct LikelihoodRunSettings {
    TrainingSettings training;
    std::int64_t simulations = 10000;  // all rounds together
    int rounds = 1;                    // 1: NLE / NRE; more: SNLE / SNRE, the budget split evenly
    std::uint64_t seed = 1;
    int threads = 0;              // simulation threads; 0: all cores (training uses one)
    std::string device = "auto";  // auto | cpu | cuda
    McmcSettings mcmc;            // chains, warm-up, thinning and samples of the posterior
    // The network takes θ in the prior's unconstrained space (log θ for a positive parameter,
    // logit for a bounded one), as sbibm runs NLE and NRE, and the run's MCMC moves there too
    // (it sets mcmc.transform to this); the posterior is still over θ.
    bool transformParameters = false;
    // Data columns positive in every training row of round 1 (not whole numbers) are read on the
    // log scale: NLE's flow learns log x there, NRE's classifier reads log x (see
    // likelihood_posterior.h). Off: as they are. On sbibm's lotka_volterra observation 2 this
    // took SNLE's C2ST from 0.965 to 0.593, on observation 1 SNRE-C's from 0.963 to 0.696.
    bool logPositiveColumns = true;

    // Problems of these fields (training.*, mcmc.*, rounds, simulations, threads, device).
    Problems validateRun() const;
};

struct NleSettings : LikelihoodRunSettings {
    EstimatorSettings estimator = [] {
        EstimatorSettings e;
        // sbi's default is MAF; the spline flow fits two_moons' crescents far better (C2ST 0.54
        // against 0.78-0.81 on sbibm observations 3 and 5, docs/BENCHMARKS.md).
        // "auto" (NLE only) trains both MAF and NSF in round 1 and keeps the one with the lower
        // best validation loss: see NleResult::estimatorTrials.
        e.kind = "nsf";
        e.embedding = "none";
        return e;
    }();
    // Data columns holding only whole numbers in the training set (counts, 0/1 outcomes) are
    // modelled dequantised: the flow learns x + U[0, 1) there, and an observation's likelihood
    // is read at x_o + 1/2 (see nle.cpp). Off: every column is modelled as it is.
    bool dequantizeWholeNumbers = true;

    Problems validate() const;
};

// One round of a likelihood or ratio run.
struct LikelihoodRound {
    int round = 0;
    std::int64_t simulations = 0;    // simulated this round
    std::int64_t trainingPairs = 0;  // finite pairs of all rounds so far, trained on
    double proposalSeconds = 0.0;    // MCMC drawing the round's θ (0 in round 1: the prior's)
    double simulationSeconds = 0.0;
    TrainingSummary training;
};

// One network tried in round 1 when the estimator is chosen automatically.
struct EstimatorTrial {
    std::string kind;  // maf | nsf
    TrainingSummary training;
};

struct NleResult {
    bool trained = false;  // false when no round's training improved on its start
    // The run as one summary: status and stop reason of the round that ended it, epochs and
    // history of all rounds (each report carries its round), best loss of the last round trained.
    TrainingSummary training;
    std::vector<LikelihoodRound> rounds;  // the rounds that ran, completed or not
    McmcResult posterior;                 // samples of p(θ | x_o) with acceptance, R-hat, ESS
    // The trained network with its prior and sampler settings (valid when the posterior was
    // sampled): samples p(θ | x) again at any x; the run history stores it.
    McmcPosterior network;
    std::int64_t simulationCount = 0;
    std::int64_t trainingPairs = 0;  // finite pairs of all rounds
    std::string nonFiniteSummary;    // empty when every simulation was finite
    double simulationSeconds = 0.0;
    // The network the posterior comes from: the settings' kind, or with "auto" the trial with
    // the lowest best validation loss. Every candidate trains on the same pairs with the same
    // seed, so on the same validation rows, and its loss, -log q(x | θ), compares across kinds.
    std::string estimator;
    std::vector<EstimatorTrial> estimatorTrials;  // "auto" only, in the order tried
    // 0-based data columns the flow modelled dequantised (NLE), and those the network read on
    // the log scale (both chosen from round 1's simulations).
    std::vector<int> dequantizedColumns;
    std::vector<int> logColumns;
};

// One line on an automatic choice, e.g. "estimator auto: NSF best validation loss 3.092 (95
// epochs, 60.1 s), MAF 2.871 (120 epochs, 45.2 s); kept MAF". Empty without trials.
std::string describeEstimatorChoice(const NleResult& result);

// One line on how NLE modelled the data, e.g. "data columns modelled on the log scale (positive
// in every simulation): 1-20; dequantised (whole numbers): 3, 5" with 1-based columns. Empty
// when every column was modelled as it is.
std::string describeDataModelling(const NleResult& result);

// `observation`: one row per i.i.d. observation, the simulator's data columns. MCMC is skipped
// (posterior empty) when a round did not finish or the hooks cancelled. Throws SettingsError
// for bad settings and std::invalid_argument for a bad observation.
NleResult runNle(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NleSettings& settings, const TrainingHooks& hooks = {});

}  // namespace sbiw
