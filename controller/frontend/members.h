#pragma once
// File: controller/frontend/members.h
//
// The controller group's administration: membership changes (Raft
// configuration changes, not commands), leadership transfer, snapshots and
// status. These calls wait (they run on a thread of their own).

#include "controller/frontend/frontend.h"

namespace fjord::frontend {

/// "host:port" with port 1..65535; invalid_argument naming `field`.
result<void> check_address(std::string_view field, const std::string& addr);

/// The request's shape (ids, addresses): a refusal is the whole call's.
result<void> check(const v1::AddMemberRequest& req);
result<void> check(const v1::RemoveMemberRequest& req);

/// Adds the member as a learner and, unless `as_learner`, promotes it once it
/// has caught up. Errors are relative to `member`.
result<void> add_member(core& c, const v1::AddMemberRequest& req);
result<void> remove_member(core& c, const v1::RemoveMemberRequest& req);

struct transferred {
    result<void> outcome;  ///< field "to" when the target is at fault
    node_id leader;        ///< the leader afterwards (when it was tried)
};
/// To `to`, or the most caught-up other voter when 0; waits up to three
/// election timeouts for the target to take over. Whole-call errors: the loop
/// does not answer.
result<transferred> transfer_leadership(core& c, const v1::TransferLeadershipRequest& req);

result<log_index> take_snapshot(core& c);

/// The member's raft status and the group's members. Whole-call errors: the
/// loop does not answer, or is shutting down.
result<v1::StatusResponse> status(core& c);

/// How many of `modes` differ from the most common one, FIPS_MODE_UNSPECIFIED
/// (not known) left out: 0 when all agree. A tie gives the same count
/// whichever mode is called the majority (all minus the largest group).
size_t fips_mode_outliers(const std::vector<v1::FipsMode>& modes);

/// fips_mode_outliers over the cluster as `st` (this member's status()) and
/// the tables see it: every registered broker that is not decommissioned,
/// and every member whose mode is known. Meaningful on the leader, which
/// hears from every member (fjord_cluster_non_homogenous_fips_mode).
size_t non_homogenous_fips_mode(core& c, const v1::StatusResponse& st);

}  // namespace fjord::frontend
