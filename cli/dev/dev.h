#pragma once
// File: cli/dev/dev.h
//
// fjord dev start|stop|status|purge: a local cluster of real fjord-controller
// and fjord-broker processes on loopback, for trying Fjord and for tests
// (rpk container's role, rpk-reference §9, without containers). The flags
// are bound in cli/commands/dev.cc; the verbs run here:
//   start.cc   start          ports.h (allocation), processes.h (launching),
//                             state.h (cluster.json, configs), observe.h (readiness),
//                             secure.h (--sasl)
//   stop.cc    stop, purge    processes.h (signals), state.h
//   status.cc  status         observe.h
//   report.h   what each prints (JSON, tables, --format help schemas)
//
// Contracts:
// - start: a fresh cluster gets its ports as ports.h says. A stopped cluster
//   restarts with its recorded ports and data. Brokers start once every
//   member answers Status naming the same leader and the cluster has a
//   uuid; start returns once every broker's GET /healthz says ok. Otherwise
//   (timeout, a process exiting) it prints the log tails, stops what it
//   started and exits 1. Then it creates or updates the profile "dev"
//   (controllers, brokers, and with security on user, pass, sasl.mechanism)
//   and makes it current (unless --no-profile). Already running: says so,
//   exits 0.
// - start --sasl (a new cluster only; a cluster started with it stays secured
//   across restarts): a generated superuser, then SASL, ACL authorization and
//   controller API authentication on (secure.h), before any broker starts.
//   The brokers authenticate to the controllers as the superuser.
// - stop: SIGTERM to each broker's, then each member's recorded pid, but only
//   if /proc/PID/cmdline is a fjord-broker (fjord-controller) run with that
//   process's config file; waits, then SIGKILL after --timeout (reported,
//   exit 1). State is kept.
// - status: exit 0 when every member runs, a leader exists and every broker
//   runs and is ready, else 1.
// - purge: stop, then remove what start created (and the "dev" profile if it
//   still points at this state directory); other files are left and named.
// - --name NAME (every verb): another, independent cluster beside the default
//   one, e.g. the shadow of a shadow link (docs/shadow-links.md): its state
//   directory is dev-NAME beside dev (state.h), its ports a block of its own
//   (ports.h named_port_block), and start writes the profile NAME (not
//   "dev") but does not make it current, so `fjord --profile NAME ...` talks
//   to it while the current profile stays where it was. Without --name
//   every verb is exactly the default cluster's.

#include <chrono>
#include <string>

#include "common/result.h"

namespace fjord::cli {
class cli_context;
}

namespace fjord::cli::dev {

struct dev_options {
    std::string state_dir;
    int nodes = 3;
    int brokers = 1;
    std::chrono::milliseconds timeout{30000};
    bool no_profile = false;
    /// --sasl: a new cluster with security on (secure.h).
    bool sasl = false;
    /// --tls: a new cluster whose every listener serves TLS (pki.h).
    bool tls = false;
    /// --name: a named cluster ("" the default one); see the header.
    std::string name;
};

/// The profile a cluster's start writes and purge removes: "dev", or its name.
inline std::string profile_of(const dev_options& o) {
    return o.name.empty() ? std::string("dev") : o.name;
}

/// " --name NAME" for a named cluster, "" for the default one: what the
/// verbs' hints append to `fjord dev ...`.
inline std::string name_flag(const dev_options& o) {
    return o.name.empty() ? std::string() : " --name " + o.name;
}

/// --name: a profile name (profile.h) other than "dev", which is the default
/// cluster's.
result<void> validate_cluster_name(const std::string& name);

void run_start(cli_context& ctx, const dev_options& o, bool nodes_given, bool brokers_given);
void run_stop(cli_context& ctx, const dev_options& o);
void run_status(cli_context& ctx, const dev_options& o);
void run_purge(cli_context& ctx, const dev_options& o);

}  // namespace fjord::cli::dev
