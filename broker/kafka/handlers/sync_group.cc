// File: broker/kafka/handlers/sync_group.cc
//
// SyncGroup (key 14, v0-5): the answer may wait for the leader's
// assignment (a held reply, group_gateway.h).

#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/handlers.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

}  // namespace

void handlers::sync_group(const request_context& ctx, kafka::sync_group_request req) {
    group_gateway& groups = *ctx.services->groups;
    if (!groups.admit(ctx)) {
        return;
    }
    group_coordinator& coord = groups.coordinator();
    const int16_t v = ctx.version;
    auto w = groups.hold(ctx);
    sync_callback answer = [gw = &groups, w, v](sync_result r) {
        if (w->done) {
            return;
        }
        w->done = true;
        kafka::sync_group_response resp;
        resp.error_code = r.error;
        if (v >= 5) {
            resp.protocol_type = r.protocol_type;
            resp.protocol_name = r.protocol_name;
        }
        resp.assignment = std::move(r.assignment);
        w->ctx.respond(resp);
        gw->release(w);
    };
    const auto fail = [&](int16_t error) {
        sync_result r;
        r.error = error;
        answer(std::move(r));
    };
    if (!ctx.allowed_on_group(security::acl_operation::read, req.group_id)) {
        fail(k::group_authorization_failed);  // READ on the group, first
        return;
    }
    if (req.group_instance_id) {
        fail(k::unsupported_version);
        return;
    }
    if (req.group_id.empty() || group_id_too_long(req.group_id)) {
        fail(k::invalid_group_id);
        return;
    }
    if (const int16_t e = coord.check(req.group_id); e != k::none) {
        fail(e);
        return;
    }
    sync_request sr;
    sr.member_id = req.member_id;
    sr.generation_id = req.generation_id;
    sr.protocol_type = req.protocol_type;
    sr.protocol_name = req.protocol_name;
    for (auto& a : req.assignments) {
        sr.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));
    }
    coord.groups().sync(req.group_id, std::move(sr), coord.now(), std::move(answer));
}

}  // namespace fjord::broker
