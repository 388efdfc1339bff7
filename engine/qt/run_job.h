#pragma once
// One training run of any method, as the GUI starts it: the project's inference settings turned
// into the method's settings, simulate, train, sample at the observation, and (optionally) record
// everything in the run history. Runs on the calling thread (the GUI's training worker); the
// history is opened here, on that thread (see run_history.h).

#include <QString>
#include <QStringList>

#include <functional>

#include <optional>

#include "core/matrix.h"
#include "inference/settings.h"
#include "project/project.h"
#include "sampling/mcmc.h"
#include "qt/run_history.h"

namespace sbiw {

struct RunJob {
    Project project;
    QString projectPath;  // empty for an unsaved project
    QString historyPath;  // where to record the run; empty: nothing is recorded
    QString observationName;
    Matrix observation;     // one row, or several i.i.d. rows (likelihood, ratio and ABC methods)
    int snapshotEvery = 5;  // epochs between posterior snapshots; SMC-ABC: every population if > 0
    int snapshotSamples = 500;
    int checkpointEvery = 5;
    int snpeAtoms = 10;         // snpe: atoms of the atomic loss
    QString savePosteriorPath;  // npe, snpe: also save the trained posterior there
    // The simulator's log (an external program's stderr, a script's console), one line per call,
    // from simulation threads.
    std::function<void(const std::string& line)> simulatorLog;
    // ABC, on the running thread: population `population` (from 1) reached tolerance `epsilon`
    // with this acceptance rate. SMC-ABC after every population, rejection ABC once at the end.
    std::function<void(int population, double epsilon, double acceptanceRate)> onAbcPopulation;
    // Called on the running thread once the run is recorded (its id), before any work.
    std::function<void(qint64 runId)> onRunStarted;

    // The method's settings are checked too ("inference.simulations: must be at least 2").
    Problems validate() const;
};

struct RunJobResult {
    RunState state = RunState::Failed;
    QString message;      // why it failed or stopped; empty when finished
    QString summary;      // one line for a status bar, e.g. "NPE (nsf): 84 epochs in 12.3 s ..."
    QStringList details;  // further lines (snpe: one per round; smc-abc: one per population)
    qint64 runId = 0;     // 0 when nothing was recorded
    Matrix samples;       // posterior samples at the observation (finished runs)
    TrainingSummary training;  // empty for ABC
    double seconds = 0.0;
};

// The methods a project can run from the GUI, in menu order.
const std::vector<std::string>& runnableMethods();
// snpe, snle, snre, snre-b, snre-c: they run the project's inference.rounds (the others one).
bool isSequentialMethod(const std::string& method);
// nle, snle, nre, snre, nre-b, snre-b, nre-c, snre-c: they sample the posterior by MCMC
// (inference.mcmc).
bool samplesByMcmc(const std::string& method);

// Never throws: failures come back as RunState::Failed with the reason.
RunJobResult runJob(const RunJob& job, const TrainingHooks& hooks);

}  // namespace sbiw
