#pragma once
// File: controller/frontend/security.h
//
// Security (docs/security.md): SCRAM users, ACL bindings, roles, and the
// authorizer's decision for one request. Writes go through core::run_batch
// (sessions, the read barrier before a refusal); CreateAcls and DeleteAcls
// are one item per binding or filter. Builders: controller/stm/commands.h.
//
// Passwords: CreateUser/UpdateUser derive the SCRAM credential here, on the
// member that proposes (the leader), and propose only that. Nothing here
// logs, stores or returns a password, and no answer carries a credential.

#include <optional>
#include <vector>

#include "controller/frontend/frontend.h"

namespace fjord::frontend {

/// A single-item security write's answer.
struct security_outcome {
    result<void> outcome;
    uint64_t revision = 0;
};

/// The FIPS password floor (frontend::options::min_password_length, 0: none)
/// for a request's `password`: invalid_argument on field `password` when it
/// is set and shorter. Checked where a request arrives, before it is
/// forwarded (the leader's own floor may be lower in a mixed cluster), and
/// again by create_user/update_user.
result<void> check_password_floor(const std::string& password, size_t min_password_length);

/// The credential CreateUser would store for `password` and `mechanism`
/// ("" = SCRAM-SHA-256): random salt, 4096 iterations, the FIPS floor.
/// Errors name `password` or `mechanism`. (fjord apply's users.)
result<v1::ScramCredential> derive_credential(const std::string& password,
                                              const std::string& mechanism,
                                              size_t min_password_length);

/// Whole-call errors: a malformed session; `password` and `credential` both
/// set or neither. The item's errors: the password's and the mechanism's
/// (fields `password`, `mechanism`, `iterations`), a given credential's
/// (`credential.*`), the name's, user_already_exists.
void create_user(core& c, const v1::CreateUserRequest& req, const command_meta& meta,
                 then_fn<result<security_outcome>> then);
/// As create_user; unknown_user unless `create_if_missing`.
void update_user(core& c, const v1::UpdateUserRequest& req, const command_meta& meta,
                 then_fn<result<security_outcome>> then);
void delete_user(core& c, const v1::DeleteUserRequest& req, const command_meta& meta,
                 then_fn<result<security_outcome>> then);
/// Names, mechanisms and audits; never a key.
result<v1::ListUsersResponse> list_users(core& c, const v1::ListUsersRequest& req);

/// One outcome per binding; an existing one is OK. Whole-call: no bindings.
void create_acls(core& c, const v1::CreateAclsRequest& req, const command_meta& meta,
                 then_fn<result<batch_outcome>> then);

/// DeleteAcls' answer: per filter its outcome and exactly the bindings it
/// removed at apply (with validate_only: those it matches now).
struct deleted_acls : batch_outcome {
    std::vector<std::vector<v1::AclBinding>> deleted;
};
void delete_acls(core& c, const v1::DeleteAclsRequest& req, const command_meta& meta,
                 then_fn<result<deleted_acls>> then);
/// The bindings the filter selects (all without one), in acl.h order.
result<v1::ListAclsResponse> list_acls(core& c, const v1::ListAclsRequest& req);

/// A role write's answer: the role as it is afterwards (when it exists) and,
/// for DeleteRole, the bindings of "Role:<name>" that apply removed.
struct role_outcome {
    result<void> outcome;
    std::optional<v1::Role> role;
    std::vector<v1::AclBinding> deleted_acls;
    uint64_t revision = 0;
};
void create_role(core& c, const v1::CreateRoleRequest& req, const command_meta& meta,
                 then_fn<result<role_outcome>> then);
void delete_role(core& c, const v1::DeleteRoleRequest& req, const command_meta& meta,
                 then_fn<result<role_outcome>> then);
void alter_role_members(core& c, const v1::AlterRoleMembersRequest& req, const command_meta& meta,
                        then_fn<result<role_outcome>> then);
result<v1::ListRolesResponse> list_roles(core& c, const v1::ListRolesRequest& req);

/// The authorizer's decision (with the superusers config) and whether the
/// brokers enforce it (kafka_enable_authorization, or enable_sasl while it
/// is unset). Errors name the request field: principal (a user), host,
/// operation and resource_type (not ANY or unset), resource_name.
result<v1::CheckAclResponse> check_acl(core& c, const v1::CheckAclRequest& req);

}  // namespace fjord::frontend
