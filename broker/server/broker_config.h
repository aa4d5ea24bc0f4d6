#pragma once
// File: broker/server/broker_config.h
//
// The broker daemon's configuration: one YAML file (/etc/fjord/broker.yaml),
// parsed into `broker_config`. Every key, its type, default and range is
// documented in broker/server/README.md; every key needs a restart (the file
// is read once, at start).
//
// Contract (the same as controller/server/controller_config.h):
// - Nothing throws (yaml-cpp's exceptions are caught and converted).
// - Any problem is std::errc::invalid_argument (file I/O: the errno code)
//   whose detail lists every problem found, one per line, each naming the full
//   key path and, where the key is present, its line:
//       flush.mesages: unknown key, did you mean messages? (line 9)
//       controllers[1]: "x" is not host:port: missing ":port" (line 4)
//       node_id: required key is missing
//   load_broker_config() prefixes each line with "<path>: ". Cross-key checks
//   (address conflicts, advertise vs wildcard listen, repeated controllers)
//   run only when every key parsed.
// - On success every field is set: defaults applied, advertise.kafka
//   defaulted from listen.kafka.
//
// The broker's session timeout is not configured here: the controller sets
// it and tells the broker in its heartbeat replies.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/host_port.h"
#include "common/log.h"
#include "common/result.h"
#include "common/tls/fips.h"
#include "common/tls/tls.h"

namespace fjord::broker {

struct listen_addresses {
    /// The Kafka API.
    host_port kafka{"127.0.0.1", 9092};
    /// HTTP /metrics and /healthz; nullopt when configured as "" (disabled).
    std::optional<host_port> metrics = host_port{"127.0.0.1", 9093};
    bool operator==(const listen_addresses&) const = default;
};

struct advertise_addresses {
    /// What clients are told to connect to (Metadata responses).
    host_port kafka;
    bool operator==(const advertise_addresses&) const = default;
};

/// When the broker fsyncs the log of a topic with write.caching=true. Other
/// topics are fsynced before each acks=all answer and before their records
/// become readable (broker/cluster/log_flusher.h), so these do not apply to
/// them. Neither is needed to survive a process crash (written data is in
/// the page cache); they bound what a power loss can take from a
/// write-caching topic. 0 leaves flushing to the OS.
struct flush_policy {
    /// fsync after this many messages appended to a partition; 0: never.
    uint64_t messages = 0;
    /// fsync a partition with unflushed data at least this often; 0: never.
    /// 100 ms, as Redpanda's flush.ms under write caching.
    uint32_t ms = 100;
    bool operator==(const flush_policy&) const = default;
};

/// The group coordinator (broker/group/): consumer groups and their
/// committed offsets, kept in the internal topic __consumer_offsets.
struct group_coordinator_config {
    /// Partitions of __consumer_offsets when this broker creates it (Kafka's
    /// offsets.topic.num.partitions). An existing topic keeps its count.
    uint32_t offsets_topic_partitions = 16;
    /// Session timeouts a consumer may ask for (Kafka's
    /// group.min.session.timeout.ms / group.max.session.timeout.ms).
    uint32_t min_session_timeout_ms = 6000;
    uint32_t max_session_timeout_ms = 1800000;
    /// How long the first rebalance of an empty group waits for more members
    /// (Kafka's group.initial.rebalance.delay.ms).
    uint32_t initial_rebalance_delay_ms = 3000;
    bool operator==(const group_coordinator_config&) const = default;
};

/// How a Kafka listener authenticates its clients.
enum class listener_authentication { none, sasl };

/// Per listener (keyed like listen.* and advertise.*); unset: SASL exactly
/// when the cluster config enable_sasl is true.
struct authentication_methods {
    std::optional<listener_authentication> kafka;
    bool operator==(const authentication_methods&) const = default;
};

/// The SASL user this broker calls the controller as, when the controller
/// requires authentication (admin_api_require_auth). Never logged.
struct controller_credential {
    std::string username;
    std::string password;
    bool operator==(const controller_credential&) const = default;
};

struct broker_config {
    /// The Kafka broker id (an int32 on the wire), 0..2147483647.
    int32_t node_id = 0;
    std::string data_dir;
    /// The controllers' API addresses (ControllerService); at least one.
    std::vector<host_port> controllers;
    listen_addresses listen;
    advertise_addresses advertise;
    authentication_methods authentication_method;
    std::optional<controller_credential> controller_credentials;
    /// Kafka's broker.rack; "" for none.
    std::string rack;
    /// Largest request accepted (Kafka's socket.request.max.bytes).
    uint32_t max_request_bytes = 100u << 20;
    /// Close a connection idle this long (Kafka's connections.max.idle.ms).
    uint32_t connections_max_idle_ms = 600000;
    /// Most bytes of records in one Fetch response, whatever the request
    /// asks (Kafka's fetch.max.bytes); the first batch may exceed it.
    uint32_t fetch_max_bytes = 57671680;
    flush_policy flush;
    group_coordinator_config group;
    /// How long a deleted topic's data is kept (moved to <data_dir>/trash)
    /// before it is removed, as Kafka's file.delete.delay.ms; 0: removed at
    /// the next reclaim pass (within a second).
    uint64_t log_delete_delay_ms = 60000;
    fjord::log_level log_level = fjord::log_level::info;
    /// TLS on the Kafka listener (server side; require_client_auth for mTLS).
    tls::tls_settings kafka_tls;
    /// TLS on the link to the controllers' API (client side: the CA the
    /// controllers' certificates chain to, and this broker's identity for
    /// mutual TLS).
    tls::tls_settings controller_tls;
    /// Kafka's ssl.principal.mapping.rules: the user a verified client
    /// certificate's subject maps to (common/security/principal_mapping.h);
    /// "" means DEFAULT (the subject unchanged).
    std::string principal_mapping_rules;
    tls::fips_settings fips;
    bool operator==(const broker_config&) const = default;
};

/// Parses and validates one YAML document (see the file comment).
result<broker_config> parse_broker_config(std::string_view yaml_text);

/// Reads `path` (at most 1 MiB) and parses it; every error line is prefixed
/// with "<path>: ".
result<broker_config> load_broker_config(const std::string& path);

}  // namespace fjord::broker
