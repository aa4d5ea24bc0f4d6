#pragma once
// File: common/cluster/internal_topics.h
//
// The topics the brokers keep for themselves. `__consumer_offsets` holds the
// group coordinator's committed offsets (broker/group/): clients may read it
// but never produce to, create, delete, grow or reconfigure it through the
// Kafka API, it is never auto-created, and Metadata marks it internal.

#include <string_view>

namespace fjord::cluster {

inline constexpr std::string_view offsets_topic = "__consumer_offsets";

inline bool is_internal_topic(std::string_view name) {
    return name == offsets_topic;
}

}  // namespace fjord::cluster
