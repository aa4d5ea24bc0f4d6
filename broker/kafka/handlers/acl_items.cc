// File: broker/kafka/handlers/acl_items.cc

#include "broker/kafka/handlers/acl_items.h"

#include <fmt/format.h>

#include "common/cluster/errc.h"
#include "common/security/acl_proto.h"

namespace fjord::broker {
namespace {

/// `v` when it is a Kafka code in [lo, hi] (UNKNOWN, 0, is not).
result<int> in_range(int8_t v, int lo, int hi, const char* field) {
    if (v < lo || v > hi) {
        return error_info::for_field(
            cluster::errc::invalid_argument, field,
            fmt::format("{} is not a valid code ({}..{})", static_cast<int>(v), lo, hi));
    }
    return static_cast<int>(v);
}

/// The enums, range-checked, into `out` (an AclFilter or an AclBinding).
template <typename Proto>
result<void> set_enums(const kafka_acl_fields& f, Proto& out) {
    auto rt = in_range(f.resource_type, 1, 5, "resource_type");
    auto pt = in_range(f.pattern_type, 1, 4, "pattern_type");
    auto op = in_range(f.operation, 1, 12, "operation");
    auto perm = in_range(f.permission, 1, 3, "permission_type");
    for (const auto* r : {&rt, &pt, &op, &perm}) {
        if (!*r) {
            return r->error();
        }
    }
    out.set_resource_type(static_cast<v1::AclResourceType>(*rt));
    out.set_pattern_type(static_cast<v1::AclPatternType>(*pt));
    out.set_operation(static_cast<v1::AclOperation>(*op));
    out.set_permission(static_cast<v1::AclPermission>(*perm));
    return ok();
}

}  // namespace

result<v1::AclFilter> acl_filter_from_kafka(const kafka_acl_fields& f) {
    v1::AclFilter out;
    if (auto r = set_enums(f, out); !r) {
        return r.error();
    }
    if (f.resource_name) {
        out.set_resource_name(*f.resource_name);
    }
    if (f.principal) {
        out.set_principal(*f.principal);
    }
    if (f.host) {
        out.set_host(*f.host);
    }
    if (auto checked = security::filter_from_proto(out); !checked) {
        return checked.error();
    }
    return out;
}

result<v1::AclBinding> acl_binding_from_kafka(const kafka_acl_fields& f) {
    v1::AclBinding out;
    if (auto r = set_enums(f, out); !r) {
        return r.error();
    }
    out.set_resource_name(f.resource_name.value_or(""));
    out.set_principal(f.principal.value_or(""));
    out.set_host(f.host.value_or(""));
    auto b = security::binding_from_proto(out);
    if (!b) {
        return b.error();
    }
    if (auto valid = security::validate(*b); !valid) {
        return valid.error();
    }
    return out;
}

}  // namespace fjord::broker
