#include "widgets/prior_density_plot.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

#include "widgets/plot_style.h"

namespace sbiw::widgets {

PriorDensityPlot::PriorDensityPlot(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* p = plot();
    style::styleAxisRect(p->axisRect());
    p->yAxis->setTicks(false);  // the shape matters here, not the density's scale
    p->yAxis->setTickLabels(false);
    p->xAxis->ticker()->setTickCount(4);
    p->axisRect()->setMinimumMargins(QMargins(4, 4, 4, 4));
    density_ = p->addGraph();
    density_->setPen(QPen(style::primaryDark(), 1.5));
    QColor fill = style::primary();
    fill.setAlpha(60);
    density_->setBrush(fill);
    density_->setSelectable(QCP::stNone);
    message_ = new QCPItemText(p);
    message_->position->setType(QCPItemPosition::ptAxisRectRatio);
    message_->position->setCoords(0.5, 0.5);
    message_->setPositionAlignment(Qt::AlignCenter);
    message_->setTextAlignment(Qt::AlignCenter);
    message_->setColor(style::guide());
    message_->setFont(style::tickFont(8));
    message_->setClipToAxisRect(true);
    clear();
}

QString PriorDensityPlot::message() const {
    return QString::fromStdString(curve_.message);
}

void PriorDensityPlot::clear() {
    curve_ = {};
    showMessage(tr("no prior"));
}

void PriorDensityPlot::showMessage(const QString& text) {
    QCustomPlot* p = plot();
    density_->data()->clear();
    // Wrap long problems at word boundaries so they stay inside a small plot.
    QString wrapped;
    int lineLength = 0;
    for (const QString& word : text.split(' ', Qt::SkipEmptyParts)) {
        if (lineLength > 0 && lineLength + word.size() > 34) {
            wrapped += '\n';
            lineLength = 0;
        } else if (lineLength > 0) {
            wrapped += ' ';
            ++lineLength;
        }
        wrapped += word;
        lineLength += int(word.size());
    }
    message_->setText(wrapped);
    message_->setVisible(true);
    p->axisRect()->setBackground(QColor(0xf0, 0xf0, 0xf0));
    p->xAxis->setTickLabels(false);
    p->xAxis->setRange(0.0, 1.0);
    p->yAxis->setRange(0.0, 1.0);
    requestReplot();
}

void PriorDensityPlot::setPrior(const PriorSpec& spec, int component, const QString& name) {
    curve_ = priorDensityCurve(spec, component);
    QCustomPlot* p = plot();
    p->xAxis->setLabel(name);
    if (!curve_.valid) {
        showMessage(tr("invalid prior: %1").arg(message()));
        return;
    }
    message_->setVisible(false);
    p->axisRect()->setBackground(Qt::NoBrush);
    p->xAxis->setTickLabels(true);
    density_->setData(QVector<double>(curve_.x.begin(), curve_.x.end()),
                      QVector<double>(curve_.density.begin(), curve_.density.end()), true);
    // Densities that diverge at an edge (gamma with k < 1, beta with a < 1) would flatten the
    // rest: the axis stops at twice the 95th percentile of the finite values.
    std::vector<double> finite;
    for (double v : curve_.density)
        if (std::isfinite(v))
            finite.push_back(v);
    std::sort(finite.begin(), finite.end());
    double top = finite.empty() ? 1.0 : finite.back();
    if (!finite.empty())
        top = std::min(top, 2.0 * finite[std::size_t(0.95 * double(finite.size() - 1))]);
    p->xAxis->setRange(curve_.x.front(), curve_.x.back());
    p->yAxis->setRange(0.0, top > 0.0 ? 1.1 * top : 1.0);
    requestReplot();
}

}  // namespace sbiw::widgets
