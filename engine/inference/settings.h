#pragma once
// Settings, reports and hooks of neural inference. Torch-free, so the Qt layers and the CLI can
// use them without LibTorch's headers.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "core/problems.h"
#include "project/project.h"

namespace sbiw {

struct EstimatorSettings {
    std::string kind = "nsf";  // maf | nsf | mdn
    int hiddenFeatures = 50;
    int transforms = 5;   // flow layers (maf, nsf)
    int blocks = 2;       // hidden layers / residual blocks per layer
    int bins = 10;        // spline bins (nsf)
    double tailBound = 3.0;  // splines act on [-tailBound, tailBound] of the standardised θ
    int components = 10;     // mixture components (mdn)
    // Embedding of x: none | mlp | cnn | set, or auto (cnn for time series of >= 64 samples,
    // none otherwise).
    std::string embedding = "auto";
    int embeddingFeatures = 32;
    int setElementFeatures = 0;  // set embedding: values per trial (0: the task's data dimension)

    Problems validate() const;
    // "auto" resolved for data of this dimension and kind.
    std::string resolvedEmbedding(int dataDimension, bool isTimeSeries) const;
};

struct EpochReport {
    int round = 0;
    int epoch = 0;  // 1-based within the round
    double trainLoss = 0.0;
    double validationLoss = 0.0;
    double bestValidationLoss = 0.0;
    bool improved = false;
    double elapsedSeconds = 0.0;  // since training started
};

struct PosteriorSnapshot {
    int round = 0;
    int epoch = 0;
    Matrix samples;  // draws from the current estimate at the observation
    double elapsedSeconds = 0.0;
};

// Observer hooks of a training run (called on the training thread).
struct TrainingHooks {
    // After every epoch; returning true stops training (keeping the best weights).
    std::function<bool(const EpochReport&)> onEpoch;
    // Every `snapshotEvery` epochs (0: never) and after the last one.
    std::function<void(const PosteriorSnapshot&)> onSnapshot;
    int snapshotEvery = 0;
    int snapshotSamples = 500;
    // Stage changes for progress displays ("simulating", "training", "sampling").
    std::function<void(const std::string&)> onStage;
    // Simulation progress (completed, total).
    std::function<void(std::int64_t, std::int64_t)> onSimulationProgress;
    // Checked every batch (and between simulation chunks).
    const std::atomic<bool>* cancel = nullptr;

    bool cancelled() const { return cancel && cancel->load(); }
};

enum class RunStatus { Finished, Cancelled, Failed };
const char* toString(RunStatus status);

struct TrainingSummary {
    RunStatus status = RunStatus::Finished;
    std::string stopReason;  // why training ended, in words
    int epochs = 0;
    int bestEpoch = 0;
    double bestValidationLoss = 0.0;
    double seconds = 0.0;
    std::vector<EpochReport> history;
};

// "auto" -> "cuda" when a CUDA device is usable, else "cpu"; "cuda" without one throws
// std::runtime_error saying so.
std::string resolveDevice(const std::string& requested);
bool cudaAvailable();

}  // namespace sbiw
