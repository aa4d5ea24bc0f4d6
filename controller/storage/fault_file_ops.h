#pragma once
// File: controller/storage/fault_file_ops.h
//
// Test-only file_ops that forwards to a real one and models what a power loss
// does to the files written through it. Compiled into storage_test only.
//
// Model: per file it remembers the size at the last successful datasync() or
// sync(). crash() cuts every such file back to that size, then optionally
// leaves some junk after it (garbage, zeros, or a prefix of the bytes that
// were written but not synced: a torn write). A file created or renamed into
// place whose directory was never sync_dir()'ed since disappears.
// Limits of the model: an unsynced ftruncate is not undone (the log fsyncs
// every truncation immediately, so it never depends on this), and a rename
// over an existing file that is lost in the crash does not bring the old
// file back (the log renames and syncs the directory in one call).
//
// It can also fail the next sync with EIO, counts syncs, and keeps a journal
// of every mutating call in order, for tests of the log's write ordering.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "controller/storage/file_ops.h"

namespace fjord::storage::testing {

/// What a crash leaves after a file's last synced byte.
enum class crash_tail {
    none,     ///< nothing: the file ends at its synced size
    garbage,  ///< n pseudo-random bytes
    zeros,    ///< n zero bytes (a preallocated or zero-filled tail)
    partial,  ///< the first n bytes written after the synced size (a torn write)
};

class fault_file_ops final : public file_ops {
  public:
    explicit fault_file_ops(std::shared_ptr<file_ops> base = posix_file_ops());

    result<std::unique_ptr<writable_file>> open_writable(const std::string& path,
                                                         open_mode mode) override;
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

    /// The next datasync() or sync() on any file fails with EIO (and records
    /// nothing as synced).
    void fail_next_sync() { _fail_next_sync = true; }
    /// datasync() and sync() calls that succeeded, by path.
    uint64_t syncs(const std::string& path) const;
    uint64_t total_syncs() const;
    uint64_t dir_syncs() const { return _dir_syncs; }
    /// Mutating calls in order, one line each: "create <path>" (create_new or
    /// create_or_truncate), "open <path>" (existing), "write <path> <offset>
    /// <length>", "datasync <path>", "sync <path>", "truncate <path> <size>",
    /// "sync_dir <dir>", "rename <from> <to>", "remove <path>".
    const std::vector<std::string>& journal() const { return _journal; }
    void clear_journal() { _journal.clear(); }

  private:
    friend class fault_writable_file;

    struct file_state {
        uint64_t synced_size = 0;
        bool entry_durable = true;  ///< its directory entry survives a crash
    };

    /// Called by the files: a sync of `path` succeeded (or should fail).
    result<void> before_sync(const std::string& path);
    void after_sync(const std::string& path);
    void note(std::string event) { _journal.push_back(std::move(event)); }

    std::shared_ptr<file_ops> _base;
    std::map<std::string, file_state> _files;
    std::map<std::string, uint64_t> _sync_counts;
    uint64_t _dir_syncs = 0;
    std::vector<std::string> _journal;
    bool _fail_next_sync = false;
};

}  // namespace fjord::storage::testing
