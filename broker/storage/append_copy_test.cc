// File: broker/storage/append_copy_test.cc
//
// partition_log::append_copy and move_empty_start (shadow links): batches
// copied from another cluster keep their offsets and bytes; a copy never
// overlaps the log; gaps in the source's offsets are preserved (a new
// segment starts at the batch), read across, and survive reopening, index
// rebuilds, crashes and a crash in the middle of moving an empty segment's
// base; an empty log's start moves, durably; a client append after copies
// (a failed-over topic) continues at the next offset.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "broker/storage/batch_header.h"
#include "broker/storage/errc.h"
#include "broker/storage/log_test_util.h"
#include "broker/storage/partition_log.h"
#include "broker/storage/segment.h"
#include "common/log.h"

namespace fjord::broker::storage::testing {
namespace {

[[maybe_unused]] const bool quiet_logs = [] {
    if (std::getenv("FJORD_LOG") == nullptr) {
        set_log_level(log_level::error);
    }
    return true;
}();

log_config shadow_config() {
    log_config c = small_config(1 << 20);
    c.offset_gaps = true;
    return c;
}

/// A batch as the source stores it: at `base`, `records` records.
std::string source_batch(int64_t base, int records, int tag, int64_t ts = 5000) {
    return with_base_offset(make_batch(records, ts, 24, tag), base);
}

/// An idempotent producer's batch at `base`: producer `pid` (epoch
/// `epoch`), sequences from `seq`, `records` records.
std::string idempotent_batch(int64_t base, int64_t pid, int16_t epoch, int32_t seq, int records) {
    batch_spec s;
    s.records = records;
    s.timestamp = 5000;
    s.producer_id = pid;
    s.producer_epoch = epoch;
    s.base_sequence = seq;
    return with_base_offset(make_batch(s), base);
}

int64_t last_offset(const std::string& b) {
    return kafka::decode_record_batch_header(b).last_offset();
}

/// Copies `batches` (ascending) into `log`, each expected to land as is.
void copy_all(partition_log& log, const std::vector<std::string>& batches, int64_t now = 0) {
    for (const auto& b : batches) {
        auto r = log.append_copy(b, now);
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(r->base_offset.value(), base_offset_of(b));
        EXPECT_EQ(r->last_offset.value(), last_offset(b));
        EXPECT_EQ(log.log_end_offset().value(), last_offset(b) + 1);
    }
}

TEST(append_copy, keeps_offsets_and_bytes) {
    temp_dir dir;
    log_config c = shadow_config();
    // Even a LogAppendTime topic stores the source's bytes unchanged.
    c.message_timestamp_type = timestamp_type::log_append_time;
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    const std::vector<std::string> batches = {source_batch(0, 3, 1), source_batch(3, 1, 2),
                                              source_batch(4, 5, 3)};
    copy_all(*log, batches);
    EXPECT_EQ(all_batches(*log), batches);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{0});
    EXPECT_EQ(log->segments().size(), 1u);
}

TEST(append_copy, refuses_overlap_and_changes_nothing) {
    temp_dir dir;
    auto log = open_ok(dir.log(), shadow_config());
    ASSERT_TRUE(log);
    copy_all(*log, {source_batch(0, 4, 1)});
    for (int64_t base : {0, 2, 3}) {
        auto r = log->append_copy(source_batch(base, 2, 9), 0);
        ASSERT_FALSE(r) << base;
        EXPECT_EQ(r.error().code, errc::offset_out_of_range) << r.error().message();
    }
    EXPECT_EQ(log->log_end_offset(), kafka_offset{4});
    EXPECT_EQ(all_batches(*log).size(), 1u);
}

TEST(append_copy, refuses_a_damaged_batch) {
    temp_dir dir;
    auto log = open_ok(dir.log(), shadow_config());
    ASSERT_TRUE(log);
    std::string b = source_batch(0, 2, 1);
    b[b.size() - 1] ^= 0x1;  // a record byte: inside the CRC's range
    auto r = log->append_copy(b, 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::corrupt_batch);
    EXPECT_EQ(log->log_end_offset(), kafka_offset{0});
}

TEST(append_copy, accepts_what_the_source_decided) {
    temp_dir dir;
    auto log = open_ok(dir.log(), shadow_config());
    ASSERT_TRUE(log);
    // A compacted source batch: 2 records left of an offset range of 5.
    batch_frame f;
    f.record_count = 2;
    f.last_offset_delta = 4;
    const std::string compacted = with_base_offset(frame_records("", f), 0);
    // An idempotent producer whose sequences jump (the source saw batches
    // that were compacted or retained away since).
    const std::string p1 = with_base_offset(
        make_batch(
            batch_spec{.records = 2, .producer_id = 7, .producer_epoch = 0, .base_sequence = 10}),
        5);
    const std::string p2 = with_base_offset(
        make_batch(batch_spec{
            .records = 1, .tag = 2, .producer_id = 7, .producer_epoch = 0, .base_sequence = 40}),
        7);
    copy_all(*log, {compacted, p1, p2});
    EXPECT_EQ(all_batches(*log), (std::vector<std::string>{compacted, p1, p2}));
    // The producer goes on after a failover: its next sequence is accepted
    // at the next offset, a retry of its last batch is answered as one.
    auto next = log->append(
        make_batch(batch_spec{
            .records = 1, .tag = 3, .producer_id = 7, .producer_epoch = 0, .base_sequence = 41}),
        0);
    ASSERT_TRUE(next) << next.error().message();
    EXPECT_EQ(next->base_offset, kafka_offset{8});
    auto retry = log->append(
        make_batch(batch_spec{
            .records = 1, .tag = 3, .producer_id = 7, .producer_epoch = 0, .base_sequence = 41}),
        0);
    ASSERT_TRUE(retry);
    EXPECT_EQ(retry->base_offset, kafka_offset{8});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{9});
}

TEST(append_copy, preserves_a_gap_and_reads_across_it) {
    temp_dir dir;
    const std::vector<std::string> batches = {source_batch(0, 3, 1), source_batch(10, 2, 2),
                                              source_batch(12, 1, 3)};
    {
        auto log = open_ok(dir.log(), shadow_config());
        ASSERT_TRUE(log);
        copy_all(*log, batches);
        ASSERT_TRUE(log->flush(0));
        // The gap starts a segment at the batch.
        const auto segs = log->segments();
        ASSERT_EQ(segs.size(), 2u);
        EXPECT_EQ(segs[1].base, kafka_offset{10});
        EXPECT_EQ(all_batches(*log), batches);
        // A read starting in the gap gets the batch after it.
        auto in_gap = log->read(kafka_offset{5}, UINT64_MAX, log->log_end_offset());
        ASSERT_TRUE(in_gap);
        EXPECT_EQ(split_batches(in_gap->bytes), (std::vector<std::string>{batches[1], batches[2]}));
        // A client append (after failover) continues at the next offset.
        auto r = log->append(make_batch(1, 9000, 8, 4), 0);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->base_offset, kafka_offset{13});
    }
    auto log = open_ok(dir.log(), shadow_config());
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_end_offset(), kafka_offset{14});
    auto got = all_batches(*log);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(std::vector<std::string>(got.begin(), got.begin() + 3), batches);
    // And the copy goes on after reopening (the fetcher resumes at the end).
    copy_all(*log, {source_batch(20, 1, 5)});
}

TEST(append_copy, gap_survives_an_index_rebuild) {
    temp_dir dir;
    const std::vector<std::string> batches = {source_batch(0, 3, 1), source_batch(100, 2, 2)};
    {
        auto log = open_ok(dir.log(), shadow_config());
        ASSERT_TRUE(log);
        copy_all(*log, batches);
        ASSERT_TRUE(log->flush(0));
    }
    // The sealed segment's indexes are gone: rebuilt from the log, which
    // ends before its successor's base.
    for (const char* ext : {".index", ".timeindex"}) {
        std::filesystem::remove(dir.log() + "/" + segment_file_name(kafka_offset{0}, ext));
    }
    log_config no_gaps = shadow_config();
    no_gaps.offset_gaps = false;
    {
        // The log remembers it is a shadow copy (its topic may have stopped
        // being a shadow): gaps stay accepted whatever the config says.
        auto log = open_ok(dir.log(), no_gaps);
        ASSERT_TRUE(log);
        EXPECT_EQ(all_batches(*log), batches);
    }
    for (const char* ext : {".index", ".timeindex"}) {
        std::filesystem::remove(dir.log() + "/" + segment_file_name(kafka_offset{0}, ext));
    }
    std::filesystem::remove(dir.log() + "/shadow_copy");
    {
        auto refused = partition_log::open(dir.log(), no_gaps, 0);
        ASSERT_FALSE(refused);  // a log that does not expect gaps calls it damage
        EXPECT_EQ(refused.error().code, errc::corrupt);
    }
    auto log = open_ok(dir.log(), shadow_config());
    ASSERT_TRUE(log);
    EXPECT_EQ(all_batches(*log), batches);
    EXPECT_EQ(log->log_end_offset(), kafka_offset{102});
}

TEST(append_copy, end_copies_drops_the_sources_producers_for_good) {
    temp_dir dir;
    // An idempotent producer of the source (id 7, sequences 0..2) copied.
    const std::string copied = idempotent_batch(0, 7, 0, 0, 3);
    {
        auto log = open_ok(dir.log(), shadow_config());
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append_copy(copied, 0));
        EXPECT_TRUE(log->copying());
        ASSERT_TRUE(log->end_copies(0));
        EXPECT_FALSE(log->copying());
        ASSERT_TRUE(log->end_copies(0));  // idempotent
        // Nothing more is copied.
        EXPECT_FALSE(log->append_copy(idempotent_batch(3, 7, 0, 3, 1), 0));
        // This cluster's producer with the same id starts at sequence 0:
        // neither a "duplicate" nor out of order.
        auto own = log->append(idempotent_batch(0, 7, 0, 0, 1), 0);
        ASSERT_TRUE(own) << own.error().detail;
        EXPECT_EQ(own->base_offset, kafka_offset{3});
    }
    // After a restart: still ended, and the state holds the new producer only.
    auto log = open_ok(dir.log(), shadow_config());
    ASSERT_TRUE(log);
    EXPECT_FALSE(log->copying());
    auto next = log->append(idempotent_batch(0, 7, 0, 1, 1), 0);
    ASSERT_TRUE(next) << next.error().detail;
    EXPECT_EQ(next->base_offset, kafka_offset{4});
}

TEST(append_copy, gap_at_the_start_of_an_empty_log) {
    temp_dir dir;
    {
        auto log = open_ok(dir.log(), shadow_config());
        ASSERT_TRUE(log);
        copy_all(*log, {source_batch(100, 2, 1)});
        EXPECT_EQ(log->log_start_offset(), kafka_offset{100});
        ASSERT_EQ(log->segments().size(), 1u);
        EXPECT_EQ(log->segments()[0].base, kafka_offset{100});
        ASSERT_TRUE(log->flush(0));
    }
    auto log = open_ok(dir.log(), shadow_config());
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{100});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{102});
    EXPECT_EQ(log_files(dir.log()).size(), 1u);
}

TEST(append_copy, crash_keeps_the_synced_copies_and_the_gap) {
    for (const auto tail : {crash_tail::none, crash_tail::garbage, crash_tail::partial}) {
        SCOPED_TRACE(static_cast<int>(tail));
        temp_dir dir;
        auto fs = std::make_shared<fault_file_ops>(errc::io_error);
        std::vector<std::string> durable = {source_batch(0, 3, 1), source_batch(50, 2, 2)};
        const std::vector<std::string> lost = {source_batch(80, 1, 4), source_batch(81, 2, 5)};
        {
            auto log = open_ok(dir.log(), shadow_config(), 0, fs);
            ASSERT_TRUE(log);
            copy_all(*log, durable);
            ASSERT_TRUE(log->flush(0));
            // Unsynced, but the gap's roll seals (syncs) its segment.
            durable.push_back(source_batch(52, 4, 3));
            copy_all(*log, {durable.back()});
            copy_all(*log, lost);
        }
        fs->crash(tail, 30);
        auto log = open_ok(dir.log(), shadow_config());
        ASSERT_TRUE(log);
        // The gap's segment survives, empty: the log ends after the gap,
        // where the fetcher resumes and the lost copies come again.
        EXPECT_EQ(log->log_end_offset(), kafka_offset{80});
        EXPECT_EQ(log->high_watermark(), kafka_offset{80});
        EXPECT_EQ(all_batches(*log), durable);
        copy_all(*log, lost);
    }
}

TEST(move_empty_start, moves_an_empty_log_durably) {
    temp_dir dir;
    {
        auto log = open_ok(dir.log(), shadow_config());
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->move_empty_start(kafka_offset{0}, 0));  // where it is: nothing
        ASSERT_TRUE(log->move_empty_start(kafka_offset{500}, 0));
        EXPECT_EQ(log->log_start_offset(), kafka_offset{500});
        EXPECT_EQ(log->log_end_offset(), kafka_offset{500});
        EXPECT_EQ(log->high_watermark(), kafka_offset{500});
        EXPECT_EQ(log->flushed_offset(), kafka_offset{500});
        // Down too, while it is empty (the source's start fell inside a
        // batch, which is kept whole).
        ASSERT_TRUE(log->move_empty_start(kafka_offset{400}, 0));
        ASSERT_TRUE(log->move_empty_start(kafka_offset{500}, 0));
        auto negative = log->move_empty_start(kafka_offset{-1}, 0);
        ASSERT_FALSE(negative);
        EXPECT_EQ(negative.error().code, errc::offset_out_of_range);
    }
    {
        auto log = open_ok(dir.log(), shadow_config());
        ASSERT_TRUE(log);
        EXPECT_EQ(log->log_start_offset(), kafka_offset{500});
        EXPECT_EQ(log->log_end_offset(), kafka_offset{500});
        copy_all(*log, {source_batch(500, 2, 1)});
        auto full = log->move_empty_start(kafka_offset{900}, 0);
        ASSERT_FALSE(full);  // it holds a batch now
        EXPECT_EQ(full.error().code, errc::offset_out_of_range);
    }
    EXPECT_EQ(log_files(dir.log()).size(), 1u);
}

TEST(move_empty_start, crash_between_create_and_remove) {
    // The state a crash leaves when it interrupts a move: the old empty
    // segment and the new one (here holding a copied batch) side by side.
    temp_dir dir;
    const std::string b = source_batch(300, 2, 1);
    {
        auto log = open_ok(dir.log(), shadow_config());
        ASSERT_TRUE(log);
        copy_all(*log, {b});
        ASSERT_TRUE(log->flush(0));
    }
    write_bytes(dir.log() + "/" + segment_file_name(kafka_offset{0}, log_ext), "");
    auto log = open_ok(dir.log(), shadow_config());
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{300});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{302});
    EXPECT_EQ(all_batches(*log), std::vector<std::string>{b});
    EXPECT_EQ(log_files(dir.log()).size(), 1u);
}

}  // namespace
}  // namespace fjord::broker::storage::testing
