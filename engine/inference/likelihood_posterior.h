#pragma once
// What NLE and NRE share (internal to sbiw_neural; includes LibTorch): the rounds that simulate,
// train and sample, and the MCMC that samples p(θ | x_o) ∝ exp(Σ_i term(θ, x_o,i)) p(θ) from a
// trained network.
//
// Round 1 simulates from the prior. Every later round (SNLE, SNRE) draws its θ by MCMC from the
// current posterior at x_o, simulates there, and trains on, from the current weights, on the
// pairs of all rounds; the network's z-scoring stays the one of round 1. As in sbi, neither
// loss is corrected for the proposal: a likelihood q(x | θ) does not depend on where θ came
// from, and a ratio trained on proposal draws is right up to a function of x, which MCMC at
// one x_o ignores.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "inference/mcmc_posterior.h"
#include "inference/nle.h"
#include "inference/npe.h"
#include "inference/trainer.h"

namespace sbiw::neural {

// term(theta [M, D], x [M, X]) -> [M]: the network's log-likelihood or log-ratio per row.
using LikelihoodTerm = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;

// A network plugged into the rounds.
struct LikelihoodModel {
    std::shared_ptr<torch::nn::Module> module;  // whose parameters are trained
    // Mean loss of a batch: theta [B, D], x [B, X], the rows `indices` (CPU int64) of the pooled
    // training pairs (a loss that draws atoms names its random stream by them).
    std::function<torch::Tensor(const torch::Tensor& theta, const torch::Tensor& x,
                                const torch::Tensor& indices)>
        loss;
    LikelihoodTerm term;
    // Kind ("likelihood" or "ratio") and architecture: what rebuilds the module for stored
    // weights (rebuildLikelihoodNetwork, rebuildRatioNetwork).
    nlohmann::json network;
};

// Builds the network from round 1's pairs (theta, x on `device`; their z-scoring).
using LikelihoodModelFactory = std::function<LikelihoodModel(
    const torch::Tensor& theta, const torch::Tensor& x, const torch::Device& device)>;

// A network the rounds may use, named as the run reports it (maf, nsf, resnet).
struct LikelihoodCandidate {
    std::string name;
    LikelihoodModelFactory make;
};

// Columns of x whose every training value is a whole number: counts, binary outcomes. A
// continuous flow fits such data as spikes at the integers, ever higher the longer it trains, and
// the likelihood it then gives an integer x_o swings with θ for no reason (sbibm's sir, 10 counts
// out of 1000: C2ST 0.88-0.98 with NSF). Uniform dequantisation instead trains on x + u,
// u ~ U[0, 1) in those columns: that density integrates over each unit cell to the count's
// probability, and the likelihood of an integer x_o is read at its cell's centre, x_o + 1/2.
torch::Tensor wholeNumberColumns(const torch::Tensor& x);

// Columns of x positive in every training row that are not `discrete` (1.0: whole numbers, which
// may be 0 later): the networks read log x there. Positive data often spans orders of magnitude
// with noise proportional to its size (populations, rates, durations), which is Gaussian-like on
// the log scale, but from a few thousandths to a hundred on the raw one (sbibm's
// lotka_volterra). NLE's flow then learns log x, with the Jacobian, which does not depend on θ;
// a ratio does not change under a bijection of x at all. So either way the posterior is the
// same model's. A later value <= 0 there lies outside what the network saw: it is read at
// kLogColumnFloor.
torch::Tensor positiveColumns(const torch::Tensor& x, const torch::Tensor& discrete);
// x with log x in the `logColumns` (1.0, else 0.0).
torch::Tensor logScaled(const torch::Tensor& x, const torch::Tensor& logColumns);
constexpr double kLogColumnFloor = 1e-30;
// The 0-based indices of a column mask's 1.0 entries.
std::vector<int> columnsOf(const torch::Tensor& mask);

// Round `round` of `rounds` gets simulations / rounds (round 1 also the remainder).
std::int64_t simulationsInRound(std::int64_t simulations, int rounds, int round);

// Checks the observation (rows of the simulator's data, finite; throws std::invalid_argument),
// runs the rounds and, when training finished, samples result.posterior by MCMC. Stops at a
// cancelled or failed round (the posterior is then not sampled). With several candidates, round
// 1 trains each and the rounds go on with the lowest best validation loss
// (result.estimatorTrials); with one, that network (result.estimator names it).
NleResult runLikelihoodRounds(const JointPrior& prior, const Simulator& simulator,
                              const Matrix& observation, const LikelihoodRunSettings& settings,
                              const std::vector<LikelihoodCandidate>& candidates,
                              const TrainingHooks& hooks);

// Samples by MCMC from p(θ | x_o) ∝ exp(Σ_i term(θ, x_o,i)) p(θ): every chain's θ is paired with
// every observation row in one network call, and the rows' terms are summed per chain.
// With transformInput the network takes θ in the prior's unconstrained space.
McmcResult samplePosteriorByMcmc(const JointPrior& prior, const Matrix& observation,
                                 const torch::Device& device, const LikelihoodTerm& term,
                                 bool transformInput, const McmcSettings& settings,
                                 const TrainingHooks& hooks);

// Untrained networks of the architecture `network` describes (LikelihoodModel::network), for
// loading stored weights into: NLE's flow (nle.cpp) and NRE's classifier (nre.cpp). Throw
// nlohmann::json or std::runtime_error errors for a malformed description.
LikelihoodModel rebuildLikelihoodNetwork(const nlohmann::json& network,
                                         const torch::Device& device);
LikelihoodModel rebuildRatioNetwork(const nlohmann::json& network, const torch::Device& device);

// A trained network with its prior and the run's sampler settings (θ has `parameters`
// columns, an observation row `data`); shares the module.
McmcPosterior makeMcmcPosterior(const LikelihoodModel& model, bool transformInput,
                                const JointPrior& prior, const McmcSettings& mcmc, int parameters,
                                int data, const torch::Device& device);

}  // namespace sbiw::neural
