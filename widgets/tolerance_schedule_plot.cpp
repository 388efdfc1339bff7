#include "widgets/tolerance_schedule_plot.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

#include "widgets/plot_style.h"

namespace sbiw::widgets {

ToleranceSchedulePlot::ToleranceSchedulePlot(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* p = plot();
    style::styleAxisRect(p->axisRect(), true);
    p->xAxis->setLabel(tr("population"));
    p->yAxis->setLabel(tr("tolerance ε"));
    p->yAxis->setScaleType(QCPAxis::stLogarithmic);
    p->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    // The right axis carries the acceptance rates here, not a mirror of the left one.
    QObject::disconnect(p->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), p->yAxis2,
                        qOverload<const QCPRange&>(&QCPAxis::setRange));
    p->yAxis2->setTicks(true);
    p->yAxis2->setTickLabels(true);
    p->yAxis2->setLabel(tr("acceptance rate"));
    p->yAxis2->setRange(0.0, 1.05);
    p->xAxis->ticker()->setTickCount(6);

    epsilon_ = p->addGraph(p->xAxis, p->yAxis);
    epsilon_->setName(tr("tolerance ε"));
    epsilon_->setPen(QPen(style::primary(), 1.6));
    epsilon_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
    acceptance_ = p->addGraph(p->xAxis, p->yAxis2);
    acceptance_->setName(tr("acceptance rate"));
    acceptance_->setPen(QPen(style::seriesColor(0), 1.2, Qt::DashLine));
    for (QCPGraph* graph : {epsilon_, acceptance_}) {
        graph->setSelectable(QCP::stNone);
        graph->addToLegend();
    }
    p->legend->setVisible(true);
    p->legend->setFont(style::tickFont(8));
    p->legend->setBorderPen(QPen(QColor(0, 0, 0, 60)));
    p->legend->setBrush(QColor(255, 255, 255, 230));
    p->legend->setIconSize(20, 14);
    style::placeLegendAbovePlot(p, 2);
    clear();
}

void ToleranceSchedulePlot::appendPopulation(int population, double epsilon,
                                             double acceptanceRate) {
    if (std::isfinite(epsilon) && epsilon > 0.0) {
        epsilons_.push_back(epsilon);
        epsilon_->addData(population, epsilon);
        const auto [low, high] = std::minmax_element(epsilons_.begin(), epsilons_.end());
        plot()->yAxis->setRange(*low / 1.5, *high * 1.5);
    }
    if (std::isfinite(acceptanceRate))
        acceptance_->addData(population, std::clamp(acceptanceRate, 0.0, 1.0));
    plot()->xAxis->setRange(0.5, std::max(population, 2) + 0.5);
    requestReplot();
}

void ToleranceSchedulePlot::clear() {
    epsilons_.clear();
    epsilon_->data()->clear();
    acceptance_->data()->clear();
    plot()->xAxis->setRange(0.5, 5.5);
    plot()->yAxis->setRange(0.1, 10.0);
    requestReplot();
}

}  // namespace sbiw::widgets
