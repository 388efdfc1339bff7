#pragma once
// The simulator of the project: a built-in task from the catalogue (description, dimensions),
// and "simulate once" at a chosen θ with a preview of x (a line for time series).

#include <QWidget>

#include <optional>
#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace sbiw::widgets {
class DataPreviewPlot;
}

namespace sbiw::gui {

class ProjectDocument;

class SimulatorPanel : public QWidget {
    Q_OBJECT
  public:
    explicit SimulatorPanel(ProjectDocument* document, QWidget* parent = nullptr);

    // θ typed in the panel, or the reason it cannot be used.
    std::optional<std::vector<double>> chosenTheta(QString* why = nullptr) const;
    int chosenSeed() const;
    QLineEdit* thetaEdit() const { return thetaEdit_; }
    QComboBox* taskCombo() const { return taskCombo_; }

  public Q_SLOTS:
    void simulateOnce();

  private:
    void refresh();
    void chooseTask(int index);

    ProjectDocument* document_;
    QComboBox* taskCombo_;
    QLabel* descriptionLabel_;
    QLineEdit* thetaEdit_;
    QSpinBox* seedSpin_;
    QPushButton* simulateButton_;
    QLabel* resultLabel_;
    widgets::DataPreviewPlot* preview_;
    bool updating_ = false;
};

}  // namespace sbiw::gui
