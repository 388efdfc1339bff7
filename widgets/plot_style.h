#pragma once
// One look for every plot in the workbench, chosen for papers: white background, thin dark axes,
// no grid clutter, colour-blind-safe colours (Okabe & Ito) and fonts that stay readable when a
// figure is shrunk to a column.

#include <QColor>
#include <QFont>
#include <QString>

class QCPAxis;
class QCPAxisRect;
class QCustomPlot;
class QCPTextElement;

namespace sbiw::widgets::style {

// The main posterior (or the main series of a plot) and its darker outline.
QColor primary();
QColor primaryDark();
// Series after the first: orange, bluish green, reddish purple, sky blue, vermillion, yellow.
QColor seriesColor(int index);
// True parameters and observations: stand out against every series colour.
QColor truth();
// Reference guides (diagonals, expected values, prior bounds): dark grey.
QColor guide();
// Calibration bands: light grey fill.
QColor bandFill();
// Flags: an item outside its band, an invalid input.
QColor warning();

QFont tickFont(int pointSize = 8);
QFont labelFont(int pointSize = 9);
QFont titleFont(int pointSize = 10);

// Thin dark-grey axes, outward ticks, tick labels in tickFont, light dotted grid off by default.
void styleAxis(QCPAxis* axis, bool showGrid = false);
// styleAxis on all four axes of the rect; top and right axes shown as a frame without labels.
void styleAxisRect(QCPAxisRect* rect, bool showGrid = false);
// A QCustomPlot with white background and antialiasing set up for the styles above.
void stylePlot(QCustomPlot* plot);

// Moves the plot's legend out of the axis rect into a row of its own just above it, entries
// side by side (wrapping after `columns`), so that it never hides data.
void placeLegendAbovePlot(QCustomPlot* plot, int columns = 4);

// Replaces the plot's title element (row 0 of the plot layout) or inserts one; an empty text
// removes it so no space is wasted.
void setPlotTitle(QCustomPlot* plot, QCPTextElement*& title, const QString& text);

// `text` as drawn in `width` pixels with `font`: unchanged when it fits, else broken into two
// lines after its first ": " (or ", "), as the verdict after a heading. QCPTextElement neither
// wraps nor elides: a line wider than its cell is cut off at both ends.
QString fitToWidth(const QString& text, const QFont& font, int width);

}  // namespace sbiw::widgets::style
