#pragma once
// File: broker/cluster/partition.h
//
// One partition this broker serves: its log, the high watermark rule and
// the wake-up of whoever waits for the high watermark to move. The Kafka
// handlers and the group coordinator reach a partition through it
// (partition_manager::find); partition_log stays reachable through log()
// for what is purely log-level (reads, offset lookups, DeleteRecords,
// retention, compaction, configs).
//
// The high watermark rule (docs/durability.md; one replica until
// replication lands, so durable on this broker's disk is what "committed"
// means): a topic without write caching has its high watermark raised to
// the flushed offset when a sync completes (synced(), reported by the
// log_flusher); a write-caching topic has it at the log end as soon as an
// append is written (append()), and its syncs move only the flushed
// offset. Consumers therefore never see an offset a power loss could take
// back, unless the topic chose write caching.
//
// Threads: everything here is the io thread's (broker/server/README.md):
// the handlers, the partition manager and the flusher's completions
// (log_flusher.h) all run there. Observers run on it too, synchronously,
// inside the call that moved the high watermark.
//
// Lifetime: the partition manager owns partitions; it destroys one when
// the partition leaves this broker, after telling the flusher
// (log_flusher::forget). An observer is held weakly: the partition never
// keeps a subscriber alive, and a subscriber dropping its handle (or
// outliving the partition) needs no unsubscribe.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/storage/partition_log.h"
#include "common/result.h"

namespace fjord::broker {

class log_flusher;

class partition {
  public:
    /// Runs when the high watermark moved (io thread).
    using observer = std::function<void()>;
    /// Keeps an observer registered while it is held.
    using subscription = std::shared_ptr<observer>;

    /// `flusher` makes appends durable and outlives the partition.
    partition(std::unique_ptr<storage::partition_log> log, log_flusher& flusher);
    partition(const partition&) = delete;
    partition& operator=(const partition&) = delete;

    /// The log, for log-level operations. The high watermark moves only
    /// through this object (set it directly only before the partition is
    /// served, e.g. at open).
    storage::partition_log& log() { return *_log; }
    const storage::partition_log& log() const { return *_log; }
    kafka_offset high_watermark() const { return _log->high_watermark(); }

    /// Appends one batch (partition_log::append). Under write caching the
    /// high watermark moves to the log end at once and observers run.
    result<storage::append_info> append(std::string batch, int64_t now_ms);
    /// Shadow links (broker/shadow): appends a batch copied from the source
    /// at its own offsets (partition_log::append_copy); the high watermark
    /// rule is append()'s, so a copy is readable once durable.
    result<storage::append_info> append_copy(std::string batch, int64_t now_ms);
    /// Moves the start of an empty log (partition_log::move_empty_start);
    /// its high watermark moves with it and observers run.
    result<void> move_empty_start(kafka_offset o, int64_t now_ms);
    /// Makes every append so far durable (log_flusher::sync: group commit),
    /// then runs `done` (may be empty) with the outcome; the high watermark
    /// has moved by then.
    void sync(std::function<void(const result<void>&)> done);

    /// Called by the flusher only: applies a sync of `t` (its fdatasync's
    /// outcome `synced`) to the log and raises the high watermark by the
    /// rule above. Observers run if it moved and `wake` is true (the
    /// flusher's stop() passes false: nobody can be answered then). Returns
    /// the outcome the sync's waiters hear.
    result<void> synced(const storage::flush_ticket& t, const result<void>& synced, int64_t now_ms,
                        bool wake = true);

    /// Registers `fn` to run each time the high watermark moves, for as
    /// long as the returned handle is held.
    [[nodiscard]] subscription observe(observer fn);

  private:
    /// Raises the high watermark to `hw` if above it; runs the observers
    /// once if it moved and `wake`.
    void raise(kafka_offset hw, bool wake);
    /// Runs the live observers once.
    void wake();

    std::unique_ptr<storage::partition_log> _log;
    log_flusher& _flusher;
    std::vector<std::weak_ptr<observer>> _observers;
};

}  // namespace fjord::broker
