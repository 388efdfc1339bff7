#pragma once
// Validation results that name the offending field, e.g.
// "parameters[2].prior.high: must be greater than low". Settings structs return a list of
// problems from validate(); callers prefix the path of the struct inside their own document.

#include <stdexcept>
#include <string>
#include <vector>

namespace sbiw {

struct Problem {
    std::string path;     // dotted / indexed path of the field, relative to the validated object
    std::string message;  // what is wrong, in words a user understands

    std::string toString() const { return path.empty() ? message : path + ": " + message; }
};

using Problems = std::vector<Problem>;

// Returns "prefix.path" (or "prefix[3]" style paths when path starts with '[').
std::string joinPath(const std::string& prefix, const std::string& path);

// Appends `inner` to `outer` with every path prefixed by `prefix`.
void appendProblems(Problems& outer, const Problems& inner, const std::string& prefix);

// One line per problem.
std::string formatProblems(const Problems& problems);

// Thrown by constructors that received settings that failed validation.
class SettingsError : public std::runtime_error {
public:
    explicit SettingsError(Problems problems);
    const Problems& problems() const { return problems_; }

private:
    Problems problems_;
};

// Throws SettingsError when `problems` is not empty.
void throwIfProblems(const Problems& problems);

}  // namespace sbiw
