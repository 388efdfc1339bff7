#pragma once
// Density summaries of posterior samples for corner plots, kept free of Qt so they can be tested
// against known answers: 1-D and 2-D histograms, Gaussian smoothing, highest-density credible
// levels (the density threshold whose super-level set holds a given mass) and contour lines
// through a gridded field (marching squares, joined into polylines).
//
// Grids hold values at cell centres: cell (ix, iy) covers [xMin + ix dx, xMin + (ix + 1) dx) and
// likewise in y; values are row-major in y (values[iy * nx + ix]).

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/matrix.h"

namespace sbiw {

struct Histogram1d {
    double low = 0, high = 1;  // range covered by the bins
    std::vector<double> counts;
    std::int64_t total = 0;  // finite samples, including those outside [low, high]
    double binWidth() const { return (high - low) / double(counts.size()); }
    double binCentre(std::size_t bin) const { return low + (double(bin) + 0.5) * binWidth(); }
};

// Counts of samples(:, column) in `bins` equal bins over [low, high]; the upper edge belongs to
// the last bin. Non-finite values are ignored; values outside the range count only in `total`.
Histogram1d histogram1d(const Matrix& samples, int column, double low, double high, int bins);

struct Grid2d {
    int nx = 0, ny = 0;
    double xMin = 0, xMax = 1, yMin = 0, yMax = 1;
    std::vector<double> values;  // ny * nx, row-major in y

    Grid2d() = default;
    Grid2d(int nx, int ny, double xMin, double xMax, double yMin, double yMax, double fill = 0.0);

    double& at(int ix, int iy) {
        return values[std::size_t(iy) * std::size_t(nx) + std::size_t(ix)];
    }
    double at(int ix, int iy) const {
        return values[std::size_t(iy) * std::size_t(nx) + std::size_t(ix)];
    }
    double dx() const { return (xMax - xMin) / nx; }
    double dy() const { return (yMax - yMin) / ny; }
    double xCentre(int ix) const { return xMin + (ix + 0.5) * dx(); }
    double yCentre(int iy) const { return yMin + (iy + 0.5) * dy(); }
    double sum() const;
    double maximum() const;

    // The same grid with `cells` extra cells of `value` on every side (same cell size), so that
    // contours of regions touching the border close just outside it instead of stopping open.
    Grid2d padded(int cells, double value = 0.0) const;
};

// Grid of a function evaluated at the cell centres (for tests and analytic densities).
template <typename Function>
Grid2d sampleFunction(int nx, int ny, double xMin, double xMax, double yMin, double yMax,
                      Function&& function) {
    Grid2d grid(nx, ny, xMin, xMax, yMin, yMax);
    for (int iy = 0; iy < ny; ++iy)
        for (int ix = 0; ix < nx; ++ix)
            grid.at(ix, iy) = function(grid.xCentre(ix), grid.yCentre(iy));
    return grid;
}

struct Histogram2d {
    Grid2d counts;
    std::int64_t total = 0;  // rows finite in both columns, including those outside the grid
};

// Joint counts of (samples(:, columnX), samples(:, columnY)) on a binsX x binsY grid.
Histogram2d histogram2d(const Matrix& samples, int columnX, int columnY,
                        std::pair<double, double> xRange, std::pair<double, double> yRange,
                        int binsX, int binsY);

// Separable Gaussian blur with standard deviation `sigmaCells` (in cells), truncated at 3 sigma.
// Near the border the kernel is renormalised over the cells inside, so no mass leaves the grid.
// sigmaCells <= 0 returns the input unchanged.
void smoothGaussian(std::vector<double>& values, double sigmaCells);
Grid2d smoothGaussian(const Grid2d& grid, double sigmaCells);

// For each mass p in `masses` (0 < p < 1), the density threshold t such that the cells with
// value >= t hold a fraction p of `totalMass` (the highest-density credible region's boundary).
// totalMass <= 0 means the grid's sum; pass the sample count when some samples fell outside the
// grid. The threshold is interpolated linearly between consecutive sorted cell values. A mass
// that the grid cannot reach (too many samples outside) gives the smallest positive value.
std::vector<double> highestDensityLevels(const Grid2d& density, const std::vector<double>& masses,
                                         double totalMass = 0.0);

struct Point2d {
    double x = 0, y = 0;
};
using Polyline = std::vector<Point2d>;  // closed polylines repeat their first point at the end

// Line segments where the field (sampled at cell centres) crosses `level`, by marching squares
// with linear interpolation along the cell edges. Saddle cells are resolved by the mean of their
// four corners.
std::vector<std::pair<Point2d, Point2d>> contourSegments(const Grid2d& field, double level);

// The same crossings joined into polylines (closed ones end where they start).
std::vector<Polyline> contourLines(const Grid2d& field, double level);

// ---- everything a corner plot draws, for one set of samples ----

struct CornerDensitySettings {
    int bins = 30;                                   // per axis, for 1-D and 2-D histograms
    double smoothingCells = 1.0;                     // Gaussian blur of the 2-D histograms, in bins
    std::vector<double> credibleMasses{0.68, 0.95};  // HPD regions outlined by contours
};

struct MarginalDensity {
    Histogram1d histogram;
    std::vector<double> density;  // counts / (total * bin width): integrates to the share inside
};

struct PairDensity {
    int row = 0, column = 0;     // parameter on the y axis (row) and on the x axis (column)
    Grid2d density;              // smoothed counts / (total * dx * dy)
    std::vector<double> levels;  // density threshold per credible mass
    std::vector<std::vector<Polyline>> contours;  // per credible mass
};

struct CornerDensities {
    std::vector<MarginalDensity> marginals;  // one per parameter
    std::vector<PairDensity> pairs;          // every row > column, row-major
};

// Histograms of every parameter over ranges[j], and for every pair (i > j) the smoothed 2-D
// density with its HPD levels and contours (closed across the plotting range's border). Throws
// std::invalid_argument when ranges.size() differs from samples.cols() or a range is empty.
CornerDensities computeCornerDensities(const Matrix& samples,
                                       const std::vector<std::pair<double, double>>& ranges,
                                       const CornerDensitySettings& settings = {});

// A plotting range for samples(:, column): the [lowQuantile, highQuantile] interval widened by
// `padding` of its width on each side, then clipped to [lowerBound, upperBound] (pass
// infinities for an unbounded prior). Without finite samples: the bounds where finite, else
// [-1, 1]; a constant column gets +-10% of its value (+-1 around 0).
std::pair<double, double> rangeFromSamples(const Matrix& samples, int column, double lowerBound,
                                           double upperBound, double lowQuantile = 0.005,
                                           double highQuantile = 0.995, double padding = 0.1);

}  // namespace sbiw
