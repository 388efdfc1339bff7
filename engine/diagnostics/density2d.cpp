#include "diagnostics/density2d.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace sbiw {

namespace {

void checkRange(double low, double high, int bins, const char* what) {
    if (bins < 1)
        throw std::invalid_argument(std::string(what) + ": at least one bin is needed");
    if (!(std::isfinite(low) && std::isfinite(high) && low < high))
        throw std::invalid_argument(std::string(what) +
                                    ": the range must be finite and increasing");
}

// Bin of `value` in `bins` bins over [low, high], or -1 outside; the upper edge is inside.
int binOf(double value, double low, double high, int bins) {
    if (!(value >= low && value <= high))
        return -1;
    const int bin = static_cast<int>((value - low) / (high - low) * bins);
    return std::min(bin, bins - 1);
}

std::vector<double> gaussianKernel(double sigma) {
    const int radius = std::max(1, static_cast<int>(std::ceil(3.0 * sigma)));
    std::vector<double> kernel(std::size_t(2 * radius + 1));
    for (int k = -radius; k <= radius; ++k)
        kernel[std::size_t(k + radius)] = std::exp(-0.5 * k * k / (sigma * sigma));
    return kernel;
}

// Blurs `count` values spaced `stride` apart starting at `data`, renormalising the kernel over
// the values that exist (so the border keeps its mass).
void blurLine(double* data, int count, std::ptrdiff_t stride, const std::vector<double>& kernel,
              std::vector<double>& scratch) {
    const int radius = static_cast<int>(kernel.size() / 2);
    scratch.assign(std::size_t(count), 0.0);
    for (int i = 0; i < count; ++i) {
        const double value = data[i * stride];
        if (value == 0.0)
            continue;
        // Spread value i over its neighbours (scatter form): the weights that land inside the
        // line are renormalised, so each value's mass is kept exactly.
        const int first = std::max(0, i - radius), last = std::min(count - 1, i + radius);
        double weightInside = 0.0;
        for (int j = first; j <= last; ++j)
            weightInside += kernel[std::size_t(j - i + radius)];
        for (int j = first; j <= last; ++j)
            scratch[std::size_t(j)] += value * kernel[std::size_t(j - i + radius)] / weightInside;
    }
    for (int i = 0; i < count; ++i)
        data[i * stride] = scratch[std::size_t(i)];
}

}  // namespace

Histogram1d histogram1d(const Matrix& samples, int column, double low, double high, int bins) {
    checkRange(low, high, bins, "histogram1d");
    if (column < 0 || column >= samples.cols())
        throw std::invalid_argument("histogram1d: no such column");
    Histogram1d histogram;
    histogram.low = low;
    histogram.high = high;
    histogram.counts.assign(std::size_t(bins), 0.0);
    for (Eigen::Index r = 0; r < samples.rows(); ++r) {
        const double value = samples(r, column);
        if (!std::isfinite(value))
            continue;
        ++histogram.total;
        const int bin = binOf(value, low, high, bins);
        if (bin >= 0)
            histogram.counts[std::size_t(bin)] += 1.0;
    }
    return histogram;
}

Grid2d::Grid2d(int nx, int ny, double xMin, double xMax, double yMin, double yMax, double fill)
    : nx(nx),
      ny(ny),
      xMin(xMin),
      xMax(xMax),
      yMin(yMin),
      yMax(yMax),
      values(std::size_t(std::max(nx, 0)) * std::size_t(std::max(ny, 0)), fill) {}

double Grid2d::sum() const {
    double total = 0.0;
    for (double v : values)
        total += v;
    return total;
}

double Grid2d::maximum() const {
    return values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
}

Grid2d Grid2d::padded(int cells, double value) const {
    Grid2d out(nx + 2 * cells, ny + 2 * cells, xMin - cells * dx(), xMax + cells * dx(),
               yMin - cells * dy(), yMax + cells * dy(), value);
    for (int iy = 0; iy < ny; ++iy)
        for (int ix = 0; ix < nx; ++ix)
            out.at(ix + cells, iy + cells) = at(ix, iy);
    return out;
}

Histogram2d histogram2d(const Matrix& samples, int columnX, int columnY,
                        std::pair<double, double> xRange, std::pair<double, double> yRange,
                        int binsX, int binsY) {
    checkRange(xRange.first, xRange.second, binsX, "histogram2d (x)");
    checkRange(yRange.first, yRange.second, binsY, "histogram2d (y)");
    if (columnX < 0 || columnX >= samples.cols() || columnY < 0 || columnY >= samples.cols())
        throw std::invalid_argument("histogram2d: no such column");
    Histogram2d histogram;
    histogram.counts =
        Grid2d(binsX, binsY, xRange.first, xRange.second, yRange.first, yRange.second);
    for (Eigen::Index r = 0; r < samples.rows(); ++r) {
        const double x = samples(r, columnX), y = samples(r, columnY);
        if (!std::isfinite(x) || !std::isfinite(y))
            continue;
        ++histogram.total;
        const int ix = binOf(x, xRange.first, xRange.second, binsX);
        const int iy = binOf(y, yRange.first, yRange.second, binsY);
        if (ix >= 0 && iy >= 0)
            histogram.counts.at(ix, iy) += 1.0;
    }
    return histogram;
}

void smoothGaussian(std::vector<double>& values, double sigmaCells) {
    if (!(sigmaCells > 0.0) || values.empty())
        return;
    const std::vector<double> kernel = gaussianKernel(sigmaCells);
    std::vector<double> scratch;
    blurLine(values.data(), static_cast<int>(values.size()), 1, kernel, scratch);
}

Grid2d smoothGaussian(const Grid2d& grid, double sigmaCells) {
    Grid2d out = grid;
    if (!(sigmaCells > 0.0) || grid.values.empty())
        return out;
    const std::vector<double> kernel = gaussianKernel(sigmaCells);
    std::vector<double> scratch;
    for (int iy = 0; iy < grid.ny; ++iy)
        blurLine(&out.at(0, iy), grid.nx, 1, kernel, scratch);
    for (int ix = 0; ix < grid.nx; ++ix)
        blurLine(&out.at(ix, 0), grid.ny, grid.nx, kernel, scratch);
    return out;
}

std::vector<double> highestDensityLevels(const Grid2d& density, const std::vector<double>& masses,
                                         double totalMass) {
    std::vector<double> sorted;
    sorted.reserve(density.values.size());
    for (double v : density.values)
        if (v > 0.0)
            sorted.push_back(v);
    std::sort(sorted.begin(), sorted.end(), std::greater<double>());
    if (!(totalMass > 0.0)) {
        totalMass = 0.0;
        for (double v : sorted)
            totalMass += v;
    }
    std::vector<double> levels;
    for (double mass : masses) {
        if (!(mass > 0.0 && mass < 1.0))
            throw std::invalid_argument("highestDensityLevels: masses must lie in (0, 1)");
        if (sorted.empty()) {
            levels.push_back(0.0);
            continue;
        }
        const double target = mass * totalMass;
        double cumulative = 0.0;
        double level = sorted.back();  // unreachable mass: the whole positive support
        for (std::size_t k = 0; k < sorted.size(); ++k) {
            const double before = cumulative;
            cumulative += sorted[k];
            if (cumulative >= target) {
                // Take only the share of cell k's mass that is still needed, and move the
                // threshold from the previous cell's value towards this one by that share, so
                // the level changes smoothly with the mass instead of jumping cell by cell.
                const double share = (target - before) / sorted[k];
                const double previous = k == 0 ? sorted[0] : sorted[k - 1];
                level = previous - share * (previous - sorted[k]);
                break;
            }
        }
        levels.push_back(level);
    }
    return levels;
}

namespace {

struct EdgeCrossing {
    std::int64_t edge;  // unique id of the cell edge the point lies on
    Point2d point;
};

// Marching squares over the cell centres; calls emit(a, b) for every segment.
template <typename Emit>
void marchSquares(const Grid2d& field, double level, Emit&& emit) {
    const int nx = field.nx, ny = field.ny;
    if (nx < 2 || ny < 2)
        return;
    const std::int64_t verticalBase = std::int64_t(nx) * ny;
    auto crossing = [&](int ax, int ay, int bx, int by) {
        const double va = field.at(ax, ay), vb = field.at(bx, by);
        const double t = (level - va) / (vb - va);
        const double xa = field.xCentre(ax), ya = field.yCentre(ay);
        const double xb = field.xCentre(bx), yb = field.yCentre(by);
        // Horizontal edges (same y) get ids below verticalBase, vertical ones above it.
        const std::int64_t id = ay == by ? std::int64_t(ay) * nx + std::min(ax, bx)
                                         : verticalBase + std::int64_t(std::min(ay, by)) * nx + ax;
        return EdgeCrossing{id, {xa + t * (xb - xa), ya + t * (yb - ya)}};
    };
    for (int iy = 0; iy + 1 < ny; ++iy) {
        for (int ix = 0; ix + 1 < nx; ++ix) {
            const double v0 = field.at(ix, iy), v1 = field.at(ix + 1, iy);
            const double v2 = field.at(ix + 1, iy + 1), v3 = field.at(ix, iy + 1);
            const int index =
                (v0 >= level) | (v1 >= level) << 1 | (v2 >= level) << 2 | (v3 >= level) << 3;
            if (index == 0 || index == 15)
                continue;
            // Edges: 0 bottom (v0-v1), 1 right (v1-v2), 2 top (v3-v2), 3 left (v0-v3).
            auto edge = [&](int which) {
                switch (which) {
                    case 0:
                        return crossing(ix, iy, ix + 1, iy);
                    case 1:
                        return crossing(ix + 1, iy, ix + 1, iy + 1);
                    case 2:
                        return crossing(ix, iy + 1, ix + 1, iy + 1);
                    default:
                        return crossing(ix, iy, ix, iy + 1);
                }
            };
            auto segment = [&](int a, int b) { emit(edge(a), edge(b)); };
            const bool centreInside = 0.25 * (v0 + v1 + v2 + v3) >= level;
            switch (index) {
                case 1:
                case 14:
                    segment(3, 0);
                    break;
                case 2:
                case 13:
                    segment(0, 1);
                    break;
                case 3:
                case 12:
                    segment(3, 1);
                    break;
                case 4:
                case 11:
                    segment(1, 2);
                    break;
                case 6:
                case 9:
                    segment(0, 2);
                    break;
                case 7:
                case 8:
                    segment(3, 2);
                    break;
                case 5:  // v0 and v2 inside: cut off the outside corners if the centre joins them
                    if (centreInside) {
                        segment(0, 1);
                        segment(2, 3);
                    } else {
                        segment(3, 0);
                        segment(1, 2);
                    }
                    break;
                case 10:  // v1 and v3 inside
                    if (centreInside) {
                        segment(3, 0);
                        segment(1, 2);
                    } else {
                        segment(0, 1);
                        segment(2, 3);
                    }
                    break;
                default:
                    break;
            }
        }
    }
}

}  // namespace

std::vector<std::pair<Point2d, Point2d>> contourSegments(const Grid2d& field, double level) {
    std::vector<std::pair<Point2d, Point2d>> segments;
    marchSquares(field, level, [&](const EdgeCrossing& a, const EdgeCrossing& b) {
        segments.emplace_back(a.point, b.point);
    });
    return segments;
}

std::vector<Polyline> contourLines(const Grid2d& field, double level) {
    std::vector<std::pair<EdgeCrossing, EdgeCrossing>> segments;
    marchSquares(field, level, [&](const EdgeCrossing& a, const EdgeCrossing& b) {
        segments.emplace_back(a, b);
    });
    // Every crossing lies on one cell edge shared by at most two cells, so segments meet
    // exactly where their edge ids match: chaining by id needs no tolerance.
    std::unordered_map<std::int64_t, std::vector<std::size_t>> byEdge;
    for (std::size_t s = 0; s < segments.size(); ++s) {
        byEdge[segments[s].first.edge].push_back(s);
        byEdge[segments[s].second.edge].push_back(s);
    }
    std::vector<bool> used(segments.size(), false);
    // From `edge`, the unused segment touching it, or none.
    auto nextAt = [&](std::int64_t edge) -> std::ptrdiff_t {
        for (std::size_t s : byEdge[edge])
            if (!used[s])
                return std::ptrdiff_t(s);
        return -1;
    };
    // Walks from `edge` through unused segments, returning the crossings passed.
    auto walk = [&](std::int64_t edge) {
        std::vector<EdgeCrossing> path;
        for (std::ptrdiff_t s = nextAt(edge); s >= 0; s = nextAt(edge)) {
            used[std::size_t(s)] = true;
            const auto& [a, b] = segments[std::size_t(s)];
            const EdgeCrossing& far = a.edge == edge ? b : a;
            path.push_back(far);
            edge = far.edge;
        }
        return path;
    };
    std::vector<Polyline> lines;
    for (std::size_t start = 0; start < segments.size(); ++start) {
        if (used[start])
            continue;
        used[start] = true;
        const auto& [a, b] = segments[start];
        const std::vector<EdgeCrossing> forward = walk(b.edge);
        const std::vector<EdgeCrossing> backward = walk(a.edge);
        Polyline line;
        line.reserve(forward.size() + backward.size() + 2);
        for (auto it = backward.rbegin(); it != backward.rend(); ++it)
            line.push_back(it->point);
        line.push_back(a.point);
        line.push_back(b.point);
        for (const EdgeCrossing& c : forward)
            line.push_back(c.point);
        lines.push_back(std::move(line));
    }
    return lines;
}

CornerDensities computeCornerDensities(const Matrix& samples,
                                       const std::vector<std::pair<double, double>>& ranges,
                                       const CornerDensitySettings& settings) {
    const int d = static_cast<int>(samples.cols());
    if (ranges.size() != std::size_t(d))
        throw std::invalid_argument("computeCornerDensities: " + std::to_string(ranges.size()) +
                                    " ranges for " + std::to_string(d) + " parameters");
    CornerDensities result;
    result.marginals.reserve(std::size_t(d));
    for (int j = 0; j < d; ++j) {
        MarginalDensity marginal;
        marginal.histogram = histogram1d(samples, j, ranges[std::size_t(j)].first,
                                         ranges[std::size_t(j)].second, settings.bins);
        const double scale =
            marginal.histogram.total > 0
                ? 1.0 / (double(marginal.histogram.total) * marginal.histogram.binWidth())
                : 0.0;
        for (double count : marginal.histogram.counts)
            marginal.density.push_back(count * scale);
        result.marginals.push_back(std::move(marginal));
    }
    for (int i = 1; i < d; ++i) {
        for (int j = 0; j < i; ++j) {
            PairDensity pair;
            pair.row = i;
            pair.column = j;
            const Histogram2d histogram =
                histogram2d(samples, j, i, ranges[std::size_t(j)], ranges[std::size_t(i)],
                            settings.bins, settings.bins);
            Grid2d smooth = smoothGaussian(histogram.counts, settings.smoothingCells);
            if (histogram.total > 0 && smooth.maximum() > 0.0) {
                pair.levels =
                    highestDensityLevels(smooth, settings.credibleMasses, double(histogram.total));
                // Zeros outside the range: regions cut by the border still close, just outside.
                const Grid2d padded = smooth.padded(1);
                for (double level : pair.levels)
                    pair.contours.push_back(contourLines(padded, level));
            } else {
                pair.levels.assign(settings.credibleMasses.size(), 0.0);
                pair.contours.assign(settings.credibleMasses.size(), {});
            }
            const double scale = histogram.total > 0
                                     ? 1.0 / (double(histogram.total) * smooth.dx() * smooth.dy())
                                     : 0.0;
            for (double& v : smooth.values)
                v *= scale;
            for (double& level : pair.levels)
                level *= scale;
            pair.density = std::move(smooth);
            result.pairs.push_back(std::move(pair));
        }
    }
    return result;
}

std::pair<double, double> rangeFromSamples(const Matrix& samples, int column, double lowerBound,
                                           double upperBound, double lowQuantile,
                                           double highQuantile, double padding) {
    if (column < 0 || column >= samples.cols())
        throw std::invalid_argument("rangeFromSamples: no such column");
    std::vector<double> values;
    values.reserve(std::size_t(samples.rows()));
    for (Eigen::Index r = 0; r < samples.rows(); ++r)
        if (std::isfinite(samples(r, column)))
            values.push_back(samples(r, column));
    if (values.empty()) {
        const double low = std::isfinite(lowerBound) ? lowerBound : -1.0;
        const double high = std::isfinite(upperBound) ? upperBound : 1.0;
        return low < high ? std::make_pair(low, high) : std::make_pair(low, low + 1.0);
    }
    std::sort(values.begin(), values.end());
    auto quantile = [&](double p) {  // linear between order statistics (type 7)
        const double position = std::clamp(p, 0.0, 1.0) * double(values.size() - 1);
        const auto below = static_cast<std::size_t>(std::floor(position));
        const std::size_t above = std::min(below + 1, values.size() - 1);
        return values[below] + (position - double(below)) * (values[above] - values[below]);
    };
    double low = quantile(lowQuantile), high = quantile(highQuantile);
    if (!(high > low)) {
        const double half = low == 0.0 ? 1.0 : 0.1 * std::abs(low);
        low -= half;
        high += half;
    } else {
        const double margin = padding * (high - low);
        low -= margin;
        high += margin;
    }
    const double clippedLow = std::max(low, lowerBound);
    const double clippedHigh = std::min(high, upperBound);
    if (clippedHigh > clippedLow)
        return {clippedLow, clippedHigh};
    // Samples entirely outside the bounds: show the bounds if they are finite, else the samples.
    if (std::isfinite(lowerBound) && std::isfinite(upperBound) && lowerBound < upperBound)
        return {lowerBound, upperBound};
    return {low, high};
}

}  // namespace sbiw
