#include "qt/script_simulator.h"

#include <QJSEngine>
#include <QJSValue>
#include <QObject>
#include <QString>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/csv.h"

namespace sbiw {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The `rng` argument of simulate(theta, rng): draws from the current simulation's stream.
class ScriptRng : public QObject {
    Q_OBJECT
  public:
    RandomStream* stream = nullptr;

    Q_INVOKABLE double uniform() { return stream->uniform(); }
    Q_INVOKABLE double uniform(double low, double high) {
        if (!(low < high))
            return fail("rng.uniform(low, high): low must be below high");
        return stream->uniform(low, high);
    }
    Q_INVOKABLE double normal() { return stream->normal(); }
    Q_INVOKABLE double normal(double mean, double sd) {
        if (!(sd >= 0.0))
            return fail("rng.normal(mean, sd): sd must not be negative");
        return stream->normal(mean, sd);
    }
    Q_INVOKABLE double exponential(double rate) {
        if (!(rate > 0.0))
            return fail("rng.exponential(rate): rate must be positive");
        return stream->exponential(rate);
    }
    Q_INVOKABLE double gamma(double shape) { return gamma(shape, 1.0); }
    Q_INVOKABLE double gamma(double shape, double scale) {
        if (!(shape > 0.0 && scale > 0.0))
            return fail("rng.gamma(shape, scale): shape and scale must be positive");
        return stream->gamma(shape, scale);
    }
    Q_INVOKABLE double beta(double a, double b) {
        if (!(a > 0.0 && b > 0.0))
            return fail("rng.beta(a, b): a and b must be positive");
        return stream->beta(a, b);
    }
    Q_INVOKABLE double poisson(double mean) {
        if (!(mean >= 0.0) || !std::isfinite(mean))
            return fail("rng.poisson(mean): mean must be finite and >= 0");
        return double(stream->poisson(mean));
    }
    Q_INVOKABLE double binomial(double n, double p) {
        if (!(n >= 0.0 && n == std::floor(n) && n < 9.0e15) || !(p >= 0.0 && p <= 1.0))
            return fail("rng.binomial(n, p): n must be a whole number >= 0 and p in [0, 1]");
        return double(stream->binomial(std::int64_t(n), p));
    }
    Q_INVOKABLE double integer(double n) {
        if (!(n >= 1.0 && n == std::floor(n) && n < 9.0e15))
            return fail("rng.integer(n): n must be a whole number >= 1");
        return double(stream->below(std::uint64_t(n)));
    }

  private:
    double fail(const char* message) {
        if (QJSEngine* engine = qjsEngine(this))
            engine->throwError(QJSValue::RangeError, QString::fromUtf8(message));
        return kNaN;
    }
};

class ScriptConsole : public QObject {
    Q_OBJECT
  public:
    std::function<void(const std::string&)> log;
    std::mutex* logMutex = nullptr;
    Q_INVOKABLE void write(const QString& line) {
        if (!log)
            return;
        std::lock_guard<std::mutex> lock(*logMutex);
        log(line.toStdString());
    }
};

// "moons.js:12: TypeError: ..." from an error value.
std::string describeError(const QJSValue& error, const std::string& sourceName) {
    const int line = error.property("lineNumber").toInt();
    std::string text = sourceName;
    if (line > 0)
        text += ":" + std::to_string(line);
    return text + ": " + error.toString().toStdString();
}

// A watchdog slot: one engine's running call and its deadline.
struct CallSlot {
    std::mutex mutex;
    QJSEngine* engine = nullptr;  // null once the engine is gone
    bool active = false;
    Clock::time_point deadline;
};

}  // namespace

struct ScriptSimulator::Shared {
    std::uint64_t id = 0;
    std::mutex slotsMutex;
    std::vector<std::shared_ptr<CallSlot>> slots;
    std::mutex logMutex;
    std::mutex stopMutex;
    std::condition_variable stopSignal;
    bool stopping = false;
    std::thread watchdog;

    void watch() {
        std::unique_lock<std::mutex> lock(stopMutex);
        while (
            !stopSignal.wait_for(lock, std::chrono::milliseconds(10), [&] { return stopping; })) {
            std::vector<std::shared_ptr<CallSlot>> current;
            {
                std::lock_guard<std::mutex> slotsLock(slotsMutex);
                // Worker threads end after each batch, and their engines with them.
                slots.erase(std::remove_if(slots.begin(), slots.end(),
                                           [](const std::shared_ptr<CallSlot>& slot) {
                                               std::lock_guard<std::mutex> slotLock(slot->mutex);
                                               return slot->engine == nullptr;
                                           }),
                            slots.end());
                current = slots;
            }
            const auto now = Clock::now();
            for (const auto& slot : current) {
                std::lock_guard<std::mutex> slotLock(slot->mutex);
                if (slot->engine && slot->active && now >= slot->deadline)
                    slot->engine->setInterrupted(true);
            }
        }
    }
};

namespace {

// One engine per thread and simulator: QJSEngine belongs to the thread that made it.
struct ThreadEngine {
    std::shared_ptr<CallSlot> slot = std::make_shared<CallSlot>();
    std::unique_ptr<QJSEngine> engine;
    ScriptRng* rng = nullptr;  // children of the engine
    ScriptConsole* console = nullptr;
    QJSValue rngValue;
    QJSValue simulate;

    ~ThreadEngine() {
        {
            std::lock_guard<std::mutex> lock(slot->mutex);
            slot->engine = nullptr;
        }
        simulate = QJSValue();
        rngValue = QJSValue();
        engine.reset();
    }
};

struct EngineEntry {
    std::weak_ptr<ScriptSimulator::Shared> owner;
    std::unique_ptr<ThreadEngine> engine;
};

std::unordered_map<std::uint64_t, EngineEntry>& threadEngines() {
    thread_local std::unordered_map<std::uint64_t, EngineEntry> engines;
    return engines;
}

std::atomic<std::uint64_t> nextSimulatorId{1};

// Loads `source` into a fresh engine. Returns an error text, or empty with `out` set up.
std::string loadScript(const ScriptSimulatorSettings& settings, ThreadEngine& out,
                       std::mutex* logMutex) {
    out.engine = std::make_unique<QJSEngine>();
    QJSEngine& engine = *out.engine;
    out.rng = new ScriptRng;
    out.rng->setParent(&engine);
    out.console = new ScriptConsole;
    out.console->setParent(&engine);
    out.console->log = settings.log;
    out.console->logMutex = logMutex;
    out.rngValue = engine.newQObject(out.rng);
    QJSValue global = engine.globalObject();
    global.setProperty("__sbiwConsole", engine.newQObject(out.console));
    const QJSValue setup = engine.evaluate(
        "var console = { log: function() { "
        "__sbiwConsole.write(Array.prototype.join.call(arguments, ' ')); } };");
    if (setup.isError())
        return "internal: " + setup.toString().toStdString();
    const QJSValue loaded = engine.evaluate(QString::fromStdString(settings.source),
                                            QString::fromStdString(settings.sourceName), 1);
    if (loaded.isError())
        return describeError(loaded, settings.sourceName);
    out.simulate = global.property("simulate");
    if (!out.simulate.isCallable())
        return settings.sourceName +
               ": defines no function simulate(theta, rng) (it must return an array of numbers)";
    return {};
}

}  // namespace

Problems ScriptSimulatorSettings::validate() const {
    Problems problems;
    if (source.empty())
        problems.push_back({"script", "is empty: define function simulate(theta, rng)"});
    if (parameterDimension < 1)
        problems.push_back({"parameter_dimension", "must be at least 1"});
    if (dataDimension < 1)
        problems.push_back({"data_dimension", "must be at least 1"});
    if (!(timeoutSeconds > 0.0))
        problems.push_back({"timeout_seconds", "must be positive"});
    return problems;
}

std::string ScriptSimulator::check(const std::string& source, const std::string& sourceName) {
    ScriptSimulatorSettings settings;
    settings.source = source;
    settings.sourceName = sourceName;
    ThreadEngine engine;
    return loadScript(settings, engine, nullptr);
}

ScriptSimulator::ScriptSimulator(ScriptSimulatorSettings settings)
    : settings_(std::move(settings)), shared_(std::make_shared<Shared>()) {
    throwIfProblems(settings_.validate());
    if (const std::string problem = check(settings_.source, settings_.sourceName); !problem.empty())
        throw std::runtime_error(problem);
    shared_->id = nextSimulatorId++;
    Shared* shared = shared_.get();
    shared_->watchdog = std::thread([shared] { shared->watch(); });
}

ScriptSimulator::~ScriptSimulator() {
    {
        std::lock_guard<std::mutex> lock(shared_->stopMutex);
        shared_->stopping = true;
    }
    shared_->stopSignal.notify_all();
    shared_->watchdog.join();
    threadEngines().erase(shared_->id);  // this thread's engine; worker threads' go with them
}

void ScriptSimulator::simulate(const double* theta, double* x, RandomStream& rng) const {
    auto& engines = threadEngines();
    auto found = engines.find(shared_->id);
    if (found == engines.end()) {
        // Engines of simulators that are gone would otherwise stay until this thread ends.
        for (auto it = engines.begin(); it != engines.end();)
            it = it->second.owner.expired() ? engines.erase(it) : std::next(it);
        EngineEntry entry{shared_, std::make_unique<ThreadEngine>()};
        if (const std::string problem = loadScript(settings_, *entry.engine, &shared_->logMutex);
            !problem.empty())
            throw std::runtime_error(problem);
        {
            std::lock_guard<std::mutex> lock(shared_->slotsMutex);
            entry.engine->slot->engine = entry.engine->engine.get();
            shared_->slots.push_back(entry.engine->slot);
        }
        found = engines.emplace(shared_->id, std::move(entry)).first;
    }
    ThreadEngine& te = *found->second.engine;
    QJSEngine& engine = *te.engine;
    const int thetaDim = settings_.parameterDimension;
    const int dataDim = settings_.dataDimension;
    auto at = [&] { return " at θ = " + formatTheta(theta, thetaDim); };

    QJSValue thetaValue = engine.newArray(uint(thetaDim));
    for (int i = 0; i < thetaDim; ++i)
        thetaValue.setProperty(quint32(i), theta[i]);
    te.rng->stream = &rng;
    {
        std::lock_guard<std::mutex> lock(te.slot->mutex);
        engine.setInterrupted(false);
        te.slot->deadline =
            Clock::now() + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(settings_.timeoutSeconds));
        te.slot->active = true;
    }
    const QJSValue result = te.simulate.call({thetaValue, te.rngValue});
    bool interrupted = false;
    {
        std::lock_guard<std::mutex> lock(te.slot->mutex);
        te.slot->active = false;
        interrupted = engine.isInterrupted();
        engine.setInterrupted(false);
    }
    te.rng->stream = nullptr;
    if (interrupted)
        throw std::runtime_error(settings_.sourceName + ": simulate took longer than " +
                                 formatNumber(settings_.timeoutSeconds) + " s" + at() +
                                 " (interrupted)");
    if (result.isError())
        throw std::runtime_error(describeError(result, settings_.sourceName) + at());
    if (!result.isArray() && !result.isObject())
        throw std::runtime_error(settings_.sourceName + ": simulate returned " +
                                 result.toString().toStdString() + at() + ", not an array of " +
                                 std::to_string(dataDim) + " numbers");
    const int length = result.property("length").toInt();
    if (length != dataDim)
        throw std::runtime_error(settings_.sourceName + ": simulate returned " +
                                 std::to_string(length) + " values" + at() +
                                 "; the project expects " + std::to_string(dataDim));
    for (int i = 0; i < dataDim; ++i) {
        const QJSValue value = result.property(quint32(i));
        if (!value.isNumber())
            throw std::runtime_error(settings_.sourceName + ": simulate returned " +
                                     value.toString().toStdString() + " as value " +
                                     std::to_string(i) + at() + ", which is not a number");
        x[i] = value.toNumber();
    }
}

}  // namespace sbiw

#include "script_simulator.moc"
