#pragma once
// File: controller/stm/topic_table.h
//
// The applied topics: the read model the frontend validates against and the
// service answers ListTopics from. Records are the proto `Topic` itself (with
// its `created`/`updated` Audit; `updated.revision` is the topic's revision),
// so the table, the snapshot and the Watch deltas share one shape.
//
// Only controller_stm mutates it, while applying committed entries; everyone
// else holds a const reference. Not thread-safe: readers run on the same loop
// as apply (or read a copy).
//
// Besides the name, the table indexes each topic by its collision key (the
// name with '.' replaced by '_'): Kafka refuses "a.b" next to "a_b" because
// both become the same metric name, and so do we.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

/// Replicas and preferred leaderships (first replicas) of one broker.
struct broker_load {
    int64_t replicas = 0;
    int64_t leaders = 0;
    bool operator==(const broker_load&) const = default;
};

/// `name` with every '.' replaced by '_'.
std::string collision_key(std::string_view name);

class topic_table {
  public:
    /// Ordered by name, so iteration (snapshots, listings) is deterministic.
    using map_type = std::map<std::string, v1::Topic, std::less<>>;

    /// nullptr when there is no topic `name`.
    const v1::Topic* find(std::string_view name) const;
    /// The topic whose name differs from `name` but has the same collision
    /// key, or nullptr.
    const v1::Topic* find_collision(std::string_view name) const;

    const map_type& all() const { return _topics; }
    size_t size() const { return _topics.size(); }
    /// The number of partitions over all topics.
    uint64_t partition_count() const { return _partitions; }
    /// Every broker named by a replica, with its load; kept up to date by
    /// the mutators so that placing a topic costs O(brokers), not
    /// O(partitions in the cluster). Brokers whose load drops to zero stay
    /// listed with zeros.
    const std::map<int32_t, broker_load>& load() const { return _load; }

    // Mutators: controller_stm only. Callers ensure a new name does not
    // collide with another topic (asserted).
    void upsert(v1::Topic t);
    void erase(std::string_view name);
    void clear();

  private:
    map_type _topics;
    std::map<std::string, std::string, std::less<>> _by_collision_key;  // key -> name
    uint64_t _partitions = 0;
    std::map<int32_t, broker_load> _load;

    /// Adds (sign +1) or removes (-1) topic `t`'s replicas from _load.
    void account(const v1::Topic& t, int sign);
};

}  // namespace fjord::stm
