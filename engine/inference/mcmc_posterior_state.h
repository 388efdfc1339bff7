#pragma once
// What a McmcPosterior holds (internal to sbiw_neural; includes LibTorch).

#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "inference/likelihood_posterior.h"
#include "inference/mcmc_posterior.h"

namespace sbiw::detail {

struct McmcPosteriorState {
    std::shared_ptr<torch::nn::Module> module;
    neural::LikelihoodTerm term;
    bool transformInput = false;         // the network takes θ in the prior's unconstrained space
    nlohmann::json network;              // kind and architecture: what rebuilds `module`
    std::vector<PriorSpec> priorBlocks;  // saved with the network, so a loaded one knows its prior
    JointPrior prior;
    McmcSettings mcmc;
    int parameters = 0;
    int data = 0;
    torch::Device device = torch::kCPU;
    mutable std::mutex mutex;  // one call at a time: the network modules are not re-entrant
};

}  // namespace sbiw::detail
