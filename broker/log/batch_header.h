#pragma once
// File: broker/log/batch_header.h
//
// A small, private reader of the Kafka record batch v2 header: what the
// partition log needs to validate, place and index a batch. It never looks at
// the records. (TODO(broker): switch to common/kafka's record_batch once that
// codec lands; this file then shrinks to the log's own checks.)
//
// Layout (all integers big-endian), 61 bytes, then the records:
//
//   off  field                 size   in the CRC?
//     0  baseOffset            int64  no   (assigned by the broker on append)
//     8  batchLength           int32  no   (bytes after this field)
//    12  partitionLeaderEpoch  int32  no
//    16  magic                 int8   no   (= 2)
//    17  crc                   uint32 -    (CRC-32C over bytes 21..end)
//    21  attributes            int16  yes  (bits 0-2 codec, 3 timestamp type,
//    23  lastOffsetDelta       int32  yes   4 transactional, 5 control)
//    27  baseTimestamp         int64  yes
//    35  maxTimestamp          int64  yes
//    43  producerId            int64  yes
//    51  producerEpoch         int16  yes
//    53  baseSequence          int32  yes
//    57  recordCount           int32  yes
//    61  records
//
// Since baseOffset lies outside the CRC's range, assigning offsets leaves the
// producer's CRC valid; setting LogAppendTime (attributes and maxTimestamp)
// does not, and recomputes it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/log/types.h"
#include "common/result.h"

namespace fjord::broker::storage {

inline constexpr size_t batch_header_size = 61;
/// baseOffset and batchLength: a batch occupies 12 + batchLength bytes.
inline constexpr size_t batch_length_prefix = 12;
inline constexpr size_t batch_magic_offset = 16;
inline constexpr size_t batch_crc_offset = 17;
/// The CRC covers [attributes, end).
inline constexpr size_t batch_crc_range_start = 21;
inline constexpr int8_t batch_magic_v2 = 2;

struct batch_header {
    int64_t base_offset = 0;
    int32_t batch_length = 0;
    int32_t partition_leader_epoch = 0;
    int8_t magic = 0;
    uint32_t crc = 0;
    int16_t attributes = 0;
    int32_t last_offset_delta = 0;
    int64_t base_timestamp = 0;
    int64_t max_timestamp = 0;
    int64_t producer_id = 0;
    int16_t producer_epoch = 0;
    int32_t base_sequence = 0;
    int32_t record_count = 0;

    /// Bytes the whole batch occupies: 12 + batchLength (0 if negative).
    uint64_t size_bytes() const {
        return batch_length < 0 ? 0 : batch_length_prefix + static_cast<uint64_t>(batch_length);
    }
    kafka_offset base() const { return kafka_offset{base_offset}; }
    kafka_offset last() const { return kafka_offset{base_offset + last_offset_delta}; }
    int compression() const { return attributes & 0x7; }
    bool log_append_time() const { return (attributes & 0x8) != 0; }
    bool is_control() const { return (attributes & 0x20) != 0; }
};

/// Decodes the first 61 bytes of `bytes` (which may hold more). Checks
/// nothing: the caller must pass at least batch_header_size bytes.
batch_header decode_batch_header(std::string_view bytes);

/// The CRC-32C that `batch` (one whole batch) should carry.
uint32_t compute_batch_crc(std::string_view batch);

/// Validates a producer's batch for append: `batch` must be exactly one v2
/// batch (batchLength matches the bytes after it), magic 2, a matching
/// CRC-32C, a known compression codec, lastOffsetDelta >= 0 and recordCount ==
/// lastOffsetDelta + 1. Fails with errc::invalid_batch (or errc::corrupt_batch
/// for the CRC) and a detail naming the field with Kafka's name for it
/// ("magic: 1, want 2").
result<batch_header> validate_batch(std::string_view batch);

/// Writes `o` as the batch's baseOffset. The CRC stays valid.
void set_base_offset(std::string& batch, kafka_offset o);

/// Marks the batch LogAppendTime with maxTimestamp `ts` and recomputes the
/// CRC (both fields are in its range).
void set_log_append_time(std::string& batch, int64_t ts);

}  // namespace fjord::broker::storage
