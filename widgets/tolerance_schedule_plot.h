#pragma once
// The tolerance ε of every ABC population, updated live (log scale: SMC-ABC shrinks it by a
// roughly constant factor per population), with each population's acceptance rate beside it
// (right axis): the two together show where the budget goes as ε tightens.

#include <vector>

#include "widgets/plot_widget.h"

class QCPGraph;

namespace sbiw::widgets {

class ToleranceSchedulePlot : public PlotWidget {
    Q_OBJECT

  public:
    explicit ToleranceSchedulePlot(QWidget* parent = nullptr);

    // Population `population` (1, 2, ...) reached tolerance `epsilon` with this fraction of its
    // simulations accepted. Non-positive or non-finite values are left out of the log axis.
    void appendPopulation(int population, double epsilon, double acceptanceRate);
    void clear();

    const std::vector<double>& epsilons() const { return epsilons_; }
    QCPGraph* epsilonGraph() const { return epsilon_; }
    QCPGraph* acceptanceGraph() const { return acceptance_; }

  private:
    std::vector<double> epsilons_;
    QCPGraph* epsilon_ = nullptr;
    QCPGraph* acceptance_ = nullptr;
};

}  // namespace sbiw::widgets
