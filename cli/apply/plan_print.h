#pragma once
// File: cli/apply/plan_print.h
//
// What `fjord apply` prints: the plan (the controller's ApplyResponse, with
// the CLI's shadow link changes appended) as text, terraform-like, or as
// data (--format json|yaml). Pure: cli_unit_test covers it. Nothing here
// invents a value: every field shown is one the controller (or the shadow
// link plan) sent, so a password is shown only as the controller redacted
// it.
//
// Text, one block per change, in the response's order:
//   + topic orders                       create
//       partitions: 6                    (a field with only an "after")
//   ~ topic logs                         update
//       partitions: 3 -> 6
//       configs.retention.ms: (unset) -> 86400000
//   - acl ALLOW User:bob * topic literal:x read    delete
//       error: INVALID_PARTITIONS: ...   (a change that cannot be made)
// then "Plan: N to create, N to update, N to delete." (nothing at all for an
// empty plan: the command says "Nothing to do.").
//
// Data: {"plan_revision": int, "applied": bool, "revision": int,
//        "changes": [{"kind", "name", "action", "revision",
//                     "fields": [{"field", "before", "after"}],
//                     "error": null | {"code", "message"}}],
//        "error": null | {"code", "message"}}
// where kind is topic|acl|user|role|cluster_config|shadow_link, action
// create|update|delete, and before/after are null when absent.

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::cli::apply {

namespace v1 = fjord::controller::v1;

/// "topic", "acl", "user", "role", "cluster_config", "shadow_link".
std::string kind_name(v1::ObjectKind k);
/// "create", "update", "delete" ("" for UNSPECIFIED).
std::string action_name(v1::ChangeAction a);

struct plan_counts {
    size_t create = 0;
    size_t update = 0;
    size_t remove = 0;
    size_t errors = 0;
    size_t total() const { return create + update + remove; }
};
plan_counts count(const v1::ApplyResponse& r);

/// "topic logs: INVALID_PARTITIONS: cannot go from 6 to 3 partitions", one
/// per change in error.
std::vector<std::string> plan_errors(const v1::ApplyResponse& r);

/// The text blocks and the Plan: line (see the header).
std::string plan_text(const v1::ApplyResponse& r);

/// The data document (see the header); `error` is r.result() unless OK.
nlohmann::json plan_json(const v1::ApplyResponse& r);

/// `fjord apply --format help`.
extern const char* const plan_schema;

}  // namespace fjord::cli::apply
