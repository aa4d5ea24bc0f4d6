#pragma once
// File: broker/log/partition_log.h
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
//               └─▶ set_high_watermark(log_end_offset())   (Kafka: acks=all
//                   means "in every in-sync replica's log", not "fsynced"; a
//                   broker that wants acknowledged == on disk uses
//                   flushed_offset() instead)
//   fetch   ──▶ read(offset, max_bytes, high_watermark())
//   ListOffsets ──▶ offset_for_timestamp(ts, high_watermark()),
//                   log_start_offset(), high_watermark()
//   timers  ──▶ maybe_flush(now)        (flush.ms on an idle partition)
//               apply_retention(now)    (retention.ms / retention.bytes)
//   replication / tests ──▶ truncate_to(offset)
//
// Idempotent producers: append() checks each batch carrying a producer id
// against the partition's producer state (producer_state.h). A retry of a
// batch already written returns where it went and writes nothing; a gap in
// sequences or a fenced epoch is refused. The state is saved at every roll
// and rebuilt at open() from that snapshot plus the batches after it.
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

#include "broker/log/file_ops.h"
#include "broker/log/producer_state.h"
#include "broker/log/types.h"
#include "common/result.h"

namespace fjord::broker::storage {

class segment;

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
    /// producer.id.expiration.ms (a broker config in Kafka): an idempotent
    /// producer not heard from for this long is forgotten at the next roll.
    int64_t producer_id_expiration_ms = int64_t{24} * 3600 * 1000;
};

/// Checks every value's range; errc::invalid_config naming the key.
result<void> validate(const log_config& c);

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

class partition_log {
  public:
    /// Opens (or creates, with its directory, whose parent must exist) the
    /// log in `dir` and recovers it: see README.md. `fs` null means
    /// posix_file_ops(); tests inject faults there.
    static result<std::unique_ptr<partition_log>> open(std::string dir, log_config config,
                                                       int64_t now_ms,
                                                       std::shared_ptr<file_ops> fs = nullptr);

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
    /// Makes every append so far durable (fdatasync of the active segment).
    result<void> flush(int64_t now_ms);
    /// Flushes if flush.ms has passed since the last flush and something is
    /// unflushed; true if it flushed.
    result<bool> maybe_flush(int64_t now_ms);
    /// Seals the active segment and starts a new one, unless it is empty.
    result<void> roll(int64_t now_ms);
    /// Sets the high watermark, in [log_start_offset(), log_end_offset()].
    /// The caller owns its meaning and monotonicity (see the class comment).
    result<void> set_high_watermark(kafka_offset hw);
    /// Removes every batch holding an offset >= o (a batch holding o goes
    /// whole), durably, and returns the new log end. o >= the log end
    /// changes nothing; o below the log start is errc::offset_out_of_range.
    /// The high watermark and flushed offset are lowered to the new end.
    result<kafka_offset> truncate_to(kafka_offset o);
    /// Deletes whole sealed segments (never the active one, never one
    /// holding offsets at or above the high watermark), oldest first: first
    /// while their newest batch is older than retention.ms, then while the
    /// log without them is still at least retention.bytes. The log start
    /// moves to the first remaining segment. Segments whose batches carry no
    /// timestamps are only deleted by size.
    result<retention_info> apply_retention(int64_t now_ms);
    /// Applies new settings (validated) from the next call on.
    result<void> set_config(log_config c);

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

    kafka_offset log_start_offset() const;
    /// The offset the next append gets.
    kafka_offset log_end_offset() const;
    kafka_offset high_watermark() const { return _high_watermark; }
    /// Every offset below this is durable (Kafka's recovery point).
    kafka_offset flushed_offset() const { return _flushed; }
    /// Bytes in all segments.
    uint64_t size_bytes() const;
    std::vector<segment_info> segments() const;
    const log_config& config() const { return _config; }
    const std::string& dir() const { return _dir; }

  private:
    partition_log(std::string dir, log_config config, std::shared_ptr<file_ops> fs, int64_t now_ms);

    result<void> recover(int64_t now_ms);
    /// Saves the producer state for the log up to its end (at a roll),
    /// forgetting expired producers first.
    /// (`now_ms` empty: no expiry, e.g. after a truncation.)
    void save_producer_state(std::optional<int64_t> now_ms);
    /// Rebuilds the producer state: the saved snapshot if it still fits the
    /// log, then the batches after it.
    result<void> load_producer_state();
    /// Records a write-side failure; every later write returns it.
    error_info fail(error_info e);
    result<void> check_failed() const;
    /// Removes segment files (log first) and syncs the directory.
    result<void> remove_segment(segment& s);
    uint64_t index_interval() const;

    std::string _dir;
    log_config _config;
    std::shared_ptr<file_ops> _fs;
    /// Ascending by base offset, contiguous, never empty; back() is active.
    std::vector<std::unique_ptr<segment>> _segments;
    kafka_offset _high_watermark;
    kafka_offset _flushed;
    int64_t _last_flush_ms = 0;
    std::optional<error_info> _failed;
    producer_state _producers;
};

}  // namespace fjord::broker::storage
