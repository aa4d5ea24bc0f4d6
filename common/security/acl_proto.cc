// File: common/security/acl_proto.cc
//
// Conversions between the ACL model and its proto records, and the
// authorizer built from them (acl_proto.h).

#include "common/security/acl_proto.h"

#include <fmt/format.h>

#include "common/cluster/errc.h"

namespace fjord::security {
namespace {

using cluster::errc;

/// `v` as the enum E when it is one of its values in [lo, hi]; `filter`:
/// UNSPECIFIED (0) reads as `any`.
template <typename E>
result<E> enum_from_proto(int v, int lo, int hi, bool filter, std::string_view field) {
    if (v == 0 && filter) {
        return static_cast<E>(1);  // every enum's `any` is 1 (Kafka's code)
    }
    if (v == 0) {
        return error_info::for_field(errc::invalid_argument, field, "must be set");
    }
    if (v < lo || v > hi) {
        return error_info::for_field(errc::invalid_argument, field,
                                     fmt::format("{} is not a known value", v));
    }
    return static_cast<E>(v);
}

}  // namespace

result<acl_binding> binding_from_proto(const v1::AclBinding& b) {
    acl_binding out;
    auto rt = enum_from_proto<resource_type>(b.resource_type(), 1, 5, false, "resource_type");
    if (!rt) {
        return rt.error();
    }
    auto pt = enum_from_proto<pattern_type>(b.pattern_type(), 1, 4, false, "pattern_type");
    if (!pt) {
        return pt.error();
    }
    auto who = parse_principal(b.principal());
    if (!who) {
        return who.error();
    }
    auto op = enum_from_proto<acl_operation>(b.operation(), 1, 12, false, "operation");
    if (!op) {
        return op.error();
    }
    auto perm = enum_from_proto<acl_permission>(b.permission(), 1, 3, false, "permission");
    if (!perm) {
        return perm.error();
    }
    out.rtype = *rt;
    out.name = b.resource_name();
    out.ptype = *pt;
    out.who = std::move(*who);
    out.host = b.host();
    out.op = *op;
    out.perm = *perm;
    return out;
}

std::optional<scram_credential> credential_from_proto(const v1::ScramCredential& c) {
    auto m = parse_scram_mechanism(c.mechanism());
    if (!m) {
        return std::nullopt;
    }
    return scram_credential{*m, c.salt(), c.iterations(), c.stored_key(), c.server_key()};
}

v1::AclBinding to_proto(const acl_binding& b) {
    v1::AclBinding out;
    out.set_resource_type(static_cast<v1::AclResourceType>(b.rtype));
    out.set_resource_name(b.name);
    out.set_pattern_type(static_cast<v1::AclPatternType>(b.ptype));
    out.set_principal(to_string(b.who));
    out.set_host(b.host);
    out.set_operation(static_cast<v1::AclOperation>(b.op));
    out.set_permission(static_cast<v1::AclPermission>(b.perm));
    return out;
}

result<acl_filter> filter_from_proto(const v1::AclFilter& f) {
    acl_filter out;
    auto rt = enum_from_proto<resource_type>(f.resource_type(), 1, 5, true, "resource_type");
    if (!rt) {
        return rt.error();
    }
    auto pt = enum_from_proto<pattern_type>(f.pattern_type(), 1, 4, true, "pattern_type");
    if (!pt) {
        return pt.error();
    }
    auto op = enum_from_proto<acl_operation>(f.operation(), 1, 12, true, "operation");
    if (!op) {
        return op.error();
    }
    auto perm = enum_from_proto<acl_permission>(f.permission(), 1, 3, true, "permission");
    if (!perm) {
        return perm.error();
    }
    out.rtype = *rt;
    out.ptype = *pt;
    out.op = *op;
    out.perm = *perm;
    if (f.has_resource_name()) {
        out.name = f.resource_name();
    }
    if (f.has_principal()) {
        auto who = parse_principal(f.principal());
        if (!who) {
            return who.error();
        }
        out.who = std::move(*who);
    }
    if (f.has_host()) {
        if (auto r = validate_host(f.host()); !r) {
            return r.error();
        }
        out.host = f.host();
    }
    return out;
}

v1::AclFilter to_proto(const acl_filter& f) {
    v1::AclFilter out;
    out.set_resource_type(static_cast<v1::AclResourceType>(f.rtype));
    out.set_pattern_type(static_cast<v1::AclPatternType>(f.ptype));
    out.set_operation(static_cast<v1::AclOperation>(f.op));
    out.set_permission(static_cast<v1::AclPermission>(f.perm));
    if (f.name) {
        out.set_resource_name(*f.name);
    }
    if (f.who) {
        out.set_principal(to_string(*f.who));
    }
    if (f.host) {
        out.set_host(*f.host);
    }
    return out;
}

result<principal> parse_role_member(std::string_view text) {
    if (text.find(':') == std::string_view::npos) {
        if (text.empty()) {
            return error_info::for_field(errc::invalid_argument, "principal", "must not be empty");
        }
        return principal::user(std::string(text));
    }
    auto p = parse_principal(text);
    if (!p) {
        return p.error();
    }
    if (p->type != principal::kind::user) {
        return error_info::for_field(
            errc::invalid_argument, "principal",
            fmt::format("{} is a role; a role's members are users (roles do not nest)",
                        to_string(*p)));
    }
    return p;
}

bool add_binding(authorizer_builder& b, const v1::AclBinding& binding) {
    auto a = binding_from_proto(binding);
    if (!a) {
        return false;
    }
    b.add(*a);
    return true;
}

void add_role(authorizer_builder& b, const v1::Role& role) {
    for (const std::string& m : role.members()) {
        if (auto p = parse_role_member(m); p) {
            b.add_role_member(role.name(), *p);
        }
    }
}

std::shared_ptr<const authorizer> build_authorizer(
    const google::protobuf::RepeatedPtrField<v1::AclBinding>& bindings,
    std::span<const std::string> superusers,
    const google::protobuf::RepeatedPtrField<v1::Role>& roles) {
    authorizer_builder b;
    for (const v1::AclBinding& binding : bindings) {
        add_binding(b, binding);
    }
    for (const std::string& s : superusers) {
        b.add_superuser(s);
    }
    for (const v1::Role& r : roles) {
        add_role(b, r);
    }
    return std::move(b).build();
}

}  // namespace fjord::security
