#pragma once
// File: broker/kafka/handlers/tiered_read.h
//
// The read side of tiered storage as Fetch and ListOffsets see it: which
// partitions are served below their local log start from the object store
// (broker/tiered/remote_reader.h), and the log start clients are told.
//
// A partition reads from the object store when its topic has
// redpanda.remote.read=true, the cluster has cloud_storage_enabled=true
// and the broker has a store (broker_services::remote with one). Then the
// partition's log, as clients see it, starts at the remote start
// (manifest start_offset) when remote data exists below the local start,
// and offsets in [remote start, local start) are read from the store;
// below the remote start it is OFFSET_OUT_OF_RANGE, as below any log start.
// DeleteRecords still rules: nothing below its start
// (partition_log::records_deleted_before) is served or answered, remote or
// not (the archiver moves the remote start there in time).
// Without remote.read nothing changes: below the local start is
// OFFSET_OUT_OF_RANGE. (The migration rule, topic_blocked, is checked
// before any of this: broker/tiered/migration_rules.h.)

#include <cstdint>
#include <optional>

#include "broker/cluster/metadata_cache.h"
#include "broker/kafka/services.h"
#include "broker/tiered/remote_reader.h"

namespace fjord::broker {

struct remote_source {
    tiered_read::remote_reader* reader = nullptr;
    tiered_read::remote_partition rp;
};

/// Whether `t` has redpanda.remote.read=true (a value that is not "true" is false).
bool remote_read_enabled(const v1::Topic& t);

/// The remote log of partition `partition` of `t`, if it is read from the
/// object store (see the file comment); nullopt otherwise.
std::optional<remote_source> remote_of(const broker_services& s, const v1::Topic& t,
                                       int32_t partition);

/// The log start a client is told without waiting: the remote start when
/// the reader already knows of remote data below `local_start`, else
/// `local_start`; never below `deleted_before` (DeleteRecords).
int64_t visible_log_start(const std::optional<remote_source>& remote, int64_t local_start,
                          int64_t deleted_before);

}  // namespace fjord::broker
