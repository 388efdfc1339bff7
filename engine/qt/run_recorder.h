#pragma once
// Glue between neural training and the run history (docs/run-history.md): the settings of an
// NPE run as the JSON stored with it (and back, for resuming), training hooks that write every
// epoch, snapshot and checkpoint as it comes, the trainer's checkpoint in its stored form, and
// the reuse of stored simulations by a later run.
//
// Threads: a RunRecorder writes through a RunHistory, which belongs to the thread that opened
// it; training hooks run on the training thread, so open the history there.

#include <QJsonObject>
#include <QString>

#include <optional>
#include <string>
#include <vector>

#include "inference/nle.h"
#include "inference/npe.h"
#include "qt/run_history.h"

namespace sbiw {

// Everything an NPE run was asked to do: stored as runs.settings_json when it starts, read back
// by 'train --resume' and 'diagnose'.
struct NpeRunSettings {
    NpeSettings npe;
    QString observationName;  // a project observation's name, or the CSV file it was read from
    Matrix observation;       // its values (one row): the run does not depend on the file later
    std::int64_t posteriorSamples = 10000;  // final samples stored with the run
    std::vector<std::string> parameterNames;
    int snapshotEvery = 5;  // epochs between posterior snapshots (0: none)
    int snapshotSamples = 500;
    int checkpointEvery = 5;        // epochs between checkpoints (0: only when cancelled)
    bool reuseSimulations = false;  // train on stored simulations of the same prior and simulator

    Problems validate() const;
};

QJsonObject toJson(const NpeRunSettings& settings);
// Throws std::runtime_error naming the key that is missing or has the wrong type.
NpeRunSettings npeRunSettingsFromJson(const QJsonObject& json);

// How a neural run ended, with the losses of its best epoch (when one improved).
RunOutcome outcomeOf(const TrainingSummary& summary, RunState state, const QString& message = {});

// The settings stored with a likelihood or ratio run (method "nle", "snle", "nre", ...;
// estimator "resnet" for the NRE classifier).
QJsonObject likelihoodRunSettingsJson(const QString& method, const QString& estimator,
                                      const NleSettings& settings, const QString& observationName,
                                      const Matrix& observation,
                                      const std::vector<std::string>& parameterNames);

// What a run's stored settings say about the problem it solved, whatever its method: what the
// checks of its posterior need besides the model.
struct StoredRunProblem {
    QString method;  // npe, snpe, nle, snle, nre, snre, nre-b, snre-b, nre-c, snre-c
    int rounds = 1;  // more than 1: sequential, its posterior trained for its observation only
    QString observationName;
    Matrix observation;  // one row per i.i.d. trial
    std::vector<std::string> parameterNames;
    std::string device;
};
// Throws std::runtime_error naming the key that is missing or has the wrong type.
StoredRunProblem storedRunProblemFromJson(const QJsonObject& json);

// Stored checkpoint layout: `model` holds the current and the best weights (format below),
// `optimizer_state` Adam's state, `trainer_state_json` the early-stopping counters.
extern const char* const kTrainerWeightsFormat;  // "sbiw-trainer-weights/1"
Checkpoint toStoredCheckpoint(const TrainingCheckpoint& checkpoint);
// `epochs`: the run's recorded epochs up to the checkpoint (ResumePoint::epochs), which become
// the history of the resumed summary. Throws std::runtime_error for an unknown format.
TrainingCheckpoint toTrainingCheckpoint(const Checkpoint& stored,
                                        const std::vector<EpochRecord>& epochs);

// Earlier stored simulations a new run can train on instead of simulating: the newest run whose
// training set was drawn from the same prior and simulator (same source key) and holds at
// least `count` rows. Only one run's set is used, never several joined: two runs with the same
// seed simulate the same rows, and joining their sets would train on duplicates.
struct ReusableSimulations {
    qint64 runId = 0;
    qint64 rows = 0;
};
std::optional<ReusableSimulations> findReusableSimulations(const RunHistory& history,
                                                           const QString& sourceKey, qint64 count,
                                                           qint64 excludeRunId = 0);

class RunRecorder {
  public:
    RunRecorder(RunHistory& history, qint64 runId);

    qint64 runId() const { return runId_; }
    RunHistory& history() const { return history_; }

    // `hooks` with writing added: each epoch's losses (one transaction per epoch), snapshots and
    // checkpoints are stored before the caller's own callback runs.
    TrainingHooks recordingHooks(TrainingHooks hooks) const;

    // Stores freshly simulated pairs as the run's training set (one batch).
    void recordSimulations(const QString& sourceKey, const Matrix& theta, const Matrix& x) const;
    // Makes the first `count` rows of `source`'s training set this run's training set: whole
    // batches are shared, the rows of a batch only partly used are stored again. Returns them.
    StoredSimulations reuseSimulations(const ReusableSimulations& source, const QString& sourceKey,
                                       qint64 count) const;

    // Ends a finished run in one transaction: model, final samples, outcome.
    void finishTrained(const NeuralPosterior& posterior, const StoredSamples& samples,
                       const RunOutcome& outcome) const;
    void finishTrained(const McmcPosterior& posterior, const StoredSamples& samples,
                       const RunOutcome& outcome) const;
    void finishTrained(const StoredModel& model, const StoredSamples& samples,
                       const RunOutcome& outcome) const;
    void finish(const RunOutcome& outcome) const;

  private:
    RunHistory& history_;
    qint64 runId_;
};

}  // namespace sbiw
