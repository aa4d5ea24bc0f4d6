// File: broker/server/kafka_listener.cc
//
// Boost.Asio behind kafka_listener.h, plaintext and TLS (asio::ssl over the
// SSL_CTX common/tls builds, so one cipher policy and FIPS mode govern it).
// Asio and OpenSSL's headers stay in this file: nothing else in the broker
// includes them (Asio's are large).
//
// A connection is a template over its stream (a TCP socket, or an
// asio::ssl::stream over one), so framing, ordering, backpressure and the
// idle timeout are one piece of code for both; only the start (the TLS
// handshake) and how a write lays out the queued responses differ.

#include "broker/server/kafka_listener.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <map>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "common/log.h"
#include "common/tls/tls.h"

namespace fjord::broker {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
using tls_stream = ssl::stream<tcp::socket>;
using raw_socket = tcp::socket::lowest_layer_type;

constexpr const char* component = "kafka";

/// A connection's read buffer starts this large (an idle connection costs
/// little) and doubles, up to read_chunk, while reads fill it or a frame
/// needs it; frames are cut from it. A frame larger than read_chunk is read
/// straight into its own string.
constexpr size_t initial_read_buffer = 8 * 1024;
constexpr size_t read_chunk = 64 * 1024;
/// Responses one write takes at most; the rest go with the next write.
constexpr size_t max_batch_responses = 64;
/// Over TLS: the plaintext OpenSSL puts in one record.
constexpr size_t tls_record = 16 * 1024;
/// Over TLS: a body up to this size is copied next to its size prefix (and
/// its neighbours') so that small responses share records; a larger one is
/// written from where it is, after its head tops up the current record.
constexpr size_t tls_copy_limit = 16 * 1024;
/// Over TLS: one write stages this much at most (then the batch ends).
constexpr size_t tls_staging_bytes = 256 * 1024;

std::string endpoint_string(const raw_socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) {
        return "?";
    }
    return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

uint32_t read_be32(const char* p) {
    return (static_cast<uint32_t>(static_cast<uint8_t>(p[0])) << 24) |
           (static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 8) |
           static_cast<uint32_t>(static_cast<uint8_t>(p[3]));
}

/// Why a TLS handshake failed, as a sentence (tls::describe_failure), and
/// how loud to say it: a TLS error is a warning; a peer that hung up
/// without one (a port probe, a health check) is information.
std::pair<log_level, std::string> handshake_failure(const boost::system::error_code& ec, SSL* ssl) {
    if (ec.category() == asio::error::get_ssl_category()) {
        // Asio took the first OpenSSL error off the queue into `ec`: put it
        // back, so describe_failure reads the whole story.
        const auto e = static_cast<unsigned long>(ec.value());
        ERR_raise(ERR_GET_LIB(e), ERR_GET_REASON(e));
        std::string why = tls::describe_failure(ssl);
        // An alert from the client: it refused this broker's certificate.
        if (why.find("alert unknown ca") != std::string::npos) {
            why += " (the client does not trust the CA that signed this broker's certificate)";
        } else if (why.find("alert bad certificate") != std::string::npos ||
                   why.find("alert certificate unknown") != std::string::npos) {
            why +=
                " (the client refused this broker's certificate: does it name the host the "
                "client dialed?)";
        }
        return {log_level::warn, why};
    }
    tls::drain_errors();
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated ||
        ec == asio::error::connection_reset) {
        return {log_level::info, "the client hung up without completing it"};
    }
    return {log_level::warn, ec.message()};
}

}  // namespace

/// What the listener keeps of each connection, whatever its stream.
class connection_base {
  public:
    virtual ~connection_base() = default;
    virtual void start() = 0;
    virtual void close(std::string_view why) = 0;
};

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
    std::map<uint64_t, std::shared_ptr<connection_base>> conns;
    uint64_t next_id = 1;
    std::atomic<bool> stopping{false};
    uint16_t port = 0;
    /// TLS: the context new connections get, and the credential watcher's
    /// generation it was built from. Open connections hold theirs.
    std::shared_ptr<ssl::context> tls_ctx;
    uint64_t tls_generation = 0;

    impl(listener_options opts, frame_handler& h) : o(std::move(opts)), handler(h) {}
    void accept();
    void remove(uint64_t id) { conns.erase(id); }
    result<void> refresh_tls_context();
};

namespace {

/// One client connection; lives on the io thread only.
template <class Stream>
class connection final : public connection_base,
                         public std::enable_shared_from_this<connection<Stream>> {
    static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  public:
    /// `stream_args` construct the stream (a socket; a socket and a context).
    template <class... A>
    connection(kafka_listener::impl& owner, uint64_t id, std::shared_ptr<ssl::context> ctx,
               A&&... stream_args)
        : _owner(owner),
          _ctx(std::move(ctx)),
          _stream(std::forward<A>(stream_args)...),
          _idle(owner.io),
          _handshake_timer(owner.io),
          _session(std::make_shared<session>(id, endpoint_string(socket()))) {}

    void start() override {
        boost::system::error_code ec;
        socket().set_option(tcp::no_delay(true), ec);
        _last_activity = clock::now();
        if constexpr (is_tls) {
            handshake();
        } else {
            arm_idle();
            pump();
        }
    }

    void close(std::string_view why) override {
        if (_closed) {
            return;
        }
        _closed = true;
        log(log_level::debug, component, "connection {} from {} closed: {}", _session->id(),
            _session->peer(), why);
        boost::system::error_code ec;
        socket().shutdown(tcp::socket::shutdown_both, ec);
        socket().close(ec);
        _idle.cancel();
        _handshake_timer.cancel();
        _owner.handler.on_close(*_session);
        _owner.remove(_session->id());  // may drop the last owner: touch nothing after
    }

  private:
    raw_socket& socket() { return _stream.lowest_layer(); }

    // --- TLS handshake (instantiated for tls_stream only)

    void handshake() {
        _handshake_timer.expires_after(_owner.o.tls->handshake_timeout);
        _handshake_timer.async_wait([weak = this->weak_from_this()](boost::system::error_code ec) {
            if (ec) {
                return;
            }
            if (auto c = weak.lock()) {
                c->on_handshake_timeout();
            }
        });
        _stream.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](
                                                              const boost::system::error_code& ec) {
            self->on_handshake(ec);
        });
    }

    void on_handshake_timeout() {
        if (_closed || _handshake_done) {
            return;
        }
        log(log_level::warn, component,
            "connection {} from {}: TLS handshake not done after {} ms; closing", _session->id(),
            _session->peer(), _owner.o.tls->handshake_timeout.count());
        close("TLS handshake timed out");
    }

    void on_handshake(const boost::system::error_code& ec) {
        _handshake_timer.cancel();
        if (_closed) {
            tls::drain_errors();
            return;
        }
        SSL* ssl = _stream.native_handle();
        if (ec) {
            const auto [level, why] = handshake_failure(ec, ssl);
            log(level, component, "connection {} from {}: TLS handshake failed: {}", _session->id(),
                _session->peer(), why);
            close("TLS handshake failed");
            return;
        }
        _handshake_done = true;
        X509* cert = SSL_get0_peer_certificate(ssl);
        if (cert != nullptr && SSL_get_verify_result(ssl) == X509_V_OK) {
            std::string subject = tls::subject_rfc2253(cert);
            if (const auto& map = _owner.o.tls->map_subject) {
                auto user = map(subject);
                if (!user) {
                    log(log_level::warn, component,
                        "connection {} from {}: client certificate \"{}\" refused: {}; closing",
                        _session->id(), _session->peer(), subject, user.error().detail);
                    close("client certificate maps to no principal");
                    return;
                }
                _session->set_certificate_identity(std::move(subject), std::move(*user));
            }
        }
        log(log_level::debug, component, "connection {} from {}: {} {}, principal {}",
            _session->id(), _session->peer(), SSL_get_version(ssl), SSL_get_cipher_name(ssl),
            _session->principal());
        _last_activity = clock::now();
        arm_idle();
        pump();
    }

    // --- reading

    bool can_read() const {
        return !_closed && !_closing && _pending.size() < _owner.o.max_in_flight &&
               _queued_bytes < _owner.o.max_queued_bytes;
    }

    /// Serves the frames buffered, then reads more unless backpressure (or
    /// a read already in flight) says not to. complete() and on_written()
    /// call it again when backpressure lifts.
    void pump() {
        if (_reading || _closed) {
            return;
        }
        size_t want = 0;  // bytes the buffer must hold for the next frame
        while (can_read()) {
            const size_t avail = _in_end - _in_start;
            const char* p = _in.get() + _in_start;
            if (!_first_checked) {
                // Six bytes tell a ClientHello (tls::looks_like_client_hello);
                // a Kafka request's first byte is never 22 (0x16: a size of
                // 369 MB and more), so others are decided at once.
                if (avail == 0 || (avail < 6 && p[0] == 0x16)) {
                    break;
                }
                _first_checked = true;
                if (!is_tls && tls::looks_like_client_hello(std::string_view(p, avail))) {
                    log(log_level::warn, component,
                        "connection {} from {}: TLS client on a plaintext port (it sent a TLS "
                        "ClientHello; this listener has no kafka_tls); closing",
                        _session->id(), _session->peer());
                    close("TLS client on a plaintext port");
                    return;
                }
            }
            if (avail < 4) {
                break;
            }
            const uint32_t size = read_be32(p);
            // Any non-empty frame: a Kafka request header is 8 bytes at least
            // (the dispatcher checks), but a raw SASL token (after
            // SaslHandshake v0) may be shorter.
            if (size < 1 || size > _owner.o.max_frame_bytes) {
                log(log_level::warn, component,
                    "connection {} from {}: request size {} outside 1..{} bytes; closing",
                    _session->id(), _session->peer(), static_cast<int32_t>(size),
                    _owner.o.max_frame_bytes);
                close("bad request size");
                return;
            }
            if (avail - 4 >= size) {
                std::string frame(p + 4, size);
                _in_start += 4 + size;
                dispatch(std::move(frame));
                continue;
            }
            if (size_t{4} + size > read_chunk) {
                // Too large for the buffer: the rest goes straight into the frame.
                _frame.resize(size);
                std::memcpy(_frame.data(), p + 4, avail - 4);
                const size_t have = avail - 4;
                _in_start = _in_end = 0;
                _reading = true;
                asio::async_read(
                    _stream, asio::buffer(_frame.data() + have, size - have),
                    [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
                        self->on_large_frame(ec);
                    });
                return;
            }
            want = std::max(want, size_t{4} + size);  // the rest of a frame: read more
            break;
        }
        if (!can_read()) {
            return;
        }
        make_room(want);
        _reading = true;
        _stream.async_read_some(
            asio::buffer(_in.get() + _in_end, _in_cap - _in_end),
            [self = this->shared_from_this()](boost::system::error_code ec, size_t n) {
                self->on_read(ec, n);
            });
    }

    void on_read(boost::system::error_code ec, size_t n) {
        _reading = false;
        if (_closed) {
            return;
        }
        if (ec) {
            close(ec == asio::error::eof ? "client closed" : ec.message());
            return;
        }
        _filled = _in_end + n == _in_cap;  // more may be waiting: grow
        _in_end += n;
        _last_activity = clock::now();
        pump();
    }

    /// Moves the unserved bytes to the front of the buffer, and grows it
    /// (up to read_chunk) to hold `want` bytes, or to twice its size after
    /// a read that filled it.
    void make_room(size_t want) {
        const size_t avail = _in_end - _in_start;
        size_t cap = std::max(_in_cap, initial_read_buffer);
        if (_filled) {
            cap *= 2;
        }
        while (cap < want) {
            cap *= 2;
        }
        cap = std::min(cap, read_chunk);
        _filled = false;
        if (cap != _in_cap) {
            std::unique_ptr<char[]> bigger(new char[cap]);
            if (avail > 0) {
                std::memcpy(bigger.get(), _in.get() + _in_start, avail);
            }
            _in = std::move(bigger);
            _in_cap = cap;
        } else if (_in_start > 0 && avail > 0) {
            std::memmove(_in.get(), _in.get() + _in_start, avail);
        }
        _in_start = 0;
        _in_end = avail;
    }

    void on_large_frame(boost::system::error_code ec) {
        _reading = false;
        if (_closed) {
            return;
        }
        if (ec) {
            close(ec == asio::error::eof ? "client closed mid-request" : ec.message());
            return;
        }
        _last_activity = clock::now();
        dispatch(std::move(_frame));
        _frame = std::string();
        pump();
    }

    void dispatch(std::string frame) {
        _last_activity = clock::now();
        const uint64_t seq = _next_seq++;
        _pending.emplace_back();
        std::weak_ptr<connection> weak = this->shared_from_this();
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
        _owner.handler.on_frame(_session, std::move(frame), std::move(reply));
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
            pump();
        }
    }

    // --- writing

    /// Queues a response; its size prefix goes out with it (see write_next),
    /// and the body (a Fetch's records) is not copied unless it is small.
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

    /// Writes the front of the queue, up to max_batch_responses responses at
    /// once: one gather write in plaintext; over TLS, see lay_out_for_tls.
    void write_next() {
        if (_out.empty() || _closed) {
            _writing = false;
            if (_closing) {
                close("closed by the request handler");
            }
            return;
        }
        _writing = true;
        _bufs.clear();
        if constexpr (is_tls) {
            lay_out_for_tls();
        } else {
            _batch = std::min(_out.size(), max_batch_responses);
            for (size_t i = 0; i < _batch; ++i) {
                _bufs.push_back(asio::buffer(_out[i].size));
                _bufs.push_back(asio::buffer(_out[i].body));
            }
        }
        asio::async_write(_stream, _bufs,
                          [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
                              self->on_written(ec);
                          });
    }

    /// Over TLS every buffer of a write is its own SSL_write, and every
    /// SSL_write at least one record and one system call: size prefixes
    /// and small bodies are copied into one staging buffer, so a run of
    /// small responses shares full records; a large body is written from
    /// where it is, after its head fills the record its size prefix began.
    void lay_out_for_tls() {
        _staging.clear();
        _segments.clear();
        size_t run_start = 0;  // where the current staged run began
        auto close_run = [&] {
            if (_staging.size() > run_start) {
                _segments.push_back({true, run_start, _staging.size() - run_start, nullptr});
            }
            run_start = _staging.size();
        };
        size_t i = 0;
        for (; i < _out.size() && i < max_batch_responses; ++i) {
            if (i > 0 && _staging.size() >= tls_staging_bytes) {
                break;
            }
            const outgoing& o = _out[i];
            _staging.append(o.size.data(), o.size.size());
            if (o.body.size() <= tls_copy_limit) {
                _staging.append(o.body);
                continue;
            }
            const size_t run = _staging.size() - run_start;
            const size_t head = (tls_record - run % tls_record) % tls_record;
            _staging.append(o.body.data(), head);
            close_run();
            _segments.push_back({false, 0, o.body.size() - head, o.body.data() + head});
        }
        close_run();
        _batch = i;
        for (const segment& s : _segments) {
            _bufs.emplace_back(s.staged ? _staging.data() + s.offset : s.data, s.length);
        }
    }

    void on_written(boost::system::error_code ec) {
        if (_closed) {
            return;
        }
        if (ec) {
            close(ec.message());
            return;
        }
        for (size_t i = 0; i < _batch; ++i) {
            _queued_bytes -= _out.front().body.size() + 4;
            _out.pop_front();
        }
        _batch = 0;
        _last_activity = clock::now();
        write_next();
        if (!_closed && !_reading && can_read()) {
            pump();
        }
    }

    // --- idle timeout

    void arm_idle() {
        _idle.expires_after(_owner.o.idle_timeout);
        _idle.async_wait([weak = this->weak_from_this()](boost::system::error_code ec) {
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
    struct outgoing {
        std::array<char, 4> size{};
        std::string body;
    };
    /// One buffer of a TLS write: a range of _staging, or a body's tail.
    struct segment {
        bool staged;
        size_t offset;
        size_t length;
        const char* data;
    };

    kafka_listener::impl& _owner;
    std::shared_ptr<ssl::context> _ctx;  // TLS: the context the stream was made from
    Stream _stream;
    asio::steady_timer _idle;
    asio::steady_timer _handshake_timer;
    std::shared_ptr<session> _session;  // the connection's state (session.h)
    // Bytes read and not yet served: [_in_start, _in_end) of _in (_in_cap
    // bytes, allocated at the first read; see make_room).
    std::unique_ptr<char[]> _in;
    size_t _in_cap = 0;
    size_t _in_start = 0;
    size_t _in_end = 0;
    bool _filled = false;          // the last read filled the buffer
    std::string _frame;            // a frame larger than _in, being read
    bool _first_checked = is_tls;  // the first bytes were checked for a ClientHello
    bool _handshake_done = false;
    std::deque<slot> _pending;  // requests awaiting their reply, in order
    uint64_t _first_seq = 0;    // sequence number of _pending.front()
    uint64_t _next_seq = 0;
    std::deque<outgoing> _out;  // the front _batch are being written; a deque keeps them in place
    size_t _batch = 0;
    std::vector<asio::const_buffer> _bufs;  // the write in flight
    std::string _staging;                   // TLS: what that write copied
    std::vector<segment> _segments;
    size_t _queued_bytes = 0;
    bool _reading = false;
    bool _writing = false;
    bool _closing = false;
    bool _closed = false;
    clock::time_point _last_activity;
};

}  // namespace

result<void> kafka_listener::impl::refresh_tls_context() {
    const auto& t = *o.tls;
    const uint64_t generation = t.credentials->generation();
    if (tls_ctx && generation == tls_generation) {
        return ok();
    }
    const auto creds = t.credentials->current();
    auto ctx = tls::make_server_context(*creds, t.credentials->settings().require_client_auth);
    if (!ctx) {
        return ctx.error();
    }
    // asio's context takes ownership of the SSL_CTX.
    tls_ctx = std::make_shared<ssl::context>(ctx->release());
    if (tls_generation != 0) {
        log(log_level::info, component, "new connections get certificate {} (expires {})",
            creds->subject, tls::format_utc(creds->not_after));
    }
    tls_generation = generation;
    return ok();
}

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
        std::shared_ptr<connection_base> c;
        if (o.tls) {
            if (auto r = refresh_tls_context(); !r) {
                // The watcher only takes checked material, so this is rare
                // (memory); the previous context keeps serving.
                log(log_level::warn, component,
                    "cannot use the reloaded certificate, still serving the previous one: {}",
                    r.error().detail);
                tls_generation = o.tls->credentials->generation();
            }
            c = std::make_shared<connection<tls_stream>>(*this, id, tls_ctx, std::move(s),
                                                         *tls_ctx);
        } else {
            c = std::make_shared<connection<tcp::socket>>(*this, id, nullptr, std::move(s));
        }
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
    if (im->o.tls) {
        if (!im->o.tls->credentials) {
            return error_info(std::make_error_code(std::errc::invalid_argument),
                              "TLS listener without credentials");
        }
        if (auto r = im->refresh_tls_context(); !r) {
            return error_info(r.error().code, fmt::format("TLS: {}", r.error().detail));
        }
    }
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
