#pragma once
// File: controller/stm/commands.h
//
// The command builders: what the frontend (controller/frontend) runs before
// proposing. Each checks a request against the applied state and builds the
// command to propose
// (placement, canonical config values and the proposer's principal and clock
// filled in). Every function reads only its arguments, so the frontend may
// call them on the leader's loop against controller_stm's tables, and then
// propose the command; controller_stm re-checks at apply what the state may
// have changed meanwhile, with the same error (some shared checks live here
// for that reason).
//
// Errors are errc values (common/cluster/errc.h); one about a request field
// names it (error_info::for_field, relative to the request item: detail
// "<field>: <reason>"), and the service prefixes the item's position.
//
// Builders that may find nothing to do (the state already is what was asked)
// return an empty optional: the frontend answers success without proposing.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/tiered/manifest.h"
#include "controller/stm/controller_stm.h"
#include "controller/stm/topic_table.h"
#include "fjord/controller/v1/commands.pb.h"
#include "fjord/controller/v1/controller_service.pb.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

/// Who proposes, and when (by the proposer's clock): stamped on the command,
/// it becomes the Audit of every object the command changes.
struct command_meta {
    std::string principal;
    int64_t time_ms = 0;
};

/// The placement and checks a new topic gets, shared by CreateTopics and
/// mounts: replication factor odd and at most the active brokers (field
/// `replication_factor`), configs validated and tiering's rules (fields
/// `configs.<key>`), the uuid, partitions placed counting `load` (the
/// topics table, or a copy with topics placed before in the same command).
/// `rf_note` follows the replication factor in its errors.
result<v1::Topic> build_topic(const controller_stm& stm, const topic_table& load,
                              const std::string& name, int64_t partitions, int64_t rf,
                              const google::protobuf::Map<std::string, std::string>& configs,
                              std::string_view topic_uuid, std::string_view rf_note = {});

/// The most partitions one topic may have (also default_topic_partitions'
/// upper bound): a typo must not make the controller allocate millions.
inline constexpr int32_t max_partitions_per_topic = 100000;

// ------------------------------------------------------------ shared checks

/// topic_already_exists when `name` exists; invalid_argument naming the other
/// topic when `name` collides with it once '.' and '_' are equated.
result<void> check_topic_name_available(const topic_table& topics, std::string_view name);
/// The 36-character RFC 4122 text form (8-4-4-4-12 hex digits).
/// invalid_argument, field `field`.
result<void> validate_uuid(std::string_view field, std::string_view uuid);
/// active <-> draining, anything -> decommissioned; decommissioned is final.
/// invalid_argument, field `state`. Same state is allowed (a no-op).
result<void> check_broker_state_transition(const v1::Broker& b, v1::BrokerState to);
/// Registration fields (endpoints, rack, fips mode, version) are equal.
bool same_registration(const v1::Broker& a, const v1::Broker& b);
/// Validates topic configs against the topic schema (in key order) and
/// returns their canonical values; min.insync.replicas must not exceed
/// `replication_factor`. invalid_config, field `<prefix><key>`.
result<std::map<std::string, std::string>> validate_topic_configs(
    const google::protobuf::Map<std::string, std::string>& configs, int32_t replication_factor,
    std::string_view prefix);
/// Tiered storage's rules for a topic's explicit configs `configs` (as they
/// would be after the change): redpanda.remote.write or redpanda.remote.read
/// true needs cloud_storage_enabled, and remote.write is refused with a
/// compacting cleanup.policy (its own, else log_cleanup_policy):
/// "compacted topics cannot be tiered yet". Only keys in `touched` are
/// blamed (invalid_config, field `<prefix><key>`); with none touched a
/// topic's existing configs are not judged again.
result<void> check_tiered_configs(const controller_stm& stm,
                                  const std::map<std::string, std::string>& configs,
                                  const std::set<std::string>& touched, std::string_view prefix);
/// resource_is_being_migrated (field `field`) when `t` is in an active
/// migration: its metadata is locked (no delete, config change or new
/// partitions) until the migration finishes or is cancelled.
result<void> check_not_migrating(const v1::Topic& t, std::string_view field);
/// resource_is_being_migrated when an active migration holds topic name
/// `name` (a mount's alias or topic, an unmount's topic; '.' and '_' count as
/// the same), other than migration `except`.
result<void> check_name_not_migrating(const controller_stm& stm, std::string_view name,
                                      std::string_view field, int64_t except = 0);

// ------------------------------------------------------------ builders

/// CreateTopics item -> CreateTopic. partitions/replication_factor -1 take the
/// cluster defaults; the replication factor must be odd and at most the
/// number of active brokers; placement as placement.h. `topic_uuid` comes
/// from the caller (the stm is pure). The name must not be held by an active
/// migration. remote_location is set (tiered/layout.h default_location) once
/// the cluster has its uuid.
result<v1::ControllerCommand> make_create_topic(const controller_stm& stm,
                                                const v1::CreateTopicsRequest::Item& item,
                                                std::string_view topic_uuid,
                                                const command_meta& meta);

/// unknown_topic when `name` does not exist; resource_is_being_migrated
/// while it is in a migration (so are the next two).
result<v1::ControllerCommand> make_delete_topic(const controller_stm& stm, std::string_view name,
                                                const command_meta& meta);

/// Set keys are validated (field `set.<key>`), removed keys must be in the
/// schema (field `remove.<key>`; removing a key that is not set is fine),
/// no key in both, something to change.
result<v1::ControllerCommand> make_alter_topic_configs(
    const controller_stm& stm, const v1::AlterTopicConfigsRequest::Item& item,
    const command_meta& meta);

/// The new total must exceed the current count; the new partitions are
/// placed like a new topic's, counting the existing load.
result<v1::ControllerCommand> make_create_partitions(const controller_stm& stm,
                                                     const v1::CreatePartitionsRequest::Item& item,
                                                     const command_meta& meta);

/// Validates a registration (id >= 0, incarnation, endpoints with a host and
/// a port in 1..65535, distinct listener names). The same id and incarnation
/// with the same fields is a no-op (a retried request); with other fields it
/// is refused. A different incarnation replaces the old one unless
/// `existing_alive` (the frontend's liveness view of the registered
/// incarnation): then broker_id_in_use. A decommissioned id is never reused.
result<std::optional<v1::ControllerCommand>> make_register_broker(const controller_stm& stm,
                                                                  const v1::Broker& broker,
                                                                  bool existing_alive,
                                                                  const command_meta& meta);

/// unknown_broker, or a transition check_broker_state_transition refuses;
/// the current state is a no-op.
result<std::optional<v1::ControllerCommand>> make_set_broker_state(const controller_stm& stm,
                                                                   int32_t id,
                                                                   v1::BrokerState state,
                                                                   const command_meta& meta);

/// Upserts validated against the cluster schema (field `<key>`, keys in
/// order), removed keys must be in the schema, no key in both, something to
/// change, and the controller API must stay reachable by a superuser
/// (check_admin_reachable). Tiered storage: cloud_storage_enabled cannot
/// turn false while a topic has redpanda.remote.write or .read true or a
/// migration is active, nor log_cleanup_policy compact while a topic with
/// redpanda.remote.write=true follows it. All or nothing: the first error
/// refuses the request.
result<v1::ControllerCommand> make_set_cluster_config(const controller_stm& stm,
                                                      const v1::SetClusterConfigRequest& req,
                                                      const command_meta& meta);

/// The first leader's InitCluster; a no-op when the uuid is already set to
/// it, conflict when set to another.
result<std::optional<v1::ControllerCommand>> make_init_cluster(const controller_stm& stm,
                                                               std::string_view cluster_uuid,
                                                               const command_meta& meta);

/// Remembers `refusal` (a cluster errc) as the outcome of item `session` of a
/// retried request (Session.retry), so that an earlier attempt of it cannot
/// apply after the client was refused.
v1::ControllerCommand make_record_refusal(const v1::CommandSession& session,
                                          const error_info& refusal, const command_meta& meta);

/// Each change names an existing topic and partition, and a leader that is
/// one of its replicas (or -1).
result<v1::ControllerCommand> make_set_partition_leaders(
    const controller_stm& stm, const std::vector<v1::LeaderChange>& changes,
    const command_meta& meta);

// ------------------------------------------------------------ security
// (docs/security.md). No builder sees a password: the frontend derives the
// credential first (common/security/scram.h).

/// A stored credential's shape: mechanism SCRAM-SHA-256 or SCRAM-SHA-512,
/// salt of 1..256 bytes, iterations in [4096, 1000000], StoredKey and
/// ServerKey as long as the mechanism's digest (32 or 64 bytes).
/// invalid_argument, field `<prefix>mechanism|salt|iterations|stored_key|server_key`.
result<void> validate_credential(const v1::ScramCredential& c, std::string_view prefix);

/// A role name: 1..128 bytes, printable ASCII without ':' or ',' (it is
/// written "Role:<name>" and in comma-separated lists), not "*".
/// invalid_argument, field `field`.
result<void> validate_role_name(std::string_view field, std::string_view name);

/// Upserts `user` (its name and credential). `create_only`: a user that
/// exists is user_already_exists, unless its credential is this one (a
/// replay); `update_only`: a missing user is unknown_user. The same
/// credential as stored is still proposed (a no-op at apply). Fields `name`,
/// `credential.*` (validate_credential, scram.h validate_username).
result<std::optional<v1::ControllerCommand>> make_upsert_user(const controller_stm& stm,
                                                              const v1::User& user,
                                                              bool create_only, bool update_only,
                                                              const command_meta& meta);

/// unknown_user when `name` does not exist. While admin_api_require_auth is
/// true, deleting the last superuser that exists as a user is refused
/// (invalid_argument): nobody could administer the cluster any more.
/// ACL bindings and role memberships naming the user are kept (Kafka's and
/// Redpanda's rule: a user re-created later gets them back).
result<v1::ControllerCommand> make_delete_user(const controller_stm& stm, std::string_view name,
                                               const command_meta& meta);

/// One binding (acl.h validate(); fields as there). A binding that exists is
/// still proposed (a no-op at apply).
result<std::optional<v1::ControllerCommand>> make_create_acl(const controller_stm& stm,
                                                             const v1::AclBinding& binding,
                                                             const command_meta& meta);

/// One filter (fields as acl_proto.h names them), proposed even when it
/// matches nothing now. What it removes is decided at apply: every binding
/// it matches then.
result<std::optional<v1::ControllerCommand>> make_delete_acls(const controller_stm& stm,
                                                              const v1::AclFilter& filter,
                                                              const command_meta& meta);

/// validate_role_name (field `name`); role_already_exists when it exists.
result<v1::ControllerCommand> make_create_role(const controller_stm& stm, std::string_view name,
                                               const command_meta& meta);

/// unknown_role when `name` does not exist. Apply removes the role (its
/// memberships with it) and every binding of principal "Role:<name>".
result<v1::ControllerCommand> make_delete_role(const controller_stm& stm, std::string_view name,
                                               const command_meta& meta);

/// The role must exist (unknown_role, field `role`); members parse as
/// acl_proto.h parse_role_member (field `add[i]` / `remove[i]`; "alice" is
/// stored as "User:alice"); a principal both added and removed is refused.
/// The whole request is proposed (apply inserts and erases idempotently).
result<std::optional<v1::ControllerCommand>> make_alter_role_members(
    const controller_stm& stm, const v1::AlterRoleMembersRequest& req, const command_meta& meta);

// ------------------------------------------------------------ migrations
// Mountable topics (docs/tiered-storage.md, rpk-reference §11). The API
// creates, cancels and removes migrations; the leader's migration driver
// (controller/migration) advances them. The checks apply repeats are the
// shared ones below.

/// Where topic `t`'s tiered data is: its remote_location, or for a topic
/// created before locations were recorded default_location(name, cluster
/// uuid, uuid).
std::string topic_location(const controller_stm& stm, const v1::Topic& t);

/// migrations_disabled (field `field`) while cloud_storage_enabled is false:
/// "cloud storage disabled".
result<void> check_migrations_enabled(const controller_stm& stm, std::string_view field);

/// An unmount of `topics` (one migration): at least one, no repeats, each
/// exists (unknown_topic), uploads (redpanda.remote.write=true, else
/// invalid_argument "topic with name X does not have archiving enabled") and
/// is in no migration. Fields `topics[i]`.
result<v1::ControllerCommand> make_unmount(const controller_stm& stm,
                                           const std::vector<std::string>& topics,
                                           const command_meta& meta);
/// The same checks for one topic, as apply repeats them (field `field`).
result<void> check_unmountable(const controller_stm& stm, std::string_view name,
                               std::string_view field);

/// A mount of `topics` (one migration), each with its location resolved by
/// the caller (the API read its mount manifest): at least one; each
/// effective name a valid topic name, free (topic_already_exists), not held
/// by an active migration and not repeated; each location parses and is not
/// being mounted by another migration. Fields `topics[i].topic|alias|location`.
result<v1::ControllerCommand> make_mount(const controller_stm& stm,
                                         const std::vector<v1::MigrationTopic>& topics,
                                         const command_meta& meta);
/// The same checks for one topic, as apply repeats them.
result<void> check_mountable(const controller_stm& stm, const v1::MigrationTopic& t,
                             std::string_view field);

/// The driver's step of migration `id` from `from` to `to` (legal
/// transitions only; not the mount's preparing -> prepared, which is
/// make_mount_prepared). nullopt when the migration is already in `to`
/// (a step taken twice); invalid_migration_state when it is in neither.
result<std::optional<v1::ControllerCommand>> make_advance_migration(
    const controller_stm& stm, int64_t id, v1::MigrationState from, v1::MigrationState to,
    const command_meta& meta, std::vector<std::string> mount_manifests = {});

/// A mount's preparing -> prepared: its topics built from their mount
/// manifests (`manifests[i]` for topics[i]: partitions and their
/// start_offset from next_offsets, replication factor and configs from the
/// manifest with redpanda.remote.read and redpanda.remote.write set to true,
/// remote_location the manifest's location), each a new `uuids[i]`, placed
/// as a new topic. Errors (no room to place them, a config this cluster
/// refuses) name `topics[i]` and become the migration's status.
result<std::optional<v1::ControllerCommand>> make_mount_prepared(
    const controller_stm& stm, int64_t id,
    const std::vector<tiered::topic_mount_manifest>& manifests,
    const std::vector<std::string>& uuids, const command_meta& meta);

/// SetMigrationStatus; nullopt when the migration already says `status`
/// (or is no longer in `state`).
result<std::optional<v1::ControllerCommand>> make_set_migration_status(const controller_stm& stm,
                                                                       int64_t id,
                                                                       v1::MigrationState state,
                                                                       std::string_view status,
                                                                       const command_meta& meta);

/// unknown_migration (field `id`); invalid_migration_state unless it is
/// preparing, prepared, executing or executed, saying why (planned: delete
/// it instead; cut_over, finished: too late; canceling, cancelled: already).
result<v1::ControllerCommand> make_cancel_migration(const controller_stm& stm, int64_t id,
                                                    const command_meta& meta);
/// Shared with apply.
result<void> check_cancellable(const v1::Migration& m);

/// unknown_migration; invalid_migration_state unless planned, finished or
/// cancelled.
result<v1::ControllerCommand> make_remove_migration(const controller_stm& stm, int64_t id,
                                                    const command_meta& meta);
/// Shared with apply.
result<void> check_removable(const v1::Migration& m);

// ------------------------------------------------------------ shadow links
// Offset-preserving replication from a source cluster (docs/shadow-links.md,
// rpk-reference §4, §10; the rules: common/cluster/shadow_link.h). The API
// creates, updates, deletes and fails over links; the leader's shadow driver
// (controller/shadow) creates and syncs shadow topics and ACLs and finishes
// failovers. Fields in errors are the link's YAML paths
// ("client_options.bootstrap_servers[1]") or the builder's argument names.

/// A new link: validate_link (passwords required); the name free
/// (shadow_link_already_exists, field `name`) and the cluster without another
/// link (shadow_link_limit_reached: one per cluster, as Redpanda). `link` as
/// the caller prepared it (key_fingerprint filled when a PEM key is given);
/// here the uuid is set, the state ACTIVE (PAUSED is refused: not
/// implemented, as in Redpanda), password_set / password_set_at_ms from the
/// password and the clock, and the output-only fields cleared.
result<v1::ControllerCommand> make_create_shadow_link(const controller_stm& stm,
                                                      v1::ShadowLink link, std::string_view uuid,
                                                      const command_meta& meta);
/// The whole new config of link `link.name()` (unknown_shadow_link, field
/// `name`): validate_link with passwords that may be kept. An empty password
/// with password_set keeps the stored one and its time (none stored:
/// invalid_argument naming the password); a new password gets this clock's
/// time. A PEM cert without its key keeps the stored key and fingerprint.
/// The uuid, created audit, state (UNSPECIFIED or ACTIVE) and synced_acls
/// are the stored ones.
result<v1::ControllerCommand> make_update_shadow_link(const controller_stm& stm,
                                                      v1::ShadowLink link,
                                                      const command_meta& meta);
/// unknown_shadow_link (field `name`); without `force`,
/// check_shadow_link_deletable.
result<v1::ControllerCommand> make_delete_shadow_link(const controller_stm& stm,
                                                      std::string_view name, bool force,
                                                      const command_meta& meta);
/// shadow_link_has_active_topics (field `name`) while a topic of link
/// `link` is not terminal (shadow_link.h is_terminal), naming them.
result<void> check_shadow_link_deletable(const controller_stm& stm, std::string_view link);

/// A shadow topic of link `link` (unknown_shadow_link, field `link`): the
/// topic of CreateTopics item `item` (make_create_topic's checks and
/// placement, its fields), with Topic.shadow from `shadow` (source_topic,
/// source_topic_id, start_at) and the link's name and uuid, state ACTIVE.
result<v1::ControllerCommand> make_create_shadow_topic(
    const controller_stm& stm, std::string_view link, const v1::CreateTopicsRequest::Item& item,
    const v1::TopicShadow& shadow, std::string_view topic_uuid, const command_meta& meta);
/// Shadow topic `topic` from `from` to `to` (shadow_link.h
/// transition_allowed, else invalid_argument field `to`). nullopt when it is
/// in `to` already; conflict (field `from`) when it is in neither.
/// unknown_topic (field `topic`); invalid_argument when it is no shadow
/// topic.
result<std::optional<v1::ControllerCommand>> make_set_shadow_topic_state(
    const controller_stm& stm, std::string_view topic, v1::ShadowTopicState from,
    v1::ShadowTopicState to, std::string_view reason, const command_meta& meta);
/// The failover of every topic of link `link` (unknown_shadow_link, field
/// `name`): one SetShadowTopicState without a topic, whose apply picks the
/// topics (ACTIVE | PAUSED -> FAILING_OVER, FAULTED -> FAILED_OVER).
result<v1::ControllerCommand> make_fail_over_shadow_link(const controller_stm& stm,
                                                         std::string_view link,
                                                         std::string_view reason,
                                                         const command_meta& meta);
/// The source's shape of ACTIVE or PAUSED shadow topic `topic`: partitions
/// up to `source_partitions` (more than now: the new ones placed; fewer or
/// equal: none added, partitions are never removed), and `configs` (the
/// source's values) for exactly the link's synced keys (synced_properties):
/// validated (field `configs.<key>`), a synced key absent from `configs`
/// removed. nullopt when nothing changes.
result<std::optional<v1::ControllerCommand>> make_sync_shadow_topic(
    const controller_stm& stm, std::string_view topic, int32_t source_partitions,
    const std::map<std::string, std::string>& configs, const command_meta& meta);
/// The security sync's diff for link `link`: `create` (validated, fields
/// `create[i].*`; bindings that exist already are left out) and `remove`
/// (only those in link.synced_acls are kept). nullopt when nothing is left.
result<std::optional<v1::ControllerCommand>> make_sync_shadow_acls(
    const controller_stm& stm, std::string_view link, const std::vector<v1::AclBinding>& create,
    const std::vector<v1::AclBinding>& remove, const command_meta& meta);

/// Read-only shadow topics (shadow_link.h is_read_only): a config change
/// touching a key the link syncs (is_synced_property with its options)
/// is refused, shadow_topic_read_only, field `set.<key>` / `remove.<key>`.
/// Builder and apply.
result<void> check_shadow_configs_writable(const controller_stm& stm, const v1::Topic& t,
                                           const std::set<std::string>& set,
                                           const std::set<std::string>& removed);
/// New partitions on a read-only shadow topic: shadow_topic_read_only, field
/// `field`. Builder and apply.
result<void> check_shadow_partitions_writable(const v1::Topic& t, std::string_view field);

/// The lockout guard of make_set_cluster_config: with the config as it would
/// be after the change (`require_auth`, `superusers`), turning
/// admin_api_require_auth on, or changing superusers while it is on, needs
/// at least one superuser that exists as a user. invalid_argument, field
/// `field`.
result<void> check_admin_reachable(const controller_stm& stm, bool require_auth,
                                   const std::vector<std::string>& superusers,
                                   std::string_view field);
/// check_admin_reachable for a SetClusterConfig command, against the config
/// as it would be after it. Run by the builder and again at apply, where a
/// concurrent DeleteUser may have removed the superuser the builder saw.
result<void> check_config_keeps_admin(const controller_stm& stm, const v1::SetClusterConfig& c);
/// Deleting user `name` must leave a superuser who can log in while
/// admin_api_require_auth is on. Builder and apply, like the above.
result<void> check_delete_keeps_admin(const controller_stm& stm, std::string_view name);

}  // namespace fjord::stm
