// File: controller/stm/config_table.cc
//
// config_table: stored values and effective-value computation over the
// schemas of common/cluster/config_schema.h.

#include "controller/stm/config_table.h"

#include <fmt/format.h>

#include "common/assert.h"
#include "common/cluster/config_schema.h"
#include "common/cluster/errc.h"

namespace fjord::stm {

using cluster::cluster_config_schema;
using cluster::errc;
using cluster::parse_int;
using cluster::property;
using cluster::property_type;
using cluster::topic_config_schema;
namespace {

const property& cluster_property(std::string_view key) {
    const property* p = cluster_config_schema().find(key);
    FJORD_ASSERT(p != nullptr, "{} is not a cluster property", key);
    return *p;
}

}  // namespace

const v1::ConfigValue* config_table::find(std::string_view key) const {
    const auto it = _values.find(key);
    return it == _values.end() ? nullptr : &it->second;
}

std::string config_table::value(std::string_view key) const {
    const property& p = cluster_property(key);
    if (const v1::ConfigValue* v = find(key); v != nullptr) {
        return v->value();
    }
    return p.follows.empty() ? p.default_value : value(p.follows);
}

int64_t config_table::int_value(std::string_view key) const {
    const property& p = cluster_property(key);
    FJORD_ASSERT(p.type == property_type::integer, "{} is not an int property", key);
    if (const v1::ConfigValue* v = find(key); v != nullptr) {
        if (auto r = cluster_config_schema().validate(key, v->value()); r) {
            return *parse_int(*r);
        }
    }
    return *parse_int(p.default_value);
}

bool config_table::bool_value(std::string_view key) const {
    const property& p = cluster_property(key);
    FJORD_ASSERT(p.type == property_type::boolean, "{} is not a bool property", key);
    if (const v1::ConfigValue* v = find(key); v != nullptr) {
        if (v->value() == "true" || v->value() == "false") {
            return v->value() == "true";
        }
    }
    return p.follows.empty() ? p.default_value == "true" : bool_value(p.follows);
}

result<std::vector<v1::GetClusterConfigResponse::Entry>> config_table::effective(
    const std::vector<std::string>& keys) const {
    std::vector<std::string> names = keys;
    if (names.empty()) {
        for (const property& p : cluster_config_schema().properties()) {
            names.push_back(p.name);
        }
    }
    std::vector<v1::GetClusterConfigResponse::Entry> out;
    out.reserve(names.size());
    for (const std::string& k : names) {
        const property* p = cluster_config_schema().find(k);
        if (p == nullptr) {
            return error_info::for_field(errc::invalid_config, k, "unknown cluster config key");
        }
        v1::GetClusterConfigResponse::Entry e;
        e.set_key(k);
        if (const v1::ConfigValue* v = find(k); v != nullptr) {
            e.set_value(v->value());
            e.set_is_default(false);
            *e.mutable_updated() = v->updated();
        } else {
            e.set_value(value(k));  // the default, or the value of the one it follows
            e.set_is_default(true);
        }
        out.push_back(std::move(e));
    }
    return out;
}

void config_table::set(v1::ConfigValue v) {
    std::string key = v.key();
    _values.insert_or_assign(std::move(key), std::move(v));
}

void config_table::erase(std::string_view key) {
    const auto it = _values.find(key);
    if (it != _values.end()) {
        _values.erase(it);
    }
}

std::vector<effective_config> effective_topic_configs(const v1::Topic& t,
                                                      const config_table& cluster) {
    std::vector<effective_config> out;
    for (const property& p : topic_config_schema().properties()) {
        effective_config e;
        e.key = p.name;
        if (const auto it = t.configs().find(p.name); it != t.configs().end()) {
            e.value = it->second;
            e.source = "topic";
        } else if (!p.cluster_default.empty() && cluster.find(p.cluster_default) != nullptr) {
            e.value = cluster.value(p.cluster_default);
            e.source = "cluster";
        } else {
            e.value = p.default_value;
            e.source = "default";
        }
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace fjord::stm
