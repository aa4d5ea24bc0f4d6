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

bool parse_u64(std::string_view s, uint64_t& out) {
    if (s.empty()) {
        return false;
    }
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    out = v;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t seeds = 0;
    uint64_t first = 1;
    bool single = false;
    fjord::sim::options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&](uint64_t& out) {
            if (i + 1 >= argc || !parse_u64(argv[i + 1], out)) {
                return false;
            }
            ++i;
            return true;
        };
        if (a == "--seeds") {
            if (!value(seeds) || seeds == 0) {
                return usage("--seeds needs a positive integer");
            }
        } else if (a == "--first") {
            if (!value(first)) {
                return usage("--first needs an integer");
            }
        } else if (a == "--seed") {
            if (!value(first)) {
                return usage("--seed needs an integer");
            }
            single = true;
        } else if (a == "--nodes") {
            uint64_t n = 0;
            if (!value(n) || (n != 3 && n != 5)) {
                return usage("--nodes must be 3 or 5");
            }
            o.nodes = static_cast<int>(n);
        } else if (a == "--duration-ms") {
            if (!value(o.duration_ms) || o.duration_ms == 0) {
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
    if (single) {
        seeds = 1;
    } else if (seeds == 0) {
        return usage("give --seeds N or --seed S");
    }
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
