#include "qt/simulator_factory.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include "qt/plugin_simulator.h"
#include "qt/script_simulator.h"
#include "simulators/batch_simulation.h"
#include "simulators/external_program.h"

namespace sbiw {

QString resolveAgainstProject(const Project& project, const std::string& relative) {
    const QDir base(project.baseDirectory.empty() ? QDir::currentPath()
                                                  : QString::fromStdString(project.baseDirectory));
    return QDir::cleanPath(base.absoluteFilePath(QString::fromStdString(relative)));
}

UntrustedSimulatorError::UntrustedSimulatorError(ForeignCode code)
    : std::runtime_error(
          "this project " + code.summary().toStdString() +
          "; it runs only once you trust it (GUI: the trust dialog; sbiw-cli: --trust)"),
      code_(std::move(code)) {}

std::unique_ptr<Simulator> makeProjectSimulator(const Project& project,
                                                const SimulatorEnvironment& environment) {
    const SimulatorBinding& binding = project.simulator;
    Problems problems;
    appendProblems(problems, binding.validate(), "simulator");
    throwIfProblems(problems);
    if (binding.kind == "builtin")
        return project.makeSimulator();
    if (binding.kind == "imported")
        throw SettingsError({{"simulator.kind",
                              "an imported project has no simulator: its simulations are the rows "
                              "of " +
                                  binding.csv + " (train uses them directly)"}});
    if (binding.runsForeignCode()) {
        const ForeignCode code = foreignCode(project);
        if (!environment.trust || !environment.trust->isTrusted(code))
            throw UntrustedSimulatorError(code);
        if (binding.kind == "program") {
            ExternalProgramSettings settings;
            for (const QString& part : code.command)
                settings.command.push_back(part.toStdString());
            settings.workingDirectory = code.workingDirectory.toStdString();
            settings.parameterNames = project.parameterNames();
            settings.parameterDimension = int(project.parameters.size());
            settings.dataDimension = binding.dataDimension;
            settings.batchSize = binding.batchSize;
            settings.batchTimeoutSeconds = binding.timeoutSeconds;
            settings.log = environment.log;
            return std::make_unique<ExternalProgramSimulator>(std::move(settings));
        }
        PluginSimulatorSettings settings;
        settings.library = code.description.toStdString();
        settings.parameterNames = project.parameterNames();
        settings.dataDimension = binding.dataDimension;
        return std::make_unique<PluginSimulator>(settings);
    }
    if (binding.kind == "script") {
        const QString path = resolveAgainstProject(project, binding.script);
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly))
            throw std::runtime_error("cannot read the script " + path.toStdString() + ": " +
                                     file.errorString().toStdString());
        ScriptSimulatorSettings settings;
        settings.source = file.readAll().toStdString();
        settings.sourceName = QFileInfo(path).fileName().toStdString();
        settings.parameterDimension = int(project.parameters.size());
        settings.dataDimension = binding.dataDimension;
        settings.timeoutSeconds = binding.timeoutSeconds;
        settings.log = environment.log;
        return std::make_unique<ScriptSimulator>(std::move(settings));
    }
    throw SettingsError({{"simulator.kind", "unknown kind '" + binding.kind + "'"}});
}

std::unique_ptr<Simulator> makeTrustedSimulator(const Project& project,
                                                std::function<void(const std::string& line)> log) {
    const TrustStore store;  // read now: the file may have changed since
    SimulatorEnvironment environment;
    environment.trust = &store;
    environment.log = std::move(log);
    return makeProjectSimulator(project, environment);
}

SingleSimulation testProjectSimulator(const Project& project, const std::vector<double>& theta,
                                      const SimulatorEnvironment& environment, std::uint64_t seed) {
    try {
        const std::unique_ptr<Simulator> simulator = makeProjectSimulator(project, environment);
        return simulateOnce(*simulator, theta, seed);
    } catch (const std::exception& error) {
        SingleSimulation result;
        result.error = error.what();
        return result;
    }
}

}  // namespace sbiw
