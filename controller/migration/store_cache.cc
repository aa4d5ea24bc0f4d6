// File: controller/migration/store_cache.cc
//
// store_cache (store_cache.h).

#include "controller/migration/store_cache.h"

#include "common/cluster/errc.h"
#include "common/objstore/config.h"

namespace fjord::migration {

std::map<std::string, std::string> store_keys(const stm::config_table& config) {
    std::map<std::string, std::string> out;
    for (const auto& [key, v] : config.all()) {
        if (key.starts_with("cloud_storage_")) {
            out.emplace(key, v.value());
        }
    }
    return out;
}

result<std::shared_ptr<objstore::object_store>> store_cache::get(
    const std::map<std::string, std::string>& keys) {
    const objstore::config_lookup lookup =
        [&keys](std::string_view key) -> std::optional<std::string> {
        const auto it = keys.find(std::string(key));
        return it == keys.end() ? std::nullopt : std::optional(it->second);
    };
    if (!objstore::cloud_storage_enabled(lookup)) {
        return error_info(cluster::errc::migrations_disabled,
                          "cloud storage disabled (cloud_storage_enabled is false)");
    }
    std::lock_guard g(_mu);
    if (_store && keys == _keys) {
        return _store;
    }
    auto cfg = objstore::store_config_from(lookup);
    if (!cfg) {
        return cfg.error();
    }
    auto made = _make(*cfg);
    if (!made) {
        return made.error();
    }
    _store = std::shared_ptr<objstore::object_store>(std::move(*made));
    _keys = keys;
    return _store;
}

}  // namespace fjord::migration
