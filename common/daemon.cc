// File: common/daemon.cc
//
// run_daemon (daemon.h).

#include "common/daemon.h"

#include "common/build_info.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

namespace fjord {

int run_daemon(int argc, char** argv, const daemon_spec& spec) {
    std::string config_path;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--config" || a == "-c") {
            if (i + 1 >= argc || std::string_view(argv[i + 1]).empty()) {
                fmt::print(stderr, "{}: {} needs a file\n{}", spec.program, a, spec.usage);
                return 2;
            }
            config_path = argv[++i];
        } else if (a.starts_with("--config=")) {
            config_path = std::string(a.substr(9));
            if (config_path.empty()) {
                fmt::print(stderr, "{}: --config needs a file\n{}", spec.program, spec.usage);
                return 2;
            }
        } else if (a == "--help" || a == "-h") {
            fmt::print("{}", spec.usage);
            return 0;
        } else if (a == "--version") {
            fmt::print("{} {}\n", spec.program, build::describe());
            return 0;
        } else {
            fmt::print(stderr, "{}: unknown argument '{}'\n{}", spec.program, a, spec.usage);
            return 2;
        }
    }
    if (config_path.empty()) {
        // The packaged default. Checked here so that its absence says which
        // file was looked for and how to name another, rather than only
        // "cannot open".
        config_path = std::string(spec.default_config);
        std::error_code ec;
        if (!std::filesystem::exists(config_path, ec)) {
            fmt::print(stderr,
                       "{}: no --config given and the default config {} does not exist "
                       "(install the {} package, or pass --config FILE)\n",
                       spec.program, config_path, spec.program);
            return 1;
        }
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
