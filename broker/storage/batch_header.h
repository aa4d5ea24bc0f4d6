#pragma once
// File: broker/storage/batch_header.h
//
// The partition log's own rules on a Kafka record batch v2 header, on top of
// the shared codec: common/kafka/record_batch.h holds the layout (the field
// table batch_field), the decoder (decode_record_batch_header) and the CRC.
// What stays here is what only the log does: the stricter checks a producer's
// batch must pass before it is appended, with the broker's own error codes
// and texts (errc::invalid_batch / corrupt_batch, "magic: 1, want 2"; the
// Kafka layer maps them to CORRUPT_MESSAGE), the LogAppendTime rewrite, and
// the header's offsets as kafka_offset.
//
// Since baseOffset lies outside the CRC's range, assigning offsets
// (kafka::write_batch_field on batch_field::base_offset) leaves the producer's
// CRC valid; setting LogAppendTime (attributes and maxTimestamp) does not,
// and recomputes it.

#include <cstdint>
#include <string>
#include <string_view>

#include "broker/storage/types.h"
#include "common/kafka/record_batch.h"
#include "common/result.h"

namespace fjord::broker::storage {

/// The offset of the batch's first record.
inline kafka_offset base_of(const kafka::record_batch_header& h) {
    return kafka_offset{h.base_offset};
}
/// The offset of the batch's last record (baseOffset + lastOffsetDelta).
inline kafka_offset last_of(const kafka::record_batch_header& h) {
    return kafka_offset{h.last_offset()};
}

/// Validates a producer's batch for append: `batch` must be exactly one v2
/// batch (batchLength matches the bytes after it), magic 2, a matching
/// CRC-32C, a known compression codec, lastOffsetDelta >= 0 and recordCount ==
/// lastOffsetDelta + 1. Fails with errc::invalid_batch (or errc::corrupt_batch
/// for the CRC) and a detail naming the field with Kafka's name for it
/// ("magic: 1, want 2"). Allocates only to describe a failure.
result<kafka::record_batch_header> validate_batch(std::string_view batch);

/// Validates a batch copied from another cluster's log (shadow links,
/// partition_log::append_copy): validate_batch's checks, except that
/// recordCount may be anything in [0, lastOffsetDelta + 1], since compaction
/// on the source removes records and keeps the batch's offset range.
result<kafka::record_batch_header> validate_copied_batch(std::string_view batch);

/// Marks the batch LogAppendTime with maxTimestamp `ts` and recomputes the
/// CRC (both fields are in its range).
void set_log_append_time(std::string& batch, int64_t ts);

}  // namespace fjord::broker::storage
