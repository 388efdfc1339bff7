// CSV reading/writing in the sbibm layout: exact round trips and errors that name the place.
#include <QFileInfo>
#include <QTemporaryDir>

#include <cmath>
#include <limits>

#include "core/csv.h"
#include "support/test_support.h"

using namespace sbiw;

class TestCsv : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void devicesAreWrittenInPlace() {
        // Renaming a .part file onto /dev/null would replace the device with a regular file.
        QVERIFY(isSpecialFile("/dev/null"));
        QVERIFY(!isSpecialFile("/definitely/not/here.csv"));
        Matrix values(1, 1);
        values << 1.0;
        writeCsv("/dev/null", {"a"}, values);
        QVERIFY(QFileInfo("/dev/null").exists() && !QFileInfo("/dev/null").isFile());
        QVERIFY(!QFileInfo::exists("/dev/null.part"));
    }

    void readsTheSbibmLayout() {
        // sbir's LaTeX headers and pandas' float32 text, copied from sbibm sir/obs1.
        const CsvTable t = parseCsv("$\\beta$,$\\gamma$\n0.6267302,0.16149585\n0.62799716,0.18960902\n", "mem");
        QCOMPARE(t.header.size(), std::size_t(2));
        QCOMPARE(QString::fromStdString(t.header[0]), QString("$\\beta$"));
        QCOMPARE(t.values.rows(), 2);
        QCOMPARE(t.values(1, 1), 0.18960902);
    }

    void roundTripIsExact() {
        Matrix m(3, 3);
        m << 0.1, -1e-300, 123456789.123456789, std::nan(""), std::numeric_limits<double>::infinity(),
            -0.0, 1.0 / 3.0, 2e22, -7;
        const CsvTable back = parseCsv(formatCsv({"a", "b", "c"}, m), "mem");
        for (Eigen::Index i = 0; i < m.size(); ++i) {
            const double u = m.data()[i], v = back.values.data()[i];
            QVERIFY(u == v || (std::isnan(u) && std::isnan(v)));
        }
    }

    void errorsNameLineAndColumn() {
        try {
            parseCsv("a,b\n1,2\n3,x\n", "file.csv");
            QFAIL("expected an error");
        } catch (const CsvError& e) {
            QCOMPARE(QString(e.what()), QString("file.csv:3: column 2 ('b'): not a number: 'x'"));
        }
        try {
            parseCsv("a,b\n1,2,3\n", "file.csv");
            QFAIL("expected an error");
        } catch (const CsvError& e) {
            QCOMPARE(QString(e.what()), QString("file.csv:2: expected 2 values (as in the header), found 3"));
        }
        QVERIFY_THROWS_EXCEPTION(CsvError, parseCsv("", "empty.csv"));
        QVERIFY_THROWS_EXCEPTION(CsvError, readCsv("/nonexistent/dir/file.csv"));
    }

    void headerOnlyGivesNoRows() {
        const CsvTable t = parseCsv("a,b,c\n", "mem");
        QCOMPARE(t.values.rows(), 0);
        QCOMPARE(t.values.cols(), 3);
    }

    void writeIsAtomic() {
        QTemporaryDir dir;
        const std::string path = (dir.path() + "/out.csv").toStdString();
        writeCsv(path, {"a"}, Matrix::Constant(2, 1, 1.5));
        QCOMPARE(readCsv(path).values.rows(), 2);
        // A failed write (unwritable directory) leaves the old file untouched and no .part file.
        QVERIFY_THROWS_EXCEPTION(CsvError, writeCsv((dir.path() + "/missing/out.csv").toStdString(), {"a"}, Matrix::Zero(1, 1)));
        QVERIFY_THROWS_EXCEPTION(CsvError, writeCsv(path, {"a", "b"}, Matrix::Zero(1, 1)));
        QCOMPARE(readCsv(path).values(1, 0), 1.5);
        QVERIFY(!QFile::exists(dir.path() + "/out.csv.part"));
    }
};

QTEST_APPLESS_MAIN(TestCsv)
#include "test_csv.moc"
