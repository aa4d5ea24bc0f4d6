#pragma once
// File: controller/raft/types.h
//
// The vocabulary of the pure Raft core: log entries, hard state, snapshots,
// configurations and peer messages. Plain values with no behaviour beyond
// encoding; proto/fjord/raft/v1/raft.proto mirrors `message` for the wire.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"

namespace fjord::raft {

enum class entry_type : uint8_t {
    normal = 0,       ///< application data (a controller command), or empty
    conf_change = 1,  ///< an encoded `conf_change`; applied by the core itself
};

struct entry {
    term_id term;
    log_index index;
    entry_type type = entry_type::normal;
    std::string data;

    /// The size this entry counts for against batching limits.
    uint64_t byte_size() const { return data.size() + 24; }
    bool operator==(const entry&) const = default;
};

/// The membership of the group. Both lists are sorted and disjoint.
struct conf_state {
    std::vector<node_id> voters;
    std::vector<node_id> learners;
    bool operator==(const conf_state&) const = default;
};

enum class conf_change_type : uint8_t {
    add_voter = 0,    ///< add a voter, or promote an existing learner
    add_learner = 1,  ///< add a non-voting member that receives the log
    remove_node = 2,  ///< remove a voter or learner (may be the leader itself)
};

/// One membership change: the group changes one server at a time (thesis §4.1).
struct conf_change {
    conf_change_type type = conf_change_type::add_voter;
    node_id node;
    std::string context;  ///< opaque to Raft (e.g. the member's address)

    std::string encode() const;
    static result<conf_change> decode(std::string_view data);
    bool operator==(const conf_change&) const = default;
};

struct snapshot_meta {
    log_index index;  ///< last log index the snapshot covers; 0 = no snapshot
    term_id term;     ///< term of the entry at `index`
    conf_state conf;  ///< membership as of `index`
    bool operator==(const snapshot_meta&) const = default;
};

struct snapshot {
    snapshot_meta meta;
    std::string data;  ///< the state machine's image, opaque to Raft

    bool empty() const { return meta.index == log_index{0}; }
};

/// What a member must persist before it answers anyone: its term, its vote in
/// that term, and the highest index it knows to be committed.
struct hard_state {
    term_id term;
    node_id vote;
    log_index commit;

    bool operator==(const hard_state&) const = default;
    bool empty() const { return *this == hard_state{}; }
};

enum class message_type : uint8_t {
    append,               ///< leader → follower: entries after (index, log_term), commit
    append_response,      ///< index = last matching index, or reject with a hint
    vote,                 ///< candidate → all: term, (index, log_term) of its last entry
    vote_response,        ///< reject = vote refused
    pre_vote,             ///< like vote, for term+1, without changing anyone's term
    pre_vote_response,    ///< reject = would refuse
    heartbeat,            ///< leader → follower: commit (capped at follower's match), context
    heartbeat_response,   ///< echoes context (ReadIndex confirmation)
    snapshot,             ///< leader → follower: one chunk of a snapshot
    snapshot_response,    ///< index = bytes received so far; reject = restart from 0
    timeout_now,          ///< leader → transferee: campaign now
    read_index,           ///< follower → leader: request a read index for context
    read_index_response,  ///< leader → follower: index for context (reject if unknown)
};

std::string_view to_string(message_type t);

/// One Raft message. Which fields matter depends on `type` (see above).
struct message {
    message_type type = message_type::append;
    node_id from;
    node_id to;
    term_id term;
    term_id log_term;
    log_index index;
    std::vector<entry> entries;
    log_index commit;
    bool reject = false;
    log_index reject_hint;
    std::string context;
    // Snapshot transfer.
    snapshot_meta snapshot;
    uint64_t chunk_offset = 0;
    std::string chunk;
    bool chunk_last = false;
    /// A vote caused by leadership transfer: granted even within a leader's lease.
    bool transfer = false;
};

/// A linearizable read point: once the state machine has applied `index`, a
/// read tagged `context` may be served.
struct read_state {
    log_index index;
    std::string context;
    bool operator==(const read_state&) const = default;
};

enum class role : uint8_t { follower, pre_candidate, candidate, leader };
std::string_view to_string(role r);

/// Volatile state worth telling the application about; not persisted.
struct soft_state {
    node_id leader;
    raft::role role = role::follower;
    bool operator==(const soft_state&) const = default;
};

}  // namespace fjord::raft
