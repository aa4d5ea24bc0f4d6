// File: broker/security/security_snapshot.cc

#include "broker/security/security_snapshot.h"

#include <algorithm>

#include "broker/cluster/metadata_cache.h"
#include "common/cluster/config_schema.h"
#include "common/log.h"
#include "common/security/acl_proto.h"

namespace fjord::broker {
namespace {

namespace sec = fjord::security;

/// The cluster config value of `key`: the one set, else the schema's
/// default ("" when the schema does not know the key).
std::string config_value(const metadata_cache& md, const std::string& key) {
    if (auto v = md.config(key)) {
        return *v;
    }
    if (const auto* p = cluster::cluster_config_schema().find(key)) {
        return p->default_value;
    }
    return {};
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// A list value's elements ("a, b" -> {"a", "b"}), empty ones dropped.
std::vector<std::string> list_value(std::string_view v) {
    std::vector<std::string> out;
    while (!v.empty()) {
        const auto comma = v.find(',');
        const std::string_view item = trim(v.substr(0, comma));
        if (!item.empty()) {
            out.emplace_back(item);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        v.remove_prefix(comma + 1);
    }
    return out;
}

}  // namespace

std::string_view to_string(sasl_mechanism m) {
    switch (m) {
        case sasl_mechanism::plain:
            return "PLAIN";
        case sasl_mechanism::scram_sha_256:
            return "SCRAM-SHA-256";
        case sasl_mechanism::scram_sha_512:
            return "SCRAM-SHA-512";
    }
    return "?";
}

std::optional<sasl_mechanism> parse_sasl_mechanism(std::string_view name) {
    for (auto m :
         {sasl_mechanism::plain, sasl_mechanism::scram_sha_256, sasl_mechanism::scram_sha_512}) {
        if (name == to_string(m)) {
            return m;
        }
    }
    return std::nullopt;
}

std::shared_ptr<const security_snapshot> security_snapshot::not_ready() {
    auto s = std::shared_ptr<security_snapshot>(new security_snapshot());
    s->_authz = sec::authorizer::build({});
    // Unknown rules: nothing is allowed (never consulted: requests wait).
    s->_authorization_enabled = true;
    return s;
}

std::shared_ptr<const security_snapshot> security_snapshot::open() {
    auto s = std::shared_ptr<security_snapshot>(new security_snapshot());
    s->_ready = true;
    s->_authz = sec::authorizer::build({});
    return s;
}

std::shared_ptr<const security_snapshot> security_snapshot::build(const metadata_cache& md) {
    auto s = std::shared_ptr<security_snapshot>(new security_snapshot());
    s->_ready = md.ready();
    s->_revision = md.applied_revision();
    s->_sasl_enabled = config_value(md, "enable_sasl") == "true";
    // The controller reads the switch with the same rule (config_schema.h).
    const auto authz = md.config("kafka_enable_authorization");
    const auto sasl = md.config("enable_sasl");
    s->_authorization_enabled = cluster::kafka_authorization_enabled(
        authz ? std::optional<std::string_view>(*authz) : std::nullopt,
        sasl ? std::optional<std::string_view>(*sasl) : std::nullopt);

    for (const auto& m : list_value(config_value(md, "sasl_mechanisms"))) {
        if (m == "SCRAM") {
            s->_mechanisms.push_back(sasl_mechanism::scram_sha_256);
            s->_mechanisms.push_back(sasl_mechanism::scram_sha_512);
        } else if (m == "PLAIN") {
            s->_mechanisms.push_back(sasl_mechanism::plain);
        }
    }
    std::sort(s->_mechanisms.begin(), s->_mechanisms.end());
    s->_mechanisms.erase(std::unique(s->_mechanisms.begin(), s->_mechanisms.end()),
                         s->_mechanisms.end());

    for (const auto& [name, u] : md.users()) {
        const auto& c = u.credential();
        auto cred = sec::credential_from_proto(c);
        if (!cred) {
            log(log_level::warn, "security",
                "user {}: credential mechanism \"{}\" unknown: the "
                "user cannot log in on this broker",
                name, c.mechanism());
            continue;
        }
        s->_users.emplace(name, std::move(*cred));
    }

    std::vector<std::string> superusers;
    for (auto& name : list_value(config_value(md, "superusers"))) {
        constexpr std::string_view user_prefix = "User:";
        superusers.push_back(name.starts_with(user_prefix) ? name.substr(user_prefix.size())
                                                           : name);
    }
    sec::authorizer_builder b;
    for (const auto& [key, a] : md.acls()) {
        sec::add_binding(b, a);
        if (a.resource_type() == v1::ACL_RESOURCE_TOPIC &&
            a.permission() == v1::ACL_PERMISSION_ALLOW &&
            (a.operation() == v1::ACL_OPERATION_WRITE || a.operation() == v1::ACL_OPERATION_ALL)) {
            if (auto who = sec::parse_principal(a.principal())) {
                s->_topic_writers.emplace_back(std::move(*who), a.resource_name());
            }
        }
    }
    for (const auto& [name, r] : md.roles()) {
        sec::add_role(b, r);
        for (const auto& m : r.members()) {
            if (auto who = sec::parse_role_member(m)) {
                s->_roles_of[who->name].push_back(name);
            }
        }
    }
    for (const auto& u : superusers) {
        b.add_superuser(u);
    }
    s->_authz = std::move(b).build();
    return s;
}

bool security_snapshot::offers(sasl_mechanism m) const {
    return std::find(_mechanisms.begin(), _mechanisms.end(), m) != _mechanisms.end();
}

std::vector<std::string> security_snapshot::mechanism_names() const {
    std::vector<std::string> out;
    for (auto m : _mechanisms) {
        out.emplace_back(to_string(m));
    }
    return out;
}

const security::scram_credential* security_snapshot::credential(std::string_view user) const {
    auto it = _users.find(user);
    return it == _users.end() ? nullptr : &it->second;
}

std::optional<security::scram_credential> security_snapshot::credential(
    std::string_view user, security::scram_mechanism m) const {
    const auto* c = credential(user);
    if (c == nullptr || c->mechanism != m) {
        return std::nullopt;
    }
    return *c;
}

bool security_snapshot::may_produce_idempotently(const security::principal& who,
                                                 std::string_view host) const {
    if (allowed_on_cluster(who, host, sec::acl_operation::idempotent_write)) {
        return true;
    }
    const auto roles = _roles_of.find(who.name);
    for (const auto& [p, pattern] : _topic_writers) {
        const bool names_user =
            p.type == sec::principal::kind::user
                ? (p.is_wildcard() || p.name == who.name)
                : roles != _roles_of.end() && std::find(roles->second.begin(), roles->second.end(),
                                                        p.name) != roles->second.end();
        if (names_user &&
            allowed(who, host, sec::acl_operation::write, sec::resource_type::topic, pattern)) {
            return true;
        }
    }
    return false;
}

}  // namespace fjord::broker
