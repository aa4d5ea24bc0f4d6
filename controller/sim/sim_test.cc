// File: controller/sim/sim_test.cc
//
// Tests of the simulation itself: it is deterministic (a seed replays
// exactly), it passes on the production code, it does what it claims (faults
// and clients actually happen), and its checks are not vacuous (a disk that
// ignores flushes is caught). The thousand-seed runs live in scripts/test via
// the raft_sim binary.

#include "controller/sim/sim.h"

#include <gtest/gtest.h>

namespace fjord::sim {
namespace {

TEST(raft_sim, same_seed_replays_identically) {
    options o;
    o.seed = 7;
    o.nodes = 5;
    const outcome a = run(o);
    const outcome b = run(o);
    ASSERT_TRUE(a.ok) << a.violation;
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.events, b.events);
    EXPECT_EQ(a.writes_acked, b.writes_acked);
    EXPECT_EQ(a.trace, b.trace);
}

TEST(raft_sim, different_seeds_differ) {
    options o;
    o.seed = 1;
    const outcome a = run(o);
    o.seed = 2;
    const outcome b = run(o);
    EXPECT_NE(a.trace_hash, b.trace_hash);
}

TEST(raft_sim, seeds_pass_and_exercise_faults) {
    outcome total;
    for (int nodes : {3, 5}) {
        for (uint64_t seed = 1; seed <= 10; ++seed) {
            options o;
            o.seed = seed;
            o.nodes = nodes;
            const outcome r = run(o);
            ASSERT_TRUE(r.ok) << "seed " << seed << " nodes " << nodes << ": " << r.violation;
            total.writes_acked += r.writes_acked;
            total.retries += r.retries;
            total.reads_ok += r.reads_ok;
            total.crashes += r.crashes;
            total.snapshots_sent += r.snapshots_sent;
            total.conf_changes += r.conf_changes;
            total.transfers += r.transfers;
        }
    }
    // The runs did what the simulation claims to do.
    EXPECT_GT(total.writes_acked, 500u);
    EXPECT_GT(total.retries, 50u);
    EXPECT_GT(total.reads_ok, 100u);
    EXPECT_GT(total.crashes, 20u);
    EXPECT_GT(total.snapshots_sent, 5u);
    EXPECT_GT(total.conf_changes, 10u);
    EXPECT_GT(total.transfers, 5u);
}

TEST(raft_sim, negative_control_a_disk_that_ignores_flushes_is_caught) {
    bool caught = false;
    for (uint64_t seed = 1; seed <= 100 && !caught; ++seed) {
        options o;
        o.seed = seed;
        o.unsafe_no_fsync = true;
        caught = !run(o).ok;
    }
    EXPECT_TRUE(caught) << "a disk that ignores flushes went unnoticed in 100 seeds";
}

}  // namespace
}  // namespace fjord::sim
