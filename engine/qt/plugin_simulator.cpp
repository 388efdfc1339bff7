#include "qt/plugin_simulator.h"

#include <stdexcept>

#include "plugin/sbiw_simulator_plugin.h"

namespace sbiw {

PluginSimulator::PluginSimulator(const PluginSimulatorSettings& settings)
    : library_(QString::fromStdString(settings.library)) {
    const std::string path = settings.library;
    if (!library_.load())
        throw std::runtime_error("cannot load the plugin " + library_.errorString().toStdString());
    using InfoFunction = const sbiw_plugin_info* (*)();
    const auto info = reinterpret_cast<InfoFunction>(library_.resolve("sbiw_plugin_get_info"));
    simulate_ = reinterpret_cast<SimulateFunction>(library_.resolve("sbiw_plugin_simulate"));
    auto fail = [&](const std::string& why) {
        library_.unload();
        throw std::runtime_error("the plugin " + path + " " + why);
    };
    if (!info || !simulate_)
        fail(
            "does not export sbiw_plugin_get_info and sbiw_plugin_simulate (see "
            "sbiw_simulator_plugin.h)");
    const sbiw_plugin_info* declared = info();
    if (!declared)
        fail("returned no information (sbiw_plugin_get_info gave NULL)");
    if (declared->abi_version != SBIW_PLUGIN_ABI_VERSION)
        fail("was built for plugin ABI version " + std::to_string(declared->abi_version) +
             "; this SBI Workbench loads version " + std::to_string(SBIW_PLUGIN_ABI_VERSION));
    name_ = declared->name ? declared->name : path;
    parameterDimension_ = declared->parameter_dimension;
    dataDimension_ = declared->data_dimension;
    if (parameterDimension_ < 1 || dataDimension_ < 1 || !declared->parameter_names)
        fail("declares no parameters or no data");
    std::vector<std::string> names;
    for (int i = 0; i < parameterDimension_; ++i)
        names.push_back(declared->parameter_names[i] ? declared->parameter_names[i] : "");
    auto joined = [](const std::vector<std::string>& list) {
        std::string text;
        for (const auto& n : list)
            text += (text.empty() ? "" : " ") + n;
        return text;
    };
    if (names != settings.parameterNames)
        fail("declares the parameters '" + joined(names) + "', the project has '" +
             joined(settings.parameterNames) + "' (same order)");
    if (dataDimension_ != settings.dataDimension)
        fail("declares data dimension " + std::to_string(dataDimension_) +
             ", the project expects " + std::to_string(settings.dataDimension));
}

PluginSimulator::~PluginSimulator() {
    library_.unload();
}

void PluginSimulator::run(const double* theta, const std::uint64_t* seeds, std::int64_t rows,
                          double* x, std::vector<RowFailure>& failures) const {
    std::vector<int> failed(static_cast<std::size_t>(rows), 0);
    char error[512] = {0};
    const int status = simulate_(theta, seeds, rows, x, failed.data(), error, sizeof error);
    error[sizeof error - 1] = '\0';
    const std::string message = error[0] ? std::string(error) : std::string("no reason given");
    for (std::int64_t r = 0; r < rows; ++r) {
        if (status == 0 && !failed[std::size_t(r)])
            continue;
        const std::string at =
            " at θ = " + formatTheta(theta + r * parameterDimension_, parameterDimension_);
        if (status != 0)
            failures.push_back({r, name_ + " failed (status " + std::to_string(status) + ")" + at +
                                       ": " + message});
        else
            failures.push_back({r, name_ + " could not simulate" + at +
                                       " (its first error in this call: " + message + ")"});
    }
}

void PluginSimulator::simulate(const double* theta, double* x, RandomStream& rng) const {
    const std::uint64_t seed = rng.nextBits();
    std::vector<RowFailure> failures;
    run(theta, &seed, 1, x, failures);
    if (!failures.empty())
        throw std::runtime_error(failures.front().message);
}

SimulationRowsResult PluginSimulator::simulateRows(const SimulationRows& rows) const {
    SimulationRowsResult result;
    std::vector<std::uint64_t> seeds(static_cast<std::size_t>(rows.rows));
    for (std::int64_t r = 0; r < rows.rows; ++r)
        seeds[std::size_t(r)] = simulationSeed(rows.seed, rows.firstIndex + std::uint64_t(r));
    run(rows.theta, seeds.data(), rows.rows, rows.x, result.failures);
    result.completedRows = rows.rows;
    return result;
}

}  // namespace sbiw
