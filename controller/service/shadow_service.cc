// File: controller/service/shadow_service.cc
//
// The shadow-link adapters (sync API: CreateShadowLink's preflight dials
// the source cluster, and writes wait): CreateShadowLink, UpdateShadowLink,
// DeleteShadowLink, FailOverShadowLink (writes: served by the leader, a
// follower forwards them), GetShadowLink, ListShadowLinks (reads, any
// member) and GetShadowLinkStatus (forwarded: the brokers' reports live on
// the leader).
//
// Access while authentication is on: superusers only, whatever the ACLs (a
// link holds the source cluster's credentials, and its topics are written
// by replication alone). GetShadowLinkStatus also admits CLUSTER_ACTION on
// the cluster, Watch's rule: brokers read shadow high watermarks from it
// for the consumer offset sync.

#include <future>

#include "controller/frontend/shadow_links.h"
#include "controller/service/adapter.h"

namespace fjord::service {
namespace {

using frontend::shadow_link_outcome;

/// Waits for a frontend write's callback (this is a sync handler's thread).
template <typename Start>
result<shadow_link_outcome> wait_for(Start start) {
    auto p = std::make_shared<std::promise<result<shadow_link_outcome>>>();
    auto f = p->get_future();
    start([p](result<shadow_link_outcome> r) { p->set_value(std::move(r)); });
    return f.get();
}

/// The answer of a link write: the call's failure, or its result.
grpc::Status fill(const result<shadow_link_outcome>& r, v1::ShadowLinkResponse* resp) {
    if (!r) {
        return to_grpc_status(r.error());
    }
    *resp->mutable_result() = r->outcome ? ok_item() : to_item_result(r->outcome.error(), "");
    if (r->link) {
        *resp->mutable_link() = *r->link;
    }
    resp->set_revision(r->revision);
    return grpc::Status::OK;
}

}  // namespace

grpc::Status controller_service::CreateShadowLink(grpc::ServerContext* ctx,
                                                  const v1::CreateShadowLinkRequest* req,
                                                  v1::ShadowLinkResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::CreateShadowLink, "CreateShadowLink",
                                       true)) {
        return finish("CreateShadowLink", *fwd);
    }
    if (auto deny = check_access(ctx, {superuser()})) {
        return finish("CreateShadowLink", *deny);
    }
    const auto m = meta(ctx);
    auto r = wait_for([&](auto then) { frontend::create_shadow_link(_core, *req, m, then); });
    return finish("CreateShadowLink", fill(r, resp));
}

grpc::Status controller_service::UpdateShadowLink(grpc::ServerContext* ctx,
                                                  const v1::UpdateShadowLinkRequest* req,
                                                  v1::ShadowLinkResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::UpdateShadowLink, "UpdateShadowLink",
                                       true)) {
        return finish("UpdateShadowLink", *fwd);
    }
    if (auto deny = check_access(ctx, {superuser()})) {
        return finish("UpdateShadowLink", *deny);
    }
    const auto m = meta(ctx);
    auto r = wait_for([&](auto then) { frontend::update_shadow_link(_core, *req, m, then); });
    return finish("UpdateShadowLink", fill(r, resp));
}

grpc::Status controller_service::DeleteShadowLink(grpc::ServerContext* ctx,
                                                  const v1::DeleteShadowLinkRequest* req,
                                                  v1::ShadowLinkResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::DeleteShadowLink, "DeleteShadowLink",
                                       true)) {
        return finish("DeleteShadowLink", *fwd);
    }
    if (auto deny = check_access(ctx, {superuser()})) {
        return finish("DeleteShadowLink", *deny);
    }
    const auto m = meta(ctx);
    auto r = wait_for([&](auto then) { frontend::delete_shadow_link(_core, *req, m, then); });
    return finish("DeleteShadowLink", fill(r, resp));
}

grpc::Status controller_service::FailOverShadowLink(grpc::ServerContext* ctx,
                                                    const v1::FailOverShadowLinkRequest* req,
                                                    v1::ShadowLinkResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::FailOverShadowLink,
                                       "FailOverShadowLink", true)) {
        return finish("FailOverShadowLink", *fwd);
    }
    if (auto deny = check_access(ctx, {superuser()})) {
        return finish("FailOverShadowLink", *deny);
    }
    const auto m = meta(ctx);
    auto r = wait_for([&](auto then) { frontend::fail_over_shadow_link(_core, *req, m, then); });
    return finish("FailOverShadowLink", fill(r, resp));
}

grpc::Status controller_service::GetShadowLink(grpc::ServerContext* ctx,
                                               const v1::GetShadowLinkRequest* req,
                                               v1::ShadowLinkResponse* resp) {
    if (auto deny = check_access(ctx, {superuser()})) {
        return finish("GetShadowLink", *deny);
    }
    auto r = frontend::get_shadow_link(_core, *req);
    if (!r) {
        return finish("GetShadowLink", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    *resp->mutable_result() = ok_item();
    return finish("GetShadowLink", grpc::Status::OK);
}

grpc::Status controller_service::ListShadowLinks(grpc::ServerContext* ctx,
                                                 const v1::ListShadowLinksRequest* req,
                                                 v1::ListShadowLinksResponse* resp) {
    if (auto deny = check_access(ctx, {superuser()})) {
        return finish("ListShadowLinks", *deny);
    }
    auto r = frontend::list_shadow_links(_core, *req);
    if (!r) {
        return finish("ListShadowLinks", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("ListShadowLinks", grpc::Status::OK);
}

grpc::Status controller_service::GetShadowLinkStatus(grpc::ServerContext* ctx,
                                                     const v1::GetShadowLinkStatusRequest* req,
                                                     v1::GetShadowLinkStatusResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::GetShadowLinkStatus,
                                       "GetShadowLinkStatus")) {
        return finish("GetShadowLinkStatus", *fwd);
    }
    // Superusers pass this too (the authorizer allows them everything).
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::cluster_action)})) {
        return finish("GetShadowLinkStatus", *deny);
    }
    auto r = frontend::shadow_link_status(_core, *req, std::chrono::steady_clock::now());
    if (!r) {
        return finish("GetShadowLinkStatus", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("GetShadowLinkStatus", grpc::Status::OK);
}

}  // namespace fjord::service
