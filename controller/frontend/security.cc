// File: controller/frontend/security.cc
//
// The security domain of the frontend (security.h).

#include "controller/frontend/security.h"

#include <memory>

#include <fmt/format.h>

#include "common/cluster/config_schema.h"
#include "common/security/acl_proto.h"
#include "common/security/scram.h"
#include "common/uuid.h"

namespace fjord::frontend {

result<void> check_password_floor(const std::string& password, size_t min_password_length) {
    if (!password.empty() && password.size() < min_password_length) {
        return error_info::for_field(cluster::errc::invalid_argument, "password",
                                     fmt::format("{} characters; FIPS mode needs at least {}",
                                                 password.size(), min_password_length));
    }
    return {};
}

namespace {

using cluster::errc;

/// A SASL library error about a request field, as the controller's errc
/// (the field and reason kept).
error_info as_request_error(const error_info& e) {
    if (e.field.empty()) {
        return error_info(errc::internal, e.detail);
    }
    return error_info::for_field(errc::invalid_argument, e.field, e.reason());
}

/// The credential to propose for a CreateUser/UpdateUser request: derived
/// here from the password (random salt, PBKDF2), or the caller's own.
///
/// Why proposing it is safe to replay: the command carries the salt and the
/// derived StoredKey and ServerKey, not the password, so every member that
/// applies it (again, after a restart, from a snapshot) stores exactly the
/// same bytes, and the Raft log, snapshots and Watch never hold a password.
/// The password lives only in this request, and is neither logged nor kept.
///
/// In FIPS mode (`min_password_length` > 0) a password shorter than that is
/// refused, and a given credential's salt must be at least
/// security::fips_min_salt_length bytes (SP 800-132, which the FIPS
/// provider's PBKDF2 enforces): the password behind a given credential is
/// never seen, so its length cannot be checked.
template <typename Req>
result<v1::ScramCredential> credential_for(const Req& req, size_t min_password_length) {
    if (req.has_credential()) {
        const v1::ScramCredential& given = req.credential();
        if (min_password_length > 0 && given.salt().size() < security::fips_min_salt_length) {
            return error_info::for_field(
                errc::invalid_argument, "credential.salt",
                fmt::format("{} bytes; FIPS mode needs a salt of at least {} bytes",
                            given.salt().size(), security::fips_min_salt_length));
        }
        if (!req.mechanism().empty() && req.mechanism() != given.mechanism()) {
            return error_info::for_field(errc::invalid_argument, "mechanism",
                                         fmt::format("\"{}\" differs from the credential's \"{}\"",
                                                     req.mechanism(), given.mechanism()));
        }
        if (req.iterations() != 0 && req.iterations() != given.iterations()) {
            return error_info::for_field(errc::invalid_argument, "iterations",
                                         fmt::format("{} differs from the credential's {}",
                                                     req.iterations(), given.iterations()));
        }
        return given;  // its shape is the builder's to check (credential.*)
    }
    security::scram_mechanism m = security::scram_mechanism::sha256;
    if (!req.mechanism().empty()) {
        auto parsed = security::parse_scram_mechanism(req.mechanism());
        if (!parsed) {
            return as_request_error(parsed.error());
        }
        m = *parsed;
    }
    if (auto floor = check_password_floor(req.password(), min_password_length); !floor) {
        return floor.error();
    }
    const int32_t iterations =
        req.iterations() == 0 ? security::scram_min_iterations : req.iterations();
    auto c = security::make_scram_credential(m, req.password(), iterations);
    if (!c) {
        return as_request_error(c.error());
    }
    v1::ScramCredential out;
    out.set_mechanism(std::string(security::to_string(c->mechanism)));
    out.set_salt(std::move(c->salt));
    out.set_iterations(c->iterations);
    out.set_stored_key(std::move(c->stored_key));
    out.set_server_key(std::move(c->server_key));
    return out;
}

}  // namespace

result<v1::ScramCredential> derive_credential(const std::string& password,
                                              const std::string& mechanism,
                                              size_t min_password_length) {
    v1::CreateUserRequest req;
    req.set_password(password);
    req.set_mechanism(mechanism);
    return credential_for(req, min_password_length);
}

namespace {

/// What every security write refuses as a whole.
result<void> check_write(const v1::Session& session) {
    return check_session(session);
}

/// Runs one single-item write and answers its outcome and the revision.
void run_one(core& c, const v1::Session& session, const command_meta& meta, core::build_fn build,
             then_fn<result<security_outcome>> then) {
    if (auto r = check_write(session); !r) {
        then(r.error());
        return;
    }
    c.run_batch(1, false, session, meta, std::move(build),
                [&c, then = std::move(then)](std::vector<result<void>> items) {
                    security_outcome out;
                    out.outcome = std::move(items.front());
                    out.revision = c.revision();
                    then(std::move(out));
                });
}

template <typename Req>
void upsert_user(core& c, const Req& req, bool create_only, bool update_only,
                 const command_meta& meta, then_fn<result<security_outcome>> then) {
    if (req.has_credential() && !req.password().empty()) {
        then(error_info::for_field(errc::invalid_argument, "credential",
                                   "give a password or a credential, not both"));
        return;
    }
    if (auto r = check_write(req.session()); !r) {
        then(r.error());
        return;
    }
    // Derived once per request, outside the build (which may run twice).
    auto cred = std::make_shared<result<v1::ScramCredential>>(
        credential_for(req, c.opts().min_password_length));
    run_one(
        c, req.session(), meta,
        [&req, &meta, cred, create_only, update_only](const stm::controller_stm& s, size_t) {
            if (!*cred) {
                return result<v1::ControllerCommand>(cred->error());
            }
            v1::User u;
            u.set_name(req.name());
            *u.mutable_credential() = **cred;
            return core::nothing_to_do(stm::make_upsert_user(s, u, create_only, update_only, meta));
        },
        std::move(then));
}

/// The bindings the command proposed with `id` removed, as this member
/// applied it.
std::vector<v1::AclBinding> removed_by(const stm::controller_stm& s, const std::string& id) {
    std::vector<v1::AclBinding> out;
    if (auto changes = s.changes_of(id)) {
        for (v1::Delta& d : *changes) {
            if (d.has_acl_deleted()) {
                out.push_back(std::move(*d.mutable_acl_deleted()));
            }
        }
    }
    return out;
}

/// "alice" or "User:alice" as a user principal (field "principal"); a role
/// or User:* is refused: decisions and memberships are about one user.
result<security::principal> user_principal(std::string_view text) {
    if (text.starts_with("Role:") || text.starts_with("RedpandaRole:")) {
        return error_info::for_field(
            errc::invalid_argument, "principal",
            fmt::format("\"{}\" is a role; name a user (User:<name>)", text));
    }
    auto p = security::parse_role_member(text);
    if (!p) {
        return p.error();
    }
    if (p->is_wildcard()) {
        return error_info::for_field(errc::invalid_argument, "principal",
                                     "User:* is every user; name one user");
    }
    return p;
}

}  // namespace

// ---------------------------------------------------------------- users

void create_user(core& c, const v1::CreateUserRequest& req, const command_meta& meta,
                 then_fn<result<security_outcome>> then) {
    upsert_user(c, req, true, false, meta, std::move(then));
}

void update_user(core& c, const v1::UpdateUserRequest& req, const command_meta& meta,
                 then_fn<result<security_outcome>> then) {
    upsert_user(c, req, false, !req.create_if_missing(), meta, std::move(then));
}

void delete_user(core& c, const v1::DeleteUserRequest& req, const command_meta& meta,
                 then_fn<result<security_outcome>> then) {
    run_one(
        c, req.session(), meta,
        [&req, &meta](const stm::controller_stm& s, size_t) {
            return stm::make_delete_user(s, req.name(), meta);
        },
        std::move(then));
}

result<v1::ListUsersResponse> list_users(core& c, const v1::ListUsersRequest& req) {
    if (auto r = c.linearize(req.read()); !r) {
        return r.error();
    }
    v1::ListUsersResponse resp;
    c.state().read([&](const stm::controller_stm& s) {
        for (const auto& [name, u] : s.users().all()) {
            v1::UserInfo* info = resp.add_users();
            info->set_name(name);
            info->set_mechanism(u.credential().mechanism());
            *info->mutable_created() = u.created();
            *info->mutable_updated() = u.updated();
        }
        resp.set_revision(s.revision().value());
        return 0;
    });
    return resp;
}

// ---------------------------------------------------------------- ACLs

void create_acls(core& c, const v1::CreateAclsRequest& req, const command_meta& meta,
                 then_fn<result<batch_outcome>> then) {
    if (auto r = check_write(req.session()); !r) {
        then(r.error());
        return;
    }
    if (req.bindings_size() == 0) {
        then(error_info::for_field(errc::invalid_argument, "bindings",
                                   "at least one binding is required"));
        return;
    }
    c.run_batch(
        static_cast<size_t>(req.bindings_size()), false, req.session(), meta,
        [&req, &meta](const stm::controller_stm& s, size_t i) {
            return core::nothing_to_do(
                stm::make_create_acl(s, req.bindings(static_cast<int>(i)), meta));
        },
        [&c, then = std::move(then)](std::vector<result<void>> items) {
            batch_outcome out;
            out.items = std::move(items);
            out.revision = c.revision();
            then(std::move(out));
        });
}

void delete_acls(core& c, const v1::DeleteAclsRequest& req, const command_meta& meta,
                 then_fn<result<deleted_acls>> then) {
    if (auto r = check_write(req.session()); !r) {
        then(r.error());
        return;
    }
    if (req.filters_size() == 0) {
        then(error_info::for_field(errc::invalid_argument, "filters",
                                   "at least one filter is required"));
        return;
    }
    const size_t n = static_cast<size_t>(req.filters_size());
    auto ids = std::make_shared<std::vector<std::string>>();
    for (size_t i = 0; i < n; ++i) {
        ids->push_back(request_id(req.session(), i));
    }
    c.run_batch(
        n, req.validate_only(), req.session(), meta,
        [&req, &meta, ids](const stm::controller_stm& s, size_t i) {
            auto cmd = core::nothing_to_do(
                stm::make_delete_acls(s, req.filters(static_cast<int>(i)), meta));
            if (cmd) {
                cmd->set_request_id((*ids)[i]);
            }
            return cmd;
        },
        [&c, &req, ids, then = std::move(then)](std::vector<result<void>> items) {
            deleted_acls out;
            out.deleted.resize(items.size());
            c.state().read([&](const stm::controller_stm& s) {
                for (size_t i = 0; i < items.size(); ++i) {
                    if (!items[i]) {
                        continue;
                    }
                    if (req.validate_only()) {
                        // What it would remove now (the filter is valid: the
                        // item succeeded).
                        out.deleted[i] = s.acls().matching(
                            *security::filter_from_proto(req.filters(static_cast<int>(i))));
                    } else {
                        out.deleted[i] = removed_by(s, (*ids)[i]);
                    }
                }
                out.revision = s.revision().value();
                return 0;
            });
            out.items = std::move(items);
            then(std::move(out));
        });
}

result<v1::ListAclsResponse> list_acls(core& c, const v1::ListAclsRequest& req) {
    auto f = security::filter_from_proto(req.filter());
    if (!f) {
        return f.error().within("filter.");
    }
    if (auto r = c.linearize(req.read()); !r) {
        return r.error();
    }
    v1::ListAclsResponse resp;
    c.state().read([&](const stm::controller_stm& s) {
        for (v1::AclBinding& b : s.acls().matching(*f)) {
            *resp.add_bindings() = std::move(b);
        }
        resp.set_revision(s.revision().value());
        return 0;
    });
    return resp;
}

// ---------------------------------------------------------------- roles

namespace {

/// Runs one role write; the answer holds the role as it is afterwards and
/// what the command with `id` (if any) removed.
void run_role(core& c, const v1::Session& session, const command_meta& meta, std::string name,
              std::string id, core::build_fn build, then_fn<result<role_outcome>> then) {
    if (auto r = check_write(session); !r) {
        then(r.error());
        return;
    }
    c.run_batch(1, false, session, meta, std::move(build),
                [&c, name = std::move(name), id = std::move(id),
                 then = std::move(then)](std::vector<result<void>> items) {
                    role_outcome out;
                    out.outcome = std::move(items.front());
                    c.state().read([&](const stm::controller_stm& s) {
                        if (const v1::Role* r = s.roles().find(name)) {
                            out.role = *r;
                        }
                        if (!id.empty() && out.outcome) {
                            out.deleted_acls = removed_by(s, id);
                        }
                        out.revision = s.revision().value();
                        return 0;
                    });
                    then(std::move(out));
                });
}

}  // namespace

void create_role(core& c, const v1::CreateRoleRequest& req, const command_meta& meta,
                 then_fn<result<role_outcome>> then) {
    run_role(
        c, req.session(), meta, req.name(), "",
        [&req, &meta](const stm::controller_stm& s, size_t) {
            return stm::make_create_role(s, req.name(), meta);
        },
        std::move(then));
}

void delete_role(core& c, const v1::DeleteRoleRequest& req, const command_meta& meta,
                 then_fn<result<role_outcome>> then) {
    std::string id = request_id(req.session(), 0);
    run_role(
        c, req.session(), meta, req.name(), id,
        [&req, &meta, id](const stm::controller_stm& s, size_t) {
            auto cmd = stm::make_delete_role(s, req.name(), meta);
            if (cmd) {
                cmd->set_request_id(id);
            }
            return cmd;
        },
        std::move(then));
}

void alter_role_members(core& c, const v1::AlterRoleMembersRequest& req, const command_meta& meta,
                        then_fn<result<role_outcome>> then) {
    run_role(
        c, req.session(), meta, req.role(), "",
        [&req, &meta](const stm::controller_stm& s, size_t) {
            return core::nothing_to_do(stm::make_alter_role_members(s, req, meta));
        },
        std::move(then));
}

result<v1::ListRolesResponse> list_roles(core& c, const v1::ListRolesRequest& req) {
    std::optional<std::string> member;
    if (!req.principal().empty()) {
        auto p = user_principal(req.principal());
        if (!p) {
            return p.error();
        }
        member = security::to_string(*p);
    }
    if (auto r = c.linearize(req.read()); !r) {
        return r.error();
    }
    v1::ListRolesResponse resp;
    c.state().read([&](const stm::controller_stm& s) {
        for (const auto& [name, role] : s.roles().all()) {
            if (!std::string_view(name).starts_with(req.prefix())) {
                continue;
            }
            if (member && std::find(role.members().begin(), role.members().end(), *member) ==
                              role.members().end()) {
                continue;
            }
            *resp.add_roles() = role;
        }
        resp.set_revision(s.revision().value());
        return 0;
    });
    return resp;
}

// ---------------------------------------------------------------- check

result<v1::CheckAclResponse> check_acl(core& c, const v1::CheckAclRequest& req) {
    auto who = user_principal(req.principal());
    if (!who) {
        return who.error();
    }
    const std::string host = req.host().empty() ? std::string(security::wildcard_host) : req.host();
    if (auto r = security::validate_host(host); !r) {
        return r.error();
    }
    const int op = req.operation();
    if (op < static_cast<int>(security::acl_operation::all) ||
        op > static_cast<int>(security::acl_operation::idempotent_write)) {
        return error_info::for_field(errc::invalid_argument, "operation",
                                     "an operation to check is required (not ANY)");
    }
    const int rt = req.resource_type();
    if (rt < static_cast<int>(security::resource_type::topic) ||
        rt > static_cast<int>(security::resource_type::transactional_id)) {
        return error_info::for_field(errc::invalid_argument, "resource_type",
                                     "a resource type to check is required (not ANY)");
    }
    const auto rtype = static_cast<security::resource_type>(rt);
    std::string name = req.resource_name();
    if (name.empty() && rtype == security::resource_type::cluster) {
        name = std::string(security::cluster_resource_name);
    }
    if (name.empty()) {
        return error_info::for_field(errc::invalid_argument, "resource_name", "must not be empty");
    }
    if (auto r = c.linearize(req.read()); !r) {
        return r.error();
    }
    v1::CheckAclResponse resp;
    c.state().read([&](const stm::controller_stm& s) {
        const security::decision d = s.authorizer()->authorize(
            *who, host, static_cast<security::acl_operation>(op), rtype, name);
        const auto config = [&](const char* key) -> std::optional<std::string_view> {
            const v1::ConfigValue* v = s.cluster_config().find(key);
            return v != nullptr ? std::optional<std::string_view>(v->value()) : std::nullopt;
        };
        const bool enabled = cluster::kafka_authorization_enabled(
            config("kafka_enable_authorization"), config("enable_sasl"));
        resp.set_authorization_enabled(enabled);
        if (d.binding) {
            *resp.mutable_binding() = security::to_proto(*d.binding);
        }
        if (d.via_role) {
            resp.set_via_role(*d.via_role);
        }
        if (enabled) {
            resp.set_allowed(d.allowed);
            resp.set_reason(std::string(security::to_string(d.reason)));
            resp.set_explanation(d.to_string());
        } else {
            resp.set_allowed(true);
            resp.set_reason("authorization_disabled");
            resp.set_explanation(
                fmt::format("allowed: authorization is off (kafka_enable_authorization, or "
                            "enable_sasl while it is unset); with it on: {}",
                            d.to_string()));
        }
        resp.set_revision(s.revision().value());
        return 0;
    });
    return resp;
}

}  // namespace fjord::frontend
