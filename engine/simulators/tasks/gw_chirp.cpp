// gw_chirp: a leading-order (Newtonian) inspiral chirp in white Gaussian noise
// (../shared/tasks/gw_chirp.md).

#include <algorithm>
#include <cmath>
#include <limits>

#include "simulators/tasks/sampling.h"
#include "simulators/tasks/tasks.h"

namespace sbiw::tasks {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kSampleRate = 512.0;                 // Hz
constexpr double kSolarMass = 4.925491025543576e-06;  // G M_sun / c^3 in seconds
constexpr double kReferenceFrequency = 50.0;          // Hz
constexpr double kMaxFrequency = 128.0;               // Hz

class GwChirp final : public Simulator {
  public:
    int parameterDimension() const override { return 4; }
    int dataDimension() const override { return kGwChirpSamples; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        gwChirpSignal(theta, x);
        for (int k = 0; k < kGwChirpSamples; ++k)
            x[k] += rng.normal();  // sigma = 1
    }
};

}  // namespace

void gwChirpSignal(const double* theta, double* h) {
    if (!std::isfinite(theta[0] + theta[1] + theta[2] + theta[3])) {
        std::fill(h, h + kGwChirpSamples, std::numeric_limits<double>::quiet_NaN());
        return;
    }
    const double chirpMass = theta[0], tc = theta[1], amplitude = theta[2], phase = theta[3];
    // Every power of tau in the formulas is a power of s = tau^(1/8):
    //   f(tau)          = cf * s^-3,  cf = (1/pi) (5/256)^(3/8) M^(-5/8)
    //   A (f/f_ref)^2/3 = ca * s^-2,  ca = A (cf / f_ref)^(2/3)
    //   Phi(tau)        = phi - cp * s^5,  cp = 2 (5 M)^(-5/8)
    // so each sample needs three square roots and one cosine instead of four pow calls.
    const double m = chirpMass * kSolarMass;
    const double mPow = std::pow(m, -0.625);
    const double cf = std::pow(5.0 / 256.0, 0.375) / kPi * mPow;
    const double ca =
        amplitude * std::cbrt((cf / kReferenceFrequency) * (cf / kReferenceFrequency));
    const double cp = 2.0 * std::pow(5.0, -0.625) * mPow;
    for (int k = 0; k < kGwChirpSamples; ++k) {
        const double tau = tc - double(k) / kSampleRate;
        double value = 0.0;
        if (tau > 0.0) {
            const double s2 = std::sqrt(std::sqrt(tau));
            const double s = std::sqrt(s2);
            // f = cf / s^3 <= f_max, without the division.
            if (cf <= kMaxFrequency * (s2 * s))
                value = ca / s2 * std::cos(phase - cp * (s2 * s2 * s));
        }
        h[k] = value;
    }
}

std::unique_ptr<Simulator> makeGwChirp() {
    return std::make_unique<GwChirp>();
}

}  // namespace sbiw::tasks
