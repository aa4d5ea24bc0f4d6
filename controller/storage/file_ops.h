#pragma once
// File: controller/storage/file_ops.h
//
// The file-system seam of the durable log: every disk access segmented_log
// makes goes through `file_ops`, so tests can substitute a layer that injects
// I/O errors or simulates a crash that loses whatever was not synced
// (see fault_file_ops.h). `posix_file_ops()` is the production implementation.
//
// Contract: nothing throws. Every failure is a `result` carrying
// raft::errc::io_error and a detail naming the operation, the path and
// strerror(errno). Paths are plain strings joined with '/'.
//
// Durability is explicit: a write is durable only after `datasync()` (data and
// the metadata needed to read it back, i.e. fdatasync) or `sync()` (fsync); a
// created, renamed or removed directory entry is durable only after
// `sync_dir()` on its parent.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fjord::storage {

/// An open file that can be written at explicit offsets. Closing (destruction)
/// never syncs: whatever was not synced may be lost in a crash.
class writable_file {
  public:
    virtual ~writable_file() = default;

    virtual const std::string& path() const = 0;
    /// Writes all of `data` at `offset`, retrying short writes and EINTR.
    virtual result<void> write_at(uint64_t offset, std::string_view data) = 0;
    /// fdatasync: written data (and the size needed to read it) is durable.
    virtual result<void> datasync() = 0;
    /// fsync: data and all metadata are durable (used after ftruncate).
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
    virtual ~file_ops() = default;

    virtual result<std::unique_ptr<writable_file>> open_writable(const std::string& path,
                                                                 open_mode mode) = 0;
    /// The whole contents of a regular file.
    virtual result<std::string> read_file(const std::string& path) = 0;
    /// Names (not paths) of the entries of `dir`, without "." and "..", in no
    /// particular order.
    virtual result<std::vector<std::string>> list_dir(const std::string& dir) = 0;
    virtual result<bool> exists(const std::string& path) = 0;
    /// Creates `dir` if missing (its parent must exist) and makes the new entry
    /// durable; succeeds if it already is a directory.
    virtual result<void> make_dir(const std::string& dir) = 0;
    /// fsync on the directory itself: makes creations, renames and removals of
    /// its entries durable.
    virtual result<void> sync_dir(const std::string& dir) = 0;
    /// rename(2): atomically replaces `to`; durable after sync_dir(parent).
    virtual result<void> rename(const std::string& from, const std::string& to) = 0;
    /// unlink(2); an error if the file does not exist.
    virtual result<void> remove(const std::string& path) = 0;
};

/// The process-wide POSIX implementation (stateless, shareable).
std::shared_ptr<file_ops> posix_file_ops();

}  // namespace fjord::storage
