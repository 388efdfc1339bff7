// Simulations per second through the ways of attaching a simulator, on two_moons-sized rows
// (2 parameters, 2 values), against the built-in two_moons:
//   built-in (in process), native plugin (C ABI), JavaScript (QJSEngine),
//   external programs (docs/simulator-protocol.md): a trivial C program (x = θ + offset) and
//   the C two_moons in text and binary framing, and the Python two_moons (text).
//
//   bench_external [--seconds S] [--threads T1,T2,...] [--batch-size B] [--only TEXT]
//
// Prints a Markdown table for docs/BENCHMARKS.md. θ comes from U(-1, 1)^2.
#include <QCoreApplication>
#include <QStandardPaths>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "priors/joint_prior.h"
#include "qt/plugin_simulator.h"
#include "qt/script_simulator.h"
#include "simulators/batch_simulation.h"
#include "simulators/catalogue.h"
#include "simulators/external_program.h"

using namespace sbiw;

namespace {

// Batches of growing size until one takes `seconds`; the best rate of three of that size.
double measure(const Simulator& simulator, int threads, double seconds) {
    const JointPrior prior({PriorSpec::scalar("uniform", {{"low", -1.0}, {"high", 1.0}}),
                            PriorSpec::scalar("uniform", {{"low", -1.0}, {"high", 1.0}})});
    SimulationOptions options;
    options.seed = 2024;
    options.threads = threads;
    std::int64_t count = 200;
    SimulationBatch batch;
    for (;;) {
        batch = simulateFromPrior(prior, simulator, count, options);
        if (batch.failureCount > 0) {
            std::fprintf(stderr, "failed: %s\n", batch.nonFiniteSummary().c_str());
            std::exit(1);
        }
        if (batch.elapsedSeconds >= seconds || count >= 20'000'000)
            break;
        const double scale = seconds / std::max(batch.elapsedSeconds, 1e-4);
        count = std::min<std::int64_t>(
            20'000'000, std::int64_t(double(count) * std::min(scale * 1.1, 20.0)) + 1);
    }
    double best = 0.0;
    for (int repeat = 0; repeat < 3; ++repeat) {
        options.firstIndex = repeat * count;
        batch = simulateFromPrior(prior, simulator, count, options);
        best = std::max(best, double(count) / batch.elapsedSeconds);
    }
    return best;
}

std::string humanRate(double rate) {
    char text[32];
    if (rate >= 1e6)
        std::snprintf(text, sizeof text, "%.2f M/s", rate / 1e6);
    else if (rate >= 1e3)
        std::snprintf(text, sizeof text, "%.1f k/s", rate / 1e3);
    else
        std::snprintf(text, sizeof text, "%.0f /s", rate);
    return text;
}

ExternalProgramSettings program(std::vector<std::string> command, int batchSize) {
    ExternalProgramSettings s;
    s.command = std::move(command);
    s.parameterDimension = s.dataDimension = 2;
    s.batchSize = batchSize;
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    double seconds = 1.0;
    int batchSize = 1000;
    std::string only;  // run the cases whose name contains this
    std::vector<int> threadCounts = {1, resolveThreadCount(0)};
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = std::atof(argv[++i]);
        } else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else if (!std::strcmp(argv[i], "--batch-size") && i + 1 < argc) {
            batchSize = std::atoi(argv[++i]);
        } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
            threadCounts.clear();
            std::stringstream list(argv[++i]);
            for (std::string item; std::getline(list, item, ',');)
                threadCounts.push_back(std::atoi(item.c_str()));
        } else {
            std::printf(
                "usage: bench_external [--seconds S] [--threads T1,T2,...] [--batch-size B]\n");
            return std::strcmp(argv[i], "--help") ? 2 : 0;
        }
    }

    struct Case {
        std::string name;
        std::function<std::unique_ptr<Simulator>()> make;
    };
    std::vector<Case> cases;
    cases.push_back(
        Case{"built-in two_moons (in process)", [] { return findTask("two_moons")->create(); }});
    cases.push_back(Case{"native plugin two_moons (C ABI)", [] {
                             PluginSimulatorSettings s;
                             s.library = SBIW_TWO_MOONS_PLUGIN;
                             s.parameterNames = {"parameter_1", "parameter_2"};
                             s.dataDimension = 2;
                             return std::make_unique<PluginSimulator>(s);
                         }});
    cases.push_back(Case{"JavaScript two_moons (QJSEngine)", [] {
                             ScriptSimulatorSettings s;
                             std::FILE* file =
                                 std::fopen(SBIW_SOURCE_DIR "/projects/custom/two_moons.js", "rb");
                             char buffer[4096];
                             const std::size_t n =
                                 file ? std::fread(buffer, 1, sizeof buffer, file) : 0;
                             if (file)
                                 std::fclose(file);
                             s.source.assign(buffer, n);
                             s.sourceName = "two_moons.js";
                             s.parameterDimension = s.dataDimension = 2;
                             return std::make_unique<ScriptSimulator>(s);
                         }});
    for (const char* framing : {"text", "binary"}) {
        const bool binary = std::strcmp(framing, "binary") == 0;
        cases.push_back(Case{std::string("trivial C program, ") + framing + " framing", [=] {
                                 std::vector<std::string> command = {SBIW_TRIVIAL_SIMULATOR};
                                 if (binary)
                                     command.push_back("--binary");
                                 return std::make_unique<ExternalProgramSimulator>(
                                     program(command, batchSize));
                             }});
        cases.push_back(Case{std::string("C two_moons program, ") + framing + " framing", [=] {
                                 std::vector<std::string> command = {SBIW_TWO_MOONS_SIMULATOR};
                                 if (binary)
                                     command.push_back("--binary");
                                 return std::make_unique<ExternalProgramSimulator>(
                                     program(command, batchSize));
                             }});
    }
    const QString python = QStandardPaths::findExecutable("python3");
    if (!python.isEmpty())
        cases.push_back(Case{
            "Python two_moons program, text framing", [=] {
                return std::make_unique<ExternalProgramSimulator>(program(
                    {python.toStdString(), SBIW_SOURCE_DIR "/projects/custom/two_moons_sim.py"},
                    batchSize));
            }});

    std::printf("| simulator (batch size %d for programs) |", batchSize);
    for (int t : threadCounts)
        std::printf(" %d thread%s |", t, t == 1 ? "" : "s");
    std::printf("\n| --- |");
    for (std::size_t i = 0; i < threadCounts.size(); ++i)
        std::printf(" ---: |");
    std::printf("\n");
    for (const Case& c : cases) {
        if (c.name.find(only) == std::string::npos)
            continue;
        std::printf("| %s |", c.name.c_str());
        std::fflush(stdout);
        for (int t : threadCounts) {
            const std::unique_ptr<Simulator> simulator = c.make();
            std::printf(" %s |", humanRate(measure(*simulator, t, seconds)).c_str());
            std::fflush(stdout);
        }
        std::printf("\n");
    }
    return 0;
}
