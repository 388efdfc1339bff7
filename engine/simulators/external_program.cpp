#include "simulators/external_program.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "core/csv.h"

extern char** environ;

namespace sbiw {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kProtocolVersion = 1;
constexpr const char* kMagic = "sbiw-simulator";

// Thrown when cancellation interrupts a start (caught inside this file).
struct StartCancelled {};

std::string errnoText(int error) {
    char buffer[256];
    // GNU strerror_r returns the message (thread-safe, unlike strerror).
    return std::string(strerror_r(error, buffer, sizeof buffer));
}

std::string signalName(int signal) {
    switch (signal) {
        case SIGSEGV:
            return "signal 11 (segmentation fault)";
        case SIGABRT:
            return "signal 6 (abort)";
        case SIGKILL:
            return "signal 9 (killed)";
        case SIGFPE:
            return "signal 8 (floating-point exception)";
        case SIGBUS:
            return "signal 7 (bus error)";
        case SIGILL:
            return "signal 4 (illegal instruction)";
        case SIGTERM:
            return "signal 15 (terminated)";
        case SIGPIPE:
            return "signal 13 (broken pipe)";
        default:
            return "signal " + std::to_string(signal);
    }
}

std::string quoted(const std::string& text, std::size_t limit = 80) {
    std::string shown = text.size() > limit ? text.substr(0, limit) + "..." : text;
    for (char& c : shown)
        if (static_cast<unsigned char>(c) < 32)
            c = '?';
    return "'" + shown + "'";
}

void ignoreSigpipeOnce() {
    // A child that dies while we write its stdin must give EPIPE, not kill this process.
    static const bool done = [] {
        ::signal(SIGPIPE, SIG_IGN);
        return true;
    }();
    (void)done;
}

bool parseDouble(const char* begin, const char* end, double& value) {
    if (begin != end && *begin == '+')
        ++begin;  // from_chars rejects a leading '+'
    const auto result = std::from_chars(begin, end, value);
    return result.ec == std::errc() && result.ptr == end;
}

void appendNumber(std::string& out, double value) {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
}

}  // namespace

// Every child alive, so that shutdown() can kill busy ones from another thread. A pid leaves
// the set before its owner reaps it, so a pid in the set always names our own child.
struct ProcessRegistry {
    std::mutex mutex;
    std::set<pid_t> alive;
    std::int64_t started = 0;
    std::uint64_t generation = 0;  // bumped by shutdown(): busy processes were killed on purpose
    std::mutex logMutex;
};

// ---------------------------------------------------------------------------------------------

Problems ExternalProgramSettings::validate() const {
    Problems problems;
    if (command.empty() || command.front().empty())
        problems.push_back({"command", "missing: name the program to run"});
    if (parameterDimension < 1)
        problems.push_back({"parameter_dimension", "must be at least 1"});
    if (!parameterNames.empty() && int(parameterNames.size()) != parameterDimension)
        problems.push_back(
            {"parameter_names", "has " + std::to_string(parameterNames.size()) + " names for " +
                                    std::to_string(parameterDimension) + " parameters"});
    if (dataDimension < 1)
        problems.push_back({"data_dimension", "must be at least 1"});
    if (batchSize < 1)
        problems.push_back({"batch_size", "must be at least 1"});
    if (!(startTimeoutSeconds > 0.0))
        problems.push_back({"start_timeout_seconds", "must be positive"});
    if (!(batchTimeoutSeconds > 0.0))
        problems.push_back({"timeout_seconds", "must be positive"});
    return problems;
}

std::string ExternalProgramSettings::commandLine() const {
    std::string line;
    for (const std::string& part : command) {
        const bool plain =
            !part.empty() && part.find_first_of(" \t\"'\\$`*?;&|<>()") == std::string::npos;
        if (!line.empty())
            line += ' ';
        if (plain) {
            line += part;
        } else {
            line += '\'';
            for (char c : part)
                line += c == '\'' ? std::string("'\\''") : std::string(1, c);
            line += '\'';
        }
    }
    return line;
}

// ---------------------------------------------------------------------------------------------
// One child process and its three pipes.

class ExternalProgramSimulator::Process {
  public:
    enum class Status { Done, Died, Timeout, Cancelled };

    Process(const ExternalProgramSettings& settings, std::shared_ptr<ProcessRegistry> registry)
        : settings_(settings), registry_(std::move(registry)) {}
    ~Process() { end(); }

    pid_t pid() const { return pid_; }
    const ProgramHandshake& handshake() const { return handshake_; }
    std::uint64_t generation() const { return generation_; }

    // Starts the program and reads its handshake. Throws SimulatorStartError.
    void start(const std::atomic<bool>* cancelFlag) {
        int input[2], output[2], error[2];
        if (pipe2(input, O_CLOEXEC) != 0)
            fail("cannot create a pipe: " + errnoText(errno));
        if (pipe2(output, O_CLOEXEC) != 0) {
            closeAll({input[0], input[1]});
            fail("cannot create a pipe: " + errnoText(errno));
        }
        if (pipe2(error, O_CLOEXEC) != 0) {
            closeAll({input[0], input[1], output[0], output[1]});
            fail("cannot create a pipe: " + errnoText(errno));
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        // dup2 clears close-on-exec on the copies, so the child keeps exactly fds 0, 1, 2.
        posix_spawn_file_actions_adddup2(&actions, input[0], 0);
        posix_spawn_file_actions_adddup2(&actions, output[1], 1);
        posix_spawn_file_actions_adddup2(&actions, error[1], 2);
        if (!settings_.workingDirectory.empty())
            posix_spawn_file_actions_addchdir_np(&actions, settings_.workingDirectory.c_str());
        posix_spawnattr_t attributes;
        posix_spawnattr_init(&attributes);
        // Its own process group: killing the group also ends what a wrapper script started.
        posix_spawnattr_setpgroup(&attributes, 0);
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        sigaddset(&defaults, SIGINT);
        posix_spawnattr_setsigdefault(&attributes, &defaults);
        sigset_t
            noneBlocked;  // the caller's thread may block signals; the child must not inherit that
        sigemptyset(&noneBlocked);
        posix_spawnattr_setsigmask(&attributes, &noneBlocked);
        posix_spawnattr_setflags(
            &attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

        std::vector<char*> argv;
        for (const std::string& part : settings_.command)
            argv.push_back(const_cast<char*>(part.c_str()));
        argv.push_back(nullptr);
        pid_t child = -1;
        int spawnError = 0;
        {
            // Registered under the lock, so shutdown() never misses a child that is starting.
            std::lock_guard<std::mutex> lock(registry_->mutex);
            spawnError = posix_spawnp(&child, argv[0], &actions, &attributes, argv.data(), environ);
            if (spawnError == 0) {
                registry_->alive.insert(child);
                ++registry_->started;
                generation_ = registry_->generation;
            }
        }
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
        closeAll({input[0], output[1], error[1]});
        if (spawnError != 0) {
            closeAll({input[1], output[0], error[0]});
            fail("cannot start " + quoted(settings_.commandLine(), 200) + ": " +
                 errnoText(spawnError));
        }
        pid_ = child;
        in_ = input[1];
        out_ = output[0];
        err_ = error[0];
        for (int fd : {in_, out_, err_})
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        readHandshake(cancelFlag);
    }

    // True when the child is still running and has nothing unread on stdout: fit for a request.
    bool healthy() {
        if (pid_ <= 0 || out_ < 0)
            return false;
        drainNonBlocking();
        return out_ >= 0 && readPos_ == outBuffer_.size();
    }

    // Sends rows [next, end) and reads their answers into x, advancing `next` row by row.
    // Row-level problems (an "error" answer, text that is no number, the wrong count) go to
    // `failures` and count as answered.
    Status exchange(const SimulationRows& rows, const std::uint64_t* seeds, std::int64_t& next,
                    std::int64_t end, std::vector<RowFailure>& failures) {
        const int thetaDim = settings_.parameterDimension;
        const int dataDim = settings_.dataDimension;
        const std::int64_t requested = end - next;
        std::int64_t answered = 0;
        outOfStep_.reset();
        std::string request = "batch " + std::to_string(end - next) + "\n";
        if (handshake_.binary) {
            request.reserve(request.size() +
                            std::size_t(end - next) * std::size_t(8 + 8 * thetaDim));
            for (std::int64_t r = next; r < end; ++r) {
                request.append(reinterpret_cast<const char*>(&seeds[r]), 8);
                request.append(reinterpret_cast<const char*>(rows.theta + r * thetaDim),
                               std::size_t(8 * thetaDim));
            }
        } else {
            request.reserve(request.size() +
                            std::size_t(end - next) * std::size_t(21 + 24 * thetaDim));
            for (std::int64_t r = next; r < end; ++r) {
                request += std::to_string(seeds[r]);
                for (int j = 0; j < thetaDim; ++j) {
                    request += ' ';
                    appendNumber(request, rows.theta[r * thetaDim + j]);
                }
                request += '\n';
            }
        }
        auto consume = [&] {
            if (handshake_.binary) {
                const std::size_t rowBytes = std::size_t(8 * dataDim);
                while (next < end && outBuffer_.size() - readPos_ >= rowBytes) {
                    std::memcpy(rows.x + next * dataDim, outBuffer_.data() + readPos_, rowBytes);
                    readPos_ += rowBytes;
                    ++next;
                }
            } else {
                // Rows, then "end": a count that does not match means stdout carries more (or
                // less) than answers, and no row can be trusted to belong to its θ.
                std::string line;
                while (!outOfStep_ && readLine(line)) {
                    if (line == "end") {
                        if (next == end) {
                            compact();
                            return true;
                        }
                        outOfStep_ = "its answer ended after " + std::to_string(answered) + " of " +
                                     std::to_string(requested) + " rows";
                    } else if (next == end) {
                        outOfStep_ = "it wrote " + quoted(line) + " where 'end' was due after " +
                                     std::to_string(requested) + " rows";
                    } else {
                        parseRow(line, rows.theta + next * thetaDim, rows.x + next * dataDim, next,
                                 failures);
                        ++next;
                        ++answered;
                    }
                }
                compact();
                return bool(outOfStep_);
            }
            compact();
            return next == end;
        };
        const auto deadline = Clock::now() + seconds(settings_.batchTimeoutSeconds);
        return pump(request, deadline, rows.cancelFlag, consume);
    }

    // Set when a text answer did not have exactly one line per row before "end".
    const std::optional<std::string>& outOfStep() const { return outOfStep_; }

    // Output beyond the answers requested: the program writes other things to stdout.
    bool hasExtraOutput() {
        drainNonBlocking();
        return readPos_ < outBuffer_.size();
    }
    std::string extraOutputSample() const {
        const std::string rest = outBuffer_.substr(readPos_, 80);
        return quoted(rest.substr(0, rest.find('\n')));
    }

    // After stdout closed: how the program ended ("was killed by signal 11 ...").
    std::string exitDescription() {
        waitExit(1.0);
        return exit_ ? *exit_ : "closed its stdout";
    }
    std::string lastErrorLine() const {
        for (auto it = lastErrorLines_.rbegin(); it != lastErrorLines_.rend(); ++it)
            if (!it->empty())
                return *it;
        return {};
    }

    // Ends the child: politely ("quit", stdin closed) when `polite`, then SIGKILL to its
    // process group (whatever it started too) and reaps it.
    // Asks the child to finish ("quit", then end of input) without waiting: shutdown() asks
    // every idle child first, then waits for all of them together.
    void askToQuit() {
        if (pid_ > 0 && in_ >= 0) {
            static const char quit[] = "quit\n";
            [[maybe_unused]] const ssize_t n = ::write(in_, quit, sizeof quit - 1);
        }
        closeFd(in_);
    }

    // Ends the child: when `graceUntil` is given, it may exit by itself until then (after
    // askToQuit); then SIGKILL to its process group (whatever it started too), and reaping.
    void end(std::optional<Clock::time_point> graceUntil = std::nullopt) {
        if (pid_ <= 0)
            return;
        {
            std::lock_guard<std::mutex> lock(registry_->mutex);
            registry_->alive.erase(pid_);
        }
        closeFd(in_);
        if (graceUntil)
            waitExit(std::chrono::duration<double>(*graceUntil - Clock::now()).count());
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
        flushErrorLine();
        closeFd(out_);
        closeFd(err_);
        pid_ = -1;
    }

  private:
    static std::chrono::steady_clock::duration seconds(double s) {
        return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
    }

    [[noreturn]] void fail(const std::string& message) { throw SimulatorStartError(message); }

    static void closeFd(int& fd) {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
    static void closeAll(std::initializer_list<int> fds) {
        for (int fd : fds)
            ::close(fd);
    }

    // Waits up to `timeout` seconds for the child to exit, leaving it a zombie (WNOWAIT): until
    // end() reaps it, neither its pid nor its process group id can be reused.
    bool waitExit(double timeout) {
        if (exit_)
            return true;
        if (pid_ <= 0)
            return false;
        const auto deadline = Clock::now() + seconds(timeout);
        for (;;) {
            siginfo_t info{};
            const int r = ::waitid(P_PID, id_t(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
            if (r == 0 && info.si_pid == pid_) {
                exit_ = info.si_code == CLD_EXITED
                            ? "exited with status " + std::to_string(info.si_status)
                            : "was killed by " + signalName(info.si_status);
                return true;
            }
            if (r < 0 && errno != EINTR)
                return false;
            if (Clock::now() >= deadline)
                return false;
            ::usleep(2000);
        }
    }

    bool readLine(std::string& line) {
        const std::size_t newline = outBuffer_.find('\n', readPos_);
        if (newline == std::string::npos)
            return false;
        std::size_t stop = newline;
        if (stop > readPos_ && outBuffer_[stop - 1] == '\r')
            --stop;
        line.assign(outBuffer_, readPos_, stop - readPos_);
        readPos_ = newline + 1;
        return true;
    }

    void compact() {
        if (readPos_ == outBuffer_.size()) {
            outBuffer_.clear();
            readPos_ = 0;
        } else if (readPos_ > (1u << 20)) {
            outBuffer_.erase(0, readPos_);
            readPos_ = 0;
        }
    }

    void parseRow(const std::string& line, const double* theta, double* x, std::int64_t row,
                  std::vector<RowFailure>& failures) {
        const int dataDim = settings_.dataDimension;
        const std::string at = " at θ = " + formatTheta(theta, settings_.parameterDimension);
        if (line.compare(0, 5, "error") == 0 &&
            (line.size() == 5 || line[5] == ' ' || line[5] == '\t')) {
            std::string message = line.substr(std::min<std::size_t>(line.size(), 6));
            failures.push_back({row, "the program reported an error" + at + ": " + message});
            return;
        }
        int count = 0;
        bool numbers = true;
        const char* p = line.data();
        const char* const stop = line.data() + line.size();
        while (p < stop) {
            while (p < stop && (*p == ' ' || *p == '\t' || *p == ','))
                ++p;
            if (p == stop)
                break;
            const char* tokenEnd = p;
            while (tokenEnd < stop && *tokenEnd != ' ' && *tokenEnd != '\t' && *tokenEnd != ',')
                ++tokenEnd;
            double value = 0.0;
            if (!parseDouble(p, tokenEnd, value))
                numbers = false;
            if (count < dataDim)
                x[count] = value;
            ++count;
            p = tokenEnd;
        }
        if (!numbers)
            failures.push_back({row, "the program answered " + quoted(line) + at +
                                         ", which is not " + std::to_string(dataDim) + " numbers"});
        else if (count != dataDim)
            failures.push_back({row, "the program answered " + std::to_string(count) + " values" +
                                         at + "; the project expects " + std::to_string(dataDim)});
    }

    void drainNonBlocking() {
        char buffer[65536];
        while (out_ >= 0) {
            const ssize_t n = ::read(out_, buffer, sizeof buffer);
            if (n > 0) {
                outBuffer_.append(buffer, std::size_t(n));
            } else {
                if (n == 0 || (errno != EAGAIN && errno != EINTR))
                    closeFd(out_);
                if (n < 0 && errno == EINTR)
                    continue;
                break;
            }
        }
        readErrors();
    }

    void readErrors() {
        char buffer[8192];
        while (err_ >= 0) {
            const ssize_t n = ::read(err_, buffer, sizeof buffer);
            if (n > 0) {
                for (ssize_t i = 0; i < n; ++i) {
                    if (buffer[i] == '\n') {
                        emitErrorLine();
                    } else if (errLine_.size() < 4096) {
                        errLine_ += buffer[i];
                    }
                }
            } else {
                if (n == 0 || (errno != EAGAIN && errno != EINTR))
                    closeFd(err_);
                if (n < 0 && errno == EINTR)
                    continue;
                break;
            }
        }
    }

    void emitErrorLine() {
        if (!errLine_.empty() && errLine_.back() == '\r')
            errLine_.pop_back();
        lastErrorLines_.push_back(errLine_);
        if (lastErrorLines_.size() > 4)
            lastErrorLines_.pop_front();
        if (settings_.log) {
            std::lock_guard<std::mutex> lock(registry_->logMutex);
            settings_.log("[pid " + std::to_string(pid_) + "] " + errLine_);
        }
        errLine_.clear();
    }
    void flushErrorLine() {
        if (err_ >= 0)
            readErrors();
        if (!errLine_.empty())
            emitErrorLine();
    }

    // Writes `input` while reading stdout (into outBuffer_) and stderr (to the log) until
    // `enough()` says the answer is complete, stdout closes, the deadline passes or the cancel
    // flag rises. Writing and reading at once: a program may answer before it has read all.
    template <typename Enough>
    Status pump(const std::string& input, Clock::time_point deadline,
                const std::atomic<bool>* cancelFlag, Enough enough) {
        std::size_t written = 0;
        for (;;) {
            if (enough())
                return Status::Done;
            if (out_ < 0) {
                // Collect the last words (a traceback) before describing the death.
                const auto grace = Clock::now() + std::chrono::milliseconds(500);
                while (err_ >= 0 && Clock::now() < grace) {
                    pollfd fd{err_, POLLIN, 0};
                    ::poll(&fd, 1, 50);
                    readErrors();
                }
                return Status::Died;
            }
            if (cancelFlag && cancelFlag->load())
                return Status::Cancelled;
            const auto now = Clock::now();
            if (now >= deadline)
                return Status::Timeout;

            pollfd fds[3];
            int count = 0;
            const bool writing = written < input.size() && in_ >= 0;
            if (writing)
                fds[count++] = {in_, POLLOUT, 0};
            fds[count++] = {out_, POLLIN, 0};
            if (err_ >= 0)
                fds[count++] = {err_, POLLIN, 0};
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
            const int wait =
                int(std::clamp<long long>(left, 1, 100));  // wakes to check cancellation
            const int ready = ::poll(fds, nfds_t(count), wait);
            if (ready < 0 && errno != EINTR)
                return Status::Died;
            if (ready <= 0)
                continue;
            if (writing && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
                const ssize_t n = ::write(in_, input.data() + written, input.size() - written);
                if (n > 0) {
                    written += std::size_t(n);
                } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                    closeFd(in_);  // EPIPE: it stopped reading; its stdout will tell why
                }
            }
            drainNonBlocking();
        }
    }

    void readHandshake(const std::atomic<bool>* cancelFlag) {
        std::vector<std::string> lines;
        bool complete = false;
        auto enough = [&] {
            std::string line;
            while (!complete && readLine(line)) {
                if (line == "ready") {
                    complete = true;
                } else if (!line.empty() && line[0] != '#') {
                    lines.push_back(line);
                    // Not a handshake at all (a banner, a prompt): judged below, without waiting.
                    if (lines.size() > 64 || lines.front().rfind(kMagic, 0) != 0)
                        complete = true;
                }
            }
            return complete;
        };
        const std::string command = quoted(settings_.commandLine(), 200);
        const auto deadline = Clock::now() + seconds(settings_.startTimeoutSeconds);
        const Status status = pump({}, deadline, cancelFlag, enough);
        if (status == Status::Cancelled) {
            end();
            throw StartCancelled();
        }
        auto stderrHint = [&] {
            const std::string last = lastErrorLine();
            return last.empty() ? std::string() : "; its last stderr line: " + quoted(last, 200);
        };
        if (status == Status::Died) {
            const std::string how = exitDescription();
            end();
            fail(command + " " + how + " before completing its handshake" + stderrHint());
        }
        if (status == Status::Timeout) {
            end();
            fail(command + " sent no complete handshake within " +
                 formatNumber(settings_.startTimeoutSeconds) + " s (a simulator first writes '" +
                 kMagic +
                 " 1', its parameters, its data dimension and 'ready'; see "
                 "docs/simulator-protocol.md)" +
                 stderrHint());
        }
        std::vector<std::string> problems;
        if (lines.empty() || lines.front().rfind(kMagic, 0) != 0) {
            problems.push_back("its first line is " +
                               quoted(lines.empty() ? "ready" : lines.front()) + ", not '" +
                               kMagic + " " + std::to_string(kProtocolVersion) + "'");
        } else {
            std::istringstream first(lines.front().substr(std::strlen(kMagic)));
            if (!(first >> handshake_.protocolVersion) ||
                handshake_.protocolVersion != kProtocolVersion)
                problems.push_back("it speaks protocol version " +
                                   quoted(lines.front().substr(std::strlen(kMagic) + 1)) +
                                   "; this SBI Workbench speaks version " +
                                   std::to_string(kProtocolVersion));
        }
        bool sawParameters = false, sawData = false;
        for (std::size_t i = 1; i < lines.size() && problems.empty(); ++i) {
            std::istringstream words(lines[i]);
            std::string key;
            words >> key;
            if (key == "parameters") {
                sawParameters = true;
                for (std::string name; words >> name;)
                    handshake_.parameterNames.push_back(name);
            } else if (key == "data") {
                sawData = true;
                if (!(words >> handshake_.dataDimension) || handshake_.dataDimension < 1)
                    problems.push_back("its line " + quoted(lines[i]) +
                                       " does not give a data dimension >= 1");
            } else if (key == "framing") {
                std::string framing;
                words >> framing;
                if (framing == "binary")
                    handshake_.binary = true;
                else if (framing != "text")
                    problems.push_back("it asks for framing " + quoted(framing) +
                                       " (known: text, binary)");
            } else {
                problems.push_back("its handshake line " + quoted(lines[i]) +
                                   " is not one of 'parameters NAMES...', 'data D', 'framing "
                                   "text|binary', 'ready'");
            }
        }
        if (problems.empty() && !sawParameters)
            problems.push_back("its handshake has no 'parameters' line");
        if (problems.empty() && !sawData)
            problems.push_back("its handshake has no 'data' line");
        if (problems.empty() &&
            int(handshake_.parameterNames.size()) != settings_.parameterDimension)
            problems.push_back("it declares " + std::to_string(handshake_.parameterNames.size()) +
                               " parameters, the project has " +
                               std::to_string(settings_.parameterDimension));
        if (problems.empty() && !settings_.parameterNames.empty() &&
            handshake_.parameterNames != settings_.parameterNames) {
            std::string declared, expected;
            for (const auto& n : handshake_.parameterNames)
                declared += (declared.empty() ? "" : " ") + n;
            for (const auto& n : settings_.parameterNames)
                expected += (expected.empty() ? "" : " ") + n;
            problems.push_back("it declares the parameters '" + declared + "', the project has '" +
                               expected + "' (same order)");
        }
        if (problems.empty() && handshake_.dataDimension != settings_.dataDimension)
            problems.push_back("it declares data dimension " +
                               std::to_string(handshake_.dataDimension) + ", the project expects " +
                               std::to_string(settings_.dataDimension));
        if (!problems.empty()) {
            end();
            fail(command + " is not usable: " + problems.front());
        }
    }

    const ExternalProgramSettings& settings_;
    std::shared_ptr<ProcessRegistry> registry_;
    std::uint64_t generation_ = 0;
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1, err_ = -1;
    std::optional<std::string> exit_;  // how it ended, once known
    std::optional<std::string> outOfStep_;
    std::string outBuffer_;
    std::size_t readPos_ = 0;
    std::string errLine_;
    std::deque<std::string> lastErrorLines_;
    ProgramHandshake handshake_;
};

// ---------------------------------------------------------------------------------------------

ExternalProgramSimulator::ExternalProgramSimulator(ExternalProgramSettings settings)
    : settings_(std::move(settings)), registry_(std::make_shared<ProcessRegistry>()) {
    throwIfProblems(settings_.validate());
    ignoreSigpipeOnce();
}

ExternalProgramSimulator::~ExternalProgramSimulator() {
    shutdown();
}

std::unique_ptr<ExternalProgramSimulator::Process> ExternalProgramSimulator::acquire(
    const std::atomic<bool>* cancelFlag) const {
    for (;;) {
        std::unique_ptr<Process> process;
        {
            std::lock_guard<std::mutex> lock(poolMutex_);
            if (idle_.empty())
                break;
            process = std::move(idle_.back());
            idle_.pop_back();
        }
        if (process->healthy())
            return process;
        if (process->hasExtraOutput() && settings_.log) {
            std::lock_guard<std::mutex> lock(registry_->logMutex);
            settings_.log("[pid " + std::to_string(process->pid()) +
                          "] wrote more than its answers on stdout (" +
                          process->extraOutputSample() + "); restarting it");
        }
    }
    auto process = std::make_unique<Process>(settings_, registry_);
    process->start(cancelFlag);
    return process;
}

void ExternalProgramSimulator::release(std::unique_ptr<Process> process) const {
    std::lock_guard<std::mutex> lock(poolMutex_);
    idle_.push_back(std::move(process));
}

ProgramHandshake ExternalProgramSimulator::probe() const {
    std::unique_ptr<Process> process = acquire(nullptr);
    const ProgramHandshake handshake = process->handshake();
    release(std::move(process));
    return handshake;
}

void ExternalProgramSimulator::shutdown() const {
    std::vector<std::unique_ptr<Process>> idle;
    {
        std::lock_guard<std::mutex> lock(poolMutex_);
        idle.swap(idle_);
    }
    for (auto& process : idle)
        process->askToQuit();
    const auto graceUntil = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    for (auto& process : idle)
        process->end(graceUntil);
    idle.clear();
    std::lock_guard<std::mutex> lock(registry_->mutex);
    ++registry_->generation;
    for (pid_t pid : registry_->alive) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
    }
}

std::vector<int> ExternalProgramSimulator::childProcessIds() const {
    std::lock_guard<std::mutex> lock(registry_->mutex);
    return {registry_->alive.begin(), registry_->alive.end()};
}

std::int64_t ExternalProgramSimulator::processesStarted() const {
    std::lock_guard<std::mutex> lock(registry_->mutex);
    return registry_->started;
}

void ExternalProgramSimulator::simulate(const double* theta, double* x, RandomStream& rng) const {
    const std::uint64_t seed = rng.nextBits();
    SimulationRows rows;
    rows.theta = theta;
    rows.x = x;
    rows.rows = 1;
    SimulationRowsResult result;
    bool cancelled = false;
    std::vector<std::uint64_t> seeds{seed};
    simulateRequest(rows, seeds.data(), 0, 1, result, cancelled);
    if (!result.failures.empty())
        throw std::runtime_error(result.failures.front().message);
}

SimulationRowsResult ExternalProgramSimulator::simulateRows(const SimulationRows& rows) const {
    SimulationRowsResult result;
    std::vector<std::uint64_t> seeds(static_cast<std::size_t>(rows.rows));
    for (std::int64_t r = 0; r < rows.rows; ++r)
        seeds[std::size_t(r)] = simulationSeed(rows.seed, rows.firstIndex + std::uint64_t(r));
    for (std::int64_t begin = 0; begin < rows.rows; begin += settings_.batchSize) {
        const std::int64_t end = std::min<std::int64_t>(rows.rows, begin + settings_.batchSize);
        bool cancelled = rows.cancelFlag && rows.cancelFlag->load();
        std::int64_t done = begin;
        if (!cancelled)
            done = simulateRequest(rows, seeds.data(), begin, end, result, cancelled);
        if (cancelled) {
            result.completedRows = done;
            auto& f = result.failures;
            f.erase(std::remove_if(f.begin(), f.end(),
                                   [&](const RowFailure& e) { return e.row >= done; }),
                    f.end());
            return result;
        }
    }
    result.completedRows = rows.rows;
    return result;
}

std::int64_t ExternalProgramSimulator::simulateRequest(const SimulationRows& rows,
                                                       const std::uint64_t* seeds,
                                                       std::int64_t begin, std::int64_t end,
                                                       SimulationRowsResult& result,
                                                       bool& cancelled) const {
    const int thetaDim = settings_.parameterDimension;
    auto thetaAt = [&](std::int64_t row) {
        return formatTheta(rows.theta + row * thetaDim, thetaDim);
    };
    // Rows after the one the program failed on were never simulated: say so, and where.
    auto failRest = [&](std::int64_t from, const std::string& first) {
        result.failures.push_back({from, first});
        for (std::int64_t r = from + 1; r < end; ++r)
            result.failures.push_back(
                {r, "not simulated: the program failed earlier in the same request, at θ = " +
                        thetaAt(from)});
    };
    std::int64_t next = begin;
    for (int attempt = 0;; ++attempt) {
        std::unique_ptr<Process> process;
        try {
            process = acquire(rows.cancelFlag);  // throws SimulatorStartError
        } catch (const StartCancelled&) {
            cancelled = true;
            return next;
        }
        const Process::Status status = process->exchange(rows, seeds, next, end, result.failures);
        switch (status) {
            case Process::Status::Done: {
                std::string why;
                if (process->outOfStep())
                    why = *process->outOfStep();
                else if (process->hasExtraOutput())
                    why = "it wrote more than the answers requested, e.g. " +
                          process->extraOutputSample();
                if (why.empty()) {
                    release(std::move(process));
                    return end;
                }
                // Its answers cannot be matched to rows any more: none of this request counts.
                process->end();
                auto& f = result.failures;
                f.erase(std::remove_if(
                            f.begin(), f.end(),
                            [&](const RowFailure& e) { return e.row >= begin && e.row < end; }),
                        f.end());
                for (std::int64_t r = begin; r < end; ++r)
                    result.failures.push_back(
                        {r, "the answer for θ = " + thetaAt(r) + " is unusable: " + why +
                                " (stdout must carry only answers; write messages to stderr)"});
                return end;
            }
            case Process::Status::Cancelled:
                process->end();
                cancelled = true;
                return next;
            case Process::Status::Timeout:
                process->end();
                failRest(next, "no answer within " + formatNumber(settings_.batchTimeoutSeconds) +
                                   " s at θ = " + thetaAt(next) +
                                   " (the program hung; it was killed)");
                return end;
            case Process::Status::Died: {
                const std::string how = process->exitDescription();
                const std::string last = process->lastErrorLine();
                const std::uint64_t generation = process->generation();
                process->end();
                {
                    std::lock_guard<std::mutex> lock(registry_->mutex);
                    if (registry_->generation != generation) {  // killed by shutdown()
                        cancelled = true;
                        return next;
                    }
                }
                if (attempt == 0) {
                    if (settings_.log) {
                        std::lock_guard<std::mutex> lock(registry_->logMutex);
                        settings_.log("the program " + how + " at θ = " + thetaAt(next) +
                                      "; restarting it and retrying " + std::to_string(end - next) +
                                      " rows once");
                    }
                    continue;
                }
                failRest(next, "the program " + how + " before answering θ = " + thetaAt(next) +
                                   " (also when retried in a new process)" +
                                   (last.empty() ? std::string()
                                                 : "; its last stderr line: " + quoted(last, 200)));
                return end;
            }
        }
    }
}

}  // namespace sbiw
