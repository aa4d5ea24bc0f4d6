#pragma once
// File: broker/cluster/metadata_cache.h
//
// The broker's copy of the controller's state, built from the Watch stream:
// a snapshot, then deltas. Pure (no I/O, no locks, no clock): the broker
// applies events on its io thread and its Kafka handlers read it there.
//
// Revisions: a Watch event may be one of several deltas of one controller
// revision; `applied_revision()` only moves when the event that completes a
// revision arrives (WatchEvent.revision_complete). That is the revision the
// broker reports in heartbeats (what `fjord ... --wait` waits for) and the
// one to resume a Watch from.
//
// Security: the cache also holds the users (with their SCRAM credentials),
// the ACL bindings and the roles the controller replicates; and the shadow
// links with their source credentials (broker/shadow). It only stores
// them; broker/security/security_snapshot.h builds the authorizer and the
// credential table from them whenever security_generation() moves.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include "common/result.h"
#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::broker {

namespace v1 = fjord::controller::v1;

/// Why metadata_cache::apply refused an event of a well-formed stream (a
/// malformed one is std::errc::invalid_argument).
enum class watch_errc {
    success = 0,
    /// The event is of another cluster than the broker's data.
    foreign_cluster,
    /// A snapshot older than what the broker has applied or acted on: the
    /// controller member that sent it is behind.
    behind,
};

const std::error_category& watch_category();
inline std::error_code make_error_code(watch_errc e) {
    return {static_cast<int>(e), watch_category()};
}

}  // namespace fjord::broker

template <>
struct std::is_error_code_enum<fjord::broker::watch_errc> : std::true_type {};

namespace fjord::broker {

/// An ACL binding's identity: every field but its Audit, so that a deletion
/// (Delta.acl_deleted) finds the binding it names.
using acl_key = std::tuple<int, std::string, int, std::string, std::string, int, int>;
acl_key key_of(const v1::AclBinding& b);

class metadata_cache {
  public:
    /// What every snapshot must agree with, from the broker's durable
    /// cluster_record (set before the first event): the cluster the broker's
    /// data belongs to ("": none known yet, the first snapshot's is adopted)
    /// and the revision the broker has acted on.
    void require(std::string cluster_uuid, uint64_t min_revision);

    /// Applies one event. A delta whose revision is not newer than the
    /// applied revision is ignored (replayed after a reconnect). Refused,
    /// changing nothing (the caller drops the stream and tries another
    /// controller):
    ///   - watch_errc::foreign_cluster: a snapshot of another cluster than
    ///     the required one, or than the one already applied ("snapshot of
    ///     cluster X refused: this broker's data belongs to cluster Y"), or
    ///     a delta that sets another cluster uuid;
    ///   - watch_errc::behind: a snapshot older than the applied or the
    ///     required revision (any controller member serves Watch, and one
    ///     that is behind must not take the broker back in time: topics
    ///     created since would look deleted): "snapshot revision R <
    ///     applied revision A";
    ///   - std::errc::invalid_argument: a delta before any snapshot, an
    ///     event that is neither.
    result<void> apply(const v1::WatchEvent& ev);

    /// True once a snapshot has been applied.
    bool ready() const { return _ready; }
    uint64_t applied_revision() const { return _applied; }
    const std::string& cluster_uuid() const { return _cluster_uuid; }

    const std::map<std::string, v1::Topic>& topics() const { return _topics; }
    const v1::Topic* topic(const std::string& name) const;
    const std::map<int32_t, v1::Broker>& brokers() const { return _brokers; }
    const v1::Broker* broker(int32_t id) const;
    /// A cluster config value set explicitly, if any (defaults are the
    /// caller's: the schema lives with the controller).
    std::optional<std::string> config(const std::string& key) const;

    /// Users by name, with their SCRAM credential.
    const std::map<std::string, v1::User>& users() const { return _users; }
    /// Every ACL binding, in acl_key order.
    const std::map<acl_key, v1::AclBinding>& acls() const { return _acls; }
    /// Roles by name, with their members.
    const std::map<std::string, v1::Role>& roles() const { return _roles; }
    /// Shadow links by name (ClusterState.shadow_links,
    /// Delta.shadow_link_upserted/removed), as the controller sends them to
    /// brokers: with the source's passwords (broker/shadow connects with
    /// them). Never to be returned to a client as is
    /// (cluster::shadow::redacted).
    const std::map<std::string, v1::ShadowLink>& shadow_links() const { return _shadow_links; }
    const v1::ShadowLink* shadow_link(const std::string& name) const;

    /// Bumped on every applied change, so that readers can cache derived
    /// views and notice when to rebuild them.
    uint64_t generation() const { return _generation; }
    /// Bumped by the changes security depends on: a snapshot, users, ACL
    /// bindings, roles and cluster config (superusers, enable_sasl, ...).
    uint64_t security_generation() const { return _security_generation; }

  private:
    void apply_delta(const v1::Delta& d);

    bool _ready = false;
    uint64_t _applied = 0;
    std::string _required_uuid;
    uint64_t _required_revision = 0;
    uint64_t _generation = 0;
    uint64_t _security_generation = 0;
    std::string _cluster_uuid;
    std::map<std::string, v1::Topic> _topics;
    std::map<int32_t, v1::Broker> _brokers;
    std::map<std::string, std::string> _config;
    std::map<std::string, v1::User> _users;
    std::map<acl_key, v1::AclBinding> _acls;
    std::map<std::string, v1::Role> _roles;
    std::map<std::string, v1::ShadowLink> _shadow_links;
};

/// The endpoint Kafka clients reach `b` on (the one named "kafka", else the
/// first); null for a decommissioned broker or one without endpoints, which
/// Metadata and DescribeCluster leave out.
const v1::Endpoint* kafka_endpoint(const v1::Broker& b);

}  // namespace fjord::broker
