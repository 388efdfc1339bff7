#pragma once
// Neural ratio estimation, NRE-A (Hermans et al. 2020, one round): a residual-MLP classifier
// tells simulated pairs (θ, x) from pairs with θ shuffled among the batch; its logit estimates
// log p(x | θ) / p(x), so the posterior p(θ | x_o) ∝ exp(Σ_i logit(θ, x_o,i)) p(θ) is sampled by
// MCMC. Several observation rows are i.i.d. observations of one θ (their log-ratios add up).

#include <cstdint>
#include <string>

#include "core/matrix.h"
#include "inference/nle.h"

namespace sbiw {

struct NreSettings {
    int hiddenFeatures = 50;  // sbi's classifier: residual MLP, 50 units, 2 blocks
    int blocks = 2;
    TrainingSettings training;
    std::int64_t simulations = 10000;
    std::uint64_t seed = 1;
    int threads = 0;              // simulation threads; 0: all cores (training uses one)
    std::string device = "auto";  // auto | cpu | cuda
    McmcSettings mcmc;

    Problems validate() const;
};

// Same report as NLE: training summary, MCMC samples and diagnostics.
using NreResult = NleResult;

NreResult runNre(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NreSettings& settings, const TrainingHooks& hooks = {});

}  // namespace sbiw
