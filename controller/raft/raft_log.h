#pragma once
// File: controller/raft/raft_log.h
//
// The core's view of the log: the stable part in raft::storage followed by an
// unstable tail (entries, or a snapshot, not yet persisted by the ready loop).
//
//   storage:  [first_index ............ stable_last]
//   unstable:                               [_offset ......... last_index]
//   indexes:  applied <= applying <= committed <= last_index
//
// Owned by raft; same thread. Invariants are checked with FJORD_ASSERT: a
// violation means a bug in the core, and serving on would corrupt the log.

#include <optional>
#include <vector>

#include "controller/raft/storage.h"

namespace fjord::raft {

class raft_log {
  public:
    explicit raft_log(storage& s);

    log_index first_index() const;
    log_index last_index() const;
    /// The last index known durable: the end of storage's part of the log
    /// (entries in the unstable tail are not yet persisted).
    log_index last_stable_index() const;
    term_id last_term() const;
    /// Term at i, or errc::compacted / errc::unavailable.
    result<term_id> term(log_index i) const;
    /// Term at i, or 0 when unknown (compacted or beyond the log).
    term_id term_or_zero(log_index i) const;
    bool match_term(log_index i, term_id t) const;
    /// Raft §5.4.1: is a log ending at (index, term) at least as up-to-date?
    bool is_up_to_date(log_index index, term_id t) const;

    log_index committed() const { return _committed; }
    log_index applied() const { return _applied; }
    log_index applying() const { return _applying; }

    /// Follower side of AppendEntries: if the entry at `prev` has `prev_term`,
    /// reconcile `ents` into the log and advance commit. Returns the index of
    /// the last new entry, or nullopt when the terms do not match.
    std::optional<log_index> maybe_append(log_index prev, term_id prev_term, log_index commit,
                                          std::vector<entry> ents);
    /// Appends to the unstable tail, truncating any conflicting suffix.
    log_index append(std::vector<entry> ents);
    /// The largest index <= `index` whose term is <= `t`, and its term (etcd's
    /// findConflictByTerm): how far back one rejection lets the leader jump.
    std::pair<log_index, term_id> find_conflict_by_term(log_index index, term_id t) const;

    /// Advances commit to `i` if it is newer and has term `t` (leader rule:
    /// only entries of the current term are committed by counting).
    bool maybe_commit(log_index i, term_id t);
    void commit_to(log_index i);
    void applying_to(log_index i);
    void applied_to(log_index i);

    /// Entries [lo, hi) limited to max_bytes (at least one when lo < hi).
    result<std::vector<entry>> slice(log_index lo, log_index hi, uint64_t max_bytes) const;
    /// Committed entries not yet handed out for apply.
    std::vector<entry> next_committed_entries(uint64_t max_bytes) const;
    bool has_next_committed_entries() const;

    const std::vector<entry>& unstable_entries() const { return _unstable; }
    const std::optional<snapshot>& unstable_snapshot() const { return _unstable_snapshot; }
    /// The ready loop persisted entries through (i, t): drop them from unstable.
    void stable_to(log_index i, term_id t);
    void stable_snapshot_to(log_index i);

    /// The latest snapshot in storage, with its data.
    result<snapshot> load_stable_snapshot() const { return _storage.load_snapshot(); }
    snapshot_meta stable_snapshot_metadata() const { return _storage.snapshot_metadata(); }

    /// Replaces the log with a snapshot received from the leader.
    void restore(snapshot s);

  private:
    log_index unstable_last() const { return _offset + _unstable.size() - 1; }
    std::optional<log_index> find_conflict(const std::vector<entry>& ents) const;

    storage& _storage;
    std::optional<snapshot> _unstable_snapshot;
    std::vector<entry> _unstable;
    log_index _offset;  // index of _unstable[0]; storage.last_index() + 1 at rest
    log_index _committed;
    log_index _applying;
    log_index _applied;
};

}  // namespace fjord::raft
