#include "widgets/contour_lines.h"

namespace sbiw::widgets {

ContourLines::ContourLines(QCPAxis* keyAxis, QCPAxis* valueAxis)
    : QCPAbstractPlottable(keyAxis, valueAxis) {
    setBrush(Qt::NoBrush);
    setSelectable(QCP::stNone);
}

void ContourLines::setContours(const std::vector<std::vector<Polyline>>& contoursPerLevel) {
    levels_.clear();
    levels_.reserve(contoursPerLevel.size());
    for (const std::vector<Polyline>& lines : contoursPerLevel) {
        std::vector<QPolygonF> polygons;
        polygons.reserve(lines.size());
        for (const Polyline& line : lines) {
            QPolygonF polygon;
            polygon.reserve(qsizetype(line.size()));
            for (const Point2d& p : line)
                polygon.append(QPointF(p.x, p.y));
            polygons.push_back(std::move(polygon));
        }
        levels_.push_back(std::move(polygons));
    }
}

void ContourLines::clearContours() {
    levels_.clear();
}

void ContourLines::setLevelPens(const std::vector<QPen>& pens) {
    levelPens_ = pens;
}

int ContourLines::polylineCount() const {
    int count = 0;
    for (const auto& level : levels_)
        count += static_cast<int>(level.size());
    return count;
}

QPen ContourLines::penOfLevel(int level) const {
    if (levelPens_.empty())
        return pen();
    return levelPens_[std::size_t(std::min(level, int(levelPens_.size()) - 1))];
}

double ContourLines::selectTest(const QPointF&, bool, QVariant*) const {
    return -1;
}

namespace {

// The range of one coordinate (x for keys, y for values) over every contour point.
QCPRange coordinateRange(const std::vector<std::vector<QPolygonF>>& levels, bool keys, bool& foundRange) {
    QCPRange range;
    foundRange = false;
    for (const auto& level : levels)
        for (const QPolygonF& polygon : level)
            for (const QPointF& p : polygon) {
                const double v = keys ? p.x() : p.y();
                if (!foundRange) {
                    range = QCPRange(v, v);
                    foundRange = true;
                }
                range.expand(v);
            }
    return range;
}

}  // namespace

QCPRange ContourLines::getKeyRange(bool& foundRange, QCP::SignDomain) const {
    return coordinateRange(levels_, true, foundRange);
}

QCPRange ContourLines::getValueRange(bool& foundRange, QCP::SignDomain, const QCPRange&) const {
    return coordinateRange(levels_, false, foundRange);
}

void ContourLines::draw(QCPPainter* painter) {
    QCPAxis* keyAxis = mKeyAxis.data();
    QCPAxis* valueAxis = mValueAxis.data();
    if (!keyAxis || !valueAxis)
        return;
    applyDefaultAntialiasingHint(painter);
    painter->setBrush(Qt::NoBrush);
    QPolygonF pixels;
    for (std::size_t level = 0; level < levels_.size(); ++level) {
        const QPen levelPen = penOfLevel(int(level));
        if (levelPen.style() == Qt::NoPen)
            continue;
        painter->setPen(levelPen);
        for (const QPolygonF& polygon : levels_[level]) {
            pixels.resize(polygon.size());
            for (qsizetype i = 0; i < polygon.size(); ++i)
                pixels[i] = coordsToPixels(polygon[i].x(), polygon[i].y());
            painter->drawPolyline(pixels);
        }
    }
}

void ContourLines::drawLegendIcon(QCPPainter* painter, const QRectF& rect) const {
    painter->setBrush(Qt::NoBrush);
    painter->setPen(penOfLevel(0));
    const double y = rect.center().y();
    painter->drawLine(QLineF(rect.left(), y, rect.right(), y));
}

}  // namespace sbiw::widgets
