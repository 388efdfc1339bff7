// Simulations per second of every built-in task (θ drawn from the default prior, then simulated),
// at 1 thread and at all cores, through the same batch runner the app uses.
//
//   bench_simulation [--seconds S] [--threads T1,T2,...] [TASK ...]
//
// Prints a Markdown table for docs/BENCHMARKS.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "priors/joint_prior.h"
#include "simulators/batch_simulation.h"
#include "simulators/catalogue.h"

using namespace sbiw;

namespace {

struct Measurement {
    double simulationsPerSecond = 0.0;
    std::int64_t nonFinite = 0;
};

// Runs batches of growing size until one takes at least `seconds`; reports the best rate of
// three batches of that size (the first run also warms up caches and page tables).
Measurement measure(const TaskInfo& task, int threads, double seconds) {
    const JointPrior prior(task.defaultPrior);
    const auto simulator = task.create();
    SimulationOptions options;
    options.seed = 2024;
    options.threads = threads;
    std::int64_t count = 1000;
    SimulationBatch batch;
    for (;;) {
        batch = simulateFromPrior(prior, *simulator, count, options);
        if (batch.elapsedSeconds >= seconds || count >= 20'000'000) break;
        const double scale = seconds / std::max(batch.elapsedSeconds, 1e-4);
        count = std::min<std::int64_t>(20'000'000, std::int64_t(double(count) * std::min(scale * 1.1, 20.0)) + 1);
    }
    Measurement best;
    for (int repeat = 0; repeat < 3; ++repeat) {
        options.firstIndex = repeat * count;
        batch = simulateFromPrior(prior, *simulator, count, options);
        best.simulationsPerSecond = std::max(best.simulationsPerSecond, double(count) / batch.elapsedSeconds);
        best.nonFinite += std::int64_t(batch.nonFiniteRows.size());
    }
    return best;
}

std::string humanRate(double rate) {
    char text[32];
    if (rate >= 1e6)
        std::snprintf(text, sizeof text, "%.1f M/s", rate / 1e6);
    else if (rate >= 1e3)
        std::snprintf(text, sizeof text, "%.1f k/s", rate / 1e3);
    else
        std::snprintf(text, sizeof text, "%.0f /s", rate);
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 1.0;
    std::vector<int> threadCounts = {1, resolveThreadCount(0)};
    std::vector<std::string> selected;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = std::atof(argv[++i]);
        } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
            threadCounts.clear();
            std::stringstream list(argv[++i]);
            for (std::string item; std::getline(list, item, ',');) threadCounts.push_back(std::atoi(item.c_str()));
        } else if (!std::strcmp(argv[i], "--help")) {
            std::puts("usage: bench_simulation [--seconds S] [--threads 1,2] [TASK ...]");
            return 0;
        } else {
            if (!findTask(argv[i])) {
                std::fprintf(stderr, "unknown task '%s'\n", argv[i]);
                return 2;
            }
            selected.push_back(argv[i]);
        }
    }
    threadCounts.erase(std::unique(threadCounts.begin(), threadCounts.end()), threadCounts.end());

    std::printf("| task |");
    for (int t : threadCounts) std::printf(" %d thread%s |", t, t == 1 ? "" : "s");
    std::printf(" non-finite |\n|---|");
    for (std::size_t i = 0; i < threadCounts.size(); ++i) std::printf("---:|");
    std::printf("---:|\n");
    for (const TaskInfo& task : builtinTasks()) {
        if (!selected.empty() && std::find(selected.begin(), selected.end(), task.id) == selected.end()) continue;
        std::printf("| %s |", task.id.c_str());
        std::int64_t nonFinite = 0;
        for (int t : threadCounts) {
            const Measurement m = measure(task, t, seconds);
            nonFinite += m.nonFinite;
            std::printf(" %s |", humanRate(m.simulationsPerSecond).c_str());
            std::fflush(stdout);
        }
        std::printf(" %lld |\n", static_cast<long long>(nonFinite));
    }
    return 0;
}
