// CornerPlot: the grid, histogram counts against samples counted by hand, density maps and
// contours filled, truths, prior bounds and overlays drawn and in the legend, saving to every
// format, no growth of plottables over repeated updates, and the cost of a live update.
#include <qcustomplot.h>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include "widget_test_data.h"
#include "widgets/contour_lines.h"
#include "widgets/corner_plot.h"

using namespace sbiw;
using namespace sbiw::widgets;

namespace {

const QStringList kNames{"θ₁", "θ₂", "θ₃"};
const std::vector<CornerPlot::Range> kRanges{{-1, 1}, {-1, 1}, {-1, 1.5}};

int countItems(QCustomPlot* plot, Qt::PenStyle style) {
    int count = 0;
    for (int i = 0; i < plot->itemCount(); ++i)
        if (auto* line = qobject_cast<QCPItemStraightLine*>(plot->item(i)))
            count += line->pen().style() == style;
    return count;
}

QStringList legendNames(QCPLegend* legend) {
    QStringList names;
    for (int i = 0; legend && i < legend->itemCount(); ++i)
        if (auto* item = qobject_cast<QCPPlottableLegendItem*>(legend->item(i)))
            names << item->plottable()->name();
    return names;
}

}  // namespace

class TestCornerPlot : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void gridHasOneCellPerPair() {
        CornerPlot corner;
        QCOMPARE(corner.plot()->axisRectCount(), 0);  // nothing until parameters are set
        corner.setParameters(kNames, kRanges);
        QCOMPARE(corner.parameterCount(), 3);
        QCOMPARE(corner.plot()->axisRectCount(), 9);
        // Upper triangle empty, the rest framed; labels only on the outer edges.
        QVERIFY(!corner.panel(0, 2)->axis(QCPAxis::atBottom)->visible());
        QVERIFY(corner.panel(2, 1)->axis(QCPAxis::atBottom)->visible());
        QCOMPARE(corner.panel(2, 1)->axis(QCPAxis::atBottom)->label(), QString("θ₂"));
        QCOMPARE(corner.panel(1, 0)->axis(QCPAxis::atLeft)->label(), QString("θ₂"));
        QVERIFY(!corner.panel(1, 0)->axis(QCPAxis::atBottom)->tickLabels());
        QCOMPARE(corner.panel(2, 0)->axis(QCPAxis::atLeft)->range().upper, 1.5);
        QVERIFY(corner.densityMap(1, 0) && corner.densityMap(2, 1) && !corner.densityMap(0, 1));
        QCOMPARE(corner.panel(3, 0), nullptr);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 corner.setParameters(kNames, {{0, 1}, {1, 0}, {0, 1}}));
    }

    void samplesFillHistogramsAndDensities() {
        CornerPlot corner;
        corner.setParameters(kNames, kRanges);
        corner.setBins(20);
        const Matrix samples = test::bananaSamples(4000, 3, 1);
        corner.setSamples(samples);
        for (int j = 0; j < 3; ++j) {
            QCPGraph* graph = corner.marginal(j);
            QCOMPARE(graph->dataCount(), 21);  // 20 bins + the closing step
            const double low = kRanges[std::size_t(j)].first, high = kRanges[std::size_t(j)].second;
            const double width = (high - low) / 20.0;
            std::int64_t inside = 0;
            for (Eigen::Index r = 0; r < samples.rows(); ++r)
                inside += samples(r, j) >= low && samples(r, j) <= high;
            for (int bin : {3, 10, 14}) {
                const double binLow = low + bin * width;
                int count = 0;
                for (Eigen::Index r = 0; r < samples.rows(); ++r)
                    count += samples(r, j) >= binLow && samples(r, j) < binLow + width;
                QCOMPARE(graph->data()->at(bin)->key, binLow);
                // The diagonal shows a density: count / (samples * bin width).
                QVERIFY(std::abs(graph->data()->at(bin)->value * 4000.0 * width - count) < 1e-9);
            }
        }
        QCPColorMap* map = corner.densityMap(1, 0);
        QCOMPARE(map->data()->keySize(), 20);
        QCOMPARE(map->data()->valueSize(), 20);
        QVERIFY(map->dataRange().upper > 0.0);
        double mass = 0.0;
        for (int ix = 0; ix < 20; ++ix)
            for (int iy = 0; iy < 20; ++iy)
                mass += map->data()->cell(ix, iy) * 0.1 * 0.1;
        QVERIFY(std::abs(mass - 1.0) < 0.01);  // the banana lies inside the range
        QCOMPARE(corner.contours(1, 0)->levelCount(), 2);
        QVERIFY(corner.contours(1, 0)->polylineCount() >= 2);
        QCOMPARE(corner.densities().pairs.size(), std::size_t(3));
        // The diagonal's value axis fits the highest bar.
        double highest = 0.0;
        for (int b = 0; b < 20; ++b)
            highest = std::max(highest, corner.marginal(0)->data()->at(b)->value);
        QVERIFY(std::abs(corner.panel(0, 0)->axis(QCPAxis::atLeft)->range().upper -
                         1.08 * highest) < 1e-12);

        // Samples of another dimension empty the plot instead of failing.
        corner.setSamples(Matrix::Zero(10, 2));
        QCOMPARE(corner.marginal(0)->dataCount(), 0);
        QCOMPARE(corner.contours(1, 0)->polylineCount(), 0);
    }

    void truthsPriorBoundsAndOverlays() {
        CornerPlot corner;
        corner.setParameters(kNames, kRanges);
        corner.setSamples(test::bananaSamples(2000, 3, 2));
        QCOMPARE(corner.legend(), nullptr);  // nothing to explain yet
        corner.setTrueParameters({0.1, 0.2, 0.3});
        // A vertical line on all 6 lower panels, a horizontal one on the 3 off-diagonal ones.
        QCOMPARE(countItems(corner.plot(), Qt::SolidLine), 9);
        int markers = 0;
        for (int p = 0; p < corner.plot()->plottableCount(); ++p)
            if (auto* graph = qobject_cast<QCPGraph*>(corner.plot()->plottable(p)))
                if (graph->scatterStyle().shape() == QCPScatterStyle::ssSquare &&
                    graph->dataCount() == 1)
                    ++markers;
        QCOMPARE(markers, 3);
        QCOMPARE(legendNames(corner.legend()), (QStringList{"posterior", "true parameters"}));

        const double inf = std::numeric_limits<double>::infinity();
        corner.setPriorBounds({{-1, 1}, {0, inf}, {-inf, inf}});
        // θ₁'s two bounds on its 3 column panels, θ₂'s lower bound on its 2 column panels and
        // as a horizontal line on panel (1, 0): 6 + 2 + 1.
        QCOMPARE(countItems(corner.plot(), Qt::DashLine), 9);
        corner.setShowPriorBounds(false);
        QCOMPARE(countItems(corner.plot(), Qt::DashLine), 0);

        corner.setOverlays(
            {{"reference", test::bananaSamples(2000, 3, 3), QColor()},
             {"round 1", test::bananaSamples(2000, 3, 4, 0.1), QColor(Qt::darkGreen)}});
        QCOMPARE(legendNames(corner.legend()),
                 (QStringList{"posterior", "reference", "round 1", "true parameters"}));
        // The overlay's contours are drawn in its colour on every off-diagonal panel.
        int overlayContours = 0;
        for (int p = 0; p < corner.plot()->plottableCount(); ++p)
            if (auto* lines = dynamic_cast<ContourLines*>(corner.plot()->plottable(p)))
                if (lines->name() == "round 1") {
                    ++overlayContours;
                    QVERIFY(lines->polylineCount() > 0);
                }
        QCOMPARE(overlayContours, 3);
        corner.setOverlays({});
        QCOMPARE(legendNames(corner.legend()), (QStringList{"posterior", "true parameters"}));
        corner.setTrueParameters({});
        QCOMPARE(corner.legend(), nullptr);
        QCOMPARE(countItems(corner.plot(), Qt::SolidLine), 0);
    }

    void savesEveryFormat() {
        CornerPlot corner;
        corner.resize(500, 500);
        corner.setParameters(kNames, kRanges);
        corner.setSamples(test::bananaSamples(2000, 3, 5));
        corner.setTrueParameters({0.1, 0.2, 0.3});
        corner.setTitle("epoch 12 · round 1");
        QTemporaryDir folder;
        for (const QString name : {"corner.png", "corner.pdf", "corner.svg"}) {
            const QString path = folder.filePath(name);
            QCOMPARE(corner.save(path), QString());
            QVERIFY2(QFileInfo(path).size() > 1000, qPrintable(name));
        }
        QVERIFY(!corner.save(folder.filePath("corner.bmp")).isEmpty());
        // Right click offers the same.
        QVERIFY(corner.findChild<QAction*>("savePlotAction"));
        QCOMPARE(corner.contextMenuPolicy(), Qt::ActionsContextMenu);
    }

    void repeatedUpdatesDoNotGrowThePlot() {
        CornerPlot corner;
        corner.setParameters(kNames, kRanges);
        corner.setTrueParameters({0.1, 0.2, 0.3});
        corner.setOverlays({{"reference", test::bananaSamples(1000, 3, 6), QColor()}});
        corner.setSamples(test::bananaSamples(1000, 3, 7));
        const int plottables = corner.plot()->plottableCount();
        const int items = corner.plot()->itemCount();
        const int layers = corner.plot()->layerCount();
        for (int k = 0; k < 20; ++k)
            corner.setSamples(test::bananaSamples(500 + 100 * k, 3, 8 + k));
        QCOMPARE(corner.plot()->plottableCount(), plottables);
        QCOMPARE(corner.plot()->itemCount(), items);
        QCOMPARE(corner.plot()->layerCount(), layers);
        QCOMPARE(corner.plot()->axisRectCount(), 9);
        // Rebuilding (new levels, new bins) replaces the parts instead of adding to them.
        corner.setCredibleLevels({0.5, 0.9, 0.99});
        corner.setBins(25);
        QCOMPARE(corner.plot()->plottableCount(), plottables);
        QCOMPARE(corner.contours(2, 1)->levelCount(), 3);
        QCOMPARE(corner.densityMap(2, 1)->data()->keySize(), 25);
    }

    void liveUpdateOfTenParametersIsCheap() {
        CornerPlot corner;
        corner.resize(900, 900);
        QStringList names;
        for (int j = 0; j < 10; ++j)
            names << QString("θ%1").arg(j + 1);
        const Matrix samples = test::bananaSamples(10000, 10, 9);
        corner.setParameters(names, CornerPlot::rangesFor(samples));
        QCOMPARE(corner.plot()->axisRectCount(), 100);
        corner.show();
        QVERIFY(QTest::qWaitForWindowExposed(&corner));
        QElapsedTimer timer;
        timer.start();
        for (int k = 0; k < 3; ++k)
            corner.setSamples(samples);
        const double computeMs = timer.nsecsElapsed() / 3e6;
        timer.restart();
        corner.plot()->replot(QCustomPlot::rpImmediateRefresh);
        const double drawMs = timer.nsecsElapsed() / 1e6;
        qInfo("d = 10, 10000 samples: setSamples %.1f ms, replot %.1f ms", computeMs, drawMs);
        // Five updates a second leave most of the GUI thread free.
        QVERIFY2(computeMs < 100.0, qPrintable(QString::number(computeMs)));
    }

    void oneAndTwoParameters() {
        CornerPlot single;
        single.setParameters({"θ"}, {{-1, 1}});
        QCOMPARE(single.plot()->axisRectCount(), 1);
        single.setSamples(test::bananaSamples(500, 1, 13));
        QCOMPARE(single.marginal(0)->dataCount(), 31);
        QCOMPARE(single.densities().pairs.size(), std::size_t(0));
        single.setTrueParameters({0.1});
        // With one panel the legend sits on it.
        QVERIFY(single.legend());
        QCOMPARE(legendNames(single.legend()), (QStringList{"posterior", "true parameters"}));
        QCOMPARE(countItems(single.plot(), Qt::SolidLine), 1);

        CornerPlot pair;
        pair.setParameters({"a", "b"}, {{-1, 1}, {-1, 1}});
        pair.setOverlays({{"reference", test::bananaSamples(500, 2, 14), QColor()}});
        QCOMPARE(pair.plot()->axisRectCount(), 4);
        QCOMPARE(legendNames(pair.legend()), (QStringList{"posterior", "reference"}));
        // The legend lives in the empty upper-right cell.
        QVERIFY(pair.panel(0, 1)->insetLayout()->elementCount() == 1);
        // Dropping to another dimension forgets the overlays of the old one.
        pair.setParameters({"a", "b", "c"}, kRanges);
        QCOMPARE(pair.legend(), nullptr);
        QCOMPARE(pair.plot()->axisRectCount(), 9);
    }

    void rangesForUnboundedPriors() {
        const Matrix samples = test::bananaSamples(5000, 2, 10);
        const double inf = std::numeric_limits<double>::infinity();
        const auto ranges = CornerPlot::rangesFor(samples, {{-2, 2}, {-inf, inf}});
        QCOMPARE(ranges[0], (CornerPlot::Range{-2, 2}));
        QVERIFY(ranges[1].first < samples.col(1).minCoeff() + 0.2);
        QVERIFY(ranges[1].second > samples.col(1).maxCoeff() - 0.2);
        QVERIFY(ranges[1].second - ranges[1].first < 3.0);
    }

    void screenshot() {
        CornerPlot corner;
        corner.resize(720, 720);
        const QStringList names{"θ₁ (offset)", "θ₂ (angle)", "θ₃ (scale)", "θ₄ (noise)"};
        const Matrix samples = test::bananaSamples(8000, 4, 11);
        const Matrix reference = test::bananaSamples(8000, 4, 12, 0.04);
        const std::vector<CornerPlot::Range> bounds{{-1, 1}, {-1, 1}, {-1, 1.5}, {-1, 1.5}};
        corner.setParameters(names, CornerPlot::rangesFor(samples));
        corner.setPriorBounds(bounds);
        corner.setSamples(samples);
        corner.setOverlays({{"reference posterior", reference, QColor()}});
        corner.setTrueParameters({0.12, 0.05, 0.33, 0.55});
        corner.setTitle("NPE · epoch 48 · round 2");
        corner.show();
        QVERIFY(QTest::qWaitForWindowExposed(&corner));
        corner.plot()->replot(QCustomPlot::rpImmediateRefresh);
        test::saveScreenshot(corner, "widgets-corner.png");
    }
};

QTEST_MAIN(TestCornerPlot)
#include "test_corner_plot.moc"
