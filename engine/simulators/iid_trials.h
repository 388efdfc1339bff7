#pragma once
// Several i.i.d. observations of one θ as one simulation: x is `trials` draws of the wrapped
// simulator at the same θ, concatenated (trial-major). NPE trains on such sets through the
// permutation-invariant set embedding; the likelihood and ratio methods need no wrapper (their
// terms add up over the observation's rows).

#include <memory>

#include "core/matrix.h"
#include "simulators/simulator.h"

namespace sbiw {

class IidTrialsSimulator : public Simulator {
  public:
    // Throws std::invalid_argument when trials < 1.
    IidTrialsSimulator(const Simulator& base, int trials);

    int parameterDimension() const override { return base_.parameterDimension(); }
    int dataDimension() const override { return trials_ * base_.dataDimension(); }
    int trials() const { return trials_; }
    // Trial m of the draw at `rng` continues the same stream.
    void simulate(const double* theta, double* x, RandomStream& rng) const override;
    // Simulation i's trial m is the wrapped simulator's simulation i * trials + m: its own
    // stream, whatever the chunking (a row fails when one of its trials does).
    SimulationRowsResult simulateRows(const SimulationRows& rows) const override;
    std::int64_t preferredChunkSize() const override;

  private:
    const Simulator& base_;
    int trials_;
};

// An observation of `trials` rows (each one simulator output) as the one row NPE conditions on.
Matrix flattenTrials(const Matrix& observation);

}  // namespace sbiw
