#include "widgets/plot_export.h"

#include <QFileInfo>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QBuffer>
#include <QPainter>
#include <QAction>
#include <QFileDialog>
#include <QMessageBox>
#include <qcustomplot.h>

namespace sbiw::widgets {

QString plotFileFilter() { return QStringLiteral("PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)"); }

namespace {

// SVG through QSvgGenerator into memory, then an atomic write: QCustomPlot has no SVG export.
bool saveSvg(QCustomPlot& plot, const QString& path) {
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QSvgGenerator generator;
    generator.setOutputDevice(&buffer);
    generator.setSize(plot.size());
    generator.setViewBox(QRect(QPoint(0, 0), plot.size()));
    generator.setTitle(plot.windowTitle());
    QCPPainter painter;
    if (!painter.begin(&generator)) return false;
    plot.toPainter(&painter, plot.width(), plot.height());
    painter.end();
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return false;
    file.write(buffer.data());
    return file.commit();
}

}  // namespace

QString savePlot(QCustomPlot& plot, const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool written = false;
    if (suffix == "png")
        written = plot.savePng(path, plot.width(), plot.height());
    else if (suffix == "pdf")
        written = plot.savePdf(path, plot.width(), plot.height());
    else if (suffix == "svg")
        written = saveSvg(plot, path);
    else
        return QStringLiteral("'%1': unknown picture type '.%2' (use .png, .pdf or .svg)").arg(path, suffix);
    if (!written) return QStringLiteral("could not write '%1' (is the folder writable and the disk not full?)").arg(path);
    return {};
}

void addSavePlotAction(QWidget* owner, QCustomPlot* plot) {
    auto* action = new QAction(QObject::tr("Save plot as…"), owner);
    action->setObjectName(QStringLiteral("savePlotAction"));
    QObject::connect(action, &QAction::triggered, owner, [owner, plot] {
        QString selectedFilter;
        const QString path = QFileDialog::getSaveFileName(owner, QObject::tr("Save plot"), QString(),
                                                          plotFileFilter(), &selectedFilter);
        if (path.isEmpty())
            return;
        const QString problem = savePlot(*plot, path);
        if (!problem.isEmpty())
            QMessageBox::warning(owner, QObject::tr("Save plot"), problem);
    });
    owner->addAction(action);
    owner->setContextMenuPolicy(Qt::ActionsContextMenu);
}

}  // namespace sbiw::widgets
