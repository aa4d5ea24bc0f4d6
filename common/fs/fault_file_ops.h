#pragma once
// File: common/fs/fault_file_ops.h
//
// Test-only file_ops that forwards to a real one and models what a power loss
// does to the files written through it (library fjord_fs_testing).
//
// Model: per file it remembers the size at the last successful datasync() or
// sync(). crash() cuts every such file back to that size, then optionally
// leaves some junk after it (garbage, zeros, or a prefix of the bytes that
// were written but not synced: a torn write). Reopening a file with
// create_or_truncate forgets its synced bytes. A file created or renamed into
// place whose directory was never sync_dir()'ed since disappears; if it was
// renamed over a file whose entry was durable, that file comes back instead
// (rename is atomic: the old contents or the new). An unsynced rename is
// undone: the file is back under its old name (if that entry was durable).
// Limits: an unsynced ftruncate is not undone (both logs sync every
// truncation at once), and a removal that was not made durable is not undone.
// memory_file_ops.h models both; use it where that matters.
//
// It can also fail the next sync with EIO, fail every operation from the
// n-th on (a disk that dies, or with crash() after it, a power loss at that
// point) or every operation on some files, counts syncs per file and of
// directories, and keeps a journal of every mutating call in order, for
// tests of a log's write ordering.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fs/file_ops.h"

namespace fjord::fs::testing {

/// What a crash leaves after a file's last synced byte.
enum class crash_tail {
    none,     ///< nothing: the file ends at its synced size
    garbage,  ///< n pseudo-random bytes
    zeros,    ///< n zero bytes (a preallocated or zero-filled tail)
    partial,  ///< the first n bytes written after the synced size (a torn write)
};

class fault_file_ops final : public file_ops {
  public:
    /// Over posix_file_ops(io_error).
    explicit fault_file_ops(std::error_code io_error);
    /// Over `base`, failing with its io_error.
    explicit fault_file_ops(std::shared_ptr<file_ops> base);

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

    /// The next datasync() or sync() on any file fails with EIO (and records
    /// nothing as synced).
    void fail_next_sync() { _fail_next_sync = true; }
    /// Every operation (of this layer or of a file it opened: open, read,
    /// write, sync, truncate, rename, remove, listing, ...) after the next
    /// `n` fails with EIO and does nothing. fail_after(0): from the next one.
    void fail_after(uint64_t n) { _fail_from = _operations + n; }
    /// Every operation on a path (a rename: its source) containing `part`
    /// fails with EIO and does nothing, e.g. "producer_state" fails every
    /// write of the producer snapshot.
    void fail_paths_containing(std::string part) { _fail_path = std::move(part); }
    /// Stops fail_after() and fail_paths_containing().
    void heal() {
        _fail_from.reset();
        _fail_path.reset();
    }
    /// Operations attempted so far, failed ones included.
    uint64_t operations() const { return _operations; }
    /// datasync() and sync() calls that succeeded on `path`.
    uint64_t syncs(const std::string& path) const;
    uint64_t total_syncs() const;
    /// sync_dir() calls that succeeded.
    uint64_t dir_syncs() const { return _dir_syncs; }
    /// Mutating calls in order, one line each: "create <path>" (create_new or
    /// create_or_truncate), "open <path>" (existing), "write <path> <offset>
    /// <length>", "datasync <path>", "sync <path>", "truncate <path> <size>",
    /// "sync_dir <dir>", "rename <from> <to>", "remove <path>".
    const std::vector<std::string>& journal() const { return _journal; }
    void clear_journal() { _journal.clear(); }

  private:
    friend class fault_file;

    struct file_state {
        uint64_t synced_size = 0;
        bool entry_durable = true;  ///< its directory entry survives a crash
        /// Renamed over a durable file: what a crash brings back.
        std::optional<std::string> replaced;
        /// Renamed from a durable entry: where a crash brings it back (its
        /// synced bytes), as rename is atomic.
        std::optional<std::string> source;
    };

    /// Counts an operation; EIO if fail_after() or fail_paths_containing()
    /// says it fails.
    result<void> count(std::string_view what, const std::string& path);
    /// Called by the files: a sync of `path` is about to run (or should fail).
    result<void> before_sync(const std::string& path);
    void after_sync(const std::string& path);
    void note(std::string event) { _journal.push_back(std::move(event)); }

    std::shared_ptr<file_ops> _base;
    std::map<std::string, file_state> _files;
    std::map<std::string, uint64_t> _sync_counts;
    uint64_t _dir_syncs = 0;
    std::vector<std::string> _journal;
    bool _fail_next_sync = false;
    uint64_t _operations = 0;
    std::optional<uint64_t> _fail_from;
    std::optional<std::string> _fail_path;
};

}  // namespace fjord::fs::testing
