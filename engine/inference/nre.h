#pragma once
// Neural ratio estimation: a residual-MLP classifier whose logit estimates
// log p(x | θ) / p(x), so that the posterior p(θ | x_o) ∝ exp(Σ_i logit(θ, x_o,i)) p(θ) is
// sampled by MCMC. Several observation rows are i.i.d. observations of one θ (their
// log-ratios add up). Three losses:
//  - "a", NRE-A (Hermans et al. 2020): binary, simulated pairs (θ, x) against pairs with θ
//    shuffled among the batch;
//  - "b", NRE-B (Durkan et al. 2020, sbi's SNRE_B, the NRE and SNRE of sbibm's benchmark): for
//    each x, which of K atoms (its own θ and K - 1 θ of other rows) was simulated with it; the
//    logit is the log-ratio up to a term in x alone, which sampling at fixed x_o ignores;
//  - "c", NRE-C (Miller et al. 2022, sbi's SNRE_C): for each x, one of K + 1 classes — "all K
//    atoms drawn independently of x" or "atom k was simulated with x" — with the marginal class
//    weighted 1 / (1 + γ); at the optimum the logit is the exact log-ratio.
// With rounds > 1 it is sequential NRE (SNRE): later rounds simulate at MCMC draws from the
// current posterior (likelihood_posterior.h).

#include <cstdint>
#include <string>

#include "core/matrix.h"
#include "inference/nle.h"

namespace sbiw {

struct NreSettings : LikelihoodRunSettings {
    std::string loss = "a";   // a (binary, NRE-A) | b (atoms, NRE-B) | c (contrastive, NRE-C)
    int atoms = 10;           // NRE-B: K, atoms per x including its own θ (sbi's num_atoms)
    int classes = 5;          // NRE-C: K, atoms per class (sbi's num_classes)
    double gamma = 1.0;       // NRE-C: odds of the joint classes against the marginal one
    int hiddenFeatures = 50;  // sbi's classifier: residual MLP, 50 units, 2 blocks
    int blocks = 2;

    Problems validate() const;
};

// Same report as NLE: training summary, rounds, MCMC samples and diagnostics.
using NreResult = NleResult;

// The loss a ratio method's name asks for: "nre", "snre" -> "a"; "nre-b", "snre-b" -> "b";
// "nre-c", "snre-c" -> "c".
inline std::string nreLossOfMethod(const std::string& method) {
    const std::size_t dash = method.rfind('-');
    return dash == std::string::npos ? std::string("a") : method.substr(dash + 1);
}

NreResult runNre(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NreSettings& settings, const TrainingHooks& hooks = {});

}  // namespace sbiw
