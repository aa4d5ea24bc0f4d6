// File: broker/shadow/fetch_rules.cc

#include "broker/shadow/fetch_rules.h"

#include <algorithm>
#include <cctype>
#include <limits>

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

std::string topic_id_text(uint64_t high, uint64_t low) {
    if (high == 0 && low == 0) {
        return {};
    }
    const std::string hex = fmt::format("{:016x}{:016x}", high, low);
    return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                       hex.substr(16, 4), hex.substr(20, 12));
}

std::optional<std::string> source_topic_recreated(std::string_view seen,
                                                  std::string_view expected) {
    if (seen.empty() || expected.empty()) {
        return std::nullopt;
    }
    const bool same =
        std::equal(seen.begin(), seen.end(), expected.begin(), expected.end(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
        });
    if (same) {
        return std::nullopt;
    }
    return fmt::format("the source topic was recreated (id {}, expected {})", seen, expected);
}

int32_t last_fetched_epoch(int64_t fetch_offset, int64_t log_end, int32_t last_batch_epoch) {
    return fetch_offset == log_end && last_batch_epoch >= 0 ? last_batch_epoch : -1;
}

std::optional<std::string> diverged(int32_t epoch, int64_t end_offset) {
    if (epoch < 0 && end_offset < 0) {
        return std::nullopt;
    }
    return fmt::format("the source log diverged at offset {} (unclean leader election?)",
                       end_offset);
}

int32_t last_batch_epoch(std::string_view records) {
    int32_t epoch = -1;
    size_t pos = 0;
    while (records.size() - pos >= kafka::record_batch_header_size) {
        const kafka::record_batch_header h = kafka::decode_record_batch_header(records.substr(pos));
        const size_t size = h.size_bytes();
        if (h.magic != kafka::record_batch_magic_v2 || size < kafka::record_batch_header_size ||
            size > records.size() - pos) {
            break;
        }
        epoch = h.partition_leader_epoch;
        pos += size;
    }
    return epoch;
}

namespace {

copy_plan rejected(std::string why) {
    copy_plan plan;
    plan.rejected = std::move(why) + ": nothing of the answer is copied";
    return plan;
}

}  // namespace

copy_plan plan_copy(std::string_view records, int64_t log_end, bool log_empty, int64_t source_hwm) {
    copy_plan plan;
    size_t pos = 0;
    int64_t after = -1;  // the offset after the last batch walked
    while (records.size() - pos >= kafka::record_batch_header_size) {
        const kafka::record_batch_header h = kafka::decode_record_batch_header(records.substr(pos));
        const size_t size = h.size_bytes();
        if (h.magic != kafka::record_batch_magic_v2 || size < kafka::record_batch_header_size ||
            h.last_offset_delta < 0) {
            break;
        }
        // Offsets no sound source sends: the whole answer is refused rather
        // than a gap or an overlap taken from it.
        if (h.base_offset < 0 ||
            h.base_offset > std::numeric_limits<int64_t>::max() - h.last_offset_delta) {
            return rejected(
                fmt::format("the source sent a batch with bad offsets (base {}, last "
                            "offset delta {})",
                            h.base_offset, h.last_offset_delta));
        }
        if (h.base_offset < after) {
            break;
        }
        if (size > records.size() - pos) {
            break;  // cut off by the answer's size limit: fetched again next time
        }
        if (h.last_offset() >= source_hwm) {
            return rejected(
                fmt::format("the source sent a batch ending at offset {}, at or "
                            "beyond its high watermark {}",
                            h.last_offset(), source_hwm));
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
