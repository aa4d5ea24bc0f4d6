#pragma once
// File: broker/shadow/group_offset_source.h
//
// The source cluster of a shadow link as the Consumer Group Shadowing task
// reads it (group_offset_sync.h's source_cluster), over common/kafka/client's
// blocking wire_client: Metadata (the brokers; the cluster id checked
// against client_options.source_cluster_id), ListGroups on each broker,
// FindCoordinator and OffsetFetch per group. One connection per source
// broker, opened on first use and dropped on an I/O error. May touch: the
// network (the source only). Errors, by what the task makes of them
// (state_for):
//   - a group's own trouble (its coordinator loading, moved, unavailable):
//     std::errc::resource_unavailable_try_again;
//   - refused authorization (cluster, group) or SASL: permission_denied;
//   - an API the source does not serve at a usable version: not_supported;
//   - a source cluster id other than the configured one: invalid_argument;
//   - connection and I/O failures: wire_client's (LINK_UNAVAILABLE).

#include <memory>

#include "broker/shadow/group_offset_sync.h"

namespace fjord::broker::shadow {

/// Connects to the first of the link's bootstrap servers that answers, with
/// kafka::client::client_options_for(the link's client_options), and checks
/// the source's cluster id.
result<std::unique_ptr<source_cluster>> connect_source(const v1::ShadowLink& l);

}  // namespace fjord::broker::shadow
