// File: broker/kafka/handlers/list_offsets.cc
//
// ListOffsets (key 2, v1-6): the earliest offset (-2), the latest (-1: the
// high watermark), or the first offset at or after a timestamp, of
// partitions this broker leads. DESCRIBE on the topic, else
// TOPIC_AUTHORIZATION_FAILED.

#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/handlers/led_log.h"

namespace fjord::broker {

void handlers::list_offsets(const request_context& ctx, kafka::list_offsets_request req) {
    namespace k = kafka_errors;
    kafka::list_offsets_response resp;
    for (const auto& t : req.topics) {
        kafka::list_offsets_response::list_offsets_topic_response tr;
        tr.name = t.name;
        const bool may = ctx.allowed_on_topic(security::acl_operation::describe, t.name);
        for (const auto& p : t.partitions) {
            kafka::list_offsets_response::list_offsets_partition_response pr;
            pr.partition_index = p.partition_index;
            auto [part, code] = find_led_log(*ctx.services, t.name, p.partition_index);
            if (!may) {
                pr.error_code = k::topic_authorization_failed;
            } else if (part == nullptr) {
                pr.error_code = code;
            } else if (p.timestamp == -2) {  // earliest
                pr.offset = part->log().log_start_offset().value();
            } else if (p.timestamp == -1) {  // latest (the high watermark)
                pr.offset = part->high_watermark().value();
            } else if (p.timestamp < 0) {
                pr.error_code = k::invalid_request;  // -3 (max timestamp) needs v7
            } else {
                auto found = part->log().offset_for_timestamp(p.timestamp, part->high_watermark());
                if (!found) {
                    pr.error_code = kafka_error(found.error().code);
                } else if (*found) {
                    pr.offset = (*found)->offset.value();
                    pr.timestamp = (*found)->timestamp;
                }
            }
            tr.partitions.push_back(std::move(pr));
        }
        resp.topics.push_back(std::move(tr));
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
