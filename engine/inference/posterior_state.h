#pragma once
// What a NeuralPosterior holds (internal to sbiw_neural; includes LibTorch).

#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "inference/conditional_estimator.h"
#include "inference/npe.h"
#include "inference/posterior.h"

namespace sbiw::detail {

struct PosteriorState {
    neural::ConditionalEstimator estimator;
    std::vector<PriorSpec> priorBlocks;  // saved with the model, so a loaded one knows its support
    JointPrior prior;
    torch::Device device = torch::kCPU;
    std::uint64_t seed = 0;              // the seed it was built with (saved)
    mutable std::mutex mutex;            // one call at a time: sampling seeds torch's global generator
};

// A new, untrained posterior for NPE-style training on (theta, x): the estimator of
// `settings.estimator`, its z-scoring fixed from these rows, on `device` (defined in npe.cpp).
std::shared_ptr<PosteriorState> newPosteriorState(const JointPrior& prior, const torch::Tensor& theta,
                                                  const torch::Tensor& x, const NpeSettings& settings,
                                                  const torch::Device& device);

// The archives' JSON for a prior block and an estimator's settings (posterior.cpp); the NPE and
// the MCMC posterior archives share them.
nlohmann::json priorBlockToJson(const PriorSpec& spec);
PriorSpec priorBlockFromJson(const nlohmann::json& json);
nlohmann::json estimatorSettingsToJson(const EstimatorSettings& settings);
EstimatorSettings estimatorSettingsFromJson(const nlohmann::json& json);

}  // namespace sbiw::detail
