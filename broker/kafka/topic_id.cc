// File: broker/kafka/topic_id.cc

#include "broker/kafka/topic_id.h"

#include <charconv>
#include <string>

namespace fjord::broker {

kafka::uuid to_kafka_uuid(std::string_view text) {
    std::string hex;
    for (char c : text) {
        if (c != '-') {
            hex.push_back(c);
        }
    }
    kafka::uuid u;
    if (hex.size() != 32) {
        return u;
    }
    const auto parse = [](std::string_view s, uint64_t& out) {
        return std::from_chars(s.data(), s.data() + s.size(), out, 16).ec == std::errc();
    };
    if (!parse(std::string_view(hex).substr(0, 16), u.high) ||
        !parse(std::string_view(hex).substr(16, 16), u.low)) {
        return kafka::uuid{};
    }
    return u;
}

}  // namespace fjord::broker
