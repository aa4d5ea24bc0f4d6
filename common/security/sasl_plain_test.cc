// File: common/security/sasl_plain_test.cc
//
// parse_sasl_plain: the accepted forms, the impersonation refusal
// (CVE-2017-12610), and every malformed shape with its reason; no error may
// repeat the password.

#include "common/security/sasl_plain.h"

#include <gtest/gtest.h>

#include <string>

namespace fjord::security {
namespace {

using namespace std::string_literals;

TEST(sasl_plain, accepted) {
    EXPECT_EQ(*parse_sasl_plain("\0alice\0secret"s), (plain_credentials{"", "alice", "secret"}));
    EXPECT_EQ(*parse_sasl_plain("alice\0alice\0secret"s),
              (plain_credentials{"alice", "alice", "secret"}));
    // The password is opaque bytes: "=" "," and spaces are fine.
    EXPECT_EQ(*parse_sasl_plain("\0bob\0a=b, c"s), (plain_credentials{"", "bob", "a=b, c"}));
    EXPECT_EQ(*parse_sasl_plain("\0a=2Cb\0pw"s), (plain_credentials{"", "a=2Cb", "pw"}));
    const std::string longest = std::string(255, 'u') + '\0' + std::string(255, 'u') + '\0' +
                                std::string(max_password_length, 'p');
    ASSERT_EQ(longest.size(), max_plain_message_length);
    EXPECT_TRUE(parse_sasl_plain(longest));
}

// CVE-2017-12610: authenticating as one user while asking to act as another.
TEST(sasl_plain, authzid_must_be_empty_or_the_user) {
    for (const std::string& msg :
         {"admin\0alice\0secret"s, "Alice\0alice\0secret"s, "alice \0alice\0secret"s}) {
        auto r = parse_sasl_plain(msg);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.code(), sasl_errc::authorization_id_mismatch);
        EXPECT_EQ(r.error().detail,
                  "PLAIN message: the authorization id must be empty or the user");
    }
}

TEST(sasl_plain, malformed) {
    struct bad_case {
        std::string message;
        std::string reason;
    };
    for (const bad_case& c : {
             bad_case{"", "expected authzid NUL user NUL password, found 0 NULs"},
             bad_case{"alice secret", "expected authzid NUL user NUL password, found 0 NULs"},
             bad_case{"alice\0secret"s, "expected authzid NUL user NUL password, found 1 NUL"},
             bad_case{"\0alice\0sec\0ret"s, "expected authzid NUL user NUL password, found 3 NULs"},
             bad_case{"\0\0secret"s, "the user is empty"},
             bad_case{"\0\0"s, "the user is empty"},
             bad_case{"\0alice\0"s, "the password is empty"},
             bad_case{"\0"s + std::string(256, 'u') + "\0secret"s, "user: longer than 255 bytes"},
             bad_case{"\0al\tice\0secret"s, "user: must not contain control characters"},
             bad_case{"\0al\xffice\0secret"s, "user: not valid UTF-8"},
             bad_case{"\0a,b\0secret"s,
                      "user: not a SASLname: \",\" is not allowed and \"=\" only as =2C or =3D"},
             bad_case{"\0alice\0"s + std::string(max_password_length + 1, 'p'),
                      "the password is longer than 1024 bytes"},
             bad_case{std::string(max_plain_message_length + 1, 'x'), "longer than 1536 bytes"},
         }) {
        auto r = parse_sasl_plain(c.message);
        ASSERT_FALSE(r) << c.reason;
        EXPECT_EQ(r.code(), sasl_errc::malformed_message);
        EXPECT_EQ(r.error().detail, "malformed PLAIN message: " + c.reason);
    }
}

TEST(sasl_plain, errors_never_repeat_the_password) {
    for (const std::string& msg : {"\0al\tice\0hunter2-secret"s, "x\0alice\0hunter2-secret"s,
                                   "\0alice\0hunter2-secret\0"s}) {
        auto r = parse_sasl_plain(msg);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().message().find("hunter2"), std::string::npos);
    }
}

}  // namespace
}  // namespace fjord::security
