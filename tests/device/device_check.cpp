// The neural engine's checks on a chosen device, without Qt: what the Qt Test suites in
// tests/neural verify on CPU, run where only an upstream (CUDA) LibTorch exists — the GPU
// machines have no Qt. Built by scripts/device-build.sh; also built here by CMake so that it
// keeps compiling. Exit code 0 when every check passes.
//
//   device_check [--device cpu|cuda|auto]
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "inference/nle.h"
#include "inference/npe.h"
#include "inference/nre.h"
#include "simulators/catalogue.h"
#include "support/gaussian_linear_3d.h"

using namespace sbiw;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    std::printf("  %s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    if (!ok)
        ++failures;
}

void checkNear(double actual, double expected, double tolerance, const std::string& what) {
    char detail[128];
    std::snprintf(detail, sizeof detail, " (%.4f, expected %.4f ± %.4f)", actual, expected,
                  tolerance);
    check(std::abs(actual - expected) <= tolerance, what + detail);
}

using test::GaussianLinear3;
JointPrior gaussianPrior() {
    return test::gaussianLinear3Prior();
}
Matrix observation() {
    return test::gaussianLinear3Observation();
}
NpeSettings smallSettings(const std::string& kind, const std::string& device) {
    return test::gaussianLinear3Settings(kind, device);
}

Vector columnMeans(const Matrix& m) {
    return m.colwise().mean().transpose();
}

double seconds(const std::function<void()>& job) {
    const auto start = std::chrono::steady_clock::now();
    job();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void analyticPosterior(const std::string& kind, const std::string& device) {
    std::printf("%s on %s: the analytic gaussian_linear posterior\n", kind.c_str(), device.c_str());
    NpeResult result;
    const double took = seconds([&] {
        result =
            runNpe(gaussianPrior(), GaussianLinear3(), observation(), smallSettings(kind, device));
    });
    check(bool(result.posterior), "trained (" + result.training.stopReason + ")");
    if (!result.posterior)
        return;
    check(result.posterior->device().rfind(device, 0) == 0,
          "posterior lives on " + result.posterior->device());
    const Matrix samples = result.posterior->sample(20000, observation(), 1);
    const Vector mean = columnMeans(samples);
    const Matrix centred = samples.rowwise() - mean.transpose();
    const Matrix cov = centred.transpose() * centred / double(samples.rows() - 1);
    for (int i = 0; i < 3; ++i) {
        checkNear(mean(i), observation()(0, i) / 2.0, 0.05, "mean " + std::to_string(i));
        checkNear(cov(i, i), 0.05, 0.012, "variance " + std::to_string(i));
    }
    Matrix centre(1, 3);
    centre << 0.2, -0.15, 0.05;
    checkNear(result.posterior->logProb(centre, observation())(0), -1.5 * std::log(2 * M_PI * 0.05),
              0.25, "log q at the posterior mean");
    std::printf("  %d epochs, %.1f s\n", result.training.epochs, took);
}

void saveOnDeviceLoadOnCpu(const std::string& device) {
    std::printf("save on %s, load on cpu\n", device.c_str());
    NpeSettings settings = smallSettings("nsf", device);
    settings.simulations = 500;
    settings.training.maxEpochs = 3;
    const NpeResult result = runNpe(gaussianPrior(), GaussianLinear3(), observation(), settings);
    check(bool(result.posterior), "trained");
    if (!result.posterior)
        return;
    const std::string path =
        (std::filesystem::temp_directory_path() / "sbiw_device_check.pt").string();
    result.posterior->save(path);
    const NeuralPosterior loaded = NeuralPosterior::load(path, "cpu");
    const Matrix theta = gaussianPrior().sample(50, 3);
    const Vector before = result.posterior->logProb(theta, observation());
    const Vector after = loaded.logProb(theta, observation());
    check((before - after).cwiseAbs().maxCoeff() < 1e-3,
          "same log-probabilities after the move (max diff " +
              std::to_string((before - after).cwiseAbs().maxCoeff()) + ")");
    std::filesystem::remove(path);
}

void cancellation(const std::string& device) {
    std::printf("cancellation on %s\n", device.c_str());
    NpeSettings settings = smallSettings("maf", device);
    settings.simulations = 2000;
    std::atomic<bool> cancel{false};
    TrainingHooks hooks;
    hooks.cancel = &cancel;
    hooks.onEpoch = [&](const EpochReport& report) {
        if (report.epoch == 2)
            cancel = true;
        return false;
    };
    const NpeResult result =
        runNpe(gaussianPrior(), GaussianLinear3(), observation(), settings, hooks);
    check(result.training.status == RunStatus::Cancelled,
          std::string("status ") + toString(result.training.status));
    check(result.training.epochs <= 3, "stopped within one batch of the request (" +
                                           std::to_string(result.training.epochs) + " epochs)");
}

void resumeFromCheckpoint(const std::string& device) {
    // A run cancelled after epoch 3 and resumed from the checkpoint it handed out must go on as
    // an uninterrupted one (on CUDA to float noise: some kernels accumulate in any order).
    std::printf("resume from a checkpoint on %s\n", device.c_str());
    NpeSettings settings = smallSettings("nsf", device);
    settings.simulations = 1000;
    settings.training.maxEpochs = 8;
    settings.training.patience = 100;
    const NpeTrainingSet set = simulateTrainingSet(gaussianPrior(), GaussianLinear3(), settings);
    std::atomic<bool> cancel{false};
    std::vector<EpochReport> whole, stopped, resumed;
    std::vector<TrainingCheckpoint> checkpoints;
    auto hooksFor = [&](std::vector<EpochReport>& epochs, int cancelAfter) {
        TrainingHooks hooks;
        hooks.cancel = &cancel;
        hooks.checkpointEvery = 2;
        hooks.onEpoch = [&epochs, &cancel, cancelAfter](const EpochReport& r) {
            epochs.push_back(r);
            if (r.epoch == cancelAfter)
                cancel = true;
            return false;
        };
        hooks.onCheckpoint = [&](const TrainingCheckpoint& c) { checkpoints.push_back(c); };
        return hooks;
    };
    trainNpe(gaussianPrior(), set.theta, set.x, observation(), settings, hooksFor(whole, -1));
    checkpoints.clear();
    const NpeResult b =
        trainNpe(gaussianPrior(), set.theta, set.x, observation(), settings, hooksFor(stopped, 3));
    check(b.training.status == RunStatus::Cancelled && !checkpoints.empty() &&
              checkpoints.back().epoch == 3,
          "cancelled after epoch 3 with a checkpoint of epoch 3");
    if (checkpoints.empty())
        return;
    const TrainingCheckpoint checkpoint = checkpoints.back();
    cancel = false;
    trainNpe(gaussianPrior(), set.theta, set.x, observation(), settings, hooksFor(resumed, -1),
             &checkpoint);
    check(resumed.size() == 5 && whole.size() == 8, "epochs 4..8 ran after resuming");
    double worst = 0.0;
    for (std::size_t i = 0; i < resumed.size() && i + 3 < whole.size(); ++i)
        worst = std::max(worst, std::abs(resumed[i].validationLoss - whole[i + 3].validationLoss) /
                                    std::max(1e-12, std::abs(whole[i + 3].validationLoss)));
    char detail[96];
    std::snprintf(detail, sizeof detail,
                  "validation losses as uninterrupted (largest relative gap %.2g)", worst);
    check(worst <= 1e-4, detail);
}

void cnnEmbedding(const std::string& device) {
    // gw_chirp's 512-sample series through the 1-D CNN: a few epochs must run and lower the loss.
    std::printf("CNN embedding on gw_chirp, %s\n", device.c_str());
    const TaskInfo& task = *findTask("gw_chirp");
    NpeSettings settings;
    settings.estimator.kind = "nsf";
    settings.simulations = 2000;
    settings.seed = 3;
    settings.device = device;
    settings.threads = 0;
    settings.isTimeSeries = true;
    settings.training.maxEpochs = 4;
    const Matrix xo =
        Eigen::Map<const Matrix>(task.referenceObservations[0].data.data(), 1,
                                 Eigen::Index(task.referenceObservations[0].data.size()));
    NpeResult result;
    const double took = seconds(
        [&] { result = runNpe(JointPrior(task.defaultPrior), *task.create(), xo, settings); });
    check(bool(result.posterior) && result.training.epochs == 4, "4 epochs ran");
    if (!result.posterior)
        return;
    check(result.training.history.back().trainLoss < result.training.history.front().trainLoss,
          "training loss fell");
    const Matrix samples = result.posterior->sample(1000, xo, 2);
    check(samples.rows() == 1000 && samples.allFinite(), "1000 finite samples");
    std::printf("  %.1f s\n", took);
}

// SNLE (two rounds) and NRE-C on the device: the networks train there, the MCMC calls them there.
void likelihoodAndRatioMethods(const std::string& device) {
    for (const std::string method : {"snle", "nre-c"}) {
        std::printf("%s on %s: the analytic gaussian_linear posterior\n", method.c_str(), device.c_str());
        NleResult result;
        const double took = seconds([&] {
            if (method == "snle") {
                NleSettings s = test::gaussianLinear3Nle(device);
                s.rounds = 2;
                result = runNle(gaussianPrior(), GaussianLinear3(), observation(), s);
            } else {
                result = runNre(gaussianPrior(), GaussianLinear3(), observation(), test::gaussianLinear3Nre("c", device));
            }
        });
        check(result.trained && result.posterior.samples.rows() == 4000,
              "trained and sampled (" + result.training.stopReason + ")");
        if (result.posterior.samples.rows() == 0) continue;
        const Vector mean = columnMeans(result.posterior.samples);
        for (int i = 0; i < 3; ++i) checkNear(mean(i), observation()(0, i) / 2.0, 0.07, "mean " + std::to_string(i));
        std::printf("  %.1f s\n", took);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string requested = "auto";
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
            requested = argv[++i];
        else {
            std::fprintf(stderr, "usage: device_check [--device cpu|cuda|auto]\n");
            return 2;
        }
    }
    std::printf("CUDA available: %s\n", cudaAvailable() ? "yes" : "no");
    std::string device;
    try {
        device = resolveDevice(requested);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    for (const char* kind : {"nsf", "maf", "mdn"})
        analyticPosterior(kind, device);
    saveOnDeviceLoadOnCpu(device);
    cancellation(device);
    resumeFromCheckpoint(device);
    cnnEmbedding(device);
    likelihoodAndRatioMethods(device);
    std::printf(failures ? "%d check(s) FAILED\n" : "all checks passed\n", failures);
    return failures ? 1 : 0;
}
