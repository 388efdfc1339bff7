#pragma once
// Simulations run elsewhere (a cluster, another tool), imported as a CSV of (θ, x) pairs: a
// header line naming the project's parameters (same order) and then D data columns, one row
// per simulation. Training uses them instead of a simulator.

#include <cstdint>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "project/project.h"

namespace sbiw {

struct ImportedSimulations {
    std::string path;  // the CSV, absolute
    Matrix theta, x;   // the usable rows (finite x, θ inside the prior's support)
    std::int64_t rowsRead = 0;
    std::vector<std::string> notes;  // rows left out, and why (one line each)
};

// Reads the CSV of an "imported" binding (relative to Project::baseDirectory) and checks it
// against the project. Throws std::runtime_error explaining the first problem of shape
// (columns, header names), θ that is not finite (with line numbers), or an empty result.
ImportedSimulations loadImportedSimulations(const Project& project);

}  // namespace sbiw
