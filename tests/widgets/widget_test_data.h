#pragma once
// Realistic samples for widget tests and screenshots: a banana-shaped (two-moons-like) posterior
// in the first two parameters, correlated Gaussians in the rest.

#include <cmath>

#include <QString>

#include "core/matrix.h"
#include "core/random.h"
#include "support/screenshots.h"
#include "support/test_support.h"

namespace sbiw::test {

inline Matrix bananaSamples(Eigen::Index count, int dimension, std::uint64_t seed,
                            double shift = 0.0) {
    RandomStream rng = testStream(seed);
    Matrix samples(count, dimension);
    for (Eigen::Index r = 0; r < count; ++r) {
        const double angle = rng.normal(0.0, 0.7);
        const double radius = 0.4 + rng.normal(0.0, 0.04);
        samples(r, 0) = radius * std::cos(angle) - 0.25 + shift;
        if (dimension > 1)
            samples(r, 1) = radius * std::sin(angle) + shift;
        for (int j = 2; j < dimension; ++j)
            samples(r, j) = 0.5 * samples(r, j - 1) + rng.normal(0.1 * j, 0.15);
    }
    return samples;
}

}  // namespace sbiw::test
