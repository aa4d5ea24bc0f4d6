#pragma once
// File: controller/storage/segmented_log.h
//
// segmented_log: the durable raft::storage. A data directory holds
//   <dir>/log/<first index, 20 digits>.seg      the log, in segments
//   <dir>/snapshot/<index, 20 digits>.snap      the newest snapshot
//   <dir>/hard_state                            term, vote, commit
// (README.md in this directory has the byte layouts and the recovery rules.)
//
// Contract, beyond raft::storage's:
// - Durability: append() and set_hard_state() only write (or remember); they
//   are durable once sync() returns. sync() fdatasyncs the segments written
//   since the last sync (group commit), then - only if term or vote changed
//   since the hard-state file was last written - replaces that file atomically.
//   A change of commit alone is not written by itself: the file carries the
//   commit of its last write, so a recovered commit may be lower than the last
//   one set. That is safe (Raft recomputes commit), never higher than the log.
// - create_snapshot(), install_snapshot() are durable when they return; log
//   segments are deleted only after the snapshot that covers them is durable.
// - Every entry from first_index() to last_index() is kept in memory, so the
//   read side never touches the disk (except load_snapshot(), which reads and
//   verifies the snapshot file).
// - open() recovers: a torn tail of the last segment (a crash mid-write) is
//   cut off with a warning; any other damage is errc::corrupt naming the file
//   and byte offset, and the log is not served.
// - After a write-side I/O error the log is failed: every later write-side
//   call returns that error (the page cache can no longer be trusted after a
//   failed fsync); reopen to recover. The read side keeps working.
// - Not thread-safe (see raft::storage). One process per directory.

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/fs/file_ops.h"
#include "common/result.h"
#include "controller/raft/storage.h"

namespace fjord::storage {

struct options {
    /// The data directory; created (with its subdirectories) if missing. Its
    /// parent must exist.
    std::string dir;
    /// A segment is closed and a new one started when the next record would
    /// take the current one past this size. A record larger than this gets a
    /// segment to itself.
    uint64_t segment_size = uint64_t{64} * 1024 * 1024;
    /// The file system; null means fs::posix_file_ops(raft::errc::io_error). Tests inject faults
    /// here.
    std::shared_ptr<fs::file_ops> fs;
};

class segmented_log final : public raft::storage {
  public:
    /// Opens (or creates) the log in `opts.dir` and recovers it. Fails with
    /// errc::corrupt if durable data is damaged other than by a torn tail,
    /// errc::io_error if the disk fails.
    static result<std::unique_ptr<segmented_log>> open(options opts);

    segmented_log(const segmented_log&) = delete;
    segmented_log& operator=(const segmented_log&) = delete;
    /// Closes the files without syncing: unsynced writes have no promise.
    ~segmented_log() override;

    // raft::storage, read side.
    raft::hard_state initial_hard_state() const override;
    raft::snapshot_meta snapshot_metadata() const override;
    result<std::vector<raft::entry>> entries(log_index lo, log_index hi,
                                             uint64_t max_bytes) const override;
    result<term_id> term(log_index i) const override;
    log_index first_index() const override;
    log_index last_index() const override;
    result<raft::snapshot> load_snapshot() const override;

    // raft::storage, write side.
    result<void> append(std::span<const raft::entry> entries) override;
    result<void> set_hard_state(const raft::hard_state& hs) override;
    result<void> sync() override;
    result<void> install_snapshot(const raft::snapshot& s) override;
    result<void> create_snapshot(log_index i, const raft::conf_state& conf,
                                 std::string data) override;

    /// `<dir>/log`, `<dir>/snapshot` and `<dir>/hard_state`.
    const std::string& log_dir() const { return _log_dir; }
    const std::string& snapshot_dir() const { return _snap_dir; }
    const std::string& hard_state_path() const { return _hs_path; }

  private:
    /// One segment file. Only the last segment has an open file; earlier ones
    /// were synced when the next was started, so only the last can be torn.
    struct segment {
        log_index first;                ///< index of its first record (from its name)
        std::string path;               ///< file path
        std::vector<uint64_t> offsets;  ///< record offset of entry first + k
        uint64_t size = 0;              ///< end of its last record
        std::unique_ptr<fs::file> file;
        bool dirty = false;  ///< written since its last sync
    };

    explicit segmented_log(options opts);

    result<void> recover();
    result<void> load_hard_state();
    result<void> load_newest_snapshot(std::vector<std::string>& stale);
    /// Recovers the log's segments in three steps with one contract: nothing
    /// on disk changes until the first two have passed (a log found corrupt is
    /// left as it was found, for inspection). Paths to remove are added to
    /// `stale` (which may already hold the snapshot step's).
    result<void> recover_segments(std::vector<std::string>& stale);
    struct scanned_segment;
    struct recovery_plan;
    /// Scan: lists the segments, skips (as stale) those wholly before the one
    /// holding the snapshot's entry, and reads and scans the rest; errc::corrupt
    /// if they leave a gap after the snapshot, are not contiguous, or their
    /// terms go down across a boundary. Reads only.
    result<void> scan_segments(recovery_plan& plan, std::vector<std::string>& stale);
    /// Validate: finds the last segment's torn tail (what to cut, or a torn
    /// header: the segment goes), whether the segments disagree with the
    /// snapshot (an interrupted install: all go), and collects the entries after
    /// the snapshot; errc::corrupt if a term is below the snapshot's or the
    /// hard state's commit is beyond the last entry. Reads nothing, writes
    /// nothing.
    result<void> validate_segments(recovery_plan& plan, std::vector<std::string>& stale);
    /// Repair: removes stale segments (then syncs both directories), discarded
    /// ones newest first (each removal durable before the next), cuts the torn
    /// tail (synced), opens the active segment and installs the result.
    result<void> repair_segments(recovery_plan& plan, std::vector<std::string>& stale);

    /// Records a write-side failure; every later write returns it.
    error_info fail(error_info e);
    result<void> check_failed() const;

    /// Writes validated entries that continue the log, starting segments as
    /// they fill up. Not durable until sync().
    result<void> write_records(std::span<const raft::entry> entries);
    /// Seals the current segment (fdatasync) and creates the next one, whose
    /// header and directory entry are durable before it returns.
    result<void> start_segment(log_index first);
    /// Removes entries >= cut, in memory and durably on disk.
    result<void> truncate_suffix(log_index cut);
    /// Removes all segments but the first `keep`, newest first, each removal
    /// durable before the next.
    result<void> remove_segments_from_back(size_t keep);
    /// Drops entries <= i and the segments holding only such entries; the
    /// snapshot at i must already be durable.
    result<void> compact(log_index i);
    /// Whether the commit set since the last hard-state write covers a
    /// conf_change entry (which forces the write; see sync()).
    bool commits_conf_change();
    result<void> write_hard_state(const raft::hard_state& hs);
    /// Makes the snapshot file durable, then removes the one it supersedes.
    result<void> write_snapshot(const raft::snapshot_meta& meta, std::string_view data);

    std::string snapshot_path(log_index index) const;

    options _opts;
    std::shared_ptr<fs::file_ops> _fs;
    std::string _log_dir;
    std::string _snap_dir;
    std::string _hs_path;

    std::deque<raft::entry> _entries;  ///< [first_index(), last_index()]
    std::vector<segment> _segments;    ///< ascending by first; may start before first_index()
    raft::snapshot_meta _snap;         ///< index 0: no snapshot
    raft::hard_state _hs;              ///< the latest set_hard_state()
    raft::hard_state _persisted_hs;    ///< what the hard-state file holds
    log_index _conf_scanned;           ///< entries up to here checked by commits_conf_change()
    std::optional<error_info> _failed;
};

}  // namespace fjord::storage
