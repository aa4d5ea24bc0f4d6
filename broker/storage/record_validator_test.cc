// File: broker/storage/record_validator_test.cc
//
// validate_records (record_validator.h): every malformed case refused with
// its code and a detail naming the record and field; valid batches of every
// codec (ours and real clients') accepted; refused batches leave the
// partition log unchanged; and random damage to valid records is refused
// or re-walks, with common/kafka's independent reader, to the header's count.

#include "broker/storage/record_validator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "broker/storage/batch_header.h"
#include "broker/storage/errc.h"
#include "broker/storage/log_test_util.h"
#include "common/kafka/client_batches_test_util.h"
#include "common/kafka/compression.h"
#include "common/kafka/record_batch.h"
#include "common/kafka/test_util.h"
#include "common/log.h"

namespace fjord::broker::storage {
namespace {

using namespace testing;
using kafka::compression_codec;

[[maybe_unused]] const bool quiet_logs = [] {
    if (std::getenv("FJORD_LOG") == nullptr) {
        set_log_level(log_level::error);
    }
    return true;
}();

constexpr compression_codec codecs[] = {compression_codec::gzip, compression_codec::snappy,
                                        compression_codec::lz4, compression_codec::zstd};

std::string varint(int64_t v) {
    std::string s;
    put_varlong(s, v);
    return s;
}

/// One record; `offset_delta` -1 means its index.
struct rec {
    std::optional<std::string> key;
    std::optional<std::string> value = std::string("value");
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    int64_t offset_delta = -1;
    int64_t timestamp_delta = 0;
};

std::string bytes_field(const std::optional<std::string>& b) {
    return b ? varint(static_cast<int64_t>(b->size())) + *b : varint(-1);
}

/// A record's fields, without its length prefix.
std::string body_of(const rec& r, int64_t index) {
    std::string s(1, '\0');  // attributes
    s += varint(r.timestamp_delta) + varint(r.offset_delta < 0 ? index : r.offset_delta);
    s += bytes_field(r.key) + bytes_field(r.value) + varint(static_cast<int64_t>(r.headers.size()));
    for (const auto& [k, v] : r.headers) {
        s += bytes_field(k) + bytes_field(v);
    }
    return s;
}

std::string with_length(const std::string& body) {
    return varint(static_cast<int64_t>(body.size())) + body;
}

std::string records_of(const std::vector<rec>& rs) {
    std::string out;
    for (size_t i = 0; i < rs.size(); ++i) {
        out += with_length(body_of(rs[i], static_cast<int64_t>(i)));
    }
    return out;
}

std::vector<rec> n_records(int n) {
    std::vector<rec> rs(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        rs[static_cast<size_t>(i)].key = "k" + std::to_string(i);
        rs[static_cast<size_t>(i)].value = "value " + std::to_string(i);
    }
    return rs;
}

std::string compressed(compression_codec c, const std::string& plain) {
    auto r = kafka::compress(c, plain);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : std::string();
}

batch_frame frame(int32_t count, int16_t attributes = 0) {
    batch_frame f;
    f.record_count = count;
    f.attributes = attributes;
    return f;
}

/// validate_batch must pass (the damage is in the records); then the records.
result<void> check(const std::string& batch, const record_validation& opts = {}) {
    auto h = validate_batch(batch);
    EXPECT_TRUE(h) << "the header must pass: " << h.error().message();
    if (!h) {
        return h.error();
    }
    return validate_records(batch, *h, opts);
}

void expect_refused(const std::string& batch, errc code, const std::string& detail,
                    const record_validation& opts = {}) {
    auto r = check(batch, opts);
    ASSERT_FALSE(r) << "accepted; want: " << detail;
    EXPECT_EQ(r.code(), code) << r.error().message();
    EXPECT_EQ(r.error().detail, detail);
}

// --- accepted -----------------------------------------------------------------

TEST(record_validator, accepts_valid_batches_of_every_shape) {
    for (const int n : {1, 2, 7, 300}) {
        auto r = check(make_batch(n, 1000, 40, n));
        EXPECT_TRUE(r) << r.error().message();
    }
    // The group coordinator's batches: record_batch_builder, keys, tombstones,
    // headers (null and empty values), an idempotent producer.
    const std::string grouped = kafka::record_batch_builder()
                                    .add(std::string("key"), std::string("offset"), 1700000000000)
                                    .add(std::string("gone"), std::nullopt, 1700000000001)
                                    .add(std::nullopt, std::string(""), 1699999999000,
                                         {{"h", std::nullopt}, {"", std::string("")}})
                                    .build();
    auto g = check(grouped);
    EXPECT_TRUE(g) << g.error().message();
    auto idem = check(make_batch(batch_spec{3, 1000, 16, 0, 42, 0, 7}));
    EXPECT_TRUE(idem) << idem.error().message();
    // A batch without timestamps (baseTimestamp -1), and negative deltas.
    std::vector<rec> rs = n_records(3);
    rs[1].timestamp_delta = -5;
    batch_frame f = frame(3);
    f.base_timestamp = -1;
    auto no_ts = check(frame_records(records_of(rs), f));
    EXPECT_TRUE(no_ts) << no_ts.error().message();
}

TEST(record_validator, accepts_every_codec) {
    const std::string plain = records_of(n_records(50));
    for (const auto c : codecs) {
        SCOPED_TRACE(kafka::codec_name(c));
        auto r = check(frame_records(compressed(c, plain), frame(50, static_cast<int16_t>(c))));
        EXPECT_TRUE(r) << r.error().message();
    }
    // As librdkafka and kafka-python wrote them.
    for (const auto& cb : kafka::testing::client_batches) {
        SCOPED_TRACE(::testing::Message() << cb.client << " " << kafka::codec_name(cb.codec));
        auto r = check(kafka::testing::H(cb.hex));
        EXPECT_TRUE(r) << r.error().message();
    }
}

// --- framing: CORRUPT_MESSAGE ---------------------------------------------------

TEST(record_validator, refuses_records_that_do_not_frame) {
    const std::string rec0 = with_length(body_of(n_records(1)[0], 0));
    // Garbage under a valid CRC (what made librdkafka re-fetch offset 0 forever).
    expect_refused(frame_records("\xff\xff\xff\xff\xff\xff\xff", frame(1)), errc::invalid_batch,
                   "record 0: length: varint exceeds 32 bits");
    // One record, claiming 1,000.
    expect_refused(frame_records(rec0, frame(1000)), errc::invalid_batch,
                   "recordCount: 1000, but the records end after 1 record");
    expect_refused(frame_records(rec0 + varint(-3), frame(2)), errc::invalid_batch,
                   "record 1: length -3 is negative");
    expect_refused(frame_records(rec0 + varint(50) + "abc", frame(2)), errc::invalid_batch,
                   "record 1: length 50 runs past the records (3 bytes left)");
    expect_refused(frame_records(rec0 + "\x80\x80", frame(2)), errc::invalid_batch,
                   "record 1: length: varint runs past the records (2 bytes left)");
    expect_refused(frame_records(rec0 + varint(0), frame(2)), errc::invalid_batch,
                   "record 1: attributes: runs past the record (0 bytes left)");
    expect_refused(frame_records(with_length(std::string(1, '\0') + "\xff"), frame(1)),
                   errc::invalid_batch,
                   "record 0: timestampDelta: varint runs past the record (1 bytes left)");
    expect_refused(frame_records(with_length(std::string(1, '\0') + varint(0)), frame(1)),
                   errc::invalid_batch,
                   "record 0: offsetDelta: varint runs past the record (0 bytes left)");

    // Record 3's key runs past it.
    std::string four = records_of(n_records(3));
    four += with_length(std::string(1, '\0') + varint(0) + varint(3) + varint(900) +
                        std::string(42, 'x'));
    expect_refused(frame_records(four, frame(4)), errc::invalid_batch,
                   "record 3: key length 900 runs past the record (42 bytes left)");

    const std::string head = std::string(1, '\0') + varint(0) + varint(0);
    const struct {
        std::string body;
        std::string detail;
    } fields[] = {
        {head + varint(-2), "record 0: key length -2 is invalid (-1 is null)"},
        {head + varint(-1) + varint(10) + "abc",
         "record 0: value length 10 runs past the record (3 bytes left)"},
        {head + varint(-1) + varint(-1),
         "record 0: header count: varint runs past the record (0 "
         "bytes left)"},
        {head + varint(-1) + varint(-1) + varint(-1),
         "record 0: header count -1 cannot fit in the record (0 bytes left)"},
        {head + varint(-1) + varint(-1) + varint(3) + varint(0) + varint(0),
         "record 0: header count 3 cannot fit in the record (2 bytes left)"},
        {head + varint(-1) + varint(-1) + varint(1) + varint(-1) + varint(-1),
         "record 0: header 0: key length -1 is invalid (it cannot be null)"},
        {head + varint(-1) + varint(-1) + varint(1) + varint(1) + "h" + varint(5) + "ab",
         "record 0: header 0: value length 5 runs past the record (2 bytes left)"},
        {head + varint(-1) + varint(-1) + varint(0) + "xyz",
         "record 0: 3 bytes left after its fields (length 9)"},
    };
    for (const auto& f : fields) {
        expect_refused(frame_records(with_length(f.body), frame(1)), errc::invalid_batch, f.detail);
    }
    // Bytes after the last record.
    expect_refused(frame_records(records_of(n_records(2)) + "extra", frame(2)), errc::invalid_batch,
                   "records: 5 bytes after the last of 2 records");
}

TEST(record_validator, refuses_compressed_records_that_do_not_decompress_or_frame) {
    for (const auto c : codecs) {
        SCOPED_TRACE(kafka::codec_name(c));
        const auto attr = static_cast<int16_t>(c);
        const std::string prefix = "records: " + std::string(kafka::codec_name(c)) + ": ";
        // Garbage stored as is, before: now refused.
        auto r = check(frame_records("definitely not compressed data", frame(1, attr)));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.code(), errc::invalid_batch);
        EXPECT_TRUE(r.error().detail.starts_with(prefix)) << r.error().detail;
        // The records inside are walked too: one record claiming three.
        expect_refused(frame_records(compressed(c, records_of(n_records(1))), frame(3, attr)),
                       errc::invalid_batch, "recordCount: 3, but the records end after 1 record");
        // A bomb: refused at the limit, as too large.
        record_validation small;
        small.max_decompressed_bytes = 4096;
        const std::string big = records_of(std::vector<rec>(500, rec{}));
        auto bomb = check(frame_records(compressed(c, big), frame(500, attr)), small);
        ASSERT_FALSE(bomb);
        EXPECT_EQ(bomb.code(), errc::batch_too_large);
        EXPECT_TRUE(bomb.error().detail.starts_with(
            prefix + "decompresses to more than the 4096-byte limit"))
            << bomb.error().detail;
    }
}

// --- rules: INVALID_RECORD ------------------------------------------------------

TEST(record_validator, refuses_records_breaking_a_rule) {
    std::vector<rec> rs = n_records(3);
    rs[2].offset_delta = 4;
    expect_refused(frame_records(records_of(rs), frame(3)), errc::invalid_record,
                   "record 2: offsetDelta 4, want 2 (deltas count 0, 1, 2, ... in order)");
    rs[2].offset_delta = 1;  // a repeated delta
    expect_refused(frame_records(records_of(rs), frame(3)), errc::invalid_record,
                   "record 2: offsetDelta 1, want 2 (deltas count 0, 1, 2, ... in order)");
    // Compressed: the same rule inside.
    expect_refused(frame_records(compressed(compression_codec::zstd, records_of(rs)), frame(3, 4)),
                   errc::invalid_record,
                   "record 2: offsetDelta 1, want 2 (deltas count 0, 1, 2, ... in order)");

    rs = n_records(2);
    rs[1].timestamp_delta = 10;
    batch_frame late = frame(2);
    late.base_timestamp = std::numeric_limits<int64_t>::max() - 5;
    expect_refused(frame_records(records_of(rs), late), errc::invalid_record,
                   "record 1: timestampDelta 10 overflows baseTimestamp 9223372036854775802");

    // lastOffsetDelta is checked against the last record (validate_batch ties
    // it to recordCount; a caller passing another header still gets a check).
    const std::string two = frame_records(records_of(n_records(2)), frame(2));
    kafka::record_batch_header h = kafka::decode_record_batch_header(two);
    h.last_offset_delta = 5;
    auto r = validate_records(two, h, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), errc::invalid_record);
    EXPECT_EQ(r.error().detail, "lastOffsetDelta: 5, but the last record's offsetDelta is 1");
}

TEST(record_validator, refuses_control_and_transactional_batches_and_bad_producer_fields) {
    const std::string recs = records_of(n_records(1));
    record_validation broker_side;
    broker_side.from_client = false;

    const std::string control = frame_records(recs, frame(1, 0x20));
    expect_refused(control, errc::invalid_record,
                   "attributes: a control batch (bit 5): clients cannot write control records");
    EXPECT_TRUE(check(control, broker_side));

    expect_refused(frame_records(recs, frame(1, 0x10)), errc::invalid_record,
                   "attributes: a transactional batch (bit 4) without a producer id (producerId "
                   "-1)");
    expect_refused(frame_records(recs, frame(1, 0x10)), errc::invalid_record,
                   "attributes: a transactional batch (bit 4) without a producer id (producerId "
                   "-1)",
                   broker_side);
    batch_frame txn = frame(1, 0x10);
    txn.producer_id = 9;
    txn.producer_epoch = 0;
    txn.base_sequence = 0;
    expect_refused(frame_records(recs, txn), errc::invalid_record,
                   "attributes: a transactional batch (bit 4): this broker does not support "
                   "transactions");
    EXPECT_TRUE(check(frame_records(recs, txn), broker_side));

    batch_frame pid = frame(1);
    pid.producer_id = -5;
    expect_refused(frame_records(recs, pid), errc::invalid_record,
                   "producerId: -5; -1 (no producer id) is the only negative id");
    pid.producer_id = 7;
    pid.producer_epoch = -1;
    pid.base_sequence = 0;
    expect_refused(frame_records(recs, pid), errc::invalid_record,
                   "producerEpoch: -1 for producerId 7; an epoch is >= 0");
}

TEST(record_validator, require_keys_refuses_keyless_records) {
    record_validation compacted;
    compacted.require_keys = true;
    std::vector<rec> rs = n_records(3);
    EXPECT_TRUE(check(frame_records(records_of(rs), frame(3)), compacted));
    rs[1].key.reset();
    const std::string keyless = frame_records(records_of(rs), frame(3));
    EXPECT_TRUE(check(keyless));
    expect_refused(keyless, errc::invalid_record,
                   "record 1: key: null, but the topic is compacted (cleanup.policy=compact keeps "
                   "the last record of each key)",
                   compacted);
    // An empty key is a key.
    rs[1].key = "";
    EXPECT_TRUE(check(frame_records(records_of(rs), frame(3)), compacted));
}

// --- through the partition log --------------------------------------------------

TEST(record_validator, a_refused_batch_changes_nothing_in_the_log) {
    temp_dir d;
    auto log = open_ok(d.log(), small_config(1 << 20));
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append(make_batch(3, 1000), 1));
    const auto before = log->segments();

    std::vector<rec> out_of_order = n_records(2);
    out_of_order[1].offset_delta = 7;
    const struct {
        std::string label;
        std::string batch;
        errc code;
    } bad[] = {
        {"garbage", frame_records(std::string(40, '\xee'), frame(1)), errc::invalid_batch},
        {"1 of 1000", frame_records(records_of(n_records(1)), frame(1000)), errc::invalid_batch},
        {"gzip garbage", frame_records("not gzip", frame(1, 1)), errc::invalid_batch},
        {"control", frame_records(records_of(n_records(1)), frame(1, 0x20)), errc::invalid_record},
        {"transactional", frame_records(records_of(n_records(1)), frame(1, 0x10)),
         errc::invalid_record},
        {"offsets", frame_records(records_of(out_of_order), frame(2)), errc::invalid_record},
    };
    for (const auto& b : bad) {
        auto r = log->append(b.batch, 2);
        ASSERT_FALSE(r) << b.label;
        EXPECT_EQ(r.code(), b.code) << b.label << ": " << r.error().message();
        EXPECT_EQ(log->log_end_offset(), kafka_offset{3}) << b.label;
        EXPECT_EQ(log->segments(), before) << b.label;
    }
    // What the group coordinator writes, and compressed batches, go in.
    auto g = log->append(kafka::record_batch_builder()
                             .add(std::string("group key"), std::string("offset"), 5)
                             .add(std::string("other"), std::nullopt, 6)
                             .build(),
                         3);
    ASSERT_TRUE(g) << g.error().message();
    EXPECT_EQ(g->base_offset, kafka_offset{3});
    auto z = log->append(
        frame_records(compressed(compression_codec::lz4, records_of(n_records(4))), frame(4, 3)),
        4);
    ASSERT_TRUE(z) << z.error().message();
    EXPECT_EQ(z->base_offset, kafka_offset{5});
    EXPECT_EQ(log->log_end_offset(), kafka_offset{9});
    // max.message.bytes bounds the decompressed size (32x, at least 32 MiB).
    EXPECT_EQ(max_decompressed_for(1048588), size_t{1048588} * 32);
    EXPECT_EQ(max_decompressed_for(1000), size_t{32} << 20);
}

// --- random damage --------------------------------------------------------------

/// Each of `records` decoded by common/kafka's record reader (an independent
/// walker): the offset deltas it finds, or nullopt if it refuses them.
std::optional<std::vector<int32_t>> rewalk(const std::string& records, int32_t count) {
    kafka::record_batch_view v;
    v.header.record_count = count;
    v.records = records;
    auto all = kafka::read_records(v);
    if (!all) {
        ADD_FAILURE() << "accepted, but common/kafka refuses: " << all.error().detail;
        return std::nullopt;
    }
    std::vector<int32_t> deltas;
    for (const auto& r : *all) {
        deltas.push_back(r.offset_delta);
    }
    return deltas;
}

TEST(record_validator, random_damage_is_refused_or_rewalks_to_the_count) {
    std::mt19937 rng(20260512);
    const auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
    std::vector<std::pair<std::string, int32_t>> bases;
    for (int n : {1, 2, 5, 12}) {
        std::vector<rec> rs = n_records(n);
        for (int i = 0; i < n; ++i) {
            auto& r = rs[static_cast<size_t>(i)];
            if (i % 3 == 1) {
                r.key.reset();
                r.headers = {{"trace", std::string("abc")}, {"n", std::nullopt}};
            }
            r.timestamp_delta = i * 37;
        }
        bases.emplace_back(records_of(rs), n);
    }
    int accepted = 0;
    int refused = 0;
    for (int iter = 0; iter < 3000; ++iter) {
        const auto& [base, base_count] = bases[pick(bases.size())];
        std::string recs = base;
        const auto codec = static_cast<compression_codec>(pick(5));
        const bool damage_blob = codec != compression_codec::none && pick(4) == 0;
        std::string* target = &recs;
        std::string blob;
        if (damage_blob) {
            blob = compressed(codec, recs);
            target = &blob;
        }
        std::string& t = *target;
        switch (pick(4)) {
            case 0:  // flip bits in 1-3 bytes
                for (size_t k = 1 + pick(3); k > 0 && !t.empty(); --k) {
                    t[pick(t.size())] ^= static_cast<char>(1 + pick(255));
                }
                break;
            case 1:  // truncate
                t.resize(pick(t.size() + 1));
                break;
            case 2:  // extend
                for (size_t k = 1 + pick(20); k > 0; --k) {
                    t.push_back(static_cast<char>(pick(256)));
                }
                break;
            default:  // insert one byte
                t.insert(pick(t.size() + 1), 1, static_cast<char>(pick(256)));
                break;
        }
        if (codec != compression_codec::none && !damage_blob) {
            blob = compressed(codec, recs);
        }
        const std::string payload = codec == compression_codec::none ? recs : blob;
        int32_t count = base_count;
        if (pick(8) == 0) {
            count += pick(2) == 0 ? 1 : (count > 1 ? -1 : 1);
        }
        const std::string batch = frame_records(payload, frame(count, static_cast<int16_t>(codec)));
        auto h = validate_batch(batch);
        ASSERT_TRUE(h) << h.error().message();
        auto r = validate_records(batch, *h, {});
        if (!r) {
            ++refused;
            EXPECT_TRUE(r.code() == errc::invalid_batch || r.code() == errc::invalid_record ||
                        r.code() == errc::batch_too_large)
                << r.error().message();
            EXPECT_FALSE(r.error().detail.empty());
            continue;
        }
        ++accepted;
        std::string plain = payload;
        if (codec != compression_codec::none) {
            auto d = kafka::decompress(codec, payload, 1 << 20);
            ASSERT_TRUE(d) << d.error().message();
            plain = *d;
        }
        auto deltas = rewalk(plain, count);
        ASSERT_TRUE(deltas) << "iteration " << iter;
        ASSERT_EQ(deltas->size(), static_cast<size_t>(count)) << "iteration " << iter;
        for (size_t i = 0; i < deltas->size(); ++i) {
            EXPECT_EQ((*deltas)[i], static_cast<int32_t>(i));
        }
    }
    // Both outcomes happen (flipped value bytes are harmless).
    EXPECT_GT(accepted, 100);
    EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace fjord::broker::storage
