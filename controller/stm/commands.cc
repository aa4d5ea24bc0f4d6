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
#include "common/cluster/topic_name.h"
#include "common/security/acl_proto.h"
#include "common/security/scram.h"
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
    if (rf % 2 == 0) {
        return error_info::for_field(
            errc::invalid_replication_factor, "replication_factor",
            fmt::format("{}{} is even; it must be odd: {}", rf, from_default, even_reason));
    }
    const size_t active = stm.brokers().active().size();
    if (static_cast<size_t>(rf) > active) {
        return error_info::for_field(
            errc::invalid_replication_factor, "replication_factor",
            fmt::format("{}{} is more than the {} active brokers", rf, from_default, active));
    }

    auto configs = validate_topic_configs(item.configs(), static_cast<int32_t>(rf), "configs.");
    if (!configs) {
        return configs.error();
    }
    if (auto r = validate_uuid("uuid", topic_uuid); !r) {
        return r.error();
    }
    auto placed = place_partitions(stm.brokers(), stm.topics(), 0, static_cast<int32_t>(partitions),
                                   static_cast<int32_t>(rf));
    if (!placed) {
        return placed.error();
    }

    v1::ControllerCommand cmd = new_command(meta);
    v1::Topic* t = cmd.mutable_create_topic()->mutable_topic();
    t->set_name(name);
    t->set_uuid(std::string(topic_uuid));
    t->set_replication_factor(static_cast<int32_t>(rf));
    for (v1::PartitionAssignment& p : *placed) {
        *t->add_partitions() = std::move(p);
    }
    for (const auto& [k, v] : *configs) {
        (*t->mutable_configs())[k] = v;
    }
    return cmd;
}

result<v1::ControllerCommand> make_delete_topic(const controller_stm& stm, std::string_view name,
                                                const command_meta& meta) {
    if (stm.topics().find(name) == nullptr) {
        return unknown_topic(name).error();
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
    if (item.set().empty() && item.remove().empty()) {
        return error_info::for_field(errc::invalid_argument, "set", "no config change requested");
    }
    auto set = validate_topic_configs(item.set(), t->replication_factor(), "set.");
    if (!set) {
        return set.error();
    }
    const std::set<std::string> removed(item.remove().begin(), item.remove().end());
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

}  // namespace fjord::stm
