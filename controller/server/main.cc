// File: controller/server/main.cc
//
// fjord-controller --config FILE
//
// Parses flags, loads the config, starts the server (controller_server.h),
// waits for SIGTERM or SIGINT and shuts down gracefully. Exit status: 0 after
// a clean shutdown, 1 if start-up failed (the reason is printed), 2 on usage
// errors.

#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>

#include <absl/synchronization/mutex.h>
#include <fmt/format.h>

#include "controller/server/controller_config.h"
#include "controller/server/controller_server.h"

namespace {

constexpr std::string_view usage =
    "usage: fjord-controller --config FILE\n"
    "\n"
    "Runs one member of the Fjord controller Raft group. The config file is\n"
    "YAML; its keys are documented in controller/server/README.md.\n";

}  // namespace

int main(int argc, char** argv) {
    std::string config_path;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if ((a == "--config" || a == "-c") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a.starts_with("--config=")) {
            config_path = std::string(a.substr(9));
        } else if (a == "--help" || a == "-h") {
            fmt::print("{}", usage);
            return 0;
        } else {
            fmt::print(stderr, "fjord-controller: unknown argument '{}'\n{}", a, usage);
            return 2;
        }
    }
    if (config_path.empty()) {
        fmt::print(stderr, "fjord-controller: --config is required\n{}", usage);
        return 2;
    }
    // gRPC's abseil mutexes check lock order for deadlock cycles on every
    // acquisition in builds without NDEBUG (Debian's); that cost ~3% of the
    // leader's CPU under load. The project's own locks never use absl.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    auto cfg = fjord::controller::load_controller_config(config_path);
    if (!cfg) {
        fmt::print(stderr, "fjord-controller: {}\n", cfg.error().detail);
        return 1;
    }
    // Block the shutdown signals in every thread (threads inherit the mask),
    // then wait for them here.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    auto server = fjord::server::controller_server::start(*cfg);
    if (!server) {
        fmt::print(stderr, "fjord-controller: {}\n", server.error().message());
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    (*server)->shutdown();
    return 0;
}
