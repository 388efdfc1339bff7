#include "simulators/simulator.h"

#include <exception>
#include <sstream>

#include "core/csv.h"

namespace sbiw {

std::uint64_t simulationSeed(std::uint64_t seed, std::uint64_t index) {
    RandomStream rng(seed, StreamPurpose::Simulator, index);
    return rng.nextBits();
}

std::string formatTheta(const double* theta, int dimension) {
    std::string text = "[";
    for (int i = 0; i < dimension; ++i)
        text += (i ? ", " : "") + formatNumber(theta[i]);
    return text + "]";
}

SimulationRowsResult Simulator::simulateRows(const SimulationRows& rows) const {
    SimulationRowsResult result;
    const int thetaDim = parameterDimension();
    const int dataDim = dataDimension();
    for (std::int64_t r = 0; r < rows.rows; ++r) {
        RandomStream rng(rows.seed, StreamPurpose::Simulator, rows.firstIndex + std::uint64_t(r));
        try {
            simulate(rows.theta + r * thetaDim, rows.x + r * dataDim, rng);
        } catch (const std::exception& error) {
            result.failures.push_back({r, error.what()});
        }
    }
    result.completedRows = rows.rows;
    return result;
}

}  // namespace sbiw
