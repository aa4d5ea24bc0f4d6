#pragma once
// File: common/security/authorizer.h
//
// The authorizer: an immutable, indexed snapshot of the ACL bindings, the
// superusers and the role memberships, answering "may this user do this
// operation on this resource from this host?" (authorize). Built once per
// change of the controller's ACL, role or superuser state and swapped in
// whole; never mutated after build().
//
// Threading and lifetime: build() returns a shared_ptr<const authorizer>. Every
// member is const and touches no shared mutable state, so any number of
// threads may call authorize() on one snapshot at once; a reader that holds
// the shared_ptr keeps its snapshot alive while a newer one is published.
//
// The decision (Kafka's StandardAuthorizer and Redpanda's do_authorized, for
// one action; see the rpk reference §13.6):
//   1. The principal is a user named in superusers          -> allowed (superuser)
//   2. A DENY binding matches, for the user or User:*       -> denied
//   3. A DENY binding matches, for a role the user is in    -> denied
//   4. An ALLOW binding matches (implied operations count),
//      for the user or User:*                               -> allowed
//   5. The same via a role the user is in                   -> allowed
//   6. Nothing matched                                      -> denied (default deny)
// A binding matches when
//   - its resource type is the requested one, and its pattern is the literal
//     requested name, the literal "*", or a prefix of the requested name;
//   - its host is "*" or equal (as text) to the client's address;
//   - its operation is the requested one or `all`; for ALLOW only, DESCRIBE is
//     also granted by READ, WRITE, DELETE or ALTER, and DESCRIBE_CONFIGS by
//     ALTER_CONFIGS. (A DENY READ does not deny DESCRIBE.)
// Role membership is exact: a role's members are the principals listed for
// it (User:* as a member is not expanded to every user, and roles do not
// nest). Superusers are exact user names too ("*" is not every user).
// When several bindings decide, the decision reports the least of them in
// acl_binding order, so explanations do not depend on the order the bindings
// were added in.
//
// Indexing (why authorize() stays flat as bindings grow): per resource type,
// a hash map from literal name to its grants, the grants of the literal "*",
// and a hash map from prefix to its grants probed once for every prefix
// length that occurs, with the name's hash carried along incrementally (one
// pass over the name). A resource pattern's grants are (principal, host) ->
// (allowed ops, denied ops) bitmasks sorted by (principal, host) ids, probed
// by binary search for the user, User:* and the user's roles. Bindings on
// other resources are never looked at.
//
// Bindings are expected to be valid (acl.h validate()); build() ignores ones
// that could never match a request (a filter-only resource type, pattern
// type, operation or permission) and collapses duplicates.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "common/security/acl.h"

namespace fjord::security {

/// Why a decision came out the way it did.
enum class decision_reason : int8_t {
    superuser,           ///< the user is a superuser; no binding consulted
    allowed_by_binding,  ///< an ALLOW binding matched and no DENY did
    denied_by_binding,   ///< a DENY binding matched
    no_binding_matched,  ///< default deny
};

std::string_view to_string(decision_reason r);

/// The answer of authorize(), with what decided it.
struct decision {
    bool allowed = false;
    decision_reason reason = decision_reason::no_binding_matched;
    /// The deciding binding (allowed_by_binding, denied_by_binding).
    std::optional<acl_binding> binding;
    /// The role through which the user matched `binding` (its principal is
    /// then Role:<via_role>); empty when the binding names the user or User:*.
    std::optional<std::string> via_role;

    /// For humans and logs: "allowed by superuser", "denied by DENY User:bob *
    /// topic prefixed:foo read", "allowed by ALLOW Role:ops * group literal:g
    /// read (via role ops)", "denied: no binding matched".
    std::string to_string() const;

    bool operator==(const decision&) const = default;
};

/// Role name -> its members (users).
using role_memberships = std::map<std::string, std::set<principal>, std::less<>>;

class authorizer;

/// Collects bindings, superusers and memberships, then builds the snapshot.
/// Adding is cheap (interned ids and unsorted grants); build() sorts and
/// merges. Single-threaded; build() leaves the builder empty, as new.
class authorizer_builder {
  public:
    authorizer_builder();
    ~authorizer_builder();
    authorizer_builder(authorizer_builder&&) noexcept;
    authorizer_builder& operator=(authorizer_builder&&) noexcept;

    void add(const acl_binding& b);
    void add_superuser(std::string_view user_name);
    /// `member` becomes a member of role `role` (a role member is a user).
    void add_role_member(std::string_view role, const principal& member);

    std::shared_ptr<const authorizer> build() &&;

  private:
    struct state;
    std::unique_ptr<state> _s;
};

class authorizer {
  public:
    /// The snapshot of `bindings`, `superusers` (user names) and `roles`.
    static std::shared_ptr<const authorizer> build(std::span<const acl_binding> bindings,
                                                   std::span<const std::string> superusers = {},
                                                   const role_memberships& roles = {});

    /// The decision for `user` connecting from `host` (the client's address
    /// as text, compared with the bindings' hosts) doing `op` on the resource
    /// `rt`/`name` (for the cluster: resource_type::cluster, "kafka-cluster").
    /// See the file comment for the rules.
    decision authorize(const principal& user, std::string_view host, acl_operation op,
                       resource_type rt, std::string_view name) const;

    /// authorize(...).allowed, without building the explanation.
    bool allowed(const principal& user, std::string_view host, acl_operation op, resource_type rt,
                 std::string_view name) const;

    bool is_superuser(std::string_view user_name) const;
    /// Distinct bindings in the snapshot (duplicates and ignored ones not counted).
    size_t binding_count() const { return _binding_count; }

    ~authorizer();
    authorizer(const authorizer&) = delete;
    authorizer& operator=(const authorizer&) = delete;

  private:
    friend class authorizer_builder;
    authorizer();

    struct index;  ///< the snapshot's tables (authorizer.cc)

    struct query;
    struct verdict;
    verdict evaluate(const principal& user, std::string_view host, acl_operation op,
                     resource_type rt, std::string_view name, bool explain) const;
    acl_binding binding_of(const verdict& v, resource_type rt, size_t cls) const;

    std::unique_ptr<index> _index;
    size_t _binding_count = 0;
};

}  // namespace fjord::security
