// File: broker/shadow/fetch_rules_test.cc
//
// The fetchers' decisions (fetch_rules.h): errors to actions, the source's
// retention passing the shadow (a gap, or FAULTED), where an empty shadow
// partition starts, which fetched batches are appended, and the sticky
// faults of a source that is no longer the log the shadow copied.

#include "broker/shadow/fetch_rules.h"

#include <limits>

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

/// A high watermark above every batch of these tests.
constexpr int64_t big = 1'000'000;

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
    auto plan = plan_copy(rs, 3, false, big);
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
    plan = plan_copy(rs, 11, false, big);
    EXPECT_TRUE(plan.batches.empty());
    EXPECT_FALSE(plan.misaligned);
}

TEST(fetch_rules, a_batch_holding_the_log_end) {
    const std::string rs = batches({{0, 3}, {3, 2}});
    // An empty log moves its start down to the batch: kept whole.
    auto plan = plan_copy(rs, 1, true, big);
    ASSERT_EQ(plan.batches.size(), 2u);
    EXPECT_EQ(plan.move_start_to, std::optional<int64_t>(0));
    // A log holding batches cannot take it: misaligned when nothing else.
    plan = plan_copy(batches({{0, 3}}), 1, false, big);
    EXPECT_TRUE(plan.batches.empty());
    EXPECT_TRUE(plan.misaligned);
    plan = plan_copy(rs, 1, false, big);
    ASSERT_EQ(plan.batches.size(), 1u);
    EXPECT_EQ(plan.batches[0].base_offset, 3);
    EXPECT_FALSE(plan.misaligned);
}

TEST(fetch_rules, a_cut_off_or_bad_tail_ends_the_walk) {
    std::string rs = batches({{0, 2}, {2, 2}});
    const std::string whole_first = rs.substr(0, rs.size() / 2);
    rs.resize(rs.size() - 5);  // the second batch cut by the answer's size limit
    auto plan = plan_copy(rs, 0, true, big);
    ASSERT_EQ(plan.batches.size(), 1u);
    EXPECT_EQ(plan.bytes_fetched, plan.batches[0].size);
    // Offsets going backwards end it too.
    const std::string back = batches({{5, 1}, {2, 1}});
    plan = plan_copy(back, 0, true, big);
    ASSERT_EQ(plan.batches.size(), 1u);
    EXPECT_EQ(plan.batches[0].base_offset, 5);
    EXPECT_TRUE(plan_copy("", 0, true, big).batches.empty());
    EXPECT_TRUE(plan_copy("short", 0, true, big).batches.empty());
}

TEST(fetch_rules, after_a_gap_batches_are_planned_against_the_true_log_end) {
    // The shadow ends at 40; the source's start moved to 100, inside a
    // batch 95..104: the Fetch asks at 100, the batch is appended whole
    // after the gap (its base is beyond the true end).
    const std::string rs = batches({{95, 10}, {105, 2}});
    auto plan = plan_copy(rs, /*log_end=*/40, /*log_empty=*/false, big);
    ASSERT_EQ(plan.batches.size(), 2u);
    EXPECT_EQ(plan.batches[0].base_offset, 95);
    EXPECT_FALSE(plan.misaligned);
    EXPECT_TRUE(plan.rejected.empty());
    // Planning against the fetch offset instead loses 100..104, or
    // strands the partition when the straddling batch comes alone.
    plan = plan_copy(rs, 100, false, big);
    ASSERT_EQ(plan.batches.size(), 1u);
    EXPECT_EQ(plan.batches[0].base_offset, 105);
    EXPECT_TRUE(plan_copy(batches({{95, 10}}), 100, false, big).misaligned);
    EXPECT_FALSE(plan_copy(batches({{95, 10}}), 40, false, big).misaligned);
}

TEST(fetch_rules, an_unsound_batch_rejects_the_whole_answer) {
    const std::string rs = batches({{0, 3}, {3, 2}});  // last offset 4
    EXPECT_TRUE(plan_copy(rs, 0, true, /*source_hwm=*/5).rejected.empty());
    auto plan = plan_copy(rs, 0, true, /*source_hwm=*/4);
    EXPECT_TRUE(plan.batches.empty());
    EXPECT_EQ(plan.rejected,
              "the source sent a batch ending at offset 4, at or beyond its high watermark 4: "
              "nothing of the answer is copied");
    // A negative base, even after sound batches.
    plan = plan_copy(batches({{0, 3}, {-5, 1}}), 0, true, big);
    EXPECT_TRUE(plan.batches.empty());
    EXPECT_EQ(plan.rejected,
              "the source sent a batch with bad offsets (base -5, last offset delta 0): nothing "
              "of the answer is copied");
    // base + last_offset_delta beyond int64.
    plan = plan_copy(batches({{std::numeric_limits<int64_t>::max() - 1, 3}}), 0, true, big);
    EXPECT_TRUE(plan.batches.empty());
    EXPECT_FALSE(plan.rejected.empty());
}

TEST(fetch_rules, a_recreated_source_topic) {
    EXPECT_EQ(topic_id_text(0, 0), "");
    const std::string id = topic_id_text(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
    EXPECT_EQ(id, "01234567-89ab-cdef-fedc-ba9876543210");
    // Only when both are known.
    EXPECT_EQ(source_topic_recreated("", id), std::nullopt);
    EXPECT_EQ(source_topic_recreated(id, ""), std::nullopt);
    EXPECT_EQ(source_topic_recreated(id, id), std::nullopt);
    EXPECT_EQ(source_topic_recreated(id, "01234567-89AB-CDEF-FEDC-BA9876543210"), std::nullopt);
    EXPECT_EQ(source_topic_recreated("aaaaaaaa-0000-0000-0000-000000000001", id),
              std::optional<std::string>("the source topic was recreated (id "
                                         "aaaaaaaa-0000-0000-0000-000000000001, expected " +
                                         id + ")"));
}

std::string with_epoch(std::string batch, int32_t epoch) {
    const auto e = static_cast<uint32_t>(epoch);
    for (int i = 0; i < 4; ++i) {
        batch[12 + static_cast<size_t>(i)] = static_cast<char>((e >> (8 * (3 - i))) & 0xff);
    }
    return batch;
}

TEST(fetch_rules, the_source_log_diverged) {
    // LastFetchedEpoch: the shadow's last batch's epoch, only when the
    // Fetch continues right after it.
    EXPECT_EQ(last_fetched_epoch(/*fetch_offset=*/40, /*log_end=*/40, /*epoch=*/5), 5);
    EXPECT_EQ(last_fetched_epoch(100, 40, 5), -1);  // across a gap
    EXPECT_EQ(last_fetched_epoch(40, 40, -1), -1);
    // The last whole batch's epoch; a cut-off tail is not a batch.
    std::string rs = with_base_offset(with_epoch(make_batch(2, 1000), 3), 0) +
                     with_base_offset(with_epoch(make_batch(2, 1000), 7), 2);
    EXPECT_EQ(last_batch_epoch(rs), 7);
    rs.resize(rs.size() - 3);
    EXPECT_EQ(last_batch_epoch(rs), 3);
    EXPECT_EQ(last_batch_epoch(""), -1);
    // DivergingEpoch in the answer.
    EXPECT_EQ(diverged(-1, -1), std::nullopt);
    EXPECT_EQ(diverged(4, 120),
              std::optional<std::string>("the source log diverged at offset 120 (unclean leader "
                                         "election?)"));
    EXPECT_NE(diverged(0, -1), std::nullopt);
}

TEST(fetch_rules, lag) {
    EXPECT_EQ(lag(100, 40), 60);
    EXPECT_EQ(lag(40, 100), 0);
    EXPECT_EQ(lag(-1, 0), 0);
}

}  // namespace
}  // namespace fjord::broker::shadow
