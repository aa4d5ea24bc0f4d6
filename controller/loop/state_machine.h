#pragma once
// File: controller/loop/state_machine.h
//
// What the ready loop applies committed entries to. The loop calls these on
// its own thread only, in log order; an implementation that is read from
// other threads (the controller's tables) does its own locking.

#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/raft/types.h"

namespace fjord::loop {

class state_machine {
  public:
    virtual ~state_machine() = default;

    /// Applies one committed entry (normal, empty, or a membership change
    /// the core has already put into effect). The result is what the
    /// proposer of the entry is told; it never stops the loop. A failure to
    /// apply that would leave members diverged must FJORD_PANIC instead.
    virtual result<void> apply(const raft::entry& e) = 0;
    /// Applies a ready's committed entries in order; one result per entry.
    /// Implementations override it to take their locks once per batch.
    virtual std::vector<result<void>> apply_batch(std::span<const raft::entry> entries) {
        std::vector<result<void>> out;
        out.reserve(entries.size());
        for (const raft::entry& e : entries) {
            out.push_back(apply(e));
        }
        return out;
    }
    /// An image of the state at the last applied entry.
    virtual std::string snapshot() = 0;
    /// Replaces the state with a snapshot's image (at s.meta.index).
    virtual result<void> restore(const raft::snapshot& s) = 0;
};

}  // namespace fjord::loop
