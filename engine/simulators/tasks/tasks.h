#pragma once
// Factories for the built-in simulators, plus the few noise-free pieces that tests and exact
// likelihoods need. The catalogue (simulators/catalogue.h) is the public entry point; the
// specifications are ../shared/data/sbibm/README.md and ../shared/tasks/gw_chirp.md.

#include <array>
#include <memory>

#include "simulators/simulator.h"

namespace sbiw::tasks {

// sbibm tasks (Lueckmann et al. 2021).
std::unique_ptr<Simulator> makeGaussianLinear();  // also gaussian_linear_uniform: same simulator
std::unique_ptr<Simulator> makeTwoMoons();
std::unique_ptr<Simulator> makeSlcp();
std::unique_ptr<Simulator> makeSlcpDistractors();
std::unique_ptr<Simulator> makeGaussianMixture();
std::unique_ptr<Simulator> makeBernoulliGlm();     // 10 sufficient statistics X^T y
std::unique_ptr<Simulator> makeBernoulliGlmRaw();  // the 100 binary outcomes y
std::unique_ptr<Simulator> makeSir();
std::unique_ptr<Simulator> makeLotkaVolterra();
// SBI Workbench teaching task.
std::unique_ptr<Simulator> makeGwChirp();

// slcp_distractors: output index of y[j] is the j with kSlcpDistractorsPermutation[j] == i.
extern const std::array<int, 100> kSlcpDistractorsPermutation;

// bernoulli_glm: the float32 stimulus I_t, t = 0..99 (design matrix X[t,1+j] = I[t-j]).
extern const std::array<float, 100> kBernoulliGlmStimulus;

// SIR: I(t) at t = 0, 17, ..., 153 from the ODE (no noise). False if the solver failed.
bool sirInfected(double beta, double gamma, double* infected10);
// Lotka-Volterra: [prey(t_0..t_9), predator(t_0..t_9)] at t_k = 2.1 k (no noise).
bool lotkaVolterraStates(const double* theta, double* states20);

constexpr int kGwChirpSamples = 512;
// gw_chirp: the noise-free strain h(θ) (512 values); the data are h + N(0, 1) noise.
void gwChirpSignal(const double* theta, double* h);

}  // namespace sbiw::tasks
