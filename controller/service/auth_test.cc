// File: controller/service/auth_test.cc
//
// The controller API's basic authentication (auth.h): parsing the metadata,
// verification against SCRAM credentials, the cache and what invalidates it.

#include "controller/service/auth.h"

#include <gtest/gtest.h>

#include "common/cluster/errc.h"
#include "common/security/scram.h"

namespace fjord::service {
namespace {

using cluster::errc;

v1::ScramCredential credential(std::string_view password) {
    auto c = security::make_scram_credential(security::scram_mechanism::sha256, password);
    v1::ScramCredential p;
    p.set_mechanism("SCRAM-SHA-256");
    p.set_salt(c->salt);
    p.set_iterations(c->iterations);
    p.set_stored_key(c->stored_key);
    p.set_server_key(c->server_key);
    return p;
}

TEST(auth, parses_basic_authorization) {
    // base64("alice:pa:ss") = YWxpY2U6cGE6c3M=
    auto c = parse_basic_authorization("Basic YWxpY2U6cGE6c3M=");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->user, "alice");
    EXPECT_EQ(c->password, "pa:ss");  // the user ends at the first ':'
    EXPECT_TRUE(parse_basic_authorization("basic YWxpY2U6cGE6c3M="));
    for (const char* bad : {"", "Bearer abc", "Basic", "Basic !!!!", "Basic YWxpY2U=", "Basic OnB3",
                            "Basic YWxpY2U6cGE6c3M"}) {
        auto r = parse_basic_authorization(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, errc::unauthenticated) << bad;
        EXPECT_EQ(r.error().detail.find("pa:ss"), std::string::npos);
    }
}

TEST(auth, verifies_and_caches_only_successes) {
    authenticator a(2);
    const v1::ScramCredential alice = credential("secret");
    EXPECT_TRUE(a.verify({"alice", "secret"}, alice));
    EXPECT_EQ(a.cached(), 1u);
    EXPECT_TRUE(a.verify({"alice", "secret"}, alice));  // from the cache
    EXPECT_EQ(a.cached(), 1u);

    const auto wrong = a.verify({"alice", "nope"}, alice);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, errc::unauthenticated);
    // An unknown user: the very same answer.
    const auto unknown = a.verify({"mallory", "secret"}, std::nullopt);
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, errc::unauthenticated);
    EXPECT_EQ(unknown.error().detail, wrong.error().detail);
    EXPECT_EQ(a.cached(), 1u);

    // A changed password: the old one no longer verifies, cache or not.
    const v1::ScramCredential changed = credential("other");
    EXPECT_FALSE(a.verify({"alice", "secret"}, changed));
    EXPECT_TRUE(a.verify({"alice", "other"}, changed));
    // Bounded: the oldest entry goes.
    EXPECT_TRUE(a.verify({"bob", "other"}, changed));
    EXPECT_EQ(a.cached(), 2u);
}

// FIPS mode (tls::fips_min_password_length): a 13-character password is
// refused saying why, even when it is the user's; 14 characters pass.
TEST(auth, fips_floor_refuses_short_passwords) {
    authenticator a(16, 14);
    const v1::ScramCredential short_one = credential("thirteen-char");
    const auto r = a.verify({"alice", "thirteen-char"}, short_one);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::unauthenticated);
    EXPECT_NE(r.error().detail.find("at least 14 characters"), std::string::npos)
        << r.error().detail;
    EXPECT_EQ(a.cached(), 0u);
    const v1::ScramCredential long_one = credential("fourteen-chars");
    EXPECT_TRUE(a.verify({"alice", "fourteen-chars"}, long_one));
    // Outside FIPS mode the same short password is fine.
    EXPECT_TRUE(authenticator().verify({"alice", "thirteen-char"}, short_one));
}

}  // namespace
}  // namespace fjord::service
