#include "qt/project_file.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QSaveFile>

#include <cmath>
#include <limits>

namespace sbiw {

namespace {

// ---------------------------------------------------------------------------------------------
// Reading: collects every problem with its JSON path instead of stopping at the first one.

class JsonReader {
public:
    Problems problems;

    void fail(const std::string& path, const std::string& message) { problems.push_back({path, message}); }

    bool isObject(const QJsonValue& value, const std::string& path) {
        if (value.isObject()) return true;
        fail(path, "must be an object ({...})");
        return false;
    }

    // Reports keys of `object` that are not in `known`.
    void rejectUnknownKeys(const QJsonObject& object, const std::string& path,
                           std::initializer_list<const char*> known) {
        for (auto it = object.begin(); it != object.end(); ++it) {
            bool found = false;
            for (const char* k : known) found = found || it.key() == QLatin1String(k);
            if (!found) {
                std::string list;
                for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
                fail(joinPath(path, it.key().toStdString()), "unknown key (known here: " + list + ")");
            }
        }
    }

    std::string string(const QJsonObject& object, const char* key, const std::string& path,
                       bool required, const std::string& fallback = {}) {
        const QJsonValue value = object.value(QLatin1String(key));
        if (value.isUndefined()) {
            if (required) fail(joinPath(path, key), "missing");
            return fallback;
        }
        if (!value.isString()) {
            fail(joinPath(path, key), "must be a string");
            return fallback;
        }
        return value.toString().toStdString();
    }

    double number(const QJsonObject& object, const char* key, const std::string& path, double fallback) {
        const QJsonValue value = object.value(QLatin1String(key));
        if (value.isUndefined()) return fallback;
        if (!value.isDouble()) {
            fail(joinPath(path, key), "must be a number");
            return fallback;
        }
        return value.toDouble();
    }

    // Whole numbers in [minimum, 2^53] (JSON numbers are doubles).
    std::int64_t integer(const QJsonObject& object, const char* key, const std::string& path,
                         std::int64_t fallback, bool required = false) {
        const QJsonValue value = object.value(QLatin1String(key));
        if (value.isUndefined()) {
            if (required) fail(joinPath(path, key), "missing");
            return fallback;
        }
        const double d = value.toDouble(std::nan(""));
        if (!value.isDouble() || d != std::floor(d) || std::abs(d) > 9007199254740992.0) {
            fail(joinPath(path, key), "must be a whole number");
            return fallback;
        }
        return static_cast<std::int64_t>(d);
    }

    int smallInteger(const QJsonObject& object, const char* key, const std::string& path, int fallback) {
        const std::int64_t v = integer(object, key, path, fallback);
        if (v > std::numeric_limits<int>::max() || v < std::numeric_limits<int>::min()) {
            fail(joinPath(path, key), "is too large");
            return fallback;
        }
        return int(v);
    }

    bool boolean(const QJsonObject& object, const char* key, const std::string& path, bool fallback) {
        const QJsonValue value = object.value(QLatin1String(key));
        if (value.isUndefined()) return fallback;
        if (!value.isBool()) {
            fail(joinPath(path, key), "must be true or false");
            return fallback;
        }
        return value.toBool();
    }

    bool numberArray(const QJsonValue& value, const std::string& path, std::vector<double>& out) {
        if (!value.isArray()) {
            fail(path, "must be an array of numbers");
            return false;
        }
        const QJsonArray array = value.toArray();
        out.clear();
        for (int i = 0; i < array.size(); ++i) {
            if (!array[i].isDouble()) {
                fail(path + "[" + std::to_string(i) + "]", "must be a number");
                return false;
            }
            out.push_back(array[i].toDouble());
        }
        return true;
    }

    // A flat array (one row) or an array of equally long arrays (several rows).
    bool matrix(const QJsonValue& value, const std::string& path, Matrix& out) {
        if (!value.isArray()) {
            fail(path, "must be an array of numbers, or an array of rows");
            return false;
        }
        const QJsonArray array = value.toArray();
        if (array.isEmpty() || !array.first().isArray()) {
            std::vector<double> row;
            if (!numberArray(value, path, row)) return false;
            out = Eigen::Map<Matrix>(row.data(), row.empty() ? 0 : 1, Eigen::Index(row.size()));
            return true;
        }
        std::vector<std::vector<double>> rows(std::size_t(array.size()));
        for (int r = 0; r < array.size(); ++r) {
            const std::string rowPath = path + "[" + std::to_string(r) + "]";
            if (!numberArray(array[r], rowPath, rows[std::size_t(r)])) return false;
            if (rows[std::size_t(r)].size() != rows[0].size()) {
                fail(rowPath, "has " + std::to_string(rows[std::size_t(r)].size()) +
                                  " values, row 0 has " + std::to_string(rows[0].size()));
                return false;
            }
        }
        out.resize(Eigen::Index(rows.size()), Eigen::Index(rows[0].size()));
        for (std::size_t r = 0; r < rows.size(); ++r)
            for (std::size_t c = 0; c < rows[r].size(); ++c) out(Eigen::Index(r), Eigen::Index(c)) = rows[r][c];
        return true;
    }
};

PriorSpec readPrior(JsonReader& reader, const QJsonValue& value, const std::string& path) {
    PriorSpec spec;
    if (!reader.isObject(value, path)) return spec;
    const QJsonObject object = value.toObject();
    spec.family = reader.string(object, "family", path, true);
    for (auto it = object.begin(); it != object.end(); ++it) {
        const std::string key = it.key().toStdString();
        if (key == "family") continue;
        const std::string fieldPath = joinPath(path, key);
        if (it->isDouble()) {
            spec.values[key] = {it->toDouble()};
        } else if (it->isArray() && !it->toArray().isEmpty() && it->toArray().first().isArray()) {
            Matrix m;
            if (!reader.matrix(*it, fieldPath, m)) continue;
            spec.values[key].assign(m.data(), m.data() + m.size());
            spec.matrixRows[key] = int(m.rows());
        } else if (it->isArray()) {
            reader.numberArray(*it, fieldPath, spec.values[key]);
        } else {
            reader.fail(fieldPath, "must be a number, an array of numbers or a matrix (array of rows)");
        }
    }
    return spec;
}

void readTraining(JsonReader& reader, const QJsonValue& value, const std::string& path, TrainingSettings& t) {
    if (value.isUndefined() || !reader.isObject(value, path)) return;
    const QJsonObject o = value.toObject();
    reader.rejectUnknownKeys(o, path, {"batch_size", "learning_rate", "validation_fraction", "patience",
                                       "max_epochs", "gradient_clip_norm"});
    t.batchSize = reader.smallInteger(o, "batch_size", path, t.batchSize);
    t.learningRate = reader.number(o, "learning_rate", path, t.learningRate);
    t.validationFraction = reader.number(o, "validation_fraction", path, t.validationFraction);
    t.patience = reader.smallInteger(o, "patience", path, t.patience);
    t.maxEpochs = reader.smallInteger(o, "max_epochs", path, t.maxEpochs);
    t.gradientClipNorm = reader.number(o, "gradient_clip_norm", path, t.gradientClipNorm);
}

void readAbc(JsonReader& reader, const QJsonValue& value, const std::string& path, AbcProjectSettings& a) {
    if (value.isUndefined() || !reader.isObject(value, path)) return;
    const QJsonObject o = value.toObject();
    reader.rejectUnknownKeys(o, path, {"summary", "columns", "distance", "z_score", "regression_adjustment"});
    a.summary = reader.string(o, "summary", path, false, a.summary);
    if (o.contains("columns")) {
        std::vector<double> columns;
        reader.numberArray(o.value("columns"), joinPath(path, "columns"), columns);
        a.columns.clear();
        for (std::size_t i = 0; i < columns.size(); ++i) {
            if (columns[i] != std::floor(columns[i]) || std::abs(columns[i]) > 1e6)
                reader.fail(joinPath(path, "columns[" + std::to_string(i) + "]"), "must be a whole number");
            else
                a.columns.push_back(int(columns[i]));
        }
    }
    a.distance = reader.string(o, "distance", path, false, a.distance);
    a.zScore = reader.boolean(o, "z_score", path, a.zScore);
    a.regressionAdjustment = reader.boolean(o, "regression_adjustment", path, a.regressionAdjustment);
}

void readMcmc(JsonReader& reader, const QJsonValue& value, const std::string& path,
              McmcProjectSettings& m) {
    if (value.isUndefined() || !reader.isObject(value, path))
        return;
    const QJsonObject o = value.toObject();
    reader.rejectUnknownKeys(o, path, {"sampler", "chains", "warmup_steps", "thinning", "init"});
    m.sampler = reader.string(o, "sampler", path, false, m.sampler);
    m.chains = reader.smallInteger(o, "chains", path, m.chains);
    m.warmupSteps = reader.smallInteger(o, "warmup_steps", path, m.warmupSteps);
    m.thinning = reader.smallInteger(o, "thinning", path, m.thinning);
    m.init = reader.string(o, "init", path, false, m.init);
}

void readInference(JsonReader& reader, const QJsonValue& value, const std::string& path, InferenceSettings& s) {
    if (value.isUndefined() || !reader.isObject(value, path)) return;
    const QJsonObject o = value.toObject();
    reader.rejectUnknownKeys(
        o, path,
        {"method", "estimator", "simulations", "rounds", "seed", "device", "threads",
         "posterior_samples", "training", "abc", "mcmc", "dequantize_whole_numbers",
         "log_positive_data", "transform_parameters"});
    s.method = reader.string(o, "method", path, false, s.method);
    s.estimator = reader.string(o, "estimator", path, false, s.estimator);
    s.simulations = reader.integer(o, "simulations", path, s.simulations);
    s.rounds = reader.smallInteger(o, "rounds", path, s.rounds);
    const std::int64_t seed = reader.integer(o, "seed", path, std::int64_t(s.seed));
    if (seed < 0)
        reader.fail(joinPath(path, "seed"), "must not be negative");
    else
        s.seed = std::uint64_t(seed);
    s.device = reader.string(o, "device", path, false, s.device);
    s.threads = reader.smallInteger(o, "threads", path, s.threads);
    s.posteriorSamples = reader.integer(o, "posterior_samples", path, s.posteriorSamples);
    readTraining(reader, o.value("training"), joinPath(path, "training"), s.training);
    readAbc(reader, o.value("abc"), joinPath(path, "abc"), s.abc);
    readMcmc(reader, o.value("mcmc"), joinPath(path, "mcmc"), s.mcmc);
    s.dequantizeWholeNumbers =
        reader.boolean(o, "dequantize_whole_numbers", path, s.dequantizeWholeNumbers);
    s.logPositiveData = reader.boolean(o, "log_positive_data", path, s.logPositiveData);
    s.transformParameters = reader.boolean(o, "transform_parameters", path, s.transformParameters);
}

void readView(JsonReader& reader, const QJsonValue& value, const std::string& path, ViewSettings& v) {
    if (value.isUndefined() || !reader.isObject(value, path)) return;
    const QJsonObject o = value.toObject();
    reader.rejectUnknownKeys(o, path, {"histogram_bins", "show_true_parameters", "show_prior_bounds",
                                       "show_reference_samples", "credible_levels"});
    v.histogramBins = reader.smallInteger(o, "histogram_bins", path, v.histogramBins);
    v.showTrueParameters = reader.boolean(o, "show_true_parameters", path, v.showTrueParameters);
    v.showPriorBounds = reader.boolean(o, "show_prior_bounds", path, v.showPriorBounds);
    v.showReferenceSamples = reader.boolean(o, "show_reference_samples", path, v.showReferenceSamples);
    if (o.contains("credible_levels"))
        reader.numberArray(o.value("credible_levels"), joinPath(path, "credible_levels"), v.credibleLevels);
}

std::string lineAndColumn(const QByteArray& json, int offset) {
    int line = 1, column = 1;
    for (int i = 0; i < offset && i < json.size(); ++i) {
        if (json[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// ---------------------------------------------------------------------------------------------
// Writing: QJsonObject sorts keys alphabetically; people read these files, so write the
// important keys first and keep numeric arrays on one line.

int keyRank(const QString& key) {
    static const char* order[] = {"format", "version", "name", "description", "family", "kind", "task",
                                  "command", "script", "library", "csv", "data_dimension",
                                  "parameters", "prior", "simulator", "observations", "default_observation",
                                  "data", "true_parameters", "note", "inference", "view", "method",
                                  "estimator", "simulations", "rounds", "seed", "device", "threads",
                                  "posterior_samples", "training", "low", "high", "mean", "std"};
    for (int i = 0; i < int(std::size(order)); ++i)
        if (key == QLatin1String(order[i])) return i;
    return int(std::size(order));
}

bool isFlat(const QJsonArray& array) {
    for (const QJsonValue& v : array)
        if (v.isArray() || v.isObject()) return false;
    return true;
}

QByteArray scalarText(const QJsonValue& value) {
    QJsonArray wrapper{value};
    QByteArray text = QJsonDocument(wrapper).toJson(QJsonDocument::Compact);
    return text.mid(1, text.size() - 2);
}

void writeValue(QByteArray& out, const QJsonValue& value, int indent) {
    const QByteArray pad(indent * 2, ' ');
    const QByteArray innerPad((indent + 1) * 2, ' ');
    if (value.isObject()) {
        QJsonObject object = value.toObject();
        QStringList keys = object.keys();
        std::stable_sort(keys.begin(), keys.end(), [](const QString& a, const QString& b) {
            return keyRank(a) < keyRank(b);
        });
        // Small objects of scalars (a prior, the simulator binding) read best on one line.
        bool flat = true;
        QByteArray oneLine = "{";
        for (int i = 0; i < keys.size() && flat; ++i) {
            const QJsonValue v = object.value(keys[i]);
            flat = !v.isObject() && !v.isArray();
            oneLine += (i ? ", " : "") + scalarText(keys[i]) + ": " + scalarText(v);
        }
        if (flat && oneLine.size() < 90) {
            out += oneLine + "}";
            return;
        }
        out += "{\n";
        for (int i = 0; i < keys.size(); ++i) {
            out += innerPad + scalarText(keys[i]) + ": ";
            writeValue(out, object.value(keys[i]), indent + 1);
            out += i + 1 < keys.size() ? ",\n" : "\n";
        }
        out += pad + "}";
    } else if (value.isArray()) {
        const QJsonArray array = value.toArray();
        if (isFlat(array)) {
            out += QJsonDocument(array).toJson(QJsonDocument::Compact).replace(",", ", ");
            return;
        }
        out += "[\n";
        for (int i = 0; i < array.size(); ++i) {
            out += innerPad;
            writeValue(out, array[i], indent + 1);
            out += i + 1 < array.size() ? ",\n" : "\n";
        }
        out += pad + "]";
    } else {
        out += scalarText(value);
    }
}

QJsonArray toJsonArray(const std::vector<double>& values) {
    QJsonArray array;
    for (double v : values) array.append(v);
    return array;
}

QJsonValue matrixToJson(const Matrix& m, bool flattenSingleRow) {
    if (flattenSingleRow && m.rows() == 1)
        return toJsonArray(std::vector<double>(m.data(), m.data() + m.size()));
    QJsonArray rows;
    for (Eigen::Index r = 0; r < m.rows(); ++r)
        rows.append(toJsonArray(std::vector<double>(m.row(r).data(), m.row(r).data() + m.cols())));
    return rows;
}

QJsonObject priorToJson(const PriorSpec& spec) {
    QJsonObject object{{"family", QString::fromStdString(spec.family)}};
    const PriorFamilyInfo* family = findPriorFamily(spec.family);
    for (const auto& [key, values] : spec.values) {
        const QString jsonKey = QString::fromStdString(key);
        const auto rows = spec.matrixRows.find(key);
        bool isVector = values.size() != 1;
        if (family)
            for (const PriorFieldInfo& field : family->fields)
                if (field.name == key) isVector = field.shape == FieldShape::Vector;
        if (rows != spec.matrixRows.end() && rows->second > 0) {
            const Eigen::Index r = rows->second;
            const Eigen::Map<const Matrix> m(values.data(), r, Eigen::Index(values.size()) / r);
            object.insert(jsonKey, matrixToJson(m, false));
        } else if (isVector) {
            object.insert(jsonKey, toJsonArray(values));
        } else {
            object.insert(jsonKey, values[0]);
        }
    }
    return object;
}

}  // namespace

QString ProjectLoadResult::errorText() const { return QString::fromStdString(formatProblems(problems)); }

ProjectLoadResult parseProject(const QByteArray& json) {
    ProjectLoadResult result;
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        result.problems.push_back({"", "not valid JSON: " + parseError.errorString().toStdString() + " at " +
                                           lineAndColumn(json, parseError.offset)});
        return result;
    }
    if (!document.isObject()) {
        result.problems.push_back({"", "the file must hold a JSON object ({...})"});
        return result;
    }
    const QJsonObject root = document.object();
    JsonReader reader;

    // Format and version first: a file from a newer version is not read any further.
    const std::string format = reader.string(root, "format", "", true);
    if (reader.problems.empty() && format != Project::kFormatName)
        reader.fail("format", "'" + format + "' is not an SBI Workbench project (expected '" +
                                  Project::kFormatName + "')");
    const std::int64_t version = reader.integer(root, "version", "", 0, true);
    if (reader.problems.empty() && version > Project::kFormatVersion)
        reader.fail("version", "the file was written by a newer SBI Workbench (format version " +
                                   std::to_string(version) + "); this version reads up to version " +
                                   std::to_string(Project::kFormatVersion) + ": please update");
    else if (reader.problems.empty() && version < 1)
        reader.fail("version", "must be at least 1");
    if (!reader.problems.empty()) {
        result.problems = reader.problems;
        return result;
    }

    reader.rejectUnknownKeys(root, "", {"format", "version", "name", "description", "parameters", "simulator",
                                        "observations", "default_observation", "inference", "view"});
    Project project;
    project.name = reader.string(root, "name", "", true);
    project.description = reader.string(root, "description", "", false);

    const QJsonValue parameters = root.value("parameters");
    if (parameters.isUndefined()) {
        reader.fail("parameters", "missing");
    } else if (!parameters.isArray()) {
        reader.fail("parameters", "must be an array of parameters");
    } else {
        const QJsonArray array = parameters.toArray();
        for (int i = 0; i < array.size(); ++i) {
            const std::string path = "parameters[" + std::to_string(i) + "]";
            ParameterSpec parameter;
            if (reader.isObject(array[i], path)) {
                const QJsonObject object = array[i].toObject();
                reader.rejectUnknownKeys(object, path, {"name", "prior"});
                parameter.name = reader.string(object, "name", path, true);
                if (object.contains("prior")) parameter.prior = readPrior(reader, object.value("prior"), path + ".prior");
            }
            project.parameters.push_back(std::move(parameter));
        }
    }

    const QJsonValue simulator = root.value("simulator");
    if (simulator.isUndefined()) {
        reader.fail("simulator", "missing");
    } else if (reader.isObject(simulator, "simulator")) {
        const QJsonObject object = simulator.toObject();
        reader.rejectUnknownKeys(object, "simulator",
                                 {"kind", "task", "command", "script", "library", "csv", "data_dimension",
                                  "batch_size", "timeout_seconds"});
        SimulatorBinding& binding = project.simulator;
        binding.kind = reader.string(object, "kind", "simulator", true);
        binding.task = reader.string(object, "task", "simulator", false);
        binding.script = reader.string(object, "script", "simulator", false);
        binding.library = reader.string(object, "library", "simulator", false);
        binding.csv = reader.string(object, "csv", "simulator", false);
        binding.dataDimension = reader.smallInteger(object, "data_dimension", "simulator", 0);
        binding.batchSize = reader.smallInteger(object, "batch_size", "simulator", binding.batchSize);
        binding.timeoutSeconds = reader.number(object, "timeout_seconds", "simulator", binding.timeoutSeconds);
        const QJsonValue command = object.value("command");
        if (!command.isUndefined()) {
            if (!command.isArray()) {
                reader.fail("simulator.command", "must be an array of strings: the program, then its arguments");
            } else {
                const QJsonArray parts = command.toArray();
                for (int i = 0; i < parts.size(); ++i) {
                    if (!parts[i].isString())
                        reader.fail("simulator.command[" + std::to_string(i) + "]", "must be a string");
                    else
                        binding.command.push_back(parts[i].toString().toStdString());
                }
            }
        }
    }

    const QJsonValue observations = root.value("observations");
    if (!observations.isUndefined() && !observations.isArray()) {
        reader.fail("observations", "must be an array of observations");
    } else {
        const QJsonArray array = observations.toArray();
        for (int i = 0; i < array.size(); ++i) {
            const std::string path = "observations[" + std::to_string(i) + "]";
            Observation observation;
            if (reader.isObject(array[i], path)) {
                const QJsonObject object = array[i].toObject();
                reader.rejectUnknownKeys(object, path, {"name", "data", "true_parameters", "note"});
                observation.name = reader.string(object, "name", path, true);
                observation.note = reader.string(object, "note", path, false);
                if (!object.contains("data"))
                    reader.fail(path + ".data", "missing");
                else
                    reader.matrix(object.value("data"), path + ".data", observation.data);
                if (object.contains("true_parameters"))
                    reader.numberArray(object.value("true_parameters"), path + ".true_parameters",
                                       observation.trueParameters);
            }
            project.observations.push_back(std::move(observation));
        }
    }
    project.defaultObservation = reader.string(root, "default_observation", "", false);
    readInference(reader, root.value("inference"), "inference", project.inference);
    readView(reader, root.value("view"), "view", project.view);

    if (!reader.problems.empty()) {
        result.problems = reader.problems;
        return result;
    }
    result.problems = project.validate();
    if (result.problems.empty()) result.project = std::move(project);
    return result;
}

ProjectLoadResult loadProject(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        ProjectLoadResult result;
        result.problems.push_back({"", "cannot open " + path.toStdString() + ": " + file.errorString().toStdString()});
        return result;
    }
    ProjectLoadResult result = parseProject(file.readAll());
    if (result.project) result.project->baseDirectory = QFileInfo(path).absolutePath().toStdString();
    return result;
}

namespace {

// Only the fields of the binding's kind (validation rejects the others).
QJsonObject bindingToJson(const SimulatorBinding& binding) {
    QJsonObject object{{"kind", QString::fromStdString(binding.kind)}};
    auto text = [](const std::string& s) { return QString::fromStdString(s); };
    if (binding.kind == "builtin") {
        object.insert("task", text(binding.task));
        return object;
    }
    if (!binding.command.empty()) {
        QJsonArray command;
        for (const std::string& part : binding.command) command.append(text(part));
        object.insert("command", command);
    }
    if (!binding.script.empty()) object.insert("script", text(binding.script));
    if (!binding.library.empty()) object.insert("library", text(binding.library));
    if (!binding.csv.empty()) object.insert("csv", text(binding.csv));
    object.insert("data_dimension", binding.dataDimension);
    if (binding.kind == "program") object.insert("batch_size", binding.batchSize);
    if (binding.kind == "program" || binding.kind == "script")
        object.insert("timeout_seconds", binding.timeoutSeconds);
    return object;
}

}  // namespace

QJsonObject projectToJson(const Project& project) {
    QJsonObject root;
    root.insert("format", Project::kFormatName);
    root.insert("version", Project::kFormatVersion);
    root.insert("name", QString::fromStdString(project.name));
    if (!project.description.empty()) root.insert("description", QString::fromStdString(project.description));

    QJsonArray parameters;
    for (const ParameterSpec& p : project.parameters) {
        QJsonObject parameter{{"name", QString::fromStdString(p.name)}};
        if (p.prior) parameter.insert("prior", priorToJson(*p.prior));
        parameters.append(parameter);
    }
    root.insert("parameters", parameters);
    root.insert("simulator", bindingToJson(project.simulator));

    QJsonArray observations;
    for (const Observation& o : project.observations) {
        QJsonObject observation{{"name", QString::fromStdString(o.name)}, {"data", matrixToJson(o.data, true)}};
        if (!o.trueParameters.empty()) observation.insert("true_parameters", toJsonArray(o.trueParameters));
        if (!o.note.empty()) observation.insert("note", QString::fromStdString(o.note));
        observations.append(observation);
    }
    root.insert("observations", observations);
    if (!project.defaultObservation.empty())
        root.insert("default_observation", QString::fromStdString(project.defaultObservation));

    const InferenceSettings& s = project.inference;
    const TrainingSettings& t = s.training;
    root.insert("inference",
                QJsonObject{{"method", QString::fromStdString(s.method)},
                            {"estimator", QString::fromStdString(s.estimator)},
                            {"simulations", double(s.simulations)},
                            {"rounds", s.rounds},
                            {"seed", double(s.seed)},
                            {"device", QString::fromStdString(s.device)},
                            {"threads", s.threads},
                            {"posterior_samples", double(s.posteriorSamples)},
                            {"training", QJsonObject{{"batch_size", t.batchSize},
                                                     {"learning_rate", t.learningRate},
                                                     {"validation_fraction", t.validationFraction},
                                                     {"patience", t.patience},
                                                     {"max_epochs", t.maxEpochs},
                                                     {"gradient_clip_norm", t.gradientClipNorm}}}});
    if (!(s.abc == AbcProjectSettings{})) {
        QJsonObject abc{{"summary", QString::fromStdString(s.abc.summary)},
                        {"distance", QString::fromStdString(s.abc.distance)},
                        {"z_score", s.abc.zScore},
                        {"regression_adjustment", s.abc.regressionAdjustment}};
        if (!s.abc.columns.empty()) {
            QJsonArray columns;
            for (int c : s.abc.columns) columns.append(c);
            abc.insert("columns", columns);
        }
        QJsonObject inference = root.value("inference").toObject();
        inference.insert("abc", abc);
        root.insert("inference", inference);
    }
    if (!s.dequantizeWholeNumbers) {
        QJsonObject inference = root.value("inference").toObject();
        inference.insert("dequantize_whole_numbers", false);
        root.insert("inference", inference);
    }
    if (!s.logPositiveData) {
        QJsonObject inference = root.value("inference").toObject();
        inference.insert("log_positive_data", false);
        root.insert("inference", inference);
    }
    if (s.transformParameters != InferenceSettings{}.transformParameters) {
        QJsonObject inference = root.value("inference").toObject();
        inference.insert("transform_parameters", s.transformParameters);
        root.insert("inference", inference);
    }
    if (!(s.mcmc == McmcProjectSettings{})) {
        QJsonObject inference = root.value("inference").toObject();
        inference.insert("mcmc", QJsonObject{{"sampler", QString::fromStdString(s.mcmc.sampler)},
                                             {"chains", s.mcmc.chains},
                                             {"warmup_steps", s.mcmc.warmupSteps},
                                             {"thinning", s.mcmc.thinning},
                                             {"init", QString::fromStdString(s.mcmc.init)}});
        root.insert("inference", inference);
    }
    const ViewSettings& v = project.view;
    root.insert("view", QJsonObject{{"histogram_bins", v.histogramBins},
                                    {"show_true_parameters", v.showTrueParameters},
                                    {"show_prior_bounds", v.showPriorBounds},
                                    {"show_reference_samples", v.showReferenceSamples},
                                    {"credible_levels", toJsonArray(v.credibleLevels)}});
    return root;
}

QByteArray serializeProject(const Project& project) {
    QByteArray out;
    writeValue(out, projectToJson(project), 0);
    out += '\n';
    return out;
}

QString saveProject(const Project& project, const QString& path) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return QStringLiteral("cannot open %1 for writing: %2").arg(path, file.errorString());
    const QByteArray content = serializeProject(project);
    if (file.write(content) != content.size()) {
        const QString reason = file.errorString();
        file.cancelWriting();
        return QStringLiteral("cannot write %1: %2 (the previous file is unchanged)").arg(path, reason);
    }
    if (!file.commit())
        return QStringLiteral("cannot save %1: %2 (the previous file is unchanged)").arg(path, file.errorString());
    return {};
}

}  // namespace sbiw
