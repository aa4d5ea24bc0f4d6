#pragma once
// File: broker/server/session.h
//
// One client connection's state, as the request handlers see it: which
// connection, from where, and who is asking. The listener creates a session
// when it accepts a connection and hands it to the frame_handler with every
// frame and at close (kafka_listener.h).
//
// Why here, in the listener layer: a session lives exactly as long as its
// socket, and what joins it belongs to the socket too: the TLS client
// certificate's identity (the handshake is the listener's) and the SASL exchange
// (SaslHandshake/SaslAuthenticate change who the connection is, and every
// later request on it is authorized as that principal). broker/kafka only
// reads it (request_context.h), apart from the SASL handlers
// (handlers/sasl_handshake.cc, sasl_authenticate.cc) and the dispatcher's raw
// SASL tokens, which drive the connection's sasl_session
// (broker/security/sasl_session.h) and call authenticate() at its end.
//
// Threads: the io thread's. Handlers that answer later may keep a
// shared_ptr to it; after the connection closed it is still readable, but
// nothing is sent on it any more.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace fjord::broker {

class sasl_session;  // broker/security/sasl_session.h

/// Kafka's principal of a connection that has not authenticated.
inline constexpr std::string_view anonymous_principal = "User:ANONYMOUS";
/// Its user name, as the authorizer sees it.
inline constexpr std::string_view anonymous_user = "ANONYMOUS";

class session {
  public:
    session(uint64_t id, std::string peer) : _id(id), _peer(std::move(peer)) {
        const auto colon = _peer.rfind(':');
        _host = colon == std::string::npos ? _peer : _peer.substr(0, colon);
    }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    /// Unique among this listener's connections, never reused.
    uint64_t id() const { return _id; }
    /// "host:port" of the client.
    const std::string& peer() const { return _peer; }
    /// The client's address without the port ("127.0.0.1", "::1"): what
    /// ACL bindings' hosts are compared with.
    const std::string& host() const { return _host; }
    /// Who the requests on this connection come from: "User:<name>" once
    /// SASL authentication completed; before that, on a TLS connection
    /// whose client presented a verified certificate, "User:<the name its
    /// subject maps to>" (Kafka's SSL principal); else "User:ANONYMOUS".
    /// A listener that requires SASL serves nothing but the SASL exchange
    /// before it completes (the dispatcher), so there the SASL identity is
    /// the only one requests are authorized as (Kafka's SASL_SSL).
    const std::string& principal() const { return _principal; }
    /// The user name of principal() ("ANONYMOUS" when nobody is known).
    const std::string& user() const { return _user; }
    /// Whether SASL authentication completed (a certificate identity alone
    /// does not count: it does not satisfy a listener requiring SASL).
    bool authenticated() const { return _authenticated; }
    /// SASL completed for `user`: every later request is that user's.
    void authenticate(std::string user) {
        _principal = "User:" + user;
        _user = std::move(user);
        _authenticated = true;
    }
    /// The TLS handshake verified a client certificate with `subject`
    /// (RFC 2253), which the principal mapping rules map to `user`: the
    /// connection's identity until SASL (if any) replaces it. The listener
    /// calls it once, before the first frame.
    void set_certificate_identity(std::string subject, std::string user) {
        _certificate_subject = std::move(subject);
        if (!_authenticated) {
            _principal = "User:" + user;
            _user = std::move(user);
        }
    }
    /// The verified client certificate's subject; "" when none.
    const std::string& certificate_subject() const { return _certificate_subject; }

    /// The SASL exchange in progress or done (null before a SaslHandshake).
    const std::shared_ptr<sasl_session>& sasl() const { return _sasl; }
    void set_sasl(std::shared_ptr<sasl_session> s) { _sasl = std::move(s); }

  private:
    uint64_t _id;
    std::string _peer;
    std::string _host;
    std::string _principal{anonymous_principal};
    std::string _user{anonymous_user};
    bool _authenticated = false;
    std::string _certificate_subject;
    std::shared_ptr<sasl_session> _sasl;
};

}  // namespace fjord::broker
