// File: broker/shadow/fetch_rules_test.cc
//
// The fetchers' decisions (fetch_rules.h): errors to actions, the source's
// retention passing the shadow (a gap, or FAULTED), where an empty shadow
// partition starts, and which fetched batches are appended.

#include "broker/shadow/fetch_rules.h"

#include <gtest/gtest.h>

#include "broker/storage/log_test_util.h"

namespace fjord::broker::shadow {
namespace {

using storage::testing::make_batch;
using storage::testing::with_base_offset;

TEST(fetch_rules, errors_map_to_actions) {
    EXPECT_EQ(on_partition_error(0), error_action::none);
    EXPECT_EQ(on_partition_error(1), error_action::reset_offset);
    for (int16_t e : {3, 5, 6, 74, 75, 100}) {
        EXPECT_EQ(on_partition_error(e), error_action::refresh_metadata) << e;
    }
    for (int16_t e : {29, 31, 58}) {
        EXPECT_EQ(on_partition_error(e), error_action::unavailable) << e;
    }
    for (int16_t e : {-1, 7, 56}) {
        EXPECT_EQ(on_partition_error(e), error_action::back_off) << e;
    }
    EXPECT_EQ(error_name(6), "NOT_LEADER_OR_FOLLOWER");
    EXPECT_EQ(error_name(999), "ERROR 999");
}

TEST(fetch_rules, out_of_range_leaves_a_gap_or_faults) {
    // The source's retention passed the shadow: on from its start.
    auto p = on_out_of_range(/*source_start=*/100, /*source_hwm=*/150, /*log_end=*/40);
    EXPECT_FALSE(p.faulted);
    EXPECT_EQ(p.next_offset, 100);
    // The shadow is beyond the source: nothing is rewritten, FAULTED.
    p = on_out_of_range(0, 30, 40);
    EXPECT_TRUE(p.faulted);
    EXPECT_EQ(p.reason,
              "the shadow holds offsets up to 40, beyond the source's high watermark 30: the "
              "source lost records the shadow has");
    // In range after all (it moved meanwhile): try again where we are.
    p = on_out_of_range(10, 50, 40);
    EXPECT_FALSE(p.faulted);
    EXPECT_EQ(p.next_offset, 40);
}

TEST(fetch_rules, where_an_empty_partition_starts) {
    EXPECT_EQ(start_offset(/*answer=*/0, /*hwm=*/10, /*log_end=*/0), std::nullopt);
    EXPECT_EQ(start_offset(70, 90, 0), std::optional<int64_t>(70));  // earliest 70 or a timestamp
    EXPECT_EQ(start_offset(-1, 90, 0), std::optional<int64_t>(90));  // no record after the time
    EXPECT_EQ(start_offset(70, 90, 80), std::nullopt);               // never backwards
    // latest is asked as "the first record since the topic was created":
    // the same answer after a restart.
    EXPECT_EQ(start_query(latest, 1'700'000'000'000), 1'700'000'000'000);
    EXPECT_EQ(start_query(latest, 0), latest);
    EXPECT_EQ(start_query(earliest, 1'700'000'000'000), earliest);
    EXPECT_EQ(start_query(1234, 1'700'000'000'000), 1234);
}

std::string batches(const std::vector<std::pair<int64_t, int>>& spec) {
    std::string out;
    int tag = 0;
    for (const auto& [base, n] : spec) {
        out += with_base_offset(make_batch(n, 1000, 16, tag++), base);
    }
    return out;
}

TEST(fetch_rules, plan_copy_appends_what_follows_the_log_end) {
    const std::string rs = batches({{0, 3}, {3, 2}, {10, 1}});  // a gap from 5 to 10
    auto plan = plan_copy(rs, 3, false);
    ASSERT_EQ(plan.batches.size(), 2u);
    EXPECT_EQ(plan.batches[0].base_offset, 3);
    EXPECT_EQ(plan.batches[1].base_offset, 10);
    EXPECT_EQ(plan.batches[1].last_offset, 10);
    EXPECT_EQ(plan.batches[0].pos + plan.batches[0].size, plan.batches[1].pos);
    EXPECT_EQ(plan.bytes_fetched, rs.size());
    EXPECT_EQ(plan.records_fetched, 6);
    EXPECT_FALSE(plan.move_start_to);
    EXPECT_FALSE(plan.misaligned);

    // Everything already copied.
    plan = plan_copy(rs, 11, false);
    EXPECT_TRUE(plan.batches.empty());
    EXPECT_FALSE(plan.misaligned);
}

TEST(fetch_rules, a_batch_holding_the_log_end) {
    const std::string rs = batches({{0, 3}, {3, 2}});
    // An empty log moves its start down to the batch: kept whole.
    auto plan = plan_copy(rs, 1, true);
    ASSERT_EQ(plan.batches.size(), 2u);
    EXPECT_EQ(plan.move_start_to, std::optional<int64_t>(0));
    // A log holding batches cannot take it: misaligned when nothing else.
    plan = plan_copy(batches({{0, 3}}), 1, false);
    EXPECT_TRUE(plan.batches.empty());
    EXPECT_TRUE(plan.misaligned);
    plan = plan_copy(rs, 1, false);
    ASSERT_EQ(plan.batches.size(), 1u);
    EXPECT_EQ(plan.batches[0].base_offset, 3);
    EXPECT_FALSE(plan.misaligned);
}

TEST(fetch_rules, a_cut_off_or_bad_tail_ends_the_walk) {
    std::string rs = batches({{0, 2}, {2, 2}});
    const std::string whole_first = rs.substr(0, rs.size() / 2);
    rs.resize(rs.size() - 5);  // the second batch cut by the answer's size limit
    auto plan = plan_copy(rs, 0, true);
    ASSERT_EQ(plan.batches.size(), 1u);
    EXPECT_EQ(plan.bytes_fetched, plan.batches[0].size);
    // Offsets going backwards end it too.
    const std::string back = batches({{5, 1}, {2, 1}});
    plan = plan_copy(back, 0, true);
    ASSERT_EQ(plan.batches.size(), 1u);
    EXPECT_EQ(plan.batches[0].base_offset, 5);
    EXPECT_TRUE(plan_copy("", 0, true).batches.empty());
    EXPECT_TRUE(plan_copy("short", 0, true).batches.empty());
}

TEST(fetch_rules, lag) {
    EXPECT_EQ(lag(100, 40), 60);
    EXPECT_EQ(lag(40, 100), 0);
    EXPECT_EQ(lag(-1, 0), 0);
}

}  // namespace
}  // namespace fjord::broker::shadow
