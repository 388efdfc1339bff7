#pragma once
// A simulator in a native shared library with the C ABI of engine/plugin/sbiw_simulator_plugin.h
// (loaded with QLibrary). Whole chunks go to the plugin in one call, with one seed per row.

#include <QLibrary>

#include <string>
#include <vector>

#include "simulators/simulator.h"

struct sbiw_plugin_info;

namespace sbiw {

struct PluginSimulatorSettings {
    std::string library;                      // absolute path
    std::vector<std::string> parameterNames;  // what the project expects (same order)
    int dataDimension = 0;
};

class PluginSimulator final : public Simulator {
  public:
    // Loads the library and checks its ABI version, names and dimensions; throws
    // std::runtime_error saying what does not fit.
    explicit PluginSimulator(const PluginSimulatorSettings& settings);
    ~PluginSimulator() override;

    std::string name() const { return name_; }
    int parameterDimension() const override { return parameterDimension_; }
    int dataDimension() const override { return dataDimension_; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override;
    SimulationRowsResult simulateRows(const SimulationRows& rows) const override;
    std::int64_t preferredChunkSize() const override { return 1024; }

  private:
    using SimulateFunction = int (*)(const double*, const std::uint64_t*, std::int64_t, double*,
                                     int*, char*, std::size_t);
    // Runs the plugin on `rows` rows; failures name θ.
    void run(const double* theta, const std::uint64_t* seeds, std::int64_t rows, double* x,
             std::vector<RowFailure>& failures) const;

    QLibrary library_;
    SimulateFunction simulate_ = nullptr;
    std::string name_;
    int parameterDimension_ = 0;
    int dataDimension_ = 0;
};

}  // namespace sbiw
