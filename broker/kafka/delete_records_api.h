#pragma once
// File: broker/kafka/delete_records_api.h
//
// DeleteRecords (key 21, v0-2): moves the log start offset of partitions this
// broker leads (partition_log::delete_records_before, durable before the
// answer), for `kafka-delete-records`, librdkafka's rd_kafka_DeleteRecords
// and `fjord topic trim-prefix`. Per partition, Kafka's rules and codes:
//
//   the topic or partition is unknown          UNKNOWN_TOPIC_OR_PARTITION
//   an internal topic (__consumer_offsets)     INVALID_TOPIC_EXCEPTION (Kafka
//                                              refuses clients' deletions there)
//   no leader / another broker leads it        LEADER_NOT_AVAILABLE /
//                                              NOT_LEADER_OR_FOLLOWER
//   cleanup.policy without "delete"            POLICY_VIOLATION
//   offset above the high watermark, or < 0    OFFSET_OUT_OF_RANGE
//     other than -1 (which means the high watermark)
//   the disk failed                            KAFKA_STORAGE_ERROR
//
// An offset below the current log start changes nothing and succeeds. The
// answer's low_watermark is the partition's log start after the request (-1
// with an error). One replica per partition (no replication yet): nothing to
// wait for, so timeout_ms is not used. Codes come from errors.h.

#include <cstdint>
#include <span>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/kafka/api_module.h"

namespace fjord::broker {

class delete_records_api final : public api_module {
  public:
    /// `md` and `pm` outlive the module; `node_id` is this broker's.
    delete_records_api(int32_t node_id, metadata_cache& md, partition_manager& pm)
        : _node_id(node_id), _md(md), _pm(pm) {}

    std::span<const served_api> apis() const override;
    void serve(const kafka::request_view& rq, const connection_info& conn,
               const reply_fn& reply) override;

  private:
    int32_t _node_id;
    metadata_cache& _md;
    partition_manager& _pm;
};

}  // namespace fjord::broker
