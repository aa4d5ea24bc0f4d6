#pragma once
// File: broker/tiered/topic_settings.h
//
// A topic's tiered-storage settings as the broker applies them, read from
// its configs (Topic.configs: only keys set explicitly) and the cluster
// config (the defaults), in one place: the partition manager takes the
// local retention from here, the archiver everything else.
//
// A topic is *tiered* when the cluster has cloud_storage_enabled=true and
// the topic redpanda.remote.write=true. Then:
//   - local retention: retention.local.target.ms/bytes (cluster defaults
//     retention_local_target_ms_default/_bytes_default), but never longer
//     than retention.ms/bytes, and only for segments already uploaded;
//   - retention.ms/bytes apply to the whole log, remote and local (the
//     archiver moves the remote start);
//   - redpanda.remote.delete (default true): deleting the topic deletes
//     its objects too.
// Values the controller's schema accepted always parse; one that does not
// (a newer writer) is an error naming the key, never a silent default.

#include <cstdint>
#include <string>

#include "common/objstore/config.h"
#include "common/result.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::broker {

struct tiered_settings {
    /// cloud_storage_enabled && redpanda.remote.write.
    bool tiered = false;
    /// redpanda.remote.delete.
    bool remote_delete = true;
    /// Where the topic's objects go (Topic.remote_location, or the default
    /// location of a topic created before locations were recorded).
    std::string location;
    /// cleanup.policy has delete: retention.ms/bytes apply (a compact-only
    /// topic keeps every key's latest record however old).
    bool cleanup_delete = true;
    /// retention.ms / retention.bytes: the whole log's (-1: no limit).
    int64_t retention_ms = -1;
    int64_t retention_bytes = -1;
    /// retention.local.target.ms / .bytes (-1: no limit).
    int64_t local_target_ms = -1;
    int64_t local_target_bytes = -1;
    /// cloud_storage_segment_max_upload_interval_sec, in ms: an active
    /// segment holding data older than this is rolled and uploaded.
    int64_t upload_interval_ms = 3600 * 1000;
};

/// The settings of `topic` in cluster `cluster_uuid` with cluster config
/// `cluster`. Errors name the key that does not parse.
result<tiered_settings> tiered_settings_for(const controller::v1::Topic& topic,
                                            const std::string& cluster_uuid,
                                            const objstore::config_lookup& cluster);

/// The location of `topic`: Topic.remote_location, or
/// tiered::default_location(name, cluster uuid, uuid) when it is empty.
std::string location_of(const controller::v1::Topic& topic, const std::string& cluster_uuid);

/// min of two limits where -1 means none.
int64_t tighter_limit(int64_t a, int64_t b);

}  // namespace fjord::broker
