// Project bindings of every simulator kind: the JSON format and its validation paths, the
// factory, trust (nothing foreign runs before the user trusts exactly that code) and the CLI's
// --trust.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <cmath>

#include "cli/cli.h"
#include "core/csv.h"
#include "qt/project_file.h"
#include "qt/simulator_factory.h"
#include "qt/trust_store.h"
#include "simulators/batch_simulation.h"
#include "support/cli_runner.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

using test::CliRun;
using test::cli;

QByteArray readAll(const QString& path) {
    QFile file(path);
    file.open(QIODevice::ReadOnly);
    return file.readAll();
}

// A copy of projects/custom/two_moons_c.sbiw with the C program beside it, in `dir`.
QString copyCProject(const QTemporaryDir& dir) {
    const QString program = dir.filePath("two_moons_sim");
    QFile::copy(SBIW_TWO_MOONS_SIMULATOR, program);
    QFile::setPermissions(program, QFile::permissions(program) | QFileDevice::ExeOwner);
    const QString project = dir.filePath("moons.sbiw");
    QFile::copy(test::sourcePath("projects/custom/two_moons_c.sbiw"), project);
    return project;
}

QString problemsText(const QByteArray& json) {
    const ProjectLoadResult result = parseProject(json);
    return result.errorText();
}

// The two_moons project with its simulator object replaced by `binding`.
QByteArray withBinding(const QByteArray& binding) {
    QByteArray json = readAll(test::sourcePath("projects/two_moons.sbiw"));
    json.replace(R"("simulator": {"kind": "builtin", "task": "two_moons"})",
                 "\"simulator\": " + binding);
    return json;
}

}  // namespace

class TestProjectSimulators : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void everyKindRoundTripsThroughJson_data() {
        QTest::addColumn<QByteArray>("binding");
        QTest::newRow("program") << QByteArray(
            R"({"kind": "program", "command": ["python3", "sim.py", "--fast"],
                                                   "data_dimension": 2, "batch_size": 50, "timeout_seconds": 5})");
        QTest::newRow("script") << QByteArray(
            R"({"kind": "script", "script": "moons.js", "data_dimension": 2})");
        QTest::newRow("plugin") << QByteArray(
            R"({"kind": "plugin", "library": "lib/libmoons.so", "data_dimension": 2})");
        QTest::newRow("imported") << QByteArray(
            R"({"kind": "imported", "csv": "sims.csv", "data_dimension": 2})");
    }
    void everyKindRoundTripsThroughJson() {
        QFETCH(QByteArray, binding);
        const ProjectLoadResult loaded = parseProject(withBinding(binding));
        QVERIFY2(loaded.ok(), qPrintable(loaded.errorText()));
        QCOMPARE(loaded.project->dataDimension(), 2);
        const ProjectLoadResult again = parseProject(serializeProject(*loaded.project));
        QVERIFY2(again.ok(), qPrintable(again.errorText()));
        QVERIFY(*again.project == *loaded.project);
    }

    void bindingProblemsNameTheirField_data() {
        QTest::addColumn<QByteArray>("binding");
        QTest::addColumn<QString>("expected");
        QTest::newRow("no command")
            << QByteArray(R"({"kind": "program", "data_dimension": 2})")
            << "simulator.command: missing: give the program and its arguments";
        QTest::newRow("command not array")
            << QByteArray(R"({"kind": "program", "command": "sim", "data_dimension": 2})")
            << "simulator.command: must be an array of strings";
        QTest::newRow("command element")
            << QByteArray(R"({"kind": "program", "command": ["sim", 3], "data_dimension": 2})")
            << "simulator.command[1]: must be a string";
        QTest::newRow("no dimension") << QByteArray(R"({"kind": "program", "command": ["sim"]})")
                                      << "simulator.data_dimension: missing or below 1";
        QTest::newRow("other kind's field")
            << QByteArray(
                   R"({"kind": "program", "command": ["sim"], "task": "two_moons", "data_dimension": 2})")
            << "simulator.task: only used by kind 'builtin'; remove it";
        QTest::newRow("timeout")
            << QByteArray(
                   R"({"kind": "script", "script": "a.js", "data_dimension": 2, "timeout_seconds": 0})")
            << "simulator.timeout_seconds: must be a positive number of seconds";
        QTest::newRow("kind") << QByteArray(R"({"kind": "matlab"})")
                              << "simulator.kind: 'matlab' is not a known simulator kind (known: "
                                 "builtin, program, script, plugin, imported)";
        QTest::newRow("unknown key")
            << QByteArray(
                   R"({"kind": "plugin", "library": "a.so", "data_dimension": 2, "path": "x"})")
            << "simulator.path: unknown key";
        QTest::newRow("observation width")
            << QByteArray(R"({"kind": "imported", "csv": "s.csv", "data_dimension": 3})")
            << "observations[0].data: has 2 values per row, the simulator produces 3";
    }
    void bindingProblemsNameTheirField() {
        QFETCH(QByteArray, binding);
        QFETCH(QString, expected);
        const QString text = problemsText(withBinding(binding));
        QVERIFY2(text.contains(expected), qPrintable(text));
    }

    void foreignCodeRunsOnlyOnceTrusted() {
        QTemporaryDir dir;
        const QString path = copyCProject(dir);
        ProjectLoadResult loaded = loadProject(path);
        QVERIFY2(loaded.ok(), qPrintable(loaded.errorText()));
        const Project& project = *loaded.project;
        QCOMPARE(QString::fromStdString(project.baseDirectory), QDir(dir.path()).absolutePath());

        const ForeignCode code = foreignCode(project);
        QVERIFY(code.runsCode);
        const QString program = QDir(dir.path()).absoluteFilePath("two_moons_sim");
        QCOMPARE(code.description, program + " --binary");
        QCOMPARE(code.files, QStringList{program});
        QVERIFY(code.summary().contains("runs the program: " + program + " --binary (in "));

        TrustStore store(dir.filePath("trust.json"));
        SimulatorEnvironment environment;
        environment.trust = &store;
        try {
            makeProjectSimulator(project, environment);
            QFAIL("an untrusted program must not be made");
        } catch (const UntrustedSimulatorError& error) {
            QCOMPARE(error.code().fingerprint, code.fingerprint);
            QVERIFY(QString(error.what()).contains(program));
        }
        const SingleSimulation refused = testProjectSimulator(project, {0.1, 0.2}, environment);
        QVERIFY(refused.error.find("trust") != std::string::npos);

        QCOMPARE(store.trust(code), QString());
        QVERIFY(TrustStore(dir.filePath("trust.json")).isTrusted(code));  // remembered in the file
        const SingleSimulation once = testProjectSimulator(project, {0.1, 0.2}, environment, 3);
        QVERIFY2(once.ok(), once.error.c_str());
        QCOMPARE(int(once.x.size()), 2);

        // A changed program is another program: trust is asked for again.
        {
            QFile file(program);
            QVERIFY(file.open(QIODevice::Append));
            file.write("\0", 1);
        }
        QVERIFY(!store.isTrusted(foreignCode(project)));
        // So is the same program given other arguments.
        Project other = project;
        other.simulator.command = {"./two_moons_sim"};
        QVERIFY(!store.isTrusted(foreignCode(other)));
    }

    void kindsWithoutForeignCodeNeedNoTrust() {
        ProjectLoadResult builtin = loadProject(test::sourcePath("projects/two_moons.sbiw"));
        QVERIFY(!foreignCode(*builtin.project).runsCode);
        QVERIFY(makeProjectSimulator(*builtin.project, {}) != nullptr);
        const ProjectLoadResult imported = parseProject(
            withBinding(R"({"kind": "imported", "csv": "sims.csv", "data_dimension": 2})"));
        QVERIFY_THROWS_EXCEPTION(SettingsError, makeProjectSimulator(*imported.project, {}));
    }

    void cliRefusesUntrustedProgramsAndRemembersTrust() {
        QTemporaryDir dir;
        qputenv("SBIW_TRUST_FILE", dir.filePath("trust.json").toUtf8());
        const QString path = copyCProject(dir);
        const QString out = dir.filePath("x.csv");
        const CliRun refused = cli({"simulate", path, "--count", "100", "--out", out});
        QCOMPARE(refused.code, int(kExitFailure));
        QVERIFY2(
            refused.err.contains("runs the program: " +
                                 QDir(dir.path()).absoluteFilePath("two_moons_sim") + " --binary"),
            qPrintable(refused.err));
        QVERIFY(refused.err.contains("--trust"));
        QVERIFY(!QFile::exists(out));

        const CliRun trusted =
            cli({"simulate", path, "--count", "100", "--seed", "5", "--out", out, "--trust"});
        QCOMPARE(trusted.code, int(kExitSuccess));
        const CsvTable table = readCsv(out.toStdString());
        QCOMPARE(table.values.rows(), 100);
        QCOMPARE(table.values.cols(), 4);
        QVERIFY(table.values.allFinite());

        // Remembered: the next run needs no --trust, and the same seed gives the same table.
        const QString again = dir.filePath("y.csv");
        const CliRun second = cli(
            {"simulate", path, "--count", "100", "--seed", "5", "--threads", "2", "--out", again});
        QCOMPARE(second.code, int(kExitSuccess));
        QCOMPARE(readAll(again), readAll(out));
        qunsetenv("SBIW_TRUST_FILE");
    }
};

QTEST_GUILESS_MAIN(TestProjectSimulators)
#include "test_project_simulators.moc"
