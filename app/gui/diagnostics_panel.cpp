#include "gui/diagnostics_panel.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

#include "gui/history_panel.h"
#include "gui/project_document.h"
#include "qt/run_history.h"
#include "widgets/calibration_plots.h"
#include "widgets/predictive_plot.h"

namespace sbiw::gui {

DiagnosticsPanel::DiagnosticsPanel(ProjectDocument* document, HistoryPanel* historyPanel,
                                   QWidget* parent)
    : QWidget(parent), document_(document), historyPanel_(historyPanel) {
    simulationsSpin_ = new QSpinBox(this);
    simulationsSpin_->setRange(2, 100'000);
    simulationsSpin_->setValue(200);
    simulationsSpin_->setObjectName("diagnosticsSimulations");
    samplesSpin_ = new QSpinBox(this);
    samplesSpin_->setRange(9, 100'000);
    samplesSpin_->setValue(999);
    samplesSpin_->setToolTip(tr("Posterior samples per simulation (ranks take values 0..L)"));
    sbcCheck_ = new QCheckBox(tr("SBC"), this);
    coverageCheck_ = new QCheckBox(tr("Expected coverage"), this);
    tarpCheck_ = new QCheckBox(tr("TARP"), this);
    ppcCheck_ = new QCheckBox(tr("Posterior predictive"), this);
    for (QCheckBox* c : {sbcCheck_, coverageCheck_, tarpCheck_, ppcCheck_})
        c->setChecked(true);
    referenceEdit_ = new QLineEdit(this);
    referenceEdit_->setPlaceholderText(tr("reference posterior samples (CSV) for C2ST — optional"));
    browseButton_ = new QPushButton(tr("…"), this);
    runButton_ = new QPushButton(tr("Run checks"), this);
    runButton_->setObjectName("runDiagnostics");
    cancelButton_ = new QPushButton(tr("Cancel"), this);
    cancelButton_->setEnabled(false);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1000);
    progress_->setTextVisible(false);
    summaryLabel_ = new QLabel(
        tr("Checks run on the run selected in the history (or the newest one with a model). NLE "
           "and NRE runs are sampled by MCMC at every simulated data set: slower."),
        this);
    summaryLabel_->setWordWrap(true);
    summaryLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    sbcPlot_ = new widgets::SbcRankPlot(this);
    coveragePlot_ = new widgets::CoveragePlot(this);
    tarpPlot_ = new widgets::TarpPlot(this);
    predictivePlot_ = new widgets::PredictivePlot(this);
    // QCustomPlot cannot paint at zero size: keep the grid from squeezing a plot away.
    for (QWidget* plot :
         std::initializer_list<QWidget*>{sbcPlot_, coveragePlot_, tarpPlot_, predictivePlot_})
        plot->setMinimumSize(240, 160);

    auto* checks = new QHBoxLayout;
    for (QCheckBox* c : {sbcCheck_, coverageCheck_, tarpCheck_, ppcCheck_})
        checks->addWidget(c);
    checks->addStretch();
    auto* reference = new QHBoxLayout;
    reference->addWidget(referenceEdit_, 1);
    reference->addWidget(browseButton_);
    auto* form = new QFormLayout;
    form->addRow(tr("Checks"), checks);
    form->addRow(tr("Simulations"), simulationsSpin_);
    form->addRow(tr("Samples each"), samplesSpin_);
    form->addRow(tr("C2ST"), reference);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(runButton_);
    buttons->addWidget(cancelButton_);
    buttons->addWidget(progress_, 1);
    // The plots scroll: many parameters need more height for their SBC panels than the tab has.
    auto* plotArea = new QWidget;
    plotGrid_ = new QGridLayout(plotArea);
    plotGrid_->setContentsMargins(0, 0, 0, 0);
    arrangePlots(1);
    plotScroll_ = new QScrollArea(this);
    plotScroll_->setWidget(plotArea);
    plotScroll_->setWidgetResizable(true);
    plotScroll_->setFrameShape(QFrame::NoFrame);
    plotScroll_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(buttons);
    layout->addWidget(summaryLabel_);
    layout->addWidget(plotScroll_, 1);

    connect(browseButton_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Reference samples"), {},
                                                          tr("CSV files (*.csv)"));
        if (!path.isEmpty())
            referenceEdit_->setText(path);
    });
    connect(runButton_, &QPushButton::clicked, this, [this] {
        if (const QString why = start(); !why.isEmpty())
            summaryLabel_->setText(why);
    });
    connect(cancelButton_, &QPushButton::clicked, this, &DiagnosticsPanel::cancel);
}

DiagnosticsPanel::~DiagnosticsPanel() {
    cancel();
    if (thread_)
        thread_->wait();
}

bool DiagnosticsPanel::isRunning() const {
    return thread_ && thread_->isRunning();
}

void DiagnosticsPanel::cancel() {
    cancel_ = true;
}

QString DiagnosticsPanel::start(qint64 runId) {
    if (isRunning())
        return tr("checks are running already");
    const QString historyPath = historyPanel_->historyPath();
    if (runId == 0) {
        const std::vector<qint64> selected = historyPanel_->selectedRuns();
        if (selected.size() == 1)
            runId = selected.front();
    }
    if (runId == 0) {
        try {
            RunHistory history(historyPath);
            RunQuery query;
            query.projectHash = projectContentHash(document_->project());
            query.state = RunState::Finished;
            for (const RunSummary& run : history.listRuns(query))
                if (run.hasModel) {
                    runId = run.id;
                    break;
                }
        } catch (const std::exception& error) {
            return QString::fromUtf8(error.what());
        }
    }
    if (runId == 0)
        return tr(
            "no finished run of this project with a model (NPE, NLE or NRE) to check: "
            "train one first");
    DiagnosticsRequest request;
    request.sbc = sbcCheck_->isChecked();
    request.coverage = coverageCheck_->isChecked();
    request.tarp = tarpCheck_->isChecked();
    request.ppc = ppcCheck_->isChecked();
    request.c2stReference = referenceEdit_->text().trimmed();
    request.simulations = simulationsSpin_->value();
    request.posteriorSamples = samplesSpin_->value();
    if (const Problems problems = request.validate(); !problems.empty())
        return QString::fromStdString(problems.front().toString());

    cancel_ = false;
    runButton_->setEnabled(false);
    cancelButton_->setEnabled(true);
    progress_->setValue(0);
    summaryLabel_->setText(tr("Checking run %1…").arg(runId));
    const Project project = document_->project();
    thread_.reset(QThread::create([this, historyPath, runId, project, request] {
        LoopControl control;
        control.cancelFlag = &cancel_;
        control.progressIntervalSeconds = 0.2;
        control.onProgress = [this](const LoopProgress& p) {
            const int value = p.total > 0 ? int(1000 * p.completed / p.total) : 0;
            QMetaObject::invokeMethod(
                progress_, [this, value] { progress_->setValue(value); }, Qt::QueuedConnection);
        };
        DiagnosticsOutcome outcome;
        QString error;
        try {
            RunHistory history(historyPath);  // this thread's own connection
            outcome = diagnoseRun(history, runId, project, request, control);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        QMetaObject::invokeMethod(
            this,
            [this, outcome, error] {
                runButton_->setEnabled(true);
                cancelButton_->setEnabled(false);
                if (!error.isEmpty()) {
                    summaryLabel_->setText(tr("The checks failed: %1").arg(error));
                } else if (outcome.cancelled) {
                    summaryLabel_->setText(tr("Cancelled; nothing was stored."));
                } else {
                    progress_->setValue(1000);
                    show(outcome);
                    historyPanel_->refresh();
                }
                Q_EMIT finished(error.isEmpty() && !outcome.cancelled);
            },
            Qt::QueuedConnection);
    }));
    thread_->start();
    return {};
}

void DiagnosticsPanel::arrangePlots(int sbcRows) {
    for (QWidget* plot :
         std::initializer_list<QWidget*>{sbcPlot_, coveragePlot_, tarpPlot_, predictivePlot_})
        plotGrid_->removeWidget(plot);
    if (sbcRows <= 1) {  // up to 4 parameters: the four plots side by side, two by two
        for (QWidget* plot :
             std::initializer_list<QWidget*>{sbcPlot_, coveragePlot_, tarpPlot_, predictivePlot_})
            plot->setMinimumHeight(160);
        plotGrid_->addWidget(sbcPlot_, 0, 0);
        plotGrid_->addWidget(coveragePlot_, 0, 1);
        plotGrid_->addWidget(tarpPlot_, 1, 0);
        plotGrid_->addWidget(predictivePlot_, 1, 1);
        return;
    }
    // More: the rank panels get the full width and a legible height per row (the area scrolls),
    // the predictive plot (one column per data dimension) the full width below.
    sbcPlot_->setMinimumHeight(kSbcRowHeight * sbcRows + 30);
    plotGrid_->addWidget(sbcPlot_, 0, 0, 1, 2);
    plotGrid_->addWidget(coveragePlot_, 1, 0);
    plotGrid_->addWidget(tarpPlot_, 1, 1);
    plotGrid_->addWidget(predictivePlot_, 2, 0, 1, 2);
    for (QWidget* plot : std::initializer_list<QWidget*>{coveragePlot_, tarpPlot_, predictivePlot_})
        plot->setMinimumHeight(260);
}

void DiagnosticsPanel::show(const DiagnosticsOutcome& outcome) {
    QStringList names;
    for (const std::string& n : outcome.parameterNames)
        names << QString::fromStdString(n);
    summaryLabel_->setText(outcome.summary.join("\n"));
    if (outcome.sbc) {
        const int parameters = int(outcome.sbc->parameters.size());
        arrangePlots((parameters + kSbcColumns - 1) / kSbcColumns);
        sbcPlot_->setResult(*outcome.sbc, names, kSbcColumns);
    }
    if (outcome.coverage)
        coveragePlot_->setResult(*outcome.coverage);
    if (outcome.tarp)
        tarpPlot_->setResult(*outcome.tarp);
    if (outcome.ppc)
        predictivePlot_->setResult(*outcome.ppc);
}

}  // namespace sbiw::gui
