#include "gui/simulator_panel.h"

#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSpinBox>
#include <QStackedWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "core/random.h"
#include "gui/project_document.h"
#include "gui/trust_prompt.h"
#include "qt/script_simulator.h"
#include "qt/simulator_factory.h"
#include "simulators/batch_simulation.h"
#include "simulators/catalogue.h"
#include "widgets/data_preview_plot.h"
#include "widgets/script_editor.h"

namespace sbiw::gui {

namespace {

const char* const kKindLabels[][2] = {{"builtin", "Built-in task"},
                                      {"program", "External program"},
                                      {"script", "JavaScript script"},
                                      {"plugin", "Native plugin"},
                                      {"imported", "Imported simulations (CSV)"}};

// The inverse of QProcess::splitCommand: words with blanks or quotes are quoted.
QString joinCommand(const QStringList& words) {
    QStringList quoted;
    for (QString word : words) {
        if (word.isEmpty() || word.contains(QRegularExpression(R"([\s"])"))) {
            word.replace('"', R"(""")");
            word = '"' + word + '"';
        }
        quoted << word;
    }
    return quoted.join(' ');
}

QWidget* page(QWidget* parent, QLayout* layout) {
    auto* widget = new QWidget(parent);
    widget->setLayout(layout);
    layout->setContentsMargins(0, 0, 0, 0);
    return widget;
}

}  // namespace

SimulatorPanel::SimulatorPanel(ProjectDocument* document, QWidget* parent)
    : QWidget(parent), document_(document) {
    kindCombo_ = new QComboBox(this);
    kindCombo_->setObjectName("simulatorKind");
    for (const auto& [id, label] : kKindLabels)
        kindCombo_->addItem(tr(label), QString(id));
    pages_ = new QStackedWidget(this);

    // Built-in tasks.
    taskCombo_ = new QComboBox(this);
    taskCombo_->setObjectName("simulatorTask");
    for (const TaskInfo& task : builtinTasks())
        taskCombo_->addItem(QString::fromStdString(task.title), QString::fromStdString(task.id));
    descriptionLabel_ = new QLabel(this);
    descriptionLabel_->setWordWrap(true);
    descriptionLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* builtin = new QVBoxLayout;
    builtin->addWidget(taskCombo_);
    builtin->addWidget(descriptionLabel_);
    pages_->addWidget(page(this, builtin));

    // External program.
    commandEdit_ = new QLineEdit(this);
    commandEdit_->setObjectName("simulatorCommand");
    commandEdit_->setPlaceholderText(tr("python3 my_simulator.py --fast"));
    commandEdit_->setToolTip(
        tr("The program and its arguments; it runs in the project's folder and speaks the "
           "protocol of docs/simulator-protocol.md"));
    auto* browseProgram = new QPushButton(tr("…"), this);
    auto* commandRow = new QHBoxLayout;
    commandRow->addWidget(commandEdit_, 1);
    commandRow->addWidget(browseProgram);
    auto* program = new QFormLayout;
    program->addRow(tr("Command"), commandRow);
    pages_->addWidget(page(this, program));

    // JavaScript.
    scriptPathEdit_ = new QLineEdit(this);
    scriptPathEdit_->setObjectName("scriptPath");
    auto* browseScript = new QPushButton(tr("…"), this);
    scriptEditor_ = new widgets::ScriptEditor(this);
    scriptEditor_->setMinimumHeight(180);
    checkScriptButton_ = new QPushButton(tr("Check"), this);
    saveScriptButton_ = new QPushButton(tr("Save script"), this);
    auto* scriptRow = new QHBoxLayout;
    scriptRow->addWidget(scriptPathEdit_, 1);
    scriptRow->addWidget(browseScript);
    auto* scriptButtons = new QHBoxLayout;
    scriptButtons->addWidget(checkScriptButton_);
    scriptButtons->addWidget(saveScriptButton_);
    scriptButtons->addStretch();
    auto* script = new QVBoxLayout;
    script->addLayout(scriptRow);
    script->addWidget(scriptEditor_, 1);
    script->addLayout(scriptButtons);
    pages_->addWidget(page(this, script));

    // Native plugin.
    libraryEdit_ = new QLineEdit(this);
    libraryEdit_->setObjectName("pluginLibrary");
    auto* browseLibrary = new QPushButton(tr("…"), this);
    auto* libraryRow = new QHBoxLayout;
    libraryRow->addWidget(libraryEdit_, 1);
    libraryRow->addWidget(browseLibrary);
    auto* plugin = new QFormLayout;
    plugin->addRow(tr("Library"), libraryRow);
    pages_->addWidget(page(this, plugin));

    // Imported simulations.
    csvEdit_ = new QLineEdit(this);
    csvEdit_->setObjectName("importedCsv");
    auto* browseCsv = new QPushButton(tr("…"), this);
    auto* csvRow = new QHBoxLayout;
    csvRow->addWidget(csvEdit_, 1);
    csvRow->addWidget(browseCsv);
    auto* imported = new QFormLayout;
    imported->addRow(tr("CSV (θ, then x)"), csvRow);
    pages_->addWidget(page(this, imported));

    dataDimensionSpin_ = new QSpinBox(this);
    dataDimensionSpin_->setRange(1, 1'000'000);
    dataDimensionSpin_->setObjectName("dataDimension");
    batchSizeSpin_ = new QSpinBox(this);
    batchSizeSpin_->setRange(1, 1'000'000);
    timeoutSpin_ = new QDoubleSpinBox(this);
    timeoutSpin_->setRange(0.1, 86400);
    timeoutSpin_->setSuffix(tr(" s"));
    applyButton_ = new QPushButton(tr("Apply"), this);
    applyButton_->setObjectName("applySimulator");
    bindingLabel_ = new QLabel(this);
    bindingLabel_->setWordWrap(true);
    bindingLabel_->setStyleSheet("color: #b00020");
    auto* customForm = new QFormLayout;
    customForm->addRow(tr("Data dimension"), dataDimensionSpin_);
    customForm->addRow(tr("Rows per request"), batchSizeSpin_);
    customForm->addRow(tr("Time limit"), timeoutSpin_);
    auto* custom = new QWidget(this);
    auto* customLayout = new QVBoxLayout(custom);
    customLayout->setContentsMargins(0, 0, 0, 0);
    customLayout->addLayout(customForm);
    customLayout->addWidget(applyButton_);
    customLayout->addWidget(bindingLabel_);

    thetaEdit_ = new QLineEdit(this);
    thetaEdit_->setObjectName("simulateTheta");
    thetaEdit_->setToolTip(tr("θ as comma-separated values, in parameter order"));
    seedSpin_ = new QSpinBox(this);
    seedSpin_->setRange(0, 1'000'000'000);
    seedSpin_->setValue(1);
    simulateButton_ = new QPushButton(tr("Simulate once"), this);
    simulateButton_->setObjectName("simulateOnce");
    simulateButton_->setToolTip(tr("Run one simulation at θ and show x, or the error"));
    resultLabel_ = new QLabel(this);
    resultLabel_->setWordWrap(true);
    resultLabel_->setObjectName("simulateResult");
    preview_ = new widgets::DataPreviewPlot(this);
    preview_->setMinimumHeight(160);

    auto* thetaRow = new QHBoxLayout;
    thetaRow->addWidget(new QLabel(tr("θ"), this));
    thetaRow->addWidget(thetaEdit_, 1);
    thetaRow->addWidget(new QLabel(tr("seed"), this));
    thetaRow->addWidget(seedSpin_);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(kindCombo_);
    layout->addWidget(pages_);
    layout->addWidget(custom);
    layout->addLayout(thetaRow);
    layout->addWidget(simulateButton_);
    layout->addWidget(resultLabel_);
    layout->addWidget(preview_, 1);

    connect(document_, &ProjectDocument::projectChanged, this, &SimulatorPanel::refresh);
    // Shows the chosen kind's fields; the stack takes only the current page's height.
    const auto showKind = [this, custom](int index) {
        pages_->setCurrentIndex(index);
        for (int i = 0; i < pages_->count(); ++i)
            pages_->widget(i)->setSizePolicy(QSizePolicy::Preferred,
                                             i == index ? QSizePolicy::Preferred : QSizePolicy::Ignored);
        pages_->adjustSize();
        const bool isBuiltin = index == 0;
        custom->setVisible(!isBuiltin);
        batchSizeSpin_->setEnabled(kindCombo_->currentData() == "program");
        timeoutSpin_->setEnabled(kindCombo_->currentData() == "program" ||
                                 kindCombo_->currentData() == "script");
    };
    connect(kindCombo_, &QComboBox::currentIndexChanged, this, [this, showKind](int index) {
        showKind(index);
        if (!updating_ && index == 0) chooseTask(taskCombo_->currentIndex());
    });
    connect(taskCombo_, &QComboBox::currentIndexChanged, this, &SimulatorPanel::chooseTask);
    connect(applyButton_, &QPushButton::clicked, this,
            [this] { bindingLabel_->setText(applyBinding()); });
    connect(checkScriptButton_, &QPushButton::clicked, this, [this] {
        const QString problem = checkScript();
        bindingLabel_->setText(problem);
        if (problem.isEmpty())
            resultLabel_->setText(tr("The script defines simulate(theta, rng)."));
    });
    connect(saveScriptButton_, &QPushButton::clicked, this,
            [this] { bindingLabel_->setText(saveScript()); });
    connect(scriptPathEdit_, &QLineEdit::editingFinished, this, &SimulatorPanel::loadScriptFile);
    connect(browseProgram, &QPushButton::clicked, this, [this] {
        const QString path = browse(tr("Simulator program"), tr("All files (*)"));
        if (!path.isEmpty())
            commandEdit_->setText(joinCommand({path}));
    });
    connect(browseScript, &QPushButton::clicked, this, [this] {
        const QString path = browse(tr("Simulator script"), tr("JavaScript (*.js)"));
        if (path.isEmpty())
            return;
        scriptPathEdit_->setText(path);
        loadScriptFile();
    });
    connect(browseLibrary, &QPushButton::clicked, this, [this] {
        const QString path =
            browse(tr("Simulator plugin"), tr("Shared libraries (*.so *.dylib *.dll)"));
        if (!path.isEmpty())
            libraryEdit_->setText(path);
    });
    connect(browseCsv, &QPushButton::clicked, this, [this] {
        const QString path = browse(tr("Imported simulations"), tr("CSV files (*.csv)"));
        if (!path.isEmpty())
            csvEdit_->setText(path);
    });
    connect(simulateButton_, &QPushButton::clicked, this, &SimulatorPanel::simulateOnce);
    connect(thetaEdit_, &QLineEdit::returnPressed, this, &SimulatorPanel::simulateOnce);
    refresh();
    showKind(kindCombo_->currentIndex());
}

QString SimulatorPanel::browse(const QString& title, const QString& filter) {
    const QString folder = document_->path().isEmpty()
                               ? QDir::currentPath()
                               : QFileInfo(document_->path()).absolutePath();
    const QString path = QFileDialog::getOpenFileName(this, title, folder, filter);
    return path.isEmpty() ? QString() : pathForProject(path);
}

// Inside the project's folder a path is stored relative to it, so that the folder can move.
QString SimulatorPanel::pathForProject(const QString& absolute) const {
    if (document_->path().isEmpty())
        return absolute;
    const QDir folder = QFileInfo(document_->path()).absoluteDir();
    const QString relative = folder.relativeFilePath(absolute);
    return relative.startsWith("..") ? absolute : relative;
}

void SimulatorPanel::loadScriptFile() {
    const QString path = resolveAgainstProject(document_->project(),
                                               scriptPathEdit_->text().trimmed().toStdString());
    QFile file(path);
    if (scriptPathEdit_->text().trimmed().isEmpty() || !file.open(QIODevice::ReadOnly))
        return;
    scriptEditor_->setPlainText(QString::fromUtf8(file.readAll()));
}

QString SimulatorPanel::checkScript() {
    const QString name = QFileInfo(scriptPathEdit_->text()).fileName().isEmpty()
                             ? QStringLiteral("script")
                             : QFileInfo(scriptPathEdit_->text()).fileName();
    const QString problem = QString::fromStdString(
        ScriptSimulator::check(scriptEditor_->toPlainText().toStdString(), name.toStdString()));
    // "name.js:LINE: message": mark the line in the editor.
    const QStringList parts = problem.split(':');
    bool hasLine = false;
    const int line = parts.size() > 2 ? parts.at(1).toInt(&hasLine) : 0;
    scriptEditor_->markErrorLine(hasLine ? line : 0, problem);
    return problem;
}

QString SimulatorPanel::saveScript() {
    const QString relative = scriptPathEdit_->text().trimmed();
    if (relative.isEmpty())
        return tr("name the script file first");
    QSaveFile file(resolveAgainstProject(document_->project(), relative.toStdString()));
    if (!file.open(QIODevice::WriteOnly) || file.write(scriptEditor_->toPlainText().toUtf8()) < 0 ||
        !file.commit())
        return tr("cannot write %1: %2").arg(file.fileName(), file.errorString());
    return checkScript();
}

QString SimulatorPanel::applyBinding() {
    Project changed = document_->project();
    SimulatorBinding binding;
    binding.kind = kindCombo_->currentData().toString().toStdString();
    if (binding.kind == "builtin")
        return {};
    binding.dataDimension = dataDimensionSpin_->value();
    binding.batchSize = batchSizeSpin_->value();
    binding.timeoutSeconds = timeoutSpin_->value();
    if (binding.kind == "program")
        for (const QString& word : QProcess::splitCommand(commandEdit_->text()))
            binding.command.push_back(word.toStdString());
    else if (binding.kind == "script")
        binding.script = scriptPathEdit_->text().trimmed().toStdString();
    else if (binding.kind == "plugin")
        binding.library = libraryEdit_->text().trimmed().toStdString();
    else if (binding.kind == "imported")
        binding.csv = csvEdit_->text().trimmed().toStdString();
    if (const Problems problems = binding.validate(); !problems.empty()) {
        QStringList lines;
        for (const Problem& p : problems)
            lines << QString::fromStdString(joinPath("simulator", p.path) + ": " + p.message);
        return lines.join("\n");
    }
    if (binding.kind == "script" && !scriptEditor_->toPlainText().isEmpty())
        if (const QString problem = saveScript(); !problem.isEmpty())
            return problem;
    changed.simulator = binding;
    // Observations of another data dimension no longer fit this simulator.
    const auto misfit = [&](const Observation& o) {
        return o.data.cols() != binding.dataDimension;
    };
    changed.observations.erase(
        std::remove_if(changed.observations.begin(), changed.observations.end(), misfit),
        changed.observations.end());
    if (!changed.findObservation(changed.defaultObservation))
        changed.defaultObservation =
            changed.observations.empty() ? std::string() : changed.observations.front().name;
    document_->edit(tr("Use %1 simulator").arg(kindCombo_->currentText().toLower()), changed);
    return {};
}

std::optional<std::vector<double>> SimulatorPanel::chosenTheta(QString* why) const {
    const Project& project = document_->project();
    std::vector<double> theta;
    for (const QString& part : thetaEdit_->text().split(',', Qt::SkipEmptyParts)) {
        bool ok = false;
        theta.push_back(part.trimmed().toDouble(&ok));
        if (!ok) {
            if (why)
                *why = tr("'%1' is not a number").arg(part.trimmed());
            return std::nullopt;
        }
    }
    if (theta.size() != project.parameters.size()) {
        if (why)
            *why = tr("θ needs %1 values (one per parameter), not %2")
                       .arg(project.parameters.size())
                       .arg(theta.size());
        return std::nullopt;
    }
    try {
        if (!project.makePrior().inSupport(theta.data())) {
            if (why)
                *why = tr("θ lies outside the prior's support");
            return std::nullopt;
        }
    } catch (const std::exception& error) {
        if (why)
            *why = QString::fromUtf8(error.what());
        return std::nullopt;
    }
    return theta;
}

int SimulatorPanel::chosenSeed() const {
    return seedSpin_->value();
}

void SimulatorPanel::refresh() {
    updating_ = true;
    const Project& project = document_->project();
    const SimulatorBinding& binding = project.simulator;
    kindCombo_->setCurrentIndex(kindCombo_->findData(QString::fromStdString(binding.kind)));
    if (binding.kind != "builtin") {
        QStringList words;
        for (const std::string& w : binding.command)
            words << QString::fromStdString(w);
        commandEdit_->setText(joinCommand(words));
        if (scriptPathEdit_->text() != QString::fromStdString(binding.script)) {
            scriptPathEdit_->setText(QString::fromStdString(binding.script));
            loadScriptFile();
        }
        libraryEdit_->setText(QString::fromStdString(binding.library));
        csvEdit_->setText(QString::fromStdString(binding.csv));
        dataDimensionSpin_->setValue(binding.dataDimension);
        batchSizeSpin_->setValue(binding.batchSize);
        timeoutSpin_->setValue(binding.timeoutSeconds);
    }
    taskCombo_->setCurrentIndex(
        taskCombo_->findData(QString::fromStdString(project.simulator.task)));
    const TaskInfo* task = binding.kind == "builtin" ? findTask(project.simulator.task) : nullptr;
    if (task) {
        QStringList names;
        for (const std::string& n : task->parameterNames)
            names << QString::fromStdString(n);
        descriptionLabel_->setText(
            QStringLiteral("%1\n\nParameters: %2 · data dimension %3%4")
                .arg(QString::fromStdString(task->description), names.join(", "))
                .arg(task->dataDimension)
                .arg(task->dataKind == DataKind::TimeSeries ? tr(" (time series)") : QString()));
    }
    // A sensible θ to try: the default observation's true θ, else the prior mean.
    QString why;
    if (!chosenTheta(&why)) {
        std::vector<double> theta;
        if (const Observation* o = project.findObservation(project.defaultObservation);
            o && !o->trueParameters.empty())
            theta = o->trueParameters;
        else
            try {
                theta = project.makePrior().mean();
            } catch (const std::exception&) {
            }
        QStringList parts;
        for (double v : theta)
            parts << QString::number(v, 'g', 6);
        thetaEdit_->setText(parts.join(", "));
    }
    updating_ = false;
}

void SimulatorPanel::chooseTask(int index) {
    if (updating_ || index < 0)
        return;
    const TaskInfo* task = findTask(taskCombo_->itemData(index).toString().toStdString());
    const Project& current = document_->project();
    if (!task || (current.simulator.kind == "builtin" && task->id == current.simulator.task))
        return;
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
    if (!ensureTrusted(this, project, &why)) {
        resultLabel_->setText(tr("Not run: %1").arg(why));
        return;
    }
    TrustStore trust;
    const SingleSimulation result =
        testProjectSimulator(project, *theta, {&trust, {}}, std::uint64_t(seedSpin_->value()));
    if (!result.ok()) {
        resultLabel_->setText(
            tr("The simulator failed: %1").arg(QString::fromStdString(result.error)));
        preview_->clear();
        return;
    }
    int nonFinite = 0;
    for (double v : result.x)
        nonFinite += std::isfinite(v) ? 0 : 1;
    resultLabel_->setText(
        nonFinite ? tr("x has %1 non-finite values of %2").arg(nonFinite).arg(result.x.size())
                  : tr("x: %1 values in %2 ms")
                        .arg(result.x.size())
                        .arg(1000 * result.elapsedSeconds, 0, 'f', 1));
    std::vector<double> observed;
    if (const Observation* o = project.findObservation(project.defaultObservation);
        o && o->data.rows() > 0)
        observed.assign(o->data.row(0).data(), o->data.row(0).data() + o->data.cols());
    preview_->setData(result.x, tr("simulated x"));
    preview_->setObservation(observed);
}

}  // namespace sbiw::gui
