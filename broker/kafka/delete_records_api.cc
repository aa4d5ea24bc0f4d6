// File: broker/kafka/delete_records_api.cc

#include "broker/kafka/delete_records_api.h"

#include <fmt/format.h>

#include "broker/kafka/errors.h"
#include "common/kafka/messages/delete_records.h"
#include "common/log.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
using storage::kafka_offset;

constexpr const char* component = "kafka";
constexpr served_api served[] = {{kafka::api_key::delete_records, 0, 2}};

}  // namespace

std::span<const served_api> delete_records_api::apis() const {
    return served;
}

void delete_records_api::serve(const kafka::request_view& rq, const connection_info& conn,
                               const reply_fn& reply) {
    auto req = decode_request<kafka::delete_records_request>(rq, conn);
    if (!req) {
        reply(reply_t::close_connection());
        return;
    }
    kafka::delete_records_response resp;
    for (const auto& t : req->topics) {
        kafka::delete_records_response::delete_records_topic_result tr;
        tr.name = t.name;
        const v1::Topic* topic = _md.topic(t.name);
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
            storage::partition_log* log_ptr = nullptr;
            if (a == nullptr) {
                pr.error_code = k::unknown_topic_or_partition;
            } else if (cluster::is_internal_topic(t.name)) {
                // Kafka: "Cannot delete records of internal topic": the
                // group coordinator owns what is in it.
                pr.error_code = k::invalid_topic_exception;
            } else if (a->leader() < 0) {
                pr.error_code = k::leader_not_available;
            } else if (a->leader() != _node_id ||
                       (log_ptr = _pm.find(t.name, p.partition_index)) == nullptr) {
                // Led elsewhere, or assigned here but not open (yet).
                pr.error_code = k::not_leader_or_follower;
            } else if (!log_ptr->config().cleanup_delete) {
                pr.error_code = k::policy_violation;  // a compacted-only topic
            } else {
                auto r = log_ptr->delete_records_before(kafka_offset{p.offset});
                if (!r) {
                    pr.error_code = kafka_error(r.error().code);
                    log(pr.error_code == k::offset_out_of_range ? log_level::debug
                                                                : log_level::warn,
                        component, "DeleteRecords {}-{} before {} from {}: {}", t.name,
                        p.partition_index, p.offset, conn.peer, r.error().detail);
                } else {
                    pr.low_watermark = r->value();
                }
            }
            tr.partitions.push_back(pr);
        }
        resp.topics.push_back(std::move(tr));
    }
    send_response(rq, resp, reply, conn);
}

}  // namespace fjord::broker
