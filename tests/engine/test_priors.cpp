// Prior families against known answers: textbook moments and CDFs, hand-computed densities,
// numerical normalisation, the bijection to unconstrained space, validation and JointPrior.

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "priors/distribution.h"
#include "priors/joint_prior.h"
#include "priors/prior_spec.h"
#include "support/test_support.h"

using namespace sbiw;

Q_DECLARE_METATYPE(sbiw::PriorSpec)

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kInf = std::numeric_limits<double>::infinity();
const double kLog2Pi = std::log(2.0 * kPi);

// Textbook standard normal functions, written here independently of the engine.
double Phi(double x) {
    return 0.5 * std::erfc(-x / std::sqrt(2.0));
}
double upperQ(double x) {
    return 0.5 * std::erfc(x / std::sqrt(2.0));
}
double phi(double x) {
    return std::exp(-0.5 * x * x) / std::sqrt(2.0 * kPi);
}

PriorSpec vectorSpec(const std::string& family, std::map<std::string, std::vector<double>> values,
                     std::map<std::string, int> rows = {}) {
    PriorSpec spec;
    spec.family = family;
    spec.values = std::move(values);
    spec.matrixRows = std::move(rows);
    return spec;
}

// Truncated normal moments (Johnson, Kotz & Balakrishnan), with Z from the upper tails so the
// far-tail case keeps its precision.
struct TruncatedMoments {
    double z, mean, variance;
};
TruncatedMoments truncatedMoments(double mu, double sigma, double low, double high) {
    const double a = (low - mu) / sigma, b = (high - mu) / sigma;
    const double z = a > 0 ? upperQ(a) - upperQ(b) : Phi(b) - Phi(a);
    const double lambda = (phi(a) - phi(b)) / z;
    return {z, mu + sigma * lambda,
            sigma * sigma * (1.0 + (a * phi(a) - b * phi(b)) / z - lambda * lambda)};
}

struct Case {
    std::string name;
    PriorSpec spec;
    std::vector<double> mean, variance;                      // textbook moments
    std::vector<std::function<double(double)>> marginalCdf;  // per coordinate
    std::vector<std::vector<double>> covariance;             // full covariance (MVN only)
    bool singularDensity = false;  // density unbounded at a bound: no θ-space quadrature
};

const std::vector<Case>& cases() {
    static const std::vector<Case> all = [] {
        std::vector<Case> c;
        c.push_back({"uniform(-1,3)",
                     PriorSpec::scalar("uniform", {{"low", -1}, {"high", 3}}),
                     {1.0},
                     {16.0 / 12.0},
                     {[](double x) { return std::clamp((x + 1.0) / 4.0, 0.0, 1.0); }},
                     {}});
        c.push_back({"normal(1,2)",
                     PriorSpec::scalar("normal", {{"mean", 1}, {"std", 2}}),
                     {1.0},
                     {4.0},
                     {[](double x) { return Phi((x - 1.0) / 2.0); }},
                     {}});
        c.push_back({"lognormal(0.5,0.4)",
                     PriorSpec::scalar("lognormal", {{"log_mean", 0.5}, {"log_std", 0.4}}),
                     {std::exp(0.5 + 0.08)},
                     {(std::exp(0.16) - 1.0) * std::exp(1.0 + 0.16)},
                     {[](double x) { return x <= 0 ? 0.0 : Phi((std::log(x) - 0.5) / 0.4); }},
                     {}});
        // Integer shape: P(2, 3x) = 1 - e^{-3x} (1 + 3x).
        c.push_back({"gamma(2,3)",
                     PriorSpec::scalar("gamma", {{"shape", 2}, {"rate", 3}}),
                     {2.0 / 3.0},
                     {2.0 / 9.0},
                     {[](double x) { return x <= 0 ? 0.0 : 1.0 - std::exp(-3 * x) * (1 + 3 * x); }},
                     {}});
        // Shape 1/2: CDF erf(sqrt(rate x)); exercises the shape < 1 sampler.
        c.push_back({"gamma(0.5,2)",
                     PriorSpec::scalar("gamma", {{"shape", 0.5}, {"rate", 2}}),
                     {0.25},
                     {0.125},
                     {[](double x) { return x <= 0 ? 0.0 : std::erf(std::sqrt(2 * x)); }},
                     {},
                     true});
        // Integer parameters: I_x(2, 5) = 1 - (1-x)^6 - 6 x (1-x)^5.
        c.push_back({"beta(2,5)",
                     PriorSpec::scalar("beta", {{"alpha", 2}, {"beta", 5}}),
                     {2.0 / 7.0},
                     {10.0 / (49.0 * 8.0)},
                     {[](double x) {
                         x = std::clamp(x, 0.0, 1.0);
                         return 1 - std::pow(1 - x, 6) - 6 * x * std::pow(1 - x, 5);
                     }},
                     {}});
        // Arcsine distribution: CDF (2/π) asin(sqrt x).
        c.push_back(
            {"beta(0.5,0.5)",
             PriorSpec::scalar("beta", {{"alpha", 0.5}, {"beta", 0.5}}),
             {0.5},
             {0.125},
             {[](double x) { return 2 / kPi * std::asin(std::sqrt(std::clamp(x, 0.0, 1.0))); }},
             {},
             true});
        c.push_back({"exponential(1.5)",
                     PriorSpec::scalar("exponential", {{"rate", 1.5}}),
                     {1 / 1.5},
                     {1 / 2.25},
                     {[](double x) { return x <= 0 ? 0.0 : 1 - std::exp(-1.5 * x); }},
                     {}});
        c.push_back({"half_normal(2)",
                     PriorSpec::scalar("half_normal", {{"scale", 2}}),
                     {2 * std::sqrt(2 / kPi)},
                     {4 * (1 - 2 / kPi)},
                     {[](double x) { return x <= 0 ? 0.0 : std::erf(x / (2 * std::sqrt(2.0))); }},
                     {}});
        {
            const TruncatedMoments m = truncatedMoments(0, 1, -1, 2);
            c.push_back({"truncated_normal(0,1,-1,2)",
                         PriorSpec::scalar("truncated_normal",
                                           {{"mean", 0}, {"std", 1}, {"low", -1}, {"high", 2}}),
                         {m.mean},
                         {m.variance},
                         {[m](double x) { return std::clamp((Phi(x) - Phi(-1)) / m.z, 0.0, 1.0); }},
                         {}});
        }
        {
            // Far in the upper tail: Φ(5) rounds to 1 - 2.9e-7, so naive inversion fails.
            const TruncatedMoments m = truncatedMoments(0, 1, 5, 6);
            c.push_back(
                {"truncated_normal(0,1,5,6)",
                 PriorSpec::scalar("truncated_normal",
                                   {{"mean", 0}, {"std", 1}, {"low", 5}, {"high", 6}}),
                 {m.mean},
                 {m.variance},
                 {[m](double x) { return std::clamp((upperQ(5) - upperQ(x)) / m.z, 0.0, 1.0); }},
                 {}});
        }
        {
            // Φ(10) rounds to exactly 1: only tail-aware inversion can sample this at all.
            const TruncatedMoments m = truncatedMoments(0, 1, 10, 12);
            c.push_back(
                {"truncated_normal(0,1,10,12)",
                 PriorSpec::scalar("truncated_normal",
                                   {{"mean", 0}, {"std", 1}, {"low", 10}, {"high", 12}}),
                 {m.mean},
                 {m.variance},
                 {[m](double x) { return std::clamp((upperQ(10) - upperQ(x)) / m.z, 0.0, 1.0); }},
                 {}});
        }
        {
            // Lower tail, bounds 3 and 23 standard deviations below the mean.
            const TruncatedMoments m = truncatedMoments(3, 1, -20, 1);
            c.push_back(
                {"truncated_normal(3,1,-20,1)",
                 PriorSpec::scalar("truncated_normal",
                                   {{"mean", 3}, {"std", 1}, {"low", -20}, {"high", 1}}),
                 {m.mean},
                 {m.variance},
                 {[m](double x) { return std::clamp(Phi(std::min(x, 1.0) - 3) / m.z, 0.0, 1.0); }},
                 {}});
        }
        c.push_back({"box_uniform",
                     vectorSpec("box_uniform", {{"low", {0, -2, 10}}, {"high", {1, 2, 10.5}}}),
                     {0.5, 0.0, 10.25},
                     {1.0 / 12, 16.0 / 12, 0.25 / 12},
                     {[](double x) { return std::clamp(x, 0.0, 1.0); },
                      [](double x) { return std::clamp((x + 2) / 4, 0.0, 1.0); },
                      [](double x) { return std::clamp((x - 10) / 0.5, 0.0, 1.0); }},
                     {}});
        {
            const std::vector<std::vector<double>> cov = {
                {2.0, 0.8, -0.3}, {0.8, 1.5, 0.4}, {-0.3, 0.4, 1.0}};
            std::vector<double> flat;
            for (const auto& row : cov)
                flat.insert(flat.end(), row.begin(), row.end());
            c.push_back(
                {"multivariate_normal",
                 vectorSpec("multivariate_normal", {{"mean", {1, -2, 0.5}}, {"covariance", flat}},
                            {{"covariance", 3}}),
                 {1, -2, 0.5},
                 {2.0, 1.5, 1.0},
                 {[](double x) { return Phi((x - 1) / std::sqrt(2.0)); },
                  [](double x) { return Phi((x + 2) / std::sqrt(1.5)); },
                  [](double x) { return Phi(x - 0.5); }},
                 cov});
        }
        return c;
    }();
    return all;
}

// Trapezoid rule with n intervals.
double trapezoid(const std::function<double(double)>& f, double a, double b, int n) {
    const double h = (b - a) / n;
    double sum = 0.5 * (f(a) + f(b));
    for (int i = 1; i < n; ++i)
        sum += f(a + i * h);
    return sum * h;
}

bool hasProblem(const Problems& problems, const std::string& path) {
    return std::any_of(problems.begin(), problems.end(),
                       [&](const Problem& p) { return p.path == path; });
}

QByteArray describe(const Problems& problems) {
    return QByteArray::fromStdString(problems.empty() ? "(no problems)" : formatProblems(problems));
}

// The 2-D covariance used by the hand-computed MVN tests, and its inverse written out.
const std::vector<double> kCov2 = {2.0, 0.6, 0.6, 1.0};
const double kDet2 = 2.0 - 0.36;
const std::vector<double> kPrec2 = {1.0 / kDet2, -0.6 / kDet2, -0.6 / kDet2, 2.0 / kDet2};

}  // namespace

class TestPriors : public QObject {
    Q_OBJECT

  private slots:
    void familyTable();
    void specBasics();
    void moments_data();
    void moments();
    void logProbKnownValues();
    void normalisation_data();
    void normalisation();
    void normalisationMvnGrid();
    void mvnCovarianceAndPrecision();
    void bijection_data();
    void bijection();
    void bijectionDensityIntegratesToOne_data();
    void bijectionDensityIntegratesToOne();
    void validation_data();
    void validation();
    void validationMessages();
    void jointPrior();
    void jointPriorProblems();
    void sampleRowsIsRowByRowSampling();
    void streamDrawsAndResumedStreams();
};

void TestPriors::familyTable() {
    const std::vector<std::string> expected = {
        "uniform",     "normal",      "lognormal",        "gamma",       "beta",
        "exponential", "half_normal", "truncated_normal", "box_uniform", "multivariate_normal"};
    const auto& families = priorFamilies();
    QCOMPARE(int(families.size()), int(expected.size()));
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const PriorFamilyInfo& info = families[i];
        QCOMPARE(info.id, expected[i]);
        QVERIFY(findPriorFamily(info.id) == &info);
        QVERIFY(!info.displayName.empty());
        QVERIFY(!info.description.empty());
        QCOMPARE(info.multivariate, info.id == "box_uniform" || info.id == "multivariate_normal");

        // The defaults must form a valid prior: scalars as given, vectors of length 2 filled
        // with the default, matrices diagonal; of optional alternatives only the first.
        PriorSpec spec;
        spec.family = info.id;
        bool optionalTaken = false;
        for (const PriorFieldInfo& field : info.fields) {
            QVERIFY(!field.description.empty());
            if (field.optional) {
                if (optionalTaken)
                    continue;
                optionalTaken = true;
            }
            if (field.shape == FieldShape::Scalar) {
                spec.values[field.name] = {field.defaultValue};
            } else if (field.shape == FieldShape::Vector) {
                spec.values[field.name] = {field.defaultValue, field.defaultValue};
            } else {
                spec.values[field.name] = {field.defaultValue, 0.0, 0.0, field.defaultValue};
                spec.matrixRows[field.name] = 2;
            }
        }
        const Problems problems = spec.validate();
        QVERIFY2(problems.empty(), describe(problems).prepend(info.id.c_str()).constData());
        QCOMPARE(makeDistribution(spec)->dimension(), info.multivariate ? 2 : 1);
    }
    QVERIFY(findPriorFamily("nope") == nullptr);

    const PriorFamilyInfo* uniform = findPriorFamily("uniform");
    QCOMPARE(uniform->fields.at(0).name, std::string("low"));
    QCOMPARE(uniform->fields.at(0).defaultValue, 0.0);
    QCOMPARE(uniform->fields.at(1).name, std::string("high"));
    QCOMPARE(uniform->fields.at(1).defaultValue, 1.0);
    const PriorFamilyInfo* normal = findPriorFamily("normal");
    QCOMPARE(normal->fields.at(0).defaultValue, 0.0);
    QCOMPARE(normal->fields.at(1).defaultValue, 1.0);
    const PriorFamilyInfo* mvn = findPriorFamily("multivariate_normal");
    QCOMPARE(mvn->fields.at(1).name, std::string("covariance"));
    QVERIFY(mvn->fields.at(1).optional);
    QCOMPARE(mvn->fields.at(2).name, std::string("precision"));
    QVERIFY(mvn->fields.at(2).optional);
}

void TestPriors::specBasics() {
    const PriorSpec u = PriorSpec::scalar("uniform", {{"low", -1}, {"high", 1}});
    QCOMPARE(u.values.at("low"), std::vector<double>{-1.0});
    QCOMPARE(u.scalar("high"), 1.0);
    QVERIFY(u.has("low"));
    QVERIFY(!u.has("mean"));
    QVERIFY_THROWS_EXCEPTION(SettingsError, u.scalar("mean"));
    QCOMPARE(u.dimension(), 1);
    QVERIFY(u == PriorSpec::scalar("uniform", {{"low", -1}, {"high", 1}}));
    QVERIFY(!(u == PriorSpec::scalar("uniform", {{"low", -1}, {"high", 2}})));

    QCOMPARE(vectorSpec("box_uniform", {{"low", {0, 0, 0}}, {"high", {1, 1, 1}}}).dimension(), 3);
    QCOMPARE(
        vectorSpec("multivariate_normal", {{"mean", {0, 0}}, {"covariance", kCov2}}).dimension(),
        2);
    QCOMPARE(PriorSpec::scalar("foo", {}).dimension(), 0);
    QCOMPARE(vectorSpec("box_uniform", {}).dimension(), 0);

    // Without matrixRows a square number of values is read as a square matrix.
    QVERIFY(vectorSpec("multivariate_normal", {{"mean", {0, 0}}, {"covariance", kCov2}})
                .validate()
                .empty());
}

void TestPriors::moments_data() {
    QTest::addColumn<int>("index");
    for (std::size_t i = 0; i < cases().size(); ++i)
        QTest::newRow(cases()[i].name.c_str()) << int(i);
}

void TestPriors::moments() {
    QFETCH(int, index);
    const Case& c = cases()[std::size_t(index)];
    const auto dist = makeDistribution(c.spec);
    const int d = dist->dimension();
    QCOMPARE(d, int(c.mean.size()));

    // Analytic moments reported by the distribution equal the textbook ones.
    for (int j = 0; j < d; ++j) {
        SBIW_COMPARE_NEAR(dist->mean()[j], c.mean[j], 1e-12 + 1e-10 * std::abs(c.mean[j]));
        SBIW_COMPARE_REL(dist->variance()[j], c.variance[j], 1e-9);
    }

    const int n = 100000;
    Matrix draws(n, d);
    RandomStream rng = test::testStream(2024, std::uint64_t(index));
    for (int r = 0; r < n; ++r) {
        dist->sample(rng, draws.row(r).data());
        QVERIFY(dist->inSupport(draws.row(r).data()));
    }

    const Vector sampleMean = test::columnMeans(draws);
    const Matrix sampleCov = test::covariance(draws);
    for (int j = 0; j < d; ++j) {
        // Five standard errors: the mean's from the known variance, the variance's from the
        // spread of the squared deviations.
        const double meanTol = 5.0 * std::sqrt(c.variance[j] / n);
        SBIW_COMPARE_NEAR(sampleMean[j], c.mean[j], meanTol);
        const Eigen::ArrayXd sq = (draws.col(j).array() - sampleMean[j]).square();
        const double sqSd = std::sqrt((sq - sq.mean()).square().sum() / (n - 1));
        SBIW_COMPARE_NEAR(sampleCov(j, j), c.variance[j], 5.0 * sqSd / std::sqrt(double(n)));

        std::vector<double> column(static_cast<std::size_t>(n));
        for (int r = 0; r < n; ++r)
            column[std::size_t(r)] = draws(r, j);
        const double ks = test::ksStatistic(column, c.marginalCdf[std::size_t(j)]);
        QVERIFY2(ks < test::ksCritical1Percent(std::size_t(n)),
                 qPrintable(QString("coordinate %1: KS %2 >= %3")
                                .arg(j)
                                .arg(ks)
                                .arg(test::ksCritical1Percent(std::size_t(n)))));
    }

    // Full covariance: each entry within five standard errors of its Gaussian sampling
    // distribution, se(Σ_ij) = sqrt((Σ_ii Σ_jj + Σ_ij²) / n).
    if (!c.covariance.empty()) {
        for (int i = 0; i < d; ++i) {
            for (int j = 0; j < d; ++j) {
                const double s = c.covariance[std::size_t(i)][std::size_t(j)];
                const double se = std::sqrt(
                    (c.variance[std::size_t(i)] * c.variance[std::size_t(j)] + s * s) / n);
                SBIW_COMPARE_NEAR(sampleCov(i, j), s, 5.0 * se);
            }
        }
    }
}

void TestPriors::logProbKnownValues() {
    struct Point {
        const char* what;
        PriorSpec spec;
        std::vector<double> theta;
        double expected;
    };
    const TruncatedMoments central = truncatedMoments(0, 1, -1, 2);
    const TruncatedMoments tail = truncatedMoments(0, 1, 5, 6);
    const std::vector<Point> points = {
        {"normal(1,2) at 0",
         PriorSpec::scalar("normal", {{"mean", 1}, {"std", 2}}),
         {0.0},
         -0.5 * kLog2Pi - std::log(2.0) - 1.0 / 8.0},
        {"uniform(-1,3) at 0",
         PriorSpec::scalar("uniform", {{"low", -1}, {"high", 3}}),
         {0.0},
         -std::log(4.0)},
        {"uniform(-1,3) at low",
         PriorSpec::scalar("uniform", {{"low", -1}, {"high", 3}}),
         {-1.0},
         -std::log(4.0)},
        {"uniform(-1,3) at 3.5",
         PriorSpec::scalar("uniform", {{"low", -1}, {"high", 3}}),
         {3.5},
         -kInf},
        {"lognormal(0.5,0.4) at 2",
         PriorSpec::scalar("lognormal", {{"log_mean", 0.5}, {"log_std", 0.4}}),
         {2.0},
         -std::log(2.0) - std::log(0.4) - 0.5 * kLog2Pi -
             0.5 * std::pow((std::log(2.0) - 0.5) / 0.4, 2)},
        {"lognormal at -1",
         PriorSpec::scalar("lognormal", {{"log_mean", 0}, {"log_std", 1}}),
         {-1.0},
         -kInf},
        // 3² · 0.5 · e^{-1.5} / Γ(2)
        {"gamma(2,3) at 0.5",
         PriorSpec::scalar("gamma", {{"shape", 2}, {"rate", 3}}),
         {0.5},
         std::log(4.5) - 1.5},
        {"gamma(2,3) at -1",
         PriorSpec::scalar("gamma", {{"shape", 2}, {"rate", 3}}),
         {-1.0},
         -kInf},
        {"gamma(1,2) at 0",
         PriorSpec::scalar("gamma", {{"shape", 1}, {"rate", 2}}),
         {0.0},
         std::log(2.0)},
        // Γ(0.5) = sqrt(π): 2^0.5 x^-0.5 e^{-2x} / sqrt(π) at x = 0.25
        {"gamma(0.5,2) at 0.25",
         PriorSpec::scalar("gamma", {{"shape", 0.5}, {"rate", 2}}),
         {0.25},
         0.5 * std::log(2.0) + std::log(2.0) - 0.5 - 0.5 * std::log(kPi)},
        // 1 / B(2, 5) = 30
        {"beta(2,5) at 0.3",
         PriorSpec::scalar("beta", {{"alpha", 2}, {"beta", 5}}),
         {0.3},
         std::log(30.0 * 0.3 * std::pow(0.7, 4))},
        {"beta(1,1) at 0", PriorSpec::scalar("beta", {{"alpha", 1}, {"beta", 1}}), {0.0}, 0.0},
        {"beta(1,1) at 1", PriorSpec::scalar("beta", {{"alpha", 1}, {"beta", 1}}), {1.0}, 0.0},
        {"beta(2,5) at 1.2", PriorSpec::scalar("beta", {{"alpha", 2}, {"beta", 5}}), {1.2}, -kInf},
        {"exponential(1.5) at 2",
         PriorSpec::scalar("exponential", {{"rate", 1.5}}),
         {2.0},
         std::log(1.5) - 3.0},
        {"exponential(1.5) at -0.1",
         PriorSpec::scalar("exponential", {{"rate", 1.5}}),
         {-0.1},
         -kInf},
        // sqrt(2) / (σ sqrt(π)) e^{-x²/(2σ²)}
        {"half_normal(2) at 1",
         PriorSpec::scalar("half_normal", {{"scale", 2}}),
         {1.0},
         std::log(std::sqrt(2.0) / (2.0 * std::sqrt(kPi))) - 1.0 / 8.0},
        {"half_normal(2) at -0.1", PriorSpec::scalar("half_normal", {{"scale", 2}}), {-0.1}, -kInf},
        {"truncated_normal(0,1,-1,2) at 0.5",
         PriorSpec::scalar("truncated_normal", {{"mean", 0}, {"std", 1}, {"low", -1}, {"high", 2}}),
         {0.5},
         std::log(phi(0.5) / central.z)},
        {"truncated_normal(0,1,5,6) at 5.5",
         PriorSpec::scalar("truncated_normal", {{"mean", 0}, {"std", 1}, {"low", 5}, {"high", 6}}),
         {5.5},
         -0.5 * kLog2Pi - 0.5 * 5.5 * 5.5 - std::log(tail.z)},
        {"truncated_normal(0,1,10,12) at 11",
         PriorSpec::scalar("truncated_normal",
                           {{"mean", 0}, {"std", 1}, {"low", 10}, {"high", 12}}),
         {11.0},
         -0.5 * kLog2Pi - 0.5 * 11.0 * 11.0 - std::log(truncatedMoments(0, 1, 10, 12).z)},
        {"truncated_normal(0,1,5,6) at 4.9",
         PriorSpec::scalar("truncated_normal", {{"mean", 0}, {"std", 1}, {"low", 5}, {"high", 6}}),
         {4.9},
         -kInf},
        {"box_uniform inside",
         vectorSpec("box_uniform", {{"low", {0, -2, 10}}, {"high", {1, 2, 10.5}}}),
         {0.5, 1.0, 10.1},
         -std::log(1.0 * 4.0 * 0.5)},
        {"box_uniform outside in one coordinate",
         vectorSpec("box_uniform", {{"low", {0, -2, 10}}, {"high", {1, 2, 10.5}}}),
         {0.5, 2.5, 10.1},
         -kInf},
        // d = (0.5, -1); dᵀ Σ⁻¹ d = (0.25 + 2·0.5·(-1)·(-0.6) + 2) / 1.64 = 2.85 / 1.64.
        {"mvn at (1,-1)",
         vectorSpec("multivariate_normal", {{"mean", {0.5, 0}}, {"covariance", kCov2}},
                    {{"covariance", 2}}),
         {1.0, -1.0},
         -kLog2Pi - 0.5 * std::log(kDet2) - 0.5 * 2.85 / kDet2},
    };
    for (const Point& p : points) {
        const auto dist = makeDistribution(p.spec);
        const double actual = dist->logProb(p.theta.data());
        QVERIFY2(
            test::fuzzyEqual(actual, p.expected, 1e-12, 1e-11),
            test::fuzzyMessage(actual, p.expected, 1e-12, 1e-11).prepend(": ").prepend(p.what));
        QCOMPARE(dist->inSupport(p.theta.data()), p.expected > -kInf);
    }
}

void TestPriors::normalisation_data() {
    QTest::addColumn<int>("index");
    for (std::size_t i = 0; i < cases().size(); ++i) {
        const Case& c = cases()[i];
        if (c.mean.size() == 1 && !c.singularDensity)
            QTest::newRow(c.name.c_str()) << int(i);
    }
}

void TestPriors::normalisation() {
    // ∫p = 1, and ∫θ p and ∫(θ - mean)² p reproduce the textbook moments: this checks the
    // density's shape as well as its normalisation.
    QFETCH(int, index);
    const Case& c = cases()[std::size_t(index)];
    const auto dist = makeDistribution(c.spec);
    const Interval s = dist->support(0);
    const double sd = std::sqrt(c.variance[0]);
    const double a = std::max(s.lower, c.mean[0] - 20 * sd);
    const double b = std::min(s.upper, c.mean[0] + 20 * sd);
    auto p = [&](double x) { return std::exp(dist->logProb(&x)); };
    const int n = 200000;
    SBIW_COMPARE_NEAR(trapezoid(p, a, b, n), 1.0, 1e-6);
    SBIW_COMPARE_NEAR(trapezoid([&](double x) { return x * p(x); }, a, b, n), c.mean[0],
                      1e-6 * (1 + std::abs(c.mean[0])));
    SBIW_COMPARE_REL(
        trapezoid([&](double x) { return (x - c.mean[0]) * (x - c.mean[0]) * p(x); }, a, b, n),
        c.variance[0], 1e-5);
}

void TestPriors::normalisationMvnGrid() {
    for (const char* form : {"covariance", "precision"}) {
        const PriorSpec spec = vectorSpec(
            "multivariate_normal",
            {{"mean", {0.5, 0}}, {form, std::string(form) == "covariance" ? kCov2 : kPrec2}},
            {{form, 2}});
        const auto dist = makeDistribution(spec);
        // Trapezoid on a grid of ±10 standard deviations per axis.
        const int n = 800;
        const double ax = 0.5 - 10 * std::sqrt(2.0), bx = 0.5 + 10 * std::sqrt(2.0);
        const double ay = -10, by = 10;
        const double hx = (bx - ax) / n, hy = (by - ay) / n;
        double sum = 0;
        for (int i = 0; i <= n; ++i) {
            const double wx = (i == 0 || i == n) ? 0.5 : 1.0;
            for (int j = 0; j <= n; ++j) {
                const double wy = (j == 0 || j == n) ? 0.5 : 1.0;
                const double theta[2] = {ax + i * hx, ay + j * hy};
                sum += wx * wy * std::exp(dist->logProb(theta));
            }
        }
        SBIW_COMPARE_NEAR(sum * hx * hy, 1.0, 1e-6);
    }
}

void TestPriors::mvnCovarianceAndPrecision() {
    const PriorSpec byCov = vectorSpec(
        "multivariate_normal", {{"mean", {0.5, 0}}, {"covariance", kCov2}}, {{"covariance", 2}});
    const PriorSpec byPrec = vectorSpec(
        "multivariate_normal", {{"mean", {0.5, 0}}, {"precision", kPrec2}}, {{"precision", 2}});
    const auto cov = makeDistribution(byCov);
    const auto prec = makeDistribution(byPrec);

    // Same density at a few points, same variance (the diagonal of Σ).
    for (const auto& point :
         std::vector<std::vector<double>>{{0, 0}, {1, -1}, {-3, 2.5}, {10, 10}, {0.5, 0}}) {
        SBIW_COMPARE_NEAR(prec->logProb(point.data()), cov->logProb(point.data()), 1e-12);
    }
    SBIW_COMPARE_REL(prec->variance()[0], 2.0, 1e-12);
    SBIW_COMPARE_REL(prec->variance()[1], 1.0, 1e-12);
    QCOMPARE(prec->mean(), (std::vector<double>{0.5, 0}));

    // Sampling through the precision factor gives covariance Σ.
    const int n = 100000;
    Matrix draws(n, 2);
    RandomStream rng = test::testStream(77);
    for (int r = 0; r < n; ++r)
        prec->sample(rng, draws.row(r).data());
    const Matrix sampleCov = test::covariance(draws);
    for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 2; ++j) {
            const double s = kCov2[std::size_t(2 * i + j)];
            const double se =
                std::sqrt((kCov2[std::size_t(3 * i)] * kCov2[std::size_t(3 * j)] + s * s) / n);
            SBIW_COMPARE_NEAR(sampleCov(i, j), s, 5 * se);
        }
    }
    const Vector sampleMean = test::columnMeans(draws);
    SBIW_COMPARE_NEAR(sampleMean[0], 0.5, 5 * std::sqrt(2.0 / n));
    SBIW_COMPARE_NEAR(sampleMean[1], 0.0, 5 * std::sqrt(1.0 / n));

    // Not positive definite (eigenvalues 3 and -1), in either form.
    for (const char* form : {"covariance", "precision"}) {
        const PriorSpec bad = vectorSpec("multivariate_normal",
                                         {{"mean", {0, 0}}, {form, {1, 2, 2, 1}}}, {{form, 2}});
        const Problems problems = bad.validate();
        QVERIFY2(hasProblem(problems, form), describe(problems).constData());
        QVERIFY_THROWS_EXCEPTION(SettingsError, makeDistribution(bad));
    }
    // Positive semi-definite is not enough.
    QVERIFY(hasProblem(
        vectorSpec("multivariate_normal", {{"mean", {0, 0}}, {"covariance", {1, 1, 1, 1}}})
            .validate(),
        "covariance"));
}

void TestPriors::bijection_data() {
    moments_data();
}

void TestPriors::bijection() {
    QFETCH(int, index);
    const Case& c = cases()[std::size_t(index)];
    const auto dist = makeDistribution(c.spec);
    const int d = dist->dimension();
    const auto size = static_cast<std::size_t>(d);
    std::vector<double> theta(size), z(size), back(size);

    // Round trip on prior draws.
    RandomStream rng = test::testStream(99, std::uint64_t(index));
    for (int r = 0; r < 2000; ++r) {
        dist->sample(rng, theta.data());
        dist->toUnconstrained(theta.data(), z.data());
        dist->fromUnconstrained(z.data(), back.data());
        for (int j = 0; j < d; ++j) {
            QVERIFY(std::isfinite(z[std::size_t(j)]));
            SBIW_COMPARE_NEAR(back[std::size_t(j)], theta[std::size_t(j)],
                              1e-12 + 1e-9 * std::abs(theta[std::size_t(j)]));
        }
    }

    // Extreme z: θ stays in the support, nothing becomes NaN.
    for (double value : {-1e300, -1e3, -50.0, -1.0, 0.0, 1.0, 50.0, 1e3, 1e300}) {
        std::fill(z.begin(), z.end(), value);
        dist->fromUnconstrained(z.data(), theta.data());
        for (int j = 0; j < d; ++j)
            QVERIFY(!std::isnan(theta[std::size_t(j)]));
        QVERIFY2(dist->inSupport(theta.data()), qPrintable(QString("z = %1").arg(value)));
        QVERIFY(!std::isnan(dist->logAbsDetJacobian(z.data())));
        QVERIFY(!std::isnan(dist->logProb(theta.data())));
        if (std::abs(value) <= 1e3)
            QVERIFY(std::isfinite(dist->logAbsDetJacobian(z.data())));
    }

    // θ exactly on a finite bound maps to a finite z.
    for (int j = 0; j < d; ++j) {
        const Interval s = dist->support(j);
        for (double bound : {s.lower, s.upper}) {
            if (!std::isfinite(bound))
                continue;
            std::vector<double> t(c.mean);
            t[std::size_t(j)] = bound;
            dist->toUnconstrained(t.data(), z.data());
            QVERIFY(std::isfinite(z[std::size_t(j)]));
        }
    }

    // log|det dθ/dz| against central differences (the Jacobian is diagonal).
    for (double value : {-4.0, -1.3, 0.0, 0.7, 3.5}) {
        for (int j = 0; j < d; ++j)
            z[std::size_t(j)] = value + 0.3 * j;
        double expected = 0;
        for (int j = 0; j < d; ++j) {
            const double h = 1e-5 * (1 + std::abs(z[std::size_t(j)]));
            std::vector<double> plus(z), minus(z), tp(size), tm(size);
            plus[std::size_t(j)] += h;
            minus[std::size_t(j)] -= h;
            dist->fromUnconstrained(plus.data(), tp.data());
            dist->fromUnconstrained(minus.data(), tm.data());
            expected += std::log(std::abs(tp[std::size_t(j)] - tm[std::size_t(j)]) / (2 * h));
        }
        SBIW_COMPARE_NEAR(dist->logAbsDetJacobian(z.data()), expected, 1e-6);
    }
}

void TestPriors::bijectionDensityIntegratesToOne_data() {
    QTest::addColumn<int>("index");
    for (std::size_t i = 0; i < cases().size(); ++i)
        if (cases()[i].mean.size() == 1)
            QTest::newRow(cases()[i].name.c_str()) << int(i);
}

void TestPriors::bijectionDensityIntegratesToOne() {
    // Change of variables: p_z(z) = p_θ(θ(z)) |dθ/dz| is a density on R. This also covers the
    // families whose θ-density is unbounded at a bound (gamma shape < 1, arcsine beta).
    // Beyond |z| ≈ 36 θ(z) rounds onto a bound; the tails there hold < 1e-6 for these cases.
    QFETCH(int, index);
    const auto dist = makeDistribution(cases()[std::size_t(index)].spec);
    auto pz = [&](double z) {
        double theta;
        dist->fromUnconstrained(&z, &theta);
        return std::exp(dist->logProb(&theta) + dist->logAbsDetJacobian(&z));
    };
    SBIW_COMPARE_NEAR(trapezoid(pz, -30, 30, 120000), 1.0, 1e-5);
}

void TestPriors::validation_data() {
    QTest::addColumn<PriorSpec>("spec");
    QTest::addColumn<QString>("path");

    auto s = [](const char* family, std::map<std::string, double> fields) {
        return PriorSpec::scalar(family, std::move(fields));
    };
    const double nan = std::numeric_limits<double>::quiet_NaN();
    QTest::newRow("unknown family") << s("foo", {{"low", 0}}) << "family";
    QTest::newRow("empty family") << s("", {}) << "family";
    QTest::newRow("uniform high < low") << s("uniform", {{"low", 1}, {"high", 0}}) << "high";
    QTest::newRow("uniform high == low") << s("uniform", {{"low", 1}, {"high", 1}}) << "high";
    QTest::newRow("uniform missing high") << s("uniform", {{"low", 1}}) << "high";
    QTest::newRow("uniform missing low") << s("uniform", {{"high", 1}}) << "low";
    QTest::newRow("uniform extra field")
        << s("uniform", {{"low", 0}, {"high", 1}, {"mean", 0}}) << "mean";
    QTest::newRow("uniform nan low") << s("uniform", {{"low", nan}, {"high", 1}}) << "low";
    QTest::newRow("uniform inf high") << s("uniform", {{"low", 0}, {"high", kInf}}) << "high";
    QTest::newRow("uniform vector low")
        << vectorSpec("uniform", {{"low", {0, 1}}, {"high", {2}}}) << "low";
    QTest::newRow("uniform empty low")
        << vectorSpec("uniform", {{"low", {}}, {"high", {2}}}) << "low";
    QTest::newRow("normal std 0") << s("normal", {{"mean", 0}, {"std", 0}}) << "std";
    QTest::newRow("normal std < 0") << s("normal", {{"mean", 0}, {"std", -1}}) << "std";
    QTest::newRow("normal mean inf") << s("normal", {{"mean", -kInf}, {"std", 1}}) << "mean";
    QTest::newRow("lognormal log_std 0")
        << s("lognormal", {{"log_mean", 0}, {"log_std", 0}}) << "log_std";
    QTest::newRow("gamma shape < 0") << s("gamma", {{"shape", -1}, {"rate", 1}}) << "shape";
    QTest::newRow("gamma rate 0") << s("gamma", {{"shape", 1}, {"rate", 0}}) << "rate";
    QTest::newRow("beta alpha 0") << s("beta", {{"alpha", 0}, {"beta", 1}}) << "alpha";
    QTest::newRow("beta beta < 0") << s("beta", {{"alpha", 1}, {"beta", -2}}) << "beta";
    QTest::newRow("exponential rate 0") << s("exponential", {{"rate", 0}}) << "rate";
    QTest::newRow("exponential rate nan") << s("exponential", {{"rate", nan}}) << "rate";
    QTest::newRow("half_normal scale < 0") << s("half_normal", {{"scale", -1}}) << "scale";
    QTest::newRow("truncated_normal high < low")
        << s("truncated_normal", {{"mean", 0}, {"std", 1}, {"low", 1}, {"high", -1}}) << "high";
    QTest::newRow("truncated_normal std 0")
        << s("truncated_normal", {{"mean", 0}, {"std", 0}, {"low", -1}, {"high", 1}}) << "std";
    QTest::newRow("truncated_normal no mass")
        << s("truncated_normal", {{"mean", 0}, {"std", 1}, {"low", 100}, {"high", 101}}) << "low";
    QTest::newRow("truncated_normal no mass below")
        << s("truncated_normal", {{"mean", 0}, {"std", 1}, {"low", -101}, {"high", -100}})
        << "high";
    QTest::newRow("truncated_normal missing low")
        << s("truncated_normal", {{"mean", 0}, {"std", 1}, {"high", 1}}) << "low";
    QTest::newRow("box_uniform length mismatch")
        << vectorSpec("box_uniform", {{"low", {0, 0}}, {"high", {1}}}) << "high";
    QTest::newRow("box_uniform scalar low, vector high")
        << vectorSpec("box_uniform", {{"low", {0}}, {"high", {1, 1}}}) << "high";
    QTest::newRow("box_uniform high <= low")
        << vectorSpec("box_uniform", {{"low", {0, 0}}, {"high", {1, 0}}}) << "high";
    QTest::newRow("box_uniform empty")
        << vectorSpec("box_uniform", {{"low", {}}, {"high", {}}}) << "low";
    QTest::newRow("box_uniform nan")
        << vectorSpec("box_uniform", {{"low", {0, nan}}, {"high", {1, 1}}}) << "low";
    QTest::newRow("mvn missing matrix")
        << vectorSpec("multivariate_normal", {{"mean", {0, 0}}}) << "covariance";
    QTest::newRow("mvn missing mean")
        << vectorSpec("multivariate_normal", {{"covariance", {1}}}) << "mean";
    QTest::newRow("mvn both forms")
        << vectorSpec("multivariate_normal",
                      {{"mean", {0, 0}}, {"covariance", kCov2}, {"precision", kPrec2}},
                      {{"covariance", 2}, {"precision", 2}})
        << "precision";
    QTest::newRow("mvn not square")
        << vectorSpec("multivariate_normal", {{"mean", {0, 0}}, {"covariance", {1, 0, 0, 0, 1, 0}}},
                      {{"covariance", 2}})
        << "covariance";
    QTest::newRow("mvn ragged") << vectorSpec("multivariate_normal",
                                              {{"mean", {0, 0}}, {"covariance", {1, 0, 0, 1, 0}}},
                                              {{"covariance", 2}})
                                << "covariance";
    QTest::newRow("mvn wrong size")
        << vectorSpec("multivariate_normal",
                      {{"mean", {0, 0}}, {"covariance", {1, 0, 0, 0, 1, 0, 0, 0, 1}}},
                      {{"covariance", 3}})
        << "covariance";
    QTest::newRow("mvn scalar mean for 2x2")
        << vectorSpec("multivariate_normal", {{"mean", {0}}, {"covariance", kCov2}},
                      {{"covariance", 2}})
        << "covariance";
    QTest::newRow("mvn no row count, not square")
        << vectorSpec("multivariate_normal", {{"mean", {0, 0}}, {"covariance", {1, 0, 1}}})
        << "covariance";
    QTest::newRow("mvn non-symmetric")
        << vectorSpec("multivariate_normal", {{"mean", {0, 0}}, {"covariance", {1, 0.5, 0.2, 1}}},
                      {{"covariance", 2}})
        << "covariance";
    QTest::newRow("mvn non-PD precision")
        << vectorSpec("multivariate_normal", {{"mean", {0, 0}}, {"precision", {1, 2, 2, 1}}},
                      {{"precision", 2}})
        << "precision";
    QTest::newRow("mvn inf in covariance")
        << vectorSpec("multivariate_normal", {{"mean", {0, 0}}, {"covariance", {1, 0, 0, kInf}}},
                      {{"covariance", 2}})
        << "covariance";
    QTest::newRow("mvn zero row count")
        << vectorSpec("multivariate_normal", {{"mean", {0, 0}}, {"covariance", kCov2}},
                      {{"covariance", 0}})
        << "covariance";
    QTest::newRow("row count on a scalar field")
        << vectorSpec("normal", {{"mean", {0}}, {"std", {1}}}, {{"std", 1}}) << "std";
}

void TestPriors::validation() {
    QFETCH(PriorSpec, spec);
    QFETCH(QString, path);
    const Problems problems = spec.validate();
    QVERIFY2(hasProblem(problems, path.toStdString()), describe(problems).constData());
    for (const Problem& p : problems)
        QVERIFY(!p.message.empty());
    try {
        makeDistribution(spec);
        QFAIL("makeDistribution accepted an invalid spec");
    } catch (const SettingsError& error) {
        QVERIFY(hasProblem(error.problems(), path.toStdString()));
    }
}

void TestPriors::validationMessages() {
    const Problems order = PriorSpec::scalar("uniform", {{"low", 1}, {"high", 0}}).validate();
    QCOMPARE(order.size(), std::size_t(1));
    QCOMPARE(order[0].path, std::string("high"));
    QCOMPARE(order[0].message, std::string("must be greater than low (low = 1, high = 0)"));

    const Problems missing = PriorSpec::scalar("uniform", {{"low", 1}}).validate();
    QCOMPARE(missing.size(), std::size_t(1));
    QCOMPARE(missing[0].message, std::string("missing"));

    const Problems unknown = PriorSpec::scalar("foo", {}).validate();
    QCOMPARE(unknown.size(), std::size_t(1));
    QVERIFY(unknown[0].message.find("unknown prior family 'foo'") != std::string::npos);
    QVERIFY(unknown[0].message.find("uniform, normal, lognormal") != std::string::npos);

    const Problems sd = PriorSpec::scalar("normal", {{"mean", 0}, {"std", -1}}).validate();
    QCOMPARE(sd.size(), std::size_t(1));
    QCOMPARE(sd[0].message, std::string("must be positive"));

    const Problems pd =
        vectorSpec("multivariate_normal", {{"mean", {0, 0}}, {"covariance", {1, 2, 2, 1}}})
            .validate();
    QCOMPARE(pd.size(), std::size_t(1));
    QCOMPARE(pd[0].message, std::string("must be positive definite"));

    // Several problems at once, each naming its field; no relation checks on broken fields.
    const Problems many =
        PriorSpec::scalar("truncated_normal", {{"std", 0}, {"low", kInf}, {"high", 0}, {"x", 1}})
            .validate();
    QVERIFY(hasProblem(many, "mean"));
    QVERIFY(hasProblem(many, "std"));
    QVERIFY(hasProblem(many, "low"));
    QVERIFY(hasProblem(many, "x"));
    QVERIFY(!hasProblem(many, "high"));

    QVERIFY_THROWS_EXCEPTION(SettingsError,
                             makeDistribution(PriorSpec::scalar("normal", {{"std", 1}})));
}

void TestPriors::jointPrior() {
    const PriorSpec normal = PriorSpec::scalar("normal", {{"mean", 0}, {"std", 1}});
    const PriorSpec box = vectorSpec("box_uniform", {{"low", {0, -2, 10}}, {"high", {1, 2, 10.5}}});
    const PriorSpec gamma = PriorSpec::scalar("gamma", {{"shape", 2}, {"rate", 3}});
    const PriorSpec mvn = vectorSpec(
        "multivariate_normal", {{"mean", {0.5, 0}}, {"covariance", kCov2}}, {{"covariance", 2}});
    const JointPrior prior({normal, box, gamma, mvn});

    QCOMPARE(prior.dimension(), 7);
    QCOMPARE(prior.blockCount(), 4);
    QCOMPARE(prior.blockOffset(0), 0);
    QCOMPARE(prior.blockOffset(1), 1);
    QCOMPARE(prior.blockOffset(2), 4);
    QCOMPARE(prior.blockOffset(3), 5);
    QCOMPARE(prior.block(1).dimension(), 3);
    QCOMPARE(prior.support(2).lower, -2.0);
    QCOMPARE(prior.support(2).upper, 2.0);
    QCOMPARE(prior.support(4).lower, 0.0);
    QVERIFY(std::isinf(prior.support(6).upper));
    QVERIFY(std::isinf(prior.support(0).lower));
    QCOMPARE(prior.mean(), (std::vector<double>{0, 0.5, 0, 10.25, 2.0 / 3.0, 0.5, 0}));
    const std::vector<double> variance = prior.variance();
    QCOMPARE(int(variance.size()), 7);
    SBIW_COMPARE_REL(variance[4], 2.0 / 9.0, 1e-12);
    SBIW_COMPARE_REL(variance[5], 2.0, 1e-12);

    // Batched sampling: reproducible, and any split of the index range gives the same rows.
    const std::uint64_t seed = 31337;
    const Matrix a = prior.sample(100, seed, 0);
    const Matrix b = prior.sample(100, seed, 0);
    QCOMPARE(a.rows(), Eigen::Index(100));
    QCOMPARE(a.cols(), Eigen::Index(7));
    QVERIFY(a == b);
    const Matrix tail = prior.sample(50, seed, 50);
    QVERIFY(a.bottomRows(50) == tail);
    QVERIFY(a != prior.sample(100, seed + 1, 0));
    // Row r is exactly what the simulation with index r draws from its own stream.
    for (int r : {0, 17, 99}) {
        RandomStream rng(seed, StreamPurpose::Prior, std::uint64_t(r));
        std::vector<double> row(7);
        prior.sample(rng, row.data());
        for (int j = 0; j < 7; ++j)
            QCOMPARE(row[std::size_t(j)], a(r, j));
    }

    // logProb is the sum of the blocks' log densities.
    const Vector lp = prior.logProb(a);
    QCOMPARE(lp.size(), Eigen::Index(100));
    const auto dNormal = makeDistribution(normal);
    const auto dBox = makeDistribution(box);
    const auto dGamma = makeDistribution(gamma);
    const auto dMvn = makeDistribution(mvn);
    for (int r = 0; r < 100; ++r) {
        const double* t = a.row(r).data();
        QVERIFY(prior.inSupport(t));
        const double expected = dNormal->logProb(t) + dBox->logProb(t + 1) +
                                dGamma->logProb(t + 4) + dMvn->logProb(t + 5);
        SBIW_COMPARE_NEAR(lp[r], expected, 1e-12);
        SBIW_COMPARE_NEAR(prior.logProb(t), expected, 1e-12);
    }
    // A hand-computed point: N(0,1) at 0, box density 1/2, Gamma(2,3) at 0.5, MVN at (1,-1).
    const double point[7] = {0, 0.5, 1, 10.1, 0.5, 1, -1};
    SBIW_COMPARE_NEAR(prior.logProb(point),
                      -0.5 * kLog2Pi - std::log(2.0) + std::log(4.5) - 1.5 - kLog2Pi -
                          0.5 * std::log(kDet2) - 0.5 * 2.85 / kDet2,
                      1e-12);
    double outside[7] = {0, 0.5, 1, 10.1, -0.5, 1, -1};
    QVERIFY(!prior.inSupport(outside));
    QCOMPARE(prior.logProb(outside), -kInf);

    // Matrix bijection: round trip, rows equal the per-row calls, Jacobian sums the blocks.
    const Matrix z = prior.toUnconstrained(a);
    const Matrix back = prior.fromUnconstrained(z);
    QVERIFY(((back - a).array().abs() <= 1e-9 * (1 + a.array().abs())).all());
    for (int r : {3, 42}) {
        std::vector<double> zr(7);
        prior.toUnconstrained(a.row(r).data(), zr.data());
        for (int j = 0; j < 7; ++j)
            QCOMPARE(zr[std::size_t(j)], z(r, j));
        const double* zp = z.row(r).data();
        SBIW_COMPARE_NEAR(prior.logAbsDetJacobian(zp),
                          dBox->logAbsDetJacobian(zp + 1) + dGamma->logAbsDetJacobian(zp + 4),
                          1e-12);
    }

    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, prior.logProb(Matrix(3, 6)));
    QCOMPARE(JointPrior().dimension(), 0);
}

void TestPriors::jointPriorProblems() {
    const PriorSpec good = PriorSpec::scalar("normal", {{"mean", 0}, {"std", 1}});
    try {
        JointPrior({good, PriorSpec::scalar("uniform", {{"low", 1}, {"high", 0}})});
        QFAIL("JointPrior accepted an invalid block");
    } catch (const SettingsError& error) {
        QVERIFY2(hasProblem(error.problems(), "[1].high"), describe(error.problems()).constData());
    }
    try {
        JointPrior({PriorSpec::scalar("normal", {{"mean", 0}, {"std", -1}}), good,
                    vectorSpec("box_uniform", {{"low", {0, 0}}, {"high", {1}}})});
        QFAIL("JointPrior accepted invalid blocks");
    } catch (const SettingsError& error) {
        // Every bad block is reported, not only the first.
        QVERIFY(hasProblem(error.problems(), "[0].std"));
        QVERIFY(hasProblem(error.problems(), "[2].high"));
        QCOMPARE(error.problems().size(), std::size_t(2));
    }
}

// JointPrior::sampleRows (what batch simulation uses) gives exactly the rows that each row's
// own stream gives through sample(rng, ...): for uniform boxes (drawn many rows at once from the
// first Philox blocks, here with 1, 2 and 3 blocks per row) and for any other prior.
void TestPriors::sampleRowsIsRowByRowSampling() {
    const auto uniform = [](double low, double high) {
        return PriorSpec::scalar("uniform", {{"low", low}, {"high", high}});
    };
    const PriorSpec box = vectorSpec("box_uniform", {{"low", {0, -2, 10}}, {"high", {1, 2, 10.5}}});
    const PriorSpec box10 = vectorSpec("box_uniform", {{"low", std::vector<double>(10, -1.0)},
                                                       {"high", std::vector<double>(10, 1.0)}});
    const PriorSpec normal = PriorSpec::scalar("normal", {{"mean", 0}, {"std", 1}});
    const std::vector<std::vector<PriorSpec>> priors = {
        {uniform(-1, 1), uniform(-1, 1)},              // two_moons
        {uniform(0.5, 3), box, uniform(-1e-3, 1e-3)},  // 5 draws: two blocks per row
        {box10},                                       // gaussian_linear_uniform: three
        {uniform(-1, 1), normal, box},                 // not all uniform: row by row
    };
    const std::uint64_t seed = 977;
    for (const auto& blocks : priors) {
        const JointPrior prior(blocks);
        const int d = prior.dimension();
        for (std::uint64_t firstIndex :
             {std::uint64_t(0), std::uint64_t(13), std::uint64_t(1) << 40}) {
            const std::int64_t count = 203;  // tiles of 64 rows and a remainder
            std::vector<double> rows(std::size_t(count * d));
            prior.sampleRows(seed, firstIndex, count, rows.data());
            for (std::int64_t r = 0; r < count; ++r) {
                RandomStream rng(seed, StreamPurpose::Prior, firstIndex + std::uint64_t(r));
                std::vector<double> expected(static_cast<std::size_t>(d));
                prior.sample(rng, expected.data());
                for (int j = 0; j < d; ++j)
                    QCOMPARE(rows[std::size_t(r * d + j)], expected[std::size_t(j)]);
                QVERIFY(prior.inSupport(&rows[std::size_t(r * d)]));
            }
        }
    }
}

// streamDraws gives each stream's first draws in nextBits() order, and a stream resumed from
// them after k draws goes on as the stream itself.
void TestPriors::streamDrawsAndResumedStreams() {
    const std::uint64_t seed = 5, first = 1000;
    const int rows = 11, blocks = 3;
    std::vector<std::uint64_t> draws(std::size_t(rows * 4 * blocks));
    streamDraws(seed, StreamPurpose::Simulator, first, rows, blocks, draws.data());
    for (int r = 0; r < rows; ++r) {
        RandomStream rng(seed, StreamPurpose::Simulator, first + std::uint64_t(r));
        for (int i = 0; i < 4 * blocks; ++i)
            QCOMPARE(draws[std::size_t(r * 4 * blocks + i)], rng.nextBits());
        const std::uint64_t next = rng.nextBits();
        for (int used = 0; used <= 4; ++used) {
            RandomStream resumed(seed, StreamPurpose::Simulator, first + std::uint64_t(r),
                                 &draws[std::size_t(r * 4 * blocks)], used);
            for (int i = used; i < 4 * blocks; ++i)
                QCOMPARE(resumed.nextBits(), draws[std::size_t(r * 4 * blocks + i)]);
            QCOMPARE(resumed.nextBits(), next);
        }
    }
}

QTEST_APPLESS_MAIN(TestPriors)
#include "test_priors.moc"
