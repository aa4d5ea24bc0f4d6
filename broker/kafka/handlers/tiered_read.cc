// File: broker/kafka/handlers/tiered_read.cc
//
// Which partitions Fetch and ListOffsets read from the object store
// (tiered_read.h).

#include "broker/kafka/handlers/tiered_read.h"

#include <algorithm>

#include "broker/tiered/topic_settings.h"
#include "common/objstore/config.h"

namespace fjord::broker {

bool remote_read_enabled(const v1::Topic& t) {
    auto it = t.configs().find("redpanda.remote.read");
    return it != t.configs().end() && it->second == "true";
}

std::optional<remote_source> remote_of(const broker_services& s, const v1::Topic& t,
                                       int32_t partition) {
    if (s.remote == nullptr || !s.remote->has_store() || !remote_read_enabled(t) ||
        !objstore::cloud_storage_enabled(
            [&](std::string_view key) { return s.md.config(std::string(key)); })) {
        return std::nullopt;
    }
    return remote_source{s.remote, {location_of(t, s.md.cluster_uuid()), partition}};
}

int64_t visible_log_start(const std::optional<remote_source>& remote, int64_t local_start,
                          int64_t deleted_before) {
    if (!remote || local_start == 0) {
        return local_start;
    }
    auto b = remote->reader->known_bounds(remote->rp);
    return b && b->exists ? std::max(deleted_before, std::min(b->start, local_start)) : local_start;
}

}  // namespace fjord::broker
