#pragma once
// A simulator written in JavaScript, run by QJSEngine. The script defines
//
//     function simulate(theta, rng) { ...; return [x1, ..., xD]; }
//
// where theta is an array of numbers and rng draws from the simulation's own stream
// (seed, Simulator, index), so runs are reproducible for any thread count:
// rng.uniform(), rng.uniform(low, high), rng.normal(), rng.normal(mean, sd),
// rng.exponential(rate), rng.gamma(shape[, scale]), rng.beta(a, b), rng.poisson(mean),
// rng.binomial(n, p), rng.integer(n) (uniform on 0..n-1). console.log(...) writes to the log.
//
// One engine per worker thread (QJSEngine is single-threaded); each call has a time limit
// (a watchdog interrupts the engine). Errors name the script line and θ. The engine has no
// file, network or process access: plain QJSEngine offers none and nothing is added but rng
// and console.log.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/problems.h"
#include "simulators/simulator.h"

namespace sbiw {

struct ScriptSimulatorSettings {
    std::string source;                 // the script
    std::string sourceName = "script";  // for messages, e.g. "moons.js"
    int parameterDimension = 0;
    int dataDimension = 0;
    double timeoutSeconds = 10.0;                      // per simulation
    std::function<void(const std::string& line)> log;  // console.log; never called concurrently

    Problems validate() const;
};

class ScriptSimulator final : public Simulator {
  public:
    // Loads the script once to check it: throws std::runtime_error with "name:LINE: message"
    // for a syntax error, an exception at top level, or a missing simulate function.
    explicit ScriptSimulator(ScriptSimulatorSettings settings);
    ~ScriptSimulator() override;

    // The same check without a simulator, for an editor: empty when the script is usable,
    // else "moons.js:12: SyntaxError: ...".
    static std::string check(const std::string& source, const std::string& sourceName = "script");

    int parameterDimension() const override { return settings_.parameterDimension; }
    int dataDimension() const override { return settings_.dataDimension; }
    // Throws std::runtime_error naming the line and θ.
    void simulate(const double* theta, double* x, RandomStream& rng) const override;

    struct Shared;  // internal

  private:
    ScriptSimulatorSettings settings_;
    std::shared_ptr<Shared> shared_;
};

}  // namespace sbiw
