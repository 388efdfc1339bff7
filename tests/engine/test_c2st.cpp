// Classifier two-sample test against answers known in advance: 0.5 for two samples of one
// distribution, 1 for disjoint supports, the Bayes-optimal accuracy where the overlap is known;
// plus determinism, invariance under z-scoring, and input errors.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/problems.h"
#include "diagnostics/c2st.h"
#include "support/test_support.h"

using namespace sbiw;

namespace {

Matrix normalSamples(Eigen::Index rows, Eigen::Index cols, double mean, std::uint64_t index) {
    RandomStream rng = test::testStream(2024, index);
    Matrix m(rows, cols);
    for (Eigen::Index r = 0; r < rows; ++r)
        for (Eigen::Index c = 0; c < cols; ++c) m(r, c) = rng.normal(mean, 1.0);
    return m;
}

Matrix uniformSamples(Eigen::Index rows, Eigen::Index cols, double low, double high,
                      std::uint64_t index) {
    RandomStream rng = test::testStream(2024, index);
    Matrix m(rows, cols);
    for (Eigen::Index r = 0; r < rows; ++r)
        for (Eigen::Index c = 0; c < cols; ++c) m(r, c) = rng.uniform(low, high);
    return m;
}

// Standard normal CDF.
double phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

void checkConsistent(const C2stResult& r, int folds) {
    QVERIFY(!r.cancelled);
    QCOMPARE(int(r.foldAccuracies.size()), folds);
    QCOMPARE(int(r.foldEpochs.size()), folds);
    double sum = 0.0;
    for (int f = 0; f < folds; ++f) {
        QVERIFY(r.foldAccuracies[std::size_t(f)] >= 0.0 && r.foldAccuracies[std::size_t(f)] <= 1.0);
        QVERIFY(r.foldEpochs[std::size_t(f)] >= 1);
        sum += r.foldAccuracies[std::size_t(f)];
    }
    SBIW_COMPARE_NEAR(r.accuracy, sum / folds, 1e-15);
    QVERIFY(r.elapsedSeconds >= 0.0);
}

void checkIdentical(const C2stResult& a, const C2stResult& b) {
    QCOMPARE(a.foldEpochs, b.foldEpochs);
    QCOMPARE(a.foldAccuracies, b.foldAccuracies);  // exact: the same bits
    QCOMPARE(a.accuracy, b.accuracy);
}

template <typename F>
QString messageOf(F&& call) {
    try {
        call();
    } catch (const std::invalid_argument& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TestC2st : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sameDistributionGivesHalf() {
        // Under the null each of the 4,000 held-out predictions is a coin flip: the mean accuracy
        // has sd sqrt(0.25 / 4000) = 0.008, so ±0.03 is almost 4 sd.
        const Matrix x = normalSamples(2000, 2, 0.0, 1);
        const Matrix y = normalSamples(2000, 2, 0.0, 2);
        const C2stResult r = c2st(x, y);
        checkConsistent(r, 5);
        qInfo("N(0, I) vs N(0, I), 2,000 each: %.4f in %.2f s", r.accuracy, r.elapsedSeconds);
        SBIW_COMPARE_NEAR(r.accuracy, 0.5, 0.03);
    }

    void disjointSupportsGiveOne() {
        const Matrix x = uniformSamples(1000, 2, 0.0, 1.0, 3);
        const Matrix y = uniformSamples(1000, 2, 2.0, 3.0, 4);
        const C2stResult r = c2st(x, y);
        checkConsistent(r, 5);
        qInfo("U[0,1]^2 vs U[2,3]^2: %.4f", r.accuracy);
        QVERIFY2(r.accuracy >= 0.99, QByteArray::number(r.accuracy));
    }

    void overlappingGaussiansReachBayesAccuracy() {
        // Equal priors, N(0,1) vs N(1,1): the best classifier thresholds at 0.5 and is right with
        // probability Phi(0.5) = 0.6915. 10,000 held-out predictions give sd 0.005 around what
        // the network achieves; it should lose little to the optimum.
        const double bayes = phi(0.5);
        SBIW_COMPARE_NEAR(bayes, 0.691462, 1e-6);
        const Matrix x = normalSamples(5000, 1, 0.0, 5);
        const Matrix y = normalSamples(5000, 1, 1.0, 6);
        const C2stResult r = c2st(x, y);
        checkConsistent(r, 5);
        qInfo("N(0,1) vs N(1,1), 5,000 each: %.4f (Bayes %.4f), epochs %d..%d", r.accuracy, bayes,
              *std::min_element(r.foldEpochs.begin(), r.foldEpochs.end()),
              *std::max_element(r.foldEpochs.begin(), r.foldEpochs.end()));
        SBIW_COMPARE_NEAR(r.accuracy, bayes, 0.02);
    }

    void sbibmReferenceHalvesAreIndistinguishable() {
        // sbibm's two_moons reference posterior (obs 1, 10,000 samples): first half vs second
        // half is a C2ST between two samples of one distribution (sd 0.005 under the null; with
        // unstratified folds, cross-validation under the null leans slightly below 0.5; seed 1
        // gives 0.484, seeds 2-6 give 0.494-0.502).
        const Matrix ref = test::readCsvMatrix(
            test::testDataPath("sbibm/two_moons/obs1/reference_posterior_samples.csv"));
        QCOMPARE(ref.rows(), Eigen::Index(10000));
        const C2stResult r = c2st(ref.topRows(5000), ref.bottomRows(5000));
        checkConsistent(r, 5);
        qInfo("two_moons reference halves: %.4f in %.2f s", r.accuracy, r.elapsedSeconds);
        SBIW_COMPARE_NEAR(r.accuracy, 0.5, 0.025);
    }

    void sameSeedSameResultForAnyThreadCount() {
        // (Few rows per parameter make the network memorise for hundreds of epochs; 1,500 rows
        // per set in 2-D stop after about 60-100.)
        const Matrix x = normalSamples(1500, 2, 0.0, 7);
        const Matrix y = normalSamples(1500, 2, 0.3, 8);
        C2stSettings s;
        s.threads = 1;
        const C2stResult one = c2st(x, y, s);
        checkConsistent(one, 5);
        checkIdentical(one, c2st(x, y, s));
        for (int threads : {2, 3, 5, 8}) {
            s.threads = threads;
            checkIdentical(one, c2st(x, y, s));
        }
        s.seed = 2;
        const C2stResult other = c2st(x, y, s);
        QVERIFY(other.foldAccuracies != one.foldAccuracies || other.foldEpochs != one.foldEpochs);
    }

    void zScoringRemovesPerColumnAffineMaps() {
        const Matrix x = normalSamples(500, 2, 0.0, 9);
        const Matrix y = normalSamples(500, 2, 0.5, 10);
        const C2stResult base = c2st(x, y);
        checkConsistent(base, 5);

        // Scaling by powers of two commutes with rounding, so mean, std and the z-scored data
        // are the same bits and so is everything after.
        const Eigen::RowVector2d powers(4.0, 0.125);
        const Matrix xs = x.array().rowwise() * powers.array();
        const Matrix ys = y.array().rowwise() * powers.array();
        checkIdentical(base, c2st(xs, ys));

        // A general map x -> a x + b per column (a > 0) is removed only up to rounding: the
        // z-scored data differ by about 1e-15 (1e-11 in the second column, where a shift of 1e3
        // on a scale of 0.02 cancels digits). Training then follows a slightly different path
        // and the accuracy may move by a few held-out predictions (0.005 is 5 of 1,000; here it
        // does not move). A reflection (a < 0) is not removed at all: the network sees mirrored
        // data from the same initial weights.
        const Eigen::RowVector2d scale(3.7, 0.02), shift(-12.5, 1e3);
        const Matrix xa = (x.array().rowwise() * scale.array()).rowwise() + shift.array();
        const Matrix ya = (y.array().rowwise() * scale.array()).rowwise() + shift.array();
        const C2stResult mapped = c2st(xa, ya);
        checkConsistent(mapped, 5);
        qInfo("affine map: %.4f vs %.4f", mapped.accuracy, base.accuracy);
        SBIW_COMPARE_NEAR(mapped.accuracy, base.accuracy, 0.005);

        // Without z-scoring the raw scale matters: the option is honoured.
        C2stSettings raw;
        raw.zScore = false;
        const C2stResult rawBase = c2st(x, y, raw), rawScaled = c2st(xs, ys, raw);
        checkConsistent(rawScaled, 5);
        QVERIFY(rawBase.foldAccuracies != rawScaled.foldAccuracies ||
                rawBase.foldEpochs != rawScaled.foldEpochs);
    }

    void constantReferenceColumnGivesNoNaN() {
        // sbibm would divide by a zero std; we divide by 1 instead.
        Matrix x = normalSamples(300, 2, 0.0, 11);
        Matrix y = normalSamples(300, 2, 0.0, 12);
        x.col(1).setConstant(3.0);
        y.col(1).setConstant(3.0);
        const C2stResult same = c2st(x, y);
        checkConsistent(same, 5);
        QVERIFY(std::isfinite(same.accuracy));
        SBIW_COMPARE_NEAR(same.accuracy, 0.5, 0.07);  // 600 predictions: sd 0.02
        y.col(1).setConstant(4.0);  // now the constant column alone separates the sets
        const C2stResult apart = c2st(x, y);
        QVERIFY2(apart.accuracy >= 0.99, QByteArray::number(apart.accuracy));
    }

    void stopsAtMaxEpochs() {
        const Matrix x = normalSamples(200, 2, 0.0, 13);
        const Matrix y = normalSamples(200, 2, 1.0, 14);
        C2stSettings s;
        s.maxEpochs = 3;
        const C2stResult r = c2st(x, y, s);
        checkConsistent(r, 5);
        for (int e : r.foldEpochs) QCOMPARE(e, 3);
        s.folds = 2;
        s.maxEpochs = 10000;
        s.epochsWithoutImprovement = 1;
        s.tolerance = 1e9;  // no epoch improves by this much: epoch 1 sets the best loss, epochs
                            // 2 and 3 count as no improvement, and 2 > 1 stops after epoch 3
        const C2stResult quick = c2st(x, y, s);
        checkConsistent(quick, 2);
        for (int e : quick.foldEpochs) QCOMPARE(e, 3);
    }

    void cancellationStopsEarly() {
        const Matrix x = normalSamples(400, 2, 0.0, 15);
        const Matrix y = normalSamples(400, 2, 0.0, 16);
        std::atomic<bool> cancel{true};
        LoopControl control;
        control.cancelFlag = &cancel;
        const C2stResult r = c2st(x, y, {}, control);
        QVERIFY(r.cancelled);
        QVERIFY(std::isnan(r.accuracy));

        int reports = 0;
        LoopControl counting;
        counting.onProgress = [&](const LoopProgress& p) {
            ++reports;
            QCOMPARE(p.total, std::int64_t(5));
        };
        const C2stResult done = c2st(x, y, {}, counting);
        QVERIFY(!done.cancelled);
        QVERIFY(reports >= 1);
    }

    void invalidInputsThrowWithMessages() {
        const Matrix x = normalSamples(20, 2, 0.0, 17);
        Matrix y = normalSamples(20, 2, 0.0, 18);
        QString m = messageOf([&] { c2st(x, Matrix(20, 3)); });
        QVERIFY2(m.contains("2 columns") && m.contains("3"), qPrintable(m));
        m = messageOf([&] { c2st(x.topRows(4), y); });
        QVERIFY2(m.contains("reference") && m.contains("4 rows") && m.contains("5"), qPrintable(m));
        m = messageOf([&] { c2st(x, y.topRows(2)); });
        QVERIFY2(m.contains("samples to compare") && m.contains("2 rows"), qPrintable(m));
        m = messageOf([&] { c2st(Matrix(20, 0), Matrix(20, 0)); });
        QVERIFY2(m.contains("no columns"), qPrintable(m));
        y(7, 1) = std::numeric_limits<double>::quiet_NaN();
        m = messageOf([&] { c2st(x, y); });
        QVERIFY2(m.contains("samples to compare") && m.contains("row 7"), qPrintable(m));
        Matrix xi = x;
        xi(3, 0) = std::numeric_limits<double>::infinity();
        m = messageOf([&] { c2st(xi, x); });
        QVERIFY2(m.contains("reference") && m.contains("row 3"), qPrintable(m));
    }

    void settingsValidationNamesTheField() {
        QVERIFY(C2stSettings{}.validate().empty());
        auto pathsOf = [](const C2stSettings& s) {
            QStringList paths;
            for (const Problem& p : s.validate()) paths << QString::fromStdString(p.path);
            return paths;
        };
        C2stSettings s;
        s.folds = 1;
        QCOMPARE(pathsOf(s), QStringList{"folds"});
        s = {};
        s.learningRate = 0.0;
        s.l2 = -1.0;
        QCOMPARE(pathsOf(s), (QStringList{"learningRate", "l2"}));
        s = {};
        s.tolerance = std::numeric_limits<double>::quiet_NaN();
        s.batchSize = 0;
        s.maxEpochs = 0;
        s.epochsWithoutImprovement = 0;
        s.hiddenUnitsPerDimension = 0;
        s.threads = -1;
        QCOMPARE(pathsOf(s), (QStringList{"maxEpochs", "tolerance", "epochsWithoutImprovement",
                                          "batchSize", "hiddenUnitsPerDimension", "threads"}));
        s = {};
        s.folds = 0;
        const Matrix x = normalSamples(20, 2, 0.0, 19);
        try {
            c2st(x, x, s);
            QFAIL("expected a SettingsError");
        } catch (const SettingsError& e) {
            QVERIFY2(QString(e.what()).contains("folds"), e.what());
        }
    }
};

QTEST_APPLESS_MAIN(TestC2st)
#include "test_c2st.moc"
