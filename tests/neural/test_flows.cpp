// Density estimators' building blocks against known answers: exact inverses, log-determinants
// against autograd Jacobians, the spline's defining properties, MADE's autoregressive masks,
// normalisation of the densities on grids, sampling against the densities, and small fits.

#include <torch/torch.h>

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "neural/flow_internal.h"
#include "neural/flows.h"
#include "support/test_support.h"

using namespace sbiw::neural;

namespace {

const auto kDouble = torch::TensorOptions().dtype(torch::kFloat64);
const double kLog2Pi = std::log(2.0 * 3.14159265358979323846);

double maxAbs(const torch::Tensor& t) {
    return t.numel() == 0 ? 0.0 : t.abs().max().item<double>();
}

// Moves the parameters away from their (often identity-like) initialisation.
void perturb(torch::nn::Module& module, double scale) {
    torch::NoGradGuard noGrad;
    for (auto& p : module.parameters())
        p.add_(torch::randn_like(p) * scale);
}

// J[n, i, j] = ∂out[n, i] / ∂in[n, j] for maps that treat the rows independently.
torch::Tensor rowJacobian(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                          const torch::Tensor& at) {
    auto x = at.detach().clone().requires_grad_(true);
    auto y = f(x);
    std::vector<torch::Tensor> rows;
    for (std::int64_t i = 0; i < y.size(1); ++i) {
        auto g = y.requires_grad()
                     ? torch::autograd::grad({y.select(1, i).sum()}, {x}, {},
                                             /*retain_graph=*/true, /*create_graph=*/false,
                                             /*allow_unused=*/true)[0]
                     : torch::Tensor();
        rows.push_back(g.defined() ? g : torch::zeros_like(x));
    }
    return torch::stack(rows, 1);
}

torch::Tensor logAbsDet(const torch::Tensor& jacobians) {
    return std::get<1>(torch::slogdet(jacobians));
}

// Round trip, forward/inverse log-det consistency and log-dets against autograd Jacobians, in
// float64. Sets a test failure (check QTest::currentTestFailed()) and returns on a mismatch.
void checkTransform(const Transform& t, int features, int contextFeatures, double perturbation,
                    bool expectChange, const QString& what) {
    t->to(torch::kFloat64);
    perturb(*t, perturbation);
    const std::int64_t n = 64;
    auto x = torch::randn({n, features}, kDouble) * 2.0;  // also reaches the spline tails
    auto ctx = contextFeatures > 0 ? torch::randn({n, contextFeatures}, kDouble) : torch::Tensor();
    torch::Tensor z, logDet, back, inverseLogDet;
    {
        torch::NoGradGuard noGrad;
        std::tie(z, logDet) = t->forward(x, ctx);
        std::tie(back, inverseLogDet) = t->inverse(z, ctx);
    }
    QVERIFY(z.sizes() == x.sizes());
    QVERIFY(logDet.dim() == 1 && logDet.size(0) == n);
    QVERIFY2(torch::isfinite(z).all().item<bool>() && torch::isfinite(logDet).all().item<bool>(),
             qPrintable(what));
    QVERIFY2(maxAbs(back - x) < 1e-6,
             qPrintable(what + QString(": round trip error %1").arg(maxAbs(back - x))));
    QVERIFY2(
        maxAbs(logDet + inverseLogDet) < 1e-6,
        qPrintable(what + QString(": log-det mismatch %1").arg(maxAbs(logDet + inverseLogDet))));
    if (expectChange)
        QVERIFY2(maxAbs(z - x) > 0.05, qPrintable(what + ": transform is the identity"));

    const std::int64_t m = 16;
    auto xs = x.narrow(0, 0, m), zs = z.narrow(0, 0, m);
    auto cs = ctx.defined() ? ctx.narrow(0, 0, m) : ctx;
    auto forwardJ =
        rowJacobian([&](const torch::Tensor& in) { return t->forward(in, cs).first; }, xs);
    auto inverseJ =
        rowJacobian([&](const torch::Tensor& in) { return t->inverse(in, cs).first; }, zs);
    const double forwardErr = maxAbs(logAbsDet(forwardJ) - logDet.narrow(0, 0, m));
    const double inverseErr = maxAbs(logAbsDet(inverseJ) - inverseLogDet.narrow(0, 0, m));
    QVERIFY2(forwardErr < 1e-6,
             qPrintable(what + QString(": forward log-det vs Jacobian %1").arg(forwardErr)));
    QVERIFY2(inverseErr < 1e-6,
             qPrintable(what + QString(": inverse log-det vs Jacobian %1").arg(inverseErr)));
}

// --- Estimators used by the density tests ---

ConditionalDensity makeTestMaf(int features, int contextFeatures, std::uint64_t seed,
                               int transforms = 3, int hidden = 16, double dataScale = 0.25) {
    // Standardizing first (as sbi does) keeps the untrained density compact: the untrained
    // layers contract (scale ≈ 0.69 each), so the density in data space is wide.
    std::vector<Transform> ts{
        makeStandardize(torch::zeros({features}), torch::full({features}, dataScale))};
    for (int i = 0; i < transforms; ++i) {
        ts.push_back(makeMaskedAffineAutoregressive(features, contextFeatures, hidden, 2));
        ts.push_back(makeRandomPermutation(features, seed + static_cast<std::uint64_t>(i)));
    }
    return makeFlow(ts, features);
}

ConditionalDensity makeTestNsf(int features, int contextFeatures, int transforms = 3) {
    std::vector<Transform> ts;
    for (int i = 0; i < transforms; ++i) {
        ts.push_back(
            makeRationalQuadraticCoupling(features, contextFeatures, i % 2 == 0, 16, 2, 8, 3.0));
        if (features > 1)
            ts.push_back(makeLuLinear(features));
    }
    return makeFlow(ts, features);
}

struct Estimator {
    QString name;
    ConditionalDensity density;
};

// Untrained but perturbed estimators in float64 (non-trivial densities), context size 3.
std::vector<Estimator> perturbedEstimators(int features) {
    std::vector<Estimator> out;
    torch::manual_seed(101);
    out.push_back({"MAF", makeTestMaf(features, 3, 5)});
    perturb(*out.back().density, 0.1);
    torch::manual_seed(102);
    out.push_back({"NSF", makeTestNsf(features, 3)});
    perturb(*out.back().density, 0.3);
    torch::manual_seed(103);
    out.push_back({"MDN", makeMixtureDensityNetwork(features, 3, 16, 4)});
    perturb(*out.back().density, 0.3);
    for (auto& e : out)
        e.density->to(torch::kFloat64);
    return out;
}

torch::Tensor fixedContext() {
    return torch::tensor({{0.5, -1.0, 0.3}}, kDouble);
}

// Trapezoid weights on an evenly spaced grid of n points with spacing h.
torch::Tensor trapezoidWeights(std::int64_t n, double h) {
    auto w = torch::full({n}, h, kDouble);
    w[0] = h / 2;
    w[n - 1] = h / 2;
    return w;
}

torch::Tensor drawSamples(const ConditionalDensity& q, std::int64_t count, std::uint64_t seed) {
    torch::NoGradGuard noGrad;
    torch::manual_seed(seed);
    return q->sample(count, fixedContext());
}

// An evenly spaced grid (n points per axis, 1-D or 2-D) over the samples' range plus a margin of
// two of their standard deviations: wide enough for the untrained densities, whatever their
// scale. (Were the samples wrong, the grid would miss mass and the tests below would fail.)
struct Grid {
    torch::Tensor points;   // [n^D, D]
    torch::Tensor weights;  // [n^D] trapezoid weights
};
Grid gridAround(const torch::Tensor& samples, std::int64_t n) {
    const auto dims = samples.size(1);
    std::vector<torch::Tensor> axes, weights;
    for (std::int64_t d = 0; d < dims; ++d) {
        auto column = samples.select(1, d);
        const double margin = 2.0 * column.std().item<double>();
        const double low = column.min().item<double>() - margin;
        const double high = column.max().item<double>() + margin;
        axes.push_back(torch::linspace(low, high, n, kDouble));
        weights.push_back(trapezoidWeights(n, (high - low) / static_cast<double>(n - 1)));
    }
    if (dims == 1)
        return {axes[0].unsqueeze(1), weights[0]};
    auto mesh = torch::meshgrid({axes[0], axes[1]}, "ij");
    return {torch::stack({mesh[0].reshape({-1}), mesh[1].reshape({-1})}, 1),
            torch::outer(weights[0], weights[1]).reshape({-1})};
}

torch::Tensor densityOn(const ConditionalDensity& q, const torch::Tensor& points) {
    torch::NoGradGuard noGrad;
    auto ctx = fixedContext().expand({points.size(0), 3});
    return q->logProb(points, ctx).exp();
}

}  // namespace

class TestFlows : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(20240611); }

    // --- Spline ---

    void splineKnownValue();
    void splineIdentityAtInit();
    void splineTailsAndBounds();
    void splineMonotoneAndKnots();
    void splineInverseAndDerivative();
    void splineGradientsFinite();
    void fusedSplineMatchesComposedSpline();
    void fusedResidualNetMatchesModules();

    // --- Transforms ---

    void madeAutoregressive();
    void mafTransform();
    void mafJacobianTriangular();
    void splineCouplingTransform();
    void luLinearTransform();
    void permutationTransform();
    void standardizeTransform();

    // --- Flows and MDN ---

    void flowOfStandardizeIsGaussian();
    void mdnSingleComponentIsGaussian();
    void densitiesIntegrateToOne1d();
    void densitiesIntegrateToOne2d();
    void samplesMatchDensity1d();
    void samplesMatchDensity2d();
    void fitConditionalGaussian();
    void modulesRegisterAndSerialize();
    void floatByDefault();
};

// --- Spline -----------------------------------------------------------------------------------

// Two bins on [-1, 1] evaluated by hand with the formulas of Durkan et al. (2019), eq. 4 and 5.
void TestFlows::splineKnownValue() {
    const double minSize = 1e-3, minDerivative = 1e-3;
    auto uw = torch::tensor({{0.0, std::log(3.0)}}, kDouble);  // softmax: 1/4, 3/4
    auto uh = torch::tensor({{std::log(3.0), 0.0}}, kDouble);  // softmax: 3/4, 1/4
    auto ud = torch::tensor({{0.0}}, kDouble);                 // softplus(0) = log 2
    SplineOptions options;
    options.tailBound = 1.0;

    const double w0 = minSize + (1 - 2 * minSize) * 0.25, w1 = 2.0 - 2 * w0;  // on [-1, 1]
    const double xKnot = -1.0 + 2 * w0;
    const double h0 = minSize + (1 - 2 * minSize) * 0.75;
    const double yKnot = -1.0 + 2 * h0, h1 = 1.0 - yKnot;
    const double dMid = minDerivative + std::log(2.0);
    // A point in the second bin: x_k = xKnot, y_k = yKnot, d_k = dMid, d_{k+1} = 1.
    const double x = 0.2;
    const double s = h1 / w1;
    const double xi = (x - xKnot) / w1;
    const double denom = s + (1.0 + dMid - 2 * s) * xi * (1 - xi);
    const double y = yKnot + h1 * (s * xi * xi + dMid * xi * (1 - xi)) / denom;
    const double slope = s * s *
                         (1.0 * xi * xi + 2 * s * xi * (1 - xi) + dMid * (1 - xi) * (1 - xi)) /
                         (denom * denom);

    auto [out, logDet] =
        rationalQuadraticSpline(torch::tensor({x}, kDouble), uw, uh, ud, false, options);
    SBIW_COMPARE_NEAR(out.item<double>(), y, 1e-13);
    SBIW_COMPARE_NEAR(logDet.item<double>(), std::log(slope), 1e-12);
    auto [in, inverseLogDet] = rationalQuadraticSpline(out, uw, uh, ud, true, options);
    SBIW_COMPARE_NEAR(in.item<double>(), x, 1e-12);
    SBIW_COMPARE_NEAR(inverseLogDet.item<double>(), -std::log(slope), 1e-12);
}

// Equal bins and unit derivatives give the identity.
void TestFlows::splineIdentityAtInit() {
    const int bins = 7;
    auto zeros = torch::zeros({1, bins}, kDouble);
    auto ud = torch::full({1, bins - 1}, std::log(std::expm1(1.0 - 1e-3)), kDouble);
    auto x = torch::linspace(-3.0, 3.0, 101, kDouble);
    auto [y, logDet] =
        rationalQuadraticSpline(x, zeros.expand({101, bins}), zeros.expand({101, bins}),
                                ud.expand({101, bins - 1}), false, {});
    QVERIFY(maxAbs(y - x) < 1e-12);
    QVERIFY(maxAbs(logDet) < 1e-12);
}

void TestFlows::splineTailsAndBounds() {
    const int bins = 5;
    SplineOptions options;  // B = 3
    auto values = std::vector<double>{-1e6, -10.0, -3.0000001, -3.0, 3.0, 3.0000001, 10.0, 1e6};
    const auto n = static_cast<std::int64_t>(values.size());
    auto x = torch::tensor(values, kDouble);
    auto uw = (torch::randn({1, bins}, kDouble) * 2).expand({n, bins});
    auto uh = (torch::randn({1, bins}, kDouble) * 2).expand({n, bins});
    auto ud = (torch::randn({1, bins - 1}, kDouble) * 2).expand({n, bins - 1});
    for (bool inverse : {false, true}) {
        auto [y, logDet] = rationalQuadraticSpline(x, uw, uh, ud, inverse, options);
        QVERIFY(torch::isfinite(y).all().item<bool>());
        QVERIFY(torch::isfinite(logDet).all().item<bool>());
        // Identity outside [-B, B] and at the bounds themselves (the knots ±B map to ±B).
        QVERIFY(maxAbs(y - x) < 1e-12);
        // Slope 1 at the bounds (continuous with the linear tails), exactly 0 outside.
        QVERIFY(maxAbs(logDet) < 1e-9);
    }
    // Float32 too: bounds stay finite.
    auto [y32, ld32] =
        rationalQuadraticSpline(x.to(torch::kFloat32), uw.to(torch::kFloat32),
                                uh.to(torch::kFloat32), ud.to(torch::kFloat32), false, options);
    QVERIFY(torch::isfinite(y32).all().item<bool>() && torch::isfinite(ld32).all().item<bool>());
}

void TestFlows::splineMonotoneAndKnots() {
    const int bins = 6;
    auto uw1 = torch::randn({1, bins}, kDouble) * 2, uh1 = torch::randn({1, bins}, kDouble) * 2;
    auto ud1 = torch::randn({1, bins - 1}, kDouble) * 2;
    const std::int64_t n = 4001;
    auto x = torch::linspace(-3.5, 3.5, n, kDouble);
    auto [y, logDet] = rationalQuadraticSpline(x, uw1.expand({n, bins}), uh1.expand({n, bins}),
                                               ud1.expand({n, bins - 1}), false, {});
    auto steps = y.narrow(0, 1, n - 1) - y.narrow(0, 0, n - 1);
    QVERIFY(steps.min().item<double>() > 0.0);

    // Knots map to knots with the knot derivatives (1 at the ends).
    auto xKnots = splineKnots(uw1, 1e-3, 3.0).squeeze(0);
    auto yKnots = splineKnots(uh1, 1e-3, 3.0).squeeze(0);
    QCOMPARE(xKnots.size(0), std::int64_t{bins + 1});
    SBIW_COMPARE_NEAR(xKnots[0].item<double>(), -3.0, 0.0);
    SBIW_COMPARE_NEAR(xKnots[bins].item<double>(), 3.0, 0.0);
    auto [yAtKnots, ldAtKnots] =
        rationalQuadraticSpline(xKnots, uw1.expand({bins + 1, bins}), uh1.expand({bins + 1, bins}),
                                ud1.expand({bins + 1, bins - 1}), false, {});
    QVERIFY(maxAbs(yAtKnots - yKnots) < 1e-12);
    auto expectedSlopes =
        torch::cat({torch::ones({1}, kDouble), 1e-3 + torch::softplus(ud1.squeeze(0)),
                    torch::ones({1}, kDouble)});
    QVERIFY(maxAbs(ldAtKnots - torch::log(expectedSlopes)) < 1e-9);
}

void TestFlows::splineInverseAndDerivative() {
    const int bins = 10;
    const std::int64_t n = 2000;
    // Different parameters for every element: [n, bins].
    auto uw = torch::randn({n, bins}, kDouble) * 2, uh = torch::randn({n, bins}, kDouble) * 2;
    auto ud = torch::randn({n, bins - 1}, kDouble) * 2;
    auto x = (torch::randn({n}, kDouble) * 2).requires_grad_(true);
    auto [y, logDet] = rationalQuadraticSpline(x, uw, uh, ud, false, {});
    auto dydx = torch::autograd::grad({y.sum()}, {x})[0];
    QVERIFY(maxAbs(torch::log(dydx) - logDet) < 1e-8);

    torch::NoGradGuard noGrad;
    auto [back, inverseLogDet] = rationalQuadraticSpline(y, uw, uh, ud, true, {});
    QVERIFY2(maxAbs(back - x) < 1e-9, qPrintable(QString::number(maxAbs(back - x))));
    QVERIFY(maxAbs(inverseLogDet + logDet) < 1e-8);
    // Inverse first, then forward, with targets spread over the whole range.
    auto targets = torch::linspace(-3.0, 3.0, n, kDouble);
    auto [pre, ld1] = rationalQuadraticSpline(targets, uw, uh, ud, true, {});
    auto [again, ld2] = rationalQuadraticSpline(pre, uw, uh, ud, false, {});
    QVERIFY(maxAbs(again - targets) < 1e-9);
    QVERIFY(maxAbs(ld1 + ld2) < 1e-8);
}

void TestFlows::splineGradientsFinite() {
    const int bins = 8;
    auto values = std::vector<double>{-1e6, -3.0, -2.999, -1.0, 0.0, 1.5, 2.999, 3.0, 1e6};
    const auto n = static_cast<std::int64_t>(values.size());
    for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
        auto opts = torch::TensorOptions().dtype(dtype);
        for (bool inverse : {false, true}) {
            auto x = torch::tensor(values, opts).requires_grad_(true);
            auto uw = (torch::randn({n, bins}, opts) * 3).requires_grad_(true);
            auto uh = (torch::randn({n, bins}, opts) * 3).requires_grad_(true);
            auto ud = (torch::randn({n, bins - 1}, opts) * 3).requires_grad_(true);
            auto [y, logDet] = rationalQuadraticSpline(x, uw, uh, ud, inverse, {});
            auto grads = torch::autograd::grad({(y + logDet).sum()}, {x, uw, uh, ud});
            for (const auto& g : grads)
                QVERIFY(torch::isfinite(g).all().item<bool>());
            QVERIFY(torch::isfinite(y).all().item<bool>());
        }
    }
}

// The fused CPU spline (training's fast path) must agree with the composed one — which the tests
// above check against known answers — in outputs, log-determinants and every gradient.
void TestFlows::fusedSplineMatchesComposedSpline() {
    torch::manual_seed(11);
    const int bins = 10;
    const double scale = 1.0 / std::sqrt(50.0);
    // The kernel works in blocks of ~256 elements: many short rows (several rows a block, the
    // last block partial), a few rows wider than a block, and enough rows for torch's threads
    // to share (2 of them, whatever the machine).
    const int threadsBefore = at::get_num_threads();
    at::set_num_threads(2);
    struct Shape {
        std::int64_t rows, features;
        double spread;  // 4: a good part of the inputs in the identity tails
    };
    for (const Shape& shape :
         {Shape{300, 3, 1.0}, Shape{300, 3, 4.0}, Shape{5, 300, 1.0}, Shape{3000, 3, 1.0}}) {
        const std::int64_t rows = shape.rows, features = shape.features;
        const double spread = shape.spread;
        auto x = (torch::randn({rows, features}) * 1.5).requires_grad_(true);
        auto raw = (torch::randn({rows, features, 3 * bins - 1}) * spread).requires_grad_(true);
        const auto weightsY = torch::randn({rows, features}), weightsLogDet = torch::randn({rows});

        auto [y, logDet] = rationalQuadraticSplineFused(x, raw, scale, {});
        auto fusedGrads = torch::autograd::grad({(y * weightsY).sum() + (logDet * weightsLogDet).sum()}, {x, raw});

        auto x2 = x.detach().to(torch::kFloat64).requires_grad_(true);
        auto raw2 = raw.detach().to(torch::kFloat64).requires_grad_(true);
        auto [y2, logDet2] = rationalQuadraticSpline(x2, raw2.narrow(-1, 0, bins) * scale, raw2.narrow(-1, bins, bins) * scale,
                                                     raw2.narrow(-1, 2 * bins, bins - 1), false, {});
        const auto logDetSum = logDet2.sum(-1);
        auto composedGrads = torch::autograd::grad(
            {(y2 * weightsY.to(torch::kFloat64)).sum() + (logDetSum * weightsLogDet.to(torch::kFloat64)).sum()}, {x2, raw2});

        QVERIFY2(maxAbs(y.to(torch::kFloat64) - y2) < 1e-5, qPrintable(QString::number(maxAbs(y.to(torch::kFloat64) - y2))));
        QVERIFY(maxAbs(logDet.to(torch::kFloat64) - logDetSum) < 1e-4);
        for (int i = 0; i < 2; ++i) {
            const double error = maxAbs(fusedGrads[std::size_t(i)].to(torch::kFloat64) - composedGrads[std::size_t(i)]);
            const double size = maxAbs(composedGrads[std::size_t(i)]);
            QVERIFY2(error <= 1e-4 * std::max(1.0, size), qPrintable(QString("gradient %1: error %2 of %3").arg(i).arg(error).arg(size)));
        }
        QVERIFY(maxAbs(composedGrads[1]) > 0.0);  // the comparison is not vacuous
    }
    at::set_num_threads(threadsBefore);
}

// The residual net evaluated as one autograd operation must equal the module-by-module graph:
// outputs and the gradients of inputs, context and every weight.
void TestFlows::fusedResidualNetMatchesModules() {
    for (int contextFeatures : {0, 3}) {
        const int in = 4, out = 7, hidden = 16, blocks = 2;
        auto fused = makeResidualNet(in, out, hidden, contextFeatures, blocks, true);
        auto reference = makeResidualNet(in, out, hidden, contextFeatures, blocks, false);
        fused->to(torch::kFloat64);
        reference->to(torch::kFloat64);
        perturb(*fused, 0.3);  // the blocks start near the identity; make every weight matter
        {
            torch::NoGradGuard noGrad;
            auto source = fused->parameters();
            auto target = reference->parameters();
            QCOMPARE(source.size(), target.size());
            for (std::size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
        }
        auto inputs = torch::randn({50, in}, kDouble).requires_grad_(true);
        auto context = contextFeatures ? torch::randn({50, contextFeatures}, kDouble).requires_grad_(true) : torch::Tensor();
        const auto weights = torch::randn({50, out}, kDouble);
        auto gradientsOf = [&](ConditionerImpl& net) {
            const auto y = net.forward(inputs, context);
            std::vector<torch::Tensor> wrt{inputs};
            if (context.defined()) wrt.push_back(context);
            for (const auto& p : net.parameters()) wrt.push_back(p);
            auto grads = torch::autograd::grad({(y * weights).sum()}, wrt);
            grads.insert(grads.begin(), y.detach());
            return grads;
        };
        const auto a = gradientsOf(*fused), b = gradientsOf(*reference);
        QCOMPARE(a.size(), b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            QVERIFY2(maxAbs(a[i] - b[i]) < 1e-10 * std::max(1.0, maxAbs(b[i])),
                     qPrintable(QString("context %1, tensor %2: difference %3").arg(contextFeatures).arg(i).arg(maxAbs(a[i] - b[i]))));
            QVERIFY(maxAbs(b[i]) > 0.0);
        }
    }
}

// --- Transforms -------------------------------------------------------------------------------

// Output j of MADE (feature j / 2) must not depend on inputs j / 2, j / 2 + 1, ...; it should
// depend on the earlier ones, and on the context (the first feature's outputs included).
void TestFlows::madeAutoregressive() {
    const int features = 4, multiplier = 2;
    for (int contextFeatures : {0, 2}) {
        Made made(features, contextFeatures, 16, 2, multiplier);
        made->to(torch::kFloat64);
        perturb(*made, 0.3);
        auto ctx =
            contextFeatures > 0 ? torch::randn({5, contextFeatures}, kDouble) : torch::Tensor();
        auto x = torch::randn({5, features}, kDouble);
        auto jac = rowJacobian([&](const torch::Tensor& in) { return made->forward(in, ctx); }, x);
        QCOMPARE(jac.size(1), std::int64_t{features * multiplier});
        for (int j = 0; j < features * multiplier; ++j) {
            const int feature = j / multiplier;
            for (int k = 0; k < features; ++k) {
                const double dependence = maxAbs(jac.select(1, j).select(1, k));
                if (k >= feature)
                    QVERIFY2(dependence == 0.0,
                             qPrintable(QString("output %1 sees input %2").arg(j).arg(k)));
                else
                    QVERIFY2(dependence > 1e-6,
                             qPrintable(QString("output %1 ignores input %2").arg(j).arg(k)));
            }
        }
        if (contextFeatures == 0)
            continue;
        auto ctxJac = rowJacobian([&](const torch::Tensor& c) { return made->forward(x, c); }, ctx);
        auto perOutput = ctxJac.abs().sum(torch::IntArrayRef{0, 2});
        QVERIFY2(perOutput.min().item<double>() > 1e-6, "an output ignores the context");
    }
}

void TestFlows::mafTransform() {
    for (int features : {1, 2, 3}) {
        for (int context : {0, 2}) {
            auto t = makeMaskedAffineAutoregressive(features, context, 16, 2);
            checkTransform(t, features, context, 0.3, true,
                           QString("MAF D=%1 C=%2").arg(features).arg(context));
            if (QTest::currentTestFailed())
                return;
        }
    }
}

// z_i depends on θ_1..θ_i only: the Jacobian is lower triangular with a positive diagonal.
void TestFlows::mafJacobianTriangular() {
    auto t = makeMaskedAffineAutoregressive(4, 3, 16, 2);
    t->to(torch::kFloat64);
    perturb(*t, 0.3);
    auto ctx = torch::randn({6, 3}, kDouble);
    auto jac = rowJacobian([&](const torch::Tensor& in) { return t->forward(in, ctx).first; },
                           torch::randn({6, 4}, kDouble));
    QVERIFY(maxAbs(torch::triu(jac, 1)) == 0.0);
    QVERIFY(torch::diagonal(jac, 0, 1, 2).min().item<double>() > 0.0);
    QVERIFY(maxAbs(torch::tril(jac, -1)) > 1e-6);
}

void TestFlows::splineCouplingTransform() {
    struct Case {
        int features, context;
        bool even;
    };
    for (auto c : {Case{1, 2, true}, Case{1, 0, true}, Case{2, 2, true}, Case{2, 2, false},
                   Case{3, 2, true}, Case{3, 2, false}, Case{3, 0, true}, Case{5, 1, false}}) {
        auto t = makeRationalQuadraticCoupling(c.features, c.context, c.even, 8, 2, 6, 3.0);
        checkTransform(t, c.features, c.context, 0.5, true,
                       QString("NSF D=%1 C=%2 even=%3").arg(c.features).arg(c.context).arg(c.even));
        if (QTest::currentTestFailed())
            return;
    }
    // The mask: with the even mask the odd features pass unchanged, and vice versa.
    for (bool even : {true, false}) {
        auto t = makeRationalQuadraticCoupling(5, 2, even, 8, 2, 6, 3.0);
        perturb(*t, 0.5);
        auto x = torch::randn({20, 5}) * 1.5;
        auto z = t->forward(x, torch::randn({20, 2})).first;
        for (int f = 0; f < 5; ++f) {
            const bool transformed = (f % 2 == 0) == even;
            const double change = maxAbs(z.select(1, f) - x.select(1, f));
            QVERIFY2(transformed ? change > 1e-3 : change == 0.0,
                     qPrintable(QString("feature %1, even %2").arg(f).arg(even)));
        }
    }
}

void TestFlows::luLinearTransform() {
    // Identity at initialisation.
    auto identity = makeLuLinear(3);
    auto x = torch::randn({10, 3});
    auto [z0, ld0] = identity->forward(x, {});
    QVERIFY(maxAbs(z0 - x) < 1e-6);
    QVERIFY(maxAbs(ld0) < 1e-6);
    for (int features : {1, 3, 4}) {
        checkTransform(makeLuLinear(features), features, 0, 0.5, true,
                       QString("LU D=%1").arg(features));
        if (QTest::currentTestFailed())
            return;
    }
}

void TestFlows::permutationTransform() {
    auto t = makeRandomPermutation(6, 42);
    checkTransform(t, 6, 0, 0.0, true, "permutation");
    if (QTest::currentTestFailed())
        return;
    // Deterministic from the seed, stored as a buffer, a true permutation.
    auto p1 = makeRandomPermutation(6, 42)->named_buffers()["permutation"];
    auto p2 = makeRandomPermutation(6, 42)->named_buffers()["permutation"];
    auto p3 = makeRandomPermutation(6, 43)->named_buffers()["permutation"];
    QVERIFY(torch::equal(p1, p2));
    QVERIFY(!torch::equal(p1, p3));
    QVERIFY(torch::equal(std::get<0>(torch::sort(p1)), torch::arange(6, torch::kLong)));
    auto x = torch::arange(6, torch::kFloat32).unsqueeze(0);
    auto z = makeRandomPermutation(6, 42)->forward(x, {}).first;
    QVERIFY(torch::equal(z.squeeze(0).to(torch::kLong), p1));
}

void TestFlows::standardizeTransform() {
    auto mean = torch::tensor({1.0, -2.0, 0.5}), std = torch::tensor({0.5, 2.0, 3.0});
    auto t = makeStandardize(mean, std);
    auto x = torch::tensor({{2.0, 0.0, 0.5}});
    auto [z, logDet] = t->forward(x, {});
    QVERIFY(maxAbs(z - torch::tensor({{2.0, 1.0, 0.0}})) < 1e-6);
    SBIW_COMPARE_NEAR(logDet.item<double>(), -std::log(0.5 * 2.0 * 3.0), 1e-6);
    checkTransform(makeStandardize(mean, std), 3, 0, 0.0, true, "standardize");
}

// --- Flows and MDN ----------------------------------------------------------------------------

void TestFlows::flowOfStandardizeIsGaussian() {
    auto mean = torch::tensor({1.0, -2.0}, kDouble), std = torch::tensor({0.5, 2.0}, kDouble);
    auto flow = makeFlow({makeStandardize(mean, std), makeLuLinear(2)}, 2);
    flow->to(torch::kFloat64);
    auto x = torch::randn({50, 2}, kDouble) * 3;
    auto expected = (-0.5 * ((x - mean) / std).pow(2) - torch::log(std) - 0.5 * kLog2Pi).sum(1);
    // 1e-5: the LU layer is the identity up to its float32 initialisation.
    QVERIFY2(maxAbs(flow->logProb(x, {}) - expected) < 1e-5,
             qPrintable(QString::number(maxAbs(flow->logProb(x, {}) - expected))));
    // Sampling without a context.
    auto samples = flow->sample(20000, {});
    QVERIFY(samples.size(0) == 20000 && samples.size(1) == 2);
    QVERIFY(maxAbs(samples.mean(0) - mean) < 0.06);
    QVERIFY(maxAbs(samples.std(0) - std) < 0.06);
}

// One component: log q must be exactly a normalised Gaussian log-density. Its Hessian (autograd)
// gives the precision P, one Newton step the mean; then log q(θ) = -D/2 log 2π + ½ log det P
// - ½ (θ-μ)ᵀ P (θ-μ) everywhere, and the samples have mean μ and covariance P⁻¹.
void TestFlows::mdnSingleComponentIsGaussian() {
    const int d = 3;
    auto mdn = makeMixtureDensityNetwork(d, 2, 16, 1);
    mdn->to(torch::kFloat64);
    perturb(*mdn, 0.3);
    auto ctx = torch::tensor({{0.2, -0.7}}, kDouble);
    auto logq = [&](const torch::Tensor& pts) {
        return mdn->logProb(pts, ctx.expand({pts.size(0), 2}));
    };
    auto theta0 = torch::zeros({1, d}, kDouble).requires_grad_(true);
    auto gradient = torch::autograd::grad({logq(theta0).sum()}, {theta0}, {}, true, true)[0];
    std::vector<torch::Tensor> hessianRows;
    for (int i = 0; i < d; ++i)
        hessianRows.push_back(
            torch::autograd::grad({gradient[0][i]}, {theta0}, {}, true)[0].squeeze(0));
    auto precision = -torch::stack(hessianRows).detach();
    QVERIFY(maxAbs(precision - precision.t()) < 1e-10);
    auto mu =
        (theta0.detach().squeeze(0) +
         torch::linalg_solve(precision, gradient.detach().squeeze(0).unsqueeze(1)).squeeze(1));

    torch::NoGradGuard noGrad;
    auto points = mu + torch::randn({200, d}, kDouble);
    auto diff = points - mu;
    auto expected = -0.5 * d * kLog2Pi + 0.5 * torch::logdet(precision) -
                    0.5 * (diff.matmul(precision) * diff).sum(1);
    QVERIFY2(maxAbs(logq(points) - expected) < 1e-9,
             qPrintable(QString::number(maxAbs(logq(points) - expected))));

    auto samples = mdn->sample(40000, ctx);
    auto covariance = torch::inverse(precision);
    auto sampleMean = samples.mean(0);
    auto centred = samples - sampleMean;
    auto sampleCov = centred.t().matmul(centred) / (samples.size(0) - 1);
    QVERIFY(
        ((sampleMean - mu).abs() < 4.0 * torch::sqrt(torch::diagonal(covariance) / samples.size(0)))
            .all()
            .item<bool>());
    QVERIFY(maxAbs(sampleCov - covariance) / torch::diagonal(covariance).max().item<double>() <
            0.05);
}

void TestFlows::densitiesIntegrateToOne1d() {
    for (auto& e : perturbedEstimators(1)) {
        auto grid = gridAround(drawSamples(e.density, 2000, 5), 20001);
        auto density = densityOn(e.density, grid.points);
        const double mass = (density * grid.weights).sum().item<double>();
        QVERIFY2(std::abs(mass - 1.0) < 1e-2,
                 qPrintable(e.name + QString(": mass %1").arg(mass, 0, 'g', 8)));
        // The density is far from a standard normal (the check is not vacuous).
        auto standard = torch::exp(-0.5 * grid.points.squeeze(1).pow(2) - 0.5 * kLog2Pi);
        const double l1 = ((density - standard).abs() * grid.weights).sum().item<double>();
        QVERIFY2(l1 > 0.03, qPrintable(e.name + QString(": L1 to N(0, 1) only %1").arg(l1)));
    }
}

void TestFlows::densitiesIntegrateToOne2d() {
    for (auto& e : perturbedEstimators(2)) {
        auto grid = gridAround(drawSamples(e.density, 2000, 5), 401);
        auto density = densityOn(e.density, grid.points);
        const double mass = (density * grid.weights).sum().item<double>();
        QVERIFY2(std::abs(mass - 1.0) < 1e-2,
                 qPrintable(e.name + QString(": mass %1").arg(mass, 0, 'g', 8)));
    }
}

// KS test of the samples against the CDF obtained by integrating exp(logProb).
void TestFlows::samplesMatchDensity1d() {
    const std::int64_t n = 20001, count = 3000;
    for (auto& e : perturbedEstimators(1)) {
        auto samples = drawSamples(e.density, count, 7);
        QVERIFY(samples.size(0) == count && samples.size(1) == 1);
        auto grid = gridAround(samples, n);
        auto x = grid.points.squeeze(1);
        auto density = densityOn(e.density, grid.points);
        const double low = x[0].item<double>(), h = (x[1] - x[0]).item<double>();
        auto cumulative = torch::cat(
            {torch::zeros({1}, kDouble),
             torch::cumsum((density.narrow(0, 1, n - 1) + density.narrow(0, 0, n - 1)) * h / 2,
                           0)});
        cumulative = cumulative / cumulative[n - 1];
        std::vector<double> cdfValues(cumulative.data_ptr<double>(),
                                      cumulative.data_ptr<double>() + n);
        auto cdf = [&](double v) {
            const double pos = std::clamp((v - low) / h, 0.0, static_cast<double>(n - 1));
            const auto i = std::min<std::int64_t>(static_cast<std::int64_t>(pos), n - 2);
            const double frac = pos - static_cast<double>(i);
            return cdfValues[static_cast<std::size_t>(i)] * (1 - frac) +
                   cdfValues[static_cast<std::size_t>(i + 1)] * frac;
        };
        std::vector<double> values(samples.data_ptr<double>(), samples.data_ptr<double>() + count);
        const double ks = sbiw::test::ksStatistic(values, cdf);
        QVERIFY2(ks < sbiw::test::ksCritical1Percent(values.size()),
                 qPrintable(e.name + QString(": KS %1").arg(ks)));
    }
}

// Sample mean and covariance against the moments of the grid-integrated density.
void TestFlows::samplesMatchDensity2d() {
    for (auto& e : perturbedEstimators(2)) {
        auto samples = drawSamples(e.density, 20000, 11);
        auto grid = gridAround(samples, 401);
        auto p = densityOn(e.density, grid.points) * grid.weights;
        p = p / p.sum();
        auto mean = (p.unsqueeze(1) * grid.points).sum(0);
        auto centred = grid.points - mean;
        auto cov =
            (p.unsqueeze(1).unsqueeze(2) * centred.unsqueeze(2) * centred.unsqueeze(1)).sum(0);
        auto sampleMean = samples.mean(0);
        auto sc = samples - sampleMean;
        auto sampleCov = sc.t().matmul(sc) / (samples.size(0) - 1);
        auto meanTol = 4.0 * torch::sqrt(torch::diagonal(cov) / samples.size(0));
        QVERIFY2(((sampleMean - mean).abs() < meanTol).all().item<bool>(),
                 qPrintable(e.name + ": sample mean off"));
        // Relative to the standard deviations (correlations up to sampling noise).
        auto sd = torch::sqrt(torch::diagonal(cov));
        const double covErr = maxAbs((sampleCov - cov) / torch::outer(sd, sd));
        QVERIFY2(covErr < 0.08, qPrintable(e.name + QString(": covariance error %1").arg(covErr)));
    }
}

// p(θ | c) = N(2c, 0.5²), c ~ U(-1, 1): MDN and MAF recover the conditional mean and std.
// (Settings checked over ten seeds: worst error 0.05.)
void TestFlows::fitConditionalGaussian() {
    std::vector<Estimator> estimators;
    torch::manual_seed(1);
    estimators.push_back({"MDN", makeMixtureDensityNetwork(1, 1, 20, 2)});
    torch::manual_seed(2);
    // θ standardized by its marginal std, sqrt(4/3 + 1/4) ≈ 1.26, as sbi would.
    estimators.push_back({"MAF", makeTestMaf(1, 1, 3, 2, 20, 1.26)});
    for (auto& e : estimators) {
        torch::manual_seed(3);
        const double lr = 5e-3;
        const int steps = 500, batch = 512;
        torch::optim::Adam optimizer(e.density->parameters(), torch::optim::AdamOptions(lr));
        for (int step = 0; step < steps; ++step) {
            auto c = torch::rand({batch, 1}) * 2 - 1;
            auto theta = 2 * c + 0.5 * torch::randn({batch, 1});
            auto loss = -e.density->logProb(theta, c).mean();
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            // A smaller last-quarter step size quiets the final iterate's noise.
            if (step == steps * 3 / 4)
                for (auto& group : optimizer.param_groups())
                    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr / 5);
        }
        torch::NoGradGuard noGrad;
        const std::int64_t n = 2001;
        auto grid = torch::linspace(-6.0, 6.0, n).unsqueeze(1);
        for (double c : {-0.6, 0.0, 0.7}) {
            auto q = e.density->logProb(grid, torch::full({n, 1}, c)).exp().to(torch::kFloat64);
            auto g = grid.squeeze(1).to(torch::kFloat64);
            q = q / q.sum();
            const double mean = (q * g).sum().item<double>();
            const double sd = std::sqrt((q * (g - mean).pow(2)).sum().item<double>());
            QVERIFY2(std::abs(mean - 2 * c) < 0.1,
                     qPrintable(e.name + QString(": mean %1 at c=%2").arg(mean).arg(c)));
            QVERIFY2(std::abs(sd - 0.5) < 0.1,
                     qPrintable(e.name + QString(": sd %1 at c=%2").arg(sd).arg(c)));
        }
    }
}

void TestFlows::modulesRegisterAndSerialize() {
    struct Pair {
        QString name;
        std::function<ConditionalDensity(std::uint64_t)> make;
    };
    std::vector<Pair> builders = {
        {"MAF", [](std::uint64_t s) { return makeTestMaf(3, 2, s); }},
        {"NSF", [](std::uint64_t) { return makeTestNsf(3, 2); }},
        {"MDN", [](std::uint64_t) { return makeMixtureDensityNetwork(3, 2, 16, 3); }},
    };
    for (auto& b : builders) {
        torch::manual_seed(1);
        auto a = b.make(10);
        perturb(*a, 0.2);
        torch::manual_seed(2);
        auto other = b.make(20);  // different weights and permutations
        QVERIFY(!a->parameters().empty());
        for (const auto& p : a->named_parameters())
            QVERIFY(p.value().requires_grad());

        std::stringstream stream;
        {
            torch::serialize::OutputArchive out;
            a->save(out);
            out.save_to(stream);
        }
        auto x = torch::randn({8, 3}), ctx = torch::randn({8, 2});
        QVERIFY2(maxAbs(a->logProb(x, ctx) - other->logProb(x, ctx)) > 1e-3, qPrintable(b.name));
        {
            torch::serialize::InputArchive in;
            in.load_from(stream);
            other->load(in);
        }
        QVERIFY2(maxAbs(a->logProb(x, ctx) - other->logProb(x, ctx)) < 1e-5, qPrintable(b.name));
    }
    // The permutations are buffers of the flow.
    auto maf = makeTestMaf(3, 2, 1);
    int permutations = 0;
    for (const auto& buffer : maf->named_buffers())
        if (buffer.key().find("permutation") != std::string::npos)
            ++permutations;
    QCOMPARE(permutations, 3);
}

// float32 by default, float64 after conversion, with the same values up to float precision.
void TestFlows::floatByDefault() {
    auto nsf = makeTestNsf(2, 3);
    perturb(*nsf, 0.3);
    auto x = torch::randn({10, 2}), ctx = torch::randn({10, 3});
    auto lp32 = nsf->logProb(x, ctx);
    QCOMPARE(lp32.scalar_type(), torch::kFloat32);
    QCOMPARE(nsf->sample(4, ctx.narrow(0, 0, 1)).scalar_type(), torch::kFloat32);
    nsf->to(torch::kFloat64);
    auto lp64 = nsf->logProb(x.to(torch::kFloat64), ctx.to(torch::kFloat64));
    QCOMPARE(lp64.scalar_type(), torch::kFloat64);
    QVERIFY(maxAbs(lp64 - lp32.to(torch::kFloat64)) < 1e-4);
}

QTEST_GUILESS_MAIN(TestFlows)
#include "test_flows.moc"
