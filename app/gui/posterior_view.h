#pragma once
// The posterior as a corner plot that follows the engine's snapshots while training runs, with
// the true θ and the prior bounds marked, optional reference samples, other runs overlaid, and
// export of the picture (PNG, PDF, SVG) and of the samples (CSV).

#include <QWidget>

#include <optional>
#include <utility>
#include <vector>

#include "core/matrix.h"
#include "inference/settings.h"

class QCheckBox;
class QPushButton;

namespace sbiw::widgets {
class CornerPlot;
}

namespace sbiw::gui {

class ProjectDocument;

class PosteriorView : public QWidget {
    Q_OBJECT
  public:
    explicit PosteriorView(ProjectDocument* document, QWidget* parent = nullptr);

    widgets::CornerPlot* cornerPlot() const { return corner_; }
    const Matrix& samples() const { return samples_; }
    int refreshCount() const { return refreshCount_; }

    void showSnapshot(const sbiw::PosteriorSnapshot& snapshot);
    void showSamples(const Matrix& samples, const QString& title);
    // Other runs' posteriors drawn as contours (history view); empty clears them.
    void setRunOverlays(const std::vector<std::pair<QString, Matrix>>& runs);
    QString exportPlot(const QString& path);
    QString exportSamples(const QString& path) const;

    // True while densities are being computed for a redraw or samples wait for the next one
    // (tests and the demo's last picture wait for it).
    bool isRedrawing() const { return computing_ || waiting_.has_value(); }

  Q_SIGNALS:
    void refreshed();  // after every redraw (demo mode takes its screenshots here)

  private:
    void startRedraw(const Matrix& samples, const QString& title);

    void refreshAxes();
    void updateOverlays();

    ProjectDocument* document_;
    widgets::CornerPlot* corner_;
    QCheckBox* referenceCheck_;
    QPushButton *loadReferenceButton_, *exportPlotButton_, *exportSamplesButton_;
    Matrix samples_;
    Matrix reference_;
    QString referenceName_;
    std::vector<std::pair<QString, Matrix>> runOverlays_;
    int refreshCount_ = 0;
    // Densities are computed on a worker; while one computes, only the newest request waits.
    bool computing_ = false;
    std::optional<std::pair<Matrix, QString>> waiting_;
};

}  // namespace sbiw::gui
