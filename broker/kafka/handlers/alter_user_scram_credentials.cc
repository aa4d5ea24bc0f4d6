// File: broker/kafka/handlers/alter_user_scram_credentials.cc
//
// AlterUserScramCredentials (key 51, v0), forwarded to the controller, one
// call per user: an upsertion's salt and salted password become the stored
// keys here (scram.h credential_from_salted_password: the password never
// travels) and go to UpdateUser with create_if_missing; a deletion goes to
// DeleteUser. Kafka's rules, one result per entry:
//
//   no ALTER on the cluster                 CLUSTER_AUTHORIZATION_FAILED (all)
//   a user named twice in the request       DUPLICATE_RESOURCE (each entry)
//   an empty or invalid user name           UNACCEPTABLE_CREDENTIAL
//   a mechanism other than 1 (SCRAM-SHA-256)
//   or 2 (SCRAM-SHA-512)                    UNSUPPORTED_SASL_MECHANISM
//   iterations, salt or salted password out
//   of bounds                               UNACCEPTABLE_CREDENTIAL
//   deleting a credential the user lacks    RESOURCE_NOT_FOUND
//
// A Fjord user has one credential: an upsertion of the other mechanism
// replaces it, and deleting the user's credential deletes the user.
// Answered once this broker has applied the change (so the user can log in
// on it at once).

#include <map>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "common/security/scram.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
using resp_t = kafka::alter_user_scram_credentials_response;

std::optional<security::scram_mechanism> mechanism_of(int8_t code) {
    if (code == 1) {
        return security::scram_mechanism::sha256;
    }
    if (code == 2) {
        return security::scram_mechanism::sha512;
    }
    return std::nullopt;
}

/// The controller's answer for one user, in Kafka's terms.
outcome user_outcome(const result<v1::UserResponse>& r) {
    if (!r) {
        return outcome_of(r.error());
    }
    if (r->result().code() == v1::INVALID_ARGUMENT) {
        return {k::unacceptable_credential, r->result().detail()};
    }
    return outcome_of(r->result());
}

/// What several controller calls share until the last one answers.
struct alteration {
    std::shared_ptr<admin_forwarder::pending> p;
    resp_t resp;
    size_t waiting = 0;
    uint64_t revision = 0;
};

}  // namespace

void handlers::alter_user_scram_credentials(const request_context& ctx,
                                            kafka::alter_user_scram_credentials_request req) {
    admin_forwarder* admin = ctx.services->admin;
    const metadata_cache& md = ctx.services->md;
    auto st = std::make_shared<alteration>();
    st->resp.results.reserve(req.deletions.size() + req.upsertions.size());
    const bool may = ctx.allowed_on_cluster(security::acl_operation::alter);
    std::map<std::string, int> named;
    for (const auto& d : req.deletions) {
        ++named[d.name];
    }
    for (const auto& u : req.upsertions) {
        ++named[u.name];
    }
    // The checks every entry gets; nullopt: go on.
    const auto refuse = [&](const std::string& name, int8_t mechanism) -> std::optional<outcome> {
        if (!may) {
            return outcome{k::cluster_authorization_failed,
                           "AlterUserScramCredentials needs ALTER on the cluster"};
        }
        if (named[name] > 1) {
            return outcome{
                k::duplicate_resource,
                fmt::format("user \"{}\" is altered more than once in the request", name)};
        }
        if (auto valid = security::validate_username(name); !valid) {
            return outcome{k::unacceptable_credential, valid.error().detail};
        }
        if (!mechanism_of(mechanism)) {
            return outcome{k::unsupported_sasl_mechanism,
                           fmt::format("mechanism: {} is not 1 (SCRAM-SHA-256) or 2 "
                                       "(SCRAM-SHA-512)",
                                       static_cast<int>(mechanism))};
        }
        return std::nullopt;
    };
    // Calls to make once every entry is checked: (result index, call).
    std::vector<std::pair<size_t, v1::UpdateUserRequest>> updates;
    std::vector<std::pair<size_t, v1::DeleteUserRequest>> deletes;
    const auto add_result = [&](const std::string& name, const std::optional<outcome>& o) {
        resp_t::alter_user_scram_credentials_result r;
        r.user = name;
        r.error_message = std::nullopt;
        if (o) {
            r.error_code = o->code;
            r.error_message = o->message;
        }
        st->resp.results.push_back(std::move(r));
        return st->resp.results.size() - 1;
    };
    for (const auto& d : req.deletions) {
        auto o = refuse(d.name, d.mechanism);
        if (!o) {
            const auto it = md.users().find(d.name);
            const auto m = mechanism_of(d.mechanism);
            const auto stored =
                it == md.users().end()
                    ? result<security::scram_mechanism>(
                          error_info(security::sasl_errc::invalid_argument, "no such user"))
                    : security::parse_scram_mechanism(it->second.credential().mechanism());
            if (!stored || *stored != *m) {
                o = outcome{k::resource_not_found, fmt::format("user \"{}\" has no {} credential",
                                                               d.name, security::to_string(*m))};
            }
        }
        const size_t at = add_result(d.name, o);
        if (!o) {
            v1::DeleteUserRequest call;
            call.set_name(d.name);
            deletes.emplace_back(at, std::move(call));
        }
    }
    for (const auto& u : req.upsertions) {
        auto o = refuse(u.name, u.mechanism);
        std::optional<security::scram_credential> cred;
        if (!o) {
            auto c = security::credential_from_salted_password(*mechanism_of(u.mechanism), u.salt,
                                                               u.iterations, u.salted_password);
            if (!c) {
                o = outcome{k::unacceptable_credential, c.error().detail};
            } else {
                cred = std::move(*c);
            }
        }
        const size_t at = add_result(u.name, o);
        if (!o) {
            v1::UpdateUserRequest call;
            call.set_name(u.name);
            call.set_create_if_missing(true);
            auto* c = call.mutable_credential();
            c->set_mechanism(std::string(security::to_string(cred->mechanism)));
            c->set_salt(cred->salt);
            c->set_iterations(cred->iterations);
            c->set_stored_key(cred->stored_key);
            c->set_server_key(cred->server_key);
            updates.emplace_back(at, std::move(call));
        }
    }
    st->waiting = updates.size() + deletes.size();
    if (st->waiting == 0) {
        ctx.respond(st->resp);
        return;
    }
    st->p = admin->make_pending(ctx, admin->options().default_timeout, true);
    const auto on_answer = [admin, st](size_t at) {
        return admin->on_io<v1::UserResponse>([admin, st, at](result<v1::UserResponse> r) {
            auto& out = st->resp.results[at];
            const outcome o = user_outcome(r);
            out.error_code = o.code;
            out.error_message = o.message;
            if (o.code == k::none) {
                st->revision = std::max(st->revision, r->revision());
            }
            admin_forwarder::log_outcome(*st->p, "alter SCRAM credential of " + out.user, o);
            if (--st->waiting == 0) {
                auto resp = std::make_shared<resp_t>(std::move(st->resp));
                admin->answer_after(st->revision, st->p, admin_forwarder::sender(st->p, resp));
            }
        });
    };
    for (auto& [at, call] : deletes) {
        admin->controller().delete_user(std::move(call), admin->options().default_timeout,
                                        on_answer(at));
    }
    for (auto& [at, call] : updates) {
        admin->controller().update_user(std::move(call), admin->options().default_timeout,
                                        on_answer(at));
    }
}

}  // namespace fjord::broker
