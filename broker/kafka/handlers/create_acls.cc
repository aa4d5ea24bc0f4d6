// File: broker/kafka/handlers/create_acls.cc
//
// CreateAcls (key 30, v0-3), forwarded to the controller's CreateAcls
// (admin_forwarder.h): one result per creation, in order. Needs ALTER on the
// cluster (else CLUSTER_AUTHORIZATION_FAILED for every creation). A creation
// that may not be stored (acl_items.h) is INVALID_REQUEST with the field at
// fault and is not sent; creating an existing binding succeeds (a no-op).
// Answered once this broker enforces the new bindings (the cache applied the
// controller's revision), so the creator's next request sees them.

#include <memory>
#include <vector>

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/acl_items.h"
#include "broker/kafka/handlers/handlers.h"
#include "common/security/acl_proto.h"

namespace fjord::broker {

void handlers::create_acls(const request_context& ctx, kafka::create_acls_request req) {
    namespace k = kafka_errors;
    admin_forwarder* admin = ctx.services->admin;
    auto resp = std::make_shared<kafka::create_acls_response>();
    const bool may = ctx.allowed_on_cluster(security::acl_operation::alter);
    v1::CreateAclsRequest call;
    std::vector<size_t> sent;
    for (const auto& c : req.creations) {
        kafka::create_acls_response::acl_creation_result r;
        r.error_message = std::nullopt;
        if (!may) {
            r.error_code = k::cluster_authorization_failed;
            r.error_message = "CreateAcls needs ALTER on the cluster";
        } else if (auto b = acl_binding_from_kafka({c.resource_type, c.resource_name,
                                                    c.resource_pattern_type, c.principal, c.host,
                                                    c.operation, c.permission_type});
                   !b) {
            r.error_code = k::invalid_request;
            r.error_message = b.error().detail;
        } else {
            *call.add_bindings() = std::move(*b);
            sent.push_back(resp->results.size());
        }
        resp->results.push_back(std::move(r));
    }
    if (sent.empty()) {
        ctx.respond(*resp);
        return;
    }
    auto p = admin->make_pending(ctx, admin->options().default_timeout, true);
    admin->controller().create_acls(
        std::move(call), admin->options().default_timeout,
        admin->on_io<v1::CreateAclsResponse>(
            [admin, p, resp, sent](result<v1::CreateAclsResponse> r) {
                uint64_t revision = 0;
                for (size_t i = 0; i < sent.size(); ++i) {
                    auto& out = resp->results[sent[i]];
                    outcome o;
                    if (!r) {
                        o = outcome_of(r.error());
                    } else if (i >= static_cast<size_t>(r->results_size())) {
                        o = missing_item();
                    } else {
                        o = outcome_of(r->results(static_cast<int>(i)));
                    }
                    out.error_code = o.code;
                    out.error_message = o.message;
                    if (o.code == k::none) {
                        revision = r->revision();
                    }
                    admin_forwarder::log_outcome(*p, "create ACL", o);
                }
                admin->answer_after(revision, p, admin_forwarder::sender(p, resp));
            }));
}

}  // namespace fjord::broker
