// File: broker/kafka/handlers/describe_acls.cc
//
// DescribeAcls (key 29, v0-3): the bindings a filter selects, from the
// controller's ListAcls (admin_forwarder.h), grouped by resource pattern as
// Kafka answers. Needs DESCRIBE on the cluster (else
// CLUSTER_AUTHORIZATION_FAILED); a malformed filter is INVALID_REQUEST with
// the field at fault (acl_items.h); the controller unreachable is
// NOT_CONTROLLER / REQUEST_TIMED_OUT (errors.h), which Kafka clients retry.

#include <map>
#include <tuple>

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/acl_items.h"
#include "broker/kafka/handlers/handlers.h"

namespace fjord::broker {

void handlers::describe_acls(const request_context& ctx, kafka::describe_acls_request req) {
    namespace k = kafka_errors;
    kafka::describe_acls_response resp;
    resp.error_message = std::nullopt;
    if (!ctx.allowed_on_cluster(security::acl_operation::describe)) {
        resp.error_code = k::cluster_authorization_failed;
        resp.error_message = "DescribeAcls needs DESCRIBE on the cluster";
        ctx.respond(resp);
        return;
    }
    auto filter = acl_filter_from_kafka({req.resource_type_filter, req.resource_name_filter,
                                         req.pattern_type_filter, req.principal_filter,
                                         req.host_filter, req.operation, req.permission_type});
    if (!filter) {
        resp.error_code = k::invalid_request;
        resp.error_message = filter.error().detail;
        ctx.respond(resp);
        return;
    }
    admin_forwarder* admin = ctx.services->admin;
    v1::ListAclsRequest call;
    *call.mutable_filter() = std::move(*filter);
    admin->controller().list_acls(
        std::move(call), admin->options().default_timeout,
        admin->on_io<v1::ListAclsResponse>([ctx](result<v1::ListAclsResponse> r) {
            kafka::describe_acls_response out;
            out.error_message = std::nullopt;
            if (!r) {
                out.error_code = kafka_error_for_controller_call(r.error().code);
                out.error_message = r.error().detail;
                ctx.respond(out);
                return;
            }
            // One entry per resource pattern, in the controller's order.
            std::map<std::tuple<int, std::string, int>, size_t> at;
            for (const auto& b : r->bindings()) {
                const auto key =
                    std::make_tuple(static_cast<int>(b.resource_type()), b.resource_name(),
                                    static_cast<int>(b.pattern_type()));
                auto [it, fresh] = at.emplace(key, out.resources.size());
                if (fresh) {
                    kafka::describe_acls_response::describe_acls_resource res;
                    res.resource_type = static_cast<int8_t>(b.resource_type());
                    res.resource_name = b.resource_name();
                    res.pattern_type = static_cast<int8_t>(b.pattern_type());
                    out.resources.push_back(std::move(res));
                }
                kafka::describe_acls_response::acl_description d;
                d.principal = b.principal();
                d.host = b.host();
                d.operation = static_cast<int8_t>(b.operation());
                d.permission_type = static_cast<int8_t>(b.permission());
                out.resources[it->second].acls.push_back(std::move(d));
            }
            ctx.respond(out);
        }));
}

}  // namespace fjord::broker
