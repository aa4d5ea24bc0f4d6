#pragma once
// File: broker/storage/segment_index.h
//
// The two sparse indexes of one segment, in memory, and their file encodings.
// Pure: no I/O. The same add() runs when a batch is appended and when a
// segment is scanned on recovery, so a rebuilt index is byte for byte the one
// built live.
//
// Offset index (`.index`): 8-byte entries [relative offset u32][position u32],
// big-endian: the batch whose base offset is segment base + relative offset
// starts at byte `position` of the `.log` file. Both strictly increase.
//
// Time index (`.timeindex`): 12-byte entries [timestamp i64][relative offset
// u32], big-endian: the largest batch maxTimestamp seen so far in the segment
// and the relative base offset of the batch that carries it. Both strictly
// increase. The last entry of a sealed segment holds the segment's largest
// timestamp (seal() adds it), which is what time retention reads.
//
// Sparseness (Kafka's rule): a batch gets entries when more than
// `interval_bytes` of batches were written since the previous entry; the
// first batch of a segment never needs one (lookups fall back to position 0).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/storage/types.h"
#include "common/kafka/record_batch.h"
#include "common/result.h"

namespace fjord::broker::storage {

inline constexpr size_t offset_index_entry_size = 8;
inline constexpr size_t time_index_entry_size = 12;

struct offset_index_entry {
    uint32_t relative_offset = 0;
    uint32_t position = 0;
    bool operator==(const offset_index_entry&) const = default;
};

struct time_index_entry {
    int64_t timestamp = no_timestamp;
    uint32_t relative_offset = 0;
    bool operator==(const time_index_entry&) const = default;
};

class segment_index {
  public:
    explicit segment_index(kafka_offset base) : _base(base) {}

    /// Records the batch `h` written at `position`. Batches come in log
    /// order; `h`'s offsets must be those assigned in the segment.
    void add(uint64_t position, const kafka::record_batch_header& h, uint64_t interval_bytes);
    /// Adds the time entry for the segment's largest timestamp, if the last
    /// entry does not already hold it. Called when the segment is sealed.
    void finish();

    /// Where to start scanning for the batch holding offset `o`: the
    /// position of the last indexed batch with base offset <= o, else 0.
    uint64_t position_for(kafka_offset o) const;
    /// Where to start scanning for the first batch whose maxTimestamp >= ts:
    /// every batch before the returned position has a smaller one.
    uint64_t position_for_timestamp(int64_t ts) const;

    /// The largest batch maxTimestamp recorded (no_timestamp if none).
    int64_t max_timestamp() const { return _max_timestamp; }
    const std::vector<offset_index_entry>& offsets() const { return _offsets; }
    const std::vector<time_index_entry>& times() const { return _times; }

    std::string encode_offsets() const;
    std::string encode_times() const;

    /// Loads a sealed segment's index files. The segment holds offsets
    /// [base, next) in `log_size` bytes. Entries must be in range and strictly
    /// increasing; otherwise errc::corrupt naming `path` and the entry, and the
    /// caller rebuilds the indexes from the log.
    static result<segment_index> decode(std::string_view offsets, std::string_view times,
                                        kafka_offset base, kafka_offset next, uint64_t log_size,
                                        const std::string& path);

  private:
    kafka_offset _base;
    std::vector<offset_index_entry> _offsets;
    std::vector<time_index_entry> _times;
    uint64_t _bytes_since_entry = 0;
    int64_t _max_timestamp = no_timestamp;
    uint32_t _max_timestamp_relative = 0;
};

}  // namespace fjord::broker::storage
