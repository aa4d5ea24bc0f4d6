#pragma once
// File: broker/kafka/handlers/led_log.h
//
// The partition lookup of the data-path handlers (Produce, Fetch,
// ListOffsets): a partition this broker leads (broker/cluster/partition.h),
// or the Kafka error that tells the client where it stands.

#include <cstdint>
#include <string>

#include "broker/cluster/partition.h"
#include "broker/kafka/services.h"

namespace fjord::broker {

struct led_log {
    partition* part = nullptr;  ///< null: see error
    int16_t error = 0;
};

/// UNKNOWN_TOPIC_OR_PARTITION (no such topic or partition),
/// LEADER_NOT_AVAILABLE (no leader), NOT_LEADER_OR_FOLLOWER (another broker
/// leads it, or it is assigned here but its log is not open), else the log.
led_log find_led_log(const broker_services& s, const std::string& topic, int32_t partition);

}  // namespace fjord::broker
