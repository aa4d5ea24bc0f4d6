// File: controller/stm/commands.cc
//
// The frontend's validators and command builders (see commands.h). Checks
// run in a fixed order (name, existence, partitions, replication factor,
// configs, placement) so a request with several faults always gets the same
// error.

#include "controller/stm/commands.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/cluster/config_schema.h"
#include "common/cluster/errc.h"
#include "common/cluster/migration.h"
#include "common/cluster/shadow_link.h"
#include "common/cluster/topic_name.h"
#include "common/security/acl_proto.h"
#include "common/security/scram.h"
#include "common/tiered/layout.h"
#include "controller/stm/placement.h"

namespace fjord::stm {

using cluster::cluster_config_schema;
using cluster::parse_int;
using cluster::topic_config_schema;

using cluster::errc;
using cluster::quoted;
using cluster::validate_topic_name;

namespace {

v1::ControllerCommand new_command(const command_meta& meta) {
    v1::ControllerCommand cmd;
    cmd.set_principal(meta.principal);
    cmd.set_time_ms(meta.time_ms);
    return cmd;
}

result<void> unknown_topic(std::string_view name) {
    return error_info::for_field(errc::unknown_topic, "name",
                                 fmt::format("topic {} does not exist", quoted(name)));
}

/// `s` in double quotes, never shortened (a location is read whole).
std::string whole(std::string_view s) {
    return fmt::format("\"{}\"", s);
}

/// The value of cluster property `key` after SetClusterConfig `c`.
std::string config_after(const controller_stm& stm, const v1::SetClusterConfig& c,
                         const char* key) {
    if (const auto it = c.upsert().find(key); it != c.upsert().end()) {
        return it->second;
    }
    if (std::find(c.remove().begin(), c.remove().end(), key) != c.remove().end()) {
        return cluster_config_schema().find(key)->default_value;
    }
    return stm.cluster_config().value(key);
}

bool touches(const v1::SetClusterConfig& c, const char* key) {
    return c.upsert().count(key) > 0 ||
           std::find(c.remove().begin(), c.remove().end(), key) != c.remove().end();
}

bool has_compact(std::string_view policy) {
    for (const std::string& p : cluster::split_list(policy)) {
        if (p == "compact") {
            return true;
        }
    }
    return false;
}

bool config_true(const v1::Topic& t, const char* key) {
    const auto it = t.configs().find(key);
    return it != t.configs().end() && it->second == "true";
}

/// Tiered storage cannot be turned off under tiered topics or running
/// migrations, nor compaction turned on under tiered topics that follow
/// the cluster's cleanup policy.
result<void> check_config_keeps_tiering(const controller_stm& stm, const v1::SetClusterConfig& c) {
    if (touches(c, "cloud_storage_enabled") &&
        config_after(stm, c, "cloud_storage_enabled") != "true") {
        std::vector<std::string> tiered;
        for (const auto& [name, t] : stm.topics().all()) {
            if (config_true(t, "redpanda.remote.write") || config_true(t, "redpanda.remote.read")) {
                tiered.push_back(quoted(name));
            }
        }
        if (!tiered.empty()) {
            return error_info::for_field(
                errc::invalid_config, "cloud_storage_enabled",
                fmt::format("{} topic{} use{} tiered storage (redpanda.remote.write or "
                            "redpanda.remote.read true): {}{}; turn it off on them first",
                            tiered.size(), tiered.size() == 1 ? "" : "s",
                            tiered.size() == 1 ? "s" : "",
                            fmt::join(tiered.begin(),
                                      tiered.begin() + std::min<size_t>(5, tiered.size()), ", "),
                            tiered.size() > 5 ? ", ..." : ""));
        }
        for (const auto& [id, m] : stm.migrations().all()) {
            if (!cluster::is_terminal(m.state())) {
                return error_info::for_field(
                    errc::invalid_config, "cloud_storage_enabled",
                    fmt::format("migration {} ({}) is {}; wait for it to end or cancel it first",
                                id, cluster::to_string(m.type()), cluster::to_string(m.state())));
            }
        }
    }
    if (touches(c, "log_cleanup_policy") &&
        has_compact(config_after(stm, c, "log_cleanup_policy"))) {
        for (const auto& [name, t] : stm.topics().all()) {
            if (config_true(t, "redpanda.remote.write") &&
                t.configs().count("cleanup.policy") == 0) {
                return error_info::for_field(
                    errc::invalid_config, "log_cleanup_policy",
                    fmt::format("topic {} has redpanda.remote.write=true and follows "
                                "log_cleanup_policy: compacted topics cannot be tiered yet",
                                quoted(name)));
            }
        }
    }
    return ok();
}

const char* even_reason =
    "an even number of replicas tolerates no more failures than one replica fewer (a majority "
    "of 4 is 3, as of 5)";

}  // namespace

// ---------------------------------------------------------------- shared checks

result<void> check_topic_name_available(const topic_table& topics, std::string_view name) {
    if (topics.find(name) != nullptr) {
        return error_info::for_field(errc::topic_already_exists, "name",
                                     fmt::format("topic {} already exists", quoted(name)));
    }
    if (const v1::Topic* other = topics.find_collision(name); other != nullptr) {
        return error_info::for_field(
            errc::invalid_argument, "name",
            fmt::format("{} collides with existing topic \"{}\" ('.' and '_' are the "
                        "same in metric names)",
                        quoted(name), other->name()));
    }
    return ok();
}

result<void> validate_uuid(std::string_view field, std::string_view uuid) {
    bool good = uuid.size() == 36;
    for (size_t i = 0; good && i < uuid.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        good = dash ? uuid[i] == '-' : std::isxdigit(static_cast<unsigned char>(uuid[i])) != 0;
    }
    if (!good) {
        return error_info::for_field(
            errc::invalid_argument, field,
            fmt::format("{} is not a uuid (8-4-4-4-12 hex digits)", quoted(uuid)));
    }
    return ok();
}

result<void> check_broker_state_transition(const v1::Broker& b, v1::BrokerState to) {
    if (to != v1::BROKER_STATE_ACTIVE && to != v1::BROKER_STATE_DRAINING &&
        to != v1::BROKER_STATE_DECOMMISSIONED) {
        return error_info::for_field(
            errc::invalid_argument, "state",
            fmt::format("{} is not active, draining or decommissioned", static_cast<int>(to)));
    }
    if (b.state() == v1::BROKER_STATE_DECOMMISSIONED && to != v1::BROKER_STATE_DECOMMISSIONED) {
        return error_info::for_field(
            errc::invalid_argument, "state",
            fmt::format("broker {} is decommissioned, which is final", b.id()));
    }
    return ok();
}

bool same_registration(const v1::Broker& a, const v1::Broker& b) {
    if (a.rack() != b.rack() || a.fips_mode() != b.fips_mode() || a.version() != b.version() ||
        a.endpoints_size() != b.endpoints_size()) {
        return false;
    }
    for (int i = 0; i < a.endpoints_size(); ++i) {
        const v1::Endpoint& x = a.endpoints(i);
        const v1::Endpoint& y = b.endpoints(i);
        if (x.name() != y.name() || x.host() != y.host() || x.port() != y.port()) {
            return false;
        }
    }
    return true;
}

result<std::map<std::string, std::string>> validate_topic_configs(
    const google::protobuf::Map<std::string, std::string>& configs, int32_t replication_factor,
    std::string_view prefix) {
    const std::map<std::string, std::string> in(configs.begin(), configs.end());
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : in) {
        result<std::string> canonical = topic_config_schema().validate(k, v);
        if (!canonical) {
            return canonical.error().within(prefix);  // the schema's invalid_config
        }
        if (k == "min.insync.replicas" && *parse_int(*canonical) > replication_factor) {
            return error_info::for_field(errc::invalid_config, fmt::format("{}{}", prefix, k),
                                         fmt::format("{} is more than the replication factor {}",
                                                     *canonical, replication_factor));
        }
        out.emplace(k, std::move(*canonical));
    }
    return out;
}

// ---------------------------------------------------------------- topics

result<v1::Topic> build_topic(const controller_stm& stm, const topic_table& load,
                              const std::string& name, int64_t partitions, int64_t rf,
                              const google::protobuf::Map<std::string, std::string>& configs,
                              std::string_view topic_uuid, std::string_view rf_note) {
    if (rf % 2 == 0) {
        return error_info::for_field(
            errc::invalid_replication_factor, "replication_factor",
            fmt::format("{}{} is even; it must be odd: {}", rf, rf_note, even_reason));
    }
    const size_t active = stm.brokers().active().size();
    if (static_cast<size_t>(rf) > active) {
        return error_info::for_field(
            errc::invalid_replication_factor, "replication_factor",
            fmt::format("{}{} is more than the {} active brokers", rf, rf_note, active));
    }
    auto canonical = validate_topic_configs(configs, static_cast<int32_t>(rf), "configs.");
    if (!canonical) {
        return canonical.error();
    }
    std::set<std::string> touched;
    for (const auto& [k, v] : *canonical) {
        touched.insert(k);
    }
    if (auto r = check_tiered_configs(stm, *canonical, touched, "configs."); !r) {
        return r.error();
    }
    if (auto r = validate_uuid("uuid", topic_uuid); !r) {
        return r.error();
    }
    auto placed = place_partitions(stm.brokers(), load, 0, static_cast<int32_t>(partitions),
                                   static_cast<int32_t>(rf));
    if (!placed) {
        return placed.error();
    }
    v1::Topic t;
    t.set_name(name);
    t.set_uuid(std::string(topic_uuid));
    t.set_replication_factor(static_cast<int32_t>(rf));
    for (v1::PartitionAssignment& p : *placed) {
        *t.add_partitions() = std::move(p);
    }
    for (const auto& [k, v] : *canonical) {
        (*t.mutable_configs())[k] = v;
    }
    if (!stm.cluster_uuid().empty()) {
        t.set_remote_location(tiered::default_location(name, stm.cluster_uuid(), topic_uuid));
    }
    return t;
}

result<v1::ControllerCommand> make_create_topic(const controller_stm& stm,
                                                const v1::CreateTopicsRequest::Item& item,
                                                std::string_view topic_uuid,
                                                const command_meta& meta) {
    const std::string& name = item.name();
    if (auto r = validate_topic_name(name); !r) {
        return r.error();
    }
    if (auto r = check_topic_name_available(stm.topics(), name); !r) {
        return r.error();
    }
    if (auto r = check_name_not_migrating(stm, name, "name"); !r) {
        return r.error();
    }

    const int64_t default_partitions = stm.cluster_config().int_value("default_topic_partitions");
    int64_t partitions = item.partitions();
    if (partitions == -1) {
        partitions = default_partitions;
    } else if (partitions < 1) {
        return error_info::for_field(errc::invalid_partitions, "partitions",
                                     fmt::format("{} is not allowed; use at least 1, or -1 for "
                                                 "the cluster default ({})",
                                                 partitions, default_partitions));
    }
    if (partitions > max_partitions_per_topic) {
        return error_info::for_field(errc::invalid_partitions, "partitions",
                                     fmt::format("{} is more than the limit of {} per topic",
                                                 partitions, max_partitions_per_topic));
    }

    const int64_t default_rf = stm.cluster_config().int_value("default_topic_replications");
    int64_t rf = item.replication_factor();
    std::string from_default;
    if (rf == -1) {
        rf = default_rf;
        from_default = " (the cluster default default_topic_replications)";
    } else if (rf < 1) {
        return error_info::for_field(errc::invalid_replication_factor, "replication_factor",
                                     fmt::format("{} is not allowed; use at least 1, or "
                                                 "-1 for the cluster default ({})",
                                                 rf, default_rf));
    }
    auto t = build_topic(stm, stm.topics(), name, partitions, rf, item.configs(), topic_uuid,
                         from_default);
    if (!t) {
        return t.error();
    }
    v1::ControllerCommand cmd = new_command(meta);
    *cmd.mutable_create_topic()->mutable_topic() = std::move(*t);
    return cmd;
}

result<v1::ControllerCommand> make_delete_topic(const controller_stm& stm, std::string_view name,
                                                const command_meta& meta) {
    const v1::Topic* t = stm.topics().find(name);
    if (t == nullptr) {
        return unknown_topic(name).error();
    }
    if (auto r = check_not_migrating(*t, "name"); !r) {
        return r.error();
    }
    v1::ControllerCommand cmd = new_command(meta);
    cmd.mutable_delete_topic()->set_name(std::string(name));
    return cmd;
}

result<v1::ControllerCommand> make_alter_topic_configs(
    const controller_stm& stm, const v1::AlterTopicConfigsRequest::Item& item,
    const command_meta& meta) {
    const v1::Topic* t = stm.topics().find(item.name());
    if (t == nullptr) {
        return unknown_topic(item.name()).error();
    }
    if (auto r = check_not_migrating(*t, "name"); !r) {
        return r.error();
    }
    if (item.set().empty() && item.remove().empty()) {
        return error_info::for_field(errc::invalid_argument, "set", "no config change requested");
    }
    auto set = validate_topic_configs(item.set(), t->replication_factor(), "set.");
    if (!set) {
        return set.error();
    }
    const std::set<std::string> removed(item.remove().begin(), item.remove().end());
    {
        std::set<std::string> set_keys;
        for (const auto& [k, v] : *set) {
            set_keys.insert(k);
        }
        if (auto r = check_shadow_configs_writable(stm, *t, set_keys, removed); !r) {
            return r.error();
        }
    }
    for (const std::string& k : removed) {
        if (topic_config_schema().find(k) == nullptr) {
            return error_info::for_field(errc::invalid_config, fmt::format("remove.{}", k),
                                         "unknown topic config key");
        }
        if (set->count(k) > 0) {
            return error_info::for_field(errc::invalid_argument, fmt::format("remove.{}", k),
                                         "the key is also set");
        }
    }
    {
        // Tiering's rules on the configs as they would be afterwards; a
        // removed key is blamed as "remove.<key>", a set one as "set.<key>".
        std::map<std::string, std::string> after(t->configs().begin(), t->configs().end());
        std::set<std::string> touched;
        for (const std::string& k : removed) {
            after.erase(k);
            touched.insert(k);
        }
        for (const auto& [k, v] : *set) {
            after[k] = v;
            touched.insert(k);
        }
        if (auto r = check_tiered_configs(stm, after, touched, ""); !r) {
            const std::string& f = r.error().field;
            return error_info::for_field(
                r.error().code, fmt::format("{}.{}", removed.count(f) ? "remove" : "set", f),
                std::string(r.error().reason()));
        }
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::AlterTopicConfigs* a = cmd.mutable_alter_topic_configs();
    a->set_name(item.name());
    for (const auto& [k, v] : *set) {
        (*a->mutable_set())[k] = v;
    }
    for (const std::string& k : removed) {
        a->add_remove(k);
    }
    return cmd;
}

result<v1::ControllerCommand> make_create_partitions(const controller_stm& stm,
                                                     const v1::CreatePartitionsRequest::Item& item,
                                                     const command_meta& meta) {
    const v1::Topic* t = stm.topics().find(item.name());
    if (t == nullptr) {
        return unknown_topic(item.name()).error();
    }
    if (auto r = check_not_migrating(*t, "name"); !r) {
        return r.error();
    }
    if (auto r = check_shadow_partitions_writable(*t, "name"); !r) {
        return r.error();
    }
    const int32_t current = t->partitions_size();
    if (item.total() <= current) {
        return error_info::for_field(errc::invalid_partitions, "total",
                                     fmt::format("{} is not more than the current {} partitions "
                                                 "(partitions can only be added)",
                                                 item.total(), current));
    }
    if (item.total() > max_partitions_per_topic) {
        return error_info::for_field(errc::invalid_partitions, "total",
                                     fmt::format("{} is more than the limit of {} per topic",
                                                 item.total(), max_partitions_per_topic));
    }
    auto placed = place_partitions(stm.brokers(), stm.topics(), current, item.total() - current,
                                   t->replication_factor());
    if (!placed) {
        return placed.error();
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::CreatePartitions* c = cmd.mutable_create_partitions();
    c->set_name(item.name());
    for (v1::PartitionAssignment& p : *placed) {
        *c->add_partitions() = std::move(p);
    }
    return cmd;
}

// ---------------------------------------------------------------- brokers

result<std::optional<v1::ControllerCommand>> make_register_broker(const controller_stm& stm,
                                                                  const v1::Broker& broker,
                                                                  bool existing_alive,
                                                                  const command_meta& meta) {
    if (broker.id() < 0) {
        return error_info::for_field(errc::invalid_argument, "broker.id",
                                     fmt::format("{} is negative", broker.id()));
    }
    if (broker.incarnation().empty()) {
        return error_info::for_field(errc::invalid_argument, "broker.incarnation",
                                     "must not be empty");
    }
    if (broker.endpoints().empty()) {
        return error_info::for_field(errc::invalid_argument, "broker.endpoints",
                                     "at least one endpoint is required");
    }
    std::set<std::string> names;
    for (int i = 0; i < broker.endpoints_size(); ++i) {
        const v1::Endpoint& e = broker.endpoints(i);
        if (e.host().empty()) {
            return error_info::for_field(errc::invalid_argument,
                                         fmt::format("broker.endpoints[{}].host", i),
                                         "must not be empty");
        }
        if (e.port() < 1 || e.port() > 65535) {
            return error_info::for_field(errc::invalid_argument,
                                         fmt::format("broker.endpoints[{}].port", i),
                                         fmt::format("{} is outside 1..65535", e.port()));
        }
        if (!names.insert(e.name()).second) {
            return error_info::for_field(errc::invalid_argument,
                                         fmt::format("broker.endpoints[{}].name", i),
                                         fmt::format("listener \"{}\" appears "
                                                     "twice",
                                                     e.name()));
        }
    }
    v1::Broker b = broker;
    if (b.fips_mode() == v1::FIPS_MODE_UNSPECIFIED) {
        b.set_fips_mode(v1::FIPS_MODE_DISABLED);
    }
    // The controller decides state and audit; whatever the caller sent is dropped.
    b.clear_state();
    b.clear_registered();
    b.clear_updated();

    if (const v1::Broker* cur = stm.brokers().find(b.id()); cur != nullptr) {
        if (cur->state() == v1::BROKER_STATE_DECOMMISSIONED) {
            return error_info::for_field(errc::broker_id_in_use, "broker.id",
                                         fmt::format("broker {} was decommissioned; its id is "
                                                     "never reused",
                                                     b.id()));
        }
        if (cur->incarnation() == b.incarnation()) {
            if (same_registration(*cur, b)) {
                return std::optional<v1::ControllerCommand>{};
            }
            return error_info::for_field(
                errc::invalid_argument, "broker.incarnation",
                fmt::format("\"{}\" is registered for broker {} "
                            "with other endpoints, rack, FIPS mode or version; a "
                            "changed broker registers with a new incarnation",
                            b.incarnation(), b.id()));
        }
        if (existing_alive) {
            return error_info::for_field(errc::broker_id_in_use, "broker.id",
                                         fmt::format("broker {} is held by a live process "
                                                     "(incarnation \"{}\")",
                                                     b.id(), cur->incarnation()));
        }
    }
    v1::ControllerCommand cmd = new_command(meta);
    *cmd.mutable_register_broker()->mutable_broker() = std::move(b);
    return std::optional(std::move(cmd));
}

result<std::optional<v1::ControllerCommand>> make_set_broker_state(const controller_stm& stm,
                                                                   int32_t id,
                                                                   v1::BrokerState state,
                                                                   const command_meta& meta) {
    const v1::Broker* cur = stm.brokers().find(id);
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_broker, "id", fmt::format("no broker {}", id));
    }
    if (auto r = check_broker_state_transition(*cur, state); !r) {
        return r.error();
    }
    if (cur->state() == state) {
        return std::optional<v1::ControllerCommand>{};
    }
    v1::ControllerCommand cmd = new_command(meta);
    cmd.mutable_set_broker_state()->set_id(id);
    cmd.mutable_set_broker_state()->set_state(state);
    return std::optional(std::move(cmd));
}

result<v1::ControllerCommand> make_set_partition_leaders(
    const controller_stm& stm, const std::vector<v1::LeaderChange>& changes,
    const command_meta& meta) {
    if (changes.empty()) {
        return error_info::for_field(errc::invalid_argument, "changes",
                                     "no leader change requested");
    }
    for (size_t i = 0; i < changes.size(); ++i) {
        const v1::LeaderChange& lc = changes[i];
        const v1::Topic* t = stm.topics().find(lc.topic());
        if (t == nullptr) {
            return error_info::for_field(
                errc::unknown_topic, fmt::format("changes[{}].topic", i),
                fmt::format("topic {} does not exist", quoted(lc.topic())));
        }
        if (lc.partition() < 0 || lc.partition() >= t->partitions_size()) {
            return error_info::for_field(
                errc::invalid_argument, fmt::format("changes[{}].partition", i),
                fmt::format("topic \"{}\" has no partition {}", lc.topic(), lc.partition()));
        }
        const auto& replicas = t->partitions(lc.partition()).replicas();
        if (lc.leader() != -1 &&
            std::find(replicas.begin(), replicas.end(), lc.leader()) == replicas.end()) {
            return error_info::for_field(errc::invalid_argument,
                                         fmt::format("changes[{}].leader", i),
                                         fmt::format("broker {} is not a replica of "
                                                     "{}/{}",
                                                     lc.leader(), lc.topic(), lc.partition()));
        }
    }
    v1::ControllerCommand cmd = new_command(meta);
    for (const v1::LeaderChange& lc : changes) {
        *cmd.mutable_set_partition_leaders()->add_changes() = lc;
    }
    return cmd;
}

// ---------------------------------------------------------------- cluster

result<v1::ControllerCommand> make_set_cluster_config(const controller_stm& stm,
                                                      const v1::SetClusterConfigRequest& req,
                                                      const command_meta& meta) {
    if (req.upsert().empty() && req.remove().empty()) {
        return error_info::for_field(errc::invalid_argument, "upsert",
                                     "no config change requested");
    }
    const std::map<std::string, std::string> upsert(req.upsert().begin(), req.upsert().end());
    const std::set<std::string> removed(req.remove().begin(), req.remove().end());
    v1::ControllerCommand cmd = new_command(meta);
    v1::SetClusterConfig* c = cmd.mutable_set_cluster_config();
    for (const auto& [k, v] : upsert) {
        result<std::string> canonical = cluster_config_schema().validate(k, v);
        if (!canonical) {
            return canonical.error();
        }
        if (removed.count(k) > 0) {
            return error_info::for_field(errc::invalid_argument, k, "both set and removed");
        }
        (*c->mutable_upsert())[k] = std::move(*canonical);
    }
    for (const std::string& k : removed) {
        if (cluster_config_schema().find(k) == nullptr) {
            return error_info::for_field(errc::invalid_config, k, "unknown cluster config key");
        }
        c->add_remove(k);
    }
    if (auto r = check_config_keeps_admin(stm, *c); !r) {
        return r.error();
    }
    if (auto r = check_config_keeps_tiering(stm, *c); !r) {
        return r.error();
    }
    return cmd;
}

result<std::optional<v1::ControllerCommand>> make_init_cluster(const controller_stm& stm,
                                                               std::string_view cluster_uuid,
                                                               const command_meta& meta) {
    if (auto r = validate_uuid("cluster_uuid", cluster_uuid); !r) {
        return r.error();
    }
    if (stm.cluster_uuid() == cluster_uuid) {
        return std::optional<v1::ControllerCommand>{};
    }
    if (!stm.cluster_uuid().empty()) {
        return error_info::for_field(
            errc::conflict, "cluster_uuid",
            fmt::format("the cluster already has uuid {}", stm.cluster_uuid()));
    }
    v1::ControllerCommand cmd = new_command(meta);
    cmd.mutable_init_cluster()->set_cluster_uuid(std::string(cluster_uuid));
    return std::optional(std::move(cmd));
}

v1::ControllerCommand make_record_refusal(const v1::CommandSession& session,
                                          const error_info& refusal, const command_meta& meta) {
    v1::ControllerCommand cmd = new_command(meta);
    auto* r = cmd.mutable_record_refusal();
    r->set_code(refusal.code.category() == cluster::error_category()
                    ? refusal.code.value()
                    : static_cast<int32_t>(errc::internal));
    r->set_field(refusal.field);
    r->set_detail(refusal.detail);
    *cmd.mutable_session() = session;
    return cmd;
}

// ---------------------------------------------------------------- security

result<void> validate_credential(const v1::ScramCredential& c, std::string_view prefix) {
    const auto bad = [&](std::string_view field, std::string reason) -> result<void> {
        return error_info::for_field(errc::invalid_argument, fmt::format("{}{}", prefix, field),
                                     reason);
    };
    size_t digest = 0;
    if (c.mechanism() == "SCRAM-SHA-256") {
        digest = 32;
    } else if (c.mechanism() == "SCRAM-SHA-512") {
        digest = 64;
    } else {
        return bad("mechanism",
                   fmt::format("{} is not SCRAM-SHA-256 or SCRAM-SHA-512", quoted(c.mechanism())));
    }
    if (c.salt().empty() || c.salt().size() > 256) {
        return bad("salt", fmt::format("{} bytes; a salt has 1 to 256", c.salt().size()));
    }
    if (c.iterations() < security::scram_min_iterations ||
        c.iterations() > security::scram_max_iterations) {
        return bad("iterations",
                   fmt::format("{} is outside [{}, {}]", c.iterations(),
                               security::scram_min_iterations, security::scram_max_iterations));
    }
    if (c.stored_key().size() != digest) {
        return bad("stored_key", fmt::format("{} bytes; {} has {}", c.stored_key().size(),
                                             c.mechanism(), digest));
    }
    if (c.server_key().size() != digest) {
        return bad("server_key", fmt::format("{} bytes; {} has {}", c.server_key().size(),
                                             c.mechanism(), digest));
    }
    return ok();
}

result<void> validate_role_name(std::string_view field, std::string_view name) {
    if (name.empty() || name.size() > 128) {
        return error_info::for_field(
            errc::invalid_argument, field,
            fmt::format("{} bytes; a role name has 1 to 128", name.size()));
    }
    for (char ch : name) {
        const auto u = static_cast<unsigned char>(ch);
        if (u < 0x21 || u > 0x7e || ch == ':' || ch == ',') {
            return error_info::for_field(
                errc::invalid_argument, field,
                fmt::format("{}: only printable ASCII without spaces, ':' or ','", quoted(name)));
        }
    }
    if (name == "*") {
        return error_info::for_field(errc::invalid_argument, field,
                                     "\"*\" is not a role name (a role is never a wildcard)");
    }
    return ok();
}

result<void> check_config_keeps_admin(const controller_stm& stm, const v1::SetClusterConfig& c) {
    // The config as it would be after the change: no one may be locked out
    // of the controller API by it.
    const std::set<std::string> removed(c.remove().begin(), c.remove().end());
    const auto after = [&](const char* key) {
        if (const auto it = c.upsert().find(key); it != c.upsert().end()) {
            return it->second;
        }
        if (removed.count(key) > 0) {
            return cluster_config_schema().find(key)->default_value;
        }
        return stm.cluster_config().value(key);
    };
    const bool touches_auth = c.upsert().count("admin_api_require_auth") > 0 ||
                              removed.count("admin_api_require_auth") > 0;
    const bool touches_superusers =
        c.upsert().count("superusers") > 0 || removed.count("superusers") > 0;
    if (!touches_auth && !touches_superusers) {
        return ok();
    }
    const bool was_on = stm.cluster_config().bool_value("admin_api_require_auth");
    const bool on = after("admin_api_require_auth") == "true";
    if (!on || (was_on && !touches_superusers)) {
        return ok();
    }
    return check_admin_reachable(stm, on, cluster::split_list(after("superusers")),
                                 touches_auth && !was_on ? "admin_api_require_auth" : "superusers");
}

result<void> check_delete_keeps_admin(const controller_stm& stm, std::string_view name) {
    if (!stm.cluster_config().bool_value("admin_api_require_auth")) {
        return ok();
    }
    std::vector<std::string> others;
    for (std::string& s : stm.superusers()) {
        if (s != name) {
            others.push_back(std::move(s));
        }
    }
    if (auto r = check_admin_reachable(stm, true, others, "name"); !r) {
        return error_info::for_field(
            errc::invalid_argument, "name",
            fmt::format("{} is the last superuser who can log in while "
                        "admin_api_require_auth is true; add another superuser first",
                        quoted(name)));
    }
    return ok();
}

result<void> check_admin_reachable(const controller_stm& stm, bool require_auth,
                                   const std::vector<std::string>& superusers,
                                   std::string_view field) {
    if (!require_auth) {
        return ok();
    }
    for (const std::string& s : superusers) {
        if (stm.users().find(s) != nullptr) {
            return ok();
        }
    }
    return error_info::for_field(
        errc::invalid_argument, field,
        superusers.empty()
            ? std::string("admin_api_require_auth needs a superuser who can log in, and "
                          "superusers is empty: create a user, add it to superusers, then turn "
                          "authentication on")
            : fmt::format("admin_api_require_auth needs a superuser who can log in, and none of "
                          "the superusers ({}) exists as a user: create one of them first",
                          fmt::join(superusers, ", ")));
}

result<std::optional<v1::ControllerCommand>> make_upsert_user(const controller_stm& stm,
                                                              const v1::User& user,
                                                              bool create_only, bool update_only,
                                                              const command_meta& meta) {
    if (auto r = security::validate_username(user.name()); !r) {
        return error_info::for_field(errc::invalid_argument, "name", r.error().reason());
    }
    if (auto r = validate_credential(user.credential(), "credential."); !r) {
        return r.error();
    }
    if (create_only && update_only) {
        return error_info::for_field(errc::invalid_argument, "update_only",
                                     "create_only and update_only exclude each other");
    }
    const v1::User* cur = stm.users().find(user.name());
    const bool same = cur != nullptr && cur->credential().SerializeAsString() ==
                                            user.credential().SerializeAsString();
    if (cur != nullptr && create_only && !same) {
        return error_info::for_field(errc::user_already_exists, "name",
                                     fmt::format("user {} already exists", quoted(user.name())));
    }
    if (cur == nullptr && update_only) {
        return error_info::for_field(errc::unknown_user, "name",
                                     fmt::format("user {} does not exist", quoted(user.name())));
    }
    // The same credential again is still proposed (apply makes it a no-op):
    // answered from these tables, a retry's "OK" could be overtaken by its
    // own earlier attempt or rest on a stale leader's view; through the log
    // it is decided once, in order, and remembered in its session.
    v1::ControllerCommand cmd = new_command(meta);
    v1::UpsertUser* u = cmd.mutable_upsert_user();
    u->mutable_user()->set_name(user.name());
    *u->mutable_user()->mutable_credential() = user.credential();
    u->set_create_only(create_only);
    u->set_update_only(update_only);
    return std::optional(std::move(cmd));
}

result<v1::ControllerCommand> make_delete_user(const controller_stm& stm, std::string_view name,
                                               const command_meta& meta) {
    if (stm.users().find(name) == nullptr) {
        return error_info::for_field(errc::unknown_user, "name",
                                     fmt::format("user {} does not exist", quoted(name)));
    }
    if (auto r = check_delete_keeps_admin(stm, name); !r) {
        return r.error();
    }
    v1::ControllerCommand cmd = new_command(meta);
    cmd.mutable_delete_user()->set_name(std::string(name));
    return cmd;
}

result<std::optional<v1::ControllerCommand>> make_create_acl(const controller_stm&,
                                                             const v1::AclBinding& binding,
                                                             const command_meta& meta) {
    auto b = security::binding_from_proto(binding);
    if (!b) {
        return b.error();
    }
    if (auto r = security::validate(*b); !r) {
        return r.error();
    }
    // An existing binding is still proposed (a no-op at apply), for the
    // reason make_upsert_user gives.
    v1::ControllerCommand cmd = new_command(meta);
    *cmd.mutable_create_acls()->add_bindings() = security::to_proto(*b);
    return std::optional(std::move(cmd));
}

result<std::optional<v1::ControllerCommand>> make_delete_acls(const controller_stm&,
                                                              const v1::AclFilter& filter,
                                                              const command_meta& meta) {
    auto f = security::filter_from_proto(filter);
    if (!f) {
        return f.error();
    }
    // Proposed even when nothing matches here: apply decides the matches in
    // log order, and a retry's "deleted nothing" must be remembered in its
    // session before an earlier attempt could delete what came later.
    v1::ControllerCommand cmd = new_command(meta);
    *cmd.mutable_delete_acls()->add_filters() = security::to_proto(*f);
    return std::optional(std::move(cmd));
}

result<v1::ControllerCommand> make_create_role(const controller_stm& stm, std::string_view name,
                                               const command_meta& meta) {
    if (auto r = validate_role_name("name", name); !r) {
        return r.error();
    }
    if (stm.roles().find(name) != nullptr) {
        return error_info::for_field(errc::role_already_exists, "name",
                                     fmt::format("role {} already exists", quoted(name)));
    }
    v1::ControllerCommand cmd = new_command(meta);
    cmd.mutable_upsert_role()->set_name(std::string(name));
    return cmd;
}

result<v1::ControllerCommand> make_delete_role(const controller_stm& stm, std::string_view name,
                                               const command_meta& meta) {
    if (stm.roles().find(name) == nullptr) {
        return error_info::for_field(errc::unknown_role, "name",
                                     fmt::format("role {} does not exist", quoted(name)));
    }
    v1::ControllerCommand cmd = new_command(meta);
    cmd.mutable_delete_role()->set_name(std::string(name));
    return cmd;
}

result<std::optional<v1::ControllerCommand>> make_alter_role_members(
    const controller_stm& stm, const v1::AlterRoleMembersRequest& req, const command_meta& meta) {
    const v1::Role* role = stm.roles().find(req.role());
    if (role == nullptr) {
        return error_info::for_field(errc::unknown_role, "role",
                                     fmt::format("role {} does not exist", quoted(req.role())));
    }
    if (req.add().empty() && req.remove().empty()) {
        return error_info::for_field(errc::invalid_argument, "add", "no member to add or remove");
    }
    const std::set<std::string> members(role->members().begin(), role->members().end());
    std::set<std::string> add;
    std::set<std::string> remove;
    const auto parse = [](const auto& list, std::string_view name,
                          std::set<std::string>& out) -> result<void> {
        for (int i = 0; i < list.size(); ++i) {
            auto p = security::parse_role_member(list.Get(i));
            if (!p) {
                return error_info::for_field(errc::invalid_argument, fmt::format("{}[{}]", name, i),
                                             p.error().reason());
            }
            out.insert(security::to_string(*p));
        }
        return ok();
    };
    if (auto r = parse(req.add(), "add", add); !r) {
        return r.error();
    }
    if (auto r = parse(req.remove(), "remove", remove); !r) {
        return r.error();
    }
    for (int i = 0; i < req.remove_size(); ++i) {
        const std::string p = security::to_string(*security::parse_role_member(req.remove(i)));
        if (add.count(p) > 0) {
            return error_info::for_field(errc::invalid_argument, fmt::format("remove[{}]", i),
                                         fmt::format("{} is also added", p));
        }
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::AlterRoleMembers* a = cmd.mutable_alter_role_members();
    a->set_role(req.role());
    // The whole request, not the difference against these tables: apply
    // inserts and erases idempotently, and a membership changed meanwhile by
    // someone else must still end up as this request asked.
    for (const std::string& p : add) {
        a->add_add(p);
    }
    for (const std::string& p : remove) {
        a->add_remove(p);
    }
    return std::optional(std::move(cmd));
}

// ---------------------------------------------------------------- tiering

result<void> check_tiered_configs(const controller_stm& stm,
                                  const std::map<std::string, std::string>& configs,
                                  const std::set<std::string>& touched, std::string_view prefix) {
    const auto value = [&](const char* key) {
        const auto it = configs.find(key);
        return it == configs.end() ? std::string() : it->second;
    };
    const bool write = value("redpanda.remote.write") == "true";
    if (!stm.cluster_config().bool_value("cloud_storage_enabled")) {
        for (const char* key : {"redpanda.remote.write", "redpanda.remote.read"}) {
            if (value(key) == "true" && touched.count(key) > 0) {
                return error_info::for_field(
                    errc::invalid_config, fmt::format("{}{}", prefix, key),
                    "true needs tiered storage, and cloud_storage_enabled is false in this "
                    "cluster");
            }
        }
    }
    const auto own = configs.find("cleanup.policy");
    const std::string policy =
        own != configs.end() ? own->second : stm.cluster_config().value("log_cleanup_policy");
    if (write && has_compact(policy)) {
        const char* blamed = touched.count("redpanda.remote.write") > 0 ? "redpanda.remote.write"
                             : touched.count("cleanup.policy") > 0      ? "cleanup.policy"
                                                                        : nullptr;
        if (blamed != nullptr) {
            return error_info::for_field(
                errc::invalid_config, fmt::format("{}{}", prefix, blamed),
                fmt::format("compacted topics cannot be tiered yet (cleanup.policy {}{} with "
                            "redpanda.remote.write=true)",
                            policy, own != configs.end() ? "" : ", from log_cleanup_policy"));
        }
    }
    return ok();
}

// ---------------------------------------------------------------- migrations

namespace {

std::string describe_migration(const v1::Migration& m) {
    return fmt::format("migration {} ({}, {})", m.id(), cluster::to_string(m.type()),
                       cluster::to_string(m.state()));
}

result<void> unknown_migration(int64_t id) {
    return error_info::for_field(errc::unknown_migration, "id", fmt::format("no migration {}", id));
}

}  // namespace

result<void> check_not_migrating(const v1::Topic& t, std::string_view field) {
    if (!t.has_migration() || cluster::is_terminal(t.migration().state()) ||
        t.migration().state() == v1::MIGRATION_STATE_UNSPECIFIED) {
        return ok();
    }
    const v1::TopicMigration& m = t.migration();
    return error_info::for_field(
        errc::resource_is_being_migrated, field,
        fmt::format("topic {} is being {}ed by migration {} ({}): its metadata is locked until "
                    "the migration finishes or is cancelled",
                    quoted(t.name()), cluster::to_string(m.type()), m.id(),
                    cluster::to_string(m.state())));
}

result<void> check_name_not_migrating(const controller_stm& stm, std::string_view name,
                                      std::string_view field, int64_t except) {
    const std::string key = collision_key(name);
    for (const auto& [id, m] : stm.migrations().all()) {
        if (id == except || cluster::is_terminal(m.state())) {
            continue;
        }
        for (const v1::MigrationTopic& t : m.topics()) {
            if (collision_key(cluster::effective_name(t)) == key) {
                return error_info::for_field(errc::resource_is_being_migrated, field,
                                             fmt::format("topic name {} is taken by {}",
                                                         quoted(name), describe_migration(m)));
            }
        }
    }
    return ok();
}

std::string topic_location(const controller_stm& stm, const v1::Topic& t) {
    if (!t.remote_location().empty()) {
        return t.remote_location();
    }
    return tiered::default_location(t.name(), stm.cluster_uuid(), t.uuid());
}

result<void> check_migrations_enabled(const controller_stm& stm, std::string_view field) {
    if (stm.cluster_config().bool_value("cloud_storage_enabled")) {
        return ok();
    }
    return error_info::for_field(errc::migrations_disabled, field,
                                 "cloud storage disabled: mountable topics need tiered storage "
                                 "(cloud_storage_enabled=true)");
}

result<void> check_unmountable(const controller_stm& stm, std::string_view name,
                               std::string_view field) {
    const v1::Topic* t = stm.topics().find(name);
    if (t == nullptr) {
        return error_info::for_field(errc::unknown_topic, field,
                                     fmt::format("topic {} does not exist", quoted(name)));
    }
    if (!config_true(*t, "redpanda.remote.write")) {
        return error_info::for_field(
            errc::invalid_argument, field,
            fmt::format("topic with name {} does not have archiving enabled "
                        "(redpanda.remote.write=true)",
                        name));
    }
    if (auto r = check_not_migrating(*t, field); !r) {
        return r;
    }
    if (cluster::shadow::is_read_only(*t)) {
        // Its fetchers would append after the final upload sealed it.
        return error_info::for_field(
            errc::shadow_topic_read_only, field,
            fmt::format("topic {} is a shadow topic of link {} ({}): fail it over first",
                        quoted(name), quoted(t->shadow().link()),
                        cluster::shadow::to_string(t->shadow().state())));
    }
    if (stm.cluster_uuid().empty() && t->remote_location().empty()) {
        return error_info::for_field(errc::conflict, field,
                                     "the cluster has no uuid yet; try again in a moment");
    }
    return ok();
}

result<v1::ControllerCommand> make_unmount(const controller_stm& stm,
                                           const std::vector<std::string>& topics,
                                           const command_meta& meta) {
    if (topics.empty()) {
        return error_info::for_field(errc::invalid_argument, "topics",
                                     "at least one topic is required");
    }
    if (auto r = check_migrations_enabled(stm, "topics"); !r) {
        return r.error();
    }
    std::set<std::string> seen;
    v1::ControllerCommand cmd = new_command(meta);
    v1::CreateMigration* c = cmd.mutable_create_migration();
    c->set_type(v1::MIGRATION_TYPE_UNMOUNT);
    for (size_t i = 0; i < topics.size(); ++i) {
        const std::string field = fmt::format("topics[{}]", i);
        if (!seen.insert(topics[i]).second) {
            return error_info::for_field(errc::invalid_argument, field,
                                         fmt::format("{} appears twice", quoted(topics[i])));
        }
        if (auto r = check_unmountable(stm, topics[i], field); !r) {
            return r.error();
        }
        v1::MigrationTopic* mt = c->add_topics();
        mt->set_topic(topics[i]);
        mt->set_location(topic_location(stm, *stm.topics().find(topics[i])));
    }
    return cmd;
}

result<void> check_mountable(const controller_stm& stm, const v1::MigrationTopic& t,
                             std::string_view field) {
    const std::string& name = cluster::effective_name(t);
    const std::string name_field =
        fmt::format("{}.{}", field, t.alias().empty() ? "topic" : "alias");
    if (auto r = validate_topic_name(name); !r) {
        return error_info::for_field(r.error().code, name_field, std::string(r.error().reason()));
    }
    if (auto r = check_topic_name_available(stm.topics(), name); !r) {
        return error_info::for_field(r.error().code, name_field, std::string(r.error().reason()));
    }
    if (auto r = check_name_not_migrating(stm, name, name_field); !r) {
        return r;
    }
    const std::string location_field = fmt::format("{}.location", field);
    auto parts = tiered::parse_location(t.location());
    if (!parts) {
        return error_info::for_field(errc::invalid_argument, location_field,
                                     std::string(parts.error().reason()));
    }
    if (parts->topic != t.topic()) {
        return error_info::for_field(errc::invalid_argument, location_field,
                                     fmt::format("{} holds topic {}, not {}", whole(t.location()),
                                                 quoted(parts->topic), quoted(t.topic())));
    }
    if (const v1::Migration* other = stm.migrations().active_mount_of(t.location())) {
        return error_info::for_field(errc::resource_is_being_migrated, location_field,
                                     fmt::format("{} is being mounted by {}", whole(t.location()),
                                                 describe_migration(*other)));
    }
    return ok();
}

result<v1::ControllerCommand> make_mount(const controller_stm& stm,
                                         const std::vector<v1::MigrationTopic>& topics,
                                         const command_meta& meta) {
    if (topics.empty()) {
        return error_info::for_field(errc::invalid_argument, "topics",
                                     "at least one topic is required");
    }
    if (auto r = check_migrations_enabled(stm, "topics"); !r) {
        return r.error();
    }
    std::set<std::string> names;
    std::set<std::string> locations;
    v1::ControllerCommand cmd = new_command(meta);
    v1::CreateMigration* c = cmd.mutable_create_migration();
    c->set_type(v1::MIGRATION_TYPE_MOUNT);
    for (size_t i = 0; i < topics.size(); ++i) {
        const std::string field = fmt::format("topics[{}]", i);
        if (auto r = check_mountable(stm, topics[i], field); !r) {
            return r.error();
        }
        if (!names.insert(collision_key(cluster::effective_name(topics[i]))).second) {
            return error_info::for_field(
                errc::invalid_argument,
                fmt::format("{}.{}", field, topics[i].alias().empty() ? "topic" : "alias"),
                fmt::format("{} is mounted twice", quoted(cluster::effective_name(topics[i]))));
        }
        if (!locations.insert(topics[i].location()).second) {
            return error_info::for_field(
                errc::invalid_argument, fmt::format("{}.location", field),
                fmt::format("{} is mounted twice", whole(topics[i].location())));
        }
        v1::MigrationTopic* mt = c->add_topics();
        mt->set_topic(topics[i].topic());
        mt->set_location(topics[i].location());
        if (topics[i].alias() != topics[i].topic()) {
            mt->set_alias(topics[i].alias());
        }
    }
    return cmd;
}

result<std::optional<v1::ControllerCommand>> make_advance_migration(
    const controller_stm& stm, int64_t id, v1::MigrationState from, v1::MigrationState to,
    const command_meta& meta, std::vector<std::string> mount_manifests) {
    const v1::Migration* m = stm.migrations().find(id);
    if (m == nullptr) {
        return unknown_migration(id).error();
    }
    if (!cluster::is_legal_transition(from, to) || to == v1::MIGRATION_STATE_CANCELING) {
        return error_info::for_field(errc::invalid_migration_state, "to",
                                     fmt::format("{} -> {} is not a step of a migration",
                                                 cluster::to_string(from), cluster::to_string(to)));
    }
    if (m->state() == to) {
        return std::optional<v1::ControllerCommand>{};
    }
    if (m->state() != from) {
        return error_info::for_field(
            errc::invalid_migration_state, "from",
            fmt::format("{} is {}, not {}", describe_migration(*m), cluster::to_string(m->state()),
                        cluster::to_string(from)));
    }
    if (m->type() == v1::MIGRATION_TYPE_MOUNT && from == v1::MIGRATION_STATE_PREPARING) {
        return error_info::for_field(errc::invalid_argument, "to",
                                     "a mount's preparing -> prepared creates its topics: "
                                     "make_mount_prepared");
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::AdvanceMigration* a = cmd.mutable_advance_migration();
    a->set_id(id);
    a->set_from(from);
    a->set_to(to);
    for (std::string& mf : mount_manifests) {
        a->add_mount_manifests(std::move(mf));
    }
    return std::optional(std::move(cmd));
}

result<std::optional<v1::ControllerCommand>> make_mount_prepared(
    const controller_stm& stm, int64_t id,
    const std::vector<tiered::topic_mount_manifest>& manifests,
    const std::vector<std::string>& uuids, const command_meta& meta) {
    const v1::Migration* m = stm.migrations().find(id);
    if (m == nullptr) {
        return unknown_migration(id).error();
    }
    if (m->type() != v1::MIGRATION_TYPE_MOUNT) {
        return error_info::for_field(errc::invalid_argument, "id",
                                     fmt::format("{} is not a mount", describe_migration(*m)));
    }
    if (m->state() == v1::MIGRATION_STATE_PREPARED) {
        return std::optional<v1::ControllerCommand>{};
    }
    if (m->state() != v1::MIGRATION_STATE_PREPARING) {
        return error_info::for_field(errc::invalid_migration_state, "from",
                                     fmt::format("{} is not preparing", describe_migration(*m)));
    }
    if (manifests.size() != static_cast<size_t>(m->topics_size()) ||
        uuids.size() != manifests.size()) {
        return error_info::for_field(errc::invalid_argument, "topics",
                                     fmt::format("{} topics, {} manifests and {} uuids",
                                                 m->topics_size(), manifests.size(), uuids.size()));
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::AdvanceMigration* a = cmd.mutable_advance_migration();
    a->set_id(id);
    a->set_from(v1::MIGRATION_STATE_PREPARING);
    a->set_to(v1::MIGRATION_STATE_PREPARED);
    // Placement counts the topics placed before in this command.
    topic_table load = stm.topics();
    for (size_t i = 0; i < manifests.size(); ++i) {
        const v1::MigrationTopic& mt = m->topics(static_cast<int>(i));
        const tiered::topic_mount_manifest& mf = manifests[i];
        const std::string field = fmt::format("topics[{}]", i);
        const std::string& name = cluster::effective_name(mt);
        if (mf.location != mt.location()) {
            return error_info::for_field(errc::invalid_argument, field,
                                         fmt::format("the mount manifest is for {}, not {}",
                                                     whole(mf.location), whole(mt.location())));
        }
        if (mf.next_offsets.empty() ||
            mf.next_offsets.size() > static_cast<size_t>(max_partitions_per_topic)) {
            return error_info::for_field(errc::invalid_partitions, field,
                                         fmt::format("the mount manifest of {} has {} partitions",
                                                     whole(mt.location()), mf.next_offsets.size()));
        }
        if (auto r = check_topic_name_available(load, name); !r) {
            return r.error().within(field + ".");
        }
        google::protobuf::Map<std::string, std::string> configs(mf.configs.begin(),
                                                                mf.configs.end());
        configs["redpanda.remote.write"] = "true";
        configs["redpanda.remote.read"] = "true";
        auto t =
            build_topic(stm, load, name, static_cast<int64_t>(mf.next_offsets.size()),
                        mf.replication_factor, configs, uuids[i], " (from the mount manifest)");
        if (!t) {
            return t.error().within(field + ".");
        }
        for (size_t p = 0; p < mf.next_offsets.size(); ++p) {
            t->mutable_partitions(static_cast<int>(p))->set_start_offset(mf.next_offsets[p]);
        }
        t->set_remote_location(mt.location());
        load.upsert(*t);
        *a->add_topics() = std::move(*t);
    }
    return std::optional(std::move(cmd));
}

result<std::optional<v1::ControllerCommand>> make_set_migration_status(const controller_stm& stm,
                                                                       int64_t id,
                                                                       v1::MigrationState state,
                                                                       std::string_view status,
                                                                       const command_meta& meta) {
    const v1::Migration* m = stm.migrations().find(id);
    if (m == nullptr) {
        return unknown_migration(id).error();
    }
    if (m->state() != state || m->status() == status) {
        return std::optional<v1::ControllerCommand>{};
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::SetMigrationStatus* c = cmd.mutable_set_migration_status();
    c->set_id(id);
    c->set_state(state);
    c->set_status(std::string(status));
    return std::optional(std::move(cmd));
}

result<void> check_cancellable(const v1::Migration& m) {
    if (cluster::can_cancel(m.state())) {
        return ok();
    }
    std::string why;
    switch (m.state()) {
        case v1::MIGRATION_STATE_PLANNED:
            why = "it has not started; delete it instead";
            break;
        case v1::MIGRATION_STATE_CUT_OVER:
            why = "it is cutting over, which cannot be undone; it finishes by itself";
            break;
        case v1::MIGRATION_STATE_FINISHED:
            why = "it has finished";
            break;
        case v1::MIGRATION_STATE_CANCELING:
            why = "it is being cancelled already";
            break;
        case v1::MIGRATION_STATE_CANCELLED:
            why = "it was cancelled already";
            break;
        default:
            why = "its state is unknown to this version";
            break;
    }
    return error_info::for_field(errc::invalid_migration_state, "id",
                                 fmt::format("cannot cancel {}: {}", describe_migration(m), why));
}

result<v1::ControllerCommand> make_cancel_migration(const controller_stm& stm, int64_t id,
                                                    const command_meta& meta) {
    const v1::Migration* m = stm.migrations().find(id);
    if (m == nullptr) {
        return unknown_migration(id).error();
    }
    if (auto r = check_cancellable(*m); !r) {
        return r.error();
    }
    v1::ControllerCommand cmd = new_command(meta);
    cmd.mutable_cancel_migration()->set_id(id);
    return cmd;
}

result<void> check_removable(const v1::Migration& m) {
    if (m.state() == v1::MIGRATION_STATE_PLANNED || cluster::is_terminal(m.state())) {
        return ok();
    }
    return error_info::for_field(
        errc::invalid_migration_state, "id",
        fmt::format("cannot delete {}: only a planned, finished or cancelled migration can be "
                    "deleted{}",
                    describe_migration(m),
                    cluster::can_cancel(m.state()) ? "; cancel it first" : ""));
}

result<v1::ControllerCommand> make_remove_migration(const controller_stm& stm, int64_t id,
                                                    const command_meta& meta) {
    const v1::Migration* m = stm.migrations().find(id);
    if (m == nullptr) {
        return unknown_migration(id).error();
    }
    if (auto r = check_removable(*m); !r) {
        return r.error();
    }
    v1::ControllerCommand cmd = new_command(meta);
    cmd.mutable_remove_migration()->set_id(id);
    return cmd;
}

}  // namespace fjord::stm
