#pragma once
// File: common/tiered/layout.h
//
// Where tiered storage and mountable topics put things in the object store
// (docs/tiered-storage.md, "Layout in the bucket"). The broker's archiver
// and remote reader and the controller's migration driver name every key
// through these functions, so the layout is written down once.
//
//   topics/<location>/<partition>/<base>-<last>-<epoch>.log   one uploaded segment
//   topics/<location>/<partition>/manifest.json               the partition manifest
//   mountable/<location>/topic_manifest.json                  an unmounted topic (the mount lock)
//
// <location> is "<topic name>/<cluster uuid>/<topic uuid>" of the cluster
// and topic that first uploaded the data (Topic.remote_location); base and
// last are 20-digit offsets, epoch the leader epoch that wrote the segment.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fjord::tiered {

/// The location of a topic created in this cluster.
std::string default_location(std::string_view topic, std::string_view cluster_uuid,
                             std::string_view topic_uuid);

/// The parts of a location; errc::invalid_argument (cluster) naming what is wrong.
struct location_parts {
    std::string topic;
    std::string cluster_uuid;
    std::string topic_uuid;
};
result<location_parts> parse_location(std::string_view location);

std::string partition_prefix(std::string_view location, int32_t partition);
std::string partition_manifest_key(std::string_view location, int32_t partition);
/// The object name of a segment, relative to partition_prefix().
std::string segment_name(int64_t base_offset, int64_t last_offset, int64_t epoch);
std::string segment_key(std::string_view location, int32_t partition, std::string_view name);

inline constexpr std::string_view mountable_prefix = "mountable/";
std::string mount_manifest_key(std::string_view location);
/// The location a key under mountable_prefix names, if it is a topic mount manifest.
std::optional<std::string> location_of_mount_manifest(std::string_view key);

}  // namespace fjord::tiered
