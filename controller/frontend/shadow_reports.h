#pragma once
// File: controller/frontend/shadow_reports.h
//
// The leader's volatile view of shadow-link replication (docs/shadow-links.md
// "Status"): what each broker last reported in its heartbeat (its shadow
// partitions' fetchers and its tasks, the whole set each time, replacing the
// last) and the task statuses the leader's shadow driver (controller/shadow)
// publishes for the tasks it runs itself. GetShadowLinkStatus reads it.
//
// Volatile and leader-only like broker_liveness.h: nothing is replicated, a
// new leader starts empty and fills within a heartbeat interval. A broker
// not heard from for a session timeout is forgotten, so a dead broker's
// fetchers do not linger in the status.
//
// Thread-safe: heartbeats (gRPC threads), the driver (its thread) and status
// reads (gRPC threads) meet here under one mutex.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::frontend {

namespace v1 = fjord::controller::v1;

class shadow_reports {
  public:
    using clock = std::chrono::steady_clock;

    /// `session_timeout`: how long a broker's last report stands without a
    /// new heartbeat (the brokers' session timeout).
    explicit shadow_reports(std::chrono::milliseconds session_timeout)
        : _timeout(session_timeout) {}

    /// Broker `broker_id`'s heartbeat: its shadow partitions and tasks as of
    /// now, replacing what it reported before (an empty set forgets it).
    /// Each entry's broker_id is set to `broker_id`.
    void report(int32_t broker_id, std::vector<v1::ShadowPartitionStatus> partitions,
                std::vector<v1::ShadowTaskStatus> tasks, clock::time_point now);

    /// The shadow driver's own tasks of link `link` (the whole set for that
    /// link, replacing the last; empty forgets the link). broker_id is set
    /// to -1 (the controller leader runs them). Not aged: the driver
    /// republishes or clears them itself.
    void set_controller_tasks(std::string link, std::vector<v1::ShadowTaskStatus> tasks);

    /// What is known of link `link`: the controller's tasks, then the tasks
    /// and partitions of brokers heard within the session timeout of `now`
    /// (brokers ascending; each broker's entries in the order it sent them).
    struct link_view {
        std::vector<v1::ShadowTaskStatus> tasks;
        std::vector<v1::ShadowPartitionStatus> partitions;
    };
    link_view of_link(std::string_view link, clock::time_point now) const;

    /// Forgets everything brokers reported (this member just became leader:
    /// an old report from an earlier term is not current). The controller's
    /// tasks stay: they are the driver's to clear.
    void forget_brokers();

  private:
    struct broker_report {
        clock::time_point heard;
        std::vector<v1::ShadowPartitionStatus> partitions;
        std::vector<v1::ShadowTaskStatus> tasks;
    };
    /// Drops reports older than the session timeout; _mu held.
    void expire(clock::time_point now) const;

    const std::chrono::milliseconds _timeout;
    mutable std::mutex _mu;
    mutable std::map<int32_t, broker_report> _brokers;
    std::map<std::string, std::vector<v1::ShadowTaskStatus>, std::less<>> _controller_tasks;
};

}  // namespace fjord::frontend
