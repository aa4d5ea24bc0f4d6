// File: broker/kafka/handlers/describe_user_scram_credentials.cc
//
// DescribeUserScramCredentials (key 50, v0): each user's SCRAM mechanism and
// iterations (never a key or a salt), from the metadata cache, which holds
// the controller's users table (the controller's ListUsers does not return
// iterations). Kafka's rules: DESCRIBE on the cluster (else
// CLUSTER_AUTHORIZATION_FAILED for the request); null or no users: every
// user; a user named twice: DUPLICATE_RESOURCE; an unknown one:
// RESOURCE_NOT_FOUND. A Fjord user has one credential, so one entry.

#include <map>

#include <fmt/format.h>

#include "broker/cluster/metadata_cache.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "common/security/scram.h"

namespace fjord::broker {
namespace {

/// Kafka's ScramMechanism codes.
int8_t kafka_mechanism(const std::string& name) {
    auto m = security::parse_scram_mechanism(name);
    if (!m) {
        return 0;  // UNKNOWN
    }
    return *m == security::scram_mechanism::sha256 ? 1 : 2;
}

}  // namespace

void handlers::describe_user_scram_credentials(const request_context& ctx,
                                               kafka::describe_user_scram_credentials_request req) {
    namespace k = kafka_errors;
    using resp_t = kafka::describe_user_scram_credentials_response;
    resp_t resp;
    resp.error_message = std::nullopt;
    if (!ctx.allowed_on_cluster(security::acl_operation::describe)) {
        resp.error_code = k::cluster_authorization_failed;
        resp.error_message = "DescribeUserScramCredentials needs DESCRIBE on the cluster";
        ctx.respond(resp);
        return;
    }
    const auto& users = ctx.services->md.users();
    const auto describe = [&](const v1::User& u) {
        resp_t::describe_user_scram_credentials_result r;
        r.user = u.name();
        r.error_message = std::nullopt;
        resp_t::credential_info ci;
        ci.mechanism = kafka_mechanism(u.credential().mechanism());
        ci.iterations = u.credential().iterations();
        r.credential_infos.push_back(ci);
        return r;
    };
    if (!req.users || req.users->empty()) {
        for (const auto& [name, u] : users) {
            resp.results.push_back(describe(u));
        }
        ctx.respond(resp);
        return;
    }
    std::map<std::string, int> named;
    for (const auto& n : *req.users) {
        ++named[n.name];
    }
    for (const auto& n : *req.users) {
        resp_t::describe_user_scram_credentials_result r;
        r.user = n.name;
        r.error_message = std::nullopt;
        if (named[n.name] > 1) {
            r.error_code = k::duplicate_resource;
            r.error_message = fmt::format("users: \"{}\" is named more than once", n.name);
        } else if (auto it = users.find(n.name); it == users.end()) {
            r.error_code = k::resource_not_found;
            r.error_message = fmt::format("users: no user \"{}\"", n.name);
        } else {
            r = describe(it->second);
        }
        resp.results.push_back(std::move(r));
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
