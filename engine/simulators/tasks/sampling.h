#pragma once
// Fast draws for the built-in simulators, where the random numbers are most of the work (a
// two_moons simulation costs tens of nanoseconds). Standard normals come from RandomStream's
// ziggurat; the Bernoulli draws use 32-bit
// uniforms, plenty for simulators that sbibm runs in float32.

#include <cmath>
#include <cstdint>

#include "core/random.h"

namespace sbiw::tasks {

// Uniform on (0, 1) from 32 bits: never exactly 0 or 1.
inline double unitFrom32(std::uint32_t bits) {
    return (double(bits) + 0.5) * 0x1.0p-32;
}

inline double normal(RandomStream& rng) {
    return rng.normal();
}

// n independent standard normals.
inline void fillNormals(RandomStream& rng, double* out, int n) {
    for (int i = 0; i < n; ++i)
        out[i] = rng.normal();
}

// cos and sin at the centres of 256 equal bins of (-π/2, π/2).
struct HalfCircleTables {
    static constexpr int kBins = 256;
    double cosCentre[kBins];
    double sinCentre[kBins];
};
const HalfCircleTables& halfCircleTables();  // computed once, thread-safe

// (cos a, sin a) for a ~ U(-π/2, π/2) from one 64-bit draw `bits`: the top 8 bits pick a bin, the
// low 52 bits the offset d within it (|d| <= π/512), and the angle-addition formulas with short
// Taylor series for cos d and sin d (truncation error < 1e-19) finish the job: no sincos, no
// rejection loop, no division.
inline void rightHalfDirectionFrom(const HalfCircleTables& tables, std::uint64_t bits, double& cosA,
                                   double& sinA) {
    constexpr double kBinWidth = 3.14159265358979323846 / HalfCircleTables::kBins;
    const int bin = int(bits >> 56);
    const double offset = (double(bits & ((std::uint64_t(1) << 52) - 1)) + 0.5) * 0x1.0p-52;
    const double d = kBinWidth * (offset - 0.5);
    const double d2 = d * d;
    const double cosD = 1.0 + d2 * (-1.0 / 2 + d2 * (1.0 / 24 - d2 * (1.0 / 720)));
    const double sinD = d * (1.0 + d2 * (-1.0 / 6 + d2 * (1.0 / 120)));
    cosA = tables.cosCentre[bin] * cosD - tables.sinCentre[bin] * sinD;
    sinA = tables.sinCentre[bin] * cosD + tables.cosCentre[bin] * sinD;
}
inline void rightHalfDirection(RandomStream& rng, double& cosA, double& sinA) {
    rightHalfDirectionFrom(halfCircleTables(), rng.nextBits(), cosA, sinA);
}

}  // namespace sbiw::tasks
