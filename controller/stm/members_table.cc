// File: controller/stm/members_table.cc
//
// members_table: lookups over the id map.

#include "controller/stm/members_table.h"

namespace fjord::stm {

const v1::Member* members_table::find(uint64_t id) const {
    const auto it = _members.find(id);
    return it == _members.end() ? nullptr : &it->second;
}

void members_table::upsert(v1::Member m) {
    const uint64_t id = m.id();
    _members.insert_or_assign(id, std::move(m));
}

}  // namespace fjord::stm
