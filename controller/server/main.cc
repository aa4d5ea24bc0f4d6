// File: controller/server/main.cc
//
// fjord-controller [--config FILE]   (default /etc/fjord/controller.yaml)
//
// Loads the config, runs FIPS mode's start-up checks (common/tls/fips.h)
// and starts the server (controller_server.h); flags, signals and exit
// status are run_daemon's (common/daemon.h).

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <absl/synchronization/mutex.h>

#include "common/daemon.h"
#include "common/log.h"
#include "common/tls/fips.h"
#include "common/tls/watcher.h"
#include "controller/server/controller_config.h"
#include "controller/server/controller_server.h"

namespace {

constexpr std::string_view usage =
    "usage: fjord-controller [--config FILE] [--version] [--help]\n"
    "\n"
    "Runs one member of the Fjord controller Raft group. The config file is\n"
    "YAML; its keys are documented in controller/server/README.md.\n"
    "\n"
    "  --config FILE  the config (default: /etc/fjord/controller.yaml)\n"
    "  --version      print the version, git revision and build type\n";

}  // namespace

int main(int argc, char** argv) {
    return fjord::run_daemon(
        argc, argv,
        {.program = "fjord-controller",
         .usage = usage,
         .default_config = "/etc/fjord/controller.yaml",
         .start = [](const std::string& config_path) -> fjord::result<std::function<void()>> {
             // gRPC's abseil mutexes check lock order for deadlock cycles on
             // every acquisition in builds without NDEBUG (Debian's); that cost
             // ~3% of the leader's CPU under load. The project's own locks
             // never use absl.
             absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
             auto cfg = fjord::server::load_controller_config(config_path);
             if (!cfg) {
                 return cfg.error();
             }
             fjord::set_log_level(cfg->log_level);
             // FIPS checks before anything listens or starts a thread: a
             // failure exits with nothing served (the reason is logged).
             if (auto crypto = fjord::tls::start_crypto(cfg->fips); !crypto) {
                 return crypto.error();
             }
             auto server = fjord::server::controller_server::start(*cfg);
             if (!server) {
                 // The server's errors print with their category and code.
                 return fjord::error_info(server.error().code, server.error().message());
             }
             std::shared_ptr<fjord::server::controller_server> s = std::move(*server);
             return std::function<void()>([s] { s->shutdown(); });
         },
         // SIGHUP: re-read every TLS certificate, key and truststore now.
         .reload = [] { fjord::tls::credential_watcher::reload_all(); }});
}
