#include "gui/parameters_panel.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <sstream>

#include "gui/project_document.h"
#include "priors/prior_spec.h"
#include "widgets/prior_density_plot.h"

namespace sbiw::gui {

namespace {

QString formatValues(const std::vector<double>& values) {
    QStringList parts;
    for (double v : values)
        parts << QString::number(v, 'g', 6);
    return parts.join(", ");
}

// "1, 2.5, 3" -> values; nullopt (with the reason) for anything that is not a number list.
std::optional<std::vector<double>> parseValues(const QString& text, QString& why) {
    std::vector<double> values;
    for (const QString& part : text.split(',', Qt::SkipEmptyParts)) {
        bool ok = false;
        const double v = part.trimmed().toDouble(&ok);
        if (!ok) {
            why = QStringLiteral("'%1' is not a number").arg(part.trimmed());
            return std::nullopt;
        }
        values.push_back(v);
    }
    if (values.empty()) {
        why = QStringLiteral("a value is needed");
        return std::nullopt;
    }
    return values;
}

QString priorSummary(const PriorSpec& spec) {
    const PriorFamilyInfo* family = findPriorFamily(spec.family);
    QStringList fields;
    // In the family's own order (low before high), not the map's alphabetical one.
    const auto add = [&fields](const std::string& name, const std::vector<double>& values) {
        fields << QStringLiteral("%1=%2").arg(
            QString::fromStdString(name), values.size() <= 3
                                              ? formatValues(values)
                                              : QStringLiteral("[%1 values]").arg(values.size()));
    };
    if (family) {
        for (const PriorFieldInfo& field : family->fields)
            if (const auto it = spec.values.find(field.name); it != spec.values.end())
                add(it->first, it->second);
    } else {
        for (const auto& [name, values] : spec.values)
            add(name, values);
    }
    return QStringLiteral("%1(%2)").arg(
        family ? QString::fromStdString(family->displayName) : QString::fromStdString(spec.family),
        fields.join(", "));
}

// Problems of `project` that concern parameter `index` (paths "parameters[i]...").
QStringList problemsOf(const Project& project, int index) {
    QStringList lines;
    const std::string prefix = "parameters[" + std::to_string(index) + "]";
    for (const Problem& p : project.validate())
        if (p.path.rfind(prefix, 0) == 0 || p.path == "parameters")
            lines << QString::fromStdString(p.toString());
    return lines;
}

}  // namespace

ParametersPanel::ParametersPanel(ProjectDocument* document, QWidget* parent)
    : QWidget(parent), document_(document) {
    projectNameEdit_ = new QLineEdit(this);
    projectNameEdit_->setObjectName("projectName");
    projectDescriptionEdit_ = new QLineEdit(this);
    projectDescriptionEdit_->setObjectName("projectDescription");
    projectDescriptionEdit_->setPlaceholderText(tr("what this project studies"));
    table_ = new QTableWidget(0, 2, this);
    table_->setHorizontalHeaderLabels({tr("Parameter"), tr("Prior")});
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->verticalHeader()->setVisible(false);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setObjectName("parametersTable");

    addButton_ = new QPushButton(tr("Add"), this);
    removeButton_ = new QPushButton(tr("Remove"), this);
    upButton_ = new QPushButton(tr("Up"), this);
    downButton_ = new QPushButton(tr("Down"), this);
    addButton_->setToolTip(tr("Add a parameter with a Uniform(0, 1) prior"));
    addButton_->setObjectName("addParameter");
    removeButton_->setObjectName("removeParameter");
    auto* buttons = new QHBoxLayout;
    for (QPushButton* b : {addButton_, removeButton_, upButton_, downButton_})
        buttons->addWidget(b);
    buttons->addStretch();

    nameEdit_ = new QLineEdit(this);
    nameEdit_->setObjectName("parameterName");
    familyCombo_ = new QComboBox(this);
    familyCombo_->setObjectName("priorFamily");
    for (const PriorFamilyInfo& family : priorFamilies())
        familyCombo_->addItem(QString::fromStdString(family.displayName),
                              QString::fromStdString(family.id));
    fieldsLayout_ = new QFormLayout;
    problemLabel_ = new QLabel(this);
    problemLabel_->setObjectName("priorProblems");
    problemLabel_->setWordWrap(true);
    problemLabel_->setStyleSheet("color: #b00020");
    blockLabel_ = new QLabel(this);
    blockLabel_->setWordWrap(true);
    densityPlot_ = new widgets::PriorDensityPlot(this);
    densityPlot_->setMinimumHeight(110);

    auto* editor = new QFormLayout;
    editor->addRow(tr("Name"), nameEdit_);
    editor->addRow(tr("Prior"), familyCombo_);

    auto* projectForm = new QFormLayout;
    projectForm->addRow(tr("Project"), projectNameEdit_);
    projectForm->addRow(tr("About"), projectDescriptionEdit_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(projectForm);
    layout->addWidget(table_, 2);
    layout->addLayout(buttons);
    layout->addLayout(editor);
    layout->addWidget(blockLabel_);
    layout->addLayout(fieldsLayout_);
    layout->addWidget(problemLabel_);
    layout->addWidget(densityPlot_, 1);

    connect(document_, &ProjectDocument::projectChanged, this, [this] {
        refreshTable();
        refreshEditor();
    });
    connect(table_, &QTableWidget::currentCellChanged, this, [this] { refreshEditor(); });
    connect(addButton_, &QPushButton::clicked, this, &ParametersPanel::addParameter);
    connect(removeButton_, &QPushButton::clicked, this, &ParametersPanel::removeParameter);
    connect(upButton_, &QPushButton::clicked, this, [this] { moveParameter(-1); });
    connect(downButton_, &QPushButton::clicked, this, [this] { moveParameter(+1); });
    connect(nameEdit_, &QLineEdit::editingFinished, this, &ParametersPanel::commitName);
    connect(projectNameEdit_, &QLineEdit::editingFinished, this, [this] {
        Project changed = document_->project();
        changed.name = projectNameEdit_->text().trimmed().toStdString();
        if (changed.name.empty()) {
            projectNameEdit_->setText(
                QString::fromStdString(document_->project().name));  // a project needs a name
            return;
        }
        document_->edit(tr("Rename project"), changed);
    });
    connect(projectDescriptionEdit_, &QLineEdit::editingFinished, this, [this] {
        Project changed = document_->project();
        changed.description = projectDescriptionEdit_->text().toStdString();
        document_->edit(tr("Change project description"), changed);
    });
    connect(familyCombo_, &QComboBox::currentIndexChanged, this, [this] {
        if (updating_)
            return;
        rebuildFieldEditors(familyCombo_->currentData().toString().toStdString());
        commitPrior(-1);
    });
    refreshTable();
    refreshEditor();
}

int ParametersPanel::currentParameter() const {
    return table_->currentRow();
}

void ParametersPanel::selectParameter(int index) {
    table_->setCurrentCell(index, 0);
}

QLineEdit* ParametersPanel::fieldEdit(const QString& field) const {
    for (const auto& [name, edit] : fieldEdits_)
        if (QString::fromStdString(name) == field)
            return edit;
    return nullptr;
}

void ParametersPanel::refreshTable() {
    const Project& project = document_->project();
    if (!projectNameEdit_->hasFocus())
        projectNameEdit_->setText(QString::fromStdString(project.name));
    if (!projectDescriptionEdit_->hasFocus()) {
        projectDescriptionEdit_->setText(QString::fromStdString(project.description));
        projectDescriptionEdit_->setCursorPosition(0);
        projectDescriptionEdit_->setToolTip(QString::fromStdString(project.description));
    }
    const int current = std::max(0, table_->currentRow());
    QSignalBlocker blocker(table_);
    table_->setRowCount(int(project.parameters.size()));
    std::string blockOwner;
    for (int i = 0; i < int(project.parameters.size()); ++i) {
        const ParameterSpec& p = project.parameters[std::size_t(i)];
        if (p.prior)
            blockOwner = p.name;
        table_->setItem(i, 0, new QTableWidgetItem(QString::fromStdString(p.name)));
        table_->setItem(
            i, 1,
            new QTableWidgetItem(
                p.prior
                    ? priorSummary(*p.prior)
                    : tr("(in the joint prior of %1)").arg(QString::fromStdString(blockOwner))));
    }
    if (!project.parameters.empty())
        table_->setCurrentCell(std::min(current, int(project.parameters.size()) - 1), 0);
}

void ParametersPanel::rebuildFieldEditors(const std::string& familyId) {
    while (fieldsLayout_->rowCount() > 0)
        fieldsLayout_->removeRow(0);
    fieldEdits_.clear();
    const PriorFamilyInfo* family = findPriorFamily(familyId);
    if (!family)
        return;
    for (std::size_t f = 0; f < family->fields.size(); ++f) {
        const PriorFieldInfo& info = family->fields[f];
        auto* edit = new QLineEdit(this);
        edit->setObjectName(QString::fromStdString("field_" + info.name));
        edit->setToolTip(QString::fromStdString(info.description));
        edit->setPlaceholderText(info.optional ? tr("optional")
                                               : QString::number(info.defaultValue));
        if (info.shape != FieldShape::Scalar)
            edit->setToolTip(edit->toolTip() + tr(" (comma-separated values)"));
        const int mergeKey = 1000 + int(f);
        connect(edit, &QLineEdit::textEdited, this, [this, mergeKey] { commitPrior(mergeKey); });
        fieldsLayout_->addRow(QString::fromStdString(info.name), edit);
        fieldEdits_.emplace_back(info.name, edit);
    }
}

void ParametersPanel::refreshEditor() {
    const Project& project = document_->project();
    const int row = table_->currentRow();
    const bool valid = row >= 0 && row < int(project.parameters.size());
    removeButton_->setEnabled(valid);
    // A built-in simulator reads θ by position: reordering would feed it the wrong values.
    const bool reorderable = project.simulator.kind != "builtin";
    upButton_->setEnabled(reorderable && valid && row > 0);
    downButton_->setEnabled(reorderable && valid && row + 1 < int(project.parameters.size()));
    const QString why =
        reorderable ? QString() : tr("Built-in simulators take their parameters in a fixed order");
    upButton_->setToolTip(why);
    downButton_->setToolTip(why);
    nameEdit_->setEnabled(valid);
    updating_ = true;
    if (!valid) {
        nameEdit_->clear();
        rebuildFieldEditors({});
        familyCombo_->setEnabled(false);
        densityPlot_->clear();
        updating_ = false;
        return;
    }
    const ParameterSpec& parameter = project.parameters[std::size_t(row)];
    if (!nameEdit_->hasFocus())
        nameEdit_->setText(QString::fromStdString(parameter.name));
    familyCombo_->setEnabled(parameter.prior.has_value());
    blockLabel_->setVisible(!parameter.prior);
    if (!parameter.prior) {
        blockLabel_->setText(
            tr("This parameter belongs to the joint (multivariate) prior declared by an earlier "
               "parameter; edit it there."));
        rebuildFieldEditors({});
        densityPlot_->clear();
        updating_ = false;
        return;
    }
    const PriorSpec& spec = *parameter.prior;
    const QString familyId = QString::fromStdString(spec.family);
    if (familyCombo_->currentData().toString() != familyId || fieldEdits_.empty()) {
        familyCombo_->setCurrentIndex(familyCombo_->findData(familyId));
        rebuildFieldEditors(spec.family);
    }
    for (const auto& [name, edit] : fieldEdits_) {
        if (edit->hasFocus())
            continue;  // the user is typing there
        const auto it = spec.values.find(name);
        edit->setText(it == spec.values.end() ? QString() : formatValues(it->second));
    }
    problemLabel_->setText(problemsOf(project, row).join("\n"));
    densityPlot_->setPrior(spec, 0, QString::fromStdString(parameter.name));
    updating_ = false;
}

void ParametersPanel::commitPrior(int mergeKey) {
    if (updating_)
        return;
    const int row = table_->currentRow();
    Project changed = document_->project();
    if (row < 0 || row >= int(changed.parameters.size()) ||
        !changed.parameters[std::size_t(row)].prior)
        return;
    const std::string familyId = familyCombo_->currentData().toString().toStdString();
    const PriorFamilyInfo* family = findPriorFamily(familyId);
    PriorSpec spec;
    spec.family = familyId;
    QStringList problems;
    for (const auto& [name, edit] : fieldEdits_) {
        const PriorFieldInfo* info = nullptr;
        for (const PriorFieldInfo& candidate : family->fields)
            if (candidate.name == name)
                info = &candidate;
        if (edit->text().trimmed().isEmpty()) {
            if (info && info->optional)
                continue;
            // A new family starts from its defaults; typing replaces them.
            if (mergeKey < 0 && info) {
                spec.values[name] = {info->defaultValue};
                continue;
            }
            problems << QStringLiteral("%1: a value is needed").arg(QString::fromStdString(name));
            continue;
        }
        QString why;
        const std::optional<std::vector<double>> values = parseValues(edit->text(), why);
        if (!values) {
            problems << QStringLiteral("%1: %2").arg(QString::fromStdString(name), why);
            continue;
        }
        spec.values[name] = *values;
        if (info && info->shape == FieldShape::Matrix) {
            const int n = int(std::lround(std::sqrt(double(values->size()))));
            spec.matrixRows[name] = n;
        }
    }
    if (problems.isEmpty()) {
        for (const Problem& p : spec.validate())
            problems << QString::fromStdString(p.toString());
    }
    if (problems.isEmpty()) {
        changed.parameters[std::size_t(row)].prior = spec;
        const QStringList projectProblems = problemsOf(changed, row);
        if (projectProblems.isEmpty()) {
            problemLabel_->clear();
            document_->edit(
                tr("Change prior of %1")
                    .arg(QString::fromStdString(changed.parameters[std::size_t(row)].name)),
                changed, mergeKey < 0 ? -1 : mergeKey + 100 * row);
            return;
        }
        problems = projectProblems;
    }
    // Not applied: the project keeps its last valid prior until the fields make sense.
    problemLabel_->setText(problems.join("\n"));
}

void ParametersPanel::commitName() {
    const int row = table_->currentRow();
    Project changed = document_->project();
    if (row < 0 || row >= int(changed.parameters.size()))
        return;
    const std::string name = nameEdit_->text().trimmed().toStdString();
    if (name == changed.parameters[std::size_t(row)].name)
        return;
    const std::string old = changed.parameters[std::size_t(row)].name;
    changed.parameters[std::size_t(row)].name = name;
    if (const QStringList problems = problemsOf(changed, row); !problems.isEmpty()) {
        problemLabel_->setText(problems.join("\n"));
        nameEdit_->setText(QString::fromStdString(old));
        return;
    }
    document_->edit(
        tr("Rename %1 to %2").arg(QString::fromStdString(old), QString::fromStdString(name)),
        changed);
}

void ParametersPanel::addParameter() {
    Project changed = document_->project();
    std::string name;
    for (int n = int(changed.parameters.size()) + 1;; ++n) {
        name = "theta_" + std::to_string(n);
        bool taken = false;
        for (const ParameterSpec& p : changed.parameters)
            taken = taken || p.name == name;
        if (!taken)
            break;
    }
    changed.parameters.push_back(
        {name, PriorSpec::scalar("uniform", {{"low", 0.0}, {"high", 1.0}})});
    document_->edit(tr("Add parameter %1").arg(QString::fromStdString(name)), changed);
    selectParameter(int(changed.parameters.size()) - 1);
}

void ParametersPanel::removeParameter() {
    const int row = table_->currentRow();
    Project changed = document_->project();
    if (row < 0 || row >= int(changed.parameters.size()))
        return;
    const std::string name = changed.parameters[std::size_t(row)].name;
    changed.parameters.erase(changed.parameters.begin() + row);
    for (Observation& o : changed.observations)
        if (int(o.trueParameters.size()) > row)
            o.trueParameters.erase(o.trueParameters.begin() + row);
    document_->edit(tr("Remove parameter %1").arg(QString::fromStdString(name)), changed);
}

void ParametersPanel::moveParameter(int delta) {
    const int row = table_->currentRow(), target = row + delta;
    Project changed = document_->project();
    if (row < 0 || target < 0 || target >= int(changed.parameters.size()))
        return;
    std::swap(changed.parameters[std::size_t(row)], changed.parameters[std::size_t(target)]);
    for (Observation& o : changed.observations)
        if (int(o.trueParameters.size()) > std::max(row, target))
            std::swap(o.trueParameters[std::size_t(row)], o.trueParameters[std::size_t(target)]);
    document_->edit(
        tr("Move %1").arg(QString::fromStdString(changed.parameters[std::size_t(target)].name)),
        changed);
    selectParameter(target);
}

}  // namespace sbiw::gui
