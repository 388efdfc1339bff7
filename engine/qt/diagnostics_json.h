#pragma once
// Calibration results as JSON: what 'sbiw-cli diagnose' writes to its report and stores in the
// run history's diagnostics table (result_json). Ranks and credibility values are kept, so a
// stored result can be judged again with other settings or drawn by the GUI.

#include <QJsonObject>

#include <string>
#include <vector>

#include "diagnostics/calibration.h"

namespace sbiw {

// Every object carries "verdict" (verdictName) and "summary" (one line).
QJsonObject toJson(const SbcResult& result, const RankMatrix& ranks,
                   const std::vector<std::string>& parameterNames);
QJsonObject toJson(const CoverageResult& result);
QJsonObject toJson(const TarpResult& result);
QJsonObject toJson(const PredictiveCheckResult& result, const std::vector<std::string>& dataNames);

}  // namespace sbiw
