// gaussian_linear(_uniform), two_moons and gaussian_mixture: the cheap sbibm tasks, written
// so that one simulation costs a few tens of nanoseconds (no allocation, no trigonometry).

#include <algorithm>

#include "simulators/tasks/sampling.h"
#include "simulators/tasks/tasks.h"

namespace sbiw::tasks {
namespace {

// x ~ N(θ, 0.1 I): sbibm's "scale" 0.1 is a variance.
class GaussianLinear final : public Simulator {
  public:
    int parameterDimension() const override { return 10; }
    int dataDimension() const override { return 10; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        constexpr double kStd = 0.31622776601683794;  // sqrt(0.1)
        for (int i = 0; i < 10; ++i)
            x[i] = theta[i] + kStd * rng.normal();
    }
};

// x = p(a, r) + (-|z0|, z1), a ~ U(-π/2, π/2), r ~ N(0.1, 0.01²): the direction takes the
// stream's first draw, the radius's normal the second (and more in its rare slow cases).
class TwoMoons final : public Simulator {
  public:
    int parameterDimension() const override { return 2; }
    int dataDimension() const override { return 2; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        double cosA, sinA;
        rightHalfDirection(rng, cosA, sinA);
        point(theta, cosA, sinA, rng.normal(), x);
    }

    // The same rows as simulate() with each row's stream, without a stream object or a
    // virtual call per row: the first Philox block of 64 rows at a time.
    SimulationRowsResult simulateRows(const SimulationRows& rows) const override {
        constexpr std::int64_t kTile = 64;
        const HalfCircleTables& circle = halfCircleTables();
        const ZigguratTables& ziggurat = zigguratTables();
        std::uint64_t draws[4 * kTile];
        for (std::int64_t begin = 0; begin < rows.rows; begin += kTile) {
            const std::int64_t n = std::min(kTile, rows.rows - begin);
            const std::uint64_t firstIndex = rows.firstIndex + std::uint64_t(begin);
            streamDraws(rows.seed, StreamPurpose::Simulator, firstIndex, n, 1, draws);
            for (std::int64_t r = 0; r < n; ++r) {
                const std::uint64_t* d = draws + 4 * r;
                double cosA, sinA, z;
                rightHalfDirectionFrom(circle, d[0], cosA, sinA);
                if (!RandomStream::zigguratFast(ziggurat, d[1], z)) {
                    RandomStream rng(rows.seed, StreamPurpose::Simulator,
                                     firstIndex + std::uint64_t(r), d, 2);
                    z = rng.normalFrom(d[1]);
                }
                const std::int64_t row = begin + r;
                point(rows.theta + 2 * row, cosA, sinA, z, rows.x + 2 * row);
            }
        }
        SimulationRowsResult result;
        result.completedRows = rows.rows;
        return result;
    }

  private:
    static void point(const double* theta, double cosA, double sinA, double z, double* x) {
        constexpr double kHalfSqrt2 = 0.70710678118654752;  // cos(π/4) = -sin(-π/4)
        const double r = 0.1 + 0.01 * z;
        const double p1 = r * cosA + 0.25;
        const double p2 = r * sinA;
        const double z0 = kHalfSqrt2 * (theta[0] + theta[1]);
        const double z1 = kHalfSqrt2 * (theta[1] - theta[0]);
        x[0] = p1 - std::abs(z0);
        x[1] = p2 + z1;
    }
};

// 0.5 N(θ, I) + 0.5 N(θ, 0.01 I) with one component index per simulation (sbibm >= 1.1.0).
class GaussianMixture final : public Simulator {
  public:
    int parameterDimension() const override { return 2; }
    int dataDimension() const override { return 2; }
    void simulate(const double* theta, double* x, RandomStream& rng) const override {
        const double stddev = (rng.nextBits() >> 63) != 0 ? 1.0 : 0.1;
        x[0] = theta[0] + stddev * rng.normal();
        x[1] = theta[1] + stddev * rng.normal();
    }
};

}  // namespace

std::unique_ptr<Simulator> makeGaussianLinear() {
    return std::make_unique<GaussianLinear>();
}
std::unique_ptr<Simulator> makeTwoMoons() {
    return std::make_unique<TwoMoons>();
}
std::unique_ptr<Simulator> makeGaussianMixture() {
    return std::make_unique<GaussianMixture>();
}

}  // namespace sbiw::tasks
