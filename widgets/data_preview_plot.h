#pragma once
// One simulated (or observed) data vector x at a glance: a line for long vectors (time series,
// spectra: >= 32 values), bars for short ones, optionally with the observation on top.

#include <QString>
#include <QStringList>
#include <vector>

#include "widgets/plot_widget.h"

class QCPBars;
class QCPGraph;

namespace sbiw::widgets {

class DataPreviewPlot : public PlotWidget {
    Q_OBJECT

  public:
    explicit DataPreviewPlot(QWidget* parent = nullptr);

    // `label` names the series in the legend (e.g. "simulation 17").
    void setData(const std::vector<double>& x, const QString& label = {});
    // Drawn over the data (line or diamonds); empty removes it.
    void setObservation(const std::vector<double>& observation);
    void clearObservation() { setObservation({}); }
    // Names of the dimensions, shown under short vectors' bars.
    void setDataNames(const QStringList& names);
    void clear();

    bool drawnAsSeries() const { return asSeries_; }
    QCPGraph* dataLine() const { return line_; }
    QCPBars* dataBars() const { return bars_; }
    QCPGraph* observationGraph() const { return observation_; }

  private:
    void redraw();

    std::vector<double> data_, observationValues_;
    QString label_;
    QStringList names_;
    bool asSeries_ = false;
    QCPGraph* line_ = nullptr;
    QCPBars* bars_ = nullptr;
    QCPGraph* observation_ = nullptr;
};

}  // namespace sbiw::widgets
