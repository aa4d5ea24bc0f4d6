#pragma once
// File: controller/raft/memory_storage.h
//
// An in-memory raft::storage for tests and the deterministic simulation. Every
// write is "durable" the moment it returns; sync() does nothing. The
// simulation models lost unsynced writes above this class, not inside it.

#include <vector>

#include "controller/raft/storage.h"

namespace fjord::raft {

class memory_storage final : public storage {
  public:
    memory_storage() = default;

    hard_state initial_hard_state() const override { return _hard_state; }
    snapshot_meta snapshot_metadata() const override { return _snapshot.meta; }
    result<std::vector<entry>> entries(log_index lo, log_index hi,
                                       uint64_t max_bytes) const override;
    result<term_id> term(log_index i) const override;
    log_index first_index() const override { return _snapshot.meta.index + 1; }
    log_index last_index() const override {
        return _snapshot.meta.index + static_cast<uint64_t>(_entries.size());
    }
    result<raft::snapshot> load_snapshot() const override { return _snapshot; }

    result<void> append(std::span<const entry> entries) override;
    result<void> set_hard_state(const hard_state& hs) override;
    result<void> sync() override { return ok(); }
    result<void> install_snapshot(const raft::snapshot& s) override;
    result<void> create_snapshot(log_index i, const conf_state& conf, std::string data) override;

  private:
    const entry& at(log_index i) const { return _entries[i - first_index()]; }

    hard_state _hard_state;
    raft::snapshot _snapshot;
    std::vector<entry> _entries;  // _entries[0] has index first_index()
};

}  // namespace fjord::raft
