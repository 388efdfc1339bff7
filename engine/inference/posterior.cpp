#include "inference/posterior.h"
#include "simulators/iid_trials.h"

#include "core/csv.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "inference/posterior_state.h"
#include "inference/trainer.h"

namespace sbiw {

using detail::estimatorSettingsFromJson;
using detail::estimatorSettingsToJson;
using neural::toMatrix;
using neural::toTensor;

namespace {

constexpr const char* kFormatName = "sbiw-posterior";
constexpr int kFormatVersion = 1;

// The observation as the one row the estimator conditions on: an estimator trained on sets of
// i.i.d. trials (NpeSettings::trials) takes them as rows, one trial each, in any order.
Matrix asOneRow(const Matrix& observation, int dataDimension, const neural::EstimatorShape& shape) {
    if (shape.embedding == "set" && observation.rows() > 1 && observation.size() == dataDimension &&
        observation.cols() == shape.setElementFeatures) {
        if (!observation.allFinite())
            throw std::invalid_argument("the observation contains non-finite values");
        return flattenTrials(observation);
    }
    if (observation.rows() != 1 || observation.cols() != dataDimension)
        throw std::invalid_argument("the observation must be one row of " +
                                    std::to_string(dataDimension) + " values (got " +
                                    std::to_string(observation.rows()) + " x " +
                                    std::to_string(observation.cols()) + ")");
    if (!observation.allFinite())
        throw std::invalid_argument("the observation contains non-finite values");
    return observation;
}

}  // namespace

namespace detail {

namespace {

nlohmann::json priorBlockToJson(const PriorSpec& spec) {
    nlohmann::json j;
    j["family"] = spec.family;
    j["values"] = spec.values;
    j["matrix_rows"] = spec.matrixRows;
    return j;
}

PriorSpec priorBlockFromJson(const nlohmann::json& j) {
    PriorSpec spec;
    spec.family = j.at("family").get<std::string>();
    spec.values = j.at("values").get<std::map<std::string, std::vector<double>>>();
    spec.matrixRows = j.at("matrix_rows").get<std::map<std::string, int>>();
    return spec;
}

}  // namespace

nlohmann::json priorBlocksToJson(const std::vector<PriorSpec>& blocks) {
    nlohmann::json array = nlohmann::json::array();
    for (const PriorSpec& spec : blocks)
        array.push_back(priorBlockToJson(spec));
    return array;
}

std::vector<PriorSpec> priorBlocksFromJson(const nlohmann::json& json) {
    std::vector<PriorSpec> blocks;
    for (const auto& spec : json)
        blocks.push_back(priorBlockFromJson(spec));
    return blocks;
}

void writeArchiveMetadata(torch::serialize::OutputArchive& archive, const nlohmann::json& meta) {
    archive.write("sbiw_metadata", c10::IValue(meta.dump()));
}

nlohmann::json readArchiveMetadata(torch::serialize::InputArchive& archive,
                                   const std::string& format, int version) {
    c10::IValue metaValue;
    if (!archive.try_read("sbiw_metadata", metaValue) || !metaValue.isString())
        throw std::runtime_error("not an SBI Workbench posterior (no metadata)");
    nlohmann::json meta = nlohmann::json::parse(metaValue.toStringRef());
    if (meta.at("format") != format)
        throw std::runtime_error("not an SBI Workbench " + format + " archive (it says '" +
                                 meta.at("format").get<std::string>() + "')");
    if (meta.at("version").get<int>() > version)
        throw std::runtime_error("written by a newer SBI Workbench (format version " +
                                 std::to_string(meta.at("version").get<int>()) + ")");
    return meta;
}

nlohmann::json estimatorSettingsToJson(const EstimatorSettings& s) {
    return {{"kind", s.kind},
            {"hidden_features", s.hiddenFeatures},
            {"transforms", s.transforms},
            {"blocks", s.blocks},
            {"bins", s.bins},
            {"tail_bound", s.tailBound},
            {"components", s.components},
            {"embedding", s.embedding},
            {"embedding_features", s.embeddingFeatures},
            {"cnn_channels", s.cnnChannels},
            {"set_element_features", s.setElementFeatures}};
}

EstimatorSettings estimatorSettingsFromJson(const nlohmann::json& j) {
    EstimatorSettings s;
    s.kind = j.at("kind").get<std::string>();
    s.hiddenFeatures = j.at("hidden_features").get<int>();
    s.transforms = j.at("transforms").get<int>();
    s.blocks = j.at("blocks").get<int>();
    s.bins = j.at("bins").get<int>();
    s.tailBound = j.at("tail_bound").get<double>();
    s.components = j.at("components").get<int>();
    s.embedding = j.at("embedding").get<std::string>();
    s.embeddingFeatures = j.at("embedding_features").get<int>();
    s.cnnChannels = j.value("cnn_channels", 8);  // absent before 2026-11-26: the fixed 8
    s.setElementFeatures = j.at("set_element_features").get<int>();
    return s;
}

}  // namespace detail

NeuralPosterior::NeuralPosterior() = default;
NeuralPosterior::NeuralPosterior(std::shared_ptr<detail::PosteriorState> state)
    : state_(std::move(state)) {}
NeuralPosterior::~NeuralPosterior() = default;
NeuralPosterior::NeuralPosterior(const NeuralPosterior&) = default;
NeuralPosterior& NeuralPosterior::operator=(const NeuralPosterior&) = default;

int NeuralPosterior::parameterDimension() const {
    return state_->estimator->shape().parameters;
}
int NeuralPosterior::dataDimension() const {
    return state_->estimator->shape().data;
}
const EstimatorSettings& NeuralPosterior::estimatorSettings() const {
    return state_->estimator->settings();
}
const JointPrior& NeuralPosterior::prior() const {
    return state_->prior;
}
std::string NeuralPosterior::device() const {
    return state_->device.str();
}

Matrix NeuralPosterior::sample(std::int64_t count, const Matrix& observation, std::uint64_t seed,
                               SamplingReport* report) const {
    const auto start = std::chrono::steady_clock::now();
    const Matrix xo = asOneRow(observation, dataDimension(), state_->estimator->shape());
    const int d = parameterDimension();
    Matrix accepted(count, d);
    std::int64_t have = 0, proposed = 0;
    {
        std::lock_guard<std::mutex> lock(state_->mutex);
        torch::NoGradGuard noGrad;
        torch::manual_seed(seed);
        const torch::Tensor x = toTensor(xo, state_->device);
        // Rejection of draws outside the prior's support ("leakage"); give up when fewer than
        // one in 10^4 proposals lands inside after a million tries.
        while (have < count) {
            const double rate =
                proposed > 0 ? std::max(1e-4, double(have) / double(proposed)) : 1.0;
            const std::int64_t batch = std::clamp<std::int64_t>(
                std::int64_t(double(count - have) / rate * 1.1) + 16, 16, 200000);
            const Matrix draws = toMatrix(state_->estimator->sample(batch, x));
            // Only the draws looked at count: the surplus of the last batch is neither accepted
            // nor rejected (counting it made a posterior entirely inside the support report
            // 90.8% acceptance).
            Eigen::Index r = 0;
            for (; r < draws.rows() && have < count; ++r) {
                if (!draws.row(r).allFinite() || !state_->prior.inSupport(draws.row(r).data()))
                    continue;
                accepted.row(have++) = draws.row(r);
            }
            proposed += r;
            if (proposed >= 1'000'000 && double(have) < 1e-4 * double(proposed))
                throw std::runtime_error(
                    "posterior sampling: only " + std::to_string(have) + " of " +
                    std::to_string(proposed) +
                    " draws fell inside the prior's support; the estimator has not learned "
                    "this observation (is it far from the simulations?)");
        }
    }
    if (report) {
        report->proposed = proposed;
        report->accepted = have;
        report->seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    return accepted;
}

Vector NeuralPosterior::logProb(const Matrix& theta, const Matrix& observation) const {
    const Matrix xo = asOneRow(observation, dataDimension(), state_->estimator->shape());
    if (theta.cols() != parameterDimension())
        throw std::invalid_argument("theta must have " + std::to_string(parameterDimension()) +
                                    " columns");
    std::lock_guard<std::mutex> lock(state_->mutex);
    torch::NoGradGuard noGrad;
    const torch::Tensor x = toTensor(xo, state_->device).expand({theta.rows(), xo.cols()});
    const Matrix values =
        toMatrix(state_->estimator->logProb(toTensor(theta, state_->device), x).unsqueeze(1));
    Vector result(theta.rows());
    for (Eigen::Index r = 0; r < theta.rows(); ++r)
        result(r) = state_->prior.inSupport(theta.row(r).data()) ? values(r, 0) : -INFINITY;
    return result;
}

namespace {

void writeArchive(const detail::PosteriorState& state, torch::serialize::OutputArchive& archive) {
    nlohmann::json meta;
    meta["format"] = kFormatName;
    meta["version"] = kFormatVersion;
    meta["estimator"] = estimatorSettingsToJson(state.estimator->settings());
    const neural::EstimatorShape& shape = state.estimator->shape();
    meta["shape"] = {{"parameters", shape.parameters},
                     {"data", shape.data},
                     {"embedding", shape.embedding},
                     {"set_element_features", shape.setElementFeatures}};
    meta["seed"] = state.seed;
    meta["prior"] = detail::priorBlocksToJson(state.priorBlocks);
    detail::writeArchiveMetadata(archive, meta);
    state.estimator->save(archive);
}

NeuralPosterior readArchive(torch::serialize::InputArchive& archive, const std::string& device) {
    const nlohmann::json meta = detail::readArchiveMetadata(archive, kFormatName, kFormatVersion);
    auto state = std::make_shared<detail::PosteriorState>();
    state->priorBlocks = detail::priorBlocksFromJson(meta.at("prior"));
    state->prior = JointPrior(state->priorBlocks);
    state->seed = meta.at("seed").get<std::uint64_t>();
    neural::EstimatorShape shape;
    shape.parameters = meta.at("shape").at("parameters").get<int>();
    shape.data = meta.at("shape").at("data").get<int>();
    shape.embedding = meta.at("shape").at("embedding").get<std::string>();
    shape.setElementFeatures = meta.at("shape").at("set_element_features").get<int>();
    const EstimatorSettings settings = estimatorSettingsFromJson(meta.at("estimator"));
    state->estimator = std::make_shared<neural::ConditionalEstimatorImpl>(
        settings, shape, torch::zeros({shape.parameters}), torch::ones({shape.parameters}),
        torch::zeros({shape.data}), torch::ones({shape.data}), state->seed);
    state->estimator->load(archive);
    state->device = torch::Device(resolveDevice(device));
    state->estimator->to(state->device);
    state->estimator->eval();
    return NeuralPosterior(state);
}

}  // namespace

const char* NeuralPosterior::formatName() {
    return kFormatName;
}

void NeuralPosterior::save(const std::string& path) const {
    try {
        torch::serialize::OutputArchive archive;
        writeArchive(*state_, archive);
        if (isSpecialFile(path)) {  // e.g. /dev/null: write in place, never rename onto it
            archive.save_to(path);
            return;
        }
        const std::string temporary = path + ".part";
        archive.save_to(temporary);
        if (std::rename(temporary.c_str(), path.c_str()) != 0) {
            std::remove(temporary.c_str());
            throw std::runtime_error("cannot rename the temporary file");
        }
    } catch (const std::exception& error) {
        throw std::runtime_error("cannot save the posterior to " + path + ": " + error.what());
    }
}

std::string NeuralPosterior::toBytes() const {
    torch::serialize::OutputArchive archive;
    writeArchive(*state_, archive);
    std::ostringstream stream;
    archive.save_to(stream);
    return stream.str();
}

NeuralPosterior NeuralPosterior::load(const std::string& path, const std::string& device) {
    try {
        torch::serialize::InputArchive archive;
        archive.load_from(path);
        return readArchive(archive, device);
    } catch (const std::exception& error) {
        throw std::runtime_error("cannot load a posterior from " + path + ": " + error.what());
    }
}

NeuralPosterior NeuralPosterior::fromBytes(const std::string& bytes, const std::string& source,
                                           const std::string& device) {
    try {
        torch::serialize::InputArchive archive;
        std::istringstream stream(bytes);
        archive.load_from(stream);
        return readArchive(archive, device);
    } catch (const std::exception& error) {
        throw std::runtime_error("cannot load the posterior of " + source + ": " + error.what());
    }
}

PosteriorAccess posteriorAccess(const NeuralPosterior& posterior) {
    PosteriorAccess access;
    access.sample = [posterior](const Matrix& observation, std::int64_t count, std::uint64_t seed) {
        return posterior.sample(count, observation, seed);
    };
    access.logProb = [posterior](const Matrix& theta, const Matrix& observation) {
        return posterior.logProb(theta, observation);
    };
    return access;
}

}  // namespace sbiw
