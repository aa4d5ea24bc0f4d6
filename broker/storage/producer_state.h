#pragma once
// File: broker/storage/producer_state.h
//
// The idempotent producer's de-duplication state of one partition (Kafka's
// ProducerStateManager, without transactions): for each producer id its
// epoch and the sequence numbers and offsets of its last five batches.
// Pure: partition_log feeds it every appended batch header, asks it about a
// new batch before assigning offsets, and keeps it across restarts through
// snapshot() / restore() plus a replay of the batches after the snapshot.
//
// The rules for a batch of producer P, epoch E, sequences [first, last]:
//   no producer id (-1)                  → not checked
//   P unknown here                       → accepted, whatever its sequence
//                                          (Kafka ≥ 2.5: after a leader
//                                          change or expiry the partition
//                                          may not know a live producer;
//                                          refusing would be fatal to it)
//   E older than P's epoch               → invalid_producer_epoch
//   E newer than P's epoch               → first must be 0, else out_of_order
//   [first, last] equal to one of the
//     last five batches of P             → a duplicate: answered with the
//                                          offsets it was written at
//   first == P's last sequence + 1       → in order (sequences wrap from
//                                          INT32_MAX to 0)
//   anything else                        → out_of_order_sequence
// Five batches is librdkafka's and Kafka's max.in.flight for idempotence.
// A producer not heard from for producer.id.expiration.ms (log_config) is
// forgotten at the next roll, as Kafka does, so the table stays bounded.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/storage/types.h"
#include "common/kafka/record_batch.h"
#include "common/result.h"

namespace fjord::broker::storage {

/// Where a batch of a producer was written.
struct producer_batch {
    int32_t first_seq = 0;
    int32_t last_seq = 0;
    int64_t base_offset = 0;
    int64_t last_offset = 0;
    int64_t log_append_time = no_timestamp;
    bool operator==(const producer_batch&) const = default;
};

struct producer_entry {
    int16_t epoch = 0;
    int64_t last_seen_ms = 0;            ///< when its last batch was appended (or its timestamp)
    std::deque<producer_batch> batches;  ///< oldest first, at most batches_kept
    bool operator==(const producer_entry&) const = default;
};

class producer_state {
  public:
    static constexpr size_t batches_kept = 5;

    /// Checks a validated batch before it is appended. A value means: this
    /// batch was already written, at these offsets (do not write it again).
    /// Errors: errc::invalid_producer_epoch, errc::out_of_order_sequence.
    result<std::optional<producer_batch>> check(const kafka::record_batch_header& h) const;
    /// Records a batch written at h.base_offset at `now_ms` (any batch;
    /// those without a producer id are ignored).
    void update(const kafka::record_batch_header& h, int64_t now_ms,
                int64_t log_append_time = no_timestamp);
    /// Forgets producers not seen since `now_ms - max_age_ms`.
    void expire(int64_t now_ms, int64_t max_age_ms);
    void clear() { _producers.clear(); }

    /// A self-checking encoding of the table (versioned, CRC-32C), valid for
    /// the log up to `next_offset` (exclusive).
    std::string snapshot(int64_t next_offset) const;
    /// Replaces the table with a snapshot's; returns its next_offset.
    /// errc::corrupt when the bytes are not a valid snapshot.
    result<int64_t> restore(std::string_view bytes);

    size_t size() const { return _producers.size(); }
    const producer_entry* find(int64_t producer_id) const;

  private:
    std::unordered_map<int64_t, producer_entry> _producers;
};

}  // namespace fjord::broker::storage
