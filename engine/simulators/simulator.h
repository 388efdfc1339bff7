#pragma once
// A simulator maps one parameter vector θ and a random stream to one data vector x.
// Implementations are immutable after construction and called concurrently from several
// threads, so simulate() must be const and thread-safe.

#include <string>

#include "core/random.h"

namespace sbiw {

class Simulator {
public:
    virtual ~Simulator() = default;
    virtual int parameterDimension() const = 0;
    virtual int dataDimension() const = 0;
    // Writes dataDimension() values to x. Non-finite outputs are allowed (they are counted
    // and reported by the caller); throwing std::exception reports a failed simulation.
    virtual void simulate(const double* theta, double* x, RandomStream& rng) const = 0;
};

}  // namespace sbiw
