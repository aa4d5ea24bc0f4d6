#pragma once
// File: controller/raft/progress.h
//
// The leader's view of each member (etcd's tracker.Progress): how much of the
// log it holds (match), what to send next (next), and how: one probe at a time
// until the follower's position is known, then pipelined appends bounded by
// `inflights`, or a snapshot when the entries it needs are compacted.
//
// Owned by raft on the leader; same thread.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>

#include "controller/raft/types.h"

namespace fjord::raft {

/// The last indexes of appends sent but not yet acknowledged; bounded, so a
/// slow follower cannot make the leader buffer without limit.
class inflights {
  public:
    explicit inflights(size_t capacity) : _capacity(capacity) {}
    void add(log_index last) { _buf.push_back(last); }
    /// Frees every append whose last index is <= `to` (they were acknowledged).
    void free_le(log_index to) {
        while (!_buf.empty() && _buf.front() <= to) {
            _buf.pop_front();
        }
    }
    void free_first() {
        if (!_buf.empty()) {
            _buf.pop_front();
        }
    }
    bool full() const { return _buf.size() >= _capacity; }
    size_t count() const { return _buf.size(); }
    void reset() { _buf.clear(); }

  private:
    size_t _capacity;
    std::deque<log_index> _buf;
};

enum class progress_state : uint8_t { probe, replicate, snapshot };

struct progress {
    explicit progress(size_t max_inflight) : ins(max_inflight) {}

    log_index match;
    log_index next{1};
    progress_state state = progress_state::probe;
    /// In probe state: an append is outstanding; send no more until a
    /// response or the next heartbeat response.
    bool probe_sent = false;
    /// Heard from since the last check-quorum round.
    bool recent_active = false;
    bool is_learner = false;
    inflights ins;
    /// In snapshot state: the snapshot being sent, the offset of the chunk in
    /// flight (or next to send), and where that chunk ends. One chunk is in
    /// flight at a time; it is re-sent only after `snapshot_idle` heartbeat
    /// responses brought no answer (it or its answer was lost).
    std::shared_ptr<const snapshot> pending_snapshot;
    uint64_t snapshot_offset = 0;
    uint64_t snapshot_chunk_end = 0;
    bool snapshot_chunk_inflight = false;
    int snapshot_idle = 0;

    void become_probe();
    void become_replicate();
    void become_snapshot(std::shared_ptr<const snapshot> s);
    /// A successful append response up to n. Returns whether match advanced.
    bool maybe_update(log_index n);
    /// A rejection of the append after `rejected`; `hint` is the highest index
    /// that may match. Returns false for stale rejections.
    bool maybe_decr_to(log_index rejected, log_index hint);
    /// Whether the leader should hold off sending appends.
    bool is_paused() const;
};

}  // namespace fjord::raft
