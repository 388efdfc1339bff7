#pragma once
// Training and validation loss per epoch, updated live: the best epoch ringed and named in the
// legend, the start of every round marked, non-finite losses left as gaps and counted.

#include <utility>
#include <vector>

#include "widgets/plot_data.h"
#include "widgets/plot_widget.h"

class QCPGraph;
class QCPItemText;
class QCPAbstractItem;

namespace sbiw::widgets {

class LossCurvePlot : public PlotWidget {
    Q_OBJECT

  public:
    explicit LossCurvePlot(QWidget* parent = nullptr);

    // `epoch` is the x position (epochs counted over all rounds, increasing); `improved` says
    // that the validation loss beat the best so far (the trainer's early-stopping flag).
    void appendEpoch(int epoch, double train, double validation, bool improved);
    // Replaces everything; `roundStarts` holds (first epoch, round) pairs.
    void setHistory(const std::vector<LossPoint>& history,
                    const std::vector<std::pair<int, int>>& roundStarts = {});
    // Round `round` starts at `epoch`: a dashed line just before it, labelled "round N".
    void markRound(int epoch, int round);
    void clear();

    const std::vector<LossPoint>& history() const { return history_; }
    // Epoch of the best validation loss (see bestLossIndex), or -1.
    int bestEpoch() const;
    int nonFiniteCount() const { return nonFinite_; }
    int roundMarkCount() const { return static_cast<int>(roundMarks_.size()); }

    QCPGraph* trainGraph() const { return train_; }
    QCPGraph* validationGraph() const { return validation_; }
    QCPGraph* bestMarker() const { return best_; }

  private:
    void addToGraphs(const LossPoint& point);
    void updateDecorations();

    std::vector<LossPoint> history_;
    std::vector<double> finiteValues_;  // every finite loss, for the value range
    int nonFinite_ = 0;
    QCPGraph* train_ = nullptr;
    QCPGraph* validation_ = nullptr;
    QCPGraph* best_ = nullptr;
    QCPItemText* nonFiniteNote_ = nullptr;
    std::vector<std::pair<QCPAbstractItem*, QCPAbstractItem*>> roundMarks_;  // line, label
};

}  // namespace sbiw::widgets
