#include "gui/posterior_view.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QMessageBox>
#include <QPushButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <cmath>

#include "core/csv.h"
#include "gui/project_document.h"
#include "widgets/corner_plot.h"
#include "widgets/plot_export.h"

namespace sbiw::gui {

namespace {

// Axis range per parameter: the prior's support where it is bounded, else its mean ± 4 sd.
std::vector<std::pair<double, double>> priorRanges(const JointPrior& prior) {
    std::vector<std::pair<double, double>> ranges;
    const std::vector<double> mean = prior.mean(), variance = prior.variance();
    for (int i = 0; i < prior.dimension(); ++i) {
        const Interval support = prior.support(i);
        const double sd = std::sqrt(variance[std::size_t(i)]);
        double low = std::isfinite(support.lower) ? support.lower : mean[std::size_t(i)] - 4 * sd;
        double high = std::isfinite(support.upper) ? support.upper : mean[std::size_t(i)] + 4 * sd;
        if (!(high > low))
            high = low + 1;
        ranges.emplace_back(low, high);
    }
    return ranges;
}

}  // namespace

PosteriorView::PosteriorView(ProjectDocument* document, QWidget* parent)
    : QWidget(parent), document_(document) {
    corner_ = new widgets::CornerPlot(this);
    referenceCheck_ = new QCheckBox(tr("Reference samples"), this);
    referenceCheck_->setEnabled(false);
    loadReferenceButton_ = new QPushButton(tr("Load reference…"), this);
    loadReferenceButton_->setToolTip(
        tr("Samples of the true posterior (CSV, one column per parameter) to compare with"));
    exportPlotButton_ = new QPushButton(tr("Export plot…"), this);
    exportSamplesButton_ = new QPushButton(tr("Export samples…"), this);
    auto* bar = new QHBoxLayout;
    bar->addStretch(1);
    bar->addWidget(referenceCheck_);
    bar->addWidget(loadReferenceButton_);
    bar->addWidget(exportPlotButton_);
    bar->addWidget(exportSamplesButton_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(corner_, 1);

    connect(document_, &ProjectDocument::projectChanged, this, &PosteriorView::refreshAxes);
    connect(referenceCheck_, &QCheckBox::toggled, this, &PosteriorView::updateOverlays);
    connect(loadReferenceButton_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Reference samples"), {},
                                                          tr("CSV files (*.csv)"));
        if (path.isEmpty())
            return;
        try {
            const CsvTable table = readCsv(path.toStdString());
            if (table.values.cols() != int(document_->project().parameters.size()))
                throw std::runtime_error(
                    QStringLiteral("%1 has %2 columns, the project %3 parameters")
                        .arg(path)
                        .arg(table.values.cols())
                        .arg(document_->project().parameters.size())
                        .toStdString());
            reference_ = table.values;
            referenceName_ = tr("reference");
            referenceCheck_->setEnabled(true);
            referenceCheck_->setChecked(true);
            updateOverlays();
        } catch (const std::exception& error) {
            QMessageBox::warning(this, tr("Reference samples"), QString::fromUtf8(error.what()));
        }
    });
    connect(exportPlotButton_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export plot"), "posterior.png",
                                                          widgets::plotFileFilter());
        if (path.isEmpty())
            return;
        if (const QString error = exportPlot(path); !error.isEmpty())
            QMessageBox::warning(this, tr("Export plot"), error);
    });
    connect(exportSamplesButton_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Export samples"), "posterior_samples.csv", tr("CSV files (*.csv)"));
        if (path.isEmpty())
            return;
        if (const QString error = exportSamples(path); !error.isEmpty())
            QMessageBox::warning(this, tr("Export samples"), error);
    });
    corner_->setTitle(tr("No posterior yet: press Start training (Ctrl+R)"));
    refreshAxes();
}

void PosteriorView::refreshAxes() {
    const Project& project = document_->project();
    QStringList names;
    for (const ParameterSpec& p : project.parameters)
        names << QString::fromStdString(p.name);
    try {
        const JointPrior prior = project.makePrior();
        const auto ranges = priorRanges(prior);
        corner_->setParameters(names, ranges);
        std::vector<std::pair<double, double>> bounds;
        for (int i = 0; i < prior.dimension(); ++i)
            bounds.emplace_back(prior.support(i).lower, prior.support(i).upper);
        corner_->setPriorBounds(bounds);
    } catch (const std::exception&) {
        return;  // an invalid prior: the parameters panel says why
    }
    corner_->setShowPriorBounds(project.view.showPriorBounds);
    corner_->setBins(project.view.histogramBins);
    corner_->setCredibleLevels(project.view.credibleLevels);
    const Observation* observation = project.findObservation(project.defaultObservation);
    corner_->setTrueParameters(observation && project.view.showTrueParameters
                                   ? observation->trueParameters
                                   : std::vector<double>{});
    if (samples_.cols() != int(project.parameters.size()))
        samples_ = Matrix();
    if (reference_.cols() != int(project.parameters.size())) {
        reference_ = Matrix();
        referenceCheck_->setEnabled(false);
    }
    updateOverlays();
    corner_->setSamples(samples_);
}

void PosteriorView::showSnapshot(const PosteriorSnapshot& snapshot) {
    // Epoch 0 of a round: nothing was trained (an SMC-ABC population).
    showSamples(snapshot.samples,
                snapshot.round > 0 && snapshot.epoch == 0
                    ? tr("Round %1 (%2 samples)").arg(snapshot.round).arg(snapshot.samples.rows())
                : snapshot.round > 0
                    ? tr("Round %1, epoch %2 (%3 samples)")
                          .arg(snapshot.round)
                          .arg(snapshot.epoch)
                          .arg(snapshot.samples.rows())
                    : tr("Epoch %1 (%2 samples)").arg(snapshot.epoch).arg(snapshot.samples.rows()));
}

void PosteriorView::showSamples(const Matrix& samples, const QString& title) {
    samples_ = samples;
    if (computing_) {
        waiting_ = std::make_pair(samples, title);  // replaces an older one still waiting
        return;
    }
    startRedraw(samples, title);
}

// The densities (histograms, smoothing, contours) take 5-15 ms for a 10-D corner plot; they are
// computed on a worker so that the GUI thread only draws (docs/BENCHMARKS.md, GUI latency).
void PosteriorView::startRedraw(const Matrix& samples, const QString& title) {
    computing_ = true;
    const std::vector<std::pair<double, double>> ranges = corner_->ranges();
    const CornerDensitySettings settings = corner_->densitySettings();
    auto* watcher = new QFutureWatcher<CornerDensities>(this);
    connect(watcher, &QFutureWatcher<CornerDensities>::finished, this,
            [this, watcher, samples, title, ranges] {
                watcher->deleteLater();
                // Axes changed meanwhile (another project, edited priors): the plot recomputes
                // itself.
                if (corner_->ranges() == ranges && samples.cols() == corner_->parameterCount())
                    corner_->setSamples(samples, watcher->result());
                else
                    corner_->setSamples(samples);
                corner_->setTitle(title);
                ++refreshCount_;
                computing_ = false;
                Q_EMIT refreshed();
                if (waiting_) {
                    const auto [next, nextTitle] = std::move(*waiting_);
                    waiting_.reset();
                    startRedraw(next, nextTitle);
                }
            });
    watcher->setFuture(QtConcurrent::run([samples, ranges, settings] {
        return samples.cols() == Eigen::Index(ranges.size())
                   ? computeCornerDensities(samples, ranges, settings)
                   : CornerDensities{};
    }));
}

void PosteriorView::setRunOverlays(const std::vector<std::pair<QString, Matrix>>& runs) {
    runOverlays_ = runs;
    updateOverlays();
}

void PosteriorView::updateOverlays() {
    static const QColor palette[] = {QColor(230, 97, 1), QColor(94, 60, 153), QColor(27, 158, 119),
                                     QColor(231, 41, 138), QColor(102, 102, 102)};
    std::vector<widgets::CornerPlot::Overlay> overlays;
    if (referenceCheck_->isChecked() && reference_.rows() > 0)
        overlays.push_back({referenceName_, reference_, QColor(0, 0, 0)});
    int color = 0;
    for (const auto& [label, samples] : runOverlays_)
        if (samples.cols() == int(document_->project().parameters.size()))
            overlays.push_back({label, samples, palette[color++ % 5]});
    corner_->setOverlays(overlays);
}

QString PosteriorView::exportPlot(const QString& path) {
    return widgets::savePlot(*corner_->plot(), path);
}

QString PosteriorView::exportSamples(const QString& path) const {
    if (samples_.rows() == 0)
        return tr("there are no posterior samples yet");
    try {
        writeCsv(path.toStdString(), document_->project().parameterNames(), samples_);
        return {};
    } catch (const std::exception& error) {
        return QString::fromUtf8(error.what());
    }
}

}  // namespace sbiw::gui
