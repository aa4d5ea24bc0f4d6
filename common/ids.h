#pragma once
// File: common/ids.h
//
// The project's vocabulary of ids (cf. Redpanda's model/fundamental.h). Every
// id that crosses a module boundary has its own type.

#include <cstdint>

#include "common/strong_type.h"

namespace fjord {

/// A Raft term. 0 means "no term yet".
using term_id = named_type<uint64_t, struct term_id_tag>;
/// A position in the Raft log. 0 is the empty log; the first entry is 1.
using log_index = named_type<uint64_t, struct log_index_tag>;
/// A Raft member or broker id. 0 means "none" (no vote, no leader).
using node_id = named_type<uint64_t, struct node_id_tag>;
/// The log index of the command that last changed a replicated object.
using revision_id = named_type<uint64_t, struct revision_id_tag>;

/// A Kafka offset: the position of a record in its partition, from 0 (an
/// offset is not a byte position is not a count).
using kafka_offset = named_type<int64_t, struct kafka_offset_tag>;

inline constexpr node_id no_node{0};

}  // namespace fjord
