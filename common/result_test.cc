#include "common/result.h"

#include <gtest/gtest.h>

#include <system_error>

namespace fjord {
namespace {

result<int> parse_positive(int v) {
    if (v <= 0) {
        return error_info(std::make_error_code(std::errc::invalid_argument), "value must be > 0");
    }
    return v;
}

TEST(result, value_and_error) {
    auto good = parse_positive(3);
    ASSERT_TRUE(good);
    EXPECT_EQ(*good, 3);
    auto bad = parse_positive(-1);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.code(), std::errc::invalid_argument);
    EXPECT_NE(bad.error().message().find("value must be > 0"), std::string::npos);
}

TEST(result, void_result) {
    result<void> r = ok();
    EXPECT_TRUE(r);
    result<void> f = error_info(std::make_error_code(std::errc::io_error), "disk");
    EXPECT_FALSE(f);
    EXPECT_EQ(f.code(), std::errc::io_error);
}

const std::error_code einval = std::make_error_code(std::errc::invalid_argument);
const std::error_code eio = std::make_error_code(std::errc::io_error);

TEST(error_info, for_field_keeps_the_text) {
    const auto e =
        error_info::for_field(einval, "partitions[2].replicas", "broker 4 appears twice");
    EXPECT_EQ(e.code, std::errc::invalid_argument);
    EXPECT_EQ(e.field, "partitions[2].replicas");
    EXPECT_EQ(e.detail, "partitions[2].replicas: broker 4 appears twice");
    EXPECT_EQ(e.reason(), "broker 4 appears twice");
    EXPECT_EQ(e.message(),
              error_info(einval).message() + ": partitions[2].replicas: broker 4 appears twice");
}

TEST(error_info, reason_is_exact_by_construction) {
    // The reason may itself contain ": " and start like a field.
    const auto e = error_info::for_field(einval, "name", "\"a b\": character ' '");
    EXPECT_EQ(e.detail, "name: \"a b\": character ' '");
    EXPECT_EQ(e.reason(), "\"a b\": character ' '");
    // No field: the reason is the whole detail, and nothing is parsed out of it.
    const error_info plain(eio, "segment 3: checksum mismatch");
    EXPECT_EQ(plain.field, "");
    EXPECT_EQ(plain.reason(), "segment 3: checksum mismatch");
    const auto empty_field = error_info::for_field(eio, "", "disk");
    EXPECT_EQ(empty_field.field, "");
    EXPECT_EQ(empty_field.detail, "disk");
    EXPECT_EQ(empty_field.reason(), "disk");
}

TEST(error_info, within_prefixes_field_and_detail) {
    const auto e = error_info::for_field(einval, "retention.ms", "bad");
    const error_info outer = e.within("set.");
    EXPECT_EQ(outer.code, e.code);
    EXPECT_EQ(outer.field, "set.retention.ms");
    EXPECT_EQ(outer.detail, "set.retention.ms: bad");
    EXPECT_EQ(outer.reason(), "bad");
    const error_info plain = error_info(eio, "disk").within("log: ");
    EXPECT_EQ(plain.field, "");
    EXPECT_EQ(plain.detail, "log: disk");
}

TEST(error_info, result_carries_the_field) {
    result<void> r = error_info::for_field(einval, "name", "empty");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "name");
    EXPECT_EQ(r.error().reason(), "empty");
}

}  // namespace
}  // namespace fjord
