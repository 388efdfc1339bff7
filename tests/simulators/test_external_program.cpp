// External program simulators (docs/simulator-protocol.md): exact round trips in both framings,
// reproducibility for any thread count and batch size, and every way a program can misbehave —
// each gives an error that names θ, the batch marks exactly the rows concerned, and no child
// process is left running.
#include <signal.h>
#include <sys/types.h>

#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

#include "inference/npe.h"
#include "priors/joint_prior.h"
#include "simulators/batch_simulation.h"
#include "simulators/external_program.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

ExternalProgramSettings misbehaving(const std::string& mode, const std::string& argument = {}) {
    ExternalProgramSettings s;
    s.command = {SBIW_MISBEHAVING_SIMULATOR, mode};
    if (!argument.empty())
        s.command.push_back(argument);
    s.parameterNames = {"a", "b"};
    s.parameterDimension = 2;
    s.dataDimension = 2;
    s.batchSize = 4;
    s.startTimeoutSeconds = 5.0;
    s.batchTimeoutSeconds = 10.0;
    return s;
}

ExternalProgramSettings trivial(bool binary, int dimension = 2) {
    ExternalProgramSettings s;
    s.command = {SBIW_TRIVIAL_SIMULATOR, "--dimension", std::to_string(dimension)};
    if (binary)
        s.command.push_back("--binary");
    s.parameterDimension = dimension;
    s.dataDimension = dimension;
    s.batchSize = 50;
    return s;
}

// The known answer of trivial_sim and misbehaving_simulator: x = θ + (seed >> 11) / 2^53.
double offset(std::uint64_t seed, std::uint64_t index) {
    return double(simulationSeed(seed, index) >> 11) * 0x1.0p-53;
}

// Rows with a in `strikes` (a = 0.9), the others a = 0.1; b = row / 100.
Matrix thetaRows(int count, std::initializer_list<int> strikes) {
    Matrix theta(count, 2);
    for (int r = 0; r < count; ++r) {
        theta(r, 0) = 0.1;
        theta(r, 1) = r / 100.0;
    }
    for (int r : strikes)
        theta(r, 0) = 0.9;
    return theta;
}

SimulationOptions oneThread(std::uint64_t seed = 7) {
    SimulationOptions options;
    options.seed = seed;
    options.threads = 1;
    return options;
}

bool processGone(int pid) {
    return ::kill(pid, 0) != 0 && errno == ESRCH;
}

// Destroys the simulator and checks that each child it ever had is gone.
void verifyNoChildLeft(std::unique_ptr<ExternalProgramSimulator>& simulator,
                       const std::vector<int>& seen) {
    std::vector<int> pids = seen;
    for (int pid : simulator->childProcessIds())
        pids.push_back(pid);
    simulator.reset();
    for (int pid : pids)
        QVERIFY2(processGone(pid), qPrintable(QString("child %1 still exists").arg(pid)));
}

const SimulationFailure* failureAt(const SimulationBatch& batch, std::int64_t row) {
    for (const auto& f : batch.failures)
        if (f.row == row)
            return &f;
    return nullptr;
}

}  // namespace

class TestExternalProgram : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void textAndBinaryRoundTripsAreExact_data() {
        QTest::addColumn<bool>("binary");
        QTest::newRow("text") << false;
        QTest::newRow("binary") << true;
    }
    void textAndBinaryRoundTripsAreExact() {
        QFETCH(bool, binary);
        ExternalProgramSimulator simulator(trivial(binary, 3));
        QCOMPARE(simulator.probe().binary, binary);
        Matrix theta(123, 3);
        RandomStream rng = test::testStream();
        for (Eigen::Index i = 0; i < theta.size(); ++i)
            theta.data()[i] = rng.normal() * 1e3;
        theta(0, 0) = 1e-300;  // extremes survive the text framing too
        theta(0, 1) = -0.1;
        const SimulationBatch batch = simulateAt(theta, simulator, oneThread(99));
        QCOMPARE(batch.count(), 123);
        QCOMPARE(batch.failureCount, 0);
        for (int r = 0; r < 123; ++r)
            for (int j = 0; j < 3; ++j)
                QCOMPARE(batch.x(r, j), theta(r, j) + offset(99, std::uint64_t(r)));
    }

    void sameResultForAnyThreadCountAndBatchSize() {
        const JointPrior prior({PriorSpec::scalar("uniform", {{"low", -1.0}, {"high", 1.0}}),
                                PriorSpec::scalar("normal", {{"mean", 0.0}, {"std", 1.0}})});
        ExternalProgramSimulator reference(trivial(false));
        const SimulationBatch expected = simulateFromPrior(prior, reference, 1000, oneThread(5));
        for (int threads : {2, 3}) {
            for (int batchSize : {7, 100}) {
                ExternalProgramSettings settings =
                    trivial(threads == 3);  // binary gives the same x
                settings.batchSize = batchSize;
                ExternalProgramSimulator simulator(settings);
                SimulationOptions options = oneThread(5);
                options.threads = threads;
                const SimulationBatch batch = simulateFromPrior(prior, simulator, 1000, options);
                QCOMPARE(batch.theta, expected.theta);
                QCOMPARE(batch.x, expected.x);
            }
        }
        // The C two_moons example is reproducible as well, and stays on its moons.
        ExternalProgramSettings moons;
        moons.command = {SBIW_TWO_MOONS_SIMULATOR, "--binary"};
        moons.parameterNames = {"parameter_1", "parameter_2"};
        moons.parameterDimension = moons.dataDimension = 2;
        ExternalProgramSimulator a(moons), b(moons);
        SimulationOptions two = oneThread(3);
        two.threads = 2;
        const SimulationBatch first = simulateFromPrior(prior, a, 500, oneThread(3));
        const SimulationBatch second = simulateFromPrior(prior, b, 500, two);
        QCOMPARE(first.x, second.x);
        for (int r = 0; r < 500; ++r) {
            // x = p + shift(θ) with p on a ring of radius ~0.1 around (0.25, 0).
            const double s = std::sqrt(0.5), t0 = first.theta(r, 0), t1 = first.theta(r, 1);
            const double p0 = first.x(r, 0) + std::abs(s * (t0 + t1)) - 0.25;
            const double p1 = first.x(r, 1) - s * (t1 - t0);
            QVERIFY(std::abs(std::hypot(p0, p1) - 0.1) < 0.06);
            QVERIFY(p0 >= 0.0);  // the right half circle
        }
    }

    void requestsRunInSeveralProcessesAtOnce() {
        // 20 ms a row: each thread's first request of 5 rows keeps its process busy for 100 ms,
        // so the second thread always finds the first one's process taken and starts its own.
        // (Counted on fast requests, this depended on both threads starting before one of them
        // had done every chunk, which a loaded machine does not promise.)
        ExternalProgramSettings settings = misbehaving("slow");
        settings.batchSize = 5;
        ExternalProgramSimulator simulator(settings);
        SimulationOptions options = oneThread(11);
        options.threads = 2;
        const Matrix theta = thetaRows(40, {});
        const SimulationBatch batch = simulateAt(theta, simulator, options);
        QCOMPARE(batch.failureCount, 0);
        for (int r = 0; r < 40; ++r)
            QCOMPARE(batch.x(r, 1), theta(r, 1) + offset(11, std::uint64_t(r)));
        QCOMPARE(simulator.processesStarted(), std::int64_t(2));  // one per thread, then reused
    }

    void pythonExampleRuns() {
        const QString python = QStandardPaths::findExecutable("python3");
        if (python.isEmpty())
            QSKIP("python3 not found");
        ExternalProgramSettings settings;
        settings.command = {python.toStdString(),
                            test::sourcePath("projects/custom/two_moons_sim.py").toStdString()};
        settings.parameterNames = {"parameter_1", "parameter_2"};
        settings.parameterDimension = settings.dataDimension = 2;
        ExternalProgramSimulator simulator(settings);
        const Matrix theta = thetaRows(300, {});
        SimulationOptions options = oneThread(4);
        options.threads = 2;
        const SimulationBatch batch = simulateAt(theta, simulator, options);
        QCOMPARE(batch.failureCount, 0);
        QVERIFY(batch.nonFiniteRows.empty());
        QCOMPARE(simulateAt(theta, simulator, oneThread(4)).x, batch.x);  // any thread count
        for (int r = 0; r < 300; ++r) {
            const double s = std::sqrt(0.5), t0 = theta(r, 0), t1 = theta(r, 1);
            const double p0 = batch.x(r, 0) + std::abs(s * (t0 + t1)) - 0.25;
            const double p1 = batch.x(r, 1) - s * (t1 - t0);
            QVERIFY(std::abs(std::hypot(p0, p1) - 0.1) < 0.06);
        }
    }

    void crashIsRetriedOnceThenReportedWithTheta() {
        auto simulator = std::make_unique<ExternalProgramSimulator>(misbehaving("crash"));
        std::vector<std::string> log;
        const Matrix theta = thetaRows(8, {5});  // requests [0, 4) and [4, 8); row 5 crashes
        const SimulationBatch batch = simulateAt(theta, *simulator, oneThread());
        QCOMPARE(batch.count(), 8);
        QCOMPARE(batch.nonFiniteRows, (std::vector<std::int64_t>{5, 6, 7}));
        QCOMPARE(batch.failureCount, 3);
        const std::string& message = failureAt(batch, 5)->message;
        QVERIFY2(message.find("signal 11 (segmentation fault)") != std::string::npos,
                 message.c_str());
        QVERIFY2(message.find("θ = [0.9, 0.05]") != std::string::npos, message.c_str());
        QVERIFY2(message.find("retried") != std::string::npos, message.c_str());
        QVERIFY2(message.find("about to crash at a = 0.9") != std::string::npos,
                 message.c_str());  // stderr
        QVERIFY(failureAt(batch, 6)->message.find("not simulated") != std::string::npos);
        for (int r : {0, 1, 2, 3, 4})
            QCOMPARE(batch.x(r, 1), theta(r, 1) + offset(7, std::uint64_t(r)));
        QCOMPARE(simulator->processesStarted(), 2);  // the first, and one restart for the retry
        verifyNoChildLeft(simulator, {});
    }

    void crashOnceIsHealedByTheRetry() {
        QTemporaryDir dir;
        ExternalProgramSimulator simulator(
            misbehaving("crash-once", dir.filePath("marker").toStdString()));
        std::vector<std::string> log;
        const Matrix theta = thetaRows(10, {});
        const SimulationBatch batch = simulateAt(theta, simulator, oneThread());
        QCOMPARE(batch.failureCount, 0);
        QVERIFY(batch.nonFiniteRows.empty());
        QCOMPARE(simulator.processesStarted(), 2);
        for (int r = 0; r < 10; ++r)
            QCOMPARE(batch.x(r, 0), 0.1 + offset(7, std::uint64_t(r)));
    }

    void hangHitsTheBatchTimeoutAndIsKilled() {
        ExternalProgramSettings settings = misbehaving("hang");
        settings.batchTimeoutSeconds = 0.5;
        auto simulator = std::make_unique<ExternalProgramSimulator>(settings);
        const auto start = std::chrono::steady_clock::now();
        const SimulationBatch batch = simulateAt(thetaRows(8, {2}), *simulator, oneThread());
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        QVERIFY2(seconds < 5.0, qPrintable(QString::number(seconds)));
        QCOMPARE(batch.nonFiniteRows,
                 (std::vector<std::int64_t>{2, 3}));  // the rest of its request
        const std::string& message = failureAt(batch, 2)->message;
        QVERIFY2(message.find("no answer within 0.5 s at θ = [0.9, 0.02]") != std::string::npos,
                 message.c_str());
        QVERIFY(std::isfinite(batch.x(4, 0)));  // the next request ran in a new process
        verifyNoChildLeft(simulator, {});
    }

    void rowLevelProblemsNameTheta_data() {
        QTest::addColumn<QString>("mode");
        QTest::addColumn<QString>("expected");
        QTest::newRow("garbage")
            << "garbage"
            << "answered 'hello world' at θ = [0.9, 0.03], which is not 2 numbers";
        QTest::newRow("wrong dimension")
            << "wrong-dimension"
            << "answered 3 values at θ = [0.9, 0.03]; the project expects 2";
        QTest::newRow("error") << "error"
                               << "reported an error at θ = [0.9, 0.03]: rate must be positive";
    }
    void rowLevelProblemsNameTheta() {
        QFETCH(QString, mode);
        QFETCH(QString, expected);
        auto simulator =
            std::make_unique<ExternalProgramSimulator>(misbehaving(mode.toStdString()));
        const Matrix theta = thetaRows(6, {3});
        const SimulationBatch batch = simulateAt(theta, *simulator, oneThread());
        QCOMPARE(batch.nonFiniteRows, (std::vector<std::int64_t>{3}));  // only that row
        QCOMPARE(batch.failureCount, 1);
        QVERIFY2(batch.failures[0].message.find(expected.toStdString()) != std::string::npos,
                 batch.failures[0].message.c_str());
        for (int r : {0, 1, 2, 4, 5})
            QCOMPARE(batch.x(r, 1), theta(r, 1) + offset(7, std::uint64_t(r)));
        QCOMPARE(simulator->processesStarted(), 1);  // the stream stays in step
        verifyNoChildLeft(simulator, {});
    }

    void trainingDataStaysConsistentWithACrashingSimulator() {
        // NPE's training set from a simulator that segfaults for a > 0.5: only finite pairs,
        // every one the right answer for its own θ, and the summary says what was left out.
        const JointPrior prior({PriorSpec::scalar("uniform", {{"low", -1.0}, {"high", 1.0}}),
                                PriorSpec::scalar("uniform", {{"low", -1.0}, {"high", 1.0}})});
        auto simulator = std::make_unique<ExternalProgramSimulator>(misbehaving("crash"));
        NpeSettings settings;
        settings.simulations = 200;
        settings.seed = 8;
        settings.threads = 2;
        const NpeTrainingSet set = simulateTrainingSet(prior, *simulator, settings);
        QVERIFY(set.theta.rows() > 50 && set.theta.rows() < 200);
        QCOMPARE(set.theta.rows(), set.x.rows());
        QVERIFY(set.x.allFinite());
        for (Eigen::Index r = 0; r < set.theta.rows(); ++r) {
            QVERIFY(set.theta(r, 0) <= 0.5);
            const double u = set.x(r, 0) - set.theta(r, 0);
            QVERIFY(u >= 0.0 && u < 1.0);
            SBIW_COMPARE_NEAR(set.x(r, 1) - set.theta(r, 1), u, 1e-12);  // same offset: same row
        }
        QVERIFY2(set.nonFiniteSummary.find("signal 11") != std::string::npos,
                 set.nonFiniteSummary.c_str());
        verifyNoChildLeft(simulator, {});
    }

    void nanIsKeptAndReportedWithTheta() {
        ExternalProgramSimulator simulator(misbehaving("nan"));
        const SimulationBatch batch = simulateAt(thetaRows(6, {4}), simulator, oneThread());
        QCOMPARE(batch.failureCount, 0);
        QCOMPARE(batch.nonFiniteRows, (std::vector<std::int64_t>{4}));
        QVERIFY(std::isnan(batch.x(4, 0)));
        const std::string summary = batch.nonFiniteSummary();
        QVERIFY2(summary.find("θ of row 4: [0.9, 0.04]") != std::string::npos, summary.c_str());
    }

    void extraStdoutLinesFailTheWholeRequest() {
        ExternalProgramSimulator simulator(misbehaving("chatty"));
        const SimulationBatch batch = simulateAt(thetaRows(8, {}), simulator, oneThread());
        // Every answer is suspect once the stream is out of step: both requests fail whole.
        QCOMPARE(batch.failureCount, 8);
        const std::string& message = batch.failures[0].message;
        QVERIFY2(message.find("'done with this batch' where 'end' was due") != std::string::npos,
                 message.c_str());
        QVERIFY(message.find("stderr") != std::string::npos);
    }

    void startProblemsStopTheRunWithAClearMessage_data() {
        QTest::addColumn<QStringList>("command");
        QTest::addColumn<QString>("expected");
        const QString program = SBIW_MISBEHAVING_SIMULATOR;
        QTest::newRow("declares 3") << QStringList{program, "declare-3"}
                                    << "declares data dimension 3, the project expects 2";
        QTest::newRow("no handshake")
            << QStringList{program, "no-handshake"}
            << "its first line is 'Hello, I am a simulator', not 'sbiw-simulator 1'";
        QTest::newRow("exits")
            << QStringList{program, "exit-at-start"}
            << "exited with status 1 before completing its handshake; its last stderr "
               "line: 'ModuleNotFoundError: No module named 'numpyy''";
        QTest::newRow("missing")
            << QStringList{"/nonexistent/simulator"}
            << "cannot start '/nonexistent/simulator': No such file or directory";
    }
    void startProblemsStopTheRunWithAClearMessage() {
        QFETCH(QStringList, command);
        QFETCH(QString, expected);
        ExternalProgramSettings settings = misbehaving("good");
        settings.command.clear();
        for (const QString& part : command)
            settings.command.push_back(part.toStdString());
        auto simulator = std::make_unique<ExternalProgramSimulator>(settings);
        try {
            simulateAt(thetaRows(4, {}), *simulator, oneThread());
            QFAIL("expected SimulatorStartError");
        } catch (const SimulatorStartError& error) {
            QVERIFY2(QString(error.what()).contains(expected), error.what());
        }
        // The GUI's test button gets the same text instead of an exception.
        const SingleSimulation once = simulateOnce(*simulator, {0.1, 0.2});
        QVERIFY(!once.ok());
        QVERIFY2(QString::fromStdString(once.error).contains(expected), once.error.c_str());
        verifyNoChildLeft(simulator, {});
    }

    void parameterNamesMustMatchTheProject() {
        ExternalProgramSettings settings = misbehaving("good");
        settings.parameterNames = {"b", "a"};
        ExternalProgramSimulator simulator(settings);
        QVERIFY_THROWS_EXCEPTION(SimulatorStartError, simulator.probe());
        const SingleSimulation once = simulateOnce(simulator, {0.1, 0.2});
        QVERIFY2(once.error.find("declares the parameters 'a b', the project has 'b a'") !=
                     std::string::npos,
                 once.error.c_str());
    }

    void testSimulationGivesX() {
        ExternalProgramSimulator simulator(misbehaving("good"));
        const SingleSimulation once = simulateOnce(simulator, {0.25, -0.5}, 11);
        QVERIFY2(once.ok(), once.error.c_str());
        QCOMPARE(once.x, (std::vector<double>{0.25 + offset(11, 0), -0.5 + offset(11, 0)}));
        const SingleSimulation failed =
            simulateOnce(ExternalProgramSimulator(misbehaving("error")), {0.9, 0.0});
        QVERIFY(failed.error.find("rate must be positive") != std::string::npos);
    }

    void stderrGoesToTheLog() {
        ExternalProgramSettings settings = misbehaving("stderr");
        std::mutex mutex;
        std::vector<std::string> lines;
        settings.log = [&](const std::string& line) {
            std::lock_guard<std::mutex> lock(mutex);
            lines.push_back(line);
        };
        {
            ExternalProgramSimulator simulator(settings);
            simulateAt(thetaRows(10, {}), simulator, oneThread());
        }
        QCOMPARE(int(lines.size()), 3);  // requests of 4, 4 and 2 rows
        QVERIFY2(QString::fromStdString(lines[0]).contains(
                     QRegularExpression("^\\[pid \\d+\\] simulating 4 rows$")),
                 lines[0].c_str());
        QVERIFY(lines[2].find("simulating 2 rows") != std::string::npos);
    }

    void childrenThatIgnoreQuitAreKilledTogether() {
        auto simulator = std::make_unique<ExternalProgramSimulator>(misbehaving("ignore-quit"));
        SimulationOptions options = oneThread();
        options.threads = 4;
        options.chunkSize = 4;
        simulateAt(thetaRows(64, {}), *simulator, options);
        const std::vector<int> pids = simulator->childProcessIds();
        QVERIFY(pids.size() >= 2);
        const auto start = std::chrono::steady_clock::now();
        verifyNoChildLeft(simulator, pids);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        QVERIFY2(seconds < 0.5 * double(pids.size()) - 0.2,
                 qPrintable(QString::number(seconds)));  // one grace period for all
    }

    void cancellingDuringStartupLeavesNoChild() {
        ExternalProgramSettings settings = misbehaving("slow-start");
        settings.startTimeoutSeconds = 30.0;
        auto simulator = std::make_unique<ExternalProgramSimulator>(settings);
        std::atomic<bool> cancel{false};
        LoopControl control;
        control.cancelFlag = &cancel;
        std::vector<int> seen;
        control.onProgress = [&](const LoopProgress&) {
            for (int pid : simulator->childProcessIds())
                seen.push_back(pid);
        };
        control.progressIntervalSeconds = 0.05;
        std::thread canceller([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            cancel = true;
        });
        const auto start = std::chrono::steady_clock::now();
        const SimulationBatch batch =
            simulateAt(thetaRows(8, {}), *simulator, oneThread(), control);
        canceller.join();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        QVERIFY(batch.cancelled);
        QCOMPARE(batch.count(), 0);
        QVERIFY2(seconds < 2.0, qPrintable(QString::number(seconds)));  // not the 10 s start
        QVERIFY(!seen.empty());
        verifyNoChildLeft(simulator, seen);
    }

    void cancellingKeepsAConsistentPrefixAndLeavesNoChild() {
        ExternalProgramSettings settings = misbehaving("slow");  // 20 ms a row
        settings.batchSize = 25;
        auto simulator = std::make_unique<ExternalProgramSimulator>(settings);
        std::atomic<bool> cancel{false};
        LoopControl control;
        control.cancelFlag = &cancel;
        std::vector<int> seen;
        std::mutex seenMutex;
        control.onProgress = [&](const LoopProgress&) {
            std::lock_guard<std::mutex> lock(seenMutex);
            for (int pid : simulator->childProcessIds())
                seen.push_back(pid);
        };
        control.progressIntervalSeconds = 0.05;
        std::thread canceller([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(700));
            cancel = true;
        });
        SimulationOptions options = oneThread();
        options.threads = 2;
        const Matrix theta = thetaRows(400, {});
        const auto start = std::chrono::steady_clock::now();
        const SimulationBatch batch = simulateAt(theta, *simulator, options, control);
        canceller.join();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        QVERIFY(batch.cancelled);
        QVERIFY2(seconds < 2.0, qPrintable(QString::number(seconds)));  // not the whole 4 s
        QVERIFY(batch.count() > 0 && batch.count() < 400);
        QCOMPARE(batch.failureCount, 0);
        for (int r = 0; r < batch.count(); ++r)
            QCOMPARE(batch.x(r, 1), theta(r, 1) + offset(7, std::uint64_t(r)));
        QVERIFY(!seen.empty());
        verifyNoChildLeft(simulator, seen);
    }
};

QTEST_GUILESS_MAIN(TestExternalProgram)
#include "test_external_program.moc"
