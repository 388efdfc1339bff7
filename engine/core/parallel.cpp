#include "core/parallel.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace sbiw {

int resolveThreadCount(int requested) {
    if (requested > 0) return requested;
    const unsigned hardware = std::thread::hardware_concurrency();
    return hardware == 0 ? 1 : static_cast<int>(hardware);
}

LoopOutcome parallelChunks(std::int64_t count, int threads, std::int64_t chunkSize,
                           const std::function<void(std::int64_t, std::int64_t)>& body,
                           const LoopControl& control) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };

    LoopOutcome outcome;
    if (count <= 0) {
        if (control.onProgress) control.onProgress({0, 0, 0.0});
        return outcome;
    }
    threads = std::max(1, resolveThreadCount(threads));
    if (chunkSize <= 0) chunkSize = std::clamp<std::int64_t>(count / (threads * 64), 1, 4096);
    const std::int64_t chunkCount = (count + chunkSize - 1) / chunkSize;
    threads = static_cast<int>(std::min<std::int64_t>(threads, chunkCount));

    std::vector<unsigned char> chunkDone(static_cast<std::size_t>(chunkCount), 0);
    std::atomic<std::int64_t> nextChunk{0};
    std::atomic<std::int64_t> itemsDone{0};
    std::atomic<bool> stop{false};
    std::atomic<int> running{threads};
    std::mutex mutex;
    std::condition_variable finished;
    std::exception_ptr failure;

    auto worker = [&] {
        for (;;) {
            if (stop.load(std::memory_order_relaxed)) break;
            const std::int64_t chunk = nextChunk.fetch_add(1);
            if (chunk >= chunkCount) break;
            const std::int64_t begin = chunk * chunkSize;
            const std::int64_t end = std::min(count, begin + chunkSize);
            try {
                body(begin, end);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex);
                if (!failure) failure = std::current_exception();
                stop = true;
                break;
            }
            chunkDone[static_cast<std::size_t>(chunk)] = 1;
            itemsDone.fetch_add(end - begin, std::memory_order_relaxed);
        }
        std::lock_guard<std::mutex> lock(mutex);
        if (--running == 0) finished.notify_all();
    };

    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);

    auto cancelRequested = [&] {
        if (control.cancelFlag && control.cancelFlag->load()) return true;
        return control.shouldCancel && control.shouldCancel();
    };
    const auto interval = std::chrono::duration<double>(control.progressIntervalSeconds);
    {
        std::unique_lock<std::mutex> lock(mutex);
        while (running > 0) {
            finished.wait_for(lock, interval, [&] { return running == 0; });
            if (running == 0) break;
            lock.unlock();
            if (!stop && cancelRequested()) {
                stop = true;
                outcome.cancelled = true;
            }
            if (control.onProgress) control.onProgress({itemsDone.load(), count, elapsed()});
            lock.lock();
        }
    }
    for (std::thread& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);

    std::int64_t prefixChunks = 0;
    while (prefixChunks < chunkCount && chunkDone[static_cast<std::size_t>(prefixChunks)])
        ++prefixChunks;
    outcome.cancelled = outcome.cancelled && prefixChunks < chunkCount;
    outcome.completedPrefix = std::min(count, prefixChunks * chunkSize);
    outcome.elapsedSeconds = elapsed();
    if (control.onProgress) control.onProgress({itemsDone.load(), count, outcome.elapsedSeconds});
    return outcome;
}

}  // namespace sbiw
