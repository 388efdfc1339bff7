#pragma once
// Neural likelihood estimation (Papamakarios et al. 2019, one round): simulate from the prior,
// train a conditional density estimator q(x | θ) on the pairs, and sample the posterior
// p(θ | x_o) ∝ Π_i q(x_o,i | θ) p(θ) by MCMC. Several observation rows are i.i.d. observations
// of one θ: their log-likelihoods add up, so one trained estimator serves any number of them.

#include <cstdint>
#include <string>

#include "core/matrix.h"
#include "inference/settings.h"
#include "priors/joint_prior.h"
#include "project/project.h"
#include "sampling/mcmc.h"
#include "simulators/simulator.h"

namespace sbiw {

struct NleSettings {
    EstimatorSettings estimator = [] {
        EstimatorSettings e;
        e.kind = "maf";  // sbi's default for likelihood estimators
        e.embedding = "none";
        return e;
    }();
    TrainingSettings training;
    std::int64_t simulations = 10000;
    std::uint64_t seed = 1;
    int threads = 0;              // simulation threads; 0: all cores (training uses one)
    std::string device = "auto";  // auto | cpu | cuda
    McmcSettings mcmc;            // chains, warm-up, thinning and samples of the posterior

    Problems validate() const;
};

struct NleResult {
    bool trained = false;  // false when training failed or was cancelled before any epoch
    TrainingSummary training;
    McmcResult posterior;  // samples of p(θ | x_o) with acceptance, R-hat, ESS
    std::int64_t simulationCount = 0;
    std::int64_t trainingPairs = 0;
    std::string nonFiniteSummary;
    double simulationSeconds = 0.0;
};

// `observation`: one row per i.i.d. observation, the simulator's data columns. MCMC is skipped
// (posterior empty) when training did not finish or the hooks cancelled.
NleResult runNle(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NleSettings& settings, const TrainingHooks& hooks = {});

}  // namespace sbiw
