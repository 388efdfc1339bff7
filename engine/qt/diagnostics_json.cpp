#include "qt/diagnostics_json.h"

#include <QJsonArray>

#include <cmath>

namespace sbiw {

namespace {

// JSON has no NaN or infinity: such values become null.
QJsonValue number(double value) {
    return std::isfinite(value) ? QJsonValue(value) : QJsonValue();
}

template <typename T>
QJsonArray array(const std::vector<T>& values) {
    QJsonArray out;
    for (const T& v : values) {
        if constexpr (std::is_floating_point_v<T>)
            out.append(number(v));
        else
            out.append(qint64(v));
    }
    return out;
}

QString text(const std::string& s) {
    return QString::fromStdString(s);
}

}  // namespace

QJsonObject toJson(const SbcResult& result, const RankMatrix& ranks,
                   const std::vector<std::string>& parameterNames) {
    QJsonArray parameters;
    for (std::size_t j = 0; j < result.parameters.size(); ++j) {
        const SbcParameterResult& p = result.parameters[j];
        QJsonArray low, high;
        for (const CountBand& b : p.band) {
            low.append(qint64(b.low));
            high.append(qint64(b.high));
        }
        parameters.append(QJsonObject{
            {"name", j < parameterNames.size() ? text(parameterNames[j])
                                               : QString("parameter %1").arg(j + 1)},
            {"histogram", array(p.histogram)},
            {"expected", array(p.expected)},
            {"band_low", low},
            {"band_high", high},
            {"chi_square", number(p.chiSquare)},
            {"chi_square_p_value", number(p.chiSquarePValue)},
            {"ks_distance", number(p.ks.distance)},
            {"ks_p_value", number(p.ks.pValue)},
            {"mean_rank", number(p.meanRank)},
            {"location_z", number(p.locationZ)},
            {"spread_z", number(p.spreadZ)},
            {"verdict", verdictName(p.verdict)},
            {"summary", text(p.summary)},
        });
    }
    // Rows of the ranks, one per simulation (0..posterior_samples).
    QJsonArray rankRows;
    for (Eigen::Index i = 0; i < ranks.rows(); ++i) {
        QJsonArray row;
        for (Eigen::Index j = 0; j < ranks.cols(); ++j)
            row.append(qint64(ranks(i, j)));
        rankRows.append(row);
    }
    // The overall verdict: calibrated unless some parameter is not (then the first such one's).
    const char* verdict = verdictName(CalibrationVerdict::Calibrated);
    for (const SbcParameterResult& p : result.parameters)
        if (p.verdict != CalibrationVerdict::Calibrated) {
            verdict = verdictName(p.verdict);
            break;
        }
    return QJsonObject{
        {"simulations", qint64(result.simulations)},
        {"posterior_samples", qint64(result.posteriorSamples)},
        {"test_level", number(result.testLevel)},
        {"flagged", result.flagged()},
        {"verdict", verdict},
        {"summary", text(result.summary)},
        {"parameters", parameters},
        {"ranks", rankRows},
    };
}

QJsonObject toJson(const CoverageResult& result) {
    return QJsonObject{
        {"simulations", qint64(result.simulations)},
        {"posterior_samples", qint64(result.posteriorSamples)},
        {"levels", array(result.levels)},
        {"empirical", array(result.empirical)},
        {"expected", array(result.expected)},
        {"band_low", array(result.bandLow)},
        {"band_high", array(result.bandHigh)},
        {"below_band", array(result.belowBand)},
        {"above_band", array(result.aboveBand)},
        {"credibility", array(result.credibility)},
        {"verdict", verdictName(result.verdict)},
        {"summary", text(result.summary)},
    };
}

QJsonObject toJson(const TarpResult& result) {
    return QJsonObject{
        {"simulations", qint64(result.simulations)},
        {"posterior_samples", qint64(result.posteriorSamples)},
        {"levels", array(result.levels)},
        {"ecp", array(result.ecp)},
        {"atc", number(result.atc)},
        {"atc_standard_error", number(result.atcStandardError)},
        {"atc_p_value", number(result.atcPValue)},
        {"ks_distance", number(result.ks.distance)},
        {"ks_p_value", number(result.ks.pValue)},
        {"credibility", array(result.credibility)},
        {"verdict", verdictName(result.verdict)},
        {"summary", text(result.summary)},
    };
}

QJsonObject toJson(const PredictiveCheckResult& result, const std::vector<std::string>& dataNames) {
    QJsonArray dimensions;
    for (std::size_t k = 0; k < result.dimensions.size(); ++k) {
        const PredictiveDimension& d = result.dimensions[k];
        dimensions.append(QJsonObject{
            {"name", k < dataNames.size() ? text(dataNames[k]) : QString("data %1").arg(k + 1)},
            {"observed", number(d.observed)},
            {"mean", number(d.mean)},
            {"standard_deviation", number(d.standardDeviation)},
            {"low", number(d.low)},
            {"median", number(d.median)},
            {"high", number(d.high)},
            {"fraction_below", number(d.fractionBelow)},
            {"p_value", number(d.pValue)},
            {"outside_interval", d.outsideInterval},
        });
    }
    return QJsonObject{
        {"posterior_samples", qint64(result.theta.rows())},
        {"predictions", qint64(result.predictions.rows())},
        {"dropped_non_finite", qint64(result.droppedNonFinite)},
        {"median_distance", number(result.medianDistance)},
        {"observed_distance", number(result.observedDistance)},
        {"distance_p_value", number(result.distancePValue)},
        {"distances", array(result.distances)},
        {"dimensions", dimensions},
        {"verdict", verdictName(result.verdict)},
        {"summary", text(result.summary)},
    };
}

}  // namespace sbiw
