// LossCurvePlot: one point per epoch and series, the best epoch ringed where the trainer said,
// non-finite losses left as gaps and counted, round marks, ranges that ignore infinities.
#include <cmath>
#include <limits>

#include <qcustomplot.h>
#include <QtTest>

#include "widgets/loss_curve_plot.h"

using namespace sbiw::widgets;

namespace {

// A typical two-round training: losses falling like 1/epoch, validation flattening out.
std::vector<LossPoint> typicalHistory(int epochsPerRound = 30) {
    std::vector<LossPoint> history;
    double best = std::numeric_limits<double>::infinity();
    for (int e = 1; e <= 2 * epochsPerRound; ++e) {
        const int inRound = (e - 1) % epochsPerRound + 1;
        const double offset = e > epochsPerRound ? -0.6 : 0.0;
        const double train = 1.0 + offset + 3.0 / inRound - 0.004 * inRound;
        const double validation = 1.1 + offset + 3.0 / inRound + 0.0004 * inRound * inRound / 4;
        const bool improved = validation < best || inRound == 1;
        if (inRound == 1)
            best = std::numeric_limits<double>::infinity();
        best = std::min(best, validation);
        history.push_back({e, train, validation, improved && validation <= best});
    }
    return history;
}

}  // namespace

class TestLossCurvePlot : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void appendingEpochsAddsOnePointEach() {
        LossCurvePlot plot;
        QCOMPARE(plot.trainGraph()->dataCount(), 0);
        QCOMPARE(plot.bestEpoch(), -1);
        plot.appendEpoch(1, 2.0, 2.5, true);
        plot.appendEpoch(2, 1.5, 2.0, true);
        plot.appendEpoch(3, 1.2, 2.1, false);
        QCOMPARE(plot.trainGraph()->dataCount(), 3);
        QCOMPARE(plot.validationGraph()->dataCount(), 3);
        QCOMPARE(plot.validationGraph()->data()->at(2)->value, 2.1);
        QCOMPARE(plot.bestEpoch(), 2);
        QCOMPARE(plot.bestMarker()->dataCount(), 1);
        QCOMPARE(plot.bestMarker()->data()->at(0)->key, 2.0);
        QCOMPARE(plot.bestMarker()->data()->at(0)->value, 2.0);
        QVERIFY(plot.plot()->legend->hasItemWithPlottable(plot.bestMarker()));
        // The axes hold every epoch and loss.
        QVERIFY(plot.plot()->xAxis->range().contains(1.0) &&
                plot.plot()->xAxis->range().contains(3.0));
        QVERIFY(plot.plot()->yAxis->range().contains(1.2) &&
                plot.plot()->yAxis->range().contains(2.5));
    }

    void nonFiniteLossesAreGaps() {
        LossCurvePlot plot;
        const double inf = std::numeric_limits<double>::infinity();
        plot.appendEpoch(1, 2.0, 2.5, true);
        plot.appendEpoch(2, inf, std::nan(""), false);
        plot.appendEpoch(3, 1.0, 1.5, true);
        QCOMPARE(plot.trainGraph()->dataCount(), 3);
        QVERIFY(std::isnan(plot.trainGraph()->data()->at(1)->value));  // a gap, not an infinity
        QCOMPARE(plot.nonFiniteCount(), 2);
        QCOMPARE(plot.bestEpoch(), 3);
        const QCPRange y = plot.plot()->yAxis->range();
        QVERIFY(std::isfinite(y.lower) && std::isfinite(y.upper) && y.upper < 3.0);
        plot.plot()->replot(QCustomPlot::rpImmediateRefresh);  // draws without trouble
    }

    void historyAndRounds() {
        LossCurvePlot plot;
        const std::vector<LossPoint> history = typicalHistory();
        plot.setHistory(history, {{1, 1}, {31, 2}});
        QCOMPARE(plot.trainGraph()->dataCount(), 60);
        QCOMPARE(plot.roundMarkCount(), 2);
        QCOMPARE(plot.bestEpoch(), history[std::size_t(bestLossIndex(history))].epoch);
        plot.markRound(61, 3);
        QCOMPARE(plot.roundMarkCount(), 3);
        QCOMPARE(plot.plot()->itemCount(), 1 + 2 * 3);  // the non-finite note, line + label per round
        plot.clear();
        QCOMPARE(plot.trainGraph()->dataCount(), 0);
        QCOMPARE(plot.roundMarkCount(), 0);
        QCOMPARE(plot.plot()->itemCount(), 1);
        QCOMPARE(plot.bestEpoch(), -1);
        QVERIFY(!plot.plot()->legend->hasItemWithPlottable(plot.bestMarker()));
    }

    void manyUpdatesKeepThePlotSmall() {
        LossCurvePlot plot;
        for (int e = 1; e <= 500; ++e)
            plot.appendEpoch(e, 1.0 / e, 1.1 / e, e % 3 == 0);
        QCOMPARE(plot.plot()->plottableCount(), 3);
        QCOMPARE(plot.trainGraph()->dataCount(), 500);
        QCOMPARE(plot.bestEpoch(), 498);
    }

    void savesAndOffersSaving() {
        LossCurvePlot plot;
        plot.resize(520, 300);
        plot.setHistory(typicalHistory(), {{1, 1}, {31, 2}});
        plot.setTitle("NPE on two_moons · training loss");
        QTemporaryDir folder;
        QCOMPARE(plot.save(folder.filePath("loss.svg")), QString());
        QVERIFY(QFileInfo(folder.filePath("loss.svg")).size() > 1000);
        QVERIFY(plot.findChild<QAction*>("savePlotAction"));
    }
};

QTEST_MAIN(TestLossCurvePlot)
#include "test_loss_curve_plot.moc"
