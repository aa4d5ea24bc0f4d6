#pragma once
// File: broker/kafka/handlers/admin_items.h
//
// The per-item answers of the admin APIs (CreateTopics, DeleteTopics,
// CreatePartitions, DescribeConfigs, AlterConfigs, IncrementalAlterConfigs):
// each item of a request gets Kafka's code and, on failure, a message: the
// controller's result (translated by errors.h), or a refusal made here
// before asking anyone (an internal topic, a topic the cache lacks, a
// resource type not served).

#include <cstdint>
#include <optional>
#include <string>

#include "broker/cluster/metadata_cache.h"  // v1::
#include "broker/kafka/errors.h"
#include "common/kafka/wire.h"
#include "common/result.h"

namespace fjord::broker {

/// Kafka's ConfigResource.Type values.
inline constexpr int8_t resource_topic = 2;
inline constexpr int8_t resource_broker = 4;
inline constexpr int8_t resource_broker_logger = 8;

/// A per-item answer: the Kafka code and, on failure, the message.
struct outcome {
    int16_t code = kafka_errors::none;
    std::optional<std::string> message;
};

/// A controller's per-item result: its code in Kafka's terms, and its
/// message relative to the item (ItemResult.detail: "partitions: reason"
/// where the message says "topics[2].partitions: reason").
outcome outcome_of(const v1::ItemResult& r);
/// Every item of a call that failed as a whole.
outcome outcome_of(const error_info& e);
/// The controller's answer has fewer items than it was sent (a bug).
outcome missing_item();

/// Item `i` of a controller answer: its result, or the call's failure.
template <typename Resp>
outcome outcome_at(const result<Resp>& r, size_t i) {
    if (!r) {
        return outcome_of(r.error());
    }
    if (i >= static_cast<size_t>(r->topics_size())) {
        return missing_item();
    }
    return outcome_of(r->topics(static_cast<int>(i)).result());
}

/// The refusal of an admin change to an internal topic (the group
/// coordinator owns __consumer_offsets); nullopt for any other topic.
std::optional<outcome> refuse_internal(const std::string& name);
/// Refusing a topic Kafka-style: an invalid name is INVALID_TOPIC_EXCEPTION,
/// a valid one the cache does not hold UNKNOWN_TOPIC_OR_PARTITION.
outcome no_such_topic(const std::string& name);

/// A topic id as the controller's uuid text.
std::string uuid_text(const kafka::uuid& u);
/// "TOPIC", "BROKER", "BROKER_LOGGER" or "unknown".
const char* resource_type_name(int8_t t);
/// A resource type Kafka defines but nothing here serves, or one it does
/// not define.
outcome unsupported_resource(int8_t type);

}  // namespace fjord::broker
