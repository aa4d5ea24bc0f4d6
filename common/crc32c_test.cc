#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace fjord {
namespace {

// Known-answer values from RFC 3720 appendix B.4.
TEST(crc32c, rfc3720_vectors) {
    EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
    EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
    std::string inc;
    for (int i = 0; i < 32; ++i) {
        inc.push_back(static_cast<char>(i));
    }
    EXPECT_EQ(crc32c(inc), 0x46DD794Eu);
    EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
}

TEST(crc32c, extend_equals_whole) {
    const std::string s = "the quick brown fox jumps over the lazy dog, twice over";
    for (size_t cut = 0; cut <= s.size(); ++cut) {
        const uint32_t a = crc32c_extend(0, s.data(), cut);
        EXPECT_EQ(crc32c_extend(a, s.data() + cut, s.size() - cut), crc32c(s)) << cut;
    }
}

}  // namespace
}  // namespace fjord
