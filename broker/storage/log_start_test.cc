// File: broker/storage/log_start_test.cc
//
// The log start offset that DeleteRecords moves (delete_records_before):
// Kafka's offset rules, reads and ListOffsets below it, its checkpoint across
// reopening (missing, damaged, below the first segment, beyond the log end),
// truncations that take the batch holding it (and crashes in them),
// retention moving it further, the producer state it must not disturb, and a
// crash at every file operation of a deletion. Also the idle roll
// (maybe_roll) and retention deleting an expired active segment, and the
// segment.ms age of LogAppendTime topics.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

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

const std::string checkpoint_name = "log_start.checkpoint";

/// `n` one-record batches (timestamps 1000 + offset), rolling every
/// `per_segment` of them, then the high watermark at the end; returns the
/// batches as stored.
std::vector<std::string> fill(partition_log& log, int n, int per_segment = 4) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        const int64_t base = log.log_end_offset().value();
        const std::string b = make_batch(1, 1000 + base, 16, i);
        auto r = log.append(b, 0);
        EXPECT_TRUE(r) << r.error().message();
        out.push_back(with_base_offset(b, base));
        if ((i + 1) % per_segment == 0) {
            EXPECT_TRUE(log.roll(0));
        }
    }
    EXPECT_TRUE(log.set_high_watermark(log.log_end_offset()));
    return out;
}

std::vector<int64_t> bases(const std::vector<std::string>& batches) {
    std::vector<int64_t> out;
    for (const auto& b : batches) {
        out.push_back(base_offset_of(b));
    }
    return out;
}

std::vector<int64_t> range(int64_t from, int64_t to) {
    std::vector<int64_t> out;
    for (int64_t o = from; o < to; ++o) {
        out.push_back(o);
    }
    return out;
}

TEST(log_start, delete_records_moves_the_start_and_removes_whole_segments_below_it) {
    temp_dir dir;
    const log_config c = small_config(1 << 20);
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    const auto stored = fill(*log, 20);  // segments [0,4) [4,8) ... [16,20) + empty active
    ASSERT_EQ(log->segments().size(), 6u);

    auto r = log->delete_records_before(kafka_offset{10});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, kafka_offset{10});
    EXPECT_EQ(log->log_start_offset(), kafka_offset{10});
    // [0,4) and [4,8) went; [8,12) holds the start and stays.
    EXPECT_EQ(log->segments().front().base, kafka_offset{8});
    EXPECT_FALSE(std::filesystem::exists(dir.log() + "/00000000000000000004.log"));
    EXPECT_TRUE(std::filesystem::exists(dir.log() + "/" + checkpoint_name));

    // Below the start is out of range, as below any log start.
    EXPECT_EQ(log->read(kafka_offset{9}, 1 << 20, kafka_offset{20}).code(),
              errc::offset_out_of_range);
    EXPECT_EQ(bases(all_batches(*log)), range(10, 20));
    // ListOffsets by time never answers below it.
    auto found = log->offset_for_timestamp(0, log->high_watermark());
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((*found)->offset, kafka_offset{10});
    EXPECT_EQ((*found)->timestamp, 1010);
    found = log->offset_for_timestamp(1015, log->high_watermark());
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((*found)->offset, kafka_offset{15});

    // Reopened: the checkpoint holds the start inside the segment.
    log.reset();
    log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{10});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{20});
    EXPECT_EQ(bases(all_batches(*log)), range(10, 20));
}

TEST(log_start, kafka_offset_rules) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    fill(*log, 10);
    ASSERT_TRUE(log->set_high_watermark(kafka_offset{8}));

    // Above the high watermark, or negative other than -1: out of range,
    // nothing changes.
    EXPECT_EQ(log->delete_records_before(kafka_offset{9}).code(), errc::offset_out_of_range);
    EXPECT_EQ(log->delete_records_before(kafka_offset{-2}).code(), errc::offset_out_of_range);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{0});
    EXPECT_FALSE(std::filesystem::exists(dir.log() + "/" + checkpoint_name));

    // Up to the high watermark is fine; below the start is a no-op that
    // answers the start.
    auto r = log->delete_records_before(kafka_offset{5});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, kafka_offset{5});
    r = log->delete_records_before(kafka_offset{2});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, kafka_offset{5});
    r = log->delete_records_before(kafka_offset{5});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, kafka_offset{5});

    // -1 is the high watermark.
    r = log->delete_records_before(kafka_offset{-1});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, kafka_offset{8});
    EXPECT_EQ(log->log_start_offset(), kafka_offset{8});
    EXPECT_EQ(bases(all_batches(*log)), range(8, 10));
    // The high watermark cannot go below the start.
    EXPECT_EQ(log->set_high_watermark(kafka_offset{7}).code(), errc::offset_out_of_range);

    // Everything: the start is the log end and nothing is readable.
    ASSERT_TRUE(log->set_high_watermark(log->log_end_offset()));
    r = log->delete_records_before(kafka_offset{10});
    ASSERT_TRUE(r);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{10});
    auto empty = log->read(kafka_offset{10}, 1 << 20, kafka_offset{10});
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->bytes.empty());
    auto found = log->offset_for_timestamp(0, log->high_watermark());
    ASSERT_TRUE(found);
    EXPECT_FALSE(*found);
}

TEST(log_start, a_start_inside_a_batch_reads_the_whole_batch_and_lists_the_start) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append(make_batch(5, 1000), 0));  // offsets 0..4
    ASSERT_TRUE(log->append(make_batch(5, 2000), 0));  // offsets 5..9
    ASSERT_TRUE(log->set_high_watermark(log->log_end_offset()));
    ASSERT_TRUE(log->delete_records_before(kafka_offset{7}));
    // Kafka's way: the batch holding the start, whole (the client skips).
    const auto batches = all_batches(*log);
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(base_offset_of(batches[0]), 5);
    auto found = log->offset_for_timestamp(0, log->high_watermark());
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((*found)->offset, kafka_offset{7});

    // A truncation inside that batch takes the start down with the end.
    auto t = log->truncate_to(kafka_offset{8});
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, kafka_offset{5});
    EXPECT_EQ(log->log_start_offset(), kafka_offset{5});
    log.reset();
    log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{5});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{5});
}

TEST(log_start, a_damaged_checkpoint_stops_the_log_and_a_missing_one_starts_at_the_first_segment) {
    temp_dir dir;
    const log_config c = small_config(1 << 20);
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    fill(*log, 12);
    ASSERT_TRUE(log->delete_records_before(kafka_offset{6}));
    log.reset();
    const std::string path = dir.log() + "/" + checkpoint_name;
    const std::string good = read_bytes(path);

    // Damaged: the log does not open (as with a damaged sealed segment),
    // rather than start at 4 and serve the deleted records 4 and 5 again.
    flip_bit(path, 8 * (good.find("log_start_offset=6") + 17));
    auto r = partition_log::open(dir.log(), c, 0);
    ASSERT_FALSE(r) << "a damaged checkpoint stops the log";
    EXPECT_EQ(r.code(), errc::corrupt);
    EXPECT_TRUE(contains(r.error().detail, path)) << r.error().detail;

    write_bytes(path, good.substr(0, good.size() - 3));  // torn, no final newline
    r = partition_log::open(dir.log(), c, 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), errc::corrupt);
    EXPECT_TRUE(contains(r.error().detail, path)) << r.error().detail;

    // Missing (removed by hand, as the error says): the first segment.
    std::filesystem::remove(path);
    log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{4});
    log.reset();

    write_bytes(path, good);
    write_bytes(path + ".tmp", "half a checkpoint");  // an interrupted rewrite
    log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{6});
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(log_start, retention_moves_the_start_past_the_checkpoint) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    fill(*log, 12);  // [0,4) [4,8) [8,12) + active; max timestamps 1003, 1007, 1011
    ASSERT_TRUE(log->delete_records_before(kafka_offset{2}));
    c.retention_ms = 1000;
    ASSERT_TRUE(log->set_config(c));
    auto r = log->apply_retention(2008);  // [0,4) and [4,8) expired
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 2u);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{8});
    log.reset();
    log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{8}) << "a checkpoint below the first segment";
}

TEST(log_start, delete_records_below_the_local_start_moves_the_deleted_before_start_durably) {
    // Retention moved the local start past the DeleteRecords start (a
    // tiered log: the records below live on in the object store). A
    // DeleteRecords between the two moves records_deleted_before, which the
    // read side and the archiver go by, and it survives a restart; the
    // local start and the answer stay the local start.
    temp_dir dir;
    log_config c = small_config(1 << 20);
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    fill(*log, 12);
    c.retention_ms = 1000;
    ASSERT_TRUE(log->set_config(c));
    ASSERT_TRUE(log->apply_retention(2008));
    ASSERT_EQ(log->log_start_offset(), kafka_offset{8});
    ASSERT_EQ(log->records_deleted_before(), kafka_offset{0});
    auto r = log->delete_records_before(kafka_offset{5});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, kafka_offset{8});
    EXPECT_EQ(log->records_deleted_before(), kafka_offset{5});
    // At or below it: nothing changes.
    ASSERT_TRUE(log->delete_records_before(kafka_offset{3}));
    EXPECT_EQ(log->records_deleted_before(), kafka_offset{5});
    log.reset();
    log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->records_deleted_before(), kafka_offset{5});
    EXPECT_EQ(log->log_start_offset(), kafka_offset{8});
}

TEST(log_start, a_checkpoint_beyond_the_recovered_end_is_clamped) {
    // The high watermark may run ahead of what is synced (write caching):
    // a crash can lose records below a start that DeleteRecords made
    // durable.
    temp_dir dir;
    const log_config c = small_config(1 << 20);
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    auto log = open_ok(dir.log(), c, 0, fs);
    ASSERT_TRUE(log);
    fill(*log, 8);  // rolled every 4: all synced
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(log->append(make_batch(1, 5000), 0));  // 8..11, never synced
    }
    ASSERT_TRUE(log->set_high_watermark(log->log_end_offset()));
    ASSERT_TRUE(log->delete_records_before(kafka_offset{10}));
    log.reset();
    fs->crash();
    log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_end_offset(), kafka_offset{8});
    EXPECT_EQ(log->log_start_offset(), kafka_offset{8});
    EXPECT_TRUE(all_batches(*log).empty());
    // Appends go on from there, past the old start.
    for (int64_t o = 8; o < 12; ++o) {
        auto a = log->append(make_batch(1, 6000), 0);
        ASSERT_TRUE(a);
        EXPECT_EQ(a->base_offset, kafka_offset{o});
    }
    ASSERT_TRUE(log->flush(0));
    // The lowered start was made durable at open: a restart does not jump
    // up to the old one, over records nobody deleted.
    log.reset();
    log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{8});
    EXPECT_EQ(bases(all_batches(*log)), range(8, 12));
}

/// Offsets 0..14 in three batches of five, the start at 7 (inside the
/// second), the high watermark at the end.
std::unique_ptr<partition_log> start_inside_a_batch(const std::string& dir,
                                                    std::shared_ptr<fs::file_ops> fs) {
    auto log = open_ok(dir, small_config(1 << 20), 0, std::move(fs));
    EXPECT_TRUE(log);
    if (!log) {
        return nullptr;
    }
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(log->append(make_batch(5, 1000 * (i + 1)), 0));
    }
    EXPECT_TRUE(log->flush(0));
    EXPECT_TRUE(log->set_high_watermark(log->log_end_offset()));
    EXPECT_TRUE(log->delete_records_before(kafka_offset{7}));
    return log;
}

TEST(log_start, a_truncation_lowers_the_start_durably_before_it_cuts) {
    temp_dir dir;
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    auto log = start_inside_a_batch(dir.log(), fs);
    ASSERT_TRUE(log);
    // The checkpoint cannot be lowered: nothing is cut.
    fs->fail_paths_containing(checkpoint_name);
    EXPECT_FALSE(log->truncate_to(kafka_offset{8}));
    fs->heal();
    EXPECT_EQ(log->log_end_offset(), kafka_offset{15});
    EXPECT_EQ(log->log_start_offset(), kafka_offset{7});
    log.reset();
    log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_end_offset(), kafka_offset{15});
    EXPECT_EQ(log->log_start_offset(), kafka_offset{7});
}

/// A power loss at every file operation of a truncation that takes the
/// batch holding the start, then appends past the old start and a restart:
/// the start never lands beyond a record appended after the truncation.
TEST(log_start, a_crash_at_every_operation_of_a_truncation_never_hides_later_appends) {
    const log_config c = small_config(1 << 20);
    int crashes = 0;
    for (uint64_t n = 0;; ++n) {
        SCOPED_TRACE(fmt::format("operation {}", n));
        temp_dir dir;
        auto fs = std::make_shared<fault_file_ops>(errc::io_error);
        auto log = start_inside_a_batch(dir.log(), fs);
        ASSERT_TRUE(log);
        const uint64_t before = fs->operations();
        fs->fail_after(n);
        auto t = log->truncate_to(kafka_offset{8});
        const bool injected = fs->operations() - before > n;
        if (!injected) {
            ASSERT_TRUE(t) << t.error().message();
            EXPECT_EQ(*t, kafka_offset{5});
        }
        log.reset();
        fs->crash();
        log = open_ok(dir.log(), c);
        ASSERT_TRUE(log);
        const int64_t end = log->log_end_offset().value();
        EXPECT_TRUE(end == 5 || end == 15) << end;
        // Lowered before the cut: a crash between the two leaves 5 with the
        // batch [5, 9] still there (a read at 7 returned it whole anyway).
        const int64_t start = log->log_start_offset().value();
        EXPECT_TRUE(start == 5 || (start == 7 && end == 15)) << start;
        // New records from the end on, past the old start; then a restart.
        auto a = log->append(make_batch(5, 9000), 0);
        ASSERT_TRUE(a);
        ASSERT_TRUE(log->flush(0));
        log.reset();
        log = open_ok(dir.log(), c);
        ASSERT_TRUE(log);
        EXPECT_LE(log->log_start_offset(), a->base_offset);
        EXPECT_EQ(bases(all_batches(*log)).back(), a->base_offset.value());
        if (!injected) {
            break;
        }
        ++crashes;
    }
    EXPECT_GE(crashes, 5);
}

TEST(log_start, idempotent_producers_keep_their_sequences_across_a_deletion) {
    temp_dir dir;
    const log_config c = small_config(1 << 20);
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    batch_spec s;
    s.producer_id = 7;
    s.producer_epoch = 0;
    for (int i = 0; i < 6; ++i) {
        s.base_sequence = i;
        s.tag = i;
        ASSERT_TRUE(log->append(make_batch(s), 0));
        if (i == 1) {
            ASSERT_TRUE(log->roll(0));  // the producer snapshot is at offset 2
        }
    }
    ASSERT_TRUE(log->set_high_watermark(log->log_end_offset()));
    // The start lies after the snapshot: the replay must still read 2..5.
    ASSERT_TRUE(log->delete_records_before(kafka_offset{4}));
    log.reset();
    log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    s.base_sequence = 5;
    s.tag = 5;
    auto retry = log->append(make_batch(s), 0);
    ASSERT_TRUE(retry) << retry.error().message();
    EXPECT_EQ(retry->base_offset, kafka_offset{5}) << "a retry is answered, not written again";
    EXPECT_EQ(log->log_end_offset(), kafka_offset{6});
    s.base_sequence = 6;
    s.tag = 6;
    auto next = log->append(make_batch(s), 0);
    ASSERT_TRUE(next) << next.error().message();
    EXPECT_EQ(next->base_offset, kafka_offset{6});
}

/// A crash (power loss) at every file operation of a deletion: the log
/// reopens with the old start or the new one (the new one if the call
/// returned), every record from it on intact, no leftover files.
TEST(log_start, a_crash_at_every_operation_of_a_deletion_leaves_the_old_or_the_new_start) {
    const log_config c = small_config(1 << 20);
    int crashes = 0;
    for (uint64_t n = 0;; ++n) {
        temp_dir dir;
        auto fs = std::make_shared<fault_file_ops>(errc::io_error);
        auto log = open_ok(dir.log(), c, 0, fs);
        ASSERT_TRUE(log);
        fill(*log, 20);
        ASSERT_TRUE(log->delete_records_before(kafka_offset{3}));  // a checkpoint to replace
        ASSERT_TRUE(log->flush(0));
        const uint64_t before = fs->operations();
        fs->fail_after(n);
        auto r = log->delete_records_before(kafka_offset{13});
        const bool injected = fs->operations() - before > n;
        if (!injected) {
            ASSERT_TRUE(r) << r.error().message();
        }
        log.reset();
        fs->crash();
        log = open_ok(dir.log(), c);
        ASSERT_TRUE(log) << "operation " << n;
        const int64_t start = log->log_start_offset().value();
        if (r) {
            EXPECT_EQ(start, 13) << "operation " << n;
        } else {
            EXPECT_TRUE(start == 3 || start == 13) << "operation " << n << ": start " << start;
        }
        EXPECT_EQ(log->log_end_offset(), kafka_offset{20});
        EXPECT_EQ(bases(all_batches(*log)), range(start, 20)) << "operation " << n;
        EXPECT_LE(log->segments().front().base.value(), start);
        EXPECT_GT(log->segments().front().next.value(), start) << "segments below it removed";
        EXPECT_TRUE(files_in(dir.log(), ".tmp").empty());
        if (!injected) {
            break;
        }
        ++crashes;
    }
    EXPECT_GE(crashes, 8) << "checkpoint: open, write, sync, rename, dir sync; then 2 removals";
}

// --- idle roll and retention of the active segment --------------------------------

TEST(log_start, maybe_roll_rolls_an_idle_segment_older_than_segment_ms) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.segment_ms = 1000;
    auto log = open_ok(dir.log(), c, 0);
    ASSERT_TRUE(log);
    auto rolled = log->maybe_roll(5000);
    ASSERT_TRUE(rolled);
    EXPECT_FALSE(*rolled) << "an empty segment never rolls";
    ASSERT_TRUE(log->append(make_batch(1, 10000), 10000));
    rolled = log->maybe_roll(11000);  // 1000 ms: not more than segment.ms
    ASSERT_TRUE(rolled);
    EXPECT_FALSE(*rolled);
    rolled = log->maybe_roll(11001);
    ASSERT_TRUE(rolled);
    EXPECT_TRUE(*rolled);
    ASSERT_EQ(log->segments().size(), 2u);
    EXPECT_EQ(log->segments()[1].base, kafka_offset{1});
    rolled = log->maybe_roll(99999);
    ASSERT_TRUE(rolled);
    EXPECT_FALSE(*rolled);

    // Without timestamps the segment's creation time counts (broker clock),
    // and only once nothing was appended for segment.ms.
    ASSERT_TRUE(log->append(make_batch(1, no_timestamp), 12500));
    rolled = log->maybe_roll(13500);  // created at 11001, but busy 1000 ms ago
    ASSERT_TRUE(rolled);
    EXPECT_FALSE(*rolled);
    rolled = log->maybe_roll(13501);
    ASSERT_TRUE(rolled);
    EXPECT_TRUE(*rolled);
}

TEST(log_start, retention_rolls_and_deletes_an_expired_active_segment_below_the_high_watermark) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.retention_ms = 2000;
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append(make_batch(3, 10000), 10000));  // offsets 0..2, max ts 10002
    ASSERT_TRUE(log->set_high_watermark(kafka_offset{2}));
    auto r = log->apply_retention(20000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 0u) << "not all of it below the high watermark";
    ASSERT_TRUE(log->set_high_watermark(kafka_offset{3}));
    r = log->apply_retention(12002);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 0u) << "not expired yet";
    r = log->apply_retention(12003);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 1u);
    ASSERT_EQ(log->segments().size(), 1u);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{3});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{3});
    r = log->apply_retention(99999);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 0u) << "the new active segment is empty";
    auto a = log->append(make_batch(1, 13000), 13000);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->base_offset, kafka_offset{3});
    log.reset();
    log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{3});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{4});
}

TEST(log_start, a_crash_at_every_operation_of_an_idle_roll_and_retention) {
    log_config c = small_config(1 << 20);
    c.segment_ms = 1000;
    c.retention_ms = 5000;
    int crashes = 0;
    for (uint64_t n = 0;; ++n) {
        temp_dir dir;
        auto fs = std::make_shared<fault_file_ops>(errc::io_error);
        auto log = open_ok(dir.log(), c, 0, fs);
        ASSERT_TRUE(log);
        for (int i = 0; i < 3; ++i) {
            ASSERT_TRUE(log->append(make_batch(1, 1000 + i), 1000));
        }
        ASSERT_TRUE(log->flush(1000));
        ASSERT_TRUE(log->set_high_watermark(log->log_end_offset()));
        const uint64_t before = fs->operations();
        fs->fail_after(n);
        auto rolled = log->maybe_roll(10000);
        auto r = rolled ? log->apply_retention(10000) : result<retention_info>(rolled.error());
        const bool injected = fs->operations() - before > n;
        if (!injected) {
            ASSERT_TRUE(rolled && *rolled);
            ASSERT_TRUE(r) << r.error().message();
            EXPECT_EQ(r->segments, 1u);
        }
        log.reset();
        fs->crash();
        log = open_ok(dir.log(), c);
        ASSERT_TRUE(log) << "operation " << n;
        EXPECT_EQ(log->log_end_offset(), kafka_offset{3}) << "operation " << n;
        const int64_t start = log->log_start_offset().value();
        EXPECT_TRUE(start == 0 || start == 3) << "operation " << n << ": start " << start;
        if (r) {
            EXPECT_EQ(start, 3);
        }
        EXPECT_EQ(bases(all_batches(*log)), range(start, 3)) << "operation " << n;
        if (!injected) {
            break;
        }
        ++crashes;
    }
    EXPECT_GE(crashes, 5);
}

// --- LogAppendTime ------------------------------------------------------------------

TEST(log_start, log_append_time_topics_roll_on_the_broker_clock) {
    // Producers stamp every batch 1000 (an old clock); the broker's time
    // goes on. CreateTime ages by the batches' stamps: never rolls.
    // LogAppendTime ages by the stamps the batches get: the broker's.
    for (const auto type : {timestamp_type::create_time, timestamp_type::log_append_time}) {
        temp_dir dir;
        log_config c = small_config(1 << 20);
        c.segment_ms = 100;
        c.message_timestamp_type = type;
        auto log = open_ok(dir.log(), c, 0);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append(make_batch(1, 1000), 10000));
        ASSERT_TRUE(log->append(make_batch(1, 1000), 10100));  // 100 ms: no roll
        EXPECT_EQ(log->segments().size(), 1u);
        ASSERT_TRUE(log->append(make_batch(1, 1000), 10101));
        if (type == timestamp_type::log_append_time) {
            ASSERT_EQ(log->segments().size(), 2u);
            EXPECT_EQ(log->segments()[1].base, kafka_offset{2});
            EXPECT_EQ(log->segments()[0].max_timestamp, 10100);
        } else {
            EXPECT_EQ(log->segments().size(), 1u);
        }
        // Idle for more than segment.ms, the segment rolls either way.
        auto rolled = log->maybe_roll(10201);
        ASSERT_TRUE(rolled);
        EXPECT_FALSE(*rolled);
        rolled = log->maybe_roll(10202);
        ASSERT_TRUE(rolled);
        EXPECT_TRUE(*rolled);
    }
}

}  // namespace
}  // namespace fjord::broker::storage::testing
