#pragma once
// What NLE and NRE share (internal to sbiw_neural; includes LibTorch): their training set and
// the MCMC that samples p(θ | x_o) ∝ exp(Σ_i term(θ, x_o,i)) p(θ) from a trained network.

#include <functional>

#include <torch/torch.h>

#include "inference/nle.h"
#include "inference/npe.h"
#include "inference/trainer.h"

namespace sbiw::neural {

// Checks the observation (rows of the simulator's data, finite; throws std::invalid_argument),
// then simulates the pairs NPE would train on with this seed (same streams), with the counts
// copied into `result`. Returns false (result marked cancelled) when the hooks cancelled.
bool simulateForLikelihood(const JointPrior& prior, const Simulator& simulator,
                           const Matrix& observation, std::int64_t simulations, std::uint64_t seed,
                           int threads, const TrainingHooks& hooks, NpeTrainingSet& set,
                           NleResult& result);

// Trains `problem` (filling result.training) and, when training finished, samples
// result.posterior with samplePosteriorByMcmc.
void trainThenSample(const TrainingProblem& problem, const TrainingSettings& training, std::uint64_t seed,
                     const JointPrior& prior, const Matrix& observation, const torch::Device& device,
                     const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& term,
                     const McmcSettings& settings, const TrainingHooks& hooks, NleResult& result);

// Samples result.posterior by MCMC. `term(theta [M, D], x [M, X])` -> [M] is the network's
// log-likelihood or log-ratio per row; every chain's θ is paired with every observation row in
// one call, and the rows' terms are summed per chain.
void samplePosteriorByMcmc(
    const JointPrior& prior, const Matrix& observation, const torch::Device& device,
    const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& term,
    const McmcSettings& settings, const TrainingHooks& hooks, NleResult& result);

}  // namespace sbiw::neural
