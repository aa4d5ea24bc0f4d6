// File: common/tls/tls_test.cc
//
// Real certificates from cert_gen, real handshakes over memory BIOs: what a
// client and a server each see for good, expired, untrusted, wrong-host and
// mismatched-key material, and what the watcher does when files change.

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/tls/cert_gen.h"
#include "common/tls/tls.h"
#include "common/tls/watcher.h"

// Designated initializers name only the fields a test is about; GCC 12
// warns about every field left at its default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace fjord::tls {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct pki {
    issued ca;
    issued server;
    issued client;
};

pki make_pki(const std::string& ca_name = "test CA") {
    pki p;
    p.ca = *make_ca({.common_name = ca_name});
    p.server = *issue(
        p.ca,
        {.common_name = "broker-1", .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}});
    p.client = *issue(p.ca, {.common_name = "Alice", .extra_subject = "OU=ops,O=Example"});
    return p;
}

struct tmpdir {
    fs::path path;
    tmpdir() {
        char tpl[] = "/tmp/fjord-tls-test.XXXXXX";
        path = ::mkdtemp(tpl);
    }
    ~tmpdir() { fs::remove_all(path); }
    std::string file(const std::string& name, const std::string& text) const {
        const auto p = (path / name).string();
        std::ofstream(p) << text;
        return p;
    }
};

struct ssl_free {
    void operator()(SSL* s) const { SSL_free(s); }
};

/// A handshake between a client and a server over a memory BIO pair; the
/// outcome of each side.
struct handshake_result {
    bool client_ok = false;
    bool server_ok = false;
    std::string client_error;
    std::string server_error;
    std::string client_subject_seen_by_server;
};

handshake_result handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx, const std::string& host) {
    std::unique_ptr<SSL, ssl_free> s(SSL_new(server_ctx)), c(SSL_new(client_ctx));
    BIO *sb = nullptr, *cb = nullptr;
    BIO_new_bio_pair(&sb, 0, &cb, 0);
    SSL_set_bio(s.get(), sb, sb);
    SSL_set_bio(c.get(), cb, cb);
    SSL_set_accept_state(s.get());
    SSL_set_connect_state(c.get());
    EXPECT_TRUE(verify_host(c.get(), host));
    handshake_result r;
    bool c_done = false, s_done = false, c_failed = false, s_failed = false;
    for (int i = 0; i < 50 && !(c_done && s_done) && !(c_failed || s_failed); ++i) {
        if (!c_done && !c_failed) {
            const int rc = SSL_do_handshake(c.get());
            if (rc == 1) {
                c_done = true;
            } else if (const int e = SSL_get_error(c.get(), rc);
                       e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                c_failed = true;
                r.client_error = describe_failure(c.get());
            }
        }
        if (!s_done && !s_failed) {
            const int rc = SSL_do_handshake(s.get());
            if (rc == 1) {
                s_done = true;
            } else if (const int e = SSL_get_error(s.get(), rc);
                       e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                s_failed = true;
                r.server_error = describe_failure(s.get());
            }
        }
    }
    // TLS 1.3: the server learns of a client's rejection on its next read.
    if (c_done && s_done) {
        char buf[1];
        SSL_write(c.get(), "x", 1);
        if (SSL_read(s.get(), buf, 1) != 1) {
            s_done = false;
            r.server_error = describe_failure(s.get());
        }
    }
    r.client_ok = c_done;
    r.server_ok = s_done;
    if (s_done) {
        if (X509* peer = SSL_get0_peer_certificate(s.get())) {
            r.client_subject_seen_by_server = subject_rfc2253(peer);
        }
    }
    ERR_clear_error();
    return r;
}

credential_set creds(const issued& id, const issued& ca) {
    return *check_credentials(id.key_pem, id.cert_pem, ca.cert_pem,
                              std::chrono::system_clock::now());
}

TEST(Tls, HandshakeSucceedsAndServerSeesTheClientSubject) {
    const pki p = make_pki();
    auto server = make_server_context(creds(p.server, p.ca), true);
    auto client = make_client_context(creds(p.client, p.ca), false);
    ASSERT_TRUE(server && client);
    const auto r = handshake(server->get(), client->get(), "127.0.0.1");
    EXPECT_TRUE(r.client_ok) << r.client_error;
    EXPECT_TRUE(r.server_ok) << r.server_error;
    EXPECT_EQ(r.client_subject_seen_by_server, "O=Example,OU=ops,CN=Alice");
}

TEST(Tls, ByDnsName) {
    const pki p = make_pki();
    auto server = make_server_context(creds(p.server, p.ca), false);
    auto client = make_client_context(
        *check_credentials("", "", p.ca.cert_pem, std::chrono::system_clock::now()), false);
    const auto r = handshake(server->get(), client->get(), "localhost");
    EXPECT_TRUE(r.client_ok) << r.client_error;
}

TEST(Tls, WrongHostIsNamedOnTheClient) {
    const pki p = make_pki();
    auto server = make_server_context(creds(p.server, p.ca), false);
    auto client = make_client_context(
        *check_credentials("", "", p.ca.cert_pem, std::chrono::system_clock::now()), false);
    const auto r = handshake(server->get(), client->get(), "broker-9.example.com");
    EXPECT_FALSE(r.client_ok);
    EXPECT_NE(r.client_error.find("does not name the host"), std::string::npos) << r.client_error;
    EXPECT_FALSE(r.server_ok);
}

TEST(Tls, UntrustedServerIsNamedOnTheClient) {
    const pki p = make_pki();
    const pki other = make_pki("another CA");
    auto server = make_server_context(creds(p.server, p.ca), false);
    auto client = make_client_context(
        *check_credentials("", "", other.ca.cert_pem, std::chrono::system_clock::now()), false);
    const auto r = handshake(server->get(), client->get(), "127.0.0.1");
    EXPECT_FALSE(r.client_ok);
    EXPECT_NE(r.client_error.find("not signed by a trusted CA"), std::string::npos)
        << r.client_error;
}

TEST(Tls, InsecureSkipVerifyAcceptsAnUntrustedServer) {
    const pki p = make_pki();
    const pki other = make_pki("another CA");
    auto server = make_server_context(creds(p.server, p.ca), false);
    auto client = make_client_context(
        *check_credentials("", "", other.ca.cert_pem, std::chrono::system_clock::now()), true);
    EXPECT_TRUE(handshake(server->get(), client->get(), "127.0.0.1").client_ok);
}

TEST(Tls, ClientWithoutCertificateIsRefusedWhenRequired) {
    const pki p = make_pki();
    auto server = make_server_context(creds(p.server, p.ca), true);
    auto client = make_client_context(
        *check_credentials("", "", p.ca.cert_pem, std::chrono::system_clock::now()), false);
    const auto r = handshake(server->get(), client->get(), "127.0.0.1");
    EXPECT_FALSE(r.server_ok);
    EXPECT_NE(r.server_error.find("client certificate"), std::string::npos) << r.server_error;
}

TEST(Tls, UntrustedClientIsRefused) {
    const pki p = make_pki();
    const pki other = make_pki("another CA");
    auto server = make_server_context(creds(p.server, p.ca), true);
    auto client = make_client_context(creds(other.client, p.ca), false);
    const auto r = handshake(server->get(), client->get(), "127.0.0.1");
    EXPECT_FALSE(r.server_ok);
    EXPECT_NE(r.server_error.find("not signed by a trusted CA"), std::string::npos)
        << r.server_error;
}

TEST(Tls, LoadNamesTheFileAndTheReason) {
    const pki p = make_pki();
    const pki other = make_pki();
    tmpdir d;
    const auto now = std::chrono::system_clock::now();
    tls_settings s{.enabled = true,
                   .cert_file = d.file("s.crt", p.server.cert_pem),
                   .key_file = d.file("s.key", p.server.key_pem),
                   .truststore_file = d.file("ca.crt", p.ca.cert_pem)};
    auto ok = load_credentials(s, now);
    ASSERT_TRUE(ok) << ok.error().detail;
    EXPECT_EQ(ok->subject, "CN=broker-1");

    // Mismatched key.
    auto bad = s;
    bad.key_file = d.file("other.key", other.server.key_pem);
    auto r = load_credentials(bad, now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(tls_errc::key_mismatch));
    EXPECT_NE(r.error().detail.find("key_file " + bad.key_file), std::string::npos)
        << r.error().detail;

    // Expired, and not yet valid.
    r = load_credentials(s, now + std::chrono::hours(24 * 400));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(tls_errc::expired));
    EXPECT_NE(r.error().detail.find("cert_file " + s.cert_file), std::string::npos);
    EXPECT_NE(r.error().detail.find("expired on"), std::string::npos);
    r = load_credentials(s, now - std::chrono::hours(24));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(tls_errc::not_yet_valid));

    // A bundle cut short mid-certificate (copied over in place, read
    // half-written): refused, not served as its first part.
    bad = s;
    const std::string bundle = p.ca.cert_pem + other.ca.cert_pem;
    bad.truststore_file = d.file("cut.crt", bundle.substr(0, bundle.size() - 80));
    r = load_credentials(bad, now);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("1 of 2 certificate blocks parse"), std::string::npos)
        << r.error().detail;

    // Not PEM; missing.
    bad = s;
    bad.truststore_file = d.file("junk", "hello");
    r = load_credentials(bad, now);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("truststore_file"), std::string::npos) << r.error().detail;
    bad = s;
    bad.cert_file = (d.path / "missing.crt").string();
    r = load_credentials(bad, now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(tls_errc::unreadable));
}

TEST(Tls, SettingsChecks) {
    EXPECT_FALSE(check_server_settings({.enabled = true}, "kafka_tls"));
    EXPECT_FALSE(check_server_settings(
        {.enabled = true, .cert_file = "a", .key_file = "b", .require_client_auth = true}, "t"));
    EXPECT_TRUE(check_server_settings({.enabled = false}, "t"));
    EXPECT_FALSE(check_client_settings({.enabled = true, .cert_file = "a"}, "t"));
    EXPECT_TRUE(check_client_settings({.enabled = true, .truststore_file = "a"}, "t"));
}

TEST(Tls, ClientHelloDetection) {
    EXPECT_TRUE(looks_like_client_hello(std::string("\x16\x03\x01\x02\x00\x01", 6)));
    EXPECT_FALSE(looks_like_client_hello(std::string("\x00\x00\x00\x16\x00\x12", 6)));
}

TEST(Watcher, TakesGoodFilesAndRefusesBadOnes) {
    const pki p = make_pki();
    tmpdir d;
    tls_settings s{.enabled = true,
                   .cert_file = d.file("s.crt", p.server.cert_pem),
                   .key_file = d.file("s.key", p.server.key_pem),
                   .truststore_file = d.file("ca.crt", p.ca.cert_pem)};
    auto w = credential_watcher::start(s, "test", (d.path / "live").string(), 1h);
    ASSERT_TRUE(w) << w.error().detail;
    auto& watcher = **w;
    EXPECT_EQ(watcher.generation(), 1u);
    EXPECT_EQ(fs::status(watcher.live_identity_path()).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    int notified = 0;
    watcher.subscribe([&](const credential_set&) { ++notified; });

    // Unchanged files: nothing taken.
    auto r = watcher.reload();
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);

    // A new key that does not match the certificate: refused, old kept.
    const auto next = *issue(p.ca, {.common_name = "broker-1b", .ip_addresses = {"127.0.0.1"}});
    d.file("s.key", next.key_pem);
    r = watcher.reload();
    EXPECT_FALSE(r);
    EXPECT_EQ(watcher.generation(), 1u);
    EXPECT_EQ(watcher.current()->subject, "CN=broker-1");

    // Then the matching certificate: taken.
    d.file("s.crt", next.cert_pem);
    r = watcher.reload();
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_TRUE(*r);
    EXPECT_EQ(watcher.generation(), 2u);
    EXPECT_EQ(watcher.current()->subject, "CN=broker-1b");
    EXPECT_EQ(notified, 1);
    std::ifstream live(watcher.live_identity_path());
    const std::string text((std::istreambuf_iterator<char>(live)), {});
    EXPECT_NE(text.find(next.cert_pem), std::string::npos);
    EXPECT_NE(text.find(next.key_pem), std::string::npos);
}

TEST(Watcher, RefusesToStartOnBadFiles) {
    tmpdir d;
    tls_settings s{.enabled = true,
                   .cert_file = d.file("s.crt", "not a certificate"),
                   .key_file = d.file("s.key", "nor a key")};
    auto w = credential_watcher::start(s, "kafka listener", (d.path / "live").string());
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().detail.find("kafka listener: cert_file"), std::string::npos)
        << w.error().detail;
}

}  // namespace
}  // namespace fjord::tls
