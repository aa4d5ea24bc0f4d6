#pragma once
// File: cli/apply/shadow_plan.h
//
// `fjord apply`'s shadow_links, planned by the CLI: the controller's Apply
// does not take them (creating a link runs a preflight against the source
// cluster, which cannot happen inside one state-machine command), so they
// are applied through CreateShadowLink / UpdateShadowLink after the batch,
// and are not part of its all-or-nothing guarantee (docs/apply.md). Pure:
// cli_unit_test covers it.
//
// Per entry, given the link as GetShadowLink returned it (or none: NOT_FOUND):
//   - absent: create, every field of the config shown as added;
//   - present: update when the config differs field by field (the same
//     comparison as `fjord shadow update`, cli/shadow/config_yaml.h
//     changed_paths), each differing field shown before -> after; nothing to
//     do otherwise. Passwords and a PEM key are never compared (the API never
//     returns them): a changed password alone is not seen, and a password
//     given in the file is sent only with an update that changes something
//     else;
//   - a link the file does not list is never deleted, even with --prune.
// A config that validate_link (common/cluster/shadow_link.h) refuses, for a
// create or for an update, is the change's error (INVALID_ARGUMENT).

#include <optional>
#include <string>
#include <vector>

#include "cli/apply/desired_state.h"
#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::cli::apply {

struct shadow_step {
    /// kind OBJECT_SHADOW_LINK; action UNSPECIFIED when nothing is to do.
    v1::PlannedChange change;
    /// What CreateShadowLink (with the password from the file) or
    /// UpdateShadowLink (the current uuid; a password left out kept) sends.
    v1::ShadowLink request_link;
    /// UpdateShadowLink's update_mask (changed_paths).
    std::vector<std::string> update_mask;
};

shadow_step plan_shadow_link(const shadow_link_entry& e,
                             const std::optional<v1::ShadowLink>& current);

}  // namespace fjord::cli::apply
