#pragma once
// File: broker/kafka/topic_id.h
//
// Kafka's 128-bit topic id of a controller topic: the controller names
// topics by a uuid's 36-character text, Kafka clients by its 128 bits
// (Metadata, Fetch v13+, DeleteTopics v6, committed offsets).

#include <string_view>

#include "common/kafka/wire.h"

namespace fjord::broker {

/// `text` ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx") as Kafka's topic id; zero
/// if malformed.
kafka::uuid to_kafka_uuid(std::string_view text);

}  // namespace fjord::broker
