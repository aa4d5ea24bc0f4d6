#pragma once
// File: common/data_dir.h
//
// Owning a data directory safely, and telling systemd we are up.
//
// - data_dir_lock: one process per data directory. flock(LOCK_EX|LOCK_NB) on
//   <dir>/LOCK, which also holds the owner's pid for the error message. The
//   kernel drops the lock when the process dies, so there is no stale lock to
//   clean up. A second acquire, from another process or the same one, fails.
// - identity: <dir>/identity says which node (and, once known, which cluster)
//   the directory belongs to, so a directory is never served by the wrong node
//   or joined to the wrong cluster. Written atomically (temp file, fsync,
//   rename, fsync of the directory) and checksummed (CRC32C). Call these only
//   while holding the data_dir_lock.
// - sd_notify: the systemd readiness protocol (one datagram to
//   $NOTIFY_SOCKET), without libsystemd. Failures are logged, never fatal.
//
// Library: fjord_data_dir (common/CMakeLists.txt); used by both daemons.
// Nothing here throws. Errors are data_dir_errc values whose detail names the
// directory or file, e.g.
//   data dir /var/lib/fjord/controller is locked by another process (pid 4242)
//   data dir /var/lib/fjord/controller belongs to node 2, this is node 1

#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "common/result.h"

namespace fjord {

enum class data_dir_errc {
    success = 0,
    locked,           ///< another process (or another data_dir_lock) holds the directory
    foreign_node,     ///< the identity names a different node id
    foreign_cluster,  ///< the identity names a different cluster uuid
    not_empty,        ///< data but no identity: refusing to guess whose it is
    corrupt,          ///< the identity file fails its checksum or format
    io_error,         ///< a file-system call failed
    invalid_uuid,     ///< a cluster uuid argument is not a UUID
};

const std::error_category& data_dir_category();
inline std::error_code make_error_code(data_dir_errc e) {
    return {static_cast<int>(e), data_dir_category()};
}

}  // namespace fjord

template <>
struct std::is_error_code_enum<fjord::data_dir_errc> : std::true_type {};

namespace fjord {

/// Exclusive ownership of a data directory for as long as the object lives
/// (the daemon keeps it for its lifetime). Move-only.
class data_dir_lock {
  public:
    /// Creates `dir` if missing (its parent must exist), opens or creates
    /// <dir>/LOCK, locks it without waiting and writes our pid into it.
    /// errc::locked: "data dir <dir> is locked by another process (pid N)"
    /// ("pid unknown" if the holder has not written its pid yet).
    static result<data_dir_lock> acquire(const std::string& dir);

    data_dir_lock(data_dir_lock&& o) noexcept;
    data_dir_lock& operator=(data_dir_lock&& o) noexcept;
    data_dir_lock(const data_dir_lock&) = delete;
    data_dir_lock& operator=(const data_dir_lock&) = delete;
    /// Releases the lock (closing the file; LOCK stays, with a stale pid that
    /// nobody trusts without holding the lock).
    ~data_dir_lock();

    const std::string& dir() const { return _dir; }

  private:
    data_dir_lock(std::string dir, int fd) : _dir(std::move(dir)), _fd(fd) {}

    std::string _dir;
    int _fd = -1;
};

/// The contents of <dir>/identity.
struct identity {
    fjord::node_id node_id;
    /// "" until the node has joined or founded a cluster; else canonical UUID.
    std::string cluster_uuid;
    /// The directory it was read from (not stored in the file).
    std::string dir;
};

/// Reads <dir>/identity; if there is none and the directory holds nothing but
/// LOCK, creates one for `node` with no cluster yet.
/// errc::foreign_node: "data dir <dir> belongs to node 2, this is node 1";
/// errc::not_empty if the directory has other entries but no identity;
/// errc::corrupt if the file is damaged.
result<identity> load_or_create_identity(const std::string& dir, node_id node);

/// Small checksummed settings files (the identity, the broker's cluster
/// record): `key=value` lines and `#` comments, then a last line
/// `crc32c=<8 hex digits>` over every byte before it. Written whole with
/// write_file_durably, so a damaged file is an edit or a disk fault, never a
/// torn write.
///
/// encode_checked_kv(body) appends the checksum line to `body` (whole lines).
/// decode_checked_kv(text, path, max) checks size, final newline, checksum
/// and line shape, and returns the key=value pairs in file order (comments
/// and blank lines skipped); each error is data_dir_errc::corrupt with
/// checked_kv_corrupt's detail.
std::string encode_checked_kv(std::string body);
result<std::vector<std::pair<std::string_view, std::string_view>>> decode_checked_kv(
    std::string_view text, const std::string& path, size_t max_bytes);
/// "<path>: <why>; the file is damaged or was edited" (data_dir_errc::corrupt).
error_info checked_kv_corrupt(const std::string& path, std::string_view why);

/// Replaces <dir>/<name> with `data` atomically and durably: <name>.tmp is
/// written and fsynced, renamed over <name>, and the directory fsynced. A
/// crash leaves the old contents or the new, never a mix.
result<void> write_file_durably(const std::string& dir, std::string_view name,
                                std::string_view data);

/// Reads <dir>/identity (errc::io_error with ENOENT's text if there is none).
result<identity> load_identity(const std::string& dir);

/// Records the cluster the node now belongs to. Idempotent for the same uuid.
/// errc::foreign_cluster if another one is recorded:
/// "data dir <dir> belongs to cluster X, not Y"; errc::invalid_uuid if `uuid`
/// is not a UUID (any case; stored canonical).
result<void> record_cluster_uuid(const std::string& dir, std::string_view uuid);

/// The configured cluster_id against the recorded one: fine if either is
/// empty (not configured / not known yet), else they must be the same UUID.
/// errc::foreign_cluster: "data dir <dir> belongs to cluster X, not Y" (Y the
/// configured one); errc::invalid_uuid for a malformed `cluster_id`.
result<void> check_expected_cluster(const identity& id, std::string_view cluster_id);

/// Sends `state` (e.g. "READY=1", "STATUS=replaying log") to $NOTIFY_SOCKET:
/// a filesystem path, or an abstract socket when it starts with '@'. Returns
/// true if sent; false if NOTIFY_SOCKET is unset (not run by systemd) or on
/// failure (logged as a warning).
bool sd_notify(std::string_view state);
/// sd_notify("READY=1"): start-up is complete.
bool sd_notify_ready();
/// sd_notify("STOPPING=1"): shutdown has begun.
bool sd_notify_stopping();

}  // namespace fjord
