#pragma once
// File: controller/frontend/broker_liveness.h
//
// The leader's view of which brokers are alive: the last heartbeat of each
// (id, incarnation) and the revision it reported applied. Volatile and
// leader-only (DESIGN.md §1): a new leader starts empty and, for one session
// timeout, treats every registered broker as alive, so a failover never lets
// a second process take a live broker's id.
//
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace fjord::frontend {

class broker_liveness {
  public:
    using clock = std::chrono::steady_clock;

    struct view {
        bool alive = false;
        uint64_t applied_revision = 0;
        int64_t last_heartbeat_ms_ago = -1;  // -1: not heard since leadership began
    };

    /// Forgets everything; called when this member becomes leader.
    void reset(clock::time_point now);
    void heartbeat(int32_t id, const std::string& incarnation, uint64_t applied,
                   clock::time_point now);
    /// The liveness of `id` running `incarnation` under `timeout`.
    view get(int32_t id, const std::string& incarnation, std::chrono::milliseconds timeout,
             clock::time_point now) const;

  private:
    struct entry {
        std::string incarnation;
        clock::time_point last;
        uint64_t applied = 0;
    };
    mutable std::mutex _mu;
    std::map<int32_t, entry> _brokers;
    clock::time_point _since{};
};

}  // namespace fjord::frontend
