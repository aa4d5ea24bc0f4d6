#pragma once
// File: controller/stm/members_table.h
//
// The controller group's members (id -> addresses), as the proto `Member`.
// Maintained by controller_stm from committed Raft membership changes (whose
// context is a serialized MemberContext); Status and AddMember read it. Only
// controller_stm mutates it; not thread-safe (see topic_table.h).

#include <cstdint>
#include <map>

#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

class members_table {
  public:
    using map_type = std::map<uint64_t, v1::Member>;

    /// nullptr when `id` is not a member.
    const v1::Member* find(uint64_t id) const;
    const map_type& all() const { return _members; }
    size_t size() const { return _members.size(); }

    // Mutators: controller_stm only.
    void upsert(v1::Member m);
    void erase(uint64_t id) { _members.erase(id); }
    void clear() { _members.clear(); }

  private:
    map_type _members;
};

}  // namespace fjord::stm
