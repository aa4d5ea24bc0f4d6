#pragma once
// File: broker/storage/errc.h
//
// Errors of the partition log (broker/storage). The broker's Kafka layer
// translates them to Kafka error codes in one table; the comments name the
// code each one is meant to become.

#include <system_error>

namespace fjord::broker::storage {

enum class errc {
    success = 0,
    /// A batch to append is malformed: its length, magic, offset delta or
    /// record count, or its records' framing (record_validator.h). The
    /// detail names the field (CORRUPT_MESSAGE).
    invalid_batch,
    /// A batch to append fails its CRC-32C: damaged by the client or the
    /// network, not by us (CORRUPT_MESSAGE).
    corrupt_batch,
    /// A batch whose records parse but break a rule: offset deltas out of
    /// order, a control or transactional batch from a client, a keyless
    /// record on a compacted topic (record_validator.h; INVALID_RECORD).
    invalid_record,
    /// A batch larger than log_config::max_batch_bytes (MESSAGE_TOO_LARGE).
    batch_too_large,
    /// A batch larger than log_config::segment_bytes (RECORD_LIST_TOO_LARGE).
    batch_exceeds_segment,
    /// The offset is below the log start or beyond the log end
    /// (OFFSET_OUT_OF_RANGE).
    offset_out_of_range,
    /// Stored data failed its checksum or framing; it is not served
    /// (KAFKA_STORAGE_ERROR).
    corrupt,
    /// The disk failed a read, write or sync (KAFKA_STORAGE_ERROR).
    io_error,
    /// A log_config value is out of its range; the detail names the key
    /// (INVALID_CONFIG).
    invalid_config,
    /// An idempotent producer's batch whose sequence does not follow its
    /// last one (OUT_OF_ORDER_SEQUENCE_NUMBER).
    out_of_order_sequence,
    /// An idempotent producer's batch from an epoch older than its current
    /// one: a fenced producer (INVALID_PRODUCER_EPOCH).
    invalid_producer_epoch,
    /// The log was closed (the partition moved or its topic was deleted)
    /// while a request waited for it (NOT_LEADER_OR_FOLLOWER: the client
    /// refreshes its metadata and retries, safely for idempotent producers).
    not_open,
};

const std::error_category& error_category();
inline std::error_code make_error_code(errc e) {
    return {static_cast<int>(e), error_category()};
}

}  // namespace fjord::broker::storage

template <>
struct std::is_error_code_enum<fjord::broker::storage::errc> : std::true_type {};
