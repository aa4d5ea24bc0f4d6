#pragma once
// File: broker/kafka/services.h
//
// The broker's services as the Kafka handlers reach them
// (request_context::services): this broker's endpoint and settings, the
// metadata cache, the partitions, and the stateful pieces several handlers
// share. The composition root (broker/server/broker_server.cc) owns each of
// them; this struct only points at them, and they outlive the dispatcher.
// Everything here is the io thread's (nothing locks).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace fjord::broker {

class metadata_cache;
class partition_manager;
class parked_fetches;
class admin_forwarder;
class group_gateway;
class producer_id_allocator;
class security_state;
namespace tiered_read {
class remote_reader;
}

struct broker_endpoint {
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
    std::string rack;
};

/// Broker settings the handlers apply (broker.yaml, broker/server/README.md).
struct kafka_options {
    /// Kafka's fetch.max.bytes: a Fetch answers at most min(its max_bytes,
    /// this) bytes of records (the first batch may exceed both, as in Kafka).
    int32_t fetch_max_bytes = 57671680;
    /// The Kafka listener's authentication_method (broker.yaml): true sasl,
    /// false none, nullopt: SASL exactly when the cluster's enable_sasl is
    /// true.
    std::optional<bool> require_sasl = std::nullopt;
    /// The broker's log directory, <data_dir>/topics (DescribeLogDirs).
    std::string log_dir = {};
    /// FIPS mode's floor for SASL/PLAIN passwords (tls::fips_min_password_length
    /// when broker.yaml's fips_mode is not disabled; 0 otherwise).
    size_t min_password_length = 0;
};

struct broker_services {
    broker_endpoint me;
    kafka_options options;
    metadata_cache& md;
    partition_manager& pm;
    /// Fetch's long poll (handlers/fetch.h): Produce and the broker wake it.
    parked_fetches& fetches;
    /// Wall-clock milliseconds since the epoch (timestamps, segment ages).
    std::function<int64_t()> now;
    /// The APIs served by forwarding to the controller (admin_forwarder.h);
    /// the consumer groups (group_gateway.h); producer ids
    /// (producer_ids.h). Null only in unit tests that send none of their
    /// APIs (Metadata then creates no topic).
    admin_forwarder* admin = nullptr;
    group_gateway* groups = nullptr;
    producer_id_allocator* producer_ids = nullptr;
    /// What is enforced (broker/security/security_snapshot.h), published by
    /// the broker after each applied revision that changed it. Null only in
    /// unit tests that need no security: every request is then served as
    /// with authentication and authorization off.
    security_state* security = nullptr;
    /// Tiered storage's read side (broker/tiered/remote_reader.h): Fetch and
    /// ListOffsets below the local log start of redpanda.remote.read topics
    /// (handlers/tiered_read.h). Null: nothing is read from the object store.
    tiered_read::remote_reader* remote = nullptr;
};

}  // namespace fjord::broker
