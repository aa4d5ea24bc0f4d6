// File: broker/storage/tiered_support_test.cc
//
// What tiered storage (broker/tiered) needs of the log: a new log starting
// at a given offset (a mounted partition), including a crash at every file
// operation of its creation; the retention limit (nothing at or above it is
// removed, by time or by size, the active segment included); segment_file()
// handles that keep a sealed segment readable after retention removed it;
// active_since_ms(), by which an idle partition's data is rolled for upload;
// and the DeleteRecords start exposed for the remote log.

#include <gtest/gtest.h>

#include <cstdlib>

#include "broker/storage/errc.h"
#include "broker/storage/log_test_util.h"
#include "broker/storage/partition_log.h"
#include "common/log.h"

namespace fjord::broker::storage::testing {
namespace {

[[maybe_unused]] const bool quiet_logs = [] {
    if (std::getenv("FJORD_LOG") == nullptr) {
        set_log_level(log_level::error);
    }
    return true;
}();

/// `n` one-record batches (timestamps 1000 + offset), rolling every
/// `per_segment`; the high watermark at the end.
void fill(partition_log& log, int n, int per_segment = 4, int64_t now = 0) {
    for (int i = 0; i < n; ++i) {
        const int64_t base = log.log_end_offset().value();
        auto r = log.append(make_batch(1, 1000 + base, 16, i), now);
        ASSERT_TRUE(r) << r.error().message();
        if ((i + 1) % per_segment == 0) {
            ASSERT_TRUE(log.roll(now));
        }
    }
    ASSERT_TRUE(log.set_high_watermark(log.log_end_offset()));
}

std::vector<int64_t> segment_bases(const partition_log& log) {
    std::vector<int64_t> out;
    for (const auto& s : log.segments()) {
        out.push_back(s.base.value());
    }
    return out;
}

TEST(first_offset, a_new_log_starts_at_it_and_keeps_it_across_reopening) {
    temp_dir dir;
    auto r = partition_log::open(dir.log(), small_config(), 0, nullptr, kafka_offset{100});
    ASSERT_TRUE(r) << r.error().message();
    auto& log = **r;
    EXPECT_EQ(log.log_start_offset(), kafka_offset{100});
    EXPECT_EQ(log.log_end_offset(), kafka_offset{100});
    EXPECT_EQ(log.high_watermark(), kafka_offset{100});
    auto a = log.append(make_batch(3, 1000), 0);
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(a->base_offset, kafka_offset{100});
    EXPECT_EQ(a->last_offset, kafka_offset{102});
    ASSERT_TRUE(log.flush(0));
    ASSERT_TRUE(log.set_high_watermark(log.log_end_offset()));
    auto below = log.read(kafka_offset{50}, 1 << 20, log.high_watermark());
    ASSERT_FALSE(below);
    EXPECT_EQ(below.error().code, make_error_code(errc::offset_out_of_range));
    auto at = log.read(kafka_offset{100}, 1 << 20, log.high_watermark());
    ASSERT_TRUE(at);
    EXPECT_EQ(at->first_offset, kafka_offset{100});
    EXPECT_EQ(at->next_offset, kafka_offset{103});
    auto ts = log.offset_for_timestamp(0, log.high_watermark());
    ASSERT_TRUE(ts && *ts);
    EXPECT_EQ((*ts)->offset, kafka_offset{100});
    r->reset();

    // Once the log has a segment, first_offset means nothing.
    for (int64_t first : {0, 100, 500}) {
        auto again =
            partition_log::open(dir.log(), small_config(), 0, nullptr, kafka_offset{first});
        ASSERT_TRUE(again) << again.error().message();
        EXPECT_EQ((*again)->log_start_offset(), kafka_offset{100}) << first;
        EXPECT_EQ((*again)->log_end_offset(), kafka_offset{103}) << first;
    }
}

TEST(first_offset, negative_is_refused) {
    temp_dir dir;
    auto r = partition_log::open(dir.log(), small_config(), 0, nullptr, kafka_offset{-1});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::invalid_config));
}

TEST(first_offset, a_crash_at_every_file_operation_of_the_creation_reopens_at_it) {
    for (uint64_t n = 0;; ++n) {
        temp_dir dir;
        auto fault = std::make_shared<fault_file_ops>(make_error_code(errc::io_error));
        fault->fail_after(n);
        auto r = partition_log::open(dir.log(), small_config(), 0, fault, kafka_offset{42});
        const bool done = static_cast<bool>(r);
        r = result<std::unique_ptr<partition_log>>(error_info(errc::io_error));  // closed
        fault->crash();
        auto again = partition_log::open(dir.log(), small_config(), 0, nullptr, kafka_offset{42});
        ASSERT_TRUE(again) << "crash after " << n << " operations: " << again.error().message();
        EXPECT_EQ((*again)->log_start_offset(), kafka_offset{42}) << n;
        EXPECT_EQ((*again)->log_end_offset(), kafka_offset{42}) << n;
        auto a = (*again)->append(make_batch(1, 1000), 0);
        ASSERT_TRUE(a) << a.error().message();
        EXPECT_EQ(a->base_offset, kafka_offset{42});
        if (done) {
            break;
        }
        ASSERT_LT(n, 1000u);
    }
}

TEST(retention_limit, size_retention_removes_only_segments_wholly_below_it) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.retention_bytes = 0;  // as much as may go
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    fill(*log, 20);  // [0,4) ... [16,20) + an empty active segment
    log->set_retention_limit(kafka_offset{0});
    auto r = log->apply_retention(0);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->segments, 0u);
    log->set_retention_limit(kafka_offset{9});  // inside [8,12): that one stays
    r = log->apply_retention(0);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 2u);
    EXPECT_EQ(segment_bases(*log), (std::vector<int64_t>{8, 12, 16, 20}));
    EXPECT_EQ(log->log_start_offset(), kafka_offset{8});
    log->set_retention_limit(kafka_offset{16});
    ASSERT_TRUE(log->apply_retention(0));
    EXPECT_EQ(segment_bases(*log), (std::vector<int64_t>{16, 20}));
    EXPECT_EQ(log->retention_limit(), kafka_offset{16});
    log->set_retention_limit(std::nullopt);  // as before tiered storage
    ASSERT_TRUE(log->apply_retention(0));
    EXPECT_EQ(segment_bases(*log), (std::vector<int64_t>{20}));
}

TEST(retention_limit, time_retention_keeps_what_is_not_below_it_even_the_expired_active_segment) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.retention_ms = 10;
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    fill(*log, 10);  // [0,4) [4,8) + active [8,10), timestamps ~1000
    log->set_retention_limit(kafka_offset{4});
    const int64_t late = 1000000;
    auto r = log->apply_retention(late);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->segments, 1u);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{4});
    // The expired active segment is rolled (so it can be uploaded), not removed.
    log->set_retention_limit(kafka_offset{8});
    ASSERT_TRUE(log->apply_retention(late));
    EXPECT_EQ(segment_bases(*log), (std::vector<int64_t>{8, 10}));
    EXPECT_EQ(log->log_end_offset(), kafka_offset{10});
    log->set_retention_limit(kafka_offset{10});
    ASSERT_TRUE(log->apply_retention(late));
    EXPECT_EQ(segment_bases(*log), (std::vector<int64_t>{10}));
}

TEST(retention_limit, does_not_bound_delete_records) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    fill(*log, 12);
    log->set_retention_limit(kafka_offset{0});
    EXPECT_EQ(log->records_deleted_before(), kafka_offset{0});
    auto r = log->delete_records_before(kafka_offset{9});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(segment_bases(*log), (std::vector<int64_t>{8, 12}));
    EXPECT_EQ(log->records_deleted_before(), kafka_offset{9});
    EXPECT_EQ(log->log_start_offset(), kafka_offset{9});
    log.reset();
    auto again = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->records_deleted_before(), kafka_offset{9});
}

TEST(retention_limit, retention_does_not_move_the_delete_records_start) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.retention_bytes = 0;
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    fill(*log, 12);
    ASSERT_TRUE(log->apply_retention(0));
    EXPECT_EQ(log->log_start_offset(), kafka_offset{12});
    EXPECT_EQ(log->records_deleted_before(), kafka_offset{0});
    log.reset();
    auto again = open_ok(dir.log(), c);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->log_start_offset(), kafka_offset{12});
    EXPECT_EQ(again->records_deleted_before(), kafka_offset{0});
    // Nor does a log starting at a first offset.
    auto mounted = partition_log::open(dir.path() + "/mounted", c, 0, nullptr, kafka_offset{7});
    ASSERT_TRUE(mounted);
    EXPECT_EQ((*mounted)->records_deleted_before(), kafka_offset{0});
}

TEST(segment_file, a_handle_reads_the_sealed_bytes_after_retention_removed_the_segment) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.retention_bytes = 0;
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    fill(*log, 8);
    const auto segs = log->segments();
    ASSERT_GE(segs.size(), 2u);
    auto f = log->segment_file(kafka_offset{0});
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(log->segment_file(kafka_offset{1}), nullptr);
    const std::string on_disk = read_bytes(dir.log() + "/00000000000000000000.log");
    ASSERT_EQ(on_disk.size(), segs[0].size_bytes);
    ASSERT_TRUE(log->apply_retention(0));
    EXPECT_EQ(log->log_start_offset(), kafka_offset{8});
    std::string got(segs[0].size_bytes, '\0');
    auto n = f->read_at(0, got);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, got.size());
    EXPECT_EQ(got, on_disk);
}

TEST(active_since, is_the_first_append_into_the_active_segment) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(1 << 20), 5);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->active_since_ms(), std::nullopt);
    ASSERT_TRUE(log->append(make_batch(1, 1000), 100));
    ASSERT_TRUE(log->append(make_batch(1, 1000), 200));
    EXPECT_EQ(log->active_since_ms(), 100);
    ASSERT_TRUE(log->roll(300));
    EXPECT_EQ(log->active_since_ms(), std::nullopt);
    ASSERT_TRUE(log->append(make_batch(1, 1000), 400));
    EXPECT_EQ(log->active_since_ms(), 400);
    ASSERT_TRUE(log->flush(400));
    log.reset();
    // Reopened with data in the active segment: since the open.
    auto again = open_ok(dir.log(), small_config(1 << 20), 900);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->active_since_ms(), 900);
}

}  // namespace
}  // namespace fjord::broker::storage::testing
