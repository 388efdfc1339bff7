#include "core/random.h"

#include <cmath>
#include <random>

namespace sbiw {

RandomStream::RandomStream(std::uint64_t seed, StreamPurpose purpose, std::uint64_t index) {
    key_ = {{seed, static_cast<std::uint64_t>(purpose)}};
    counter_ = {{index, 0, 0, 0}};
}

void RandomStream::refill() {
    r123::Philox4x64 generator;
    buffer_ = generator(counter_, key_);
    ++counter_[1];
    available_ = 4;
}

double RandomStream::normal() {
    // Marsaglia's polar method: two normals per accepted pair, no trigonometry.
    if (hasSpareNormal_) {
        hasSpareNormal_ = false;
        return spareNormal_;
    }
    double u, v, s;
    do {
        u = 2.0 * uniform() - 1.0;
        v = 2.0 * uniform() - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double factor = std::sqrt(-2.0 * std::log(s) / s);
    spareNormal_ = v * factor;
    hasSpareNormal_ = true;
    return u * factor;
}

double RandomStream::exponential(double rate) { return -std::log(uniform()) / rate; }

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
        if (u < 1.0 - 0.0331 * z * z * z * z) return scale * d * v;
        if (std::log(u) < 0.5 * z * z + d * (1.0 - v + std::log(v))) return scale * d * v;
    }
}

double RandomStream::beta(double a, double b) {
    const double x = gamma(a);
    const double y = gamma(b);
    return x / (x + y);
}

std::int64_t RandomStream::binomial(std::int64_t trials, double p) {
    if (trials <= 0 || p <= 0.0) return 0;
    if (p >= 1.0) return trials;
    // libstdc++'s exact algorithm (Devroye) driven by this stream: deterministic for a given
    // standard library, which is what reproducibility across thread counts needs.
    std::binomial_distribution<std::int64_t> distribution(trials, p);
    return distribution(*this);
}

std::int64_t RandomStream::poisson(double mean) {
    if (mean <= 0.0) return 0;
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
