#include "common/kafka/record_batch.h"

#include <gtest/gtest.h>

#include <string>

#include "common/crc32c.h"
#include "common/kafka/errc.h"
#include "common/kafka/test_util.h"

namespace fjord::kafka {
namespace {

using testing::H;
using testing::hex;

// Two records, hand-derived from the layout in the README; the CRC was
// checked against kafka-python 2.0.2's DefaultRecordBatchBuilder (which
// writes partitionLeaderEpoch 0 instead of -1; the CRC does not cover it).
const std::string golden_batch =
    H("0000000000000000"  // baseOffset 0
      "00000047"          // batchLength 71 = 49 + 22 bytes of records
      "ffffffff"          // partitionLeaderEpoch -1
      "02"                // magic
      "280affb7"          // crc: CRC-32C of bytes 21..end
      "0000"              // attributes: no compression, CreateTime
      "00000001"          // lastOffsetDelta
      "00000000000003e8"  // baseTimestamp 1000
      "00000000000003ed"  // maxTimestamp 1005
      "ffffffffffffffff"  // producerId -1
      "ffff"              // producerEpoch -1
      "ffffffff"          // baseSequence -1
      "00000002"          // recordsCount
      // record 0: length 8, attributes, tsDelta 0, offsetDelta 0, key "k", value "v", 0 headers
      "10 00 00 00 02 6b 02 76 00"
      // record 1: length 12, attributes, tsDelta 5, offsetDelta 1, null key, value "vv",
      // 1 header "h" = "x"
      "18 00 0a 02 01 04 7676 02 02 68 02 78");

std::string with_crc(std::string b) {
    const uint32_t crc = crc32c(std::string_view(b).substr(record_batch_crc_start));
    for (int i = 0; i < 4; ++i) {
        b[17 + static_cast<size_t>(i)] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
    }
    return b;
}

TEST(record_batch, parses_the_golden_batch) {
    auto b = parse_record_batch(golden_batch);
    ASSERT_TRUE(b) << b.error().message();
    const record_batch_header& h = b->header;
    EXPECT_EQ(h.base_offset, 0);
    EXPECT_EQ(h.batch_length, 71);
    EXPECT_EQ(h.partition_leader_epoch, -1);
    EXPECT_EQ(h.magic, 2);
    EXPECT_EQ(h.crc, 0x280affb7u);
    EXPECT_EQ(h.compression(), compression_codec::none);
    EXPECT_EQ(h.ts_type(), timestamp_type::create_time);
    EXPECT_FALSE(h.is_transactional());
    EXPECT_FALSE(h.is_control());
    EXPECT_EQ(h.last_offset_delta, 1);
    EXPECT_EQ(h.last_offset(), 1);
    EXPECT_EQ(h.base_timestamp, 1000);
    EXPECT_EQ(h.max_timestamp, 1005);
    EXPECT_EQ(h.producer_id, -1);
    EXPECT_EQ(h.producer_epoch, -1);
    EXPECT_EQ(h.base_sequence, -1);
    EXPECT_EQ(h.record_count, 2);
    EXPECT_EQ(b->bytes.size(), golden_batch.size());
    EXPECT_EQ(b->records.size(), 22u);

    auto recs = read_records(*b);
    ASSERT_TRUE(recs) << recs.error().message();
    ASSERT_EQ(recs->size(), 2u);
    const record_view& r0 = (*recs)[0];
    EXPECT_EQ(r0.timestamp_delta, 0);
    EXPECT_EQ(r0.offset_delta, 0);
    EXPECT_EQ(r0.key, std::optional<std::string_view>("k"));
    EXPECT_EQ(r0.value, std::optional<std::string_view>("v"));
    EXPECT_TRUE(r0.headers.empty());
    const record_view& r1 = (*recs)[1];
    EXPECT_EQ(r1.timestamp_delta, 5);
    EXPECT_EQ(r1.offset_delta, 1);
    EXPECT_EQ(r1.key, std::nullopt);
    EXPECT_EQ(r1.value, std::optional<std::string_view>("vv"));
    ASSERT_EQ(r1.headers.size(), 1u);
    EXPECT_EQ(r1.headers[0].key, "h");
    EXPECT_EQ(r1.headers[0].value, std::optional<std::string_view>("x"));
}

TEST(record_batch, builder_writes_the_golden_batch) {
    const std::string built = record_batch_builder(0)
                                  .add("k", "v", 1000)
                                  .add(std::nullopt, "vv", 1005, {{"h", "x"}})
                                  .build();
    EXPECT_EQ(hex(built), hex(golden_batch));
}

TEST(record_batch, builder_batches_parse_back) {
    const std::string built =
        record_batch_builder(1000)
            .partition_leader_epoch(7)
            .producer(42, 3, 17)
            .transactional()
            .add("a", std::nullopt, 5000, {{"k1", std::nullopt}, {"k2", "v2"}})
            .add("b", "value", 4000)
            .add(std::nullopt, std::nullopt, 9000)
            .build();
    auto b = parse_record_batch(built);
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(b->header.base_offset, 1000);
    EXPECT_EQ(b->header.partition_leader_epoch, 7);
    EXPECT_EQ(b->header.producer_id, 42);
    EXPECT_EQ(b->header.producer_epoch, 3);
    EXPECT_EQ(b->header.base_sequence, 17);
    EXPECT_TRUE(b->header.is_transactional());
    EXPECT_EQ(b->header.record_count, 3);
    EXPECT_EQ(b->header.last_offset(), 1002);
    EXPECT_EQ(b->header.base_timestamp, 5000);
    EXPECT_EQ(b->header.max_timestamp, 9000);
    auto recs = read_records(*b);
    ASSERT_TRUE(recs) << recs.error().message();
    ASSERT_EQ(recs->size(), 3u);
    EXPECT_EQ((*recs)[0].headers.size(), 2u);
    EXPECT_EQ((*recs)[0].headers[0].value, std::nullopt);
    EXPECT_EQ((*recs)[0].value, std::nullopt);
    EXPECT_EQ((*recs)[1].timestamp_delta, -1000);
    EXPECT_EQ((*recs)[1].value, std::optional<std::string_view>("value"));
    EXPECT_EQ((*recs)[2].offset_delta, 2);
    EXPECT_EQ((*recs)[2].key, std::nullopt);

    const std::string empty = record_batch_builder(5).build();
    auto e = parse_record_batch(empty);
    ASSERT_TRUE(e) << e.error().message();
    EXPECT_EQ(e->header.record_count, 0);
    EXPECT_EQ(e->header.base_timestamp, -1);
    EXPECT_EQ(e->bytes.size(), record_batch_header_size);
    auto none = read_records(*e);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());

    const std::string control = record_batch_builder(9).control().add(H("00000001"), "", 1).build();
    auto c = parse_record_batch(control);
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->header.is_control());
}

TEST(record_batch, detects_crc_mismatch) {
    for (size_t i = record_batch_crc_start; i < golden_batch.size(); ++i) {
        std::string bad = golden_batch;
        bad[i] = static_cast<char>(bad[i] ^ 0x01);
        auto b = parse_record_batch(bad);
        ASSERT_FALSE(b) << i;
        EXPECT_EQ(b.code(), errc::corrupt_batch) << i;
    }
    std::string bad = golden_batch;
    bad[20] = static_cast<char>(bad[20] ^ 0xff);  // the stored crc itself
    auto b = parse_record_batch(bad);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.code(), errc::corrupt_batch);
    EXPECT_EQ(b.error().detail,
              "record batch: crc mismatch: stored 0x280aff48, computed 0x280affb7");
    // The CRC does not cover baseOffset or partitionLeaderEpoch: a broker
    // rewrites them without recomputing it.
    std::string moved = golden_batch;
    moved[7] = 9;
    moved[15] = 3;
    EXPECT_TRUE(parse_record_batch(moved));
}

TEST(record_batch, decodes_a_header_without_judging_it) {
    // Only the 61 header bytes, with a magic and a CRC parse_record_batch
    // would refuse: the decoder reads fields, the caller decides.
    std::string header = golden_batch.substr(0, record_batch_header_size);
    header[batch_field::magic.at] = 7;
    header[batch_field::crc.at] = 0;
    const record_batch_header h = decode_record_batch_header(header);
    EXPECT_EQ(h.magic, 7);
    EXPECT_EQ(h.crc, 0x000affb7u);
    EXPECT_EQ(h.size_bytes(), golden_batch.size());
    EXPECT_EQ(h.last_offset(), 1);
    EXPECT_EQ(h.max_timestamp, 1005);
    EXPECT_EQ(h.base_sequence, -1);
    EXPECT_EQ(h.record_count, 2);

    record_batch_header negative = h;
    negative.batch_length = -1;
    EXPECT_EQ(negative.size_bytes(), 0u) << "an unchecked header never frames a batch backwards";
}

TEST(record_batch, rewrites_header_fields_in_place) {
    std::string b = golden_batch;
    write_batch_field(b, batch_field::base_offset, 1234567890123);
    ASSERT_TRUE(parse_record_batch(b)) << "baseOffset is outside the CRC";
    write_batch_field(b, batch_field::max_timestamp, 999);
    EXPECT_EQ(parse_record_batch(b).code(), errc::corrupt_batch);
    update_record_batch_crc(b);
    auto p = parse_record_batch(b);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->header.base_offset, 1234567890123);
    EXPECT_EQ(p->header.max_timestamp, 999);
    EXPECT_EQ(p->header.base_timestamp, 1000);
    EXPECT_EQ(p->header.crc, record_batch_crc(b));
}

TEST(record_batch, detects_wrong_magic) {
    for (int magic : {0, 1, 3, -1}) {
        std::string bad = golden_batch;
        bad[16] = static_cast<char>(magic);
        auto b = parse_record_batch(bad);
        ASSERT_FALSE(b);
        EXPECT_EQ(b.code(), errc::invalid_batch);
        EXPECT_EQ(b.error().detail,
                  "record batch: magic " + std::to_string(magic) + ", expected 2");
    }
}

TEST(record_batch, detects_length_mismatch) {
    {
        std::string bad = golden_batch;
        bad[11] = 0x48;  // batchLength 72: one byte more than there is
        auto b = parse_record_batch(bad);
        ASSERT_FALSE(b);
        EXPECT_EQ(b.code(), errc::truncated);
        EXPECT_EQ(b.error().detail, "record batch: batchLength 72 needs 84 bytes, 83 available");
    }
    {
        std::string bad = golden_batch;
        bad[8] = 0x7f;  // batchLength 2^31 - 185
        EXPECT_EQ(parse_record_batch(bad).code(), errc::truncated);
    }
    {
        std::string bad = golden_batch;
        bad[8] = static_cast<char>(0xff);  // negative
        auto b = parse_record_batch(bad);
        ASSERT_FALSE(b);
        EXPECT_EQ(b.code(), errc::invalid_batch);
    }
    {
        std::string bad = golden_batch;
        bad[11] = 48;  // below the header
        auto b = parse_record_batch(bad);
        ASSERT_FALSE(b);
        EXPECT_EQ(b.error().detail, "record batch: batchLength 48 is below the header's 49 bytes");
    }
    {
        // batchLength shorter than the records: the last record's bytes are
        // outside the batch, so the record walk finds one record cut short.
        std::string bad = golden_batch.substr(0, golden_batch.size() - 1);
        bad[11] = 0x46;
        bad = with_crc(bad);
        auto b = parse_record_batch(bad);
        ASSERT_TRUE(b) << b.error().message();
        auto recs = read_records(*b);
        ASSERT_FALSE(recs);
        EXPECT_EQ(recs.code(), errc::invalid_batch);
        EXPECT_EQ(recs.error().detail,
                  "record batch: record 1: length 12: at byte 10: needs 12 bytes, 11 left");
    }
}

TEST(record_batch, every_truncation_fails) {
    for (size_t n = 0; n < golden_batch.size(); ++n) {
        auto b = parse_record_batch(std::string_view(golden_batch).substr(0, n));
        ASSERT_FALSE(b) << n;
        EXPECT_EQ(b.code(), errc::truncated) << n;
    }
}

TEST(record_batch, record_count_mismatch) {
    {
        std::string bad = golden_batch;
        bad[60] = 3;  // three records claimed, two present
        bad = with_crc(bad);
        auto b = parse_record_batch(bad);
        ASSERT_TRUE(b);
        auto recs = read_records(*b);
        ASSERT_FALSE(recs);
        EXPECT_EQ(recs.code(), errc::invalid_batch);
        EXPECT_EQ(recs.error().detail,
                  "record batch: record 2: length: at byte 22: varint runs past the end");
    }
    {
        std::string bad = golden_batch;
        bad[60] = 1;  // one claimed, two present
        bad = with_crc(bad);
        auto recs = read_records(*parse_record_batch(bad));
        ASSERT_FALSE(recs);
        EXPECT_EQ(recs.error().detail, "record batch: 13 bytes after the last of 1 records");
    }
    {
        std::string bad = golden_batch;
        bad[57] = 0x7f;  // 2^31 - ... records cannot fit
        bad = with_crc(bad);
        auto b = parse_record_batch(bad);
        ASSERT_FALSE(b);
        EXPECT_EQ(b.code(), errc::invalid_batch);
    }
    {
        std::string bad = golden_batch;
        bad[57] = static_cast<char>(0x80);
        auto b = parse_record_batch(with_crc(bad));
        ASSERT_FALSE(b);
        EXPECT_EQ(b.error().detail, "record batch: recordsCount -2147483646 is negative");
    }
}

TEST(record_batch, malformed_records) {
    // Record 0's key length claims 5 bytes inside an 8-byte record.
    std::string bad = with_crc(golden_batch.substr(0, 65) + H("0a") + golden_batch.substr(66));
    auto recs = read_records(*parse_record_batch(bad));
    ASSERT_FALSE(recs);
    EXPECT_EQ(recs.code(), errc::invalid_batch);
    EXPECT_EQ(recs.error().detail, "record batch: record 0: key: at byte 4: needs 5 bytes, 4 left");
    // A negative key length other than -1.
    bad = golden_batch;
    bad[61 + 4] = 0x03;
    bad = with_crc(bad);
    recs = read_records(*parse_record_batch(bad));
    ASSERT_FALSE(recs);
    EXPECT_EQ(recs.error().detail, "record batch: record 0: key: length -2 is negative");
    // A hostile header count.
    bad = golden_batch;
    bad[61 + 8] = 0x7e;  // 63 headers in 0 bytes
    bad = with_crc(bad);
    recs = read_records(*parse_record_batch(bad));
    ASSERT_FALSE(recs);
    EXPECT_EQ(recs.error().detail,
              "record batch: record 0: headersCount: 63 headers cannot fit in 0 bytes");
    // Every byte of every record flipped: errors, never a crash.
    for (size_t i = record_batch_header_size; i < golden_batch.size(); ++i) {
        for (const int x : {0x01, 0x80, 0xff}) {
            std::string f = golden_batch;
            f[i] = static_cast<char>(f[i] ^ x);
            f = with_crc(f);
            auto b = parse_record_batch(f);
            if (b) {
                (void)read_records(*b);
            }
        }
    }
}

TEST(record_batch, compressed_batches_are_framed_but_not_iterated) {
    std::string z = golden_batch;
    z[22] = 0x04;  // zstd
    z = with_crc(z);
    auto b = parse_record_batch(z);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->header.compression(), compression_codec::zstd);
    auto recs = read_records(*b);
    ASSERT_FALSE(recs);
    EXPECT_EQ(recs.code(), errc::unsupported_compression);
    z[22] = 0x05;  // no such codec
    auto bad = parse_record_batch(with_crc(z));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().detail, "record batch: attributes: unknown compression codec 5");
}

TEST(record_batch, several_batches_and_a_partial_tail) {
    const std::string second = record_batch_builder(2).add("x", "y", 2000).build();
    const std::string both = golden_batch + second;
    auto all = parse_record_batches(both);
    ASSERT_TRUE(all) << all.error().message();
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[1].header.base_offset, 2);
    const std::string cut = both.substr(0, both.size() - 3);
    auto strict = parse_record_batches(cut);
    ASSERT_FALSE(strict);
    EXPECT_EQ(strict.error().detail,
              "batch 1 at byte 83: record batch: batchLength 58 needs 70 bytes, 67 available");
    auto lenient = parse_record_batches(cut, true);
    ASSERT_TRUE(lenient);
    EXPECT_EQ(lenient->size(), 1u);
    std::string corrupt = both;
    corrupt.back() = static_cast<char>(corrupt.back() ^ 1);
    EXPECT_EQ(parse_record_batches(corrupt, true).code(), errc::corrupt_batch);
}

}  // namespace
}  // namespace fjord::kafka
