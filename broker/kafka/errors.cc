// File: broker/kafka/errors.cc
//
// The broker's one error-translation table toward Kafka clients.

#include "broker/kafka/errors.h"

#include "broker/storage/errc.h"
#include "common/kafka/errc.h"
#include "common/objstore/errc.h"

namespace fjord::broker {

int16_t kafka_error(const std::error_code& ec) {
    namespace k = kafka_errors;
    if (!ec) {
        return k::none;
    }
    if (ec.category() == storage::error_category()) {
        switch (static_cast<storage::errc>(ec.value())) {
            case storage::errc::success:
                return k::none;
            case storage::errc::invalid_batch:
            case storage::errc::corrupt_batch:
                return k::corrupt_message;
            case storage::errc::invalid_record:
                return k::invalid_record;
            case storage::errc::batch_too_large:
                return k::message_too_large;
            case storage::errc::batch_exceeds_segment:
                return k::record_list_too_large;
            case storage::errc::offset_out_of_range:
                return k::offset_out_of_range;
            case storage::errc::corrupt:
            case storage::errc::io_error:
                return k::kafka_storage_error;
            case storage::errc::invalid_config:
                return k::unknown_server_error;
            case storage::errc::out_of_order_sequence:
                return k::out_of_order_sequence_number;
            case storage::errc::invalid_producer_epoch:
                return k::invalid_producer_epoch;
            case storage::errc::not_open:
                return k::not_leader_or_follower;
        }
        return k::unknown_server_error;
    }
    if (ec.category() == kafka::error_category()) {
        switch (static_cast<kafka::errc>(ec.value())) {
            case kafka::errc::success:
                return k::none;
            case kafka::errc::corrupt_batch:
                return k::corrupt_message;
            case kafka::errc::invalid_batch:
                return k::invalid_record;
            case kafka::errc::unsupported_compression:
                return k::unsupported_compression_type;
            case kafka::errc::unsupported_version:
            case kafka::errc::unsupported_api:
                return k::unsupported_version;
            case kafka::errc::frame_too_large:
                return k::message_too_large;
            case kafka::errc::truncated:
            case kafka::errc::invalid_length:
            case kafka::errc::invalid_varint:
            case kafka::errc::invalid_value:
            case kafka::errc::trailing_bytes:
                return k::invalid_request;
        }
        return k::unknown_server_error;
    }
    if (ec.category() == objstore::error_category()) {
        // Tiered storage's read side could not get what lies in the object
        // store (down, refused, a download that kept failing its checks):
        // KAFKA_STORAGE_ERROR, which clients retry.
        return ec.value() == 0 ? k::none : k::kafka_storage_error;
    }
    return k::unknown_server_error;
}

int16_t kafka_error(fjord::controller::v1::ErrorCode code, std::string_view field) {
    namespace k = kafka_errors;
    namespace v1 = fjord::controller::v1;
    switch (code) {
        case v1::OK:
            return k::none;
        case v1::INVALID_ARGUMENT:
            // The controller names the field: "topics[0].name", "names[2]".
            return field == "name" || field.ends_with(".name") || field.starts_with("names[")
                       ? k::invalid_topic_exception
                       : k::invalid_request;
        case v1::TOPIC_ALREADY_EXISTS:
            return k::topic_already_exists;
        case v1::UNKNOWN_TOPIC:
            return k::unknown_topic_or_partition;
        case v1::INVALID_PARTITIONS:
            return k::invalid_partitions;
        case v1::INVALID_REPLICATION_FACTOR:
            return k::invalid_replication_factor;
        case v1::INVALID_CONFIG:
            return k::invalid_config;
        case v1::NOT_LEADER:
        case v1::CONFLICT:
            return k::not_controller;
        case v1::TIMEOUT:
        case v1::OUTCOME_UNKNOWN:  // Kafka's way to say "may have been applied"
            return k::request_timed_out;
        case v1::RESOURCE_IS_BEING_MIGRATED:
            // As Redpanda answers for a topic in a migration (mountable
            // topics, docs/tiered-storage.md): Kafka has no closer code.
            return k::invalid_topic_exception;
        case v1::MIGRATIONS_DISABLED:
            // Tiering asked for while cloud storage is off (a topic config).
            return k::invalid_config;
        case v1::SHADOW_TOPIC_READ_ONLY:
            // rpk-reference §10.6: a shadow topic not failed over.
            return k::policy_violation;
        case v1::BROKER_ID_IN_USE:
        case v1::UNKNOWN_BROKER:
        case v1::UNKNOWN_MEMBER:
        case v1::INTERNAL:
        default:  // a newer controller's code
            return k::unknown_server_error;
    }
}

int16_t kafka_error_for_controller_call(const std::error_code& ec) {
    namespace k = kafka_errors;
    if (!ec) {
        return k::none;
    }
    if (ec == std::errc::timed_out) {
        return k::request_timed_out;
    }
    return k::not_controller;
}

}  // namespace fjord::broker
