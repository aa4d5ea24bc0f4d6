// File: broker/storage/batch_header_test.cc
//
// The partition log's view of a v2 batch header, against batches built from
// the spec (log_test_util.h): common/kafka's decoder reading every field of
// them, append validation naming each bad field, and the two rewrites the
// broker makes (base offset, LogAppendTime).

#include "broker/storage/batch_header.h"

#include <gtest/gtest.h>

#include "broker/storage/errc.h"
#include "broker/storage/log_test_util.h"

namespace fjord::broker::storage::testing {
namespace {

namespace f = kafka::batch_field;

/// Overwrites `field` with v and, if `fix_crc`, recomputes the CRC so only
/// the field itself is wrong.
std::string patched(std::string b, kafka::batch_field_layout field, uint64_t v,
                    bool fix_crc = true) {
    kafka::write_batch_field(b, field, v);
    if (fix_crc) {
        kafka::update_record_batch_crc(b);
    }
    return b;
}

void expect_rejected(const std::string& batch, errc code, const std::string& field) {
    auto r = validate_batch(batch);
    ASSERT_FALSE(r) << "accepted a batch with a bad " << field;
    EXPECT_EQ(r.code(), code) << r.error().message();
    EXPECT_TRUE(r.error().detail.starts_with(field + ":")) << r.error().detail;
}

TEST(batch_header, decodes_every_field) {
    const std::string b = make_batch(batch_spec{5, 1700000000000, 10, 3});
    const kafka::record_batch_header h = kafka::decode_record_batch_header(b);
    EXPECT_EQ(h.base_offset, 0);
    EXPECT_EQ(h.size_bytes(), b.size());
    EXPECT_EQ(h.partition_leader_epoch, -1);
    EXPECT_EQ(h.magic, 2);
    EXPECT_EQ(h.attributes, 0);
    EXPECT_EQ(h.last_offset_delta, 4);
    EXPECT_EQ(h.base_timestamp, 1700000000000);
    EXPECT_EQ(h.max_timestamp, 1700000000004);
    EXPECT_EQ(h.producer_id, -1);
    EXPECT_EQ(h.producer_epoch, -1);
    EXPECT_EQ(h.base_sequence, -1);
    EXPECT_EQ(h.record_count, 5);
    EXPECT_EQ(h.crc, kafka::record_batch_crc(b));
    EXPECT_FALSE(h.is_control());
    EXPECT_EQ(h.ts_type(), kafka::timestamp_type::create_time);
}

TEST(batch_header, accepts_a_producer_batch) {
    const std::string b = make_batch(3, 42);
    auto r = validate_batch(b);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->record_count, 3);
}

TEST(batch_header, rejects_a_short_buffer) {
    const std::string b = make_batch(1, 1);
    expect_rejected(b.substr(0, 10), errc::invalid_batch, "batch");
    expect_rejected(b.substr(0, 40), errc::invalid_batch, "batchLength");
}

TEST(batch_header, rejects_a_length_that_does_not_match_the_bytes) {
    const std::string b = make_batch(2, 1);
    expect_rejected(b + "x", errc::invalid_batch, "batchLength");
    expect_rejected(b.substr(0, b.size() - 1), errc::invalid_batch, "batchLength");
    expect_rejected(patched(b, f::batch_length, 0xFFFFFFFF, false), errc::invalid_batch,
                    "batchLength");
}

TEST(batch_header, rejects_other_magic_values) {
    const std::string b = make_batch(1, 1);
    for (const uint64_t magic : {0, 1, 3, 0xFF}) {
        expect_rejected(patched(b, f::magic, magic, false), errc::invalid_batch, "magic");
    }
}

TEST(batch_header, rejects_a_crc_mismatch_anywhere_in_its_range) {
    const std::string b = make_batch(3, 1);
    for (size_t at = kafka::record_batch_crc_start; at < b.size(); at += 7) {
        std::string bad = b;
        bad[at] = static_cast<char>(bad[at] ^ 0x10);
        expect_rejected(bad, errc::corrupt_batch, "crc");
    }
    expect_rejected(patched(b, f::crc, 12345, false), errc::corrupt_batch, "crc");
}

TEST(batch_header, rejects_a_negative_last_offset_delta) {
    expect_rejected(patched(make_batch(1, 1), f::last_offset_delta, static_cast<uint64_t>(-1)),
                    errc::invalid_batch, "lastOffsetDelta");
}

TEST(batch_header, rejects_a_record_count_that_does_not_match_the_delta) {
    const std::string b = make_batch(3, 1);
    expect_rejected(patched(b, f::record_count, 2), errc::invalid_batch, "recordCount");
    expect_rejected(patched(b, f::record_count, 0), errc::invalid_batch, "recordCount");
    expect_rejected(patched(b, f::last_offset_delta, 5), errc::invalid_batch, "recordCount");
}

TEST(batch_header, rejects_an_unknown_compression_codec) {
    expect_rejected(patched(make_batch(1, 1), f::attributes, 7), errc::invalid_batch, "attributes");
}

TEST(batch_header, base_offset_is_outside_the_crc) {
    std::string b = make_batch(4, 1);
    kafka::write_batch_field(b, kafka::batch_field::base_offset, 1234567890123);
    auto r = validate_batch(b);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->base_offset, 1234567890123);
    EXPECT_EQ(last_of(*r), kafka_offset{1234567890126});
}

TEST(batch_header, log_append_time_rewrites_the_timestamp_and_the_crc) {
    std::string b = make_batch(2, 100);
    set_log_append_time(b, 999);
    auto r = validate_batch(b);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->ts_type(), kafka::timestamp_type::log_append_time);
    EXPECT_EQ(r->max_timestamp, 999);
    EXPECT_EQ(r->base_timestamp, 100);
}

}  // namespace
}  // namespace fjord::broker::storage::testing
