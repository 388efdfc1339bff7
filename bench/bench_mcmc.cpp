// Throughput of the MCMC samplers on a cheap target, so that the sampler's own cost shows:
// an isotropic Gaussian in d dimensions inside a uniform prior box, sbibm's settings (100
// chains, 100 warm-up steps, thinning 10, importance-resampling init) and 10^4 samples.
// `--call-us U` adds U microseconds of busy waiting to every call of the target, a stand-in for
// the fixed cost of one neural-network call, which is what lock-step batching saves.
//
//   bench_mcmc [--dimensions D] [--samples N] [--call-us U] [--threads T1,T2,...]
//
// Prints a Markdown table for docs/BENCHMARKS.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "priors/joint_prior.h"
#include "sampling/mcmc.h"

using namespace sbiw;

namespace {

void busyWait(double microseconds) {
    if (microseconds <= 0.0)
        return;
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::duration<double, std::micro>(microseconds);
    while (std::chrono::steady_clock::now() < end) {
    }
}

}  // namespace

int main(int argc, char** argv) {
    int dimensions = 2;
    std::int64_t samples = 10000;
    double callMicroseconds = 0.0;
    std::vector<int> threadCounts = {1, 0};
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool hasValue = i + 1 < argc;
        if (arg == "--dimensions" && hasValue) {
            dimensions = std::atoi(argv[++i]);
        } else if (arg == "--samples" && hasValue) {
            samples = std::atoll(argv[++i]);
        } else if (arg == "--call-us" && hasValue) {
            callMicroseconds = std::atof(argv[++i]);
        } else if (arg == "--threads" && hasValue) {
            threadCounts.clear();
            std::stringstream list(argv[++i]);
            for (std::string item; std::getline(list, item, ',');)
                threadCounts.push_back(std::atoi(item.c_str()));
        } else {
            std::fprintf(stderr,
                         "usage: bench_mcmc [--dimensions D] [--samples N] [--call-us U] "
                         "[--threads T1,T2,...]\n");
            return 2;
        }
    }
    if (dimensions < 1 || samples < 1) {
        std::fprintf(stderr, "bench_mcmc: dimensions and samples must be positive\n");
        return 2;
    }

    std::vector<PriorSpec> blocks(std::size_t(dimensions),
                                  PriorSpec::scalar("uniform", {{"low", -5.0}, {"high", 5.0}}));
    const JointPrior prior(blocks);
    const BatchLogDensity target = [callMicroseconds](const Matrix& theta) {
        busyWait(callMicroseconds);
        return Vector(-0.5 * theta.rowwise().squaredNorm());
    };

    std::printf(
        "Isotropic Gaussian, %d-D, %lld samples, 100 chains, warm-up 100, thinning 10, "
        "%.0f µs per call\n\n",
        dimensions, static_cast<long long>(samples), callMicroseconds);
    std::printf(
        "| sampler | threads | seconds | samples/s | evaluations/sample | rows/call | "
        "calls | ESS/s (min) | R-hat (max) |\n");
    std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (McmcMethod method : {McmcMethod::Slice, McmcMethod::MetropolisHastings}) {
        for (int threads : threadCounts) {
            McmcSettings settings;
            settings.method = method;
            settings.samples = samples;
            settings.threads = threads;
            const McmcResult r = sampleMcmc(target, prior, settings);
            std::printf("| %s | %d | %.3f | %.0f | %.1f | %.1f | %lld | %.0f | %.4f |\n",
                        toString(method).c_str(), resolveThreadCount(threads), r.elapsedSeconds,
                        double(r.samples.rows()) / r.elapsedSeconds, r.evaluationsPerSample,
                        double(r.evaluations) / double(r.targetCalls),
                        static_cast<long long>(r.targetCalls), r.ess.minCoeff() / r.elapsedSeconds,
                        r.rhat.maxCoeff());
        }
    }
    return 0;
}
