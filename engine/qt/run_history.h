#pragma once
// The run history: every training run of a project, kept in one SQLite file (schema and
// policies in docs/run-history.md). A run records its settings, per-epoch losses, the posterior
// snapshots taken while training, checkpoints to resume from, the trained model (an opaque blob
// the caller serialises), final posterior samples, diagnostics results, and the simulations it
// trained on, stored so that a later run (or the same run, resumed) can reuse them.
//
// Threads: an instance owns one SQLite connection, and Qt connections belong to the thread that
// made them. Create a RunHistory on the thread that uses it (the training worker opens its own)
// and destroy it there; calls from another thread throw std::logic_error. Several instances,
// in one process or several, may have the same file open: WAL mode lets readers go on while one
// writer writes.
//
// Errors: every failure throws std::runtime_error naming the file and what failed ("run history
// /p/x.history.sqlite: cannot add epochs to run 3: the disk is full ..."). Each write call is one
// transaction, rolled back when it fails; batch several with transaction().

#include <QByteArray>
#include <QDateTime>
#include <QJsonObject>
#include <QString>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/matrix.h"

namespace sbiw {

struct Project;

enum class RunState { Running, Finished, Cancelled, Failed, Interrupted };
// "running", "finished", "cancelled", "failed", "interrupted" (the words stored in the file).
QString runStateName(RunState state);
std::optional<RunState> runStateFromName(const QString& name);

// What is known when a run starts.
struct RunStart {
    QString projectName;
    QString projectHash;   // projectContentHash(project)
    QString projectPath;   // empty for unsaved projects
    QString observation;   // name of the observation the posterior is conditioned on
    QString method;        // npe, snpe, ...
    QString estimator;     // nsf, maf, mdn, auto, resnet, ...
    QJsonObject settings;  // every setting of the run (stored as JSON)
    std::uint64_t seed = 0;
    QString device;
};

// One row of the run list: everything but the settings and the blobs.
struct RunSummary {
    qint64 id = 0;
    QString projectName;
    QString projectHash;
    QString projectPath;
    QString observation;
    QString method;
    QString estimator;
    std::uint64_t seed = 0;
    QString appVersion;
    QString device;
    RunState state = RunState::Running;
    QDateTime startedAt;
    QDateTime endedAt;    // invalid while running
    QDateTime updatedAt;  // the last write for this run
    qint64 simulationCount = 0;
    int epochs = 0;
    std::optional<double> finalTrainLoss;
    std::optional<double> finalValidationLoss;
    QString errorMessage;
    bool hasModel = false;
    bool hasCheckpoint = false;
};

// How a run ended. Losses left empty keep the last recorded epoch's.
struct RunOutcome {
    RunState state = RunState::Finished;
    QString errorMessage;
    std::optional<double> finalTrainLoss;
    std::optional<double> finalValidationLoss;
    // Not empty: what the run turned out to use, replacing the estimator it started with (an
    // "auto" likelihood run's choice is stored as "auto:maf" or "auto:nsf").
    QString estimator;
    // For a run that stores no training set (likelihood, ratio and ABC methods): how many
    // simulations it ran, so that the history still shows its budget.
    std::optional<qint64> simulationCount;

    // The outcome of `state` with `message` and nothing else known.
    static RunOutcome ended(RunState state, const QString& message = {}) {
        RunOutcome outcome;
        outcome.state = state;
        outcome.errorMessage = message;
        return outcome;
    }
};

struct EpochRecord {
    int round = 0;
    int epoch = 0;           // 1-based within the round
    double trainLoss = 0.0;  // NaN survives the round trip (stored as NULL)
    double validationLoss = 0.0;
    double elapsedSeconds = 0.0;
};

// Posterior samples taken during training; replayed in order they show the posterior
// concentrating.
struct SnapshotRecord {
    int round = 0;
    int epoch = 0;
    double elapsedSeconds = 0.0;
    Matrix samples;
};

// The trained model as bytes, e.g. the file NeuralPosterior::save writes.
struct StoredModel {
    QString format;  // what wrote `data`, e.g. "sbiw-neural-posterior"
    QByteArray data;
    QDateTime savedAt;  // set by the store
};

// Where training can continue from. The store keeps the latest one per run.
struct Checkpoint {
    int round = 0;
    int epoch = 0;  // the last completed epoch
    QString modelFormat;
    QByteArray model;
    QByteArray optimizerState;
    QJsonObject trainerState;  // best loss so far, epochs without improvement, ...
    QDateTime savedAt;         // set by the store
};

struct StoredSamples {
    QString observation;
    Matrix samples;
    QDateTime savedAt;  // set by the store
};

struct DiagnosticRecord {
    qint64 id = 0;
    QString kind;  // sbc, coverage, tarp, ppc, c2st, ...
    QJsonObject result;
    QDateTime createdAt;
};

// A stored batch of simulations, without its values.
struct SimulationBatchInfo {
    qint64 id = 0;
    QString sourceKey;                    // simulationSourceKey(project) for draws from the prior
    std::optional<qint64> producerRunId;  // empty once that run was deleted
    int round = 0;
    qint64 rows = 0;
    int thetaColumns = 0;
    int dataColumns = 0;
    QDateTime createdAt;
};

// A run's training set: every batch it uses, concatenated in order.
struct StoredSimulations {
    Matrix theta;
    Matrix x;
    std::vector<qint64> batchIds;
};

// Everything 'train --resume RUN' needs.
struct ResumePoint {
    RunSummary run;
    QJsonObject settings;
    std::optional<Checkpoint> checkpoint;  // empty: train from scratch on the stored simulations
    StoredSimulations simulations;
    std::vector<EpochRecord> epochs;  // the loss curve so far, up to the checkpoint
};

enum class RunSortKey {
    Id,
    StartedAt,
    EndedAt,
    ProjectName,
    Method,
    State,
    Epochs,
    SimulationCount,
    FinalValidationLoss
};

struct RunQuery {
    QString projectHash;            // empty: every project
    std::optional<RunState> state;  // empty: every state
    RunSortKey sortBy = RunSortKey::StartedAt;
    bool descending = true;  // newest first; runs without a value sort last either way
    int limit = -1;          // -1: all
    int offset = 0;
};

class RunHistory {
  public:
    // Opens the history at `path`, creating it (and migrating an older schema) as needed, then
    // marks runs whose process has gone as interrupted. Refuses a file from a newer version,
    // another program's database, a file that is not SQLite, and a read-only file.
    explicit RunHistory(const QString& path);
    // Marks runs this instance started and did not end as interrupted.
    ~RunHistory();
    RunHistory(const RunHistory&) = delete;
    RunHistory& operator=(const RunHistory&) = delete;

    static int schemaVersion();
    // Where a project's history lives: "<folder>/<name>.history.sqlite" beside "<name>.sbiw".
    static QString pathBesideProject(const QString& projectFile);
    // The history of unsaved projects, in the user's data folder (which this creates).
    static QString pathForUnsavedProjects();
    // `explicitPath` if given (--db FILE), else beside `projectFile`, else the data folder.
    static QString resolvePath(const QString& explicitPath, const QString& projectFile);

    const QString& path() const;
    QString connectionName() const;  // this instance's QSqlDatabase connection

    // Runs `writes` (calls of this class) in one transaction: all of them are kept or none.
    void transaction(const std::function<void()>& writes);

    // --- Writing a run ------------------------------------------------------------------------
    // Records a new run as running, owned by this process. Returns its id.
    qint64 startRun(const RunStart& start);
    // Adds (or replaces, by round and epoch) epoch losses; the run's epoch count and latest
    // losses follow.
    void addEpochs(qint64 runId, const std::vector<EpochRecord>& epochs);
    void addEpoch(qint64 runId, const EpochRecord& epoch) { addEpochs(runId, {epoch}); }
    void addSnapshot(qint64 runId, const SnapshotRecord& snapshot);
    void saveCheckpoint(qint64 runId, const Checkpoint& checkpoint);  // replaces the previous
    void saveModel(qint64 runId, const StoredModel& model);           // replaces the previous
    void saveSamples(qint64 runId, const StoredSamples& samples);     // replaces the previous
    qint64 addDiagnostic(qint64 runId, const QString& kind, const QJsonObject& result);
    // Stores new simulations (rows of theta and x) and appends them to the run's training set.
    qint64 addSimulations(qint64 runId, const QString& sourceKey, int round, const Matrix& theta,
                          const Matrix& x);
    // Appends stored batches (e.g. found with findSimulations) to the run's training set.
    void useSimulations(qint64 runId, const std::vector<qint64>& batchIds);
    // Ends a running run: state (not Running), error message, final losses, end time.
    void finishRun(qint64 runId, const RunOutcome& outcome);
    // Makes an interrupted, cancelled or failed run running again, owned by this process, and
    // drops the epochs and snapshots recorded after its checkpoint (all of them without one).
    ResumePoint resumeRun(qint64 runId);
    // Deletes the run and everything it owns; simulations go too unless another run uses them.
    void deleteRun(qint64 runId);
    // Marks running runs whose process has gone as interrupted; returns how many. Runs owned
    // by another host are left alone: there is no way to tell from here.
    int markInterruptedRuns();

    // --- Reading ------------------------------------------------------------------------------
    std::vector<RunSummary> listRuns(const RunQuery& query = {}) const;
    std::optional<RunSummary> run(qint64 runId) const;
    QJsonObject settings(qint64 runId) const;
    // What the run said when it ended, one line each (its summary first): the lines a user saw
    // in the GUI or the CLI. Empty when none was recorded (runs recorded before 2026-12-07).
    QStringList report(qint64 runId) const;
    void setReport(qint64 runId, const QStringList& lines);
    std::vector<EpochRecord> epochs(qint64 runId) const;
    std::vector<SnapshotRecord> snapshots(qint64 runId) const;  // in the order taken
    std::optional<StoredModel> model(qint64 runId) const;
    std::optional<Checkpoint> checkpoint(qint64 runId) const;
    std::optional<StoredSamples> samples(qint64 runId) const;
    std::vector<DiagnosticRecord> diagnostics(qint64 runId) const;  // oldest first
    StoredSimulations simulations(qint64 runId) const;
    std::vector<SimulationBatchInfo> simulationBatches(qint64 runId) const;
    // Batches with this source key, oldest first: candidates for reuse by a new run.
    std::vector<SimulationBatchInfo> findSimulations(const QString& sourceKey) const;
    // What a resumed run starts from (without changing anything).
    ResumePoint resumePoint(qint64 runId) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

// SHA-256 (hex) of what defines a project's inference problem: parameters with their priors,
// the simulator and the observations. Names, descriptions and settings are left out, so runs
// with other settings of the same problem share the hash.
QString projectContentHash(const Project& project);

// SHA-256 (hex) of what simulations drawn from the prior depend on: the parameters with their
// priors and the simulator. Stored simulations with this key can train any run of the problem.
// `trials` > 1: simulations that are sets of that many i.i.d. outputs (NPE on i.i.d. data), which
// train only runs with as many trials.
QString simulationSourceKey(const Project& project, int trials = 1);

}  // namespace sbiw
