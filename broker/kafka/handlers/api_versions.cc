// File: broker/kafka/handlers/api_versions.cc
//
// ApiVersions (key 18, v0-3): the registry's table (registry.h), so what is
// advertised is what is served. A version this broker does not serve is
// answered by the dispatcher (KIP-511, dispatcher.h).

#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/registry.h"

namespace fjord::broker {

void handlers::api_versions(const request_context& ctx,
                            std::optional<kafka::api_versions_request> req) {
    kafka::api_versions_response resp;
    resp.api_keys = advertised_versions();
    // The body (client software name/version, v3) is informational; one
    // that does not decode is answered, not closed (KIP-511).
    if (!req) {
        resp.error_code = kafka_errors::invalid_request;
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
