#pragma once
// File: cli/dev/processes.h
//
// Launching and supervising the dev cluster's processes. They run in their
// own session, so they outlive the command and a Ctrl-C in the shell. Only
// a process whose /proc/PID/cmdline is the fjord-<kind> binary run with
// that process's config file is ever signalled (is_our_process).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/dev/state.h"
#include "common/result.h"

namespace fjord::cli::dev {

/// The process's pid if it is running (per is_our_process), else nullopt.
std::optional<pid_t> running_pid(const dev_process& p);
/// The last `lines` lines of a log, indented, for an error message.
std::string log_tail(const fs::path& log, size_t lines);

/// Starts the process (`bin --config <config>`) in its own session, output
/// appended to its log, pid written to its pid file. The child keeps no
/// descriptor but 0/1/2 (all opened here), so `fjord dev start | cat`
/// returns when fjord exits.
result<pid_t> spawn(const std::string& bin, const dev_process& p);

/// The processes one start launched, to notice one exiting early.
class children {
  public:
    void add(const dev_process& p, pid_t pid);
    /// The first child that exited, with why; nullopt while all run.
    std::optional<std::pair<dev_process, std::string>> exited();
    const std::vector<dev_process>& started() const { return _started; }

  private:
    std::vector<dev_process> _started;
    std::vector<pid_t> _pids;  // parallel to _started
};

enum class stop_result { not_running, stopped, killed, survived };
const char* stop_text(stop_result r);

struct stop_report {
    uint64_t id;
    pid_t pid;
    stop_result result;
    double seconds;
};

/// SIGTERM to every running process, wait up to `timeout`, then SIGKILL the
/// rest (still only processes that pass is_our_process).
std::vector<stop_report> stop_processes(const std::vector<dev_process>& ps,
                                        std::chrono::milliseconds timeout);
/// Stops brokers first, then controllers (a broker outliving its controllers
/// only logs reconnect attempts).
void stop_in_order(const std::vector<dev_process>& ps, std::chrono::milliseconds timeout);

}  // namespace fjord::cli::dev
