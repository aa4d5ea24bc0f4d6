#pragma once
// File: cli/security/acl_flags.h
//
// `fjord security acl|role` flags (rpk's, rpk-reference §3.2-3.4, §3.6) turned
// into the controller's requests, and the bindings turned back into rpk's
// rows. Pure: no I/O, so cli_unit_test covers every rule here.
//
// create (multiplicative, as kadm.ACLBuilder): every
//   (principal x host) x resource x operation
// becomes one binding, where the (principal x host) pairs are the allow
// principals and roles with each --allow-host (every host "*" when none is
// given) as ALLOW, and the deny ones with each --deny-host as DENY. At least
// one principal or role, one resource and one operation are required, a host
// flag needs a principal of its permission, and each binding must be one
// that may be stored (common/security/acl.h validate()).
//
// list / delete: the same flags select instead of create; every dimension
// left out matches everything, and --resource-pattern-type defaults to
// `any`. The filters are the same product, with "every principal" (any
// permission, or the permission of the host flags given) when no principal
// is named, "every resource" when none is, and "any operation" when none is.
//
// Principals: --allow-principal/--deny-principal take "alice" (meaning
// User:alice), "User:alice", "User:*" or "Role:ops"/"RedpandaRole:ops";
// --allow-role/--deny-role take a role name (Role:<name>; "*" is refused).
// Errors name the flag and the value: `--operation "reed": "reed" is not one
// of all, read, ...`; they are usage errors.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "common/security/acl.h"
#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::cli::acl {

namespace v1 = fjord::controller::v1;

struct acl_flags {
    std::vector<std::string> topics;
    std::vector<std::string> groups;
    std::vector<std::string> transactional_ids;
    bool cluster = false;
    /// --resource-pattern-type; "" for the command's default (create
    /// literal, list/delete any).
    std::string pattern;
    std::vector<std::string> operations;
    std::vector<std::string> allow_principals;
    std::vector<std::string> deny_principals;
    std::vector<std::string> allow_roles;
    std::vector<std::string> deny_roles;
    std::vector<std::string> allow_hosts;
    std::vector<std::string> deny_hosts;
};

/// The bindings `create` asks for, in flag order (principals, then hosts,
/// resources, operations); duplicates (a flag value given twice) removed.
result<std::vector<security::acl_binding>> bindings_to_create(const acl_flags& f);

/// The filters `list` and `delete` apply (at least one: the default filter
/// matches every binding).
result<std::vector<security::acl_filter>> filters_for(const acl_flags& f);

/// A user principal from --allow-principal/--deny-principal/--principal:
/// "User:" is added when the text names no type. `flag` names the flag in
/// errors.
result<security::principal> principal_flag(std::string_view flag, std::string_view text);
/// A role from --allow-role/--deny-role: Role:<text>.
result<security::principal> role_flag(std::string_view flag, std::string_view text);

/// `acl check`'s flags: one principal, operation and resource.
struct check_flags {
    std::string principal;
    std::string operation;
    std::string host;
    std::string topic;
    std::string group;
    std::string transactional_id;
    bool cluster = false;
};
/// The CheckAcl request, or a usage error (exactly one resource; one
/// operation, not `any`).
result<v1::CheckAclRequest> check_request(const check_flags& f);

/// rpk's words for the table and JSON (kmsg's enum names): "TOPIC",
/// "LITERAL", "READ", "DESCRIBE_CONFIGS", "ALLOW"; "ANY" for filter values.
std::string upper(std::string_view s);
std::string resource_type_name(v1::AclResourceType t);
std::string pattern_type_name(v1::AclPatternType t);
std::string operation_name(v1::AclOperation o);
std::string permission_name(v1::AclPermission p);

/// rpk's columns: PRINCIPAL HOST RESOURCE-TYPE RESOURCE-NAME
/// RESOURCE-PATTERN-TYPE OPERATION PERMISSION (+ ERROR where a result has one).
extern const std::vector<std::string> binding_columns;
std::vector<std::string> binding_row(const v1::AclBinding& b);
/// {"principal", "host", "resource_type", "resource_name",
/// "resource_pattern_type", "operation", "permission"} as rpk's JSON.
nlohmann::json binding_json(const v1::AclBinding& b);

/// Filters: TYPE NAME RESOURCE-PATTERN-TYPE PRINCIPAL HOST OPERATION PERMISSION.
extern const std::vector<std::string> filter_columns;
std::vector<std::string> filter_row(const v1::AclFilter& f);
nlohmann::json filter_json(const v1::AclFilter& f);

/// `fjord security acl --help-operations`: which operation on which resource
/// each request needs (Kafka's table, rpk-reference §13.6).
extern const char* const operations_help;

}  // namespace fjord::cli::acl
