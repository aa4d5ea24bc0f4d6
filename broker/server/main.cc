// File: broker/server/main.cc
//
// fjord-broker [--config FILE]   (default /etc/fjord/broker.yaml)
//
// Loads the config, runs FIPS mode's start-up checks (common/tls/fips.h)
// and starts the broker (broker_server.h); flags, signals and exit status
// are run_daemon's (common/daemon.h).

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "broker/server/broker_config.h"
#include "broker/server/broker_server.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/tls/fips.h"
#include "common/tls/watcher.h"

namespace {

constexpr std::string_view usage =
    "usage: fjord-broker [--config FILE] [--version] [--help]\n"
    "\n"
    "Runs one Fjord broker: the Kafka API for clients, following the\n"
    "controller's decisions. The config file is YAML; its keys are\n"
    "documented in broker/server/README.md.\n"
    "\n"
    "  --config FILE  the config (default: /etc/fjord/broker.yaml)\n"
    "  --version      print the version, git revision and build type\n";

}  // namespace

int main(int argc, char** argv) {
    return fjord::run_daemon(
        argc, argv,
        {.program = "fjord-broker",
         .usage = usage,
         .default_config = "/etc/fjord/broker.yaml",
         .start = [](const std::string& config_path) -> fjord::result<std::function<void()>> {
             auto cfg = fjord::broker::load_broker_config(config_path);
             if (!cfg) {
                 return cfg.error();
             }
             fjord::set_log_level(cfg->log_level);
             // FIPS checks before anything listens or starts a thread: a
             // failure exits with nothing served (the reason is logged).
             if (auto crypto = fjord::tls::start_crypto(cfg->fips); !crypto) {
                 return crypto.error();
             }
             auto server = fjord::broker::broker_server::start(*cfg);
             if (!server) {
                 return server.error();
             }
             std::shared_ptr<fjord::broker::broker_server> s = std::move(*server);
             return std::function<void()>([s] { s->shutdown(); });
         },
         // SIGHUP: re-read every TLS certificate, key and truststore now.
         .reload = [] { fjord::tls::credential_watcher::reload_all(); }});
}
