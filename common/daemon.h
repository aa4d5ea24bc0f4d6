#pragma once
// File: common/daemon.h
//
// What fjord-controller's and fjord-broker's main() share: the command line
// (`--config FILE`, `--help`, `--version`), the shutdown signals, and the
// exit status. Each main supplies its name, its usage text and how to load
// its config and start; run_daemon does the rest:
//
//   exit 0  after --help or --version, or a clean shutdown on SIGTERM/SIGINT
//   exit 1  when start() fails (its detail is printed, prefixed by the name)
//   exit 2  on a usage error (unknown argument, missing --config)
//
// SIGTERM, SIGINT and SIGHUP are blocked in every thread before start() runs
// (threads inherit the mask) and waited for on the main thread; SIGHUP calls
// `reload` (certificates, common/tls/watcher.h) and the daemon keeps running; SIGPIPE is ignored,
// so a peer closing a socket is an error value, never a signal.

#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fjord {

struct daemon_spec {
    std::string_view program;  ///< "fjord-broker"; also the prefix of every message
    std::string_view usage;
    /// Loads the config at `config_path` and starts serving; returns what
    /// shuts the daemon down (called once, after a shutdown signal).
    std::function<result<std::function<void()>>(const std::string& config_path)> start;
    /// Called on the main thread for each SIGHUP after start() succeeded;
    /// may be empty (SIGHUP is then ignored).
    std::function<void()> reload;
};

/// main() for a daemon: returns the exit status.
int run_daemon(int argc, char** argv, const daemon_spec& spec);

}  // namespace fjord
