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
// Runs on the listener's io thread, like everything it reaches (nothing
// here locks). on_close() drops what the connection's requests still wait
// for: parked fetches, held group replies, admin answers.

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

  private:
    broker_services& _services;
};

}  // namespace fjord::broker
