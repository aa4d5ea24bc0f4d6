#pragma once
// File: broker/storage/record_validator.h
//
// The records of a producer's batch, checked before it is appended (what
// Kafka's LogValidator does): validate_batch (batch_header.h) has checked the
// header and the CRC; this walks every record, decompressing the batch
// first if it is compressed, so that a batch whose CRC is right but whose
// records are not (a buggy client, a fuzzer) never reaches the log, where
// consumers would choke on it.
//
// Refused, with the Kafka code the broker answers (broker/kafka/errors.cc):
//
//   CORRUPT_MESSAGE (errc::invalid_batch): the bytes do not frame records
//     - compressed records that do not decompress (codec and reason named)
//     - a varint that is malformed or runs past its record
//     - a record length, key, value or header running past its record, or
//       negative where -1 (null) is the only negative allowed
//     - a record whose fields do not use up exactly its length
//     - fewer records than recordCount, or bytes after the last one
//   MESSAGE_TOO_LARGE (errc::batch_too_large): records decompressing to more
//     than max_decompressed_bytes (a Java producer splits the batch and retries)
//   INVALID_RECORD (errc::invalid_record): records that parse but break a rule
//     - offsetDelta not 0, 1, 2, ... in order; lastOffsetDelta not the last's
//     - a timestamp (baseTimestamp + timestampDelta) that overflows
//     - from a client: a control batch (attributes bit 5), a transactional
//       batch (bit 4: this broker has no transactions)
//     - a transactional batch without a producer id; producerId < -1; a
//       producer id with producerEpoch < 0
//     - with require_keys (compacted topics): a record without a key
//
// Every detail names the record and the field:
//   "record 3: key length 900 runs past the record (42 bytes left)".
// What is not checked, as in Kafka: the record attributes byte (unused) and
// header keys' UTF-8. Pure: no state, no I/O.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/kafka/record_batch.h"
#include "common/result.h"

namespace fjord::broker::storage {

/// The bound on a batch's decompressed records for a max.message.bytes of
/// `max_batch_bytes`: 32 times it, and at least 32 MiB. max.message.bytes
/// bounds the compressed batch only; Kafka streams the records and needs no
/// bound, but we hold them whole, so a 1 MiB zstd batch of zeros (which
/// claims some 30,000:1) must not cost a gigabyte. Real data compresses
/// 2-10x (text and JSON with zstd or gzip at most ~15x), and producers build
/// batches of at most their batch.size (librdkafka: 1,000,000 bytes before
/// compression; Java: 16 KiB), so 32x is far above any producer's batch
/// while keeping one Produce's transient memory within 32 MiB at the
/// defaults. A batch over it is answered MESSAGE_TOO_LARGE, on which the Java
/// producer splits the batch and retries.
size_t max_decompressed_for(int64_t max_batch_bytes);

struct record_validation {
    /// The batch comes from a Kafka client (Produce), not from the broker
    /// itself: control and transactional batches are refused.
    bool from_client = true;
    /// Records without a key are refused (cleanup.policy=compact, as Kafka).
    bool require_keys = false;
    /// The decompressed records may not exceed this.
    size_t max_decompressed_bytes = max_decompressed_for(1048588);
};

/// Checks every record of `batch`, one whole batch whose header `h` has
/// passed validate_batch(batch). A value means the batch may be appended.
/// Errors: errc::invalid_batch, errc::batch_too_large, errc::invalid_record
/// (see above), each with a detail naming the record and field.
result<void> validate_records(std::string_view batch, const kafka::record_batch_header& h,
                              const record_validation& opts);

}  // namespace fjord::broker::storage
