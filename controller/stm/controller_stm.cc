// File: controller/stm/controller_stm.cc
//
// Apply, snapshot/restore and the change log of controller_stm. Each apply
// function checks everything first and mutates only once the command is known
// to succeed, so a refusal leaves the state untouched.

#include "controller/stm/controller_stm.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/wire_format_lite.h>

#include "common/assert.h"
#include "common/cluster/config_schema.h"
#include "common/cluster/errc.h"
#include "common/cluster/migration.h"
#include "common/cluster/shadow_link.h"
#include "common/cluster/topic_name.h"
#include "common/log.h"
#include "common/security/acl_proto.h"
#include "controller/stm/commands.h"

namespace fjord::stm {

using cluster::errc;
using cluster::validate_topic_name;
namespace {

constexpr std::string_view component = "stm";

// A map field's entries in key order: proto map iteration order is
// unspecified and must never decide what apply does.
std::map<std::string, std::string> sorted(
    const google::protobuf::Map<std::string, std::string>& m) {
    return {m.begin(), m.end()};
}

std::string unknown_field_numbers(const google::protobuf::Message& m) {
    const google::protobuf::UnknownFieldSet& u = m.GetReflection()->GetUnknownFields(m);
    std::string out;
    for (int i = 0; i < u.field_count(); ++i) {
        out += (i == 0 ? "" : ",") + std::to_string(u.field(i).number());
    }
    return out.empty() ? "none" : out;
}

// The invariants a stored partition must keep, whoever proposed it.
result<void> check_partition_shape(const v1::PartitionAssignment& p, int32_t expected_number,
                                   int32_t replication_factor, std::string_view field) {
    if (p.partition() != expected_number) {
        return error_info::for_field(
            errc::invalid_argument, fmt::format("{}.partition", field),
            fmt::format("{} where {} was expected (partitions are numbered "
                        "from 0 without gaps)",
                        p.partition(), expected_number));
    }
    if (p.replicas_size() != replication_factor) {
        return error_info::for_field(errc::invalid_argument, fmt::format("{}.replicas", field),
                                     fmt::format("{} replicas for replication factor {}",
                                                 p.replicas_size(), replication_factor));
    }
    std::set<int32_t> seen;
    for (int32_t r : p.replicas()) {
        if (r < 0) {
            return error_info::for_field(errc::invalid_argument, fmt::format("{}.replicas", field),
                                         fmt::format("broker id {} is negative", r));
        }
        if (!seen.insert(r).second) {
            return error_info::for_field(errc::invalid_argument, fmt::format("{}.replicas", field),
                                         fmt::format("broker {} appears twice", r));
        }
    }
    if (p.leader() != -1 && seen.count(p.leader()) == 0) {
        return error_info::for_field(errc::invalid_argument, fmt::format("{}.leader", field),
                                     fmt::format("broker {} is not a replica", p.leader()));
    }
    if (p.leader_epoch() < 0) {
        return error_info::for_field(errc::invalid_argument, fmt::format("{}.leader_epoch", field),
                                     fmt::format("{} is negative", p.leader_epoch()));
    }
    if (p.start_offset() < 0) {
        return error_info::for_field(errc::invalid_argument, fmt::format("{}.start_offset", field),
                                     fmt::format("{} is negative", p.start_offset()));
    }
    return ok();
}

result<void> check_topic_shape(const v1::Topic& t) {
    if (auto r = validate_topic_name(t.name()); !r) {
        return r;
    }
    if (t.uuid().empty()) {
        return error_info::for_field(errc::invalid_argument, "uuid", "must not be empty");
    }
    if (t.replication_factor() < 1) {
        return error_info::for_field(errc::invalid_argument, "replication_factor",
                                     fmt::format("{} is less than 1", t.replication_factor()));
    }
    if (t.partitions_size() == 0) {
        return error_info::for_field(errc::invalid_argument, "partitions",
                                     "a topic has at least one partition");
    }
    for (int i = 0; i < t.partitions_size(); ++i) {
        if (auto r = check_partition_shape(t.partitions(i), i, t.replication_factor(),
                                           fmt::format("partitions[{}]", i));
            !r) {
            return r;
        }
    }
    return ok();
}

}  // namespace

controller_stm::controller_stm(stm_config cfg) : _cfg(std::move(cfg)) {}

// ---------------------------------------------------------------- entries

apply_result controller_stm::apply_command(log_index index, std::string_view data) {
    if (data.empty()) {
        apply_noop(index);
        return ok();
    }
    FJORD_ASSERT(index > _applied, "apply at index {} after {}", index, _applied);
    _applying = index;
    v1::ControllerCommand cmd;
    if (!cmd.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
        log(log_level::warn, component, "index {}: {} bytes are not a ControllerCommand; skipped",
            index, data.size());
        advance(index);
        return error_info::for_field(
            errc::internal, "command",
            fmt::format("{} bytes are not a ControllerCommand; skipped", data.size()));
    }
    v1::Audit audit;
    audit.set_principal(cmd.principal());
    audit.set_time_ms(cmd.time_ms());
    audit.set_revision(index.value());
    // A session command is applied at most once (session_table.h); a
    // malformed session (the proposer checks, so only a bug or a hostile
    // peer sends one) is refused rather than applied without protection.
    const bool in_session = cmd.has_session();
    apply_result r = ok();
    if (in_session && !(r = session_table::validate(cmd.session()))) {
        log(log_level::warn, component, "index {}: refused: {}", index, r.error().message());
    } else if (auto prior = in_session ? _sessions.prior(cmd.session()) : std::nullopt) {
        r = std::move(*prior);
        log(log_level::debug, component, "index {}: retry of client {} request {}.{}; not applied",
            index, cmd.session().client_id(), cmd.session().seq(), cmd.session().item());
    } else {
        // A command proposed with a request_id has its deltas remembered
        // under it (changes_of); recorded even when it changes nothing.
        std::vector<v1::Delta> request_deltas;
        _request_deltas = cmd.request_id().empty() ? nullptr : &request_deltas;
        r = dispatch(cmd, audit);
        _request_deltas = nullptr;
        if (!cmd.request_id().empty()) {
            remember_request(cmd.request_id(), std::move(request_deltas));
        }
        if (!r) {
            log(log_level::debug, component, "index {}: refused: {}", index, r.error().message());
        }
        if (in_session) {
            _sessions.record(cmd.session(), cmd.time_ms(), r);
        }
    }
    if (in_session) {
        // Only session commands move the session clock, so a command without
        // one that is refused changes nothing at all (the stm's contract).
        _sessions.tick(cmd.time_ms());
    }
    advance(index);
    return r;
}

apply_result controller_stm::dispatch(const v1::ControllerCommand& cmd, const v1::Audit& audit) {
    using C = v1::ControllerCommand;
    switch (cmd.command_case()) {
        case C::kInitCluster:
            return apply(cmd.init_cluster(), audit);
        case C::kCreateTopic:
            return apply(cmd.create_topic(), audit);
        case C::kDeleteTopic:
            return apply(cmd.delete_topic(), audit);
        case C::kAlterTopicConfigs:
            return apply(cmd.alter_topic_configs(), audit);
        case C::kCreatePartitions:
            return apply(cmd.create_partitions(), audit);
        case C::kRegisterBroker:
            return apply(cmd.register_broker(), audit);
        case C::kSetBrokerState:
            return apply(cmd.set_broker_state(), audit);
        case C::kSetPartitionLeaders:
            return apply(cmd.set_partition_leaders(), audit);
        case C::kSetClusterConfig:
            return apply(cmd.set_cluster_config(), audit);
        case C::kRecordRefusal:
            return record_refusal(cmd);
        case C::kUpsertUser:
            return apply(cmd.upsert_user(), audit);
        case C::kDeleteUser:
            return apply(cmd.delete_user(), audit);
        case C::kCreateAcls:
            return apply(cmd.create_acls(), audit);
        case C::kDeleteAcls:
            return apply(cmd.delete_acls(), audit);
        case C::kUpsertRole:
            return apply(cmd.upsert_role(), audit);
        case C::kDeleteRole:
            return apply(cmd.delete_role(), audit);
        case C::kAlterRoleMembers:
            return apply(cmd.alter_role_members(), audit);
        case C::kCreateMigration:
            return apply(cmd.create_migration(), audit);
        case C::kAdvanceMigration:
            return apply(cmd.advance_migration(), audit);
        case C::kSetMigrationStatus:
            return apply(cmd.set_migration_status(), audit);
        case C::kCancelMigration:
            return apply(cmd.cancel_migration(), audit);
        case C::kRemoveMigration:
            return apply(cmd.remove_migration(), audit);
        case C::kUpsertShadowLink:
            return apply(cmd.upsert_shadow_link(), audit);
        case C::kDeleteShadowLink:
            return apply(cmd.delete_shadow_link(), audit);
        case C::kCreateShadowTopic:
            return apply(cmd.create_shadow_topic(), audit);
        case C::kSetShadowTopicState:
            return apply(cmd.set_shadow_topic_state(), audit);
        case C::kSyncShadowTopic:
            return apply(cmd.sync_shadow_topic(), audit);
        case C::kSyncShadowAcls:
            return apply(cmd.sync_shadow_acls(), audit);
        case C::kApplyBatch:
            return apply(cmd.apply_batch(), audit);
        case C::COMMAND_NOT_SET:
            break;
    }
    // A newer proposer's command lands in the unknown fields; every member of
    // this version skips it the same way.
    log(log_level::warn, component, "index {}: unknown command (unknown fields: {}); skipped",
        audit.revision(), unknown_field_numbers(cmd));
    return error_info::for_field(
        errc::internal, "command",
        fmt::format("unknown command type (fields {}); skipped", unknown_field_numbers(cmd)));
}

apply_result controller_stm::record_refusal(const v1::ControllerCommand& cmd) {
    // Only reached without a prior outcome in the session (apply_entry
    // answers retries first); the refusal itself changes no table.
    const v1::RecordRefusal& r = cmd.record_refusal();
    if (!cmd.has_session()) {
        return error_info::for_field(errc::internal, "session",
                                     "a recorded refusal needs the session it belongs to");
    }
    if (r.code() <= static_cast<int32_t>(errc::success) ||
        r.code() > static_cast<int32_t>(cluster::last_errc)) {
        return error_info::for_field(errc::internal, "record_refusal.code",
                                     fmt::format("{} is not a refusal code", r.code()));
    }
    error_info e(static_cast<errc>(r.code()), r.detail());
    e.field = r.field();
    return e;
}

void controller_stm::apply_conf_change(log_index index, const raft::conf_change& cc) {
    FJORD_ASSERT(index > _applied, "apply at index {} after {}", index, _applied);
    _applying = index;
    const uint64_t id = cc.node.value();
    if (cc.type == raft::conf_change_type::remove_node) {
        if (_members.find(id) != nullptr) {
            _members.erase(id);
            v1::Delta d;
            d.set_member_removed(id);
            record(std::move(d));
        }
        advance(index);
        return;
    }
    std::optional<v1::Member> m;
    if (!cc.context.empty()) {
        v1::MemberContext ctx;
        if (ctx.ParseFromString(cc.context)) {
            m = ctx.member();
            if (m->id() != 0 && m->id() != id) {
                log(log_level::warn, component,
                    "index {}: member context names id {} for member {}; using {}", index, m->id(),
                    id, id);
            }
        } else {
            log(log_level::warn, component,
                "index {}: membership change for {} has a malformed context; ignored", index, id);
        }
    }
    if (!m) {
        if (_members.find(id) != nullptr) {
            advance(index);  // a promotion: the addresses are known already
            return;
        }
        m.emplace();
        for (const v1::Member& im : _cfg.initial_members) {
            if (im.id() == id) {
                *m = im;
            }
        }
    }
    m->set_id(id);
    const v1::Member* cur = _members.find(id);
    if (cur == nullptr || cur->SerializeAsString() != m->SerializeAsString()) {
        _members.upsert(*m);
        v1::Delta d;
        *d.mutable_member_upserted() = std::move(*m);
        record(std::move(d));
    }
    advance(index);
}

void controller_stm::apply_noop(log_index index) {
    FJORD_ASSERT(index > _applied, "apply at index {} after {}", index, _applied);
    advance(index);
}

void controller_stm::advance(log_index index) {
    _applied = index;
}

void controller_stm::remember_request(const std::string& id, std::vector<v1::Delta> deltas) {
    if (_by_request.insert_or_assign(id, std::move(deltas)).second) {
        _request_order.push_back(id);
    }
    while (_request_order.size() > _cfg.max_remembered_requests) {
        _by_request.erase(_request_order.front());
        _request_order.pop_front();
    }
}

std::optional<std::vector<v1::Delta>> controller_stm::changes_of(
    std::string_view request_id) const {
    const auto it = _by_request.find(request_id);
    if (it == _by_request.end()) {
        return std::nullopt;
    }
    return it->second;
}

void controller_stm::record(v1::Delta d) {
    d.set_revision(_applying.value());
    _revision = revision_id{_applying.value()};
    if (_request_deltas != nullptr) {
        _request_deltas->push_back(d);
    }
    _changes.push_back(std::move(d));
    while (_changes.size() > _cfg.max_retained_deltas) {
        _horizon = std::max(_horizon, revision_id{_changes.front().revision()});
        _changes.pop_front();
    }
}

// ---------------------------------------------------------------- commands

apply_result controller_stm::apply(const v1::InitCluster& c, const v1::Audit&) {
    if (c.cluster_uuid().empty()) {
        return error_info::for_field(errc::invalid_argument, "cluster_uuid", "must not be empty");
    }
    if (_cluster_uuid == c.cluster_uuid()) {
        return ok();
    }
    if (!_cluster_uuid.empty()) {
        return error_info::for_field(errc::conflict, "cluster_uuid",
                                     fmt::format("the cluster already has uuid {}", _cluster_uuid));
    }
    _cluster_uuid = c.cluster_uuid();
    v1::Delta d;
    d.set_cluster_uuid_set(_cluster_uuid);
    record(std::move(d));
    return ok();
}

result<void> controller_stm::check_replica_brokers(const v1::PartitionAssignment& p) const {
    for (int32_t r : p.replicas()) {
        const v1::Broker* b = _brokers.find(r);
        if (b == nullptr) {
            return error_info::for_field(errc::conflict,
                                         fmt::format("partitions[{}].replicas", p.partition()),
                                         fmt::format("broker {} is not registered", r));
        }
        if (b->state() == v1::BROKER_STATE_DECOMMISSIONED) {
            return error_info::for_field(errc::conflict,
                                         fmt::format("partitions[{}].replicas", p.partition()),
                                         fmt::format("broker {} was decommissioned", r));
        }
    }
    return ok();
}

apply_result controller_stm::apply(const v1::CreateTopic& c, const v1::Audit& audit) {
    const v1::Topic& t = c.topic();
    if (auto r = check_topic_shape(t); !r) {
        return r;
    }
    if (auto r = check_topic_name_available(_topics, t.name()); !r) {
        return r;
    }
    if (auto r = check_name_not_migrating(*this, t.name(), "name"); !r) {
        return r;
    }
    for (const v1::PartitionAssignment& p : t.partitions()) {
        if (auto r = check_replica_brokers(p); !r) {
            return r;
        }
    }
    v1::Topic stored = t;
    stored.clear_migration();  // only a migration's own steps set it
    stored.clear_shadow();     // only CreateShadowTopic sets it
    *stored.mutable_created() = audit;
    *stored.mutable_updated() = audit;
    v1::Delta d;
    *d.mutable_topic_upserted() = stored;
    _topics.upsert(std::move(stored));
    record(std::move(d));
    return ok();
}

apply_result controller_stm::apply(const v1::DeleteTopic& c, const v1::Audit&) {
    const v1::Topic* cur = _topics.find(c.name());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_topic, "name",
                                     fmt::format("topic \"{}\" does not exist", c.name()));
    }
    if (auto r = check_not_migrating(*cur, "name"); !r) {
        return r;
    }
    remove_topic(c.name());
    return ok();
}

void controller_stm::remove_topic(const std::string& name) {
    _topics.erase(name);
    v1::Delta d;
    d.set_topic_deleted(name);
    record(std::move(d));
}

apply_result controller_stm::apply(const v1::AlterTopicConfigs& c, const v1::Audit& audit) {
    const v1::Topic* cur = _topics.find(c.name());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_topic, "name",
                                     fmt::format("topic \"{}\" does not exist", c.name()));
    }
    if (auto r = check_not_migrating(*cur, "name"); !r) {
        return r;
    }
    const std::set<std::string> removed(c.remove().begin(), c.remove().end());
    for (const auto& [k, v] : sorted(c.set())) {
        if (k.empty() || removed.count(k) > 0) {
            return error_info::for_field(errc::invalid_argument, fmt::format("set.{}", k),
                                         "the key is empty or also removed");
        }
    }
    {
        std::set<std::string> set_keys;
        for (const auto& [k, v] : sorted(c.set())) {
            set_keys.insert(k);
        }
        if (auto r = check_shadow_configs_writable(*this, *cur, set_keys, removed); !r) {
            return r;
        }
    }
    v1::Topic next = *cur;
    auto& configs = *next.mutable_configs();
    bool changed = false;
    for (const auto& [k, v] : sorted(c.set())) {
        const auto it = configs.find(k);
        if (it == configs.end() || it->second != v) {
            configs[k] = v;
            changed = true;
        }
    }
    for (const std::string& k : removed) {
        changed = configs.erase(k) > 0 || changed;
    }
    if (!changed) {
        return ok();
    }
    *next.mutable_updated() = audit;
    v1::Delta d;
    *d.mutable_topic_upserted() = next;
    _topics.upsert(std::move(next));
    record(std::move(d));
    return ok();
}

apply_result controller_stm::apply(const v1::CreatePartitions& c, const v1::Audit& audit) {
    const v1::Topic* cur = _topics.find(c.name());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_topic, "name",
                                     fmt::format("topic \"{}\" does not exist", c.name()));
    }
    if (auto r = check_not_migrating(*cur, "name"); !r) {
        return r;
    }
    if (auto r = check_shadow_partitions_writable(*cur, "name"); !r) {
        return r;
    }
    if (c.partitions_size() == 0) {
        return error_info::for_field(errc::invalid_argument, "partitions", "no partitions to add");
    }
    if (c.partitions(0).partition() != cur->partitions_size()) {
        return error_info::for_field(
            errc::conflict, "partitions",
            fmt::format("topic \"{}\" has {} partitions now; the command adds "
                        "partitions from {}",
                        c.name(), cur->partitions_size(), c.partitions(0).partition()));
    }
    for (int i = 0; i < c.partitions_size(); ++i) {
        const v1::PartitionAssignment& p = c.partitions(i);
        if (auto r = check_partition_shape(p, cur->partitions_size() + i, cur->replication_factor(),
                                           fmt::format("partitions[{}]", p.partition()));
            !r) {
            return r;
        }
        if (auto r = check_replica_brokers(p); !r) {
            return r;
        }
    }
    v1::Topic next = *cur;
    for (const v1::PartitionAssignment& p : c.partitions()) {
        *next.add_partitions() = p;
    }
    *next.mutable_updated() = audit;
    v1::Delta d;
    *d.mutable_topic_upserted() = next;
    _topics.upsert(std::move(next));
    record(std::move(d));
    return ok();
}

apply_result controller_stm::apply(const v1::RegisterBroker& c, const v1::Audit& audit) {
    const v1::Broker& b = c.broker();
    if (b.id() < 0) {
        return error_info::for_field(errc::invalid_argument, "broker.id",
                                     fmt::format("{} is negative", b.id()));
    }
    if (b.incarnation().empty()) {
        return error_info::for_field(errc::invalid_argument, "broker.incarnation",
                                     "must not be empty");
    }
    const v1::Broker* cur = _brokers.find(b.id());
    if (cur != nullptr && cur->state() == v1::BROKER_STATE_DECOMMISSIONED) {
        return error_info::for_field(
            errc::broker_id_in_use, "broker.id",
            fmt::format("broker {} was decommissioned; its id is never reused", b.id()));
    }
    if (cur != nullptr && cur->incarnation() == b.incarnation()) {
        if (same_registration(*cur, b)) {
            return ok();
        }
        return error_info::for_field(
            errc::invalid_argument, "broker.incarnation",
            fmt::format("\"{}\" is registered for broker {} with other "
                        "endpoints, rack, FIPS mode or version; a changed broker registers "
                        "with a new incarnation",
                        b.incarnation(), b.id()));
    }
    v1::Broker next = b;
    next.set_state(cur != nullptr ? cur->state() : v1::BROKER_STATE_ACTIVE);
    *next.mutable_registered() = audit;
    *next.mutable_updated() = audit;
    v1::Delta d;
    *d.mutable_broker_upserted() = next;
    _brokers.upsert(std::move(next));
    record(std::move(d));
    return ok();
}

apply_result controller_stm::apply(const v1::SetBrokerState& c, const v1::Audit& audit) {
    const v1::Broker* cur = _brokers.find(c.id());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_broker, "id",
                                     fmt::format("no broker {}", c.id()));
    }
    if (auto r = check_broker_state_transition(*cur, c.state()); !r) {
        return r;
    }
    if (cur->state() == c.state()) {
        return ok();
    }
    v1::Broker next = *cur;
    next.set_state(c.state());
    *next.mutable_updated() = audit;
    v1::Delta d;
    *d.mutable_broker_upserted() = next;
    _brokers.upsert(std::move(next));
    record(std::move(d));
    return ok();
}

apply_result controller_stm::apply(const v1::SetPartitionLeaders& c, const v1::Audit& audit) {
    // Check every change against the state first, then apply them per topic
    // (in name order), so one delta carries each changed topic.
    std::map<std::string, std::pair<v1::Topic, bool>> next;  // name -> (topic, changed)
    for (int i = 0; i < c.changes_size(); ++i) {
        const v1::LeaderChange& lc = c.changes(i);
        const v1::Topic* cur = _topics.find(lc.topic());
        if (cur == nullptr) {
            return error_info::for_field(errc::unknown_topic, fmt::format("changes[{}].topic", i),
                                         fmt::format("topic \"{}\" does not exist", lc.topic()));
        }
        if (lc.partition() < 0 || lc.partition() >= cur->partitions_size()) {
            return error_info::for_field(
                errc::invalid_argument, fmt::format("changes[{}].partition", i),
                fmt::format("topic \"{}\" has no partition {}", lc.topic(), lc.partition()));
        }
        const v1::PartitionAssignment& p = cur->partitions(lc.partition());
        if (lc.leader() != -1 && std::find(p.replicas().begin(), p.replicas().end(), lc.leader()) ==
                                     p.replicas().end()) {
            return error_info::for_field(errc::invalid_argument,
                                         fmt::format("changes[{}].leader", i),
                                         fmt::format("broker {} is not a replica of {}/{}",
                                                     lc.leader(), lc.topic(), lc.partition()));
        }
        auto [it, inserted] = next.try_emplace(lc.topic(), *cur, false);
        v1::PartitionAssignment* np = it->second.first.mutable_partitions(lc.partition());
        if (np->leader() != lc.leader()) {
            np->set_leader(lc.leader());
            np->set_leader_epoch(np->leader_epoch() + 1);
            it->second.second = true;
        }
    }
    for (auto& [name, entry] : next) {
        auto& [t, changed] = entry;
        if (!changed) {
            continue;
        }
        *t.mutable_updated() = audit;
        v1::Delta d;
        *d.mutable_topic_upserted() = t;
        _topics.upsert(std::move(t));
        record(std::move(d));
    }
    return ok();
}

apply_result controller_stm::apply(const v1::SetClusterConfig& c, const v1::Audit& audit) {
    const std::set<std::string> removed(c.remove().begin(), c.remove().end());
    const std::map<std::string, std::string> upsert = sorted(c.upsert());
    for (const auto& [k, v] : upsert) {
        if (k.empty() || removed.count(k) > 0) {
            return error_info::for_field(errc::invalid_argument, k,
                                         "the key is empty or also removed");
        }
    }
    if (auto r = check_config_keeps_admin(*this, c); !r) {
        return r;
    }
    for (const auto& [k, v] : upsert) {
        const v1::ConfigValue* cur = _config.find(k);
        if (cur != nullptr && cur->value() == v) {
            continue;
        }
        v1::ConfigValue cv;
        cv.set_key(k);
        cv.set_value(v);
        *cv.mutable_updated() = audit;
        v1::Delta d;
        *d.mutable_config_set() = cv;
        _config.set(std::move(cv));
        record(std::move(d));
    }
    for (const std::string& k : removed) {
        if (_config.find(k) == nullptr) {
            continue;
        }
        _config.erase(k);
        v1::Delta d;
        d.set_config_removed(k);
        record(std::move(d));
    }
    if (upsert.count("superusers") > 0 || removed.count("superusers") > 0) {
        security_changed();
    }
    return ok();
}

// ---------------------------------------------------------------- security

void controller_stm::security_changed() {
    std::lock_guard g(_authz->mu);
    _authz->current.reset();
}

std::vector<std::string> controller_stm::superusers() const {
    return cluster::split_list(_config.value("superusers"));
}

std::shared_ptr<const security::authorizer> controller_stm::authorizer() const {
    std::lock_guard g(_authz->mu);
    if (!_authz->current) {
        security::authorizer_builder b;
        for (const auto& [key, record] : _acls.all()) {
            b.add(key);
        }
        for (const std::string& s : superusers()) {
            b.add_superuser(s);
        }
        for (const auto& [name, role] : _roles.all()) {
            security::add_role(b, role);
        }
        _authz->current = std::move(b).build();
    }
    return _authz->current;
}

void controller_stm::remove_acl(const security::acl_binding& key) {
    const v1::AclBinding* stored = _acls.find(key);
    if (stored == nullptr) {
        return;
    }
    v1::Delta d;
    *d.mutable_acl_deleted() = *stored;
    _acls.erase(key);
    record(std::move(d));
}

apply_result controller_stm::apply(const v1::UpsertUser& c, const v1::Audit& audit) {
    const v1::User& u = c.user();
    // The shapes a stored user must keep, whoever proposed it (a name and a
    // usable credential); the username rule itself is the proposer's.
    if (u.name().empty()) {
        return error_info::for_field(errc::invalid_argument, "user.name", "must not be empty");
    }
    if (auto r = validate_credential(u.credential(), "user.credential."); !r) {
        return r;
    }
    const v1::User* cur = _users.find(u.name());
    const bool same = cur != nullptr &&
                      cur->credential().SerializeAsString() == u.credential().SerializeAsString();
    if (cur != nullptr && c.create_only() && !same) {
        return error_info::for_field(errc::user_already_exists, "name",
                                     fmt::format("user \"{}\" already exists", u.name()));
    }
    if (cur == nullptr && c.update_only()) {
        return error_info::for_field(errc::unknown_user, "name",
                                     fmt::format("user \"{}\" does not exist", u.name()));
    }
    if (same) {
        return ok();  // a replay stores what is stored already
    }
    v1::User next;
    next.set_name(u.name());
    *next.mutable_credential() = u.credential();
    *next.mutable_created() = cur != nullptr ? cur->created() : audit;
    *next.mutable_updated() = audit;
    v1::Delta d;
    *d.mutable_user_upserted() = next;
    _users.upsert(std::move(next));
    record(std::move(d));
    return ok();
}

apply_result controller_stm::apply(const v1::DeleteUser& c, const v1::Audit&) {
    if (_users.find(c.name()) == nullptr) {
        return error_info::for_field(errc::unknown_user, "name",
                                     fmt::format("user \"{}\" does not exist", c.name()));
    }
    if (auto r = check_delete_keeps_admin(*this, c.name()); !r) {
        return r;
    }
    _users.erase(c.name());
    v1::Delta d;
    d.set_user_deleted(c.name());
    record(std::move(d));
    return ok();
}

apply_result controller_stm::apply(const v1::CreateAcls& c, const v1::Audit& audit) {
    std::vector<security::acl_binding> keys;
    for (int i = 0; i < c.bindings_size(); ++i) {
        auto b = security::binding_from_proto(c.bindings(i));
        if (b) {
            if (auto r = security::validate(*b); !r) {
                b = r.error();
            }
        }
        if (!b) {
            return b.error().within(fmt::format("bindings[{}].", i));
        }
        keys.push_back(std::move(*b));
    }
    for (const security::acl_binding& key : keys) {
        if (_acls.find(key) != nullptr) {
            continue;  // an existing binding: nothing to do
        }
        v1::AclBinding stored = security::to_proto(key);
        *stored.mutable_created() = audit;
        v1::Delta d;
        *d.mutable_acl_created() = stored;
        _acls.insert(key, std::move(stored));
        record(std::move(d));
        security_changed();
    }
    return ok();
}

apply_result controller_stm::apply(const v1::DeleteAcls& c, const v1::Audit&) {
    std::vector<security::acl_filter> filters;
    for (int i = 0; i < c.filters_size(); ++i) {
        auto f = security::filter_from_proto(c.filters(i));
        if (!f) {
            return f.error().within(fmt::format("filters[{}].", i));
        }
        filters.push_back(std::move(*f));
    }
    // The matches now, in log order, whatever the proposer saw: each one
    // removed is one acl_deleted delta (what the proposer reports).
    for (const security::acl_filter& f : filters) {
        for (const v1::AclBinding& b : _acls.matching(f)) {
            remove_acl(*security::binding_from_proto(b));
            security_changed();
        }
    }
    return ok();
}

apply_result controller_stm::apply(const v1::UpsertRole& c, const v1::Audit& audit) {
    if (auto r = validate_role_name("name", c.name()); !r) {
        return r;
    }
    if (_roles.find(c.name()) != nullptr) {
        // As the builder says: a concurrent create of the same role must not
        // be told it created it too.
        return error_info::for_field(errc::role_already_exists, "name",
                                     fmt::format("role \"{}\" already exists", c.name()));
    }
    v1::Role role;
    role.set_name(c.name());
    *role.mutable_created() = audit;
    *role.mutable_updated() = audit;
    v1::Delta d;
    *d.mutable_role_upserted() = role;
    _roles.upsert(std::move(role));
    record(std::move(d));
    security_changed();
    return ok();
}

apply_result controller_stm::apply(const v1::DeleteRole& c, const v1::Audit&) {
    if (_roles.find(c.name()) == nullptr) {
        return error_info::for_field(errc::unknown_role, "name",
                                     fmt::format("role \"{}\" does not exist", c.name()));
    }
    // Its bindings first, then the role (and its memberships with it).
    security::acl_filter mine;
    mine.who = security::principal::role(c.name());
    for (const v1::AclBinding& b : _acls.matching(mine)) {
        remove_acl(*security::binding_from_proto(b));
    }
    _roles.erase(c.name());
    v1::Delta d;
    d.set_role_deleted(c.name());
    record(std::move(d));
    security_changed();
    return ok();
}

apply_result controller_stm::apply(const v1::AlterRoleMembers& c, const v1::Audit& audit) {
    const v1::Role* cur = _roles.find(c.role());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_role, "role",
                                     fmt::format("role \"{}\" does not exist", c.role()));
    }
    std::set<std::string> members(cur->members().begin(), cur->members().end());
    for (const std::string& p : c.add()) {
        if (!security::parse_role_member(p)) {
            return error_info::for_field(errc::invalid_argument, "add",
                                         fmt::format("\"{}\" is not a user principal", p));
        }
    }
    bool changed = false;
    for (const std::string& p : c.add()) {
        changed =
            members.insert(security::to_string(*security::parse_role_member(p))).second || changed;
    }
    for (const std::string& p : c.remove()) {
        changed = members.erase(p) > 0 || changed;
    }
    if (!changed) {
        return ok();
    }
    v1::Role next = *cur;
    next.clear_members();
    for (const std::string& p : members) {
        next.add_members(p);
    }
    *next.mutable_updated() = audit;
    v1::Delta d;
    *d.mutable_role_upserted() = next;
    _roles.upsert(std::move(next));
    record(std::move(d));
    security_changed();
    return ok();
}

// ---------------------------------------------------------------- migrations

void controller_stm::store_migration(v1::Migration m, const v1::Audit& audit) {
    *m.mutable_updated() = audit;
    const bool terminal = cluster::is_terminal(m.state());
    if (terminal && m.completed_ms() == 0) {
        m.set_completed_ms(audit.time_ms());
    }
    v1::Delta d;
    *d.mutable_migration_upserted() = m;
    // A mount's topics exist from prepared on; before, a topic of that name
    // cannot exist (the name is the migration's).
    const bool has_topics =
        m.type() == v1::MIGRATION_TYPE_UNMOUNT ||
        (m.state() != v1::MIGRATION_STATE_PLANNED && m.state() != v1::MIGRATION_STATE_PREPARING);
    std::vector<v1::MigrationTopic> topics(m.topics().begin(), m.topics().end());
    const int64_t id = m.id();
    const v1::MigrationType type = m.type();
    const v1::MigrationState state = m.state();
    _migrations.upsert(std::move(m));
    record(std::move(d));
    if (!has_topics) {
        return;
    }
    for (const v1::MigrationTopic& mt : topics) {
        const v1::Topic* cur = _topics.find(cluster::effective_name(mt));
        if (cur == nullptr || (cur->has_migration() && cur->migration().id() != id)) {
            continue;
        }
        v1::Topic next = *cur;
        if (terminal) {
            next.clear_migration();
        } else {
            v1::TopicMigration* tm = next.mutable_migration();
            tm->set_id(id);
            tm->set_type(type);
            tm->set_state(state);
        }
        // Only the migration changes here (a message without maps, so its
        // bytes compare deterministically; a Topic's configs map does not).
        if (next.has_migration() == cur->has_migration() &&
            next.migration().SerializeAsString() == cur->migration().SerializeAsString()) {
            continue;
        }
        *next.mutable_updated() = audit;
        v1::Delta td;
        *td.mutable_topic_upserted() = next;
        _topics.upsert(std::move(next));
        record(std::move(td));
    }
}

apply_result controller_stm::apply(const v1::CreateMigration& c, const v1::Audit& audit) {
    if (c.type() != v1::MIGRATION_TYPE_MOUNT && c.type() != v1::MIGRATION_TYPE_UNMOUNT) {
        return error_info::for_field(
            errc::invalid_argument, "type",
            fmt::format("{} is not mount or unmount", static_cast<int>(c.type())));
    }
    if (c.topics_size() == 0) {
        return error_info::for_field(errc::invalid_argument, "topics",
                                     "at least one topic is required");
    }
    if (auto r = check_migrations_enabled(*this, "topics"); !r) {
        return r;
    }
    v1::Migration m;
    m.set_id(_migrations.next_id());
    m.set_type(c.type());
    m.set_state(v1::MIGRATION_STATE_PLANNED);
    *m.mutable_created() = audit;
    std::set<std::string> names;
    std::set<std::string> locations;
    for (int i = 0; i < c.topics_size(); ++i) {
        const v1::MigrationTopic& t = c.topics(i);
        const std::string field = fmt::format("topics[{}]", i);
        v1::MigrationTopic* stored = m.add_topics();
        stored->set_topic(t.topic());
        if (c.type() == v1::MIGRATION_TYPE_UNMOUNT) {
            if (auto r = check_unmountable(*this, t.topic(), field); !r) {
                return r;
            }
            // Where the data is, as the table says now.
            stored->set_location(topic_location(*this, *_topics.find(t.topic())));
        } else {
            if (auto r = check_mountable(*this, t, field); !r) {
                return r;
            }
            stored->set_location(t.location());
            if (t.alias() != t.topic()) {
                stored->set_alias(t.alias());
            }
        }
        if (!names.insert(collision_key(cluster::effective_name(*stored))).second ||
            !locations.insert(stored->location()).second) {
            return error_info::for_field(
                errc::invalid_argument, field,
                fmt::format("\"{}\" appears twice", cluster::effective_name(*stored)));
        }
    }
    store_migration(std::move(m), audit);
    return ok();
}

apply_result controller_stm::apply(const v1::AdvanceMigration& c, const v1::Audit& audit) {
    const v1::Migration* cur = _migrations.find(c.id());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_migration, "id",
                                     fmt::format("no migration {}", c.id()));
    }
    if (!cluster::is_legal_transition(c.from(), c.to()) ||
        c.to() == v1::MIGRATION_STATE_CANCELING) {
        return error_info::for_field(
            errc::invalid_migration_state, "to",
            fmt::format("{} -> {} is not a step of a migration", cluster::to_string(c.from()),
                        cluster::to_string(c.to())));
    }
    if (cur->state() == c.to()) {
        return ok();  // the step was taken already (a new leader's driver redid it)
    }
    if (cur->state() != c.from()) {
        return error_info::for_field(
            errc::invalid_migration_state, "from",
            fmt::format("migration {} is {}, not {}", c.id(), cluster::to_string(cur->state()),
                        cluster::to_string(c.from())));
    }
    const bool mount = cur->type() == v1::MIGRATION_TYPE_MOUNT;
    const bool creates = mount && c.from() == v1::MIGRATION_STATE_PREPARING;
    if (!creates && c.topics_size() > 0) {
        return error_info::for_field(errc::invalid_argument, "topics",
                                     "only a mount's preparing -> prepared creates topics");
    }
    const bool cuts_over = !mount && c.to() == v1::MIGRATION_STATE_CUT_OVER;
    if (cuts_over ? c.mount_manifests_size() != cur->topics_size() : c.mount_manifests_size() > 0) {
        return error_info::for_field(
            errc::invalid_argument, "mount_manifests",
            cuts_over ? fmt::format("{} mount manifests for the {} topics of migration {}",
                                    c.mount_manifests_size(), cur->topics_size(), c.id())
                      : std::string("only an unmount's executed -> cut_over carries them"));
    }
    if (creates) {
        if (c.topics_size() != cur->topics_size()) {
            return error_info::for_field(errc::invalid_argument, "topics",
                                         fmt::format("{} topics for the {} of migration {}",
                                                     c.topics_size(), cur->topics_size(), c.id()));
        }
        std::set<std::string> keys;
        for (int i = 0; i < c.topics_size(); ++i) {
            const v1::Topic& t = c.topics(i);
            const std::string prefix = fmt::format("topics[{}].", i);
            if (t.name() != cluster::effective_name(cur->topics(i))) {
                return error_info::for_field(errc::invalid_argument, prefix + "name",
                                             fmt::format("\"{}\" is not \"{}\"", t.name(),
                                                         cluster::effective_name(cur->topics(i))));
            }
            if (auto r = check_topic_shape(t); !r) {
                return r.error().within(prefix);
            }
            if (auto r = check_topic_name_available(_topics, t.name()); !r) {
                return r.error().within(prefix);
            }
            if (auto r = check_name_not_migrating(*this, t.name(), "name", c.id()); !r) {
                return r.error().within(prefix);
            }
            if (!keys.insert(collision_key(t.name())).second) {
                return error_info::for_field(errc::invalid_argument, prefix + "name",
                                             "appears twice");
            }
            for (const v1::PartitionAssignment& p : t.partitions()) {
                if (auto r = check_replica_brokers(p); !r) {
                    return r.error().within(prefix);
                }
            }
        }
    }
    // Checked; now change.
    v1::Migration next = *cur;
    if (creates) {
        for (int i = 0; i < c.topics_size(); ++i) {
            v1::Topic stored = c.topics(i);
            stored.set_remote_location(cur->topics(i).location());
            v1::TopicMigration* tm = stored.mutable_migration();
            tm->set_id(c.id());
            tm->set_type(v1::MIGRATION_TYPE_MOUNT);
            tm->set_state(c.to());
            *stored.mutable_created() = audit;
            *stored.mutable_updated() = audit;
            v1::Delta d;
            *d.mutable_topic_upserted() = stored;
            _topics.upsert(std::move(stored));
            record(std::move(d));
        }
    }
    const bool removes =
        mount ? c.to() == v1::MIGRATION_STATE_CANCELLED : c.to() == v1::MIGRATION_STATE_CUT_OVER;
    if (removes) {
        for (const v1::MigrationTopic& mt : cur->topics()) {
            const std::string& name = cluster::effective_name(mt);
            const v1::Topic* t = _topics.find(name);
            if (t != nullptr && t->migration().id() == c.id()) {
                remove_topic(name);
            }
        }
    }
    if (cuts_over) {
        for (int i = 0; i < c.mount_manifests_size(); ++i) {
            next.mutable_topics(i)->set_mount_manifest(c.mount_manifests(i));
        }
    }
    next.set_state(c.to());
    next.set_status(c.status());
    store_migration(std::move(next), audit);
    return ok();
}

apply_result controller_stm::apply(const v1::SetMigrationStatus& c, const v1::Audit& audit) {
    const v1::Migration* cur = _migrations.find(c.id());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_migration, "id",
                                     fmt::format("no migration {}", c.id()));
    }
    if (cur->state() != c.state() || cur->status() == c.status()) {
        return ok();  // a late status of an earlier state, or nothing new
    }
    v1::Migration next = *cur;
    next.set_status(c.status());
    store_migration(std::move(next), audit);
    return ok();
}

apply_result controller_stm::apply(const v1::CancelMigration& c, const v1::Audit& audit) {
    const v1::Migration* cur = _migrations.find(c.id());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_migration, "id",
                                     fmt::format("no migration {}", c.id()));
    }
    if (auto r = check_cancellable(*cur); !r) {
        return r;
    }
    v1::Migration next = *cur;
    next.set_state(v1::MIGRATION_STATE_CANCELING);
    next.clear_status();
    store_migration(std::move(next), audit);
    return ok();
}

apply_result controller_stm::apply(const v1::RemoveMigration& c, const v1::Audit& audit) {
    const v1::Migration* cur = _migrations.find(c.id());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_migration, "id",
                                     fmt::format("no migration {}", c.id()));
    }
    if (auto r = check_removable(*cur); !r) {
        return r;
    }
    // A planned unmount's topics are released.
    for (const v1::MigrationTopic& mt : cur->topics()) {
        const v1::Topic* t = _topics.find(cluster::effective_name(mt));
        if (t == nullptr || !t->has_migration() || t->migration().id() != c.id()) {
            continue;
        }
        v1::Topic next = *t;
        next.clear_migration();
        *next.mutable_updated() = audit;
        v1::Delta d;
        *d.mutable_topic_upserted() = next;
        _topics.upsert(std::move(next));
        record(std::move(d));
    }
    _migrations.erase(c.id());
    v1::Delta d;
    d.set_migration_removed(c.id());
    record(std::move(d));
    return ok();
}

// ---------------------------------------------------------------- shadow links

namespace {

namespace shadow = cluster::shadow;

result<void> link_conflict(std::string_view field, std::string_view link, std::string_view uuid,
                           const v1::ShadowLink* cur) {
    return error_info::for_field(
        errc::conflict, field,
        cur == nullptr ? fmt::format("shadow link \"{}\" is gone", link)
                       : fmt::format("shadow link \"{}\" is {} now, not {} (deleted and created "
                                     "again meanwhile)",
                                     link, cur->uuid(), uuid));
}

result<void> not_a_shadow_topic(const v1::Topic& t) {
    return error_info::for_field(errc::invalid_argument, "topic",
                                 fmt::format("topic \"{}\" is not a shadow topic", t.name()));
}

}  // namespace

void controller_stm::store_shadow_link(v1::ShadowLink l) {
    v1::Delta d;
    *d.mutable_shadow_link_upserted() = l;
    _shadow_links.upsert(std::move(l));
    record(std::move(d));
}

void controller_stm::store_topic(v1::Topic t, const v1::Audit& audit) {
    *t.mutable_updated() = audit;
    v1::Delta d;
    *d.mutable_topic_upserted() = t;
    _topics.upsert(std::move(t));
    record(std::move(d));
}

apply_result controller_stm::apply(const v1::UpsertShadowLink& c, const v1::Audit& audit) {
    const v1::ShadowLink& l = c.link();
    // The proposer validated and filled in any kept password; checked again
    // here as the brief of the command says (commands.proto).
    if (auto r = shadow::validate_link(l); !r) {
        return r;
    }
    if (auto r = validate_uuid("link.uuid", l.uuid()); !r) {
        return r;
    }
    if (l.state() != v1::SHADOW_LINK_STATE_UNSPECIFIED &&
        l.state() != v1::SHADOW_LINK_STATE_ACTIVE && l.state() != v1::SHADOW_LINK_STATE_PAUSED) {
        return error_info::for_field(
            errc::invalid_argument, "link.state",
            fmt::format("{} is not a link state", static_cast<int>(l.state())));
    }
    const v1::ShadowLink* cur = _shadow_links.find(l.name());
    if (c.create_only()) {
        if (cur != nullptr) {
            return error_info::for_field(
                errc::shadow_link_already_exists, "name",
                fmt::format("shadow link \"{}\" already exists", l.name()));
        }
        if (!_shadow_links.all().empty()) {
            return error_info::for_field(
                errc::shadow_link_limit_reached, "name",
                fmt::format("this cluster has shadow link \"{}\" already: one link per cluster",
                            _shadow_links.all().begin()->first));
        }
    } else {
        if (cur == nullptr) {
            return error_info::for_field(errc::unknown_shadow_link, "name",
                                         fmt::format("no shadow link \"{}\"", l.name()));
        }
        if (cur->uuid() != l.uuid()) {
            return link_conflict("link.uuid", l.name(), l.uuid(), cur);
        }
    }
    v1::ShadowLink next = l;
    if (next.state() == v1::SHADOW_LINK_STATE_UNSPECIFIED) {
        next.set_state(v1::SHADOW_LINK_STATE_ACTIVE);
    }
    // The security sync's record is the stm's, whatever the proposer sent.
    next.clear_synced_acls();
    if (cur != nullptr) {
        *next.mutable_synced_acls() = cur->synced_acls();
        *next.mutable_created() = cur->created();
        *next.mutable_updated() = cur->updated();
        // ShadowLink holds no map: its bytes compare deterministically.
        if (next.SerializeAsString() == cur->SerializeAsString()) {
            return ok();  // a replay of what is stored
        }
    } else {
        *next.mutable_created() = audit;
    }
    *next.mutable_updated() = audit;
    store_shadow_link(std::move(next));
    return ok();
}

apply_result controller_stm::apply(const v1::DeleteShadowLink& c, const v1::Audit& audit) {
    const v1::ShadowLink* cur = _shadow_links.find(c.name());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_shadow_link, "name",
                                     fmt::format("no shadow link \"{}\"", c.name()));
    }
    if (!c.uuid().empty() && c.uuid() != cur->uuid()) {
        return link_conflict("uuid", c.name(), c.uuid(), cur);
    }
    if (!c.force()) {
        if (auto r = check_shadow_link_deletable(*this, c.name()); !r) {
            return r;
        }
    }
    // With force every topic not yet terminal fails over at once; either
    // way the topics stay as ordinary writable topics (no Topic.shadow: no
    // fetcher runs them, clients may write them).
    std::vector<v1::Topic> released;
    for (const v1::Topic* t : topics_of(_topics, c.name())) {
        released.push_back(*t);
    }
    for (v1::Topic& t : released) {
        t.clear_shadow();
        store_topic(std::move(t), audit);
    }
    _shadow_links.erase(c.name());
    v1::Delta d;
    d.set_shadow_link_removed(c.name());
    record(std::move(d));
    return ok();
}

apply_result controller_stm::apply(const v1::CreateShadowTopic& c, const v1::Audit& audit) {
    const v1::ShadowLink* l = _shadow_links.find(c.link());
    if (l == nullptr || l->uuid() != c.link_uuid()) {
        return link_conflict("link", c.link(), c.link_uuid(), l);
    }
    const v1::Topic& t = c.topic();
    if (auto r = check_topic_shape(t); !r) {
        return r.error().within("topic.");
    }
    if (auto r = check_topic_name_available(_topics, t.name()); !r) {
        return r.error().within("topic.");
    }
    if (auto r = check_name_not_migrating(*this, t.name(), "topic.name"); !r) {
        return r;
    }
    for (const v1::PartitionAssignment& p : t.partitions()) {
        if (auto r = check_replica_brokers(p); !r) {
            return r.error().within("topic.");
        }
    }
    v1::Topic stored = t;
    stored.clear_migration();
    v1::TopicShadow* s = stored.mutable_shadow();
    s->set_link(l->name());
    s->set_link_uuid(l->uuid());
    if (s->source_topic().empty()) {
        s->set_source_topic(t.name());
    }
    s->set_state(v1::SHADOW_TOPIC_STATE_ACTIVE);
    s->clear_reason();
    s->set_state_revision(audit.revision());
    *stored.mutable_created() = audit;
    store_topic(std::move(stored), audit);
    return ok();
}

apply_result controller_stm::apply(const v1::SetShadowTopicState& c, const v1::Audit& audit) {
    if (c.topic().empty()) {
        return apply_link_failover(c, audit);
    }
    const v1::Topic* cur = _topics.find(c.topic());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_topic, "topic",
                                     fmt::format("topic \"{}\" does not exist", c.topic()));
    }
    if (!cur->has_shadow()) {
        return not_a_shadow_topic(*cur);
    }
    if (!c.link_uuid().empty() && c.link_uuid() != cur->shadow().link_uuid()) {
        return error_info::for_field(
            errc::conflict, "link_uuid",
            fmt::format("topic \"{}\" is shadowed by link {} now, not {}", c.topic(),
                        cur->shadow().link_uuid(), c.link_uuid()));
    }
    if (!shadow::transition_allowed(c.from(), c.to())) {
        return error_info::for_field(
            errc::invalid_argument, "to",
            fmt::format("{} -> {} is not a shadow topic transition", shadow::to_string(c.from()),
                        shadow::to_string(c.to())));
    }
    const v1::ShadowTopicState now = cur->shadow().state();
    if (now == c.to()) {
        return ok();  // a repeated proposal (a new leader's driver, a retry)
    }
    if (now != c.from()) {
        return error_info::for_field(
            errc::conflict, "from",
            fmt::format("topic \"{}\" is {}, not {}", c.topic(), shadow::to_string(now),
                        shadow::to_string(c.from())));
    }
    v1::Topic next = *cur;
    v1::TopicShadow* s = next.mutable_shadow();
    s->set_state(c.to());
    s->set_reason(c.reason());
    s->set_state_revision(audit.revision());
    store_topic(std::move(next), audit);
    return ok();
}

apply_result controller_stm::apply_link_failover(const v1::SetShadowTopicState& c,
                                                 const v1::Audit& audit) {
    const v1::ShadowLink* l = _shadow_links.find(c.link());
    if (l == nullptr || (!c.link_uuid().empty() && l->uuid() != c.link_uuid())) {
        return link_conflict("link", c.link(), c.link_uuid(), l);
    }
    if (c.to() != v1::SHADOW_TOPIC_STATE_FAILING_OVER) {
        return error_info::for_field(errc::invalid_argument, "to",
                                     "a link-wide state change is a failover (FAILING_OVER)");
    }
    std::vector<v1::Topic> changed;
    for (const v1::Topic* t : topics_of(_topics, c.link())) {
        const v1::ShadowTopicState now = t->shadow().state();
        v1::ShadowTopicState to = now;
        if (now == v1::SHADOW_TOPIC_STATE_ACTIVE || now == v1::SHADOW_TOPIC_STATE_PAUSED) {
            to = v1::SHADOW_TOPIC_STATE_FAILING_OVER;
        } else if (now == v1::SHADOW_TOPIC_STATE_FAULTED) {
            to = v1::SHADOW_TOPIC_STATE_FAILED_OVER;
        }
        if (to != now) {
            v1::Topic next = *t;
            next.mutable_shadow()->set_state(to);
            next.mutable_shadow()->set_reason(c.reason());
            next.mutable_shadow()->set_state_revision(audit.revision());
            changed.push_back(std::move(next));
        }
    }
    for (v1::Topic& t : changed) {
        store_topic(std::move(t), audit);
    }
    return ok();
}

apply_result controller_stm::apply(const v1::SyncShadowTopic& c, const v1::Audit& audit) {
    const v1::Topic* cur = _topics.find(c.topic());
    if (cur == nullptr) {
        return error_info::for_field(errc::unknown_topic, "topic",
                                     fmt::format("topic \"{}\" does not exist", c.topic()));
    }
    if (!cur->has_shadow()) {
        return not_a_shadow_topic(*cur);
    }
    if (c.link_uuid() != cur->shadow().link_uuid()) {
        return error_info::for_field(
            errc::conflict, "link_uuid",
            fmt::format("topic \"{}\" is shadowed by link {} now, not {}", c.topic(),
                        cur->shadow().link_uuid(), c.link_uuid()));
    }
    const v1::ShadowTopicState state = cur->shadow().state();
    if (state != v1::SHADOW_TOPIC_STATE_ACTIVE && state != v1::SHADOW_TOPIC_STATE_PAUSED) {
        return error_info::for_field(
            errc::conflict, "topic",
            fmt::format("topic \"{}\" is {}: only ACTIVE and PAUSED shadow topics follow the "
                        "source",
                        c.topic(), shadow::to_string(state)));
    }
    if (c.new_partitions_size() > 0 && c.new_partitions(0).partition() != cur->partitions_size()) {
        return error_info::for_field(
            errc::conflict, "new_partitions",
            fmt::format("topic \"{}\" has {} partitions now; the command adds partitions from {}",
                        c.topic(), cur->partitions_size(), c.new_partitions(0).partition()));
    }
    for (int i = 0; i < c.new_partitions_size(); ++i) {
        const v1::PartitionAssignment& p = c.new_partitions(i);
        const std::string field = fmt::format("new_partitions[{}]", i);
        if (auto r = check_partition_shape(p, cur->partitions_size() + i, cur->replication_factor(),
                                           field);
            !r) {
            return r;
        }
        if (auto r = check_replica_brokers(p); !r) {
            return r;
        }
    }
    if (auto r = check_not_migrating(*cur, "topic"); !r) {
        return r;
    }
    // The keys the link syncs now, not those of the proposer's (perhaps
    // older) copy: an operator's value for a key the link stopped syncing
    // is never erased by a late sync.
    const v1::ShadowLink* link = _shadow_links.find(cur->shadow().link());
    std::set<std::string> keys;
    for (const std::string& k : c.synced_keys()) {
        if (link != nullptr &&
            shadow::is_synced_property(link->config().topic_metadata_sync_options(), k)) {
            keys.insert(k);
        }
    }
    const std::map<std::string, std::string> configs = sorted(c.configs());
    for (const auto& [k, v] : configs) {
        if (k.empty() ||
            std::find(c.synced_keys().begin(), c.synced_keys().end(), k) == c.synced_keys().end()) {
            return error_info::for_field(errc::invalid_argument, fmt::format("configs.{}", k),
                                         "not one of synced_keys");
        }
    }
    v1::Topic next = *cur;
    bool changed = c.new_partitions_size() > 0;
    for (const v1::PartitionAssignment& p : c.new_partitions()) {
        *next.add_partitions() = p;
    }
    auto& stored = *next.mutable_configs();
    for (const std::string& k : keys) {
        const auto want = configs.find(k);
        const auto have = stored.find(k);
        if (want == configs.end()) {
            if (have != stored.end()) {
                stored.erase(have);
                changed = true;
            }
        } else if (have == stored.end() || have->second != want->second) {
            stored[k] = want->second;
            changed = true;
        }
    }
    if (!changed) {
        return ok();
    }
    store_topic(std::move(next), audit);
    return ok();
}

apply_result controller_stm::apply(const v1::SyncShadowAcls& c, const v1::Audit& audit) {
    const v1::ShadowLink* l = _shadow_links.find(c.link());
    if (l == nullptr) {
        return error_info::for_field(errc::unknown_shadow_link, "link",
                                     fmt::format("no shadow link \"{}\"", c.link()));
    }
    if (l->uuid() != c.link_uuid()) {
        return link_conflict("link_uuid", c.link(), c.link_uuid(), l);
    }
    std::vector<security::acl_binding> create;
    for (int i = 0; i < c.create_size(); ++i) {
        auto b = security::binding_from_proto(c.create(i));
        if (b) {
            if (auto r = security::validate(*b); !r) {
                b = r.error();
            }
        }
        if (!b) {
            return b.error().within(fmt::format("create[{}].", i));
        }
        create.push_back(std::move(*b));
    }
    std::vector<security::acl_binding> remove;
    for (int i = 0; i < c.remove_size(); ++i) {
        auto b = security::binding_from_proto(c.remove(i));
        if (!b) {
            return b.error().within(fmt::format("remove[{}].", i));
        }
        remove.push_back(std::move(*b));
    }
    // What the sync owns: only bindings it created itself are ever removed
    // by it, so a binding an operator made is never taken away.
    std::map<security::acl_binding, v1::AclBinding> synced;
    for (const v1::AclBinding& b : l->synced_acls()) {
        if (auto k = security::binding_from_proto(b)) {
            synced.emplace(std::move(*k), b);
        }
    }
    bool owned_changed = false;
    for (const security::acl_binding& key : create) {
        if (_acls.find(key) != nullptr) {
            continue;  // there already: not the sync's to remove later
        }
        v1::AclBinding stored = security::to_proto(key);
        *stored.mutable_created() = audit;
        v1::Delta d;
        *d.mutable_acl_created() = stored;
        _acls.insert(key, std::move(stored));
        record(std::move(d));
        security_changed();
        owned_changed = synced.emplace(key, security::to_proto(key)).second || owned_changed;
    }
    for (const security::acl_binding& key : remove) {
        if (synced.erase(key) == 0) {
            continue;
        }
        owned_changed = true;
        if (_acls.find(key) != nullptr) {
            remove_acl(key);
            security_changed();
        }
    }
    if (!owned_changed) {
        return ok();
    }
    v1::ShadowLink next = *l;
    next.clear_synced_acls();
    for (const auto& [key, b] : synced) {
        *next.add_synced_acls() = b;
    }
    *next.mutable_updated() = audit;
    store_shadow_link(std::move(next));
    return ok();
}

// ---------------------------------------------------------------- snapshots

v1::ClusterState controller_stm::full_state() const {
    v1::ClusterState s;
    s.set_revision(_revision.value());
    s.set_cluster_uuid(_cluster_uuid);
    for (const auto& [name, t] : _topics.all()) {
        *s.add_topics() = t;
    }
    for (const auto& [id, b] : _brokers.all()) {
        *s.add_brokers() = b;
    }
    for (const auto& [key, v] : _config.all()) {
        *s.add_cluster_config() = v;
    }
    for (const auto& [id, m] : _members.all()) {
        *s.add_members() = m;
    }
    for (const auto& [name, u] : _users.all()) {
        *s.add_users() = u;
    }
    for (const auto& [key, b] : _acls.all()) {
        *s.add_acls() = b;
    }
    for (const auto& [name, r] : _roles.all()) {
        *s.add_roles() = r;
    }
    for (const auto& [id, m] : _migrations.all()) {
        *s.add_migrations() = m;
    }
    s.set_next_migration_id(_migrations.next_id_field());
    for (const auto& [name, l] : _shadow_links.all()) {
        *s.add_shadow_links() = l;
    }
    return s;
}

std::string controller_stm::snapshot() const {
    // The bytes of full_state() serialized deterministically, written from
    // the tables directly: copying a million partitions into a ClusterState
    // first tripled the time the raft loop (or a Watch, under the read lock)
    // spent here. Fields go in field-number order, as protobuf writes them;
    // stm_property_test checks the bytes against full_state()'s.
    using google::protobuf::internal::WireFormatLite;
    std::string out;
    {
        google::protobuf::io::StringOutputStream sos(&out);
        google::protobuf::io::CodedOutputStream cos(&sos);
        cos.SetSerializationDeterministic(true);
        const auto message = [&cos](int field, const google::protobuf::MessageLite& m) {
            cos.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
            cos.WriteVarint32(static_cast<uint32_t>(m.ByteSizeLong()));
            m.SerializeWithCachedSizes(&cos);
        };
        if (_revision.value() != 0) {
            WireFormatLite::WriteUInt64(v1::ClusterState::kRevisionFieldNumber, _revision.value(),
                                        &cos);
        }
        if (!_cluster_uuid.empty()) {
            WireFormatLite::WriteString(v1::ClusterState::kClusterUuidFieldNumber, _cluster_uuid,
                                        &cos);
        }
        for (const auto& [name, t] : _topics.all()) {
            message(v1::ClusterState::kTopicsFieldNumber, t);
        }
        for (const auto& [id, b] : _brokers.all()) {
            message(v1::ClusterState::kBrokersFieldNumber, b);
        }
        for (const auto& [key, v] : _config.all()) {
            message(v1::ClusterState::kClusterConfigFieldNumber, v);
        }
        for (const auto& [id, m] : _members.all()) {
            message(v1::ClusterState::kMembersFieldNumber, m);
        }
        v1::ClusterState sessions;
        _sessions.save(sessions);
        for (const v1::ClientSession& c : sessions.sessions()) {
            message(v1::ClusterState::kSessionsFieldNumber, c);
        }
        if (sessions.session_clock_ms() != 0) {
            WireFormatLite::WriteInt64(v1::ClusterState::kSessionClockMsFieldNumber,
                                       sessions.session_clock_ms(), &cos);
        }
        for (const auto& [name, u] : _users.all()) {
            message(v1::ClusterState::kUsersFieldNumber, u);
        }
        for (const auto& [key, b] : _acls.all()) {
            message(v1::ClusterState::kAclsFieldNumber, b);
        }
        for (const auto& [name, r] : _roles.all()) {
            message(v1::ClusterState::kRolesFieldNumber, r);
        }
        for (const auto& [id, m] : _migrations.all()) {
            message(v1::ClusterState::kMigrationsFieldNumber, m);
        }
        if (_migrations.next_id_field() != 0) {
            WireFormatLite::WriteInt64(v1::ClusterState::kNextMigrationIdFieldNumber,
                                       _migrations.next_id_field(), &cos);
        }
        for (const auto& [name, l] : _shadow_links.all()) {
            message(v1::ClusterState::kShadowLinksFieldNumber, l);
        }
        for (const auto& [key, o] : _owners) {
            message(v1::ClusterState::kOwnersFieldNumber, o);
        }
    }
    return out;
}

v1::ClusterState controller_stm::snapshot_image() const {
    v1::ClusterState s = full_state();
    _sessions.save(s);
    for (const auto& [key, o] : _owners) {
        *s.add_owners() = o;
    }
    return s;
}

result<void> controller_stm::restore(std::string_view data, log_index index) {
    const auto bad = [&](std::string why) -> result<void> {
        log(log_level::error, component, "snapshot at index {} refused: {}", index, why);
        return error_info::for_field(errc::internal, "snapshot", why);
    };
    v1::ClusterState s;
    if (!s.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
        return bad(fmt::format("{} bytes are not a ClusterState", data.size()));
    }
    if (s.revision() > index.value()) {
        return bad(fmt::format("revision {} is beyond the snapshot index {}", s.revision(), index));
    }
    topic_table topics;
    for (const v1::Topic& t : s.topics()) {
        if (auto r = check_topic_shape(t); !r) {
            return bad(fmt::format("topic \"{}\": {}", t.name(), r.error().detail));
        }
        if (auto r = check_topic_name_available(topics, t.name()); !r) {
            return bad(fmt::format("topic \"{}\": {}", t.name(), r.error().detail));
        }
        topics.upsert(t);
    }
    broker_table brokers;
    for (const v1::Broker& b : s.brokers()) {
        if (brokers.find(b.id()) != nullptr) {
            return bad(fmt::format("broker {} appears twice", b.id()));
        }
        brokers.upsert(b);
    }
    config_table config;
    for (const v1::ConfigValue& v : s.cluster_config()) {
        if (config.find(v.key()) != nullptr) {
            return bad(fmt::format("config key \"{}\" appears twice", v.key()));
        }
        config.set(v);
    }
    members_table members;
    for (const v1::Member& m : s.members()) {
        if (members.find(m.id()) != nullptr) {
            return bad(fmt::format("member {} appears twice", m.id()));
        }
        members.upsert(m);
    }
    session_table sessions;
    if (auto r = sessions.load(s); !r) {
        return bad(r.error().detail);
    }
    user_table users;
    for (const v1::User& u : s.users()) {
        if (u.name().empty() || users.find(u.name()) != nullptr) {
            return bad(fmt::format("user \"{}\" is unnamed or appears twice", u.name()));
        }
        if (auto r = validate_credential(u.credential(), "credential."); !r) {
            return bad(fmt::format("user \"{}\": {}", u.name(), r.error().detail));
        }
        users.upsert(u);
    }
    acl_table acls;
    for (int i = 0; i < s.acls_size(); ++i) {
        auto b = security::binding_from_proto(s.acls(i));
        if (b) {
            if (auto r = security::validate(*b); !r) {
                b = r.error();
            }
        }
        if (!b) {
            return bad(fmt::format("acls[{}]: {}", i, b.error().detail));
        }
        if (acls.find(*b) != nullptr) {
            return bad(fmt::format("acls[{}] ({}) appears twice", i, security::to_string(*b)));
        }
        acls.insert(*b, s.acls(i));
    }
    role_table roles;
    for (const v1::Role& r : s.roles()) {
        if (auto v = validate_role_name("name", r.name()); !v || roles.find(r.name()) != nullptr) {
            return bad(fmt::format("role \"{}\" is misnamed or appears twice", r.name()));
        }
        roles.upsert(r);
    }
    migration_table migrations;
    for (const v1::Migration& m : s.migrations()) {
        if (m.id() <= 0 || migrations.find(m.id()) != nullptr || m.id() >= s.next_migration_id()) {
            return bad(fmt::format(
                "migration {} has a bad id, appears twice or is not below next_migration_id {}",
                m.id(), s.next_migration_id()));
        }
        migrations.upsert(m);
    }
    if (s.next_migration_id() < 0) {
        return bad(fmt::format("next_migration_id {} is negative", s.next_migration_id()));
    }
    migrations.set_next_id_field(s.next_migration_id());
    shadow_link_table shadow_links;
    for (const v1::ShadowLink& l : s.shadow_links()) {
        if (l.name().empty() || l.uuid().empty() || shadow_links.find(l.name()) != nullptr) {
            return bad(fmt::format("shadow link \"{}\" is unnamed, has no uuid or appears twice",
                                   l.name()));
        }
        shadow_links.upsert(l);
    }
    std::map<std::pair<int, std::string>, v1::OwnedObject> owners;
    for (const v1::OwnedObject& o : s.owners()) {
        const auto key = std::make_pair(static_cast<int>(o.object().kind()), o.object().name());
        if (!v1::ObjectKind_IsValid(o.object().kind()) ||
            o.object().kind() == v1::OBJECT_KIND_UNSPECIFIED || o.object().name().empty() ||
            o.owner().empty() || !owners.emplace(key, o).second) {
            return bad(fmt::format("owner record of \"{}\" is malformed or appears twice",
                                   o.object().name()));
        }
    }
    _topics = std::move(topics);
    _brokers = std::move(brokers);
    _sessions = std::move(sessions);
    _config = std::move(config);
    _members = std::move(members);
    _users = std::move(users);
    _acls = std::move(acls);
    _roles = std::move(roles);
    _migrations = std::move(migrations);
    _shadow_links = std::move(shadow_links);
    _owners = std::move(owners);
    _by_request.clear();
    _request_order.clear();
    security_changed();
    _cluster_uuid = s.cluster_uuid();
    _revision = revision_id{s.revision()};
    _applied = index;
    _applying = index;
    _changes.clear();
    // Every change up to the snapshot's revision is folded into it, and none
    // happened between that revision and `index`.
    _horizon = _revision;
    return ok();
}

// ---------------------------------------------------------------- watch

std::optional<std::vector<v1::Delta>> controller_stm::changes_after(revision_id r) const {
    if (r < _horizon) {
        return std::nullopt;
    }
    const auto first =
        std::upper_bound(_changes.begin(), _changes.end(), r.value(),
                         [](uint64_t rev, const v1::Delta& d) { return rev < d.revision(); });
    return std::vector<v1::Delta>(first, _changes.end());
}

}  // namespace fjord::stm
