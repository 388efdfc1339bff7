#pragma once
// Shared helpers for every test suite: fuzzy comparison, sample statistics, seeded streams,
// and the location of reference data.

#include <QString>
#include <QtTest>

#include <cstdint>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "core/random.h"

namespace sbiw::test {

// |actual - expected| <= absTol + relTol * |expected|.
bool fuzzyEqual(double actual, double expected, double absTol, double relTol = 0.0);

// Human-readable reason for a failed fuzzy comparison.
QByteArray fuzzyMessage(double actual, double expected, double absTol, double relTol);

// A fresh stream for tests: stream (seed, Test, index).
RandomStream testStream(std::uint64_t seed = 12345, std::uint64_t index = 0);

// Column means and (unbiased) covariance of the rows of `samples`.
Vector columnMeans(const Matrix& samples);
Matrix covariance(const Matrix& samples);

// Kolmogorov-Smirnov statistic of `values` against a CDF, and the 1% critical value for n.
double ksStatistic(std::vector<double> values, const std::function<double(double)>& cdf);
double ksCritical1Percent(std::size_t n);

// Path of a file under tests/data (read-only reference files copied from ../shared).
QString testDataPath(const QString& relative);
// Path under the source tree (e.g. "projects/two_moons.sbiw").
QString sourcePath(const QString& relative);

// Reads a CSV with one header line into a matrix (sbibm layout).
Matrix readCsvMatrix(const QString& path);

}  // namespace sbiw::test

// QCOMPARE-like macro for doubles with explicit tolerances; reports both values on failure.
#define SBIW_COMPARE_NEAR(actual, expected, absTol)                                         \
    do {                                                                                    \
        const double sbiwActual_ = (actual);                                                \
        const double sbiwExpected_ = (expected);                                            \
        if (!::sbiw::test::fuzzyEqual(sbiwActual_, sbiwExpected_, (absTol)))                \
            QFAIL(::sbiw::test::fuzzyMessage(sbiwActual_, sbiwExpected_, (absTol), 0.0)     \
                      .prepend(#actual " vs " #expected ": ")                               \
                      .constData());                                                        \
    } while (false)

#define SBIW_COMPARE_REL(actual, expected, relTol)                                          \
    do {                                                                                    \
        const double sbiwActual_ = (actual);                                                \
        const double sbiwExpected_ = (expected);                                            \
        if (!::sbiw::test::fuzzyEqual(sbiwActual_, sbiwExpected_, 0.0, (relTol)))           \
            QFAIL(::sbiw::test::fuzzyMessage(sbiwActual_, sbiwExpected_, 0.0, (relTol))     \
                      .prepend(#actual " vs " #expected ": ")                               \
                      .constData());                                                        \
    } while (false)
