#include "widgets/calibration_plots.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

#include "widgets/plot_data.h"
#include "widgets/plot_style.h"

namespace sbiw::widgets {

QString verdictText(CalibrationVerdict verdict) {
    return QString::fromUtf8(verdictName(verdict));
}

namespace {

QColor verdictColor(CalibrationVerdict verdict) {
    return verdict == CalibrationVerdict::Calibrated ? QColor(0x22, 0x22, 0x22) : style::warning();
}

QCPGraph* addGraph(QCPAxisRect* rect) {
    auto* graph = new QCPGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
    graph->setSelectable(QCP::stNone);
    return graph;
}

// A shaded band between two graphs; the lower one is drawn without a line.
std::pair<QCPGraph*, QCPGraph*> addBand(QCPAxisRect* rect, QCPGraph::LineStyle lineStyle) {
    QCPGraph* low = addGraph(rect);
    QCPGraph* high = addGraph(rect);
    for (QCPGraph* graph : {low, high}) {
        graph->setLineStyle(lineStyle);
        graph->setPen(Qt::NoPen);
    }
    high->setBrush(style::bandFill());
    high->setChannelFillGraph(low);
    return {low, high};
}

// A unit square plot with the diagonal, for coverage and TARP.
QCPGraph* setUpUnitSquare(QCustomPlot* plot, const QString& xLabel, const QString& yLabel) {
    QCPAxisRect* rect = plot->axisRect();
    style::styleAxisRect(rect, true);
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    plot->xAxis->setRange(0.0, 1.0);
    plot->yAxis->setRange(0.0, 1.0);
    for (QCPAxis* axis : {plot->xAxis, plot->yAxis})
        axis->ticker()->setTickCount(5);
    QCPGraph* diagonal = addGraph(rect);
    diagonal->setPen(QPen(style::guide(), 1.0, Qt::DashLine));
    diagonal->setData(QVector<double>{0.0, 1.0}, QVector<double>{0.0, 1.0});
    diagonal->setName(QObject::tr("calibrated"));
    plot->legend->setVisible(true);
    plot->legend->setFont(style::tickFont(8));
    plot->legend->setBorderPen(QPen(QColor(0, 0, 0, 60)));
    plot->legend->setBrush(QColor(255, 255, 255, 230));
    plot->legend->setIconSize(20, 14);
    rect->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    return diagonal;
}

QVector<double> toVector(const std::vector<double>& values) {
    return QVector<double>(values.begin(), values.end());
}

}  // namespace

// ---- SBC ----

SbcRankPlot::SbcRankPlot(QWidget* parent) : PlotWidget(parent) {
    clear();
}

void SbcRankPlot::clear() {
    QCustomPlot* p = plot();
    p->clearPlottables();
    p->clearItems();
    // Keep the title (row 0 when set); replace the panel grid below it.
    QCPLayoutGrid* layout = p->plotLayout();
    const int gridRow = title().isEmpty() ? 0 : 1;
    if (layout->hasElement(gridRow, 0))
        layout->remove(layout->element(gridRow, 0));
    for (QCPMarginGroup* group :
         p->findChildren<QCPMarginGroup*>(QString(), Qt::FindDirectChildrenOnly))
        delete group;
    layout->addElement(gridRow, 0, new QCPLayoutGrid);
    panels_.clear();
    requestReplot();
}

void SbcRankPlot::setResult(const SbcResult& result, const QStringList& names, int columns) {
    clear();
    QCustomPlot* p = plot();
    auto* grid =
        static_cast<QCPLayoutGrid*>(p->plotLayout()->element(title().isEmpty() ? 0 : 1, 0));
    const int d = static_cast<int>(result.parameters.size());
    if (d == 0)
        return;
    if (columns <= 0)
        columns = std::min(d, 4);
    grid->setColumnSpacing(10);
    grid->setRowSpacing(6);
    auto* leftGroup = new QCPMarginGroup(p);
    auto* bottomGroup = new QCPMarginGroup(p);
    const double L = double(result.posteriorSamples);
    for (int j = 0; j < d; ++j) {
        const SbcParameterResult& parameter = result.parameters[std::size_t(j)];
        const int bins = static_cast<int>(parameter.histogram.size());
        const double width = (L + 1.0) / bins;  // ranks 0..L fill [0, L + 1)

        auto* cell = new QCPLayoutGrid;
        grid->addElement(j / columns, j % columns, cell);
        const QString name = j < names.size() ? names[j] : tr("parameter %1").arg(j + 1);
        Panel panel;
        panel.headingText = QStringLiteral("%1: %2").arg(name, verdictText(parameter.verdict));
        panel.heading = new QCPTextElement(p, panel.headingText, style::labelFont(9));
        panel.heading->setTextColor(verdictColor(parameter.verdict));
        cell->addElement(0, 0, panel.heading);
        auto* rect = new QCPAxisRect(p, true);
        cell->addElement(1, 0, rect);
        rect->setMarginGroup(QCP::msLeft, leftGroup);
        rect->setMarginGroup(QCP::msBottom, bottomGroup);
        style::styleAxisRect(rect);
        QCPAxis* x = rect->axis(QCPAxis::atBottom);
        QCPAxis* y = rect->axis(QCPAxis::atLeft);
        // The sample count is in the title: a short label fits a narrow panel.
        x->setLabel(j / columns == (d - 1) / columns ? tr("rank of θ*") : QString());
        y->setLabel(j % columns == 0 ? tr("simulations") : QString());
        x->ticker()->setTickCount(4);
        y->ticker()->setTickCount(4);

        panel.rect = rect;
        std::tie(panel.bandLow, panel.bandHigh) = addBand(rect, QCPGraph::lsStepLeft);
        panel.expected = addGraph(rect);
        panel.expected->setLineStyle(QCPGraph::lsStepLeft);
        panel.expected->setPen(QPen(style::guide(), 1.0, Qt::DashLine));
        QVector<double> edges, low, high, expected;
        for (int b = 0; b <= bins; ++b) {
            const std::size_t k = std::size_t(std::min(b, bins - 1));  // closes the last step
            edges << b * width;
            low << double(parameter.band[k].low);
            high << double(parameter.band[k].high);
            expected << parameter.expected[k];
        }
        panel.bandLow->setData(edges, low, true);
        panel.bandHigh->setData(edges, high, true);
        panel.expected->setData(edges, expected, true);

        panel.inside = new QCPBars(x, y);
        panel.outside = new QCPBars(x, y);
        QColor fill = style::primary();
        fill.setAlpha(170);
        panel.inside->setBrush(fill);
        panel.inside->setPen(QPen(style::primaryDark(), 0.8));
        QColor warningFill = style::warning();
        warningFill.setAlpha(200);
        panel.outside->setBrush(warningFill);
        panel.outside->setPen(QPen(style::warning().darker(130), 0.8));
        double highest = 0.0;
        for (int b = 0; b < bins; ++b) {
            const double count = double(parameter.histogram[std::size_t(b)]);
            const CountBand& band = parameter.band[std::size_t(b)];
            const bool outsideBand = count < double(band.low) || count > double(band.high);
            (outsideBand ? panel.outside : panel.inside)->addData((b + 0.5) * width, count);
            highest = std::max({highest, count, double(band.high)});
        }
        for (QCPBars* bars : {panel.inside, panel.outside}) {
            bars->setWidth(width * 0.9);
            bars->setSelectable(QCP::stNone);
        }
        x->setRange(0.0, L + 1.0);
        y->setRange(0.0, 1.1 * highest);
        panels_.push_back(panel);
    }
    columns_ = columns;
    setTitle(tr("SBC ranks (%1 simulations, %2 posterior samples each)")
                 .arg(result.simulations)
                 .arg(result.posteriorSamples));
}

void SbcRankPlot::fitTextToWidth() {
    PlotWidget::fitTextToWidth();
    // A panel's share of the width, less the spacing and its left axis.
    const int panelWidth = width() / std::max(1, columns_) - 20;
    bool changed = false;
    for (Panel& panel : panels_) {
        const QString shown =
            style::fitToWidth(panel.headingText, panel.heading->font(), panelWidth);
        if (shown != panel.heading->text()) {
            panel.heading->setText(shown);
            changed = true;
        }
    }
    if (changed)
        requestReplot();
}

// ---- expected coverage ----

CoveragePlot::CoveragePlot(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* p = plot();
    diagonal_ = setUpUnitSquare(p, tr("credibility level"), tr("empirical coverage"));
    std::tie(bandLow_, bandHigh_) = addBand(p->axisRect(), QCPGraph::lsLine);
    bandHigh_->setName(tr("band of a calibrated posterior"));
    empirical_ = addGraph(p->axisRect());
    empirical_->setPen(QPen(style::primary(), 1.6));
    empirical_->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, style::primary(), Qt::white, 5));
    empirical_->setName(tr("posterior"));
    outside_ = addGraph(p->axisRect());
    outside_->setLineStyle(QCPGraph::lsNone);
    outside_->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, style::warning(), style::warning(), 6));
    outside_->setName(tr("outside the band"));
    for (QCPAbstractPlottable* entry : {static_cast<QCPAbstractPlottable*>(empirical_),
                                        static_cast<QCPAbstractPlottable*>(bandHigh_),
                                        static_cast<QCPAbstractPlottable*>(diagonal_)})
        entry->addToLegend();
}

void CoveragePlot::clear() {
    for (QCPGraph* graph : {bandLow_, bandHigh_, empirical_, outside_})
        graph->data()->clear();
    outside_->removeFromLegend();
    setTitle(QString());
}

void CoveragePlot::setResult(const CoverageResult& result) {
    clear();
    const QVector<double> levels = toVector(result.levels);
    // The band and the curve start at (0, 0) and end at (1, 1), where every posterior agrees.
    QVector<double> x{0.0}, low{0.0}, high{0.0}, empirical{0.0};
    x << levels << 1.0;
    low << toVector(result.bandLow) << 1.0;
    high << toVector(result.bandHigh) << 1.0;
    empirical << toVector(result.empirical) << 1.0;
    bandLow_->setData(x, low, true);
    bandHigh_->setData(x, high, true);
    empirical_->setData(x, empirical, true);
    for (const std::vector<int>* indices : {&result.belowBand, &result.aboveBand})
        for (int k : *indices)
            outside_->addData(result.levels[std::size_t(k)], result.empirical[std::size_t(k)]);
    if (!outside_->data()->isEmpty())
        outside_->addToLegend();
    setTitle(tr("Expected coverage (%1 simulations): %2")
                 .arg(result.simulations)
                 .arg(verdictText(result.verdict)));
}

// ---- TARP ----

TarpPlot::TarpPlot(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* p = plot();
    diagonal_ = setUpUnitSquare(p, tr("credibility level"), tr("expected coverage probability"));
    std::tie(bandLow_, bandHigh_) = addBand(p->axisRect(), QCPGraph::lsLine);
    ecp_ = addGraph(p->axisRect());
    ecp_->setPen(QPen(style::primary(), 1.8));
    ecp_->setName(tr("TARP"));
    for (QCPAbstractPlottable* entry :
         {static_cast<QCPAbstractPlottable*>(ecp_), static_cast<QCPAbstractPlottable*>(bandHigh_),
          static_cast<QCPAbstractPlottable*>(diagonal_)})
        entry->addToLegend();
}

void TarpPlot::clear() {
    for (QCPGraph* graph : {bandLow_, bandHigh_, ecp_})
        graph->data()->clear();
    setTitle(QString());
}

void TarpPlot::setResult(const TarpResult& result, double bandConfidence) {
    clear();
    ecp_->setData(toVector(result.levels), toVector(result.ecp), true);
    if (result.simulations > 0) {
        const double halfWidth =
            kolmogorovCriticalValue(bandConfidence) / std::sqrt(double(result.simulations));
        QVector<double> x, low, high;
        for (int k = 0; k <= 100; ++k) {
            const double level = k / 100.0;
            x << level;
            low << std::max(0.0, level - halfWidth);
            high << std::min(1.0, level + halfWidth);
        }
        bandLow_->setData(x, low, true);
        bandHigh_->setData(x, high, true);
        bandHigh_->setName(tr("%1% band (KS)").arg(100.0 * bandConfidence, 0, 'g', 3));
    }
    setTitle(tr("TARP (%1 simulations): ATC = %2 ± %3, %4")
                 .arg(result.simulations)
                 .arg(result.atc, 0, 'f', 3)
                 .arg(result.atcStandardError, 0, 'f', 3)
                 .arg(verdictText(result.verdict)));
}

}  // namespace sbiw::widgets
