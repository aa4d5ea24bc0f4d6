// File: controller/stm/broker_table.cc
//
// broker_table: lookups over the id map.

#include "controller/stm/broker_table.h"

namespace fjord::stm {

const v1::Broker* broker_table::find(int32_t id) const {
    const auto it = _brokers.find(id);
    return it == _brokers.end() ? nullptr : &it->second;
}

std::vector<const v1::Broker*> broker_table::active() const {
    std::vector<const v1::Broker*> out;
    for (const auto& [id, b] : _brokers) {
        if (b.state() == v1::BROKER_STATE_ACTIVE) {
            out.push_back(&b);
        }
    }
    return out;
}

void broker_table::upsert(v1::Broker b) {
    const int32_t id = b.id();
    _brokers.insert_or_assign(id, std::move(b));
}

}  // namespace fjord::stm
