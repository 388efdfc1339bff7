#pragma once
// Runs one training job (run_job.h) on a worker thread and reports to the GUI thread through
// queued signals carrying plain values: no tensors or models cross threads. Posterior snapshots
// are throttled: the newest replaces one still waiting to be delivered, so a slow GUI never
// queues up a backlog. Cancel() is checked by the engine every batch.

#include <QObject>
#include <QThread>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

#include "qt/run_job.h"

namespace sbiw {

class TrainingController : public QObject {
    Q_OBJECT
  public:
    explicit TrainingController(QObject* parent = nullptr);
    ~TrainingController() override;  // cancels and waits for a running job

    // False (and nothing started) while a job runs.
    bool start(const RunJob& job);
    void cancel();
    bool isRunning() const;
    // Blocks until the running job (if any) ends; its finished() is still delivered later.
    void waitForFinished();

  Q_SIGNALS:
    void started();
    void stageChanged(const QString& stage);  // "simulating", "training", "sampling"
    void simulationProgress(qint64 completed, qint64 total);
    void epochReported(const sbiw::EpochReport& report);
    // An epoch of a candidate network only tried (NLE's automatic estimator choice).
    void trialEpochReported(const QString& candidate, const sbiw::EpochReport& report);
    void snapshotReady(const sbiw::PosteriorSnapshot& snapshot);
    // ABC: population `population` (from 1) reached tolerance `epsilon` (rejection ABC: one).
    void abcPopulationReported(int population, double epsilon, double acceptanceRate);
    void finished(const sbiw::RunJobResult& result);
    // A line of the simulator's log (an external program's stderr, a script's console.log).
    void simulatorLog(const QString& line);

  private:
    void deliverSnapshot();

    std::unique_ptr<QThread> thread_;
    std::atomic<bool> cancel_{false};
    std::mutex snapshotMutex_;
    std::optional<PosteriorSnapshot> pendingSnapshot_;
};

}  // namespace sbiw

Q_DECLARE_METATYPE(sbiw::EpochReport)
Q_DECLARE_METATYPE(sbiw::PosteriorSnapshot)
Q_DECLARE_METATYPE(sbiw::RunJobResult)
