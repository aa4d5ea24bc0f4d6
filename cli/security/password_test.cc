// File: cli/security/password_test.cc

#include "cli/security/password.h"

#include <set>
#include <sstream>

#include <gtest/gtest.h>

namespace fjord::cli::security_cli {
namespace {

TEST(password, generated_ones_are_30_alphanumerics_and_differ) {
    std::set<std::string> seen;
    std::set<char> chars;
    for (int i = 0; i < 200; ++i) {
        const std::string p = generate_password();
        ASSERT_EQ(p.size(), 30u);
        for (char c : p) {
            ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << p;
            chars.insert(c);
        }
        seen.insert(p);
    }
    EXPECT_EQ(seen.size(), 200u);
    EXPECT_EQ(chars.size(), 62u) << "6,000 draws reach every character";
    EXPECT_EQ(generate_password(5).size(), 5u);
}

TEST(password, a_line_from_a_pipe_without_its_line_break) {
    std::istringstream crlf("s3cret pass\r\nnext\n");
    auto p = password_line(crlf, "--password");
    ASSERT_TRUE(p) << p.error().detail;
    EXPECT_EQ(*p, "s3cret pass");
    std::istringstream empty("\n");
    auto e = password_line(empty, "--password");
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().detail, "--password -: the password on stdin is empty");
    std::istringstream nothing("");
    EXPECT_EQ(password_line(nothing, "--new-password").error().detail,
              "--new-password -: no password on stdin");
}

}  // namespace
}  // namespace fjord::cli::security_cli
