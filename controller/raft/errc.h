#pragma once
// File: controller/raft/errc.h
//
// Errors of the Raft core and of every raft::storage implementation.

#include <system_error>

namespace fjord::raft {

enum class errc {
    success = 0,
    not_leader,  ///< only the leader accepts this; the caller gets a leader hint
    /// Definitely not committed: the leader cannot take proposals now
    /// (transfer, removal), or another entry was committed at its index.
    proposal_dropped,
    conf_change_pending,    ///< a previous membership change is not yet applied
    invalid_conf_change,    ///< the change names an impossible transition
    learner_not_caught_up,  ///< promotion refused: the learner lags the leader's log
    not_ready,              ///< the leader has not committed an entry in its term yet
    compacted,              ///< the index is covered by a snapshot
    unavailable,            ///< the index is beyond the log
    snapshot_out_of_date,   ///< a newer snapshot is already in place
    corrupt,                ///< durable data failed its checksum or framing
    io_error,               ///< the disk failed a read, write or sync
    malformed,              ///< an encoded value could not be decoded
    unknown_member,         ///< the node id is not a member of the group
    /// A proposal this member may or may not have committed: it lost track of
    /// the entry (stopped, replaced its log by a snapshot, or gave up at the
    /// deadline). Only a retry that the state machine de-duplicates (a client
    /// session) is safe.
    outcome_unknown,
};

const std::error_category& error_category();
inline std::error_code make_error_code(errc e) {
    return {static_cast<int>(e), error_category()};
}

}  // namespace fjord::raft

template <>
struct std::is_error_code_enum<fjord::raft::errc> : std::true_type {};
