#pragma once
// File: controller/stm/migration_table.h
//
// The applied migrations of mountable topics (docs/tiered-storage.md): the
// proto `Migration` records by id, and the id the next one gets. Ids start
// at 1 and are never reused, also after a migration is removed.
//
// Only controller_stm mutates it; not thread-safe (see topic_table.h).

#include <cstdint>
#include <map>
#include <string_view>

#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

class migration_table {
  public:
    using map_type = std::map<int64_t, v1::Migration>;

    /// nullptr when there is no migration `id`.
    const v1::Migration* find(int64_t id) const;
    const map_type& all() const { return _migrations; }
    /// The id the next migration gets (1 before any); what
    /// ClusterState.next_migration_id holds (0 there before any).
    int64_t next_id() const { return _next == 0 ? 1 : _next; }
    /// The stored ClusterState.next_migration_id (0 before any migration).
    int64_t next_id_field() const { return _next; }

    /// The active (not finished or cancelled) migration naming topic `name`
    /// in this cluster (an unmount's topic, a mount's alias or topic), or
    /// nullptr.
    const v1::Migration* active_for_name(std::string_view name) const;
    /// The active mount of `location`, or nullptr.
    const v1::Migration* active_mount_of(std::string_view location) const;

    // Mutators: controller_stm only.
    void upsert(v1::Migration m);
    void erase(int64_t id);
    void set_next_id_field(int64_t next) { _next = next; }
    void clear();

  private:
    map_type _migrations;
    int64_t _next = 0;
};

}  // namespace fjord::stm
