// The run history at scale: a history of 1,000 runs (50 epochs, 1,000 posterior samples and a
// 32 KB model each) holding 10^6 stored simulations of 10-D θ and 10-D x, then timed: opening,
// listing, finding and loading simulations, reusing all of them in a new run, deleting a run.
//
//   bench_history [--runs N] [--simulations TOTAL] [--dimension D] [--folder DIR] [--keep]
//
// Prints a Markdown table for docs/run-history.md. Times are medians of several repeats with
// the file in the operating system's cache (the usual case: the app reopens what it just used).
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <vector>

#include "qt/run_history.h"

using namespace sbiw;

namespace {

// Median wall time in milliseconds of `repeats` calls of `f`.
double medianMilliseconds(int repeats, const std::function<void()>& f) {
    std::vector<double> times;
    for (int i = 0; i < repeats; ++i) {
        QElapsedTimer timer;
        timer.start();
        f();
        times.push_back(double(timer.nsecsElapsed()) / 1e6);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

Matrix filled(Eigen::Index rows, Eigen::Index cols, double seed) {
    Matrix m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i)
        m.data()[i] = seed + 1e-3 * double(i);
    return m;
}

void row(const char* what, double milliseconds, const QString& note = {}) {
    std::printf("| %s | %.2f ms | %s |\n", what, milliseconds, qPrintable(note));
}

}  // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription("Times the run history at scale.");
    parser.addHelpOption();
    parser.addOption({"runs", "Runs to create.", "N", "1000"});
    parser.addOption({"simulations", "Stored simulations in all (split evenly over the runs).",
                      "TOTAL", "1000000"});
    parser.addOption({"dimension", "Dimension of θ and of x.", "D", "10"});
    parser.addOption(
        {"folder", "Where to write the history (default: a temporary folder).", "DIR"});
    parser.addOption({"keep", "Keep the history file afterwards."});
    parser.process(app);
    const int runs = parser.value("runs").toInt();
    const qint64 simulationsPerRun = parser.value("simulations").toLongLong() / runs;
    const int dimension = parser.value("dimension").toInt();
    if (runs <= 0 || simulationsPerRun <= 0 || dimension <= 0) {
        std::fprintf(stderr, "error: --runs, --simulations and --dimension must be positive\n");
        return 2;
    }
    QTemporaryDir temporary;
    temporary.setAutoRemove(!parser.isSet("keep"));
    const QString folder = parser.isSet("folder") ? parser.value("folder") : temporary.path();
    const QString path = QDir(folder).filePath("bench.history.sqlite");
    QFile::remove(path);

    // --- Filling -----------------------------------------------------------------------------
    constexpr int kProjects = 10;
    constexpr int kEpochs = 50;
    const QByteArray model(32 * 1024, 'm');
    const Matrix samples = filled(1000, dimension, 0.5);
    QElapsedTimer fillTimer;
    fillTimer.start();
    {
        RunHistory history(path);
        for (int r = 0; r < runs; ++r) {
            RunStart start;
            start.projectName = QStringLiteral("project %1").arg(r % kProjects);
            start.projectHash = QStringLiteral("hash-%1").arg(r % kProjects);
            start.method = "npe";
            start.estimator = "nsf";
            start.settings = QJsonObject{{"simulations", simulationsPerRun}, {"seed", r}};
            start.seed = std::uint64_t(r);
            start.device = "cpu";
            const qint64 id = history.startRun(start);
            std::vector<EpochRecord> epochs;
            for (int e = 1; e <= kEpochs; ++e)
                epochs.push_back({0, e, 3.0 / e, 3.1 / e + 1e-3 * r, 0.1 * e});
            history.addEpochs(id, epochs);
            history.addSimulations(id, QStringLiteral("source-%1").arg(r % kProjects), 0,
                                   filled(simulationsPerRun, dimension, r),
                                   filled(simulationsPerRun, dimension, -r));
            history.saveModel(id, {"bench", model, {}});
            history.saveSamples(id, {"observation 1", samples, {}});
            history.finishRun(id, {});
        }
    }
    const double fillSeconds = double(fillTimer.elapsed()) / 1e3;
    const double megabytes = double(QFileInfo(path).size()) / (1024.0 * 1024.0);

    std::printf(
        "%d runs, %lld simulations of %d-D θ and %d-D x in all, %.0f MB file; filled in "
        "%.1f s (%.1f ms per run)\n\n",
        runs, static_cast<long long>(simulationsPerRun * runs), dimension, dimension, megabytes,
        fillSeconds, 1e3 * fillSeconds / runs);
    std::printf("| operation | time | note |\n| --- | --- | --- |\n");

    // Each time is taken before its note is written (argument order is unspecified).
    double ms = medianMilliseconds(7, [&] { RunHistory history(path); });
    row("open", ms);
    std::size_t listed = 0;
    ms = medianMilliseconds(7, [&] {
        RunHistory history(path);
        listed = history.listRuns().size();
    });
    row("open + list all runs (newest first)", ms, QStringLiteral("%1 summaries").arg(listed));

    RunHistory history(path);
    ms = medianMilliseconds(7, [&] { listed = history.listRuns().size(); });
    row("list all runs", ms, QStringLiteral("%1 summaries").arg(listed));
    RunQuery oneProject;
    oneProject.projectHash = "hash-3";
    ms = medianMilliseconds(7, [&] { listed = history.listRuns(oneProject).size(); });
    row("list one project's runs", ms, QStringLiteral("%1 summaries").arg(listed));
    RunQuery byLoss;
    byLoss.sortBy = RunSortKey::FinalValidationLoss;
    byLoss.descending = false;
    byLoss.limit = 50;
    ms = medianMilliseconds(7, [&] { listed = history.listRuns(byLoss).size(); });
    row("best runs by validation loss", ms, QStringLiteral("%1 summaries").arg(listed));

    const qint64 someRun = history.listRuns().at(std::size_t(runs / 2)).id;
    ms = medianMilliseconds(7, [&] { history.epochs(someRun); });
    row("one run's epochs", ms, QStringLiteral("%1 epochs").arg(kEpochs));
    ms = medianMilliseconds(7, [&] { history.simulations(someRun); });
    row("one run's simulations", ms, QStringLiteral("%1 rows").arg(simulationsPerRun));
    std::vector<SimulationBatchInfo> found;
    ms = medianMilliseconds(7, [&] { found = history.findSimulations("source-3"); });
    row("find stored simulations of one prior and simulator", ms,
        QStringLiteral("%1 batches").arg(found.size()));

    // A new run that reuses every stored simulation (all sources, as if they were one).
    std::vector<qint64> every;
    for (int s = 0; s < kProjects; ++s)
        for (const SimulationBatchInfo& b :
             history.findSimulations(QStringLiteral("source-%1").arg(s)))
            every.push_back(b.id);
    RunStart reuse;
    reuse.projectName = "reuse";
    reuse.projectHash = "hash-reuse";
    reuse.method = "npe";
    reuse.estimator = "nsf";
    reuse.device = "cpu";
    const qint64 reuser = history.startRun(reuse);
    ms = medianMilliseconds(1, [&] { history.useSimulations(reuser, every); });
    row("link all stored simulations to a new run", ms,
        QStringLiteral("%1 batches").arg(every.size()));
    StoredSimulations all;
    ms = medianMilliseconds(3, [&] { all = history.simulations(reuser); });
    row("load them (the new run's training set)", ms,
        QStringLiteral("%1 x %2 θ and %1 x %3 x")
            .arg(all.theta.rows())
            .arg(all.theta.cols())
            .arg(all.x.cols()));
    all = {};
    history.finishRun(reuser, {});
    history.deleteRun(reuser);  // its simulations stay: every one is used by its producer too

    const std::vector<RunSummary> list = history.listRuns();
    std::size_t next = 0;
    ms = medianMilliseconds(5, [&] { history.deleteRun(list.at(next++).id); });
    row("delete a run (cascade, space given back)", ms,
        QStringLiteral("%1 epochs, model, samples, %2 simulations")
            .arg(kEpochs)
            .arg(simulationsPerRun));
    return 0;
}
