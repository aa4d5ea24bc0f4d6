#pragma once
// File: controller/stm/controller_stm.h
//
// The controller's replicated state machine. Every controller member feeds it
// the committed entries of the Raft log, in log order, from the one loop that
// owns the Raft node (persist -> send -> apply -> advance); it turns them into
// the tables (topics, brokers, cluster config, members, cluster uuid, and
// the security tables: users, ACL bindings, roles) that the frontend
// validates against and the service reads.
//
//   frontend --build (commands.h)--> ControllerCommand --propose--> raft
//                                                                         |
//   tables <--apply_command(index, bytes)-- controller_stm <--committed---+
//     |                     |
//     |                     +--> apply_result for the proposer (by index)
//     +--> deltas (revision = index) --> Watch stream
//
// # Determinism
// Pure: no threads, I/O or clock (times come inside commands). Given the
// same entries (or the same snapshot and then the same entries) every member
// reaches byte-identical snapshots. Nothing iterates a hash map; proto maps
// are read through sorted copies; snapshots use deterministic serialization.
//
// # Apply
// One function per command case. Each re-checks what the state may have
// changed since the proposer validated (the topic exists now, a name now
// collides, the topic is gone, a replica's broker was decommissioned) and
// refuses the whole command with the same error the validator would have
// given, leaving the state exactly as it was. Checks against rules that may
// evolve (the config schemas, id and endpoint formats) are the proposer's job
// and are not repeated, so members of different versions apply a newer
// proposer's commands identically. Apply does refuse shapes that would break
// a table's invariants: Kafka's topic name rules, partitions numbered without
// gaps, replica lists of the replication factor's length without repeats, on
// registered brokers. Malformed bytes and unknown command cases (a newer
// proposer) are skipped, logged, on every member alike.
//
// # Revisions
// The revision of an object is the log index of the command that last changed
// it (Audit.revision). `revision()` is the revision of the last change of
// anything; a command that changes nothing (refused, idempotent, or a no-op
// entry) moves `applied()` but not `revision()`.
//
// # Change log
// Every change is recorded as a Delta (revision = index), the last
// `max_retained_deltas` of them kept for Watch. The snapshot at revision R
// plus every delta after R, applied in order (delta.h), equals the full state
// at any later revision.
//
// # Authorizer
// authorizer() is the ACL bindings, the roles' memberships and the cluster
// config `superusers` as one immutable security::authorizer, built on first
// use after a change (a change only drops the old one) and then shared.
//
// Not thread-safe: one owner (the Raft loop) calls everything; readers on
// other threads need a copy (full_state()) or a shared lock that excludes
// apply (controller_state::read). authorizer() is the exception that makes
// such readers safe: concurrent const callers build it once, under its own
// mutex.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/security/authorizer.h"
#include "controller/raft/types.h"
#include "controller/stm/broker_table.h"
#include "controller/stm/config_table.h"
#include "controller/stm/members_table.h"
#include "controller/stm/migration_table.h"
#include "controller/stm/security_tables.h"
#include "controller/stm/session_table.h"
#include "controller/stm/shadow_link_table.h"
#include "controller/stm/topic_table.h"
#include "fjord/controller/v1/commands.pb.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

struct stm_config {
    /// Deltas kept for Watch. A watcher further behind gets a full snapshot.
    size_t max_retained_deltas = 100000;
    /// The founding members' addresses. Raft's bootstrap membership entries
    /// carry no context, so a member added without one takes its addresses
    /// from here. Every member must be configured with the same list (as
    /// etcd's --initial-cluster), or their member tables differ.
    std::vector<v1::Member> initial_members;
    /// Commands with a request_id whose deltas are remembered (changes_of).
    size_t max_remembered_requests = 1024;
};

/// The outcome of one command, for the proposer: success, or the errc and a
/// "<field>: <reason>" detail. A retried session command gets its first
/// outcome again (session_table.h).
using apply_result = result<void>;

/// `topic "orders"`, `acl "ALLOW User:bob * topic literal:x read"`: an
/// ObjectRef in messages.
std::string describe_object(const v1::ObjectRef& o);
/// An apply's owner label (ApplyBatch.owner): 1-64 characters of
/// [A-Za-z0-9._-].
bool valid_owner_label(std::string_view owner);

class controller_stm {
  public:
    explicit controller_stm(stm_config cfg = {});

    /// Applies the normal entry at `index` (> applied()) holding a serialized
    /// ControllerCommand. Empty data is a no-op entry (as apply_noop). Malformed
    /// bytes and unknown command cases are skipped (errc::internal).
    apply_result apply_command(log_index index, std::string_view data);
    /// Applies a committed Raft membership change at `index` (> applied()):
    /// adds or removes the member record; the context, when not empty, is a
    /// serialized MemberContext (a malformed one is logged and ignored).
    void apply_conf_change(log_index index, const raft::conf_change& cc);
    /// An entry with nothing to apply (a new leader's empty entry).
    void apply_noop(log_index index);

    /// The last applied log index.
    log_index applied() const { return _applied; }
    /// The revision of the last change (0: nothing changed yet).
    revision_id revision() const { return _revision; }

    /// The state as a serialized ClusterState (deterministic bytes).
    std::string snapshot() const;
    /// Replaces the state with a snapshot taken at log index `index`. The
    /// image is checked (parses, no duplicate or colliding names, revision <=
    /// index, partition shapes); on failure (errc::internal) nothing changes.
    /// Afterwards applied() == index and the change log is empty, with every
    /// change up to the snapshot's revision folded into it.
    result<void> restore(std::string_view data, log_index index);

    /// Every delta with revision > r, in order; nullopt when some of them may
    /// have been dropped (r < horizon()), and the watcher needs full_state().
    /// Empty when r >= revision().
    std::optional<std::vector<v1::Delta>> changes_after(revision_id r) const;
    /// The highest revision whose deltas may have been dropped (or folded
    /// into a restored snapshot); changes_after(r) is complete for r >= it.
    revision_id horizon() const { return _horizon; }
    /// The whole state at revision(), in canonical order (see delta.h),
    /// without the client sessions (what Watch sends brokers).
    v1::ClusterState full_state() const;
    /// full_state() plus the client sessions: what snapshot() serializes.
    v1::ClusterState snapshot_image() const;
    /// The deltas recorded by the command proposed with `request_id`
    /// (ControllerCommand.request_id; empty when it changed nothing), while
    /// it is among the last max_remembered_requests such commands applied
    /// here; nullopt otherwise (and after a restore, which starts afresh).
    std::optional<std::vector<v1::Delta>> changes_of(std::string_view request_id) const;

    const topic_table& topics() const { return _topics; }
    const broker_table& brokers() const { return _brokers; }
    const config_table& cluster_config() const { return _config; }
    const members_table& members() const { return _members; }
    const session_table& sessions() const { return _sessions; }
    /// Empty until InitCluster applies.
    const std::string& cluster_uuid() const { return _cluster_uuid; }
    const user_table& users() const { return _users; }
    const acl_table& acls() const { return _acls; }
    const role_table& roles() const { return _roles; }
    /// Mountable topics' migrations (docs/tiered-storage.md).
    const migration_table& migrations() const { return _migrations; }
    /// Shadow links (docs/shadow-links.md); their topics are in topics()
    /// with Topic.shadow set.
    const shadow_link_table& shadow_links() const { return _shadow_links; }
    /// The cluster config `superusers`, as a list of user names.
    std::vector<std::string> superusers() const;

    // ------------------------------------------------ desired state (apply)
    /// The revision of `o` as ObjectRef defines it (metadata.proto); 0 when
    /// it does not exist (a cluster config key at its default). An
    /// unknown kind is 0.
    uint64_t object_revision(const v1::ObjectRef& o) const;
    /// The owner label `o` was created with by an ApplyBatch, when it still
    /// holds: the object exists and is the one that batch created (its
    /// creation revision, a config key's last change, is the batch's).
    /// An object deleted and made again by hand has no owner.
    std::optional<std::string> owner_of(const v1::ObjectRef& o) const;
    /// Every object whose owner_of is `owner`, in ObjectRef order.
    std::vector<v1::ObjectRef> owned_by(std::string_view owner) const;
    /// The authorizer of the current bindings, roles and superusers (see the
    /// file comment). Safe from concurrent const callers.
    std::shared_ptr<const security::authorizer> authorizer() const;

  private:
    apply_result dispatch(const v1::ControllerCommand& cmd, const v1::Audit& audit);
    apply_result apply(const v1::InitCluster& c, const v1::Audit& audit);
    apply_result apply(const v1::CreateTopic& c, const v1::Audit& audit);
    apply_result apply(const v1::DeleteTopic& c, const v1::Audit& audit);
    apply_result apply(const v1::AlterTopicConfigs& c, const v1::Audit& audit);
    apply_result apply(const v1::CreatePartitions& c, const v1::Audit& audit);
    apply_result apply(const v1::RegisterBroker& c, const v1::Audit& audit);
    apply_result apply(const v1::SetBrokerState& c, const v1::Audit& audit);
    apply_result apply(const v1::SetPartitionLeaders& c, const v1::Audit& audit);
    apply_result apply(const v1::SetClusterConfig& c, const v1::Audit& audit);
    apply_result apply(const v1::UpsertUser& c, const v1::Audit& audit);
    apply_result apply(const v1::DeleteUser& c, const v1::Audit& audit);
    apply_result apply(const v1::CreateAcls& c, const v1::Audit& audit);
    apply_result apply(const v1::DeleteAcls& c, const v1::Audit& audit);
    apply_result apply(const v1::UpsertRole& c, const v1::Audit& audit);
    apply_result apply(const v1::DeleteRole& c, const v1::Audit& audit);
    apply_result apply(const v1::AlterRoleMembers& c, const v1::Audit& audit);
    apply_result apply(const v1::CreateMigration& c, const v1::Audit& audit);
    apply_result apply(const v1::AdvanceMigration& c, const v1::Audit& audit);
    apply_result apply(const v1::SetMigrationStatus& c, const v1::Audit& audit);
    apply_result apply(const v1::CancelMigration& c, const v1::Audit& audit);
    apply_result apply(const v1::RemoveMigration& c, const v1::Audit& audit);
    apply_result apply(const v1::UpsertShadowLink& c, const v1::Audit& audit);
    apply_result apply(const v1::DeleteShadowLink& c, const v1::Audit& audit);
    apply_result apply(const v1::CreateShadowTopic& c, const v1::Audit& audit);
    apply_result apply(const v1::SetShadowTopicState& c, const v1::Audit& audit);
    /// SetShadowTopicState without a topic: every topic of the link fails
    /// over, decided at apply (commands.proto).
    apply_result apply_link_failover(const v1::SetShadowTopicState& c, const v1::Audit& audit);
    apply_result apply(const v1::SyncShadowTopic& c, const v1::Audit& audit);
    apply_result apply(const v1::SyncShadowAcls& c, const v1::Audit& audit);
    apply_result record_refusal(const v1::ControllerCommand& cmd);
    /// ApplyBatch (apply_batch.cc): preconditions, then the commands all or
    /// nothing (an undo journal of what they touch), then the owners.
    apply_result apply(const v1::ApplyBatch& c, const v1::Audit& audit);
    /// Dispatches the batch's commands in order with one audit; stops at the
    /// first refusal ("commands[i]: ..."), leaving earlier ones applied (the
    /// caller undoes them).
    apply_result apply_batch_commands(const v1::ApplyBatch& c, const v1::Audit& audit);
    /// The revision the object was created at (a config key: last changed),
    /// 0 when absent: what an owner record must match to hold.
    uint64_t creation_revision(const v1::ObjectRef& o) const;
    /// Drops owner records whose object is gone or was made again.
    void forget_stale_owners();

    /// Stores migration `m` as changed by `audit` (state, status) and every
    /// topic it names that exists gets Topic.migration in step (cleared
    /// once the migration is finished or cancelled); records the deltas.
    void store_migration(v1::Migration m, const v1::Audit& audit);
    /// Stores link `l` (created/updated already stamped), recording its delta.
    void store_shadow_link(v1::ShadowLink l);
    /// Stores topic `t` as changed by `audit`, recording its delta.
    void store_topic(v1::Topic t, const v1::Audit& audit);
    /// Removes topic `name`, recording its topic_deleted delta.
    void remove_topic(const std::string& name);
    /// Replicas must name brokers that exist and are not decommissioned.
    result<void> check_replica_brokers(const v1::PartitionAssignment& p) const;
    void advance(log_index index);
    /// Appends a change at the revision being applied, and trims the log.
    void record(v1::Delta d);
    /// Keeps `deltas` as the changes of request `id` (changes_of).
    void remember_request(const std::string& id, std::vector<v1::Delta> deltas);
    /// Removes a stored binding, recording its acl_deleted delta.
    void remove_acl(const security::acl_binding& key);
    /// The ACL, role or superuser state changed: the authorizer is rebuilt
    /// on next use.
    void security_changed();

    stm_config _cfg;
    log_index _applied;
    revision_id _revision;
    revision_id _horizon;
    log_index _applying;  // the index being applied: the revision of its deltas

    std::string _cluster_uuid;
    topic_table _topics;
    broker_table _brokers;
    config_table _config;
    members_table _members;
    session_table _sessions;
    user_table _users;
    acl_table _acls;
    role_table _roles;
    migration_table _migrations;
    shadow_link_table _shadow_links;
    /// Owner labels of objects ApplyBatch created, by (kind, name). In
    /// snapshots (ClusterState.owners), never in Watch or deltas: only the
    /// leader's plan reads them.
    std::map<std::pair<int, std::string>, v1::OwnedObject> _owners;

    std::deque<v1::Delta> _changes;  // revisions ascending

    // changes_of(): the deltas of the last commands applied with a
    // request_id (ids in apply order, for eviction). Derived, not in
    // snapshots. _request_deltas is set while such a command applies.
    std::map<std::string, std::vector<v1::Delta>, std::less<>> _by_request;
    std::deque<std::string> _request_order;
    std::vector<v1::Delta>* _request_deltas = nullptr;

    // authorizer(): built lazily; the mutex lets shared-lock readers build
    // it once. Behind a pointer so that the stm stays movable.
    struct authorizer_cache {
        std::mutex mu;
        std::shared_ptr<const security::authorizer> current;
    };
    std::unique_ptr<authorizer_cache> _authz = std::make_unique<authorizer_cache>();
};

}  // namespace fjord::stm
