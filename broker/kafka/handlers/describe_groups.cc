// File: broker/kafka/handlers/describe_groups.cc
//
// DescribeGroups (key 15, v0-5).

#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/handlers.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

/// Kafka's AclOperation codes allowed on a group (READ, DELETE, DESCRIBE),
/// as a DescribeGroups v3+ bitfield: without an authorizer, all of them.
constexpr int32_t group_operations = (1 << 3) | (1 << 6) | (1 << 8);

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
            dg.authorized_operations = group_operations;
        }
        dg.error_code = group_id_too_long(id) ? k::invalid_group_id : coord.check(id);
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
