#pragma once
// The posterior of a trained likelihood or ratio network (NLE, NRE and their sequential
// versions): p(θ | x) ∝ exp(Σ_i term(θ, x_i)) p(θ), where the term is the network's
// log-likelihood log q(x | θ) or log-ratio, sampled by MCMC at any observation. It keeps the
// network, the prior and the run's sampler settings, and saves them as a versioned archive (the
// run history stores it), so that a finished run can be sampled again and its calibration
// checked. Torch-free header.
//
// Threads: calls on one posterior (and its copies, which share the network) run one at a time.

#include <cstdint>
#include <memory>
#include <string>

#include "core/matrix.h"
#include "core/parallel.h"
#include "diagnostics/calibration.h"
#include "priors/joint_prior.h"
#include "sampling/mcmc.h"

namespace sbiw {

namespace detail {
struct McmcPosteriorState;
}

class McmcPosterior {
  public:
    McmcPosterior();
    explicit McmcPosterior(std::shared_ptr<detail::McmcPosteriorState> state);
    ~McmcPosterior();
    McmcPosterior(const McmcPosterior&);
    McmcPosterior& operator=(const McmcPosterior&);

    bool isValid() const { return state_ != nullptr; }
    int parameterDimension() const;
    int dataDimension() const;  // of one observation row
    const JointPrior& prior() const;
    // "likelihood" (NLE: a flow over x given θ) or "ratio" (NRE: a classifier's log-ratio).
    std::string network() const;
    // The sampler settings of the run that trained it; sample() uses them.
    const McmcSettings& mcmc() const;
    std::string device() const;

    // log p(θ) + Σ_i term(θ, x_i) per row of theta, over the observation's rows (i.i.d.
    // observations of one θ, each dataDimension() values); -infinity outside the prior's support.
    Vector logPotential(const Matrix& theta, const Matrix& observation) const;
    // `count` draws by MCMC with mcmc() (its sample count and seed replaced by these), with
    // acceptance, split R-hat and ESS. Throws std::invalid_argument for a bad observation.
    McmcResult sample(std::int64_t count, const Matrix& observation, std::uint64_t seed,
                      const LoopControl& control = {}) const;

    // Versioned archive in memory: the network's kind and architecture, its weights, the prior
    // and the sampler settings. `source` names where the bytes came from in error messages.
    std::string toBytes() const;
    static McmcPosterior fromBytes(const std::string& bytes, const std::string& source,
                                   const std::string& device = "cpu");
    // What the archive calls itself ("sbiw-mcmc-posterior"), e.g. for StoredModel::format.
    static const char* formatName();

    detail::McmcPosteriorState& state() const { return *state_; }

  private:
    std::shared_ptr<detail::McmcPosteriorState> state_;
};

// The posterior as the calibration diagnostics see it: sample() runs MCMC at each observation,
// logProb() is the unnormalised log-potential (enough for expected coverage, which only ranks
// within one observation). With trials > 1 an observation row given as one flattened set of
// `trials` i.i.d. rows (as IidTrialsSimulator simulates them) is split into its rows.
PosteriorAccess posteriorAccess(const McmcPosterior& posterior, int trials = 1);

}  // namespace sbiw
