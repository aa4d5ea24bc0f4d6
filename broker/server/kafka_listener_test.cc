// File: broker/server/kafka_listener_test.cc
//
// The listener over real loopback sockets, with a scripted handler: order
// of pipelined responses, acks=0-style no-response slots, frame size
// limits, backpressure, idle timeout, and shutdown with requests pending.

#include "broker/server/kafka_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace fjord::broker {
namespace {

using namespace std::chrono_literals;

/// Records frames; replies according to the first byte of each frame:
///   'e' echo now, 'd' echo after 50 ms, 'n' no response, 'c' close,
///   'h' hold (reply only when release() is called).
class scripted_handler : public frame_handler {
  public:
    kafka_listener* listener = nullptr;

    void on_frame(const std::shared_ptr<session>&, std::string frame, reply_fn reply) override {
        {
            std::lock_guard g(_mu);
            _frames.push_back(frame);
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

}  // namespace
}  // namespace fjord::broker
