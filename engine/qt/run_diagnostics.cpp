#include "qt/run_diagnostics.h"
#include "qt/simulator_factory.h"

#include <QDir>
#include <QFileInfo>

#include <chrono>

#include "core/csv.h"
#include "diagnostics/c2st.h"
#include "inference/mcmc_posterior.h"
#include "inference/posterior.h"
#include "priors/joint_prior.h"
#include "qt/diagnostics_json.h"
#include "qt/run_history.h"
#include "qt/run_recorder.h"
#include "simulators/iid_trials.h"

namespace sbiw {

Problems DiagnosticsRequest::validate() const {
    Problems problems;
    if (!sbc && !coverage && !tarp && !ppc && c2stReference.isEmpty())
        problems.push_back({"", "choose at least one check: SBC, coverage, TARP, PPC or C2ST"});
    if ((sbc || coverage || tarp) && simulations < 2)
        problems.push_back({"simulations", "SBC, coverage and TARP need at least 2 simulations"});
    if (posteriorSamples == 0 || posteriorSamples < -1)
        problems.push_back({"posteriorSamples", "must be at least 1"});
    if (threads < 0)
        problems.push_back({"threads", "must not be negative"});
    return problems;
}

StoredRunPosterior loadRunPosterior(RunHistory& history, qint64 runId, const Project& project) {
    const QString runName =
        QStringLiteral("run %1 in %2").arg(runId).arg(QDir::toNativeSeparators(history.path()));
    const std::optional<RunSummary> run = history.run(runId);
    if (!run)
        throw std::runtime_error(
            QStringLiteral("no run %1 in %2").arg(runId).arg(history.path()).toStdString());
    const std::optional<StoredModel> model = history.model(runId);
    if (!model) {
        QString message = QStringLiteral("%1 has no trained model (it is %2")
                              .arg(runName, runStateName(run->state));
        message += run->method.startsWith("smc-abc") || run->method.startsWith("rej-abc")
                       ? QStringLiteral("; ABC runs keep their samples but no model to sample)")
                       : QStringLiteral(")");
        if (run->state == RunState::Interrupted || run->state == RunState::Cancelled)
            message += QStringLiteral("; finish it first: sbiw-cli train --resume %1 --db %2")
                           .arg(runId)
                           .arg(QDir::toNativeSeparators(history.path()));
        throw std::runtime_error(message.toStdString());
    }
    if (projectContentHash(project) != run->projectHash)
        throw std::runtime_error(QStringLiteral("the project is not the problem %1 was trained on "
                                                "(its parameters, priors, simulator or "
                                                "observations changed since)")
                                     .arg(runName)
                                     .toStdString());
    StoredRunPosterior loaded;
    loaded.runName = runName;
    loaded.problem = storedRunProblemFromJson(history.settings(runId));
    const std::string modelBytes(model->data.constData(), std::size_t(model->data.size()));
    const int trials = int(loaded.problem.observation.rows());
    if (model->format == McmcPosterior::formatName()) {
        const McmcPosterior posterior =
            McmcPosterior::fromBytes(modelBytes, runName.toStdString(), "auto");
        loaded.access = posteriorAccess(posterior, trials);
        loaded.sample = [posterior](const Matrix& observation, std::int64_t count,
                                    std::uint64_t seed) {
            return Matrix(posterior.sample(count, observation, seed).samples);
        };
        loaded.parameterDimension = posterior.parameterDimension();
        loaded.byMcmc = true;
    } else {
        const NeuralPosterior posterior =
            NeuralPosterior::fromBytes(modelBytes, runName.toStdString(), loaded.problem.device);
        loaded.access = posteriorAccess(posterior);
        loaded.sample = [posterior](const Matrix& observation, std::int64_t count,
                                    std::uint64_t seed) {
            return posterior.sample(count, observation, seed);
        };
        loaded.parameterDimension = posterior.parameterDimension();
    }
    return loaded;
}

DiagnosticsOutcome diagnoseRun(RunHistory& history, qint64 runId, const Project& project,
                               const DiagnosticsRequest& request, const LoopControl& control) {
    if (const Problems problems = request.validate(); !problems.empty())
        throw std::runtime_error(problems.front().toString());
    // The posterior's calls take turns (see posterior.h), and within a call a second torch
    // thread made SBC on two_moons' NSF 2x slower here (200 x 999 samples: 8 s -> 17 s), as it
    // does for training: one torch thread; `threads` drives simulation and ranking.
    setComputeThreadCount(1);
    const StoredRunPosterior loaded = loadRunPosterior(history, runId, project);
    const StoredRunProblem& settings = loaded.problem;
    if (settings.rounds > 1 && (request.sbc || request.coverage || request.tarp))
        throw std::runtime_error(
            QStringLiteral("%1 is sequential (%2, %3 rounds): its posterior was trained for the "
                           "observation '%4' only, so SBC, coverage and TARP, which test it at "
                           "data simulated from the prior, do not apply; PPC and C2ST do")
                .arg(loaded.runName, settings.method.toUpper())
                .arg(settings.rounds)
                .arg(settings.observationName)
                .toStdString());
    const int trials = int(settings.observation.rows());
    const PosteriorAccess& access = loaded.access;
    const int parameterDimension = loaded.parameterDimension;
    const JointPrior prior = project.makePrior();
    const std::unique_ptr<Simulator> projectSimulator = makeTrustedSimulator(project);
    // A posterior of sets of i.i.d. trials is checked on such sets: simulated and observed alike.
    const IidTrialsSimulator sets(*projectSimulator, trials);
    const Simulator* simulator = trials > 1 ? &sets : projectSimulator.get();
    const Matrix observed = flattenTrials(settings.observation);
    const auto start = std::chrono::steady_clock::now();

    DiagnosticsOutcome outcome;
    outcome.parameterNames = settings.parameterNames;
    QJsonObject& report = outcome.report;
    report = QJsonObject{{"format", "sbiw-diagnostics-report"},
                         {"version", 1},
                         {"run", runId},
                         {"history", history.path()},
                         {"project", QString::fromStdString(project.name)},
                         {"observation", settings.observationName},
                         {"seed", QString::number(request.seed)}};
    std::vector<std::pair<QString, QJsonObject>> results;
    const auto add = [&](const char* kind, QJsonObject json, const QJsonObject& used) {
        report.insert(kind, json);
        json.insert("settings", used);
        results.emplace_back(kind, json);
        outcome.summary << json.value("summary").toString();
    };
    if (request.sbc || request.coverage || request.tarp) {
        const SimulationBatch set = simulateCalibrationSet(prior, *simulator, request.simulations,
                                                           request.seed, request.threads, control);
        if (set.cancelled) {
            outcome.cancelled = true;
            return outcome;
        }
        CalibrationSettings calibration;
        if (request.posteriorSamples > 0)
            calibration.posteriorSamples = request.posteriorSamples;
        calibration.seed = request.seed;
        calibration.threads = request.threads;
        calibration.runSbc = request.sbc;
        calibration.runCoverage = request.coverage;
        calibration.runTarp = request.tarp;
        calibration.parameterNames = settings.parameterNames;
        if (calibration.sbc.bins > calibration.posteriorSamples + 1)
            calibration.sbc.bins = int(calibration.posteriorSamples + 1);
        const CalibrationResult result =
            runCalibration(set.theta, set.x, access, calibration, control);
        if (result.cancelled) {
            outcome.cancelled = true;
            return outcome;
        }
        report.insert("simulations", qint64(request.simulations));
        report.insert("posterior_samples", qint64(calibration.posteriorSamples));
        report.insert("skipped_simulations", qint64(result.ranks.skippedRows));
        const QJsonObject used{{"simulations", qint64(request.simulations)},
                               {"posterior_samples", qint64(calibration.posteriorSamples)},
                               {"seed", QString::number(request.seed)}};
        if (result.sbc)
            add("sbc", toJson(*result.sbc, result.ranks.sbc, settings.parameterNames), used);
        if (result.coverage)
            add("coverage", toJson(*result.coverage), used);
        if (result.tarp)
            add("tarp", toJson(*result.tarp), used);
        outcome.sbc = result.sbc;
        outcome.coverage = result.coverage;
        outcome.tarp = result.tarp;
    }
    if (request.ppc) {
        PredictiveCheckSettings check;
        if (request.posteriorSamples > 0)
            check.posteriorSamples = request.posteriorSamples;
        check.seed = request.seed;
        check.threads = request.threads;
        check.significance = std::max(check.significance, 1.0 / double(check.posteriorSamples + 1));
        PredictiveCheckResult result =
            posteriorPredictiveCheck(observed, access, *simulator, check, control);
        if (result.cancelled) {
            outcome.cancelled = true;
            return outcome;
        }
        add("ppc", toJson(result, {}),
            QJsonObject{{"posterior_samples", qint64(check.posteriorSamples)},
                        {"seed", QString::number(request.seed)}});
        outcome.ppc = std::move(result);
    }
    if (!request.c2stReference.isEmpty()) {
        const CsvTable reference = readCsv(request.c2stReference.toStdString());
        if (reference.values.cols() != parameterDimension || reference.values.rows() < 10)
            throw std::runtime_error(
                QStringLiteral(
                    "%1 has %2 rows of %3 columns; the run's posterior has %4 parameters "
                    "(and C2ST needs at least 10 rows)")
                    .arg(request.c2stReference)
                    .arg(reference.values.rows())
                    .arg(reference.values.cols())
                    .arg(parameterDimension)
                    .toStdString());
        const Matrix draws = access.sample(observed, reference.values.rows(), request.seed);
        C2stSettings c2stSettings;
        c2stSettings.threads = request.threads;
        c2stSettings.seed = request.seed;
        const C2stResult score = c2st(reference.values, draws, c2stSettings, control);
        if (score.cancelled) {
            outcome.cancelled = true;
            return outcome;
        }
        const QString name = QFileInfo(request.c2stReference).fileName();
        const QString line =
            QStringLiteral("C2ST against %1 (%2 samples each): %3 (0.5: indistinguishable)")
                .arg(name)
                .arg(reference.values.rows())
                .arg(score.accuracy, 0, 'f', 4);
        add("c2st",
            QJsonObject{{"accuracy", score.accuracy},
                        {"reference", QFileInfo(request.c2stReference).absoluteFilePath()},
                        {"samples", qint64(reference.values.rows())},
                        {"summary", line}},
            QJsonObject{{"seed", QString::number(request.seed)}});
        outcome.c2stAccuracy = score.accuracy;
    }
    outcome.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.insert("elapsed_seconds", outcome.seconds);
    report.insert("summary", outcome.summary.join("\n"));
    history.transaction([&] {
        for (const auto& [kind, json] : results)
            history.addDiagnostic(runId, kind, json);
    });
    return outcome;
}

}  // namespace sbiw
