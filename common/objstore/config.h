#pragma once
// File: common/objstore/config.h
//
// The cluster config keys of the object store (common/cluster/config_schema.cc
// declares them; this reads them): both the brokers (metadata_cache) and the
// controller (config_table) build their store from the same replicated
// values, so every process of a cluster talks to the same bucket.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/objstore/object_store.h"
#include "common/result.h"

namespace fjord::objstore {

/// A cluster config value set explicitly, else nullopt (the schema default applies).
using config_lookup = std::function<std::optional<std::string>(std::string_view key)>;

/// Whether cloud_storage_enabled is true.
bool cloud_storage_enabled(const config_lookup& get);

/// The store configuration from the cluster config; errc::config naming the
/// key when one is missing (bucket for S3, the directory for local) or does
/// not parse. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
/// of this process fill in credentials the config leaves empty.
result<store_config> store_config_from(const config_lookup& get);

}  // namespace fjord::objstore
