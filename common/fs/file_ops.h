#pragma once
// File: common/fs/file_ops.h
//
// The file-system seam of every durable log in Fjord (the controller's
// segmented log, the broker's partition logs): each disk access they make
// goes through `file_ops`, so tests can substitute a layer that injects I/O
// errors or simulates a power loss that loses whatever was not synced
// (fault_file_ops.h over a real disk, memory_file_ops.h in memory).
// `posix_file_ops()` is the production implementation.
//
// Contract: nothing throws. Every failure is a `result` carrying the
// `io_error` code its file_ops was made with (the owning module's: the
// controller's raft::errc::io_error, the broker's storage::errc::io_error, so
// each module's callers translate one error space in one table) and a detail
// naming the operation, the path and strerror. Paths are plain strings
// joined with '/'.
//
// Durability is explicit: a write is durable only after `datasync()` (data
// and the metadata needed to read it back, i.e. fdatasync) or `sync()`
// (fsync); a created, renamed or removed directory entry is durable only
// after `sync_dir()` on its parent.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.h"

namespace fjord::fs {

/// An open file, readable and writable at explicit offsets. Closing
/// (destruction) never syncs: whatever was not synced may be lost in a crash.
class file {
  public:
    virtual ~file() = default;

    virtual const std::string& path() const = 0;
    /// The current size (fstat).
    virtual result<uint64_t> size() const = 0;
    /// Reads up to out.size() bytes at `offset`, retrying short reads; fewer
    /// only at the end of the file. Returns the number read.
    virtual result<size_t> read_at(uint64_t offset, std::span<char> out) const = 0;
    /// Writes all of `data` at `offset`, retrying short writes and EINTR.
    virtual result<void> write_at(uint64_t offset, std::string_view data) = 0;
    /// fdatasync: written data (and the size needed to read it) is durable.
    virtual result<void> datasync() = 0;
    /// fsync: data and all metadata are durable (used after truncate).
    virtual result<void> sync() = 0;
    /// ftruncate to `size`; durable only after sync().
    virtual result<void> truncate(uint64_t size) = 0;
};

enum class open_mode {
    create_new,          ///< O_CREAT|O_EXCL: fails if the file exists
    create_or_truncate,  ///< O_CREAT|O_TRUNC: for temp files
    existing,            ///< the file must exist; its contents are kept
};

class file_ops {
  public:
    /// `io_error`: the code every failure of this layer (and of the files it
    /// opens) carries.
    explicit file_ops(std::error_code io_error) : _io_error(io_error) {}
    virtual ~file_ops() = default;

    std::error_code io_error() const { return _io_error; }

    /// Opens `path` for reading and writing.
    virtual result<std::unique_ptr<file>> open(const std::string& path, open_mode mode) = 0;
    /// The whole contents of a (small) regular file.
    virtual result<std::string> read_file(const std::string& path) = 0;
    /// Names (not paths) of the entries of `dir`, without "." and "..", in
    /// no particular order.
    virtual result<std::vector<std::string>> list_dir(const std::string& dir) = 0;
    virtual result<bool> exists(const std::string& path) = 0;
    /// Creates `dir` if missing (its parent must exist) and makes its entry
    /// durable; succeeds if it already is a directory (and syncs the parent
    /// then too: the entry may still be only in the page cache).
    virtual result<void> make_dir(const std::string& dir) = 0;
    /// fsync on the directory itself: makes creations, renames and removals
    /// of its entries durable.
    virtual result<void> sync_dir(const std::string& dir) = 0;
    /// rename(2): atomically replaces `to`; durable after sync_dir(parent).
    virtual result<void> rename(const std::string& from, const std::string& to) = 0;
    /// unlink(2); an error if the file does not exist.
    virtual result<void> remove(const std::string& path) = 0;

  protected:
    /// A failure of `call` on `path` with errno `err`, in this layer's code.
    error_info failure(std::string_view call, const std::string& path, int err) const;

  private:
    std::error_code _io_error;
};

/// The POSIX implementation, reporting failures as `io_error`. It holds
/// nothing else, so one per owner is as good as one per process.
std::shared_ptr<file_ops> posix_file_ops(std::error_code io_error);

/// The parent directory of `path`: "." for a bare name, "/" for a top-level
/// path.
std::string parent_of(const std::string& path);

/// Removes `path` if it exists (exists(), then remove()): for cleanup that
/// a crash may already have done. Not durable until sync_dir(parent).
result<void> remove_if_present(file_ops& fs, const std::string& path);

/// Replaces <dir>/<name> with the concatenation of `pieces` (written one
/// write each, so no large copy is made): <name>.tmp written and fsynced,
/// renamed over <name>, the directory fsynced. A crash leaves the old file or
/// the new one, and perhaps the .tmp (whose owner removes it on open). The
/// one atomic-replace recipe of the tree: hard state and snapshots of the
/// controller's log, checkpoints, snapshots and indexes of the broker's.
result<void> replace_file(file_ops& fs, const std::string& dir, std::string_view name,
                          std::initializer_list<std::string_view> pieces);

}  // namespace fjord::fs
