#pragma once
// File: controller/storage/memory_file_ops.h
//
// Test-only file_ops that keeps a whole file system in memory and models what
// a power loss does to it, for the deterministic simulation (controller/sim),
// where thousands of seeds must each run several durable logs in one process.
//
// Model (the page cache against the disk, per POSIX):
// - A file (an inode) has what reads see and what is durable: its contents at
//   its last successful datasync() or sync(). Writes and truncations change
//   only what reads see.
// - A directory has its entries as reads see them and its durable entries:
//   the entries at its last sync_dir(). create, rename and remove change only
//   the former. A directory made by make_dir() is durable at once (the
//   contract of make_dir).
// - crash() puts every directory back to its durable entries and every file
//   they name back to its durable contents; a file named by no durable entry
//   is gone. Optionally junk is left after a file's durable contents when the
//   file had grown past them (crash_tail, as fault_file_ops: garbage, zeros,
//   or the first n bytes written after them, a torn write).
// This is fault_file_ops' model without its limits: an unsynced ftruncate is
// undone, and a rename over an existing file that is lost in the crash brings
// the old file back.
//
// Hooks for the simulation: a function called before every datasync(),
// sync() and sync_dir(), which may throw to model a power loss in the middle
// of that call (the call then has had no effect); and a negative control
// that makes syncs succeed without making anything durable.
//
// Not thread-safe: one owner (the simulation's thread).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "controller/storage/fault_file_ops.h"
#include "controller/storage/file_ops.h"

namespace fjord::storage::testing {

class memory_file_ops final : public file_ops {
  public:
    memory_file_ops();
    ~memory_file_ops() override;
    memory_file_ops(const memory_file_ops&) = delete;
    memory_file_ops& operator=(const memory_file_ops&) = delete;

    result<std::unique_ptr<writable_file>> open_writable(const std::string& path,
                                                         open_mode mode) override;
    result<std::string> read_file(const std::string& path) override;
    result<std::vector<std::string>> list_dir(const std::string& dir) override;
    result<bool> exists(const std::string& path) override;
    result<void> make_dir(const std::string& dir) override;
    result<void> sync_dir(const std::string& dir) override;
    result<void> rename(const std::string& from, const std::string& to) override;
    result<void> remove(const std::string& path) override;

    /// Simulates a power loss (see the model above). Files still open keep
    /// working on contents no path names any more: close them first.
    void crash(crash_tail tail = crash_tail::none, uint64_t n = 0, uint32_t seed = 1);

    /// Called with the path before every datasync(), sync() and sync_dir();
    /// may throw, and the sync then has no effect. Null: none.
    void set_before_sync(std::function<void(const std::string&)> hook) {
        _before_sync = std::move(hook);
    }
    /// Negative control: when false, every sync succeeds and makes nothing
    /// durable (a disk that ignores flushes).
    void set_syncs_durable(bool on) { _syncs_durable = on; }

    /// datasync(), sync() and sync_dir() calls that returned success.
    uint64_t total_syncs() const { return _syncs; }
    /// Bytes held by the files that reads see.
    uint64_t total_bytes() const;

  private:
    friend class memory_writable_file;

    struct inode {
        std::string data;           ///< what reads see
        uint64_t durable_size = 0;  ///< data[0, durable_size) is durable...
        /// ...unless this is set: the durable contents, saved when a write
        /// or truncation reached below durable_size after the last sync.
        std::unique_ptr<std::string> durable;

        void keep_durable();
        void make_durable();
        std::string durable_contents() const;
    };
    struct directory {
        std::map<std::string, std::shared_ptr<inode>> live;
        std::map<std::string, std::shared_ptr<inode>> durable;
    };

    /// The directory and name of `path`; null when the directory does not exist.
    directory* parent(const std::string& path, std::string& name);
    std::shared_ptr<inode> find(const std::string& path);
    result<void> before_sync(const std::string& path);

    std::map<std::string, directory> _dirs;
    std::function<void(const std::string&)> _before_sync;
    bool _syncs_durable = true;
    uint64_t _syncs = 0;
};

}  // namespace fjord::storage::testing
