#pragma once
// Batch simulation over all cores, reproducible for any thread count: simulation i draws θ from
// stream (seed, Prior, firstIndex + i) and its noise from stream (seed, Simulator, firstIndex + i).
// Non-finite outputs and simulator failures are kept (as rows marked in the report), never
// dropped silently: the caller decides what to do with them.

#include <cstdint>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "core/parallel.h"
#include "core/problems.h"

namespace sbiw {

class JointPrior;
class Simulator;

struct SimulationOptions {
    std::uint64_t seed = 0;
    int threads = 0;              // 0: all cores
    std::int64_t firstIndex = 0;  // index of the first simulation: extends an earlier batch
    std::int64_t chunkSize = 0;   // 0: chosen from count and threads

    Problems validate() const;
};

struct SimulationFailure {
    std::int64_t row = 0;  // row in the batch
    std::string message;   // what the simulator threw
};

struct SimulationBatch {
    Matrix theta;  // count x parameterDimension
    Matrix x;      // count x dataDimension (rows of failed simulations are NaN)
    // Rows with at least one non-finite value in x, failed simulations included, ascending.
    std::vector<std::int64_t> nonFiniteRows;
    // The first failures (exceptions thrown by the simulator), at most kMaxRecordedFailures.
    std::vector<SimulationFailure> failures;
    std::int64_t failureCount = 0;
    bool cancelled = false;  // if so, theta/x hold only the completed prefix
    double elapsedSeconds = 0.0;

    static constexpr std::size_t kMaxRecordedFailures = 20;
    std::int64_t count() const { return theta.rows(); }
    std::int64_t finiteCount() const { return count() - std::int64_t(nonFiniteRows.size()); }
    // One line for users, e.g. "3 of 1000 simulations gave non-finite data (rows 4, 17, 99)".
    std::string nonFiniteSummary() const;
};

// Draws `count` θ from the prior and simulates each.
SimulationBatch simulateFromPrior(const JointPrior& prior, const Simulator& simulator,
                                  std::int64_t count, const SimulationOptions& options,
                                  const LoopControl& control = {});

// Simulates once at each row of `theta` (e.g. posterior predictive checks).
SimulationBatch simulateAt(const Matrix& theta, const Simulator& simulator,
                           const SimulationOptions& options, const LoopControl& control = {});

// One simulation at θ, for a "test" button: x, or the error in words (a simulator that cannot
// start, a failed or non-finite simulation). Never throws. Uses simulation index 0 of `seed`.
struct SingleSimulation {
    std::vector<double> x;  // empty on error
    std::string error;
    double elapsedSeconds = 0.0;
    bool ok() const { return error.empty(); }
};
SingleSimulation simulateOnce(const Simulator& simulator, const std::vector<double>& theta,
                              std::uint64_t seed = 0);

}  // namespace sbiw
