#pragma once
// File: broker/kafka/producer_ids.h
//
// The producer ids InitProducerId hands out to idempotent producers
// (handlers/init_producer_id.cc). The de-duplication itself is the
// partition log's (broker/storage/producer_state.h).
//
// Producer ids are unique in the cluster without a round trip to the
// controller: the broker's node id in the high 32 bits, a counter in the low
// 32. The counter is reserved on disk a block at a time (`<data_dir>/
// producer_ids`, written atomically and synced before any id of the block is
// handed out), so a restart, even after SIGKILL, never hands out an id
// twice; at most a block of ids is skipped.
//
// An epoch bump request (v3+, KIP-360: a known producer id and epoch) gets
// a new producer id with epoch 0, which the protocol allows and clients
// accept; the broker keeps no per-producer record to bump from.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fjord::broker {

class producer_id_allocator {
  public:
    static constexpr uint32_t block = 1000;
    /// The reservation's file in the data dir.
    static constexpr std::string_view file_name = "producer_ids";

    /// Reads the reservation in <dir>/producer_ids (absent: a new broker)
    /// and reserves the next block.
    static result<producer_id_allocator> open(std::string dir, int32_t node_id);
    /// The next id; an error when the disk refuses a new reservation or the
    /// 2^32 ids of this node id are spent.
    result<int64_t> next();

  private:
    producer_id_allocator(std::string dir, int32_t node_id)
        : _dir(std::move(dir)), _node(node_id) {}
    result<void> reserve(uint64_t until);

    std::string _dir;
    int32_t _node;
    uint64_t _next = 0;      ///< the next counter value to hand out
    uint64_t _reserved = 0;  ///< counters below this are reserved on disk
};

}  // namespace fjord::broker
