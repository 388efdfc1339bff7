#include "inference/nle.h"

#include <cctype>
#include <iomanip>
#include <memory>
#include <sstream>

#include "core/random.h"
#include "inference/conditional_estimator.h"
#include "inference/likelihood_posterior.h"
#include "inference/posterior_state.h"

namespace sbiw {

namespace {

// u ~ U[0, 1) of a training batch, from its own stream: reproducible whatever the threads.
torch::Tensor cellOffsets(std::int64_t rows, std::int64_t columns, std::uint64_t seed,
                          std::uint64_t batch) {
    torch::Tensor u = torch::empty({rows, columns}, torch::kDouble);
    double* out = u.data_ptr<double>();
    RandomStream rng(seed, StreamPurpose::Training, batch);
    for (std::int64_t i = 0; i < rows * columns; ++i)
        out[i] = rng.uniform();
    return u;
}

// The z-scoring of x and θ a network is built with (replaced by the stored values on load).
struct Standardization {
    torch::Tensor xMean, xStd, thetaMean, thetaStd;
};

// NLE's network: a flow over x given θ, whose `discrete` columns (1.0, else 0.0) are modelled
// dequantised. `network` in the result says how to build it again (rebuildLikelihoodNetwork).
neural::LikelihoodModel likelihoodNetwork(EstimatorSettings estimatorSettings, int parameters,
                                          int data, const Standardization& z,
                                          const torch::Tensor& discrete,
                                          const torch::Tensor& logColumns, std::uint64_t seed,
                                          const torch::Device& device) {
    // Roles swapped against NPE: the density is over x, the condition is θ.
    neural::EstimatorShape shape;
    shape.parameters = data;
    shape.data = parameters;
    shape.embedding = "none";
    estimatorSettings.embedding = "none";
    auto estimator = std::make_shared<neural::ConditionalEstimatorImpl>(
        estimatorSettings, shape, z.xMean, z.xStd, z.thetaMean, z.thetaStd, seed);
    neural::LikelihoodModel model;
    model.module = estimator;
    const torch::Tensor discreteCpu = discrete.to(torch::kCPU, torch::kDouble);
    const torch::Tensor logCpu = logColumns.to(torch::kCPU, torch::kDouble);
    model.network = {
        {"kind", "likelihood"},
        {"estimator", detail::estimatorSettingsToJson(estimatorSettings)},
        {"parameters", parameters},
        {"data", data},
        {"seed", seed},
        {"dequantized_columns",
         std::vector<double>(discreteCpu.data_ptr<double>(),
                             discreteCpu.data_ptr<double>() + discreteCpu.numel())},
        {"log_columns", std::vector<double>(logCpu.data_ptr<double>(),
                                            logCpu.data_ptr<double>() + logCpu.numel())}};
    const bool anyDiscrete = discreteCpu.sum().item<double>() > 0;
    const bool anyLog = logCpu.sum().item<double>() > 0;
    const torch::Tensor logMask = logColumns.to(device) > 0.5;
    // log q(x | θ) from the flow over y = (x with log x in the log columns): log q_y(y | θ)
    // - Σ log x over those columns.
    const auto logLikelihood = [estimator, anyLog, logMask](const torch::Tensor& xRows,
                                                            const torch::Tensor& thetaRows) {
        if (!anyLog)
            return estimator->logProb(xRows, thetaRows);
        const torch::Tensor y = neural::logScaled(xRows, logMask);
        return estimator->logProb(y, thetaRows) -
               torch::where(logMask, y, torch::zeros_like(y)).sum(1);
    };
    const torch::Tensor mask = discrete.to(device, z.xMean.scalar_type());
    const torch::Tensor cellCentre = 0.5 * mask;
    // Training batches draw fresh offsets; validation reads cell centres, as sampling does,
    // so that validation losses compare across epochs.
    auto batches = std::make_shared<std::uint64_t>(0);
    const std::uint64_t offsetSeed = seed ^ 0xDE0A4711ULL;
    model.loss = [estimator, logLikelihood, anyDiscrete, cellCentre, mask, batches, offsetSeed](
                     const torch::Tensor& thetaRows, const torch::Tensor& xRows,
                     const torch::Tensor&) {
        if (!anyDiscrete)
            return -logLikelihood(xRows, thetaRows).mean();
        const torch::Tensor shift =
            estimator->is_training()
                ? cellOffsets(xRows.size(0), xRows.size(1), offsetSeed, (*batches)++)
                          .to(xRows.options()) *
                      mask
                : cellCentre;
        return -logLikelihood(xRows + shift, thetaRows).mean();
    };
    model.term = [logLikelihood, anyDiscrete, cellCentre](const torch::Tensor& thetaRows,
                                                          const torch::Tensor& xRows) {
        return logLikelihood(anyDiscrete ? xRows + cellCentre : xRows, thetaRows);
    };
    return model;
}

}  // namespace

Problems LikelihoodRunSettings::validateRun() const {
    Problems problems;
    appendProblems(problems, training.validate(), "training");
    appendProblems(problems, mcmc.validate(), "mcmc");
    if (rounds < 1)
        problems.push_back({"rounds", "must be at least 1"});
    if (simulations < 2 * std::int64_t(rounds < 1 ? 1 : rounds))
        problems.push_back({"simulations", "must be at least 2 per round"});
    if (threads < 0)
        problems.push_back({"threads", "must be 0 (all cores) or positive"});
    if (device != "auto" && device != "cpu" && device != "cuda")
        problems.push_back({"device", "'" + device + "' is not one of: auto, cpu, cuda"});
    return problems;
}

Problems NleSettings::validate() const {
    Problems problems;
    // "auto" tries maf and nsf with the other estimator settings: check those as nsf's.
    EstimatorSettings checked = estimator;
    if (checked.kind == "auto") {
        checked.kind = "nsf";
    } else if (checked.kind != "maf" && checked.kind != "nsf" && checked.kind != "mdn") {
        problems.push_back(
            {"estimator.kind", "'" + checked.kind + "' is not one of: auto, maf, nsf, mdn"});
        checked.kind = "nsf";
    }
    appendProblems(problems, checked.validate(), "estimator");
    const Problems run = validateRun();
    problems.insert(problems.end(), run.begin(), run.end());
    if (estimator.kind != "mdn" && estimator.embedding != "none" && estimator.embedding != "auto")
        problems.push_back(
            {"estimator.embedding", "a likelihood estimator conditions on θ and embeds nothing"});
    return problems;
}

std::string describeEstimatorChoice(const NleResult& result) {
    if (result.estimatorTrials.empty())
        return {};
    const auto upper = [](std::string text) {
        for (char& c : text)
            c = char(std::toupper(static_cast<unsigned char>(c)));
        return text;
    };
    std::ostringstream line;
    line << "estimator auto: ";
    for (std::size_t i = 0; i < result.estimatorTrials.size(); ++i) {
        const EstimatorTrial& trial = result.estimatorTrials[i];
        line << (i ? ", " : "") << upper(trial.kind) << (i ? " " : " best validation loss ");
        if (trial.training.bestEpoch > 0)
            line << std::setprecision(4) << std::fixed << trial.training.bestValidationLoss;
        else
            line << "none (no epoch improved)";
        line << std::setprecision(1) << " (" << trial.training.epochs << " epochs, "
             << trial.training.seconds << " s)";
    }
    line << "; kept " << upper(result.estimator);
    return line.str();
}

namespace {

// "1-3, 5" from 0-based columns.
std::string columnRanges(const std::vector<int>& columns) {
    std::ostringstream text;
    for (std::size_t i = 0; i < columns.size();) {
        std::size_t j = i;
        while (j + 1 < columns.size() && columns[j + 1] == columns[j] + 1)
            ++j;
        text << (i ? ", " : "") << columns[i] + 1;
        if (j > i)
            text << "-" << columns[j] + 1;
        i = j + 1;
    }
    return text.str();
}

}  // namespace

std::string describeDataModelling(const NleResult& result) {
    std::vector<std::string> parts;
    if (!result.logColumns.empty())
        parts.push_back("data columns modelled on the log scale (positive in every simulation): " +
                        columnRanges(result.logColumns));
    if (!result.dequantizedColumns.empty())
        parts.push_back(std::string(parts.empty() ? "data columns " : "") +
                        "dequantised (whole numbers): " + columnRanges(result.dequantizedColumns));
    std::string line;
    for (const std::string& part : parts)
        line += (line.empty() ? "" : "; ") + part;
    return line;
}

NleResult runNle(const JointPrior& prior, const Simulator& simulator, const Matrix& observation,
                 const NleSettings& settings, const TrainingHooks& hooks) {
    throwIfProblems(settings.validate());
    // Every candidate is built from the same round-1 pairs, so sees the same columns.
    std::vector<int> dequantizedColumns, logColumnList;
    const auto modelOfKind = [&](const std::string& kind) {
        return [&, kind](const torch::Tensor& theta, const torch::Tensor& x,
                         const torch::Device& device) {
            const torch::Tensor xCpu = x.to(torch::kCPU, torch::kDouble);
            const torch::Tensor discrete = settings.dequantizeWholeNumbers
                                               ? neural::wholeNumberColumns(xCpu)
                                               : torch::zeros({x.size(1)}, torch::kDouble);
            const torch::Tensor logColumns = settings.logPositiveColumns
                                                 ? neural::positiveColumns(xCpu, discrete)
                                                 : torch::zeros({x.size(1)}, torch::kDouble);
            dequantizedColumns = neural::columnsOf(discrete);
            logColumnList = neural::columnsOf(logColumns);
            // Standardise x as the flow sees it: log x in the log columns, the dequantised
            // columns' cell centres plus the offsets' variance 1/12.
            const torch::Tensor xModelled = neural::logScaled(xCpu, logColumns);
            auto [xMeanCentred, xStdRaw] =
                neural::columnStandardization(xModelled + 0.5 * discrete);
            const torch::Tensor xStd =
                torch::where(discrete > 0, (xStdRaw.square() + 1.0 / 12.0).sqrt(), xStdRaw);
            const auto [thetaMean, thetaStd] = neural::columnStandardization(theta.to(torch::kCPU));
            EstimatorSettings estimatorSettings = settings.estimator;
            estimatorSettings.kind = kind;
            return likelihoodNetwork(
                estimatorSettings, int(theta.size(1)), int(x.size(1)),
                {xMeanCentred.to(x.dtype()), xStd.to(x.dtype()), thetaMean, thetaStd}, discrete,
                logColumns, settings.seed, device);
        };
    };
    std::vector<neural::LikelihoodCandidate> candidates;
    // NSF first: it is the default, and a tie keeps the first candidate.
    const std::vector<std::string> kinds = settings.estimator.kind == "auto"
                                               ? std::vector<std::string>{"nsf", "maf"}
                                               : std::vector<std::string>{settings.estimator.kind};
    for (const std::string& kind : kinds)
        candidates.push_back({kind, modelOfKind(kind)});
    NleResult result =
        neural::runLikelihoodRounds(prior, simulator, observation, settings, candidates, hooks);
    result.dequantizedColumns = dequantizedColumns;
    result.logColumns = logColumnList;
    return result;
}

neural::LikelihoodModel neural::rebuildLikelihoodNetwork(const nlohmann::json& network,
                                                         const torch::Device& device) {
    const int parameters = network.at("parameters").get<int>();
    const int data = network.at("data").get<int>();
    const std::vector<double> discrete =
        network.at("dequantized_columns").get<std::vector<double>>();
    // Networks stored before log columns existed modelled every column as it is.
    const std::vector<double> logColumns =
        network.contains("log_columns") ? network.at("log_columns").get<std::vector<double>>()
                                        : std::vector<double>(std::size_t(data), 0.0);
    if (parameters < 1 || data < 1 || int(discrete.size()) != data ||
        int(logColumns.size()) != data)
        throw std::runtime_error("the likelihood network's dimensions do not agree");
    const torch::Tensor discreteTensor =
        torch::tensor(discrete, torch::TensorOptions().dtype(torch::kDouble));
    const auto dtype = torch::TensorOptions().dtype(torch::kFloat);
    const Standardization placeholder{torch::zeros({data}, dtype), torch::ones({data}, dtype),
                                      torch::zeros({parameters}, dtype),
                                      torch::ones({parameters}, dtype)};
    return likelihoodNetwork(
        detail::estimatorSettingsFromJson(network.at("estimator")), parameters, data, placeholder,
        discreteTensor, torch::tensor(logColumns, torch::TensorOptions().dtype(torch::kDouble)),
        network.at("seed").get<std::uint64_t>(), device);
}

}  // namespace sbiw
