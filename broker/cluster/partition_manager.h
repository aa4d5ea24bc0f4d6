#pragma once
// File: broker/cluster/partition_manager.h
//
// The reconciler: makes the partition logs on this broker's disk match the
// controller's assignment (metadata_cache), and hands the logs to the Kafka
// handlers. Runs on the broker's io thread, like the cache; not thread-safe.
//
// On disk: <data_dir>/topics/<topic uuid>/<partition>/ (broker/log's
// segment files). Keying directories by the topic's uuid means a topic
// deleted and created again under the same name never sees the old data,
// and a deleted topic's directory is recognisable without its name.
//
// reconcile():
//   - every partition of every topic whose replicas name this broker gets
//     an open log (created if missing), with the topic's configs applied;
//   - logs of topics no longer in the cache (deleted) are closed and their
//     directories removed; a partition no longer assigned here is closed
//     (its data kept until the topic goes: reassignment lands later);
//   - nothing happens before the cache holds a snapshot.
// Until replication between brokers exists, only the leader's log takes
// writes; a follower's log stays empty (Metadata reports the ISR as the
// leader alone).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "broker/cluster/metadata_cache.h"
#include "broker/log/partition_log.h"

namespace fjord::broker {

struct partition_defaults {
    /// Broker-level flush policy (broker.yaml flush.*): 0 = never.
    int64_t flush_messages = 0;
    int64_t flush_ms = 0;
};

class partition_manager {
  public:
    partition_manager(std::string data_dir, int32_t broker_id, partition_defaults d);

    /// See the file comment. Failures (a log that does not open) are logged
    /// and counted; the partition is retried on the next reconcile.
    void reconcile(const metadata_cache& md, int64_t now_ms);

    /// The open log of (topic, partition), or nullptr.
    storage::partition_log* find(const std::string& topic, int32_t partition);
    size_t open_logs() const { return _logs.size(); }
    /// Logs that failed to open at the last reconcile.
    size_t failed() const { return _failed; }

    /// The log settings for `topic`: its own configs, else the cluster's
    /// defaults, else Kafka's. Errors name the config key.
    static result<storage::log_config> config_for(const v1::Topic& topic, const metadata_cache& md,
                                                  const partition_defaults& d);

    /// Applies time-based duties to every log: retention and flush.ms.
    void housekeeping(int64_t now_ms);

  private:
    struct key {
        std::string topic;
        int32_t partition = 0;
        auto operator<=>(const key&) const = default;
    };
    struct open_log {
        std::string uuid;
        std::unique_ptr<storage::partition_log> log;
    };

    std::string _data_dir;
    int32_t _broker_id;
    partition_defaults _defaults;
    std::map<key, open_log> _logs;
    size_t _failed = 0;
};

}  // namespace fjord::broker
