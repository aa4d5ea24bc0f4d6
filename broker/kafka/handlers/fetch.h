#pragma once
// File: broker/kafka/handlers/fetch.h
//
// Fetch's long poll: a Fetch that finds fewer than min_bytes waits, parked,
// until appends bring enough or max_wait_ms passes (handlers/fetch.cc).
// A parked Fetch observes the partitions it reads (partition::observe) and
// is re-checked each time one of their high watermarks moves: after a group
// commit that raised it, or at a Produce to a write-caching topic. wake()
// re-checks every parked Fetch (and re-subscribes it to the partitions it
// reads, which may have been reopened); the broker calls it after every
// metadata change (broker_server.cc). io thread only.

#include <chrono>
#include <functional>
#include <list>
#include <memory>

#include "broker/kafka/request_context.h"
#include "common/kafka/messages/fetch.h"

namespace fjord::broker {

class parked_fetches {
  public:
    /// Runs `fn` on the io thread after `delay`.
    using schedule_fn = std::function<void(std::chrono::milliseconds, std::function<void()>)>;

    explicit parked_fetches(schedule_fn schedule);
    parked_fetches(const parked_fetches&) = delete;
    parked_fetches& operator=(const parked_fetches&) = delete;

    /// Holds the Fetch until enough is readable or its max_wait_ms passed.
    void park(const request_context& ctx, kafka::fetch_request req);
    /// Answers each parked Fetch that now has min_bytes (or an error).
    void wake();
    /// The connection is gone: its parked fetches are dropped.
    void on_close(const session& s);

    struct parked;

  private:
    /// Subscribes `p` to the high watermarks of the partitions it reads.
    void watch(const std::shared_ptr<parked>& p);
    /// Answers `p` if it now has min_bytes (or an error); true if it did.
    bool recheck(parked& p);
    void finish(parked& p);

    schedule_fn _schedule;
    std::list<std::shared_ptr<parked>> _parked;
    bool _waking = false;
};

}  // namespace fjord::broker
