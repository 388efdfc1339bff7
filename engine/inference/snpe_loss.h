#pragma once
// The atomic APT / SNPE-C loss (internal to sbiw_neural; includes LibTorch). For row i of a
// batch, the atoms are its own θ_i and K - 1 θ_j of other rows; with
// u_ij = log q(θ_j | x_i) - log p(θ_j), the proposal posterior of the true θ is
// softmax_j(u_ij) at j = i, and the loss is minus its log, averaged over the rows.

#include <cstdint>
#include <functional>

#include <torch/torch.h>

namespace sbiw::neural {

// log q(θ | x) for matching rows: theta [M, D], x [M, X] -> [M].
using ConditionalLogDensity =
    std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;

// [B, K - 1] int64 row indices of the contrasting atoms: row i holds K - 1 distinct indices in
// [0, B) other than i, drawn from stream (seed, Training, index). K is clamped to B (with
// B = 1 there is nothing to contrast: [1, 0]).
torch::Tensor drawContrastingAtoms(std::int64_t batch, int atoms, std::uint64_t seed,
                                   std::uint64_t index);

// log softmax_j(u_ij) at j = i per row: [B]. theta [B, D], x [B, X], logPrior [B] (log p(θ_i)),
// contrast [B, K - 1] (as drawContrastingAtoms gives, on any device).
torch::Tensor atomicLogProbs(const ConditionalLogDensity& logQ, const torch::Tensor& theta,
                             const torch::Tensor& x, const torch::Tensor& logPrior,
                             const torch::Tensor& contrast);

}  // namespace sbiw::neural
