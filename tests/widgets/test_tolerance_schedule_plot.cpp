// ToleranceSchedulePlot: one point per ABC population on a log axis that spans every tolerance,
// acceptance rates on their own 0..1 axis, unusable tolerances left out, cleared for a new run.
#include <cmath>
#include <limits>

#include <qcustomplot.h>
#include <QtTest>

#include "widgets/tolerance_schedule_plot.h"

using namespace sbiw::widgets;

class TestToleranceSchedulePlot : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void populationsAppearOnALogAxis() {
        ToleranceSchedulePlot plot;
        QCOMPARE(plot.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
        // SMC-ABC shrinking ε tenfold over three populations while acceptance falls.
        plot.appendPopulation(1, 10.0, 1.0);
        plot.appendPopulation(2, 3.0, 0.4);
        plot.appendPopulation(3, 1.0, 0.1);
        QCOMPARE(plot.epsilons(), (std::vector<double>{10.0, 3.0, 1.0}));
        QCOMPARE(plot.epsilonGraph()->dataCount(), 3);
        QCOMPARE(plot.acceptanceGraph()->dataCount(), 3);
        QCOMPARE(plot.acceptanceGraph()->valueAxis(), plot.plot()->yAxis2);
        const QCPRange range = plot.plot()->yAxis->range();
        QVERIFY(range.lower > 0.0 && range.lower < 1.0 && range.upper > 10.0);
        QVERIFY(plot.plot()->xAxis->range().contains(1) && plot.plot()->xAxis->range().contains(3));
        // The right axis keeps the rates' 0..1 scale whatever the tolerances' range.
        QVERIFY(plot.plot()->yAxis2->range().lower <= 0.0 &&
                plot.plot()->yAxis2->range().upper >= 1.0);
        QVERIFY(plot.plot()->legend->hasItemWithPlottable(plot.acceptanceGraph()));
        // A tolerance a log axis cannot show is left out; its acceptance rate still counts.
        plot.appendPopulation(4, 0.0, 0.05);
        plot.appendPopulation(5, std::numeric_limits<double>::quiet_NaN(), 0.02);
        QCOMPARE(plot.epsilonGraph()->dataCount(), 3);
        QCOMPARE(plot.acceptanceGraph()->dataCount(), 5);
        plot.clear();
        QVERIFY(plot.epsilons().empty());
        QCOMPARE(plot.epsilonGraph()->dataCount(), 0);
        QCOMPARE(plot.acceptanceGraph()->dataCount(), 0);
    }
};

QTEST_MAIN(TestToleranceSchedulePlot)
#include "test_tolerance_schedule_plot.moc"
