// File: controller/stm/shadow_commands.cc
//
// The shadow-link builders and shared checks of commands.h: what the API
// (controller/frontend/shadow_links.h) and the leader's shadow driver
// (controller/shadow) run before they propose commands 70-75. The rules of a
// link's config, filters, synced properties and topic states are
// common/cluster/shadow_link.h's; here they meet the tables.

#include <set>

#include <fmt/format.h>

#include "common/cluster/config_schema.h"
#include "common/cluster/errc.h"
#include "common/cluster/shadow_link.h"
#include "common/cluster/topic_name.h"
#include "common/security/acl_proto.h"
#include "controller/stm/commands.h"
#include "controller/stm/placement.h"

namespace fjord::stm {

using cluster::errc;
using cluster::quoted;
namespace shadow = cluster::shadow;

namespace {

v1::ControllerCommand new_command(const command_meta& meta) {
    v1::ControllerCommand cmd;
    cmd.set_principal(meta.principal);
    cmd.set_time_ms(meta.time_ms);
    return cmd;
}

result<void> unknown_link(std::string_view name, std::string_view field) {
    return error_info::for_field(errc::unknown_shadow_link, field,
                                 fmt::format("no shadow link {}", quoted(name)));
}

const char* const auth_field = "client_options.authentication_configuration";
const char* const pem_key_field = "client_options.tls_settings.tls_pem_settings.key";

/// The stored password of a link's SASL config (either mechanism) and when
/// it was set; empty when none.
std::pair<std::string, int64_t> stored_password(const v1::ShadowLink& l) {
    const auto& a = l.config().client_options().authentication_configuration();
    if (a.has_scram_configuration()) {
        return {a.scram_configuration().password(), a.scram_configuration().password_set_at_ms()};
    }
    if (a.has_plain_configuration()) {
        return {a.plain_configuration().password(), a.plain_configuration().password_set_at_ms()};
    }
    return {};
}

/// A new password is stamped with the proposer's clock; an empty one (an
/// update with password_set) takes `kept` and its time, if there is one.
template <typename Sasl>
result<void> stamp_password(Sasl& s, const std::pair<std::string, int64_t>* kept, int64_t now,
                            std::string_view field) {
    if (!s.password().empty()) {
        s.set_password_set(true);
        s.set_password_set_at_ms(now);
        return ok();
    }
    if (kept == nullptr || kept->first.empty()) {
        return error_info::for_field(errc::invalid_argument, field,
                                     "required: the link has no stored password to keep");
    }
    s.set_password(kept->first);
    s.set_password_set(true);
    s.set_password_set_at_ms(kept->second);
    return ok();
}

/// Stamps (or, for an update, keeps) the password of `l`'s SASL config.
result<void> stamp_passwords(v1::ShadowLink& l, const v1::ShadowLink* cur, int64_t now) {
    v1::ShadowClientOptions* c = l.mutable_config()->mutable_client_options();
    if (!c->has_authentication_configuration()) {
        return ok();
    }
    const auto kept = cur != nullptr ? stored_password(*cur) : std::pair<std::string, int64_t>{};
    v1::ShadowAuthentication* a = c->mutable_authentication_configuration();
    if (a->has_scram_configuration()) {
        return stamp_password(*a->mutable_scram_configuration(), cur != nullptr ? &kept : nullptr,
                              now, fmt::format("{}.scram_configuration.password", auth_field));
    }
    if (a->has_plain_configuration()) {
        return stamp_password(*a->mutable_plain_configuration(), cur != nullptr ? &kept : nullptr,
                              now, fmt::format("{}.plain_configuration.password", auth_field));
    }
    return ok();
}

/// A PEM cert without its key keeps the stored key (never returned, like a
/// password) and its fingerprint; no key at all has no fingerprint.
result<void> keep_pem_key(v1::ShadowLink& l, const v1::ShadowLink* cur) {
    v1::ShadowClientOptions* c = l.mutable_config()->mutable_client_options();
    if (!c->has_tls_settings() || !c->tls_settings().has_tls_pem_settings()) {
        return ok();
    }
    v1::ShadowTlsPemSettings* pem = c->mutable_tls_settings()->mutable_tls_pem_settings();
    if (!pem->key().empty()) {
        return ok();  // the caller fingerprinted it
    }
    if (pem->cert().empty()) {
        pem->clear_key_fingerprint();
        return ok();
    }
    const v1::ShadowTlsPemSettings* stored =
        cur != nullptr ? &cur->config().client_options().tls_settings().tls_pem_settings()
                       : nullptr;
    if (stored == nullptr || stored->key().empty()) {
        return error_info::for_field(errc::invalid_argument, pem_key_field,
                                     "required with cert: the link has no stored key to keep");
    }
    pem->set_key(stored->key());
    pem->set_key_fingerprint(stored->key_fingerprint());
    return ok();
}

result<void> check_link_state(v1::ShadowLinkState s) {
    if (s == v1::SHADOW_LINK_STATE_UNSPECIFIED || s == v1::SHADOW_LINK_STATE_ACTIVE) {
        return ok();
    }
    return error_info::for_field(
        errc::invalid_argument, "state",
        fmt::format("{}: pausing a whole link is not implemented (as in Redpanda); pause its "
                    "tasks instead (paused: true in each *_sync_options)",
                    shadow::to_string(s)));
}

std::string describe_topic(const v1::Topic& t) {
    return fmt::format("{} ({})", quoted(t.name()), shadow::to_string(t.shadow().state()));
}

const v1::ShadowTopicSyncOptions& default_sync_options() {
    static const v1::ShadowTopicSyncOptions none;
    return none;
}

}  // namespace

// ---------------------------------------------------------------- links

result<v1::ControllerCommand> make_create_shadow_link(const controller_stm& stm,
                                                      v1::ShadowLink link, std::string_view uuid,
                                                      const command_meta& meta) {
    if (auto r = shadow::validate_link(link); !r) {
        return r.error();
    }
    if (stm.shadow_links().find(link.name()) != nullptr) {
        return error_info::for_field(
            errc::shadow_link_already_exists, "name",
            fmt::format("shadow link {} already exists", quoted(link.name())));
    }
    if (!stm.shadow_links().all().empty()) {
        return error_info::for_field(
            errc::shadow_link_limit_reached, "name",
            fmt::format("this cluster has shadow link {} already: one link per cluster (as "
                        "Redpanda); delete it first",
                        quoted(stm.shadow_links().all().begin()->first)));
    }
    if (auto r = check_link_state(link.state()); !r) {
        return r.error();
    }
    if (auto r = validate_uuid("uuid", uuid); !r) {
        return r.error();
    }
    link.set_uuid(std::string(uuid));
    link.set_state(v1::SHADOW_LINK_STATE_ACTIVE);
    link.clear_created();
    link.clear_updated();
    link.clear_synced_acls();
    if (auto r = stamp_passwords(link, nullptr, meta.time_ms); !r) {
        return r.error();
    }
    if (auto r = keep_pem_key(link, nullptr); !r) {
        return r.error();
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::UpsertShadowLink* u = cmd.mutable_upsert_shadow_link();
    *u->mutable_link() = std::move(link);
    u->set_create_only(true);
    return cmd;
}

result<v1::ControllerCommand> make_update_shadow_link(const controller_stm& stm,
                                                      v1::ShadowLink link,
                                                      const command_meta& meta) {
    const v1::ShadowLink* cur = stm.shadow_links().find(link.name());
    if (cur == nullptr) {
        return unknown_link(link.name(), "name").error();
    }
    if (auto r = shadow::validate_link(link, /*password_may_be_kept=*/true); !r) {
        return r.error();
    }
    if (auto r = check_link_state(link.state()); !r) {
        return r.error();
    }
    if (auto r = stamp_passwords(link, cur, meta.time_ms); !r) {
        return r.error();
    }
    if (auto r = keep_pem_key(link, cur); !r) {
        return r.error();
    }
    link.set_uuid(cur->uuid());
    link.set_state(cur->state());
    *link.mutable_created() = cur->created();
    link.clear_updated();
    *link.mutable_synced_acls() = cur->synced_acls();
    v1::ControllerCommand cmd = new_command(meta);
    v1::UpsertShadowLink* u = cmd.mutable_upsert_shadow_link();
    *u->mutable_link() = std::move(link);
    u->set_create_only(false);
    return cmd;
}

result<void> check_shadow_link_deletable(const controller_stm& stm, std::string_view link) {
    std::vector<std::string> active;
    for (const v1::Topic* t : topics_of(stm.topics(), link)) {
        if (!shadow::is_terminal(t->shadow().state())) {
            active.push_back(describe_topic(*t));
        }
    }
    if (active.empty()) {
        return ok();
    }
    return error_info::for_field(
        errc::shadow_link_has_active_topics, "name",
        fmt::format(
            "shadow link {} has {} topic{} not failed over: {}{}; fail {} over first, or "
            "delete with force (every topic fails over at once)",
            quoted(link), active.size(), active.size() == 1 ? "" : "s",
            fmt::join(active.begin(), active.begin() + std::min<size_t>(5, active.size()), ", "),
            active.size() > 5 ? ", ..." : "", active.size() == 1 ? "it" : "them"));
}

result<v1::ControllerCommand> make_delete_shadow_link(const controller_stm& stm,
                                                      std::string_view name, bool force,
                                                      const command_meta& meta) {
    const v1::ShadowLink* cur = stm.shadow_links().find(name);
    if (cur == nullptr) {
        return unknown_link(name, "name").error();
    }
    if (!force) {
        if (auto r = check_shadow_link_deletable(stm, name); !r) {
            return r.error();
        }
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::DeleteShadowLink* d = cmd.mutable_delete_shadow_link();
    d->set_name(std::string(name));
    d->set_force(force);
    d->set_uuid(cur->uuid());
    return cmd;
}

// ---------------------------------------------------------------- topics

result<v1::ControllerCommand> make_create_shadow_topic(
    const controller_stm& stm, std::string_view link, const v1::CreateTopicsRequest::Item& item,
    const v1::TopicShadow& shadow, std::string_view topic_uuid, const command_meta& meta) {
    const v1::ShadowLink* l = stm.shadow_links().find(link);
    if (l == nullptr) {
        return unknown_link(link, "link").error();
    }
    auto created = make_create_topic(stm, item, topic_uuid, meta);
    if (!created) {
        return created.error();
    }
    v1::Topic t = std::move(*created->mutable_create_topic()->mutable_topic());
    v1::TopicShadow* s = t.mutable_shadow();
    *s = shadow;
    s->set_link(l->name());
    s->set_link_uuid(l->uuid());
    if (s->source_topic().empty()) {
        s->set_source_topic(item.name());
    }
    s->set_state(v1::SHADOW_TOPIC_STATE_ACTIVE);
    s->clear_reason();
    s->clear_state_revision();
    s->set_start_at(shadow::start_at(l->config().topic_metadata_sync_options()));
    v1::ControllerCommand cmd = new_command(meta);
    v1::CreateShadowTopic* c = cmd.mutable_create_shadow_topic();
    c->set_link(l->name());
    c->set_link_uuid(l->uuid());
    *c->mutable_topic() = std::move(t);
    return cmd;
}

result<v1::ControllerCommand> make_fail_over_shadow_link(const controller_stm& stm,
                                                         std::string_view link,
                                                         std::string_view reason,
                                                         const command_meta& meta) {
    const v1::ShadowLink* l = stm.shadow_links().find(link);
    if (l == nullptr) {
        return error_info::for_field(errc::unknown_shadow_link, "name",
                                     fmt::format("no shadow link {}", quoted(link)));
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::SetShadowTopicState* c = cmd.mutable_set_shadow_topic_state();
    c->set_link(std::string(link));
    c->set_link_uuid(l->uuid());
    c->set_from(v1::SHADOW_TOPIC_STATE_ACTIVE);
    c->set_to(v1::SHADOW_TOPIC_STATE_FAILING_OVER);
    c->set_reason(std::string(reason));
    return cmd;
}

result<std::optional<v1::ControllerCommand>> make_set_shadow_topic_state(
    const controller_stm& stm, std::string_view topic, v1::ShadowTopicState from,
    v1::ShadowTopicState to, std::string_view reason, const command_meta& meta) {
    const v1::Topic* t = stm.topics().find(topic);
    if (t == nullptr) {
        return error_info::for_field(errc::unknown_topic, "topic",
                                     fmt::format("topic {} does not exist", quoted(topic)));
    }
    if (!t->has_shadow()) {
        return error_info::for_field(errc::invalid_argument, "topic",
                                     fmt::format("topic {} is not a shadow topic", quoted(topic)));
    }
    if (!shadow::transition_allowed(from, to)) {
        return error_info::for_field(errc::invalid_argument, "to",
                                     fmt::format("{} -> {} is not a shadow topic transition",
                                                 shadow::to_string(from), shadow::to_string(to)));
    }
    const v1::ShadowTopicState now = t->shadow().state();
    if (now == to) {
        return std::optional<v1::ControllerCommand>();
    }
    if (now != from) {
        return error_info::for_field(errc::conflict, "from",
                                     fmt::format("topic {} is {}, not {}", quoted(topic),
                                                 shadow::to_string(now), shadow::to_string(from)));
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::SetShadowTopicState* c = cmd.mutable_set_shadow_topic_state();
    c->set_topic(std::string(topic));
    c->set_from(from);
    c->set_to(to);
    c->set_reason(std::string(reason));
    c->set_link_uuid(t->shadow().link_uuid());
    return std::optional(std::move(cmd));
}

result<std::optional<v1::ControllerCommand>> make_sync_shadow_topic(
    const controller_stm& stm, std::string_view topic, int32_t source_partitions,
    const std::map<std::string, std::string>& configs, const command_meta& meta) {
    const v1::Topic* t = stm.topics().find(topic);
    if (t == nullptr) {
        return error_info::for_field(errc::unknown_topic, "topic",
                                     fmt::format("topic {} does not exist", quoted(topic)));
    }
    if (!t->has_shadow()) {
        return error_info::for_field(errc::invalid_argument, "topic",
                                     fmt::format("topic {} is not a shadow topic", quoted(topic)));
    }
    const v1::ShadowTopicState state = t->shadow().state();
    if (state != v1::SHADOW_TOPIC_STATE_ACTIVE && state != v1::SHADOW_TOPIC_STATE_PAUSED) {
        return error_info::for_field(
            errc::conflict, "topic",
            fmt::format("topic {} is {}: only ACTIVE and PAUSED shadow topics follow the source",
                        quoted(topic), shadow::to_string(state)));
    }
    const v1::ShadowLink* l = stm.shadow_links().find(t->shadow().link());
    if (l == nullptr || l->uuid() != t->shadow().link_uuid()) {
        return error_info::for_field(errc::conflict, "topic",
                                     fmt::format("the link of topic {} is gone", quoted(topic)));
    }
    if (source_partitions > max_partitions_per_topic) {
        return error_info::for_field(errc::invalid_partitions, "source_partitions",
                                     fmt::format("{} is more than the limit of {} per topic",
                                                 source_partitions, max_partitions_per_topic));
    }
    // The synced keys this cluster's schema knows (a key it does not is not
    // synced: it could not be stored).
    std::vector<std::string> keys;
    for (const std::string& k :
         shadow::synced_properties(l->config().topic_metadata_sync_options())) {
        if (cluster::topic_config_schema().find(k) != nullptr) {
            keys.push_back(k);
        }
    }
    google::protobuf::Map<std::string, std::string> wanted;
    for (const std::string& k : keys) {
        if (const auto it = configs.find(k); it != configs.end()) {
            wanted[k] = it->second;
        }
    }
    auto canonical = validate_topic_configs(wanted, t->replication_factor(), "configs.");
    if (!canonical) {
        return canonical.error();
    }
    std::map<std::string, std::string> after(t->configs().begin(), t->configs().end());
    std::set<std::string> touched;
    for (const std::string& k : keys) {
        const auto want = canonical->find(k);
        const auto have = after.find(k);
        if (want == canonical->end()) {
            if (have != after.end()) {
                after.erase(have);
                touched.insert(k);
            }
        } else if (have == after.end() || have->second != want->second) {
            after[k] = want->second;
            touched.insert(k);
        }
    }
    if (auto r = check_tiered_configs(stm, after, touched, "configs."); !r) {
        return r.error();
    }
    const int32_t current = t->partitions_size();
    if (touched.empty() && source_partitions <= current) {
        return std::optional<v1::ControllerCommand>();
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::SyncShadowTopic* c = cmd.mutable_sync_shadow_topic();
    c->set_topic(std::string(topic));
    c->set_link_uuid(l->uuid());
    if (source_partitions > current) {
        auto placed = place_partitions(stm.brokers(), stm.topics(), current,
                                       source_partitions - current, t->replication_factor());
        if (!placed) {
            return placed.error();
        }
        for (v1::PartitionAssignment& p : *placed) {
            *c->add_new_partitions() = std::move(p);
        }
    }
    for (const auto& [k, v] : *canonical) {
        (*c->mutable_configs())[k] = v;
    }
    for (const std::string& k : keys) {
        c->add_synced_keys(k);
    }
    return std::optional(std::move(cmd));
}

result<std::optional<v1::ControllerCommand>> make_sync_shadow_acls(
    const controller_stm& stm, std::string_view link, const std::vector<v1::AclBinding>& create,
    const std::vector<v1::AclBinding>& remove, const command_meta& meta) {
    const v1::ShadowLink* l = stm.shadow_links().find(link);
    if (l == nullptr) {
        return unknown_link(link, "link").error();
    }
    std::set<security::acl_binding> synced;
    for (const v1::AclBinding& b : l->synced_acls()) {
        if (auto k = security::binding_from_proto(b)) {
            synced.insert(std::move(*k));
        }
    }
    v1::ControllerCommand cmd = new_command(meta);
    v1::SyncShadowAcls* c = cmd.mutable_sync_shadow_acls();
    c->set_link(l->name());
    c->set_link_uuid(l->uuid());
    std::set<security::acl_binding> seen;
    for (size_t i = 0; i < create.size(); ++i) {
        auto k = security::binding_from_proto(create[i]);
        if (k) {
            if (auto r = security::validate(*k); !r) {
                k = r.error();
            }
        }
        if (!k) {
            return k.error().within(fmt::format("create[{}].", i));
        }
        if (stm.acls().find(*k) == nullptr && seen.insert(*k).second) {
            *c->add_create() = security::to_proto(*k);
        }
    }
    seen.clear();
    for (size_t i = 0; i < remove.size(); ++i) {
        auto k = security::binding_from_proto(remove[i]);
        if (!k) {
            return k.error().within(fmt::format("remove[{}].", i));
        }
        if (synced.count(*k) > 0 && seen.insert(*k).second) {
            *c->add_remove() = security::to_proto(*k);
        }
    }
    if (c->create().empty() && c->remove().empty()) {
        return std::optional<v1::ControllerCommand>();
    }
    return std::optional(std::move(cmd));
}

// ---------------------------------------------------------------- read-only

result<void> check_shadow_configs_writable(const controller_stm& stm, const v1::Topic& t,
                                           const std::set<std::string>& set,
                                           const std::set<std::string>& removed) {
    if (!shadow::is_read_only(t)) {
        return ok();
    }
    const v1::ShadowLink* l = stm.shadow_links().find(t.shadow().link());
    const v1::ShadowTopicSyncOptions& o =
        l != nullptr ? l->config().topic_metadata_sync_options() : default_sync_options();
    for (const auto& [keys, prefix] : {std::pair{&set, "set"}, std::pair{&removed, "remove"}}) {
        for (const std::string& k : *keys) {
            if (shadow::is_synced_property(o, k)) {
                return error_info::for_field(
                    errc::shadow_topic_read_only, fmt::format("{}.{}", prefix, k),
                    fmt::format("topic {} is a shadow topic of link {} ({}): {} is synced from "
                                "the source; it becomes writable once the topic fails over",
                                quoted(t.name()), quoted(t.shadow().link()),
                                shadow::to_string(t.shadow().state()), k));
            }
        }
    }
    return ok();
}

result<void> check_shadow_partitions_writable(const v1::Topic& t, std::string_view field) {
    if (!shadow::is_read_only(t)) {
        return ok();
    }
    return error_info::for_field(
        errc::shadow_topic_read_only, field,
        fmt::format("topic {} is a shadow topic of link {} ({}): its partitions follow the "
                    "source; it becomes writable once it fails over",
                    quoted(t.name()), quoted(t.shadow().link()),
                    shadow::to_string(t.shadow().state())));
}

}  // namespace fjord::stm
