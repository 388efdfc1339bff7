// sbiw-cli: exit codes, help, validate, new, and simulate in both modes (reproducible across
// thread counts; --theta reproduces the data columns of --count for the same seed).
#include <QTemporaryDir>

#include "cli/cli.h"
#include "core/csv.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

struct CliRun {
    int code = -1;
    QString out, err;
};

CliRun cli(QStringList arguments) {
    CliRun run;
    QTextStream out(&run.out), err(&run.err);
    arguments.prepend("sbiw-cli");
    run.code = runCli(arguments, out, err);
    return run;
}

QString project(const char* task) { return test::sourcePath(QString("projects/%1.sbiw").arg(task)); }

}  // namespace

class TestCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void usageErrorsExitWithTwo() {
        QCOMPARE(cli({}).code, int(kExitUsage));
        QCOMPARE(cli({"frobnicate"}).code, int(kExitUsage));
        const CliRun noOut = cli({"simulate", project("two_moons"), "--count", "10"});
        QCOMPARE(noOut.code, int(kExitUsage));
        QVERIFY(noOut.err.contains("--out is required"));
        QCOMPARE(cli({"simulate", project("two_moons"), "--count", "-5", "--out", "x.csv"}).code, int(kExitUsage));
        QCOMPARE(cli({"simulate", project("two_moons"), "--count", "5", "--theta", "t.csv", "--out", "x.csv"}).code,
                 int(kExitUsage));
        QCOMPARE(cli({"validate", "--bogus", "x"}).code, int(kExitUsage));
    }

    void everyCommandHasHelp() {
        const CliRun overall = cli({"--help"});
        QCOMPARE(overall.code, int(kExitSuccess));
        for (const char* command : {"validate", "simulate", "new", "tasks"}) {
            QVERIFY(overall.out.contains(command));
            const CliRun help = cli({command, "--help"});
            QCOMPARE(help.code, int(kExitSuccess));
            QVERIFY2(help.out.startsWith("usage: sbiw-cli " + QString(command)), qPrintable(help.out));
        }
    }

    void validateReportsEveryProblem() {
        const CliRun good = cli({"validate", project("sir")});
        QCOMPARE(good.code, int(kExitSuccess));
        QVERIFY(good.out.contains("valid"));
        const CliRun bad = cli({"validate", test::testDataPath("broken_projects/high_below_low.sbiw")});
        QCOMPARE(bad.code, int(kExitFailure));
        QVERIFY2(bad.err.contains("parameters[1].prior.high: must be greater than low"), qPrintable(bad.err));
    }

    void tasksListsTheCatalogue() {
        const CliRun run = cli({"tasks"});
        QCOMPARE(run.code, int(kExitSuccess));
        QCOMPARE(run.out.count('\n'), 11);
        QVERIFY(run.out.contains("gw_chirp"));
    }

    void newWritesAValidProject() {
        QTemporaryDir dir;
        const QString path = dir.filePath("lv.sbiw");
        QCOMPARE(cli({"new", "lotka_volterra", "--out", path}).code, int(kExitSuccess));
        QCOMPARE(cli({"validate", path}).code, int(kExitSuccess));
        QCOMPARE(cli({"new", "no_such_task", "--out", path}).code, int(kExitFailure));
    }

    void simulateWritesParametersThenData() {
        QTemporaryDir dir;
        const QString out = dir.filePath("sims.csv");
        const CliRun run = cli({"simulate", project("two_moons"), "--count", "500", "--seed", "3", "--out", out});
        QCOMPARE(run.code, int(kExitSuccess));
        const CsvTable table = readCsv(out.toStdString());
        QCOMPARE(table.values.rows(), 500);
        const std::vector<std::string> header{"parameter_1", "parameter_2", "data_1", "data_2"};
        QCOMPARE(table.header, header);
        // θ within the prior box.
        QVERIFY((table.values.leftCols(2).array().abs() <= 1.0).all());
    }

    void simulateIsReproducibleAcrossThreads() {
        QTemporaryDir dir;
        const QString one = dir.filePath("one.csv"), two = dir.filePath("two.csv");
        QCOMPARE(cli({"simulate", project("slcp"), "--count", "3000", "--seed", "9", "--threads", "1", "--out", one}).code, 0);
        QCOMPARE(cli({"simulate", project("slcp"), "--count", "3000", "--seed", "9", "--threads", "2", "--out", two}).code, 0);
        QFile a(one), b(two);
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        QCOMPARE(a.readAll(), b.readAll());
    }

    void thetaModeReproducesTheDataColumns() {
        QTemporaryDir dir;
        const QString sims = dir.filePath("sims.csv"), theta = dir.filePath("theta.csv"), x = dir.filePath("x.csv");
        QCOMPARE(cli({"simulate", project("gaussian_linear"), "--count", "200", "--seed", "5", "--out", sims}).code, 0);
        const CsvTable table = readCsv(sims.toStdString());
        writeCsv(theta.toStdString(), std::vector<std::string>(table.header.begin(), table.header.begin() + 10),
                 table.values.leftCols(10));
        const CliRun run = cli({"simulate", project("gaussian_linear"), "--theta", theta, "--seed", "5", "--out", x});
        QCOMPARE(run.code, int(kExitSuccess));
        const CsvTable data = readCsv(x.toStdString());
        QCOMPARE(data.header.front(), std::string("data_1"));
        QCOMPARE(data.values.cols(), 10);
        QVERIFY(data.values == table.values.rightCols(10));
    }

    void thetaFileWithWrongWidthFails() {
        QTemporaryDir dir;
        const QString theta = dir.filePath("theta.csv");
        writeCsv(theta.toStdString(), {"a", "b", "c"}, Matrix::Zero(2, 3));
        const CliRun run = cli({"simulate", project("two_moons"), "--theta", theta, "--out", dir.filePath("x.csv")});
        QCOMPARE(run.code, int(kExitFailure));
        QVERIFY2(run.err.contains("has 3 columns, the project has 2 parameters"), qPrintable(run.err));
        QVERIFY(!QFile::exists(dir.filePath("x.csv")));
    }

    void malformedThetaFileNamesTheLine() {
        QTemporaryDir dir;
        const QString theta = dir.filePath("theta.csv");
        QFile f(theta);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("a,b\n0.1,0.2\n0.3,oops\n");
        f.close();
        const CliRun run = cli({"simulate", project("two_moons"), "--theta", theta, "--out", dir.filePath("x.csv")});
        QCOMPARE(run.code, int(kExitFailure));
        QVERIFY2(run.err.contains("theta.csv:3: column 2 ('b'): not a number: 'oops'"), qPrintable(run.err));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
