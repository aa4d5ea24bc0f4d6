#include "common/kafka/wire.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "common/kafka/errc.h"
#include "common/kafka/test_util.h"

namespace fjord::kafka {
namespace {

using testing::H;
using testing::hex;

TEST(wire, big_endian_integers) {
    writer w;
    w.write_int8(-2);
    w.write_int16(0x1234);
    w.write_int32(-2);
    w.write_int64(0x0102030405060708);
    w.write_uint16(0xfffe);
    w.write_uint32(0x80000001u);
    w.write_bool(true);
    w.write_float64(1.5);
    EXPECT_EQ(hex(w.data()),
              hex(H("fe 1234 fffffffe 0102030405060708 fffe 80000001 01 3ff8000000000000")));
    reader r(w.data());
    EXPECT_EQ(*r.read_int8(), -2);
    EXPECT_EQ(*r.read_int16(), 0x1234);
    EXPECT_EQ(*r.read_int32(), -2);
    EXPECT_EQ(*r.read_int64(), 0x0102030405060708);
    EXPECT_EQ(*r.read_uint16(), 0xfffe);
    EXPECT_EQ(*r.read_uint32(), 0x80000001u);
    EXPECT_TRUE(*r.read_bool());
    EXPECT_EQ(*r.read_float64(), 1.5);
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_TRUE(r.expect_end());
}

TEST(wire, bool_reads_any_nonzero_as_true) {
    const std::string b = H("00 02 ff");
    reader r(b);
    EXPECT_FALSE(*r.read_bool());
    EXPECT_TRUE(*r.read_bool());
    EXPECT_TRUE(*r.read_bool());
}

TEST(wire, uuid_is_high_then_low) {
    writer w;
    w.write_uuid({0x0102030405060708, 0x090a0b0c0d0e0f10});
    EXPECT_EQ(hex(w.data()), "0102030405060708090a0b0c0d0e0f10");
    reader r(w.data());
    EXPECT_EQ(*r.read_uuid(), (uuid{0x0102030405060708, 0x090a0b0c0d0e0f10}));
}

TEST(wire, truncated_fixed_width_reads_fail_without_moving) {
    const std::string b = H("000102");
    reader r(b);
    auto v = r.read_int32();
    ASSERT_FALSE(v);
    EXPECT_EQ(v.code(), errc::truncated);
    EXPECT_EQ(v.error().detail, "at byte 0: needs 4 bytes, 3 left");
    EXPECT_EQ(r.position(), 0u);
    EXPECT_EQ(*r.read_int16(), 0x0001);
    EXPECT_FALSE(r.read_int16());
    EXPECT_FALSE(r.read_uuid());
    EXPECT_FALSE(r.read_int64());
}

// Unsigned varints: 7 bits a byte, low group first (README "varint" rule 1).
TEST(wire, unsigned_varint_known_encodings) {
    const std::pair<uint32_t, const char*> cases[] = {
        {0, "00"},
        {1, "01"},
        {127, "7f"},
        {128, "8001"},
        {300, "ac02"},
        {16383, "ff7f"},
        {16384, "808001"},
        {0x7fffffff, "ffffffff07"},
        {0xffffffff, "ffffffff0f"},
    };
    for (const auto& [v, enc] : cases) {
        writer w;
        w.write_unsigned_varint(v);
        EXPECT_EQ(hex(w.data()), enc) << v;
        reader r(w.data());
        EXPECT_EQ(*r.read_unsigned_varint(), v) << enc;
        EXPECT_EQ(r.remaining(), 0u);
    }
}

// Zig-zag varints: (n << 1) ^ (n >> 31), then the same 7-bit grouping.
TEST(wire, zigzag_varint_known_encodings) {
    const std::pair<int32_t, const char*> cases[] = {
        {0, "00"},
        {-1, "01"},
        {1, "02"},
        {-2, "03"},
        {63, "7e"},
        {-64, "7f"},
        {64, "8001"},
        {std::numeric_limits<int32_t>::max(), "feffffff0f"},
        {std::numeric_limits<int32_t>::min(), "ffffffff0f"},
    };
    for (const auto& [v, enc] : cases) {
        writer w;
        w.write_varint(v);
        EXPECT_EQ(hex(w.data()), enc) << v;
        reader r(w.data());
        EXPECT_EQ(*r.read_varint(), v) << enc;
    }
    const std::pair<int64_t, const char*> longs[] = {
        {0, "00"},
        {-1, "01"},
        {1000, "d00f"},
        {std::numeric_limits<int64_t>::max(), "feffffffffffffffff01"},
        {std::numeric_limits<int64_t>::min(), "ffffffffffffffffff01"},
    };
    for (const auto& [v, enc] : longs) {
        writer w;
        w.write_varlong(v);
        EXPECT_EQ(hex(w.data()), enc) << v;
        reader r(w.data());
        EXPECT_EQ(*r.read_varlong(), v) << enc;
    }
}

TEST(wire, overlong_and_truncated_varints_fail) {
    {
        const std::string b = H("ffffffff1f");  // a 33rd bit
        reader r(b);
        auto v = r.read_unsigned_varint();
        ASSERT_FALSE(v);
        EXPECT_EQ(v.code(), errc::invalid_varint);
        EXPECT_EQ(r.position(), 0u);
    }
    {
        const std::string b = H("ffffffffff01");  // six bytes
        reader r(b);
        EXPECT_EQ(r.read_unsigned_varint().code(), errc::invalid_varint);
        reader r2(b);
        EXPECT_EQ(r2.read_varint().code(), errc::invalid_varint);
    }
    {
        const std::string b = H("ffffffffffffffffff02");  // a 65th bit
        reader r(b);
        EXPECT_EQ(r.read_varlong().code(), errc::invalid_varint);
    }
    for (const char* enc : {"", "80", "ff80", "ffffffff"}) {
        const std::string b = H(enc);
        reader r(b);
        EXPECT_EQ(r.read_unsigned_varint().code(), errc::truncated) << enc;
        reader r2(b);
        EXPECT_EQ(r2.read_varint().code(), errc::truncated) << enc;
        reader r3(b);
        EXPECT_EQ(r3.read_varlong().code(), errc::truncated) << enc;
    }
}

TEST(wire, classic_and_compact_strings) {
    writer w;
    ASSERT_TRUE(w.write_string("abc", false));
    ASSERT_TRUE(w.write_string("abc", true));
    ASSERT_TRUE(w.write_nullable_string(std::nullopt, false, true));
    ASSERT_TRUE(w.write_nullable_string(std::nullopt, true, true));
    ASSERT_TRUE(w.write_string("", false));
    ASSERT_TRUE(w.write_string("", true));
    EXPECT_EQ(hex(w.data()), hex(H("0003616263 04616263 ffff 00 0000 01")));
    reader r(w.data());
    EXPECT_EQ(*r.read_string(false), "abc");
    EXPECT_EQ(*r.read_string(true), "abc");
    EXPECT_EQ(*r.read_nullable_string(false, true), std::nullopt);
    EXPECT_EQ(*r.read_nullable_string(true, true), std::nullopt);
    EXPECT_EQ(*r.read_nullable_string(false, true), std::optional<std::string>(""));
    EXPECT_EQ(*r.read_string(true), "");
    EXPECT_TRUE(r.expect_end());
}

TEST(wire, classic_and_compact_bytes) {
    writer w;
    ASSERT_TRUE(w.write_bytes(H("beef"), false));
    ASSERT_TRUE(w.write_bytes(H("beef"), true));
    ASSERT_TRUE(w.write_nullable_bytes(std::nullopt, false, true));
    ASSERT_TRUE(w.write_nullable_bytes(std::nullopt, true, true));
    EXPECT_EQ(hex(w.data()), hex(H("00000002beef 03beef ffffffff 00")));
    reader r(w.data());
    EXPECT_EQ(*r.read_bytes(false), H("beef"));
    EXPECT_EQ(*r.read_bytes(true), H("beef"));
    EXPECT_EQ(*r.read_nullable_bytes(false, true), std::nullopt);
    EXPECT_EQ(*r.read_nullable_bytes(true, true), std::nullopt);
}

TEST(wire, null_where_the_version_forbids_it) {
    for (const auto& [enc, compact] : {std::pair{"ffff", false}, std::pair{"00", true}}) {
        const std::string b = H(enc);
        reader r(b);
        auto s = r.read_string(compact);
        ASSERT_FALSE(s);
        EXPECT_EQ(s.code(), errc::invalid_value);
        EXPECT_EQ(s.error().detail, "at byte 0: null string where the version forbids null");
        reader r2(b);
        EXPECT_EQ(r2.read_nullable_string(compact, false).code(), errc::invalid_value);
    }
    writer w;
    EXPECT_EQ(w.write_nullable_string(std::nullopt, false, false).code(), errc::invalid_value);
    EXPECT_EQ(w.write_nullable_bytes(std::nullopt, true, false).code(), errc::invalid_value);
    EXPECT_EQ(w.write_null_array(false, false).code(), errc::invalid_value);
    EXPECT_EQ(w.size(), 0u);
}

TEST(wire, hostile_string_and_bytes_lengths) {
    struct bad {
        const char* bytes;
        bool compact;
        bool is_bytes;
        errc code;
        const char* detail;
    };
    const bad cases[] = {
        {"fffe", false, false, errc::invalid_length, "at byte 0: string length -2 is negative"},
        {"8000", false, false, errc::invalid_length, "at byte 0: string length -32768 is negative"},
        {"0005616263", false, false, errc::invalid_length,
         "at byte 0: string length 5 exceeds the 3 bytes left"},
        {"ffffffff0f", true, false, errc::invalid_length,
         "at byte 0: string length 4294967294 exceeds 32767"},
        {"8180 02", true, false, errc::invalid_length,
         "at byte 0: string length 32768 exceeds 32767"},
        {"fffffffe", false, true, errc::invalid_length, "at byte 0: bytes length -2 is negative"},
        {"7fffffff", false, true, errc::invalid_length,
         "at byte 0: bytes length 2147483647 exceeds the 0 bytes left"},
        {"ffffffff0f", true, true, errc::invalid_length,
         "at byte 0: bytes length 4294967294 exceeds the 0 bytes left"},
    };
    for (const auto& c : cases) {
        const std::string b = H(c.bytes);
        reader r(b);
        auto v = c.is_bytes ? r.read_nullable_bytes(c.compact, true)
                            : r.read_nullable_string(c.compact, true);
        ASSERT_FALSE(v) << c.bytes;
        EXPECT_EQ(v.code(), c.code) << c.bytes;
        EXPECT_EQ(v.error().detail, c.detail) << c.bytes;
        EXPECT_EQ(r.position(), 0u);
    }
}

TEST(wire, hostile_array_lengths) {
    {
        const std::string b = H("7fffffff 00000000");
        reader r(b);
        auto n = r.read_array_length(false, false, 4);
        ASSERT_FALSE(n);
        EXPECT_EQ(n.code(), errc::invalid_length);
        EXPECT_EQ(n.error().detail,
                  "at byte 0: array length 2147483647 needs at least 8589934588 bytes, 4 left");
    }
    {
        const std::string b = H("fffffffe");
        reader r(b);
        auto n = r.read_array_length(false, true, 1);
        ASSERT_FALSE(n);
        EXPECT_EQ(n.error().detail, "at byte 0: array length -2 is negative");
    }
    {
        const std::string b = H("ffffffff0f");  // compact: 2^32-2 elements
        reader r(b);
        EXPECT_EQ(r.read_array_length(true, true, 1).code(), errc::invalid_length);
    }
    {
        const std::string b = H("ffffffff");
        reader r(b);
        EXPECT_EQ(*r.read_array_length(false, true, 4), -1);
        reader r2(b);
        EXPECT_EQ(r2.read_array_length(false, false, 4).code(), errc::invalid_value);
    }
    {
        // Exactly enough bytes for the count is accepted.
        const std::string b = H("03 0000 0000");
        reader r(b);
        EXPECT_EQ(*r.read_array_length(true, false, 2), 2);
    }
}

TEST(wire, string_too_long_to_write) {
    writer w;
    const std::string big(32768, 'x');
    auto e = w.write_string(big, false);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.code(), errc::invalid_value);
    EXPECT_EQ(e.error().detail, "string of 32768 bytes exceeds 32767");
    EXPECT_TRUE(w.write_string(std::string(32767, 'x'), true));
}

TEST(wire, tagged_fields_are_written_in_tag_order) {
    const std::vector<tagged_field> unknown = {{9, H("aa")}, {1, H("")}};
    tagged_fields_writer t(unknown);
    t.add(4).write_int8(7);
    t.add(0).write_int16(1);
    writer w;
    ASSERT_TRUE(t.finish(w));
    EXPECT_EQ(hex(w.data()), hex(H("04 00020001 0100 040107 0901aa")));

    writer empty;
    const std::vector<tagged_field> no_tags;
    tagged_fields_writer none(no_tags);
    ASSERT_TRUE(none.finish(empty));
    EXPECT_EQ(hex(empty.data()), "00");

    const std::vector<tagged_field> clash = {{4, H("00")}};
    tagged_fields_writer dup(clash);
    dup.add(4);
    writer w2;
    auto e = dup.finish(w2);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().detail, "tag 4 appears twice");
}

TEST(wire, tagged_field_entries) {
    const std::string b = H("05 02 abcd 07 09 00");
    reader r(b);
    auto f = r.read_tagged_field();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->tag, 5u);
    EXPECT_EQ(hex(f->data), "abcd");
    auto g = r.read_tagged_field();
    ASSERT_FALSE(g);
    EXPECT_EQ(g.code(), errc::invalid_length);
    EXPECT_EQ(g.error().detail, "at byte 5: tagged field 7 size 9 exceeds the 1 bytes left");
}

TEST(wire, error_paths_name_the_field) {
    error_info e(errc::truncated, "at byte 3: needs 2 bytes, 1 left");
    e = in_field(e, "ErrorCode");
    e = in_struct_element(e, "Partitions", 2);
    e = in_struct_element(e, "Topics", 0);
    e = in_message(e, "MetadataResponse", 9);
    EXPECT_EQ(e.detail,
              "MetadataResponse v9: Topics[0].Partitions[2].ErrorCode: at byte 3: needs 2 bytes, 1 "
              "left");
    EXPECT_EQ(e.message(),
              "kafka_codec: truncated input: MetadataResponse v9: Topics[0].Partitions[2]."
              "ErrorCode: at byte 3: needs 2 bytes, 1 left");
    EXPECT_EQ(in_element(error_info(errc::truncated, "x"), "ReplicaNodes", 1).detail,
              "ReplicaNodes[1]: x");
    EXPECT_EQ(in_struct(error_info(errc::truncated, "LeaderId: x"), "CurrentLeader").detail,
              "CurrentLeader.LeaderId: x");
    EXPECT_EQ(to_string(errc::invalid_length), "invalid_length");
}

}  // namespace
}  // namespace fjord::kafka
