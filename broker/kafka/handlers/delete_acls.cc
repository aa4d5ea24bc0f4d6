// File: broker/kafka/handlers/delete_acls.cc
//
// DeleteAcls (key 31, v0-3), forwarded to the controller's DeleteAcls
// (admin_forwarder.h): per filter, exactly the bindings it removed. Needs
// ALTER on the cluster (else CLUSTER_AUTHORIZATION_FAILED for every filter);
// a malformed filter is INVALID_REQUEST with the field at fault and is not
// sent. Answered once this broker enforces the removal.

#include <memory>
#include <vector>

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/acl_items.h"
#include "broker/kafka/handlers/handlers.h"

#include <fmt/format.h>

namespace fjord::broker {

void handlers::delete_acls(const request_context& ctx, kafka::delete_acls_request req) {
    namespace k = kafka_errors;
    admin_forwarder* admin = ctx.services->admin;
    auto resp = std::make_shared<kafka::delete_acls_response>();
    const bool may = ctx.allowed_on_cluster(security::acl_operation::alter);
    v1::DeleteAclsRequest call;
    std::vector<size_t> sent;
    for (const auto& f : req.filters) {
        kafka::delete_acls_response::delete_acls_filter_result r;
        r.error_message = std::nullopt;
        if (!may) {
            r.error_code = k::cluster_authorization_failed;
            r.error_message = "DeleteAcls needs ALTER on the cluster";
        } else if (auto filter = acl_filter_from_kafka(
                       {f.resource_type_filter, f.resource_name_filter, f.pattern_type_filter,
                        f.principal_filter, f.host_filter, f.operation, f.permission_type});
                   !filter) {
            r.error_code = k::invalid_request;
            r.error_message = filter.error().detail;
        } else {
            *call.add_filters() = std::move(*filter);
            sent.push_back(resp->filter_results.size());
        }
        resp->filter_results.push_back(std::move(r));
    }
    if (sent.empty()) {
        ctx.respond(*resp);
        return;
    }
    auto p = admin->make_pending(ctx, admin->options().default_timeout, true);
    admin->controller().delete_acls(
        std::move(call), admin->options().default_timeout,
        admin->on_io<v1::DeleteAclsResponse>(
            [admin, p, resp, sent](result<v1::DeleteAclsResponse> r) {
                uint64_t revision = 0;
                for (size_t i = 0; i < sent.size(); ++i) {
                    auto& out = resp->filter_results[sent[i]];
                    outcome o;
                    if (!r) {
                        o = outcome_of(r.error());
                    } else if (i >= static_cast<size_t>(r->results_size())) {
                        o = missing_item();
                    } else {
                        const auto& fr = r->results(static_cast<int>(i));
                        o = outcome_of(fr.result());
                        for (const auto& b : fr.deleted()) {
                            kafka::delete_acls_response::delete_acls_matching_acl m;
                            m.error_message = std::nullopt;
                            m.resource_type = static_cast<int8_t>(b.resource_type());
                            m.resource_name = b.resource_name();
                            m.pattern_type = static_cast<int8_t>(b.pattern_type());
                            m.principal = b.principal();
                            m.host = b.host();
                            m.operation = static_cast<int8_t>(b.operation());
                            m.permission_type = static_cast<int8_t>(b.permission());
                            out.matching_acls.push_back(std::move(m));
                        }
                    }
                    out.error_code = o.code;
                    out.error_message = o.message;
                    if (o.code == k::none) {
                        revision = r->revision();
                    }
                    admin_forwarder::log_outcome(
                        *p, fmt::format("delete ACLs ({} removed)", out.matching_acls.size()), o);
                }
                admin->answer_after(revision, p, admin_forwarder::sender(p, resp));
            }));
}

}  // namespace fjord::broker
