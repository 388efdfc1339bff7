#include "support/test_support.h"

#include <QFile>
#include <QTextStream>

#include <algorithm>
#include <cmath>

namespace sbiw::test {

bool fuzzyEqual(double actual, double expected, double absTol, double relTol) {
    if (std::isnan(actual) || std::isnan(expected)) return false;
    if (actual == expected) return true;  // also equal infinities
    return std::abs(actual - expected) <= absTol + relTol * std::abs(expected);
}

QByteArray fuzzyMessage(double actual, double expected, double absTol, double relTol) {
    return QByteArray("actual ") + QByteArray::number(actual, 'g', 10) + " expected " +
           QByteArray::number(expected, 'g', 10) + " (abs tol " + QByteArray::number(absTol) +
           ", rel tol " + QByteArray::number(relTol) + ")";
}

RandomStream testStream(std::uint64_t seed, std::uint64_t index) {
    return RandomStream(seed, StreamPurpose::Test, index);
}

Vector columnMeans(const Matrix& samples) { return samples.colwise().mean().transpose(); }

Matrix covariance(const Matrix& samples) {
    const Matrix centred = samples.rowwise() - samples.colwise().mean();
    return (centred.transpose() * centred) / double(samples.rows() - 1);
}

double ksStatistic(std::vector<double> values, const std::function<double(double)>& cdf) {
    std::sort(values.begin(), values.end());
    const double n = double(values.size());
    double d = 0.0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const double f = cdf(values[i]);
        d = std::max({d, f - double(i) / n, double(i + 1) / n - f});
    }
    return d;
}

double ksCritical1Percent(std::size_t n) { return 1.628 / std::sqrt(double(n)); }

QString testDataPath(const QString& relative) {
    return QStringLiteral(SBIW_TEST_DATA_DIR "/") + relative;
}

QString sourcePath(const QString& relative) {
    return QStringLiteral(SBIW_SOURCE_DIR "/") + relative;
}

Matrix readCsvMatrix(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        qFatal("cannot open test data %s", qPrintable(path));
    QTextStream in(&file);
    in.readLine();  // header
    std::vector<std::vector<double>> rows;
    while (!in.atEnd()) {
        const QString line = in.readLine().trimmed();
        if (line.isEmpty()) continue;
        std::vector<double> row;
        for (const QString& cell : line.split(',')) row.push_back(cell.toDouble());
        rows.push_back(std::move(row));
    }
    Matrix m(Eigen::Index(rows.size()), rows.empty() ? 0 : Eigen::Index(rows[0].size()));
    for (std::size_t r = 0; r < rows.size(); ++r)
        for (std::size_t c = 0; c < rows[r].size(); ++c) m(Eigen::Index(r), Eigen::Index(c)) = rows[r][c];
    return m;
}

}  // namespace sbiw::test
