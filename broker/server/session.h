#pragma once
// File: broker/server/session.h
//
// One client connection's state, as the request handlers see it: which
// connection, from where, and who is asking. The listener creates a session
// when it accepts a connection and hands it to the frame_handler with every
// frame and at close (kafka_listener.h).
//
// Why here, in the listener layer: a session lives exactly as long as its
// socket, and what will join it next belongs to the socket too: the TLS
// state (the handshake is the listener's) and the SASL exchange
// (SaslHandshake/SaslAuthenticate change who the connection is, and every
// later request on it is authorized as that principal). broker/kafka only
// reads it (request_context.h), apart from the SASL handlers to come.
//
// Threads: the io thread's. Handlers that answer later may keep a
// shared_ptr to it; after the connection closed it is still readable, but
// nothing is sent on it any more.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace fjord::broker {

/// Kafka's principal of a connection that has not authenticated.
inline constexpr std::string_view anonymous_principal = "User:ANONYMOUS";

class session {
  public:
    session(uint64_t id, std::string peer) : _id(id), _peer(std::move(peer)) {}
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    /// Unique among this listener's connections, never reused.
    uint64_t id() const { return _id; }
    /// "host:port" of the client.
    const std::string& peer() const { return _peer; }
    /// Who the requests on this connection come from ("User:ANONYMOUS"
    /// until SASL authentication exists).
    const std::string& principal() const { return _principal; }

  private:
    uint64_t _id;
    std::string _peer;
    std::string _principal{anonymous_principal};
};

}  // namespace fjord::broker
