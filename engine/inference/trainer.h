#pragma once
// The training loop shared by every neural method (internal to sbiw_neural; includes LibTorch):
// Adam, mini-batches, a held-out validation split, early stopping with best-weights restore,
// gradient clipping, hooks every epoch, cancellation checked every batch, and checkpoints to
// continue from.

#include <functional>

#include <torch/torch.h>

#include "inference/settings.h"

namespace sbiw::neural {

struct TrainingProblem {
    torch::nn::Module* module = nullptr;  // whose parameters are trained
    std::int64_t rows = 0;                // number of training examples (before the split)
    // Mean loss over the rows `indices` (a CPU int64 tensor); called in train and eval mode.
    std::function<torch::Tensor(const torch::Tensor& indices)> batchLoss;
    // Called when hooks want a posterior snapshot after `epoch` (optional).
    std::function<Matrix(int count, int epoch)> snapshot;
};

// Trains from the module's current weights, or, given `resumeFrom` (a checkpoint that hooks
// received from an earlier call on the same problem, settings and seed), from that checkpoint:
// the weights, Adam's state and the early-stopping state are restored and training goes on
// with the next epoch, giving the epochs an uninterrupted run would have given. Throws
// std::invalid_argument when the checkpoint does not fit (rows, seed, model shape).
TrainingSummary train(const TrainingProblem& problem, const TrainingSettings& settings,
                      std::uint64_t seed, const TrainingHooks& hooks, int round = 0,
                      const TrainingCheckpoint* resumeFrom = nullptr);

// Intra-op threads for torch and for the BLAS under it. OpenBLAS keeps its own thread pool,
// which torch::set_num_threads leaves alone: on small layers its second thread made a
// training step 2-4x slower here, so it is set to the same count (when OpenBLAS is loaded).
void setComputeThreads(int threads);

// The seed of one part (salt) of round `round` of a run seeded `seed`: sequential methods draw
// proposals, atoms and snapshots from streams that differ between rounds.
inline std::uint64_t roundSeed(std::uint64_t seed, int round, std::uint64_t salt) {
    return seed + 0x9E3779B97F4A7C15ULL * (std::uint64_t(round) + (salt << 20));
}

// Adds one round's training to the run's summary: epochs, seconds and history, and the best
// epoch and loss when the round improved (status and stop reason stay the caller's).
void addRound(TrainingSummary& run, const TrainingSummary& round);

// A round that ends before any epoch improved leaves the weights it started from: copy them
// before, put them back after.
std::vector<torch::Tensor> copyOfParameters(torch::nn::Module& module);
void restoreParameters(torch::nn::Module& module, const std::vector<torch::Tensor>& copy);

// Row-major double matrix -> float32 tensor on `device` (copies).
torch::Tensor toTensor(const Matrix& matrix, const torch::Device& device);
Matrix toMatrix(const torch::Tensor& tensor);

}  // namespace sbiw::neural
