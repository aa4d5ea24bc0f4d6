#pragma once
// File: broker/server/kafka_listener.h
//
// The Kafka listener: TCP in, length-framed requests to a frame_handler,
// responses out in request order. It knows framing and nothing of Kafka's
// messages (broker/kafka/ parses headers and bodies).
//
//   socket ──read size──▶ size > max_frame_bytes? ──yes──▶ log, close
//      │                           │no
//      │                  read frame ──▶ handler.on_frame(conn, frame, reply)
//      │                                       │ reply(bytes | none | close), now or later
//      ◀───── write responses in request order ◀┘
//
// Contract:
// - Everything (accept, reads, writes, handler calls, replies) runs on the
//   one io thread this class owns; `reply` may be called from any thread:
//   it posts to the io thread. A handler must call its `reply` exactly once.
// - Pipelining: a client may send many requests before reading; responses
//   go back in the order of the requests. A reply of `no_response` (Produce
//   with acks=0) takes no slot on the wire but keeps the order of the rest.
// - Backpressure: a connection stops reading while `max_in_flight`
//   requests of it await their reply or `max_queued_bytes` of responses
//   await the socket.
// - A connection idle (no request read, nothing pending) for `idle_timeout`
//   is closed, as Kafka's connections.max.idle.ms does.
// - stop() closes the acceptor and every connection, and joins the thread.
//
// TLS (listener_options::tls set): every connection does a TLS handshake,
// bounded by tls_options::handshake_timeout, before its first frame; after
// it everything above holds unchanged. The context is built from the
// credential watcher's current set, and rebuilt at the next accept after the
// watcher takes new files: new connections get the new certificate, open
// ones keep theirs. A failed handshake is logged once (warn), naming the
// client and the reason (tls::describe_failure), and closes only that
// connection. When the client presented a certificate the truststore
// verified, its subject (RFC 2253) goes through tls_options::map_subject:
// the user it returns becomes the session's certificate identity
// (session.h); an error refuses the connection with a log line naming the
// subject.
//
// Plaintext listener: a client whose first bytes are a TLS ClientHello is
// logged as "TLS client on a plaintext port" and closed, rather than failing
// on a nonsense frame size.
//
// Reading and writing go in large chunks: reads fill a buffer of up to
// 64 KiB that frames are cut from (it starts at 8 KiB, so an idle connection
// costs little; a larger frame is read straight into its own string), and
// queued responses leave in one gather write. Over TLS the same holds of
// system calls, not records: one recv takes up to 64 KiB of ciphertext,
// whatever the record size, and one send up to 256 KiB of records, with
// size prefixes and small bodies coalesced so that no response costs a
// record of its own.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "broker/server/session.h"
#include "common/result.h"
#include "common/tls/watcher.h"

namespace fjord::broker {

/// TLS on a listener (see the file comment).
struct tls_options {
    /// The server's certificate, key and truststore (never null); its
    /// settings' require_client_auth decides whether a client without a
    /// certificate is refused.
    std::shared_ptr<tls::credential_watcher> credentials;
    /// A verified client certificate's subject to the connection's user
    /// name; an error refuses the connection. Null: certificates identify
    /// nobody (the session stays anonymous until SASL). Runs on the io
    /// thread: it must not block.
    std::function<result<std::string>(const std::string& subject)> map_subject;
    /// A handshake not done by then closes the connection.
    std::chrono::milliseconds handshake_timeout{10000};
};

struct listener_options {
    std::string host = "127.0.0.1";
    uint16_t port = 9092;  ///< 0: any free port (see kafka_listener::port())
    /// Largest request accepted (Kafka's socket.request.max.bytes).
    uint32_t max_frame_bytes = 100u << 20;
    size_t max_in_flight = 100;
    size_t max_queued_bytes = 64u << 20;
    std::chrono::milliseconds idle_timeout{600000};
    /// Set: a TLS listener. Unset: plaintext.
    std::optional<tls_options> tls = std::nullopt;
};

/// What the handler answers for one request.
struct reply_t {
    enum class kind { response, no_response, close, response_then_close };
    kind what = kind::response;
    std::string bytes;  ///< the response frame's contents (no size prefix)
    static reply_t response(std::string b) { return {kind::response, std::move(b)}; }
    static reply_t none() { return {kind::no_response, {}}; }
    /// Drop the connection (after the responses before this one are sent).
    static reply_t close_connection() { return {kind::close, {}}; }
    /// Send `b`, then drop the connection (a refused SASL login: Kafka
    /// answers, then closes).
    static reply_t response_then_close(std::string b) {
        return {kind::response_then_close, std::move(b)};
    }
};

using reply_fn = std::function<void(reply_t)>;

class frame_handler {
  public:
    virtual ~frame_handler() = default;
    /// One complete request frame (without its size prefix), on the
    /// connection `s` (session.h; never null).
    virtual void on_frame(const std::shared_ptr<session>& s, std::string frame, reply_fn reply) = 0;
    /// The connection is gone (closed by either side); pending replies to
    /// it are discarded.
    virtual void on_close(const session&) {}
};

class kafka_listener {
  public:
    /// Binds and starts serving on its own thread.
    static result<std::unique_ptr<kafka_listener>> start(listener_options o, frame_handler& h);
    ~kafka_listener();
    kafka_listener(const kafka_listener&) = delete;
    kafka_listener& operator=(const kafka_listener&) = delete;

    uint16_t port() const;
    /// Runs `fn` on the io thread (e.g. timers of handlers).
    void post(std::function<void()> fn);
    /// Runs `fn` on the io thread after `delay`; false if stopping.
    void post_after(std::chrono::milliseconds delay, std::function<void()> fn);
    void stop();

    struct impl;

  private:
    explicit kafka_listener(std::unique_ptr<impl> im);
    std::unique_ptr<impl> _impl;
};

}  // namespace fjord::broker
