// File: broker/storage/partition_log_test.cc
//
// Functional tests of partition_log: offsets, round trips across segment
// rolls and reopen, read semantics (start inside a batch, max_bytes, the
// max offset bound), ListOffsets by timestamp, segment roll by size and age,
// retention by time and size, the flush policy, the high watermark and
// truncation. Crash and damage recovery is in log_recovery_test.cc.

#include "broker/storage/partition_log.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "broker/storage/batch_header.h"
#include "broker/storage/errc.h"
#include "broker/storage/log_test_util.h"
#include "common/log.h"

namespace fjord::broker::storage::testing {
namespace {

// Recovery and retention log at info; run with FJORD_LOG=info to see them.
[[maybe_unused]] const bool quiet_logs = [] {
    if (std::getenv("FJORD_LOG") == nullptr) {
        set_log_level(log_level::error);
    }
    return true;
}();

/// Appends `batch` and expects it to get offsets [base, base + records).
void append_ok(partition_log& log, const std::string& batch, int64_t base, int64_t now_ms = 0) {
    const kafka::record_batch_header h = kafka::decode_record_batch_header(batch);
    auto r = log.append(batch, now_ms);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->base_offset, kafka_offset{base});
    EXPECT_EQ(r->last_offset, kafka_offset{base + h.last_offset_delta});
}

/// Appends `n` batches of `records` records each (timestamps 1000 + offset)
/// and returns them as stored.
std::vector<std::string> append_many(partition_log& log, int n, int records = 1,
                                     size_t value_size = 16) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        const int64_t base = log.log_end_offset().value();
        const std::string b = make_batch(records, 1000 + base, value_size + (i % 5) * 7, i);
        append_ok(log, b, base);
        out.push_back(with_base_offset(b, base));
    }
    return out;
}

fetch_slice read_ok(const partition_log& log, int64_t start, uint64_t max_bytes, int64_t max_offset,
                    first_batch rule = first_batch::may_exceed_max_bytes) {
    auto r = log.read(kafka_offset{start}, max_bytes, kafka_offset{max_offset}, rule);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : fetch_slice{};
}

TEST(partition_log, fresh_log_is_empty) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config());
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{0});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{0});
    EXPECT_EQ(log->high_watermark(), kafka_offset{0});
    EXPECT_EQ(log->flushed_offset(), kafka_offset{0});
    EXPECT_EQ(log->size_bytes(), 0u);
    const fetch_slice s = read_ok(*log, 0, 1000, 0);
    EXPECT_TRUE(s.bytes.empty());
    EXPECT_EQ(s.next_offset, kafka_offset{0});
    EXPECT_EQ(log->read(kafka_offset{1}, 1000, kafka_offset{1}).code(), errc::offset_out_of_range);
    EXPECT_EQ(log->read(kafka_offset{-1}, 1000, kafka_offset{1}).code(), errc::offset_out_of_range);
    auto ts = log->offset_for_timestamp(0, log->log_end_offset());
    ASSERT_TRUE(ts);
    EXPECT_FALSE(ts->has_value());
    EXPECT_EQ(log_files(dir.log()),
              std::vector<std::string>{dir.log() + "/00000000000000000000.log"});
}

TEST(partition_log, append_assigns_consecutive_offsets_and_keeps_the_bytes) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    const std::string a = make_batch(1, 10), b = make_batch(3, 20), c = make_batch(2, 30);
    append_ok(*log, a, 0);
    append_ok(*log, b, 1);
    append_ok(*log, c, 4);
    EXPECT_EQ(log->log_end_offset(), kafka_offset{6});
    EXPECT_EQ(log->size_bytes(), a.size() + b.size() + c.size());
    // Byte for byte what the producer sent, but for the assigned base offset.
    EXPECT_EQ(all_batches(*log),
              (std::vector<std::string>{with_base_offset(a, 0), with_base_offset(b, 1),
                                        with_base_offset(c, 4)}));
}

TEST(partition_log, round_trip_across_segment_rolls_and_reopen) {
    temp_dir dir;
    // Kafka's default index interval: 1 KiB segments get no index entries
    // but the time entry sealing adds.
    log_config c = small_config(1024);
    c.index_interval_bytes = 4096;
    std::vector<std::string> want;
    std::vector<segment_info> segments;
    {
        auto log = open_ok(dir.log(), c);
        ASSERT_TRUE(log);
        want = append_many(*log, 60, 2);
        EXPECT_EQ(all_batches(*log), want);
        segments = log->segments();
        EXPECT_EQ(segments.back().max_timestamp, 1000 + 118 + 1);  // the last batch: [118, 119]
    }
    const auto files = log_files(dir.log());
    ASSERT_GT(files.size(), 3u);
    // Each segment is named after its first batch and stays within
    // segment.bytes; every sealed one has both index files.
    size_t next_batch = 0;
    for (size_t i = 0; i < files.size(); ++i) {
        const std::string bytes = read_bytes(files[i]);
        EXPECT_LE(bytes.size(), 1024u);
        const auto batches = split_batches(bytes);
        ASSERT_FALSE(batches.empty());
        EXPECT_EQ(files[i], fmt::format("{}/{:020d}.log", dir.log(), base_offset_of(batches[0])));
        for (const std::string& b : batches) {
            EXPECT_EQ(b, want[next_batch++]);
        }
        const std::string prefix = files[i].substr(0, files[i].size() - 4);
        if (i + 1 < files.size()) {
            EXPECT_TRUE(std::filesystem::exists(prefix + ".index"));
            EXPECT_TRUE(std::filesystem::exists(prefix + ".timeindex"));
        }
    }
    EXPECT_EQ(next_batch, want.size());

    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_end_offset(), kafka_offset{120});
    EXPECT_EQ(log->high_watermark(), kafka_offset{120});
    // Sealed segments' offsets and largest timestamps come from their index
    // files now, the active one's from a scan: all as they were.
    EXPECT_EQ(log->segments(), segments);
    EXPECT_EQ(all_batches(*log), want);
    // Offsets continue after reopen.
    const std::string more = make_batch(3, 5000);
    append_ok(*log, more, 120);
    want.push_back(with_base_offset(more, 120));
    EXPECT_EQ(all_batches(*log), want);
}

TEST(partition_log, read_from_inside_a_batch_returns_the_whole_batch) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    const auto want = append_many(*log, 4, 5);  // offsets [0,4] [5,9] [10,14] [15,19]
    for (int64_t start = 5; start <= 9; ++start) {
        const fetch_slice s = read_ok(*log, start, 1, 20);
        EXPECT_EQ(split_batches(s.bytes), std::vector<std::string>{want[1]}) << start;
        EXPECT_EQ(s.first_offset, kafka_offset{5});
        EXPECT_EQ(s.next_offset, kafka_offset{10});
        EXPECT_EQ(s.batches, 1u);
    }
}

TEST(partition_log, read_returns_one_batch_larger_than_max_bytes_unless_told_not_to) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    const auto want = append_many(*log, 3, 4, 200);
    ASSERT_GT(want[0].size(), 100u);
    const fetch_slice s = read_ok(*log, 0, 100, 12);
    EXPECT_EQ(split_batches(s.bytes), std::vector<std::string>{want[0]});
    const fetch_slice strict = read_ok(*log, 0, 100, 12, first_batch::within_max_bytes);
    EXPECT_TRUE(strict.bytes.empty());
    EXPECT_EQ(strict.batches, 0u);
    EXPECT_EQ(strict.next_offset, kafka_offset{0});
    // Exactly the size of one batch fits in either mode.
    const fetch_slice exact = read_ok(*log, 0, want[0].size(), 12, first_batch::within_max_bytes);
    EXPECT_EQ(exact.batches, 1u);
}

TEST(partition_log, read_returns_whole_batches_within_max_bytes) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    const auto want = append_many(*log, 10, 1);
    uint64_t two_and_a_half = want[0].size() + want[1].size() + want[2].size() / 2;
    const fetch_slice s = read_ok(*log, 0, two_and_a_half, 10);
    EXPECT_EQ(split_batches(s.bytes), (std::vector<std::string>{want[0], want[1]}));
    EXPECT_EQ(s.next_offset, kafka_offset{2});
    // The next read continues where this one stopped.
    const fetch_slice t = read_ok(*log, s.next_offset.value(), 1 << 20, 10);
    EXPECT_EQ(split_batches(t.bytes), std::vector<std::string>(want.begin() + 2, want.end()));
}

TEST(partition_log, read_stops_below_the_max_offset) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    const auto want = append_many(*log, 3, 5);  // [0,4] [5,9] [10,14]
    // A batch is served only if all of it is below the bound.
    EXPECT_EQ(split_batches(read_ok(*log, 0, 1 << 20, 9).bytes), std::vector<std::string>{want[0]});
    EXPECT_EQ(split_batches(read_ok(*log, 0, 1 << 20, 10).bytes),
              (std::vector<std::string>{want[0], want[1]}));
    // At or past the bound (but within the log): empty, not an error.
    const fetch_slice at = read_ok(*log, 10, 1 << 20, 10);
    EXPECT_TRUE(at.bytes.empty());
    EXPECT_EQ(at.next_offset, kafka_offset{10});
    EXPECT_TRUE(read_ok(*log, 12, 1 << 20, 10).bytes.empty());
    EXPECT_TRUE(read_ok(*log, 15, 1 << 20, 100).bytes.empty());  // the log end
    EXPECT_EQ(log->read(kafka_offset{16}, 100, kafka_offset{100}).code(),
              errc::offset_out_of_range);
    // A bound beyond the log end is the log end.
    EXPECT_EQ(split_batches(read_ok(*log, 0, 1 << 20, 1000).bytes), want);
}

TEST(partition_log, every_offset_reads_its_batch_whatever_the_index_density) {
    for (const int64_t interval : {int64_t{0}, int64_t{100}, int64_t{1} << 30}) {
        temp_dir dir;
        log_config c = small_config(2048);
        c.index_interval_bytes = interval;
        std::vector<std::string> want;
        {
            auto log = open_ok(dir.log(), c);
            ASSERT_TRUE(log);
            for (int i = 0; i < 40; ++i) {
                const auto more = append_many(*log, 1, 1 + i % 4, 10 + i);
                want.insert(want.end(), more.begin(), more.end());
            }
        }
        auto log = open_ok(dir.log(), c);  // sealed indexes come from their files
        ASSERT_TRUE(log);
        ASSERT_GT(log->segments().size(), 2u);
        size_t k = 0;
        for (int64_t o = 0; o < log->log_end_offset().value(); ++o) {
            const kafka::record_batch_header h = kafka::decode_record_batch_header(want[k]);
            if (o > last_of(h).value()) {
                ++k;
            }
            const fetch_slice s = read_ok(*log, o, 1, log->log_end_offset().value());
            ASSERT_EQ(split_batches(s.bytes), std::vector<std::string>{want[k]})
                << "offset " << o << ", index interval " << interval;
        }
    }
}

TEST(partition_log, offset_for_timestamp_finds_the_first_batch_at_or_after) {
    temp_dir dir;
    log_config c = small_config(300);
    c.index_interval_bytes = 0;
    // One-record batches, timestamps out of order as CreateTime allows.
    const std::vector<int64_t> ts = {100, 300, 200, 500, 400, 450, 700, 600};
    auto check = [&](const partition_log& log) {
        const struct {
            int64_t ts;
            int64_t max_offset;
            std::optional<int64_t> offset;
        } cases[] = {
            {0, 8, 0},   {100, 8, 0}, {101, 8, 1},  {250, 8, 1},  {301, 8, 3}, {450, 8, 3},
            {501, 8, 6}, {650, 8, 6}, {701, 8, {}}, {301, 3, {}}, {301, 4, 3}, {-5, 8, 0},
        };
        for (const auto& k : cases) {
            auto r = log.offset_for_timestamp(k.ts, kafka_offset{k.max_offset});
            ASSERT_TRUE(r) << r.error().message();
            ASSERT_EQ(r->has_value(), k.offset.has_value()) << "ts " << k.ts;
            if (k.offset) {
                EXPECT_EQ((*r)->offset, kafka_offset{*k.offset}) << "ts " << k.ts;
                EXPECT_EQ((*r)->timestamp, ts[static_cast<size_t>(*k.offset)]);
            }
        }
    };
    {
        auto log = open_ok(dir.log(), c);
        ASSERT_TRUE(log);
        for (size_t i = 0; i < ts.size(); ++i) {
            append_ok(*log, make_batch(1, ts[i], 60), static_cast<int64_t>(i));
        }
        ASSERT_GT(log->segments().size(), 2u);
        check(*log);
    }
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    check(*log);
}

TEST(partition_log, segment_roll_by_age_uses_the_first_batch_timestamp) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.segment_ms = 1000;
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    append_ok(*log, make_batch(1, 10000), 0, 50000);
    append_ok(*log, make_batch(1, 11000), 1, 99999);  // age 1000: not more than segment.ms
    EXPECT_EQ(log->segments().size(), 1u);
    append_ok(*log, make_batch(1, 11001), 2, 0);  // age 1001: roll (the broker clock is not used)
    ASSERT_EQ(log->segments().size(), 2u);
    EXPECT_EQ(log->segments()[1].base, kafka_offset{2});
}

TEST(partition_log, segment_roll_by_age_without_timestamps_uses_the_broker_clock) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.segment_ms = 1000;
    auto log = open_ok(dir.log(), c, 5000);
    ASSERT_TRUE(log);
    append_ok(*log, make_batch(1, no_timestamp), 0, 5500);
    append_ok(*log, make_batch(1, no_timestamp), 1, 6000);
    EXPECT_EQ(log->segments().size(), 1u);
    append_ok(*log, make_batch(1, no_timestamp), 2, 6001);  // opened at 5000
    ASSERT_EQ(log->segments().size(), 2u);
    append_ok(*log, make_batch(1, no_timestamp), 3, 7001);  // created at 6001
    EXPECT_EQ(log->segments().size(), 2u);
    append_ok(*log, make_batch(1, no_timestamp), 4, 7002);
    EXPECT_EQ(log->segments().size(), 3u);
}

TEST(partition_log, segment_roll_by_size_and_never_an_empty_segment) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(400));
    ASSERT_TRUE(log);
    const std::string big = make_batch(1, 1, 300);
    ASSERT_LE(big.size(), 400u);
    append_ok(*log, big, 0);
    append_ok(*log, big, 1);  // would pass 400 bytes: rolls
    append_ok(*log, big, 2);
    const auto segs = log->segments();
    ASSERT_EQ(segs.size(), 3u);
    for (size_t i = 0; i < segs.size(); ++i) {
        EXPECT_EQ(segs[i].base, kafka_offset{static_cast<int64_t>(i)});
        EXPECT_EQ(segs[i].size_bytes, big.size());
    }
    ASSERT_TRUE(log->roll(0));
    ASSERT_TRUE(log->roll(0));  // the new active segment is empty: no second roll
    EXPECT_EQ(log->segments().size(), 4u);
    EXPECT_EQ(log->segments().back().size_bytes, 0u);
}

TEST(partition_log, oversized_batches_are_rejected) {
    temp_dir dir;
    log_config c = small_config(500);
    c.max_batch_bytes = 300;
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    auto r = log->append(make_batch(1, 1, 400), 0);
    EXPECT_EQ(r.code(), errc::batch_too_large) << r.error().message();
    c.max_batch_bytes = 1 << 20;
    ASSERT_TRUE(log->set_config(c));
    r = log->append(make_batch(1, 1, 600), 0);
    EXPECT_EQ(r.code(), errc::batch_exceeds_segment) << r.error().message();
    EXPECT_EQ(log->log_end_offset(), kafka_offset{0});
    EXPECT_EQ(log->size_bytes(), 0u);
}

TEST(partition_log, invalid_batches_are_rejected_naming_the_field_and_change_nothing) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    append_ok(*log, make_batch(2, 1), 0);
    const std::string good = make_batch(3, 1);
    std::string bad_magic = good;
    bad_magic[16] = 1;
    std::string bad_crc = good;
    bad_crc[good.size() - 1] = static_cast<char>(bad_crc[good.size() - 1] ^ 1);
    const struct {
        std::string batch;
        errc code;
        std::string field;
    } cases[] = {
        {bad_magic, errc::invalid_batch, "magic:"},
        {bad_crc, errc::corrupt_batch, "crc:"},
        {good + "xyz", errc::invalid_batch, "batchLength:"},
        {good.substr(0, good.size() - 3), errc::invalid_batch, "batchLength:"},
        {good.substr(0, 30), errc::invalid_batch, "batchLength:"},
        {"", errc::invalid_batch, "batch:"},
    };
    for (const auto& k : cases) {
        auto r = log->append(k.batch, 0);
        ASSERT_FALSE(r) << k.field;
        EXPECT_EQ(r.code(), k.code) << r.error().message();
        EXPECT_TRUE(r.error().detail.starts_with(k.field)) << r.error().detail;
    }
    EXPECT_EQ(log->log_end_offset(), kafka_offset{2});
    append_ok(*log, good, 2);
    EXPECT_EQ(all_batches(*log).size(), 2u);
}

TEST(partition_log, log_append_time_replaces_the_max_timestamp) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.message_timestamp_type = timestamp_type::log_append_time;
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    auto r = log->append(make_batch(2, 100), 77777);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->log_append_time, 77777);
    const auto stored = all_batches(*log);  // read() verifies the new CRC
    ASSERT_EQ(stored.size(), 1u);
    auto h = validate_batch(stored[0]);
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ(h->ts_type(), kafka::timestamp_type::log_append_time);
    EXPECT_EQ(h->max_timestamp, 77777);
    auto found = log->offset_for_timestamp(77777, log->log_end_offset());
    ASSERT_TRUE(found && found->has_value());
    EXPECT_EQ((*found)->offset, kafka_offset{0});
}

// --- retention ----------------------------------------------------------------

/// A log of 6 segments of two one-record batches each (timestamps 1000 *
/// (offset + 1)) plus an active segment holding offset 12.
std::unique_ptr<partition_log> retention_log(const temp_dir& dir, log_config c) {
    auto log = open_ok(dir.log(), c);
    if (!log) {
        return nullptr;
    }
    for (int64_t o = 0; o <= 12; ++o) {
        append_ok(*log, make_batch(1, 1000 * (o + 1), 100), o);
        if (o % 2 == 1) {
            EXPECT_TRUE(log->roll(0));
        }
    }
    EXPECT_EQ(log->segments().size(), 7u);
    // Retention only deletes what consumers could read: all of it here.
    EXPECT_TRUE(log->set_high_watermark(log->log_end_offset()));
    return log;
}

TEST(partition_log, retention_by_time_deletes_expired_sealed_segments) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.retention_ms = 5000;
    auto log = retention_log(dir, c);
    ASSERT_TRUE(log);
    const uint64_t before = log->size_bytes();
    // Segment maxima: 2000, 4000, 6000, ... At 10000, those <= 5000 ms old stay.
    auto r = log->apply_retention(10000);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->segments, 2u);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{4});
    EXPECT_EQ(log->size_bytes(), before - r->bytes);
    EXPECT_EQ(log->read(kafka_offset{3}, 100, kafka_offset{13}).code(), errc::offset_out_of_range);
    EXPECT_EQ(split_batches(read_ok(*log, 4, 1, 13).bytes).size(), 1u);
    EXPECT_FALSE(std::filesystem::exists(dir.log() + "/00000000000000000000.log"));
    EXPECT_FALSE(std::filesystem::exists(dir.log() + "/00000000000000000002.index"));
    EXPECT_FALSE(std::filesystem::exists(dir.log() + "/00000000000000000002.timeindex"));
    EXPECT_EQ(log_files(dir.log()).front(), dir.log() + "/00000000000000000004.log");
    // Much later everything goes: the sealed segments, then the expired
    // active one (all below the high watermark), rolled first as Kafka does.
    r = log->apply_retention(1000000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 5u);
    ASSERT_EQ(log->segments().size(), 1u);
    EXPECT_EQ(log->segments()[0].size_bytes, 0u);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{13});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{13});
    // Reopen: the log starts where retention left it.
    log.reset();
    log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{13});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{13});
}

TEST(partition_log, retention_by_time_stops_at_the_first_unexpired_segment) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.retention_ms = 5000;
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    append_ok(*log, make_batch(1, 9000), 0);  // a young segment first
    ASSERT_TRUE(log->roll(0));
    append_ok(*log, make_batch(1, 1000), 1);  // then an old one
    ASSERT_TRUE(log->roll(0));
    append_ok(*log, make_batch(1, 9000), 2);
    ASSERT_TRUE(log->set_high_watermark(log->log_end_offset()));
    auto r = log->apply_retention(10000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 0u);
    EXPECT_EQ(log->log_start_offset(), kafka_offset{0});
}

TEST(partition_log, retention_by_size_keeps_at_least_retention_bytes) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    auto log = retention_log(dir, c);
    ASSERT_TRUE(log);
    const auto segs = log->segments();
    const uint64_t seg = segs[0].size_bytes;  // every sealed segment has the same size
    c.retention_bytes = static_cast<int64_t>(log->size_bytes() - 2 * seg - seg / 2);
    ASSERT_TRUE(log->set_config(c));
    auto r = log->apply_retention(0);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 2u);
    EXPECT_GE(log->size_bytes(), static_cast<uint64_t>(c.retention_bytes));
    EXPECT_EQ(log->log_start_offset(), kafka_offset{4});
    c.retention_bytes = 0;
    ASSERT_TRUE(log->set_config(c));
    r = log->apply_retention(0);
    ASSERT_TRUE(r);
    EXPECT_EQ(log->segments().size(), 1u);  // never the active segment
    EXPECT_EQ(log->log_start_offset(), kafka_offset{12});
}

TEST(partition_log, retention_never_deletes_beyond_the_high_watermark) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.retention_ms = 0;
    auto log = retention_log(dir, c);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->set_high_watermark(kafka_offset{5}));
    auto r = log->apply_retention(1000000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 2u);  // [0,1] and [2,3]; [4,5] holds offset 5
    EXPECT_EQ(log->log_start_offset(), kafka_offset{4});
}

TEST(partition_log, retention_by_time_keeps_segments_without_timestamps) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.retention_ms = 0;
    auto log = open_ok(dir.log(), c);
    ASSERT_TRUE(log);
    append_ok(*log, make_batch(1, no_timestamp), 0);
    ASSERT_TRUE(log->roll(0));
    append_ok(*log, make_batch(1, no_timestamp), 1);
    ASSERT_TRUE(log->set_high_watermark(log->log_end_offset()));
    auto r = log->apply_retention(1000000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 0u);
}

// --- flush policy, high watermark, truncation -----------------------------------

TEST(partition_log, flush_policy_by_message_count) {
    temp_dir dir;
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    log_config c = small_config(1 << 20);
    c.flush_messages = 3;
    auto log = open_ok(dir.log(), c, 0, fs);
    ASSERT_TRUE(log);
    const std::string seg = dir.log() + "/00000000000000000000.log";
    const uint64_t at_open = fs->syncs(seg);
    append_ok(*log, make_batch(1, 1), 0);
    append_ok(*log, make_batch(1, 1), 1);
    EXPECT_EQ(fs->syncs(seg), at_open);
    EXPECT_EQ(log->flushed_offset(), kafka_offset{0});
    append_ok(*log, make_batch(1, 1), 2);  // 3 unflushed offsets
    EXPECT_EQ(fs->syncs(seg), at_open + 1);
    EXPECT_EQ(log->flushed_offset(), kafka_offset{3});
    append_ok(*log, make_batch(5, 1), 3);  // one batch of 5 goes past the count
    EXPECT_EQ(fs->syncs(seg), at_open + 2);
    EXPECT_EQ(log->flushed_offset(), kafka_offset{8});
}

TEST(partition_log, flush_policy_by_time) {
    temp_dir dir;
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    log_config c = small_config(1 << 20);
    c.flush_ms = 100;
    auto log = open_ok(dir.log(), c, 1000, fs);
    ASSERT_TRUE(log);
    const std::string seg = dir.log() + "/00000000000000000000.log";
    const uint64_t at_open = fs->syncs(seg);
    append_ok(*log, make_batch(1, 1), 0, 1050);
    EXPECT_EQ(fs->syncs(seg), at_open);
    append_ok(*log, make_batch(1, 1), 1, 1100);  // 100 ms since open
    EXPECT_EQ(fs->syncs(seg), at_open + 1);
    EXPECT_EQ(log->flushed_offset(), kafka_offset{2});
    append_ok(*log, make_batch(1, 1), 2, 1120);
    auto f = log->maybe_flush(1199);
    ASSERT_TRUE(f);
    EXPECT_FALSE(*f);
    f = log->maybe_flush(1200);
    ASSERT_TRUE(f);
    EXPECT_TRUE(*f);
    EXPECT_EQ(fs->syncs(seg), at_open + 2);
    EXPECT_EQ(log->flushed_offset(), kafka_offset{3});
    f = log->maybe_flush(5000);  // nothing unflushed
    ASSERT_TRUE(f);
    EXPECT_FALSE(*f);
}

TEST(partition_log, flush_policy_never_leaves_it_to_rolls_and_flush) {
    temp_dir dir;
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    auto log = open_ok(dir.log(), small_config(1 << 20), 0, fs);
    ASSERT_TRUE(log);
    const uint64_t at_open = fs->total_syncs();
    append_many(*log, 20);
    auto f = log->maybe_flush(int64_t{1} << 40);
    ASSERT_TRUE(f);
    EXPECT_FALSE(*f);
    EXPECT_EQ(fs->total_syncs(), at_open);
    EXPECT_EQ(log->flushed_offset(), kafka_offset{0});
    ASSERT_TRUE(log->flush(0));
    EXPECT_EQ(fs->total_syncs(), at_open + 1);
    EXPECT_EQ(log->flushed_offset(), kafka_offset{20});
    append_many(*log, 2);
    // Sealing syncs the log and both indexes; the producer state snapshot
    // written at the roll (producer_state.h) is one more file sync.
    ASSERT_TRUE(log->roll(0));
    EXPECT_EQ(fs->total_syncs(), at_open + 5);
    EXPECT_EQ(log->flushed_offset(), kafka_offset{22});
}

TEST(partition_log, high_watermark_is_set_by_the_caller_within_the_log) {
    temp_dir dir;
    auto log = open_ok(dir.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    append_many(*log, 5);
    EXPECT_EQ(log->high_watermark(), kafka_offset{0});
    ASSERT_TRUE(log->set_high_watermark(kafka_offset{3}));
    EXPECT_EQ(log->high_watermark(), kafka_offset{3});
    EXPECT_EQ(log->set_high_watermark(kafka_offset{6}).code(), errc::offset_out_of_range);
    EXPECT_EQ(log->set_high_watermark(kafka_offset{-1}).code(), errc::offset_out_of_range);
    EXPECT_EQ(split_batches(read_ok(*log, 0, 1 << 20, log->high_watermark().value()).bytes).size(),
              3u);
    ASSERT_TRUE(log->set_high_watermark(kafka_offset{5}));
    auto t = log->truncate_to(kafka_offset{2});
    ASSERT_TRUE(t);
    EXPECT_EQ(log->high_watermark(), kafka_offset{2});
}

TEST(partition_log, truncate_to_removes_whole_batches_across_segments) {
    temp_dir dir;
    std::vector<std::string> want;
    {
        auto log = open_ok(dir.log(), small_config(512));
        ASSERT_TRUE(log);
        want = append_many(*log, 30, 3);  // batch k holds [3k, 3k+2]
        ASSERT_GT(log->segments().size(), 3u);
        EXPECT_EQ(log->truncate_to(kafka_offset{100}).value(), kafka_offset{90});  // no-op
        // 40 lies inside batch 13 = [39, 41]: that batch goes whole.
        auto end = log->truncate_to(kafka_offset{40});
        ASSERT_TRUE(end) << end.error().message();
        EXPECT_EQ(*end, kafka_offset{39});
        EXPECT_EQ(log->log_end_offset(), kafka_offset{39});
        want.resize(13);
        EXPECT_EQ(all_batches(*log), want);
        for (const std::string& f : log_files(dir.log())) {
            EXPECT_LE(std::stoll(std::filesystem::path(f).filename().string()), 39) << f;
        }
        const std::string more = make_batch(2, 1);
        append_ok(*log, more, 39);
        want.push_back(with_base_offset(more, 39));
    }
    auto log = open_ok(dir.log(), small_config(512));
    ASSERT_TRUE(log);
    EXPECT_EQ(all_batches(*log), want);
    EXPECT_EQ(log->truncate_to(kafka_offset{0}).value(), kafka_offset{0});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{0});
    EXPECT_EQ(log->segments().size(), 1u);
    append_ok(*log, make_batch(1, 1), 0);
}

TEST(partition_log, truncate_below_the_log_start_is_out_of_range) {
    temp_dir dir;
    log_config c = small_config(1 << 20);
    c.retention_bytes = 0;
    auto log = retention_log(dir, c);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->apply_retention(0));
    EXPECT_EQ(log->truncate_to(kafka_offset{3}).code(), errc::offset_out_of_range);
}

TEST(partition_log, failed_sync_fails_the_log_for_writes_only) {
    temp_dir dir;
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    auto log = open_ok(dir.log(), small_config(1 << 20), 0, fs);
    ASSERT_TRUE(log);
    append_many(*log, 3);
    fs->fail_next_sync();
    EXPECT_EQ(log->flush(0).code(), errc::io_error);
    EXPECT_EQ(log->append(make_batch(1, 1), 0).code(), errc::io_error);
    EXPECT_EQ(log->roll(0).code(), errc::io_error);
    EXPECT_EQ(log->apply_retention(0).code(), errc::io_error);
    EXPECT_EQ(log->truncate_to(kafka_offset{1}).code(), errc::io_error);
    EXPECT_EQ(all_batches(*log).size(), 3u);
}

TEST(partition_log, invalid_config_names_the_key) {
    temp_dir dir;
    const struct {
        void (*set)(log_config&);
        std::string key;
    } cases[] = {
        {[](log_config& c) { c.segment_bytes = 10; }, "segment.bytes"},
        {[](log_config& c) { c.segment_bytes = int64_t{1} << 31; }, "segment.bytes"},
        {[](log_config& c) { c.segment_ms = 0; }, "segment.ms"},
        {[](log_config& c) { c.index_interval_bytes = -1; }, "index.interval.bytes"},
        {[](log_config& c) { c.retention_ms = -2; }, "retention.ms"},
        {[](log_config& c) { c.retention_bytes = -2; }, "retention.bytes"},
        {[](log_config& c) { c.flush_messages = 0; }, "flush.messages"},
        {[](log_config& c) { c.flush_ms = -1; }, "flush.ms"},
        {[](log_config& c) { c.max_batch_bytes = -1; }, "max.message.bytes"},
    };
    for (const auto& k : cases) {
        log_config c;
        k.set(c);
        auto r = partition_log::open(dir.log(), c, 0);
        ASSERT_FALSE(r) << k.key;
        EXPECT_EQ(r.code(), errc::invalid_config);
        EXPECT_TRUE(r.error().detail.starts_with(k.key + ":")) << r.error().detail;
    }
    EXPECT_TRUE(validate(log_config{}));
}

}  // namespace
}  // namespace fjord::broker::storage::testing
