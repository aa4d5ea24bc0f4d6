#pragma once
// File: controller/server/controller_config.h
//
// The controller daemon's configuration: one YAML file
// (/etc/fjord/controller.yaml), parsed into `controller_config`. Every key, its
// type, default and range is documented in controller/server/README.md; every
// key needs a restart (the file is read once, at start).
//
// Contract:
// - Nothing throws (yaml-cpp's exceptions are caught and converted).
// - Any problem is std::errc::invalid_argument (file I/O: the errno code)
//   whose detail lists every problem found, one per line, each naming the full
//   key path and, where the key is present, its line:
//       raft.electon_ticks: unknown key, did you mean election_ticks? (line 12)
//       node_id: expected an unsigned integer, got "one" (line 1)
//       data_dir: required key is missing
//   load_controller_config() prefixes each line with "<path>: ". Cross-key
//   checks (membership, address conflicts) run only when every key parsed.
// - On success every field is set: defaults applied, advertise addresses
//   defaulted from listen addresses, cluster_id canonical (lowercase).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/host_port.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/result.h"
#include "common/tls/fips.h"
#include "common/tls/tls.h"

namespace fjord::server {

/// One founding member of the controller group.
struct member {
    node_id id;
    host_port peer;  ///< its RaftService endpoint
    host_port api;   ///< its ControllerService endpoint (leader hints point here)
    bool operator==(const member&) const = default;
};

struct raft_options {
    uint32_t tick_ms = 50;
    uint32_t election_ticks = 10;
    uint32_t heartbeat_ticks = 1;
    uint64_t snapshot_entries = 10000;
    uint64_t max_append_bytes = uint64_t{1} << 20;
    bool operator==(const raft_options&) const = default;
};

struct listen_addresses {
    host_port api{"127.0.0.1", 9644};
    host_port peer{"127.0.0.1", 33145};
    /// HTTP /metrics and /healthz; nullopt when configured as "" (disabled).
    std::optional<host_port> metrics = host_port{"127.0.0.1", 9645};
    bool operator==(const listen_addresses&) const = default;
};

struct advertise_addresses {
    host_port api;
    host_port peer;
    bool operator==(const advertise_addresses&) const = default;
};

struct controller_config {
    fjord::node_id node_id;
    std::string data_dir;
    listen_addresses listen;
    advertise_addresses advertise;
    /// Empty: the node founds nothing and waits to be added to a group.
    std::vector<member> initial_members;
    /// "" or a canonical lowercase UUID.
    std::string cluster_id;
    raft_options raft;
    uint64_t segment_bytes = uint64_t{64} << 20;
    uint32_t broker_session_timeout_ms = 9000;
    fjord::log_level log_level = fjord::log_level::info;
    /// TLS on the client API (ControllerService): the CLI, brokers, and
    /// other members forwarding to the leader connect here.
    tls::tls_settings api_tls;
    /// TLS on the peer transport (RaftService), both ways: this member
    /// serves with it and dials the other members with the same identity
    /// and truststore (require_client_auth: members must present one).
    tls::tls_settings peer_tls;
    /// The user a verified client certificate on the API maps to
    /// (common/security/principal_mapping.h); "" means DEFAULT.
    std::string principal_mapping_rules;
    tls::fips_settings fips;
    bool operator==(const controller_config&) const = default;
};

/// Parses and validates one YAML document (see the file comment).
result<controller_config> parse_controller_config(std::string_view yaml_text);

/// Reads `path` (at most 1 MiB) and parses it; every error line is prefixed
/// with "<path>: ".
result<controller_config> load_controller_config(const std::string& path);

}  // namespace fjord::server
