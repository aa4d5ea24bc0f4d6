#pragma once
// File: controller/stm/broker_table.h
//
// The applied broker registry: every broker ever registered, by id, as the
// proto `Broker` (with `registered`/`updated` Audit). Decommissioned brokers
// stay (their id is never reused). Liveness is not here: heartbeats are not
// replicated, the leader's frontend tracks them.
//
// Only controller_stm mutates it; not thread-safe (see topic_table.h).

#include <cstdint>
#include <map>
#include <vector>

#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

class broker_table {
  public:
    using map_type = std::map<int32_t, v1::Broker>;

    /// nullptr when no broker `id` was ever registered.
    const v1::Broker* find(int32_t id) const;
    const map_type& all() const { return _brokers; }
    size_t size() const { return _brokers.size(); }
    /// Brokers in state ACTIVE (the ones that take new replicas), by id.
    std::vector<const v1::Broker*> active() const;

    // Mutators: controller_stm only.
    void upsert(v1::Broker b);
    void clear() { _brokers.clear(); }

  private:
    map_type _brokers;
};

}  // namespace fjord::stm
