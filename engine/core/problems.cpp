#include "core/problems.h"

namespace sbiw {

std::string joinPath(const std::string& prefix, const std::string& path) {
    if (prefix.empty()) return path;
    if (path.empty()) return prefix;
    if (path.front() == '[') return prefix + path;
    return prefix + "." + path;
}

void appendProblems(Problems& outer, const Problems& inner, const std::string& prefix) {
    for (const Problem& p : inner) outer.push_back({joinPath(prefix, p.path), p.message});
}

std::string formatProblems(const Problems& problems) {
    std::string text;
    for (const Problem& p : problems) {
        if (!text.empty()) text += '\n';
        text += p.toString();
    }
    return text;
}

SettingsError::SettingsError(Problems problems)
    : std::runtime_error(formatProblems(problems)), problems_(std::move(problems)) {}

void throwIfProblems(const Problems& problems) {
    if (!problems.empty()) throw SettingsError(problems);
}

}  // namespace sbiw
