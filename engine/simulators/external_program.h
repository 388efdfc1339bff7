#pragma once
// A simulator that is another program, in any language, speaking the protocol of
// docs/simulator-protocol.md on its stdin/stdout: a handshake (protocol version, parameter
// names, data dimension, framing), then batches of (seed, θ) rows answered by rows of x.
//
// One long-lived process per worker thread: a call takes an idle process from a pool (or starts
// one), so N threads run N processes in parallel. Failures are contained per batch:
// - the program dies (crash, exit): it is restarted and the unanswered rows are sent once more;
//   if it dies again those rows fail with the exit status, the θ it died on and its last
//   stderr line;
// - no answer within the batch timeout: the process is killed, the unanswered rows fail;
// - rows with the wrong number of values or text that is no number fail, naming θ;
// - cancellation (SimulationRows::cancelFlag) kills the busy process at once.
// Programs that cannot start or declare other names or dimensions than the project throw
// SimulatorStartError: that is a configuration problem, not a failed simulation.
//
// POSIX (posix_spawn, pipes, poll): children never inherit other workers' pipes, SIGPIPE is
// ignored process-wide once the first program starts, and the destructor leaves no child.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/problems.h"
#include "simulators/simulator.h"

namespace sbiw {

class SimulatorStartError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ExternalProgramSettings {
    // The program (a path, or a name looked up in PATH) and its arguments.
    std::vector<std::string> command;
    std::string workingDirectory;  // empty: this process's
    // What the project expects; the handshake must declare exactly these. Empty names: any
    // names, as long as there are parameterDimension of them.
    std::vector<std::string> parameterNames;
    int parameterDimension = 0;
    int dataDimension = 0;
    int batchSize = 200;                // rows per request (a chunk is split into requests)
    double startTimeoutSeconds = 30.0;  // until the handshake is complete
    double batchTimeoutSeconds = 60.0;  // for one request's answer
    // Receives the programs' stderr, one line at a time, prefixed "[pid N] ". Called from worker
    // threads, never concurrently.
    std::function<void(const std::string& line)> log;

    Problems validate() const;
    std::string commandLine() const;  // for messages: arguments quoted where needed
};

// What a program declared in its handshake.
struct ProgramHandshake {
    int protocolVersion = 0;
    std::vector<std::string> parameterNames;
    int dataDimension = 0;
    bool binary = false;
};

class ExternalProgramSimulator final : public Simulator {
  public:
    explicit ExternalProgramSimulator(ExternalProgramSettings settings);  // throws SettingsError
    ~ExternalProgramSimulator() override;                                 // ends every child

    ExternalProgramSimulator(const ExternalProgramSimulator&) = delete;
    ExternalProgramSimulator& operator=(const ExternalProgramSimulator&) = delete;

    int parameterDimension() const override { return settings_.parameterDimension; }
    int dataDimension() const override { return settings_.dataDimension; }
    // One row through the protocol (slow: prefer simulateRows). Throws on failure.
    void simulate(const double* theta, double* x, RandomStream& rng) const override;
    SimulationRowsResult simulateRows(const SimulationRows& rows) const override;
    std::int64_t preferredChunkSize() const override { return settings_.batchSize * 4; }

    // Starts one process and reads its handshake without simulating (the GUI's "check" step).
    // Throws SimulatorStartError.
    ProgramHandshake probe() const;

    // Ends every idle process now (politely: "quit", then SIGKILL after a moment) and kills the
    // busy ones, whose rows then fail. Later calls start new processes.
    void shutdown() const;
    // Process ids of the children alive now (tests check that none is left).
    std::vector<int> childProcessIds() const;
    std::int64_t processesStarted() const;

    class Process;  // internal

  private:
    // An idle process, or a new one (its handshake read, unless `cancelFlag` rises first).
    std::unique_ptr<Process> acquire(const std::atomic<bool>* cancelFlag) const;
    void release(std::unique_ptr<Process> process) const;
    // Rows [begin, end) of `rows` in one request (restarting and retrying once after a crash).
    // Returns the end of the rows done; sets `cancelled` when it stopped early.
    std::int64_t simulateRequest(const SimulationRows& rows, const std::uint64_t* seeds,
                                 std::int64_t begin, std::int64_t end, SimulationRowsResult& result,
                                 bool& cancelled) const;

    ExternalProgramSettings settings_;
    std::shared_ptr<struct ProcessRegistry> registry_;
    mutable std::mutex poolMutex_;
    mutable std::vector<std::unique_ptr<Process>> idle_;
};

}  // namespace sbiw
