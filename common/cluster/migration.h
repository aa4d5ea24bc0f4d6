#pragma once
// File: common/cluster/migration.h
//
// The rules of mountable-topic migrations (rpk-reference §11,
// docs/tiered-storage.md) that the controller (state machine, driver, API),
// the brokers and the CLI all read the same way: the state names, the legal
// transitions, which states may be cancelled, and what a topic's migration
// means for its clients.
//
//   planned -> preparing -> prepared -> executing -> executed -> cut_over -> finished
//                  \------------\------------\-----------\--> canceling -> cancelled
#include <optional>
#include <string>
#include <string_view>

#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::cluster {

namespace v1 = fjord::controller::v1;

/// "planned", "preparing", ..., "cut_over", "finished", "canceling",
/// "cancelled" (Redpanda's spelling); "unspecified" otherwise.
std::string_view to_string(v1::MigrationState s);
/// "mount", "unmount"; "unspecified" otherwise.
std::string_view to_string(v1::MigrationType t);
/// The inverse of to_string (exact spelling); nullopt for anything else.
std::optional<v1::MigrationState> parse_migration_state(std::string_view s);

/// finished or cancelled: nothing happens to the migration any more.
bool is_terminal(v1::MigrationState s);
/// A step the driver may take (canceling only from CancelMigration's states).
bool is_legal_transition(v1::MigrationState from, v1::MigrationState to);
/// preparing, prepared, executing, executed.
bool can_cancel(v1::MigrationState s);
/// The step after `s` on the way to finished (canceling: cancelled); nullopt
/// for the terminal states.
std::optional<v1::MigrationState> next_state(v1::MigrationState s);

/// A migration topic's name in this cluster: the alias, else the topic.
const std::string& effective_name(const v1::MigrationTopic& t);

/// Whether brokers refuse clients of a topic in this migration
/// (INVALID_TOPIC_EXCEPTION): an unmount in executing, executed, cut_over or
/// canceling (tiered.md), a mount until it is finished.
bool blocks_clients(const v1::TopicMigration& m);

}  // namespace fjord::cluster
