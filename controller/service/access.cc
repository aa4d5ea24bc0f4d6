// File: controller/service/access.cc
//
// Who is calling and whether they may (docs/security.md). While the cluster
// config admin_api_require_auth is true:
//   1. authenticate: the metadata `authorization: Basic base64(user:password)`
//      against the users table (auth.h: cache, decoy for unknown users); or,
//      without it, a client certificate the API verified (mutual TLS): its
//      subject through principal_mapping_rules is the user;
//   2. authorize: every `access` the call needs, through the stm's
//      authorizer (superusers, ACL bindings, roles), from the client's host.
// Refusals are UNAUTHENTICATED or PERMISSION_DENIED naming what is missing,
// decided before anything is proposed, so a client knows that nothing of a
// refused call applied.

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <grpcpp/security/auth_context.h>

#include "common/cluster/errc.h"
#include "common/log.h"
#include "common/tls/grpc_tls.h"
#include "controller/service/adapter.h"

namespace fjord::service {
namespace {

using cluster::errc;

constexpr const char* authorization_header = "authorization";
/// Set by a member that forwards a call: the client's address it saw.
constexpr const char* client_host_header = "fjord-client-host";
constexpr const char* forwarded_header = "fjord-forwarded";
/// Set by a member that forwards a call: the client certificate's subject
/// it verified.
constexpr const char* client_subject_header = "fjord-client-subject-bin";

std::optional<std::string> metadata(grpc::ServerContextBase* ctx, const char* key) {
    const auto& md = ctx->client_metadata();
    const auto it = md.find(key);
    if (it == md.end()) {
        return std::nullopt;
    }
    return std::string(it->second.data(), it->second.size());
}

/// "ipv4:127.0.0.1:5000" -> "127.0.0.1"; "ipv6:[::1]:5000" (also
/// %5B..%5D-encoded) -> "::1"; anything else as it is.
std::string peer_host(const std::string& peer) {
    std::string_view p = peer;
    if (p.starts_with("ipv4:")) {
        p.remove_prefix(5);
        return std::string(p.substr(0, p.rfind(':')));
    }
    if (p.starts_with("ipv6:")) {
        p.remove_prefix(5);
        if (p.starts_with("%5B")) {
            const size_t end = p.find("%5D");
            return std::string(p.substr(3, end == std::string_view::npos ? end : end - 3));
        }
        if (p.starts_with("[")) {
            return std::string(p.substr(1, p.find(']') - 1));
        }
    }
    return std::string(p);
}

std::string host_of(const std::string& address) {
    if (address.starts_with("[")) {
        return address.substr(1, address.find(']') - 1);
    }
    return address.substr(0, address.rfind(':'));
}

/// Whether the call's source address `peer` (an IP) is `host`: the same
/// address when `host` is an IP literal, else one `host` resolves to.
bool comes_from(const std::string& host, const std::string& peer) {
    if (tls::same_ip_address(host, peer)) {
        return true;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) {
        return false;
    }
    bool match = false;
    for (addrinfo* a = found; a != nullptr && !match; a = a->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        const void* raw =
            a->ai_family == AF_INET
                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        match = inet_ntop(a->ai_family, raw, text, sizeof text) != nullptr &&
                tls::same_ip_address(text, peer);
    }
    freeaddrinfo(found);
    return match;
}

std::string describe(const access& a) {
    std::string op(security::to_string(a.op));
    for (char& ch : op) {
        ch = ch == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    if (a.rt == security::resource_type::cluster) {
        return fmt::format("{} on the cluster", op);
    }
    return fmt::format("{} on {} \"{}\"{}", op, security::to_string(a.rt), a.name,
                       a.or_cluster ? " (or on the cluster)" : "");
}

}  // namespace

bool controller_service::auth_required() const {
    return _core.state().read([](const stm::controller_stm& s) {
        return s.cluster_config().bool_value("admin_api_require_auth");
    });
}

result<std::string> controller_service::authenticate(grpc::ServerContextBase* ctx) const {
    // A forged forwarded subject refuses the call whatever else it carries:
    // its sender tried to be someone else.
    auto subject = client_subject(ctx);
    if (!subject) {
        return subject.error();
    }
    const auto header = metadata(ctx, authorization_header);
    if (!header) {
        // Explicit credentials win; without them a verified certificate is
        // the identity.
        if (_tls.principal_mapping) {
            if (!subject->empty()) {
                auto user = _tls.principal_mapping->map(*subject);
                if (!user) {
                    return error_info(
                        errc::unauthenticated,
                        fmt::format("client certificate \"{}\": no principal_mapping_rules rule "
                                    "maps this subject to a user",
                                    *subject));
                }
                return std::move(*user);
            }
        }
        return error_info(errc::unauthenticated,
                          _tls.principal_mapping
                              ? "this controller requires authentication (admin_api_require_auth "
                                "is true): send the metadata authorization: Basic "
                                "base64(user:password) of a SCRAM user, or present a client "
                                "certificate"
                              : "this controller requires authentication (admin_api_require_auth "
                                "is true): send the metadata authorization: Basic "
                                "base64(user:password) of a SCRAM user");
    }
    auto creds = parse_basic_authorization(*header);
    if (!creds) {
        return creds.error();
    }
    const auto stored =
        _core.state().read([&](const stm::controller_stm& s) -> std::optional<v1::ScramCredential> {
            const v1::User* u = s.users().find(creds->user);
            return u != nullptr ? std::optional(u->credential()) : std::nullopt;
        });
    if (auto r = _auth.verify(*creds, stored); !r) {
        return r.error();
    }
    return std::move(creds->user);
}

result<std::string> controller_service::client_subject(grpc::ServerContextBase* ctx) const {
    if (!_tls.principal_mapping) {
        // The API verifies no client certificate: there is no subject, and
        // no forwarded one is believed either.
        return std::string();
    }
    const auto forwarded_subject = metadata(ctx, client_subject_header);
    if (forwarded_subject) {
        // Believed only from a connection whose own verified certificate
        // proves it a member, never by the source address alone: a process
        // on a member's host could send the header too.
        if (member_certificate(ctx)) {
            return *forwarded_subject;
        }
        if (!_warned_forged_subject.exchange(true)) {
            log(log_level::warn, "service",
                "refused a call from {} carrying {} without a member's certificate (one that "
                "names a member's advertised API address, presented from that address); "
                "further such calls are refused without this warning",
                ctx->peer(), client_subject_header);
        }
        return error_info(
            errc::unauthenticated,
            fmt::format("the metadata {} (a client certificate subject a member forwards) is "
                        "accepted only over a connection whose client certificate names a "
                        "member's advertised API address and that comes from it; this one {}",
                        client_subject_header,
                        tls::peer_certificate_pem(*ctx).empty() ? "presented no certificate"
                                                                : "is not a member's"));
    }
    if (metadata(ctx, forwarded_header) && member_certificate(ctx)) {
        // A call a member forwards without a client certificate: the
        // connection's certificate is the member's own, not the caller's.
        return std::string();
    }
    return tls::peer_subject(*ctx);
}

bool controller_service::member_certificate(grpc::ServerContextBase* ctx) const {
    const std::string pem = tls::peer_certificate_pem(*ctx);
    if (pem.empty()) {
        return false;
    }
    const std::string peer = peer_host(ctx->peer());
    return _core.state().read([&](const stm::controller_stm& s) {
        for (const auto& [id, m] : s.members().all()) {
            // Both: the certificate is issued for this member's advertised
            // API host (which a user's or broker's certificate must not
            // name: controller/server/README.md), and the call comes from
            // that host, so a member's stolen-by-copy certificate is not
            // enough elsewhere.
            const std::string host = host_of(m.api_address());
            if (tls::certificate_names_host(pem, host) && comes_from(host, peer)) {
                return true;
            }
        }
        return false;
    });
}

bool controller_service::forwarded_by_member(grpc::ServerContextBase* ctx) const {
    if (_tls.principal_mapping) {
        // The API verifies client certificates, and members forwarding
        // present theirs: only a member's certificate proves a member.
        return member_certificate(ctx);
    }
    const std::string peer = peer_host(ctx->peer());
    return _core.state().read([&](const stm::controller_stm& s) {
        for (const auto& [id, m] : s.members().all()) {
            for (const std::string& host : {host_of(m.api_address()), host_of(m.peer_address())}) {
                if (tls::same_ip_address(host, peer) || host == peer) {
                    return true;
                }
            }
        }
        return false;
    });
}

std::string controller_service::client_host(grpc::ServerContextBase* ctx) const {
    const std::string peer = peer_host(ctx->peer());
    // A forwarded call arrives from a member; the address it reports is the
    // client's. Trusted only from a member (forwarded_by_member): anyone
    // else naming a host is judged by their own address. (When the API
    // verifies no client certificates, a member is known by its address
    // only, and a process on a member's host can still claim one:
    // docs/security.md.)
    if (const auto claimed = metadata(ctx, client_host_header);
        claimed && metadata(ctx, forwarded_header)) {
        if (forwarded_by_member(ctx) && security::validate_host(*claimed)) {
            return *claimed;
        }
    }
    return peer;
}

std::string controller_service::principal(grpc::ServerContextBase* ctx) const {
    if (!auth_required()) {
        return "anonymous";
    }
    auto user = authenticate(ctx);  // verified already: a cache hit
    return user ? "User:" + *user : "anonymous";
}

std::optional<grpc::Status> controller_service::check_access(
    grpc::ServerContextBase* ctx, const std::vector<access>& needs) const {
    if (!auth_required()) {
        return std::nullopt;
    }
    // Decide on tables that hold every acknowledged change: a follower, or a
    // leader elected a moment ago that has not applied its predecessor's
    // last commits, would otherwise still honour a deleted user, an old
    // password or a revoked ACL. Nothing has been proposed yet, so a failed
    // barrier is "unavailable, retry", never "outcome unknown".
    if (auto fresh = _core.linearize(v1::ReadOptions{}); !fresh) {
        // The prefix is the contract: clients and forwarding members read it
        // as "not applied" (retry_rule.cc applied_nothing, forwarding.cc).
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            fmt::format("nothing was done: could not confirm the security state "
                                        "with a quorum before deciding access: {}",
                                        fresh.error().detail));
    }
    auto user = authenticate(ctx);
    if (!user) {
        log(log_level::info, "service", "refused an unauthenticated call from {}: {}", ctx->peer(),
            user.error().detail);
        return to_grpc_status(user.error());
    }
    const std::string host = client_host(ctx);
    const auto authz =
        _core.state().read([](const stm::controller_stm& s) { return s.authorizer(); });
    const security::principal who = security::principal::user(*user);
    for (const access& a : needs) {
        security::decision d = authz->authorize(who, host, a.op, a.rt, a.name);
        if (a.superuser_only) {
            if (d.reason != security::decision_reason::superuser) {
                return to_grpc_status(error_info(
                    errc::permission_denied,
                    fmt::format("User:{} from {} must be a superuser (the cluster config "
                                "superusers): no ACL grants this call",
                                *user, host)));
            }
            continue;
        }
        if (!d.allowed && a.or_cluster &&
            authz->allowed(who, host, a.op, security::resource_type::cluster,
                           security::cluster_resource_name)) {
            continue;
        }
        if (!d.allowed) {
            return to_grpc_status(
                error_info(errc::permission_denied,
                           fmt::format("User:{} from {} needs {} (or to be a superuser): {}", *user,
                                       host, describe(a), d.to_string())));
        }
    }
    return std::nullopt;
}

}  // namespace fjord::service
