#pragma once
// A trained neural posterior q(θ | x): sampling restricted to the prior's support (by rejection,
// reported as an acceptance rate), log-density, and a versioned save format. Torch-free header.
//
// Threads: sample() and logProb() may be called from several threads; the calls on one
// posterior (and its copies, which share the model) run one at a time. Sampling seeds torch's
// global generator, so concurrent sampling would not be reproducible, and the density modules
// are not known to be safe for concurrent forward passes.

#include <cstdint>
#include <memory>
#include <string>

#include "core/matrix.h"
#include "diagnostics/calibration.h"
#include "inference/settings.h"
#include "priors/joint_prior.h"

namespace sbiw {

namespace detail {
struct PosteriorState;
}

struct SamplingReport {
    std::int64_t proposed = 0;
    std::int64_t accepted = 0;
    double seconds = 0.0;
    double acceptanceRate() const { return proposed ? double(accepted) / double(proposed) : 0.0; }
};

class NeuralPosterior {
public:
    NeuralPosterior();
    explicit NeuralPosterior(std::shared_ptr<detail::PosteriorState> state);
    ~NeuralPosterior();
    NeuralPosterior(const NeuralPosterior&);
    NeuralPosterior& operator=(const NeuralPosterior&);

    bool isValid() const { return state_ != nullptr; }
    int parameterDimension() const;
    int dataDimension() const;
    const EstimatorSettings& estimatorSettings() const;
    const JointPrior& prior() const;
    std::string device() const;

    // `count` draws at `observation` (one row) inside the prior's support. Throws
    // std::runtime_error when almost every proposal falls outside the support.
    Matrix sample(std::int64_t count, const Matrix& observation, std::uint64_t seed,
                  SamplingReport* report = nullptr) const;
    // log q(θ | x) per row of theta (not renormalised for the prior's support; -inf outside it).
    Vector logProb(const Matrix& theta, const Matrix& observation) const;

    // Versioned archive: the architecture settings, the prior, the normalisation and the
    // weights by name. Throws std::runtime_error naming the file on failure.
    void save(const std::string& path) const;
    static NeuralPosterior load(const std::string& path, const std::string& device = "cpu");
    // The same archive in memory (e.g. for the run history). `source` names where the bytes
    // came from in error messages ("run 3 of /p/x.history.sqlite").
    std::string toBytes() const;
    static NeuralPosterior fromBytes(const std::string& bytes, const std::string& source,
                                     const std::string& device = "cpu");
    // What the archive calls itself ("sbiw-posterior"), e.g. for StoredModel::format.
    static const char* formatName();

    detail::PosteriorState& state() const { return *state_; }

private:
    std::shared_ptr<detail::PosteriorState> state_;
};

// The posterior as the calibration diagnostics see it (thread-safe, see above). Its calls
// serialise on the model, so the diagnostics gain nothing from more threads than one for the
// posterior part; torch's own intra-op threads work inside each call.
PosteriorAccess posteriorAccess(const NeuralPosterior& posterior);

}  // namespace sbiw
