#pragma once
// Runs a loop over [0, count) in chunks on several threads, with progress reports and
// cancellation handled on the calling thread. Work is split so that the *result* never depends
// on the thread count: callers derive every random stream from the item index, not the thread.

#include <atomic>
#include <cstdint>
#include <functional>

namespace sbiw {

struct LoopProgress {
    std::int64_t completed = 0;  // items finished so far (any order)
    std::int64_t total = 0;
    double elapsedSeconds = 0.0;
};

struct LoopControl {
    // Called on the calling thread about every `progressIntervalSeconds` and once at the end.
    std::function<void(const LoopProgress&)> onProgress;
    // Checked between chunks; returning true (or *cancelFlag becoming true) stops the loop.
    std::function<bool()> shouldCancel;
    const std::atomic<bool>* cancelFlag = nullptr;
    double progressIntervalSeconds = 0.1;
};

struct LoopOutcome {
    bool cancelled = false;
    // Length of the longest prefix [0, completedPrefix) whose items all finished. Equals count
    // unless cancelled.
    std::int64_t completedPrefix = 0;
    double elapsedSeconds = 0.0;
};

// 0 means "all cores" (std::thread::hardware_concurrency()).
int resolveThreadCount(int requested);

// Calls body(begin, end) for consecutive chunks covering [0, count). body runs on worker
// threads and must only write to its own items. Exceptions escaping body are rethrown here.
LoopOutcome parallelChunks(std::int64_t count, int threads, std::int64_t chunkSize,
                           const std::function<void(std::int64_t, std::int64_t)>& body,
                           const LoopControl& control = {});

}  // namespace sbiw
