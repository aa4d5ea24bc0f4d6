// File: common/daemon.cc
//
// run_daemon (daemon.h).

#include "common/daemon.h"

#include <csignal>
#include <cstdio>

#include <fmt/format.h>

namespace fjord {

int run_daemon(int argc, char** argv, const daemon_spec& spec) {
    std::string config_path;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if ((a == "--config" || a == "-c") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a.starts_with("--config=")) {
            config_path = std::string(a.substr(9));
        } else if (a == "--help" || a == "-h") {
            fmt::print("{}", spec.usage);
            return 0;
        } else if (a == "--version") {
            fmt::print("{} {}\n", spec.program, FJORD_VERSION);
            return 0;
        } else {
            fmt::print(stderr, "{}: unknown argument '{}'\n{}", spec.program, a, spec.usage);
            return 2;
        }
    }
    if (config_path.empty()) {
        fmt::print(stderr, "{}: --config is required\n{}", spec.program, spec.usage);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    auto shutdown = spec.start(config_path);
    if (!shutdown) {
        fmt::print(stderr, "{}: {}\n", spec.program, shutdown.error().detail);
        return 1;
    }
    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
        if (spec.reload) {
            spec.reload();
        }
    }
    (*shutdown)();
    return 0;
}

}  // namespace fjord
