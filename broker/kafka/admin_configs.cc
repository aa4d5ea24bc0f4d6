// File: broker/kafka/admin_configs.cc
//
// The config descriptions and alter plans behind admin_configs.h. The
// schemas (keys, types, defaults, which cluster property a topic key
// follows) are the controller's own (common/cluster/config_schema.h), so a
// key added there shows up here without a change.

#include "broker/kafka/admin_configs.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "broker/kafka/errors.h"
#include "broker/server/broker_config.h"
#include "common/cluster/config_schema.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
using cluster::property;
using cluster::property_type;

config_type type_of(const property& p) {
    switch (p.type) {
        case property_type::boolean:
            return config_type::boolean;
        case property_type::integer:
            return p.min >= std::numeric_limits<int32_t>::min() &&
                           p.max <= std::numeric_limits<int32_t>::max()
                       ? config_type::int32
                       : config_type::int64;
        case property_type::decimal:
            return config_type::float64;
        case property_type::list:
            return config_type::list;
        case property_type::string:
        case property_type::enumeration:
            return config_type::string;
    }
    return config_type::unknown;
}

/// The cluster property's default (its schema's), or the topic key's.
std::string default_of(const property& p) {
    if (!p.cluster_default.empty()) {
        if (const property* c = cluster::cluster_config_schema().find(p.cluster_default)) {
            return c->default_value;
        }
    }
    return p.default_value;
}

/// The synonym chain of a topic key (see the header); never empty.
std::vector<config_synonym> topic_chain(const property& p, const v1::Topic& t,
                                        const metadata_cache& md) {
    std::vector<config_synonym> chain;
    if (auto it = t.configs().find(p.name); it != t.configs().end()) {
        chain.push_back({p.name, it->second, config_source::dynamic_topic});
    }
    if (!p.cluster_default.empty()) {
        if (auto v = md.config(p.cluster_default)) {
            chain.push_back({p.cluster_default, *v, config_source::dynamic_default_broker});
        }
    }
    chain.push_back({p.cluster_default.empty() ? p.name : p.cluster_default, default_of(p),
                     config_source::default_config});
    return chain;
}

described_config from_chain(std::string name, std::vector<config_synonym> chain, bool read_only,
                            config_type type, std::string documentation) {
    described_config d;
    d.name = std::move(name);
    d.value = chain.front().value;
    d.source = chain.front().source;
    d.read_only = read_only;
    d.type = type;
    d.documentation = std::move(documentation);
    d.synonyms = std::move(chain);
    return d;
}

/// A broker-level config that is a cluster property (or a topic default)
/// under Kafka's broker name.
struct cluster_backed {
    const char* kafka_name;
    const char* cluster_key;  ///< the cluster property, or nullptr
    const char* topic_key;    ///< else the topic property whose default it is
    const char* documentation;
};

constexpr cluster_backed cluster_backed_configs[] = {
    {"auto.create.topics.enable", "auto_create_topics_enabled", nullptr,
     "Create a topic a client names in Metadata (Fjord: auto_create_topics_enabled)."},
    {"compression.type", nullptr, "compression.type", "Default compression.type of topics."},
    {"default.replication.factor", "default_topic_replications", nullptr,
     "Replication factor of topics created with -1 (Fjord: default_topic_replications)."},
    {"log.cleanup.policy", "log_cleanup_policy", nullptr,
     "Default cleanup.policy of topics (Fjord: log_cleanup_policy)."},
    {"log.message.timestamp.type", nullptr, "message.timestamp.type",
     "Default message.timestamp.type of topics."},
    {"log.retention.bytes", "retention_bytes", nullptr,
     "Default retention.bytes of topics (Fjord: retention_bytes)."},
    {"log.retention.ms", "log_retention_ms", nullptr,
     "Default retention.ms of topics (Fjord: log_retention_ms)."},
    {"log.roll.ms", nullptr, "segment.ms", "Default segment.ms of topics."},
    {"log.segment.bytes", "log_segment_size", nullptr,
     "Default segment.bytes of topics (Fjord: log_segment_size)."},
    {"message.max.bytes", nullptr, "max.message.bytes", "Default max.message.bytes of topics."},
    {"min.insync.replicas", nullptr, "min.insync.replicas",
     "Default min.insync.replicas of topics."},
    {"num.partitions", "default_topic_partitions", nullptr,
     "Partitions of topics created with -1 (Fjord: default_topic_partitions)."},
};

std::string listener(const host_port& hp) {
    return "PLAINTEXT://" + hp.to_string();
}

/// Kafka's "never" for the flush intervals, where Fjord says 0.
std::string flush_value(uint64_t v) {
    return v == 0 ? std::to_string(std::numeric_limits<int64_t>::max()) : std::to_string(v);
}

alter_plan refuse(const std::string& topic, int16_t code, std::string message) {
    alter_plan p;
    p.error_code = code;
    p.error_message = std::move(message);
    p.item.set_name(topic);
    return p;
}

std::string join(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) {
        out += (out.empty() ? "" : ",") + v;
    }
    return out;
}

}  // namespace

std::vector<described_config> describe_topic(const v1::Topic& t, const metadata_cache& md) {
    std::vector<described_config> out;
    for (const property& p : cluster::topic_config_schema().properties()) {
        out.push_back(from_chain(p.name, topic_chain(p, t, md), false, type_of(p), p.description));
    }
    return out;
}

std::vector<broker_setting> broker_settings(const broker_config& cfg) {
    const broker_config d;  // the defaults, to tell which keys were left at them
    std::vector<broker_setting> s;
    s.push_back({"advertised.listeners", listener(cfg.advertise.kafka), false, "advertise.kafka",
                 config_type::string});
    s.push_back({"broker.id", std::to_string(cfg.node_id), false, "node_id", config_type::int32});
    s.push_back({"broker.rack", cfg.rack.empty() ? std::nullopt : std::optional(cfg.rack),
                 cfg.rack.empty(), "rack", config_type::string});
    s.push_back({"connections.max.idle.ms", std::to_string(cfg.connections_max_idle_ms),
                 cfg.connections_max_idle_ms == d.connections_max_idle_ms,
                 "connections_max_idle_ms", config_type::int64});
    s.push_back({"fetch.max.bytes", std::to_string(cfg.fetch_max_bytes),
                 cfg.fetch_max_bytes == d.fetch_max_bytes, "fetch_max_bytes", config_type::int32});
    s.push_back({"listeners", listener(cfg.listen.kafka), cfg.listen.kafka == d.listen.kafka,
                 "listen.kafka", config_type::string});
    s.push_back({"log.dirs", cfg.data_dir, false, "data_dir", config_type::string});
    s.push_back({"log.flush.interval.messages", flush_value(cfg.flush.messages),
                 cfg.flush.messages == d.flush.messages, "flush.messages", config_type::int64});
    s.push_back({"log.flush.interval.ms", flush_value(cfg.flush.ms), cfg.flush.ms == d.flush.ms,
                 "flush.ms", config_type::int64});
    s.push_back({"socket.request.max.bytes", std::to_string(cfg.max_request_bytes),
                 cfg.max_request_bytes == d.max_request_bytes, "max_request_bytes",
                 config_type::int32});
    return s;
}

std::vector<described_config> describe_broker(const std::vector<broker_setting>& settings,
                                              const metadata_cache& md, bool defaults_only) {
    std::vector<described_config> out;
    if (!defaults_only) {
        for (const auto& s : settings) {
            const config_source src =
                s.is_default ? config_source::default_config : config_source::static_broker;
            out.push_back(from_chain(s.name, {{s.fjord_key, s.value, src}}, true, s.type,
                                     fmt::format("broker.yaml: {}", s.fjord_key)));
        }
    }
    for (const auto& c : cluster_backed_configs) {
        const property* p = c.cluster_key != nullptr
                                ? cluster::cluster_config_schema().find(c.cluster_key)
                                : cluster::topic_config_schema().find(c.topic_key);
        if (p == nullptr) {
            continue;  // the schema no longer has it
        }
        std::vector<config_synonym> chain;
        if (c.cluster_key != nullptr) {
            if (auto v = md.config(c.cluster_key)) {
                chain.push_back({c.cluster_key, *v, config_source::dynamic_default_broker});
            }
        }
        if (defaults_only && chain.empty()) {
            continue;
        }
        chain.push_back({p->name, p->default_value, config_source::default_config});
        out.push_back(
            from_chain(c.kafka_name, std::move(chain), true, type_of(*p), c.documentation));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

alter_plan replace_topic_configs(
    const v1::Topic& t,
    const std::vector<kafka::alter_configs_request::alterable_config>& configs) {
    alter_plan plan;
    plan.item.set_name(t.name());
    std::set<std::string> named;
    for (const auto& c : configs) {
        if (!named.insert(c.name).second) {
            return refuse(t.name(), k::invalid_request,
                          fmt::format("configs: \"{}\" is named more than once", c.name));
        }
        if (c.value) {
            (*plan.item.mutable_set())[c.name] = *c.value;
        }
    }
    // The request is the whole set: what the topic has and the request does
    // not set goes back to its default.
    for (const auto& [key, value] :
         std::map<std::string, std::string>(t.configs().begin(), t.configs().end())) {
        if (plan.item.set().count(key) == 0) {
            plan.item.add_remove(key);
        }
    }
    plan.no_op = plan.item.set().empty() && plan.item.remove().empty();
    return plan;
}

alter_plan incremental_topic_configs(
    const v1::Topic& t, const metadata_cache& md,
    const std::vector<kafka::incremental_alter_configs_request::alterable_config>& ops) {
    alter_plan plan;
    plan.item.set_name(t.name());
    std::set<std::string> named;
    for (const auto& op : ops) {
        if (!named.insert(op.name).second) {
            return refuse(t.name(), k::invalid_request,
                          fmt::format("configs: \"{}\" is named more than once", op.name));
        }
        switch (op.config_operation) {
            case op_set:
                if (!op.value) {
                    return refuse(t.name(), k::invalid_request,
                                  fmt::format("configs: SET {} without a value (use DELETE to "
                                              "reset it to its default)",
                                              op.name));
                }
                (*plan.item.mutable_set())[op.name] = *op.value;
                break;
            case op_delete:
                plan.item.add_remove(op.name);
                break;
            case op_append:
            case op_subtract: {
                const char* verb = op.config_operation == op_append ? "APPEND" : "SUBTRACT";
                const property* p = cluster::topic_config_schema().find(op.name);
                if (p == nullptr) {
                    return refuse(t.name(), k::invalid_config,
                                  fmt::format("{}: unknown topic config key", op.name));
                }
                if (p->type != property_type::list) {
                    return refuse(t.name(), k::invalid_config,
                                  fmt::format("{}: {} applies to list configs only; {} is {}",
                                              op.name, verb, op.name, cluster::to_string(p->type)));
                }
                if (!op.value) {
                    return refuse(t.name(), k::invalid_request,
                                  fmt::format("configs: {} {} without a value", verb, op.name));
                }
                std::vector<std::string> values =
                    cluster::split_list(*topic_chain(*p, t, md).front().value);
                for (const auto& e : cluster::split_list(*op.value)) {
                    const auto it = std::find(values.begin(), values.end(), e);
                    if (op.config_operation == op_append && it == values.end()) {
                        values.push_back(e);
                    } else if (op.config_operation == op_subtract && it != values.end()) {
                        values.erase(it);
                    }
                }
                // An emptied list is set as such (Kafka's rule); the
                // controller refuses it where a list needs an element.
                (*plan.item.mutable_set())[op.name] = join(values);
                break;
            }
            default:
                return refuse(t.name(), k::invalid_request,
                              fmt::format("configs: {}: operation {} is not SET (0), DELETE (1), "
                                          "APPEND (2) or SUBTRACT (3)",
                                          op.name, op.config_operation));
        }
    }
    plan.no_op = plan.item.set().empty() && plan.item.remove().empty();
    return plan;
}

}  // namespace fjord::broker
