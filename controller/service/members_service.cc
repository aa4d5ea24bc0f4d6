// File: controller/service/members_service.cc
//
// The administration adapters: Status, AddMember, RemoveMember,
// TransferLeadership, TakeSnapshot (sync API: they wait).

#include "controller/frontend/members.h"
#include "controller/service/adapter.h"

namespace fjord::service {

grpc::Status controller_service::Status(grpc::ServerContext* ctx, const v1::StatusRequest*,
                                        v1::StatusResponse* resp) {
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::describe)})) {
        return finish("Status", *deny);
    }
    auto r = frontend::status(_core);
    if (!r) {
        return finish("Status", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("Status", grpc::Status::OK);
}

grpc::Status controller_service::AddMember(grpc::ServerContext* ctx,
                                           const v1::AddMemberRequest* req,
                                           v1::AddMemberResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::AddMember, "AddMember", true)) {
        return finish("AddMember", *fwd);
    }
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::alter)})) {
        return finish("AddMember", *deny);
    }
    if (auto r = frontend::check(*req); !r) {
        return finish("AddMember", to_grpc_status(r.error()));
    }
    auto r = frontend::add_member(_core, *req);
    *resp->mutable_result() = r ? ok_item() : to_item_result(r.error(), "member.");
    return finish("AddMember", grpc::Status::OK);
}

grpc::Status controller_service::RemoveMember(grpc::ServerContext* ctx,
                                              const v1::RemoveMemberRequest* req,
                                              v1::RemoveMemberResponse* resp) {
    if (auto fwd =
            forward_if_follower(ctx, *req, resp, &stub::RemoveMember, "RemoveMember", true)) {
        return finish("RemoveMember", *fwd);
    }
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::alter)})) {
        return finish("RemoveMember", *deny);
    }
    if (auto r = frontend::check(*req); !r) {
        return finish("RemoveMember", to_grpc_status(r.error()));
    }
    auto r = frontend::remove_member(_core, *req);
    *resp->mutable_result() = r ? ok_item() : to_item_result(r.error(), "");
    return finish("RemoveMember", grpc::Status::OK);
}

grpc::Status controller_service::TransferLeadership(grpc::ServerContext* ctx,
                                                    const v1::TransferLeadershipRequest* req,
                                                    v1::TransferLeadershipResponse* resp) {
    if (auto fwd = forward_if_follower(ctx, *req, resp, &stub::TransferLeadership,
                                       "TransferLeadership", true)) {
        return finish("TransferLeadership", *fwd);
    }
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::alter)})) {
        return finish("TransferLeadership", *deny);
    }
    auto r = frontend::transfer_leadership(_core, *req);
    if (!r) {
        return finish("TransferLeadership", to_grpc_status(r.error()));
    }
    resp->set_leader_id(r->leader.value());
    *resp->mutable_result() = r->outcome ? ok_item() : to_item_result(r->outcome.error(), "");
    return finish("TransferLeadership", grpc::Status::OK);
}

grpc::Status controller_service::TakeSnapshot(grpc::ServerContext* ctx,
                                              const v1::TakeSnapshotRequest*,
                                              v1::TakeSnapshotResponse* resp) {
    if (auto deny = check_access(ctx, {on_cluster(security::acl_operation::alter)})) {
        return finish("TakeSnapshot", *deny);
    }
    auto r = frontend::take_snapshot(_core);
    if (!r) {
        *resp->mutable_result() = to_item_result(r.error(), "");
    } else {
        *resp->mutable_result() = ok_item();
        resp->set_snapshot_index(r->value());
    }
    return finish("TakeSnapshot", grpc::Status::OK);
}

}  // namespace fjord::service
