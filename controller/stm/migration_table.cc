// File: controller/stm/migration_table.cc
//
// migration_table: the migrations by id and the lookups the checks use.

#include "controller/stm/migration_table.h"

#include <algorithm>

#include "common/cluster/migration.h"
#include "controller/stm/topic_table.h"

namespace fjord::stm {

const v1::Migration* migration_table::find(int64_t id) const {
    const auto it = _migrations.find(id);
    return it == _migrations.end() ? nullptr : &it->second;
}

const v1::Migration* migration_table::active_for_name(std::string_view name) const {
    const std::string key = collision_key(name);
    for (const auto& [id, m] : _migrations) {
        if (cluster::is_terminal(m.state())) {
            continue;
        }
        for (const v1::MigrationTopic& t : m.topics()) {
            if (collision_key(cluster::effective_name(t)) == key) {
                return &m;
            }
        }
    }
    return nullptr;
}

const v1::Migration* migration_table::active_mount_of(std::string_view location) const {
    for (const auto& [id, m] : _migrations) {
        if (cluster::is_terminal(m.state()) || m.type() != v1::MIGRATION_TYPE_MOUNT) {
            continue;
        }
        for (const v1::MigrationTopic& t : m.topics()) {
            if (t.location() == location) {
                return &m;
            }
        }
    }
    return nullptr;
}

void migration_table::upsert(v1::Migration m) {
    _next = std::max(_next, m.id() + 1);
    const int64_t id = m.id();
    _migrations.insert_or_assign(id, std::move(m));
}

void migration_table::erase(int64_t id) {
    _migrations.erase(id);
}

void migration_table::clear() {
    _migrations.clear();
    _next = 0;
}

}  // namespace fjord::stm
