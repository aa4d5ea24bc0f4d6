// File: controller/stm/shadow_link_table.cc
//
// shadow_link_table: the links by name, and a link's shadow topics.

#include "controller/stm/shadow_link_table.h"

namespace fjord::stm {

const v1::ShadowLink* shadow_link_table::find(std::string_view name) const {
    const auto it = _links.find(name);
    return it == _links.end() ? nullptr : &it->second;
}

void shadow_link_table::upsert(v1::ShadowLink l) {
    std::string name = l.name();
    _links.insert_or_assign(std::move(name), std::move(l));
}

void shadow_link_table::erase(std::string_view name) {
    if (const auto it = _links.find(name); it != _links.end()) {
        _links.erase(it);
    }
}

std::vector<const v1::Topic*> topics_of(const topic_table& topics, std::string_view link) {
    // A scan: links have few topics next to the cluster's, and this runs on
    // link changes and status reads, not per request of the data path.
    std::vector<const v1::Topic*> out;
    for (const auto& [name, t] : topics.all()) {
        if (t.has_shadow() && t.shadow().link() == link) {
            out.push_back(&t);
        }
    }
    return out;
}

}  // namespace fjord::stm
