#pragma once
// File: common/fs/memory_file_ops.h
//
// Test-only file_ops that keeps a whole file system in memory and models what
// a power loss does to it, as harshly as POSIX allows, for the deterministic
// simulations (controller/sim, broker/sim), where thousands of seeds must
// each run several durable logs in one process (library fjord_fs_testing).
//
// Model (the page cache against the disk, per inode and per directory):
// - A file (an inode) has what reads see and what is durable: its contents at
//   its last successful datasync() or sync() (the two are the same here).
//   Writes and truncations change only what reads see, so an ftruncate that
//   was never synced is undone by a crash.
// - A directory has its entries as reads see them and its durable entries:
//   the entries at its last sync_dir(). Create, rename and remove change only
//   the former, so a crash makes an unsynced create disappear, brings an
//   unsynced removal back and undoes an unsynced rename (both names). A
//   directory made by make_dir() is durable at once (the contract of
//   make_dir). "/" and "." exist from the start.
// - crash() puts every directory back to its durable entries and every file
//   they name back to its durable contents; a file named by no durable entry
//   is gone. Then, where a file had grown past its durable contents, junk may
//   follow them: chosen by the caller (crash_tail, as fault_file_ops: garbage,
//   zeros, or the first n bytes written after them, a torn write) or drawn
//   from an rng (nothing, a torn write of random length, or up to 63 bytes of
//   garbage). Handles opened before a crash fail afterwards.
// Not modelled: reordering of writes within the durable prefix (a synced
// byte is never lost), metadata-only fsync differences (sync == datasync).
//
// Hooks for the simulations: a power cut after n operations (every later one
// fails with EIO until crash(), so the code under test sees a failure
// mid-sequence); a function called before every datasync(), sync() and
// sync_dir(), which may throw to model a power loss in the middle of that
// call (the call then has had no effect); and a negative control that makes
// syncs succeed without making anything durable.
//
// Not thread-safe: one owner (the simulation's thread).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/fs/fault_file_ops.h"
#include "common/fs/file_ops.h"

namespace fjord::fs::testing {

class memory_file_ops final : public file_ops {
  public:
    explicit memory_file_ops(std::error_code io_error);
    ~memory_file_ops() override;
    memory_file_ops(const memory_file_ops&) = delete;
    memory_file_ops& operator=(const memory_file_ops&) = delete;

    result<std::unique_ptr<file>> open(const std::string& path, open_mode mode) override;
    result<std::string> read_file(const std::string& path) override;
    result<std::vector<std::string>> list_dir(const std::string& dir) override;
    result<bool> exists(const std::string& path) override;
    result<void> make_dir(const std::string& dir) override;
    result<void> sync_dir(const std::string& dir) override;
    result<void> rename(const std::string& from, const std::string& to) override;
    result<void> remove(const std::string& path) override;

    /// Simulates a power loss (see the model above) leaving `tail` (n bytes,
    /// drawn from `seed`) after every file that had grown past its durable
    /// contents.
    void crash(crash_tail tail = crash_tail::none, uint64_t n = 0, uint32_t seed = 1);
    /// Simulates a power loss; `rng` picks each grown file's tail.
    void crash(std::mt19937_64& rng);

    /// Operations allowed before the power cut; the rest fail with EIO
    /// until crash(). Negative: no cut.
    void cut_after(int64_t ops) { _budget = ops; }
    /// Operations performed so far (to pick a cut point).
    uint64_t ops() const { return _ops; }
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
    friend class memory_file;

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
    /// Counts an operation; EIO once the power is cut.
    result<void> tick(const char* op, const std::string& path);
    /// Runs the hook (which may throw) and counts the sync.
    void before_sync(const std::string& path);
    /// Every directory back to its durable entries, every file they name to
    /// its durable contents followed by tail(inode, durable contents).
    template <typename Tail>
    void power_loss(Tail tail);

    std::map<std::string, directory> _dirs;
    std::function<void(const std::string&)> _before_sync;
    bool _syncs_durable = true;
    uint64_t _syncs = 0;
    int64_t _budget = -1;
    uint64_t _ops = 0;
    uint64_t _epoch = 0;  ///< bumped by a crash: older handles are dead
};

}  // namespace fjord::fs::testing
