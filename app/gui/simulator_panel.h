#pragma once
// The simulator of the project: a built-in task from the catalogue, an external program, a
// JavaScript script (edited here, with line numbers and highlighting), a native plugin, or
// simulations imported from CSV. "Simulate once" runs one simulation at a chosen θ and shows x
// (a line for time series) or the error; foreign code asks for the user's trust first.

#include <QWidget>

#include <optional>
#include <vector>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QStackedWidget;

namespace sbiw {
struct SimulatorBinding;
}

namespace sbiw::widgets {
class DataPreviewPlot;
class ScriptEditor;
}  // namespace sbiw::widgets

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
    QComboBox* kindCombo() const { return kindCombo_; }
    QLabel* resultLabel() const { return resultLabel_; }
    widgets::ScriptEditor* scriptEditor() const { return scriptEditor_; }

    // The binding the fields describe (for the kind chosen), applied as one undoable edit.
    // Returns the problems, or "".
    QString applyBinding();
    // Checks the script in the editor (syntax, a simulate function); marks the error line.
    QString checkScript();
    QString saveScript();

  public Q_SLOTS:
    void simulateOnce();

  private:
    void refresh();
    void chooseTask(int index);
    void loadScriptFile();
    QString browse(const QString& title, const QString& filter);
    QString pathForProject(const QString& absolute) const;

    ProjectDocument* document_;
    QComboBox* kindCombo_;
    QStackedWidget* pages_;
    QComboBox* taskCombo_;
    QLabel* descriptionLabel_;
    QLineEdit *commandEdit_, *scriptPathEdit_, *libraryEdit_, *csvEdit_;
    QSpinBox *dataDimensionSpin_, *batchSizeSpin_;
    QDoubleSpinBox* timeoutSpin_;
    widgets::ScriptEditor* scriptEditor_;
    QPushButton *applyButton_, *checkScriptButton_, *saveScriptButton_;
    QLabel* bindingLabel_;
    QLineEdit* thetaEdit_;
    QSpinBox* seedSpin_;
    QPushButton* simulateButton_;
    QLabel* resultLabel_;
    widgets::DataPreviewPlot* preview_;
    bool updating_ = false;
};

}  // namespace sbiw::gui
