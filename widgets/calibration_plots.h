#pragma once
// Calibration diagnostics drawn from the engine's judged results (diagnostics/calibration.h):
//  - SbcRankPlot: one rank histogram per parameter inside its pointwise binomial band, bins
//    outside the band in the warning colour, the verdict above each panel;
//  - CoveragePlot: empirical against nominal coverage of HPD regions with the simultaneous band;
//  - TarpPlot: the TARP expected-coverage curve with a Kolmogorov-Smirnov band around the
//    diagonal and the ATC in the title.
// A calibrated posterior stays on the diagonal / inside the band in all three.

#include <QStringList>
#include <vector>

#include "diagnostics/calibration.h"
#include "widgets/plot_widget.h"

class QCPAxisRect;
class QCPBars;
class QCPGraph;

namespace sbiw::widgets {

// "θ₁: over-confident" style text for a verdict.
QString verdictText(CalibrationVerdict verdict);

class SbcRankPlot : public PlotWidget {
    Q_OBJECT

  public:
    explicit SbcRankPlot(QWidget* parent = nullptr);

    // Names may be empty ("parameter 1", ...) or one per parameter. Panels are laid out in
    // `columns` columns (0: up to 4 per row).
    void setResult(const SbcResult& result, const QStringList& names = {}, int columns = 0);
    void clear();

    int panelCount() const { return static_cast<int>(panels_.size()); }
    QCPAxisRect* panel(int parameter) const { return panels_[std::size_t(parameter)].rect; }
    // Bars of bins inside the band, and of those outside it (drawn in the warning colour).
    QCPBars* insideBars(int parameter) const { return panels_[std::size_t(parameter)].inside; }
    QCPBars* outsideBars(int parameter) const { return panels_[std::size_t(parameter)].outside; }
    QCPGraph* bandUpper(int parameter) const { return panels_[std::size_t(parameter)].bandHigh; }

  protected:
    void fitTextToWidth() override;

  private:
    struct Panel {
        QCPTextElement* heading = nullptr;
        QString headingText;  // as one line; shown in two when the panel is narrow
        QCPAxisRect* rect = nullptr;
        QCPBars* inside = nullptr;
        QCPBars* outside = nullptr;
        QCPGraph* bandLow = nullptr;
        QCPGraph* bandHigh = nullptr;
        QCPGraph* expected = nullptr;
    };
    std::vector<Panel> panels_;
    int columns_ = 1;
};

class CoveragePlot : public PlotWidget {
    Q_OBJECT

  public:
    explicit CoveragePlot(QWidget* parent = nullptr);

    void setResult(const CoverageResult& result);
    void clear();

    QCPGraph* empiricalGraph() const { return empirical_; }
    QCPGraph* outsideBandGraph() const { return outside_; }
    QCPGraph* bandUpperGraph() const { return bandHigh_; }

  private:
    QCPGraph* bandLow_ = nullptr;
    QCPGraph* bandHigh_ = nullptr;
    QCPGraph* diagonal_ = nullptr;
    QCPGraph* empirical_ = nullptr;
    QCPGraph* outside_ = nullptr;
};

class TarpPlot : public PlotWidget {
    Q_OBJECT

  public:
    explicit TarpPlot(QWidget* parent = nullptr);

    // The band: ECP of a calibrated posterior stays within level +- c / sqrt(N) with
    // probability `bandConfidence` (Kolmogorov's limit; conservative for the discrete ranks).
    void setResult(const TarpResult& result, double bandConfidence = 0.99);
    void clear();

    QCPGraph* ecpGraph() const { return ecp_; }
    QCPGraph* bandUpperGraph() const { return bandHigh_; }

  private:
    QCPGraph* bandLow_ = nullptr;
    QCPGraph* bandHigh_ = nullptr;
    QCPGraph* diagonal_ = nullptr;
    QCPGraph* ecp_ = nullptr;
};

}  // namespace sbiw::widgets
