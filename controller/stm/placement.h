#pragma once
// File: controller/stm/placement.h
//
// Where new partitions' replicas go: the frontend calls this (through
// commands.h) before proposing, and the result travels in the command, so
// apply never re-runs it. Pure and deterministic given the tables.
//
// # Rules
// - Only ACTIVE brokers take new replicas (draining and decommissioned don't).
// - Brokers are ordered in a ring that interleaves racks (racks by name, each
//   rack's brokers by id; brokers without a rack form one rack ""):
//   a:{1,2} b:{3,4} c:{5,6} -> 1 3 5 2 4 6.
// - Each partition's leader (= first replica = preferred leader, leader epoch
//   0) is the broker with the fewest preferred leaderships, then the fewest
//   replicas, over every existing partition and those placed so far; ties go
//   to the next broker on the ring after the previous leader, so an empty
//   cluster gets round robin.
// - Followers prefer brokers on racks the partition does not use yet, then
//   the fewest replicas, then ring order after the leader. So replicas span
//   min(RF, racks) racks, and replica and leader counts stay within one of
//   each other across brokers when the cluster starts balanced.

#include <cstdint>
#include <map>
#include <vector>

#include "common/result.h"
#include "controller/stm/broker_table.h"
#include "controller/stm/topic_table.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

/// The load of every broker named by a replica in `topics` (maintained by
/// the table; brokers may be listed with zero load).
std::map<int32_t, broker_load> current_load(const topic_table& topics);

/// The same, counted from scratch over every partition: what the table's
/// incremental count must always equal (tests).
std::map<int32_t, broker_load> count_load(const topic_table& topics);

/// `count` partitions numbered from `first_partition`, each with
/// `replication_factor` replicas. invalid_replication_factor (field
/// `replication_factor`, naming both numbers) when there are fewer active
/// brokers than that.
result<std::vector<v1::PartitionAssignment>> place_partitions(const broker_table& brokers,
                                                              const topic_table& topics,
                                                              int32_t first_partition,
                                                              int32_t count,
                                                              int32_t replication_factor);

}  // namespace fjord::stm
