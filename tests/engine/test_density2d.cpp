// Density summaries for corner plots against answers known in advance: histogram counts of hand
// placed values, the highest-density regions of a standard bivariate Gaussian (circles of radius
// sqrt(-2 ln(1 - p)): 1.51 for 68%, 2.45 for 95%), contours of x^2 + y^2 (circles), of a plane
// (straight lines) and of a saddle, and plotting ranges.
#include <cmath>
#include <limits>

#include "diagnostics/density2d.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

constexpr double kPi = 3.14159265358979323846;

double gaussianRadius(double mass) {
    return std::sqrt(-2.0 * std::log(1.0 - mass));
}

double standardGaussian2d(double x, double y) {
    return std::exp(-0.5 * (x * x + y * y)) / (2.0 * kPi);
}

Matrix gaussianSamples(Eigen::Index count, std::uint64_t seed) {
    RandomStream rng = test::testStream(seed);
    Matrix samples(count, 2);
    for (Eigen::Index r = 0; r < count; ++r) {
        samples(r, 0) = rng.normal();
        samples(r, 1) = rng.normal();
    }
    return samples;
}

// Shoelace area of a closed polyline.
double enclosedArea(const Polyline& line) {
    double twiceArea = 0.0;
    for (std::size_t i = 0; i + 1 < line.size(); ++i)
        twiceArea += line[i].x * line[i + 1].y - line[i + 1].x * line[i].y;
    return 0.5 * std::abs(twiceArea);
}

}  // namespace

class TestDensity2d : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void histogram1dCountsHandPlacedValues() {
        Matrix samples(7, 1);
        samples << 0.1, 0.2, 0.6, 1.0, 2.0, -0.5, std::numeric_limits<double>::quiet_NaN();
        const Histogram1d h = histogram1d(samples, 0, 0.0, 1.0, 2);
        QCOMPARE(h.counts.size(), std::size_t(2));
        QCOMPARE(h.counts[0], 2.0);
        QCOMPARE(h.counts[1], 2.0);          // 0.6 and the upper edge 1.0
        QCOMPARE(h.total, std::int64_t(6));  // NaN left out, out-of-range values counted
        SBIW_COMPARE_NEAR(h.binCentre(1), 0.75, 1e-15);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, histogram1d(samples, 0, 1.0, 1.0, 2));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, histogram1d(samples, 1, 0.0, 1.0, 2));
    }

    void histogram2dCountsHandPlacedValues() {
        Matrix samples(5, 2);
        samples << 0.1, 0.1,  //
            0.9, 0.1,         //
            0.9, 0.9,         //
            0.8, 0.7,         //
            5.0, 0.5;         // outside in x
        const Histogram2d h = histogram2d(samples, 0, 1, {0.0, 1.0}, {0.0, 1.0}, 2, 2);
        QCOMPARE(h.total, std::int64_t(5));
        QCOMPARE(h.counts.at(0, 0), 1.0);
        QCOMPARE(h.counts.at(1, 0), 1.0);
        QCOMPARE(h.counts.at(0, 1), 0.0);
        QCOMPARE(h.counts.at(1, 1), 2.0);
        QCOMPARE(h.counts.sum(), 4.0);
    }

    void smoothingKeepsMassAndSymmetry() {
        Grid2d grid(21, 21, -1, 1, -1, 1);
        grid.at(10, 10) = 1.0;  // a point mass in the middle
        grid.at(0, 0) = 1.0;    // and one in the corner: the border keeps its mass
        const Grid2d smooth = smoothGaussian(grid, 2.0);
        SBIW_COMPARE_NEAR(smooth.sum(), 2.0, 1e-12);
        SBIW_COMPARE_NEAR(smooth.at(12, 10), smooth.at(8, 10), 1e-15);
        SBIW_COMPARE_NEAR(smooth.at(10, 12), smooth.at(10, 8), 1e-15);
        // Separable Gaussian with sigma 2: one cell away the weight drops by exp(-1/8) per axis.
        SBIW_COMPARE_NEAR(smooth.at(11, 10) / smooth.at(10, 10), std::exp(-0.125), 1e-12);
        QVERIFY(smooth.at(10, 10) < 1.0);

        std::vector<double> line(11, 0.0);
        line[5] = 3.0;
        smoothGaussian(line, 1.0);
        double total = 0.0;
        for (double v : line)
            total += v;
        SBIW_COMPARE_NEAR(total, 3.0, 1e-12);
        SBIW_COMPARE_NEAR(line[4] / line[5], std::exp(-0.5), 1e-12);
    }

    void gaussianHighestDensityLevelsOnAnExactGrid() {
        // The density of N(0, I) at the 68% and 95% HPD boundaries is (1 - p) / (2 pi).
        const Grid2d density = sampleFunction(241, 241, -6, 6, -6, 6, standardGaussian2d);
        const std::vector<double> masses{0.68, 0.95};
        const std::vector<double> levels = highestDensityLevels(density, masses);
        QCOMPARE(levels.size(), std::size_t(2));
        for (std::size_t k = 0; k < masses.size(); ++k) {
            SBIW_COMPARE_REL(levels[k], (1.0 - masses[k]) / (2.0 * kPi), 0.01);
            double inside = 0.0;
            for (double v : density.values)
                if (v >= levels[k])
                    inside += v;
            SBIW_COMPARE_NEAR(inside / density.sum(), masses[k], 0.003);
            // The contour is the circle r = sqrt(-2 ln(1 - p)).
            const auto segments = contourSegments(density, levels[k]);
            QVERIFY(!segments.empty());
            for (const auto& [a, b] : segments) {
                SBIW_COMPARE_NEAR(std::hypot(a.x, a.y), gaussianRadius(masses[k]), 0.01);
                SBIW_COMPARE_NEAR(std::hypot(b.x, b.y), gaussianRadius(masses[k]), 0.01);
            }
        }
        SBIW_COMPARE_NEAR(gaussianRadius(0.68), 1.51, 0.005);
        SBIW_COMPARE_NEAR(gaussianRadius(0.95), 2.45, 0.005);
    }

    void gaussianHighestDensityRegionsFromSamples() {
        // What the corner plot does: histogram, smooth by one cell, levels by sample mass.
        const Matrix samples = gaussianSamples(40000, 7);
        const Histogram2d h = histogram2d(samples, 0, 1, {-4, 4}, {-4, 4}, 40, 40);
        const Grid2d smooth = smoothGaussian(h.counts, 1.0);
        const std::vector<double> masses{0.68, 0.95};
        const std::vector<double> levels = highestDensityLevels(smooth, masses, double(h.total));
        for (std::size_t k = 0; k < masses.size(); ++k) {
            // Fraction of the samples whose cell lies inside the region. Smoothing by one cell
            // (0.2) widens N(0, 1) to variance 1.04: the regions hold about 1% more.
            double inside = 0.0;
            for (std::size_t c = 0; c < smooth.values.size(); ++c)
                if (smooth.values[c] >= levels[k])
                    inside += h.counts.values[c];
            SBIW_COMPARE_NEAR(inside / double(h.total), masses[k], 0.025);
            const std::vector<Polyline> lines = contourLines(smooth.padded(1), levels[k]);
            QVERIFY(!lines.empty());
            // The longest line is the HPD circle; its area is pi r^2.
            const Polyline* longest = &lines[0];
            for (const Polyline& line : lines)
                if (line.size() > longest->size())
                    longest = &line;
            const double radius = std::sqrt(enclosedArea(*longest) / kPi);
            SBIW_COMPARE_NEAR(radius, gaussianRadius(masses[k]), 0.08);
        }
    }

    void circleContourOfARadialFunction() {
        const Grid2d field =
            sampleFunction(81, 81, -2, 2, -2, 2, [](double x, double y) { return x * x + y * y; });
        const std::vector<Polyline> lines = contourLines(field, 1.0);
        QCOMPARE(lines.size(), std::size_t(1));
        const Polyline& circle = lines[0];
        QVERIFY(circle.size() > 50);
        // Closed: it ends where it starts.
        QCOMPARE(circle.front().x, circle.back().x);
        QCOMPARE(circle.front().y, circle.back().y);
        for (const Point2d& p : circle)
            SBIW_COMPARE_NEAR(std::hypot(p.x, p.y), 1.0, 0.003);
        SBIW_COMPARE_NEAR(enclosedArea(circle), kPi, 0.01);
        QCOMPARE(contourSegments(field, 1.0).size(), circle.size() - 1);
    }

    void straightContourOfAPlaneIsOpen() {
        const Grid2d field = sampleFunction(10, 6, 0, 10, 0, 6, [](double x, double) { return x; });
        const std::vector<Polyline> lines = contourLines(field, 4.25);
        QCOMPARE(lines.size(), std::size_t(1));
        QCOMPARE(lines[0].size(), std::size_t(6));  // one crossing per row of cell centres
        for (const Point2d& p : lines[0])
            SBIW_COMPARE_NEAR(p.x, 4.25, 1e-12);
        // No crossings outside the range of the field; none at all for a level above it.
        QVERIFY(contourLines(field, 20.0).empty());
    }

    void saddleIsResolvedByTheCentre() {
        Grid2d field(2, 2, 0, 2, 0, 2);
        field.at(0, 0) = 1.0;
        field.at(1, 1) = 1.0;  // two diagonal highs, centre mean 0.5
        // Centre inside (level 0.4): the highs join, the two lows are cut off.
        auto segments = contourSegments(field, 0.4);
        QCOMPARE(segments.size(), std::size_t(2));
        for (const auto& [a, b] : segments) {
            const double midX = 0.5 * (a.x + b.x), midY = 0.5 * (a.y + b.y);
            // Each cut lies near a low corner: (1.5, 0.5) or (0.5, 1.5).
            QVERIFY(std::abs(midX - midY) > 0.5);
        }
        // Centre outside (level 0.6): the highs are cut off.
        segments = contourSegments(field, 0.6);
        QCOMPARE(segments.size(), std::size_t(2));
        for (const auto& [a, b] : segments) {
            const double midX = 0.5 * (a.x + b.x), midY = 0.5 * (a.y + b.y);
            QVERIFY(std::abs(midX - midY) < 1e-12);
        }
    }

    void paddingClosesContoursAtTheBorder() {
        // A plateau touching the left border: open without padding, closed with it.
        const Grid2d field = sampleFunction(10, 10, 0, 1, 0, 1,
                                            [](double x, double) { return x < 0.5 ? 1.0 : 0.0; });
        std::vector<Polyline> lines = contourLines(field, 0.5);
        QCOMPARE(lines.size(), std::size_t(1));
        QVERIFY(lines[0].front().y != lines[0].back().y);
        const Grid2d padded = field.padded(1);
        QCOMPARE(padded.nx, 12);
        SBIW_COMPARE_NEAR(padded.xMin, -0.1, 1e-12);
        QCOMPARE(padded.sum(), field.sum());
        lines = contourLines(padded, 0.5);
        QCOMPARE(lines.size(), std::size_t(1));
        QCOMPARE(lines[0].front().x, lines[0].back().x);
        QCOMPARE(lines[0].front().y, lines[0].back().y);
    }

    void levelsWhenMassIsOutsideTheGrid() {
        Grid2d grid(2, 1, 0, 2, 0, 1);
        grid.at(0, 0) = 3.0;
        grid.at(1, 0) = 1.0;
        // Of 4 units: 50% needs two thirds of the higher cell, whose value is the threshold.
        std::vector<double> levels = highestDensityLevels(grid, {0.5, 0.75, 0.9});
        SBIW_COMPARE_NEAR(levels[0], 3.0, 1e-12);
        SBIW_COMPARE_NEAR(levels[1], 3.0, 1e-12);
        QVERIFY(levels[2] > 1.0 && levels[2] < 3.0);
        // With 8 units in total only half lies on the grid: 90% cannot be reached.
        levels = highestDensityLevels(grid, {0.9}, 8.0);
        SBIW_COMPARE_NEAR(levels[0], 1.0, 1e-12);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, highestDensityLevels(grid, {1.0}));
        QCOMPARE(highestDensityLevels(Grid2d(3, 3, 0, 1, 0, 1), {0.5})[0], 0.0);
    }

    void cornerDensitiesOfGaussianSamples() {
        Matrix samples(20000, 3);
        RandomStream rng = test::testStream(3);
        for (Eigen::Index r = 0; r < samples.rows(); ++r)
            for (int j = 0; j < 3; ++j)
                samples(r, j) = rng.normal(double(j), 1.0);
        std::vector<std::pair<double, double>> ranges{{-5, 5}, {-4, 6}, {-3, 7}};
        CornerDensitySettings settings;
        settings.bins = 40;
        const CornerDensities densities = computeCornerDensities(samples, ranges, settings);
        QCOMPARE(densities.marginals.size(), std::size_t(3));
        QCOMPARE(densities.pairs.size(), std::size_t(3));
        const std::vector<std::pair<int, int>> order{{1, 0}, {2, 0}, {2, 1}};
        for (std::size_t p = 0; p < order.size(); ++p) {
            const PairDensity& pair = densities.pairs[p];
            QCOMPARE(pair.row, order[p].first);
            QCOMPARE(pair.column, order[p].second);
            QCOMPARE(pair.density.xMin, ranges[std::size_t(pair.column)].first);
            QCOMPARE(pair.density.yMax, ranges[std::size_t(pair.row)].second);
            // A density: integrates to (almost) 1 when the range holds (almost) every sample.
            SBIW_COMPARE_NEAR(pair.density.sum() * pair.density.dx() * pair.density.dy(), 1.0,
                              1e-3);
            // Peak of N(0, I) is 1 / (2 pi); smoothing by one bin (0.25) lowers it by 1/1.0625.
            SBIW_COMPARE_NEAR(pair.density.maximum(), 1.0 / (2.0 * kPi * 1.0625), 0.012);
            QCOMPARE(pair.levels.size(), std::size_t(2));
            SBIW_COMPARE_REL(pair.levels[0], 0.32 / (2.0 * kPi * 1.0625), 0.08);
            QVERIFY(pair.levels[1] < pair.levels[0]);
            QCOMPARE(pair.contours.size(), std::size_t(2));
            QVERIFY(!pair.contours[0].empty());
        }
        for (int j = 0; j < 3; ++j) {
            const MarginalDensity& marginal = densities.marginals[std::size_t(j)];
            QCOMPARE(marginal.histogram.total, std::int64_t(20000));
            // Bin 20 covers [j, j + 0.25): every sample there counts.
            std::int64_t inBin = 0;
            for (Eigen::Index r = 0; r < samples.rows(); ++r)
                inBin += samples(r, j) >= j && samples(r, j) < j + 0.25;
            QCOMPARE(marginal.histogram.counts[20], double(inBin));
            SBIW_COMPARE_NEAR(marginal.density[20], double(inBin) / (20000.0 * 0.25), 1e-15);
        }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 computeCornerDensities(samples, {{0, 1}}, settings));
    }

    void plottingRanges() {
        Matrix samples(101, 1);
        for (int r = 0; r <= 100; ++r)
            samples(r, 0) = r;  // 0..100
        const double inf = std::numeric_limits<double>::infinity();
        auto [low, high] = rangeFromSamples(samples, 0, -inf, inf, 0.1, 0.9, 0.1);
        SBIW_COMPARE_NEAR(low, 10.0 - 8.0, 1e-12);
        SBIW_COMPARE_NEAR(high, 90.0 + 8.0, 1e-12);
        std::tie(low, high) = rangeFromSamples(samples, 0, 0.0, 50.0);
        SBIW_COMPARE_NEAR(low, 0.0, 1e-12);
        SBIW_COMPARE_NEAR(high, 50.0, 1e-12);
        Matrix constant = Matrix::Constant(5, 1, 2.0);
        std::tie(low, high) = rangeFromSamples(constant, 0, -inf, inf);
        SBIW_COMPARE_NEAR(low, 1.8, 1e-12);
        SBIW_COMPARE_NEAR(high, 2.2, 1e-12);
        Matrix none = Matrix::Constant(3, 1, std::numeric_limits<double>::quiet_NaN());
        std::tie(low, high) = rangeFromSamples(none, 0, 0.0, inf);
        SBIW_COMPARE_NEAR(low, 0.0, 1e-12);
        SBIW_COMPARE_NEAR(high, 1.0, 1e-12);
    }
};

QTEST_APPLESS_MAIN(TestDensity2d)
#include "test_density2d.moc"
