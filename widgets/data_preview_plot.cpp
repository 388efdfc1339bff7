#include "widgets/data_preview_plot.h"

#include <cmath>
#include <limits>

#include <qcustomplot.h>

#include "widgets/plot_data.h"
#include "widgets/plot_style.h"

namespace sbiw::widgets {

DataPreviewPlot::DataPreviewPlot(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* p = plot();
    style::styleAxisRect(p->axisRect(), true);
    p->legend->setFont(style::tickFont(8));
    p->legend->setBorderPen(QPen(QColor(0, 0, 0, 60)));
    p->legend->setBrush(QColor(255, 255, 255, 230));
    p->legend->setIconSize(20, 14);
    style::placeLegendAbovePlot(p, 2);
    redraw();
}

void DataPreviewPlot::setData(const std::vector<double>& x, const QString& label) {
    data_ = x;
    label_ = label;
    redraw();
}

void DataPreviewPlot::setObservation(const std::vector<double>& observation) {
    observationValues_ = observation;
    redraw();
}

void DataPreviewPlot::setDataNames(const QStringList& names) {
    names_ = names;
    redraw();
}

void DataPreviewPlot::clear() {
    data_.clear();
    observationValues_.clear();
    redraw();
}

void DataPreviewPlot::redraw() {
    QCustomPlot* p = plot();
    p->clearPlottables();
    line_ = nullptr;
    bars_ = nullptr;
    observation_ = nullptr;
    const std::size_t n = std::max(data_.size(), observationValues_.size());
    asSeries_ = drawAsSeries(n);
    // Long vectors are indexed from 0 like arrays, short ones numbered from 1 like dimensions.
    auto keys = [&](std::size_t count) {
        QVector<double> k(qsizetype(count), 0.0);
        for (std::size_t i = 0; i < count; ++i)
            k[qsizetype(i)] = asSeries_ ? double(i) : double(i + 1);
        return k;
    };
    auto values = [](const std::vector<double>& v) {
        QVector<double> out;
        out.reserve(qsizetype(v.size()));
        for (double value : v)  // non-finite values as gaps
            out << (std::isfinite(value) ? value : std::numeric_limits<double>::quiet_NaN());
        return out;
    };
    const QString dataLabel = label_.isEmpty() ? tr("simulated x") : label_;
    if (!data_.empty()) {
        if (asSeries_) {
            line_ = p->addGraph();
            line_->setPen(QPen(style::primary(), 1.3));
            line_->setData(keys(data_.size()), values(data_), true);
            line_->setName(dataLabel);
            line_->addToLegend();
        } else {
            bars_ = new QCPBars(p->xAxis, p->yAxis);
            QColor fill = style::primary();
            fill.setAlpha(150);
            bars_->setBrush(fill);
            bars_->setPen(QPen(style::primaryDark(), 0.8));
            bars_->setWidth(0.7);
            bars_->setData(keys(data_.size()), values(data_), true);
            bars_->setName(dataLabel);
            bars_->addToLegend();
        }
    }
    if (!observationValues_.empty()) {
        observation_ = p->addGraph();
        if (asSeries_) {
            observation_->setPen(QPen(style::truth(), 1.3));
        } else {
            observation_->setLineStyle(QCPGraph::lsNone);
            observation_->setScatterStyle(QCPScatterStyle(
                QCPScatterStyle::ssDiamond, QPen(style::truth(), 1.5), style::truth(), 8));
        }
        observation_->setData(keys(observationValues_.size()), values(observationValues_), true);
        observation_->setName(tr("observed x"));
        observation_->addToLegend();
    }
    for (int i = 0; i < p->plottableCount(); ++i)
        p->plottable(i)->setSelectable(QCP::stNone);
    p->legend->setVisible(p->plottableCount() > 0);

    if (asSeries_ || n == 0) {
        p->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        p->xAxis->setLabel(n == 0 ? QString() : tr("index"));
        p->xAxis->setRange(0.0, n > 1 ? double(n - 1) : 1.0);
    } else {
        auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
        for (std::size_t i = 0; i < n; ++i)
            ticker->addTick(double(i + 1),
                            int(i) < names_.size() ? names_[int(i)] : QString::number(i + 1));
        p->xAxis->setTicker(ticker);
        p->xAxis->setLabel(names_.isEmpty() ? tr("data dimension") : QString());
        p->xAxis->setRange(0.4, double(n) + 0.6);
    }
    std::vector<double> all = data_;
    all.insert(all.end(), observationValues_.begin(), observationValues_.end());
    if (!asSeries_)
        all.push_back(0.0);  // bars grow from zero
    const auto [low, high] = paddedRange(finiteRange(all), 0.06);
    p->yAxis->setRange(low, high);
    p->yAxis->setLabel(tr("x"));
    requestReplot();
}

}  // namespace sbiw::widgets
