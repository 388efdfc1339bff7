#include "widgets/loss_curve_plot.h"

#include <cmath>
#include <limits>

#include <qcustomplot.h>

#include "widgets/plot_style.h"

namespace sbiw::widgets {

namespace {

// Non-finite losses become NaN: QCustomPlot leaves a gap there, and infinities would break the
// axis range.
double forDrawing(double value) {
    return std::isfinite(value) ? value : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

LossCurvePlot::LossCurvePlot(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* p = plot();
    QCPAxisRect* rect = p->axisRect();
    style::styleAxisRect(rect, true);
    p->xAxis->setLabel(tr("epoch"));
    p->yAxis->setLabel(tr("loss"));
    p->xAxis->ticker()->setTickCount(6);

    train_ = p->addGraph();
    train_->setName(tr("training"));
    train_->setPen(QPen(style::primary(), 1.6));
    validation_ = p->addGraph();
    validation_->setName(tr("validation"));
    validation_->setPen(QPen(style::seriesColor(0), 1.6));
    best_ = p->addGraph();
    best_->setLineStyle(QCPGraph::lsNone);
    best_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle,
                                           QPen(style::primaryDark(), 1.6), Qt::NoBrush, 10));
    best_->setName(tr("best epoch"));
    for (QCPGraph* graph : {train_, validation_, best_}) {
        graph->setSelectable(QCP::stNone);
        graph->addToLegend();
    }
    best_->removeFromLegend();  // shown once there is a best epoch

    p->legend->setVisible(true);
    p->legend->setFont(style::tickFont(8));
    p->legend->setBorderPen(QPen(QColor(0, 0, 0, 60)));
    p->legend->setBrush(QColor(255, 255, 255, 230));
    p->legend->setIconSize(20, 14);
    style::placeLegendAbovePlot(p, 3);  // inside, it would hide the spike a new round starts with

    nonFiniteNote_ = new QCPItemText(p);
    nonFiniteNote_->setClipToAxisRect(false);
    nonFiniteNote_->position->setType(QCPItemPosition::ptAxisRectRatio);
    nonFiniteNote_->position->setCoords(0.5, 0.01);
    nonFiniteNote_->setPositionAlignment(Qt::AlignHCenter | Qt::AlignTop);
    nonFiniteNote_->setColor(style::warning());
    nonFiniteNote_->setFont(style::tickFont(8));
    nonFiniteNote_->setVisible(false);
    updateDecorations();
}

void LossCurvePlot::addToGraphs(const LossPoint& point) {
    train_->addData(point.epoch, forDrawing(point.train));
    validation_->addData(point.epoch, forDrawing(point.validation));
    for (double value : {point.train, point.validation}) {
        if (std::isfinite(value))
            finiteValues_.push_back(value);
        else
            ++nonFinite_;
    }
}

void LossCurvePlot::appendEpoch(int epoch, double train, double validation, bool improved) {
    const LossPoint point{epoch, train, validation, improved};
    history_.push_back(point);
    addToGraphs(point);
    updateDecorations();
}

void LossCurvePlot::setHistory(const std::vector<LossPoint>& history,
                               const std::vector<std::pair<int, int>>& roundStarts) {
    clear();
    history_ = history;
    for (const LossPoint& point : history_)
        addToGraphs(point);
    for (const auto& [epoch, round] : roundStarts)
        markRound(epoch, round);
    updateDecorations();
}

void LossCurvePlot::markRound(int epoch, int round) {
    QCustomPlot* p = plot();
    auto* line = new QCPItemStraightLine(p);
    line->point1->setCoords(epoch - 0.5, 0.0);
    line->point2->setCoords(epoch - 0.5, 1.0);
    line->setPen(QPen(style::guide(), 1.0, Qt::DashLine));
    line->setSelectable(false);
    auto* label = new QCPItemText(p);
    label->position->setTypeX(QCPItemPosition::ptPlotCoords);
    label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    // At the bottom: a new round starts with a high loss, so the space below is free there.
    label->position->setCoords(epoch - 0.5, 1.0);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    label->setPadding(QMargins(3, 0, 0, 2));
    label->setText(tr("round %1").arg(round));
    label->setFont(style::tickFont(8));
    label->setColor(style::guide());
    label->setSelectable(false);
    roundMarks_.emplace_back(line, label);
    updateDecorations();
}

void LossCurvePlot::clear() {
    history_.clear();
    finiteValues_.clear();
    nonFinite_ = 0;
    train_->data()->clear();
    validation_->data()->clear();
    for (auto& [line, label] : roundMarks_) {
        plot()->removeItem(line);
        plot()->removeItem(label);
    }
    roundMarks_.clear();
    updateDecorations();
}

int LossCurvePlot::bestEpoch() const {
    const int index = bestLossIndex(history_);
    return index < 0 ? -1 : history_[std::size_t(index)].epoch;
}

void LossCurvePlot::updateDecorations() {
    QCustomPlot* p = plot();
    best_->data()->clear();
    const int bestIndex = bestLossIndex(history_);
    if (bestIndex >= 0) {
        const LossPoint& best = history_[std::size_t(bestIndex)];
        best_->addData(best.epoch, best.validation);
        best_->setName(tr("best: epoch %1 (%2)").arg(best.epoch).arg(best.validation, 0, 'g', 4));
        if (!p->legend->hasItemWithPlottable(best_))
            best_->addToLegend();
    } else {
        best_->removeFromLegend();
    }

    nonFiniteNote_->setVisible(nonFinite_ > 0);
    nonFiniteNote_->setText(tr("%n non-finite loss value(s) not drawn", nullptr, nonFinite_));

    if (history_.empty()) {
        p->xAxis->setRange(0.0, 10.0);
        p->yAxis->setRange(0.0, 1.0);
    } else {
        double first = history_.front().epoch, last = history_.front().epoch;
        for (const LossPoint& point : history_) {
            first = std::min(first, double(point.epoch));
            last = std::max(last, double(point.epoch));
        }
        for (const auto& mark : roundMarks_) {
            const double x = static_cast<QCPItemStraightLine*>(mark.first)->point1->coords().x();
            first = std::min(first, x);
            last = std::max(last, x);
        }
        p->xAxis->setRange(first - 0.5, std::max(last + 0.5, first + 1.5));
        const auto [low, high] = paddedRange(finiteRange(finiteValues_), 0.06);
        p->yAxis->setRange(low, high);
    }
    requestReplot();
}

}  // namespace sbiw::widgets
