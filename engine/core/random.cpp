#include "core/random.h"

#include <cmath>
#include <random>

namespace sbiw {

RandomStream::RandomStream(std::uint64_t seed, StreamPurpose purpose, std::uint64_t index) {
    key_ = {{seed, static_cast<std::uint64_t>(purpose)}};
    counter_ = {{index, 0, 0, 0}};
}

RandomStream::RandomStream(std::uint64_t seed, StreamPurpose purpose, std::uint64_t index,
                           const std::uint64_t* firstDraws, int used) {
    key_ = {{seed, static_cast<std::uint64_t>(purpose)}};
    counter_ = {{index, 1, 0, 0}};  // the first block is spent
    for (int i = 0; i < 4; ++i)
        buffer_[3 - i] = firstDraws[i];
    available_ = 4 - used;
}

void streamDraws(std::uint64_t seed, StreamPurpose purpose, std::uint64_t firstIndex,
                 std::int64_t rows, int blocks, std::uint64_t* out) {
    const r123::Philox4x64::key_type key = {{seed, static_cast<std::uint64_t>(purpose)}};
    r123::Philox4x64 generator;
    auto put = [](const r123::Philox4x64::ctr_type& block, std::uint64_t* to) {
        for (int i = 0; i < 4; ++i)
            to[i] = block[3 - i];  // nextBits() reads from the end
    };
    const std::int64_t stride = 4 * std::int64_t(blocks);
    std::int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const std::uint64_t index = firstIndex + std::uint64_t(r);
        for (int b = 0; b < blocks; ++b) {
            // Four independent blocks in flight: Philox is a chain of dependent multiplies.
            const auto b0 = generator({{index, std::uint64_t(b), 0, 0}}, key);
            const auto b1 = generator({{index + 1, std::uint64_t(b), 0, 0}}, key);
            const auto b2 = generator({{index + 2, std::uint64_t(b), 0, 0}}, key);
            const auto b3 = generator({{index + 3, std::uint64_t(b), 0, 0}}, key);
            std::uint64_t* to = out + r * stride + 4 * b;
            put(b0, to);
            put(b1, to + stride);
            put(b2, to + 2 * stride);
            put(b3, to + 3 * stride);
        }
    }
    for (; r < rows; ++r)
        for (int b = 0; b < blocks; ++b)
            put(generator({{firstIndex + std::uint64_t(r), std::uint64_t(b), 0, 0}}, key),
                out + r * stride + 4 * b);
}

void RandomStream::refill() {
    r123::Philox4x64 generator;
    buffer_ = generator(counter_, key_);
    ++counter_[1];
    available_ = 4;
}

namespace {

// Doornik's constants for 128 layers: R is the start of the tail, V the area of each layer.
constexpr double kTailStart = 3.442619855899;
constexpr double kLayerArea = 9.91256303526217e-3;

ZigguratTables makeZigguratTables() {
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

}  // namespace

const ZigguratTables& zigguratTables() {
    static const ZigguratTables tables = makeZigguratTables();
    return tables;
}

double RandomStream::normalSlowPath(int layer, double u) {
    const ZigguratTables& tables = zigguratTables();
    for (;;) {
        if (layer == 0) {
            // Marsaglia's method for the tail beyond kTailStart.
            double x, y;
            do {
                x = std::log(uniform()) / kTailStart;
                y = std::log(uniform());
            } while (-2.0 * y < x * x);
            return u < 0.0 ? x - kTailStart : kTailStart - x;
        }
        // Wedge: accept (x, y) with y uniform between the layer's bottom and top density.
        const double x = u * tables.x[layer];
        const double f0 = std::exp(-0.5 * (tables.x[layer] * tables.x[layer] - x * x));
        const double f1 = std::exp(-0.5 * (tables.x[layer + 1] * tables.x[layer + 1] - x * x));
        if (f1 + uniform() * (f0 - f1) < 1.0)
            return x;
        // Start again with a fresh draw.
        const std::uint64_t bits = nextBits();
        layer = int(bits & (ZigguratTables::kLayers - 1));
        u = (double(bits >> 12) + 0.5) * 0x1.0p-51 - 1.0;
        if (std::abs(u) < tables.r[layer])
            return u * tables.x[layer];
    }
}

double RandomStream::exponential(double rate) {
    return -std::log(uniform()) / rate;
}

double RandomStream::gamma(double shape, double scale) {
    if (shape < 1.0) {
        // Boost a shape < 1 to shape + 1 and correct with U^(1/shape) (Marsaglia & Tsang 2000).
        const double u = uniform();
        return gamma(shape + 1.0, scale) * std::pow(u, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
        double z, v;
        do {
            z = normal();
            v = 1.0 + c * z;
        } while (v <= 0.0);
        v = v * v * v;
        const double u = uniform();
        if (u < 1.0 - 0.0331 * z * z * z * z)
            return scale * d * v;
        if (std::log(u) < 0.5 * z * z + d * (1.0 - v + std::log(v)))
            return scale * d * v;
    }
}

double RandomStream::beta(double a, double b) {
    const double x = gamma(a);
    const double y = gamma(b);
    return x / (x + y);
}

std::int64_t RandomStream::binomial(std::int64_t trials, double p) {
    if (trials <= 0 || p <= 0.0)
        return 0;
    if (p >= 1.0)
        return trials;
    // libstdc++'s exact algorithm (Devroye) driven by this stream: deterministic for a given
    // standard library, which is what reproducibility across thread counts needs.
    std::binomial_distribution<std::int64_t> distribution(trials, p);
    return distribution(*this);
}

std::int64_t RandomStream::poisson(double mean) {
    if (mean <= 0.0)
        return 0;
    std::poisson_distribution<std::int64_t> distribution(mean);
    return distribution(*this);
}

std::uint64_t RandomStream::below(std::uint64_t n) {
    // Lemire's nearly divisionless method, unbiased.
    __extension__ typedef unsigned __int128 uint128;
    uint128 product = static_cast<uint128>(nextBits()) * n;
    auto low = static_cast<std::uint64_t>(product);
    if (low < n) {
        const std::uint64_t threshold = -n % n;
        while (low < threshold) {
            product = static_cast<uint128>(nextBits()) * n;
            low = static_cast<std::uint64_t>(product);
        }
    }
    return static_cast<std::uint64_t>(product >> 64);
}

}  // namespace sbiw
