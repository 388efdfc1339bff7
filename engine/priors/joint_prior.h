#pragma once
// The prior over all parameters of a project: consecutive blocks, each a univariate
// distribution for one parameter or a multivariate one (box_uniform, multivariate_normal)
// spanning several consecutive parameters.

#include <cstdint>
#include <memory>
#include <vector>

#include "core/matrix.h"
#include "priors/distribution.h"

namespace sbiw {

class JointPrior {
  public:
    JointPrior() = default;
    // Blocks in parameter order; their dimensions add up to dimension().
    explicit JointPrior(const std::vector<PriorSpec>& blocks);

    int dimension() const { return dimension_; }
    int blockCount() const { return static_cast<int>(blocks_.size()); }
    const Distribution& block(int i) const { return *blocks_[i].distribution; }
    int blockOffset(int i) const { return blocks_[i].offset; }
    const PriorSpec& blockSpec(int i) const { return blocks_[i].spec; }
    std::vector<PriorSpec> blockSpecs() const;

    // One draw into `out` (dimension() values).
    void sample(RandomStream& rng, double* out) const;
    double logProb(const double* theta) const;
    bool inSupport(const double* theta) const;
    Interval support(int parameter) const;

    // Batched versions: row r of the sample uses stream (seed, Prior, firstIndex + r), so a
    // batch is reproducible whatever way it is split.
    Matrix sample(std::int64_t count, std::uint64_t seed, std::int64_t firstIndex = 0) const;
    // The same rows into `out` (count x dimension(), row-major): row r exactly as sample(rng,
    // ...) with stream (seed, Prior, firstIndex + r).
    void sampleRows(std::uint64_t seed, std::uint64_t firstIndex, std::int64_t count,
                    double* out) const;
    Vector logProb(const Matrix& theta) const;

    void toUnconstrained(const double* theta, double* z) const;
    void fromUnconstrained(const double* z, double* theta) const;
    double logAbsDetJacobian(const double* z) const;
    Matrix toUnconstrained(const Matrix& theta) const;
    Matrix fromUnconstrained(const Matrix& z) const;

    std::vector<double> mean() const;
    std::vector<double> variance() const;

  private:
    struct Block {
        int offset = 0;
        PriorSpec spec;
        std::shared_ptr<const Distribution> distribution;  // shared: JointPrior is copyable
    };
    std::vector<Block> blocks_;
    int dimension_ = 0;
    // Every block a uniform box (isUniformBox()): the bounds per parameter, for sampleRows().
    bool uniformBox_ = false;
    std::vector<double> low_, high_;
};

}  // namespace sbiw
