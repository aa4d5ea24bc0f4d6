// File: broker/kafka/handlers/heartbeat.cc
//
// Heartbeat (key 12, v0-4).

#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/handlers.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

}  // namespace

void handlers::heartbeat(const request_context& ctx, kafka::heartbeat_request req) {
    group_gateway& groups = *ctx.services->groups;
    if (!groups.admit(ctx)) {
        return;
    }
    group_coordinator& coord = groups.coordinator();
    kafka::heartbeat_response resp;
    if (!ctx.allowed_on_group(security::acl_operation::read, req.group_id)) {
        resp.error_code = k::group_authorization_failed;  // READ on the group, first
    } else if (req.group_instance_id) {
        resp.error_code = k::unsupported_version;
    } else if (req.group_id.empty() || group_id_too_long(req.group_id)) {
        resp.error_code = k::invalid_group_id;
    } else if (const int16_t e = coord.check(req.group_id); e != k::none) {
        resp.error_code = e;
    } else {
        resp.error_code =
            coord.groups().heartbeat(req.group_id, req.member_id, req.generation_id, coord.now());
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
