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

// What the NPE and the MCMC posterior archives share (posterior.cpp): their metadata entry,
// the prior's blocks and an estimator's settings as JSON.
void writeArchiveMetadata(torch::serialize::OutputArchive& archive, const nlohmann::json& meta);
// The metadata, checked to say `format` of a version up to `version`; throws
// std::runtime_error saying what the archive is not.
nlohmann::json readArchiveMetadata(torch::serialize::InputArchive& archive,
                                   const std::string& format, int version);
nlohmann::json priorBlocksToJson(const std::vector<PriorSpec>& blocks);
std::vector<PriorSpec> priorBlocksFromJson(const nlohmann::json& json);
nlohmann::json estimatorSettingsToJson(const EstimatorSettings& settings);
EstimatorSettings estimatorSettingsFromJson(const nlohmann::json& json);

}  // namespace sbiw::detail
