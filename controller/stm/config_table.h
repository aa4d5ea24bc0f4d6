#pragma once
// File: controller/stm/config_table.h
//
// The cluster config values set explicitly (key -> proto `ConfigValue` with
// its Audit); everything else is the schema's default. Also computes effective
// values: of cluster properties (GetClusterConfig) and of a topic's properties
// (topic describe), where a topic property defaults to its cluster property
// when it has one (`segment.bytes` <- `log_segment_size`).
//
// Only controller_stm mutates it; not thread-safe (see topic_table.h).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "fjord/controller/v1/controller_service.pb.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

class config_table {
  public:
    using map_type = std::map<std::string, v1::ConfigValue, std::less<>>;

    /// nullptr when `key` is not set explicitly.
    const v1::ConfigValue* find(std::string_view key) const;
    /// Explicitly set values, by key. May hold keys the local schema does not
    /// know (set by a newer member); they are kept and replicated, not served.
    const map_type& all() const { return _values; }

    /// The value of cluster property `key` (which must be in the cluster
    /// schema): the set text, or else the value of the property it follows
    /// (property::follows), or else the default.
    std::string value(std::string_view key) const;
    /// Typed reads of integer and bool properties. A set text that does not
    /// parse (written by a proposer with a different schema) reads as the
    /// default, the same on every member.
    int64_t int_value(std::string_view key) const;
    bool bool_value(std::string_view key) const;

    /// GetClusterConfig's entries for `keys` in order, or for every property
    /// of the cluster schema (by name) when `keys` is empty. invalid_config
    /// naming the first unknown key.
    result<std::vector<v1::GetClusterConfigResponse::Entry>> effective(
        const std::vector<std::string>& keys) const;

    // Mutators: controller_stm only.
    void set(v1::ConfigValue v);
    void erase(std::string_view key);
    void clear() { _values.clear(); }

  private:
    map_type _values;
};

/// One effective topic property: its value and where it came from.
struct effective_config {
    std::string key;
    std::string value;
    /// "topic" (set on the topic), "cluster" (the cluster property it
    /// follows is set) or "default" (the schema's default).
    std::string source;
};

/// Every property of the topic schema for `t`, by name.
std::vector<effective_config> effective_topic_configs(const v1::Topic& t,
                                                      const config_table& cluster);

}  // namespace fjord::stm
