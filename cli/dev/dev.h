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

#include <chrono>
#include <string>

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
};

void run_start(cli_context& ctx, const dev_options& o, bool nodes_given, bool brokers_given);
void run_stop(cli_context& ctx, const dev_options& o);
void run_status(cli_context& ctx, const dev_options& o);
void run_purge(cli_context& ctx, const dev_options& o);

}  // namespace fjord::cli::dev
