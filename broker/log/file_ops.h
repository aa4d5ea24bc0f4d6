#pragma once
// File: broker/log/file_ops.h
//
// The file-system seam of the partition log: every disk access it makes goes
// through `file_ops`, so tests can substitute a layer that simulates a crash
// losing whatever was not synced (fault_file_ops.h). `posix_file_ops()` is
// the production implementation.
//
// This is controller/storage/file_ops.h's idea with one difference the broker
// needs: files are read at an offset (pread), not whole, because segments are
// large and fetches read a slice. TODO(broker): one file layer in common/
// serving both (controller/storage's is written against raft::errc).
//
// Contract: nothing throws. Every failure is a `result` carrying
// errc::io_error and a detail naming the operation, the path and strerror.
// A write is durable only after datasync() or sync() on its file; a created,
// renamed or removed directory entry only after sync_dir() on its parent.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fjord::broker::storage {

/// An open file, readable and writable at explicit offsets. Closing
/// (destruction) never syncs.
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
    create_or_truncate,  ///< O_CREAT|O_TRUNC
    existing,            ///< the file must exist; its contents are kept
};

class file_ops {
  public:
    virtual ~file_ops() = default;

    /// Opens `path` for reading and writing.
    virtual result<std::unique_ptr<file>> open(const std::string& path, open_mode mode) = 0;
    /// The whole contents of a (small) regular file.
    virtual result<std::string> read_file(const std::string& path) = 0;
    /// Names (not paths) of the entries of `dir`, without "." and "..".
    virtual result<std::vector<std::string>> list_dir(const std::string& dir) = 0;
    virtual result<bool> exists(const std::string& path) = 0;
    /// Creates `dir` if missing (its parent must exist) and makes the new
    /// entry durable; succeeds if it already is a directory.
    virtual result<void> make_dir(const std::string& dir) = 0;
    /// fsync on the directory: makes creations, renames and removals of its
    /// entries durable.
    virtual result<void> sync_dir(const std::string& dir) = 0;
    /// rename(2): atomically replaces `to`; durable after sync_dir(parent).
    virtual result<void> rename(const std::string& from, const std::string& to) = 0;
    /// unlink(2); an error if the file does not exist.
    virtual result<void> remove(const std::string& path) = 0;
};

/// The process-wide POSIX implementation (stateless, shareable).
std::shared_ptr<file_ops> posix_file_ops();

/// Replaces <dir>/<name> with `data`: <name>.tmp written and fdatasynced,
/// renamed over it, the directory fsynced. A crash leaves the old file or
/// the new one, and perhaps the .tmp (whose owner removes it on open).
result<void> replace_file(file_ops& fs, const std::string& dir, std::string_view name,
                          std::string_view data);

}  // namespace fjord::broker::storage
