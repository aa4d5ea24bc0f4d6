// File: broker/sim/log_sim_test.cc
//
// The simulation checks something: seeds pass on the production code, and
// the negative control (records readable before they are durable, as with
// write caching) is caught.

#include "broker/sim/log_sim.h"

#include <gtest/gtest.h>

#include "common/log.h"

namespace fjord::broker::sim {
namespace {

TEST(broker_log_sim, seeds_pass_and_exercise_power_losses) {
    set_log_level(log_level::off);
    sim_result total;
    for (uint64_t seed = 1; seed <= 40; ++seed) {
        const sim_result r = run_seed(seed, sim_options{});
        ASSERT_TRUE(r.ok) << "seed " << seed << ": " << r.failure;
        total.crashes += r.crashes;
        total.acked_batches += r.acked_batches;
        total.served_batches += r.served_batches;
        total.commits += r.commits;
    }
    // The runs did what they claim: crashes with acknowledged, served and
    // committed data at stake.
    EXPECT_GT(total.crashes, 80);
    EXPECT_GT(total.acked_batches, 500);
    EXPECT_GT(total.served_batches, 500);
    EXPECT_GT(total.commits, 200);
}

TEST(broker_log_sim, readable_before_durable_is_caught) {
    set_log_level(log_level::off);
    sim_options o;
    o.write_caching = true;
    int caught = 0;
    for (uint64_t seed = 1; seed <= 40; ++seed) {
        const sim_result r = run_seed(seed, o);
        if (!r.ok) {
            ++caught;
            EXPECT_NE(r.failure.find("served"), std::string::npos) << r.failure;
        }
    }
    EXPECT_GT(caught, 10) << "the checker misses records lost after being served";
}

TEST(broker_log_sim, acknowledging_before_the_sync_is_caught) {
    set_log_level(log_level::off);
    for (const bool commits : {false, true}) {
        sim_options o;
        o.unsafe_ack_on_write = !commits;
        o.unsafe_commit_on_write = commits;
        int caught = 0;
        for (uint64_t seed = 1; seed <= 40; ++seed) {
            const sim_result r = run_seed(seed, o);
            if (!r.ok) {
                ++caught;
                EXPECT_NE(r.failure.find(commits ? "commit" : "acknowledged"), std::string::npos)
                    << r.failure;
            }
        }
        EXPECT_GT(caught, 10) << (commits ? "offset commits" : "acks=all batches")
                              << " answered before their sync went unnoticed";
    }
}

TEST(broker_log_sim, a_seed_replays_exactly) {
    set_log_level(log_level::off);
    const sim_result a = run_seed(7, sim_options{});
    const sim_result b = run_seed(7, sim_options{});
    EXPECT_EQ(a.crashes, b.crashes);
    EXPECT_EQ(a.acked_batches, b.acked_batches);
    EXPECT_EQ(a.served_batches, b.served_batches);
    EXPECT_EQ(a.commits, b.commits);
}

}  // namespace
}  // namespace fjord::broker::sim
