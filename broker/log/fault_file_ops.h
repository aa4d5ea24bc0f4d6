#pragma once
// File: broker/log/fault_file_ops.h
//
// Test-only file_ops that forwards to a real one and models what a power loss
// does to the files written through it (the model of
// controller/storage/fault_file_ops.h, over broker/log's file layer).
// Compiled into broker_log_test only.
//
// Model: per file it remembers the size at the last successful datasync() or
// sync(). crash() cuts every such file back to that size, then optionally
// leaves some junk after it (garbage, zeros, or a prefix of the bytes that
// were written but not synced: a torn write). A file created or renamed into
// place whose directory was never sync_dir()'ed since disappears.
// Limits: an unsynced ftruncate is not undone (the log syncs every truncation
// at once), and a removal that was not made durable is not undone.
//
// It can also fail the next sync with EIO and counts syncs per file.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/log/file_ops.h"

namespace fjord::broker::storage::testing {

/// What a crash leaves after a file's last synced byte.
enum class crash_tail {
    none,     ///< nothing: the file ends at its synced size
    garbage,  ///< n pseudo-random bytes
    zeros,    ///< n zero bytes
    partial,  ///< the first n bytes written after the synced size (a torn write)
};

class fault_file_ops final : public file_ops {
  public:
    explicit fault_file_ops(std::shared_ptr<file_ops> base = posix_file_ops());

    result<std::unique_ptr<file>> open(const std::string& path, open_mode mode) override;
    result<std::string> read_file(const std::string& path) override;
    result<std::vector<std::string>> list_dir(const std::string& dir) override;
    result<bool> exists(const std::string& path) override;
    result<void> make_dir(const std::string& dir) override;
    result<void> sync_dir(const std::string& dir) override;
    result<void> rename(const std::string& from, const std::string& to) override;
    result<void> remove(const std::string& path) override;

    /// Simulates a power loss on every file written through this layer (the
    /// log using it must be destroyed first). Forgets all tracking afterwards.
    void crash(crash_tail tail = crash_tail::none, uint64_t n = 0, uint32_t seed = 1);

    /// The next datasync() or sync() on any file fails with EIO.
    void fail_next_sync() { _fail_next_sync = true; }
    /// datasync() and sync() calls that succeeded on `path`.
    uint64_t syncs(const std::string& path) const;
    uint64_t total_syncs() const;

  private:
    friend class fault_file;

    struct file_state {
        uint64_t synced_size = 0;
        bool entry_durable = true;  ///< its directory entry survives a crash
    };

    result<void> before_sync(const std::string& path);
    void after_sync(const std::string& path);

    std::shared_ptr<file_ops> _base;
    std::map<std::string, file_state> _files;
    std::map<std::string, uint64_t> _sync_counts;
    bool _fail_next_sync = false;
};

}  // namespace fjord::broker::storage::testing
