#pragma once
// The training loop shared by every neural method (internal to sbiw_neural; includes LibTorch):
// Adam, mini-batches, a held-out validation split, early stopping with best-weights restore,
// gradient clipping, hooks every epoch and cancellation checked every batch.

#include <functional>

#include <torch/torch.h>

#include "inference/settings.h"

namespace sbiw::neural {

struct TrainingProblem {
    torch::nn::Module* module = nullptr;  // whose parameters are trained
    std::int64_t rows = 0;                // number of training examples (before the split)
    // Mean loss over the rows `indices` (a CPU int64 tensor); called in train and eval mode.
    std::function<torch::Tensor(const torch::Tensor& indices)> batchLoss;
    // Called when hooks want a posterior snapshot (optional).
    std::function<Matrix(int count)> snapshot;
};

TrainingSummary train(const TrainingProblem& problem, const TrainingSettings& settings, std::uint64_t seed,
                      const TrainingHooks& hooks, int round = 0);

// Intra-op threads for torch and for the BLAS under it. OpenBLAS keeps its own thread pool,
// which torch::set_num_threads leaves alone: on small layers its second thread made a
// training step 2-4x slower here, so it is set to the same count (when OpenBLAS is loaded).
void setComputeThreads(int threads);

// Row-major double matrix -> float32 tensor on `device` (copies).
torch::Tensor toTensor(const Matrix& matrix, const torch::Device& device);
Matrix toMatrix(const torch::Tensor& tensor);

}  // namespace sbiw::neural
