// File: common/tls/probe_test.cc
//
// diagnose_endpoint against real loopback servers: a TLS server (with and
// without required client certificates) and a plaintext one, dialed with
// good, untrusted, wrong-host and missing TLS settings. Each case must name
// its mistake; a good handshake and a closed port must say nothing.

#include "common/tls/probe.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "common/tls/cert_gen.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace fjord::tls {
namespace {

namespace fs = std::filesystem;

struct tmpdir {
    fs::path path;
    tmpdir() {
        char tpl[] = "/tmp/fjord-probe-test.XXXXXX";
        path = ::mkdtemp(tpl);
    }
    ~tmpdir() { fs::remove_all(path); }
    std::string file(const std::string& name, const std::string& text) const {
        const auto p = (path / name).string();
        std::ofstream(p) << text;
        return p;
    }
};

/// Accepts connections on 127.0.0.1 until destroyed: a TLS handshake with
/// `ctx` (then waits for the client to close), or, without a context, a
/// plaintext server that answers anything with an HTTP/2-looking frame.
class server {
  public:
    explicit server(SSL_CTX* ctx) : _ctx(ctx) {
        _fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(_fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        socklen_t len = sizeof a;
        ::getsockname(_fd, reinterpret_cast<sockaddr*>(&a), &len);
        _port = ntohs(a.sin_port);
        ::listen(_fd, 8);
        _thread = std::thread([this] { run(); });
    }
    ~server() {
        _stop = true;
        ::shutdown(_fd, SHUT_RDWR);
        _thread.join();
        ::close(_fd);
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(_port); }

  private:
    void run() {
        while (!_stop) {
            const int c = ::accept(_fd, nullptr, nullptr);
            if (c < 0) {
                return;
            }
            if (_ctx == nullptr) {
                char buf[512];
                (void)::read(c, buf, sizeof buf);
                static const char frame[] = "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
                (void)::write(c, frame, sizeof frame - 1);
            } else {
                SSL* s = SSL_new(_ctx);
                SSL_set_fd(s, c);
                if (SSL_accept(s) == 1) {
                    char b;
                    (void)SSL_read(s, &b, 1);  // until the client closes
                }
                SSL_free(s);
            }
            ::close(c);
        }
    }

    SSL_CTX* _ctx;
    int _fd = -1;
    int _port = 0;
    std::atomic<bool> _stop{false};
    std::thread _thread;
};

struct fixture : ::testing::Test {
    // The servers above write to sockets the probe may have closed (a TLS
    // 1.3 server sends session tickets after the handshake).
    fixture() { std::signal(SIGPIPE, SIG_IGN); }
    tmpdir dir;
    issued ca = *make_ca({.common_name = "probe CA"});
    issued other_ca = *make_ca({.common_name = "other CA"});
    issued server_cert = *issue(ca, {.common_name = "ctl", .ip_addresses = {"127.0.0.1"}});
    issued elsewhere = *issue(ca, {.common_name = "ctl", .ip_addresses = {"10.9.9.9"}});
    issued client_cert = *issue(ca, {.common_name = "alice"});
    issued stranger = *issue(other_ca, {.common_name = "mallory"});

    ssl_ctx_ptr server_ctx(const issued& id, bool require_client_auth) {
        auto c = check_credentials(id.key_pem, id.cert_pem, ca.cert_pem,
                                   std::chrono::system_clock::now());
        EXPECT_TRUE(c) << c.error().detail;
        auto ctx = make_server_context(*c, require_client_auth);
        EXPECT_TRUE(ctx) << ctx.error().detail;
        return std::move(*ctx);
    }
    tls_settings client(const issued& trust, const issued* identity = nullptr) {
        tls_settings s;
        s.enabled = true;
        s.truststore_file = dir.file("trust.pem", trust.cert_pem);
        if (identity != nullptr) {
            s.cert_file = dir.file("client.pem", identity->cert_pem);
            s.key_file = dir.file("client.key", identity->key_pem);
        }
        return s;
    }
};

TEST_F(fixture, a_good_handshake_says_nothing) {
    auto ctx = server_ctx(server_cert, false);
    server srv(ctx.get());
    EXPECT_EQ(diagnose_endpoint(srv.address(), client(ca)), "");
}

TEST_F(fixture, untrusted_server_certificate) {
    auto ctx = server_ctx(server_cert, false);
    server srv(ctx.get());
    // OpenSSL's words depend on whether the server sends its CA along
    // ("self-signed certificate in certificate chain") or not ("unable to
    // get local issuer certificate"); the explanation is the same.
    const std::string why = diagnose_endpoint(srv.address(), client(other_ca));
    EXPECT_EQ(
        why.rfind("TLS handshake with " + srv.address() + " failed: certificate verify failed: ",
                  0),
        0u)
        << why;
    EXPECT_TRUE(why.ends_with("(the server's certificate is not signed by a trusted CA)")) << why;
}

TEST_F(fixture, certificate_for_another_host) {
    auto ctx = server_ctx(elsewhere, false);
    server srv(ctx.get());
    const std::string why = diagnose_endpoint(srv.address(), client(ca));
    EXPECT_EQ(
        why.rfind("TLS handshake with " + srv.address() + " failed: certificate verify failed: ",
                  0),
        0u)
        << why;
    EXPECT_NE(why.find("(the certificate does not name the host dialed)"), std::string::npos)
        << why;
}

TEST_F(fixture, tls_to_a_plaintext_port) {
    server srv(nullptr);
    const std::string why = diagnose_endpoint(srv.address(), client(ca));
    EXPECT_EQ(why.rfind("TLS handshake with " + srv.address() + " failed: ", 0), 0u) << why;
    EXPECT_NE(why.find("(the server answered in plaintext: is TLS enabled on that port?)"),
              std::string::npos)
        << why;
}

TEST_F(fixture, plaintext_to_a_tls_port) {
    auto ctx = server_ctx(server_cert, false);
    server srv(ctx.get());
    EXPECT_EQ(diagnose_endpoint(srv.address(), tls_settings{}),
              srv.address() + " serves TLS, but this client connected in plaintext");
    server plain(nullptr);
    EXPECT_EQ(diagnose_endpoint(plain.address(), tls_settings{}), "") << "plaintext to plaintext";
}

TEST_F(fixture, client_certificates_the_server_refuses) {
    auto ctx = server_ctx(server_cert, true);
    server srv(ctx.get());
    EXPECT_EQ(diagnose_endpoint(srv.address(), client(ca, &client_cert)), "");
    const std::string none = diagnose_endpoint(srv.address(), client(ca));
    EXPECT_EQ(none.rfind("TLS handshake with " + srv.address() + " failed: ", 0), 0u) << none;
    EXPECT_NE(none.find("client certificate"), std::string::npos) << none;
    const std::string foreign = diagnose_endpoint(srv.address(), client(ca, &stranger));
    EXPECT_NE(foreign.find("(the server refused this client's certificate)"), std::string::npos)
        << foreign;
}

TEST_F(fixture, nothing_listening_says_nothing) {
    std::string address;
    {
        server gone(nullptr);
        address = gone.address();
    }
    EXPECT_EQ(diagnose_endpoint(address, client(ca)), "");
}

}  // namespace
}  // namespace fjord::tls
