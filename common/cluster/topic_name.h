#pragma once
// File: common/cluster/topic_name.h
//
// Kafka's topic-name rule, read by the controller's frontend before it
// proposes a topic and by the broker's Kafka admin APIs before they forward
// one, so that both refuse the same names with the same words. Pure.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fjord::cluster {

/// Kafka's limit on topic name length.
inline constexpr size_t max_topic_name_length = 249;

/// Kafka's rule: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
/// errc::invalid_argument, field `name`.
result<void> validate_topic_name(std::string_view name);

/// `s` in double quotes for an error detail; names longer than 60 characters
/// are cut (with "...") so that a refusal stays one readable line.
std::string quoted(std::string_view s);

}  // namespace fjord::cluster
