// File: cli/commands/dev.cc
//
// The flags of fjord dev start|stop|status|purge; the verbs themselves and
// their contracts are in cli/dev/ (dev.h).

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/dev/dev.h"

namespace fjord::cli {
namespace {

using dev::dev_options;

void add_state_dir(CLI::App* cmd, dev_options& o) {
    cmd->add_option("--state-dir", o.state_dir,
                    "State directory (default $XDG_STATE_HOME/fjord/dev, or "
                    "~/.local/state/fjord/dev)");
}

void add_name(CLI::App* cmd, dev_options& o) {
    cmd->add_option("--name", o.name,
                    "Another, independent cluster beside the default one: its own ports, state "
                    "directory (dev-NAME) and profile NAME (fjord --profile NAME ...)");
}

void add_timeout(CLI::App* cmd, dev_options& o, const char* help) {
    cmd->add_option_function<std::string>(
           "--timeout",
           [&o](const std::string& v) {
               auto d = parse_duration(v);
               if (!d) {
                   throw CLI::ValidationError("--timeout", d.error().detail);
               }
               o.timeout = *d;
           },
           help)
        ->default_str("30s");
}

}  // namespace

void register_dev_commands(CLI::App& root, cli_context& ctx) {
    auto* dev =
        root.add_subcommand("dev", "Run a local cluster of real controller and broker processes");
    dev->require_subcommand(1);

    auto so = std::make_shared<dev_options>();
    auto* start = dev->add_subcommand(
        "start", "Start (or restart) the local cluster and select the \"dev\" profile");
    start->add_option("-n,--nodes", so->nodes, "Number of controllers (1..7; default 3)")
        ->check(CLI::Range(1, 7));
    start->add_option("--brokers", so->brokers, "Number of brokers (0..9; default 1)")
        ->check(CLI::Range(0, 9));
    start->add_flag("--no-profile", so->no_profile, "Do not create or select the \"dev\" profile");
    start->add_flag("--sasl", so->sasl,
                    "A new cluster with security on: a generated superuser (in the dev profile), "
                    "SASL/SCRAM on the brokers, ACL authorization and controller API "
                    "authentication");
    start->add_flag("--tls", so->tls,
                    "A new cluster with TLS on every listener (Kafka, controller API, peers, the "
                    "brokers' controller link), certificates from a private CA whose certificate "
                    "the dev profile trusts");
    add_state_dir(start, *so);
    add_name(start, *so);
    add_timeout(start, *so, "How long to wait for a leader and for the brokers to be ready");
    start->callback([&ctx, so, start] {
        dev::run_start(ctx, *so, start->count("--nodes") > 0, start->count("--brokers") > 0);
    });

    auto po = std::make_shared<dev_options>();
    auto* stop = dev->add_subcommand("stop", "Stop the local cluster's processes (state is kept)");
    add_state_dir(stop, *po);
    add_name(stop, *po);
    add_timeout(stop, *po, "How long to wait after SIGTERM before SIGKILL");
    stop->callback([&ctx, po] { dev::run_stop(ctx, *po); });

    auto to = std::make_shared<dev_options>();
    auto* status = dev->add_subcommand(
        "status",
        "Show each controller and broker: pid, ports, role (exit 0 only if all run with a "
        "leader)");
    add_state_dir(status, *to);
    add_name(status, *to);
    status->callback([&ctx, to] { dev::run_status(ctx, *to); });

    auto uo = std::make_shared<dev_options>();
    auto* purge = dev->add_subcommand("purge", "Stop the local cluster and remove its state");
    add_state_dir(purge, *uo);
    add_name(purge, *uo);
    add_timeout(purge, *uo, "How long to wait after SIGTERM before SIGKILL");
    purge->callback([&ctx, uo] { dev::run_purge(ctx, *uo); });
}

}  // namespace fjord::cli
