#pragma once
// Makes the simulator of any project, whatever its kind: built-in tasks (through
// Project::makeSimulator), external programs, JavaScript scripts and native plugins. Paths in
// the binding resolve against Project::baseDirectory (set by loadProject).
//
// Code from outside the workbench (programs, plugins) runs only when the TrustStore says the
// user trusted exactly this code (see trust_store.h); otherwise UntrustedSimulatorError
// carries what would have run, for the question to ask.

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "project/project.h"
#include "qt/trust_store.h"
#include "simulators/simulator.h"

namespace sbiw {

class UntrustedSimulatorError : public std::runtime_error {
  public:
    explicit UntrustedSimulatorError(ForeignCode code);
    const ForeignCode& code() const { return code_; }

  private:
    ForeignCode code_;
};

struct SimulatorEnvironment {
    // Required for programs and plugins; nullptr refuses them.
    const TrustStore* trust = nullptr;
    // The run's log: a program's stderr lines, a script's console output. Called from worker
    // threads, one line at a time (never concurrently for one simulator).
    std::function<void(const std::string& line)> log;
};

// A path of the binding (script, library, csv) made absolute against the project's folder.
QString resolveAgainstProject(const Project& project, const std::string& relative);

// Throws SettingsError (invalid binding, an imported project: it has no simulator),
// UntrustedSimulatorError, or std::runtime_error when a script or plugin cannot be loaded.
// Programs start lazily, on the first simulation (errors then say why).
std::unique_ptr<Simulator> makeProjectSimulator(const Project& project,
                                                const SimulatorEnvironment& environment);

// makeProjectSimulator with the user's TrustStore (TrustStore::defaultPath()): what the GUI's
// runs and the CLI use once the user was asked (UntrustedSimulatorError otherwise).
std::unique_ptr<Simulator> makeTrustedSimulator(const Project& project,
                                                std::function<void(const std::string& line)> log = {});

// The GUI's "test" button: makes the project's simulator and simulates once at θ; x or the
// error in words (never throws). Uses trust only as given: untrusted code is not run.
struct SingleSimulation;
SingleSimulation testProjectSimulator(const Project& project, const std::vector<double>& theta,
                                      const SimulatorEnvironment& environment,
                                      std::uint64_t seed = 0);

}  // namespace sbiw
