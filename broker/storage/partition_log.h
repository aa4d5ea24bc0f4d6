#pragma once
// File: broker/storage/partition_log.h
//
// partition_log: the log of one Kafka partition replica in one directory.
// It stores Kafka record batches (v2) exactly as the producer sent them,
// except for the base offset it assigns (and, for LogAppendTime topics, the
// max timestamp). README.md in this directory has the file layout and the
// recovery rules.
//
// A pure storage module: no sockets, no threads, no clock. Every call that
// depends on time takes `now_ms` from the caller, so tests are deterministic.
// Not thread-safe: the owner (the broker's partition, on its strand)
// serializes all calls. One process per directory.
//
// Who calls what (one replica; the leader is the only writer):
//
//   produce ──▶ append(batch, now) ──▶ offsets assigned, batch written;
//               │                      the flush policy may fdatasync here
//               └─▶ prepare_flush() ... ticket.sync() on the flusher's thread
//                   ... complete_flush() ──▶ set_high_watermark(flushed_offset())
//                   (broker/cluster/log_flusher.h: group commit; with
//                   write_caching, set_high_watermark(log_end_offset()) at once)
//   fetch   ──▶ read(offset, max_bytes, high_watermark())
//   ListOffsets ──▶ offset_for_timestamp(ts, high_watermark()),
//                   log_start_offset(), high_watermark()
//   DeleteRecords ──▶ delete_records_before(offset)   (the log start moves)
//   timers  ──▶ maybe_flush(now)        (flush.ms on an idle partition)
//               maybe_roll(now)         (segment.ms on an idle partition)
//               apply_retention(now)    (retention.ms / retention.bytes)
//               compact(now, limits)    (cleanup.policy=compact: the cleaner)
//   replication / tests ──▶ truncate_to(offset)
//
// Idempotent producers: append() checks each batch carrying a producer id
// against the partition's producer state (producer_state.h). A retry of a
// batch already written returns where it went and writes nothing; a gap in
// sequences or a fenced epoch is refused. The state is saved at every roll
// (a roll that cannot save it fails the log) and rebuilt at open() from that
// snapshot plus the batches after it, which are only the active segment's:
// compaction may rewrite any other.
//
// Durability: append() only writes; data is durable once flush() (or a roll,
// which seals the old segment) has returned; flushed_offset() is the
// offset up to which that holds (Kafka's recovery point). A crash may lose
// anything after it; open() then cuts the last segment back to its longest
// valid prefix. open() leaves the log flushed and the high watermark at the
// log end.
//
// After a write-side I/O error the log is failed: every later write-side call
// returns that error (the page cache can no longer be trusted after a failed
// fsync); reopen to recover. Reads keep working.

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/storage/producer_state.h"
#include "broker/storage/types.h"
#include "common/fs/file_ops.h"
#include "common/result.h"

namespace fjord::broker::storage {

class segment;
struct compaction_state;

enum class timestamp_type {
    create_time,      ///< maxTimestamp as the producer set it
    log_append_time,  ///< the broker's `now` at append replaces it
};

/// Per-partition settings; the names in the comments are Kafka's topic
/// configs, which these mirror (types, defaults, "never" values).
struct log_config {
    /// segment.bytes: roll when the next batch would take the active segment
    /// past this. In [61, 2^31 - 1] (positions in .index are 32-bit).
    int64_t segment_bytes = int64_t{1} << 30;
    /// segment.ms: roll when the active segment is older than this (see
    /// segment::age_ms). >= 1.
    int64_t segment_ms = int64_t{7} * 24 * 3600 * 1000;
    /// index.interval.bytes: bytes of batches between index entries. >= 0.
    int64_t index_interval_bytes = 4096;
    /// retention.ms: delete sealed segments whose newest batch is older than
    /// this. -1: no limit.
    int64_t retention_ms = int64_t{7} * 24 * 3600 * 1000;
    /// retention.bytes: delete the oldest sealed segments while the log
    /// stays at least this large without them. -1: no limit.
    int64_t retention_bytes = -1;
    /// flush.messages: fdatasync once this many offsets are unflushed.
    /// >= 1; the maximum (Kafka's default) leaves flushing to the OS.
    int64_t flush_messages = std::numeric_limits<int64_t>::max();
    /// flush.ms: fdatasync when the last flush is this old (checked on
    /// append and maybe_flush). >= 0; the maximum means never.
    int64_t flush_ms = std::numeric_limits<int64_t>::max();
    /// max.message.bytes: the largest batch accepted. >= 0.
    int64_t max_batch_bytes = 1048588;
    /// message.timestamp.type.
    timestamp_type message_timestamp_type = timestamp_type::create_time;
    /// write.caching (Redpanda's topic property): false, the default, means
    /// acks=all is answered and the high watermark moves only once a batch
    /// is fdatasynced; true means both happen after the write and the flush
    /// policy above bounds what a power loss takes. The log only carries
    /// it; the broker's log_flusher (broker/cluster) applies it.
    bool write_caching = false;
    /// producer.id.expiration.ms (a broker config in Kafka): an idempotent
    /// producer not heard from for this long is forgotten at the next roll.
    int64_t producer_id_expiration_ms = int64_t{24} * 3600 * 1000;
    /// cleanup.policy: "delete" lets apply_retention() remove old segments
    /// by retention.ms and retention.bytes; "compact" lets compact() keep
    /// only the latest record of each key. Either or both, not neither.
    bool cleanup_delete = true;
    bool cleanup_compact = false;
    /// delete.retention.ms: how long the cleaner keeps a tombstone (a record
    /// with a null value) after it first cleaned it (README.md says why
    /// that is enough). >= 0.
    int64_t delete_retention_ms = int64_t{24} * 3600 * 1000;
    /// min.cleanable.dirty.ratio: compact only when the part not yet
    /// compacted is at least this share of the compactable log. In [0, 1].
    double min_cleanable_dirty_ratio = 0.5;
    /// min.compaction.lag.ms: never compact a segment holding a record
    /// younger than this (by its batch's maxTimestamp). >= 0.
    int64_t min_compaction_lag_ms = 0;
    /// A shadow topic's log (append_copy): sealed segments may end before
    /// their successor's base (a gap in the source's offsets), which open()
    /// then accepts when it rebuilds a segment's indexes, as it does for
    /// compacted segments. Like Redpanda's redpanda.remote.allowgaps.
    bool offset_gaps = false;

    bool operator==(const log_config&) const = default;
};

/// Checks every value's range; errc::invalid_config naming the key.
result<void> validate(const log_config& c);

/// An fdatasync of everything appended so far, prepared on the owner's
/// thread and run on any thread (group commit: broker/cluster/log_flusher).
/// Holds the file open, so a roll, retention or close in the meantime is
/// harmless; complete_flush() records the outcome back on the owner's thread.
struct flush_ticket {
    std::shared_ptr<fs::file> log_file;  ///< null: nothing to sync
    kafka_offset upto;                   ///< everything below is durable once synced
    uint64_t generation = 0;             ///< truncate_to() invalidates older tickets
    /// fdatasync; thread-safe for posix files.
    result<void> sync() const;
};

struct append_info {
    kafka_offset base_offset;
    kafka_offset last_offset;
    /// The broker time written as maxTimestamp for LogAppendTime topics;
    /// no_timestamp for CreateTime (Produce's log_append_time_ms).
    int64_t log_append_time = no_timestamp;
};

/// Whether read() may return a first batch larger than max_bytes. Kafka
/// returns it for the first partition of a Fetch (so a consumer always
/// progresses) and keeps the others within their limits.
enum class first_batch { may_exceed_max_bytes, within_max_bytes };

struct retention_info {
    size_t segments = 0;  ///< segments deleted
    uint64_t bytes = 0;   ///< their size
};

struct segment_info {
    kafka_offset base;
    kafka_offset next;  ///< the offset after its last batch
    uint64_t size_bytes = 0;
    int64_t max_timestamp = no_timestamp;
    bool operator==(const segment_info&) const = default;
};

/// What one compact() call did.
struct compaction_info {
    size_t segments_cleaned = 0;   ///< segments rewritten (replaced by cleaned ones)
    uint64_t bytes_before = 0;     ///< their size
    uint64_t bytes_after = 0;      ///< the size of what replaced them
    uint64_t records_removed = 0;  ///< records they held that are gone
    uint64_t bytes_read = 0;       ///< the work: bytes read to map keys and to clean
    bool pass_done = false;        ///< a pass finished (the dirty range is now clean)
    bool in_progress = false;      ///< a pass goes on at the next call
};

/// How much one compact() call may do.
struct compaction_limits {
    /// Stop once about this many bytes were read (at least one read of at
    /// most 1 MiB, or one batch, is made); the pass resumes at the next
    /// call. The default: the whole pass.
    uint64_t max_bytes = std::numeric_limits<uint64_t>::max();
    /// Memory for the offset map (keys and their offsets): the dirty range
    /// of a pass ends at the first segment boundary after it fills (as
    /// Kafka's log.cleaner.dedupe.buffer.size); the rest waits for the next.
    uint64_t max_map_bytes = uint64_t{64} << 20;
};

class partition_log {
  public:
    /// Opens (or creates, with its directory, whose parent must exist) the
    /// log in `dir` and recovers it: see README.md. `fs` null means
    /// fs::posix_file_ops(errc::io_error); tests inject faults there.
    /// `first_offset`: where a log whose directory holds no segment starts
    /// (its first segment's base; a mounted partition's start, README.md
    /// "Log start"); ignored once the log has a segment.
    static result<std::unique_ptr<partition_log>> open(std::string dir, log_config config,
                                                       int64_t now_ms,
                                                       std::shared_ptr<fs::file_ops> fs = nullptr,
                                                       kafka_offset first_offset = kafka_offset{0});

    partition_log(const partition_log&) = delete;
    partition_log& operator=(const partition_log&) = delete;
    /// Closes the files without syncing: unflushed appends have no promise.
    ~partition_log();

    // --- write side -----------------------------------------------------------

    /// Validates one producer batch (batch_header.h: length, magic, CRC,
    /// offsets, count; max.message.bytes; segment.bytes), assigns it the next
    /// offsets, rolls the active segment first if segment.bytes or segment.ms
    /// say so, writes it, and applies the flush policy. A rejected batch
    /// changes nothing.
    result<append_info> append(std::string batch, int64_t now_ms);
    /// Shadow links (broker/shadow): appends one batch copied from another
    /// cluster's log at the offsets it has there, byte for byte. Refused
    /// (errc::offset_out_of_range, changing nothing) unless its baseOffset
    /// is at or above log_end_offset(): a copy never overlaps or rewrites
    /// what the log holds. The batch is checked (validate_copied_batch: its
    /// CRC, never recomputed) but not rewritten: no offset assignment, no
    /// LogAppendTime, no max.message.bytes or record checks, and the
    /// producer state records it without judging its sequence (the source
    /// already decided). A baseOffset above the log end leaves a gap, which
    /// is preserved: the batch starts a new segment based at it (an empty
    /// active segment is replaced by one based there), so every segment
    /// stays contiguous inside and reads skip the gap as they skip
    /// compaction's. The log end becomes the batch's last offset + 1. The
    /// flush policy and the high watermark rule are append()'s.
    result<append_info> append_copy(std::string batch, int64_t now_ms);
    /// Moves the start of a log that holds no batch (size_bytes() == 0) to
    /// `o`: its empty active segment is replaced by one based at `o`, so the
    /// log start, end, high watermark and flushed offset all become `o` (a
    /// shadow partition starting where its source starts, as a mounted
    /// partition starts at open()'s first_offset). Down as well as up: an
    /// empty log has nothing a reader has seen; but never below the
    /// DeleteRecords start (records_deleted_before()). `o` equal to the log
    /// end changes nothing; a log holding batches, or a negative `o`, is
    /// errc::offset_out_of_range. Durable before it returns.
    result<void> move_empty_start(kafka_offset o, int64_t now_ms);
    /// Makes every append so far durable (fdatasync of the active segment).
    result<void> flush(int64_t now_ms);
    /// Flushes if flush.ms has passed since the last flush and something is
    /// unflushed; true if it flushed.
    result<bool> maybe_flush(int64_t now_ms);
    /// flush() in two halves for group commit: the ticket's sync() may run
    /// on another thread while appends go on; complete_flush() (owner's
    /// thread) then raises flushed_offset() to the ticket's offset, or fails
    /// the log if the sync failed. A ticket older than a truncate_to() is
    /// errc::not_open and changes nothing (its offsets may hold other data
    /// now: its waiters must not hear "durable").
    flush_ticket prepare_flush() const;
    result<void> complete_flush(const flush_ticket& t, const result<void>& synced, int64_t now_ms);
    /// Seals the active segment and starts a new one, unless it is empty.
    result<void> roll(int64_t now_ms);
    /// Sets the high watermark, in [log_start_offset(), log_end_offset()].
    /// The caller owns its meaning and monotonicity (see the class comment).
    result<void> set_high_watermark(kafka_offset hw);
    /// Removes every batch holding an offset >= o (a batch holding o goes
    /// whole), durably, and returns the new log end. o >= the log end
    /// changes nothing; o below the log start is errc::offset_out_of_range.
    /// The high watermark and flushed offset are lowered to the new end
    /// (and the log start, if the cut batch held it).
    result<kafka_offset> truncate_to(kafka_offset o);
    /// DeleteRecords: moves the log start up to `o` (-1: the high
    /// watermark) and returns the new log start. `o` at or below the log
    /// start changes nothing; above the high watermark (or negative) is
    /// errc::offset_out_of_range. The new start is durable before this
    /// returns (the checkpoint file, README.md); then whole segments below
    /// it are removed, oldest first (never the active one). The start may
    /// lie inside a segment, even inside a batch: reads and ListOffsets
    /// below it are refused as below any log start.
    result<kafka_offset> delete_records_before(kafka_offset o);
    /// Rolls the active segment of an idle partition (nothing appended for
    /// more than segment.ms) if it is not empty and older than segment.ms by
    /// append's rule (segment::age_ms), taking `now_ms` as the timestamp of
    /// the batch that is not coming: so retention can delete it. True if it
    /// rolled.
    result<bool> maybe_roll(int64_t now_ms);
    /// Deletes whole segments, oldest first, never one holding offsets at or
    /// above the high watermark: those wholly below the log start
    /// (DeleteRecords), then those whose newest batch is older than
    /// retention.ms, then while the log without them is still at least
    /// retention.bytes. Size never deletes the active segment; time does,
    /// Kafka's way, when it has expired and the high watermark is at the
    /// log end: it is rolled first, then deleted. The log start moves to the
    /// first remaining segment if that is higher. Segments whose batches
    /// carry no timestamps are only deleted by size. Time and size apply
    /// only when cleanup.policy has delete (a compact-only log keeps every
    /// key's latest record however old).
    result<retention_info> apply_retention(int64_t now_ms);
    /// Applies new settings (validated) from the next call on. A log that
    /// holds copied batches keeps offset_gaps whatever `c` says.
    result<void> set_config(log_config c);

    /// Shadow topics (docs/shadow-links.md). A log opened with offset_gaps
    /// records so in a marker file (`shadow_copy`) before any append_copy,
    /// so that it keeps accepting its gaps after its topic stops being a
    /// shadow. end_copies() is called once nothing copies into it any more
    /// (its topic failed over, or its link went): the producer state the
    /// copies brought (the source's producer ids and sequences, which would
    /// clash with this cluster's own idempotent producers) is dropped,
    /// durably (flush, empty snapshot at the log end, marker "ended"), and
    /// append_copy is refused from then on. Idempotent; a crash at any
    /// point redoes it at the next call.
    result<void> end_copies(int64_t now_ms);
    /// Whether the log holds copied batches and end_copies() has not run.
    bool copying() const { return _holds_copies && !_copies_ended; }
    /// Tiered storage (broker/tiered): apply_retention() removes no segment
    /// holding an offset at or above `limit` (what is not uploaded yet);
    /// nullopt, the default, sets no such bound. Not durable: the owner sets
    /// it again after a restart, before the first apply_retention(). Does
    /// not bound DeleteRecords (delete_records_before), an explicit
    /// deletion.
    void set_retention_limit(std::optional<kafka_offset> limit) { _retention_limit = limit; }
    std::optional<kafka_offset> retention_limit() const { return _retention_limit; }
    /// Log compaction (Kafka's log cleaner; README.md, "Compaction"), if
    /// cleanup.policy has compact: when the dirty part of the cleanable log
    /// is at least min.cleanable.dirty.ratio of it, maps the latest offset
    /// of every key in the dirty part, then rewrites the sealed segments
    /// from the first one, in groups of at most segment.bytes, keeping the
    /// latest record of each key (and tombstones for delete.retention.ms),
    /// and swaps each group in atomically. Offsets never change; removed
    /// records leave gaps, which reads skip. Never touches the active
    /// segment, offsets at or above the high watermark, or segments with
    /// records younger than min.compaction.lag.ms. Bounded by `limits`; a
    /// pass goes on over several calls. A damaged batch stops compaction of
    /// this log until it is reopened (errc::corrupt, once).
    result<compaction_info> compact(int64_t now_ms, const compaction_limits& limits = {});
    /// Whether a compaction pass is under way (the next compact() goes on
    /// with it); it holds its offset map until it ends.
    bool compaction_in_progress() const;

    // --- read side ------------------------------------------------------------

    /// Whole batches from the one holding `start`, each verified against its
    /// CRC-32C, up to max_bytes (the first may exceed it unless `rule` says
    /// otherwise), all with offsets below max_offset (clamped to the log
    /// end; callers serving consumers pass high_watermark()). `start` at or
    /// beyond max_offset gives an empty slice; outside [log_start_offset(),
    /// log_end_offset()] errc::offset_out_of_range. Damaged data is never
    /// returned: errc::corrupt if it is where the slice would begin,
    /// otherwise the slice ends before it.
    result<fetch_slice> read(kafka_offset start, uint64_t max_bytes, kafka_offset max_offset,
                             first_batch rule = first_batch::may_exceed_max_bytes) const;
    /// ListOffsets by timestamp: the first batch (in offset order) whose
    /// maxTimestamp >= ts and whose offsets are all below max_offset; none if
    /// there is no such batch. Batch granularity: the answer is the batch's
    /// base offset and maxTimestamp (Kafka finds the record inside it).
    /// ts < 0 counts as 0.
    result<std::optional<timestamp_offset>> offset_for_timestamp(int64_t ts,
                                                                 kafka_offset max_offset) const;

    /// The first offset readable: the first segment's base, or higher
    /// after DeleteRecords (delete_records_before).
    kafka_offset log_start_offset() const;
    /// The offset the next append gets.
    kafka_offset log_end_offset() const;
    kafka_offset high_watermark() const { return _high_watermark; }
    /// Every offset below this is durable (Kafka's recovery point).
    kafka_offset flushed_offset() const { return _flushed; }
    /// Bytes in all segments.
    uint64_t size_bytes() const;
    std::vector<segment_info> segments() const;
    /// The open `.log` file of the segment based at `base`, or null: for a
    /// reader on another thread (tiered storage uploads sealed segments from
    /// a worker thread). Positional reads of it are thread-safe, and the
    /// handle keeps the bytes readable after retention, compaction or
    /// close() remove or replace the file. Only sealed segments stay as
    /// they are (append writes the active one, truncate_to may cut any):
    /// the reader checks what it reads (CRCs, offsets, the size it expects).
    std::shared_ptr<fs::file> segment_file(kafka_offset base) const;
    /// When the active segment got its first batch (or, for a non-empty
    /// active segment found at open, the open time), by the `now_ms` of the
    /// calls; nullopt while it is empty. Tiered storage rolls an active
    /// segment holding data older than its upload interval.
    std::optional<int64_t> active_since_ms() const;
    /// The log start DeleteRecords set (its checkpoint, README.md "Log
    /// start"); 0 if there is none. Unlike log_start_offset(), retention
    /// never moves it: tiered storage moves the remote start to it, and to
    /// nothing local retention did.
    kafka_offset records_deleted_before() const { return _records_deleted_before; }
    const log_config& config() const { return _config; }
    const std::string& dir() const { return _dir; }

  private:
    partition_log(std::string dir, log_config config, std::shared_ptr<fs::file_ops> fs,
                  int64_t now_ms);

    result<void> recover(int64_t now_ms);
    /// Seals the active segment (if not empty) and starts the next at
    /// `base` (>= the log end): roll() at the log end, append_copy() past a
    /// gap.
    result<void> roll_at(kafka_offset base, int64_t now_ms);
    /// Replaces the empty active segment with an empty one based at `base`
    /// (!= its base): the new file is created first, then the old removed,
    /// so a crash leaves one or both; recover() removes an empty segment
    /// that is not the last.
    result<void> rebase_empty_active(kafka_offset base, int64_t now_ms);
    /// flush.messages and flush.ms after an append; a failed flush fails it.
    result<void> apply_flush_policy(int64_t now_ms);
    /// Saves the producer state for the log up to its end (at a roll),
    /// forgetting expired producers first, durably. Callers fail the log if
    /// it fails: a stale snapshot would be replayed through segments
    /// compaction rewrites. (`now_ms` empty: no expiry, e.g. after a
    /// truncation.)
    result<void> save_producer_state(std::optional<int64_t> now_ms);
    /// Rebuilds the producer state: the saved snapshot if it still fits the
    /// log, then the batches after it. `replayed_sealed` (if given) tells
    /// whether that replay began below the active segment.
    result<void> load_producer_state(bool* replayed_sealed = nullptr);
    /// Sets the log start from its checkpoint (README.md), or from the first
    /// segment if there is none or it is below that base; a damaged one is
    /// errc::corrupt, one beyond the log end is lowered to it, durably.
    result<void> load_log_start();
    /// Replaces the log start checkpoint with `o`, durably.
    result<void> write_log_start(kafka_offset o);
    /// Removes the segments wholly below the log start, oldest first (never
    /// the active one); returns how many and their bytes.
    result<retention_info> remove_segments_below_start();
    /// read() without the log start bound (from the first segment's base):
    /// the producer state replay reads deleted records too.
    result<fetch_slice> read_unchecked(kafka_offset start, uint64_t max_bytes,
                                       kafka_offset max_offset, first_batch rule) const;
    /// Records a write-side failure; every later write returns it.
    error_info fail(error_info e);
    result<void> check_failed() const;
    /// Removes segment files (log first) and syncs the directory.
    result<void> remove_segment(segment& s);
    uint64_t index_interval() const;
    /// compact()'s steps (partition_log_compaction.cc).
    bool start_compaction(int64_t now_ms);
    result<void> run_compaction(int64_t now_ms, const compaction_limits& limits,
                                compaction_info& info);
    result<void> map_step(const compaction_limits& limits, compaction_info& info);
    result<void> clean_step(int64_t now_ms, compaction_info& info);
    result<void> finish_group(int64_t now_ms, compaction_info& info);
    /// Drops the pass in progress and its cleaned files.
    result<void> abandon_compaction();
    /// After truncate_to(): no pass goes on, and the checkpoint forgets
    /// cleaning beyond the new end.
    result<void> compaction_truncated();
    /// The index in _segments of the segment holding offset o (the last
    /// whose base is <= o); 0 if o is below the first.
    size_t segment_index_of(kafka_offset o) const;

    std::string _dir;
    log_config _config;
    std::shared_ptr<fs::file_ops> _fs;
    /// Ascending by base offset, contiguous, never empty; back() is active.
    std::vector<std::unique_ptr<segment>> _segments;
    kafka_offset _high_watermark;
    kafka_offset _flushed;
    int64_t _last_flush_ms = 0;
    /// Bumped by truncate_to(): flush tickets from before it are stale.
    uint64_t _generation = 0;
    std::optional<error_info> _failed;
    producer_state _producers;
    /// The cleaner's checkpoint and the pass in progress (compactor.h).
    std::unique_ptr<compaction_state> _compaction;
    /// The last successful append (or open): maybe_roll() rolls idle logs.
    int64_t _last_append_ms = 0;
    /// The log start set by DeleteRecords (checkpointed); log_start_offset()
    /// is the larger of this and the first segment's base.
    kafka_offset _log_start{0};
    /// The checkpoint's value (records_deleted_before()).
    kafka_offset _records_deleted_before{0};
    /// Where an empty directory's first segment starts (open()).
    kafka_offset _first_offset{0};
    bool _holds_copies = false;  ///< the shadow_copy marker exists
    bool _copies_ended = false;  ///< ... and says "ended"
    /// set_retention_limit().
    std::optional<kafka_offset> _retention_limit;
    /// active_since_ms(); -1 while the active segment is empty.
    int64_t _active_since_ms = -1;
};

}  // namespace fjord::broker::storage
