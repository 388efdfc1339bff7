#include "widgets/predictive_plot.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

#include "widgets/plot_data.h"
#include "widgets/plot_style.h"

namespace sbiw::widgets {

namespace {

void styleLegend(QCPLegend* legend) {
    legend->setVisible(true);
    legend->setFont(style::tickFont(8));
    legend->setBorderPen(QPen(QColor(0, 0, 0, 60)));
    legend->setBrush(QColor(255, 255, 255, 230));
    legend->setIconSize(20, 14);
}

}  // namespace

PredictivePlot::PredictivePlot(QWidget* parent) : PlotWidget(parent) {
    style::styleAxisRect(plot()->axisRect(), true);
    styleLegend(plot()->legend);
    style::placeLegendAbovePlot(plot(), 4);
    clear();
}

void PredictivePlot::clear() {
    QCustomPlot* p = plot();
    p->clearPlottables();
    observed_ = median_ = band50High_ = band90High_ = nullptr;
    bars50_ = bars90_ = nullptr;
    p->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    p->xAxis->setLabel(QString());
    p->yAxis->setLabel(QString());
    setTitle(QString());
}

void PredictivePlot::setResult(const PredictiveCheckResult& result, const QStringList& dataNames) {
    clear();
    QCustomPlot* p = plot();
    const int n = static_cast<int>(result.dimensions.size());
    if (n == 0)
        return;
    asSeries_ = drawAsSeries(std::size_t(n));

    // Rows: 5%, 25%, 50%, 75%, 95%.
    Matrix q;
    if (result.predictions.rows() >= 2 && result.predictions.cols() == n) {
        q = columnQuantiles(result.predictions, {0.05, 0.25, 0.5, 0.75, 0.95});
    } else {  // only the result's own interval: show it as both bands
        q.resize(5, n);
        for (int j = 0; j < n; ++j) {
            const PredictiveDimension& dim = result.dimensions[std::size_t(j)];
            q.col(j) << dim.low, dim.low, dim.median, dim.high, dim.high;
        }
    }
    QVector<double> x(n), observed(n), q05(n), q25(n), q50(n), q75(n), q95(n);
    for (int j = 0; j < n; ++j) {
        x[j] = asSeries_ ? j : j + 1;
        observed[j] = result.dimensions[std::size_t(j)].observed;
        q05[j] = q(0, j);
        q25[j] = q(1, j);
        q50[j] = q(2, j);
        q75[j] = q(3, j);
        q95[j] = q(4, j);
    }

    QColor band90 = style::primary(), band50 = style::primary();
    band90.setAlpha(45);
    band50.setAlpha(100);
    if (asSeries_) {
        auto addBand = [&](const QVector<double>& low, const QVector<double>& high,
                           const QColor& fill, const QString& name) {
            QCPGraph* lower = p->addGraph();
            QCPGraph* upper = p->addGraph();
            lower->setPen(Qt::NoPen);
            upper->setPen(Qt::NoPen);
            upper->setBrush(fill);
            upper->setChannelFillGraph(lower);
            lower->setData(x, low, true);
            upper->setData(x, high, true);
            upper->setName(name);
            upper->addToLegend();
            return upper;
        };
        band90High_ = addBand(q05, q95, band90, tr("90% predictive interval"));
        band50High_ = addBand(q25, q75, band50, tr("50% predictive interval"));
        median_ = p->addGraph();
        median_->setPen(QPen(style::primaryDark(), 1.3));
        median_->setData(x, q50, true);
        observed_ = p->addGraph();
        observed_->setPen(QPen(style::truth(), 1.4));
        observed_->setData(x, observed, true);
        p->xAxis->setLabel(tr("index"));
        p->xAxis->setRange(0, n - 1);
    } else {
        median_ = p->addGraph();
        median_->setLineStyle(QCPGraph::lsNone);
        median_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, style::primaryDark(),
                                                 style::primaryDark(), 5));
        median_->setData(x, q50, true);
        auto addBars = [&](const QVector<double>& low, const QVector<double>& high, double width,
                           const QColor& color, const QString& name) {
            auto* bars = new QCPErrorBars(p->xAxis, p->yAxis);
            bars->setDataPlottable(median_);
            QVector<double> below(n), above(n);
            for (int j = 0; j < n; ++j) {
                below[j] = q50[j] - low[j];
                above[j] = high[j] - q50[j];
            }
            bars->setData(below, above);
            bars->setPen(QPen(color, width, Qt::SolidLine, Qt::FlatCap));
            bars->setWhiskerWidth(0);
            bars->setName(name);
            bars->addToLegend();
            return bars;
        };
        QColor light = style::primary();
        light.setAlpha(120);
        bars90_ = addBars(q05, q95, 2.0, light, tr("90% predictive interval"));
        bars50_ = addBars(q25, q75, 6.0, style::primary(), tr("50% predictive interval"));
        observed_ = p->addGraph();
        observed_->setLineStyle(QCPGraph::lsNone);
        observed_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond,
                                                   QPen(style::truth(), 1.5), style::truth(), 8));
        observed_->setData(x, observed, true);
        // Names (or numbers) under each dimension.
        auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
        for (int j = 0; j < n; ++j)
            ticker->addTick(j + 1, j < dataNames.size() ? dataNames[j] : QString::number(j + 1));
        p->xAxis->setTicker(ticker);
        p->xAxis->setLabel(dataNames.isEmpty() ? tr("data dimension") : QString());
        p->xAxis->setRange(0.4, n + 0.6);
    }
    median_->setName(tr("predictive median"));
    observed_->setName(tr("observed x"));
    observed_->addToLegend();
    median_->addToLegend();
    for (int i = 0; i < p->plottableCount(); ++i)
        p->plottable(i)->setSelectable(QCP::stNone);
    // Legend order: observed, median, bands.
    p->legend->clearItems();
    for (QCPAbstractPlottable* entry : std::initializer_list<QCPAbstractPlottable*>{
             observed_, median_,
             asSeries_ ? static_cast<QCPAbstractPlottable*>(band50High_) : bars50_,
             asSeries_ ? static_cast<QCPAbstractPlottable*>(band90High_) : bars90_})
        entry->addToLegend();

    std::vector<double> all(observed.begin(), observed.end());
    all.insert(all.end(), q05.begin(), q05.end());
    all.insert(all.end(), q95.begin(), q95.end());
    const auto [low, high] = paddedRange(finiteRange(all), 0.08);
    p->yAxis->setRange(low, high);
    p->yAxis->setLabel(tr("x"));
    setTitle(tr("Posterior predictive: observation %1 (distance p = %2)")
                 .arg(QString::fromUtf8(verdictName(result.verdict)))
                 .arg(result.distancePValue, 0, 'g', 2));
    requestReplot();
}

}  // namespace sbiw::widgets
