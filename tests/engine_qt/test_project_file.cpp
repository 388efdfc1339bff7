// Project files: every broken file in tests/data/broken_projects fails with the message its
// .expected file names; shipped projects load, validate and save back unchanged; saving is atomic.
#include <QDir>
#include <QTemporaryDir>

#include "qt/project_file.h"
#include "simulators/catalogue.h"
#include "support/test_support.h"

using namespace sbiw;

class TestProjectFile : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void brokenFilesNameTheProblem_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("expected");
        const QDir dir(test::testDataPath("broken_projects"));
        const QStringList files = dir.entryList({"*.sbiw"}, QDir::Files, QDir::Name);
        QVERIFY(files.size() >= 25);
        for (const QString& name : files) {
            if (name == "valid_control.sbiw") continue;
            QFile expectedFile(dir.filePath(QFileInfo(name).completeBaseName() + ".expected"));
            QVERIFY2(expectedFile.open(QIODevice::ReadOnly), qPrintable(name + " has no .expected file"));
            QTest::newRow(qPrintable(name)) << dir.filePath(name) << QString::fromUtf8(expectedFile.readAll()).trimmed();
        }
    }

    void brokenFilesNameTheProblem() {
        QFETCH(QString, file);
        QFETCH(QString, expected);
        const ProjectLoadResult result = loadProject(file);
        QVERIFY(!result.ok());
        QVERIFY(!result.problems.empty());
        QVERIFY2(result.errorText().contains(expected),
                 qPrintable("expected '" + expected + "' in:\n" + result.errorText()));
    }

    void controlFileLoads() {
        const ProjectLoadResult result = loadProject(test::testDataPath("broken_projects/valid_control.sbiw"));
        QVERIFY2(result.ok(), qPrintable(result.errorText()));
        QCOMPARE(result.project->parameters.size(), std::size_t(2));
        QCOMPARE(result.project->inference.simulations, 10000);  // default when absent
    }

    void missingFileIsReported() {
        const ProjectLoadResult result = loadProject("/nonexistent/p.sbiw");
        QVERIFY(!result.ok());
        QVERIFY(result.errorText().contains("cannot open /nonexistent/p.sbiw"));
    }

    void everyTaskHasAShippedProject_data() {
        QTest::addColumn<QString>("task");
        for (const TaskInfo& task : builtinTasks()) QTest::newRow(task.id.c_str()) << QString::fromStdString(task.id);
    }

    void everyTaskHasAShippedProject() {
        // projects/<task>.sbiw loads, has observation 1 of the reference data as its default,
        // and is exactly what 'sbiw-cli new <task>' writes (so it cannot drift from the catalogue).
        QFETCH(QString, task);
        const QString path = test::sourcePath("projects/" + task + ".sbiw");
        const ProjectLoadResult result = loadProject(path);
        QVERIFY2(result.ok(), qPrintable(result.errorText()));
        const Project& project = *result.project;
        QCOMPARE(QString::fromStdString(project.simulator.task), task);
        const TaskInfo* info = findTask(task.toStdString());
        const Observation* observation = project.findObservation(project.defaultObservation);
        QVERIFY(observation);
        QCOMPARE(observation->data.cols(), info->dataDimension);
        QVERIFY(std::vector<double>(observation->data.data(), observation->data.data() + observation->data.size()) ==
                info->referenceObservations.at(0).data);
        QVERIFY(project == projectFromTask(*info));
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QCOMPARE(file.readAll(), serializeProject(projectFromTask(*info)));
    }

    void defaultObservationMatchesSbibmFile() {
        // tests/data/sbibm/two_moons/obs1/observation.csv is a copy of sbibm's file.
        const Matrix reference = test::readCsvMatrix(test::testDataPath("sbibm/two_moons/obs1/observation.csv"));
        const ProjectLoadResult result = loadProject(test::sourcePath("projects/two_moons.sbiw"));
        QVERIFY(result.ok());
        const Observation* observation = result.project->findObservation(result.project->defaultObservation);
        QCOMPARE(observation->data.cols(), reference.cols());
        for (Eigen::Index i = 0; i < reference.cols(); ++i)
            QCOMPARE(observation->data(0, i), reference(0, i));
    }

    void saveThenLoadGivesTheSameProject() {
        QTemporaryDir dir;
        for (const TaskInfo& task : builtinTasks()) {
            Project project = projectFromTask(task);
            project.inference.seed = 123456789012345;
            project.inference.training.learningRate = 3e-4;
            project.view.credibleLevels = {0.5, 0.9, 0.99};
            project.inference.abc.summary = "columns";
            project.inference.abc.columns = {0};
            project.inference.abc.distance = "l1";
            project.inference.abc.zScore = true;
            project.inference.abc.regressionAdjustment = true;
            project.inference.mcmc = {"mh", 40, 250, 3, "prior"};
            project.inference.dequantizeWholeNumbers = false;
            project.inference.transformParameters = !InferenceSettings{}.transformParameters;
            project.inference.logPositiveData = false;
            const QString path = dir.filePath(QString::fromStdString(task.id) + ".sbiw");
            QCOMPARE(saveProject(project, path), QString());
            const ProjectLoadResult back = loadProject(path);
            QVERIFY2(back.ok(), qPrintable(back.errorText()));
            QVERIFY2(*back.project == project, task.id.c_str());
        }
    }

    void iidObservationsRoundTrip() {
        Project project = projectFromTask(*findTask("two_moons"));
        Observation iid;
        iid.name = "three trials";
        iid.data = Matrix(3, 2);
        iid.data << 0.1, 0.2, 0.3, 0.4, 0.5, 0.6;
        project.observations.push_back(iid);
        const ProjectLoadResult back = parseProject(serializeProject(project));
        QVERIFY2(back.ok(), qPrintable(back.errorText()));
        QCOMPARE(back.project->findObservation("three trials")->data.rows(), 3);
        QVERIFY(*back.project == project);
    }

    void failedSaveLeavesTheOldFileIntact() {
        QTemporaryDir dir;
        const QString path = dir.filePath("p.sbiw");
        Project project = projectFromTask(*findTask("two_moons"));
        QCOMPARE(saveProject(project, path), QString());
        const QString error = saveProject(project, dir.filePath("no/such/dir/p.sbiw"));
        QVERIFY(error.contains("no/such/dir/p.sbiw"));
        QVERIFY(loadProject(path).ok());
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"p.sbiw"});  // no temp files left
    }
};

QTEST_GUILESS_MAIN(TestProjectFile)
#include "test_project_file.moc"
