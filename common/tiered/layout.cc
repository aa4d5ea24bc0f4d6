// File: common/tiered/layout.cc
//
// The bucket layout (layout.h).

#include "common/tiered/layout.h"

#include <fmt/format.h>

#include <cctype>

#include "common/cluster/errc.h"
#include "common/cluster/topic_name.h"

namespace fjord::tiered {

std::string default_location(std::string_view topic, std::string_view cluster_uuid,
                             std::string_view topic_uuid) {
    return fmt::format("{}/{}/{}", topic, cluster_uuid, topic_uuid);
}

result<location_parts> parse_location(std::string_view location) {
    auto bad = [&](std::string_view why) {
        return error_info::for_field(cluster::errc::invalid_argument, "location",
                                     fmt::format("\"{}\": {}", location, why));
    };
    const auto a = location.find('/');
    const auto b = a == std::string_view::npos ? a : location.find('/', a + 1);
    if (b == std::string_view::npos || location.find('/', b + 1) != std::string_view::npos) {
        return bad("not <topic>/<cluster uuid>/<topic uuid>");
    }
    location_parts p{std::string(location.substr(0, a)),
                     std::string(location.substr(a + 1, b - a - 1)),
                     std::string(location.substr(b + 1))};
    if (auto t = cluster::validate_topic_name(p.topic); !t) {
        return bad(t.error().reason());
    }
    for (const std::string* u : {&p.cluster_uuid, &p.topic_uuid}) {
        if (u->size() != 36) {
            return bad("a uuid part is not 36 characters");
        }
        for (char c : *u) {
            if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '-')) {
                return bad("a uuid part holds a character that is not hex or '-'");
            }
        }
    }
    return p;
}

std::string partition_prefix(std::string_view location, int32_t partition) {
    return fmt::format("topics/{}/{}/", location, partition);
}

std::string partition_manifest_key(std::string_view location, int32_t partition) {
    return partition_prefix(location, partition) + "manifest.json";
}

std::string segment_name(int64_t base_offset, int64_t last_offset, int64_t epoch) {
    return fmt::format("{:020}-{:020}-{}.log", base_offset, last_offset, epoch);
}

std::string segment_key(std::string_view location, int32_t partition, std::string_view name) {
    return partition_prefix(location, partition) + std::string(name);
}

std::string mount_manifest_key(std::string_view location) {
    return fmt::format("{}{}/topic_manifest.json", mountable_prefix, location);
}

std::optional<std::string> location_of_mount_manifest(std::string_view key) {
    constexpr std::string_view suffix = "/topic_manifest.json";
    if (!key.starts_with(mountable_prefix) || !key.ends_with(suffix)) {
        return std::nullopt;
    }
    std::string_view loc = key.substr(mountable_prefix.size());
    loc.remove_suffix(suffix.size());
    if (!parse_location(loc)) {
        return std::nullopt;
    }
    return std::string(loc);
}

}  // namespace fjord::tiered
