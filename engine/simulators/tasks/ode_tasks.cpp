// sir and lotka_volterra: ODE solutions observed through Binomial / log-normal noise.

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "simulators/ode.h"
#include "simulators/tasks/sampling.h"
#include "simulators/tasks/tasks.h"

namespace sbiw::tasks {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kObservedTimes = 10;

// SIR: t = 0, 17, ..., 153 (every 17th point of the daily grid 0..160).
constexpr std::array<double, kObservedTimes> kSirTimes = {0,  17,  34,  51,  68,
                                                          85, 102, 119, 136, 153};
constexpr double kPopulation = 1e6;

// Lotka-Volterra: t_k = 2.1 k (every 21st point of the grid 0, 0.1, ..., 20).
constexpr std::array<double, kObservedTimes> kLvTimes = {0.0,  2.1,  4.2,  6.3,  8.4,
                                                         10.5, 12.6, 14.7, 16.8, 18.9};

// The trajectory as sbibm stores it (float32). Values beyond the float range saturate instead of
// overflowing (a double-to-float overflow is undefined); they are clamped to 1e4 anyway.
float toFloat32(double value) {
    return float(std::clamp(value, -3e38, 3e38));
}

class Sir final : public Simulator {
  public:
    int parameterDimension() const override { return 2; }
    int dataDimension() const override { return kObservedTimes; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        double infected[kObservedTimes];
        if (!sirInfected(theta[0], theta[1], infected)) {
            std::fill(x, x + kObservedTimes, kNaN);
            return;
        }
        for (int k = 0; k < kObservedTimes; ++k) {
            // sbibm: float32 trajectory, probs = (I / N).clamp(0, 1) in float32.
            const float p = std::clamp(float(infected[k]) / float(kPopulation), 0.0f, 1.0f);
            x[k] = double(rng.binomial(1000, double(p)));
        }
    }
};

class LotkaVolterra final : public Simulator {
  public:
    int parameterDimension() const override { return 4; }
    int dataDimension() const override { return 2 * kObservedTimes; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        double states[2 * kObservedTimes];
        if (!lotkaVolterraStates(theta, states)) {
            std::fill(x, x + 2 * kObservedTimes, kNaN);
            return;
        }
        for (int k = 0; k < 2 * kObservedTimes; ++k) {
            // sbibm: LogNormal(log(clamp(u, 1e-10, 1e4)), 0.1) on the float32 trajectory.
            const double location =
                std::log(double(std::clamp(toFloat32(states[k]), 1e-10f, 1e4f)));
            x[k] = std::exp(location + 0.1 * rng.normal());
        }
    }
};

}  // namespace

bool sirInfected(double beta, double gamma, double* infected10) {
    // R is integrated too although only I is observed: it takes part in the error control, as in
    // the reference solver.
    using State = std::array<double, 3>;
    const double betaPerCapita = beta / kPopulation;
    const auto rhs = [betaPerCapita, gamma](const State& u, State& dudt) {
        const double infections = betaPerCapita * u[0] * u[1];
        const double recoveries = gamma * u[1];
        dudt[0] = -infections;
        dudt[1] = infections - recoveries;
        dudt[2] = recoveries;
    };
    std::array<State, kObservedTimes> states;
    if (!ode::solveAt(rhs, State{kPopulation - 1.0, 1.0, 0.0}, 0.0, kSirTimes.data(),
                      kObservedTimes, states.data()))
        return false;
    for (int k = 0; k < kObservedTimes; ++k)
        infected10[k] = states[k][1];
    return true;
}

bool lotkaVolterraStates(const double* theta, double* states20) {
    using State = std::array<double, 2>;
    const double alpha = theta[0], beta = theta[1], gamma = theta[2], delta = theta[3];
    const auto rhs = [=](const State& u, State& dudt) {
        const double encounters = u[0] * u[1];
        dudt[0] = alpha * u[0] - beta * encounters;
        dudt[1] = delta * encounters - gamma * u[1];
    };
    std::array<State, kObservedTimes> states;
    if (!ode::solveAt(rhs, State{30.0, 1.0}, 0.0, kLvTimes.data(), kObservedTimes, states.data()))
        return false;
    for (int k = 0; k < kObservedTimes; ++k) {
        states20[k] = states[k][0];                   // prey
        states20[kObservedTimes + k] = states[k][1];  // predator
    }
    return true;
}

std::unique_ptr<Simulator> makeSir() {
    return std::make_unique<Sir>();
}
std::unique_ptr<Simulator> makeLotkaVolterra() {
    return std::make_unique<LotkaVolterra>();
}

}  // namespace sbiw::tasks
