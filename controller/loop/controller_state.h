#pragma once
// File: controller/loop/controller_state.h
//
// The controller's state machine as the ready loop and the service see it:
// controller_stm behind a reader-writer lock.
//
//   loop thread:   apply()/restore()  (exclusive lock)  -> notifies watchers
//   gRPC threads:  read(fn)           (shared lock)     -> validate, list, snapshot
//
// Raft entries reach the stm here: normal entries are commands (or empty
// no-ops), membership changes update the members table. After each apply the
// `on_change` hooks run on the loop thread (record the cluster uuid in the
// data dir, point the transport at new members).

#include <condition_variable>
#include <functional>
#include <mutex>
#include <shared_mutex>

#include "common/rw_mutex.h"
#include "controller/loop/state_machine.h"
#include "controller/stm/controller_stm.h"

namespace fjord::loop {

class controller_state final : public state_machine {
  public:
    explicit controller_state(stm::stm_config cfg);

    // state_machine (loop thread only)
    result<void> apply(const raft::entry& e) override;
    std::vector<result<void>> apply_batch(std::span<const raft::entry> entries) override;
    std::string snapshot() override;
    result<void> restore(const raft::snapshot& s) override;

    /// Runs fn with shared (read) access to the stm.
    template <typename F>
    auto read(F&& fn) const {
        std::shared_lock lk(_mu);
        return fn(static_cast<const stm::controller_stm&>(_stm));
    }

    /// Blocks until the stm's revision exceeds `after`, `deadline` passes or
    /// `cancelled()` holds (polled every 100 ms). Returns the revision.
    revision_id wait_for_revision(revision_id after, std::chrono::steady_clock::time_point deadline,
                                  const std::function<bool()>& cancelled) const;

    /// Wakes every waiter (shutdown).
    void notify_all() { _cv.notify_all(); }

    /// Hooks run on the loop thread after changes: cluster uuid recorded,
    /// members changed. Set before the loop starts.
    std::function<void(const std::string&)> on_cluster_uuid;
    std::function<void(const stm::members_table&)> on_members;

  private:
    void after_change(const std::string& uuid_before, size_t members_before, bool members_changed);
    /// Applies one entry; the caller holds the exclusive lock.
    result<void> apply_locked(const raft::entry& e, bool& members_changed);

    /// Writer-preferring: the apply thread must not starve behind readers.
    mutable rw_mutex _mu;
    mutable std::condition_variable_any _cv;
    stm::controller_stm _stm;
};

}  // namespace fjord::loop
