// File: common/security/acl.cc
//
// The ACL model's parsing, formatting, filter matching and validation
// (acl.h). Every keyword table lives here once; the parsers and to_string
// read the same table, so a name cannot be printed that does not parse back.

#include "common/security/acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cctype>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "common/cluster/errc.h"
#include "common/cluster/topic_name.h"

namespace fjord::security {
namespace {

using cluster::errc;

template <typename E>
struct keyword {
    std::string_view name;  ///< the canonical text, what to_string prints
    E value;
};

constexpr std::array<keyword<resource_type>, 5> resource_types{{
    {"any", resource_type::any},
    {"topic", resource_type::topic},
    {"group", resource_type::group},
    {"cluster", resource_type::cluster},
    {"transactional_id", resource_type::transactional_id},
}};

constexpr std::array<keyword<pattern_type>, 4> pattern_types{{
    {"any", pattern_type::any},
    {"match", pattern_type::match},
    {"literal", pattern_type::literal},
    {"prefixed", pattern_type::prefixed},
}};

constexpr std::array<keyword<acl_operation>, 12> operations{{
    {"any", acl_operation::any},
    {"all", acl_operation::all},
    {"read", acl_operation::read},
    {"write", acl_operation::write},
    {"create", acl_operation::create},
    {"delete", acl_operation::remove},
    {"alter", acl_operation::alter},
    {"describe", acl_operation::describe},
    {"cluster_action", acl_operation::cluster_action},
    {"describe_configs", acl_operation::describe_configs},
    {"alter_configs", acl_operation::alter_configs},
    {"idempotent_write", acl_operation::idempotent_write},
}};

constexpr std::array<keyword<acl_permission>, 3> permissions{{
    {"any", acl_permission::any},
    {"deny", acl_permission::deny},
    {"allow", acl_permission::allow},
}};

/// Lower case without '_' and '-': the form keywords are compared in.
std::string folded(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '_' || c == '-') {
            continue;
        }
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
}

/// The keyword whose folded name equals the folded `text`, or an error on
/// `field` listing every canonical name.
template <typename E, size_t N>
result<E> parse_keyword(const std::array<keyword<E>, N>& table, std::string_view text,
                        std::string_view field, std::span<const keyword<E>> aliases = {}) {
    const std::string f = folded(text);
    for (const auto& k : table) {
        if (folded(k.name) == f) {
            return k.value;
        }
    }
    for (const auto& k : aliases) {
        if (folded(k.name) == f) {
            return k.value;
        }
    }
    std::vector<std::string_view> names;
    names.reserve(N);
    for (const auto& k : table) {
        names.push_back(k.name);
    }
    return error_info::for_field(
        errc::invalid_argument, field,
        fmt::format("{} is not one of {}", cluster::quoted(text), fmt::join(names, ", ")));
}

template <typename E, size_t N>
std::string_view keyword_name(const std::array<keyword<E>, N>& table, E value) {
    for (const auto& k : table) {
        if (k.value == value) {
            return k.name;
        }
    }
    return "unknown";
}

constexpr std::array<keyword<pattern_type>, 1> pattern_aliases{
    {{"prefix", pattern_type::prefixed}}};
constexpr std::array<keyword<acl_operation>, 1> operation_aliases{
    {{"remove", acl_operation::remove}}};

constexpr std::string_view user_prefix = "User:";
constexpr std::string_view role_prefix = "Role:";
constexpr std::string_view redpanda_role_prefix = "RedpandaRole:";

error_info invalid(std::string_view field, std::string_view reason) {
    return error_info::for_field(errc::invalid_argument, field, reason);
}

result<void> validate_resource_name(const acl_binding& b) {
    if (b.name.empty()) {
        return invalid("resource_name", "must not be empty");
    }
    switch (b.rtype) {
        case resource_type::cluster:
            if (b.name != cluster_resource_name) {
                return invalid("resource_name",
                               fmt::format("{} is not the cluster's name (a cluster resource is "
                                           "always \"{}\")",
                                           cluster::quoted(b.name), cluster_resource_name));
            }
            break;
        case resource_type::topic:
            if (b.name != wildcard_resource_name) {
                if (auto r = cluster::validate_topic_name(b.name); !r) {
                    return invalid("resource_name",
                                   fmt::format("not a valid topic name: {}", r.error().reason()));
                }
            }
            break;
        default:
            break;
    }
    return ok();
}

}  // namespace

// ---------------------------------------------------------------- filters

bool matches(const acl_filter& f, const acl_binding& b) {
    if (f.rtype != resource_type::any && f.rtype != b.rtype) {
        return false;
    }
    if (f.ptype != pattern_type::any && f.ptype != pattern_type::match && f.ptype != b.ptype) {
        return false;
    }
    if (f.name) {
        const std::string& name = *f.name;
        if (f.ptype == pattern_type::any || f.ptype == b.ptype) {
            if (name != b.name) {
                return false;
            }
        } else {
            // match: the bindings that apply to a resource called `name`.
            switch (b.ptype) {
                case pattern_type::literal:
                    if (name != b.name && b.name != wildcard_resource_name) {
                        return false;
                    }
                    break;
                case pattern_type::prefixed:
                    if (!std::string_view(name).starts_with(b.name)) {
                        return false;
                    }
                    break;
                default:
                    return false;
            }
        }
    }
    if (f.who && *f.who != b.who) {
        return false;
    }
    if (f.host && *f.host != b.host) {
        return false;
    }
    if (f.op != acl_operation::any && f.op != b.op) {
        return false;
    }
    return f.perm == acl_permission::any || f.perm == b.perm;
}

// ---------------------------------------------------------------- parsing

result<resource_type> parse_resource_type(std::string_view text) {
    return parse_keyword(resource_types, text, "resource_type");
}

result<pattern_type> parse_pattern_type(std::string_view text) {
    return parse_keyword(pattern_types, text, "pattern_type",
                         std::span<const keyword<pattern_type>>(pattern_aliases));
}

result<acl_operation> parse_operation(std::string_view text) {
    return parse_keyword(operations, text, "operation",
                         std::span<const keyword<acl_operation>>(operation_aliases));
}

result<acl_permission> parse_permission(std::string_view text) {
    return parse_keyword(permissions, text, "permission");
}

result<principal> parse_principal(std::string_view text) {
    principal p;
    if (text.starts_with(user_prefix)) {
        p = principal::user(std::string(text.substr(user_prefix.size())));
    } else if (text.starts_with(role_prefix)) {
        p = principal::role(std::string(text.substr(role_prefix.size())));
    } else if (text.starts_with(redpanda_role_prefix)) {
        p = principal::role(std::string(text.substr(redpanda_role_prefix.size())));
    } else {
        return invalid("principal",
                       fmt::format("{} does not start with \"User:\" or \"Role:\" (e.g. "
                                   "User:alice, User:*, Role:ops)",
                                   cluster::quoted(text)));
    }
    if (auto r = validate_principal(p); !r) {
        return r.error();
    }
    return p;
}

// ---------------------------------------------------------------- formatting

std::string_view to_string(resource_type t) {
    return keyword_name(resource_types, t);
}

std::string_view to_string(pattern_type t) {
    return keyword_name(pattern_types, t);
}

std::string_view to_string(acl_operation op) {
    return keyword_name(operations, op);
}

std::string_view to_string(acl_permission p) {
    return keyword_name(permissions, p);
}

std::string to_string(const principal& p) {
    return fmt::format("{}{}", p.type == principal::kind::role ? role_prefix : user_prefix, p.name);
}

std::string to_string(const acl_binding& b) {
    std::string perm(to_string(b.perm));
    for (char& c : perm) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return fmt::format("{} {} {} {} {}:{} {}", perm, to_string(b.who), b.host, to_string(b.rtype),
                       to_string(b.ptype), b.name, to_string(b.op));
}

std::string to_string(const acl_filter& f) {
    std::vector<std::string> parts;
    if (f.rtype != resource_type::any) {
        parts.push_back(fmt::format("resource_type={}", to_string(f.rtype)));
    }
    if (f.ptype != pattern_type::any) {
        parts.push_back(fmt::format("pattern_type={}", to_string(f.ptype)));
    }
    if (f.name) {
        parts.push_back(fmt::format("name={}", *f.name));
    }
    if (f.who) {
        parts.push_back(fmt::format("principal={}", to_string(*f.who)));
    }
    if (f.host) {
        parts.push_back(fmt::format("host={}", *f.host));
    }
    if (f.op != acl_operation::any) {
        parts.push_back(fmt::format("operation={}", to_string(f.op)));
    }
    if (f.perm != acl_permission::any) {
        parts.push_back(fmt::format("permission={}", to_string(f.perm)));
    }
    if (parts.empty()) {
        return "(everything)";
    }
    return fmt::format("{}", fmt::join(parts, " "));
}

// ---------------------------------------------------------------- validation

result<void> validate_host(std::string_view host) {
    if (host == wildcard_host) {
        return ok();
    }
    if (host.empty()) {
        return invalid("host", "must not be empty (\"*\" is every host)");
    }
    const std::string h(host);
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, h.c_str(), &v4) == 1 || inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
        return ok();
    }
    return invalid(
        "host", fmt::format("{} is not \"*\" or an IPv4 or IPv6 address", cluster::quoted(host)));
}

result<void> validate_principal(const principal& p) {
    if (p.type != principal::kind::user && p.type != principal::kind::role) {
        return invalid("principal", "unknown principal type");
    }
    if (p.name.empty()) {
        return invalid("principal", fmt::format("{}: the name must not be empty", to_string(p)));
    }
    if (p.type == principal::kind::role && p.name == "*") {
        return invalid("principal",
                       "Role:* is not allowed (a role is never a wildcard; User:* is every user)");
    }
    return ok();
}

result<void> validate(const acl_binding& b) {
    switch (b.rtype) {
        case resource_type::topic:
        case resource_type::group:
        case resource_type::cluster:
        case resource_type::transactional_id:
            break;
        default:
            return invalid("resource_type",
                           fmt::format("{} is not one of topic, group, cluster, transactional_id",
                                       to_string(b.rtype)));
    }
    if (b.ptype != pattern_type::literal && b.ptype != pattern_type::prefixed) {
        return invalid("pattern_type",
                       fmt::format("{} is not one of literal, prefixed (any and match are for "
                                   "filters only)",
                                   to_string(b.ptype)));
    }
    if (auto r = validate_resource_name(b); !r) {
        return r;
    }
    if (auto r = validate_principal(b.who); !r) {
        return r;
    }
    if (auto r = validate_host(b.host); !r) {
        return r;
    }
    const auto op = static_cast<int>(b.op);
    if (op < static_cast<int>(acl_operation::all) ||
        op > static_cast<int>(acl_operation::idempotent_write)) {
        return invalid("operation",
                       fmt::format("{} is not an operation a binding may grant or deny (all, "
                                   "read, write, create, delete, alter, describe, cluster_action, "
                                   "describe_configs, alter_configs, idempotent_write)",
                                   to_string(b.op)));
    }
    if (b.perm != acl_permission::allow && b.perm != acl_permission::deny) {
        return invalid("permission",
                       fmt::format("{} is not one of allow, deny", to_string(b.perm)));
    }
    return ok();
}

}  // namespace fjord::security
