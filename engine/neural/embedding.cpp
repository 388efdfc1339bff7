#include "neural/embedding.h"

#include <stdexcept>

namespace sbiw::neural {

namespace {

class IdentityEmbeddingImpl : public EmbeddingImpl {
public:
    explicit IdentityEmbeddingImpl(int features) : features_(features) {}
    torch::Tensor forward(const torch::Tensor& x) override { return x; }
    int outputFeatures() const override { return features_; }

private:
    int features_;
};

class MlpEmbeddingImpl : public EmbeddingImpl {
public:
    MlpEmbeddingImpl(int inputFeatures, int hidden, int outputFeatures) : outputFeatures_(outputFeatures) {
        net_ = register_module("net", torch::nn::Sequential(torch::nn::Linear(inputFeatures, hidden), torch::nn::ReLU(),
                                                            torch::nn::Linear(hidden, hidden), torch::nn::ReLU(),
                                                            torch::nn::Linear(hidden, outputFeatures)));
    }
    torch::Tensor forward(const torch::Tensor& x) override { return net_->forward(x); }
    int outputFeatures() const override { return outputFeatures_; }

private:
    torch::nn::Sequential net_{nullptr};
    int outputFeatures_;
};

// Three conv(kernel 5) + relu + maxpool(2) stages with c, 2c, 4c channels shrink the series by 8,
// then an MLP maps the flattened features to the embedding.
class CnnEmbeddingImpl : public EmbeddingImpl {
public:
    CnnEmbeddingImpl(int length, int outputFeatures, int c) : length_(length), outputFeatures_(outputFeatures) {
        if (length < 16) throw std::invalid_argument("the CNN embedding needs a series of at least 16 samples");
        auto conv = [](int in, int out) { return torch::nn::Conv1d(torch::nn::Conv1dOptions(in, out, 5).padding(2)); };
        convs_ = register_module("convs", torch::nn::Sequential(
                                              conv(1, c), torch::nn::ReLU(), torch::nn::MaxPool1d(2),
                                              conv(c, 2 * c), torch::nn::ReLU(), torch::nn::MaxPool1d(2),
                                              conv(2 * c, 4 * c), torch::nn::ReLU(), torch::nn::MaxPool1d(2)));
        const int flattened = 4 * c * (((length / 2) / 2) / 2);
        head_ = register_module("head", torch::nn::Sequential(torch::nn::Linear(flattened, 100), torch::nn::ReLU(),
                                                              torch::nn::Linear(100, outputFeatures)));
    }
    torch::Tensor forward(const torch::Tensor& x) override {
        const torch::Tensor features = convs_->forward(x.reshape({x.size(0), 1, length_}));
        return head_->forward(features.flatten(1));
    }
    int outputFeatures() const override { return outputFeatures_; }

private:
    torch::nn::Sequential convs_{nullptr}, head_{nullptr};
    int length_, outputFeatures_;
};

// Deep set (Zaheer et al. 2017): rho(mean_m phi(x_m)); the mean makes it independent of the
// order and of the number of trials.
class SetEmbeddingImpl : public EmbeddingImpl {
public:
    SetEmbeddingImpl(int elementFeatures, int hidden, int outputFeatures)
        : elementFeatures_(elementFeatures), outputFeatures_(outputFeatures) {
        phi_ = register_module("phi", torch::nn::Sequential(torch::nn::Linear(elementFeatures, hidden), torch::nn::ReLU(),
                                                            torch::nn::Linear(hidden, hidden), torch::nn::ReLU()));
        rho_ = register_module("rho", torch::nn::Sequential(torch::nn::Linear(hidden, hidden), torch::nn::ReLU(),
                                                            torch::nn::Linear(hidden, outputFeatures)));
    }
    torch::Tensor forward(const torch::Tensor& x) override {
        if (x.size(1) % elementFeatures_ != 0)
            throw std::invalid_argument("set embedding: data width is not a multiple of the trial size");
        const torch::Tensor trials = x.reshape({x.size(0), x.size(1) / elementFeatures_, elementFeatures_});
        return rho_->forward(phi_->forward(trials).mean(1));
    }
    int outputFeatures() const override { return outputFeatures_; }

private:
    torch::nn::Sequential phi_{nullptr}, rho_{nullptr};
    int elementFeatures_, outputFeatures_;
};

}  // namespace

Embedding makeIdentityEmbedding(int inputFeatures) { return std::make_shared<IdentityEmbeddingImpl>(inputFeatures); }

Embedding makeMlpEmbedding(int inputFeatures, int hidden, int outputFeatures) {
    return std::make_shared<MlpEmbeddingImpl>(inputFeatures, hidden, outputFeatures);
}

Embedding makeCnnEmbedding(int length, int outputFeatures, int channels) {
    return std::make_shared<CnnEmbeddingImpl>(length, outputFeatures, channels);
}

Embedding makeSetEmbedding(int elementFeatures, int hidden, int outputFeatures) {
    return std::make_shared<SetEmbeddingImpl>(elementFeatures, hidden, outputFeatures);
}

}  // namespace sbiw::neural
