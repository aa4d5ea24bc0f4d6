#pragma once
// File: broker/kafka/handlers/config_alteration.h
//
// What AlterConfigs (alter_configs.cc) and IncrementalAlterConfigs
// (incremental_alter_configs.cc) share: their requests differ only in how a
// resource's entries become a change (admin_configs.h), so one template
// serves both. TOPIC resources become one controller AlterTopicConfigs call
// (admin_forwarder.h); BROKER resources are refused (cluster-wide settings
// belong to the controller, a broker's own to its broker.yaml), as is a
// resource named twice, an internal topic or a topic the cache lacks.
// Authorization first: ALTER_CONFIGS on the topic (else
// TOPIC_AUTHORIZATION_FAILED) or on the cluster for BROKER resources (else
// CLUSTER_AUTHORIZATION_FAILED).

#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/admin_items.h"
#include "broker/kafka/request_context.h"
#include "common/kafka/messages/incremental_alter_configs.h"

namespace fjord::broker {

template <typename Req, typename Resp>
void alter_topic_configs(const request_context& ctx, const Req& req) {
    namespace k = kafka_errors;
    admin_forwarder* admin = ctx.services->admin;
    const metadata_cache& md = ctx.services->md;
    auto resp = std::make_shared<Resp>();
    std::map<std::pair<int8_t, std::string>, int> named;
    for (const auto& res : req.resources) {
        ++named[{res.resource_type, res.resource_name}];
    }
    v1::AlterTopicConfigsRequest call;
    call.set_validate_only(req.validate_only);
    std::vector<size_t> sent;
    for (const auto& res : req.resources) {
        typename Resp::alter_configs_resource_response out;
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name;
        out.error_message = std::nullopt;
        outcome o;
        if (named[{res.resource_type, res.resource_name}] > 1) {
            o = {k::invalid_request,
                 fmt::format("resources: {} \"{}\" is named more than once in the request",
                             resource_type_name(res.resource_type), res.resource_name)};
        } else if (res.resource_type == resource_topic &&
                   !ctx.allowed_on_topic(security::acl_operation::alter_configs,
                                         res.resource_name)) {
            o = {k::topic_authorization_failed,
                 "altering configs needs ALTER_CONFIGS on the topic"};
        } else if (res.resource_type == resource_broker &&
                   !ctx.allowed_on_cluster(security::acl_operation::alter_configs)) {
            o = {k::cluster_authorization_failed,
                 "altering configs needs ALTER_CONFIGS on the cluster"};
        } else if (res.resource_type == resource_broker) {
            o = {k::policy_violation,
                 "resource_type: BROKER configs are not altered through Kafka: cluster-wide "
                 "settings belong to the controller (fjord cluster config set KEY=VALUE), "
                 "this broker's own to its broker.yaml"};
        } else if (res.resource_type != resource_topic) {
            o = unsupported_resource(res.resource_type);
        } else if (auto internal = refuse_internal(res.resource_name)) {
            o = *internal;
        } else if (const v1::Topic* t = md.topic(res.resource_name); t == nullptr) {
            o = no_such_topic(res.resource_name);
        } else {
            alter_plan plan;
            if constexpr (std::is_same_v<Req, kafka::incremental_alter_configs_request>) {
                plan = incremental_topic_configs(*t, md, res.configs);
            } else {
                plan = replace_topic_configs(*t, res.configs);
            }
            if (plan.error_code != k::none) {
                o = {plan.error_code, plan.error_message};
            } else if (!plan.no_op) {
                *call.add_topics() = std::move(plan.item);
                sent.push_back(resp->responses.size());
            }
        }
        out.error_code = o.code;
        out.error_message = o.message;
        resp->responses.push_back(std::move(out));
    }
    if (sent.empty()) {
        ctx.respond(*resp);
        return;
    }
    const bool validate_only = req.validate_only;
    auto p = admin->make_pending(ctx, admin->options().default_timeout, !validate_only);
    admin->controller().alter_topic_configs(
        std::move(call), admin->options().default_timeout,
        admin->on_io<v1::AlterTopicConfigsResponse>(
            [admin, p, resp, sent, validate_only](result<v1::AlterTopicConfigsResponse> r) {
                uint64_t revision = 0;
                for (size_t i = 0; i < sent.size(); ++i) {
                    auto& out = resp->responses[sent[i]];
                    const outcome o = outcome_at(r, i);
                    out.error_code = o.code;
                    out.error_message = o.message;
                    if (o.code == k::none) {
                        revision = r->revision();
                    }
                    if (!validate_only) {
                        admin_forwarder::log_outcome(
                            *p, "alter configs of topic " + out.resource_name, o);
                    }
                }
                admin->answer_after(revision, p, admin_forwarder::sender(p, resp));
            }));
}

}  // namespace fjord::broker
