// File: broker/cluster/partition_test.cc
//
// The high watermark rule and the wake-up of a partition (partition.h), over
// a real log and an inline flusher (syncs complete before sync() returns):
// a normal topic's records become readable only when a sync completes, a
// write-caching topic's at the append; observers hear each move once and
// nothing when the high watermark stays.

#include "broker/cluster/partition.h"

#include <gtest/gtest.h>

#include "broker/cluster/log_flusher.h"
#include "broker/storage/log_test_util.h"

namespace fjord::broker {
namespace {

using storage::partition_log;
using storage::testing::make_batch;
using storage::testing::temp_dir;

constexpr int64_t now = 1'700'000'000'000;

std::unique_ptr<partition> open_partition(const std::string& dir, log_flusher& f,
                                          bool write_caching) {
    storage::log_config c;
    c.write_caching = write_caching;
    auto l = partition_log::open(dir, c, now);
    EXPECT_TRUE(l) << l.error().detail;
    return std::make_unique<partition>(std::move(*l), f);
}

TEST(partition, the_high_watermark_of_a_normal_topic_moves_only_on_a_sync) {
    temp_dir dir;
    log_flusher f;
    auto p = open_partition(dir.path() + "/p0", f, false);
    int wakes = 0;
    const auto sub = p->observe([&] { ++wakes; });
    ASSERT_TRUE(p->append(make_batch(3, now), now));
    EXPECT_EQ(p->high_watermark(), kafka_offset{0}) << "readable before it is durable";
    EXPECT_EQ(wakes, 0);
    bool answered = false;
    p->sync([&](const result<void>& r) {
        answered = r.has_value();
        EXPECT_EQ(p->high_watermark(), kafka_offset{3}) << "answered before the move";
    });
    EXPECT_TRUE(answered);
    EXPECT_EQ(p->log().flushed_offset(), kafka_offset{3});
    EXPECT_EQ(p->high_watermark(), kafka_offset{3});
    EXPECT_EQ(wakes, 1);
}

TEST(partition, the_high_watermark_of_a_write_caching_topic_moves_at_the_append) {
    temp_dir dir;
    log_flusher f;
    auto p = open_partition(dir.path() + "/p0", f, true);
    int wakes = 0;
    const auto sub = p->observe([&] { ++wakes; });
    ASSERT_TRUE(p->append(make_batch(2, now), now));
    EXPECT_EQ(p->high_watermark(), kafka_offset{2});
    EXPECT_EQ(p->log().flushed_offset(), kafka_offset{0}) << "write caching does not sync";
    EXPECT_EQ(wakes, 1);
    p->sync(nullptr);  // only the flushed offset moves
    EXPECT_EQ(p->log().flushed_offset(), kafka_offset{2});
    EXPECT_EQ(p->high_watermark(), kafka_offset{2});
    EXPECT_EQ(wakes, 1) << "a sync that moved nothing woke the waiters";
}

TEST(partition, waiters_are_woken_once_per_move_and_never_without_one) {
    temp_dir dir;
    log_flusher f;
    auto p = open_partition(dir.path() + "/p0", f, false);
    int a = 0;
    int b = 0;
    auto sub_a = p->observe([&] { ++a; });
    const auto sub_b = p->observe([&] { ++b; });
    p->sync(nullptr);  // nothing appended: the high watermark stays
    EXPECT_EQ(a + b, 0);
    ASSERT_TRUE(p->append(make_batch(1, now), now));
    p->sync(nullptr);
    p->sync(nullptr);  // synced already: no move
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 1);
    sub_a.reset();  // an observer released no longer hears moves
    ASSERT_TRUE(p->append(make_batch(1, now), now));
    p->sync(nullptr);
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 2);
}

TEST(partition, an_observer_may_release_itself_while_it_runs) {
    temp_dir dir;
    log_flusher f;
    auto p = open_partition(dir.path() + "/p0", f, true);
    int wakes = 0;
    partition::subscription self;
    self = p->observe([&] {
        ++wakes;
        self.reset();  // as a parked Fetch does when it answers
    });
    ASSERT_TRUE(p->append(make_batch(1, now), now));
    ASSERT_TRUE(p->append(make_batch(1, now), now));
    EXPECT_EQ(wakes, 1);
}

}  // namespace
}  // namespace fjord::broker

namespace fjord::broker {
namespace {

TEST(partition, copies_follow_the_high_watermark_rule_and_a_moved_start_wakes) {
    temp_dir dir;
    log_flusher f;
    auto p = open_partition(dir.path() + "/p0", f, false);
    int wakes = 0;
    const auto sub = p->observe([&] { ++wakes; });
    ASSERT_TRUE(p->move_empty_start(kafka_offset{40}, now));
    EXPECT_EQ(p->high_watermark(), kafka_offset{40});
    EXPECT_EQ(wakes, 1);
    const std::string b = storage::testing::with_base_offset(make_batch(2, now), 40);
    auto r = p->append_copy(b, now);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->base_offset, kafka_offset{40});
    EXPECT_EQ(p->high_watermark(), kafka_offset{40}) << "readable before it is durable";
    p->sync(nullptr);
    EXPECT_EQ(p->high_watermark(), kafka_offset{42});
    EXPECT_EQ(wakes, 2);
}

}  // namespace
}  // namespace fjord::broker
