#include "widgets/plot_widget.h"

#include <qcustomplot.h>
#include <QVBoxLayout>

#include "widgets/plot_export.h"
#include "widgets/plot_style.h"

namespace sbiw::widgets {

PlotWidget::PlotWidget(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);
    style::stylePlot(plot_);
    plot_->setAutoAddPlottableToLegend(false);
    addSavePlotAction(this, plot_);
}

PlotWidget::~PlotWidget() = default;

void PlotWidget::setTitle(const QString& title) {
    titleText_ = title;
    style::setPlotTitle(plot_, title_, titleText_);
    fitTextToWidth();
    requestReplot();
}

void PlotWidget::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    fitTextToWidth();
}

void PlotWidget::fitTextToWidth() {
    if (!title_)
        return;
    const QString shown = style::fitToWidth(titleText_, title_->font(), width() - 16);
    if (shown != title_->text()) {
        title_->setText(shown);
        requestReplot();
    }
}

QString PlotWidget::save(const QString& path) {
    plot_->replot(QCustomPlot::rpImmediateRefresh);
    return savePlot(*plot_, path);
}

void PlotWidget::requestReplot() {
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace sbiw::widgets
