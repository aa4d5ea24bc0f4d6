// File: broker/server/kafka_listener.cc
//
// Boost.Asio behind kafka_listener.h, plaintext and TLS. Asio and OpenSSL's
// headers stay in this file: nothing else in the broker includes them
// (Asio's are large).
//
// A connection is a TCP socket and, over TLS, a tls::engine (common/tls/
// engine.h: OpenSSL on the SSL_CTX common/tls builds, so one cipher policy
// and FIPS mode govern it). Framing, ordering, backpressure and the idle
// timeout are one piece of code for both; TLS differs only where bytes
// cross the socket: a read takes as much ciphertext as the kernel holds (up
// to 64 KiB, as in plaintext) and decrypts every record of it into the
// frame buffer, and a write encrypts up to wire_chunk bytes of responses
// and sends them with one system call. (asio::ssl took one 16 KiB record
// per recv and made one system call per record sent; docs/performance.md,
// section tls, has what the change saved.)

#include "broker/server/kafka_listener.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio.hpp>

#include "common/byte_window.h"
#include "common/log.h"
#include "common/tls/engine.h"
#include "common/tls/tls.h"

namespace fjord::broker {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

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
/// Over TLS: the ciphertext one system call sends, at most (about; whole
/// records). Bounds what a connection holds encrypted besides its queue.
constexpr size_t wire_chunk = 256 * 1024;
/// A connection quiet this long gives back its write buffers.
constexpr std::chrono::seconds trim_after{5};

std::string endpoint_string(const tcp::socket& s) {
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

/// Why a TLS handshake failed (tls::engine::failure), with what an alert
/// from the client means for this broker.
std::string explain_handshake_failure(std::string why) {
    if (why.find("alert unknown ca") != std::string::npos) {
        why += " (the client does not trust the CA that signed this broker's certificate)";
    } else if (why.find("alert bad certificate") != std::string::npos ||
               why.find("alert certificate unknown") != std::string::npos) {
        why +=
            " (the client refused this broker's certificate: does it name the host the "
            "client dialed?)";
    }
    return why;
}

bool hung_up(const boost::system::error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset;
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
    /// generation it was built from. Open connections hold theirs (an SSL
    /// references its SSL_CTX).
    tls::ssl_ctx_ptr tls_ctx;
    uint64_t tls_generation = 0;

    impl(listener_options opts, frame_handler& h) : o(std::move(opts)), handler(h) {}
    void accept();
    void remove(uint64_t id) { conns.erase(id); }
    result<void> refresh_tls_context();
};

namespace {

/// One client connection; lives on the io thread only. Every entry point
/// is an asio handler holding a reference to it, so a close() inside one
/// (which drops the listener's reference) never frees it mid-call: callers
/// check _closed instead.
class connection final : public connection_base, public std::enable_shared_from_this<connection> {
  public:
    /// `tls` set: a TLS connection, handshake first.
    connection(kafka_listener::impl& owner, uint64_t id, tcp::socket socket,
               std::unique_ptr<tls::engine> tls)
        : _owner(owner),
          _socket(std::move(socket)),
          _tls(std::move(tls)),
          _idle(owner.io),
          _handshake_timer(owner.io),
          _session(std::make_shared<session>(id, endpoint_string(_socket))),
          _first_checked(_tls != nullptr) {}

    void start() override {
        boost::system::error_code ec;
        _socket.set_option(tcp::no_delay(true), ec);
        _last_activity = clock::now();
        if (_tls) {
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
        _socket.shutdown(tcp::socket::shutdown_both, ec);
        _socket.close(ec);
        _idle.cancel();
        _handshake_timer.cancel();
        _owner.handler.on_close(*_session);
        _owner.remove(_session->id());  // may drop the last owner: touch nothing after
    }

  private:
    // --- TLS handshake

    void handshake() {
        _handshake_timer.expires_after(_owner.o.tls->handshake_timeout);
        _handshake_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            if (ec) {
                return;
            }
            if (auto c = weak.lock()) {
                c->on_handshake_timeout();
            }
        });
        handshake_step();
    }

    /// Runs the handshake as far as the ciphertext received allows, sends
    /// what it wrote, and reads more until it is done or fails.
    void handshake_step() {
        const auto st = _tls->handshake();
        if (st == tls::engine::status::ok) {
            flush();
            if (!_closed) {
                on_handshake_done();
            }
            return;
        }
        if (st != tls::engine::status::want_input) {
            handshake_failed(log_level::warn, explain_handshake_failure(_tls->failure()));
            return;
        }
        flush();
        if (_closed) {
            return;
        }
        read_ciphertext([](connection& c, const boost::system::error_code& ec) {
            if (!ec) {
                c.handshake_step();
            } else if (hung_up(ec)) {
                c.handshake_failed(log_level::info, "the client hung up without completing it");
            } else {
                c.handshake_failed(log_level::warn, ec.message());
            }
        });
    }

    /// Logs once, sends the alert OpenSSL wrote (the client then learns why
    /// too), and closes.
    /// The handshake timer stays armed: an alert the client never takes
    /// does not keep the connection.
    void handshake_failed(log_level level, const std::string& why) {
        log(level, component, "connection {} from {}: TLS handshake failed: {}", _session->id(),
            _session->peer(), why);
        close_after_writes("TLS handshake failed");
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

    void on_handshake_done() {
        _handshake_timer.cancel();
        _handshake_done = true;
        SSL* ssl = _tls->native();
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
        return ciphertext_may_come() && _pending.size() < _owner.o.max_in_flight &&
               _queued_bytes < _owner.o.max_queued_bytes;
    }

    /// Whether to take more bytes from the client at all: not once closing,
    /// and not while the engine holds a send's worth of its own output
    /// (KeyUpdate answers a client could make it write while not reading).
    bool ciphertext_may_come() const {
        return !_closed && !_closing && (!_tls || _tls->output_size() < wire_chunk);
    }

    /// Serves the frames buffered, then reads more unless backpressure (or
    /// a read already in flight) says not to. complete() and on_written()
    /// call it again when backpressure lifts.
    void pump() {
        if (_reading || _closed) {
            return;
        }
        if (_large_frame) {
            read_large_frame();
            return;
        }
        for (;;) {
            size_t want = 0;  // bytes the buffer must hold for the next frame
            while (can_read()) {
                const size_t avail = _in.size();
                const char* p = _in.data();
                if (!_first_checked) {
                    // Six bytes tell a ClientHello (tls::looks_like_client_hello);
                    // a Kafka request's first byte is never 22 (0x16: a size of
                    // 369 MB and more), so others are decided at once.
                    if (avail == 0 || (avail < 6 && p[0] == 0x16)) {
                        break;
                    }
                    _first_checked = true;
                    if (tls::looks_like_client_hello(std::string_view(p, avail))) {
                        log(log_level::warn, component,
                            "connection {} from {}: TLS client on a plaintext port (it sent a "
                            "TLS ClientHello; this listener has no kafka_tls); closing",
                            _session->id(), _session->peer());
                        close("TLS client on a plaintext port");
                        return;
                    }
                }
                if (avail < 4) {
                    break;
                }
                const uint32_t size = read_be32(p);
                // Any non-empty frame: a Kafka request header is 8 bytes at
                // least (the dispatcher checks), but a raw SASL token (after
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
                    _in.consume(4 + size);
                    dispatch(std::move(frame));
                    continue;
                }
                if (size_t{4} + size > read_chunk) {
                    // Too large for the buffer: the rest goes straight into the frame.
                    _frame.resize(size);
                    std::memcpy(_frame.data(), p + 4, avail - 4);
                    _frame_have = avail - 4;
                    _in.consume(avail);
                    _large_frame = true;
                    read_large_frame();
                    return;
                }
                want = std::max(want, size_t{4} + size);  // the rest of a frame: read more
                break;
            }
            if (!can_read()) {
                return;
            }
            _in.prepare_receive(initial_read_buffer, read_chunk, want);
            if (_tls) {
                // Plaintext from ciphertext already received, before any recv.
                const auto space = _in.free_space();
                const size_t n = decrypt(space.data(), space.size());
                if (_closed || _closing) {
                    return;
                }
                if (n > 0) {
                    _in.commit(n);
                    _last_activity = clock::now();
                    continue;
                }
                read_ciphertext([](connection& c, const boost::system::error_code& ec) {
                    if (ec) {
                        c.close(hung_up(ec) ? "client closed" : ec.message());
                    } else {
                        c.pump();
                    }
                });
                return;
            }
            read_plain(_in.free_space(), "client closed", [](connection& c, size_t n) {
                c._in.commit(n);
                c.pump();
            });
            return;
        }
    }

    /// Over TLS: one recv of as much ciphertext as the engine takes, then
    /// `then(*this, ec)` (ec set: nothing was received).
    template <class F>
    void read_ciphertext(F then) {
        _reading = true;
        const auto space = _tls->input_space();
        _socket.async_read_some(
            asio::buffer(space.data(), space.size()),
            [self = shared_from_this(), then](boost::system::error_code ec, size_t n) {
                self->_reading = false;
                if (self->_closed) {
                    return;
                }
                if (!ec) {
                    self->_tls->input_added(n);
                }
                then(*self, ec);
            });
    }

    /// Plaintext: one recv into `dst`, then `then(*this, bytes received)`.
    /// A hang-up closes the connection with `hangup_reason`, another error
    /// with its message.
    template <class F>
    void read_plain(std::span<char> dst, const char* hangup_reason, F then) {
        _reading = true;
        _socket.async_read_some(asio::buffer(dst.data(), dst.size()),
                                [self = shared_from_this(), hangup_reason, then](
                                    boost::system::error_code ec, size_t n) {
                                    self->_reading = false;
                                    if (self->_closed) {
                                        return;
                                    }
                                    if (ec) {
                                        self->close(hung_up(ec) ? hangup_reason : ec.message());
                                        return;
                                    }
                                    self->_last_activity = clock::now();
                                    then(*self, n);
                                });
    }

    /// Over TLS: decrypts what was received into [dst, dst + cap) and sends
    /// what that made OpenSSL write (a KeyUpdate's answer). 0: nothing yet,
    /// or the connection closed (the client's close_notify, or a bad
    /// record, logged).
    size_t decrypt(char* dst, size_t cap) {
        const auto r = _tls->read(dst, cap);
        if (r.st == tls::engine::status::closed) {
            close("client closed");
        } else if (r.st == tls::engine::status::failed) {
            log(log_level::warn, component, "connection {} from {}: TLS error: {}; closing",
                _session->id(), _session->peer(), _tls->failure());
            close_after_writes("TLS error");
        } else {
            flush();
        }
        return r.n;
    }

    /// Reads the rest of a frame larger than the buffer (_frame, of which
    /// _frame_have bytes are in) straight into it, then serves it. Request
    /// backpressure waits for the frame's end; a pause (closing, engine
    /// output backed up) resumes through pump().
    void read_large_frame() {
        while (_frame_have < _frame.size()) {
            if (_reading || !ciphertext_may_come()) {
                return;
            }
            char* dst = _frame.data() + _frame_have;
            const size_t rest = _frame.size() - _frame_have;
            if (_tls) {
                const size_t n = decrypt(dst, rest);
                if (_closed || _closing) {
                    return;
                }
                if (n > 0) {
                    _frame_have += n;
                    _last_activity = clock::now();
                    continue;
                }
                read_ciphertext([](connection& c, const boost::system::error_code& ec) {
                    if (ec) {
                        c.close(hung_up(ec) ? "client closed mid-request" : ec.message());
                    } else {
                        c.read_large_frame();
                    }
                });
                return;
            }
            read_plain({dst, rest}, "client closed mid-request", [](connection& c, size_t n) {
                c._frame_have += n;
                c.read_large_frame();
            });
            return;
        }
        _large_frame = false;
        dispatch(std::move(_frame));
        _frame = std::string();
        _frame_have = 0;
        pump();
    }

    void dispatch(std::string frame) {
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
                close_after_writes("closed by the request handler");
                break;
            } else if (front.what == reply_t::kind::close) {
                close_after_writes("closed by the request handler");
                break;
            }
        }
        if (!_closed && !_reading && can_read()) {
            pump();
        }
    }

    // --- writing

    /// Stops reading, sends what is queued (responses, a TLS alert), then
    /// closes with `why`.
    void close_after_writes(std::string why) {
        _closing = true;
        _close_reason = std::move(why);
        if (!_writing) {
            write_next();
        }
    }

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

    /// Over TLS: sends what the engine wrote on its own (handshake messages,
    /// a KeyUpdate's answer) unless a write is already under way (it will).
    void flush() {
        if (!_writing && _tls->output_size() > 0) {
            write_next();
        }
    }

    /// Writes the front of the queue: up to max_batch_responses responses
    /// in one gather write (plaintext), or up to wire_chunk bytes of
    /// ciphertext (TLS, see encrypt_next). With nothing left, a connection
    /// that is closing closes.
    void write_next() {
        if (_closed) {
            return;
        }
        if (_tls) {
            if (!encrypt_next()) {
                return;
            }
            if (_tls->output_size() > 0) {
                _writing = true;
                _tls->swap_output(_wire);
                asio::async_write(_socket, asio::buffer(_wire),
                                  [self = shared_from_this()](boost::system::error_code ec,
                                                              size_t) { self->on_written(ec); });
                return;
            }
        } else if (!_out.empty()) {
            _writing = true;
            _bufs.clear();
            _batch = std::min(_out.size(), max_batch_responses);
            for (size_t i = 0; i < _batch; ++i) {
                _bufs.push_back(asio::buffer(_out[i].size));
                _bufs.push_back(asio::buffer(_out[i].body));
            }
            asio::async_write(_socket, _bufs,
                              [self = shared_from_this()](boost::system::error_code ec, size_t) {
                                  self->on_written(ec);
                              });
            return;
        }
        _writing = false;
        if (_closing) {
            close(_close_reason);
        }
    }

    /// Over TLS: encrypts queued responses (laid out by lay_out_for_tls)
    /// until the engine holds wire_chunk bytes or the queue is empty. A
    /// response leaves the queue once all of it is encrypted. False: the
    /// session failed (logged, closed).
    bool encrypt_next() {
        for (;;) {
            if (_seg == _segments.size() && _batch > 0) {
                for (size_t i = 0; i < _batch; ++i) {
                    _queued_bytes -= _out.front().body.size() + 4;
                    _out.pop_front();
                }
                _batch = 0;
            }
            const size_t held = _tls->output_size();
            if (held >= wire_chunk) {
                return true;
            }
            if (_seg == _segments.size()) {
                if (_out.empty()) {
                    return true;
                }
                lay_out_for_tls();
                continue;
            }
            const segment& s = _segments[_seg];
            const char* base = s.staged ? _staging.data() + s.offset : s.data;
            // Whole records where the chunk allows, so a split costs no short one.
            const size_t room = std::max(tls_record, (wire_chunk - held) / tls_record * tls_record);
            const size_t n = std::min(s.length - _seg_offset, room);
            if (!_tls->write(base + _seg_offset, n)) {
                log(log_level::warn, component, "connection {} from {}: TLS error: {}; closing",
                    _session->id(), _session->peer(), _tls->failure());
                close("TLS error");
                return false;
            }
            _seg_offset += n;
            if (_seg_offset == s.length) {
                ++_seg;
                _seg_offset = 0;
            }
        }
    }

    /// Every SSL_write makes at least one record: size prefixes and small
    /// bodies are copied into one staging buffer, so a run of small
    /// responses shares full records; a large body is encrypted from where
    /// it is, after its head fills the record its size prefix began.
    void lay_out_for_tls() {
        _staging.clear();
        _segments.clear();
        _seg = 0;
        _seg_offset = 0;
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
    }

    void on_written(boost::system::error_code ec) {
        if (_closed) {
            return;
        }
        if (ec) {
            close(ec.message());
            return;
        }
        if (!_tls) {
            for (size_t i = 0; i < _batch; ++i) {
                _queued_bytes -= _out.front().body.size() + 4;
                _out.pop_front();
            }
            _batch = 0;
        }
        _last_activity = clock::now();
        write_next();
        if (!_closed && !_reading && can_read()) {
            pump();
        }
    }

    // --- idle timeout

    /// Every few seconds (or idle_timeout, if shorter): a connection quiet
    /// that long gives back its write buffers (up to a send's worth of
    /// ciphertext, twice); quiet for idle_timeout, it closes.
    void arm_idle() {
        _idle.expires_after(std::min<clock::duration>(_owner.o.idle_timeout, trim_after));
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
        const auto quiet = clock::now() - _last_activity;
        if (!busy && quiet >= _owner.o.idle_timeout) {
            close("idle");
            return;
        }
        if (!busy && quiet >= trim_after) {
            release_write_buffers();
        }
        arm_idle();
    }

    /// Frees what only a write in progress needs. (The read buffers stay:
    /// the read waiting for the client's next bytes holds them.)
    void release_write_buffers() {
        std::string().swap(_wire);
        std::vector<asio::const_buffer>().swap(_bufs);
        if (_batch == 0 && _seg == _segments.size()) {
            std::string().swap(_staging);
            std::vector<segment>().swap(_segments);
            _seg = _seg_offset = 0;
        }
        if (_tls) {
            _tls->release_output();
        }
    }

    struct slot {
        bool ready = false;
        reply_t reply;
    };
    struct outgoing {
        std::array<char, 4> size{};
        std::string body;
    };
    /// A piece of a TLS batch: a range of _staging, or a body's tail.
    struct segment {
        bool staged;
        size_t offset;
        size_t length;
        const char* data;
    };

    kafka_listener::impl& _owner;
    tcp::socket _socket;
    std::unique_ptr<tls::engine> _tls;  // null: plaintext
    asio::steady_timer _idle;
    asio::steady_timer _handshake_timer;
    std::shared_ptr<session> _session;  // the connection's state (session.h)
    // Plaintext read and not yet served (allocated at the first read, grown
    // by byte_window::prepare_receive up to read_chunk).
    byte_window _in;
    std::string _frame;  // a frame larger than _in, being read
    size_t _frame_have = 0;
    bool _large_frame = false;  // _frame is being read (pump resumes it)
    bool _first_checked;        // the first bytes were checked for a ClientHello (TLS: no need)
    bool _handshake_done = false;
    std::deque<slot> _pending;  // requests awaiting their reply, in order
    uint64_t _first_seq = 0;    // sequence number of _pending.front()
    uint64_t _next_seq = 0;
    // Responses to send; the front _batch are being written (plaintext) or
    // encrypted (TLS). A deque keeps them in place.
    std::deque<outgoing> _out;
    size_t _batch = 0;
    std::vector<asio::const_buffer> _bufs;  // plaintext: the write in flight
    // TLS: the batch laid out, how far it is encrypted, and the ciphertext
    // being sent.
    std::string _staging;
    std::vector<segment> _segments;
    size_t _seg = 0;
    size_t _seg_offset = 0;
    std::string _wire;
    size_t _queued_bytes = 0;
    bool _reading = false;
    bool _writing = false;
    bool _closing = false;  // stop reading; close once the writes are out
    std::string _close_reason;
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
    tls_ctx = std::move(*ctx);
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
            auto engine = tls::engine::make(tls_ctx.get(), tls::engine::role::server);
            if (!engine) {
                log(log_level::warn, component, "refusing a connection: {}", engine.error().detail);
                boost::system::error_code ignored;
                s.close(ignored);
                accept();
                return;
            }
            c = std::make_shared<connection>(*this, id, std::move(s), std::move(*engine));
        } else {
            c = std::make_shared<connection>(*this, id, std::move(s), nullptr);
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
