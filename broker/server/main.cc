// File: broker/server/main.cc
//
// fjord-broker --config FILE
//
// Parses flags, loads the config, starts the broker (broker_server.h), waits
// for SIGTERM or SIGINT and shuts down. Exit status: 0 after a clean
// shutdown, 1 if start-up failed (the reason is printed), 2 on usage errors.

#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "broker/server/broker_config.h"
#include "broker/server/broker_server.h"
#include "common/log.h"

namespace {

constexpr std::string_view usage =
    "usage: fjord-broker --config FILE\n"
    "\n"
    "Runs one Fjord broker: the Kafka API for clients, following the\n"
    "controller's decisions. The config file is YAML; its keys are\n"
    "documented in broker/server/README.md.\n";

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
        } else if (a == "--version") {
            fmt::print("fjord-broker {}\n", FJORD_VERSION);
            return 0;
        } else {
            fmt::print(stderr, "fjord-broker: unknown argument '{}'\n{}", a, usage);
            return 2;
        }
    }
    if (config_path.empty()) {
        fmt::print(stderr, "fjord-broker: --config is required\n{}", usage);
        return 2;
    }
    auto cfg = fjord::broker::load_broker_config(config_path);
    if (!cfg) {
        fmt::print(stderr, "fjord-broker: {}\n", cfg.error().detail);
        return 1;
    }
    fjord::set_log_level(cfg->log_level);
    // Block the shutdown signals in every thread (threads inherit the mask),
    // then wait for them here.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    auto server = fjord::broker::broker_server::start(*cfg);
    if (!server) {
        fmt::print(stderr, "fjord-broker: {}\n", server.error().detail);
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    (*server)->shutdown();
    return 0;
}
