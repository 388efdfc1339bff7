// slcp and slcp_distractors. The distractor variant draws its slcp part first with exactly the
// slcp simulator's draws, so the same stream gives the same informative entries.

#include <cmath>

#include "simulators/tasks/sampling.h"
#include "simulators/tasks/tasks.h"

namespace sbiw::tasks {

const std::array<int, 100> kSlcpDistractorsPermutation = {
#include "simulators/generated/slcp_distractors_permutation.inc"
};

namespace {

constexpr int kNoiseDim = 92;
constexpr int kComponents = 20;
constexpr int kTrilSize = kNoiseDim * (kNoiseDim + 1) / 2;  // packed lower triangle

// Student-t mixture parameters (numpy seed 42 in sbibm), constant-initialised.
const double kLoc[kComponents * kNoiseDim] = {
#include "simulators/generated/slcp_distractors_gmm_loc.inc"
};
// Lower triangles row by row: row r of component c starts at c * kTrilSize + r (r + 1) / 2.
const double kScaleTril[kComponents * kTrilSize] = {
#include "simulators/generated/slcp_distractors_gmm_scale_tril.inc"
};

// Four i.i.d. points from N(m, Σ), flattened point by point (8 values).
void simulateSlcp(const double* theta, double* y, RandomStream& rng) {
    const double s1 = theta[2] * theta[2];  // standard deviations
    const double s2 = theta[3] * theta[3];
    const double rho = std::tanh(theta[4]);
    // Cholesky factor of Σ = [[s1², ρ s1 s2], [ρ s1 s2, s2²]] + 1e-6 I (the jitter keeps it
    // positive definite: Σ22 - L21² >= 1e-6).
    const double l11 = std::sqrt(s1 * s1 + 1e-6);
    const double l21 = rho * s1 * s2 / l11;
    const double l22 = std::sqrt(s2 * s2 + 1e-6 - l21 * l21);
    for (int k = 0; k < 4; ++k) {
        const double a = rng.normal();
        const double b = rng.normal();
        y[2 * k] = theta[0] + l11 * a;
        y[2 * k + 1] = theta[1] + l21 * a + l22 * b;
    }
}

class Slcp final : public Simulator {
  public:
    int parameterDimension() const override { return 5; }
    int dataDimension() const override { return 8; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        simulateSlcp(theta, x, rng);
    }
};

class SlcpDistractors final : public Simulator {
  public:
    int parameterDimension() const override { return 5; }
    int dataDimension() const override { return 100; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        double y[8 + kNoiseDim];
        simulateSlcp(theta, y, rng);

        // Multivariate Student-t (df 2) from a random component: loc + L z sqrt(2 / w) with
        // w ~ χ²(2), i.e. w = -2 log U.
        const int c = int(rng.below(kComponents));
        double z[kNoiseDim];
        fillNormals(rng, z, kNoiseDim);
        const double scale = std::sqrt(2.0 / (-2.0 * std::log(rng.uniform())));
        const double* loc = kLoc + c * kNoiseDim;
        const double* tril = kScaleTril + c * kTrilSize;
        for (int r = 0; r < kNoiseDim; ++r) {
            const double* row = tril + r * (r + 1) / 2;
            double sum = 0.0;
            for (int j = 0; j <= r; ++j)
                sum += row[j] * z[j];
            // sbibm samples the noise in float64 and stores it as float32.
            y[8 + r] = double(float(loc[r] + scale * sum));
        }
        for (int j = 0; j < 100; ++j)
            x[j] = y[kSlcpDistractorsPermutation[j]];
    }
};

}  // namespace

std::unique_ptr<Simulator> makeSlcp() {
    return std::make_unique<Slcp>();
}
std::unique_ptr<Simulator> makeSlcpDistractors() {
    return std::make_unique<SlcpDistractors>();
}

}  // namespace sbiw::tasks
