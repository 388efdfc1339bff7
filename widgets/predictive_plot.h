#pragma once
// Posterior predictive check for one observation: per data dimension the observed value against
// the predictive median with central 50% and 90% intervals. Long data vectors (time series,
// spectra: >= 32 values) are drawn as lines with shaded bands, short ones as markers with
// interval bars, one per dimension.

#include <QStringList>

#include "diagnostics/calibration.h"
#include "widgets/plot_widget.h"

class QCPGraph;
class QCPErrorBars;

namespace sbiw::widgets {

class PredictivePlot : public PlotWidget {
    Q_OBJECT

  public:
    explicit PredictivePlot(QWidget* parent = nullptr);

    // Bands come from result.predictions (quantiles per column); without predictions, from the
    // result's per-dimension interval. Names label the dimensions of short data vectors.
    void setResult(const PredictiveCheckResult& result, const QStringList& dataNames = {});
    void clear();

    bool drawnAsSeries() const { return asSeries_; }
    QCPGraph* observedGraph() const { return observed_; }
    QCPGraph* medianGraph() const { return median_; }
    // Series mode: upper edges of the 50% and 90% bands. Marker mode: nullptr.
    QCPGraph* band50Upper() const { return band50High_; }
    QCPGraph* band90Upper() const { return band90High_; }
    // Marker mode: the interval bars around the median. Series mode: nullptr.
    QCPErrorBars* interval50() const { return bars50_; }
    QCPErrorBars* interval90() const { return bars90_; }

  private:
    bool asSeries_ = false;
    QCPGraph* observed_ = nullptr;
    QCPGraph* median_ = nullptr;
    QCPGraph* band50High_ = nullptr;
    QCPGraph* band90High_ = nullptr;
    QCPErrorBars* bars50_ = nullptr;
    QCPErrorBars* bars90_ = nullptr;
};

}  // namespace sbiw::widgets
