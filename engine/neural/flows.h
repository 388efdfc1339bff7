#pragma once
// Factories for the density estimators' parts (internal to sbiw_neural; includes LibTorch).
// Architectures follow the `sbi` package's defaults so that its users get what they know:
//  - MAF: `transforms` x [MADE affine autoregressive layer (tanh, `blocks` hidden layers of
//    `hidden` units, not residual) followed by a fixed random permutation].
//  - NSF: `transforms` x [rational-quadratic spline coupling layer (alternating masks, `bins`
//    bins, linear tails outside [-tailBound, tailBound], conditioner = residual net with
//    `blocks` blocks of `hidden` units and relu, taking the context) followed by an LU-linear
//    layer initialised at the identity]. For one feature the spline parameters come from the
//    context alone.
//  - MDN: a mixture of `components` full-covariance Gaussians whose weights, means and
//    Cholesky factors of the precision come from an MLP of the context.

#include <cstdint>
#include <vector>

#include "neural/transform.h"

namespace sbiw::neural {

// z = (θ - mean) / std per feature (fixed buffers, not trained).
Transform makeStandardize(const torch::Tensor& mean, const torch::Tensor& std);

Transform makeMaskedAffineAutoregressive(int features, int contextFeatures, int hidden, int blocks);
Transform makeRandomPermutation(int features, std::uint64_t seed);
Transform makeRationalQuadraticCoupling(int features, int contextFeatures, bool evenMask, int hidden,
                                        int blocks, int bins, double tailBound);
Transform makeLuLinear(int features);

// A flow: the transforms applied in order (data -> noise) onto a standard normal base.
ConditionalDensity makeFlow(std::vector<Transform> transforms, int features);

ConditionalDensity makeMixtureDensityNetwork(int features, int contextFeatures, int hidden, int components);

}  // namespace sbiw::neural
