// File: common/http_server_test.cc
//
// http_server over real loopback sockets with a raw client: exact responses
// for 200/404/405/HEAD, every rejection (400, 408, 431, 500, 505), robustness
// against garbage, slow clients and connection floods, large responses, and
// stop().

#include "common/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "common/log.h"

namespace fjord {
namespace {

[[maybe_unused]] const bool quiet_logs = [] {
    if (std::getenv("FJORD_LOG") == nullptr) {
        set_log_level(log_level::warn);
    }
    return true;
}();

// A connected TCP client socket to 127.0.0.1:port with a 5 s receive timeout
// (a hung server fails the test instead of hanging it).
int connect_to(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

void send_all(int fd, std::string_view data) {
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n <= 0) {
            return;  // the server may close early (e.g. after 431); the reply tells
        }
        done += static_cast<size_t>(n);
    }
}

std::string read_to_eof(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            return out;
        }
        out.append(buf, static_cast<size_t>(n));
    }
}

// Sends `raw`, then reads the whole response (the server closes after it).
std::string fetch(uint16_t port, std::string_view raw) {
    const int fd = connect_to(port);
    if (fd < 0) {
        return "<connect failed>";
    }
    send_all(fd, raw);
    std::string out = read_to_eof(fd);
    ::close(fd);
    return out;
}

std::string get(uint16_t port, std::string_view path) {
    return fetch(port, fmt::format("GET {} HTTP/1.1\r\nHost: localhost\r\n\r\n", path));
}

std::string status_line(const std::string& response) {
    return response.substr(0, response.find("\r\n"));
}

class http_server_test : public ::testing::Test {
  protected:
    void SetUp() override { start({}); }

    void start(http_server_options opts) {
        _server.reset();
        std::map<std::string, http_handler> handlers;
        handlers["/healthz"] = [](const http_request&) {
            return http_response{200, "text/plain; charset=utf-8", "ok\n"};
        };
        handlers["/metrics"] = [](const http_request&) {
            return http_response{200, "text/plain; version=0.0.4; charset=utf-8", "up 1\n"};
        };
        handlers["/echo"] = [](const http_request& r) {
            return http_response{200, "text/plain",
                                 r.method + " " + r.target + " " + r.path + " " + r.query};
        };
        handlers["/throw"] = [](const http_request&) -> http_response {
            throw std::runtime_error("boom");
        };
        handlers["/bad_status"] = [](const http_request&) { return http_response{42, "x", ""}; };
        handlers["/bad_type"] = [](const http_request&) {
            return http_response{200, "text/plain\r\nX-Injected: 1", ""};
        };
        handlers["/big"] = [](const http_request&) {
            return http_response{200, "application/octet-stream", std::string(4 << 20, 'x')};
        };
        opts.host = "127.0.0.1";
        opts.port = 0;
        auto s = http_server::start(opts, std::move(handlers));
        ASSERT_TRUE(s) << s.error().message();
        _server = std::move(*s);
        ASSERT_NE(_server->port(), 0);
    }

    uint16_t port() const { return _server->port(); }

    std::unique_ptr<http_server> _server;
};

TEST_F(http_server_test, get_serves_handler_exactly) {
    EXPECT_EQ(get(port(), "/metrics"),
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Content-Length: 5\r\n"
              "Connection: close\r\n"
              "\r\n"
              "up 1\n");
    EXPECT_EQ(get(port(), "/healthz"),
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 3\r\n"
              "Connection: close\r\n"
              "\r\n"
              "ok\n");
}

TEST_F(http_server_test, request_fields_reach_the_handler) {
    const std::string r = get(port(), "/echo?a=1&b");
    EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "GET /echo?a=1&b /echo a=1&b");
    // absolute-form target, HTTP/1.0 without Host, bare-LF line ends.
    const std::string r2 = fetch(port(), "GET http://example.com/echo?q HTTP/1.0\n\n");
    EXPECT_EQ(r2.substr(r2.find("\r\n\r\n") + 4), "GET http://example.com/echo?q /echo q");
}

TEST_F(http_server_test, unknown_path_is_404) {
    EXPECT_EQ(get(port(), "/nope"),
              "HTTP/1.1 404 Not Found\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 10\r\n"
              "Connection: close\r\n"
              "\r\n"
              "not found\n");
}

TEST_F(http_server_test, non_get_is_405_with_allow) {
    EXPECT_EQ(fetch(port(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
              "HTTP/1.1 405 Method Not Allowed\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 24\r\n"
              "Allow: GET, HEAD\r\n"
              "Connection: close\r\n"
              "\r\n"
              "method POST not allowed\n");
}

TEST_F(http_server_test, head_has_headers_but_no_body) {
    EXPECT_EQ(fetch(port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 3\r\n"
              "Connection: close\r\n"
              "\r\n");
}

TEST_F(http_server_test, malformed_requests_are_400) {
    struct bad_case {
        std::string request;
        std::string reason;
    };
    const std::vector<bad_case> cases = {
        {"GARBAGE\r\n\r\n", "request line is not \"METHOD target HTTP/x.y\""},
        {"GET /healthz\r\n\r\n", "request line is not \"METHOD target HTTP/x.y\""},
        {"GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
         "request line is not \"METHOD target HTTP/x.y\""},
        {"G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "malformed method"},
        {"GET /healthz HTTP/1.1x\r\nHost: x\r\n\r\n", "malformed HTTP version"},
        {"GET /healthz FTP/1.1\r\nHost: x\r\n\r\n", "malformed HTTP version"},
        {"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", "request target must be a path"},
        {"GET /healthz HTTP/1.1\r\n\r\n", "missing Host header"},
        {"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "more than one Host header"},
        {"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", "malformed header line"},
        {"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", "malformed header line"},
        {"GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n",
         "obsolete header line folding"},
        {std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 42),
         "control character in header value"},
        {"\r\n\r\n", "empty request"},
    };
    for (const bad_case& c : cases) {
        const std::string r = fetch(port(), c.request);
        EXPECT_EQ(status_line(r), "HTTP/1.1 400 Bad Request") << c.request;
        EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), c.reason + "\n") << c.request;
    }
}

TEST_F(http_server_test, http2_is_505) {
    EXPECT_EQ(status_line(fetch(port(), "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n")),
              "HTTP/1.1 505 HTTP Version Not Supported");
}

TEST_F(http_server_test, oversized_head_is_431) {
    // No end of head within 8 KiB...
    std::string big = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(9000, 'a');
    std::string r = fetch(port(), big);
    EXPECT_EQ(status_line(r), "HTTP/1.1 431 Request Header Fields Too Large");
    EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "request head exceeds 8192 bytes\n");
    // ...or a complete head that is too long, sent at once with more after it.
    big += "\r\n\r\n" + std::string(100000, 'b');
    EXPECT_EQ(status_line(fetch(port(), big)), "HTTP/1.1 431 Request Header Fields Too Large");
    // Exactly at the limit is fine.
    std::string fits = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    fits += std::string(8192 - fits.size() - 4, 'a') + "\r\n\r\n";
    ASSERT_EQ(fits.size(), 8192u);
    EXPECT_EQ(status_line(fetch(port(), fits)), "HTTP/1.1 200 OK");
}

TEST_F(http_server_test, handler_failures_are_500) {
    for (const char* path : {"/throw", "/bad_status", "/bad_type"}) {
        const std::string r = get(port(), path);
        EXPECT_EQ(status_line(r), "HTTP/1.1 500 Internal Server Error") << path;
        EXPECT_EQ(r.find("X-Injected"), std::string::npos);
    }
}

TEST_F(http_server_test, large_response_arrives_whole) {
    const std::string r = get(port(), "/big");
    ASSERT_EQ(status_line(r), "HTTP/1.1 200 OK");
    EXPECT_NE(r.find("Content-Length: 4194304\r\n"), std::string::npos);
    EXPECT_EQ(r.size() - (r.find("\r\n\r\n") + 4), size_t{4} << 20);
}

TEST_F(http_server_test, slow_client_gets_408_and_does_not_block_others) {
    http_server_options o;
    o.read_timeout = std::chrono::milliseconds(1000);
    start(o);
    const int slow = connect_to(port());
    ASSERT_GE(slow, 0);
    send_all(slow, "GET /healthz HTTP/1.1\r\n");  // never finishes its head
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(status_line(get(port(), "/healthz")), "HTTP/1.1 200 OK");
    // Served while the slow client still holds its connection.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
    const std::string r = read_to_eof(slow);
    ::close(slow);
    EXPECT_EQ(status_line(r), "HTTP/1.1 408 Request Timeout");
}

TEST_F(http_server_test, connection_cap_queues_instead_of_failing) {
    http_server_options o;
    o.read_timeout = std::chrono::milliseconds(200);
    o.max_connections = 2;
    start(o);
    const int idle1 = connect_to(port());
    const int idle2 = connect_to(port());
    ASSERT_GE(idle1, 0);
    ASSERT_GE(idle2, 0);
    // Served once the idle ones time out (the cap holds it in the backlog).
    EXPECT_EQ(status_line(get(port(), "/healthz")), "HTTP/1.1 200 OK");
    ::close(idle1);
    ::close(idle2);
}

TEST_F(http_server_test, garbage_never_breaks_the_server) {
    std::mt19937 rng(12345);
    for (int i = 0; i < 200; ++i) {
        std::string junk(rng() % 300, '\0');
        for (char& c : junk) {
            c = static_cast<char>(rng() % 256);
        }
        if (i % 2 == 0) {
            junk += "\r\n\r\n";
        }
        if (i % 3 == 0) {
            junk = "GET /" + junk;
        }
        const int fd = connect_to(port());
        ASSERT_GE(fd, 0);
        send_all(fd, junk);
        ::shutdown(fd, SHUT_WR);  // EOF mid-head must be handled too
        const std::string r = read_to_eof(fd);
        ::close(fd);
        if (!r.empty()) {
            EXPECT_EQ(r.substr(0, 9), "HTTP/1.1 ") << i;
        }
    }
    EXPECT_EQ(status_line(get(port(), "/healthz")), "HTTP/1.1 200 OK");
}

TEST_F(http_server_test, client_closing_early_is_harmless) {
    for (int i = 0; i < 20; ++i) {
        const int fd = connect_to(port());
        ASSERT_GE(fd, 0);
        send_all(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
        ::close(fd);  // before reading the 4 MiB answer
    }
    EXPECT_EQ(status_line(get(port(), "/healthz")), "HTTP/1.1 200 OK");
}

TEST_F(http_server_test, stop_closes_the_listener_and_is_idempotent) {
    const uint16_t p = port();
    const int open_conn = connect_to(p);  // an open connection does not delay stop
    ASSERT_GE(open_conn, 0);
    _server->stop();
    _server->stop();
    EXPECT_EQ(connect_to(p), -1);
    EXPECT_EQ(read_to_eof(open_conn), "");
    ::close(open_conn);
    _server.reset();
}

TEST(http_server, bind_conflict_is_an_error) {
    auto a = http_server::start({}, {});
    ASSERT_TRUE(a) << a.error().message();
    http_server_options o;
    o.port = (*a)->port();
    auto b = http_server::start(o, {});
    ASSERT_FALSE(b);
    EXPECT_EQ(b.code(), std::errc::address_in_use);
    EXPECT_EQ(b.error().detail, fmt::format("bind 127.0.0.1:{}: Address already in use", o.port));
}

TEST(http_server, unresolvable_host_is_an_error) {
    http_server_options o;
    o.host = "no such host.invalid";
    auto s = http_server::start(o, {});
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().detail.find("resolve no such host.invalid:0: "), std::string::npos)
        << s.error().detail;
}

TEST(http_server, ipv6_loopback_in_brackets) {
    http_server_options o;
    o.host = "[::1]";
    auto s = http_server::start(o, {});
    if (!s) {
        GTEST_SKIP() << "no IPv6 loopback here: " << s.error().message();
    }
    EXPECT_NE((*s)->port(), 0);
}

}  // namespace
}  // namespace fjord
