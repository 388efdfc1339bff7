#include "simulators/tasks/sampling.h"

namespace sbiw::tasks {
namespace {

// Doornik's constants for 128 layers: R is the start of the tail, V the area of each layer.
constexpr double kTailStart = 3.442619855899;
constexpr double kLayerArea = 9.91256303526217e-3;

ZigguratTables makeTables() {
    ZigguratTables t{};
    constexpr int n = ZigguratTables::kLayers;
    double f = std::exp(-0.5 * kTailStart * kTailStart);
    t.x[0] = kLayerArea / f;  // the bottom layer: a rectangle of area V with the tail beside it
    t.x[1] = kTailStart;
    t.x[n] = 0.0;
    for (int i = 2; i < n; ++i) {
        t.x[i] = std::sqrt(-2.0 * std::log(kLayerArea / t.x[i - 1] + f));
        f = std::exp(-0.5 * t.x[i] * t.x[i]);
    }
    for (int i = 0; i < n; ++i)
        t.r[i] = t.x[i + 1] / t.x[i];
    return t;
}

// Marsaglia's method for the tail beyond `start`.
double normalTail(RandomStream& rng, double start, bool negative) {
    double x, y;
    do {
        x = std::log(rng.uniform()) / start;
        y = std::log(rng.uniform());
    } while (-2.0 * y < x * x);
    return negative ? x - start : start - x;
}

}  // namespace

const HalfCircleTables& halfCircleTables() {
    static const HalfCircleTables tables = [] {
        constexpr double kPi = 3.14159265358979323846;
        HalfCircleTables t{};
        for (int i = 0; i < HalfCircleTables::kBins; ++i) {
            const double centre = -kPi / 2 + kPi * (i + 0.5) / HalfCircleTables::kBins;
            t.cosCentre[i] = std::cos(centre);
            t.sinCentre[i] = std::sin(centre);
        }
        return t;
    }();
    return tables;
}

const ZigguratTables& zigguratTables() {
    static const ZigguratTables tables = makeTables();
    return tables;
}

double normalSlowPath(RandomStream& rng, const ZigguratTables& tables, int layer, double u) {
    for (;;) {
        if (layer == 0)
            return normalTail(rng, kTailStart, u < 0.0);
        // Wedge: accept (x, y) with y uniform between the layer's bottom and top density.
        const double x = u * tables.x[layer];
        const double f0 = std::exp(-0.5 * (tables.x[layer] * tables.x[layer] - x * x));
        const double f1 = std::exp(-0.5 * (tables.x[layer + 1] * tables.x[layer + 1] - x * x));
        if (f1 + rng.uniform() * (f0 - f1) < 1.0)
            return x;
        // Start again with a fresh draw.
        const std::uint64_t bits = rng.nextBits();
        layer = int(bits & (ZigguratTables::kLayers - 1));
        u = (double(bits >> 12) + 0.5) * 0x1.0p-51 - 1.0;
        if (std::abs(u) < tables.r[layer])
            return u * tables.x[layer];
    }
}

}  // namespace sbiw::tasks
