#pragma once
// File: broker/log/memory_file_ops.h
//
// Test-only file_ops that keeps every file in memory and models what a
// power loss does to a real file system, as harshly as POSIX allows (the
// broker's simulation, broker/sim/, runs thousands of crashes through it;
// it is fast because nothing touches a disk). Compiled into test targets
// only (library fjord_broker_log_testing).
//
// Model (per inode and per directory):
//   - A file's bytes are durable up to what its last datasync()/sync()
//     saw; a crash leaves the durable bytes, then possibly a torn suffix of
//     the bytes written since (a prefix of them, or garbage). An ftruncate
//     that was never synced is undone: the durable bytes come back.
//   - A directory's entries (creations, renames, removals) are durable once
//     sync_dir() of that directory returned; a crash restores the last
//     durable set of entries, so an unsynced create disappears, an unsynced
//     removal comes back, and an unsynced rename is undone (both names).
//     make_dir() is durable at once, as its contract says.
//   - Power cut: after `cut_after(n)` the (n+1)-th operation and every later
//     one fail with EIO, as if the machine stopped there: the code under
//     test sees a failure mid-sequence; then crash() applies the model.
// Not modelled: reordering of writes within the durable prefix (a synced
// byte is never lost), metadata-only fsync differences (sync == datasync).
//
// Not thread-safe: the simulation is single-threaded.

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "broker/log/file_ops.h"

namespace fjord::broker::storage::testing {

class memory_file_ops final : public file_ops {
  public:
    memory_file_ops();
    ~memory_file_ops() override;

    result<std::unique_ptr<file>> open(const std::string& path, open_mode mode) override;
    result<std::string> read_file(const std::string& path) override;
    result<std::vector<std::string>> list_dir(const std::string& dir) override;
    result<bool> exists(const std::string& path) override;
    result<void> make_dir(const std::string& dir) override;
    result<void> sync_dir(const std::string& dir) override;
    result<void> rename(const std::string& from, const std::string& to) override;
    result<void> remove(const std::string& path) override;

    /// Operations allowed before the power cut; the rest fail with EIO
    /// until crash(). Negative: no cut.
    void cut_after(int64_t ops) { _budget = ops; }
    /// Operations performed so far (to pick a cut point).
    uint64_t ops() const { return _ops; }
    /// The power loss: every file and directory goes back to its durable
    /// state (see the file comment); `rng` picks the torn suffixes. Files
    /// still open must not be used afterwards (their handles fail).
    void crash(std::mt19937_64& rng);

    struct inode;
    struct directory;

  private:
    friend class memory_file;
    /// Counts an operation; EIO once the power is cut.
    result<void> tick(const char* op, const std::string& path);
    directory* dir_of(const std::string& path, std::string& name);

    std::map<std::string, std::unique_ptr<directory>> _dirs;
    int64_t _budget = -1;
    uint64_t _ops = 0;
    uint64_t _epoch = 0;  ///< bumped by crash(): older handles are dead
};

}  // namespace fjord::broker::storage::testing
