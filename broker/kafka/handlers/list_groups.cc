// File: broker/kafka/handlers/list_groups.cc
//
// ListGroups (key 16, v0-4; v4: a state filter). Kafka's authorization:
// with DESCRIBE on the cluster every group is listed, else only the groups
// the requester may DESCRIBE (no error either way).

#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/handlers.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

}  // namespace

void handlers::list_groups(const request_context& ctx, kafka::list_groups_request req) {
    group_gateway& groups = *ctx.services->groups;
    if (!groups.admit(ctx)) {
        return;
    }
    group_coordinator& coord = groups.coordinator();
    std::set<std::string> states;
    for (const auto& s : req.states_filter) {
        states.insert(lower(s));
    }
    const bool all = ctx.allowed_on_cluster(security::acl_operation::describe);
    kafka::list_groups_response resp;
    // Kafka answers with the groups it has and says it is still loading.
    resp.error_code = coord.loading() ? k::coordinator_load_in_progress : k::none;
    for (const auto& [id, g] : coord.groups().groups()) {
        const std::string state(to_string(g->state()));
        if (g->state() == group_state::dead ||
            (!states.empty() && states.count(lower(state)) == 0) ||
            (!all && !ctx.allowed_on_group(security::acl_operation::describe, id))) {
            continue;
        }
        kafka::list_groups_response::listed_group lg;
        lg.group_id = id;
        lg.protocol_type = g->protocol_type().value_or("");
        if (ctx.version >= 4) {
            lg.group_state = state;
        }
        resp.groups.push_back(std::move(lg));
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
