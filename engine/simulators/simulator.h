#pragma once
// A simulator maps one parameter vector θ and a random stream to one data vector x.
// Implementations are immutable after construction and called concurrently from several
// threads, so simulate() and simulateRows() must be const and thread-safe.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"

namespace sbiw {

// Consecutive simulations handed over in one call: row r is simulation firstIndex + r of the
// run. Its noise comes from stream (seed, Simulator, firstIndex + r) only, or, for simulators
// outside this process, from the 64-bit simulationSeed(seed, firstIndex + r): either way the
// result never depends on how rows are split into calls or threads.
struct SimulationRows {
    const double* theta = nullptr;  // rows x parameterDimension, row-major
    double* x = nullptr;            // rows x dataDimension, row-major
    std::int64_t rows = 0;
    std::uint64_t seed = 0;
    std::uint64_t firstIndex = 0;
    // May become true while the call runs; slow simulators stop early and say so.
    const std::atomic<bool>* cancelFlag = nullptr;
};

struct RowFailure {
    std::int64_t row = 0;  // within the call
    std::string message;   // names θ where the simulator knows it
};

struct SimulationRowsResult {
    std::vector<RowFailure> failures;  // rows whose x is meaningless (the caller fills NaN)
    // Rows [0, completedRows) were simulated (or failed); less than `rows` only when cancelled.
    std::int64_t completedRows = 0;
};

// The seed a simulator outside this process gets for simulation `index` of a run with `seed`:
// the first 64 bits of stream (seed, Simulator, index).
std::uint64_t simulationSeed(std::uint64_t seed, std::uint64_t index);

// "[0.25, -1.5]": how errors name θ.
std::string formatTheta(const double* theta, int dimension);

class Simulator {
  public:
    virtual ~Simulator() = default;
    virtual int parameterDimension() const = 0;
    virtual int dataDimension() const = 0;
    // Writes dataDimension() values to x. Non-finite outputs are allowed (they are counted
    // and reported by the caller); throwing std::exception reports a failed simulation.
    virtual void simulate(const double* theta, double* x, RandomStream& rng) const = 0;

    // Simulates consecutive rows. The default calls simulate() once per row (an exception
    // fails that row only). Simulators with a cost per call (another process, a plugin)
    // override it to hand over the whole chunk at once; an exception thrown from here means
    // the simulator cannot run at all (it cannot start, it declares other dimensions) and
    // stops the whole batch.
    virtual SimulationRowsResult simulateRows(const SimulationRows& rows) const;
    // Rows per call that amortise that cost; 0: no preference.
    virtual std::int64_t preferredChunkSize() const { return 0; }
};

}  // namespace sbiw
