// File: common/cluster/config_schema.cc
//
// The two schemas (cluster and topic) as data, and value validation. To add a
// property: append it to the list below with its type, default, range and a
// description an operator can act on; nothing else changes (tables, service
// and CLI read the schema).

#include "common/cluster/config_schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "common/assert.h"
#include "common/cluster/errc.h"

namespace fjord::cluster {
namespace {

constexpr int64_t int64_max = std::numeric_limits<int64_t>::max();
constexpr int64_t int32_max = std::numeric_limits<int32_t>::max();
constexpr int64_t mib = 1024 * 1024;
constexpr int64_t week_ms = 7LL * 24 * 60 * 60 * 1000;

property boolean(std::string name, bool def, std::string description) {
    property p;
    p.name = std::move(name);
    p.type = property_type::boolean;
    p.default_value = def ? "true" : "false";
    p.description = std::move(description);
    return p;
}

property integer(std::string name, int64_t def, int64_t min, int64_t max, std::string description) {
    property p;
    p.name = std::move(name);
    p.type = property_type::integer;
    p.default_value = std::to_string(def);
    p.min = min;
    p.max = max;
    p.description = std::move(description);
    return p;
}

/// The canonical text of a double: the shortest that reads back the same.
std::string format_real(double v) {
    return fmt::format("{}", v == 0 ? 0.0 : v);  // no "-0"
}

property real(std::string name, double def, double min, double max, std::string description) {
    property p;
    p.name = std::move(name);
    p.type = property_type::decimal;
    p.default_value = format_real(def);
    p.real_min = min;
    p.real_max = max;
    p.description = std::move(description);
    return p;
}

property enumeration(std::string name, std::string def, std::vector<std::string> values,
                     std::string description) {
    property p;
    p.name = std::move(name);
    p.type = property_type::enumeration;
    p.default_value = std::move(def);
    p.values = std::move(values);
    p.description = std::move(description);
    return p;
}

property text(std::string name, std::string def, std::string description) {
    property p;
    p.name = std::move(name);
    p.type = property_type::string;
    p.default_value = std::move(def);
    p.description = std::move(description);
    return p;
}

property list(std::string name, std::string def, std::vector<std::string> values, int64_t min,
              int64_t max, std::string description) {
    property p;
    p.name = std::move(name);
    p.type = property_type::list;
    p.default_value = std::move(def);
    p.values = std::move(values);
    p.min = min;
    p.max = max;
    p.description = std::move(description);
    return p;
}

std::vector<property> cluster_properties() {
    std::vector<property> ps;
    ps.push_back(boolean("admin_api_require_auth", false,
                         "Require authenticated callers on the controller API (gRPC metadata "
                         "authorization: Basic, a SCRAM user's name and password); turning it "
                         "on needs a superuser that exists as a user."));
    ps.push_back(boolean("auto_create_topics_enabled", false,
                         "Let brokers create a topic when a client first uses it, with "
                         "default_topic_partitions and default_topic_replications."));
    ps.push_back(integer("broker_session_timeout_ms", 9000, 1000, 600000,
                         "A broker whose heartbeats stop for this long is no longer alive: it "
                         "is fenced and its leaderships move."));
    // Tiered storage (docs/tiered-storage.md): the object store every
    // broker and controller of the cluster shares (common/objstore/config.h).
    property access_key = text("cloud_storage_access_key", "",
                               "S3 access key id; empty: the AWS_ACCESS_KEY_ID environment "
                               "variable. Secret: read back as [secret].");
    access_key.secret = true;
    ps.push_back(std::move(access_key));
    ps.push_back(text("cloud_storage_api_endpoint", "",
                      "S3 endpoint host; empty: s3.<cloud_storage_region>.amazonaws.com."));
    ps.push_back(integer("cloud_storage_api_endpoint_port", 443, 1, 65535, "S3 endpoint port."));
    ps.push_back(enumeration("cloud_storage_backend", "local", {"local", "s3"},
                             "Where tiered data goes: local (cloud_storage_local_directory, "
                             "shared by every process) or s3."));
    ps.push_back(text("cloud_storage_bucket", "", "S3 bucket (required with the s3 backend)."));
    ps.push_back(integer("cloud_storage_cache_size", 1024 * mib, mib, int64_max,
                         "Bytes of downloaded segments each broker keeps on its disk to serve "
                         "reads below the local log start."));
    ps.push_back(boolean("cloud_storage_disable_tls", false,
                         "Talk plain HTTP to the S3 endpoint (test servers only)."));
    ps.push_back(boolean("cloud_storage_enabled", false,
                         "Turn tiered storage on: topics with redpanda.remote.write upload "
                         "closed segments, and mountable topics become possible."));
    ps.push_back(integer("cloud_storage_initial_backoff_ms", 100, 1, 60000,
                         "First retry delay of a failed object-store request (doubling, "
                         "jittered)."));
    ps.push_back(text("cloud_storage_local_directory", "",
                      "Absolute directory of the local backend; every broker and controller "
                      "must see the same one."));
    ps.push_back(integer("cloud_storage_max_retries", 5, 0, 100,
                         "Retries of an object-store request on 5xx, 429/SlowDown, connection "
                         "errors and timeouts."));
    ps.push_back(text("cloud_storage_region", "us-east-1", "S3 region (request signing)."));
    ps.push_back(integer("cloud_storage_request_timeout_ms", 10000, 100, 600000,
                         "Timeout of one object-store request attempt."));
    property secret_key = text("cloud_storage_secret_key", "",
                               "S3 secret access key; empty: the AWS_SECRET_ACCESS_KEY "
                               "environment variable. Secret: read back as [secret].");
    secret_key.secret = true;
    ps.push_back(std::move(secret_key));
    ps.push_back(integer("cloud_storage_segment_max_upload_interval_sec", 3600, 1, int64_max,
                         "A tiered partition's active segment holding data older than this is "
                         "closed and uploaded."));
    ps.push_back(enumeration("cloud_storage_url_style", "virtual_host", {"virtual_host", "path"},
                             "S3 addressing: bucket.endpoint/key or endpoint/bucket/key."));
    ps.push_back(integer("default_topic_partitions", 1, 1, 100000,
                         "Partitions of a topic created with partitions -1 (or auto-created)."));
    property rf = integer("default_topic_replications", 1, 1, 512,
                          "Replication factor of a topic created with replication factor -1 (or "
                          "auto-created). Odd, like every replication factor: an even number "
                          "tolerates no more failures than the odd number below it.");
    rf.odd = true;
    ps.push_back(std::move(rf));
    ps.push_back(boolean("enable_sasl", false,
                         "Require SASL authentication on Kafka listeners; also turns on ACL "
                         "authorization."));
    property authz = boolean("kafka_enable_authorization", false,
                             "Authorize Kafka requests with ACLs (superusers are always "
                             "allowed).");
    authz.follows = "enable_sasl";
    ps.push_back(std::move(authz));
    ps.push_back(list("log_cleanup_policy", "delete", {"compact", "delete"}, 1, 2,
                      "Default cleanup.policy of topics."));
    ps.push_back(integer("log_retention_ms", week_ms, -1, int64_max,
                         "Default retention.ms of topics; -1 keeps data forever."));
    ps.push_back(
        integer("log_segment_size", 128 * mib, mib, int32_max, "Default segment.bytes of topics."));
    ps.push_back(integer("retention_bytes", -1, -1, int64_max,
                         "Default retention.bytes of topics (per partition); -1: no size limit."));
    ps.push_back(integer("retention_local_target_bytes_default", -1, -1, int64_max,
                         "Default retention.local.target.bytes of tiered topics; -1: no size "
                         "limit."));
    ps.push_back(integer("retention_local_target_ms_default", 24 * 60 * 60 * 1000LL, -1, int64_max,
                         "Default retention.local.target.ms of tiered topics; -1: no limit."));
    ps.push_back(list("sasl_mechanisms", "SCRAM", {"SCRAM", "PLAIN"}, 1, 2,
                      "SASL mechanisms offered on Kafka listeners when enable_sasl is true."));
    ps.push_back(list("superusers", "", {}, 0, int64_max,
                      "Usernames that every ACL check allows (User:<name>), on the Kafka API "
                      "and the controller API."));
    ps.push_back(boolean("write_caching_default", false,
                         "Default write.caching of topics: true acknowledges acks=all writes "
                         "before they are fsynced (a power loss can take them)."));
    return ps;
}

std::vector<property> topic_properties() {
    std::vector<property> ps;
    property cleanup = list("cleanup.policy", "delete", {"compact", "delete"}, 1, 2,
                            "delete: drop old segments by retention.ms/retention.bytes; compact: "
                            "keep the latest record per key; both: compact, then delete.");
    cleanup.cluster_default = "log_cleanup_policy";
    ps.push_back(std::move(cleanup));
    ps.push_back(enumeration("compression.type", "producer",
                             {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"},
                             "Compression of stored batches; producer keeps the producer's."));
    ps.push_back(integer("delete.retention.ms", 24 * 60 * 60 * 1000LL, 0, int64_max,
                         "Compacted topics: how long a tombstone (a null value) stays after "
                         "the cleaner first compacted it; a consumer reading from the start "
                         "must reach the end within this to see every deletion."));
    ps.push_back(integer("max.message.bytes", 1048588, 0, int32_max,
                         "Largest record batch the topic accepts, in bytes."));
    ps.push_back(enumeration("message.timestamp.type", "CreateTime",
                             {"CreateTime", "LogAppendTime"},
                             "Whether record timestamps are the producer's or the broker's."));
    ps.push_back(real("min.cleanable.dirty.ratio", 0.5, 0, 1,
                      "Compacted topics: compact once the not yet compacted part is at least "
                      "this share of the compactable log."));
    ps.push_back(integer("min.compaction.lag.ms", 0, 0, int64_max,
                         "Compacted topics: a record stays uncompacted for at least this long."));
    ps.push_back(integer("min.insync.replicas", 1, 1, int32_max,
                         "Replicas that must acknowledge an acks=all write; at most the "
                         "topic's replication factor."));
    ps.push_back(boolean("redpanda.remote.delete", true,
                         "Delete the topic's objects from the object store when the topic is "
                         "deleted (never when it is unmounted)."));
    ps.push_back(boolean("redpanda.remote.read", false,
                         "Serve offsets below the local log start from the object store."));
    ps.push_back(boolean("redpanda.remote.write", false,
                         "Upload closed segments to the object store (needs "
                         "cloud_storage_enabled)."));
    property bytes = integer("retention.bytes", -1, -1, int64_max,
                             "Per-partition size above which old segments are deleted; -1: no "
                             "limit.");
    bytes.cluster_default = "retention_bytes";
    ps.push_back(std::move(bytes));
    property local_bytes = integer("retention.local.target.bytes", -1, -1, int64_max,
                                   "Tiered topics: per-partition local size above which "
                                   "uploaded segments are removed from the broker's disk.");
    local_bytes.cluster_default = "retention_local_target_bytes_default";
    ps.push_back(std::move(local_bytes));
    property local_ms = integer("retention.local.target.ms", 24 * 60 * 60 * 1000LL, -1, int64_max,
                                "Tiered topics: age above which uploaded segments are removed "
                                "from the broker's disk.");
    local_ms.cluster_default = "retention_local_target_ms_default";
    ps.push_back(std::move(local_ms));
    property ms = integer("retention.ms", week_ms, -1, int64_max,
                          "Age above which old segments are deleted; -1 keeps data forever.");
    ms.cluster_default = "log_retention_ms";
    ps.push_back(std::move(ms));
    // Kafka's minimum is 14 bytes (one legacy record); below 1 MiB a segment
    // holds a handful of batches and the broker drowns in files, so we refuse
    // it, as Redpanda does.
    property seg = integer("segment.bytes", 128 * mib, mib, int32_max,
                           "Size at which a partition's active segment is closed.");
    seg.cluster_default = "log_segment_size";
    ps.push_back(std::move(seg));
    ps.push_back(integer("segment.ms", week_ms, 1, int64_max,
                         "Age at which a partition's active segment is closed."));
    property caching = boolean("write.caching", false,
                               "false: acks=all is answered and records become readable only "
                               "once fsynced; true: once written (faster; a power loss can take "
                               "acknowledged records).");
    caching.cluster_default = "write_caching_default";
    ps.push_back(std::move(caching));
    return ps;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) {
            out += sep;
        }
        out += v[i];
    }
    return out;
}

error_info bad(const property& p, std::string reason) {
    return error_info::for_field(errc::invalid_config, p.name, reason);
}

}  // namespace

std::string_view to_string(property_type t) {
    switch (t) {
        case property_type::boolean:
            return "bool";
        case property_type::integer:
            return "int";
        case property_type::string:
            return "string";
        case property_type::list:
            return "list";
        case property_type::enumeration:
            return "enum";
        case property_type::decimal:
            return "double";
    }
    return "unknown";
}

std::string property::allowed() const {
    switch (type) {
        case property_type::boolean:
            return "true|false";
        case property_type::integer:
            return fmt::format("{}[{}, {}]", odd ? "odd, " : "", min, max);
        case property_type::decimal:
            return fmt::format("[{}, {}]", format_real(real_min), format_real(real_max));
        case property_type::string:
            return "";
        case property_type::enumeration:
            return join(values, "|");
        case property_type::list: {
            std::string out = "comma-separated list";
            if (!values.empty()) {
                out += " of " + join(values, "|");
            }
            if (max != int64_max) {
                out += fmt::format(", {} to {} elements", min, max);
            } else if (min > 0) {
                out += fmt::format(", at least {} elements", min);
            }
            return out;
        }
    }
    return "";
}

bool kafka_authorization_enabled(std::optional<std::string_view> kafka_enable_authorization,
                                 std::optional<std::string_view> enable_sasl) {
    if (kafka_enable_authorization == "true" || kafka_enable_authorization == "false") {
        return *kafka_enable_authorization == "true";
    }
    return enable_sasl == "true";
}

std::optional<int64_t> parse_int(std::string_view s) {
    if (s.empty() || s.front() == '+') {
        return std::nullopt;
    }
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    if (trim(s).empty()) {
        return out;
    }
    while (true) {
        const size_t comma = s.find(',');
        out.emplace_back(trim(s.substr(0, comma)));
        if (comma == std::string_view::npos) {
            break;
        }
        s.remove_prefix(comma + 1);
    }
    return out;
}

config_schema::config_schema(std::string kind, std::vector<property> props)
    : _kind(std::move(kind)), _props(std::move(props)) {
    std::sort(_props.begin(), _props.end(),
              [](const property& a, const property& b) { return a.name < b.name; });
    for (size_t i = 1; i < _props.size(); ++i) {
        FJORD_ASSERT(_props[i - 1].name != _props[i].name, "duplicate property {}", _props[i].name);
    }
}

const property* config_schema::find(std::string_view name) const {
    const auto it =
        std::lower_bound(_props.begin(), _props.end(), name,
                         [](const property& p, std::string_view n) { return p.name < n; });
    if (it == _props.end() || it->name != name) {
        return nullptr;
    }
    return &*it;
}

result<std::string> config_schema::validate(std::string_view name, std::string_view value) const {
    const property* p = find(name);
    if (p == nullptr) {
        return error_info::for_field(errc::invalid_config, name,
                                     fmt::format("unknown {} config key", _kind));
    }
    switch (p->type) {
        case property_type::boolean:
            if (value != "true" && value != "false") {
                return bad(*p, fmt::format("\"{}\" is not a bool (true|false)", value));
            }
            return std::string(value);
        case property_type::integer: {
            const std::optional<int64_t> v = parse_int(value);
            if (!v) {
                return bad(*p, fmt::format("\"{}\" is not an integer (decimal int64)", value));
            }
            if (*v < p->min || *v > p->max) {
                return bad(*p, fmt::format("{} is out of range [{}, {}]", *v, p->min, p->max));
            }
            if (p->odd && *v % 2 == 0) {
                return bad(*p, fmt::format("{} is even; it must be odd (an even replication "
                                           "factor tolerates no more failures than the odd "
                                           "number below it)",
                                           *v));
            }
            return std::to_string(*v);
        }
        case property_type::decimal: {
            double v = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (value.empty() || value.front() == '+' || ec != std::errc{} ||
                end != value.data() + value.size() || !std::isfinite(v)) {
                return bad(*p, fmt::format("\"{}\" is not a number (decimal, e.g. 0.5)", value));
            }
            if (v < p->real_min || v > p->real_max) {
                return bad(*p, fmt::format("{} is out of range {}", format_real(v), p->allowed()));
            }
            return format_real(v);
        }
        case property_type::string:
            return std::string(value);
        case property_type::enumeration:
            if (std::find(p->values.begin(), p->values.end(), value) == p->values.end()) {
                return bad(*p, fmt::format("\"{}\" is not one of {}", value, p->allowed()));
            }
            return std::string(value);
        case property_type::list: {
            const std::vector<std::string> elems = split_list(value);
            std::set<std::string_view> seen;
            for (size_t i = 0; i < elems.size(); ++i) {
                if (elems[i].empty()) {
                    return bad(*p, fmt::format("\"{}\": element {} is empty (elements are "
                                               "comma-separated)",
                                               value, i + 1));
                }
                if (!p->values.empty() &&
                    std::find(p->values.begin(), p->values.end(), elems[i]) == p->values.end()) {
                    return bad(*p, fmt::format("\"{}\": \"{}\" is not one of {}", value, elems[i],
                                               join(p->values, "|")));
                }
                if (!seen.insert(elems[i]).second) {
                    return bad(*p, fmt::format("\"{}\": \"{}\" appears twice", value, elems[i]));
                }
            }
            const auto n = static_cast<int64_t>(elems.size());
            if (n < p->min || n > p->max) {
                return bad(
                    *p, fmt::format("\"{}\" has {} elements; allowed: {}", value, n, p->allowed()));
            }
            return join(elems, ",");
        }
    }
    return bad(*p, "unknown property type");
}

std::vector<v1::ConfigProperty> config_schema::to_proto() const {
    std::vector<v1::ConfigProperty> out;
    out.reserve(_props.size());
    for (const property& p : _props) {
        v1::ConfigProperty cp;
        cp.set_name(p.name);
        cp.set_type(std::string(to_string(p.type)));
        cp.set_default_value(p.default_value);
        std::string description = p.description;
        if (!p.cluster_default.empty()) {
            description += fmt::format(" Defaults to the cluster property {}.", p.cluster_default);
        }
        if (!p.follows.empty()) {
            description += fmt::format(" Unset, it takes the value of {}.", p.follows);
        }
        cp.set_description(std::move(description));
        cp.set_needs_restart(p.needs_restart);
        cp.set_allowed(p.allowed());
        cp.set_secret(p.secret);
        out.push_back(std::move(cp));
    }
    return out;
}

const config_schema& cluster_config_schema() {
    static const config_schema s("cluster", cluster_properties());
    return s;
}

const config_schema& topic_config_schema() {
    static const config_schema s("topic", topic_properties());
    return s;
}

}  // namespace fjord::cluster
