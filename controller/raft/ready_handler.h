#pragma once
// File: controller/raft/ready_handler.h
//
// The ready contract of node.h, written once. Every driver of a raft::node
// runs its readies through handle_ready(): the production ready loop
// (controller/loop/raft_loop), the simulation (which drives that same loop)
// and the interaction tests (controller/raft/interaction_test.cc). A driver
// supplies only what differs: the storage, the transport, how committed
// entries reach its state machine, and what it measures.
//
// Still pure: this calls the raft::storage and raft::transport interfaces
// and the driver's callbacks; it owns no clock, thread or file.

#include <functional>

#include "common/result.h"
#include "controller/raft/node.h"
#include "controller/raft/storage.h"
#include "controller/raft/transport.h"

namespace fjord::raft {

struct ready_driver {
    raft::storage& log;
    raft::transport& net;
    /// Step 3: restore rd.snapshot (when set), then apply rd.committed_entries
    /// in order, and serve rd.read_states. Must not fail: a state machine that
    /// cannot apply a committed entry stops the process itself.
    std::function<void(const ready& rd)> apply;
    /// Called once step 1 is done, with whether it synced (for metrics).
    std::function<void(bool synced)> persisted;
};

/// Runs steps 0-4 of the ready contract for `rd` (just taken from `n`):
/// sends early_messages; persists the snapshot, entries and hard state and
/// syncs when rd.must_sync; sends messages; applies; advances `n`. Messages
/// are moved out of `rd`.
///
/// A storage failure returns at once, naming the step, with nothing of the
/// later steps done (no message sent after a failed write, nothing applied,
/// no advance): the driver must then stop, because the log's durability is
/// no longer known.
result<void> handle_ready(node& n, ready& rd, const ready_driver& d);

}  // namespace fjord::raft
