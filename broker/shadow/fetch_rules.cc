// File: broker/shadow/fetch_rules.cc

#include "broker/shadow/fetch_rules.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/kafka/record_batch.h"

namespace fjord::broker::shadow {

error_action on_partition_error(int16_t e) {
    switch (e) {
        case 0:
            return error_action::none;
        case 1:  // OFFSET_OUT_OF_RANGE
            return error_action::reset_offset;
        case 3:    // UNKNOWN_TOPIC_OR_PARTITION
        case 5:    // LEADER_NOT_AVAILABLE
        case 6:    // NOT_LEADER_OR_FOLLOWER
        case 9:    // REPLICA_NOT_AVAILABLE
        case 74:   // FENCED_LEADER_EPOCH
        case 75:   // UNKNOWN_LEADER_EPOCH
        case 100:  // UNKNOWN_TOPIC_ID
        case 103:  // OFFSET_NOT_AVAILABLE
            return error_action::refresh_metadata;
        case 29:  // TOPIC_AUTHORIZATION_FAILED
        case 31:  // CLUSTER_AUTHORIZATION_FAILED
        case 35:  // UNSUPPORTED_VERSION
        case 58:  // SASL_AUTHENTICATION_FAILED
        case 76:  // UNSUPPORTED_COMPRESSION_TYPE
            return error_action::unavailable;
        default:
            // REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR, CORRUPT_MESSAGE,
            // UNKNOWN_SERVER_ERROR, throttling...: the source's trouble,
            // likely to pass.
            return error_action::back_off;
    }
}

std::string error_name(int16_t e) {
    switch (e) {
        case -1:
            return "UNKNOWN_SERVER_ERROR";
        case 1:
            return "OFFSET_OUT_OF_RANGE";
        case 2:
            return "CORRUPT_MESSAGE";
        case 3:
            return "UNKNOWN_TOPIC_OR_PARTITION";
        case 5:
            return "LEADER_NOT_AVAILABLE";
        case 6:
            return "NOT_LEADER_OR_FOLLOWER";
        case 7:
            return "REQUEST_TIMED_OUT";
        case 9:
            return "REPLICA_NOT_AVAILABLE";
        case 29:
            return "TOPIC_AUTHORIZATION_FAILED";
        case 31:
            return "CLUSTER_AUTHORIZATION_FAILED";
        case 35:
            return "UNSUPPORTED_VERSION";
        case 56:
            return "KAFKA_STORAGE_ERROR";
        case 58:
            return "SASL_AUTHENTICATION_FAILED";
        case 74:
            return "FENCED_LEADER_EPOCH";
        case 75:
            return "UNKNOWN_LEADER_EPOCH";
        case 76:
            return "UNSUPPORTED_COMPRESSION_TYPE";
        case 100:
            return "UNKNOWN_TOPIC_ID";
        default:
            return fmt::format("ERROR {}", e);
    }
}

out_of_range_plan on_out_of_range(int64_t source_start, int64_t source_hwm, int64_t log_end) {
    if (source_start > log_end) {
        return {false, source_start, {}};
    }
    if (log_end > source_hwm) {
        return {true, log_end,
                fmt::format("the shadow holds offsets up to {}, beyond the source's high "
                            "watermark {}: the source lost records the shadow has",
                            log_end, source_hwm)};
    }
    return {false, log_end, {}};
}

std::optional<int64_t> start_offset(int64_t answer, int64_t source_hwm, int64_t log_end) {
    const int64_t start = answer >= 0 ? answer : source_hwm;
    if (start <= log_end) {
        return std::nullopt;
    }
    return start;
}

int64_t start_query(int64_t start_at, int64_t created_ms) {
    if (start_at == latest && created_ms > 0) {
        return created_ms;
    }
    return start_at;
}

copy_plan plan_copy(std::string_view records, int64_t log_end, bool log_empty) {
    copy_plan plan;
    size_t pos = 0;
    int64_t after = -1;  // the offset after the last batch walked
    while (records.size() - pos >= kafka::record_batch_header_size) {
        const kafka::record_batch_header h = kafka::decode_record_batch_header(records.substr(pos));
        const size_t size = h.size_bytes();
        if (h.magic != kafka::record_batch_magic_v2 || size < kafka::record_batch_header_size ||
            h.last_offset_delta < 0 || h.base_offset < after) {
            break;
        }
        if (size > records.size() - pos) {
            break;  // cut off by the answer's size limit: fetched again next time
        }
        plan.bytes_fetched += size;
        plan.records_fetched += std::max<int32_t>(0, h.record_count);
        const batch_ref b{pos, size, h.base_offset, h.last_offset(), h.record_count};
        pos += size;
        after = b.last_offset + 1;
        if (b.last_offset < log_end) {
            continue;  // already copied
        }
        if (b.base_offset < log_end) {
            // Holds the log end: only an empty log can take it whole.
            if (!log_empty || !plan.batches.empty()) {
                plan.misaligned = plan.batches.empty();
                continue;
            }
            plan.move_start_to = b.base_offset;
        }
        plan.batches.push_back(b);
    }
    if (!plan.batches.empty()) {
        plan.misaligned = false;
    }
    return plan;
}

int64_t lag(int64_t source_lso, int64_t shadow_hwm) {
    if (source_lso < 0 || shadow_hwm < 0) {
        return 0;
    }
    return std::max<int64_t>(0, source_lso - shadow_hwm);
}

}  // namespace fjord::broker::shadow
