#include "priors/prior_spec.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace sbiw {

namespace {

// A truncated normal whose interval lies further than this from the mean (in standard
// deviations) has a normalising mass too close to underflow to compute reliably.
constexpr double kMaxTruncationDistance = 35.0;

// Shortest text that reads back as the same double, so messages show what the user typed.
std::string formatNumber(double x) {
    char buffer[32];
    for (int precision = 6; precision <= 17; ++precision) {
        std::snprintf(buffer, sizeof buffer, "%.*g", precision, x);
        if (std::strtod(buffer, nullptr) == x)
            break;
    }
    return buffer;
}

PriorFieldInfo scalarField(std::string name, std::string description, double defaultValue) {
    return {std::move(name), std::move(description), FieldShape::Scalar, defaultValue, false};
}

std::vector<PriorFamilyInfo> makeFamilies() {
    std::vector<PriorFamilyInfo> families;
    families.push_back({"uniform",
                        "Uniform",
                        "Every value between low and high is equally likely.",
                        false,
                        {scalarField("low", "Lower bound", 0.0),
                         scalarField("high", "Upper bound (greater than low)", 1.0)}});
    families.push_back({"normal",
                        "Normal",
                        "Gaussian with the given mean and standard deviation.",
                        false,
                        {scalarField("mean", "Mean", 0.0),
                         scalarField("std", "Standard deviation (positive)", 1.0)}});
    families.push_back(
        {"lognormal",
         "Log-normal",
         "Positive values whose logarithm is normal with the given mean and standard deviation.",
         false,
         {scalarField("log_mean", "Mean of log θ", 0.0),
          scalarField("log_std", "Standard deviation of log θ (positive)", 1.0)}});
    families.push_back({"gamma",
                        "Gamma",
                        "Positive values; mean shape / rate, variance shape / rate².",
                        false,
                        {scalarField("shape", "Shape k (positive)", 2.0),
                         scalarField("rate", "Rate β = 1 / scale (positive)", 1.0)}});
    families.push_back({"beta",
                        "Beta",
                        "Values in [0, 1]; mean alpha / (alpha + beta).",
                        false,
                        {scalarField("alpha", "First shape α (positive)", 2.0),
                         scalarField("beta", "Second shape β (positive)", 2.0)}});
    families.push_back({"exponential",
                        "Exponential",
                        "Non-negative values with mean 1 / rate.",
                        false,
                        {scalarField("rate", "Rate (positive)", 1.0)}});
    families.push_back(
        {"half_normal",
         "Half-normal",
         "Absolute value of a zero-mean normal with standard deviation scale.",
         false,
         {scalarField("scale", "Scale σ of the underlying normal (positive)", 1.0)}});
    families.push_back(
        {"truncated_normal",
         "Truncated normal",
         "Normal restricted to [low, high]; mean and std are those of the untruncated normal.",
         false,
         {scalarField("mean", "Mean of the untruncated normal", 0.0),
          scalarField("std", "Standard deviation of the untruncated normal (positive)", 1.0),
          scalarField("low", "Lower bound", -2.0),
          scalarField("high", "Upper bound (greater than low)", 2.0)}});
    families.push_back({"box_uniform",
                        "Box uniform",
                        "Independent uniforms over several consecutive parameters.",
                        true,
                        {{"low", "Lower bound of each parameter", FieldShape::Vector, 0.0, false},
                         {"high", "Upper bound of each parameter (greater than low)",
                          FieldShape::Vector, 1.0, false}}});
    families.push_back(
        {"multivariate_normal",
         "Multivariate normal",
         "Correlated Gaussian over several consecutive parameters, given by a covariance or a "
         "precision matrix.",
         true,
         {{"mean", "Mean vector", FieldShape::Vector, 0.0, false},
          {"covariance", "Covariance matrix (symmetric, positive definite)", FieldShape::Matrix,
           1.0, true},
          {"precision", "Precision matrix, the inverse covariance (alternative to covariance)",
           FieldShape::Matrix, 1.0, true}}});
    return families;
}

std::string knownFamilyList() {
    std::string list;
    for (const PriorFamilyInfo& family : priorFamilies()) {
        if (!list.empty())
            list += ", ";
        list += family.id;
    }
    return list;
}

// Standard normal tail mass Q(x) = P(Z > x); erfc keeps it accurate far in the tail.
double upperTail(double x) {
    return 0.5 * std::erfc(x / std::sqrt(2.0));
}

// Checks a matrix field (row-major values, rows from matrixRows or inferred as square) against
// the expected dimension. Returns false (and adds a problem) when the shape is wrong.
bool checkMatrixShape(const PriorSpec& spec, const std::string& field, int dimension,
                      Problems& problems) {
    const std::vector<double>& values = spec.values.at(field);
    const auto size = static_cast<long long>(values.size());
    long long rows = 0;
    auto rowsIt = spec.matrixRows.find(field);
    if (rowsIt != spec.matrixRows.end()) {
        rows = rowsIt->second;
        if (rows <= 0) {
            problems.push_back(
                {field, "row count must be positive (got " + std::to_string(rows) + ")"});
            return false;
        }
        if (size % rows != 0) {
            problems.push_back({field, std::to_string(size) + " values do not fill " +
                                           std::to_string(rows) + " rows"});
            return false;
        }
        if (size / rows != rows) {
            problems.push_back({field, "must be square (got " + std::to_string(rows) + " x " +
                                           std::to_string(size / rows) + ")"});
            return false;
        }
    } else {
        // No row count given: accept a square number of values.
        rows = std::llround(std::sqrt(double(size)));
        if (size == 0 || rows * rows != size) {
            problems.push_back({field, "must be a square matrix (got " + std::to_string(size) +
                                           " values and no row count)"});
            return false;
        }
    }
    if (dimension > 0 && rows != dimension) {
        problems.push_back({field, "must be " + std::to_string(dimension) + " x " +
                                       std::to_string(dimension) +
                                       " to match the length of mean (got " + std::to_string(rows) +
                                       " x " + std::to_string(rows) + ")"});
        return false;
    }
    return true;
}

// Symmetry and positive definiteness of a square matrix field whose shape is already checked.
void checkSymmetricPositiveDefinite(const PriorSpec& spec, const std::string& field,
                                    Problems& problems) {
    const std::vector<double>& values = spec.values.at(field);
    const auto n = static_cast<Eigen::Index>(std::llround(std::sqrt(double(values.size()))));
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
        m(values.data(), n, n);
    const double scale = m.cwiseAbs().maxCoeff();
    for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = i + 1; j < n; ++j) {
            // Tolerate rounding from a text round trip, nothing more.
            if (std::abs(m(i, j) - m(j, i)) > 1e-12 * scale) {
                problems.push_back({field, "must be symmetric (element [" + std::to_string(i) +
                                               ", " + std::to_string(j) +
                                               "] = " + formatNumber(m(i, j)) + ", element [" +
                                               std::to_string(j) + ", " + std::to_string(i) +
                                               "] = " + formatNumber(m(j, i)) + ")"});
                return;
            }
        }
    }
    // The same factorisation the distribution uses, so what passes here can be built.
    const Eigen::LLT<Eigen::MatrixXd> llt(m);
    if (llt.info() != Eigen::Success)
        problems.push_back({field, "must be positive definite"});
}

}  // namespace

const std::vector<PriorFamilyInfo>& priorFamilies() {
    static const std::vector<PriorFamilyInfo> families = makeFamilies();
    return families;
}

const PriorFamilyInfo* findPriorFamily(const std::string& id) {
    for (const PriorFamilyInfo& family : priorFamilies())
        if (family.id == id)
            return &family;
    return nullptr;
}

PriorSpec PriorSpec::scalar(std::string family, std::map<std::string, double> fields) {
    PriorSpec spec;
    spec.family = std::move(family);
    for (const auto& [name, value] : fields)
        spec.values[name] = {value};
    return spec;
}

double PriorSpec::scalar(const std::string& field) const {
    auto it = values.find(field);
    if (it == values.end() || it->second.empty())
        throw SettingsError({{field, "missing"}});
    return it->second.front();
}

int PriorSpec::dimension() const {
    const PriorFamilyInfo* info = findPriorFamily(family);
    if (!info)
        return 0;
    if (!info->multivariate)
        return 1;
    // The vector that defines the length: low (or high) for box_uniform, mean otherwise.
    const std::vector<const char*> fields = family == "box_uniform"
                                                ? std::vector<const char*>{"low", "high"}
                                                : std::vector<const char*>{"mean"};
    for (const char* field : fields) {
        auto it = values.find(field);
        if (it != values.end())
            return static_cast<int>(it->second.size());
    }
    return 0;
}

Problems PriorSpec::validate() const {
    Problems problems;
    const PriorFamilyInfo* info = findPriorFamily(family);
    if (!info) {
        problems.push_back({"family", family.empty() ? "missing (known: " + knownFamilyList() + ")"
                                                     : "unknown prior family '" + family +
                                                           "' (known: " + knownFamilyList() + ")"});
        return problems;
    }

    std::string expected;
    for (const PriorFieldInfo& field : info->fields)
        expected += (expected.empty() ? "" : ", ") + field.name;
    auto fieldInfo = [&](const std::string& name) -> const PriorFieldInfo* {
        for (const PriorFieldInfo& field : info->fields)
            if (field.name == name)
                return &field;
        return nullptr;
    };
    for (const auto& entry : values) {
        if (!fieldInfo(entry.first))
            problems.push_back({entry.first, "unknown field for family '" + family +
                                                 "' (expected: " + expected + ")"});
    }
    for (const auto& entry : matrixRows) {
        const PriorFieldInfo* field = fieldInfo(entry.first);
        if (!field) {
            if (!values.count(entry.first))
                problems.push_back({entry.first, "unknown field for family '" + family +
                                                     "' (expected: " + expected + ")"});
        } else if (field->shape != FieldShape::Matrix) {
            problems.push_back({entry.first, "must not be a matrix"});
        }
    }

    // Fields that are present, of the right shape and finite; only these take part in the
    // checks that relate fields to each other.
    std::set<std::string> good;
    const int dim = dimension();
    for (const PriorFieldInfo& field : info->fields) {
        auto it = values.find(field.name);
        if (it == values.end()) {
            if (!field.optional)
                problems.push_back({field.name, "missing"});
            continue;
        }
        const std::vector<double>& v = it->second;
        if (field.shape == FieldShape::Scalar && v.size() != 1) {
            problems.push_back({field.name, "must be a single number (got " +
                                                std::to_string(v.size()) + " values)"});
            continue;
        }
        if (field.shape == FieldShape::Vector) {
            if (v.empty()) {
                problems.push_back({field.name, "must have at least one value"});
                continue;
            }
            if (static_cast<int>(v.size()) != dim) {
                const std::string first = values.count("low") ? "low" : "mean";
                problems.push_back({field.name, "must have the same length as " + first + " (" +
                                                    std::to_string(dim) + " values, got " +
                                                    std::to_string(v.size()) + ")"});
                continue;
            }
        }
        if (field.shape == FieldShape::Matrix &&
            !checkMatrixShape(*this, field.name, dim, problems))
            continue;
        bool finite = true;
        for (std::size_t i = 0; i < v.size() && finite; ++i) {
            if (std::isfinite(v[i]))
                continue;
            finite = false;
            problems.push_back({field.name, field.shape == FieldShape::Scalar
                                                ? "must be finite (got " + formatNumber(v[i]) + ")"
                                                : "must be finite (element " + std::to_string(i) +
                                                      " is " + formatNumber(v[i]) + ")"});
        }
        if (finite)
            good.insert(field.name);
    }
    auto ok = [&](std::initializer_list<const char*> names) {
        return std::all_of(names.begin(), names.end(),
                           [&](const char* name) { return good.count(name) != 0; });
    };
    auto requirePositive = [&](const char* name) {
        if (ok({name}) && !(scalar(name) > 0.0))
            problems.push_back({name, "must be positive"});
    };
    auto requireOrdered = [&]() {
        if (!ok({"low", "high"}))
            return;
        const double low = scalar("low"), high = scalar("high");
        if (!(high > low)) {
            problems.push_back({"high", "must be greater than low (low = " + formatNumber(low) +
                                            ", high = " + formatNumber(high) + ")"});
        } else if (!std::isfinite(high - low)) {
            problems.push_back({"high", "high - low is too large to represent"});
        }
    };

    const std::string& f = family;
    if (f == "uniform") {
        requireOrdered();
    } else if (f == "normal") {
        requirePositive("std");
    } else if (f == "lognormal") {
        requirePositive("log_std");
    } else if (f == "gamma") {
        requirePositive("shape");
        requirePositive("rate");
    } else if (f == "beta") {
        requirePositive("alpha");
        requirePositive("beta");
    } else if (f == "exponential") {
        requirePositive("rate");
    } else if (f == "half_normal") {
        requirePositive("scale");
    } else if (f == "truncated_normal") {
        requirePositive("std");
        const std::size_t before = problems.size();
        requireOrdered();
        if (problems.size() == before && ok({"mean", "std", "low", "high"}) &&
            scalar("std") > 0.0) {
            const double mean = scalar("mean"), sd = scalar("std");
            const double alpha = (scalar("low") - mean) / sd, beta = (scalar("high") - mean) / sd;
            if (alpha > kMaxTruncationDistance) {
                problems.push_back({"low", "lies " + formatNumber(alpha) +
                                               " standard deviations above the mean: the "
                                               "interval has no usable probability mass"});
            } else if (beta < -kMaxTruncationDistance) {
                problems.push_back({"high", "lies " + formatNumber(-beta) +
                                                " standard deviations below the mean: the "
                                                "interval has no usable probability mass"});
            } else {
                // Same mass as the distribution computes (tail differences avoid cancellation).
                const double mass = alpha >= 0.0 ? upperTail(alpha) - upperTail(beta)
                                                 : upperTail(-beta) - upperTail(-alpha);
                if (!(mass > 0.0))
                    problems.push_back(
                        {"high",
                         "is too close to low: the interval has no usable probability "
                         "mass"});
            }
        }
    } else if (f == "box_uniform") {
        if (ok({"low", "high"})) {
            const std::vector<double>& low = values.at("low");
            const std::vector<double>& high = values.at("high");
            for (std::size_t i = 0; i < low.size(); ++i) {
                if (!(high[i] > low[i])) {
                    problems.push_back({"high",
                                        "must be greater than low in every coordinate "
                                        "(coordinate " +
                                            std::to_string(i) + ": low = " + formatNumber(low[i]) +
                                            ", high = " + formatNumber(high[i]) + ")"});
                    break;
                }
                if (!std::isfinite(high[i] - low[i])) {
                    problems.push_back(
                        {"high", "high - low is too large to represent (coordinate " +
                                     std::to_string(i) + ")"});
                    break;
                }
            }
        }
    } else if (f == "multivariate_normal") {
        const bool hasCovariance = has("covariance"), hasPrecision = has("precision");
        if (hasCovariance && hasPrecision) {
            problems.push_back({"precision", "give either covariance or precision, not both"});
        } else if (!hasCovariance && !hasPrecision) {
            problems.push_back({"covariance", "missing (give covariance or precision)"});
        } else {
            const char* matrix = hasCovariance ? "covariance" : "precision";
            if (ok({matrix}))
                checkSymmetricPositiveDefinite(*this, matrix, problems);
        }
    }
    return problems;
}

}  // namespace sbiw
