// NPE accuracy and speed on the sbibm tasks (and gw_chirp) against the reference posteriors:
// for each task and observation, simulate N from the prior, train, draw 10,000 samples, and
// score them with C2ST against the 10,000 reference samples. Prints a Markdown table with the
// published mean C2ST of sbi's NPE at the same budget beside ours, and writes every run to CSV.
//
//   bench_npe [--data DIR] [--simulations N] [--rounds R] [--estimator nsf|maf|mdn] [--observations 1,2,3,4,5]
//             [--threads T] [--device auto|cpu|cuda] [--embedding auto|none|mlp|cnn] [--c2st-threads T]
//             [--csv FILE] [TASK ...]
//
// --rounds R (R >= 2): sequential NPE (APT atomic loss) with N split over R rounds, compared with
// sbi's published SNPE; R = 1 (default) is NPE.
//
// DIR defaults to ../shared/data beside the source tree (sbibm/ and gw_chirp/ below it).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/csv.h"
#include "diagnostics/c2st.h"
#include "inference/npe.h"
#include "inference/snpe.h"
#include "simulators/catalogue.h"

using namespace sbiw;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> items;
    std::stringstream stream(text);
    for (std::string item; std::getline(stream, item, separator);)
        if (!item.empty()) items.push_back(item);
    return items;
}

// Mean published C2ST of sbi's NPE per task at `simulations` (main paper; gaussian_mixture from
// the maintainers' rerun with the fixed task).
std::map<std::string, double> publishedNpe(const std::string& dataDir, std::int64_t simulations,
                                           const std::string& algorithm = "NPE") {
    std::map<std::string, double> result;
    std::ifstream file(dataDir + "/sbibm/published_results.csv");
    std::string line;
    std::getline(file, line);
    while (std::getline(file, line)) {
        const std::vector<std::string> cells = split(line, ',');
        if (cells.size() < 6 || cells[2] != algorithm || std::stoll(cells[3]) != simulations) continue;
        const bool rerun = cells[0] == "gaussian_mixture_rerun";
        if (cells[1] == "gaussian_mixture" ? rerun : cells[0] == "main_paper") result[cells[1]] = std::stod(cells[5]);
    }
    return result;
}

// gw_chirp's phase is periodic: compare it through (sin, cos) so that samples on either side of
// 0 = 2π are neighbours for the classifier.
Matrix forComparison(const std::string& task, const Matrix& samples) {
    if (task != "gw_chirp") return samples;
    Matrix out(samples.rows(), 5);
    out.leftCols(3) = samples.leftCols(3);
    out.col(3) = samples.col(3).array().sin();
    out.col(4) = samples.col(3).array().cos();
    return out;
}

// slcp_distractors shares slcp's reference samples: its file holds the relative path to them.
Matrix readReferenceSamples(const std::string& path) {
    std::ifstream file(path);
    std::string first;
    std::getline(file, first);
    if (first.find(',') == std::string::npos && first.size() > 4 && first.compare(first.size() - 4, 4, ".csv") == 0)
        return readReferenceSamples(path.substr(0, path.find_last_of('/') + 1) + first);
    return readCsv(path).values;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dataDir = SBIW_SOURCE_DIR "/../shared/data";
    std::int64_t simulations = 10000;
    std::string estimator = "nsf";
    std::vector<int> observations = {1, 2, 3, 4, 5};
    int threads = 0;
    int rounds = 1;
    int c2stThreads = -1;  // -1: as --threads
    std::string device = "auto";
    std::string embedding = "auto";
    std::string csvPath = "npe_benchmark.csv";
    // NPE is amortised: --amortized trains once (seed 1) and samples that posterior at every
    // observation, instead of sbibm's one training run per observation (seed = observation).
    bool amortized = false;
    std::vector<std::string> tasks;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (arg == "--data") dataDir = next();
        else if (arg == "--simulations") simulations = std::atoll(next().c_str());
        else if (arg == "--estimator") estimator = next();
        else if (arg == "--rounds") rounds = std::atoi(next().c_str());
        else if (arg == "--threads") threads = std::atoi(next().c_str());
        else if (arg == "--device") device = next();
        else if (arg == "--embedding") embedding = next();
        else if (arg == "--c2st-threads") c2stThreads = std::atoi(next().c_str());
        else if (arg == "--csv") csvPath = next();
        else if (arg == "--amortized") amortized = true;
        else if (arg == "--observations") {
            observations.clear();
            for (const std::string& o : split(next(), ',')) observations.push_back(std::atoi(o.c_str()));
        } else if (arg == "--help") {
            std::puts("usage: bench_npe [--data DIR] [--simulations N] [--rounds R] [--estimator nsf|maf|mdn] "
                      "[--observations 1,2,3] [--threads T] [--device auto|cpu|cuda] [--embedding auto|none|mlp|cnn] [--c2st-threads T] [--csv FILE] [--amortized] [TASK ...]");
            return 0;
        } else if (findTask(arg)) tasks.push_back(arg);
        else {
            std::fprintf(stderr, "unknown argument or task '%s'\n", arg.c_str());
            return 2;
        }
    }
    if (tasks.empty())
        for (const TaskInfo& t : builtinTasks()) tasks.push_back(t.id);
    const std::string algorithm = rounds > 1 ? "SNPE" : "NPE";
    const std::map<std::string, double> published = publishedNpe(dataDir, simulations, algorithm);

    std::ofstream csv(csvPath);
    csv << "task,observation,simulations,rounds,estimator,device,epochs,simulate_s,train_s,sample_s,total_s,acceptance,c2st\n";
    std::printf("| task | C2ST per observation | mean C2ST | sbi %s (published) | mean total s |\n|---|---|---:|---:|---:|\n",
                algorithm.c_str());
    for (const std::string& id : tasks) {
        const TaskInfo& task = *findTask(id);
        const JointPrior prior(task.defaultPrior);
        const auto simulator = task.create();
        double sum = 0.0, seconds = 0.0;
        std::string perObservation;
        std::optional<NpeResult> trainedOnce;  // --amortized
        for (int number : observations) {
            const std::string dir = dataDir + (id == "gw_chirp" ? "/gw_chirp" : "/sbibm/" + id) + "/obs" + std::to_string(number);
            const Matrix xo = readCsv(dir + "/observation.csv").values;
            const Matrix reference = readReferenceSamples(dir + "/reference_posterior_samples.csv");
            NpeSettings settings;
            settings.estimator.kind = estimator;
            settings.simulations = simulations;
            settings.seed = std::uint64_t(number);
            settings.threads = threads;
            settings.device = device;
            settings.estimator.embedding = embedding;
            settings.isTimeSeries = task.dataKind == DataKind::TimeSeries;
            const auto start = Clock::now();
            NpeResult result;
            if (rounds > 1) {
                SnpeSettings snpe;
                snpe.npe = settings;
                snpe.rounds = rounds;
                TrainingHooks hooks;
                hooks.onEpoch = [&](const EpochReport& r) {
                    if (r.improved && r.epoch % 10 == 0)
                        std::fprintf(stderr, "  round %d epoch %d validation %.4f (%.0f s)\n", r.round, r.epoch,
                                     r.validationLoss, r.elapsedSeconds);
                    return false;
                };
                const SnpeResult sequential = runSnpe(prior, *simulator, xo, snpe, hooks);
                for (const SnpeRound& round : sequential.rounds)
                    std::fprintf(stderr, "%s obs %d round %d: %lld pairs, proposal acceptance %.3f, %d epochs, %.1f s\n",
                                 id.c_str(), number, round.round, static_cast<long long>(round.trainingPairs),
                                 round.proposalAcceptance, round.training.epochs, round.training.seconds);
                result.posterior = sequential.posterior;
                result.training = sequential.training;
                result.simulationSeconds = sequential.simulationSeconds;
                if (sequential.training.status != RunStatus::Finished) result.posterior.reset();
            } else if (amortized) {
                if (!trainedOnce) {
                    settings.seed = 1;
                    trainedOnce = runNpe(prior, *simulator, xo, settings);
                }
                result = *trainedOnce;
            } else {
                result = runNpe(prior, *simulator, xo, settings);
            }
            if (!result.posterior) {
                std::fprintf(stderr, "%s obs %d: training failed: %s\n", id.c_str(), number, result.training.stopReason.c_str());
                return 1;
            }
            SamplingReport report;
            const Matrix samples = result.posterior->sample(10000, xo, 1000 + std::uint64_t(number), &report);
            const double total = since(start);
            C2stSettings c2stSettings;
            c2stSettings.threads = c2stThreads >= 0 ? c2stThreads : threads;
            const double score = c2st(forComparison(id, reference), forComparison(id, samples), c2stSettings).accuracy;
            sum += score;
            seconds += total;
            char cell[32];
            std::snprintf(cell, sizeof cell, "%s%.3f", perObservation.empty() ? "" : " ", score);
            perObservation += cell;
            csv << id << ',' << number << ',' << simulations << ',' << rounds << ',' << estimator << ',' << result.posterior->device() << ',' << result.training.epochs << ','
                << result.simulationSeconds << ',' << result.training.seconds << ',' << report.seconds << ',' << total
                << ',' << report.acceptanceRate() << ',' << score << '\n';
            csv.flush();
            std::fprintf(stderr, "%s obs %d: C2ST %.3f, %d epochs, %.1f s total\n", id.c_str(), number, score,
                         result.training.epochs, total);
        }
        const auto pub = published.find(id);
        std::printf("| %s | %s | %.3f | %s | %.1f |\n", id.c_str(), perObservation.c_str(), sum / double(observations.size()),
                    pub == published.end() ? "–" : (std::to_string(pub->second).substr(0, 5)).c_str(),
                    seconds / double(observations.size()));
        std::fflush(stdout);
    }
    return 0;
}
