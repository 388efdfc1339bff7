#include "simulators/iid_trials.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace sbiw {

IidTrialsSimulator::IidTrialsSimulator(const Simulator& base, int trials)
    : base_(base), trials_(trials) {
    if (trials < 1)
        throw std::invalid_argument("i.i.d. trials must be at least 1, got " +
                                    std::to_string(trials));
}

void IidTrialsSimulator::simulate(const double* theta, double* x, RandomStream& rng) const {
    const int d = base_.dataDimension();
    for (int m = 0; m < trials_; ++m)
        base_.simulate(theta, x + std::ptrdiff_t(m) * d, rng);
}

SimulationRowsResult IidTrialsSimulator::simulateRows(const SimulationRows& rows) const {
    const int p = base_.parameterDimension();
    std::vector<double> repeated(std::size_t(rows.rows) * std::size_t(trials_) * std::size_t(p));
    for (std::int64_t r = 0; r < rows.rows; ++r)
        for (int m = 0; m < trials_; ++m)
            std::copy(rows.theta + r * p, rows.theta + (r + 1) * p,
                      repeated.begin() + std::ptrdiff_t((r * trials_ + m) * p));
    SimulationRows expanded = rows;
    expanded.theta = repeated.data();
    expanded.rows = rows.rows * trials_;  // x is trial-major within a row: the same memory
    expanded.firstIndex = rows.firstIndex * std::uint64_t(trials_);
    const SimulationRowsResult inner = base_.simulateRows(expanded);
    SimulationRowsResult result;
    result.completedRows = inner.completedRows / trials_;
    for (const RowFailure& failure : inner.failures) {
        const std::int64_t row = failure.row / trials_;
        if (!result.failures.empty() && result.failures.back().row == row)
            continue;
        result.failures.push_back(
            {row, "trial " + std::to_string(failure.row % trials_ + 1) + ": " + failure.message});
    }
    return result;
}

std::int64_t IidTrialsSimulator::preferredChunkSize() const {
    const std::int64_t inner = base_.preferredChunkSize();
    return inner > 0 ? std::max<std::int64_t>(1, inner / trials_) : 0;
}

Matrix flattenTrials(const Matrix& observation) {
    // Row-major storage: the rows one after another are already the trial-major row.
    return Eigen::Map<const Matrix>(observation.data(), 1, observation.size());
}

}  // namespace sbiw
