#pragma once
// A prior distribution described as data: a family name and named numeric fields. This is what
// project files store and what the GUI's prior editor edits; makeDistribution() turns it into
// a Distribution after validation.

#include <map>
#include <string>
#include <vector>

#include "core/problems.h"

namespace sbiw {

enum class FieldShape { Scalar, Vector, Matrix };

struct PriorFieldInfo {
    std::string name;         // key in the project file, e.g. "low"
    std::string description;  // shown in the editor
    FieldShape shape = FieldShape::Scalar;
    double defaultValue = 0.0;  // scalar default (vectors/matrices: per element / diagonal)
    bool optional = false;      // e.g. "precision" as an alternative to "covariance"
};

struct PriorFamilyInfo {
    std::string id;           // "uniform", "normal", ..., as written in project files
    std::string displayName;  // "Uniform", "Log-normal", ...
    std::string description;
    bool multivariate = false;  // spans several consecutive parameters
    std::vector<PriorFieldInfo> fields;
};

// All supported families, in the order the GUI lists them:
// uniform, normal, lognormal, gamma, beta, exponential, half_normal, truncated_normal,
// box_uniform, multivariate_normal.
const std::vector<PriorFamilyInfo>& priorFamilies();
const PriorFamilyInfo* findPriorFamily(const std::string& id);

struct PriorSpec {
    std::string family;
    // Scalars are vectors of length 1; matrices are stored row-major with `matrixRows` rows.
    std::map<std::string, std::vector<double>> values;
    std::map<std::string, int> matrixRows;

    // Convenience builders for code and tests.
    static PriorSpec scalar(std::string family, std::map<std::string, double> fields);

    bool has(const std::string& field) const { return values.count(field) != 0; }
    double scalar(const std::string& field) const;  // first element; throws if absent

    // Number of parameters this prior covers (1 for univariate families; for multivariate
    // ones the length of "low"/"mean"). 0 when it cannot be determined.
    int dimension() const;

    // Problems with paths relative to the spec, e.g. {"high", "must be greater than low"}.
    Problems validate() const;

    bool operator==(const PriorSpec& other) const {
        return family == other.family && values == other.values && matrixRows == other.matrixRows;
    }
};

}  // namespace sbiw
