// The task catalogue: ids, dimensions, names, default priors and reference observations,
// checked against the sbibm / gw_chirp specifications and copies of their files.

#include <QtTest>

#include <cmath>
#include <set>

#include "simulators/catalogue.h"
#include "support/test_support.h"

using namespace sbiw;
using namespace sbiw::test;

namespace {

struct Expected {
    const char* id;
    int parameters;
    int data;
};

const Expected kExpected[] = {
    {"gaussian_linear", 10, 10},
    {"gaussian_linear_uniform", 10, 10},
    {"two_moons", 2, 2},
    {"slcp", 5, 8},
    {"slcp_distractors", 5, 100},
    {"gaussian_mixture", 2, 2},
    {"bernoulli_glm", 10, 10},
    {"bernoulli_glm_raw", 10, 100},
    {"sir", 2, 10},
    {"lotka_volterra", 4, 20},
    {"gw_chirp", 4, 512},
};

const TaskInfo& task(const char* id) {
    const TaskInfo* info = findTask(id);
    if (!info)
        qFatal("task %s missing", id);
    return *info;
}

std::vector<double> row(const Matrix& m, int r) {
    return std::vector<double>(m.row(r).data(), m.row(r).data() + m.cols());
}

}  // namespace

class TestCatalogue : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void idsAndDimensions() {
        const auto& tasks = builtinTasks();
        QCOMPARE(int(tasks.size()), 11);
        for (std::size_t i = 0; i < tasks.size(); ++i) {
            const TaskInfo& t = tasks[i];
            QCOMPARE(QString::fromStdString(t.id), QString(kExpected[i].id));
            QCOMPARE(t.parameterDimension(), kExpected[i].parameters);
            QCOMPARE(t.dataDimension, kExpected[i].data);
            QVERIFY(!t.title.empty());
            QVERIFY2(t.description.size() > 100, t.id.c_str());
            QVERIFY(!t.source.empty());
            QVERIFY(t.create);
            const auto simulator = t.create();
            QCOMPARE(simulator->parameterDimension(), kExpected[i].parameters);
            QCOMPARE(simulator->dataDimension(), kExpected[i].data);
        }
        QCOMPARE(task("gw_chirp").dataKind, DataKind::TimeSeries);
        QCOMPARE(task("two_moons").dataKind, DataKind::Vector);
        QVERIFY(task("gw_chirp").source.find("gw_chirp") != std::string::npos);
        QVERIFY(task("slcp").source.find("sbibm") != std::string::npos);
    }

    void findTaskByIdOnly() {
        QVERIFY(findTask("two_moons") != nullptr);
        QCOMPARE(findTask("two_moons"), &builtinTasks()[2]);
        QVERIFY(findTask("") == nullptr);
        QVERIFY(findTask("Two Moons") == nullptr);
        QVERIFY(findTask("two_moons ") == nullptr);
    }

    void parameterNames() {
        using Names = std::vector<std::string>;
        QCOMPARE(task("sir").parameterNames, (Names{"beta", "gamma"}));
        QCOMPARE(task("lotka_volterra").parameterNames, (Names{"alpha", "beta", "gamma", "delta"}));
        QCOMPARE(task("gw_chirp").parameterNames,
                 (Names{"chirp_mass", "t_c", "amplitude", "phase"}));
        QCOMPARE(task("slcp").parameterNames, (Names{"parameter_1", "parameter_2", "parameter_3",
                                                     "parameter_4", "parameter_5"}));
        QCOMPARE(task("gaussian_linear").parameterNames.back(), std::string("parameter_10"));
        for (const TaskInfo& t : builtinTasks()) {
            std::set<std::string> unique(t.parameterNames.begin(), t.parameterNames.end());
            QCOMPARE(int(unique.size()), t.parameterDimension());
            for (const std::string& name : t.parameterNames)
                for (char c : name)
                    QVERIFY(c > ' ' && c < 127 && c != ',');
        }
    }

    void defaultPriorsCoverTheParameters() {
        for (const TaskInfo& t : builtinTasks()) {
            int dimension = 0;
            for (const PriorSpec& block : t.defaultPrior) {
                QVERIFY2(block.validate().empty(),
                         (t.id + ": " + formatProblems(block.validate())).c_str());
                dimension += block.dimension();
            }
            QVERIFY2(dimension == t.parameterDimension(), t.id.c_str());
        }
    }

    void defaultPriorValues() {
        const auto scalarBlock = [](const char* id, int i, const char* family) {
            const PriorSpec& spec = task(id).defaultPrior.at(std::size_t(i));
            if (spec.family != family)
                qFatal("%s block %d is %s", id, i, spec.family.c_str());
            return spec;
        };
        for (int i = 0; i < 10; ++i) {
            const PriorSpec gl = scalarBlock("gaussian_linear", i, "normal");
            QCOMPARE(gl.scalar("mean"), 0.0);
            SBIW_COMPARE_NEAR(gl.scalar("std"), 0.31622776601683794, 1e-15);
            QCOMPARE(scalarBlock("gaussian_linear_uniform", i, "uniform").scalar("low"), -1.0);
        }
        for (int i = 0; i < 2; ++i) {
            QCOMPARE(scalarBlock("two_moons", i, "uniform").scalar("high"), 1.0);
            QCOMPARE(scalarBlock("gaussian_mixture", i, "uniform").scalar("low"), -10.0);
        }
        for (int i = 0; i < 5; ++i) {
            QCOMPARE(scalarBlock("slcp", i, "uniform").scalar("low"), -3.0);
            QCOMPARE(scalarBlock("slcp_distractors", i, "uniform").scalar("high"), 3.0);
        }
        SBIW_COMPARE_NEAR(scalarBlock("sir", 0, "lognormal").scalar("log_mean"), std::log(0.4),
                          1e-15);
        QCOMPARE(scalarBlock("sir", 0, "lognormal").scalar("log_std"), 0.5);
        SBIW_COMPARE_NEAR(scalarBlock("sir", 1, "lognormal").scalar("log_mean"), std::log(0.125),
                          1e-15);
        QCOMPARE(scalarBlock("sir", 1, "lognormal").scalar("log_std"), 0.2);
        const double lvMeans[] = {-0.125, -3.0, -0.125, -3.0};
        for (int i = 0; i < 4; ++i) {
            QCOMPARE(scalarBlock("lotka_volterra", i, "lognormal").scalar("log_mean"), lvMeans[i]);
            QCOMPARE(scalarBlock("lotka_volterra", i, "lognormal").scalar("log_std"), 0.5);
        }
        const double gwLow[] = {15.0, 0.6, 0.2, 0.0}, gwHigh[] = {40.0, 0.95, 1.0, 2.0 * M_PI};
        for (int i = 0; i < 4; ++i) {
            QCOMPARE(scalarBlock("gw_chirp", i, "uniform").scalar("low"), gwLow[i]);
            SBIW_COMPARE_NEAR(scalarBlock("gw_chirp", i, "uniform").scalar("high"), gwHigh[i],
                              1e-15);
        }
    }

    // One 10-dimensional MVN block whose precision matches sbibm's (recomputed in float64).
    void bernoulliGlmPriorPrecision() {
        const Matrix expected = readCsvMatrix(
            testDataPath("sbibm/bernoulli_glm/task_files/prior_precision_matrix.csv"));
        QCOMPARE(int(expected.rows()), 10);
        for (const char* id : {"bernoulli_glm", "bernoulli_glm_raw"}) {
            const auto& prior = task(id).defaultPrior;
            QCOMPARE(int(prior.size()), 1);
            QCOMPARE(prior[0].family, std::string("multivariate_normal"));
            QVERIFY(!prior[0].has("covariance"));
            QCOMPARE(prior[0].values.at("mean"), std::vector<double>(10, 0.0));
            QCOMPARE(prior[0].matrixRows.at("precision"), 10);
            const std::vector<double>& precision = prior[0].values.at("precision");
            QCOMPARE(int(precision.size()), 100);
            for (int r = 0; r < 10; ++r)
                for (int c = 0; c < 10; ++c)
                    SBIW_COMPARE_NEAR(precision[std::size_t(r * 10 + c)], expected(r, c), 1e-12);
        }
    }

    void referenceObservationsShape() {
        for (const TaskInfo& t : builtinTasks()) {
            QCOMPARE(int(t.referenceObservations.size()), 5);
            for (int n = 0; n < 5; ++n) {
                const ReferenceObservation& obs = t.referenceObservations[std::size_t(n)];
                QCOMPARE(obs.number, n + 1);
                QCOMPARE(int(obs.data.size()), t.dataDimension);
                QCOMPARE(int(obs.trueParameters.size()), t.parameterDimension());
                for (double v : obs.data)
                    QVERIFY(std::isfinite(v));
            }
        }
    }

    // Observation 1 of several tasks equals the ground-truth files (copies in tests/data).
    void referenceObservationsMatchFiles_data() {
        QTest::addColumn<QString>("id");
        QTest::addColumn<QString>("folder");
        for (const char* id : {"two_moons", "slcp", "bernoulli_glm", "sir"})
            QTest::newRow(id) << id << QString("sbibm/%1/obs1/").arg(id);
        QTest::newRow("slcp_distractors") << "slcp_distractors"
                                          << "sbibm/slcp_distractors/obs1/";
        QTest::newRow("bernoulli_glm_raw") << "bernoulli_glm_raw"
                                           << "sbibm/bernoulli_glm_raw/obs1/";
        QTest::newRow("gw_chirp") << "gw_chirp"
                                  << "gw_chirp/obs1/";
    }
    void referenceObservationsMatchFiles() {
        QFETCH(QString, id);
        QFETCH(QString, folder);
        const ReferenceObservation& obs = task(id.toUtf8().constData()).referenceObservations[0];
        const Matrix x = readCsvMatrix(testDataPath(folder + "observation.csv"));
        QCOMPARE(obs.data, row(x, 0));
        // The distractor and raw variants share θ* with slcp / bernoulli_glm.
        QString thetaFolder = folder;
        thetaFolder.replace("slcp_distractors", "slcp")
            .replace("bernoulli_glm_raw", "bernoulli_glm");
        const Matrix theta = readCsvMatrix(testDataPath(thetaFolder + "true_parameters.csv"));
        QCOMPARE(obs.trueParameters, row(theta, 0));
    }

    void variantsShareTrueParameters() {
        for (int n = 0; n < 5; ++n) {
            QCOMPARE(task("slcp_distractors").referenceObservations[n].trueParameters,
                     task("slcp").referenceObservations[n].trueParameters);
            QCOMPARE(task("bernoulli_glm_raw").referenceObservations[n].trueParameters,
                     task("bernoulli_glm").referenceObservations[n].trueParameters);
        }
    }
};

QTEST_GUILESS_MAIN(TestCatalogue)
#include "test_catalogue.moc"
