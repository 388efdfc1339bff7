#pragma once
// The small known-answer problem of the neural tests, shared by the Qt Test suites and the Qt-free
// device_check: sbibm's gaussian_linear in 3-D (prior N(0, 0.1 I), x ~ N(θ, 0.1 I)), whose
// posterior is N(x_o / 2, 0.05 I). Small enough to train in seconds. Header-only, no Qt.

#include <cmath>
#include <string>
#include <vector>

#include "inference/nle.h"
#include "inference/npe.h"
#include "inference/nre.h"

namespace sbiw::test {

class GaussianLinear3 : public Simulator {
  public:
    int parameterDimension() const override { return 3; }
    int dataDimension() const override { return 3; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        for (int i = 0; i < 3; ++i)
            x[i] = theta[i] + std::sqrt(0.1) * rng.normal();
    }
};

inline JointPrior gaussianLinear3Prior() {
    return JointPrior(std::vector<PriorSpec>(
        3, PriorSpec::scalar("normal", {{"mean", 0.0}, {"std", std::sqrt(0.1)}})));
}

inline Matrix gaussianLinear3Observation() {
    Matrix x(1, 3);
    x << 0.4, -0.3, 0.1;
    return x;
}

// Settings that recover the analytic posterior within a few percent.
inline NpeSettings gaussianLinear3Settings(const std::string& kind,
                                           const std::string& device = "cpu") {
    NpeSettings s;
    s.estimator.kind = kind;
    s.estimator.hiddenFeatures = 32;
    s.estimator.transforms = 3;
    s.simulations = 5000;
    s.seed = 7;
    s.device = device;
    s.threads = 1;  // small networks train fastest on one thread
    s.training.batchSize = 100;
    s.training.learningRate = 1e-3;
    s.training.maxEpochs = 300;
    return s;
}

// MCMC that samples the 3-D posterior well in about a second: 20 chains, 4,000 samples.
inline McmcSettings gaussianLinear3Mcmc() {
    McmcSettings m;
    m.chains = 20;
    m.samples = 4000;
    m.warmupSteps = 50;
    m.thinning = 5;
    m.seed = 2;
    return m;
}

// The budget, training and MCMC the likelihood and ratio methods recover the posterior with.
template <class Settings>
void setGaussianLinear3Budget(Settings& s, const std::string& device = "cpu") {
    s.simulations = 4000;
    s.seed = 5;
    s.device = device;
    s.threads = 1;
    s.training.batchSize = 100;
    s.training.learningRate = 1e-3;
    s.training.maxEpochs = 200;
    s.mcmc = gaussianLinear3Mcmc();
}

inline NleSettings gaussianLinear3Nle(const std::string& device = "cpu") {
    NleSettings s;
    s.estimator.hiddenFeatures = 32;
    s.estimator.transforms = 3;
    setGaussianLinear3Budget(s, device);
    return s;
}

// loss: "a" (NRE-A) or "c" (NRE-C).
inline NreSettings gaussianLinear3Nre(const std::string& loss, const std::string& device = "cpu") {
    NreSettings s;
    s.loss = loss;
    s.hiddenFeatures = 32;
    setGaussianLinear3Budget(s, device);
    return s;
}

}  // namespace sbiw::test
