// File: broker/kafka/handlers/leave_group.cc
//
// LeaveGroup (key 13, v0-4; v3+: a batch of members).

#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/handlers.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

}  // namespace

void handlers::leave_group(const request_context& ctx, kafka::leave_group_request req) {
    group_gateway& groups = *ctx.services->groups;
    if (!groups.admit(ctx)) {
        return;
    }
    group_coordinator& coord = groups.coordinator();
    const int16_t v = ctx.version;
    kafka::leave_group_response resp;
    if (v <= 2) {
        // One member, named at the top level; its error is the answer.
        kafka::leave_group_request::member_identity m;
        m.member_id = req.member_id;
        req.members.push_back(std::move(m));
    }
    int16_t top = k::none;
    if (!ctx.allowed_on_group(security::acl_operation::read, req.group_id)) {
        top = k::group_authorization_failed;  // READ on the group, first
    } else if (req.group_id.empty() || group_id_too_long(req.group_id)) {
        top = k::invalid_group_id;
    } else {
        top = coord.check(req.group_id);
    }
    if (top == k::none) {
        for (const auto& m : req.members) {
            kafka::leave_group_response::member_response mr;
            mr.member_id = m.member_id;
            mr.group_instance_id = m.group_instance_id;
            if (m.group_instance_id) {
                mr.error_code = k::unsupported_version;  // no static membership
            } else {
                mr.error_code = coord.groups().leave(req.group_id, m.member_id, coord.now());
            }
            resp.members.push_back(std::move(mr));
        }
    }
    if (v <= 2) {
        resp.error_code = top != k::none ? top : resp.members.front().error_code;
        resp.members.clear();
    } else {
        resp.error_code = top;
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
