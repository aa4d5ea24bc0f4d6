#pragma once
// File: controller/stm/shadow_link_table.h
//
// The applied shadow links (docs/shadow-links.md, rpk-reference §4, §10): the
// proto `ShadowLink` records by name, passwords included (brokers replicate
// with them; the API strips them: common/cluster/shadow_link.h redacted).
// A shadow topic is an ordinary topic with Topic.shadow set, in the topic
// table; `topics_of` finds a link's.
//
// Only controller_stm mutates it; not thread-safe (see topic_table.h).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "controller/stm/topic_table.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

class shadow_link_table {
  public:
    /// Ordered by name (snapshots, listings).
    using map_type = std::map<std::string, v1::ShadowLink, std::less<>>;

    /// nullptr when there is no link `name`.
    const v1::ShadowLink* find(std::string_view name) const;
    const map_type& all() const { return _links; }
    size_t size() const { return _links.size(); }

    // Mutators: controller_stm only.
    void upsert(v1::ShadowLink l);
    void erase(std::string_view name);
    void clear() { _links.clear(); }

  private:
    map_type _links;
};

/// The topics of `topics` that link `link` replicates (Topic.shadow.link ==
/// link), ascending by name.
std::vector<const v1::Topic*> topics_of(const topic_table& topics, std::string_view link);

}  // namespace fjord::stm
