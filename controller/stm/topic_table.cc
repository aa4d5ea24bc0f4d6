// File: controller/stm/topic_table.cc
//
// topic_table: the name map, the collision-key index and the partition count,
// kept consistent by every mutator.

#include "controller/stm/topic_table.h"

#include <algorithm>

#include "common/assert.h"

namespace fjord::stm {

std::string collision_key(std::string_view name) {
    std::string k(name);
    std::replace(k.begin(), k.end(), '.', '_');
    return k;
}

const v1::Topic* topic_table::find(std::string_view name) const {
    const auto it = _topics.find(name);
    return it == _topics.end() ? nullptr : &it->second;
}

const v1::Topic* topic_table::find_collision(std::string_view name) const {
    const auto it = _by_collision_key.find(collision_key(name));
    if (it == _by_collision_key.end() || it->second == name) {
        return nullptr;
    }
    return find(it->second);
}

void topic_table::account(const v1::Topic& t, int sign) {
    for (const v1::PartitionAssignment& p : t.partitions()) {
        for (int32_t r : p.replicas()) {
            _load[r].replicas += sign;
        }
        if (!p.replicas().empty()) {
            _load[p.replicas(0)].leaders += sign;
        }
    }
}

void topic_table::upsert(v1::Topic t) {
    FJORD_ASSERT(find_collision(t.name()) == nullptr, "topic {} collides with {}", t.name(),
                 find_collision(t.name())->name());
    auto it = _topics.find(t.name());
    if (it == _topics.end()) {
        _by_collision_key.emplace(collision_key(t.name()), t.name());
        _partitions += static_cast<uint64_t>(t.partitions_size());
        account(t, +1);
        std::string name = t.name();
        _topics.emplace(std::move(name), std::move(t));
        return;
    }
    _partitions -= static_cast<uint64_t>(it->second.partitions_size());
    _partitions += static_cast<uint64_t>(t.partitions_size());
    account(it->second, -1);
    account(t, +1);
    it->second = std::move(t);
}

void topic_table::erase(std::string_view name) {
    const auto it = _topics.find(name);
    if (it == _topics.end()) {
        return;
    }
    _partitions -= static_cast<uint64_t>(it->second.partitions_size());
    account(it->second, -1);
    _by_collision_key.erase(collision_key(name));
    _topics.erase(it);
}

void topic_table::clear() {
    _topics.clear();
    _by_collision_key.clear();
    _partitions = 0;
    _load.clear();
}

}  // namespace fjord::stm
