#pragma once
// File: controller/stm/security_tables.h
//
// The applied security state (docs/security.md): SCRAM users, ACL bindings
// and roles. Records are the proto messages themselves (`User` with its
// ScramCredential, `AclBinding` and `Role`, each with its Audit), so tables,
// snapshots (ClusterState.users/acls/roles) and Watch deltas share one shape.
//
// Only controller_stm mutates them, while applying committed entries;
// everyone else holds a const reference (see topic_table.h for the threading
// rule). Ordered containers only: iteration decides snapshot bytes.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/security/acl.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

/// Users by name. A user's credential is its only secret: the table never
/// holds a password.
class user_table {
  public:
    using map_type = std::map<std::string, v1::User, std::less<>>;

    /// nullptr when there is no user `name`.
    const v1::User* find(std::string_view name) const;
    const map_type& all() const { return _users; }

    // Mutators: controller_stm only.
    void upsert(v1::User u);
    void erase(std::string_view name);

  private:
    map_type _users;
};

/// ACL bindings, keyed and ordered by their model value (common/security/acl.h
/// order), so a binding is stored at most once and lists come out sorted.
class acl_table {
  public:
    using map_type = std::map<security::acl_binding, v1::AclBinding>;

    /// nullptr when `b` is not stored.
    const v1::AclBinding* find(const security::acl_binding& b) const;
    const map_type& all() const { return _acls; }
    size_t size() const { return _acls.size(); }
    /// The stored bindings `f` selects, in table order.
    std::vector<v1::AclBinding> matching(const security::acl_filter& f) const;

    // Mutators: controller_stm only.
    void insert(const security::acl_binding& key, v1::AclBinding record);
    void erase(const security::acl_binding& key) { _acls.erase(key); }

  private:
    map_type _acls;
};

/// Roles by name; a role's members are principals ("User:alice"), ascending.
class role_table {
  public:
    using map_type = std::map<std::string, v1::Role, std::less<>>;

    /// nullptr when there is no role `name`.
    const v1::Role* find(std::string_view name) const;
    const map_type& all() const { return _roles; }

    // Mutators: controller_stm only.
    void upsert(v1::Role r);
    void erase(std::string_view name);

  private:
    map_type _roles;
};

}  // namespace fjord::stm
