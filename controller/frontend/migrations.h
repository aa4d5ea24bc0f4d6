#pragma once
// File: controller/frontend/migrations.h
//
// Mountable topics (docs/tiered-storage.md, rpk-reference §5 and §11):
// unmount and mount create a migration (one for all the request's topics),
// cancel and delete change one; the leader's driver (controller/migration)
// does the rest. Reads: the migration table, and the mountable topics in the
// object store. Builders: controller/stm/commands.h.
//
// A mount resolves each topic's location and reads its mount manifest
// before proposing: none there, or one that does not decode, refuses the
// mount at once naming the location; a store that does not answer does not
// (the migration is created and waits, its status saying why), except that a
// topic named without its location cannot be looked up then. Store calls
// block: call these on a thread that may (the service's sync handlers).

#include <optional>

#include "controller/frontend/frontend.h"

namespace fjord::frontend {

/// A migration write's answer: the outcome (about the request's fields:
/// `topics[1].topic`), the migration it made or changed as applied, and the
/// revision after.
struct migration_outcome {
    result<void> outcome = ok();
    int64_t id = 0;
    std::optional<v1::Migration> migration;
    uint64_t revision = 0;
};

/// Whole-call errors: a malformed session.
void unmount_topics(core& c, const v1::UnmountTopicsRequest& req, const command_meta& meta,
                    then_fn<result<migration_outcome>> then);
void mount_topics(core& c, const v1::MountTopicsRequest& req, const command_meta& meta,
                  then_fn<result<migration_outcome>> then);
void cancel_migration(core& c, const v1::CancelMigrationRequest& req, const command_meta& meta,
                      then_fn<result<migration_outcome>> then);
void delete_migration(core& c, const v1::DeleteMigrationRequest& req, const command_meta& meta,
                      then_fn<result<migration_outcome>> then);

result<v1::ListMigrationsResponse> list_migrations(core& c, const v1::ListMigrationsRequest& req);
/// unknown_migration when there is none with the id.
result<v1::GetMigrationResponse> get_migration(core& c, const v1::GetMigrationRequest& req);
/// Every topic mount manifest under mountable/ that decodes; the others are
/// listed as skipped with the reason. A store that cannot list: errc::timeout
/// (unavailable) or internal, saying why.
result<v1::ListMountableTopicsResponse> list_mountable_topics(
    core& c, const v1::ListMountableTopicsRequest& req);

}  // namespace fjord::frontend
