// File: controller/service/migrations_service.cc
//
// The mountable-topics adapters (sync API: a mount reads the object store
// before it proposes, and waits): UnmountTopics, MountTopics,
// CancelMigration, DeleteMigration (ALTER on the cluster), ListMigrations,
// GetMigration, ListMountableTopics (DESCRIBE on the cluster). Served by the
// leader; a follower forwards them (ListMountableTopics too: the leader
// reads the store).

#include <future>

#include "controller/frontend/migrations.h"
#include "controller/service/adapter.h"

namespace fjord::service {
namespace {

using frontend::migration_outcome;

/// Waits for a frontend write's callback (this is a sync handler's thread).
template <typename Start>
result<migration_outcome> wait_for(Start start) {
    auto p = std::make_shared<std::promise<result<migration_outcome>>>();
    auto f = p->get_future();
    start([p](result<migration_outcome> r) { p->set_value(std::move(r)); });
    return f.get();
}

/// The answer of a migration write: the call's failure, or its result.
grpc::Status fill(const result<migration_outcome>& r, v1::MigrationResponse* resp) {
    if (!r) {
        return to_grpc_status(r.error());
    }
    *resp->mutable_result() = r->outcome ? ok_item() : to_item_result(r->outcome.error(), "");
    resp->set_migration_id(r->id);
    if (r->migration) {
        *resp->mutable_migration() = *r->migration;
    }
    resp->set_revision(r->revision);
    return grpc::Status::OK;
}

}  // namespace

grpc::Status controller_service::UnmountTopics(grpc::ServerContext* ctx,
                                               const v1::UnmountTopicsRequest* req,
                                               v1::MigrationResponse* resp) {
    if (auto fwd =
            forward_if_follower(ctx, *req, resp, &stub::UnmountTopics, "UnmountTopics", true)) {
        return finish("UnmountTopics", *fwd);
    }
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::alter)})) {
        return finish("UnmountTopics", *deny);
    }
    const auto m = meta(ctx);
    auto r = wait_for([&](auto then) { frontend::unmount_topics(_core, *req, m, then); });
    return finish("UnmountTopics", fill(r, resp));
}

grpc::Status controller_service::MountTopics(grpc::ServerContext* ctx,
                                             const v1::MountTopicsRequest* req,
                                             v1::MigrationResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::MountTopics, "MountTopics", true)) {
        return finish("MountTopics", *fwd);
    }
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::alter)})) {
        return finish("MountTopics", *deny);
    }
    const auto m = meta(ctx);
    auto r = wait_for([&](auto then) { frontend::mount_topics(_core, *req, m, then); });
    return finish("MountTopics", fill(r, resp));
}

grpc::Status controller_service::CancelMigration(grpc::ServerContext* ctx,
                                                 const v1::CancelMigrationRequest* req,
                                                 v1::MigrationResponse* resp) {
    if (auto fwd =
            forward_if_follower(ctx, *req, resp, &stub::CancelMigration, "CancelMigration", true)) {
        return finish("CancelMigration", *fwd);
    }
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::alter)})) {
        return finish("CancelMigration", *deny);
    }
    const auto m = meta(ctx);
    auto r = wait_for([&](auto then) { frontend::cancel_migration(_core, *req, m, then); });
    return finish("CancelMigration", fill(r, resp));
}

grpc::Status controller_service::DeleteMigration(grpc::ServerContext* ctx,
                                                 const v1::DeleteMigrationRequest* req,
                                                 v1::MigrationResponse* resp) {
    if (auto fwd =
            forward_if_follower(ctx, *req, resp, &stub::DeleteMigration, "DeleteMigration", true)) {
        return finish("DeleteMigration", *fwd);
    }
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::alter)})) {
        return finish("DeleteMigration", *deny);
    }
    const auto m = meta(ctx);
    auto r = wait_for([&](auto then) { frontend::delete_migration(_core, *req, m, then); });
    return finish("DeleteMigration", fill(r, resp));
}

grpc::Status controller_service::ListMigrations(grpc::ServerContext* ctx,
                                                const v1::ListMigrationsRequest* req,
                                                v1::ListMigrationsResponse* resp) {
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::describe)})) {
        return finish("ListMigrations", *deny);
    }
    auto r = frontend::list_migrations(_core, *req);
    if (!r) {
        return finish("ListMigrations", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("ListMigrations", grpc::Status::OK);
}

grpc::Status controller_service::GetMigration(grpc::ServerContext* ctx,
                                              const v1::GetMigrationRequest* req,
                                              v1::GetMigrationResponse* resp) {
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::describe)})) {
        return finish("GetMigration", *deny);
    }
    auto r = frontend::get_migration(_core, *req);
    if (!r) {
        return finish("GetMigration", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("GetMigration", grpc::Status::OK);
}

grpc::Status controller_service::ListMountableTopics(grpc::ServerContext* ctx,
                                                     const v1::ListMountableTopicsRequest* req,
                                                     v1::ListMountableTopicsResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::ListMountableTopics,
                                       "ListMountableTopics")) {
        return finish("ListMountableTopics", *fwd);
    }
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::describe)})) {
        return finish("ListMountableTopics", *deny);
    }
    auto r = frontend::list_mountable_topics(_core, *req);
    if (!r) {
        return finish("ListMountableTopics", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("ListMountableTopics", grpc::Status::OK);
}

}  // namespace fjord::service
