#pragma once
// File: common/security/acl_proto.h
//
// The ACL model (acl.h) as the controller API and the replicated state carry
// it (proto/fjord/controller/v1/metadata.proto): conversions both ways, and
// the authorizer built from the stored records. The controller's state
// machine, its service and a broker's metadata cache read the same records,
// so they build the same authorizer from them.
//
// The proto enums use Kafka's wire codes, as acl.h's do, plus an UNSPECIFIED
// zero. Conversions check each enum's range and name the field at fault
// (cluster::errc::invalid_argument, error_info::for_field with "resource_type",
// "pattern_type", "operation", "permission", "principal", "host"):
//   - a binding must set every enum (UNSPECIFIED is refused), and its
//     principal must parse (acl.h parse_principal); whether it may be stored
//     (no `any`/`match`, names, hosts) is acl.h validate()'s to say, which
//     binding_from_proto does not call;
//   - in a filter UNSPECIFIED means ANY (an unset dimension matches
//     everything); a set principal must parse and a set host must be "*" or
//     an address.
// Pure; any thread.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/security/acl.h"
#include "common/security/authorizer.h"
#include "common/security/scram.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::security {

namespace v1 = fjord::controller::v1;

/// A stored user's credential as scram.h's value; nullopt when its mechanism
/// is not one scram.h knows (a newer member's): such a user cannot log in.
std::optional<scram_credential> credential_from_proto(const v1::ScramCredential& c);

/// The stored binding `b` as acl.h's value (its Audit is dropped).
result<acl_binding> binding_from_proto(const v1::AclBinding& b);
/// `b` as a proto record, without an Audit.
v1::AclBinding to_proto(const acl_binding& b);

/// The filter `f` as acl.h's value.
result<acl_filter> filter_from_proto(const v1::AclFilter& f);
/// `f` as a proto filter: `any` dimensions are left at their ANY value,
/// optional ones unset.
v1::AclFilter to_proto(const acl_filter& f);

/// A role member as the API writes it: "User:alice", "Role:..." is refused
/// (roles do not nest), and a bare "alice" means "User:alice". Field
/// "principal".
result<principal> parse_role_member(std::string_view text);

/// Adds a stored binding to `b`; false (and nothing added) when the record
/// does not convert (an enum value of a newer version), which can then never
/// match a request.
bool add_binding(authorizer_builder& b, const v1::AclBinding& binding);
/// Adds the memberships of `role` (members that do not parse are skipped).
void add_role(authorizer_builder& b, const v1::Role& role);

/// The authorizer of the stored `bindings`, `superusers` (user names, the
/// cluster config `superusers`) and `roles` (their members; their
/// permissions are the bindings whose principal is "Role:<name>").
std::shared_ptr<const authorizer> build_authorizer(
    const google::protobuf::RepeatedPtrField<v1::AclBinding>& bindings,
    std::span<const std::string> superusers,
    const google::protobuf::RepeatedPtrField<v1::Role>& roles);

}  // namespace fjord::security
