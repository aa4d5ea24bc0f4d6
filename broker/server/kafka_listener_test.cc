// File: broker/server/kafka_listener_test.cc
//
// The listener over real loopback sockets, with a scripted handler: order
// of pipelined responses, acks=0-style no-response slots, frame size
// limits, backpressure, idle timeout, and shutdown with requests pending;
// then the same over TLS (real certificates from common/tls/cert_gen, a
// blocking OpenSSL client), handshake failures, the client certificate's
// identity, a reloaded certificate, and a TLS client on a plaintext port.

#include "broker/server/kafka_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>

#include "common/tls/cert_gen.h"
#include "common/tls/engine.h"
#include "common/tls/tls.h"
#include "common/tls/watcher.h"

// Designated initializers name only the fields a test is about.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace fjord::broker {
namespace {

using namespace std::chrono_literals;

/// Records frames; replies according to the first byte of each frame:
///   'e' echo now, 'd' echo after 50 ms, 'n' no response, 'c' close,
///   'h' hold (reply only when release() is called).
class scripted_handler : public frame_handler {
  public:
    kafka_listener* listener = nullptr;

    void on_frame(const std::shared_ptr<session>& s, std::string frame, reply_fn reply) override {
        {
            std::lock_guard g(_mu);
            _frames.push_back(frame);
            _principals.push_back(s->principal());
        }
        _cv.notify_all();
        switch (frame.at(0)) {
            case 'd':
                listener->post_after(50ms, [frame, reply] { reply(reply_t::response(frame)); });
                break;
            case 'n':
                reply(reply_t::none());
                break;
            case 'c':
                reply(reply_t::close_connection());
                break;
            case 'h': {
                std::lock_guard g(_mu);
                _held.emplace_back(frame, reply);
                break;
            }
            default:
                reply(reply_t::response(frame));
        }
    }
    void on_close(const session&) override { ++closed; }

    size_t frames() {
        std::lock_guard g(_mu);
        return _frames.size();
    }
    std::vector<std::string> principals() {
        std::lock_guard g(_mu);
        return _principals;
    }
    bool wait_frames(size_t n, std::chrono::milliseconds timeout = 2000ms) {
        std::unique_lock lk(_mu);
        return _cv.wait_for(lk, timeout, [&] { return _frames.size() >= n; });
    }
    void release() {
        std::vector<std::pair<std::string, reply_fn>> held;
        {
            std::lock_guard g(_mu);
            held.swap(_held);
        }
        for (auto& [f, r] : held) {
            r(reply_t::response(f));
        }
    }
    std::atomic<int> closed{0};

  private:
    std::mutex _mu;
    std::condition_variable _cv;
    std::vector<std::string> _frames;
    std::vector<std::string> _principals;
    std::vector<std::pair<std::string, reply_fn>> _held;
};

int connect_to(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
}

std::string framed(const std::string& body) {
    const auto n = static_cast<uint32_t>(body.size());
    std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                    static_cast<char>(n >> 8), static_cast<char>(n)};
    return out + body;
}

void send_all(int fd, const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        ASSERT_GT(n, 0);
        off += static_cast<size_t>(n);
    }
}

/// Reads one response frame; nullopt on EOF or timeout.
std::optional<std::string> read_frame(int fd, std::chrono::milliseconds timeout = 2000ms) {
    auto read_n = [&](size_t n) -> std::optional<std::string> {
        std::string out;
        while (out.size() < n) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
                return std::nullopt;
            }
            char buf[4096];
            const ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
            if (r <= 0) {
                return std::nullopt;
            }
            out.append(buf, static_cast<size_t>(r));
        }
        return out;
    };
    auto size = read_n(4);
    if (!size) {
        return std::nullopt;
    }
    const uint32_t n = (static_cast<uint32_t>(static_cast<uint8_t>((*size)[0])) << 24) |
                       (static_cast<uint32_t>(static_cast<uint8_t>((*size)[1])) << 16) |
                       (static_cast<uint32_t>(static_cast<uint8_t>((*size)[2])) << 8) |
                       static_cast<uint32_t>(static_cast<uint8_t>((*size)[3]));
    return read_n(n);
}

bool peer_closed(int fd, std::chrono::milliseconds timeout = 2000ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
        return false;
    }
    char c;
    return ::recv(fd, &c, 1, 0) == 0;
}

/// Reads until the peer closes (true) or `timeout` passes in silence.
bool drained_to_eof(int fd, std::chrono::milliseconds timeout = 2000ms) {
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
            return false;
        }
        char buf[4096];
        const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r <= 0) {
            return r == 0;
        }
    }
}

struct listener_fixture : ::testing::Test {
    scripted_handler handler;
    std::unique_ptr<kafka_listener> listener;

    void start(listener_options o = {}) {
        o.port = 0;
        auto l = kafka_listener::start(o, handler);
        ASSERT_TRUE(l) << l.error().detail;
        listener = std::move(*l);
        handler.listener = listener.get();
    }
    void TearDown() override {
        if (listener) {
            listener->stop();
        }
    }
};

TEST_F(listener_fixture, pipelined_responses_keep_request_order) {
    start();
    const int fd = connect_to(listener->port());
    // The first reply is delayed, the second immediate, the third sends
    // nothing (acks=0): the client still reads them in request order.
    send_all(fd, framed("d-first-request") + framed("e-second-request") +
                     framed("n-no-response-xx") + framed("e-fourth-request"));
    EXPECT_EQ(read_frame(fd), "d-first-request");
    EXPECT_EQ(read_frame(fd), "e-second-request");
    EXPECT_EQ(read_frame(fd), "e-fourth-request");
    EXPECT_EQ(read_frame(fd, 200ms), std::nullopt);
    ::close(fd);
}

/// Echo frames of sizes around the read buffer's steps (8 KiB initial,
/// doubling to 64 KiB, larger frames read on their own).
std::vector<std::string> assorted_frames() {
    std::vector<std::string> out;
    for (size_t n : {1, 100, 8187, 8188, 8189, 16380, 16400, 40000, 65531, 65532, 65533, 70000,
                     200000, 2, 300}) {
        std::string f(n, static_cast<char>('a' + n % 26));
        f[0] = 'e';
        out.push_back(f);
    }
    return out;
}

TEST_F(listener_fixture, frames_of_any_size_arrive_whole_however_the_bytes_are_split) {
    start();
    const auto frames = assorted_frames();
    std::string stream;
    for (const auto& f : frames) {
        stream += framed(f);
    }
    // All at once, then in uneven pieces with pauses between them.
    const int fd = connect_to(listener->port());
    send_all(fd, stream);
    for (const auto& f : frames) {
        ASSERT_EQ(read_frame(fd), f);
    }
    size_t off = 0;
    for (size_t piece = 1; off < stream.size(); piece = piece * 3 + 1) {
        const size_t n = std::min(piece, stream.size() - off);
        send_all(fd, stream.substr(off, n));
        off += n;
        std::this_thread::sleep_for(1ms);
    }
    for (const auto& f : frames) {
        ASSERT_EQ(read_frame(fd), f);
    }
    ::close(fd);
}

TEST_F(listener_fixture, oversized_and_undersized_frames_close_only_that_connection) {
    listener_options o;
    o.max_frame_bytes = 1024;
    start(o);
    const int good = connect_to(listener->port());
    const int big = connect_to(listener->port());
    const int tiny = connect_to(listener->port());
    send_all(big, std::string("\x00\x00\x04\x01", 4));  // 1025 bytes announced
    // Empty: refused. (A short frame is not: after SaslHandshake v0 a raw
    // SASL token may be shorter than a request header; the dispatcher
    // refuses a short one that should be a request.)
    send_all(tiny, std::string("\x00\x00\x00\x00", 4));
    EXPECT_TRUE(peer_closed(big));
    EXPECT_TRUE(peer_closed(tiny));
    EXPECT_EQ(handler.frames(), 0u);
    send_all(good, framed("e-still-serving"));
    EXPECT_EQ(read_frame(good), "e-still-serving");
    // A negative size (high bit set) is refused too.
    const int negative = connect_to(listener->port());
    send_all(negative, std::string("\xff\xff\xff\xf0", 4));
    EXPECT_TRUE(peer_closed(negative));
    for (int fd : {good, big, tiny, negative}) {
        ::close(fd);
    }
}

TEST_F(listener_fixture, a_close_reply_flushes_earlier_responses_first) {
    start();
    const int fd = connect_to(listener->port());
    send_all(fd, framed("d-before-close") + framed("c-close-now-xxx") + framed("e-never-read"));
    EXPECT_EQ(read_frame(fd), "d-before-close");
    EXPECT_TRUE(peer_closed(fd));
    ::close(fd);
}

TEST_F(listener_fixture, backpressure_stops_reading_at_max_in_flight) {
    listener_options o;
    o.max_in_flight = 2;
    start(o);
    const int fd = connect_to(listener->port());
    send_all(fd, framed("h-held-one-xxx") + framed("h-held-two-xxx") + framed("e-third-xxxxxx"));
    ASSERT_TRUE(handler.wait_frames(2));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(handler.frames(), 2u) << "read a third request with two awaiting replies";
    handler.release();
    EXPECT_EQ(read_frame(fd), "h-held-one-xxx");
    EXPECT_EQ(read_frame(fd), "h-held-two-xxx");
    EXPECT_EQ(read_frame(fd), "e-third-xxxxxx");
    ::close(fd);
}

TEST_F(listener_fixture, idle_connections_are_closed) {
    listener_options o;
    o.idle_timeout = 150ms;
    start(o);
    const int fd = connect_to(listener->port());
    send_all(fd, framed("e-hello-xxxxx"));
    EXPECT_EQ(read_frame(fd), "e-hello-xxxxx");
    EXPECT_TRUE(peer_closed(fd, 2000ms));
    ::close(fd);
}

TEST_F(listener_fixture, stop_with_replies_pending_closes_connections) {
    start();
    const int fd = connect_to(listener->port());
    send_all(fd, framed("h-held-forever"));
    ASSERT_TRUE(handler.wait_frames(1));
    listener->stop();
    EXPECT_TRUE(peer_closed(fd));
    handler.release();  // replying to a stopped listener is harmless
    ::close(fd);
}

TEST(kafka_listener, a_port_in_use_is_an_error_naming_it) {
    scripted_handler h;
    auto first = kafka_listener::start({.port = 0}, h);
    ASSERT_TRUE(first);
    listener_options o;
    o.port = (*first)->port();
    auto second = kafka_listener::start(o, h);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().detail.find(std::to_string(o.port)), std::string::npos);
}

// ---------------------------------------------------------------- TLS

namespace fs = std::filesystem;

/// A CA, a server certificate for 127.0.0.1, client certificates from it
/// and from a CA the server does not trust, in files the watcher reads.
struct pki {
    fs::path dir;
    tls::issued ca, server, alice, nobody, stranger_ca, stranger;

    pki() {
        char tpl[] = "/tmp/fjord-listener-test.XXXXXX";
        dir = ::mkdtemp(tpl);
        ca = *tls::make_ca({.common_name = "test CA"});
        server = *tls::issue(ca, {.common_name = "broker-1", .ip_addresses = {"127.0.0.1"}});
        alice = *tls::issue(ca, {.common_name = "Alice", .extra_subject = "OU=ops"});
        nobody = *tls::issue(ca, {.common_name = "Nobody", .extra_subject = "OU=guests"});
        stranger_ca = *tls::make_ca({.common_name = "other CA"});
        stranger = *tls::issue(stranger_ca, {.common_name = "Alice", .extra_subject = "OU=ops"});
        write("server.key", server.key_pem);
        write("server.pem", server.cert_pem);
        write("ca.pem", ca.cert_pem);
    }
    ~pki() { fs::remove_all(dir); }
    std::string path(const std::string& name) const { return (dir / name).string(); }
    void write(const std::string& name, const std::string& text) const {
        std::ofstream(path(name)) << text;
    }
    tls::tls_settings server_settings(bool require_client_auth) const {
        return {.enabled = true,
                .cert_file = path("server.pem"),
                .key_file = path("server.key"),
                .truststore_file = path("ca.pem"),
                .require_client_auth = require_client_auth};
    }
};

/// A blocking TLS client over a loopback socket.
class tls_client {
  public:
    /// Connects and handshakes, verifying the server against `trusted` and
    /// presenting `identity` when set.
    tls_client(uint16_t port, const tls::issued& trusted, const tls::issued* identity) {
        ::signal(SIGPIPE, SIG_IGN);  // a write to a connection the server closed
        auto creds = tls::check_credentials(identity ? identity->key_pem : "",
                                            identity ? identity->cert_pem : "", trusted.cert_pem,
                                            std::chrono::system_clock::now());
        EXPECT_TRUE(creds) << creds.error().detail;
        auto ctx = tls::make_client_context(*creds, false);
        EXPECT_TRUE(ctx);
        _ctx = std::move(*ctx);
        _fd = connect_to(port);
        timeval tv{2, 0};
        ::setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        _ssl = SSL_new(_ctx.get());
        SSL_set_fd(_ssl, _fd);
        EXPECT_TRUE(tls::verify_host(_ssl, "127.0.0.1"));
        _handshake_ok = SSL_connect(_ssl) == 1;
        if (!_handshake_ok) {
            _error = tls::describe_failure(_ssl);
        }
    }
    ~tls_client() {
        SSL_free(_ssl);
        ::close(_fd);
        ERR_clear_error();
    }
    bool handshake_ok() const { return _handshake_ok; }
    const std::string& error() const { return _error; }
    SSL* ssl() const { return _ssl; }

    bool send(const std::string& bytes) {
        size_t off = 0;
        while (off < bytes.size()) {
            const int n = SSL_write(_ssl, bytes.data() + off, static_cast<int>(bytes.size() - off));
            if (n <= 0) {
                return false;
            }
            off += static_cast<size_t>(n);
        }
        return true;
    }
    /// One response frame; nullopt on close, error or a 2 s silence.
    std::optional<std::string> read_frame() {
        auto size = read_n(4);
        if (!size) {
            return std::nullopt;
        }
        const auto* b = reinterpret_cast<const uint8_t*>(size->data());
        return read_n((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) |
                      uint32_t{b[3]});
    }
    /// Why the next read fails ("" if it succeeds): an alert from the server.
    std::string read_error() {
        char c;
        return SSL_read(_ssl, &c, 1) == 1 ? std::string() : tls::describe_failure(_ssl);
    }
    /// The server closed the connection (or failed it) rather than answer.
    bool closed() {
        char c;
        return SSL_read(_ssl, &c, 1) <= 0 && errno != EAGAIN;
    }

  private:
    std::optional<std::string> read_n(size_t n) {
        std::string out(n, '\0');
        size_t off = 0;
        while (off < n) {
            const int r = SSL_read(_ssl, out.data() + off, static_cast<int>(n - off));
            if (r <= 0) {
                return std::nullopt;
            }
            off += static_cast<size_t>(r);
        }
        return out;
    }

    tls::ssl_ctx_ptr _ctx;
    int _fd = -1;
    SSL* _ssl = nullptr;
    bool _handshake_ok = false;
    std::string _error;
};

struct tls_listener_fixture : listener_fixture {
    pki certs;
    std::shared_ptr<tls::credential_watcher> watcher;

    /// A TLS listener; subjects with OU=ops map to their CN lower-cased,
    /// others to nothing (refused).
    void start_tls(bool require_client_auth, listener_options o = {}) {
        auto w = tls::credential_watcher::start(certs.server_settings(require_client_auth),
                                                "test listener", certs.path("live"), 1h);
        ASSERT_TRUE(w) << w.error().detail;
        watcher = *w;
        o.tls = tls_options{
            .credentials = watcher,
            .map_subject = [](const std::string& subject) -> result<std::string> {
                const auto cn = subject.find("CN=");
                if (subject.find("OU=ops") == std::string::npos || cn == std::string::npos) {
                    return error_info(std::make_error_code(std::errc::invalid_argument),
                                      "no rule applies to \"" + subject + "\"");
                }
                std::string user = subject.substr(cn + 3, subject.find(',', cn) - cn - 3);
                for (auto& c : user) {
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                }
                return user;
            },
            .handshake_timeout = 300ms,
        };
        start(o);
    }
};

TEST_F(tls_listener_fixture, pipelined_small_and_large_responses_keep_their_order) {
    start_tls(false);
    tls_client c(listener->port(), certs.ca, nullptr);
    ASSERT_TRUE(c.handshake_ok()) << c.error();
    // Small responses share records; a large one (bigger than the read
    // buffer and than a TLS record) goes on its own; order holds throughout.
    const std::string large = "e" + std::string(300 * 1024, 'L');
    std::string batch = framed("d-first-request") + framed("e-second") + framed("n-nothing");
    batch += framed(large);
    for (int i = 0; i < 100; ++i) {
        batch += framed("e-small-" + std::to_string(i));
    }
    ASSERT_TRUE(c.send(batch));
    EXPECT_EQ(c.read_frame(), "d-first-request");
    EXPECT_EQ(c.read_frame(), "e-second");
    EXPECT_EQ(c.read_frame(), large);
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(c.read_frame(), "e-small-" + std::to_string(i));
    }
    // No certificate presented: anonymous.
    EXPECT_EQ(handler.principals().at(0), anonymous_principal);
}

TEST_F(tls_listener_fixture, frames_of_any_size_arrive_whole) {
    start_tls(false);
    tls_client c(listener->port(), certs.ca, nullptr);
    ASSERT_TRUE(c.handshake_ok()) << c.error();
    const auto frames = assorted_frames();
    for (int round = 0; round < 2; ++round) {
        std::string stream;
        for (const auto& f : frames) {
            stream += framed(f);
        }
        ASSERT_TRUE(c.send(stream));
        for (const auto& f : frames) {
            ASSERT_EQ(c.read_frame(), f);
        }
    }
}

TEST_F(tls_listener_fixture,
       a_verified_client_certificate_is_the_principal_and_unmapped_is_refused) {
    start_tls(true);
    tls_client alice(listener->port(), certs.ca, &certs.alice);
    ASSERT_TRUE(alice.handshake_ok()) << alice.error();
    ASSERT_TRUE(alice.send(framed("e-from-alice")));
    EXPECT_EQ(alice.read_frame(), "e-from-alice");
    EXPECT_EQ(handler.principals(), std::vector<std::string>{"User:alice"});

    // A certificate the rules map to nobody: closed before any frame.
    tls_client nobody(listener->port(), certs.ca, &certs.nobody);
    if (nobody.handshake_ok()) {  // TLS 1.3: the client is done before the server decides
        nobody.send(framed("e-from-nobody"));
        EXPECT_TRUE(nobody.closed());
    }
    EXPECT_EQ(handler.frames(), 1u);
}

TEST_F(tls_listener_fixture, failed_handshakes_close_only_their_connection) {
    start_tls(true);
    // A certificate from a CA the server does not trust.
    tls_client stranger(listener->port(), certs.ca, &certs.stranger);
    if (stranger.handshake_ok()) {
        stranger.send(framed("e-from-stranger"));
        EXPECT_TRUE(stranger.closed());
    }
    // No certificate where one is required.
    tls_client anonymous(listener->port(), certs.ca, nullptr);
    if (anonymous.handshake_ok()) {
        anonymous.send(framed("e-from-anonymous"));
        EXPECT_TRUE(anonymous.closed());
    }
    // A client that does not trust the server's CA gives up.
    tls_client distrustful(listener->port(), certs.stranger_ca, &certs.alice);
    EXPECT_FALSE(distrustful.handshake_ok());
    EXPECT_NE(distrustful.error().find("not signed by a trusted CA"), std::string::npos)
        << distrustful.error();
    // A plaintext Kafka client: closed without an answer.
    const int plain = connect_to(listener->port());
    send_all(plain, framed("e-plaintext-request"));
    EXPECT_TRUE(peer_closed(plain));
    ::close(plain);
    // A client that connects and says nothing: closed at the handshake timeout.
    const int silent = connect_to(listener->port());
    EXPECT_TRUE(peer_closed(silent, 2000ms));
    ::close(silent);

    EXPECT_EQ(handler.frames(), 0u);
    tls_client alice(listener->port(), certs.ca, &certs.alice);
    ASSERT_TRUE(alice.handshake_ok()) << alice.error();
    ASSERT_TRUE(alice.send(framed("e-still-serving")));
    EXPECT_EQ(alice.read_frame(), "e-still-serving");
}

TEST_F(tls_listener_fixture, a_refused_client_hears_why_in_an_alert) {
    start_tls(true);
    tls_client anonymous(listener->port(), certs.ca, nullptr);
    // TLS 1.3: the client is done before the server decides; the server's
    // alert arrives at its next read.
    const std::string why = anonymous.handshake_ok() ? anonymous.read_error() : anonymous.error();
    EXPECT_NE(why.find("certificate required"), std::string::npos) << why;
}

TEST_F(tls_listener_fixture, a_tampered_record_inside_a_large_frame_closes_that_connection) {
    start_tls(false);
    // The client is a tls::engine over a plain socket, so the test can flip
    // a bit of ciphertext.
    auto creds =
        tls::check_credentials("", "", certs.ca.cert_pem, std::chrono::system_clock::now());
    auto ctx = tls::make_client_context(*creds, false);
    ASSERT_TRUE(ctx);
    auto made = tls::engine::make(ctx->get(), tls::engine::role::client);
    ASSERT_TRUE(made);
    auto e = std::move(*made);
    const int fd = connect_to(listener->port());
    std::string wire;
    for (int i = 0; i < 10 && e->handshake() == tls::engine::status::want_input; ++i) {
        e->swap_output(wire);
        send_all(fd, wire);
        pollfd p{fd, POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, 2000), 1);
        auto space = e->input_space();
        const ssize_t n = ::recv(fd, space.data(), space.size(), 0);
        ASSERT_GT(n, 0);
        e->input_added(static_cast<size_t>(n));
    }
    ASSERT_TRUE(e->handshake_done()) << e->failure();
    // The first 100 KiB of a 200 KiB frame (larger than the read buffer: it
    // is read into its own string), the last record's tag broken.
    const std::string head = framed("e" + std::string(200 * 1024, 'x')).substr(0, 100 * 1024);
    ASSERT_TRUE(e->write(head.data(), head.size()));
    std::string records;
    e->swap_output(records);
    records[records.size() - 3] ^= 0x40;
    send_all(fd, records);  // the client's Finished, then the records
    EXPECT_TRUE(drained_to_eof(fd)) << "the broker kept a connection whose record failed";
    ::close(fd);
    EXPECT_EQ(handler.frames(), 0u);

    tls_client c(listener->port(), certs.ca, nullptr);
    ASSERT_TRUE(c.handshake_ok()) << c.error();
    ASSERT_TRUE(c.send(framed("e-still-serving")));
    EXPECT_EQ(c.read_frame(), "e-still-serving");
}

TEST_F(tls_listener_fixture, idle_timeout_and_backpressure_hold_over_tls) {
    listener_options o;
    o.idle_timeout = 200ms;
    o.max_in_flight = 2;
    start_tls(false, o);
    tls_client c(listener->port(), certs.ca, nullptr);
    ASSERT_TRUE(c.handshake_ok()) << c.error();
    ASSERT_TRUE(c.send(framed("h-held-one-xxx") + framed("h-held-two-xxx") + framed("e-third")));
    ASSERT_TRUE(handler.wait_frames(2));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(handler.frames(), 2u) << "read a third request with two awaiting replies";
    handler.release();
    EXPECT_EQ(c.read_frame(), "h-held-one-xxx");
    EXPECT_EQ(c.read_frame(), "h-held-two-xxx");
    EXPECT_EQ(c.read_frame(), "e-third");
    EXPECT_TRUE(c.closed()) << "an idle TLS connection stayed open";
}

TEST_F(tls_listener_fixture, new_connections_get_a_reloaded_certificate_and_open_ones_keep_theirs) {
    start_tls(false);
    auto serial_of = [](SSL* ssl) {
        X509* cert = SSL_get0_peer_certificate(ssl);
        return cert == nullptr ? std::string() : tls::subject_rfc2253(cert);
    };
    tls_client before(listener->port(), certs.ca, nullptr);
    ASSERT_TRUE(before.handshake_ok()) << before.error();
    EXPECT_EQ(serial_of(before.ssl()), "CN=broker-1");

    auto next =
        *tls::issue(certs.ca, {.common_name = "broker-1-renewed", .ip_addresses = {"127.0.0.1"}});
    certs.write("server.key", next.key_pem);
    certs.write("server.pem", next.cert_pem);
    auto reloaded = watcher->reload();
    ASSERT_TRUE(reloaded && *reloaded);

    tls_client after(listener->port(), certs.ca, nullptr);
    ASSERT_TRUE(after.handshake_ok()) << after.error();
    EXPECT_EQ(serial_of(after.ssl()), "CN=broker-1-renewed");
    ASSERT_TRUE(before.send(framed("e-old-connection")));
    EXPECT_EQ(before.read_frame(), "e-old-connection");
}

TEST_F(listener_fixture, a_tls_client_on_a_plaintext_port_is_closed_and_others_are_served) {
    start();
    pki certs;
    tls_client c(listener->port(), certs.ca, nullptr);
    EXPECT_FALSE(c.handshake_ok());
    EXPECT_EQ(handler.frames(), 0u);
    const int fd = connect_to(listener->port());
    send_all(fd, framed("e-plaintext"));
    EXPECT_EQ(read_frame(fd), "e-plaintext");
    ::close(fd);
}

}  // namespace
}  // namespace fjord::broker
