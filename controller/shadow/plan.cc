// File: controller/shadow/plan.cc
//
// The shadow driver's pure decisions (plan.h).

#include "controller/shadow/plan.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "common/cluster/config_schema.h"
#include "common/cluster/shadow_link.h"
#include "common/cluster/topic_name.h"
#include "common/security/acl.h"
#include "common/security/acl_proto.h"
#include "controller/stm/placement.h"

namespace fjord::shadow {
namespace {

namespace shadow_rules = cluster::shadow;

v1::ControllerCommand new_command(const stm::command_meta& meta) {
    v1::ControllerCommand cmd;
    cmd.set_principal(meta.principal);
    cmd.set_time_ms(meta.time_ms);
    return cmd;
}

bool of_link(const v1::Topic& t, const v1::ShadowLink& link) {
    return t.has_shadow() && t.shadow().link_uuid() == link.uuid();
}

bool synced_state(v1::ShadowTopicState s) {
    return s == v1::SHADOW_TOPIC_STATE_ACTIVE || s == v1::SHADOW_TOPIC_STATE_PAUSED;
}

/// The source topic a shadow topic follows (today the same name).
const std::string& source_name(const v1::Topic& t) {
    return t.shadow().source_topic().empty() ? t.name() : t.shadow().source_topic();
}

bool wanted(const v1::ShadowLink& link, const std::string& name) {
    return shadow_rules::passes(
        link.config().topic_metadata_sync_options().auto_create_shadow_topic_filters(), name,
        shadow_rules::filter_kind::topic);
}

/// The source's values of the synced keys that this cluster accepts, in
/// their canonical form; each value refused is noted and left out (so the
/// shadow keeps this cluster's default for it, pass after pass alike).
std::map<std::string, std::string> accepted_configs(
    const std::map<std::string, std::string>& values, const std::vector<std::string>& synced,
    int32_t rf, const std::string& topic, std::vector<std::string>& notes) {
    std::map<std::string, std::string> out;
    for (const std::string& k : synced) {
        const auto it = values.find(k);
        if (it == values.end()) {
            continue;
        }
        google::protobuf::Map<std::string, std::string> one;
        one[k] = it->second;
        auto c = stm::validate_topic_configs(one, rf, "");
        if (!c || c->empty()) {
            notes.push_back(
                fmt::format("topic \"{}\": the source's {}={} is not accepted here "
                            "({}); not synced",
                            topic, k, it->second,
                            c ? std::string("unknown key") : std::string(c.error().reason())));
            continue;
        }
        out[k] = c->begin()->second;
    }
    return out;
}

v1::ControllerCommand set_state(const v1::Topic& t, const v1::ShadowLink& link,
                                v1::ShadowTopicState to, const std::string& reason,
                                const stm::command_meta& meta) {
    v1::ControllerCommand cmd = new_command(meta);
    v1::SetShadowTopicState* c = cmd.mutable_set_shadow_topic_state();
    c->set_topic(t.name());
    c->set_from(t.shadow().state());
    c->set_to(to);
    c->set_reason(reason);
    c->set_link_uuid(link.uuid());
    return cmd;
}

}  // namespace

std::vector<std::string> synced_keys(const v1::ShadowLink& link) {
    std::vector<std::string> out;
    for (const std::string& k :
         shadow_rules::synced_properties(link.config().topic_metadata_sync_options())) {
        if (cluster::topic_config_schema().find(k) != nullptr) {
            out.push_back(k);
        }
    }
    return out;
}

topic_sync_questions topic_sync_questions_of(const stm::controller_stm& s,
                                             const v1::ShadowLink& link,
                                             const source_metadata& source) {
    topic_sync_questions q;
    for (const auto& [name, t] : s.topics().all()) {
        if (!of_link(t, link) || !synced_state(t.shadow().state())) {
            continue;
        }
        const std::string& src = source_name(t);
        if (source.topics.count(src) > 0) {
            q.describe.push_back(src);
        } else {
            q.check_absent.push_back(src);
        }
    }
    for (const auto& [name, st] : source.topics) {
        if (wanted(link, name) && s.topics().find(name) == nullptr) {
            q.describe.push_back(name);
        }
    }
    std::sort(q.describe.begin(), q.describe.end());
    q.describe.erase(std::unique(q.describe.begin(), q.describe.end()), q.describe.end());
    return q;
}

int32_t shadow_replication_factor(const stm::controller_stm& s, const v1::ShadowLink& link,
                                  int32_t source_rf) {
    const bool rf_synced = !link.config().topic_metadata_sync_options().exclude_default();
    int64_t rf = rf_synced ? source_rf : s.cluster_config().int_value("default_topic_replications");
    rf = std::min<int64_t>(rf, static_cast<int64_t>(s.brokers().active().size()));
    if (rf > 0 && rf % 2 == 0) {
        --rf;  // this cluster's replication factors are odd
    }
    return static_cast<int32_t>(std::max<int64_t>(rf, 0));
}

plan plan_topic_sync(const stm::controller_stm& s, const v1::ShadowLink& link,
                     const topic_sync_input& in, const std::function<std::string()>& new_uuid,
                     const stm::command_meta& meta) {
    plan out;
    const v1::ShadowTopicSyncOptions& opts = link.config().topic_metadata_sync_options();
    const std::vector<std::string> synced = synced_keys(link);
    // The load placement counts: the applied topics plus what this plan
    // places before (a copy only once something is placed).
    std::optional<stm::topic_table> placed;
    const auto load = [&]() -> const stm::topic_table& { return placed ? *placed : s.topics(); };

    // The link's shadow topics: follow the source, or fault when it is gone.
    for (const auto& [name, t] : s.topics().all()) {
        if (!of_link(t, link) || !synced_state(t.shadow().state())) {
            continue;
        }
        const std::string& src_name = source_name(t);
        const auto src = in.source.topics.find(src_name);
        if (src == in.source.topics.end()) {
            if (in.absent.count(src_name) > 0) {
                out.commands.push_back(set_state(t, link, v1::SHADOW_TOPIC_STATE_FAULTED,
                                                 "source topic deleted", meta));
            } else {
                out.notes.push_back(fmt::format(
                    "source topic \"{}\" is not listed by the source (not described to this "
                    "link?); topic \"{}\" is not synced",
                    src_name, name));
            }
            continue;
        }
        if (!t.shadow().source_topic_id().empty() && !src->second.id.empty() &&
            src->second.id != t.shadow().source_topic_id()) {
            out.commands.push_back(
                set_state(t, link, v1::SHADOW_TOPIC_STATE_FAULTED,
                          fmt::format("source topic deleted and recreated (topic id {}, was {})",
                                      src->second.id, t.shadow().source_topic_id()),
                          meta));
            continue;
        }
        v1::SyncShadowTopic sync;
        const int32_t have = t.partitions_size();
        if (src->second.partitions > stm::max_partitions_per_topic) {
            out.notes.push_back(fmt::format(
                "topic \"{}\": the source's {} partitions are more than the limit of {} per "
                "topic; not followed",
                name, src->second.partitions, stm::max_partitions_per_topic));
        } else if (src->second.partitions > have) {
            auto p = stm::place_partitions(s.brokers(), load(), have, src->second.partitions - have,
                                           t.replication_factor());
            if (!p) {
                out.notes.push_back(fmt::format("topic \"{}\": {} new partitions not placed: {}",
                                                name, src->second.partitions - have,
                                                p.error().reason()));
            } else {
                v1::Topic grown = t;
                for (v1::PartitionAssignment& a : *p) {
                    *grown.add_partitions() = a;
                    *sync.add_new_partitions() = std::move(a);
                }
                if (!placed) {
                    placed = s.topics();
                }
                placed->upsert(std::move(grown));
            }
        }
        bool configs_differ = false;
        std::map<std::string, std::string> want;
        if (const auto c = in.configs.find(src_name); c != in.configs.end()) {
            want = accepted_configs(c->second, synced, t.replication_factor(), name, out.notes);
            std::map<std::string, std::string> now;
            for (const std::string& k : synced) {
                if (const auto it = t.configs().find(k); it != t.configs().end()) {
                    now[k] = it->second;
                }
            }
            configs_differ = want != now;
        }
        if (sync.new_partitions_size() == 0 && !configs_differ) {
            continue;
        }
        sync.set_topic(name);
        sync.set_link_uuid(link.uuid());
        if (configs_differ) {
            for (const auto& [k, v] : want) {
                (*sync.mutable_configs())[k] = v;
            }
            for (const std::string& k : synced) {
                sync.add_synced_keys(k);
            }
        }
        v1::ControllerCommand cmd = new_command(meta);
        *cmd.mutable_sync_shadow_topic() = std::move(sync);
        out.commands.push_back(std::move(cmd));
    }

    // New shadow topics for source topics that pass the filters.
    for (const auto& [name, st] : in.source.topics) {
        if (!wanted(link, name)) {
            continue;
        }
        if (const v1::Topic* t = s.topics().find(name); t != nullptr) {
            if (!of_link(*t, link)) {
                out.notes.push_back(fmt::format(
                    "topic \"{}\" exists here and is not a shadow of this link; not shadowed",
                    name));
            }
            continue;
        }
        if (auto r = cluster::validate_topic_name(name); !r) {
            out.notes.push_back(
                fmt::format("source topic \"{}\" not shadowed: {}", name, r.error().reason()));
            continue;
        }
        if (auto r = stm::check_topic_name_available(load(), name); !r) {
            out.notes.push_back(
                fmt::format("source topic \"{}\" not shadowed: {}", name, r.error().reason()));
            continue;
        }
        if (auto r = stm::check_name_not_migrating(s, name, "name"); !r) {
            out.notes.push_back(
                fmt::format("source topic \"{}\" not shadowed: {}", name, r.error().reason()));
            continue;
        }
        if (st.partitions > stm::max_partitions_per_topic) {
            out.notes.push_back(fmt::format(
                "source topic \"{}\" not shadowed: its {} partitions are more than the limit of "
                "{} per topic",
                name, st.partitions, stm::max_partitions_per_topic));
            continue;
        }
        const auto described = in.configs.find(name);
        if (described == in.configs.end()) {
            out.notes.push_back(fmt::format(
                "source topic \"{}\" not shadowed yet: the source did not describe its configs",
                name));
            continue;
        }
        const int32_t rf = shadow_replication_factor(s, link, st.replication_factor);
        if (rf == 0) {
            out.notes.push_back(
                fmt::format("source topic \"{}\" not shadowed: no active broker here", name));
            continue;
        }
        const auto configs = accepted_configs(described->second, synced, rf, name, out.notes);
        google::protobuf::Map<std::string, std::string> pm(configs.begin(), configs.end());
        auto t = stm::build_topic(s, load(), name, st.partitions, rf, pm, new_uuid());
        if (!t) {
            out.notes.push_back(
                fmt::format("source topic \"{}\" not shadowed: {}", name, t.error().detail));
            continue;
        }
        v1::TopicShadow* sh = t->mutable_shadow();
        sh->set_link(link.name());
        sh->set_link_uuid(link.uuid());
        sh->set_source_topic(name);
        sh->set_source_topic_id(st.id);
        sh->set_state(v1::SHADOW_TOPIC_STATE_ACTIVE);
        sh->set_start_at(shadow_rules::start_at(opts));
        if (!placed) {
            placed = s.topics();
        }
        placed->upsert(*t);
        v1::ControllerCommand cmd = new_command(meta);
        v1::CreateShadowTopic* c = cmd.mutable_create_shadow_topic();
        c->set_link(link.name());
        c->set_link_uuid(link.uuid());
        *c->mutable_topic() = std::move(*t);
        out.commands.push_back(std::move(cmd));
    }
    return out;
}

plan plan_acl_sync(const stm::controller_stm& s, const v1::ShadowLink& link,
                   const std::vector<v1::AclBinding>& source, const stm::command_meta& meta) {
    plan out;
    std::map<security::acl_binding, v1::AclBinding> want;
    for (const v1::AclBinding& b : source) {
        auto m = security::binding_from_proto(b);
        if (m) {
            if (auto v = security::validate(*m); !v) {
                m = v.error();
            }
        }
        if (!m) {
            out.notes.push_back(fmt::format("source ACL for {} on \"{}\" not synced: {}",
                                            b.principal(), b.resource_name(), m.error().detail));
            continue;
        }
        want.emplace(*m, security::to_proto(*m));
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::SyncShadowAcls* c = cmd.mutable_sync_shadow_acls();
    for (const auto& [key, b] : want) {
        if (s.acls().find(key) == nullptr) {
            *c->add_create() = b;
        }
    }
    for (const v1::AclBinding& b : link.synced_acls()) {
        auto m = security::binding_from_proto(b);
        if (m && want.count(*m) == 0) {
            *c->add_remove() = security::to_proto(*m);
        }
    }
    if (c->create_size() > 0 || c->remove_size() > 0) {
        c->set_link(link.name());
        c->set_link_uuid(link.uuid());
        out.commands.push_back(std::move(cmd));
    }
    return out;
}

plan plan_failover_completion(const stm::controller_stm& s, const v1::ShadowLink& link,
                              const std::map<int32_t, broker_view>& brokers,
                              const stm::command_meta& meta) {
    plan out;
    for (const auto& [name, t] : s.topics().all()) {
        if (!of_link(t, link) || t.shadow().state() != v1::SHADOW_TOPIC_STATE_FAILING_OVER) {
            continue;
        }
        const uint64_t r = t.shadow().state_revision();
        std::vector<int32_t> waiting;
        for (const auto& [id, b] : s.brokers().all()) {
            if (b.state() == v1::BROKER_STATE_DECOMMISSIONED) {
                continue;
            }
            const auto v = brokers.find(id);
            if (v != brokers.end() && v->second.alive && v->second.applied_revision < r) {
                waiting.push_back(id);
            }
        }
        if (waiting.empty()) {
            out.commands.push_back(
                set_state(t, link, v1::SHADOW_TOPIC_STATE_FAILED_OVER, "", meta));
        } else {
            out.notes.push_back(
                fmt::format("topic \"{}\" fails over once brokers {} apply revision {}", name,
                            fmt::join(waiting, ", "), r));
        }
    }
    return out;
}

}  // namespace fjord::shadow
