#pragma once
// File: common/tiered/manifest.h
//
// The two manifests tiered storage writes (layout.h says where), their JSON
// encodings and the checks every reader applies before trusting one: a
// manifest that does not decode or breaks an invariant is errc::corrupt
// (objstore), named with the key and the reason, and never acted on.
//
// Partition manifest: written by the broker leading the partition after
// each upload, *after* the segment object it adds exists, so it never names
// a missing object. Invariants: segments ascending, each base > the
// previous last, base <= last, every segment's last >= start_offset; the
// remote log is [start_offset, next_offset()).
//
// Topic mount manifest: written by the controller's migration driver when
// an unmount reaches cut_over; its existence makes the topic mountable and
// its deletion (at a mount's cut_over) is the lock that stops two clusters
// mounting the same data.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fjord::tiered {

struct segment_meta {
    std::string name;  ///< object name under the partition prefix (layout.h segment_name)
    int64_t base_offset = 0;
    int64_t last_offset = 0;  ///< last offset of the last batch
    int64_t base_timestamp = -1;
    int64_t max_timestamp = -1;
    int64_t epoch = 0;    ///< leader epoch of the batches (the segment's last batch's)
    uint64_t size = 0;    ///< bytes of the object
    uint32_t crc32c = 0;  ///< CRC-32C of the object's bytes (a download is checked against it)
    auto operator<=>(const segment_meta&) const = default;
};

/// Set when an unmount made the partition read-only and uploaded all of it:
/// the remote log is then the whole partition.
struct final_marker {
    int64_t migration_id = 0;
    int64_t next_offset = 0;  ///< the partition's log end when it was sealed
    auto operator<=>(const final_marker&) const = default;
};

struct partition_manifest {
    std::string location;
    int32_t partition = 0;
    int64_t start_offset = 0;  ///< the remote log start (remote retention moves it)
    std::vector<segment_meta> segments;
    std::optional<final_marker> final;
    uint64_t sequence = 0;  ///< incremented by every write (diagnostics)
    /// The uuid of the cluster whose broker wrote this manifest last: a
    /// deletion of the topic's remote data is only ever decided by that
    /// cluster (a topic mounted into another cluster is that cluster's now).
    /// Empty in a manifest that names none: nobody may delete its data.
    std::string owner_cluster;

    /// The offset after the last uploaded one (start_offset when empty).
    int64_t next_offset() const;
    uint64_t size_bytes() const;
    /// The segment holding `offset`, or the first after it (a gap), or null.
    const segment_meta* find(int64_t offset) const;
    auto operator<=>(const partition_manifest&) const = default;
};

std::string encode(const partition_manifest& m);
/// `key` names the object in errors.
result<partition_manifest> decode_partition_manifest(std::string_view bytes, std::string_view key);

struct topic_mount_manifest {
    std::string topic;         ///< the name it was unmounted under
    std::string location;      ///< where its partitions' data is
    std::string cluster_uuid;  ///< the cluster that unmounted it
    std::string topic_uuid;    ///< its uuid in that cluster
    int32_t replication_factor = 1;
    std::map<std::string, std::string> configs;  ///< explicitly set topic configs
    /// Per partition, in order: the offset after its last record (a mount
    /// starts the partition's local log there).
    std::vector<int64_t> next_offsets;
    int64_t migration_id = 0;  ///< the unmount that wrote it
    int64_t unmounted_ms = 0;
    auto operator<=>(const topic_mount_manifest&) const = default;
};

std::string encode(const topic_mount_manifest& m);
result<topic_mount_manifest> decode_topic_mount_manifest(std::string_view bytes,
                                                         std::string_view key);

}  // namespace fjord::tiered
