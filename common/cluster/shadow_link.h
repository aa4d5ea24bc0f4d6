#pragma once
// File: common/cluster/shadow_link.h
//
// The rules of shadow links (rpk-reference §4.9, §10; docs/shadow-links.md)
// that the controller (state machine, driver, API), the brokers (fetchers,
// read-only enforcement) and the CLI all read the same way: the config's
// checks and effective defaults, the name filters (§10.3), which topic
// properties are synced (§10.2), the shadow-topic states and their legal
// transitions (§10.5), and what a state lets clients do (§10.6).
//
//   ACTIVE <-> PAUSED
//   ACTIVE | PAUSED -> FAILING_OVER -> FAILED_OVER      (failover)
//   ACTIVE -> PROMOTING -> PROMOTED                     (not offered yet)
//   FAILING_OVER | PROMOTING -> FAULTED; ACTIVE | PAUSED -> FAULTED
//   FAULTED -> FAILED_OVER                              (failover of what it has)
//   any non-terminal -> FAILED_OVER                     (delete --force)
//
// Pure: no I/O. Field names in errors are rpk's YAML paths
// ("client_options.bootstrap_servers[1]").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::cluster::shadow {

namespace v1 = fjord::controller::v1;

// ---------------------------------------------------------------- config

/// The effective client tunables: 0 in the config means these (the broker's
/// defaults, rpk-reference §4.9).
struct client_tunables {
    int32_t metadata_max_age_ms = 10000;
    int32_t connection_timeout_ms = 1000;
    int32_t retry_backoff_ms = 100;
    int32_t fetch_wait_max_ms = 500;
    int32_t fetch_min_bytes = 5 << 20;
    int32_t fetch_max_bytes = 20 << 20;
    int32_t fetch_partition_max_bytes = 5 << 20;
};
client_tunables effective(const v1::ShadowClientOptions& o);

/// A task's interval: 0 means 30 s.
inline constexpr int64_t default_interval_ms = 30000;
int64_t effective_interval_ms(int64_t configured_ms);

/// Checks a link as create and update need it, every field (the first fault
/// named): the name (a Kafka-topic-like name: [a-zA-Z0-9._-], 1..128), at
/// least one bootstrap server, each host:port; not both TLS forms; key and
/// cert both or neither; one SASL form at most, its username and mechanism
/// (SCRAM-SHA-256|SCRAM-SHA-512), a password unless `password_may_be_kept`
/// (an update keeps the stored one); tunables >= 0, fetch_min <= fetch_max;
/// intervals >= 0; the filters (check_name_filter); the synced properties
/// (check_synced_property); ACL filters' enums in range.
result<void> validate_link(const v1::ShadowLink& l, bool password_may_be_kept = false);

enum class filter_kind { topic, group };

/// One name filter: LITERAL or PREFIX, INCLUDE or EXCLUDE, a non-empty name;
/// "*" only LITERAL; for topics, a literal `__consumer_offsets`, `_schemas`
/// or `_redpanda.audit_log` is refused, and so is a prefix that matches
/// `_redpanda` or `__redpanda` (rpk-reference §10.3).
result<void> check_name_filter(const v1::ShadowNameFilter& f, filter_kind kind,
                               std::string_view field);

/// Topics no "*" and no prefix filter ever matches: names starting with
/// `_redpanda`, `__redpanda`, `__fjord`, and `__consumer_offsets`,
/// `_schemas`.
bool is_system_topic(std::string_view name);

/// §10.3: an EXCLUDE that matches wins; else the first INCLUDE that matches
/// decides; no match excludes. "*" (LITERAL) matches every name except
/// system topics (for topics).
bool passes(const google::protobuf::RepeatedPtrField<v1::ShadowNameFilter>& filters,
            std::string_view name, filter_kind kind);

// ------------------------------------------------------ synced properties

/// Always synced: max.message.bytes, cleanup.policy, message.timestamp.type.
const std::vector<std::string>& always_synced_properties();
/// Synced unless exclude_default: compression.type, retention.bytes,
/// retention.ms, delete.retention.ms, min.compaction.lag.ms,
/// max.compaction.lag.ms (the replication factor too, at creation).
const std::vector<std::string>& default_synced_properties();
/// Never synced (an error in synced_shadow_topic_properties): the
/// cluster-local ones (redpanda.remote.readreplica, redpanda.remote.recovery,
/// redpanda.remote.allowgaps, redpanda.virtual.cluster.id,
/// redpanda.leaders.preference, redpanda.cloud_topic.enabled) and this
/// cluster's tiering placement (redpanda.remote.read, redpanda.remote.write,
/// redpanda.remote.delete).
result<void> check_synced_property(std::string_view key, std::string_view field);
/// The effective list, sorted, no duplicates.
std::vector<std::string> synced_properties(const v1::ShadowTopicSyncOptions& o);
bool is_synced_property(const v1::ShadowTopicSyncOptions& o, std::string_view key);

/// Where an empty shadow partition starts: -2 earliest (the default), -1
/// latest, else the timestamp in ms (ListOffsets' encoding).
int64_t start_at(const v1::ShadowTopicSyncOptions& o);

// ----------------------------------------------------------------- states

/// "ACTIVE", "PAUSED", ... (the proto name without its prefix, as rpk
/// prints them); "UNSPECIFIED" otherwise.
std::string_view to_string(v1::ShadowTopicState s);
std::string_view to_string(v1::ShadowLinkState s);
std::optional<v1::ShadowTopicState> parse_topic_state(std::string_view s);

/// The diagram above (from == to is not a transition).
bool transition_allowed(v1::ShadowTopicState from, v1::ShadowTopicState to);
/// FAILED_OVER, PROMOTED, FAULTED: nothing replicates it any more; a link
/// whose topics are all terminal may be deleted without force.
bool is_terminal(v1::ShadowTopicState s);
/// Whether Kafka clients may change the topic (Produce, DeleteRecords,
/// CreatePartitions, synced configs): FAILED_OVER and PROMOTED only.
bool is_writable(v1::ShadowTopicState s);
/// Whether its fetchers run: ACTIVE (and PROMOTING, which catches up first).
bool replicates(v1::ShadowTopicState s);

/// Whether a topic is a shadow topic clients may not write: Topic.shadow set
/// and its state not writable. A topic that is no shadow is writable.
bool is_read_only(const v1::Topic& t);

/// The link as the API returns it: passwords and the PEM key removed,
/// password_set / password_set_at_ms kept (the proposer sets them).
v1::ShadowLink redacted(v1::ShadowLink l);

}  // namespace fjord::cluster::shadow
