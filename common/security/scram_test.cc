// File: common/security/scram_test.cc
//
// SCRAM: the RFC 7677 vector end to end, a SHA-512 vector (computed with
// Python's hashlib, whose script reproduces the RFC 5802 SHA-1 and RFC 7677
// vectors), full exchanges for both mechanisms, and one regression test per
// rule of scram.h: unknown user indistinguishable from a wrong password,
// tampered nonce and channel binding, authzid impersonation, unsupported
// features, malformed messages, SASLnames, iteration bounds, verify_password.

#include "common/security/scram.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <map>
#include <memory>
#include <string>

namespace fjord::security {
namespace {

using namespace std::string_literals;

// RFC 7677 §3.
constexpr std::string_view rfc_client_nonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view rfc_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
const std::string rfc_salt = "\x5b\x6d\x99\x68\x9d\x12\x35\x8e\xec\xa0\x4b\x14\x12\x36\xfa\x81"s;

// A credential store: a map, looked up by name and mechanism.
struct store {
    std::map<std::pair<std::string, scram_mechanism>, scram_credential> users;
    /// false: return the user's credential whatever its mechanism (a store
    /// mix-up the server must survive).
    bool match_mechanism = true;

    void add(std::string user, const scram_credential& c) {
        users[{std::move(user), c.mechanism}] = c;
    }
    scram_credential_lookup lookup(scram_mechanism m) const {
        return [this, m](std::string_view user) -> std::optional<scram_credential> {
            for (const auto& [key, c] : users) {
                if (key.first == user && (key.second == m || !match_mechanism)) {
                    return c;
                }
            }
            return std::nullopt;
        };
    }
};

scram_credential credential(scram_mechanism m, std::string_view password,
                            int32_t iterations = scram_min_iterations,
                            std::optional<std::string> salt = std::nullopt) {
    auto c = make_scram_credential(m, password, iterations, std::move(salt));
    EXPECT_TRUE(c) << c.error().message();
    return *c;
}

// Runs client and server against each other; returns the first error, or
// success when the client verified the server too.
result<void> exchange(scram_mechanism m, const store& s, std::string_view user,
                      std::string_view password,
                      std::optional<std::string_view> authzid = std::nullopt) {
    scram_server server(m, s.lookup(m));
    scram_client client(m);
    auto server_first = server.handle_client_first(client.client_first(user, authzid));
    if (!server_first) {
        return server_first.error();
    }
    auto client_final = client.client_final(*server_first, password);
    if (!client_final) {
        return client_final.error();
    }
    auto server_final = server.handle_client_final(*client_final);
    if (!server_final) {
        return server_final.error();
    }
    EXPECT_TRUE(server.complete());
    EXPECT_EQ(server.username(), user);
    return client.verify_server_final(*server_final);
}

// The server after a valid client-first from `user` (RFC nonces), and that
// client-first's gs2 header.
struct primed {
    store s;
    scram_server server{scram_mechanism::sha256, s.lookup(scram_mechanism::sha256),
                        std::string(rfc_server_nonce)};
};

std::string rfc_nonce() {
    return std::string(rfc_client_nonce) + std::string(rfc_server_nonce);
}

TEST(scram, mechanism_names) {
    EXPECT_EQ(*parse_scram_mechanism("SCRAM-SHA-256"), scram_mechanism::sha256);
    EXPECT_EQ(*parse_scram_mechanism("scram-sha-256"), scram_mechanism::sha256);
    EXPECT_EQ(*parse_scram_mechanism("Scram-Sha-512"), scram_mechanism::sha512);
    EXPECT_EQ(to_string(scram_mechanism::sha256), "SCRAM-SHA-256");
    EXPECT_EQ(to_string(scram_mechanism::sha512), "SCRAM-SHA-512");
    for (const char* bad : {"", "SCRAM-SHA-1", "PLAIN", "SCRAM-SHA-256 ", "SCRAM_SHA_256"}) {
        auto r = parse_scram_mechanism(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.code(), sasl_errc::invalid_argument);
        EXPECT_EQ(r.error().field, "mechanism");
    }
}

TEST(scram, rfc7677_vector) {
    const scram_credential c = credential(scram_mechanism::sha256, "pencil", 4096, rfc_salt);
    EXPECT_EQ(c.stored_key,
              "\x58\x6e\x5d\xf2\x83\xe6\xdc\xeb\x5c\x3e\x79\x1d\x8b\x85\x28\xec"
              "\x19\x1e\x66\x40\x45\xce\x97\x17\x92\xe2\xe6\xb5\xbb\x13\xe2\xa6"s);
    EXPECT_EQ(c.server_key,
              "\xc1\xf3\xcb\xc1\xc1\x3a\x9d\x35\xa1\x4c\x09\x90\xee\xd9\x76\x29"
              "\xea\x22\x58\x63\xe5\x66\xa4\x31\x4a\xb9\x9f\x3f\x00\xe5\xd9\xd5"s);
    store s;
    s.add("user", c);
    scram_client client(scram_mechanism::sha256, std::string(rfc_client_nonce));
    scram_server server(scram_mechanism::sha256, s.lookup(scram_mechanism::sha256),
                        std::string(rfc_server_nonce));

    const std::string client_first = client.client_first("user");
    EXPECT_EQ(client_first, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    auto server_first = server.handle_client_first(client_first);
    ASSERT_TRUE(server_first) << server_first.error().message();
    EXPECT_EQ(*server_first,
              "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
              "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    auto client_final = client.client_final(*server_first, "pencil");
    ASSERT_TRUE(client_final) << client_final.error().message();
    EXPECT_EQ(*client_final,
              "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
              "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    auto server_final = server.handle_client_final(*client_final);
    ASSERT_TRUE(server_final) << server_final.error().message();
    EXPECT_EQ(*server_final, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    EXPECT_TRUE(server.complete());
    EXPECT_EQ(server.username(), "user");
    EXPECT_TRUE(client.verify_server_final(*server_final));
}

// The RFC 7677 inputs under SHA-512, and a user whose name needs escaping,
// with 8192 iterations; expected values from hashlib.
TEST(scram, sha512_vectors) {
    {
        store s;
        s.add("user", credential(scram_mechanism::sha512, "pencil", 4096, rfc_salt));
        scram_client client(scram_mechanism::sha512, std::string(rfc_client_nonce));
        scram_server server(scram_mechanism::sha512, s.lookup(scram_mechanism::sha512),
                            std::string(rfc_server_nonce));
        auto server_first = server.handle_client_first(client.client_first("user"));
        ASSERT_TRUE(server_first);
        auto client_final = client.client_final(*server_first, "pencil");
        ASSERT_TRUE(client_final);
        EXPECT_EQ(*client_final,
                  "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                  "p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXY"
                  "TxwnYPJQ==");
        auto server_final = server.handle_client_final(*client_final);
        ASSERT_TRUE(server_final) << server_final.error().message();
        EXPECT_EQ(*server_final,
                  "v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+"
                  "5ZxXnJq199RVG2rR7N7Zw==");
        EXPECT_TRUE(client.verify_server_final(*server_final));
    }
    {
        store s;
        s.add("al,ice", credential(scram_mechanism::sha512, "correct horse battery", 8192,
                                   "saltsaltsaltsalt"));
        scram_client client(scram_mechanism::sha512, "c2VjcmV0IG5vbmNl");
        scram_server server(scram_mechanism::sha512, s.lookup(scram_mechanism::sha512),
                            "c2VydmVyIHBhcnQgb2Ygbm9uY2U");
        const std::string client_first = client.client_first("al,ice");
        EXPECT_EQ(client_first, "n,,n=al=2Cice,r=c2VjcmV0IG5vbmNl");
        auto server_first = server.handle_client_first(client_first);
        ASSERT_TRUE(server_first);
        EXPECT_EQ(*server_first,
                  "r=c2VjcmV0IG5vbmNlc2VydmVyIHBhcnQgb2Ygbm9uY2U,s=c2FsdHNhbHRzYWx0c2FsdA==,"
                  "i=8192");
        auto client_final = client.client_final(*server_first, "correct horse battery");
        ASSERT_TRUE(client_final);
        EXPECT_EQ(
            *client_final,
            "c=biws,r=c2VjcmV0IG5vbmNlc2VydmVyIHBhcnQgb2Ygbm9uY2U,"
            "p=AdpArVoes1Oa80/pbUOFOT7csnH37Y/Cb0d6RktsS7lKdg/zXu3fKeaLu522SsClNSB3yxUF1pVk1Y1"
            "lacrFJg==");
        auto server_final = server.handle_client_final(*client_final);
        ASSERT_TRUE(server_final);
        EXPECT_EQ(*server_final,
                  "v=S3QzgwDN6T9zxJRDuVDcSUtPQ4ZMID41zSwFIv0zuEW73ko/88Feh8P6+wKc94FgMBdr1rIrgx8A"
                  "fi73FONXJA==");
        EXPECT_EQ(server.username(), "al,ice");
        EXPECT_TRUE(client.verify_server_final(*server_final));
    }
}

TEST(scram, full_exchange_both_mechanisms) {
    for (scram_mechanism m : {scram_mechanism::sha256, scram_mechanism::sha512}) {
        store s;
        s.add("alice", credential(m, "alice-secret-password"));
        s.add("we=2Cird", credential(m, "x"));
        EXPECT_TRUE(exchange(m, s, "alice", "alice-secret-password")) << to_string(m);
        EXPECT_TRUE(exchange(m, s, "alice", "alice-secret-password", "alice")) << to_string(m);
        EXPECT_TRUE(exchange(m, s, "we=2Cird", "x")) << to_string(m);
    }
}

TEST(scram, random_nonces_and_salts) {
    scram_client a(scram_mechanism::sha256);
    scram_client b(scram_mechanism::sha256);
    const std::string first_a = a.client_first("u");
    const std::string first_b = b.client_first("u");
    EXPECT_NE(first_a, first_b);
    EXPECT_GE(first_a.size(), std::string("n,,n=u,r=").size() + 24);
    const scram_credential c1 = credential(scram_mechanism::sha256, "pw");
    const scram_credential c2 = credential(scram_mechanism::sha256, "pw");
    EXPECT_EQ(c1.salt.size(), 32u);
    EXPECT_NE(c1.salt, c2.salt);
    EXPECT_NE(c1.stored_key, c2.stored_key);

    store s;
    s.add("u", c1);
    scram_server server(scram_mechanism::sha256, s.lookup(scram_mechanism::sha256));
    auto server_first = server.handle_client_first("n,,n=u,r=abc");
    ASSERT_TRUE(server_first);
    // r=abc<at least 24 server characters>,s=...
    const size_t end = server_first->find(',');
    EXPECT_TRUE(server_first->starts_with("r=abc"));
    EXPECT_GE(end, std::string("r=abc").size() + 24);
}

// An unknown user, a wrong password and a credential for the other mechanism
// fail alike, at client-final, with the same error.
TEST(scram, unknown_user_is_indistinguishable_from_wrong_password) {
    for (scram_mechanism m : {scram_mechanism::sha256, scram_mechanism::sha512}) {
        store s;
        s.add("alice", credential(m, "right-password"));
        const scram_mechanism other =
            m == scram_mechanism::sha256 ? scram_mechanism::sha512 : scram_mechanism::sha256;
        s.add("bob", credential(other, "right-password"));
        auto wrong_password = exchange(m, s, "alice", "wrong-password");
        auto unknown_user = exchange(m, s, "mallory", "right-password");
        s.match_mechanism = false;
        auto other_mechanism = exchange(m, s, "bob", "right-password");
        ASSERT_FALSE(wrong_password);
        ASSERT_FALSE(unknown_user);
        ASSERT_FALSE(other_mechanism);
        EXPECT_EQ(wrong_password.code(), sasl_errc::authentication_failed);
        EXPECT_EQ(wrong_password.error().detail, "authentication failed: invalid credentials");
        EXPECT_EQ(unknown_user.error().code, wrong_password.error().code);
        EXPECT_EQ(unknown_user.error().detail, wrong_password.error().detail);
        EXPECT_EQ(other_mechanism.error().code, wrong_password.error().code);
        EXPECT_EQ(other_mechanism.error().detail, wrong_password.error().detail);
    }
}

TEST(scram, unknown_user_gets_a_stable_decoy) {
    store s;
    auto server_first_for = [&](std::string_view user) {
        scram_server server(scram_mechanism::sha256, s.lookup(scram_mechanism::sha256), "S");
        auto r = server.handle_client_first("n,,n=" + std::string(user) + ",r=C");
        EXPECT_TRUE(r);
        return *r;
    };
    // The same salt each time, as for a real user; another user, another salt.
    const std::string first = server_first_for("ghost");
    EXPECT_EQ(first, server_first_for("ghost"));
    EXPECT_NE(first, server_first_for("ghost2"));
    EXPECT_TRUE(first.starts_with("r=CS,s="));
    EXPECT_TRUE(first.ends_with(",i=4096"));

    auto decoy = decoy_scram_credential(scram_mechanism::sha512, "ghost");
    ASSERT_TRUE(decoy);
    EXPECT_EQ(decoy->salt.size(), 32u);
    EXPECT_EQ(decoy->stored_key.size(), 64u);
    EXPECT_EQ(decoy->iterations, scram_min_iterations);
    EXPECT_FALSE(verify_password(*decoy, "anything"));
}

TEST(scram, nonce_must_be_this_exchanges) {
    const std::string good_proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    for (const std::string& nonce : {
             "XOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"s,   // client prefix changed
             "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1"s,   // server part changed
             "rOprNGfwEbeRWgbNEkqO"s,                                 // server part dropped
             "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0x"s,  // extended
         }) {
        primed p;
        p.s.add("user", credential(scram_mechanism::sha256, "pencil", 4096, rfc_salt));
        ASSERT_TRUE(p.server.handle_client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
        auto r = p.server.handle_client_final("c=biws,r=" + nonce + "," + good_proof);
        ASSERT_FALSE(r) << nonce;
        EXPECT_EQ(r.code(), sasl_errc::malformed_message);
        EXPECT_EQ(r.error().detail,
                  "malformed client-final message: r=: not the nonce of this exchange");
        EXPECT_FALSE(p.server.complete());
    }
}

// librdkafka 2.0.2 builds r= as its nonce followed by the whole server nonce
// (which already starts with its nonce); Kafka accepts that, and so must we,
// but nothing looser. The client-final is built here as librdkafka does.
std::string librdkafka_client_final(const std::string& server_first, const std::string& prefix) {
    const std::string combined = server_first.substr(2, server_first.find(',') - 2);
    const std::string without_proof = "c=biws,r=" + prefix + combined;
    const std::string auth =
        "n=user,r=" + std::string(rfc_client_nonce) + "," + server_first + "," + without_proof;
    const std::string& salt = rfc_salt;
    unsigned char salted[32], client_key[32], stored_key[32], signature[32];
    unsigned int n = 0;
    EXPECT_EQ(PKCS5_PBKDF2_HMAC("pencil", 6, reinterpret_cast<const unsigned char*>(salt.data()),
                                static_cast<int>(salt.size()), 4096, EVP_sha256(), 32, salted),
              1);
    HMAC(EVP_sha256(), salted, 32, reinterpret_cast<const unsigned char*>("Client Key"), 10,
         client_key, &n);
    SHA256(client_key, 32, stored_key);
    HMAC(EVP_sha256(), stored_key, 32, reinterpret_cast<const unsigned char*>(auth.data()),
         auth.size(), signature, &n);
    unsigned char proof[32];
    for (int i = 0; i < 32; ++i) {
        proof[i] = client_key[i] ^ signature[i];
    }
    unsigned char b64[64] = {};
    EVP_EncodeBlock(b64, proof, 32);
    return without_proof + ",p=" + reinterpret_cast<const char*>(b64);
}

TEST(scram, accepts_librdkafkas_client_nonce_prefix_and_nothing_looser) {
    for (const std::string& prefix :
         {std::string(rfc_client_nonce), "XOprNGfwEbeRWgbNEkqO"s, ""s}) {
        primed p;
        p.s.add("user", credential(scram_mechanism::sha256, "pencil", 4096, rfc_salt));
        auto first = p.server.handle_client_first("n,,n=user,r=" + std::string(rfc_client_nonce));
        ASSERT_TRUE(first);
        auto r = p.server.handle_client_final(librdkafka_client_final(*first, prefix));
        if (prefix == rfc_client_nonce || prefix.empty()) {
            EXPECT_TRUE(r) << prefix << ": " << r.error().detail;
            EXPECT_TRUE(p.server.complete());
        } else {
            ASSERT_FALSE(r);
            EXPECT_EQ(r.error().detail,
                      "malformed client-final message: r=: not the nonce of this exchange");
        }
    }
}

TEST(scram, channel_binding_must_repeat_the_gs2_header) {
    for (const char* c : {
             "eSws",                  // "y,,"
             "cD10bHMtdW5pcXVlLCw=",  // "p=tls-unique,,"
             "biwsYmlk",              // "n,,bid"
             "bixhPXVzZXIs",          // "n,a=user,"
         }) {
        primed p;
        p.s.add("user", credential(scram_mechanism::sha256, "pencil", 4096, rfc_salt));
        ASSERT_TRUE(p.server.handle_client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
        auto r = p.server.handle_client_final("c=" + std::string(c) + ",r=" + rfc_nonce() +
                                              ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        ASSERT_FALSE(r) << c;
        EXPECT_EQ(r.code(), sasl_errc::malformed_message);
        EXPECT_EQ(r.error().detail,
                  "malformed client-final message: c=: not the base64 of the client-first "
                  "message's gs2 header");
    }
    // "y,," is a valid gs2 header (the client supports channel binding but
    // thinks the server does not); then c= must be "eSws".
    store s;
    s.add("u", credential(scram_mechanism::sha256, "pw"));
    scram_server server(scram_mechanism::sha256, s.lookup(scram_mechanism::sha256));
    EXPECT_TRUE(server.handle_client_first("y,,n=u,r=abc"));
}

// CVE-2017-12610: the authzid must be the user.
TEST(scram, authzid_must_be_the_user) {
    store s;
    s.add("alice", credential(scram_mechanism::sha256, "pw-alice"));
    s.add("admin", credential(scram_mechanism::sha256, "pw-admin"));
    auto r = exchange(scram_mechanism::sha256, s, "alice", "pw-alice", "admin");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), sasl_errc::authorization_id_mismatch);
    for (const char* msg :
         {"n,a=admin,n=alice,r=abc", "n,a=alice=2C,n=alice,r=abc", "y,a=Alice,n=alice,r=abc"}) {
        scram_server server(scram_mechanism::sha256, s.lookup(scram_mechanism::sha256));
        auto first = server.handle_client_first(msg);
        ASSERT_FALSE(first) << msg;
        EXPECT_EQ(first.code(), sasl_errc::authorization_id_mismatch) << msg;
    }
    EXPECT_TRUE(exchange(scram_mechanism::sha256, s, "alice", "pw-alice", "alice"));
}

TEST(scram, unsupported_features) {
    struct unsupported_case {
        const char* message;
        const char* detail;
    };
    for (const unsupported_case& c : {
             unsupported_case{"p=tls-unique,,n=u,r=abc",
                              "client-first message: channel binding (gs2 flag p=) is not "
                              "supported"},
             unsupported_case{"n,,m=ext,n=u,r=abc",
                              "client-first message: mandatory extensions (m=) are not supported"},
             unsupported_case{"n,,n=u,r=abc,tokenauth=true",
                              "client-first message: delegation tokens (tokenauth=true) are not "
                              "supported"},
             unsupported_case{"n,,n=u,r=abc,tokenauth=TRUE",
                              "client-first message: delegation tokens (tokenauth=true) are not "
                              "supported"},
         }) {
        scram_server server(scram_mechanism::sha256, nullptr);
        auto r = server.handle_client_first(c.message);
        ASSERT_FALSE(r) << c.message;
        EXPECT_EQ(r.code(), sasl_errc::unsupported) << c.message;
        EXPECT_EQ(r.error().detail, c.detail);
    }
    // Other extensions are accepted and ignored, tokenauth=false too.
    for (const char* ok_msg :
         {"n,,n=u,r=abc,tokenauth=false", "n,,n=u,r=abc,foo=bar,Baz=1=2", "n,,n=u,r=abc,x=y"}) {
        scram_server server(scram_mechanism::sha256, nullptr);
        EXPECT_TRUE(server.handle_client_first(ok_msg)) << ok_msg;
    }
}

TEST(scram, malformed_client_first) {
    struct bad_case {
        std::string message;
        std::string reason;
    };
    const std::string long_name(256, 'x');
    const std::string long_nonce(257, 'r');
    for (const bad_case& c : {
             bad_case{"", "gs2 flag must be \"n\" or \"y\""},
             bad_case{"x,,n=u,r=abc", "gs2 flag must be \"n\" or \"y\""},
             bad_case{"n", "expected \",\" after the gs2 flag"},
             bad_case{"nn,n=u,r=abc", "expected \",\" after the gs2 flag"},
             bad_case{"n,n=u,r=abc", "expected \"a=\" or \",\" after the gs2 flag"},
             bad_case{"n,a=u", "gs2 header not terminated by \",\""},
             bad_case{"n,a=,n=u,r=abc", "a=: empty name"},
             bad_case{"n,a=x=41,n=u,r=abc", "a=: \"=\" must start =2C or =3D"},
             bad_case{"n,,", "expected n= (the username) after the gs2 header"},
             bad_case{"n,,r=abc,n=u", "expected n= (the username) after the gs2 header"},
             bad_case{"n,,N=u,r=abc", "expected n= (the username) after the gs2 header"},
             bad_case{"n,,n=,r=abc", "n=: empty name"},
             bad_case{"n,,n=a=2c,r=abc", "n=: \"=\" must start =2C or =3D"},
             bad_case{"n,,n=a=,r=abc", "n=: \"=\" must start =2C or =3D"},
             bad_case{"n,,n=a=3,r=abc", "n=: \"=\" must start =2C or =3D"},
             bad_case{"n,,n=" + long_name + ",r=abc", "n=: longer than 255 bytes"},
             bad_case{"n,,n=a\tb,r=abc", "n=: not UTF-8 text without control characters"},
             bad_case{"n,,n=a\xff,r=abc", "n=: not UTF-8 text without control characters"},
             bad_case{"n,,n=a\xc0\xaf,r=abc", "n=: not UTF-8 text without control characters"},
             bad_case{"n,,n=a\0b,r=abc"s, "n=: NUL in a name"},
             bad_case{"n,,n=u", "expected r= (the nonce) after n="},
             bad_case{"n,,n=u,", "expected r= (the nonce) after n="},
             bad_case{"n,,n=u,s=abc", "expected r= (the nonce) after n="},
             bad_case{"n,,n=u,r=",
                      "r=: nonce must be 1 to 256 printable ASCII characters other than \",\""},
             bad_case{"n,,n=u,r=a b",
                      "r=: nonce must be 1 to 256 printable ASCII characters other than \",\""},
             bad_case{"n,,n=u,r=ab\x7f",
                      "r=: nonce must be 1 to 256 printable ASCII characters other than \",\""},
             bad_case{"n,,n=u,r=" + long_nonce,
                      "r=: nonce must be 1 to 256 printable ASCII characters other than \",\""},
             bad_case{"n,,n=u,r=abc,", "empty attribute"},
             bad_case{"n,,n=u,r=abc,,x=y", "empty attribute"},
             bad_case{"n,,n=u,r=abc,novalue", "extension is not key=value"},
             bad_case{"n,,n=u,r=abc,=v", "extension is not key=value"},
             bad_case{"n,,n=u,r=abc,r=again", "attribute r= out of place"},
             bad_case{"n,,n=u,r=abc,p=proof", "attribute p= out of place"},
             bad_case{"n,,n=u,r=abc,ke_y=v", "extension key is not letters only"},
             bad_case{"n,,n=u,r=abc,key=", "extension key= has an empty value"},
             bad_case{"n,,n=u,r=abc,key=\x01", "extension key= is not printable ASCII"},
             bad_case{"n,,n=u,r=abc,key=a,key=b", "extension key= repeated"},
             bad_case{"n,,n=u,r=abc,tokenauth=yes", "tokenauth= must be true or false"},
             bad_case{"n,,n=u,r=abc,a=1,b=2,d=3,f=4,g=5,h=6,j=7,k=8,l=9,o=10,q=11,t=12,u=13,"
                      "w=14,x=15,y=16,z=17",
                      "more than 16 extensions"},
             bad_case{"n,,n=u,r=abc,x=" + std::string(4096, 'v'), "longer than 4096 bytes"},
         }) {
        scram_server server(scram_mechanism::sha256, nullptr);
        auto r = server.handle_client_first(c.message);
        ASSERT_FALSE(r) << c.message;
        EXPECT_EQ(r.code(), sasl_errc::malformed_message) << c.message;
        EXPECT_EQ(r.error().detail, "malformed client-first message: " + c.reason) << c.message;
        // The exchange is over.
        EXPECT_EQ(server.handle_client_final("c=biws,r=abc,p=x").code(), sasl_errc::invalid_state);
    }
}

TEST(scram, malformed_client_final) {
    const std::string n = rfc_nonce();
    const std::string proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    struct bad_case {
        std::string message;
        std::string reason;
    };
    for (const bad_case& c : {
             bad_case{"", "expected c= (the channel binding) first"},
             bad_case{"r=" + n + ",c=biws," + proof, "expected c= (the channel binding) first"},
             bad_case{"c=,r=" + n + "," + proof, "c=: not base64"},
             bad_case{"c=biw,r=" + n + "," + proof, "c=: not base64"},
             bad_case{"c=bix=,r=" + n + "," + proof, "c=: not base64"},  // unused bits set
             bad_case{"c=bi*s,r=" + n + "," + proof, "c=: not base64"},
             bad_case{"c=biws", "expected r= (the nonce) after c="},
             bad_case{"c=biws,r=," + proof, "expected r= (the nonce) after c="},
             bad_case{"c=biws," + proof + ",r=" + n, "expected r= (the nonce) after c="},
             bad_case{"c=biws,r=" + n, "expected p= (the proof) last"},
             bad_case{"c=biws,r=" + n + "," + proof + ",x=y", "expected p= (the proof) last"},
             bad_case{"c=biws,r=" + n + ",p=", "p=: not the base64 of a 32-byte proof"},
             bad_case{"c=biws,r=" + n + ",p=dHzb", "p=: not the base64 of a 32-byte proof"},
             bad_case{"c=biws,r=" + n + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
                      "p=: not the base64 of a 32-byte proof"},
             bad_case{"c=biws,r=" + n + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVR=",
                      "p=: not the base64 of a 32-byte proof"},
             bad_case{"c=biws,r=" + n + ",r=" + n + "," + proof, "attribute r= out of place"},
             bad_case{"c=biws,r=" + n + ",," + proof, "empty attribute"},
             bad_case{"c=biws,r=" + n + ",x=" + std::string(4096, 'v') + "," + proof,
                      "longer than 4096 bytes"},
         }) {
        primed p;
        p.s.add("user", credential(scram_mechanism::sha256, "pencil", 4096, rfc_salt));
        ASSERT_TRUE(p.server.handle_client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
        auto r = p.server.handle_client_final(c.message);
        ASSERT_FALSE(r) << c.message;
        EXPECT_EQ(r.code(), sasl_errc::malformed_message) << c.message;
        EXPECT_EQ(r.error().detail, "malformed client-final message: " + c.reason) << c.message;
        EXPECT_FALSE(p.server.complete());
    }
    // Extensions before p= are accepted and ignored; the proof still counts.
    primed p;
    p.s.add("user", credential(scram_mechanism::sha256, "pencil", 4096, rfc_salt));
    ASSERT_TRUE(p.server.handle_client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
    auto r = p.server.handle_client_final("c=biws,r=" + n + ",ext=1," + proof);
    ASSERT_FALSE(r);  // the proof was computed without the extension
    EXPECT_EQ(r.code(), sasl_errc::authentication_failed);
}

TEST(scram, wrong_proof_fails_and_ends_the_exchange) {
    primed p;
    p.s.add("user", credential(scram_mechanism::sha256, "pencil", 4096, rfc_salt));
    ASSERT_TRUE(p.server.handle_client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
    auto r = p.server.handle_client_final("c=biws,r=" + rfc_nonce() +
                                          ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVA=");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), sasl_errc::authentication_failed);
    EXPECT_EQ(r.error().detail, "authentication failed: invalid credentials");
    EXPECT_FALSE(p.server.complete());
    // No second try within the same exchange, even with the right proof.
    auto again = p.server.handle_client_final("c=biws,r=" + rfc_nonce() +
                                              ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    EXPECT_EQ(again.code(), sasl_errc::invalid_state);
    EXPECT_FALSE(p.server.complete());
}

TEST(scram, calls_out_of_order) {
    store s;
    scram_server server(scram_mechanism::sha256, s.lookup(scram_mechanism::sha256));
    EXPECT_EQ(server.handle_client_final("c=biws,r=a,p=b").code(), sasl_errc::invalid_state);
    EXPECT_EQ(server.handle_client_first("n,,n=u,r=abc").code(), sasl_errc::invalid_state);

    scram_client client(scram_mechanism::sha256);
    EXPECT_EQ(client.client_final("r=a,s=c2FsdA==,i=4096", "pw").code(), sasl_errc::invalid_state);
    scram_client client2(scram_mechanism::sha256);
    EXPECT_EQ(client2.verify_server_final("v=abcd").code(), sasl_errc::invalid_state);
}

TEST(scram, client_checks_server_first) {
    struct bad_case {
        std::string message;
        sasl_errc code;
        std::string detail;
    };
    const std::string mf = "malformed server-first message: ";
    for (const bad_case& c : {
             bad_case{"r=abcXYZ,s=c2FsdA==,i=4095", sasl_errc::malformed_message,
                      mf + "i=: 4095 iterations is below the minimum 4096"},
             bad_case{"r=abcXYZ,s=c2FsdA==,i=1", sasl_errc::malformed_message,
                      mf + "i=: 1 iterations is below the minimum 4096"},
             bad_case{"r=abcXYZ,s=c2FsdA==,i=1000001", sasl_errc::malformed_message,
                      mf + "i=: 1000001 iterations is above the maximum 1000000"},
             bad_case{"r=abcXYZ,s=c2FsdA==,i=04096", sasl_errc::malformed_message,
                      mf + "i=: not a decimal number"},
             bad_case{"r=abcXYZ,s=c2FsdA==,i=-4096", sasl_errc::malformed_message,
                      mf + "i=: not a decimal number"},
             bad_case{"r=abcXYZ,s=c2FsdA==,i=99999999999", sasl_errc::malformed_message,
                      mf + "i=: not a decimal number"},
             bad_case{"r=abcXYZ,s=c2FsdA==,i=", sasl_errc::malformed_message,
                      mf + "i=: not a decimal number"},
             bad_case{"r=abcXYZ,s=c2FsdA==", sasl_errc::malformed_message,
                      mf + "expected i= (the iteration count) after s="},
             bad_case{"r=abcXYZ,s=,i=4096", sasl_errc::malformed_message,
                      mf + "s=: not the base64 of 1 to 256 bytes"},
             bad_case{"r=abcXYZ,s=c2FsdA,i=4096", sasl_errc::malformed_message,
                      mf + "s=: not the base64 of 1 to 256 bytes"},
             bad_case{"r=abcXYZ,i=4096", sasl_errc::malformed_message,
                      mf + "expected s= (the salt) after r="},
             bad_case{"s=c2FsdA==,r=abcXYZ,i=4096", sasl_errc::malformed_message,
                      mf + "expected r= (the nonce) first"},
             bad_case{"r=abc,s=c2FsdA==,i=4096", sasl_errc::malformed_message,
                      "malformed server-first message: r=: the server's nonce does not extend "
                      "ours"},
             bad_case{"r=xbcXYZ,s=c2FsdA==,i=4096", sasl_errc::malformed_message,
                      "malformed server-first message: r=: the server's nonce does not extend "
                      "ours"},
             bad_case{"m=x,r=abcXYZ,s=c2FsdA==,i=4096", sasl_errc::unsupported,
                      "server-first message: mandatory extensions (m=) are not supported"},
             bad_case{"r=abcXYZ,s=c2FsdA==,i=4096,e=x", sasl_errc::malformed_message,
                      mf + "attribute e= out of place"},
         }) {
        scram_client client(scram_mechanism::sha256, "abc");
        (void)client.client_first("u");
        auto r = client.client_final(c.message, "pw");
        ASSERT_FALSE(r) << c.message;
        EXPECT_EQ(r.code(), c.code) << c.message;
        EXPECT_EQ(r.error().detail, c.detail) << c.message;
    }
    scram_client client(scram_mechanism::sha256, "abc");
    (void)client.client_first("u");
    auto empty_password = client.client_final("r=abcXYZ,s=c2FsdA==,i=4096", "");
    EXPECT_EQ(empty_password.code(), sasl_errc::invalid_argument);
    EXPECT_EQ(empty_password.error().field, "password");
}

TEST(scram, client_checks_server_final) {
    auto primed_client = [] {
        auto c =
            std::make_unique<scram_client>(scram_mechanism::sha256, std::string(rfc_client_nonce));
        (void)c->client_first("user");
        EXPECT_TRUE(c->client_final(
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            "i=4096",
            "pencil"));
        return c;
    };
    struct bad_case {
        std::string message;
        sasl_errc code;
        std::string detail;
    };
    for (const bad_case& c : {
             bad_case{
                 "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", sasl_errc::malformed_message,
                 "malformed server-final message: v=: not base64"},
             bad_case{
                 "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", sasl_errc::authentication_failed,
                 "authentication failed: the server's signature does not match"},
             bad_case{"v=", sasl_errc::authentication_failed,
                      "authentication failed: the server's signature does not match"},
             bad_case{"e=invalid-proof", sasl_errc::authentication_failed,
                      "authentication failed: the server refused: invalid-proof"},
             bad_case{"e=", sasl_errc::malformed_message,
                      "malformed server-final message: e=: not a short printable reason"},
             bad_case{"x=1", sasl_errc::malformed_message,
                      "malformed server-final message: expected v= (the server signature) or e= "
                      "(an error)"},
         }) {
        auto client = primed_client();
        auto r = client->verify_server_final(c.message);
        ASSERT_FALSE(r) << c.message;
        EXPECT_EQ(r.code(), c.code) << c.message;
        EXPECT_EQ(r.error().detail, c.detail) << c.message;
    }
    EXPECT_TRUE(primed_client()->verify_server_final(
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,ext=ignored"));
}

TEST(scram, saslnames) {
    struct name_case {
        std::string encoded;
        std::string decoded;
    };
    for (const name_case& c : {
             name_case{"user", "user"},
             name_case{"a=2Cb", "a,b"},
             name_case{"a=3Db", "a=b"},
             name_case{"=2C=3D=2C", ",=,"},
             name_case{"=3D2C", "=2C"},
             name_case{"\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"},
         }) {
        auto d = decode_saslname(c.encoded);
        ASSERT_TRUE(d) << c.encoded;
        EXPECT_EQ(*d, c.decoded);
        EXPECT_EQ(encode_saslname(c.decoded), c.encoded);
    }
    for (const std::string& bad :
         {"a,b"s, "a=b"s, "a="s, "a=2"s, "a=2c"s, "a=3d"s, "a=41"s, "=="s, "a\0b"s}) {
        auto d = decode_saslname(bad);
        ASSERT_FALSE(d) << bad;
        EXPECT_EQ(d.code(), sasl_errc::malformed_message);
    }
}

TEST(scram, validate_username) {
    for (const std::string& good : {"alice"s, "User.Name-1_@example.com"s, "a=2Cb"s, "x=3D"s,
                                    "\xc3\xa9t\xc3\xa9"s, std::string(255, 'u'), "with space"s}) {
        EXPECT_TRUE(validate_username(good)) << good;
    }
    struct bad_case {
        std::string name;
        std::string reason;
    };
    for (const bad_case& c : {
             bad_case{"", "must not be empty"},
             bad_case{std::string(256, 'u'), "longer than 255 bytes"},
             bad_case{"a\nb", "must not contain control characters"},
             bad_case{"a\0b"s, "must not contain control characters"},
             bad_case{"a\x7f", "must not contain control characters"},
             bad_case{"a\xff", "not valid UTF-8"},
             bad_case{"\xed\xa0\x80", "not valid UTF-8"},  // a surrogate
             bad_case{"a,b", "not a SASLname: \",\" is not allowed and \"=\" only as =2C or =3D"},
             bad_case{"a=b", "not a SASLname: \",\" is not allowed and \"=\" only as =2C or =3D"},
         }) {
        auto r = validate_username(c.name);
        ASSERT_FALSE(r) << c.name;
        EXPECT_EQ(r.code(), sasl_errc::invalid_argument);
        EXPECT_EQ(r.error().field, "username");
        EXPECT_EQ(r.error().reason(), c.reason) << c.name;
    }
}

TEST(scram, credential_validation) {
    struct bad_case {
        std::string password;
        int32_t iterations;
        std::optional<std::string> salt;
        std::string field;
        std::string reason;
    };
    for (const bad_case& c : {
             bad_case{"", 4096, std::nullopt, "password", "must not be empty"},
             bad_case{std::string(1025, 'p'), 4096, std::nullopt, "password",
                      "longer than 1024 bytes"},
             bad_case{"pass\nword", 4096, std::nullopt, "password",
                      "must not contain control characters"},
             bad_case{"pass\x7f", 4096, std::nullopt, "password",
                      "must not contain control characters"},
             bad_case{"pw", 4095, std::nullopt, "iterations", "4095 is outside 4096..1000000"},
             bad_case{"pw", 0, std::nullopt, "iterations", "0 is outside 4096..1000000"},
             bad_case{"pw", -1, std::nullopt, "iterations", "-1 is outside 4096..1000000"},
             bad_case{"pw", 1000001, std::nullopt, "iterations",
                      "1000001 is outside 4096..1000000"},
             bad_case{"pw", 4096, ""s, "salt", "must be 1 to 256 bytes"},
             bad_case{"pw", 4096, std::string(257, 's'), "salt", "must be 1 to 256 bytes"},
         }) {
        for (scram_mechanism m : {scram_mechanism::sha256, scram_mechanism::sha512}) {
            auto r = make_scram_credential(m, c.password, c.iterations, c.salt);
            ASSERT_FALSE(r) << c.reason;
            EXPECT_EQ(r.code(), sasl_errc::invalid_argument);
            EXPECT_EQ(r.error().field, c.field);
            EXPECT_EQ(r.error().reason(), c.reason);
        }
    }
    const scram_credential c = credential(scram_mechanism::sha512, "pw", 8192);
    EXPECT_EQ(c.mechanism, scram_mechanism::sha512);
    EXPECT_EQ(c.iterations, 8192);
    EXPECT_EQ(c.stored_key.size(), 64u);
    EXPECT_EQ(c.server_key.size(), 64u);
}

TEST(scram, verify_password) {
    for (scram_mechanism m : {scram_mechanism::sha256, scram_mechanism::sha512}) {
        const scram_credential c = credential(m, "s3cret password");
        EXPECT_TRUE(verify_password(c, "s3cret password"));
        EXPECT_FALSE(verify_password(c, "s3cret passworD"));
        EXPECT_FALSE(verify_password(c, "s3cret password "));
        EXPECT_FALSE(verify_password(c, ""));
        scram_credential broken = c;
        broken.iterations = 1;
        EXPECT_FALSE(verify_password(broken, "s3cret password"));
        broken = c;
        broken.stored_key.pop_back();
        EXPECT_FALSE(verify_password(broken, "s3cret password"));
    }
    EXPECT_TRUE(
        verify_password(credential(scram_mechanism::sha256, "pencil", 4096, rfc_salt), "pencil"));
}

// AlterUserScramCredentials sends SaltedPassword, never the password.
TEST(scram, a_credential_from_a_salted_password_is_what_make_scram_credential_stores) {
    for (auto m : {scram_mechanism::sha256, scram_mechanism::sha512}) {
        auto c = make_scram_credential(m, "pencil", 4096, std::string("saltsalt"));
        ASSERT_TRUE(c);
        // SaltedPassword as a Kafka client computes it: PBKDF2.
        std::string salted(m == scram_mechanism::sha256 ? 32 : 64, '\0');
        ASSERT_EQ(
            PKCS5_PBKDF2_HMAC("pencil", 6, reinterpret_cast<const unsigned char*>("saltsalt"), 8,
                              4096, m == scram_mechanism::sha256 ? EVP_sha256() : EVP_sha512(),
                              static_cast<int>(salted.size()),
                              reinterpret_cast<unsigned char*>(salted.data())),
            1);
        auto d = credential_from_salted_password(m, "saltsalt", 4096, salted);
        ASSERT_TRUE(d) << d.error().message();
        EXPECT_EQ(*d, *c);
        EXPECT_TRUE(verify_password(*d, "pencil"));
    }
    auto short_key =
        credential_from_salted_password(scram_mechanism::sha512, "s", 4096, std::string(32, 'x'));
    ASSERT_FALSE(short_key);
    EXPECT_EQ(short_key.error().field, "salted_password");
    auto few =
        credential_from_salted_password(scram_mechanism::sha256, "s", 4095, std::string(32, 'x'));
    ASSERT_FALSE(few);
    EXPECT_EQ(few.error().field, "iterations");
    auto no_salt =
        credential_from_salted_password(scram_mechanism::sha256, "", 4096, std::string(32, 'x'));
    ASSERT_FALSE(no_salt);
    EXPECT_EQ(no_salt.error().field, "salt");
}

}  // namespace
}  // namespace fjord::security
