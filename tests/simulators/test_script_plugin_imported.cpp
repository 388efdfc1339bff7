// Script (JavaScript) simulators, native plugins and imported simulations: known answers,
// reproducibility, errors that name the line and θ, time limits, no file or network access.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <cmath>
#include <mutex>

#include "cli/cli.h"
#include "core/csv.h"
#include "qt/imported_simulations.h"
#include "qt/plugin_simulator.h"
#include "qt/project_file.h"
#include "qt/script_simulator.h"
#include "qt/simulator_factory.h"
#include "simulators/batch_simulation.h"
#include "simulators/catalogue.h"
#include "simulators/external_program.h"
#include "support/cli_runner.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

using test::CliRun;
using test::cli;

ScriptSimulatorSettings script(const std::string& source, double timeout = 10.0) {
    ScriptSimulatorSettings s;
    s.source = source;
    s.sourceName = "test.js";
    s.parameterDimension = 2;
    s.dataDimension = 2;
    s.timeoutSeconds = timeout;
    return s;
}

Matrix repeatedTheta(int count, double a, double b) {
    Matrix theta(count, 2);
    theta.col(0).setConstant(a);
    theta.col(1).setConstant(b);
    return theta;
}

SimulationOptions threads(int count, std::uint64_t seed = 21) {
    SimulationOptions options;
    options.seed = seed;
    options.threads = count;
    return options;
}

struct Moments {
    double mean[2], sd[2];
};
Moments moments(const Matrix& x) {
    Moments m{};
    for (int j = 0; j < 2; ++j) {
        m.mean[j] = x.col(j).mean();
        m.sd[j] = std::sqrt((x.col(j).array() - m.mean[j]).square().sum() / double(x.rows() - 1));
    }
    return m;
}

void writeFile(const QString& path, const QByteArray& content) {
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(content);
}

}  // namespace

class TestScriptPluginImported : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    // ------------------------------------------------------------------------------ scripts

    void javascriptTwoMoonsMatchesTheBuiltIn() {
        ProjectLoadResult loaded =
            loadProject(test::sourcePath("projects/custom/two_moons_js.sbiw"));
        QVERIFY2(loaded.ok(), qPrintable(loaded.errorText()));
        const auto js = makeProjectSimulator(*loaded.project, {});  // scripts need no trust
        const auto builtin = findTask("two_moons")->create();
        const int n = 4000;
        const Matrix theta = repeatedTheta(n, 0.3, -0.2);
        const SimulationBatch a = simulateAt(theta, *js, threads(2));
        const SimulationBatch b = simulateAt(theta, *builtin, threads(2));
        QCOMPARE(a.failureCount, 0);
        const Moments ma = moments(a.x), mb = moments(b.x);
        // Known answer: E[x1] = 0.25 + 0.1 * 2/π - |θ1 + θ2|/√2, E[x2] = (θ2 - θ1)/√2.
        const double s = std::sqrt(0.5);
        const double expected[2] = {0.25 + 0.2 / M_PI - s * 0.1, s * (-0.5)};
        for (int j = 0; j < 2; ++j) {
            const double se = mb.sd[j] / std::sqrt(double(n));
            SBIW_COMPARE_NEAR(ma.mean[j], expected[j], 4.5 * se);
            SBIW_COMPARE_NEAR(ma.mean[j], mb.mean[j], 6.0 * se);
            SBIW_COMPARE_REL(ma.sd[j], mb.sd[j], 0.06);
        }
        // Reproducible for any thread count.
        QCOMPARE(simulateAt(theta.topRows(500), *js, threads(1)).x, a.x.topRows(500));
    }

    void scriptErrorsNameTheLineAndTheta() {
        try {
            ScriptSimulator bad(script("function simulate(theta, rng) {\n  return [1, 2;\n}"));
            QFAIL("a syntax error must be reported");
        } catch (const std::runtime_error& error) {
            QVERIFY2(QString(error.what()).startsWith("test.js:2: SyntaxError"), error.what());
        }
        QVERIFY(ScriptSimulator::check("var x = 1;").find("defines no function simulate") !=
                std::string::npos);
        QCOMPARE(ScriptSimulator::check("function simulate(t, r) { return [0, 0]; }"),
                 std::string());

        ScriptSimulator simulator(
            script("function simulate(theta, rng) {\n"
                   "  if (theta[0] > 0.8) return [1, 2, 3];\n"
                   "  if (theta[0] > 0.6) return [1, 'high'];\n"
                   "  if (theta[0] > 0.4) undefinedFunction();\n"
                   "  if (theta[0] > 0.2) rng.gamma(-1);\n"
                   "  return [theta[0], theta[1]];\n"
                   "}\n"));
        Matrix theta(5, 2);
        theta << 0.9, 0.0, 0.7, 0.0, 0.5, 0.0, 0.3, 0.0, 0.1, 0.25;
        const SimulationBatch batch = simulateAt(theta, simulator, threads(1));
        QCOMPARE(batch.failureCount, 4);
        auto message = [&](int row) {
            return QString::fromStdString(batch.failures[std::size_t(row)].message);
        };
        QVERIFY2(message(0).contains("returned 3 values at θ = [0.9, 0]; the project expects 2"),
                 qPrintable(message(0)));
        QVERIFY2(
            message(1).contains("returned high as value 1 at θ = [0.7, 0], which is not a number"),
            qPrintable(message(1)));
        QVERIFY2(message(2).startsWith("test.js:4: ReferenceError") &&
                     message(2).contains("θ = [0.5, 0]"),
                 qPrintable(message(2)));
        QVERIFY2(message(3).contains("rng.gamma(shape, scale): shape and scale must be positive") &&
                     message(3).contains("θ = [0.3, 0]"),
                 qPrintable(message(3)));
        QCOMPARE(batch.x(4, 0), 0.1);
        QCOMPARE(batch.x(4, 1), 0.25);
    }

    void aHangingScriptIsInterrupted() {
        ScriptSimulator simulator(
            script("function simulate(theta, rng) {\n"
                   "  while (theta[0] > 0.5) {}\n"
                   "  return [theta[0], 1];\n"
                   "}\n",
                   0.3));
        Matrix theta(3, 2);
        theta << 0.1, 0.0, 0.9, 0.0, 0.2, 0.0;
        const auto start = std::chrono::steady_clock::now();
        const SimulationBatch batch = simulateAt(theta, simulator, threads(1));
        QVERIFY(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
        QCOMPARE(batch.nonFiniteRows, (std::vector<std::int64_t>{1}));
        QVERIFY2(batch.failures[0].message.find("took longer than 0.3 s at θ = [0.9, 0]") !=
                     std::string::npos,
                 batch.failures[0].message.c_str());
        QCOMPARE(batch.x(2, 0), 0.2);  // the engine works again after the interrupt
    }

    void scriptsHaveNoFileOrNetworkAccess() {
        ScriptSimulatorSettings settings = script(
            "function simulate(theta, rng) {\n"
            "  var absent = ['XMLHttpRequest', 'Qt', 'require', 'process', 'fetch', 'WebSocket', "
            "'File']\n"
            "      .filter(function(name) { return typeof this[name] === 'undefined'; }, "
            "this).length;\n"
            "  console.log('checked', absent);\n"
            "  return [absent, 7];\n"
            "}\n");
        std::vector<std::string> lines;
        settings.log = [&](const std::string& line) { lines.push_back(line); };
        ScriptSimulator simulator(settings);
        const SingleSimulation once = simulateOnce(simulator, {0.0, 0.0});
        QVERIFY2(once.ok(), once.error.c_str());
        QCOMPARE(once.x[0], 7.0);
        QCOMPARE(lines, (std::vector<std::string>{"checked 7"}));
        // Modules (the only way QJSEngine reads files) are not scripts' business.
        QVERIFY(!ScriptSimulator::check("import * as fs from 'file:///etc/passwd';\nfunction "
                                        "simulate(t, r) { return [0, 0]; }")
                     .empty());
        QVERIFY(!ScriptSimulator::check(
                     "function simulate(theta, rng) { import('/etc/passwd'); return [1, 1]; }")
                     .empty());
    }

    void rngDrawsHaveTheirMeans() {
        ScriptSimulator simulator(
            script("function simulate(theta, rng) {\n"
                   "  return [rng.poisson(3.5) + rng.binomial(10, 0.3) + rng.gamma(2, 0.5)"
                   " + rng.integer(4) + rng.exponential(2) + rng.beta(2, 3), rng.normal()];\n"
                   "}\n"));
        const int n = 20000;
        const SimulationBatch batch = simulateAt(repeatedTheta(n, 0.0, 0.0), simulator, threads(2));
        // 3.5 + 3 + 1 + 1.5 + 0.5 + 0.4; variance 3.5 + 2.1 + 0.5 + 1.25 + 0.25 + 0.04.
        const double mean = batch.x.col(0).mean();
        SBIW_COMPARE_NEAR(mean, 9.9, 4.0 * std::sqrt(7.64 / n));
        SBIW_COMPARE_NEAR(batch.x.col(1).mean(), 0.0, 4.0 / std::sqrt(double(n)));
    }

    // ------------------------------------------------------------------------------ plugins

    void pluginMatchesTheCProgramExactly() {
        QTemporaryDir dir;
        QFile::copy(SBIW_TWO_MOONS_PLUGIN, dir.filePath("libtwo_moons_plugin.so"));
        QFile::copy(test::sourcePath("projects/custom/two_moons_plugin.sbiw"),
                    dir.filePath("p.sbiw"));
        ProjectLoadResult loaded = loadProject(dir.filePath("p.sbiw"));
        QVERIFY2(loaded.ok(), qPrintable(loaded.errorText()));
        TrustStore store(dir.filePath("trust.json"));
        SimulatorEnvironment environment;
        environment.trust = &store;
        QVERIFY_THROWS_EXCEPTION(UntrustedSimulatorError,
                                 makeProjectSimulator(*loaded.project, environment));
        const ForeignCode code = foreignCode(*loaded.project);
        QCOMPARE(code.description, QDir(dir.path()).absoluteFilePath("libtwo_moons_plugin.so"));
        QCOMPARE(store.trust(code), QString());
        const auto plugin = makeProjectSimulator(*loaded.project, environment);

        ExternalProgramSettings program;
        program.command = {SBIW_TWO_MOONS_SIMULATOR};
        program.parameterDimension = program.dataDimension = 2;
        ExternalProgramSimulator external(program);
        const JointPrior prior = loaded.project->makePrior();
        const SimulationBatch a = simulateFromPrior(prior, *plugin, 3000, threads(2));
        const SimulationBatch b = simulateFromPrior(prior, external, 3000, threads(1));
        QCOMPARE(a.failureCount, 0);
        QCOMPARE(a.x, b.x);

        // A row it cannot simulate fails alone, named by θ.
        Matrix theta(3, 2);
        theta << 0.1, 0.2, NAN, 0.0, 0.3, 0.4;
        const SimulationBatch withNan = simulateAt(theta, *plugin, threads(1));
        QCOMPARE(withNan.failureCount, 1);
        QVERIFY2(
            withNan.failures[0].message.find(
                "two_moons (C plugin) could not simulate at θ = [nan, 0]") != std::string::npos,
            withNan.failures[0].message.c_str());
    }

    void pluginsThatDoNotFitAreExplained() {
        PluginSimulatorSettings settings;
        settings.library = SBIW_TWO_MOONS_PLUGIN;
        settings.parameterNames = {"a", "b"};
        settings.dataDimension = 2;
        try {
            PluginSimulator plugin(settings);
            QFAIL("other parameter names must be refused");
        } catch (const std::runtime_error& error) {
            QVERIFY2(
                QString(error.what())
                    .contains(
                        "declares the parameters 'parameter_1 parameter_2', the project has 'a b'"),
                error.what());
        }
        settings.parameterNames = {"parameter_1", "parameter_2"};
        settings.dataDimension = 3;
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, PluginSimulator{settings});
        settings.library = "/nonexistent/libnothing.so";
        try {
            PluginSimulator plugin(settings);
            QFAIL("a missing library must be refused");
        } catch (const std::runtime_error& error) {
            QVERIFY2(QString(error.what()).contains("cannot load the plugin"), error.what());
        }
    }

    // ------------------------------------------------------------------------------ imported

    void importedSimulationsAreCheckedAndExplained() {
        QTemporaryDir dir;
        QFile::copy(test::sourcePath("projects/custom/two_moons_imported.sbiw"),
                    dir.filePath("p.sbiw"));
        ProjectLoadResult loaded = loadProject(dir.filePath("p.sbiw"));
        QVERIFY2(loaded.ok(), qPrintable(loaded.errorText()));
        const Project& project = *loaded.project;
        auto problem = [&](const QByteArray& csv) -> QString {
            writeFile(dir.filePath("two_moons_simulations.csv"), csv);
            try {
                loadImportedSimulations(project);
                return {};
            } catch (const std::exception& error) {
                return error.what();
            }
        };
        QVERIFY(problem("parameter_1,parameter_2,data_1\n0,0,1\n")
                    .contains("has 3 columns; the project needs 4: its 2 parameters (parameter_1, "
                              "parameter_2) and "
                              "then the 2 data values"));
        QVERIFY(problem("parameter_2,parameter_1,d1,d2\n0,0,1,1\n")
                    .contains("column 1 is 'parameter_2' where the project's parameter "
                              "'parameter_1' is expected"));
        QVERIFY(problem("parameter_1,parameter_2,d1,d2\n0,0,1,1\nnan,0,1,1\n")
                    .contains("1 rows have parameters that are not finite numbers (line 3)"));
        QVERIFY(
            problem("parameter_1,parameter_2,d1,d2\n").contains("has a header but no simulations"));
        QVERIFY(problem("parameter_1,parameter_2,d1,d2\n0,0,1,x\n")
                    .contains("two_moons_simulations.csv:2: column 4"));  // CsvError

        writeFile(
            dir.filePath("two_moons_simulations.csv"),
            "parameter_1,parameter_2,d1,d2\n0.1,0.2,1,2\n0.3,0.4,nan,2\n5,0,1,1\n-0.5,0.5,3,4\n");
        const ImportedSimulations imported = loadImportedSimulations(project);
        QCOMPARE(imported.rowsRead, 4);
        QCOMPARE(imported.theta.rows(), 2);
        QCOMPARE(imported.x(1, 1), 4.0);
        QCOMPARE(int(imported.notes.size()), 2);
        QVERIFY(QString::fromStdString(imported.notes[0])
                    .contains("1 of 4 rows have non-finite data (line 3)"));
        QVERIFY(QString::fromStdString(imported.notes[1])
                    .contains("outside the prior's support (line 4)"));
    }

    void cliTrainsOnImportedSimulations() {
        QTemporaryDir dir;
        const QString csv = dir.filePath("two_moons_simulations.csv");
        QCOMPARE(cli({"simulate", test::sourcePath("projects/two_moons.sbiw"), "--count", "600",
                      "--seed", "3", "--out", csv})
                     .code,
                 int(kExitSuccess));
        QFile::copy(test::sourcePath("projects/custom/two_moons_imported.sbiw"),
                    dir.filePath("p.sbiw"));
        const QString samples = dir.filePath("samples.csv");
        const CliRun run = cli({"train", dir.filePath("p.sbiw"), "--no-history", "--max-epochs",
                                "2", "--samples", "100", "--out", samples, "--threads", "1"});
        QVERIFY2(run.code == kExitSuccess, qPrintable(run.err));
        QVERIFY2(run.out.contains("training on 600 imported simulations"), qPrintable(run.out));
        QCOMPARE(readCsv(samples.toStdString()).values.rows(), 100);
        const CliRun nle = cli(
            {"train", dir.filePath("p.sbiw"), "--no-history", "--method", "nle", "--out", samples});
        QCOMPARE(nle.code, int(kExitFailure));
        QVERIFY(nle.err.contains("NPE only"));
        const CliRun simulate =
            cli({"simulate", dir.filePath("p.sbiw"), "--count", "5", "--out", samples});
        QVERIFY2(simulate.err.contains("an imported project has no simulator"),
                 qPrintable(simulate.err));
    }
};

QTEST_GUILESS_MAIN(TestScriptPluginImported)
#include "test_script_plugin_imported.moc"
