#pragma once
// File: broker/kafka/dispatcher.h
//
// The listener's frame_handler for the Kafka API: parses each frame's
// header (common/kafka/frame.h), finds the API in the registry
// (registry.h), builds the request's context (request_context.h) and hands
// the body to the registry's entry, which decodes it for the handler.
//
// Connection-level rules, as Kafka's:
//   a header that does not parse            close (logged)
//   an API key nobody serves                close (logged)
//   ApiVersions at a version not served     a v0 response, UNSUPPORTED_VERSION
//                                           and the list (KIP-511)
//   any other API at a version not served   close (logged)
//   a body that does not decode             close (logged; registry.h)
//
// Security (broker/security/):
//   the controller's state not applied yet  the request waits until it is
//                                           (release_held()), in order; so
//                                           nothing is served under rules the
//                                           broker does not know
//   SASL required, not authenticated        only ApiVersions, SaslHandshake
//                                           and SaslAuthenticate; any other
//                                           API closes (logged), as Kafka's
//                                           SaslServerAuthenticator does
//   after SaslHandshake v0                  frames are raw SASL tokens, not
//                                           requests: each is answered with
//                                           the server's raw token; a refused
//                                           one closes the connection
// Each request loads the current security snapshot once and carries it
// (request_context::security), with the session's principal.
//
// Runs on the listener's io thread, like everything it reaches (nothing
// here locks). on_close() drops what the connection's requests still wait
// for: held requests, parked fetches, held group replies, admin answers.

#include <deque>
#include <memory>
#include <string>

#include "broker/kafka/request_context.h"
#include "broker/kafka/services.h"
#include "broker/server/kafka_listener.h"

namespace fjord::broker {

class dispatcher final : public frame_handler {
  public:
    /// `services` and everything it points at outlive the dispatcher.
    explicit dispatcher(broker_services& services) : _services(services) {}

    void on_frame(const std::shared_ptr<session>& s, std::string frame, reply_fn reply) override;
    void on_close(const session& s) override;

    /// The security state became ready: serves the requests held until
    /// then, in arrival order. io thread.
    void release_held();
    /// Requests waiting for the security state (for tests and logs).
    size_t held() const { return _held.size(); }

  private:
    struct held_frame {
        std::shared_ptr<session> s;
        std::string frame;
        reply_fn reply;
    };
    std::shared_ptr<const security_snapshot> current_security() const;
    void serve(const std::shared_ptr<session>& s, std::string frame, reply_fn reply,
               std::shared_ptr<const security_snapshot> snap);
    void serve_raw_sasl_token(const std::shared_ptr<session>& s, const std::string& frame,
                              const reply_fn& reply,
                              const std::shared_ptr<const security_snapshot>& snap);

    broker_services& _services;
    std::deque<held_frame> _held;
};

}  // namespace fjord::broker
