// File: broker/sim/main.cc
//
// broker_log_sim: the broker's power-loss simulation (log_sim.h) over many
// seeds.
//
//   broker_log_sim --seeds N [--first S] [--steps K]
//   broker_log_sim --seed S [--steps K] [--verbose]   replay one seed exactly
//   --unsafe-write-caching   negative control: readable before durable; must fail
//   --unsafe-ack-on-write    negative control: acks=all answered before the sync
//   --unsafe-commit-on-write negative control: OffsetCommit answered before the sync
//
// Exit status: 0 when every seed passes, 1 on the first violation (the seed
// and the broken invariant are printed; replay it with --seed S --verbose),
// 2 on bad usage.

#include <chrono>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "broker/sim/log_sim.h"
#include "common/log.h"
#include "common/sim_args.h"

namespace {

int usage(std::string_view why) {
    fmt::print(stderr,
               "broker_log_sim: {}\n"
               "usage: broker_log_sim --seeds N [--first S] [--steps K]\n"
               "       broker_log_sim --seed S [--steps K] [--verbose]\n"
               "       add --unsafe-write-caching, --unsafe-ack-on-write or\n"
               "       --unsafe-commit-on-write for a negative control (must fail)\n",
               why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    fjord::sim_args args(argc, argv);
    fjord::broker::sim::sim_options o;
    while (args.next()) {
        if (auto e = args.seed_flag()) {
            if (!e->empty()) {
                return usage(*e);
            }
            continue;
        }
        const std::string_view a = args.flag();
        uint64_t n = 0;
        if (a == "--steps") {
            if (!args.value(n) || n == 0 || n > 1'000'000) {
                return usage("--steps needs an integer in [1, 1000000]");
            }
            o.steps = static_cast<int>(n);
        } else if (a == "--verbose") {
            o.verbose = true;
        } else if (a == "--unsafe-write-caching") {
            o.write_caching = true;
        } else if (a == "--unsafe-ack-on-write") {
            o.unsafe_ack_on_write = true;
        } else if (a == "--unsafe-commit-on-write") {
            o.unsafe_commit_on_write = true;
        } else {
            return usage(fmt::format("unknown argument {}", a));
        }
    }
    if (auto e = args.finish(); !e.empty()) {
        return usage(e);
    }
    if (o.verbose && !args.single) {
        return usage("--verbose replays one seed: use it with --seed");
    }
    const uint64_t first = args.first;
    const uint64_t seeds = args.seeds;
    fjord::set_log_level(o.verbose ? fjord::log_level::info : fjord::log_level::off);
    const auto start = std::chrono::steady_clock::now();
    uint64_t crashes = 0;
    uint64_t acked = 0;
    uint64_t served = 0;
    uint64_t commits = 0;
    for (uint64_t s = first; s < first + seeds; ++s) {
        const auto r = fjord::broker::sim::run_seed(s, o);
        if (!r.ok) {
            fmt::print(
                "broker_log_sim: seed {} FAILED: {}\n  replay: broker_log_sim --seed {}{} "
                "--verbose\n",
                s, r.failure, s,
                std::string(o.write_caching ? " --unsafe-write-caching" : "") +
                    (o.unsafe_ack_on_write ? " --unsafe-ack-on-write" : "") +
                    (o.unsafe_commit_on_write ? " --unsafe-commit-on-write" : ""));
            return 1;
        }
        crashes += static_cast<uint64_t>(r.crashes);
        acked += static_cast<uint64_t>(r.acked_batches);
        served += static_cast<uint64_t>(r.served_batches);
        commits += static_cast<uint64_t>(r.commits);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print(
        "broker_log_sim: {} seeds passed ({} power losses, {} acks=all batches, {} batches "
        "served, {} offset commits checked) in {:.1f}s\n",
        seeds, crashes, acked, served, commits, secs);
    return 0;
}
