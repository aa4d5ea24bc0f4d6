// File: controller/raft/sim/sim_test.cc
//
// Tests of the simulation itself: it is deterministic (a seed replays
// exactly), it passes on the real core, and its checks are not vacuous (a run
// that breaks the ready contract is caught). The thousand-seed runs live in
// scripts/test via the raft_sim binary.

#include "controller/raft/sim/sim.h"

#include <gtest/gtest.h>

namespace fjord::raft::sim {
namespace {

TEST(raft_sim, same_seed_replays_identically) {
    options o;
    o.seed = 7;
    o.nodes = 5;
    const outcome a = run(o);
    const outcome b = run(o);
    ASSERT_TRUE(a.ok) << a.violation;
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
    EXPECT_NE(a.trace, b.trace);
}

TEST(raft_sim, seeds_pass_and_exercise_faults) {
    outcome total;
    for (int nodes : {3, 5}) {
        for (uint64_t seed = 1; seed <= 20; ++seed) {
            options o;
            o.seed = seed;
            o.nodes = nodes;
            const outcome r = run(o);
            ASSERT_TRUE(r.ok) << "seed " << seed << " nodes " << nodes << ": " << r.violation;
            total.writes_acked += r.writes_acked;
            total.reads_ok += r.reads_ok;
            total.crashes += r.crashes;
            total.snapshots_sent += r.snapshots_sent;
            total.conf_changes += r.conf_changes;
            total.transfers += r.transfers;
        }
    }
    // The runs did what the simulation claims to do.
    EXPECT_GT(total.writes_acked, 1000u);
    EXPECT_GT(total.reads_ok, 500u);
    EXPECT_GT(total.crashes, 10u);
    EXPECT_GT(total.snapshots_sent, 10u);
    EXPECT_GT(total.conf_changes, 10u);
    EXPECT_GT(total.transfers, 10u);
}

TEST(raft_sim, negative_control_send_before_sync_is_caught) {
    bool caught = false;
    for (uint64_t seed = 1; seed <= 300 && !caught; ++seed) {
        options o;
        o.seed = seed;
        o.unsafe_send_before_sync = true;
        caught = !run(o).ok;
    }
    EXPECT_TRUE(caught) << "sending before sync went unnoticed in 300 seeds";
}

}  // namespace
}  // namespace fjord::raft::sim
