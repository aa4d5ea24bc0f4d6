// File: cli/dev/processes.cc

#include "cli/dev/processes.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include "common/log.h"

extern char** environ;

namespace fjord::cli::dev {
namespace {

using steady = std::chrono::steady_clock;

std::vector<std::string> read_cmdline(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
    std::vector<std::string> args;
    std::string arg;
    while (std::getline(in, arg, '\0')) {
        args.push_back(arg);
    }
    return args;
}

/// True when `pid` is a live (not zombie) fjord-<kind> running with `p`'s
/// config file: the only processes this command ever signals.
bool is_our_process(pid_t pid, const dev_process& p) {
    if (pid <= 1) {
        return false;
    }
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string line;
    if (!std::getline(stat, line)) {
        return false;
    }
    // "pid (comm) S ...": the state follows the last ')'.
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z' ||
        line[paren + 2] == 'X') {
        return false;
    }
    const auto args = read_cmdline(pid);
    if (args.empty() || fs::path(args[0]).filename() != p.binary_name()) {
        return false;
    }
    const fs::path config = p.config();
    for (size_t i = 1; i < args.size(); ++i) {
        if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size() &&
            args[i + 1] == config.string()) {
            return true;
        }
        if (args[i] == "--config=" + config.string()) {
            return true;
        }
    }
    return false;
}

std::optional<pid_t> read_pid(const fs::path& file) {
    std::ifstream in(file);
    long long pid = 0;
    if (!(in >> pid) || pid <= 1 || pid > 1'000'000'000) {
        return std::nullopt;
    }
    return static_cast<pid_t>(pid);
}

std::string exit_text(int status) {
    return WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                             : fmt::format("signal {}", WTERMSIG(status));
}

}  // namespace

std::optional<pid_t> running_pid(const dev_process& m) {
    auto pid = read_pid(m.pid_file());
    if (pid && is_our_process(*pid, m)) {
        return pid;
    }
    return std::nullopt;
}

std::string log_tail(const fs::path& log, size_t lines) {
    std::ifstream in(log);
    std::vector<std::string> all;
    std::string line;
    while (std::getline(in, line)) {
        all.push_back(line);
    }
    std::string out;
    for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
        out += "    " + all[i] + "\n";
    }
    return out.empty() ? "    (empty)\n" : out;
}

result<pid_t> spawn(const std::string& bin, const dev_process& m) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, m.log().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    // Descriptors inherited from whoever ran fjord (a pipe a CI step waits
    // on to close, say) must not be held open by a long-lived process.
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    sigset_t none;
    sigset_t defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) {
        sigaddset(&defaults, s);
    }
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, static_cast<short>(POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                       POSIX_SPAWN_SETSIGDEF));
    const std::string config = m.config().string();
    std::vector<char*> argv{const_cast<char*>(bin.c_str()), const_cast<char*>("--config"),
                            const_cast<char*>(config.c_str()), nullptr};
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, bin.c_str(), &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        return error_info(std::error_code(rc, std::generic_category()),
                          fmt::format("cannot start {}: {}", bin, std::strerror(rc)));
    }
    std::ofstream(m.pid_file(), std::ios::trunc) << pid << "\n";
    log(log_level::debug, "dev", "{}: started pid {} ({} --config {})", m.label(), pid, bin,
        config);
    return pid;
}

void children::add(const dev_process& p, pid_t pid) {
    _started.push_back(p);
    _pids.push_back(pid);
}

std::optional<std::pair<dev_process, std::string>> children::exited() {
    for (size_t i = 0; i < _pids.size(); ++i) {
        int status = 0;
        if (::waitpid(_pids[i], &status, WNOHANG) == _pids[i]) {
            return std::pair(_started[i], fmt::format("{} exited during start-up ({})",
                                                      _started[i].label(), exit_text(status)));
        }
    }
    return std::nullopt;
}

const char* stop_text(stop_result r) {
    switch (r) {
        case stop_result::not_running:
            return "not running";
        case stop_result::stopped:
            return "stopped";
        case stop_result::killed:
            return "killed (did not stop on SIGTERM in time)";
        case stop_result::survived:
            return "still running after SIGKILL";
    }
    return "unknown";
}

std::vector<stop_report> stop_processes(const std::vector<dev_process>& members,
                                        std::chrono::milliseconds timeout) {
    std::vector<stop_report> out;
    const auto start = steady::now();
    for (const auto& m : members) {
        auto pid = running_pid(m);
        if (!pid) {
            out.push_back({m.id, 0, stop_result::not_running, 0});
            std::error_code ec;
            fs::remove(m.pid_file(), ec);
            continue;
        }
        log(log_level::debug, "dev", "{}: SIGTERM to pid {}", m.label(), *pid);
        ::kill(*pid, SIGTERM);
        out.push_back({m.id, *pid, stop_result::survived, 0});
    }
    const auto wait_all = [&](steady::time_point deadline, stop_result done_as) {
        for (;;) {
            bool pending = false;
            for (size_t i = 0; i < out.size(); ++i) {
                auto& r = out[i];
                if (r.result != stop_result::survived) {
                    continue;
                }
                // Reap it if it is our child (a start that is failing).
                ::waitpid(r.pid, nullptr, WNOHANG);
                if (!is_our_process(r.pid, members[i])) {
                    r.result = done_as;
                    r.seconds = std::chrono::duration<double>(steady::now() - start).count();
                    std::error_code ec;
                    fs::remove(members[i].pid_file(), ec);
                } else {
                    pending = true;
                }
            }
            if (!pending || steady::now() >= deadline) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    };
    wait_all(start + timeout, stop_result::stopped);
    bool any_left = false;
    for (size_t i = 0; i < out.size(); ++i) {
        if (out[i].result == stop_result::survived && is_our_process(out[i].pid, members[i])) {
            log(log_level::debug, "dev", "{}: SIGKILL to pid {}", members[i].label(), out[i].pid);
            ::kill(out[i].pid, SIGKILL);
            any_left = true;
        }
    }
    if (any_left) {
        wait_all(steady::now() + std::chrono::seconds(5), stop_result::killed);
    }
    return out;
}

void stop_in_order(const std::vector<dev_process>& ps, std::chrono::milliseconds timeout) {
    for (const char* kind : {broker_kind, controller_kind}) {
        std::vector<dev_process> these;
        std::copy_if(ps.begin(), ps.end(), std::back_inserter(these),
                     [&](const dev_process& p) { return p.kind == kind; });
        stop_processes(these, timeout);
    }
}

}  // namespace fjord::cli::dev
