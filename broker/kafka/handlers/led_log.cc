// File: broker/kafka/handlers/led_log.cc

#include "broker/kafka/handlers/led_log.h"

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/kafka/errors.h"

namespace fjord::broker {

led_log find_led_log(const broker_services& s, const std::string& topic, int32_t partition) {
    namespace k = kafka_errors;
    const v1::Topic* t = s.md.topic(topic);
    if (t == nullptr) {
        return {nullptr, k::unknown_topic_or_partition};
    }
    const v1::PartitionAssignment* a = nullptr;
    for (const auto& cand : t->partitions()) {
        if (cand.partition() == partition) {
            a = &cand;
            break;
        }
    }
    if (a == nullptr) {
        return {nullptr, k::unknown_topic_or_partition};
    }
    if (a->leader() < 0) {
        return {nullptr, k::leader_not_available};
    }
    if (a->leader() != s.me.node_id) {
        return {nullptr, k::not_leader_or_follower};
    }
    broker::partition* p = s.pm.find(topic, partition);
    if (p == nullptr) {
        // Assigned here but not open (yet, or it failed to open).
        return {nullptr, k::not_leader_or_follower};
    }
    return {p, k::none};
}

}  // namespace fjord::broker
