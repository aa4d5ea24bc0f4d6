#pragma once
// File: controller/migration/store_cache.h
//
// The controller's object store, built from the replicated cluster config
// (common/objstore/config.h over config_table) and rebuilt when one of its
// cloud_storage_* keys changes. Shared by the migration driver and the API's
// mount checks and ListMountableTopics; both call it from their own threads
// (never the Raft loop), and thread-safe.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/objstore/object_store.h"
#include "common/result.h"
#include "controller/stm/config_table.h"

namespace fjord::migration {

/// The cloud_storage_* keys set explicitly in `config` (the others take their
/// schema defaults): what decides which store to talk to.
std::map<std::string, std::string> store_keys(const stm::config_table& config);

class store_cache {
  public:
    using factory = std::function<result<std::unique_ptr<objstore::object_store>>(
        const objstore::store_config&)>;
    explicit store_cache(factory make = objstore::make_store) : _make(std::move(make)) {}

    /// The store for `keys` (store_keys of the current config): the one built
    /// before when they have not changed. cluster errc::migrations_disabled
    /// while cloud_storage_enabled is not true; objstore errc::config naming
    /// the key when the configuration is incomplete or wrong.
    result<std::shared_ptr<objstore::object_store>> get(
        const std::map<std::string, std::string>& keys);

  private:
    factory _make;
    std::mutex _mu;
    std::map<std::string, std::string> _keys;
    std::shared_ptr<objstore::object_store> _store;
};

}  // namespace fjord::migration
