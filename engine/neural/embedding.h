#pragma once
// Embedding networks: learned summaries of the data x that condition the density estimator
// (internal to sbiw_neural; includes LibTorch).

#include <cstdint>

#include <torch/torch.h>

namespace sbiw::neural {

class EmbeddingImpl : public torch::nn::Module {
public:
    // x [N, inputFeatures] -> [N, outputFeatures()]
    virtual torch::Tensor forward(const torch::Tensor& x) = 0;
    virtual int outputFeatures() const = 0;
};

using Embedding = std::shared_ptr<EmbeddingImpl>;

// Passes x through unchanged (low-dimensional summaries).
Embedding makeIdentityEmbedding(int inputFeatures);
// Fully connected: inputFeatures -> hidden -> hidden -> outputFeatures (relu).
Embedding makeMlpEmbedding(int inputFeatures, int hidden, int outputFeatures);
// 1-D CNN for a time series of `length` samples (e.g. gw_chirp's 512): three conv/pool stages of
// `channels`, 2 `channels` and 4 `channels`, then a small MLP to outputFeatures.
Embedding makeCnnEmbedding(int length, int outputFeatures, int channels = 8);
// Permutation-invariant set network for i.i.d. trials: x holds M trials of `elementFeatures`
// values each, flattened ([N, M * elementFeatures]); phi per trial, mean over trials, then rho.
// Works for any M at evaluation time.
Embedding makeSetEmbedding(int elementFeatures, int hidden, int outputFeatures);

}  // namespace sbiw::neural
