// File: broker/kafka/handlers/join_group.cc
//
// JoinGroup (key 11, v0-7): the answer may wait for the group's rebalance
// (a held reply, group_gateway.h). Static membership (a group.instance.id)
// is refused with UNSUPPORTED_VERSION, as a Kafka broker without it does;
// an empty or too long group id is INVALID_GROUP_ID; a negative rebalance
// timeout INVALID_REQUEST.

#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/handlers.h"
#include "common/log.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
constexpr const char* component = "groups";

}  // namespace

void handlers::join_group(const request_context& ctx, kafka::join_group_request req) {
    group_gateway& groups = *ctx.services->groups;
    if (!groups.admit(ctx)) {
        return;
    }
    group_coordinator& coord = groups.coordinator();
    const int16_t v = ctx.version;
    auto w = groups.hold(ctx);
    // Answers through the waiter, from now or from a later call.
    join_callback answer = [gw = &groups, w, v](join_result r) {
        if (w->done) {
            return;
        }
        w->done = true;
        kafka::join_group_response resp;
        resp.error_code = r.error;
        resp.generation_id = r.generation_id;
        if (v >= 7) {
            resp.protocol_type = r.protocol_type;
            resp.protocol_name = r.protocol_name;
        } else {
            resp.protocol_name = r.protocol_name.value_or("");
        }
        resp.leader = r.leader_id;
        resp.member_id = r.member_id;
        for (auto& m : r.members) {
            kafka::join_group_response::join_group_response_member jm;
            jm.member_id = std::move(m.member_id);
            jm.metadata = std::move(m.metadata);
            resp.members.push_back(std::move(jm));
        }
        w->ctx.respond(resp);
        gw->release(w);
    };
    const auto fail = [&](int16_t error) {
        join_result r;
        r.error = error;
        r.member_id = req.member_id;
        answer(std::move(r));
    };
    if (!ctx.allowed_on_group(security::acl_operation::read, req.group_id)) {
        fail(k::group_authorization_failed);  // READ on the group, first
        return;
    }
    if (req.group_instance_id) {
        log(log_level::info, component,
            "{} (client {}): JoinGroup with group.instance.id \"{}\": static membership is not "
            "supported",
            ctx.peer(), ctx.client_id, *req.group_instance_id);
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
    join_request jr;
    jr.member_id = req.member_id;
    jr.client_id = ctx.client_id;
    jr.client_host = client_host(*ctx.conn);
    jr.session_timeout_ms = req.session_timeout_ms;
    // v0 has no rebalance timeout: Kafka uses the session timeout.
    jr.rebalance_timeout_ms = v == 0 ? req.session_timeout_ms : req.rebalance_timeout_ms;
    if (jr.rebalance_timeout_ms < 0) {
        fail(k::invalid_request);
        return;
    }
    jr.protocol_type = req.protocol_type;
    for (auto& p : req.protocols) {
        // A name listed twice keeps its first metadata.
        const bool seen = std::any_of(jr.protocols.begin(), jr.protocols.end(),
                                      [&](const group_protocol& q) { return q.name == p.name; });
        if (!seen) {
            jr.protocols.push_back({std::move(p.name), std::move(p.metadata)});
        }
    }
    jr.require_known_member_id = v >= 4;
    coord.groups().join(req.group_id, std::move(jr), coord.now(), std::move(answer));
}

}  // namespace fjord::broker
