#pragma once
// Counter-based random streams (Random123 Philox4x64-10).
//
// Every random draw in the engine comes from a stream identified by (seed, purpose, index):
// simulation i of a run uses stream (seed, Simulator, i) whatever thread runs it, so the same seed
// gives the same (θ, x) for any thread count. Streams are cheap to create (no state to warm up).

#include <cmath>
#include <cstdint>
#include <limits>

#include <Random123/philox.h>

namespace sbiw {

// Tables of Doornik's ziggurat (J. A. Doornik, "An Improved Ziggurat Method to Generate Normal
// Random Samples", 2005) with 128 layers: x[i] is the right edge of layer i, r[i] = x[i+1]/x[i]
// the share of the layer that lies entirely under the density.
struct ZigguratTables {
    static constexpr int kLayers = 128;
    double x[kLayers + 1];
    double r[kLayers];
};
const ZigguratTables& zigguratTables();  // computed once, thread-safe

// Separates the streams of different consumers that share one seed and index.
enum class StreamPurpose : std::uint64_t {
    Prior = 1,        // drawing θ from the prior for simulation i
    Simulator = 2,    // the simulator's noise for simulation i
    Observation = 3,  // generating a synthetic observation
    Training = 4,     // shuffling, initialisation, dropout
    Sampling = 5,     // posterior sampling, MCMC chains
    Diagnostics = 6,  // SBC / coverage draws
    Test = 7,         // tests and benchmarks
    Abc = 8,          // ABC: perturbation kernels, resampling, KDE draws
};

class RandomStream {
  public:
    using result_type = std::uint64_t;  // UniformRandomBitGenerator, usable with <random>

    RandomStream(std::uint64_t seed, StreamPurpose purpose, std::uint64_t index);
    // Stream (seed, purpose, index) after `used` (0..4) of its first four draws, given those
    // draws as streamDraws() returns them: it goes on exactly as the stream itself would.
    RandomStream(std::uint64_t seed, StreamPurpose purpose, std::uint64_t index,
                 const std::uint64_t* firstDraws, int used);

    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
    result_type operator()() { return nextBits(); }

    std::uint64_t nextBits() {
        if (available_ == 0)
            refill();
        return buffer_[--available_];
    }

    // Uniform on the open interval (0, 1): never returns exactly 0 or 1.
    // 52 random bits centred in their cell: the largest value is 1 - 2^-53, exactly
    // representable, so rounding can never produce 1.0 (53 bits + 0.5 could).
    double uniform() { return uniformFrom(nextBits()); }
    static double uniformFrom(std::uint64_t bits) {
        return (static_cast<double>(bits >> 12) + 0.5) * 0x1.0p-52;
    }
    double uniform(double low, double high) { return low + (high - low) * uniform(); }
    // Standard normal by the ziggurat: one 64-bit draw and no logarithm in ~99% of calls.
    // The layer comes from the low 7 bits, u in (-1, 1) from the top 52 bits (disjoint, so
    // independent).
    double normal() { return normalFrom(nextBits()); }
    // What normal() returns when its first draw is `bits`; the rare wedge and tail cases draw
    // more from this stream.
    double normalFrom(std::uint64_t bits) {
        double z;
        if (zigguratFast(zigguratTables(), bits, z))
            return z;
        const int layer = int(bits & (ZigguratTables::kLayers - 1));
        return normalSlowPath(layer, (double(bits >> 12) + 0.5) * 0x1.0p-51 - 1.0);
    }
    // The ziggurat's common case: true, with z set, when one draw `bits` settles the normal
    // (~99%); false when normalFrom(bits) must finish it.
    static bool zigguratFast(const ZigguratTables& tables, std::uint64_t bits, double& z) {
        const int layer = int(bits & (ZigguratTables::kLayers - 1));
        const double u = (double(bits >> 12) + 0.5) * 0x1.0p-51 - 1.0;
        z = u * tables.x[layer];
        return std::abs(u) < tables.r[layer];
    }
    double normal(double mean, double stddev) { return mean + stddev * normal(); }
    double exponential(double rate);
    double gamma(double shape, double scale = 1.0);  // Marsaglia-Tsang
    double beta(double a, double b);
    double chiSquared(double degreesOfFreedom) { return 2.0 * gamma(0.5 * degreesOfFreedom); }
    bool bernoulli(double p) { return uniform() < p; }
    std::int64_t binomial(std::int64_t trials, double p);
    std::int64_t poisson(double mean);
    // Uniform integer in [0, n).
    std::uint64_t below(std::uint64_t n);

  private:
    void refill();
    double normalSlowPath(int layer, double u);  // wedges and tail

    r123::Philox4x64::ctr_type counter_;
    r123::Philox4x64::key_type key_;
    r123::Philox4x64::ctr_type buffer_;
    int available_ = 0;
};

// The first 4 * blocks draws of each stream (seed, purpose, firstIndex + r), r in [0, rows), in
// the order nextBits() returns them: row r's at out[4 * blocks * r ...]. Many streams at once
// for the cheap simulators and priors that need only a few draws per row (the Philox blocks of
// neighbouring rows are independent, so the processor overlaps them).
void streamDraws(std::uint64_t seed, StreamPurpose purpose, std::uint64_t firstIndex,
                 std::int64_t rows, int blocks, std::uint64_t* out);

}  // namespace sbiw
