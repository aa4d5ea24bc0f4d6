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

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::broker {

namespace v1 = fjord::controller::v1;

class metadata_cache {
  public:
    /// Applies one event. A delta whose revision is older than the applied
    /// revision is ignored (replayed after a reconnect), and so is a
    /// snapshot older than it (any controller member serves Watch, and a
    /// lagging one must not take the broker back in time); an event that
    /// cannot be applied (a delta before any snapshot) is an error and
    /// changes nothing: the caller restarts the Watch from scratch.
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

    /// Bumped on every applied change, so that readers can cache derived
    /// views and notice when to rebuild them.
    uint64_t generation() const { return _generation; }

  private:
    void apply_delta(const v1::Delta& d);

    bool _ready = false;
    uint64_t _applied = 0;
    uint64_t _generation = 0;
    std::string _cluster_uuid;
    std::map<std::string, v1::Topic> _topics;
    std::map<int32_t, v1::Broker> _brokers;
    std::map<std::string, std::string> _config;
};

/// The endpoint Kafka clients reach `b` on (the one named "kafka", else the
/// first); null for a decommissioned broker or one without endpoints, which
/// Metadata and DescribeCluster leave out.
const v1::Endpoint* kafka_endpoint(const v1::Broker& b);

}  // namespace fjord::broker
