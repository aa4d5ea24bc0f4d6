#pragma once
// File: broker/storage/types.h
//
// The vocabulary of the partition log: what reads return, and millisecond
// timestamps. Offsets are fjord::kafka_offset (common/ids.h).

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/ids.h"

namespace fjord::broker::storage {

/// Kafka's "no timestamp" (a record batch may carry -1 as its timestamps).
inline constexpr int64_t no_timestamp = -1;

/// What a read returns: whole batches, exactly as stored.
struct fetch_slice {
    /// The batches, concatenated (a Fetch response's records field).
    std::string bytes;
    /// Base offset of the first batch. It may be below the offset asked for:
    /// reads return the whole batch holding it and the client skips the
    /// records before it. Equals next_offset when no batch was returned.
    kafka_offset first_offset;
    /// The last offset of the last batch plus one: where the next read
    /// continues. The offset asked for when no batch was returned.
    kafka_offset next_offset;
    /// Number of batches in `bytes`.
    size_t batches = 0;
};

/// A ListOffsets answer: a batch's base offset and its maxTimestamp.
struct timestamp_offset {
    kafka_offset offset;
    int64_t timestamp = no_timestamp;
};

}  // namespace fjord::broker::storage
