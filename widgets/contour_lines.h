#pragma once
// A QCustomPlot plottable drawing contour polylines, several credible levels in one plottable.
// QCPCurve would need one plottable per polyline (their number changes with every update) or NaN
// separators that its clipping code does not promise to honour; this one keeps the plottable
// count fixed while the polylines change.

#include <vector>

#include <qcustomplot.h>
#include <QPen>
#include <QPolygonF>

#include "diagnostics/density2d.h"

namespace sbiw::widgets {

class ContourLines : public QCPAbstractPlottable {
    Q_OBJECT

  public:
    ContourLines(QCPAxis* keyAxis, QCPAxis* valueAxis);

    // Polylines per level (outer index) in plot coordinates, as computeCornerDensities gives them.
    void setContours(const std::vector<std::vector<Polyline>>& contoursPerLevel);
    void clearContours();
    // Pen of each level; levels beyond the list use the last pen (or pen() when it is empty).
    void setLevelPens(const std::vector<QPen>& pens);

    int levelCount() const { return static_cast<int>(levels_.size()); }
    int polylineCount() const;

    double selectTest(const QPointF& pos, bool onlySelectable,
                      QVariant* details = nullptr) const override;
    QCPRange getKeyRange(bool& foundRange,
                         QCP::SignDomain inSignDomain = QCP::sdBoth) const override;
    QCPRange getValueRange(bool& foundRange, QCP::SignDomain inSignDomain = QCP::sdBoth,
                           const QCPRange& inKeyRange = QCPRange()) const override;

  protected:
    void draw(QCPPainter* painter) override;
    void drawLegendIcon(QCPPainter* painter, const QRectF& rect) const override;

  private:
    QPen penOfLevel(int level) const;

    std::vector<std::vector<QPolygonF>> levels_;
    std::vector<QPen> levelPens_;
};

}  // namespace sbiw::widgets
