// File: broker/kafka/handlers/produce.cc
//
// Produce (key 0). Durability follows `acks` (docs/durability.md): the
// batch is written at once; acks=all is answered only when every partition
// it went to is fsynced (log_flusher: one group commit for all of them),
// acks=1 and 0 right after the write. Either way consumers see a batch only
// once it is durable, unless the topic has write.caching (the partition's
// high watermark rule, broker/cluster/partition.h).
//
// Authorization (Kafka's KafkaApis.handleProduceRequest): records in a
// transactional batch need WRITE on the request's transactional id, else
// every partition is TRANSACTIONAL_ID_AUTHORIZATION_FAILED. Whether records
// are transactional is read from the batches' own attributes, not from the
// request's transactional_id field, which a client may leave null
// (CVE-2018-17196). Each topic needs WRITE, else its partitions are
// TOPIC_AUTHORIZATION_FAILED (checked before whether the topic exists, so a
// denied client learns nothing about it). Idempotent batches need nothing
// more (Kafka 3.0+, KIP-679: IDEMPOTENT_WRITE is asked by InitProducerId).
// Nothing of a refused partition is written. A shadow topic that is not
// failed over (cluster::shadow::is_read_only) is POLICY_VIOLATION.

#include <algorithm>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "broker/cluster/metadata_cache.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/handlers/led_log.h"
#include "broker/tiered/migration_rules.h"
#include "common/cluster/internal_topics.h"
#include "common/cluster/shadow_link.h"
#include "common/kafka/record_batch.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
constexpr const char* component = "kafka";

/// Produce v0-2 carry message formats 0 and 1, which are refused per
/// partition (registry.cc says why they are advertised anyway).
constexpr int16_t produce_min_stored_version = 3;

/// Whether any batch of `records` has the transactional attribute. Walks the
/// batch headers only; a malformed tail ends the walk (the log refuses such
/// records whole, so nothing of them is written either way).
bool has_transactional_batch(std::string_view records) {
    while (records.size() >= kafka::record_batch_header_size) {
        const auto h = kafka::decode_record_batch_header(records);
        if (h.is_transactional()) {
            return true;
        }
        const size_t n = h.size_bytes();
        if (n < kafka::record_batch_header_size || n > records.size()) {
            break;
        }
        records.remove_prefix(n);
    }
    return false;
}

/// Produce's error_message for a read-only shadow topic.
std::string read_only_reason(const v1::Topic& t) {
    return fmt::format(
        "topic {} is a shadow topic of link {} (state {}): read-only until it is failed over",
        t.name(), t.shadow().link(), cluster::shadow::to_string(t.shadow().state()));
}

}  // namespace

void handlers::produce(const request_context& ctx, kafka::produce_request req) {
    broker_services& s = *ctx.services;
    const bool valid_acks = req.acks == 0 || req.acks == 1 || req.acks == -1;
    const bool old_format = ctx.version < produce_min_stored_version;
    const int64_t now = s.now();
    // The response, completed by the syncs acks=all waits for.
    struct pending {
        kafka::produce_response resp;
        size_t waiting = 0;
        bool sent = false;
    };
    auto state = std::make_shared<pending>();
    bool transactional = false;
    for (const auto& td : req.topic_data) {
        for (const auto& pd : td.partition_data) {
            transactional = transactional ||
                            (!old_format && pd.records && has_transactional_batch(*pd.records));
        }
    }
    // With authorization off nothing is denied: a transactional batch
    // without a transactional id is then the validator's INVALID_RECORD.
    const bool transaction_denied =
        transactional && ctx.security->authorization_enabled() &&
        (!req.transactional_id ||
         !ctx.allowed(security::acl_operation::write, security::resource_type::transactional_id,
                      *req.transactional_id));
    // Partitions (topic index, partition index) per log to wait for.
    std::vector<std::pair<partition*, std::vector<std::pair<size_t, size_t>>>> awaited;
    for (auto& td : req.topic_data) {
        kafka::produce_response::topic_produce_response tr;
        tr.name = td.name;
        const bool may_write = ctx.allowed_on_topic(security::acl_operation::write, td.name);
        for (auto& pd : td.partition_data) {
            kafka::produce_response::partition_produce_response pr;
            pr.index = pd.index;
            pr.base_offset = -1;
            const led_log led = find_led_log(s, td.name, pd.index);
            partition* const part = led.part;
            const v1::Topic* const topic = s.md.topic(td.name);
            if (transaction_denied) {
                pr.error_code = k::transactional_id_authorization_failed;
            } else if (!may_write) {
                pr.error_code = k::topic_authorization_failed;
            } else if (old_format) {
                pr.error_code = k::unsupported_version;
                pr.error_message =
                    "Produce v0-2 (message format 0 and 1) is not supported: "
                    "use v3 or later (record batches)";
            } else if (!valid_acks) {
                pr.error_code = k::invalid_required_acks;
            } else if (cluster::is_internal_topic(td.name)) {
                // The group coordinator's own log (broker/group/): only it
                // appends there, as Kafka refuses clients' writes.
                pr.error_code = k::invalid_topic_exception;
                pr.error_message = "__consumer_offsets is internal: clients cannot produce";
            } else if (topic != nullptr && topic_blocked(*topic)) {
                // Mountable topics: an unmount or mount in progress
                // (broker/tiered/migration_rules.h).
                pr.error_code = k::invalid_topic_exception;
                pr.error_message = blocked_reason(*topic);
            } else if (topic != nullptr && cluster::shadow::is_read_only(*topic)) {
                // A shadow topic takes only its link's copies until it is
                // failed over (docs/shadow-links.md, rpk-reference §10.6).
                pr.error_code = k::policy_violation;
                pr.error_message = read_only_reason(*topic);
            } else if (part == nullptr) {
                pr.error_code = led.error;
            } else if (!pd.records || pd.records->empty()) {
                pr.error_code = k::corrupt_message;
                pr.error_message = "records: no record batch";
            } else {
                // Under write caching the append moves the high watermark
                // and wakes the partition's parked Fetches.
                auto r = part->append(std::move(*pd.records), now);
                if (!r) {
                    pr.error_code = kafka_error(r.error().code);
                    pr.error_message = r.error().detail;
                    log(log_level::debug, component, "produce {}-{} from {}: {}", td.name, pd.index,
                        ctx.peer(), r.error().detail);
                } else {
                    pr.base_offset = r->base_offset.value();
                    pr.log_append_time_ms = r->log_append_time;
                    pr.log_start_offset = part->log().log_start_offset().value();
                    if (part->log().config().write_caching) {
                        // Acknowledged once written: the flush policy
                        // bounds what a power loss takes.
                    } else if (req.acks == -1) {
                        // A retry deduplicated by the producer state waits
                        // too: its first write may not be synced.
                        auto it = std::find_if(awaited.begin(), awaited.end(),
                                               [&](const auto& a) { return a.first == part; });
                        if (it == awaited.end()) {
                            awaited.emplace_back(part, std::vector<std::pair<size_t, size_t>>{});
                            it = std::prev(awaited.end());
                        }
                        it->second.emplace_back(state->resp.responses.size(),
                                                tr.partition_responses.size());
                    } else {
                        part->sync(nullptr);  // readable once synced
                    }
                }
            }
            tr.partition_responses.push_back(std::move(pr));
        }
        state->resp.responses.push_back(std::move(tr));
    }
    if (req.acks == 0) {
        ctx.respond_nothing();
        return;
    }
    state->waiting = awaited.size();
    if (state->waiting == 0) {
        ctx.respond(state->resp);
        return;
    }
    for (auto& [part, parts] : awaited) {
        part->sync([ctx, state, parts = std::move(parts)](const result<void>& synced) {
            if (!synced) {
                // Written but not known durable: the outcome is unknown
                // to the producer, which retries (idempotent producers
                // safely).
                for (const auto& [ti, pi] : parts) {
                    auto& pr = state->resp.responses[ti].partition_responses[pi];
                    pr.error_code = kafka_error(synced.error().code);
                    pr.error_message = synced.error().detail;
                    pr.base_offset = -1;
                }
            }
            if (--state->waiting == 0 && !state->sent) {
                state->sent = true;
                ctx.respond(state->resp);
            }
        });
    }
}

}  // namespace fjord::broker
