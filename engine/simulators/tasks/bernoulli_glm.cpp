// bernoulli_glm and bernoulli_glm_raw: a GLM with a 9-tap linear filter on a fixed white-noise
// stimulus and Bernoulli (logistic) outputs over 100 time bins.

#include <algorithm>
#include <cmath>
#include <limits>

#include "simulators/tasks/sampling.h"
#include "simulators/tasks/tasks.h"

namespace sbiw::tasks {

// float32 values, as sbibm stores them (np.random.RandomState(42).randn(100) cast to float32).
const std::array<float, 100> kBernoulliGlmStimulus = {
#include "simulators/generated/bernoulli_glm_stimulus.inc"
};

namespace {

constexpr int kBins = 100;
constexpr int kTaps = 9;

// y_t ~ Bernoulli(sigmoid(ψ_t)), ψ = X θ with X[t, 0] = 1, X[t, 1 + j] = I[t - j] (t >= j).
// Returns false (and draws nothing) for a non-finite θ, which would otherwise pass silently as
// "never spikes".
bool simulateSpikes(const double* theta, bool* y, RandomStream& rng) {
    double check = 0.0;
    for (int i = 0; i < 1 + kTaps; ++i)
        check += theta[i];
    if (!std::isfinite(check))
        return false;
    const auto& stimulus = kBernoulliGlmStimulus;
    for (int t = 0; t < kBins; t += 2) {
        const std::uint64_t bits = rng.nextBits();  // two 32-bit uniforms per draw
        for (int half = 0; half < 2; ++half) {
            const int s = t + half;
            double psi = theta[0];
            const int taps = std::min(s, kTaps - 1);
            for (int j = 0; j <= taps; ++j)
                psi += theta[1 + j] * double(stimulus[s - j]);
            const double p = 1.0 / (1.0 + std::exp(-psi));
            y[s] = unitFrom32(std::uint32_t(bits >> (32 * half))) < p;
        }
    }
    return true;
}

class BernoulliGlm final : public Simulator {
  public:
    int parameterDimension() const override { return 10; }
    int dataDimension() const override { return 10; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        bool y[kBins];
        if (!simulateSpikes(theta, y, rng)) {
            std::fill(x, x + 1 + kTaps, std::numeric_limits<double>::quiet_NaN());
            return;
        }
        // Sufficient statistics X^T y: spike count and spike-triggered sums of the stimulus.
        for (int i = 0; i < 1 + kTaps; ++i)
            x[i] = 0.0;
        for (int t = 0; t < kBins; ++t) {
            if (!y[t])
                continue;
            x[0] += 1.0;
            const int taps = std::min(t, kTaps - 1);
            for (int j = 0; j <= taps; ++j)
                x[1 + j] += double(kBernoulliGlmStimulus[t - j]);
        }
    }
};

class BernoulliGlmRaw final : public Simulator {
  public:
    int parameterDimension() const override { return 10; }
    int dataDimension() const override { return kBins; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        bool y[kBins];
        if (!simulateSpikes(theta, y, rng)) {
            std::fill(x, x + kBins, std::numeric_limits<double>::quiet_NaN());
            return;
        }
        for (int t = 0; t < kBins; ++t)
            x[t] = y[t] ? 1.0 : 0.0;
    }
};

}  // namespace

std::unique_ptr<Simulator> makeBernoulliGlm() {
    return std::make_unique<BernoulliGlm>();
}
std::unique_ptr<Simulator> makeBernoulliGlmRaw() {
    return std::make_unique<BernoulliGlmRaw>();
}

}  // namespace sbiw::tasks
