#include "gui/simulator_panel.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "core/random.h"
#include "gui/project_document.h"
#include "simulators/catalogue.h"
#include "widgets/data_preview_plot.h"

namespace sbiw::gui {

SimulatorPanel::SimulatorPanel(ProjectDocument* document, QWidget* parent) : QWidget(parent), document_(document) {
    taskCombo_ = new QComboBox(this);
    taskCombo_->setObjectName("simulatorTask");
    for (const TaskInfo& task : builtinTasks())
        taskCombo_->addItem(QString::fromStdString(task.title), QString::fromStdString(task.id));
    descriptionLabel_ = new QLabel(this);
    descriptionLabel_->setWordWrap(true);
    descriptionLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    thetaEdit_ = new QLineEdit(this);
    thetaEdit_->setObjectName("simulateTheta");
    thetaEdit_->setToolTip(tr("θ as comma-separated values, in parameter order"));
    seedSpin_ = new QSpinBox(this);
    seedSpin_->setRange(0, 1'000'000'000);
    seedSpin_->setValue(1);
    simulateButton_ = new QPushButton(tr("Simulate once"), this);
    simulateButton_->setObjectName("simulateOnce");
    resultLabel_ = new QLabel(this);
    resultLabel_->setWordWrap(true);
    preview_ = new widgets::DataPreviewPlot(this);
    preview_->setMinimumHeight(160);

    auto* form = new QFormLayout;
    form->addRow(tr("Built-in"), taskCombo_);
    form->addRow(descriptionLabel_);
    auto* thetaRow = new QHBoxLayout;
    thetaRow->addWidget(thetaEdit_, 1);
    thetaRow->addWidget(new QLabel(tr("seed"), this));
    thetaRow->addWidget(seedSpin_);
    form->addRow(tr("θ"), thetaRow);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(simulateButton_);
    layout->addWidget(resultLabel_);
    layout->addWidget(preview_, 1);

    connect(document_, &ProjectDocument::projectChanged, this, &SimulatorPanel::refresh);
    connect(taskCombo_, &QComboBox::currentIndexChanged, this, &SimulatorPanel::chooseTask);
    connect(simulateButton_, &QPushButton::clicked, this, &SimulatorPanel::simulateOnce);
    connect(thetaEdit_, &QLineEdit::returnPressed, this, &SimulatorPanel::simulateOnce);
    refresh();
}

std::optional<std::vector<double>> SimulatorPanel::chosenTheta(QString* why) const {
    const Project& project = document_->project();
    std::vector<double> theta;
    for (const QString& part : thetaEdit_->text().split(',', Qt::SkipEmptyParts)) {
        bool ok = false;
        theta.push_back(part.trimmed().toDouble(&ok));
        if (!ok) {
            if (why) *why = tr("'%1' is not a number").arg(part.trimmed());
            return std::nullopt;
        }
    }
    if (theta.size() != project.parameters.size()) {
        if (why) *why = tr("θ needs %1 values (one per parameter), not %2").arg(project.parameters.size()).arg(theta.size());
        return std::nullopt;
    }
    try {
        if (!project.makePrior().inSupport(theta.data())) {
            if (why) *why = tr("θ lies outside the prior's support");
            return std::nullopt;
        }
    } catch (const std::exception& error) {
        if (why) *why = QString::fromUtf8(error.what());
        return std::nullopt;
    }
    return theta;
}

int SimulatorPanel::chosenSeed() const { return seedSpin_->value(); }

void SimulatorPanel::refresh() {
    updating_ = true;
    const Project& project = document_->project();
    taskCombo_->setCurrentIndex(taskCombo_->findData(QString::fromStdString(project.simulator.task)));
    const TaskInfo* task = findTask(project.simulator.task);
    if (task) {
        QStringList names;
        for (const std::string& n : task->parameterNames) names << QString::fromStdString(n);
        descriptionLabel_->setText(QStringLiteral("%1\n\nParameters: %2 · data dimension %3%4")
                                       .arg(QString::fromStdString(task->description), names.join(", "))
                                       .arg(task->dataDimension)
                                       .arg(task->dataKind == DataKind::TimeSeries ? tr(" (time series)") : QString()));
    } else {
        descriptionLabel_->setText(tr("Simulator kind '%1'").arg(QString::fromStdString(project.simulator.kind)));
    }
    // A sensible θ to try: the default observation's true θ, else the prior mean.
    QString why;
    if (!chosenTheta(&why)) {
        std::vector<double> theta;
        if (const Observation* o = project.findObservation(project.defaultObservation); o && !o->trueParameters.empty())
            theta = o->trueParameters;
        else
            try {
                theta = project.makePrior().mean();
            } catch (const std::exception&) {
            }
        QStringList parts;
        for (double v : theta) parts << QString::number(v, 'g', 6);
        thetaEdit_->setText(parts.join(", "));
    }
    updating_ = false;
}

void SimulatorPanel::chooseTask(int index) {
    if (updating_ || index < 0) return;
    const TaskInfo* task = findTask(taskCombo_->itemData(index).toString().toStdString());
    const Project& current = document_->project();
    if (!task || task->id == current.simulator.task) return;
    // A new simulator brings its parameters, prior and reference observations; the project's
    // name, description and inference settings stay.
    Project changed = projectFromTask(*task);
    changed.name = current.name;
    changed.description = current.description;
    changed.inference = current.inference;
    changed.view = current.view;
    document_->edit(tr("Use simulator %1").arg(QString::fromStdString(task->title)), changed);
    thetaEdit_->clear();
    refresh();
}

void SimulatorPanel::simulateOnce() {
    QString why;
    const std::optional<std::vector<double>> theta = chosenTheta(&why);
    if (!theta) {
        resultLabel_->setText(tr("Cannot simulate: %1").arg(why));
        return;
    }
    const Project& project = document_->project();
    try {
        const std::unique_ptr<Simulator> simulator = project.makeSimulator();
        std::vector<double> x(std::size_t(simulator->dataDimension()));
        RandomStream rng(std::uint64_t(seedSpin_->value()), StreamPurpose::Simulator, 0);
        simulator->simulate(theta->data(), x.data(), rng);
        int nonFinite = 0;
        for (double v : x) nonFinite += std::isfinite(v) ? 0 : 1;
        resultLabel_->setText(nonFinite ? tr("x has %1 non-finite values of %2").arg(nonFinite).arg(x.size())
                                        : tr("x: %1 values").arg(x.size()));
        std::vector<double> observed;
        if (const Observation* o = project.findObservation(project.defaultObservation); o && o->data.rows() > 0)
            observed.assign(o->data.row(0).data(), o->data.row(0).data() + o->data.cols());
        preview_->setData(x, tr("simulated x"));
        preview_->setObservation(observed);
    } catch (const std::exception& error) {
        resultLabel_->setText(tr("The simulator failed: %1").arg(QString::fromUtf8(error.what())));
    }
}

}  // namespace sbiw::gui
