#pragma once
// Calibration and accuracy checks of a finished run's posterior, computed, stored with the run
// in its history, and returned as values (for 'sbiw-cli diagnose' and the GUI's diagnostics
// view): SBC, expected coverage, TARP on fresh prior-predictive simulations, a posterior
// predictive check at the run's observation, and C2ST against reference samples.

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

#include "core/parallel.h"
#include "diagnostics/calibration.h"
#include "project/project.h"
#include "qt/run_recorder.h"

namespace sbiw {

class RunHistory;

struct DiagnosticsRequest {
    bool sbc = false, coverage = false, tarp = false, ppc = false;
    QString c2stReference;               // CSV of reference posterior samples; empty: no C2ST
    std::int64_t simulations = 0;        // prior-predictive simulations for SBC, coverage and TARP
    std::int64_t posteriorSamples = -1;  // per simulation and for PPC; -1: the defaults
    std::uint64_t seed = 1;
    int threads = 0;

    // "simulations: SBC, coverage and TARP need at least 2" and the like.
    Problems validate() const;
};

struct DiagnosticsOutcome {
    bool cancelled = false;  // then nothing was stored
    std::optional<SbcResult> sbc;
    std::optional<CoverageResult> coverage;
    std::optional<TarpResult> tarp;
    std::optional<PredictiveCheckResult> ppc;
    std::optional<double> c2stAccuracy;
    std::vector<std::string> parameterNames;
    QJsonObject report;   // everything, as 'diagnose --out' writes it
    QStringList summary;  // one line per check
    double seconds = 0.0;
};

// A finished run's posterior as stored with it: an NPE posterior sampled directly, or an NLE/NRE
// network sampled by MCMC with the run's sampler settings.
struct StoredRunPosterior {
    QString runName;  // "run 3 in /p/x.history.sqlite"
    StoredRunProblem problem;
    int parameterDimension = 0;
    bool byMcmc = false;
    // `count` draws at an observation given as rows (i.i.d. trials where the method takes several).
    std::function<Matrix(const Matrix& observation, std::int64_t count, std::uint64_t seed)> sample;
    PosteriorAccess access;  // for the checks: one (flattened) row per observation
};

// Loads run `runId` of `history`, trained on `project` (checked by content hash). Throws
// std::runtime_error with a message for users (no such run, no model, another project).
StoredRunPosterior loadRunPosterior(RunHistory& history, qint64 runId, const Project& project);

// Runs the checks on run `runId` of `history` (which must have a trained model) for `project`
// (the problem it was trained on: checked by content hash), stores each result with the run in
// one transaction and returns them. Progress and cancellation through `control`. Throws
// std::runtime_error with a message for users (no model, another project, bad reference file).
DiagnosticsOutcome diagnoseRun(RunHistory& history, qint64 runId, const Project& project,
                               const DiagnosticsRequest& request, const LoopControl& control = {});

}  // namespace sbiw
