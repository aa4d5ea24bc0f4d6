#pragma once
// File: controller/frontend/apply.h
//
// Desired state (`fjord apply`, docs/apply.md): the plan and its one
// proposal.
//
//   ReadIndex ──▶ snapshot of the tables at revision R (under the read lock,
//   nothing else) ──▶ plan_apply on a private copy: per object, what must
//   change, the field-level diff, and the commands that do it, built and
//   tried in order on a scratch copy ──▶ unless dry_run or nothing to do:
//   propose ONE ApplyBatch whose preconditions are the revisions the plan
//   read (controller/stm/apply_batch.cc checks them atomically, so two
//   applies never interleave and a plan lands whole or not at all).
//
// Objects of a kind the request lists but that it does not name are left
// alone, unless `prune` and the object was created by an apply with the same
// owner (controller_stm::owner_of). Changes that cannot be made in place
// (fewer partitions, another replication factor, a value the schema
// refuses) are errors in the plan, and nothing is applied. Passwords are
// compared against the stored SCRAM keys (verify_password) and never appear
// in the plan.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "controller/frontend/frontend.h"

namespace fjord::frontend {

/// What plan_apply needs from outside the pure state: fresh uuids and
/// credentials (random salts), and the password check.
struct plan_hooks {
    std::function<std::string()> new_uuid;
    std::function<result<v1::ScramCredential>(const std::string& password,
                                              const std::string& mechanism)>
        derive_credential;
    std::function<bool(const v1::ScramCredential& stored, const std::string& password)>
        password_matches;
};

/// One object's change; `error` set when it cannot be made (the service
/// maps it into PlannedChange.error with the API's one error table).
struct planned_change {
    v1::PlannedChange change;
    std::optional<error_info> error;
};

struct apply_plan {
    std::vector<planned_change> changes;  ///< ObjectRef order
    v1::ApplyBatch batch;                 ///< no commands: nothing to do
    uint64_t plan_revision = 0;
    size_t errors = 0;  ///< changes with an error: the plan is not applied
};

/// Apply's answer: the plan, and why nothing was applied (outcome), or the
/// revision that holds it.
struct apply_outcome {
    apply_plan plan;
    result<void> outcome;
    bool applied = false;
    uint64_t revision = 0;
};

/// The plan that makes `state` (a copy the caller owns; it is not changed)
/// match `req`. Whole-call errors (invalid_argument) name the request field:
/// `desired.topics[2].name`, `owner`, ... (a name listed twice, a missing
/// password, prune without an owner, a malformed binding).
result<apply_plan> plan_apply(const stm::controller_stm& state, const v1::ApplyRequest& req,
                              const command_meta& meta, const plan_hooks& hooks);

/// The Apply RPC. The answer's `result` says why nothing was applied, if
/// so; a whole-call error is a malformed request (or the member cannot
/// serve it).
void apply(core& c, const v1::ApplyRequest& req, const command_meta& meta,
           then_fn<result<apply_outcome>> then);

}  // namespace fjord::frontend
