#pragma once
// File: common/cluster/config_schema.h
//
// The schemas of cluster config and topic config: typed properties with a
// default, a description, whether a change needs a restart, and the allowed
// values. The frontend validates every requested value here before proposing
// (controller/stm/commands.h); the service publishes the cluster schema in
// GetClusterConfig (`ConfigProperty`). Pure data and functions; safe to call
// from any thread (the schemas are immutable after first use).
//
// Values travel as text, in these forms (`validate` returns the canonical text,
// which is what gets proposed and stored):
//   bool  `true` | `false`, exactly.
//   int   decimal int64, optional leading '-', no '+', no spaces; canonical
//         form drops leading zeros ("007" -> "7").
//   double a finite decimal number ("0.5", "1e-3"), optional leading '-', no
//         '+', no spaces; canonical form is the shortest that reads back the
//         same ("0.50" -> "0.5", "1.0" -> "1").
//   enum  one of the listed values, exactly (case-sensitive, as Kafka).
//   list  comma-separated elements ("alice,bob"); spaces around elements are
//         trimmed, empty elements and duplicates are refused; "" is the empty
//         list. Order is kept.
//   string any text.
//
// Apply does not re-validate values against the schema: a member running an
// older version must apply a newer proposer's keys exactly like everyone else.
// Readers that need a typed value (config_table::int_value) fall back to the
// default when a stored text does not parse.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::cluster {

namespace v1 = fjord::controller::v1;

enum class property_type { boolean, integer, string, list, enumeration, decimal };

/// "bool", "int", "string", "list", "enum", "double" (the ConfigProperty.type
/// strings).
std::string_view to_string(property_type t);

/// One property of a schema.
struct property {
    std::string name;
    property_type type = property_type::string;
    std::string default_value;  ///< canonical text
    std::string description;
    bool needs_restart = false;
    /// integer: the inclusive range of the value; list: of the element count.
    int64_t min = std::numeric_limits<int64_t>::min();
    int64_t max = std::numeric_limits<int64_t>::max();
    bool odd = false;  ///< integer: the value must be odd
    /// decimal: the inclusive range of the value.
    double real_min = 0;
    double real_max = 0;
    /// enumeration: the allowed values; list: the allowed elements (empty: any).
    std::vector<std::string> values;
    /// Topic properties: the cluster property whose value is this one's
    /// default (Redpanda's scheme: `segment.bytes` follows `log_segment_size`).
    std::string cluster_default;
    /// Cluster properties: while unset, the effective value is this other
    /// cluster property's (`kafka_enable_authorization` follows
    /// `enable_sasl`, as in Redpanda). `default_value` is the followed
    /// property's default, for readers that do not resolve it.
    std::string follows;
    /// A credential: GetClusterConfig answers redacted_value instead of a
    /// value that is set (only brokers, through Watch, get it).
    bool secret = false;

    /// The allowed values as one line, e.g. "[1, 100000]", "odd, [1, 512]",
    /// "disabled|permissive|enabled", "list of compact|delete, 1 to 2 elements".
    std::string allowed() const;
};

/// A set of properties, looked up by name.
class config_schema {
  public:
    /// `kind` names the schema in messages ("cluster", "topic").
    config_schema(std::string kind, std::vector<property> props);

    /// nullptr when `name` is not in the schema.
    const property* find(std::string_view name) const;
    /// Sorted by name.
    const std::vector<property>& properties() const { return _props; }

    /// Checks `value` for property `name` and returns its canonical text.
    /// invalid_config when the key is unknown, the text has the wrong type or
    /// the value is out of range; the detail is "<name>: <reason>".
    result<std::string> validate(std::string_view name, std::string_view value) const;

    /// The schema as GetClusterConfigResponse.schema publishes it.
    std::vector<v1::ConfigProperty> to_proto() const;

  private:
    std::string _kind;
    std::vector<property> _props;
};

/// What GetClusterConfig and `fjord cluster config get|export` show for a
/// secret property's set value.
inline constexpr std::string_view redacted_value = "[secret]";

/// Cluster-wide properties (SetClusterConfig / GetClusterConfig).
const config_schema& cluster_config_schema();
/// Per-topic properties, Kafka's names and meanings (CreateTopics configs,
/// AlterTopicConfigs).
const config_schema& topic_config_schema();

/// Whether brokers authorize Kafka requests with ACLs: the cluster config
/// `kafka_enable_authorization` when it is set to a bool, else
/// `enable_sasl`'s value (false when that is unset or not a bool either).
/// Arguments are the stored texts, nullopt when unset.
bool kafka_authorization_enabled(std::optional<std::string_view> kafka_enable_authorization,
                                 std::optional<std::string_view> enable_sasl);

/// Decimal int64 as described above; nullopt when `s` is not one.
std::optional<int64_t> parse_int(std::string_view s);
/// The elements of a list value (trimmed; "" is the empty list). Does not
/// refuse empty elements: use `validate` for that.
std::vector<std::string> split_list(std::string_view s);

}  // namespace fjord::cluster
