// File: broker/kafka/handlers/delete_records.cc
//
// DeleteRecords (key 21, v0-2): moves the log start offset of partitions this
// broker leads (partition_log::delete_records_before, durable before the
// answer), for `kafka-delete-records`, librdkafka's rd_kafka_DeleteRecords
// and `fjord topic trim-prefix`. Per partition, Kafka's rules and codes:
//
//   no DELETE on the topic                     TOPIC_AUTHORIZATION_FAILED
//                                              (before anything else)
//   the topic or partition is unknown          UNKNOWN_TOPIC_OR_PARTITION
//   an internal topic (__consumer_offsets)     INVALID_TOPIC_EXCEPTION (Kafka
//                                              refuses clients' deletions there)
//   no leader / another broker leads it        LEADER_NOT_AVAILABLE /
//                                              NOT_LEADER_OR_FOLLOWER
//   a shadow topic not failed over             POLICY_VIOLATION
//   cleanup.policy without "delete"            POLICY_VIOLATION
//   offset above the high watermark, or < 0    OFFSET_OUT_OF_RANGE
//     other than -1 (which means the high watermark)
//   the disk failed                            KAFKA_STORAGE_ERROR
//
// An offset below the current log start changes nothing and succeeds. The
// answer's low_watermark is the partition's log start after the request (-1
// with an error). On a topic read from the object store (redpanda.remote.read)
// the log starts below the local start: an offset there moves the
// DeleteRecords start too (nothing below it is served again, and the
// archiver moves the remote start up to it), and the answer is the start
// clients see (tiered_read.h visible_log_start). One replica per partition (no replication yet):
// nothing to wait for, so timeout_ms is not used. Codes come from errors.h.

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/handlers/tiered_read.h"
#include "common/cluster/internal_topics.h"
#include "common/cluster/shadow_link.h"
#include "common/log.h"

namespace fjord::broker {

void handlers::delete_records(const request_context& ctx, kafka::delete_records_request req) {
    namespace k = kafka_errors;
    constexpr const char* component = "kafka";
    const broker_services& s = *ctx.services;
    kafka::delete_records_response resp;
    for (const auto& t : req.topics) {
        kafka::delete_records_response::delete_records_topic_result tr;
        tr.name = t.name;
        const v1::Topic* topic = s.md.topic(t.name);
        const bool may = ctx.allowed_on_topic(security::acl_operation::remove, t.name);
        for (const auto& p : t.partitions) {
            kafka::delete_records_response::delete_records_partition_result pr;
            pr.partition_index = p.partition_index;
            pr.low_watermark = -1;
            const v1::PartitionAssignment* a = nullptr;
            if (topic != nullptr) {
                for (const auto& cand : topic->partitions()) {
                    if (cand.partition() == p.partition_index) {
                        a = &cand;
                    }
                }
            }
            partition* part = nullptr;
            if (!may) {
                pr.error_code = k::topic_authorization_failed;
            } else if (a == nullptr) {
                pr.error_code = k::unknown_topic_or_partition;
            } else if (cluster::is_internal_topic(t.name)) {
                // Kafka: "Cannot delete records of internal topic": the
                // group coordinator owns what is in it.
                pr.error_code = k::invalid_topic_exception;
            } else if (cluster::shadow::is_read_only(*topic)) {
                // A shadow topic's records are its source's until failover.
                pr.error_code = k::policy_violation;
            } else if (a->leader() < 0) {
                pr.error_code = k::leader_not_available;
            } else if (a->leader() != s.me.node_id ||
                       (part = s.pm.find(t.name, p.partition_index)) == nullptr) {
                // Led elsewhere, or assigned here but not open (yet).
                pr.error_code = k::not_leader_or_follower;
            } else if (!part->log().config().cleanup_delete) {
                pr.error_code = k::policy_violation;  // a compacted-only topic
            } else {
                auto r = part->log().delete_records_before(kafka_offset{p.offset});
                if (!r) {
                    pr.error_code = kafka_error(r.error().code);
                    log(pr.error_code == k::offset_out_of_range ? log_level::debug
                                                                : log_level::warn,
                        component, "DeleteRecords {}-{} before {} from {}: {}", t.name,
                        p.partition_index, p.offset, ctx.peer(), r.error().detail);
                } else {
                    pr.low_watermark = r->value();
                    if (remote_read_enabled(*topic)) {
                        pr.low_watermark =
                            visible_log_start(remote_of(s, *topic, p.partition_index), r->value(),
                                              part->log().records_deleted_before().value());
                    }
                }
            }
            tr.partitions.push_back(pr);
        }
        resp.topics.push_back(std::move(tr));
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
