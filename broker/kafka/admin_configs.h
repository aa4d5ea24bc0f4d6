#pragma once
// File: broker/kafka/admin_configs.h
//
// The config side of the Kafka admin APIs, as pure functions over the
// broker's metadata cache (the admin handlers in handlers/ serve the requests):
//
//   DescribeConfigs  describe_topic / describe_broker: every config of a
//                    topic or of this broker, with Kafka's value, source,
//                    synonyms, type and documentation.
//   AlterConfigs     replace_topic_configs: Kafka's "the request is the whole
//                    set" turned into the controller's set/remove item.
//   IncrementalAlterConfigs
//                    incremental_topic_configs: SET / DELETE / APPEND /
//                    SUBTRACT turned into the controller's set/remove item.
//
// Where a topic config's value comes from (the same chain the broker
// enforces, partition_manager::config_for, and the controller validates,
// common/cluster/config_schema.h):
//
//   1. the topic's own value (Topic.configs)       DYNAMIC_TOPIC_CONFIG
//   2. the cluster property it follows, if set     DYNAMIC_DEFAULT_BROKER_CONFIG
//      (`segment.bytes` follows `log_segment_size`; `fjord cluster config`)
//   3. the schema's default                        DEFAULT_CONFIG
//
// Synonyms list every level that has a value, most specific first, as Kafka
// does; level 2 and 3 are named after the cluster property (what an operator
// sets), or after the topic key where there is no cluster property.
//
// The broker decides nothing here: values are validated by the controller
// when they are set. These functions only shape requests and answers, and
// refuse what Kafka refuses before any validation (a key named twice, a null
// value for SET, APPEND on a key that is not a list). Nothing here throws,
// locks or does I/O: call it on the io thread, which owns the cache.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/cluster/metadata_cache.h"
#include "common/kafka/messages/alter_configs.h"
#include "common/kafka/messages/incremental_alter_configs.h"

namespace fjord::broker {

struct broker_config;

/// Kafka's ConfigSource (DescribeConfigsResponse), the values used here.
enum class config_source : int8_t {
    dynamic_topic = 1,           ///< set on the topic
    dynamic_default_broker = 3,  ///< cluster-wide, set with `fjord cluster config`
    static_broker = 4,           ///< this broker's broker.yaml
    default_config = 5,          ///< nobody set it
};

/// Kafka's ConfigType (DescribeConfigs v3+).
enum class config_type : int8_t {
    unknown = 0,
    boolean = 1,
    string = 2,
    int32 = 3,
    int64 = 5,
    float64 = 6,
    list = 7,
};

struct config_synonym {
    std::string name;
    std::optional<std::string> value;
    config_source source = config_source::default_config;
};

/// One config as DescribeConfigs reports it.
struct described_config {
    std::string name;
    std::optional<std::string> value;  ///< null: not set and no default (Kafka's null)
    config_source source = config_source::default_config;
    bool read_only = false;
    config_type type = config_type::unknown;
    std::string documentation;
    /// Every level that has a value, most specific first (the first one is
    /// `value`/`source`); the caller drops them unless synonyms were asked.
    std::vector<config_synonym> synonyms;
};

/// Every topic config of `t` (the topic schema's keys, sorted by name).
std::vector<described_config> describe_topic(const v1::Topic& t, const metadata_cache& md);

/// A broker-level setting from broker.yaml, under Kafka's name.
struct broker_setting {
    std::string name;                  ///< Kafka's name, e.g. "log.dirs"
    std::optional<std::string> value;  ///< null: unset (Kafka's null)
    bool is_default = false;           ///< the yaml key was left at its default
    std::string fjord_key;             ///< the broker.yaml key, e.g. "data_dir"
    config_type type = config_type::string;
};

/// The broker.yaml settings a Kafka client may ask about, Kafka-named.
std::vector<broker_setting> broker_settings(const broker_config& cfg);

/// The configs of this broker (read-only: broker.yaml needs a restart and
/// cluster-wide values belong to the controller): `settings`, then the
/// cluster properties under Kafka's broker names (auto.create.topics.enable,
/// num.partitions, log.retention.ms, ...). `defaults_only` (the resource
/// name "", Kafka's cluster-wide default): only cluster properties set with
/// `fjord cluster config`.
std::vector<described_config> describe_broker(const std::vector<broker_setting>& settings,
                                              const metadata_cache& md, bool defaults_only);

/// The controller's AlterTopicConfigs item for one resource, or why not.
struct alter_plan {
    int16_t error_code = 0;  ///< kafka_errors::none: `item` is the change
    std::string error_message;
    /// Nothing to change (an empty request): answer success without asking
    /// the controller, which refuses an empty change.
    bool no_op = false;
    v1::AlterTopicConfigsRequest::Item item;
};

/// AlterConfigs: `configs` becomes the topic's whole set; keys set on the
/// topic and absent from the request (or with a null value) are removed.
alter_plan replace_topic_configs(
    const v1::Topic& t, const std::vector<kafka::alter_configs_request::alterable_config>& configs);

/// IncrementalAlterConfigs operations (Kafka's AlterConfigOp.OpType).
inline constexpr int8_t op_set = 0;
inline constexpr int8_t op_delete = 1;
inline constexpr int8_t op_append = 2;
inline constexpr int8_t op_subtract = 3;

/// IncrementalAlterConfigs: SET and DELETE as given; APPEND and SUBTRACT
/// (list configs only) edit the current effective value (topic, cluster,
/// default: what DescribeConfigs shows) and SET the result.
alter_plan incremental_topic_configs(
    const v1::Topic& t, const metadata_cache& md,
    const std::vector<kafka::incremental_alter_configs_request::alterable_config>& ops);

}  // namespace fjord::broker
