#pragma once
// File: broker/kafka/errors.h
//
// Kafka's error codes (Errors.java; the ones this broker sends), and the one
// table that turns the broker's error values into them. Handlers never pick
// a code for an error_info themselves: they call kafka_error().

#include <cstdint>
#include <system_error>

namespace fjord::broker::kafka_errors {

inline constexpr int16_t unknown_server_error = -1;
inline constexpr int16_t none = 0;
inline constexpr int16_t offset_out_of_range = 1;
inline constexpr int16_t corrupt_message = 2;
inline constexpr int16_t unknown_topic_or_partition = 3;
inline constexpr int16_t leader_not_available = 5;
inline constexpr int16_t not_leader_or_follower = 6;
inline constexpr int16_t request_timed_out = 7;
inline constexpr int16_t message_too_large = 10;
inline constexpr int16_t invalid_topic_exception = 17;
inline constexpr int16_t record_list_too_large = 18;
inline constexpr int16_t invalid_required_acks = 21;
inline constexpr int16_t unsupported_version = 35;
inline constexpr int16_t invalid_request = 42;
inline constexpr int16_t unsupported_for_message_format = 43;
inline constexpr int16_t out_of_order_sequence_number = 45;
inline constexpr int16_t invalid_producer_epoch = 47;
inline constexpr int16_t kafka_storage_error = 56;
inline constexpr int16_t unsupported_compression_type = 76;
inline constexpr int16_t invalid_record = 87;

}  // namespace fjord::broker::kafka_errors

namespace fjord::broker {

/// The Kafka error code for an error of the partition log
/// (broker::storage::errc) or of the codec (kafka::errc); anything else is
/// UNKNOWN_SERVER_ERROR.
int16_t kafka_error(const std::error_code& ec);

}  // namespace fjord::broker
