#pragma once
// File: broker/storage/compactor.h
//
// The pieces of log compaction (Kafka's log cleaner) that partition_log::
// compact() puts together (partition_log_compaction.cc has the pass;
// README.md, "Compaction", the whole story). Pure: no clock, no threads;
// every file access goes through fs::file_ops.
//
//   offset_map              key -> offset of its latest record in the dirty range
//   map_batch / filter_batch  one batch: its keys into the map / what survives
//   cleaned_segment_writer  <base>.log.cleaned (+ .index.cleaned, .timeindex.cleaned)
//   commit_swap             the atomic replacement of a group of segments
//   recover_compaction      what open() does first: finishes a committed swap,
//                           removes an uncommitted one, loads the checkpoint
//   cleaner_checkpoint      the cleaner's durable state (cleaner.checkpoint)
//
// Records are Kafka's v2 records. A rewritten batch keeps its header (base
// offset, lastOffsetDelta, timestamps, attributes, producer id/epoch/base
// sequence, partition leader epoch) and the surviving records' bytes exactly;
// only batchLength, recordCount and the CRC change. So offsets and
// timestamps of what survives never change, and a producer's last sequence
// (baseSequence + lastOffsetDelta) stays readable from the header. A batch
// kept only for the log's shape is its header alone (header_only_batch):
// superseded records are never kept, or a key could come back once its
// tombstone goes.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/storage/partition_log.h"
#include "broker/storage/segment_index.h"
#include "broker/storage/types.h"
#include "common/fs/file_ops.h"
#include "common/result.h"

namespace fjord::broker::storage {

/// A cleaned segment being written: "<base>.log.cleaned" (and the indexes).
inline constexpr std::string_view cleaned_ext = ".cleaned";
/// A cleaned segment written and synced, waiting for its swap.
inline constexpr std::string_view swap_ext = ".swap";
/// The cleaner's checkpoint; "cleaner.checkpoint.swap" is a committed swap.
inline constexpr std::string_view cleaner_checkpoint_name = "cleaner.checkpoint";

// --- the checkpoint -----------------------------------------------------------

/// The cleaner's durable state of one partition (cleaner.checkpoint).
struct cleaner_checkpoint {
    /// Kafka's cleaner checkpoint: offsets below it were in the dirty range
    /// of a completed pass. The next pass maps keys from here.
    int64_t first_dirty = 0;
    /// Sealed segments whose base is below this may have been rewritten:
    /// recovery lets them have gaps between batches and end before their
    /// successor's base. (Monotonic, so a crash mid-pass cannot hide a
    /// segment that was already swapped.)
    int64_t cleaned_through = 0;
    /// When offsets were first cleaned: {end, ms}: the offsets below `end`
    /// and at or above the previous entry's end were in the dirty range of
    /// a pass that started at `ms`. Ascending in both.
    std::vector<std::pair<int64_t, int64_t>> cleaned_at;

    /// A swap's description (only meaningful in cleaner.checkpoint.swap):
    /// the segments with bases in [swap_from, swap_to) are replaced by the
    /// cleaned segment `swap_output` (-1: by nothing).
    int64_t swap_from = -1;
    int64_t swap_to = -1;
    int64_t swap_output = -1;

    /// When `offset` was first cleaned; nullopt if it was not yet.
    std::optional<int64_t> first_cleaned_ms(int64_t offset) const;
    /// A pass that started at `started_ms` cleaned everything below `end`.
    void record_pass(int64_t end, int64_t started_ms);
    /// The log ends at `end` (after truncate_to, or at open): offsets from
    /// there on were never cleaned, and segments from there on are new.
    void clamp(int64_t end);

    bool operator==(const cleaner_checkpoint&) const = default;
};

/// The checked key=value text of a checkpoint (common/data_dir.h's format).
std::string encode_cleaner_checkpoint(const cleaner_checkpoint& c);
/// errc::corrupt (naming `path`) unless `text` is one.
result<cleaner_checkpoint> decode_cleaner_checkpoint(std::string_view text,
                                                     const std::string& path);

// --- recovery -----------------------------------------------------------------

/// What partition_log::open() runs before it looks at the segments of `dir`:
///  - cleaner.checkpoint.swap present: a committed swap a crash interrupted.
///    It is finished: every segment file with a base in [swap_from, swap_to)
///    but swap_output's is removed, each "<swap_output><ext>.swap" renamed
///    to its final name, the directory synced, and the checkpoint renamed
///    into place (synced). Idempotent: a crash during this is finished by
///    the next open. A damaged .swap checkpoint is errc::corrupt.
///  - every other "*.cleaned" and "*.swap" file (an uncommitted pass) and
///    cleaner.checkpoint.tmp are removed.
/// Returns the checkpoint (the default one if there is none; one that does
/// not decode is logged and replaced by a conservative one: nothing clean,
/// every sealed segment allowed gaps).
result<cleaner_checkpoint> recover_compaction(fs::file_ops& fs, const std::string& dir);

/// Writes `c` as the checkpoint: cleaner.checkpoint.tmp, fdatasync, rename,
/// directory fsync.
result<void> write_cleaner_checkpoint(fs::file_ops& fs, const std::string& dir,
                                      const cleaner_checkpoint& c);

// --- records ------------------------------------------------------------------

/// Key -> offset of its latest record, over the dirty range. Exact: keys
/// are compared whole (Kafka's map keeps only an MD5 of each, which a
/// producer could make collide). Open addressing over a flat array of
/// 24-byte slots at most 3/4 full, the keys back to back in one buffer: no
/// allocation per key, about one cache miss per lookup. bytes() is the
/// memory it holds, for the caller's bound.
class offset_map {
  public:
    void put(std::string_view key, int64_t offset);
    /// The latest offset of `key`, or -1 if it is not in the map.
    int64_t get(std::string_view key) const;
    size_t size() const { return _size; }
    uint64_t bytes() const { return _slots.size() * sizeof(slot) + _keys.capacity(); }

  private:
    struct slot {
        uint32_t tag = 0;  ///< the hash's high half
        uint32_t key_size = 0;
        uint64_t key_at = 0;  ///< in _keys
        int64_t offset = -1;  ///< -1: empty
    };
    /// The slot holding `key`, or the empty one where it would go.
    size_t find(std::string_view key, uint64_t hash) const;
    void grow();

    std::vector<slot> _slots;  ///< a power of two, at most 3/4 full
    std::string _keys;
    size_t _size = 0;
};

/// One record of an uncompressed batch, as the cleaner sees it.
struct record_ref {
    int64_t offset = 0;
    std::optional<std::string_view> key;  ///< nullopt: no key
    bool tombstone = false;               ///< a null value
    std::string_view bytes;               ///< the whole record, length prefix included
};

/// The records of one whole v2 batch (header checked by the caller: the log
/// verified its framing and CRC). nullopt when the batch is compressed, a
/// control batch, or its records do not parse (bounds, offsets within the
/// batch's): the cleaner then treats it as opaque.
std::optional<std::vector<record_ref>> parse_records(std::string_view batch);

/// Puts the keys of `batch`'s records into `map` (later offsets win).
/// Opaque batches (see parse_records) add nothing: their records are never
/// found superseded, and they never supersede anything.
void map_batch(offset_map& map, std::string_view batch);

struct filter_rules {
    const offset_map* map = nullptr;
    /// Tombstones below this offset may go (the clean part whose delete
    /// horizon has passed; see partition_log_compaction.cc).
    int64_t remove_tombstones_below = 0;
};

struct filtered_batch {
    enum class outcome { keep, drop, rewritten };
    outcome what = outcome::keep;
    std::string bytes;             ///< the rewritten batch (outcome::rewritten)
    uint32_t records_removed = 0;  ///< records of the batch that go
    /// Kept whole without being filtered (an opaque batch, or one whose
    /// survivors could not be recompressed): it may hold records the map
    /// supersedes, so no tombstone after it may go in this pass (a
    /// superseded value would be its key's value again).
    bool unfiltered = false;
};

/// What survives of one whole, verified v2 batch. A record survives if it
/// has a key, and that key is absent from the map or the record is its
/// latest, and it is not a tombstone below remove_tombstones_below. Keyless
/// records go, as in Kafka (a compacted topic cannot use them). Opaque
/// batches are kept whole (`unfiltered`). A batch without records (a
/// header_only_batch() an earlier pass left) goes: the pass makes a new one
/// where one is still needed.
filtered_batch filter_batch(std::string_view batch, const filter_rules& rules);

/// The header of a whole batch with none of its records, as Kafka's cleaner
/// keeps an emptied batch: base offset, lastOffsetDelta, timestamps,
/// attributes but the codec (none), producer fields and leader epoch as
/// they were; recordCount 0, batchLength and the CRC recomputed. A reader
/// moves past it by its lastOffsetDelta like any batch.
std::string header_only_batch(std::string_view batch);

// --- writing and swapping -----------------------------------------------------

/// Writes one cleaned segment: <dir>/<base>.log.cleaned, and on finish()
/// its .index.cleaned and .timeindex.cleaned, all fdatasynced.
class cleaned_segment_writer {
  public:
    static result<cleaned_segment_writer> create(fs::file_ops& fs, const std::string& dir,
                                                 kafka_offset base, uint64_t index_interval);
    cleaned_segment_writer(cleaned_segment_writer&&) = default;
    cleaned_segment_writer& operator=(cleaned_segment_writer&&) = default;

    /// Appends a whole batch (offsets at or above base, increasing).
    result<void> append(std::string_view batch);
    /// Writes what is buffered, the index files, and syncs all three.
    result<void> finish();
    kafka_offset base() const { return _base; }
    uint64_t size() const { return _size; }
    bool empty() const { return _size == 0; }

  private:
    cleaned_segment_writer(fs::file_ops& fs, std::string prefix, kafka_offset base,
                           uint64_t index_interval);
    result<void> write_buffer();

    fs::file_ops* _fs;
    std::string _prefix;  ///< "<dir>/<base, 20 digits>"
    kafka_offset _base;
    uint64_t _index_interval;
    std::unique_ptr<fs::file> _log;
    segment_index _index;
    std::string _buffer;
    uint64_t _written = 0;  ///< bytes already in the file
    uint64_t _size = 0;     ///< bytes written or buffered
};

/// Removes "<dir>/<base><ext>.cleaned" for the three extensions, those that
/// exist (an abandoned group).
result<void> remove_cleaned_files(fs::file_ops& fs, const std::string& dir, kafka_offset base);

/// Replaces the segments with bases in [after.swap_from, after.swap_to)
/// (their bases are `old_bases`) by the cleaned segment after.swap_output
/// (-1: by nothing), whose .cleaned files are written and synced, and
/// makes `after` the checkpoint. Steps (recover_compaction finishes any
/// crash after step 3 and undoes any before it):
///   1. rename the output's three .cleaned files to .swap
///   2. write cleaner.checkpoint.cleaned (`after`), fdatasync, fsync the directory
///   3. rename it to cleaner.checkpoint.swap, fsync the directory: committed
///   4. remove the old segments' files (log first), but the output's
///   5. rename the output's .swap files to their final names (replacing the
///      old segment's at that base), fsync the directory
///   6. rename cleaner.checkpoint.swap to cleaner.checkpoint, fsync the directory
result<void> commit_swap(fs::file_ops& fs, const std::string& dir, const cleaner_checkpoint& after,
                         const std::vector<kafka_offset>& old_bases);

// --- partition_log's state ----------------------------------------------------

/// What partition_log keeps for compaction between calls.
struct compaction_state {
    cleaner_checkpoint checkpoint;
    /// A damaged batch stopped a pass: no more until the log is reopened.
    bool uncleanable = false;

    /// The group of segments being rewritten: bases [from, to).
    // The empty constructors: clang cannot default-construct a nested class
    // with member initializers inside its enclosing class (optional::emplace).
    struct group {
        group() {}  // NOLINT(modernize-use-equals-default): see above
        kafka_offset from;
        kafka_offset to;
        std::vector<kafka_offset> bases;
        uint64_t bytes_before = 0;
        kafka_offset next;  ///< the next offset to read
        /// Tombstones below this offset go (their delete horizon has passed).
        int64_t remove_tombstones_below = 0;
        std::optional<cleaned_segment_writer> writer;
        /// The last batch read, if the filter dropped it: its header is
        /// kept after all at the end of a pass (and in a first group left
        /// empty), see partition_log::finish_group.
        std::string dropped_tail;
        uint64_t records_removed = 0;
    };
    /// A pass: the dirty range [dirty_start, dirty_end) is mapped, then the
    /// groups from the first segment up to dirty_end are cleaned in turn.
    struct pass {
        pass() {}  // NOLINT(modernize-use-equals-default): see above
        int64_t started_ms = 0;
        kafka_offset dirty_start;
        kafka_offset dirty_end;
        kafka_offset mapped_to;   ///< keys below this are in the map
        kafka_offset cleaned_to;  ///< the next group starts here
        offset_map map;
        int64_t delete_retention_ms = 0;
        int64_t segment_bytes = 0;
        /// The base offset of the first batch this pass kept unfiltered
        /// (filtered_batch::unfiltered): tombstones from there on stay.
        int64_t unfiltered_from = std::numeric_limits<int64_t>::max();
        std::optional<group> current;
        compaction_info totals;  ///< for the pass's log line
    };
    std::optional<pass> running;
};

}  // namespace fjord::broker::storage
