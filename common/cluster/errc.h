#pragma once
// File: common/cluster/errc.h
//
// Errors of the cluster's rules: the shared checks in this folder, the
// controller's frontend validation (controller/stm/commands.h) and its
// state machine. One enum for all, so that a refusal reads the same whether
// a broker's admin API, the proposer or apply caught it.
// The service translates these to the public ErrorCode at its one boundary
// (controller_service.proto); the names match one to one.
//
// Contract for details: every error built in this module carries a detail of
// the form "<field>: <reason>", where <field> names the request field at fault
// relative to the item (e.g. `name`, `configs.retention.ms`,
// `broker.endpoints[0].port`). The service prefixes the item's position
// (`topics[2].`) and may split at the first ": " to fill ItemResult.field.

#include <string_view>
#include <system_error>

namespace fjord::cluster {

enum class errc {
    success = 0,
    invalid_argument,            ///< a field is malformed, or a transition is not allowed
    topic_already_exists,        ///< a topic with this name exists
    unknown_topic,               ///< no topic with this name
    invalid_partitions,          ///< a partition count out of range, or not an increase
    invalid_replication_factor,  ///< even, out of range, or above the active broker count
    invalid_config,              ///< unknown key, wrong type or value out of range
    broker_id_in_use,            ///< another live process (or a decommissioned broker) holds the id
    unknown_broker,              ///< no broker with this id
    unknown_member,              ///< no controller member with this id
    conflict,                    ///< the state changed between validation and apply
    not_leader,                  ///< only the leader proposes (the frontend's answer)
    timeout,                     ///< the change did not apply in time (the frontend's answer)
    internal,                    ///< a bug or corrupt input (malformed command or snapshot)
    /// A retried write whose first outcome is no longer remembered because
    /// the client gave it up (first_outstanding moved past it): not applied
    /// again. (A session forgotten entirely by expiry is new again.)
    outcome_unknown,
    // Security (docs/security.md). Appended: values are stored in the log
    // (RecordRefusal.code), so they are never renumbered.
    user_already_exists,  ///< a SCRAM user with this name exists (with another credential)
    unknown_user,         ///< no SCRAM user with this name
    role_already_exists,  ///< a role with this name exists
    unknown_role,         ///< no role with this name
    unauthenticated,      ///< no credentials, or credentials that do not verify
    permission_denied,    ///< authenticated, but not allowed (the ACL that is missing named)
    // Mountable topics (docs/tiered-storage.md). Appended, never renumbered.
    resource_is_being_migrated,  ///< the topic (or name) is in an active migration
    unknown_migration,           ///< no migration with this id
    invalid_migration_state,     ///< not allowed in the state the migration is in
    migrations_disabled,         ///< cloud_storage_enabled is false
    // Shadow links (docs/shadow-links.md). Appended, never renumbered.
    shadow_link_already_exists,     ///< a link with this name exists
    unknown_shadow_link,            ///< no link with this name
    shadow_link_limit_reached,      ///< the cluster has its one link already
    shadow_link_has_active_topics,  ///< delete without force while topics replicate
    shadow_topic_read_only,         ///< a shadow topic not failed over (Kafka: POLICY_VIOLATION)
    shadow_link_unreachable,      ///< preflight: the source cannot be reached or is another cluster
    shadow_link_unsupported_api,  ///< preflight: the source lacks an API version the link needs
};

/// The highest value of errc: RecordRefusal codes above it are refused.
inline constexpr errc last_errc = errc::shadow_link_unsupported_api;

/// The enumerator's name, e.g. "topic_already_exists" (for logs and tests).
std::string_view to_string(errc e);

const std::error_category& error_category();
inline std::error_code make_error_code(errc e) {
    return {static_cast<int>(e), error_category()};
}

}  // namespace fjord::cluster

template <>
struct std::is_error_code_enum<fjord::cluster::errc> : std::true_type {};
