#pragma once
// File: broker/kafka/api_module.h
//
// A family of Kafka APIs served outside kafka_api.cc (consumer groups,
// admin requests forwarded to the controller, ...). kafka_api owns the
// connection-level rules (header parsing, ApiVersions, closing on an API or
// version nobody serves) and hands each request whose key and version a
// module advertises to that module.
//
// Contract for a module:
// - apis() is fixed for the module's lifetime; ApiVersions lists it as is.
// - serve() is called on the listener's io thread with a version inside the
//   advertised range. It answers through `reply` exactly once, now or later,
//   from any thread (the listener posts replies to its io thread). The
//   request's body is a view into the frame and is gone when serve()
//   returns: decode before returning.
// - on_close() is called on the io thread when a connection goes away.
//
// Also here: the two helpers every handler uses to decode a request body and
// encode a response with the header version its API and version call for.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "broker/server/kafka_listener.h"
#include "common/cluster/internal_topics.h"
#include "common/kafka/api_keys.h"
#include "common/kafka/frame.h"
#include "common/kafka/wire.h"
#include "common/log.h"

namespace fjord::broker {

/// One API and the versions served: ApiVersions lists exactly these.
struct served_api {
    kafka::api_key key;
    int16_t min;
    int16_t max;
};

class api_module {
  public:
    virtual ~api_module() = default;
    virtual std::span<const served_api> apis() const = 0;
    virtual void serve(const kafka::request_view& rq, const connection_info& conn,
                       const reply_fn& reply) = 0;
    virtual void on_close(const connection_info&) {}
};

/// A controller uuid's 36-character text as Kafka's 128-bit topic id (zero
/// if malformed). Defined in kafka_api.cc.
kafka::uuid to_kafka_uuid(std::string_view text);

/// Decodes the body of `rq` as `Req`; on failure logs the client and the
/// reason and returns nullopt (the caller closes the connection, as Kafka
/// does for a request it cannot parse).
template <typename Req>
std::optional<Req> decode_request(const kafka::request_view& rq, const connection_info& conn) {
    kafka::reader r(rq.body);
    auto d = Req::decode(r, rq.api_version());
    if (!d) {
        log(log_level::warn, "kafka", "{} (client {}): {} v{} does not decode: {}; closing",
            conn.peer, rq.header.client_id.value_or(""), rq.api->name, rq.api_version(),
            d.error().detail);
        return std::nullopt;
    }
    return std::move(*d);
}

/// Encodes `resp` for the request's version and answers with it; a response
/// that cannot be encoded (a bug: a field the version cannot carry) closes
/// the connection with a log line.
template <typename Resp>
void send_response(const kafka::request_view& rq, const Resp& resp, const reply_fn& reply,
                   const connection_info& conn) {
    kafka::writer w;
    if (auto r = resp.encode(w, rq.api_version()); !r) {
        log(log_level::error, "kafka", "{} v{} to {}: cannot encode the response: {}", rq.api->name,
            rq.api_version(), conn.peer, r.error().detail);
        reply(reply_t::close_connection());
        return;
    }
    reply(reply_t::response(kafka::response_message(
        rq.correlation_id(), kafka::response_header_version(*rq.api, rq.api_version()), w.data())));
}

}  // namespace fjord::broker
