// File: broker/kafka/handlers/describe_configs.cc
//
// DescribeConfigs (key 32, v0-4): TOPIC and BROKER resources from the
// metadata cache (admin_configs.h); nothing is asked of the controller.
// Authorization: DESCRIBE_CONFIGS on the topic (else
// TOPIC_AUTHORIZATION_FAILED) or, for BROKER resources, on the cluster
// (else CLUSTER_AUTHORIZATION_FAILED).

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

/// The described configs of one resource, or why not.
std::pair<std::vector<described_config>, outcome> describe(const metadata_cache& md,
                                                           const admin_options& o, int8_t type,
                                                           const std::string& name) {
    if (type == resource_topic) {
        const v1::Topic* t = md.topic(name);
        if (t == nullptr) {
            return {{}, no_such_topic(name)};
        }
        return {describe_topic(*t, md), {}};
    }
    if (type == resource_broker) {
        if (name.empty()) {
            return {describe_broker(o.settings, md, true), {}};
        }
        int32_t id = 0;
        const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
        if (ec != std::errc() || end != name.data() + name.size()) {
            return {{},
                    {k::invalid_request,
                     fmt::format("resource_name: \"{}\" is not a broker id", name)}};
        }
        if (id != o.node_id) {
            return {{},
                    {k::invalid_request,
                     fmt::format("resource_name: this is broker {}, not {}: ask broker {} "
                                 "(or name \"\" for the cluster-wide defaults)",
                                 o.node_id, id, id)}};
        }
        return {describe_broker(o.settings, md, false), {}};
    }
    return {{}, unsupported_resource(type)};
}

}  // namespace

void handlers::describe_configs(const request_context& ctx, kafka::describe_configs_request req) {
    admin_forwarder* admin = ctx.services->admin;
    const metadata_cache& md = ctx.services->md;
    const int16_t version = ctx.version;
    kafka::describe_configs_response resp;
    for (const auto& res : req.resources) {
        kafka::describe_configs_response::describe_configs_result out;
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name;
        out.error_message = std::nullopt;
        auto [configs, o] = describe(md, admin->options(), res.resource_type, res.resource_name);
        if (res.resource_type == resource_topic &&
            !ctx.allowed_on_topic(security::acl_operation::describe_configs, res.resource_name)) {
            configs.clear();
            o = {k::topic_authorization_failed,
                 "DescribeConfigs needs DESCRIBE_CONFIGS on the topic"};
        } else if (res.resource_type == resource_broker &&
                   !ctx.allowed_on_cluster(security::acl_operation::describe_configs)) {
            configs.clear();
            o = {k::cluster_authorization_failed,
                 "DescribeConfigs needs DESCRIBE_CONFIGS on the cluster"};
        }
        out.error_code = o.code;
        out.error_message = o.message;
        for (auto& d : configs) {
            if (res.configuration_keys &&
                std::find(res.configuration_keys->begin(), res.configuration_keys->end(), d.name) ==
                    res.configuration_keys->end()) {
                continue;  // Kafka leaves keys it does not know out, too
            }
            kafka::describe_configs_response::describe_configs_resource_result c;
            c.name = d.name;
            c.value = d.value;
            c.read_only = d.read_only;
            if (version == 0) {
                c.is_default = d.source == config_source::default_config;
            }
            c.config_source = static_cast<int8_t>(d.source);
            if (req.include_synonyms) {
                for (auto& s : d.synonyms) {
                    kafka::describe_configs_response::describe_configs_synonym syn;
                    syn.name = s.name;
                    syn.value = s.value;
                    syn.source = static_cast<int8_t>(s.source);
                    c.synonyms.push_back(std::move(syn));
                }
            }
            c.config_type = static_cast<int8_t>(d.type);
            c.documentation = req.include_documentation
                                  ? std::optional<std::string>(d.documentation)
                                  : std::nullopt;
            out.configs.push_back(std::move(c));
        }
        resp.results.push_back(std::move(out));
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
