// File: controller/service/security_service.cc
//
// The security adapters (docs/security.md): users, ACL bindings, roles and
// CheckAcl. Writes need ALTER on the cluster, reads DESCRIBE on the cluster
// (Kafka's rule for its ACL and SCRAM admin APIs), while authentication is
// on (access.cc). No answer carries a password or a credential.

#include "controller/frontend/security.h"
#include "controller/service/adapter.h"

namespace fjord::service {
namespace {

using security::acl_operation;

const std::vector<access>& alter_cluster() {
    static const std::vector<access> a{on_cluster(acl_operation::alter)};
    return a;
}

const std::vector<access>& describe_cluster() {
    static const std::vector<access> a{on_cluster(acl_operation::describe)};
    return a;
}

template <typename Call>
void answer_user(Call& c, const result<frontend::security_outcome>& r) {
    if (!r) {
        c.reply(to_grpc_status(r.error()));
        return;
    }
    *c.resp.mutable_result() = r->outcome ? ok_item() : to_item_result(r->outcome.error(), "");
    c.resp.set_revision(r->revision);
    c.reply(grpc::Status::OK);
}

/// This member's FIPS password floor, before the request is forwarded: the
/// leader checks its own floor, which may be lower (a permissive or
/// disabled leader in a mixed cluster). The answer has the leader's shape
/// (the item's result, field `password`). True when it answered.
template <typename Call>
bool refuse_short_password(Call& c, size_t min_password_length) {
    auto floor = frontend::check_password_floor(c.req.password(), min_password_length);
    if (floor) {
        return false;
    }
    answer_user(c, frontend::security_outcome{std::move(floor), 0});
    return true;
}

template <typename Call>
void answer_role(Call& c, result<frontend::role_outcome> r) {
    if (!r) {
        c.reply(to_grpc_status(r.error()));
        return;
    }
    *c.resp.mutable_result() = r->outcome ? ok_item() : to_item_result(r->outcome.error(), "");
    if (r->role) {
        *c.resp.mutable_role() = std::move(*r->role);
    }
    for (v1::AclBinding& b : r->deleted_acls) {
        *c.resp.add_deleted_acls() = std::move(b);
    }
    c.resp.set_revision(r->revision);
    c.reply(grpc::Status::OK);
}

}  // namespace

// ---------------------------------------------------------------- entry points

grpc::ServerUnaryReactor* controller_service::CreateUser(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* in,
                                                         grpc::ByteBuffer* out) {
    return serve<v1::CreateUserRequest, v1::UserResponse>(ctx, in, out, "CreateUser",
                                                          &controller_service::CreateUser_async);
}

grpc::ServerUnaryReactor* controller_service::UpdateUser(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* in,
                                                         grpc::ByteBuffer* out) {
    return serve<v1::UpdateUserRequest, v1::UserResponse>(ctx, in, out, "UpdateUser",
                                                          &controller_service::UpdateUser_async);
}

grpc::ServerUnaryReactor* controller_service::DeleteUser(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* in,
                                                         grpc::ByteBuffer* out) {
    return serve<v1::DeleteUserRequest, v1::UserResponse>(ctx, in, out, "DeleteUser",
                                                          &controller_service::DeleteUser_async);
}

grpc::ServerUnaryReactor* controller_service::CreateAcls(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* in,
                                                         grpc::ByteBuffer* out) {
    return serve<v1::CreateAclsRequest, v1::CreateAclsResponse>(
        ctx, in, out, "CreateAcls", &controller_service::CreateAcls_async);
}

grpc::ServerUnaryReactor* controller_service::DeleteAcls(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* in,
                                                         grpc::ByteBuffer* out) {
    return serve<v1::DeleteAclsRequest, v1::DeleteAclsResponse>(
        ctx, in, out, "DeleteAcls", &controller_service::DeleteAcls_async);
}

grpc::ServerUnaryReactor* controller_service::CreateRole(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* in,
                                                         grpc::ByteBuffer* out) {
    return serve<v1::CreateRoleRequest, v1::RoleResponse>(ctx, in, out, "CreateRole",
                                                          &controller_service::CreateRole_async);
}

grpc::ServerUnaryReactor* controller_service::DeleteRole(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* in,
                                                         grpc::ByteBuffer* out) {
    return serve<v1::DeleteRoleRequest, v1::RoleResponse>(ctx, in, out, "DeleteRole",
                                                          &controller_service::DeleteRole_async);
}

grpc::ServerUnaryReactor* controller_service::AlterRoleMembers(grpc::CallbackServerContext* ctx,
                                                               const grpc::ByteBuffer* in,
                                                               grpc::ByteBuffer* out) {
    return serve<v1::AlterRoleMembersRequest, v1::RoleResponse>(
        ctx, in, out, "AlterRoleMembers", &controller_service::AlterRoleMembers_async);
}

// ---------------------------------------------------------------- users

void controller_service::CreateUser_async(call<v1::CreateUserRequest, v1::UserResponse>& c) {
    if (refuse_short_password(c, _core.opts().min_password_length)) {
        return;
    }
    if (forward_async(c, &stub::async::CreateUser, "CreateUser")) {
        return;
    }
    if (auto deny = check_access(c.ctx, alter_cluster())) {
        c.reply(*deny);
        return;
    }
    frontend::create_user(_core, c.req, meta(c.ctx),
                          [&c](result<frontend::security_outcome> r) { answer_user(c, r); });
}

void controller_service::UpdateUser_async(call<v1::UpdateUserRequest, v1::UserResponse>& c) {
    if (refuse_short_password(c, _core.opts().min_password_length)) {
        return;
    }
    if (forward_async(c, &stub::async::UpdateUser, "UpdateUser")) {
        return;
    }
    if (auto deny = check_access(c.ctx, alter_cluster())) {
        c.reply(*deny);
        return;
    }
    frontend::update_user(_core, c.req, meta(c.ctx),
                          [&c](result<frontend::security_outcome> r) { answer_user(c, r); });
}

void controller_service::DeleteUser_async(call<v1::DeleteUserRequest, v1::UserResponse>& c) {
    if (forward_async(c, &stub::async::DeleteUser, "DeleteUser")) {
        return;
    }
    if (auto deny = check_access(c.ctx, alter_cluster())) {
        c.reply(*deny);
        return;
    }
    frontend::delete_user(_core, c.req, meta(c.ctx),
                          [&c](result<frontend::security_outcome> r) { answer_user(c, r); });
}

grpc::Status controller_service::ListUsers(grpc::ServerContext* ctx,
                                           const v1::ListUsersRequest* req,
                                           v1::ListUsersResponse* resp) {
    if (auto deny = check_access(ctx, describe_cluster())) {
        return finish("ListUsers", *deny);
    }
    auto r = frontend::list_users(_core, *req);
    if (!r) {
        return finish("ListUsers", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("ListUsers", grpc::Status::OK);
}

// ---------------------------------------------------------------- ACLs

void controller_service::CreateAcls_async(call<v1::CreateAclsRequest, v1::CreateAclsResponse>& c) {
    if (forward_async(c, &stub::async::CreateAcls, "CreateAcls")) {
        return;
    }
    if (auto deny = check_access(c.ctx, alter_cluster())) {
        c.reply(*deny);
        return;
    }
    frontend::create_acls(_core, c.req, meta(c.ctx), [&c](result<frontend::batch_outcome> r) {
        if (!r) {
            c.reply(to_grpc_status(r.error()));
            return;
        }
        for (size_t i = 0; i < r->items.size(); ++i) {
            *c.resp.add_results() =
                r->items[i] ? ok_item() : to_item_result(r->items[i].error(), "bindings", i, false);
        }
        c.resp.set_revision(r->revision);
        c.reply(grpc::Status::OK);
    });
}

void controller_service::DeleteAcls_async(call<v1::DeleteAclsRequest, v1::DeleteAclsResponse>& c) {
    if (forward_async(c, &stub::async::DeleteAcls, "DeleteAcls")) {
        return;
    }
    if (auto deny = check_access(c.ctx, alter_cluster())) {
        c.reply(*deny);
        return;
    }
    frontend::delete_acls(_core, c.req, meta(c.ctx), [&c](result<frontend::deleted_acls> r) {
        if (!r) {
            c.reply(to_grpc_status(r.error()));
            return;
        }
        for (size_t i = 0; i < r->items.size(); ++i) {
            auto* fr = c.resp.add_results();
            *fr->mutable_result() =
                r->items[i] ? ok_item() : to_item_result(r->items[i].error(), "filters", i, false);
            for (v1::AclBinding& b : r->deleted[i]) {
                *fr->add_deleted() = std::move(b);
            }
        }
        c.resp.set_revision(r->revision);
        c.reply(grpc::Status::OK);
    });
}

grpc::Status controller_service::ListAcls(grpc::ServerContext* ctx, const v1::ListAclsRequest* req,
                                          v1::ListAclsResponse* resp) {
    if (auto deny = check_access(ctx, describe_cluster())) {
        return finish("ListAcls", *deny);
    }
    auto r = frontend::list_acls(_core, *req);
    if (!r) {
        return finish("ListAcls", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("ListAcls", grpc::Status::OK);
}

// ---------------------------------------------------------------- roles

void controller_service::CreateRole_async(call<v1::CreateRoleRequest, v1::RoleResponse>& c) {
    if (forward_async(c, &stub::async::CreateRole, "CreateRole")) {
        return;
    }
    if (auto deny = check_access(c.ctx, alter_cluster())) {
        c.reply(*deny);
        return;
    }
    frontend::create_role(_core, c.req, meta(c.ctx),
                          [&c](result<frontend::role_outcome> r) { answer_role(c, std::move(r)); });
}

void controller_service::DeleteRole_async(call<v1::DeleteRoleRequest, v1::RoleResponse>& c) {
    if (forward_async(c, &stub::async::DeleteRole, "DeleteRole")) {
        return;
    }
    if (auto deny = check_access(c.ctx, alter_cluster())) {
        c.reply(*deny);
        return;
    }
    frontend::delete_role(_core, c.req, meta(c.ctx),
                          [&c](result<frontend::role_outcome> r) { answer_role(c, std::move(r)); });
}

void controller_service::AlterRoleMembers_async(
    call<v1::AlterRoleMembersRequest, v1::RoleResponse>& c) {
    if (forward_async(c, &stub::async::AlterRoleMembers, "AlterRoleMembers")) {
        return;
    }
    if (auto deny = check_access(c.ctx, alter_cluster())) {
        c.reply(*deny);
        return;
    }
    frontend::alter_role_members(_core, c.req, meta(c.ctx), [&c](result<frontend::role_outcome> r) {
        answer_role(c, std::move(r));
    });
}

grpc::Status controller_service::ListRoles(grpc::ServerContext* ctx,
                                           const v1::ListRolesRequest* req,
                                           v1::ListRolesResponse* resp) {
    if (auto deny = check_access(ctx, describe_cluster())) {
        return finish("ListRoles", *deny);
    }
    auto r = frontend::list_roles(_core, *req);
    if (!r) {
        return finish("ListRoles", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("ListRoles", grpc::Status::OK);
}

// ---------------------------------------------------------------- check

grpc::Status controller_service::CheckAcl(grpc::ServerContext* ctx, const v1::CheckAclRequest* req,
                                          v1::CheckAclResponse* resp) {
    if (auto deny = check_access(ctx, describe_cluster())) {
        return finish("CheckAcl", *deny);
    }
    auto r = frontend::check_acl(_core, *req);
    if (!r) {
        return finish("CheckAcl", to_grpc_status(r.error()));
    }
    *resp = std::move(*r);
    return finish("CheckAcl", grpc::Status::OK);
}

}  // namespace fjord::service
