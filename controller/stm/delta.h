#pragma once
// File: controller/stm/delta.h
//
// Applying Watch deltas to a ClusterState: what a watcher (a broker's metadata
// cache, a test) does with the stream `snapshot, delta, delta, ...`. The
// stm's contract (controller_stm.h) is that the snapshot at revision R plus
// every delta after R, applied in order with this function, equals the
// stm's full_state() at the later revision.
//
// ClusterState is kept in canonical order (topics by name, brokers by id,
// config by key, members by id, users and roles by name, ACLs in
// common/security/acl.h order), the order full_state() produces, so two
// states compare equal field by field. Pure; any thread.

#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

/// Applies `d` to `state` and sets state.revision to d.revision. A delta of a
/// kind this version does not know (empty oneof) only moves the revision.
void apply_delta(v1::ClusterState& state, const v1::Delta& d);

}  // namespace fjord::stm
