#pragma once
// File: controller/raft/storage.h
//
// The seam between the pure Raft core and the disk (etcd's Storage, LogCabin's
// Storage::Log). The core only *reads* through `storage`; the ready loop is the
// one writer (controller/loop/raft_loop, or a test harness). Implementations:
// raft::memory_storage (tests, simulation) and storage::segmented_log (durable).
//
// Threading: not thread-safe; the core and the ready loop share one thread.
//
// Indexes: the log holds entries [first_index(), last_index()]; the entry at
// first_index() - 1 is the snapshot's last entry, whose term is still known.
// An empty log after snapshot S has first_index() == S.index + 1 and
// last_index() == S.index.

#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "controller/raft/errc.h"
#include "controller/raft/types.h"

namespace fjord::raft {

class storage {
  public:
    virtual ~storage() = default;

    // --- read side (the core) ---

    /// The hard state last persisted (empty on a new member).
    virtual hard_state initial_hard_state() const = 0;
    /// The latest snapshot's metadata (index 0 when there is none).
    virtual snapshot_meta snapshot_metadata() const = 0;
    /// Entries in [lo, hi), at most `max_bytes` of them by byte_size() but
    /// always at least one when lo < hi. errc::compacted if lo < first_index(),
    /// errc::unavailable if hi > last_index() + 1.
    virtual result<std::vector<entry>> entries(log_index lo, log_index hi,
                                               uint64_t max_bytes) const = 0;
    /// Term of the entry at i, for i in [first_index() - 1, last_index()].
    virtual result<term_id> term(log_index i) const = 0;
    virtual log_index first_index() const = 0;
    virtual log_index last_index() const = 0;
    /// The latest snapshot with its data (for sending to a lagging follower).
    virtual result<raft::snapshot> load_snapshot() const = 0;

    // --- write side (the ready loop) ---

    /// Appends entries; entries.front().index may be <= last_index() + 1, in
    /// which case the log's suffix from that index is replaced. Not durable
    /// until sync().
    virtual result<void> append(std::span<const entry> entries) = 0;
    /// Records the hard state; durable after sync().
    virtual result<void> set_hard_state(const hard_state& hs) = 0;
    /// Makes everything appended and set so far durable (group commit: one
    /// sync covers every append since the last one). The commit index of the
    /// hard state may lag the one set (Raft recomputes it) except across a
    /// membership change: once a sync returns, the durable commit covers every
    /// conf_change entry at or below the commit set, because a restarted
    /// member rebuilds its voter set from the snapshot plus the committed
    /// changes it finds, and must find every change it has acted on.
    virtual result<void> sync() = 0;
    /// Replaces the whole log with a snapshot received from the leader.
    /// Durable when it returns.
    virtual result<void> install_snapshot(const raft::snapshot& s) = 0;
    /// Records a snapshot the local state machine took at applied index `i`
    /// and discards log entries up to `i`. Durable when it returns; entries are
    /// discarded only after the snapshot is.
    virtual result<void> create_snapshot(log_index i, const conf_state& conf, std::string data) = 0;
};

}  // namespace fjord::raft
