#pragma once
// File: broker/storage/segment.h
//
// One segment of a partition log: `<base>.log` holds whole record batches
// back to back, `<base>.index` and `<base>.timeindex` its sparse indexes
// (segment_index.h), where <base> is the base offset of its first batch,
// 20 digits. partition_log owns the segments and the ordering rules between
// them; a segment knows its own files.
//
// Life cycle:
//   create()  ──▶ active ──seal()──▶ sealed ──remove_files()──▶ gone
//   recover() ──▶ active (the last segment found on open)
//   open_sealed() ─────────────────▶ sealed
// The active segment's indexes live in memory; seal() writes and syncs them
// (with the log) before partition_log creates the successor, so every
// segment but the last is complete on disk with indexes that match. The last
// one is always rescanned on open (recover()), so its index files may be
// stale or missing at any time.
//
// Not thread-safe (see partition_log).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "broker/storage/segment_index.h"
#include "broker/storage/types.h"
#include "common/fs/file_ops.h"
#include "common/kafka/record_batch.h"
#include "common/result.h"

namespace fjord::broker::storage {

/// "<base as 20 digits><ext>", e.g. "00000000000000000042.log".
std::string segment_file_name(kafka_offset base, std::string_view ext);
/// Splits a segment file name into its base offset and extension (".log",
/// ".index", ".timeindex", with or without a trailing ".tmp"); false if
/// `name` is not one.
bool parse_segment_file_name(std::string_view name, kafka_offset& base, std::string& ext);

inline constexpr std::string_view log_ext = ".log";
inline constexpr std::string_view offset_index_ext = ".index";
inline constexpr std::string_view time_index_ext = ".timeindex";
inline constexpr std::string_view tmp_ext = ".tmp";

/// What a read asks of one segment (see partition_log::read).
struct read_request {
    kafka_offset start;         ///< return batches whose last offset is >= start
    kafka_offset max_offset;    ///< ... and < max_offset
    uint64_t max_bytes = 0;     ///< whole batches up to this many bytes in the slice
    bool min_one_batch = true;  ///< the slice's first batch may exceed max_bytes
};

class segment {
  public:
    /// Creates an empty segment: its `.log` is created and the directory
    /// synced before this returns, so data later synced into it survives.
    static result<std::unique_ptr<segment>> create(fs::file_ops& fs, const std::string& dir,
                                                   kafka_offset base, int64_t now_ms);
    /// Opens a sealed segment whose successor starts at `next`. Its index
    /// files are loaded and checked (segment_index::decode); if one is
    /// missing or inconsistent both are rebuilt from the log and replaced
    /// atomically. A rebuild that finds a damaged batch, or batches that do
    /// not end at `next`, is errc::corrupt naming the file and position.
    /// A `cleaned` segment (rewritten by compaction, compactor.h) may have
    /// gaps between batches and end before `next`: its batches must still
    /// be valid, in increasing offset order, and all below `next`.
    static result<std::unique_ptr<segment>> open_sealed(fs::file_ops& fs, const std::string& dir,
                                                        kafka_offset base, kafka_offset next,
                                                        uint64_t index_interval, int64_t now_ms,
                                                        bool cleaned = false);
    /// Opens the last segment: scans every batch (framing, CRC-32C, offsets
    /// continuing from `base`), cuts the file at the first one that fails
    /// (ftruncate + fsync, logged as a warning) and rebuilds the indexes in
    /// memory. The surviving bytes are synced before this returns.
    /// `cleaned`: as in open_sealed (a cleaned segment that truncate_to
    /// made the last one): gaps between batches are no reason to cut.
    static result<std::unique_ptr<segment>> recover(fs::file_ops& fs, const std::string& dir,
                                                    kafka_offset base, uint64_t index_interval,
                                                    int64_t now_ms, bool cleaned = false);

    segment(const segment&) = delete;
    segment& operator=(const segment&) = delete;
    ~segment();

    kafka_offset base() const { return _base; }
    /// The offset after its last batch (base() when empty).
    kafka_offset next() const { return _next; }
    uint64_t size() const { return _size; }
    bool empty() const { return _size == 0; }
    /// The largest batch maxTimestamp in it (no_timestamp if none).
    int64_t max_timestamp() const { return _index.max_timestamp(); }
    /// Age for segment.ms, Kafka's way: the batch's maxTimestamp minus that
    /// of the segment's first batch if that has one, else now minus the time
    /// the segment was created (or opened). Callers pass, as the batch's
    /// maxTimestamp, the one it will be stored with: `now` for LogAppendTime
    /// topics (and for an idle roll, partition_log::maybe_roll).
    int64_t age_ms(int64_t now_ms, int64_t batch_max_timestamp) const;
    const std::string& log_path() const { return _log_path; }
    /// The open `.log` file, for an fdatasync on another thread (group
    /// commit): posix files allow it concurrently with writes.
    std::shared_ptr<fs::file> log_file() const { return _log; }

    /// Writes a validated batch, its offsets already assigned to continue
    /// next(), at the end of the log. Not durable until flush() or seal().
    result<void> append(std::string_view batch, const kafka::record_batch_header& h,
                        uint64_t index_interval);
    /// fdatasync of the log, if anything was written since the last one.
    result<void> flush();
    /// Makes the segment complete on disk: writes both index files (with
    /// the final time entry) and syncs them and the log.
    result<void> seal();
    /// Removes every batch whose last offset is >= o (a batch holding o is
    /// removed whole): ftruncate + fsync, then the indexes are rebuilt.
    result<void> truncate_before(kafka_offset o, uint64_t index_interval);
    /// What next() would be after truncate_before(o), changing nothing (a
    /// scan; errc::corrupt where truncate_before would fail).
    result<kafka_offset> end_if_truncated_before(kafka_offset o, uint64_t index_interval) const;
    /// Removes the log file, then the index files; the caller syncs the
    /// directory.
    result<void> remove_files();

    /// Appends to `out` the batches r asks for, in order, verifying each
    /// one's CRC-32C. Returns true when a limit ended the read, false when it
    /// ran to the end of the segment (the read goes on in the next one).
    /// Damaged data is errc::corrupt if it would be the slice's first batch;
    /// otherwise the slice ends before it (the next read reports it).
    result<bool> read(const read_request& r, fetch_slice& out) const;
    /// The first batch whose maxTimestamp >= ts, whose last offset is below
    /// max_offset and at or above min_offset (the log start), if this
    /// segment has one.
    result<std::optional<timestamp_offset>> find_timestamp(int64_t ts, kafka_offset max_offset,
                                                           kafka_offset min_offset = kafka_offset{
                                                               0}) const;

  private:
    segment(fs::file_ops& fs, std::string dir, kafka_offset base, int64_t now_ms);

    /// Whether `h`, read at `pos` where an index pointed, is a batch of this
    /// segment with a base offset <= max_base (I/O errors count as trusted:
    /// the caller reports them).
    bool trust_index_hint(const result<kafka::record_batch_header>& h, uint64_t pos,
                          kafka_offset max_base) const;
    /// Replaces `<prefix><ext>` with `data`: temp file, datasync, rename,
    /// directory sync.
    result<void> write_atomically(std::string_view ext, std::string_view data);

    fs::file_ops& _fs;
    std::string _dir;
    std::string _prefix;  ///< "<dir>/<base, 20 digits>"
    std::string _log_path;
    kafka_offset _base;
    kafka_offset _next;
    uint64_t _size = 0;
    segment_index _index;
    int64_t _first_timestamp = no_timestamp;  ///< maxTimestamp of the first batch
    int64_t _created_ms = 0;
    bool _cleaned = false;  ///< may have offset gaps (compaction)
    /// Shared with flush tickets (partition_log::prepare_flush), which may
    /// fdatasync it on another thread after the segment is sealed or gone.
    std::shared_ptr<fs::file> _log;
    bool _dirty = false;  ///< written since the last datasync
};

}  // namespace fjord::broker::storage
