#pragma once
// File: common/security/acl.h
//
// The ACL model: the vocabulary the controller stores and replicates (its ACL
// and role tables), the CLI parses from flags and prints, and a broker's
// authorizer (authorizer.h) decides from. Pure data and functions: no I/O, no
// state, nothing throws; safe to call from any thread.
//
// A binding is "principal P is ALLOWED|DENIED operation O from host H on
// resource R" (KIP-11), where R is a pattern: a literal name ("*" is the
// literal wildcard: every name of that type) or a prefix. The enums carry the
// Kafka wire codes, so the broker's CreateAcls/DescribeAcls/DeleteAcls
// handlers convert with a cast after a range check. The `any` and `match`
// values exist only in filters (acl_filter); validate() refuses them in a
// binding that is to be stored.
//
// Text forms (what parse_* accept and to_string prints):
//   resource types   topic group cluster transactional_id          (+ any)
//   pattern types    literal prefixed                     (+ any, match)
//   operations       all read write create delete alter describe
//                    cluster_action describe_configs alter_configs
//                    idempotent_write                                (+ any)
//   permissions      allow deny                                      (+ any)
//   principals       User:alice  User:*  Role:ops  (RedpandaRole:ops is read
//                    as Role:ops, since rpk writes roles that way)
// Parsing ignores case, '_' and '-' in the keywords (as kmsg.ParseACLOperation
// does: "describe_configs", "DescribeConfigs" and "describeconfigs" are one
// operation); principal prefixes are case-sensitive, as in Kafka.
//
// Errors: parse_* and validate() return cluster::errc::invalid_argument built
// with error_info::for_field, naming the field at fault ("resource_type",
// "pattern_type", "resource_name", "principal", "host", "operation",
// "permission") and the reason, so a batch API can report each item's field.
//
// References: Kafka's ResourcePattern(Filter)/AccessControlEntry(Filter),
// Redpanda's security/acl.h (semantics only), rpk `security acl` (§13 and §3
// of the rpk reference).

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fjord::security {

/// Kafka wire codes. `any` only in filters.
enum class resource_type : int8_t {
    any = 1,
    topic = 2,
    group = 3,
    cluster = 4,
    transactional_id = 5,
};

/// Kafka wire codes. `any` and `match` only in filters.
enum class pattern_type : int8_t {
    any = 1,
    match = 2,
    literal = 3,
    prefixed = 4,
};

/// Kafka wire codes. `remove` is Kafka's DELETE (a C++ keyword); its text is
/// "delete". `any` only in filters; `all` in a binding matches every operation.
enum class acl_operation : int8_t {
    any = 1,
    all = 2,
    read = 3,
    write = 4,
    create = 5,
    remove = 6,
    alter = 7,
    describe = 8,
    cluster_action = 9,
    describe_configs = 10,
    alter_configs = 11,
    idempotent_write = 12,
};

/// Kafka wire codes. `any` only in filters.
enum class acl_permission : int8_t {
    any = 1,
    deny = 2,
    allow = 3,
};

/// The one name a cluster resource may have (Kafka's and Redpanda's).
inline constexpr std::string_view cluster_resource_name = "kafka-cluster";
/// The literal resource name that matches every name of its type.
inline constexpr std::string_view wildcard_resource_name = "*";
/// The host that matches every client address.
inline constexpr std::string_view wildcard_host = "*";

/// Who a binding is about: a user ("User:alice"; "User:*" is every user) or
/// a role ("Role:ops"; a role is never a wildcard). A user reaches a role's
/// bindings through the role memberships the authorizer is built with.
struct principal {
    enum class kind : int8_t { user, role } type = kind::user;
    std::string name{};

    static principal user(std::string n) { return {kind::user, std::move(n)}; }
    static principal role(std::string n) { return {kind::role, std::move(n)}; }
    /// User:*, every user.
    static principal any_user() { return {kind::user, "*"}; }
    bool is_wildcard() const { return type == kind::user && name == "*"; }

    bool operator==(const principal&) const = default;
    auto operator<=>(const principal&) const = default;
};

/// One stored ACL: a resource pattern and an entry. Compared and ordered
/// field by field (rtype, name, ptype, who, host, op, perm), so a std::set of
/// bindings deduplicates and lists in a stable order.
struct acl_binding {
    resource_type rtype = resource_type::any;
    std::string name{};
    pattern_type ptype = pattern_type::literal;
    principal who{};
    std::string host = std::string(wildcard_host);
    acl_operation op = acl_operation::any;
    acl_permission perm = acl_permission::any;

    bool operator==(const acl_binding&) const = default;
    auto operator<=>(const acl_binding&) const = default;
};

/// Which bindings a list or delete applies to. Every dimension left at its
/// default matches everything (the default filter matches every binding).
/// Resource name and pattern follow Kafka's ResourcePatternFilter:
///   ptype any       name (if set) equals the binding's name, literal or prefixed
///   ptype match     the bindings that would apply to a resource called `name`:
///                   the literal `name`, the literal "*", and every prefixed
///                   binding whose name is a prefix of `name` (without a name:
///                   everything)
///   ptype literal   literal bindings only, name (if set) equal
///   ptype prefixed  prefixed bindings only, name (if set) equal
/// Principal and host, when set, must be equal (no wildcard expansion: the
/// filter User:* finds the bindings written for User:*).
struct acl_filter {
    resource_type rtype = resource_type::any;
    std::optional<std::string> name = std::nullopt;
    pattern_type ptype = pattern_type::any;
    std::optional<principal> who = std::nullopt;
    std::optional<std::string> host = std::nullopt;
    acl_operation op = acl_operation::any;
    acl_permission perm = acl_permission::any;

    bool operator==(const acl_filter&) const = default;
};

/// True when `b` is one of the bindings `f` selects (see acl_filter).
bool matches(const acl_filter& f, const acl_binding& b);

// ---------------------------------------------------------------- parsing

/// "topic", "group", "cluster", "transactional_id" (also "transactionalid",
/// "transactional-id") and "any". Field "resource_type".
result<resource_type> parse_resource_type(std::string_view text);
/// "literal", "prefixed" (also "prefix"), "any", "match". Field "pattern_type".
result<pattern_type> parse_pattern_type(std::string_view text);
/// Kafka's operation names, case-, '_'- and '-'-insensitive; "delete" and
/// "remove" are both acl_operation::remove; "any" for filters. Field "operation".
result<acl_operation> parse_operation(std::string_view text);
/// "allow", "deny", "any". Field "permission".
result<acl_permission> parse_permission(std::string_view text);
/// "User:<name>", "Role:<name>" or "RedpandaRole:<name>": non-empty name, no
/// role wildcard. Field "principal".
result<principal> parse_principal(std::string_view text);

// ---------------------------------------------------------------- formatting

/// Lower-case snake names: "topic", "transactional_id", "any".
std::string_view to_string(resource_type t);
/// "literal", "prefixed", "any", "match".
std::string_view to_string(pattern_type t);
/// "read", "delete", "cluster_action", "describe_configs", ...
std::string_view to_string(acl_operation op);
/// "allow", "deny", "any".
std::string_view to_string(acl_permission p);
/// "User:alice", "User:*", "Role:ops".
std::string to_string(const principal& p);
/// One line, as the authorizer explains a decision:
/// "DENY User:bob * topic prefixed:foo read" (permission, principal, host,
/// resource type, pattern:name, operation).
std::string to_string(const acl_binding& b);
/// The set dimensions only, "key=value" separated by spaces, e.g.
/// "resource_type=topic pattern_type=match name=orders principal=User:bob";
/// "(everything)" for the default filter.
std::string to_string(const acl_filter& f);

// ---------------------------------------------------------------- validation

/// Whether `b` may be stored: a concrete resource type; a literal or prefixed
/// pattern; a non-empty name; the cluster's name "kafka-cluster"; a topic
/// name that is a valid Kafka topic name (cluster/topic_name.h) unless it is
/// the literal "*"; a principal User:<name>, User:* or Role:<name> with a
/// non-empty name; host "*" or an IPv4/IPv6 address; an operation other than
/// `any`; permission allow or deny. The first fault found is reported, in the
/// field order of acl_binding.
result<void> validate(const acl_binding& b);

/// Host "*" or a textual IPv4/IPv6 address (inet_pton). Field "host".
result<void> validate_host(std::string_view host);
/// A principal that may appear in a stored binding. Field "principal".
result<void> validate_principal(const principal& p);

}  // namespace fjord::security
