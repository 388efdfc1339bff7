#pragma once
// Corner plot (pair plot) of posterior samples: for d parameters a d x d grid of panels, the
// diagonal showing each parameter's marginal histogram, the lower triangle each pair's smoothed
// 2-D density with highest-density credible contours (68% and 95% by default). Overlays (reference
// samples, other runs) add contours and marginal lines in their own colour and a legend entry;
// true parameters are drawn as crosshairs, prior bounds as dashed lines.
//
// setSamples is meant for live updates during training (several times a second): it recomputes
// densities into the existing plottables and queues a replot; the other setters rebuild.
// The numbers come from engine/diagnostics/density2d (tested there); this class only draws.

#include <optional>
#include <utility>
#include <vector>

#include <QColor>
#include <QString>
#include <QStringList>
#include <QWidget>

#include "core/matrix.h"
#include "diagnostics/density2d.h"

class QCustomPlot;
class QCPAxisRect;
class QCPColorMap;
class QCPGraph;
class QCPLegend;
class QCPTextElement;
class QCPAbstractItem;

namespace sbiw::widgets {

class ContourLines;

class CornerPlot : public QWidget {
    Q_OBJECT

  public:
    using Range = std::pair<double, double>;

    struct Overlay {
        QString label;
        Matrix samples;  // same columns as the main samples
        QColor color;    // invalid: the next colour of the series palette
    };

    explicit CornerPlot(QWidget* parent = nullptr);
    ~CornerPlot() override;

    // Names and plotting ranges (low < high, finite) of the parameters; rebuilds the grid and
    // drops samples, overlays, truths and bounds of another dimension.
    void setParameters(const QStringList& names, const std::vector<Range>& ranges);
    // Plotting ranges for samples: the prior bounds where both are finite, otherwise the
    // samples' 0.5%-99.5% quantile range widened by 10% (clipped to a one-sided bound).
    // `bounds` may be empty (all unbounded).
    static std::vector<Range> rangesFor(const Matrix& samples,
                                        const std::vector<Range>& bounds = {});

    // The main posterior: rows are samples, columns the parameters. Rows with non-finite values
    // are skipped per panel. A column count other than the parameters' empties the plot.
    void setSamples(const Matrix& samples);
    // The same with densities computed elsewhere (a worker thread, so that the GUI thread only
    // draws): computeCornerDensities(samples, ranges(), densitySettings()). Densities of another
    // dimension are recomputed here.
    void setSamples(const Matrix& samples, CornerDensities densities);
    void clearSamples();
    void setSamplesLabel(const QString& label);  // legend entry, default "posterior"

    void setOverlays(std::vector<Overlay> overlays);
    // One value per parameter, or empty for none.
    void setTrueParameters(std::vector<double> values);
    // Prior support per parameter (infinite ends are not drawn).
    void setPriorBounds(std::vector<Range> bounds);
    void setShowPriorBounds(bool show);
    // Histogram bins per axis (>= 4) and Gaussian smoothing of the 2-D densities in bins (>= 0).
    void setBins(int bins);
    void setSmoothing(double bins);
    // Masses of the credible regions outlined, each in (0, 1), e.g. {0.68, 0.95}.
    void setCredibleLevels(std::vector<double> masses);
    void setTitle(const QString& title);

    int parameterCount() const { return static_cast<int>(names_.size()); }
    int bins() const { return settings_.bins; }
    const std::vector<double>& credibleLevels() const { return settings_.credibleMasses; }
    const std::vector<Range>& ranges() const { return ranges_; }
    const CornerDensitySettings& densitySettings() const { return settings_; }

    QCustomPlot* plot() const { return plot_; }
    // Panel in the grid (row, column), 0-based; nullptr outside. The upper triangle's panels
    // exist (so the grid stays square) but stay empty and hidden.
    QCPAxisRect* panel(int row, int column) const;
    // Drawing parts, for tests and for callers styling them further.
    QCPGraph* marginal(int parameter) const;             // main samples' histogram
    QCPColorMap* densityMap(int row, int column) const;  // row > column
    ContourLines* contours(int row, int column) const;   // main samples, row > column
    QCPLegend* legend() const { return legend_; }
    // The latest computed densities of the main samples (empty before setSamples).
    const CornerDensities& densities() const { return densities_; }

    // PNG, PDF or SVG by suffix; empty string on success, otherwise the problem in words.
    QString save(const QString& path);

    QSize sizeHint() const override;

  private:
    struct OverlayParts {
        std::vector<QCPGraph*> marginals;
        std::vector<ContourLines*> contours;  // row-major over row > column
    };

    void rebuild();
    void buildGrid();
    void buildOverlays();
    void buildTruths();
    void buildPriorBounds();
    void buildLegend();
    void updateSamples(std::optional<CornerDensities> computed = std::nullopt);
    void updateOverlay(std::size_t index);
    void updateDiagonalRanges();
    std::size_t pairIndex(int row, int column) const;
    QColor overlayColor(std::size_t index) const;
    bool samplesFit(const Matrix& samples) const;

    QCustomPlot* plot_ = nullptr;
    QCPTextElement* title_ = nullptr;
    QCPLegend* legend_ = nullptr;
    QString titleText_;
    QString samplesLabel_ = QStringLiteral("posterior");

    QStringList names_;
    std::vector<Range> ranges_;
    CornerDensitySettings settings_;
    Matrix samples_;
    CornerDensities densities_;
    std::vector<Overlay> overlays_;
    std::vector<CornerDensities> overlayDensities_;
    std::vector<double> truths_;
    std::vector<Range> priorBounds_;
    bool showPriorBounds_ = true;

    std::vector<QCPAxisRect*> panels_;  // row-major, d * d
    std::vector<QCPGraph*> marginals_;
    std::vector<QCPColorMap*> densityMaps_;  // row-major over row > column
    std::vector<ContourLines*> contours_;
    std::vector<OverlayParts> overlayParts_;
    QCPGraph* truthLegendGraph_ = nullptr;
};

}  // namespace sbiw::widgets
