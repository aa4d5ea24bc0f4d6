#pragma once
// File: broker/tiered/migration_rules.h
//
// What a topic's migration (Topic.migration, mountable topics;
// docs/tiered-storage.md, broker/tiered/README.md)
// means on a broker. THE one place these rules are written: the Kafka
// handlers (Produce here, Fetch and ListOffsets on the read side) ask
// topic_blocked(), the archiver asks the others, so clients and uploads
// follow one reading of the migration state.
//
//   unmount (outbound): planned, preparing, prepared   served, uploads go on
//                       executing, executed, cut_over  blocked; the leader's
//                                                      archiver seals and uploads
//                                                      everything, then writes the
//                                                      final marker
//                       canceling                      blocked
//                       cancelled                      served again (the next
//                                                      manifest write drops the marker)
//   mount (inbound):    every state but finished       blocked; nothing is written
//                                                      to the bucket
//                       finished                       served; uploads continue
//                                                      into the mounted location
//
// Pure functions of the replicated state (no I/O).

#include <cstdint>
#include <optional>
#include <string>

#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::broker {

namespace v1 = fjord::controller::v1;

/// Whether Produce, Fetch and ListOffsets on `topic` are refused with
/// INVALID_TOPIC_EXCEPTION: an unmount in executing, executed, cut_over or
/// canceling; a mount in any state but finished (and cancelled, after which
/// the topic is gone).
bool topic_blocked(const v1::Topic& topic);

/// The error message that goes with a blocked topic, e.g. "topic orders is
/// being unmounted (migration 3, executing): not served".
std::string blocked_reason(const v1::Topic& topic);

/// The unmount whose final upload the leader's archiver owes: its id while
/// the topic's outbound migration is executing, executed or cut_over.
std::optional<int64_t> final_upload_migration(const v1::Topic& topic);

/// Whether the archiver may write the topic's objects and manifests: not
/// while a mount is in progress (until it is finished the partition
/// manifests are the unmounted copy's, with their final markers; a
/// cancelled mount leaves the bucket untouched).
bool archiver_may_write(const v1::Topic& topic);

/// Whether a deletion of the topic in this state may delete its remote data
/// (with redpanda.remote.delete): no migration, a finished mount, or a
/// cancelled unmount. Any other unmount state means the topic left by an
/// unmount, whose data must stay mountable; any other mount state means the
/// data is still the unmounted copy's.
bool remote_delete_allowed(const v1::Topic& topic);

}  // namespace fjord::broker
