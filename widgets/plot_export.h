#pragma once
// Saving a plot as a picture for papers and slides: PNG, PDF or SVG, chosen by the file suffix.

#include <QString>

class QCustomPlot;
class QWidget;

namespace sbiw::widgets {

// The suffixes savePlot understands, for file dialogs: "PNG image (*.png);;PDF (*.pdf);;SVG (*.svg)".
QString plotFileFilter();

// Writes `plot` at its current size to `path` (.png, .pdf or .svg). Returns an empty string on
// success, otherwise what went wrong in words (unknown suffix, file not writable).
QString savePlot(QCustomPlot& plot, const QString& path);

// Adds "Save plot as…" to `owner`'s context menu (right click): a file dialog, then savePlot;
// problems are shown in a message box. The plot widgets call it on themselves.
void addSavePlotAction(QWidget* owner, QCustomPlot* plot);

}  // namespace sbiw::widgets
