// File: common/host_port_test.cc
//
// parse_host_port: the accepted forms, every rejection with its reason, and
// is_wildcard_host.

#include "common/host_port.h"

#include <gtest/gtest.h>

namespace fjord {
namespace {

TEST(host_port, parse) {
    EXPECT_EQ(*parse_host_port("127.0.0.1:9644"), (host_port{"127.0.0.1", 9644}));
    EXPECT_EQ(*parse_host_port("[::1]:1"), (host_port{"::1", 1}));
    EXPECT_EQ(*parse_host_port("my-host.example.com:65535"),
              (host_port{"my-host.example.com", 65535}));
    EXPECT_EQ(parse_host_port("[::1]:1")->to_string(), "[::1]:1");
    struct bad_case {
        const char* text;
        const char* reason;
    };
    for (const bad_case& c : {
             bad_case{"", "missing \":port\""},
             bad_case{":80", "empty host"},
             bad_case{"h:", "missing port number after \":\""},
             bad_case{"h:+80", "port \"+80\" is not a number"},
             bad_case{"h:99999999999", "port \"99999999999\" is not a number"},
             bad_case{"[::1]", "missing \":port\""},
             bad_case{"[::1:80", "missing \"]\" after the IPv6 address"},
             bad_case{"[nope]:80", "\"nope\" is not an IPv6 address"},
             bad_case{"-bad-.com:80", "\"-bad-.com\" is not a valid host name"},
             bad_case{"a..b:80", "\"a..b\" is not a valid host name"},
             bad_case{"a b:80", "\"a b\" is not a valid host name"},
         }) {
        auto r = parse_host_port(c.text);
        ASSERT_FALSE(r) << c.text;
        EXPECT_EQ(r.error().detail, c.reason) << c.text;
    }
    EXPECT_TRUE(is_wildcard_host("0.0.0.0"));
    EXPECT_TRUE(is_wildcard_host("::"));
    EXPECT_FALSE(is_wildcard_host("127.0.0.1"));
}

TEST(host_port, wildcards_parse_and_print) {
    const auto v4 = parse_host_port("0.0.0.0:9092");
    ASSERT_TRUE(v4);
    EXPECT_TRUE(is_wildcard_host(v4->host));
    const auto v6 = parse_host_port("[::]:9092");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(is_wildcard_host(v6->host));
    EXPECT_EQ(v6->to_string(), "[::]:9092");
    EXPECT_EQ(parse_host_port("h:1").code(), std::error_code{});
    EXPECT_EQ(parse_host_port("h").code(), std::errc::invalid_argument);
}

}  // namespace
}  // namespace fjord
