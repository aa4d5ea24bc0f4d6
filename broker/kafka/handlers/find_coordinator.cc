// File: broker/kafka/handlers/find_coordinator.cc
//
// FindCoordinator (key 10, v0-4; v4: a batch of keys): where a group's
// coordinator is (group_coordinator::locate). Key type 0 is a group; 1
// (transactions) is refused with INVALID_REQUEST and a message naming the
// reason (no transaction coordinator here).

#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/handlers.h"

#include <fmt/format.h>

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

}  // namespace

void handlers::find_coordinator(const request_context& ctx, kafka::find_coordinator_request req) {
    group_gateway& groups = *ctx.services->groups;
    if (!groups.admit(ctx)) {
        return;
    }
    group_coordinator& coord = groups.coordinator();
    const int16_t v = ctx.version;
    const auto answer = [&](const std::string& key) {
        group_coordinator::location loc;
        // DESCRIBE on the key, before the coordinator is looked for (which
        // may create the offsets topic).
        if (req.key_type == 0 && !ctx.allowed_on_group(security::acl_operation::describe, key)) {
            loc.error = k::group_authorization_failed;
            loc.message = "FindCoordinator needs DESCRIBE on the group";
        } else if (req.key_type == 1 &&
                   !ctx.allowed(security::acl_operation::describe,
                                security::resource_type::transactional_id, key)) {
            loc.error = k::transactional_id_authorization_failed;
            loc.message = "FindCoordinator needs DESCRIBE on the transactional id";
        } else if (req.key_type == 1) {
            loc.error = k::invalid_request;
            loc.message = "key_type 1 (transaction): this broker has no transaction coordinator";
        } else if (req.key_type != 0) {
            loc.error = k::invalid_request;
            loc.message = fmt::format("key_type {}: unknown (0 is a group)", req.key_type);
        } else {
            loc = coord.locate(key);
        }
        return loc;
    };
    kafka::find_coordinator_response resp;
    if (v < 4) {
        const auto loc = answer(req.key);
        resp.error_code = loc.error;
        if (loc.error != k::none) {
            resp.error_message = loc.message;
        } else {
            resp.error_message = std::nullopt;
        }
        resp.node_id = loc.node_id;
        resp.host = loc.host;
        resp.port = loc.port;
    } else {
        for (const auto& key : req.coordinator_keys) {
            const auto loc = answer(key);
            kafka::find_coordinator_response::coordinator c;
            c.key = key;
            c.error_code = loc.error;
            c.error_message =
                loc.error != k::none ? std::optional<std::string>(loc.message) : std::nullopt;
            c.node_id = loc.node_id;
            c.host = loc.host;
            c.port = loc.port;
            resp.coordinators.push_back(std::move(c));
        }
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
