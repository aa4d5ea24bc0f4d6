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

}  // namespace
}  // namespace fjord
