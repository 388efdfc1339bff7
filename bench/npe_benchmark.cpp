// Accuracy and speed of every method on the sbibm tasks (and gw_chirp) against the reference
// posteriors: for each task and observation, run the method with N simulations (seed = the
// observation's number, as sbibm does), draw 10,000 samples, and score them with C2ST against the
// 10,000 reference samples. Prints a Markdown table with the published mean C2ST of sbi's same
// method at the same budget beside ours, and writes every run to CSV.
//
//   bench_npe [--method M] [--data DIR] [--simulations N] [--rounds R] [--estimator nsf|maf|mdn|auto]
//             [--observations 1,2,3,4,5] [--threads T] [--device auto|cpu|cuda]
//             [--embedding auto|none|mlp|cnn] [--embedding-features F] [--cnn-channels C]
//             [--c2st-threads T] [--csv FILE] [--amortized] [--seed-offset K] [--patience P] [--batch-size B]
//             [--transform] [--raw-data] [--classes K] [--gamma G] [--samples-dir D] [TASK ...]
//
// M: npe (default), snpe, nle, snle, nre (NRE-A), snre, nre-b, snre-b, nre-c, snre-c, rej-abc, smc-abc. The
// sequential methods run R rounds (default 10, as sbibm); --rounds R >= 2 with npe means snpe.
// Likelihood and ratio methods sample by slice MCMC with sbibm's settings (100 chains, warm-up
// 100, thinning 10); nle defaults to NSF (sbibm ran MAF: pass --estimator maf; auto trains both
// and keeps the lower validation loss, the CSV says which, e.g. auto:maf), npe and snpe to NSF.
//
// DIR defaults to ../shared/data beside the source tree (sbibm/ and gw_chirp/ below it).
// --seed-offset K seeds each run with observation + K (default 0, as sbibm), to measure the spread
// of a method over seeds.
// --patience P and --batch-size B override the training settings (defaults 20 and 200, as sbi's
// NPE), for experiments. --transform makes the likelihood and ratio methods train and sample in the
// prior's unconstrained space, as sbibm does (the CSV's estimator gets "+transform"); --raw-data makes
// NLE and NRE read positive data columns as they are rather than on the log scale (CSV: "+rawx").
// --classes K and --gamma G set NRE-C's atoms per class and the odds of its joint classes (defaults
// those of NreSettings; the CSV's estimator gets "+K<K>" and "+g<G>" when given).
// --samples-dir D writes each run's 10,000 posterior samples to D/TASK-METHOD-obsK.csv, to look at
// where a posterior differs from the reference.
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

#include "core/blas_kernels.h"
#include "core/csv.h"
#include "diagnostics/c2st.h"
#include "abc/abc.h"
#include "inference/nle.h"
#include "inference/npe.h"
#include "inference/nre.h"
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

// sbibm's name of a method (sbibm ran SNRE_B, a contrastive loss, for NRE and SNRE).
std::string publishedName(const std::string& method) {
    static const std::map<std::string, std::string> names = {
        {"npe", "NPE"},     {"snpe", "SNPE"},  {"nle", "NLE"},      {"snle", "SNLE"},       {"nre", "NRE"},
        {"snre", "SNRE"},   {"nre-b", "NRE"},  {"snre-b", "SNRE"},  {"nre-c", "NRE"},  {"snre-c", "SNRE"},  {"rej-abc", "REJ-ABC"}, {"smc-abc", "SMC-ABC"}};
    const auto found = names.find(method);
    return found == names.end() ? std::string() : found->second;
}

// What estimated the posterior, for the CSV.
std::string estimatorLabel(const std::string& method, const std::string& estimator, bool estimatorGiven) {
    if (method.find("abc") != std::string::npos) return "-";
    if (method.find("nre") != std::string::npos) return "resnet";
    if (method.find("nle") != std::string::npos && !estimatorGiven) return NleSettings().estimator.kind;
    return estimator;
}

// One observation's run of a method that samples by MCMC or ABC (no amortised posterior).
struct SampledRun {
    Matrix samples;
    int epochs = 0;
    double simulationSeconds = 0.0, trainingSeconds = 0.0, samplingSeconds = 0.0;
    std::string failure;         // empty when it finished
    std::string chosenEstimator;  // nle/snle with --estimator auto: the flow it kept
};

// --transform: NLE/NRE train and sample in the prior's unconstrained space (sbibm's automatic transforms).
bool transformParameters = false;
// --raw-data: NLE and NRE read positive data columns as they are, not on the log scale (the default).
bool logPositiveColumns = LikelihoodRunSettings().logPositiveColumns;
// --classes, --gamma: NRE-C's K and γ.
int nreClasses = NreSettings().classes;
double nreGamma = NreSettings().gamma;

// "+K10", "+g0.5" for NRE runs whose K or γ differ from the defaults.
std::string nreLabel(const std::string& method) {
    if (method.find("nre") == std::string::npos) return "";
    std::string label;
    if (nreClasses != NreSettings().classes) label += "+K" + std::to_string(nreClasses);
    if (nreGamma != NreSettings().gamma) {
        char text[32];
        std::snprintf(text, sizeof text, "+g%g", nreGamma);
        label += text;
    }
    return label;
}

SampledRun runSampledMethod(const std::string& method, const JointPrior& prior, const Simulator& simulator,
                            const Matrix& xo, const NpeSettings& common, int rounds, bool estimatorGiven) {
    SampledRun run;
    const bool sequential = method[0] == 's' && method != "smc-abc";
    if (method == "rej-abc" || method == "smc-abc") {
        const auto budget = [&common](auto settings) {
            settings.simulations = common.simulations;
            settings.seed = common.seed;
            settings.threads = common.threads;
            settings.posteriorSamples = 10000;
            return settings;
        };
        const AbcResult result = method == "rej-abc"
                                     ? rejectionAbc(prior, simulator, xo, budget(RejectionAbcSettings{}))
                                     : smcAbc(prior, simulator, xo, budget(SmcAbcSettings{}));
        for (std::size_t i = 0; i < result.populations.size(); ++i)
            std::fprintf(stderr, "  %s\n", describe(int(i) + 1, result.populations[i]).c_str());
        run.samples = result.samples;
        run.simulationSeconds = result.elapsedSeconds;
        return run;
    }
    TrainingHooks hooks;
    hooks.onEpoch = [&](const EpochReport& r) {
        if (r.improved && r.epoch % 20 == 0)
            std::fprintf(stderr, "  round %d epoch %d validation %.4f (%.0f s)\n", r.round, r.epoch, r.validationLoss,
                         r.elapsedSeconds);
        return false;
    };
    NleResult result;
    McmcSettings mcmc;  // sbibm: slice, 100 chains, warm-up 100, thinning 10, resampling init
    mcmc.samples = 10000;
    mcmc.seed = common.seed;
    // Budget, rounds, seed, device, MCMC and training of either method's settings.
    LikelihoodRunSettings likelihoodRun;
    likelihoodRun.simulations = common.simulations;
    likelihoodRun.rounds = sequential ? rounds : 1;
    likelihoodRun.seed = common.seed;
    likelihoodRun.threads = common.threads;
    likelihoodRun.device = common.device;
    likelihoodRun.mcmc = mcmc;
    likelihoodRun.transformParameters = transformParameters;
    likelihoodRun.logPositiveColumns = logPositiveColumns;
    likelihoodRun.training.patience = common.training.patience;
    likelihoodRun.training.batchSize = common.training.batchSize;
    if (method == "nle" || method == "snle") {
        NleSettings settings;
        static_cast<LikelihoodRunSettings&>(settings) = likelihoodRun;
        if (estimatorGiven) settings.estimator.kind = common.estimator.kind;
        result = runNle(prior, simulator, xo, settings, hooks);
        if (const std::string modelling = describeDataModelling(result); !modelling.empty())
            std::fprintf(stderr, "  %s\n", modelling.c_str());
        if (!result.estimatorTrials.empty()) {
            std::fprintf(stderr, "  %s\n", describeEstimatorChoice(result).c_str());
            run.chosenEstimator = result.estimator;
        }
    } else {
        NreSettings settings;
        static_cast<LikelihoodRunSettings&>(settings) = likelihoodRun;
        settings.loss = nreLossOfMethod(method);
        settings.classes = nreClasses;
        settings.gamma = nreGamma;
        result = runNre(prior, simulator, xo, settings, hooks);
    }
    for (const LikelihoodRound& round : result.rounds)
        std::fprintf(stderr, "  round %d: %lld pairs, %d epochs (%.1f s), proposals %.1f s\n", round.round,
                     static_cast<long long>(round.trainingPairs), round.training.epochs, round.training.seconds,
                     round.proposalSeconds);
    if (result.training.status != RunStatus::Finished || !result.trained) {
        run.failure = result.training.stopReason.empty() ? "no epoch completed" : result.training.stopReason;
        return run;
    }
    std::fprintf(stderr, "  MCMC: %.1f s, max split R-hat %.3f\n", result.posterior.elapsedSeconds,
                 result.posterior.rhat.size() ? result.posterior.rhat.maxCoeff() : std::nan(""));
    run.samples = result.posterior.samples;
    run.epochs = result.training.epochs;
    run.simulationSeconds = result.simulationSeconds;
    run.trainingSeconds = result.training.seconds;
    run.samplingSeconds = result.posterior.elapsedSeconds;
    return run;
}

}  // namespace

int main(int argc, char** argv) {
    sbiw::restartWithFastBlasKernelsIfNeeded(argv);  // before anything else: see blas_kernels.h
    std::string dataDir = SBIW_SOURCE_DIR "/../shared/data";
    std::int64_t simulations = 10000;
    std::string estimator = "nsf";
    bool estimatorGiven = false;
    std::string method = "npe";
    std::vector<int> observations = {1, 2, 3, 4, 5};
    int threads = 0;
    int rounds = 0;  // 0: 10 for the sequential methods
    int c2stThreads = -1;  // -1: as --threads
    std::string device = "auto";
    std::string embedding = "auto";
    int embeddingFeatures = 32, cnnChannels = 8;
    std::string csvPath = "npe_benchmark.csv";
    std::string samplesDir;  // --samples-dir: where each run's posterior samples go (none if empty)
    // NPE is amortised: --amortized trains once (seed 1) and samples that posterior at every
    // observation, instead of sbibm's one training run per observation (seed = observation).
    bool amortized = false;
    int patience = TrainingSettings().patience;  // --patience: epochs without improvement before stopping
    int batchSize = TrainingSettings().batchSize;  // --batch-size: training rows per step
    std::uint64_t seedOffset = 0;  // --seed-offset: runs seeded observation + offset, to see the spread over seeds
    std::vector<std::string> tasks;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (arg == "--data") dataDir = next();
        else if (arg == "--simulations") simulations = std::atoll(next().c_str());
        else if (arg == "--estimator") {
            estimator = next();
            estimatorGiven = true;
        } else if (arg == "--method") method = next();
        else if (arg == "--rounds") rounds = std::atoi(next().c_str());
        else if (arg == "--threads") threads = std::atoi(next().c_str());
        else if (arg == "--device") device = next();
        else if (arg == "--embedding") embedding = next();
        else if (arg == "--embedding-features") embeddingFeatures = std::atoi(next().c_str());
        else if (arg == "--cnn-channels") cnnChannels = std::atoi(next().c_str());
        else if (arg == "--c2st-threads") c2stThreads = std::atoi(next().c_str());
        else if (arg == "--csv") csvPath = next();
        else if (arg == "--samples-dir") samplesDir = next();
        else if (arg == "--amortized") amortized = true;
        else if (arg == "--transform") transformParameters = true;
        else if (arg == "--raw-data") logPositiveColumns = false;
        else if (arg == "--classes") nreClasses = std::atoi(next().c_str());
        else if (arg == "--gamma") nreGamma = std::atof(next().c_str());
        else if (arg == "--patience") patience = std::atoi(next().c_str());
        else if (arg == "--batch-size") batchSize = std::atoi(next().c_str());
        else if (arg == "--seed-offset") seedOffset = std::strtoull(next().c_str(), nullptr, 10);
        else if (arg == "--observations") {
            observations.clear();
            for (const std::string& o : split(next(), ',')) observations.push_back(std::atoi(o.c_str()));
        } else if (arg == "--help") {
            std::puts("usage: bench_npe [--method npe|snpe|nle|snle|nre|snre|nre-b|snre-b|nre-c|snre-c|rej-abc|smc-abc] [--data DIR] [--simulations N] [--rounds R] [--estimator nsf|maf|mdn|auto] "
                      "[--observations 1,2,3] [--threads T] [--device auto|cpu|cuda] [--embedding auto|none|mlp|cnn] [--embedding-features F] [--cnn-channels C] [--c2st-threads T] [--csv FILE] [--amortized] [--seed-offset K] [--patience P] [--batch-size B] [--transform] [--raw-data] [--classes K] [--gamma G] [--samples-dir D] [TASK ...]");
            return 0;
        } else if (findTask(arg)) tasks.push_back(arg);
        else {
            std::fprintf(stderr, "unknown argument or task '%s'\n", arg.c_str());
            return 2;
        }
    }
    if (tasks.empty())
        for (const TaskInfo& t : builtinTasks()) tasks.push_back(t.id);
    if (method == "npe" && rounds > 1) method = "snpe";
    const std::string algorithm = publishedName(method);
    if (algorithm.empty()) {
        std::fprintf(stderr, "unknown method '%s'\n", method.c_str());
        return 2;
    }
    const bool sequentialMethod = method[0] == 's' && method != "smc-abc";
    if (rounds <= 0) rounds = sequentialMethod ? 10 : 1;
    const std::map<std::string, double> published = publishedNpe(dataDir, simulations, algorithm);

    std::ofstream csv(csvPath);
    csv << "task,method,observation,simulations,rounds,estimator,device,epochs,simulate_s,train_s,sample_s,total_s,"
           "acceptance,c2st\n";
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
            settings.seed = std::uint64_t(number) + seedOffset;
            settings.threads = threads;
            settings.device = device;
            settings.training.patience = patience;
            settings.training.batchSize = batchSize;
            settings.estimator.embedding = embedding;
            settings.estimator.embeddingFeatures = embeddingFeatures;
            settings.estimator.cnnChannels = cnnChannels;
            settings.isTimeSeries = task.dataKind == DataKind::TimeSeries;
            const auto start = Clock::now();
            SampledRun run;
            double acceptance = 1.0;
            std::string usedDevice = method.find("abc") != std::string::npos ? "cpu" : resolveDevice(device);
            if (method != "npe" && method != "snpe") {
                run = runSampledMethod(method, prior, *simulator, xo, settings, rounds, estimatorGiven);
            } else {
                NpeResult result;
                if (method == "snpe") {
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
                if (result.posterior) {
                    SamplingReport report;
                    run.samples = result.posterior->sample(10000, xo, 1000 + std::uint64_t(number), &report);
                    run.samplingSeconds = report.seconds;
                    acceptance = report.acceptanceRate();
                    usedDevice = result.posterior->device();
                } else {
                    run.failure = result.training.stopReason.empty() ? "no epoch completed" : result.training.stopReason;
                }
                run.epochs = result.training.epochs;
                run.simulationSeconds = result.simulationSeconds;
                run.trainingSeconds = result.training.seconds;
            }
            if (!run.failure.empty()) {
                std::fprintf(stderr, "%s obs %d: %s failed: %s\n", id.c_str(), number, method.c_str(), run.failure.c_str());
                return 1;
            }
            const double total = since(start);
            if (!samplesDir.empty()) {
                std::vector<std::string> header;
                for (Eigen::Index j = 0; j < run.samples.cols(); ++j) header.push_back("parameter_" + std::to_string(j + 1));
                writeCsv(samplesDir + "/" + id + "-" + method + "-obs" + std::to_string(number) + ".csv", header,
                         run.samples);
            }
            C2stSettings c2stSettings;
            c2stSettings.threads = c2stThreads >= 0 ? c2stThreads : threads;
            const double score = c2st(forComparison(id, reference), forComparison(id, run.samples), c2stSettings).accuracy;
            sum += score;
            seconds += total;
            char cell[32];
            std::snprintf(cell, sizeof cell, "%s%.3f", perObservation.empty() ? "" : " ", score);
            perObservation += cell;
            csv << id << ',' << method << ',' << number << ',' << simulations << ',' << rounds << ','
                << estimatorLabel(method, estimator, estimatorGiven)
                << (run.chosenEstimator.empty() ? "" : ":" + run.chosenEstimator)
                << (transformParameters ? "+transform" : "") << (logPositiveColumns ? "" : "+rawx") << nreLabel(method) << ','
                << usedDevice << ',' << run.epochs
                << ',' << run.simulationSeconds << ',' << run.trainingSeconds << ',' << run.samplingSeconds << ','
                << total << ',' << acceptance << ',' << score << '\n';
            csv.flush();
            std::fprintf(stderr, "%s %s obs %d: C2ST %.3f, %d epochs, %.1f s total\n", id.c_str(), method.c_str(), number,
                         score, run.epochs, total);
        }
        const auto pub = published.find(id);
        std::printf("| %s | %s | %.3f | %s | %.1f |\n", id.c_str(), perObservation.c_str(), sum / double(observations.size()),
                    pub == published.end() ? "–" : (std::to_string(pub->second).substr(0, 5)).c_str(),
                    seconds / double(observations.size()));
        std::fflush(stdout);
    }
    return 0;
}
