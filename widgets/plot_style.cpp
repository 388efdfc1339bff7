#include "widgets/plot_style.h"

#include <QFontMetrics>

#include <array>

#include <qcustomplot.h>

namespace sbiw::widgets::style {

QColor primary() {
    return QColor(0x2b, 0x5c, 0x9e);
}
QColor primaryDark() {
    return QColor(0x17, 0x33, 0x5c);
}

QColor seriesColor(int index) {
    // Okabe & Ito's palette without black and without the blue taken by primary().
    static const std::array<QColor, 6> colors{QColor(0xe6, 0x9f, 0x00), QColor(0x00, 0x9e, 0x73),
                                              QColor(0xcc, 0x79, 0xa7), QColor(0x56, 0xb4, 0xe9),
                                              QColor(0xd5, 0x5e, 0x00), QColor(0xf0, 0xe4, 0x42)};
    const int count = static_cast<int>(colors.size());
    return colors[std::size_t(((index % count) + count) % count)];
}

QColor truth() {
    return QColor(0xc0, 0x1c, 0x28);
}
QColor guide() {
    return QColor(0x55, 0x55, 0x55);
}
QColor bandFill() {
    return QColor(0, 0, 0, 28);
}
QColor warning() {
    return QColor(0xc0, 0x1c, 0x28);
}

QFont tickFont(int pointSize) {
    QFont font;
    font.setPointSize(pointSize);
    return font;
}

QFont labelFont(int pointSize) {
    QFont font;
    font.setPointSize(pointSize);
    return font;
}

QFont titleFont(int pointSize) {
    QFont font;
    font.setPointSize(pointSize);
    font.setBold(true);
    return font;
}

void styleAxis(QCPAxis* axis, bool showGrid) {
    const QPen axisPen(QColor(0x33, 0x33, 0x33), 1.0);
    axis->setBasePen(axisPen);
    axis->setTickPen(axisPen);
    axis->setSubTickPen(axisPen);
    axis->setTickLengthIn(0);
    axis->setTickLengthOut(4);
    axis->setSubTickLengthIn(0);
    axis->setSubTickLengthOut(2);
    axis->setSubTicks(false);  // fewer marks: the labelled ticks are enough in small panels
    axis->setTickLabelFont(tickFont());
    axis->setLabelFont(labelFont());
    axis->setTickLabelColor(QColor(0x22, 0x22, 0x22));
    axis->setLabelColor(QColor(0x22, 0x22, 0x22));
    axis->setLabelPadding(3);
    axis->setTickLabelPadding(3);
    axis->grid()->setVisible(showGrid);
    axis->grid()->setPen(QPen(QColor(0, 0, 0, 30), 0.8, Qt::DotLine));
    axis->grid()->setZeroLinePen(Qt::NoPen);
}

void styleAxisRect(QCPAxisRect* rect, bool showGrid) {
    for (QCPAxis* axis : rect->axes())
        styleAxis(axis, showGrid);
    // Top and right axes close the frame; they carry neither ticks nor labels.
    for (QCPAxis* axis : {rect->axis(QCPAxis::atTop), rect->axis(QCPAxis::atRight)}) {
        axis->setVisible(true);
        axis->setTicks(false);
        axis->setTickLabels(false);
        axis->grid()->setVisible(false);
    }
    QObject::connect(rect->axis(QCPAxis::atBottom),
                     qOverload<const QCPRange&>(&QCPAxis::rangeChanged), rect->axis(QCPAxis::atTop),
                     qOverload<const QCPRange&>(&QCPAxis::setRange));
    QObject::connect(rect->axis(QCPAxis::atLeft),
                     qOverload<const QCPRange&>(&QCPAxis::rangeChanged),
                     rect->axis(QCPAxis::atRight), qOverload<const QCPRange&>(&QCPAxis::setRange));
}

void stylePlot(QCustomPlot* plot) {
    plot->setBackground(Qt::white);
    plot->setAntialiasedElements(QCP::aeAll);
    plot->setNotAntialiasedElements(QCP::aeAxes | QCP::aeGrid);  // crisp one-pixel axes
    plot->setNoAntialiasingOnDrag(true);
}

void placeLegendAbovePlot(QCustomPlot* plot, int columns) {
    QCPLegend* legend = plot->legend;
    QCPAxisRect* rect = plot->axisRect();
    if (!legend || !rect)
        return;
    QCPLayoutGrid* layout = plot->plotLayout();
    int rectRow = 0;
    for (int row = 0; row < layout->rowCount(); ++row)
        if (layout->element(row, 0) == rect)
            rectRow = row;
    rect->insetLayout()->take(legend);
    rect->insetLayout()->simplify();
    // Centred between two stretching spacers: a legend filling the whole row would spread its
    // entries over the full width.
    auto* row = new QCPLayoutGrid;
    layout->insertRow(rectRow);
    layout->addElement(rectRow, 0, row);
    layout->setRowStretchFactor(rectRow, 0.001);
    row->addElement(0, 0, new QCPLayoutElement(plot));
    row->addElement(0, 1, legend);
    row->addElement(0, 2, new QCPLayoutElement(plot));
    row->setColumnStretchFactor(1, 0.001);
    row->setMargins(QMargins(0, 0, 0, 0));
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    legend->setWrap(columns);
    legend->setBorderPen(Qt::NoPen);
    legend->setBrush(Qt::NoBrush);
    legend->setMargins(QMargins(0, 2, 0, 4));
    legend->setColumnSpacing(12);
    legend->setLayer(QStringLiteral("legend"));
}

void setPlotTitle(QCustomPlot* plot, QCPTextElement*& title, const QString& text) {
    if (text.isEmpty()) {
        if (title) {
            plot->plotLayout()->remove(title);  // deletes it
            plot->plotLayout()->simplify();
            title = nullptr;
        }
        return;
    }
    if (!title) {
        plot->plotLayout()->insertRow(0);
        title = new QCPTextElement(plot, text, titleFont());
        plot->plotLayout()->addElement(0, 0, title);
    }
    title->setText(text);
    title->setFont(titleFont());
    title->setTextColor(QColor(0x22, 0x22, 0x22));
}

QString fitToWidth(const QString& text, const QFont& font, int width) {
    if (QFontMetrics(font).horizontalAdvance(text) <= width)
        return text;
    for (const QString separator : {QStringLiteral(": "), QStringLiteral(", ")}) {
        const int at = text.indexOf(separator);
        if (at > 0)
            return text.left(at + 1) + QLatin1Char('\n') + text.mid(at + separator.size());
    }
    return text;
}

}  // namespace sbiw::widgets::style
