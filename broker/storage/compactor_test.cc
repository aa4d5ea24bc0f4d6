// File: broker/storage/compactor_test.cc
//
// Log compaction (compactor.h, partition_log::compact): what survives
// (the latest record of each key, tombstones for delete.retention.ms),
// when a pass runs (min.cleanable.dirty.ratio, min.compaction.lag.ms, the
// high watermark, the active segment), that offsets never change and reads
// skip the gaps, compressed and idempotent batches, retention together with
// compaction, restarts, and crashes at every file operation of a pass.
// Records are built and read back with common/kafka's codec, independently
// of the cleaner's own record parser.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "broker/storage/compactor.h"
#include "broker/storage/errc.h"
#include "broker/storage/log_test_util.h"
#include "common/kafka/compression.h"
#include "common/kafka/record_batch.h"

namespace fjord::broker::storage::testing {
namespace {

using kafka::compression_codec;

struct kv {
    std::optional<std::string> key;
    std::optional<std::string> value;  ///< nullopt: a tombstone
};

struct rec {
    int64_t offset = 0;
    std::optional<std::string> key;
    std::optional<std::string> value;
    bool operator==(const rec&) const = default;
};

void PrintTo(const rec& r, std::ostream* os) {
    *os << fmt::format("{}:{}={}", r.offset, r.key.value_or("<null>"),
                       r.value.value_or("<tombstone>"));
}

struct producer_fields {
    int64_t id = -1;
    int16_t epoch = -1;
    int32_t sequence = -1;
};

/// One batch as a client would send it, records timestamped `ts`.
std::string batch_of(const std::vector<kv>& records, int64_t ts,
                     compression_codec codec = compression_codec::none, producer_fields p = {}) {
    kafka::record_batch_builder b;
    if (p.id >= 0) {
        b.producer(p.id, p.epoch, p.sequence);
    }
    for (const kv& r : records) {
        b.add(r.key ? std::optional<std::string_view>(*r.key) : std::nullopt,
              r.value ? std::optional<std::string_view>(*r.value) : std::nullopt, ts);
    }
    std::string out = b.build();
    if (codec == compression_codec::none) {
        return out;
    }
    auto packed =
        kafka::compress(codec, std::string_view(out).substr(kafka::record_batch_header_size));
    EXPECT_TRUE(packed) << packed.error().message();
    out.resize(kafka::record_batch_header_size);
    out += *packed;
    kafka::write_batch_field(out, kafka::batch_field::batch_length,
                             out.size() - kafka::record_batch_length_prefix);
    kafka::write_batch_field(out, kafka::batch_field::attributes,
                             static_cast<uint64_t>(static_cast<int>(codec)));
    kafka::update_record_batch_crc(out);
    return out;
}

/// Every record of concatenated batches (compressed ones decompressed).
std::vector<rec> records_in(std::string_view bytes) {
    std::vector<rec> out;
    auto batches = kafka::parse_record_batches(bytes);
    EXPECT_TRUE(batches) << batches.error().message();
    if (!batches) {
        return out;
    }
    for (kafka::record_batch_view b : *batches) {
        std::string plain;
        if (b.header.compression() != compression_codec::none) {
            auto d = kafka::decompress(b.header.compression(), b.records, 64 << 20);
            EXPECT_TRUE(d) << d.error().message();
            plain = d ? *d : std::string();
            b.records = plain;
            b.header.attributes = static_cast<int16_t>(b.header.attributes & ~0x7);
        }
        auto rs = kafka::read_records(b);
        EXPECT_TRUE(rs) << rs.error().message();
        if (!rs) {
            continue;
        }
        for (const auto& r : *rs) {
            out.push_back(rec{b.header.base_offset + r.offset_delta,
                              r.key ? std::optional<std::string>(*r.key) : std::nullopt,
                              r.value ? std::optional<std::string>(*r.value) : std::nullopt});
        }
    }
    return out;
}

std::vector<rec> all_records(const partition_log& log) {
    auto r = log.read(log.log_start_offset(), UINT64_MAX, log.log_end_offset());
    EXPECT_TRUE(r) << r.error().message();
    return r ? records_in(r->bytes) : std::vector<rec>{};
}

log_config compact_config() {
    log_config c = small_config(1 << 20);  // tests roll by hand
    c.cleanup_compact = true;
    c.cleanup_delete = false;
    c.min_cleanable_dirty_ratio = 0;
    c.delete_retention_ms = 1000;
    return c;
}

/// A directory on tmpfs when there is one: the crash and randomized tests
/// run hundreds of compactions, fault_file_ops models what a power loss
/// keeps, and real fsyncs would only make them slow.
class scratch_dir {
  public:
    scratch_dir() {
        std::error_code ec;
        const std::filesystem::path root = std::filesystem::is_directory("/dev/shm", ec)
                                               ? std::filesystem::path("/dev/shm")
                                               : std::filesystem::temp_directory_path();
        std::string tmpl = (root / "fjord_compactor_test_XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            ADD_FAILURE() << "mkdtemp failed";
        }
        _path = tmpl;
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(_path, ec);
    }
    std::string log() const { return _path + "/topic-0"; }

  private:
    std::string _path;
};

/// A compacted log under test, and every record ever appended to it.
class compacted_log {
  public:
    explicit compacted_log(log_config c = compact_config(),
                           std::shared_ptr<fs::file_ops> fs = nullptr)
        : _config(c), _fs(std::move(fs)) {
        reopen();
    }

    partition_log& log() { return *_log; }
    std::string path() const { return _dir.log(); }
    const log_config& config() const { return _config; }

    void reopen(int64_t now_ms = 0) {
        _log.reset();
        _log = open_ok(_dir.log(), _config, now_ms, _fs);
        ASSERT_TRUE(_log);
    }
    void close() { _log.reset(); }

    /// Appends one batch; the high watermark follows the log end.
    int64_t append(const std::vector<kv>& records, int64_t ts = 1000,
                   compression_codec codec = compression_codec::none, producer_fields p = {}) {
        return append_raw(batch_of(records, ts, codec, p), ts, records);
    }
    int64_t append_raw(const std::string& batch, int64_t now_ms, const std::vector<kv>& records) {
        // A compacted topic refuses keyless records; those in these tests
        // stand for data written before the topic became compacted.
        const bool keyless = std::any_of(records.begin(), records.end(),
                                         [](const kv& r) { return !r.key.has_value(); });
        if (keyless && _config.cleanup_compact) {
            log_config before = _config;
            before.cleanup_compact = false;
            before.cleanup_delete = true;
            EXPECT_TRUE(_log->set_config(before));
        }
        auto r = _log->append(batch, now_ms);
        if (keyless && _config.cleanup_compact) {
            EXPECT_TRUE(_log->set_config(_config));
        }
        EXPECT_TRUE(r) << r.error().message();
        if (!r) {
            return -1;
        }
        EXPECT_TRUE(_log->set_high_watermark(_log->log_end_offset()));
        for (size_t i = 0; i < records.size(); ++i) {
            const int64_t o = r->base_offset.value() + static_cast<int64_t>(i);
            written[o] = rec{o, records[i].key, records[i].value};
        }
        return r->base_offset.value();
    }
    /// One record per batch.
    int64_t put(std::optional<std::string> key, std::optional<std::string> value,
                int64_t ts = 1000) {
        return append({kv{std::move(key), std::move(value)}}, ts);
    }
    void roll(int64_t now_ms = 0) { ASSERT_TRUE(_log->roll(now_ms)); }

    compaction_info compact(int64_t now_ms = 0, const compaction_limits& limits = {}) {
        auto r = _log->compact(now_ms, limits);
        EXPECT_TRUE(r) << r.error().message();
        return r ? *r : compaction_info{};
    }

    std::vector<rec> records() const { return all_records(*_log); }

    /// The records of `written` at these offsets.
    std::vector<rec> at(std::initializer_list<int64_t> offsets) const {
        std::vector<rec> out;
        for (const int64_t o : offsets) {
            out.push_back(written.at(o));
        }
        return out;
    }

    std::map<int64_t, rec> written;

  private:
    scratch_dir _dir;
    log_config _config;
    std::shared_ptr<fs::file_ops> _fs;
    std::unique_ptr<partition_log> _log;
};

/// The compaction invariant over everything ever written: every record
/// served is the one written at its offset, and for each key the last
/// record served is its latest one; none may be served only if that latest
/// is a tombstone and `may_be_gone` says its horizon can have passed.
void expect_latest_of_each_key(const std::vector<rec>& served,
                               const std::map<int64_t, rec>& written,
                               const std::function<bool(const rec&)>& may_be_gone) {
    std::map<std::string, rec> latest;
    for (const auto& [o, r] : written) {
        if (r.key) {
            latest[*r.key] = r;
        }
    }
    std::map<std::string, rec> last_served;
    for (const rec& r : served) {
        auto it = written.find(r.offset);
        if (it == written.end()) {
            ADD_FAILURE() << "offset " << r.offset << " was never written";
            continue;
        }
        EXPECT_EQ(r, it->second);
        if (r.key) {
            last_served[*r.key] = r;
        }
    }
    for (const auto& [key, r] : latest) {
        auto it = last_served.find(key);
        if (it == last_served.end()) {
            EXPECT_TRUE(!r.value && may_be_gone(r))
                << "key " << key << ": nothing served, its latest is "
                << ::testing::PrintToString(r);
        } else {
            EXPECT_EQ(it->second, r) << "key " << key << ": the last served is not the latest";
        }
    }
}

// --- what survives ----------------------------------------------------------------

TEST(compaction, keeps_the_latest_record_of_each_key_at_its_offset) {
    compacted_log t;
    t.put("a", "a0");  // 0
    t.put("b", "b0");  // 1
    t.put("c", "c0");  // 2
    t.roll();
    t.put("a", "a1");  // 3
    t.put("b", "b1");  // 4
    t.roll();
    t.put("a", "a2");  // 5
    t.roll();
    t.put("d", "d0");  // 6: the active segment
    const auto info = t.compact();
    EXPECT_TRUE(info.pass_done);
    EXPECT_FALSE(info.in_progress);
    EXPECT_EQ(info.segments_cleaned, 3u);
    EXPECT_EQ(info.records_removed, 3u);
    EXPECT_LT(info.bytes_after, info.bytes_before);
    EXPECT_EQ(t.records(), t.at({2, 4, 5, 6}));
    EXPECT_EQ(t.log().log_start_offset(), kafka_offset{0});
    EXPECT_EQ(t.log().log_end_offset(), kafka_offset{7});
    // The three sealed segments became one (they fit in segment.bytes).
    const auto segs = t.log().segments();
    ASSERT_EQ(segs.size(), 2u);
    EXPECT_EQ(segs[0].base, kafka_offset{0});
    EXPECT_EQ(segs[0].next, kafka_offset{6});
    EXPECT_EQ(segs[1].base, kafka_offset{6});
    // Nothing more to do until more is written.
    EXPECT_FALSE(t.compact().pass_done);
}

TEST(compaction, reads_skip_the_gaps) {
    compacted_log t;
    for (int round = 0; round < 4; ++round) {
        for (const char* k : {"a", "b", "c"}) {
            t.put(k, fmt::format("{}{}", k, round), 1000 + round * 10);
        }
        t.roll();
    }
    t.put("z", "z", 2000);
    t.compact();
    const auto kept = t.records();
    ASSERT_EQ(kept, t.at({9, 10, 11, 12}));
    // A fetch at any offset returns the first batch holding an offset at or
    // after it: the next surviving record.
    for (int64_t o = 0; o < 13; ++o) {
        auto r = t.log().read(kafka_offset{o}, 1, t.log().log_end_offset());
        ASSERT_TRUE(r) << r.error().message();
        const auto got = records_in(r->bytes);
        ASSERT_EQ(got.size(), 1u) << o;
        EXPECT_EQ(got[0].offset, std::max<int64_t>(o, 9)) << o;
        EXPECT_EQ(r->next_offset, kafka_offset{got[0].offset + 1});
    }
    // ListOffsets by time finds the surviving batches.
    auto ts = t.log().offset_for_timestamp(1000, t.log().log_end_offset());
    ASSERT_TRUE(ts && *ts);
    EXPECT_EQ((*ts)->offset, kafka_offset{9});
    ts = t.log().offset_for_timestamp(1031, t.log().log_end_offset());
    ASSERT_TRUE(ts && *ts);
    EXPECT_EQ((*ts)->offset, kafka_offset{12});
}

TEST(compaction, rewrites_a_batch_keeping_its_header_and_offsets) {
    compacted_log t;
    const producer_fields p{42, 3, 0};
    t.append({{"a", "1"}, {"b", "1"}, {"c", "1"}, {"d", "1"}}, 5000, compression_codec::none, p);
    t.roll();
    t.put("b", "2");  // 4
    t.put("d", "2");  // 5
    t.roll();
    t.put("x", "x");
    const auto before = kafka::decode_record_batch_header(all_batches(t.log())[0]);
    t.compact();
    const auto batches = all_batches(t.log());
    ASSERT_FALSE(batches.empty());
    const auto after = kafka::decode_record_batch_header(batches[0]);
    EXPECT_EQ(after.base_offset, 0);
    EXPECT_EQ(after.last_offset_delta, 3);  // the last sequence stays readable
    EXPECT_EQ(after.record_count, 2);
    EXPECT_EQ(after.base_timestamp, before.base_timestamp);
    EXPECT_EQ(after.max_timestamp, before.max_timestamp);
    EXPECT_EQ(after.attributes, before.attributes);
    EXPECT_EQ(after.producer_id, 42);
    EXPECT_EQ(after.producer_epoch, 3);
    EXPECT_EQ(after.base_sequence, 0);
    EXPECT_EQ(after.partition_leader_epoch, before.partition_leader_epoch);
    EXPECT_EQ(after.crc, kafka::record_batch_crc(batches[0]));
    EXPECT_EQ(t.records(), t.at({0, 2, 4, 5, 6}));
}

TEST(compaction, compressed_batches_are_filtered_and_recompressed_with_their_codec) {
    for (const auto codec : {compression_codec::gzip, compression_codec::snappy,
                             compression_codec::lz4, compression_codec::zstd}) {
        SCOPED_TRACE(std::string(kafka::codec_name(codec)));
        compacted_log t;
        t.append({{"a", "1"}, {"b", "1"}, {"c", "1"}}, 1000, codec);  // 0-2
        t.append({{"d", "1"}, {"e", "1"}}, 1000, codec);              // 3-4: all superseded
        t.roll();
        t.append({{"a", "2"}, {"d", "2"}, {"e", "2"}}, 1000, codec);  // 5-7
        t.roll();
        t.put("x", "x");
        t.compact();
        EXPECT_EQ(t.records(), t.at({1, 2, 5, 6, 7, 8}));
        const auto batches = all_batches(t.log());
        ASSERT_EQ(batches.size(), 3u);
        const auto h = kafka::decode_record_batch_header(batches[0]);
        EXPECT_EQ(h.compression(), codec);
        EXPECT_EQ(h.record_count, 2);
        EXPECT_EQ(h.last_offset_delta, 2);
        EXPECT_EQ(base_offset_of(batches[1]), 5);  // the batch at 3 went whole
    }
}

TEST(compaction, a_compacted_topic_refuses_keyless_records) {
    compacted_log t;
    auto r = t.log().append(batch_of({kv{std::nullopt, "no key"}}, 1000), 1000);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::invalid_record));
    EXPECT_EQ(t.log().log_end_offset(), kafka_offset{0});
}

TEST(compaction, drops_keyless_records) {
    compacted_log t;
    t.put("a", "1");      // 0
    t.put({}, "no key");  // 1
    t.roll();
    t.append({{{}, "x"}, {"b", "1"}, {{}, "y"}});  // 2-4
    t.roll();
    t.put("c", "c");
    t.compact();
    EXPECT_EQ(t.records(), t.at({0, 3, 5}));
}

TEST(compaction, a_compacted_range_ends_with_a_batch_not_a_gap) {
    compacted_log t;
    t.put("a", "1");       // 0
    t.put({}, "keyless");  // 1: goes, but its batch ends the compacted range
    t.roll();              // the active segment is empty
    t.compact();
    // The record goes; its batch's header stays (recordCount 0).
    EXPECT_EQ(t.records(), t.at({0}));
    const auto batches = all_batches(t.log());
    ASSERT_EQ(batches.size(), 2u);
    EXPECT_EQ(kafka::decode_record_batch_header(batches[1]).base_offset, 1);
    EXPECT_EQ(kafka::decode_record_batch_header(batches[1]).record_count, 0);
    // A reader of the whole log (read until nothing comes back) reaches the end.
    kafka_offset o = t.log().log_start_offset();
    while (o < t.log().log_end_offset()) {
        auto r = t.log().read(o, 1, t.log().log_end_offset());
        ASSERT_TRUE(r);
        ASSERT_GT(r->batches, 0u) << o;
        o = r->next_offset;
    }
    // In the next pass it is an ordinary batch, and goes.
    t.put("b", "1");  // 2
    t.roll();
    t.compact();
    EXPECT_EQ(t.records(), t.at({0, 2}));
}

// --- tombstones ---------------------------------------------------------------------

TEST(compaction, tombstones_stay_for_delete_retention_ms_after_their_first_cleaning) {
    compacted_log t;  // delete.retention.ms 1000
    t.put("a", "v");  // 0
    t.put("b", "v");  // 1
    t.roll();
    t.put("a", {});  // 2: deletes a
    t.roll();
    t.put("z", "z");  // 3, active
    // The first pass drops what the tombstone deletes, never the tombstone.
    EXPECT_TRUE(t.compact(10000).pass_done);
    EXPECT_EQ(t.records(), t.at({1, 2, 3}));
    // Another pass within delete.retention.ms of it keeps the tombstone.
    t.roll();
    t.put("y", "y");  // 4
    EXPECT_TRUE(t.compact(10999).pass_done);
    EXPECT_EQ(t.records(), t.at({1, 2, 3, 4}));
    // Once that long has passed since the pass that first cleaned it, the
    // next pass removes it; the records after it stay.
    t.roll();
    t.put("x", "x");  // 5
    EXPECT_TRUE(t.compact(11000).pass_done);
    EXPECT_EQ(t.records(), t.at({1, 3, 4, 5}));
}

TEST(compaction, a_tombstone_survives_its_first_pass_even_with_no_delete_retention) {
    log_config c = compact_config();
    c.delete_retention_ms = 0;
    compacted_log t(c);
    t.put("keep", "k");  // 0
    t.put("a", {});      // 1
    t.roll();
    t.put("z", "z");
    t.compact(5000);
    EXPECT_EQ(t.records(), t.at({0, 1, 2}));
    t.roll();
    t.put("y", "y");  // 3
    t.compact(5000);
    EXPECT_EQ(t.records(), t.at({0, 2, 3}));
}

TEST(compaction, the_tombstone_horizon_survives_a_restart) {
    compacted_log t;
    t.put("keep", "k");
    t.put("a", {});  // 1
    t.roll();
    t.put("z", "z");
    t.compact(10000);
    t.reopen();
    t.roll();
    t.put("y", "y");
    t.compact(10500);  // within delete.retention.ms of the first cleaning
    EXPECT_EQ(t.records(), t.at({0, 1, 2, 3}));
    t.reopen();
    t.roll();
    t.put("x", "x");
    t.compact(11000);
    EXPECT_EQ(t.records(), t.at({0, 2, 3, 4}));
}

// --- when a pass runs ---------------------------------------------------------------

TEST(compaction, never_touches_the_active_segment) {
    compacted_log t;
    t.put("a", "1");  // 0
    t.roll();
    t.put("a", "2");  // 1
    t.put("a", "3");  // 2
    t.put("a", "4");  // 3
    const std::string active = log_files(t.path()).back();
    const std::string bytes = read_bytes(active);
    EXPECT_TRUE(t.compact().pass_done);  // the sealed segment is cleaned; the active one is not
    EXPECT_EQ(read_bytes(active), bytes);
    // Superseded records in the active segment stay until it is sealed.
    EXPECT_EQ(t.records(), t.at({0, 1, 2, 3}));
    t.roll();
    t.put("b", "1");
    t.compact();
    EXPECT_EQ(t.records(), t.at({3, 4}));
}

TEST(compaction, stops_at_the_high_watermark) {
    compacted_log t;
    t.put("a", "1");
    t.roll();
    t.put("a", "2");
    t.roll();
    t.put("b", "b");
    ASSERT_TRUE(t.log().set_high_watermark(kafka_offset{1}));
    t.compact();
    EXPECT_EQ(t.records(), t.at({0, 1, 2}));  // [1, 2) reaches the high watermark
    ASSERT_TRUE(t.log().set_high_watermark(t.log().log_end_offset()));
    t.compact();
    EXPECT_EQ(t.records(), t.at({1, 2}));
}

TEST(compaction, waits_for_min_compaction_lag_ms) {
    log_config c = compact_config();
    c.min_compaction_lag_ms = 5000;
    compacted_log t(c);
    t.put("a", "1", 1000);  // 0
    t.roll();
    t.put("a", "2", 1000);  // 1
    t.roll();
    t.put("a", "3", 9000);  // 2: too young at 10000
    t.roll();
    t.put("b", "b", 9000);  // 3
    t.compact(10000);
    EXPECT_EQ(t.records(), t.at({1, 2, 3}));
    t.compact(13999);
    EXPECT_EQ(t.records(), t.at({1, 2, 3}));
    t.compact(14000);
    EXPECT_EQ(t.records(), t.at({2, 3}));
}

TEST(compaction, waits_for_min_cleanable_dirty_ratio) {
    log_config c = compact_config();
    c.min_cleanable_dirty_ratio = 0.5;
    compacted_log t(c);
    int64_t n = 0;
    const auto segment_of_new_keys = [&] {
        for (int i = 0; i < 4; ++i, ++n) {
            t.put(fmt::format("k{}", n), "v");
        }
        t.roll();
    };
    for (int i = 0; i < 4; ++i) {
        segment_of_new_keys();
    }
    t.put("active", "x");
    EXPECT_TRUE(t.compact().pass_done);  // all dirty
    // 1 dirty segment of 5: 20% < 50%.
    segment_of_new_keys();
    EXPECT_FALSE(t.compact().pass_done);
    segment_of_new_keys();
    segment_of_new_keys();
    EXPECT_FALSE(t.compact().pass_done);  // 3 of 7
    segment_of_new_keys();
    EXPECT_TRUE(t.compact().pass_done);  // 4 of 8
}

TEST(compaction, does_nothing_without_the_compact_policy) {
    log_config c = compact_config();
    c.cleanup_compact = false;
    c.cleanup_delete = true;
    compacted_log t(c);
    t.put("a", "1");
    t.roll();
    t.put("a", "2");
    t.roll();
    t.put("b", "b");
    const auto info = t.compact();
    EXPECT_EQ(info.segments_cleaned, 0u);
    EXPECT_EQ(t.records(), t.at({0, 1, 2}));
}

// --- retention -----------------------------------------------------------------------

TEST(compaction, a_compact_only_topic_is_never_deleted_by_time_or_size) {
    log_config c = compact_config();
    c.retention_ms = 1;
    c.retention_bytes = 1;
    compacted_log t(c);
    t.put("a", "1", 1000);
    t.roll();
    t.put("b", "1", 1000);
    t.roll();
    auto r = t.log().apply_retention(1'000'000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 0u);
    EXPECT_EQ(t.records(), t.at({0, 1}));
}

TEST(compaction, compact_and_delete_do_both) {
    log_config c = compact_config();
    c.cleanup_delete = true;
    c.retention_ms = 5000;
    compacted_log t(c);
    t.put("a", "old", 1000);  // 0: expires at 6000
    t.roll();
    t.put("a", "1", 8000);  // 1
    t.put("b", "1", 8000);  // 2
    t.roll();
    t.put("a", "2", 8000);  // 3
    t.roll();
    t.put("z", "z", 8000);  // 4
    auto r = t.log().apply_retention(7000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->segments, 1u);
    t.compact(7000);
    EXPECT_EQ(t.records(), t.at({2, 3, 4}));
    EXPECT_EQ(t.log().log_start_offset(), kafka_offset{1});
    // Time retention still applies to cleaned segments.
    r = t.log().apply_retention(20000);
    ASSERT_TRUE(r);
    EXPECT_GE(r->segments, 1u);
}

// --- segments ------------------------------------------------------------------------

/// segment.bytes so small that every batch rolls, and every group is one
/// segment.
log_config one_batch_segments() {
    log_config c = compact_config();
    c.segment_bytes = 100;
    return c;
}

TEST(compaction, a_segment_left_empty_is_removed_and_its_predecessor_reaches_over_it) {
    compacted_log t(one_batch_segments());
    t.put("b", "1");  // 0
    t.put("a", "1");  // 1
    t.put("a", "2");  // 2
    t.put("z", "z");  // 3: active
    ASSERT_EQ(t.log().segments().size(), 4u);
    t.compact();
    EXPECT_EQ(t.records(), t.at({0, 2, 3}));
    auto segs = t.log().segments();
    ASSERT_EQ(segs.size(), 3u);
    EXPECT_EQ(segs[0].base, kafka_offset{0});
    EXPECT_EQ(segs[0].next, kafka_offset{2});
    EXPECT_EQ(segs[1].base, kafka_offset{2});
    auto r = t.log().read(kafka_offset{1}, 1 << 20, t.log().log_end_offset());
    ASSERT_TRUE(r);
    EXPECT_EQ(records_in(r->bytes), t.at({2, 3}));
    t.reopen();
    EXPECT_EQ(t.log().segments(), segs);
    EXPECT_EQ(t.records(), t.at({0, 2, 3}));
}

TEST(compaction, the_first_segment_keeps_an_empty_batch_so_the_log_start_stays) {
    compacted_log t(one_batch_segments());
    t.put("a", "1");  // 0
    t.put("a", "2");  // 1
    t.put("z", "z");  // 2
    t.compact();
    // Record 0 goes; its batch stays, header only (recordCount 0), so the
    // log still starts at 0 and a read there has a batch to move past.
    EXPECT_EQ(t.records(), t.at({1, 2}));
    EXPECT_EQ(t.log().log_start_offset(), kafka_offset{0});
    const auto batches = all_batches(t.log());
    ASSERT_EQ(batches.size(), 3u);
    const auto h = kafka::decode_record_batch_header(batches[0]);
    EXPECT_EQ(h.base_offset, 0);
    EXPECT_EQ(h.record_count, 0);
    EXPECT_EQ(h.last_offset_delta, 0);
    EXPECT_EQ(batches[0].size(), kafka::record_batch_header_size);
    EXPECT_EQ(h.crc, kafka::record_batch_crc(batches[0]));
    auto r = t.log().read(kafka_offset{0}, 1, t.log().log_end_offset());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->batches, 1u);
    EXPECT_EQ(r->next_offset, kafka_offset{1});
    // It survives a reopen, and the next pass keeps it (still needed).
    t.reopen();
    EXPECT_EQ(t.records(), t.at({1, 2}));
    t.roll();
    t.put("y", "y");  // 3
    t.compact();
    EXPECT_EQ(t.records(), t.at({1, 2, 3}));
    EXPECT_EQ(all_batches(t.log()).size(), 4u);
    EXPECT_EQ(t.log().log_start_offset(), kafka_offset{0});
}

TEST(compaction, a_deleted_key_stays_deleted_after_its_tombstone_goes) {
    // The first group left empty once kept its last batch whole: a
    // superseded value that, once the tombstone after it went, was the
    // key's value again.
    compacted_log t(one_batch_segments());  // delete.retention.ms 1000
    t.put("a", "1");                        // 0
    t.put("a", {});                         // 1: deletes a
    t.put("z", "z");                        // 2: active
    EXPECT_TRUE(t.compact(0).pass_done);
    EXPECT_EQ(t.records(), t.at({1, 2}));
    t.put("y", "y");                         // 3: rolls z
    EXPECT_TRUE(t.compact(2000).pass_done);  // the tombstone's horizon has passed
    for (const rec& r : t.records()) {
        EXPECT_NE(r.key, std::optional<std::string>("a"))
            << "a deleted key is back: " << r.value.value_or("<tombstone>");
    }
    EXPECT_EQ(t.records(), t.at({2, 3}));
    t.reopen();
    EXPECT_EQ(t.records(), t.at({2, 3}));
    EXPECT_EQ(t.log().log_start_offset(), kafka_offset{0});
}

/// `batch` (as stored) made transactional (attributes bit 4, producer 5):
/// a batch the cleaner cannot filter (compactor.h: opaque).
std::string transactional(std::string batch) {
    namespace f = kafka::batch_field;
    kafka::write_batch_field(
        batch, f::attributes,
        static_cast<uint64_t>(kafka::decode_record_batch_header(batch).attributes | 0x10));
    kafka::write_batch_field(batch, f::producer_id, 5);
    kafka::write_batch_field(batch, f::producer_epoch, 0);
    kafka::write_batch_field(batch, f::base_sequence, 0);
    kafka::update_record_batch_crc(batch);
    return batch;
}

TEST(compaction, no_tombstone_after_a_batch_kept_unfiltered_goes) {
    compacted_log t(one_batch_segments());  // delete.retention.ms 1000
    t.put("a", "1");                        // 0: becomes opaque below
    t.put("a", {});                         // 1: deletes a
    t.put("z", "z");                        // 2: active
    t.close();
    // Such batches cannot be appended (record_validator refuses them from
    // clients); they stand for any the cleaner cannot read or recompress.
    const std::string first = log_files(t.path()).front();
    write_bytes(first, transactional(read_bytes(first)));
    t.reopen();
    const filter_rules none{nullptr, 0};
    EXPECT_TRUE(filter_batch(all_batches(t.log())[0], none).unfiltered);
    EXPECT_TRUE(t.compact(0).pass_done);
    EXPECT_EQ(t.records(), t.at({0, 1, 2}));  // the opaque batch stays whole
    t.put("y", "y");                          // 3: rolls z
    EXPECT_TRUE(t.compact(2000).pass_done);
    // The tombstone's horizon has passed, but a="1" comes before it.
    EXPECT_EQ(t.records(), t.at({0, 1, 2, 3}));
    expect_latest_of_each_key(t.records(), t.written, [](const rec&) { return false; });
}

TEST(compaction, randomized_passes_never_bring_back_a_deleted_or_older_value) {
    for (uint32_t seed = 1; seed <= 100; ++seed) {
        SCOPED_TRACE(fmt::format("seed {}", seed));
        std::mt19937 rng(seed);
        log_config c = compact_config();  // delete.retention.ms 1000
        c.segment_bytes = 200 + static_cast<int64_t>(rng() % 300);
        compacted_log t(c);
        std::map<int64_t, int64_t> written_ms;
        int64_t now = 0;
        const auto check = [&] {
            expect_latest_of_each_key(t.records(), t.written, [&](const rec& r) {
                return written_ms.at(r.offset) + c.delete_retention_ms <= now;
            });
            EXPECT_EQ(t.log().log_start_offset(), kafka_offset{0});
        };
        for (int step = 0; step < 250 && !::testing::Test::HasFailure(); ++step) {
            now += static_cast<int64_t>(rng() % 400);
            const uint32_t r = rng() % 100;
            const auto key = [&] { return fmt::format("k{}", rng() % 6); };
            const auto value = [&]() -> std::optional<std::string> {
                if (rng() % 4 == 0) {
                    return std::nullopt;
                }
                return fmt::format("v{}", step);
            };
            if (r < 55) {
                const int64_t o = t.put(key(), value(), now);
                written_ms[o] = now;
            } else if (r < 62) {
                std::vector<kv> records;
                for (uint32_t i = 0, n = 2 + rng() % 3; i < n; ++i) {
                    records.push_back(kv{key(), value()});
                }
                const auto codec =
                    rng() % 2 == 0 ? compression_codec::none : compression_codec::zstd;
                const int64_t o = t.append(records, now, codec);
                for (size_t i = 0; i < records.size(); ++i) {
                    written_ms[o + static_cast<int64_t>(i)] = now;
                }
            } else if (r < 64) {
                const int64_t o = t.put(std::nullopt, "keyless", now);
                written_ms[o] = now;
            } else if (r < 74) {
                t.roll(now);
            } else if (r < 94) {
                compaction_limits limits;
                if (rng() % 3 == 0) {
                    limits.max_bytes = 1 + rng() % 500;
                }
                if (rng() % 4 == 0) {
                    limits.max_map_bytes = 1;
                }
                t.compact(now, limits);
                check();
            } else {
                t.reopen(now);
                check();
            }
        }
        while (t.log().compaction_in_progress()) {
            t.compact(now);
        }
        check();
    }
}

// --- restarts ---------------------------------------------------------------------

TEST(compaction, a_cleaned_log_reopens_with_the_same_records) {
    compacted_log t;
    for (int round = 0; round < 3; ++round) {
        for (int k = 0; k < 5; ++k) {
            t.put(fmt::format("k{}", k), fmt::format("v{}", round));
        }
        t.roll();
    }
    t.put("z", "z");
    t.compact();
    const auto kept = t.records();
    const auto segs = t.log().segments();
    t.reopen();
    EXPECT_EQ(t.records(), kept);
    EXPECT_EQ(t.log().segments(), segs);
    // Without their index files, cleaned segments are scanned, gaps and all.
    t.close();
    for (const auto& f : files_in(t.path(), "index")) {
        std::filesystem::remove(f);
    }
    t.reopen();
    EXPECT_EQ(t.records(), kept);
    EXPECT_EQ(t.log().segments(), segs);
    // Appends go on.
    const int64_t o = t.put("k0", "after");
    EXPECT_EQ(o, 16);
    EXPECT_EQ(t.log().log_end_offset(), kafka_offset{17});
}

TEST(compaction, recovery_still_catches_a_damaged_cleaned_segment) {
    compacted_log t;
    for (int round = 0; round < 3; ++round) {
        t.put("a", fmt::format("{}", round));
        t.put(fmt::format("k{}", round), "v");
    }
    t.roll();
    t.put("z", "z");
    t.compact();
    t.close();
    const std::string cleaned = log_files(t.path()).front();
    std::filesystem::remove(cleaned.substr(0, cleaned.size() - 4) + ".index");
    // A torn batch in the middle of the cleaned segment.
    std::string bytes = read_bytes(cleaned);
    bytes.resize(bytes.size() - 3);
    write_bytes(cleaned, bytes);
    auto r = partition_log::open(t.path(), t.config(), 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), errc::corrupt) << r.error().message();
}

TEST(compaction, truncation_into_a_cleaned_segment) {
    compacted_log t;
    for (int round = 0; round < 3; ++round) {
        t.put("a", fmt::format("{}", round));   // 0 2 4
        t.put(fmt::format("k{}", round), "v");  // 1 3 5
    }
    t.roll();
    t.put("z", "z");  // 6
    t.compact();
    EXPECT_EQ(t.records(), t.at({1, 3, 4, 5, 6}));
    // The cut is in the gap after record 1: the cleaned segment becomes the
    // active one, holding records 1 only (the gap at 0 stays).
    auto r = t.log().truncate_to(kafka_offset{2});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, kafka_offset{2});
    EXPECT_EQ(t.records(), t.at({1}));
    t.written.erase(t.written.upper_bound(1), t.written.end());
    t.put("a", "new");  // 2
    t.reopen();
    EXPECT_EQ(t.records(), t.at({1, 2}));
    // Offsets from the cut on count as dirty again.
    t.roll();
    t.put("a", "newer");  // 3
    t.roll();
    t.put("y", "y");
    t.compact();
    EXPECT_EQ(t.records(), t.at({1, 3, 4}));
}

TEST(compaction, idempotent_producers_keep_their_sequences_after_cleaning) {
    compacted_log t;
    const int64_t pid = 77;
    std::string last;
    for (int32_t seq = 0; seq < 5; ++seq) {
        last = batch_of({{"a", fmt::format("v{}", seq)}}, 1000, compression_codec::none,
                        {pid, 0, seq});
        t.append_raw(last, 1000, {{"a", fmt::format("v{}", seq)}});
        t.roll();
    }
    t.put("z", "z");  // 5
    t.compact();
    EXPECT_EQ(t.records(), t.at({4, 5}));
    for (const bool without_snapshot : {false, true}) {
        SCOPED_TRACE(without_snapshot ? "without the producer snapshot" : "with it");
        t.close();
        if (without_snapshot) {
            std::filesystem::remove(t.path() + "/producer_state.snapshot");
        }
        t.reopen();
        if (!without_snapshot) {
            // A retry of the last batch: the offsets it got, nothing written.
            auto dup = t.log().append(last, 2000);
            ASSERT_TRUE(dup) << dup.error().message();
            EXPECT_EQ(dup->base_offset, kafka_offset{4});
            // A gap in sequences is refused; the next one is accepted.
            auto gap = t.log().append(
                batch_of({{"a", "x"}}, 2000, compression_codec::none, {pid, 0, 9}), 2000);
            EXPECT_EQ(gap.code(), errc::out_of_order_sequence);
            auto next = t.log().append(
                batch_of({{"a", "v5"}}, 2000, compression_codec::none, {pid, 0, 5}), 2000);
            ASSERT_TRUE(next) << next.error().message();
            EXPECT_EQ(next->base_offset, kafka_offset{6});
        } else {
            // Without it the producer is unknown (the active segment alone is
            // replayed): accepted, as Kafka accepts an unknown producer.
            auto next = t.log().append(
                batch_of({{"a", "v6"}}, 2000, compression_codec::none, {pid, 0, 6}), 2000);
            ASSERT_TRUE(next) << next.error().message();
        }
    }
}

TEST(compaction, a_producer_snapshot_that_cannot_be_saved_fails_the_log) {
    // A stale snapshot is replayed through the sealed segments after it,
    // which compaction rewrites: had the roll gone on without its snapshot,
    // the producer's last batch (superseded below) would be gone from the
    // replay, and its retry written twice.
    auto fs = std::make_shared<fault_file_ops>(errc::io_error);
    compacted_log t(compact_config(), fs);
    const int64_t pid = 9;
    t.append({{"a", "v0"}}, 1000, compression_codec::none, {pid, 0, 0});  // 0
    t.roll();                                                             // snapshot at 1
    const std::string last = batch_of({{"a", "v1"}}, 1000, compression_codec::none, {pid, 0, 1});
    t.append_raw(last, 1000, {{"a", "v1"}});  // 1: the producer's last batch
    t.put("a", "w");                          // 2: supersedes it
    fs->fail_paths_containing("producer_state");
    auto rolled = t.log().roll(0);
    fs->heal();
    ASSERT_FALSE(rolled) << "a roll without its producer snapshot fails the log";
    EXPECT_FALSE(t.log().append(batch_of({{"b", "x"}}, 1000), 1000));
    EXPECT_FALSE(t.log().compact(0));
    // Reopened: the replay goes through [1, 3), uncleaned, and a fresh
    // snapshot is saved before compaction can rewrite it.
    t.reopen();
    t.put("z", "z");  // 3
    t.compact();
    EXPECT_EQ(t.records(), t.at({2, 3}));
    t.reopen();
    auto dup = t.log().append(last, 2000);
    ASSERT_TRUE(dup) << dup.error().message();
    EXPECT_EQ(dup->base_offset, kafka_offset{1}) << "a retry is answered, not written again";
    auto next =
        t.log().append(batch_of({{"a", "v2"}}, 2000, compression_codec::none, {pid, 0, 2}), 2000);
    ASSERT_TRUE(next) << next.error().message();
    EXPECT_EQ(next->base_offset, kafka_offset{4});
}

// --- bounded work ---------------------------------------------------------------

/// Rounds of values for `keys` keys, a segment per round, then one active record.
void fill(compacted_log& t, int rounds, int keys, int64_t ts = 1000) {
    for (int round = 0; round < rounds; ++round) {
        for (int k = 0; k < keys; ++k) {
            t.put(fmt::format("key{}", k), fmt::format("value{}-{}", k, round), ts);
        }
        t.roll();
    }
    t.put("active", "x", ts);
}

TEST(compaction, a_pass_can_go_on_over_many_small_calls) {
    log_config c = compact_config();
    c.segment_bytes = 2000;
    compacted_log whole(c);
    compacted_log steps(c);
    fill(whole, 8, 10);
    fill(steps, 8, 10);
    whole.compact();
    int calls = 0;
    for (;;) {
        const auto info = steps.compact(0, compaction_limits{1, uint64_t{64} << 20});
        ++calls;
        if (!info.in_progress) {
            EXPECT_TRUE(info.pass_done);
            break;
        }
        ASSERT_LT(calls, 1000);
        // Appends and rolls go on between calls.
        if (calls == 3) {
            steps.put("late", "l");
        }
    }
    EXPECT_GT(calls, 10);
    auto expected = whole.records();
    expected.push_back(steps.written.rbegin()->second);  // "late"
    EXPECT_EQ(steps.records(), expected);
}

TEST(compaction, retention_between_calls_shortens_the_pass) {
    log_config c = compact_config();
    c.cleanup_delete = true;
    c.retention_ms = 10000;
    c.segment_bytes = 1000;
    compacted_log t(c);
    fill(t, 3, 10, 1000);
    fill(t, 3, 10, 50000);
    ASSERT_TRUE(t.compact(60000, compaction_limits{1, uint64_t{64} << 20}).in_progress);
    ASSERT_TRUE(t.compact(60000, compaction_limits{1, uint64_t{64} << 20}).in_progress);
    auto r = t.log().apply_retention(60000);
    ASSERT_TRUE(r);
    EXPECT_GT(r->segments, 0u);
    while (t.compact(60000, compaction_limits{1, uint64_t{64} << 20}).in_progress) {
    }
    // Every key's latest value (all from the second fill) is there, once.
    std::map<std::string, int> seen;
    for (const rec& x : t.records()) {
        ++seen[*x.key];
        EXPECT_EQ(x, t.written.at(x.offset));
    }
    for (int k = 0; k < 10; ++k) {
        EXPECT_EQ(seen[fmt::format("key{}", k)], 1) << k;
    }
    t.reopen();
}

TEST(compaction, a_full_offset_map_ends_the_pass_early_and_the_next_goes_on) {
    compacted_log t;
    fill(t, 4, 5);
    const auto info = t.compact(0, compaction_limits{UINT64_MAX, 1});
    EXPECT_TRUE(info.pass_done);
    // Only the first round was mapped: later rounds are still dirty.
    EXPECT_GT(t.records().size(), 6u);
    for (int i = 0; i < 4; ++i) {
        t.compact(0, compaction_limits{UINT64_MAX, 1});
    }
    EXPECT_EQ(t.records().size(), 6u);
}

// --- crashes ---------------------------------------------------------------------

/// A log whose compaction has several groups (crash_config's segment.bytes):
/// one of two segments rewritten, one of two left empty (removed), one
/// holding a tombstone, and a compressed batch.
void crash_workload(compacted_log& t) {
    t.put("a", "a0");                                                                  // 0
    t.append({{"b", "b0"}, {"c", "c0"}, {"d", "d0"}}, 1000, compression_codec::zstd);  // 1-3
    t.roll();
    t.put("f", "f0");  // 4: the latest of f, in the group's second segment
    t.roll();
    t.put("x", "x0");  // 5
    t.roll();
    t.put("x", "x1");  // 6
    t.roll();
    t.put("x", "x2");  // 7
    t.put("c", {});    // 8
    t.put("a", "a2");  // 9
    t.put("b", "b1");  // 10
    t.roll();
    t.put("e", "e0");  // 11
    t.roll();
    t.put("z", "z");  // 12
}

log_config crash_config() {
    log_config c = compact_config();
    c.segment_bytes = 260;  // groups: [0, 5), [5, 7), [7, 11), [11, 12)
    return c;
}

/// The newest record of each key among `written`.
std::map<std::string, rec> latest_of(const std::map<int64_t, rec>& written) {
    std::map<std::string, rec> out;
    for (const auto& [o, r] : written) {
        out[*r.key] = r;
    }
    return out;
}

TEST(compaction, a_crash_at_any_file_operation_of_a_pass_loses_nothing) {
    compacted_log original(crash_config());
    crash_workload(original);
    original.close();
    scratch_dir pristine_dir;
    const std::string pristine = pristine_dir.log();
    copy_dir(original.path(), pristine);
    // What an uninterrupted pass leaves.
    std::vector<rec> expected;
    {
        scratch_dir d;
        copy_dir(pristine, d.log());
        auto log = open_ok(d.log(), crash_config());
        ASSERT_EQ(log->segments().size(), 8u);
        ASSERT_TRUE(log->compact(5000));
        expected = all_records(*log);
        // The groups the workload is meant to make: [0, 5) became one
        // segment, [5, 7) nothing.
        std::vector<int64_t> bases;
        for (const auto& seg : log->segments()) {
            bases.push_back(seg.base.value());
        }
        EXPECT_EQ(bases, (std::vector<int64_t>{0, 7, 10, 12}));
    }
    const auto latest = latest_of(original.written);
    ASSERT_LT(expected.size(), original.written.size());

    for (const bool power_loss : {false, true}) {
        bool finished = false;
        for (uint64_t n = 0; !finished; ++n) {
            SCOPED_TRACE(fmt::format("failing from operation {}{}", n,
                                     power_loss ? ", then a power loss" : ""));
            ASSERT_LT(n, 10000u);
            scratch_dir d;
            copy_dir(pristine, d.log());
            auto fs = std::make_shared<fault_file_ops>(errc::io_error);
            {
                auto log = open_ok(d.log(), crash_config(), 0, fs);
                ASSERT_TRUE(log);
                fs->fail_after(n);
                auto r = log->compact(5000);
                fs->heal();
                finished = r.has_value();
                if (finished) {
                    EXPECT_EQ(all_records(*log), expected);
                }
            }
            if (power_loss) {
                fs->crash();
            }
            // It opens, every record it serves is the one that was at that
            // offset, and every key's latest record is there.
            auto log = open_ok(d.log(), crash_config());
            ASSERT_TRUE(log);
            const auto got = all_records(*log);
            std::map<int64_t, rec> by_offset;
            for (const rec& r : got) {
                ASSERT_TRUE(original.written.count(r.offset)) << r.offset;
                EXPECT_EQ(r, original.written.at(r.offset));
                by_offset[r.offset] = r;
            }
            for (const auto& [key, r] : latest) {
                EXPECT_TRUE(by_offset.count(r.offset)) << key << " at " << r.offset;
            }
            EXPECT_EQ(log->log_end_offset(), kafka_offset{13});
            EXPECT_EQ(log->log_start_offset(), kafka_offset{0});
            for (const auto& f : std::filesystem::directory_iterator(d.log())) {
                const std::string name = f.path().filename().string();
                EXPECT_FALSE(name.ends_with(".cleaned") || name.ends_with(".swap")) << name;
            }
            // A pass after recovery leaves what an uninterrupted one does.
            ASSERT_TRUE(log->compact(5000));
            EXPECT_EQ(all_records(*log), expected);
            expect_latest_of_each_key(all_records(*log), original.written,
                                      [](const rec&) { return false; });
            // A pass past the tombstones' horizon: c's tombstone goes, and
            // no older value of c (or of any key) is served in its place.
            ASSERT_TRUE(log->roll(5000));
            ASSERT_TRUE(log->compact(7000));
            const auto after = all_records(*log);
            expect_latest_of_each_key(after, original.written, [](const rec&) { return true; });
            EXPECT_TRUE(std::none_of(after.begin(), after.end(),
                                     [](const rec& r) { return r.key == "c"; }));
        }
    }
}

// --- the pieces ----------------------------------------------------------------------

TEST(cleaner_checkpoint, round_trips_and_refuses_damage) {
    cleaner_checkpoint c;
    c.first_dirty = 120;
    c.cleaned_through = 150;
    c.record_pass(130, 5000);
    c.swap_from = 0;
    c.swap_to = 130;
    c.swap_output = 0;
    const std::string text = encode_cleaner_checkpoint(c);
    auto back = decode_cleaner_checkpoint(text, "cp");
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, c);
    std::string damaged = text;
    damaged[damaged.find("first_dirty=") + 12] = '9';
    EXPECT_EQ(decode_cleaner_checkpoint(damaged, "cp").code(), errc::corrupt);
}

TEST(cleaner_checkpoint, remembers_when_offsets_were_first_cleaned) {
    cleaner_checkpoint c;
    EXPECT_EQ(c.first_cleaned_ms(0), std::nullopt);
    c.record_pass(10, 1000);
    c.record_pass(20, 2000);
    EXPECT_EQ(c.first_cleaned_ms(9), 1000);
    EXPECT_EQ(c.first_cleaned_ms(10), 2000);
    EXPECT_EQ(c.first_cleaned_ms(20), std::nullopt);
    EXPECT_EQ(c.first_dirty, 20);
    // Bounded: the oldest ranges merge, taking the later time.
    for (int i = 3; i < 200; ++i) {
        c.record_pass(i * 10, i * 1000);
    }
    EXPECT_LE(c.cleaned_at.size(), 64u);
    EXPECT_GE(*c.first_cleaned_ms(0), 1000);
    EXPECT_EQ(c.first_cleaned_ms(1989), 199000);
    // A truncation forgets what is beyond the cut.
    c.clamp(15);
    EXPECT_EQ(c.first_dirty, 15);
    EXPECT_EQ(c.first_cleaned_ms(15), std::nullopt);
    EXPECT_EQ(c.cleaned_through, 15);
}

TEST(offset_map, keeps_the_latest_offset_of_each_exact_key) {
    offset_map m;
    EXPECT_EQ(m.get("a"), -1);
    m.put("a", 5);
    m.put("a", 3);  // an older offset never wins
    m.put("", 7);   // an empty key is a key
    EXPECT_EQ(m.get("a"), 5);
    EXPECT_EQ(m.get(""), 7);
    EXPECT_EQ(m.get("A"), -1);
    for (int i = 0; i < 100000; ++i) {
        m.put(fmt::format("key-{}", i), i);
    }
    EXPECT_EQ(m.size(), 100002u);
    for (int i = 0; i < 100000; i += 997) {
        EXPECT_EQ(m.get(fmt::format("key-{}", i)), i);
    }
    EXPECT_EQ(m.get("key-100000"), -1);
    EXPECT_EQ(m.get("a"), 5);
    EXPECT_GE(m.bytes(), 100000u * 24);
}

TEST(compaction_config, is_validated) {
    log_config c = compact_config();
    EXPECT_TRUE(validate(c));
    c.min_cleanable_dirty_ratio = 1.5;
    EXPECT_EQ(validate(c).code(), errc::invalid_config);
    c.min_cleanable_dirty_ratio = std::nan("");
    EXPECT_EQ(validate(c).code(), errc::invalid_config);
    c = compact_config();
    c.cleanup_compact = false;
    c.cleanup_delete = false;
    EXPECT_EQ(validate(c).code(), errc::invalid_config);
    c = compact_config();
    c.delete_retention_ms = -1;
    EXPECT_EQ(validate(c).code(), errc::invalid_config);
    c = compact_config();
    c.min_compaction_lag_ms = -1;
    EXPECT_EQ(validate(c).code(), errc::invalid_config);
}

}  // namespace
}  // namespace fjord::broker::storage::testing
