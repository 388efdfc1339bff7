#include "qt/training_controller.h"

#include <QMetaObject>

namespace sbiw {

TrainingController::TrainingController(QObject* parent) : QObject(parent) {
    qRegisterMetaType<sbiw::EpochReport>();
    qRegisterMetaType<sbiw::PosteriorSnapshot>();
    qRegisterMetaType<sbiw::RunJobResult>();
}

TrainingController::~TrainingController() {
    cancel();
    waitForFinished();
}

bool TrainingController::isRunning() const {
    return thread_ && thread_->isRunning();
}

void TrainingController::cancel() {
    cancel_ = true;
}

void TrainingController::waitForFinished() {
    if (thread_)
        thread_->wait();
}

bool TrainingController::start(const RunJob& job) {
    if (isRunning())
        return false;
    if (thread_)
        thread_->wait();
    cancel_ = false;
    {
        std::lock_guard<std::mutex> lock(snapshotMutex_);
        pendingSnapshot_.reset();
    }
    // Hooks run on the worker thread; each hands a copy of its values to the GUI thread.
    TrainingHooks hooks;
    hooks.cancel = &cancel_;
    hooks.onStage = [this](const std::string& stage) {
        QMetaObject::invokeMethod(
            this, [this, s = QString::fromStdString(stage)] { Q_EMIT stageChanged(s); },
            Qt::QueuedConnection);
    };
    hooks.onSimulationProgress = [this](std::int64_t done, std::int64_t total) {
        QMetaObject::invokeMethod(
            this, [this, done, total] { Q_EMIT simulationProgress(done, total); },
            Qt::QueuedConnection);
    };
    hooks.onEpoch = [this](const EpochReport& report) {
        QMetaObject::invokeMethod(
            this, [this, report] { Q_EMIT epochReported(report); }, Qt::QueuedConnection);
        return false;
    };
    hooks.onTrialEpoch = [this](const std::string& candidate, const EpochReport& report) {
        QMetaObject::invokeMethod(
            this,
            [this, c = QString::fromStdString(candidate), report] {
                Q_EMIT trialEpochReported(c, report);
            },
            Qt::QueuedConnection);
    };
    hooks.onSnapshot = [this](const PosteriorSnapshot& snapshot) {
        bool deliveryQueued;
        {
            std::lock_guard<std::mutex> lock(snapshotMutex_);
            deliveryQueued = pendingSnapshot_.has_value();
            pendingSnapshot_ = snapshot;
        }
        if (!deliveryQueued)
            QMetaObject::invokeMethod(
                this, [this] { deliverSnapshot(); }, Qt::QueuedConnection);
    };
    RunJob logged = job;
    if (!logged.onAbcPopulation)
        logged.onAbcPopulation = [this](int population, double epsilon, double acceptance) {
            QMetaObject::invokeMethod(
                this,
                [this, population, epsilon, acceptance] {
                    Q_EMIT abcPopulationReported(population, epsilon, acceptance);
                },
                Qt::QueuedConnection);
        };
    if (!logged.simulatorLog)
        logged.simulatorLog = [this](const std::string& line) {
            QMetaObject::invokeMethod(
                this, [this, l = QString::fromStdString(line)] { Q_EMIT simulatorLog(l); },
                Qt::QueuedConnection);
        };
    thread_.reset(QThread::create([this, logged, hooks] {
        RunJobResult result = runJob(logged, hooks);
        QMetaObject::invokeMethod(
            this,
            [this, result = std::move(result)] {
                {
                    // The final samples supersede a snapshot not yet drawn.
                    std::lock_guard<std::mutex> lock(snapshotMutex_);
                    pendingSnapshot_.reset();
                }
                Q_EMIT finished(result);
            },
            Qt::QueuedConnection);
    }));
    thread_->setObjectName(QStringLiteral("training"));
    thread_->start();
    Q_EMIT started();
    return true;
}

void TrainingController::deliverSnapshot() {
    std::optional<PosteriorSnapshot> snapshot;
    {
        std::lock_guard<std::mutex> lock(snapshotMutex_);
        snapshot.swap(pendingSnapshot_);
    }
    if (snapshot)
        Q_EMIT snapshotReady(*snapshot);
}

}  // namespace sbiw
