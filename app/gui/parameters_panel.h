#pragma once
// The parameters of the project and their priors: a table (add, remove, rename, reorder) and,
// for the selected parameter, a prior editor whose fields are checked as you type, with the
// reason shown and a small plot of the density. Valid edits go on the undo stack.

#include <QWidget>

class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QTableWidget;
class QPushButton;

namespace sbiw::widgets {
class PriorDensityPlot;
}

namespace sbiw::gui {

class ProjectDocument;

class ParametersPanel : public QWidget {
    Q_OBJECT
  public:
    explicit ParametersPanel(ProjectDocument* document, QWidget* parent = nullptr);

    int currentParameter() const;
    void selectParameter(int index);
    // The editor's widgets, for tests and keyboard users.
    QLineEdit* nameEdit() const { return nameEdit_; }
    QComboBox* familyCombo() const { return familyCombo_; }
    QLineEdit* fieldEdit(const QString& field) const;
    QLabel* problemLabel() const { return problemLabel_; }

  private:
    void refreshTable();
    void refreshEditor();
    void rebuildFieldEditors(const std::string& family);
    void commitPrior(int mergeKey);
    void commitName();
    void addParameter();
    void removeParameter();
    void moveParameter(int delta);

    ProjectDocument* document_;
    QTableWidget* table_;
    QPushButton *addButton_, *removeButton_, *upButton_, *downButton_;
    QLineEdit* nameEdit_;
    QComboBox* familyCombo_;
    QFormLayout* fieldsLayout_;
    std::vector<std::pair<std::string, QLineEdit*>> fieldEdits_;
    QLabel* problemLabel_;
    QLabel* blockLabel_;
    widgets::PriorDensityPlot* densityPlot_;
    bool updating_ = false;  // true while widgets are filled from the project (no edits)
};

}  // namespace sbiw::gui
