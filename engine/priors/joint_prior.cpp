#include "priors/joint_prior.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace sbiw {

namespace {

void requireColumns(const Matrix& m, int dimension, const char* what) {
    if (m.cols() != dimension)
        throw std::invalid_argument(std::string("JointPrior::") + what + ": expected " +
                                    std::to_string(dimension) + " columns, got " +
                                    std::to_string(m.cols()));
}

}  // namespace

JointPrior::JointPrior(const std::vector<PriorSpec>& blocks) {
    // Report every block's problems at once, each under its block index.
    Problems problems;
    for (std::size_t i = 0; i < blocks.size(); ++i)
        appendProblems(problems, blocks[i].validate(), "[" + std::to_string(i) + "]");
    throwIfProblems(problems);

    for (const PriorSpec& spec : blocks) {
        Block block;
        block.offset = dimension_;
        block.spec = spec;
        block.distribution = makeDistribution(spec);
        dimension_ += block.distribution->dimension();
        blocks_.push_back(std::move(block));
    }
    uniformBox_ = !blocks_.empty();
    for (const Block& b : blocks_)
        uniformBox_ = uniformBox_ && b.distribution->isUniformBox();
    if (uniformBox_)
        for (int i = 0; i < dimension_; ++i) {
            const Interval bounds = support(i);
            low_.push_back(bounds.lower);
            high_.push_back(bounds.upper);
        }
}

std::vector<PriorSpec> JointPrior::blockSpecs() const {
    std::vector<PriorSpec> specs;
    for (const Block& b : blocks_)
        specs.push_back(b.spec);
    return specs;
}

void JointPrior::sample(RandomStream& rng, double* out) const {
    for (const Block& b : blocks_)
        b.distribution->sample(rng, out + b.offset);
}

double JointPrior::logProb(const double* theta) const {
    double sum = 0.0;
    for (const Block& b : blocks_) {
        sum += b.distribution->logProb(theta + b.offset);
        if (sum == -std::numeric_limits<double>::infinity())
            break;  // outside the support
    }
    return sum;
}

bool JointPrior::inSupport(const double* theta) const {
    for (const Block& b : blocks_)
        if (!b.distribution->inSupport(theta + b.offset))
            return false;
    return true;
}

Interval JointPrior::support(int parameter) const {
    for (const Block& b : blocks_) {
        const int local = parameter - b.offset;
        if (local >= 0 && local < b.distribution->dimension())
            return b.distribution->support(local);
    }
    throw std::out_of_range("JointPrior::support: parameter " + std::to_string(parameter) +
                            " outside 0.." + std::to_string(dimension_ - 1));
}

Matrix JointPrior::sample(std::int64_t count, std::uint64_t seed, std::int64_t firstIndex) const {
    Matrix out(count, dimension_);
    // Same streams as the simulations with indices firstIndex + r draw their θ from.
    sampleRows(seed, static_cast<std::uint64_t>(firstIndex), count, out.data());
    return out;
}

void JointPrior::sampleRows(std::uint64_t seed, std::uint64_t firstIndex, std::int64_t count,
                            double* out) const {
    const int d = dimension_;
    if (!uniformBox_) {
        for (std::int64_t r = 0; r < count; ++r) {
            RandomStream rng(seed, StreamPurpose::Prior, firstIndex + std::uint64_t(r));
            sample(rng, out + r * d);
        }
        return;
    }
    // Uniform boxes take one draw per parameter: the first ceil(d / 4) Philox blocks of each
    // row's stream, computed for a tile of rows at once.
    constexpr std::int64_t kTile = 64;
    const int blocks = (d + 3) / 4;
    std::vector<std::uint64_t> draws(std::size_t(4 * blocks * kTile));
    const double* low = low_.data();
    const double* high = high_.data();
    for (std::int64_t begin = 0; begin < count; begin += kTile) {
        const std::int64_t n = std::min(kTile, count - begin);
        streamDraws(seed, StreamPurpose::Prior, firstIndex + std::uint64_t(begin), n, blocks,
                    draws.data());
        for (std::int64_t r = 0; r < n; ++r) {
            const std::uint64_t* bits = draws.data() + 4 * blocks * r;
            double* theta = out + (begin + r) * d;
            // As Uniform::draw: min(rng.uniform(low, high), high).
            for (int i = 0; i < d; ++i)
                theta[i] = std::min(
                    low[i] + (high[i] - low[i]) * RandomStream::uniformFrom(bits[i]), high[i]);
        }
    }
}

Vector JointPrior::logProb(const Matrix& theta) const {
    requireColumns(theta, dimension_, "logProb");
    Vector out(theta.rows());
    for (Eigen::Index r = 0; r < theta.rows(); ++r)
        out[r] = logProb(theta.row(r).data());
    return out;
}

void JointPrior::toUnconstrained(const double* theta, double* z) const {
    for (const Block& b : blocks_)
        b.distribution->toUnconstrained(theta + b.offset, z + b.offset);
}

void JointPrior::fromUnconstrained(const double* z, double* theta) const {
    for (const Block& b : blocks_)
        b.distribution->fromUnconstrained(z + b.offset, theta + b.offset);
}

double JointPrior::logAbsDetJacobian(const double* z) const {
    double sum = 0.0;
    for (const Block& b : blocks_)
        sum += b.distribution->logAbsDetJacobian(z + b.offset);
    return sum;
}

Matrix JointPrior::toUnconstrained(const Matrix& theta) const {
    requireColumns(theta, dimension_, "toUnconstrained");
    Matrix z(theta.rows(), dimension_);
    for (Eigen::Index r = 0; r < theta.rows(); ++r)
        toUnconstrained(theta.row(r).data(), z.row(r).data());
    return z;
}

Matrix JointPrior::fromUnconstrained(const Matrix& z) const {
    requireColumns(z, dimension_, "fromUnconstrained");
    Matrix theta(z.rows(), dimension_);
    for (Eigen::Index r = 0; r < z.rows(); ++r)
        fromUnconstrained(z.row(r).data(), theta.row(r).data());
    return theta;
}

std::vector<double> JointPrior::mean() const {
    std::vector<double> out;
    out.reserve(std::size_t(dimension_));
    for (const Block& b : blocks_) {
        const std::vector<double> m = b.distribution->mean();
        out.insert(out.end(), m.begin(), m.end());
    }
    return out;
}

std::vector<double> JointPrior::variance() const {
    std::vector<double> out;
    out.reserve(std::size_t(dimension_));
    for (const Block& b : blocks_) {
        const std::vector<double> v = b.distribution->variance();
        out.insert(out.end(), v.begin(), v.end());
    }
    return out;
}

}  // namespace sbiw
