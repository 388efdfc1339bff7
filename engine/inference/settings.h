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
    // Embedding of x: none | mlp | cnn | set, or auto (cnn for time series of >= 256 samples,
    // such as gw_chirp's 512, none otherwise).
    std::string embedding = "auto";
    int embeddingFeatures = 32;
    int cnnChannels = 8;  // cnn: channels of the first of its three conv stages (doubled per stage)
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

// Everything the training loop needs to continue exactly where it stopped, taken at the end of
// an epoch. Tensors travel as serialised bytes so that this header stays torch-free; resuming
// from a checkpoint with the same data, settings and seed gives the epochs an uninterrupted run
// would have given.
struct TrainingCheckpoint {
    int round = 0;
    int epoch = 0;           // the last completed epoch (1-based within the round)
    std::int64_t rows = 0;   // training examples before the split: a resumed run must have as many
    std::uint64_t seed = 0;  // seed of the split and the shuffles: a resumed run must use it too
    std::string modelState;      // weights and buffers after `epoch` (LibTorch archive)
    std::string optimizerState;  // Adam's moments and step count (LibTorch archive)
    // Early stopping: the weights of the best validation loss so far (empty while no epoch has
    // improved), that loss, its epoch and the epochs since.
    std::string bestModelState;
    double bestValidationLoss = 0.0;  // meaningful when bestEpoch > 0
    int bestEpoch = 0;
    int epochsWithoutImprovement = 0;
    double elapsedSeconds = 0.0;  // training time up to `epoch`; a resumed run's clock goes on
    // The reports of epochs 1..epoch, only for the summary of a resumed run. The trainer leaves
    // it empty (whoever records the epochs has them); fill it before resuming.
    std::vector<EpochReport> history;
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
    // After every epoch of a network only tried, not (yet) the run's: NLE's "auto" estimator
    // trains each candidate flow (named, e.g. "maf") before keeping one, whose epochs then go
    // to onEpoch. For progress displays; the history does not record them.
    std::function<void(const std::string& candidate, const EpochReport&)> onTrialEpoch;
    // Every `snapshotEvery` epochs (0: never) and after the last one.
    std::function<void(const PosteriorSnapshot&)> onSnapshot;
    int snapshotEvery = 0;
    int snapshotSamples = 500;
    // Stage changes for progress displays ("simulating", "training", "sampling").
    std::function<void(const std::string&)> onStage;
    // Simulation progress (completed, total).
    std::function<void(std::int64_t, std::int64_t)> onSimulationProgress;
    // Every `checkpointEvery` epochs (0: none periodically) while training goes on, and, when
    // training is cancelled, for the last completed epoch not yet sent: what continuing needs.
    std::function<void(const TrainingCheckpoint&)> onCheckpoint;
    int checkpointEvery = 0;
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

// Intra-op threads of LibTorch and of the BLAS under it, for code that must not include torch.
void setComputeThreadCount(int threads);

}  // namespace sbiw
