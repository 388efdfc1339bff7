#include "gui/observation_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QVBoxLayout>

#include "core/csv.h"
#include "core/random.h"
#include "gui/project_document.h"
#include "gui/simulator_panel.h"
#include "gui/trust_prompt.h"
#include "qt/simulator_factory.h"

namespace sbiw::gui {

namespace {

QString preview(const double* values, Eigen::Index count, int shown = 6) {
    QStringList parts;
    for (Eigen::Index i = 0; i < std::min<Eigen::Index>(count, shown); ++i)
        parts << QString::number(values[i], 'g', 4);
    if (count > shown)
        parts << QStringLiteral("… (%1 values)").arg(count);
    return parts.join(", ");
}

std::string uniqueName(const Project& project, const std::string& base) {
    if (!project.findObservation(base))
        return base;
    for (int n = 2;; ++n)
        if (std::string name = base + " " + std::to_string(n); !project.findObservation(name))
            return name;
}

}  // namespace

ObservationPanel::ObservationPanel(ProjectDocument* document, SimulatorPanel* simulatorPanel,
                                   QWidget* parent)
    : QWidget(parent), document_(document), simulatorPanel_(simulatorPanel) {
    combo_ = new QComboBox(this);
    combo_->setObjectName("observationCombo");
    detailsLabel_ = new QLabel(this);
    detailsLabel_->setWordWrap(true);
    detailsLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    importButton_ = new QPushButton(tr("Import CSV…"), this);
    generateButton_ = new QPushButton(tr("Generate from θ"), this);
    generateButton_->setToolTip(
        tr("Simulate at the θ of the simulator panel and condition on the result; "
           "that θ is marked as the true value on every plot"));
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(importButton_);
    buttons->addWidget(generateButton_);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(combo_);
    layout->addWidget(detailsLabel_);
    layout->addLayout(buttons);
    layout->addStretch();

    connect(document_, &ProjectDocument::projectChanged, this, &ObservationPanel::refresh);
    connect(combo_, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (updating_ || index < 0)
            return;
        Project changed = document_->project();
        changed.defaultObservation = combo_->itemText(index).toStdString();
        document_->edit(tr("Condition on %1").arg(combo_->itemText(index)), changed);
    });
    connect(importButton_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Import observation"), {},
                                                          tr("CSV files (*.csv)"));
        if (path.isEmpty())
            return;
        if (const QString error = importCsv(path); !error.isEmpty())
            QMessageBox::warning(this, tr("Import observation"), error);
    });
    connect(generateButton_, &QPushButton::clicked, this, [this] {
        if (const QString error = generateFromTheta(); !error.isEmpty())
            QMessageBox::warning(this, tr("Generate observation"), error);
    });
    refresh();
}

void ObservationPanel::refresh() {
    updating_ = true;
    const Project& project = document_->project();
    combo_->clear();
    for (const Observation& o : project.observations)
        combo_->addItem(QString::fromStdString(o.name));
    combo_->setCurrentIndex(combo_->findText(QString::fromStdString(project.defaultObservation)));
    if (const Observation* o = project.findObservation(project.defaultObservation)) {
        QString text = tr("x_o: %1").arg(preview(o->data.data(), o->data.cols()));
        if (o->data.rows() > 1)
            text += tr("\n%1 i.i.d. rows").arg(o->data.rows());
        if (!o->trueParameters.empty())
            text += tr("\ntrue θ: %1")
                        .arg(preview(o->trueParameters.data(),
                                     Eigen::Index(o->trueParameters.size()), 10));
        if (!o->note.empty())
            text += "\n" + QString::fromStdString(o->note);
        detailsLabel_->setText(text);
    } else {
        detailsLabel_->setText(tr("No observation: import one or generate one from θ."));
    }
    updating_ = false;
}

QString ObservationPanel::importCsv(const QString& path) {
    Project changed = document_->project();
    try {
        const CsvTable table = readCsv(path.toStdString());
        if (table.values.rows() < 1)
            return tr("%1 holds no data row").arg(path);
        if (table.values.cols() != changed.dataDimension())
            return tr("%1 has %2 columns; the simulator produces %3 values")
                .arg(path)
                .arg(table.values.cols())
                .arg(changed.dataDimension());
        if (!table.values.allFinite())
            return tr("%1 holds values that are not finite numbers").arg(path);
        Observation o;
        o.name = uniqueName(changed, QFileInfo(path).completeBaseName().toStdString());
        o.data = table.values;
        o.note = "imported from " + QFileInfo(path).absoluteFilePath().toStdString();
        changed.observations.push_back(o);
        changed.defaultObservation = o.name;
        document_->edit(tr("Import observation %1").arg(QString::fromStdString(o.name)), changed);
        return {};
    } catch (const std::exception& error) {
        return QString::fromUtf8(error.what());
    }
}

QString ObservationPanel::generateFromTheta() {
    QString why;
    const std::optional<std::vector<double>> theta = simulatorPanel_->chosenTheta(&why);
    if (!theta)
        return tr("Choose θ in the simulator panel first: %1").arg(why);
    Project changed = document_->project();
    if (!ensureTrusted(this, changed, &why))
        return tr("Not run: %1").arg(why);
    try {
        const std::unique_ptr<Simulator> simulator = makeTrustedSimulator(changed);
        Observation o;
        o.data = Matrix(1, simulator->dataDimension());
        const int seed = simulatorPanel_->chosenSeed();
        RandomStream rng(std::uint64_t(seed), StreamPurpose::Observation, 0);
        simulator->simulate(theta->data(), o.data.data(), rng);
        if (!o.data.allFinite())
            return tr("The simulator gave non-finite values at this θ; try another");
        o.trueParameters = *theta;
        o.name = uniqueName(changed, "generated");
        o.note = "simulated at the true θ with seed " + std::to_string(seed);
        changed.observations.push_back(o);
        changed.defaultObservation = o.name;
        document_->edit(tr("Generate observation %1").arg(QString::fromStdString(o.name)), changed);
        return {};
    } catch (const std::exception& error) {
        return tr("The simulator failed: %1").arg(QString::fromUtf8(error.what()));
    }
}

}  // namespace sbiw::gui
