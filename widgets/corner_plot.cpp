#include "widgets/corner_plot.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <qcustomplot.h>
#include <QVBoxLayout>

#include "widgets/contour_lines.h"
#include "widgets/plot_export.h"
#include "widgets/plot_style.h"

namespace sbiw::widgets {

namespace {

bool isValidRange(const CornerPlot::Range& range) {
    return std::isfinite(range.first) && std::isfinite(range.second) && range.first < range.second;
}

QCPColorGradient densityGradient() {
    QCPColorGradient gradient;
    gradient.clearColorStops();
    gradient.setColorStopAt(0.0, QColor(255, 255, 255));
    gradient.setColorStopAt(0.25, QColor(0xd4, 0xe0, 0xf0));
    gradient.setColorStopAt(1.0, style::primary());
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    return gradient;
}

// Pens for the credible levels, innermost first: the innermost drawn strongest.
std::vector<QPen> contourPens(const QColor& color, std::size_t levels) {
    std::vector<QPen> pens;
    for (std::size_t k = 0; k < levels; ++k) {
        QColor c = color;
        if (k > 0)
            c.setAlphaF(0.75);
        pens.emplace_back(c, k == 0 ? 1.5 : 1.1);
    }
    return pens;
}

// Step outline of a histogram: one point per left bin edge and one closing the last bin.
void setStepData(QCPGraph* graph, const Histogram1d& histogram,
                 const std::vector<double>& density) {
    const int bins = static_cast<int>(density.size());
    QVector<double> keys(bins + 1), values(bins + 1);
    for (int b = 0; b < bins; ++b) {
        keys[b] = histogram.low + b * histogram.binWidth();
        values[b] = density[std::size_t(b)];
    }
    keys[bins] = histogram.high;
    values[bins] = bins > 0 ? density.back() : 0.0;
    graph->setData(keys, values, true);
}

void setMapData(QCPColorMap* map, const Grid2d& grid) {
    QCPColorMapData* data = map->data();
    if (data->keySize() != grid.nx || data->valueSize() != grid.ny)
        data->setSize(grid.nx, grid.ny);
    // QCPColorMapData's range spans the first to the last cell centre.
    data->setRange(QCPRange(grid.xCentre(0), grid.xCentre(grid.nx - 1)),
                   QCPRange(grid.yCentre(0), grid.yCentre(grid.ny - 1)));
    for (int iy = 0; iy < grid.ny; ++iy)
        for (int ix = 0; ix < grid.nx; ++ix)
            data->setCell(ix, iy, grid.at(ix, iy));
    const double maximum = grid.maximum();
    map->setDataRange(QCPRange(0.0, maximum > 0.0 ? maximum : 1.0));
}

QCPItemStraightLine* addLine(QCustomPlot* plot, QCPAxisRect* rect, bool vertical, double at,
                             const QPen& pen) {
    auto* line = new QCPItemStraightLine(plot);
    line->setClipAxisRect(rect);
    line->setClipToAxisRect(true);
    for (QCPItemPosition* position : {line->point1, line->point2})
        position->setAxes(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
    if (vertical) {
        line->point1->setCoords(at, 0.0);
        line->point2->setCoords(at, 1.0);
    } else {
        line->point1->setCoords(0.0, at);
        line->point2->setCoords(1.0, at);
    }
    line->setPen(pen);
    line->setSelectable(false);
    return line;
}

}  // namespace

CornerPlot::CornerPlot(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);
    style::stylePlot(plot_);
    plot_->setAutoAddPlottableToLegend(false);
    addSavePlotAction(this, plot_);
    rebuild();
}

CornerPlot::~CornerPlot() = default;

QSize CornerPlot::sizeHint() const {
    return QSize(640, 640);
}

std::vector<CornerPlot::Range> CornerPlot::rangesFor(const Matrix& samples,
                                                     const std::vector<Range>& bounds) {
    std::vector<Range> ranges;
    const double inf = std::numeric_limits<double>::infinity();
    for (int j = 0; j < samples.cols(); ++j) {
        const Range bound =
            std::size_t(j) < bounds.size() ? bounds[std::size_t(j)] : Range{-inf, inf};
        if (isValidRange(bound))
            ranges.push_back(bound);
        else
            ranges.push_back(rangeFromSamples(samples, j, bound.first, bound.second));
    }
    return ranges;
}

void CornerPlot::setParameters(const QStringList& names, const std::vector<Range>& ranges) {
    if (std::size_t(names.size()) != ranges.size())
        throw std::invalid_argument("CornerPlot::setParameters: " + std::to_string(names.size()) +
                                    " names for " + std::to_string(ranges.size()) + " ranges");
    for (std::size_t j = 0; j < ranges.size(); ++j)
        if (!isValidRange(ranges[j]))
            throw std::invalid_argument("CornerPlot::setParameters: the range of '" +
                                        names[int(j)].toStdString() +
                                        "' must be finite with low < high");
    const bool sameDimension = ranges.size() == ranges_.size();
    names_ = names;
    ranges_ = ranges;
    if (!sameDimension) {
        samples_.resize(0, 0);
        truths_.clear();
        priorBounds_.clear();
        overlays_.clear();
    }
    rebuild();
}

void CornerPlot::setSamples(const Matrix& samples) {
    samples_ = samples;
    updateSamples();
    updateDiagonalRanges();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void CornerPlot::setSamples(const Matrix& samples, CornerDensities densities) {
    samples_ = samples;
    updateSamples(std::move(densities));
    updateDiagonalRanges();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void CornerPlot::clearSamples() {
    setSamples(Matrix());
}

void CornerPlot::setSamplesLabel(const QString& label) {
    samplesLabel_ = label;
    rebuild();
}

void CornerPlot::setOverlays(std::vector<Overlay> overlays) {
    overlays_ = std::move(overlays);
    rebuild();
}

void CornerPlot::setTrueParameters(std::vector<double> values) {
    truths_ = std::move(values);
    rebuild();
}

void CornerPlot::setPriorBounds(std::vector<Range> bounds) {
    priorBounds_ = std::move(bounds);
    rebuild();
}

void CornerPlot::setShowPriorBounds(bool show) {
    showPriorBounds_ = show;
    rebuild();
}

void CornerPlot::setBins(int bins) {
    settings_.bins = std::max(4, bins);
    rebuild();
}

void CornerPlot::setSmoothing(double bins) {
    settings_.smoothingCells = std::max(0.0, bins);
    rebuild();
}

void CornerPlot::setCredibleLevels(std::vector<double> masses) {
    for (double mass : masses)
        if (!(mass > 0.0 && mass < 1.0))
            throw std::invalid_argument("CornerPlot::setCredibleLevels: masses must lie in (0, 1)");
    std::sort(masses.begin(), masses.end());
    masses.erase(std::unique(masses.begin(), masses.end()), masses.end());
    settings_.credibleMasses = std::move(masses);
    rebuild();
}

void CornerPlot::setTitle(const QString& title) {
    titleText_ = title;
    style::setPlotTitle(plot_, title_, titleText_);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

QCPAxisRect* CornerPlot::panel(int row, int column) const {
    const int d = parameterCount();
    if (row < 0 || column < 0 || row >= d || column >= d)
        return nullptr;
    return panels_[std::size_t(row * d + column)];
}

QCPGraph* CornerPlot::marginal(int parameter) const {
    return parameter >= 0 && parameter < int(marginals_.size()) ? marginals_[std::size_t(parameter)]
                                                                : nullptr;
}

std::size_t CornerPlot::pairIndex(int row, int column) const {
    // Pairs are ordered (1,0), (2,0), (2,1), (3,0), ...
    return std::size_t(row * (row - 1) / 2 + column);
}

QCPColorMap* CornerPlot::densityMap(int row, int column) const {
    if (row <= column || column < 0 || row >= parameterCount())
        return nullptr;
    return densityMaps_[pairIndex(row, column)];
}

ContourLines* CornerPlot::contours(int row, int column) const {
    if (row <= column || column < 0 || row >= parameterCount())
        return nullptr;
    return contours_[pairIndex(row, column)];
}

QString CornerPlot::save(const QString& path) {
    plot_->replot(QCustomPlot::rpImmediateRefresh);
    return savePlot(*plot_, path);
}

QColor CornerPlot::overlayColor(std::size_t index) const {
    const QColor& color = overlays_[index].color;
    return color.isValid() ? color : style::seriesColor(int(index));
}

bool CornerPlot::samplesFit(const Matrix& samples) const {
    return parameterCount() > 0 && samples.cols() == parameterCount() && samples.rows() > 0;
}

// ---- building the plot ----

void CornerPlot::rebuild() {
    // Plottables and items first: they refer to the axes the layout is about to delete.
    plot_->clearPlottables();
    plot_->clearItems();
    plot_->plotLayout()->clear();  // deletes the panels, the title and the legend inside a panel
    for (QCPMarginGroup* group :
         plot_->findChildren<QCPMarginGroup*>(QString(), Qt::FindDirectChildrenOnly))
        delete group;
    title_ = nullptr;
    legend_ = nullptr;
    panels_.clear();
    marginals_.clear();
    densityMaps_.clear();
    contours_.clear();
    overlayParts_.clear();
    truthLegendGraph_ = nullptr;

    buildGrid();
    buildOverlays();
    buildTruths();
    buildPriorBounds();
    buildLegend();
    style::setPlotTitle(plot_, title_, titleText_);
    updateSamples();
    for (std::size_t k = 0; k < overlays_.size(); ++k)
        updateOverlay(k);
    updateDiagonalRanges();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void CornerPlot::buildGrid() {
    const int d = parameterCount();
    auto* grid = new QCPLayoutGrid;
    plot_->plotLayout()->addElement(0, 0, grid);
    if (d == 0) {
        auto* message = new QCPTextElement(plot_, tr("No parameters to show"), style::labelFont());
        message->setTextColor(style::guide());
        grid->addElement(0, 0, message);
        return;
    }
    grid->setRowSpacing(d > 5 ? 3 : 6);
    grid->setColumnSpacing(d > 5 ? 3 : 6);
    std::vector<QCPMarginGroup*> columnGroups, rowGroups;
    for (int k = 0; k < d; ++k) {
        columnGroups.push_back(new QCPMarginGroup(plot_));
        rowGroups.push_back(new QCPMarginGroup(plot_));
    }
    // Many small panels: fewer ticks and smaller names, so neighbouring labels do not collide.
    const int tickCount = d <= 3 ? 4 : d <= 6 ? 3 : 2;
    const int tickPointSize = d <= 4 ? 8 : 7;
    const QFont nameFont = style::labelFont(d <= 5 ? 9 : 7);
    panels_.assign(std::size_t(d * d), nullptr);
    for (int i = 0; i < d; ++i) {
        for (int j = 0; j < d; ++j) {
            auto* rect = new QCPAxisRect(plot_, true);
            grid->addElement(i, j, rect);
            panels_[std::size_t(i * d + j)] = rect;
            rect->setMarginGroup(QCP::msLeft | QCP::msRight, columnGroups[std::size_t(j)]);
            rect->setMarginGroup(QCP::msTop | QCP::msBottom, rowGroups[std::size_t(i)]);
            rect->setMinimumMargins(QMargins(2, 2, 2, 2));
            QCPAxis* x = rect->axis(QCPAxis::atBottom);
            QCPAxis* y = rect->axis(QCPAxis::atLeft);
            if (j > i) {  // upper triangle: an empty cell (the legend may live here)
                for (QCPAxis* axis : rect->axes())
                    axis->setVisible(false);
                continue;
            }
            style::styleAxisRect(rect);
            for (QCPAxis* axis : {x, y}) {
                axis->setTickLabelFont(style::tickFont(tickPointSize));
                axis->ticker()->setTickCount(tickCount);
            }
            x->setRange(ranges_[std::size_t(j)].first, ranges_[std::size_t(j)].second);
            const bool bottomRow = i == d - 1;
            x->setTickLabels(bottomRow);
            if (bottomRow) {
                x->setLabel(names_[j]);
                x->setLabelFont(nameFont);
            }
            if (i == j) {
                // The density scale of a marginal means little next to its shape.
                y->setTicks(false);
                y->setTickLabels(false);
                y->setRange(0.0, 1.0);
            } else {
                y->setRange(ranges_[std::size_t(i)].first, ranges_[std::size_t(i)].second);
                y->setTickLabels(j == 0);
                if (j == 0) {
                    y->setLabel(names_[i]);
                    y->setLabelFont(nameFont);
                }
            }
        }
    }
    // Drawing parts of the main samples, created once per layout and refilled by setSamples.
    for (int j = 0; j < d; ++j) {
        QCPAxisRect* rect = panel(j, j);
        auto* graph = new QCPGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
        graph->setLineStyle(QCPGraph::lsStepLeft);
        graph->setPen(QPen(style::primaryDark(), 1.3));
        QColor fill = style::primary();
        fill.setAlpha(70);
        graph->setBrush(fill);
        graph->setName(samplesLabel_);
        graph->setSelectable(QCP::stNone);
        marginals_.push_back(graph);
    }
    for (int i = 1; i < d; ++i) {
        for (int j = 0; j < i; ++j) {
            QCPAxisRect* rect = panel(i, j);
            auto* map = new QCPColorMap(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
            map->setGradient(densityGradient());
            map->setInterpolate(true);
            map->setTightBoundary(false);
            map->setSelectable(QCP::stNone);
            densityMaps_.push_back(map);
            auto* lines =
                new ContourLines(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
            lines->setLevelPens(contourPens(style::primaryDark(), settings_.credibleMasses.size()));
            lines->setName(samplesLabel_);
            contours_.push_back(lines);
        }
    }
}

void CornerPlot::buildOverlays() {
    const int d = parameterCount();
    for (std::size_t k = 0; k < overlays_.size(); ++k) {
        OverlayParts parts;
        const QColor color = overlayColor(k);
        for (int j = 0; j < d; ++j) {
            QCPAxisRect* rect = panel(j, j);
            auto* graph = new QCPGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
            graph->setLineStyle(QCPGraph::lsStepLeft);
            graph->setPen(QPen(color, 1.5));
            graph->setName(overlays_[k].label);
            graph->setSelectable(QCP::stNone);
            parts.marginals.push_back(graph);
        }
        for (int i = 1; i < d; ++i) {
            for (int j = 0; j < i; ++j) {
                QCPAxisRect* rect = panel(i, j);
                auto* lines =
                    new ContourLines(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
                lines->setLevelPens(contourPens(color, settings_.credibleMasses.size()));
                lines->setName(overlays_[k].label);
                parts.contours.push_back(lines);
            }
        }
        overlayParts_.push_back(std::move(parts));
    }
}

void CornerPlot::buildTruths() {
    const int d = parameterCount();
    if (d == 0 || truths_.size() != std::size_t(d))
        return;
    const QPen pen(style::truth(), 1.2);
    for (int i = 0; i < d; ++i) {
        for (int j = 0; j <= i; ++j) {
            QCPAxisRect* rect = panel(i, j);
            if (std::isfinite(truths_[std::size_t(j)]))
                addLine(plot_, rect, true, truths_[std::size_t(j)], pen);
            if (i == j || !std::isfinite(truths_[std::size_t(i)]))
                continue;
            addLine(plot_, rect, false, truths_[std::size_t(i)], pen);
            auto* marker = new QCPGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
            marker->setLineStyle(QCPGraph::lsNone);
            marker->setScatterStyle(
                QCPScatterStyle(QCPScatterStyle::ssSquare, style::truth(), style::truth(), 5));
            marker->addData(truths_[std::size_t(j)], truths_[std::size_t(i)]);
            marker->setName(tr("true parameters"));
            marker->setSelectable(QCP::stNone);
        }
    }
    // The legend shows one entry for all the crosshairs: a graph without data on the first panel.
    QCPAxisRect* first = panel(0, 0);
    truthLegendGraph_ = new QCPGraph(first->axis(QCPAxis::atBottom), first->axis(QCPAxis::atLeft));
    truthLegendGraph_->setPen(pen);
    truthLegendGraph_->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssSquare, style::truth(), style::truth(), 5));
    truthLegendGraph_->setName(tr("true parameters"));
    truthLegendGraph_->setSelectable(QCP::stNone);
}

void CornerPlot::buildPriorBounds() {
    const int d = parameterCount();
    if (!showPriorBounds_ || d == 0 || priorBounds_.size() != std::size_t(d))
        return;
    const QPen pen(style::guide(), 1.0, Qt::DashLine);
    for (int i = 0; i < d; ++i) {
        for (int j = 0; j <= i; ++j) {
            QCPAxisRect* rect = panel(i, j);
            for (double bound :
                 {priorBounds_[std::size_t(j)].first, priorBounds_[std::size_t(j)].second})
                if (std::isfinite(bound))
                    addLine(plot_, rect, true, bound, pen);
            if (i == j)
                continue;
            for (double bound :
                 {priorBounds_[std::size_t(i)].first, priorBounds_[std::size_t(i)].second})
                if (std::isfinite(bound))
                    addLine(plot_, rect, false, bound, pen);
        }
    }
}

void CornerPlot::buildLegend() {
    const int d = parameterCount();
    if (d == 0 || (overlays_.empty() && !truthLegendGraph_))
        return;
    // The upper-right cell is empty for d >= 2; with one parameter the legend sits on its panel.
    QCPAxisRect* host = panel(0, d - 1);
    legend_ = new QCPLegend;
    host->insetLayout()->addElement(legend_, Qt::AlignTop | Qt::AlignRight);
    legend_->setLayer(QStringLiteral("legend"));
    plot_->legend = legend_;  // so that removing a plottable also removes its legend entry
    legend_->setFont(style::tickFont(d <= 4 ? 9 : 8));
    legend_->setIconSize(20, 14);
    legend_->setBorderPen(QPen(QColor(0, 0, 0, 60)));
    legend_->setBrush(QColor(255, 255, 255, 235));
    legend_->setSelectableParts(QCPLegend::spNone);
    QCPAbstractPlottable* mainEntry =
        d >= 2 ? static_cast<QCPAbstractPlottable*>(contours_.front()) : marginals_.front();
    legend_->addItem(new QCPPlottableLegendItem(legend_, mainEntry));
    for (const OverlayParts& parts : overlayParts_) {
        QCPAbstractPlottable* entry =
            d >= 2 ? static_cast<QCPAbstractPlottable*>(parts.contours.front())
                   : parts.marginals.front();
        legend_->addItem(new QCPPlottableLegendItem(legend_, entry));
    }
    if (truthLegendGraph_)
        legend_->addItem(new QCPPlottableLegendItem(legend_, truthLegendGraph_));
    legend_->setVisible(true);
}

// ---- filling it with data ----

void CornerPlot::updateSamples(std::optional<CornerDensities> computed) {
    const int d = parameterCount();
    if (!samplesFit(samples_)) {
        densities_ = {};
        for (QCPGraph* graph : marginals_)
            graph->data()->clear();
        for (QCPColorMap* map : densityMaps_)
            map->data()->clear();
        for (ContourLines* lines : contours_)
            lines->clearContours();
        return;
    }
    const bool fits = computed && int(computed->marginals.size()) == d &&
                      computed->pairs.size() == densityMaps_.size();
    densities_ = fits ? std::move(*computed) : computeCornerDensities(samples_, ranges_, settings_);
    for (int j = 0; j < d; ++j) {
        const MarginalDensity& m = densities_.marginals[std::size_t(j)];
        setStepData(marginals_[std::size_t(j)], m.histogram, m.density);
    }
    for (std::size_t p = 0; p < densities_.pairs.size(); ++p) {
        setMapData(densityMaps_[p], densities_.pairs[p].density);
        contours_[p]->setContours(densities_.pairs[p].contours);
    }
}

void CornerPlot::updateOverlay(std::size_t index) {
    OverlayParts& parts = overlayParts_[index];
    const Matrix& samples = overlays_[index].samples;
    if (overlayDensities_.size() != overlays_.size())
        overlayDensities_.resize(overlays_.size());
    if (!samplesFit(samples)) {
        overlayDensities_[index] = {};
        return;
    }
    const CornerDensities& densities = overlayDensities_[index] =
        computeCornerDensities(samples, ranges_, settings_);
    for (std::size_t j = 0; j < densities.marginals.size(); ++j)
        setStepData(parts.marginals[j], densities.marginals[j].histogram,
                    densities.marginals[j].density);
    for (std::size_t p = 0; p < densities.pairs.size(); ++p)
        parts.contours[p]->setContours(densities.pairs[p].contours);
}

void CornerPlot::updateDiagonalRanges() {
    const int d = parameterCount();
    overlayDensities_.resize(overlays_.size());
    for (int j = 0; j < d; ++j) {
        double highest = 0.0;
        auto consider = [&](const CornerDensities& densities) {
            if (std::size_t(j) < densities.marginals.size())
                for (double v : densities.marginals[std::size_t(j)].density)
                    highest = std::max(highest, v);
        };
        consider(densities_);
        for (const CornerDensities& densities : overlayDensities_)
            consider(densities);
        panel(j, j)->axis(QCPAxis::atLeft)->setRange(0.0, highest > 0.0 ? 1.08 * highest : 1.0);
    }
}

}  // namespace sbiw::widgets
