// File: controller/sim/raft_sim_main.cc
//
// raft_sim: runs the deterministic simulation of a controller group (sim.h:
// the production ready loop, state machine and durable log) over many seeds.
//
//   raft_sim --seeds N [--first S] [--nodes 3|5] [--duration-ms D]
//   raft_sim --seed S [--nodes 3|5] [--verbose]     replay one seed exactly
//   --unsafe-no-fsync (alias --unsafe-send-before-sync)
//                     negative control: the disks ignore flushes; must fail
//
// Exit status: 0 when every seed passes, 1 on the first violation (the seed,
// the violation and the trace leading to it are printed), 2 on bad usage.

#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/sim_args.h"
#include "controller/sim/sim.h"

namespace {

int usage(const std::string& why) {
    fmt::print(stderr,
               "raft_sim: {}\n"
               "usage: raft_sim --seeds N [--first S] [--nodes 3|5] [--duration-ms D]\n"
               "       raft_sim --seed S [--nodes 3|5] [--duration-ms D] [--verbose]\n"
               "       add --unsafe-no-fsync for the negative control (must fail)\n",
               why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    fjord::sim_args args(argc, argv);
    fjord::sim::options o;
    while (args.next()) {
        if (auto e = args.seed_flag()) {
            if (!e->empty()) {
                return usage(*e);
            }
            continue;
        }
        const std::string_view a = args.flag();
        if (a == "--nodes") {
            uint64_t n = 0;
            if (!args.value(n) || (n != 3 && n != 5)) {
                return usage("--nodes must be 3 or 5");
            }
            o.nodes = static_cast<int>(n);
        } else if (a == "--duration-ms") {
            if (!args.value(o.duration_ms) || o.duration_ms == 0) {
                return usage("--duration-ms needs a positive integer");
            }
        } else if (a == "--verbose") {
            o.verbose = true;
        } else if (a == "--unsafe-no-fsync" || a == "--unsafe-send-before-sync") {
            o.unsafe_no_fsync = true;
        } else {
            return usage(fmt::format("unknown argument '{}'", a));
        }
    }
    if (auto e = args.finish(); !e.empty()) {
        return usage(e);
    }
    const uint64_t first = args.first;
    const uint64_t seeds = args.seeds;
    const bool single = args.single;
    const auto start = std::chrono::steady_clock::now();
    uint64_t acked = 0, retries = 0, reads = 0, elections = 0, crashes = 0, snaps = 0, confs = 0,
             xfers = 0;
    for (uint64_t s = first; s < first + seeds; ++s) {
        o.seed = s;
        const auto r = fjord::sim::run(o);
        if (!r.ok) {
            fmt::print("FAIL seed {} ({} nodes): {}\n", s, o.nodes, r.violation);
            fmt::print("--- last {} trace lines ---\n", r.trace.size());
            for (const auto& line : r.trace) {
                fmt::print("{}\n", line);
            }
            fmt::print("replay: raft_sim --seed {} --nodes {} --duration-ms {} --verbose\n", s,
                       o.nodes, o.duration_ms);
            return 1;
        }
        acked += r.writes_acked;
        retries += r.retries;
        reads += r.reads_ok;
        elections += r.elections;
        crashes += r.crashes;
        snaps += r.snapshots_sent;
        confs += r.conf_changes;
        xfers += r.transfers;
        if (single) {
            fmt::print("seed {}: ok, {} events, {} writes acked, {} crashes, trace hash {:016x}\n",
                       s, r.events, r.writes_acked, r.crashes, r.trace_hash);
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print(
        "raft_sim: {} seeds passed ({} nodes, seeds {}..{}) in {:.1f}s: {} writes acked ({} "
        "retries), {} linearizable reads, {} elections, {} crashes, {} snapshots sent, {} "
        "membership changes, {} transfers\n",
        seeds, o.nodes, first, first + seeds - 1, secs, acked, retries, reads, elections, crashes,
        snaps, confs, xfers);
    return 0;
}
