#pragma once
// File: broker/kafka/errors.h
//
// Kafka's error codes (Errors.java; the ones this broker sends), and the one
// table that turns the broker's error values into them. Handlers never pick
// a code for an error_info themselves: they call kafka_error().

#include <cstdint>
#include <string_view>
#include <system_error>

#include "fjord/controller/v1/controller_service.pb.h"

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
inline constexpr int16_t offset_metadata_too_large = 12;
inline constexpr int16_t coordinator_load_in_progress = 14;
inline constexpr int16_t coordinator_not_available = 15;
inline constexpr int16_t not_coordinator = 16;
inline constexpr int16_t invalid_topic_exception = 17;
inline constexpr int16_t record_list_too_large = 18;
inline constexpr int16_t invalid_required_acks = 21;
inline constexpr int16_t illegal_generation = 22;
inline constexpr int16_t inconsistent_group_protocol = 23;
inline constexpr int16_t invalid_group_id = 24;
inline constexpr int16_t unknown_member_id = 25;
inline constexpr int16_t invalid_session_timeout = 26;
inline constexpr int16_t rebalance_in_progress = 27;
inline constexpr int16_t invalid_commit_offset_size = 28;
inline constexpr int16_t topic_authorization_failed = 29;
inline constexpr int16_t group_authorization_failed = 30;
inline constexpr int16_t cluster_authorization_failed = 31;
inline constexpr int16_t unsupported_sasl_mechanism = 33;
inline constexpr int16_t illegal_sasl_state = 34;
inline constexpr int16_t unsupported_version = 35;
inline constexpr int16_t topic_already_exists = 36;
inline constexpr int16_t invalid_partitions = 37;
inline constexpr int16_t invalid_replication_factor = 38;
inline constexpr int16_t invalid_config = 40;
inline constexpr int16_t not_controller = 41;
inline constexpr int16_t invalid_request = 42;
inline constexpr int16_t unsupported_for_message_format = 43;
inline constexpr int16_t policy_violation = 44;
inline constexpr int16_t out_of_order_sequence_number = 45;
inline constexpr int16_t invalid_producer_epoch = 47;
inline constexpr int16_t transactional_id_authorization_failed = 53;
inline constexpr int16_t kafka_storage_error = 56;
inline constexpr int16_t sasl_authentication_failed = 58;
inline constexpr int16_t non_empty_group = 68;
inline constexpr int16_t unsupported_compression_type = 76;
inline constexpr int16_t member_id_required = 79;
inline constexpr int16_t invalid_record = 87;
inline constexpr int16_t resource_not_found = 91;
inline constexpr int16_t duplicate_resource = 92;
inline constexpr int16_t unacceptable_credential = 93;
inline constexpr int16_t unknown_topic_id = 100;
inline constexpr int16_t mismatched_endpoint_type = 114;
inline constexpr int16_t unsupported_endpoint_type = 115;

}  // namespace fjord::broker::kafka_errors

namespace fjord::broker {

/// The Kafka error code for an error of the partition log
/// (broker::storage::errc), of the codec (kafka::errc) or of the object
/// store (objstore::errc: tiered storage's reads, KAFKA_STORAGE_ERROR);
/// anything else is UNKNOWN_SERVER_ERROR.
int16_t kafka_error(const std::error_code& ec);

/// The Kafka error code for a controller's per-item result (ItemResult.code
/// and .field). An INVALID_ARGUMENT about a topic's name is Kafka's
/// INVALID_TOPIC_EXCEPTION; any other INVALID_ARGUMENT is INVALID_REQUEST.
/// NOT_LEADER and CONFLICT (the change was not made: the controller lost its
/// leadership, or the state moved under it) are NOT_CONTROLLER, which Kafka
/// admin clients retry; TIMEOUT (the outcome is unknown) is
/// REQUEST_TIMED_OUT, as Kafka answers a change not completed in time.
int16_t kafka_error(fjord::controller::v1::ErrorCode code, std::string_view field = {});

/// The Kafka error code for a controller call that failed as a whole
/// (controller_client::client's errors): its deadline passed (the outcome is
/// unknown) is REQUEST_TIMED_OUT; no controller answered, or the broker is
/// stopping (nothing was done), is NOT_CONTROLLER, which Kafka admin clients
/// retry after refreshing metadata.
int16_t kafka_error_for_controller_call(const std::error_code& ec);

}  // namespace fjord::broker
