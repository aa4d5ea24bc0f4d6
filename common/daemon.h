#pragma once
// File: common/daemon.h
//
// What fjord-controller's and fjord-broker's main() share: the command line
// (`--config FILE`, `--help`, `--version`), the shutdown signals, and the
// exit status. Each main supplies its name, its usage text, its default
// config path and how to load its config and start; run_daemon does the rest:
//
//   --config FILE  the config to load; without it, `default_config`
//                  (/etc/fjord/controller.yaml, /etc/fjord/broker.yaml: the
//                  packages' conffiles and the systemd units' ExecStart)
//   --version      prints "<program> <version> (<git revision>, <build type>)"
//                  (common/build_info.h) and exits 0
//
//   exit 0  after --help or --version, or a clean shutdown on SIGTERM/SIGINT
//   exit 1  when start() fails (its detail is printed, prefixed by the name),
//           or when no --config was given and the default config does not
//           exist (the message names the path and says to pass --config)
//   exit 2  on a usage error (unknown argument, --config without a value)
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
    /// The config loaded when the command line has no --config.
    std::string_view default_config;
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
