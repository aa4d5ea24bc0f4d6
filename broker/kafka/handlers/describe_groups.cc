// File: broker/kafka/handlers/describe_groups.cc
//
// DescribeGroups (key 15, v0-5). DESCRIBE on each group, else
// GROUP_AUTHORIZATION_FAILED for it (described no further); v3+ report the
// requester's authorized operations on the group when asked.

#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/handlers.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

/// Kafka's AclOperation codes that apply to a group (READ, DELETE,
/// DESCRIBE), as a DescribeGroups v3+ bitfield: the ones `ctx` may do.
int32_t group_operations(const request_context& ctx, const std::string& group) {
    namespace sec = fjord::security;
    int32_t ops = 0;
    for (auto op :
         {sec::acl_operation::read, sec::acl_operation::remove, sec::acl_operation::describe}) {
        if (ctx.allowed_on_group(op, group)) {
            ops |= 1 << static_cast<int>(op);
        }
    }
    return ops;
}

}  // namespace

void handlers::describe_groups(const request_context& ctx, kafka::describe_groups_request req) {
    group_gateway& groups = *ctx.services->groups;
    if (!groups.admit(ctx)) {
        return;
    }
    group_coordinator& coord = groups.coordinator();
    kafka::describe_groups_response resp;
    for (const auto& id : req.groups) {
        kafka::describe_groups_response::described_group dg;
        dg.group_id = id;
        if (ctx.version >= 3 && req.include_authorized_operations) {
            dg.authorized_operations = group_operations(ctx, id);
        }
        dg.error_code = !ctx.allowed_on_group(security::acl_operation::describe, id)
                            ? k::group_authorization_failed
                        : group_id_too_long(id) ? k::invalid_group_id
                                                : coord.check(id);
        const group* g = dg.error_code == k::none ? coord.groups().find(id) : nullptr;
        if (dg.error_code != k::none) {
            // Kafka leaves the rest empty.
        } else if (g == nullptr) {
            dg.group_state = std::string(to_string(group_state::dead));
        } else {
            const bool stable = g->state() == group_state::stable;
            dg.group_state = std::string(to_string(g->state()));
            dg.protocol_type = g->protocol_type().value_or("");
            // Member metadata and assignments only describe a settled group.
            dg.protocol_data = stable ? g->protocol_name().value_or("") : "";
            for (const auto& [mid, m] : g->members()) {
                kafka::describe_groups_response::described_group_member dm;
                dm.member_id = mid;
                dm.client_id = m.client_id;
                dm.client_host = m.client_host;
                if (stable) {
                    dm.member_metadata = m.metadata(*g->protocol_name());
                    dm.member_assignment = m.assignment;
                }
                dg.members.push_back(std::move(dm));
            }
        }
        resp.groups.push_back(std::move(dg));
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
