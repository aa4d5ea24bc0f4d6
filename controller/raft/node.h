#pragma once
// File: controller/raft/node.h
//
// raft::node wraps the core for its one driver, the ready loop. The core never
// performs I/O; instead it hands out a `ready` record of everything that must
// happen outside, and the loop reports back with advance().
//
// THE READY CONTRACT. For each ready, in exactly this order:
//
//   0. send      early_messages, if any: a leader's appends, heartbeats and
//                snapshot chunks may go out before its own write is durable,
//                because the leader counts its own copy toward commit only
//                after advance() (thesis §10.2.1). Never votes or answers.
//   1. persist   hard_state, entries and snapshot to raft::storage, then
//                storage.sync() (one sync for the whole batch: group commit).
//                Nothing in steps 2-3 may happen before the sync returns: a
//                vote or an append acknowledgement sent before its data is on
//                disk can elect two leaders or lose a committed entry.
//   2. send      messages, to their `to` members (any order, any transport;
//                loss, delay and duplication are tolerated).
//   3. apply     snapshot (if any) and then committed_entries, in order, to
//                the state machine. Entries of type conf_change are applied by
//                the core in step 4; the state machine sees them and may
//                record them. read_states become serviceable once the state
//                machine has applied their index.
//   4. advance   node.advance(rd): marks the entries stable, the committed
//                entries applied, and applies membership changes.
//
// The contract is written once, as raft::handle_ready (ready_handler.h);
// every driver (the production loop, the simulation through it, and the
// interaction tests) runs its readies through it.
//
// Only then is the next ready taken. Inputs (step, tick, propose, ...) may
// arrive at any time between readies, on the same thread.
//
// Snapshots of the state machine are taken after advance(), at applied():
// storage.create_snapshot(applied(), conf_state(), data).
//
// Threading: none; one thread (the loop's strand) owns the node.

#include <optional>
#include <vector>

#include "controller/raft/raft.h"

namespace fjord::raft {

struct ready {
    /// Set when the volatile leader/role changed since the last ready.
    std::optional<raft::soft_state> soft_state;
    /// Set when term, vote or commit changed; persist before sending.
    std::optional<raft::hard_state> hard_state;
    /// Entries to append to storage (may replace a conflicting suffix).
    std::vector<entry> entries;
    /// A snapshot from the leader to install into storage and apply.
    std::optional<raft::snapshot> snapshot;
    /// Messages that may be sent before the above is durable (step 0).
    std::vector<message> early_messages;
    /// Messages to send once the above is durable.
    std::vector<message> messages;
    /// Entries committed and to be applied, in log order.
    std::vector<entry> committed_entries;
    /// Linearizable read points, answered for read_index() requests.
    std::vector<read_state> read_states;
    /// Whether step 1 needs a sync: false when only commit or soft state
    /// moved, true when entries, a snapshot, term or vote must be durable, and
    /// true when committed_entries hold a membership change. That change takes
    /// effect in advance(), and a restarted member rebuilds its voters from
    /// the committed entries it finds on disk, so the commit index that covers
    /// the change must be durable before the change is acted on (the storage
    /// writes it then: see storage::sync()).
    bool must_sync = false;

    bool empty() const {
        return !soft_state && !hard_state && entries.empty() && !snapshot && messages.empty() &&
               early_messages.empty() && committed_entries.empty() && read_states.empty();
    }
};

class node {
  public:
    node(const config& c, storage& s);

    // Inputs; see raft.h for each.
    void tick() { _raft.tick(); }
    void step(message m) { _raft.step(std::move(m)); }
    void campaign() { _raft.campaign(); }
    result<log_index> propose(std::vector<std::string> data) {
        return _raft.propose(std::move(data));
    }
    result<log_index> propose_conf_change(const conf_change& cc) {
        return _raft.propose_conf_change(cc);
    }
    result<void> transfer_leadership(node_id to) { return _raft.transfer_leadership(to); }
    result<void> read_index(std::string ctx) { return _raft.read_index(std::move(ctx)); }

    bool has_ready() const;
    /// Takes the next ready record. Call advance() with it when handled.
    ready take_ready();
    void advance(const ready& rd);

    node_id id() const { return _raft.id(); }
    node_id leader() const { return _raft.leader(); }
    role current_role() const { return _raft.role(); }
    term_id term() const { return _raft.term(); }
    log_index committed() const { return _raft.log().committed(); }
    log_index applied() const { return _raft.log().applied(); }
    log_index last_index() const { return _raft.log().last_index(); }
    /// Membership as of applied().
    const conf_state& conf() const { return _raft.conf(); }
    const raft::core& raft_core() const { return _raft; }

  private:
    core _raft;
    uint64_t _max_committed_bytes;
    soft_state _prev_soft;
    hard_state _prev_hard;
};

}  // namespace fjord::raft
