#include "simulators/batch_simulation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "core/csv.h"
#include "core/memory.h"
#include "core/random.h"
#include "priors/joint_prior.h"
#include "simulators/simulator.h"

namespace sbiw {

Problems SimulationOptions::validate() const {
    Problems problems;
    if (threads < 0)
        problems.push_back({"threads", "must be 0 (all cores) or positive"});
    if (firstIndex < 0)
        problems.push_back({"firstIndex", "must not be negative"});
    if (chunkSize < 0)
        problems.push_back({"chunkSize", "must be 0 (automatic) or positive"});
    return problems;
}

std::string SimulationBatch::nonFiniteSummary() const {
    std::ostringstream text;
    text << nonFiniteRows.size() << " of " << count() << " simulations gave non-finite data";
    if (failureCount > 0)
        text << " (" << failureCount << " failed with an error)";
    if (!nonFiniteRows.empty()) {
        text << "; rows ";
        const std::size_t shown = std::min<std::size_t>(nonFiniteRows.size(), 10);
        for (std::size_t i = 0; i < shown; ++i)
            text << (i ? ", " : "") << nonFiniteRows[i];
        if (shown < nonFiniteRows.size())
            text << ", ...";
        const std::int64_t first = nonFiniteRows.front();
        if (first < theta.rows())
            text << "; θ of row " << first << ": "
                 << formatTheta(theta.row(first).data(), int(theta.cols()));
    }
    if (!failures.empty())
        text << "; first error: " << failures.front().message;
    return text.str();
}

namespace {

// Simulates rows [0, count) of `batch`; `drawTheta(begin, end)` fills batch.theta's rows
// [begin, end) first when the parameters come from the prior.
template <typename DrawTheta>
void runBatch(SimulationBatch& batch, const Simulator& simulator, std::int64_t count,
              const SimulationOptions& options, const LoopControl& control, DrawTheta drawTheta) {
    throwIfProblems(options.validate());
    const int dataDim = simulator.dataDimension();
    batch.x.resize(count, dataDim);
    adviseHugePages(batch.x.data(), sizeof(double) * std::size_t(batch.x.size()));
    adviseHugePages(batch.theta.data(), sizeof(double) * std::size_t(batch.theta.size()));
    std::vector<unsigned char> rowFailed(static_cast<std::size_t>(count), 0);
    std::mutex failureMutex;
    // A simulator that stops inside a chunk on cancellation leaves rows undone there; the
    // batch keeps only the prefix before the first of them.
    std::int64_t firstUndoneRow = count;
    const int thetaDim = int(batch.theta.cols());

    auto body = [&](std::int64_t begin, std::int64_t end) {
        drawTheta(begin, end);
        SimulationRows request;
        request.theta = batch.theta.data() + begin * thetaDim;
        request.x = batch.x.data() + begin * dataDim;
        request.rows = end - begin;
        request.seed = options.seed;
        request.firstIndex = static_cast<std::uint64_t>(options.firstIndex + begin);
        request.cancelFlag = control.cancelFlag;
        const SimulationRowsResult result = simulator.simulateRows(request);
        std::lock_guard<std::mutex> lock(failureMutex);
        for (const RowFailure& failure : result.failures) {
            const std::int64_t row = begin + failure.row;
            double* x = batch.x.row(row).data();
            std::fill(x, x + dataDim, std::numeric_limits<double>::quiet_NaN());
            rowFailed[static_cast<std::size_t>(row)] = 1;
            ++batch.failureCount;
            if (batch.failures.size() < SimulationBatch::kMaxRecordedFailures)
                batch.failures.push_back({row, failure.message});
        }
        if (result.completedRows < request.rows)
            firstUndoneRow = std::min(firstUndoneRow, begin + result.completedRows);
    };
    std::int64_t chunkSize = options.chunkSize;
    if (chunkSize == 0 && simulator.preferredChunkSize() > 0) {
        // As large as the simulator likes, yet small enough to keep every thread busy.
        const std::int64_t threads = resolveThreadCount(options.threads);
        chunkSize =
            std::clamp<std::int64_t>((count + threads - 1) / std::max<std::int64_t>(threads, 1), 1,
                                     simulator.preferredChunkSize());
    }
    const LoopOutcome outcome = parallelChunks(count, options.threads, chunkSize, body, control);

    const std::int64_t kept = std::min(outcome.completedPrefix, firstUndoneRow);
    batch.cancelled = outcome.cancelled || kept < count;
    batch.elapsedSeconds = outcome.elapsedSeconds;
    if (kept < count) {
        batch.theta.conservativeResize(kept, batch.theta.cols());
        batch.x.conservativeResize(kept, dataDim);
        auto& f = batch.failures;
        f.erase(std::remove_if(f.begin(), f.end(), [&](const auto& e) { return e.row >= kept; }),
                f.end());
    }
    std::sort(batch.failures.begin(), batch.failures.end(),
              [](const auto& a, const auto& b) { return a.row < b.row; });
    batch.failureCount = 0;
    for (std::int64_t row = 0; row < kept; ++row) {
        if (rowFailed[static_cast<std::size_t>(row)])
            ++batch.failureCount;
        if (!batch.x.row(row).allFinite())
            batch.nonFiniteRows.push_back(row);
    }
}

void checkDimensions(int expected, int actual, const char* what) {
    if (expected != actual) {
        std::ostringstream text;
        text << what << ": the simulator takes " << expected << " parameters but " << actual
             << " were given";
        throw std::invalid_argument(text.str());
    }
}

}  // namespace

SimulationBatch simulateFromPrior(const JointPrior& prior, const Simulator& simulator,
                                  std::int64_t count, const SimulationOptions& options,
                                  const LoopControl& control) {
    checkDimensions(simulator.parameterDimension(), prior.dimension(), "prior");
    if (count < 0)
        throw std::invalid_argument("simulation count must not be negative");
    SimulationBatch batch;
    batch.theta.resize(count, prior.dimension());
    runBatch(batch, simulator, count, options, control, [&](std::int64_t begin, std::int64_t end) {
        // Row i from stream (seed, Prior, firstIndex + i).
        prior.sampleRows(options.seed, static_cast<std::uint64_t>(options.firstIndex + begin),
                         end - begin, batch.theta.row(begin).data());
    });
    return batch;
}

SimulationBatch simulateAt(const Matrix& theta, const Simulator& simulator,
                           const SimulationOptions& options, const LoopControl& control) {
    checkDimensions(simulator.parameterDimension(), int(theta.cols()), "theta");
    SimulationBatch batch;
    batch.theta = theta;
    runBatch(batch, simulator, theta.rows(), options, control, [](std::int64_t, std::int64_t) {});
    return batch;
}

SingleSimulation simulateOnce(const Simulator& simulator, const std::vector<double>& theta,
                              std::uint64_t seed) {
    SingleSimulation result;
    const auto start = std::chrono::steady_clock::now();
    try {
        checkDimensions(simulator.parameterDimension(), int(theta.size()), "theta");
        std::vector<double> x(std::size_t(simulator.dataDimension()), 0.0);
        SimulationRows request;
        request.theta = theta.data();
        request.x = x.data();
        request.rows = 1;
        request.seed = seed;
        const SimulationRowsResult outcome = simulator.simulateRows(request);
        if (!outcome.failures.empty()) {
            result.error = outcome.failures.front().message;
        } else {
            for (std::size_t i = 0; i < x.size(); ++i)
                if (!std::isfinite(x[i])) {
                    result.error = "x[" + std::to_string(i) + "] is " + formatNumber(x[i]) +
                                   " at θ = " + formatTheta(theta.data(), int(theta.size()));
                    break;
                }
            if (result.error.empty())
                result.x = std::move(x);
        }
    } catch (const std::exception& error) {
        result.error = error.what();
    }
    result.elapsedSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

}  // namespace sbiw
