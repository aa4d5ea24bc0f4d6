// File: broker/kafka/handlers/admin_items.cc

#include "broker/kafka/handlers/admin_items.h"

#include <fmt/format.h>

#include "common/cluster/internal_topics.h"
#include "common/cluster/topic_name.h"

namespace fjord::broker {

namespace k = kafka_errors;

outcome outcome_of(const v1::ItemResult& r) {
    const int16_t code = kafka_error(r.code(), r.field());
    if (code == k::none) {
        return {};
    }
    // detail is the message relative to the item (no "topics[2]." prefix),
    // which is what a Kafka client is told about its own item. A controller
    // older than ItemResult.detail leaves it empty: its message is still
    // right, only longer.
    return {code, r.detail().empty() ? r.message() : r.detail()};
}

outcome outcome_of(const error_info& e) {
    return {kafka_error_for_controller_call(e.code), e.detail};
}

outcome missing_item() {
    return {k::unknown_server_error, "the controller's answer has no result for this item"};
}

std::optional<outcome> refuse_internal(const std::string& name) {
    if (!cluster::is_internal_topic(name)) {
        return std::nullopt;
    }
    return outcome{k::invalid_request,
                   fmt::format("topic \"{}\" is internal: the group coordinator owns it", name)};
}

outcome no_such_topic(const std::string& name) {
    if (auto r = cluster::validate_topic_name(name); !r) {
        return {k::invalid_topic_exception, r.error().detail};
    }
    return {k::unknown_topic_or_partition, fmt::format("topic \"{}\" does not exist", name)};
}

std::string uuid_text(const kafka::uuid& u) {
    const std::string h = fmt::format("{:016x}{:016x}", u.high, u.low);
    return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                       h.substr(16, 4), h.substr(20));
}

const char* resource_type_name(int8_t t) {
    switch (t) {
        case resource_topic:
            return "TOPIC";
        case resource_broker:
            return "BROKER";
        case resource_broker_logger:
            return "BROKER_LOGGER";
        default:
            return "unknown";
    }
}

outcome unsupported_resource(int8_t type) {
    if (type == resource_broker_logger) {
        return {k::invalid_request,
                "resource_type: BROKER_LOGGER (8) is not supported: the broker's log level is "
                "broker.yaml's log_level"};
    }
    return {k::invalid_request,
            fmt::format("resource_type: {} is not supported (TOPIC 2, BROKER 4)",
                        static_cast<int>(type))};
}

}  // namespace fjord::broker
