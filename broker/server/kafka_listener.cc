// File: broker/server/kafka_listener.cc
//
// Boost.Asio behind kafka_listener.h. Asio stays in this file: nothing else
// in the broker includes it (its headers are large).

#include "broker/server/kafka_listener.h"

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <thread>

#include <boost/asio.hpp>

#include "common/log.h"

namespace fjord::broker {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

constexpr const char* component = "kafka";

std::string endpoint_string(const tcp::socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) {
        return "?";
    }
    return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

}  // namespace

class connection;

struct kafka_listener::impl {
    listener_options o;
    frame_handler& handler;
    /// Held weakly by every reply_fn: a reply may outlive the listener (it
    /// then posts to a stopped context, or to none, and nothing runs).
    std::shared_ptr<asio::io_context> io_ptr = std::make_shared<asio::io_context>();
    asio::io_context& io = *io_ptr;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    tcp::acceptor acceptor{io};
    std::thread thread;
    std::map<uint64_t, std::shared_ptr<connection>> conns;
    uint64_t next_id = 1;
    std::atomic<bool> stopping{false};
    uint16_t port = 0;

    impl(listener_options opts, frame_handler& h) : o(std::move(opts)), handler(h) {}
    void accept();
    void remove(uint64_t id) { conns.erase(id); }
};

/// One client connection; lives on the io thread only.
class connection : public std::enable_shared_from_this<connection> {
  public:
    connection(kafka_listener::impl& owner, tcp::socket s, uint64_t id)
        : _owner(owner),
          _sock(std::move(s)),
          _idle(owner.io),
          _session(std::make_shared<session>(id, endpoint_string(_sock))) {}

    void start() {
        boost::system::error_code ec;
        _sock.set_option(tcp::no_delay(true), ec);
        _last_activity = clock::now();
        arm_idle();
        read_size();
    }

    void close(std::string_view why) {
        if (_closed) {
            return;
        }
        _closed = true;
        log(log_level::debug, component, "connection {} from {} closed: {}", _session->id(),
            _session->peer(), why);
        boost::system::error_code ec;
        _sock.shutdown(tcp::socket::shutdown_both, ec);
        _sock.close(ec);
        _idle.cancel();
        _owner.handler.on_close(*_session);
        _owner.remove(_session->id());  // may drop the last owner: touch nothing after
    }

  private:
    bool can_read() const {
        return !_closed && !_closing && _pending.size() < _owner.o.max_in_flight &&
               _queued_bytes < _owner.o.max_queued_bytes;
    }

    void read_size() {
        if (!can_read()) {
            _reading = false;
            return;
        }
        _reading = true;
        asio::async_read(_sock, asio::buffer(_size_buf),
                         [self = shared_from_this()](boost::system::error_code ec, size_t) {
                             self->on_size(ec);
                         });
    }

    void on_size(boost::system::error_code ec) {
        if (ec) {
            close(ec == asio::error::eof ? "client closed" : ec.message());
            return;
        }
        const uint32_t size = (static_cast<uint32_t>(static_cast<uint8_t>(_size_buf[0])) << 24) |
                              (static_cast<uint32_t>(static_cast<uint8_t>(_size_buf[1])) << 16) |
                              (static_cast<uint32_t>(static_cast<uint8_t>(_size_buf[2])) << 8) |
                              static_cast<uint32_t>(static_cast<uint8_t>(_size_buf[3]));
        // Any non-empty frame: a Kafka request header is 8 bytes at least
        // (the dispatcher checks), but a raw SASL token (after SaslHandshake
        // v0) may be shorter.
        if (size < 1 || size > _owner.o.max_frame_bytes) {
            log(log_level::warn, component,
                "connection {} from {}: request size {} outside 1..{} bytes; closing",
                _session->id(), _session->peer(), static_cast<int32_t>(size),
                _owner.o.max_frame_bytes);
            close("bad request size");
            return;
        }
        _frame.resize(size);
        asio::async_read(_sock, asio::buffer(_frame),
                         [self = shared_from_this()](boost::system::error_code e, size_t) {
                             self->on_frame(e);
                         });
    }

    void on_frame(boost::system::error_code ec) {
        if (ec) {
            close(ec == asio::error::eof ? "client closed mid-request" : ec.message());
            return;
        }
        _last_activity = clock::now();
        const uint64_t seq = _next_seq++;
        _pending.emplace_back();
        std::weak_ptr<connection> weak = shared_from_this();
        // Weak: a reply held past the listener's end (a parked fetch's
        // timer) must not keep the io context, and its sockets, alive.
        std::weak_ptr<asio::io_context> io = _owner.io_ptr;
        reply_fn reply = [weak, seq, io](reply_t r) {
            auto ctx = io.lock();
            if (!ctx) {
                return;
            }
            asio::post(*ctx, [weak, seq, r = std::move(r)]() mutable {
                if (auto c = weak.lock()) {
                    c->complete(seq, std::move(r));
                }
            });
        };
        _owner.handler.on_frame(_session, std::move(_frame), std::move(reply));
        _frame = std::string();
        if (!_closed) {
            read_size();
        }
    }

    void complete(uint64_t seq, reply_t r) {
        if (_closed || seq < _first_seq || seq - _first_seq >= _pending.size()) {
            return;
        }
        auto& s = _pending[seq - _first_seq];
        s.ready = true;
        s.reply = std::move(r);
        while (!_pending.empty() && _pending.front().ready) {
            reply_t front = std::move(_pending.front().reply);
            _pending.pop_front();
            ++_first_seq;
            if (front.what == reply_t::kind::response) {
                enqueue(std::move(front.bytes));
            } else if (front.what == reply_t::kind::response_then_close) {
                enqueue(std::move(front.bytes));
                _closing = true;
                break;
            } else if (front.what == reply_t::kind::close) {
                _closing = true;
                break;
            }
        }
        if (_closing && !_writing) {
            close("closed by the request handler");
            return;
        }
        if (!_reading && can_read()) {
            read_size();
        }
    }

    /// Queues a response; the size prefix goes out with it in one gather
    /// write, so the body (a Fetch's records) is never copied here.
    void enqueue(std::string body) {
        const auto n = static_cast<uint32_t>(body.size());
        outgoing o;
        o.size = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                  static_cast<char>(n)};
        o.body = std::move(body);
        _queued_bytes += o.body.size() + 4;
        _out.push_back(std::move(o));
        if (!_writing) {
            write_next();
        }
    }

    void write_next() {
        if (_out.empty() || _closed) {
            _writing = false;
            if (_closing) {
                close("closed by the request handler");
            }
            return;
        }
        _writing = true;
        const std::array<asio::const_buffer, 2> bufs{asio::buffer(_out.front().size),
                                                     asio::buffer(_out.front().body)};
        asio::async_write(_sock, bufs,
                          [self = shared_from_this()](boost::system::error_code ec, size_t) {
                              self->on_written(ec);
                          });
    }

    void on_written(boost::system::error_code ec) {
        if (ec) {
            close(ec.message());
            return;
        }
        _queued_bytes -= _out.front().body.size() + 4;
        _out.pop_front();
        _last_activity = clock::now();
        write_next();
        if (!_closed && !_reading && can_read()) {
            read_size();
        }
    }

    void arm_idle() {
        _idle.expires_after(_owner.o.idle_timeout);
        _idle.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            if (ec) {
                return;
            }
            if (auto c = weak.lock()) {
                c->on_idle_timer();
            }
        });
    }

    void on_idle_timer() {
        if (_closed) {
            return;
        }
        const bool busy = !_pending.empty() || _writing;
        if (!busy && clock::now() - _last_activity >= _owner.o.idle_timeout) {
            close("idle");
            return;
        }
        arm_idle();
    }

    struct slot {
        bool ready = false;
        reply_t reply;
    };

    kafka_listener::impl& _owner;
    tcp::socket _sock;
    asio::steady_timer _idle;
    std::shared_ptr<session> _session;  // the connection's state (session.h)
    std::array<char, 4> _size_buf{};
    std::string _frame;
    std::deque<slot> _pending;  // requests awaiting their reply, in order
    uint64_t _first_seq = 0;    // sequence number of _pending.front()
    uint64_t _next_seq = 0;
    struct outgoing {
        std::array<char, 4> size{};
        std::string body;
    };
    std::deque<outgoing> _out;  // front() is being written; a deque keeps it in place
    size_t _queued_bytes = 0;
    bool _reading = false;
    bool _writing = false;
    bool _closing = false;
    bool _closed = false;
    clock::time_point _last_activity;
};

void kafka_listener::impl::accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
        if (ec) {
            if (ec != asio::error::operation_aborted) {
                log(log_level::warn, component, "accept: {}", ec.message());
                accept();
            }
            return;
        }
        const uint64_t id = next_id++;
        auto c = std::make_shared<connection>(*this, std::move(s), id);
        conns.emplace(id, c);
        c->start();
        accept();
    });
}

kafka_listener::kafka_listener(std::unique_ptr<impl> im) : _impl(std::move(im)) {}

kafka_listener::~kafka_listener() {
    stop();
}

result<std::unique_ptr<kafka_listener>> kafka_listener::start(listener_options o,
                                                              frame_handler& h) {
    auto im = std::make_unique<impl>(std::move(o), h);
    boost::system::error_code ec;
    auto address = asio::ip::make_address(im->o.host, ec);
    if (ec) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          fmt::format("listen host \"{}\": {}", im->o.host, ec.message()));
    }
    const tcp::endpoint ep(address, im->o.port);
    im->acceptor.open(ep.protocol(), ec);
    if (!ec) {
        im->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
        im->acceptor.bind(ep, ec);
    }
    if (!ec) {
        im->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return error_info(
            std::make_error_code(std::errc::address_in_use),
            fmt::format("cannot listen on {}:{}: {}", im->o.host, im->o.port, ec.message()));
    }
    im->port = im->acceptor.local_endpoint().port();
    im->accept();
    impl* raw = im.get();
    im->thread = std::thread([raw] { raw->io.run(); });
    return std::unique_ptr<kafka_listener>(new kafka_listener(std::move(im)));
}

uint16_t kafka_listener::port() const {
    return _impl->port;
}

void kafka_listener::post(std::function<void()> fn) {
    asio::post(_impl->io, std::move(fn));
}

void kafka_listener::post_after(std::chrono::milliseconds delay, std::function<void()> fn) {
    if (_impl->stopping) {
        return;
    }
    auto timer = std::make_shared<asio::steady_timer>(_impl->io, delay);
    timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) {
        if (!ec) {
            fn();
        }
    });
}

void kafka_listener::stop() {
    if (!_impl || _impl->stopping.exchange(true)) {
        return;
    }
    impl* im = _impl.get();
    asio::post(im->io, [im] {
        boost::system::error_code ec;
        im->acceptor.close(ec);
        auto conns = im->conns;  // close() removes from the map
        for (auto& [id, c] : conns) {
            c->close("broker shutting down");
        }
        im->work.reset();
        im->io.stop();  // abandons timers still armed (post_after)
    });
    if (im->thread.joinable()) {
        im->thread.join();
    }
}

}  // namespace fjord::broker
