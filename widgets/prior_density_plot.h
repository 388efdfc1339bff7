#pragma once
// A small density curve of one prior (one block of the joint prior, one of its components), for
// the prior editor: it redraws as fields are edited, and greys out with the problem in words
// while the spec is invalid.

#include <QString>

#include "priors/prior_spec.h"
#include "widgets/plot_data.h"
#include "widgets/plot_widget.h"

class QCPGraph;
class QCPItemText;

namespace sbiw::widgets {

class PriorDensityPlot : public PlotWidget {
    Q_OBJECT

  public:
    explicit PriorDensityPlot(QWidget* parent = nullptr);

    // `component` picks the parameter of a multivariate block; `name` labels the x axis.
    void setPrior(const PriorSpec& spec, int component = 0, const QString& name = {});
    void clear();

    bool isValid() const { return curve_.valid; }
    QString message() const;  // the problem shown when not valid
    const PriorCurve& curve() const { return curve_; }
    QCPGraph* densityGraph() const { return density_; }

    QSize sizeHint() const override { return QSize(260, 150); }
    QSize minimumSizeHint() const override { return QSize(140, 90); }

  private:
    void showMessage(const QString& text);

    PriorCurve curve_;
    QCPGraph* density_ = nullptr;
    QCPItemText* message_ = nullptr;
};

}  // namespace sbiw::widgets
