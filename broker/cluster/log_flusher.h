#pragma once
// File: broker/cluster/log_flusher.h
//
// Group commit for the partition logs: what makes "acknowledged" mean
// "durable". Callers on the io thread ask for a log's appends so far to be
// made durable (sync()); one worker thread fdatasyncs, in one round, the
// active segment of every log asked about since the last round began, then
// posts the completions back to the io thread, where each is reported to
// its partition (partition::synced: the flushed offset and the high
// watermark move, the partition's observers wake) and the callbacks run. While a round is
// on the disk, new requests gather for the next one: many producers and
// partitions share one fdatasync each per round, so throughput does not
// fall to one sync per request.
//
// The high watermark rule is the partition's (partition.h): the flusher
// only reports each completed sync to it.
//
// Threads: sync(), forget() and stop() are the io thread's; the callbacks
// run there. The worker touches only the tickets' files (fdatasync is safe
// next to pwrite on the same descriptor). Without a post function (tests,
// tools) there is no worker: sync() syncs on the calling thread and runs
// `done` before it returns.
//
// Lifetime: the partition manager calls forget() before it destroys a
// partition; requests for it then complete with errc::not_open and the
// partition is never touched again. stop() finishes the round in flight, fails what is still
// queued (nothing waits forever) and joins the worker.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "broker/cluster/partition.h"
#include "broker/storage/partition_log.h"
#include "common/result.h"

namespace fjord::broker {

class log_flusher {
  public:
    using done_fn = std::function<void(const result<void>&)>;
    /// Runs `fn` on the io thread, later.
    using post_fn = std::function<void(std::function<void()>)>;

    /// Inline: no worker, sync() completes before it returns.
    log_flusher();
    /// Who runs a round's fdatasyncs.
    enum class worker_mode {
        thread,  ///< a worker thread (the broker)
        manual,  ///< run_round() on the caller's thread (deterministic simulation)
    };
    /// Completions go through `post`. `now` is read on the io thread when a
    /// completion is applied (flush.ms bookkeeping).
    log_flusher(post_fn post, std::function<int64_t()> now, worker_mode mode = worker_mode::thread);
    ~log_flusher();
    log_flusher(const log_flusher&) = delete;
    log_flusher& operator=(const log_flusher&) = delete;

    /// Makes every append to `p`'s log so far durable, reports it to `p`
    /// (partition::synced), then runs `done` (io thread) with the outcome;
    /// `done` may be empty. Callers go through partition::sync(). A failed
    /// fdatasync fails the log (partition_log::fail: the page cache cannot
    /// be trusted after it) and every waiter hears the error.
    void sync(partition& p, done_fn done);
    /// The partition is about to go: drop it from every round; its waiters
    /// get errc::not_open.
    void forget(partition& p);
    /// See the file comment. Idempotent.
    void stop();
    /// worker_mode::manual: the worker's half of the round handed off, if
    /// any (the syncs, then its completion posted); false if none was.
    bool run_round();

    /// Rounds run and fdatasyncs issued (metrics, tests, benchmarks).
    /// Readable from any thread.
    uint64_t rounds() const { return _rounds.load(std::memory_order_relaxed); }
    uint64_t syncs() const { return _syncs.load(std::memory_order_relaxed); }

  private:
    struct entry {
        partition* part = nullptr;
        storage::flush_ticket ticket;
        std::vector<done_fn> waiters;
        result<void> outcome = ok();
        bool synced = false;  ///< the worker ran ticket.sync() (outcome is real)
        bool forgotten = false;
    };
    using round = std::vector<std::shared_ptr<entry>>;

    /// Hands everything gathered in _next to the worker as one round.
    void launch();
    void worker();
    /// Syncs a round's tickets and posts its completion (worker's side).
    void sync_round(std::shared_ptr<round> r);
    /// The io thread's half of a finished round.
    void complete(const round& r);
    static void fail_all(const round& r, const error_info& e);

    post_fn _post;
    std::function<int64_t()> _now;
    /// Requests gathered for the next round, by partition (io thread only).
    std::map<partition*, std::shared_ptr<entry>> _next;
    /// The round on the disk now, for forget() (io thread only).
    std::shared_ptr<round> _in_flight;
    bool _stopped = false;

    // Shared with the worker.
    std::mutex _mu;
    std::condition_variable _cv;
    std::shared_ptr<round> _handoff;  ///< the round given to the worker
    bool _quit = false;
    std::thread _thread;

    std::atomic<uint64_t> _rounds{0};
    std::atomic<uint64_t> _syncs{0};
};

}  // namespace fjord::broker
