#pragma once
// File: controller/frontend/broker_liveness.h
//
// The leader's view of which brokers are alive: the last heartbeat of each
// (id, incarnation) and the revision it reported applied. Volatile and
// leader-only (DESIGN.md §1): a new leader starts empty and, for one session
// timeout, treats every registered broker as alive, so a failover never lets
// a second process take a live broker's id. An incarnation that said it is
// leaving (release) is not alive from then on, whatever it sends later.
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
    /// False when `incarnation` has been released (the heartbeat changes
    /// nothing but the applied revision).
    bool heartbeat(int32_t id, const std::string& incarnation, uint64_t applied,
                   clock::time_point now);
    /// `incarnation` of `id` has stopped serving and is exiting: not alive
    /// from now on. Nothing happens when another incarnation of `id` has
    /// been heard since (a late word from a predecessor frees nothing).
    void release(int32_t id, const std::string& incarnation, clock::time_point now);
    /// The liveness of `id` running `incarnation` under `timeout`.
    view get(int32_t id, const std::string& incarnation, std::chrono::milliseconds timeout,
             clock::time_point now) const;

  private:
    struct entry {
        std::string incarnation;
        clock::time_point last;
        uint64_t applied = 0;
        bool released = false;
    };
    mutable std::mutex _mu;
    std::map<int32_t, entry> _brokers;
    clock::time_point _since{};
};

}  // namespace fjord::frontend
