// File: broker/tiered/topic_settings.cc
//
// Tiered settings of a topic (topic_settings.h).

#include "broker/tiered/topic_settings.h"

#include <charconv>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "common/tiered/layout.h"

namespace fjord::broker {
namespace {

/// The topic's value of `key`, else the cluster's `cluster_key`.
std::optional<std::string> value(const controller::v1::Topic& t,
                                 const objstore::config_lookup& cluster, const char* key,
                                 const char* cluster_key) {
    if (auto it = t.configs().find(key); it != t.configs().end()) {
        return it->second;
    }
    if (cluster_key != nullptr) {
        return cluster(cluster_key);
    }
    return std::nullopt;
}

result<int64_t> int_value(const controller::v1::Topic& t, const objstore::config_lookup& cluster,
                          const char* key, const char* cluster_key, int64_t dflt) {
    auto v = value(t, cluster, key, cluster_key);
    if (!v) {
        return dflt;
    }
    int64_t out = 0;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || end != v->data() + v->size()) {
        return error_info::for_field(std::make_error_code(std::errc::invalid_argument), key,
                                     fmt::format("\"{}\" is not an integer", *v));
    }
    return out;
}

result<bool> bool_value(const controller::v1::Topic& t, const objstore::config_lookup& cluster,
                        const char* key, const char* cluster_key, bool dflt) {
    auto v = value(t, cluster, key, cluster_key);
    if (!v) {
        return dflt;
    }
    if (*v != "true" && *v != "false") {
        return error_info::for_field(std::make_error_code(std::errc::invalid_argument), key,
                                     fmt::format("\"{}\" is not true or false", *v));
    }
    return *v == "true";
}

}  // namespace

int64_t tighter_limit(int64_t a, int64_t b) {
    if (a < 0) {
        return b;
    }
    if (b < 0) {
        return a;
    }
    return std::min(a, b);
}

std::string location_of(const controller::v1::Topic& topic, const std::string& cluster_uuid) {
    return topic.remote_location().empty()
               ? tiered::default_location(topic.name(), cluster_uuid, topic.uuid())
               : topic.remote_location();
}

result<tiered_settings> tiered_settings_for(const controller::v1::Topic& topic,
                                            const std::string& cluster_uuid,
                                            const objstore::config_lookup& cluster) {
    tiered_settings s;
    auto write = bool_value(topic, cluster, "redpanda.remote.write", nullptr, false);
    if (!write) {
        return write.error();
    }
    s.tiered = *write && objstore::cloud_storage_enabled(cluster);
    auto del = bool_value(topic, cluster, "redpanda.remote.delete", nullptr, true);
    if (!del) {
        return del.error();
    }
    s.remote_delete = *del;
    s.location = location_of(topic, cluster_uuid);
    if (auto policy = value(topic, cluster, "cleanup.policy", "log_cleanup_policy")) {
        s.cleanup_delete = policy->find("delete") != std::string::npos;
    }
    constexpr int64_t week_ms = int64_t{7} * 24 * 3600 * 1000;
    constexpr int64_t day_ms = int64_t{24} * 3600 * 1000;
    struct item {
        const char* key;
        const char* cluster_key;
        int64_t dflt;
        int64_t* out;
    };
    int64_t upload_interval_sec = 3600;
    for (const item& i : {
             item{"retention.ms", "log_retention_ms", week_ms, &s.retention_ms},
             item{"retention.bytes", "retention_bytes", -1, &s.retention_bytes},
             item{"retention.local.target.ms", "retention_local_target_ms_default", day_ms,
                  &s.local_target_ms},
             item{"retention.local.target.bytes", "retention_local_target_bytes_default", -1,
                  &s.local_target_bytes},
         }) {
        auto v = int_value(topic, cluster, i.key, i.cluster_key, i.dflt);
        if (!v) {
            return v.error();
        }
        *i.out = *v;
    }
    if (auto v = cluster("cloud_storage_segment_max_upload_interval_sec")) {
        int64_t n = 0;
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc() || end != v->data() + v->size() || n < 1) {
            return error_info::for_field(std::make_error_code(std::errc::invalid_argument),
                                         "cloud_storage_segment_max_upload_interval_sec",
                                         fmt::format("\"{}\" is not a positive integer", *v));
        }
        upload_interval_sec = n;
    }
    s.upload_interval_ms =
        upload_interval_sec > INT64_MAX / 1000 ? INT64_MAX : upload_interval_sec * 1000;
    return s;
}

}  // namespace fjord::broker
