// File: controller/stm/security_tables.cc
//
// user_table, acl_table and role_table: lookups over ordered maps.

#include "controller/stm/security_tables.h"

namespace fjord::stm {

const v1::User* user_table::find(std::string_view name) const {
    const auto it = _users.find(name);
    return it == _users.end() ? nullptr : &it->second;
}

void user_table::upsert(v1::User u) {
    std::string name = u.name();
    _users.insert_or_assign(std::move(name), std::move(u));
}

void user_table::erase(std::string_view name) {
    if (const auto it = _users.find(name); it != _users.end()) {
        _users.erase(it);
    }
}

const v1::AclBinding* acl_table::find(const security::acl_binding& b) const {
    const auto it = _acls.find(b);
    return it == _acls.end() ? nullptr : &it->second;
}

std::vector<v1::AclBinding> acl_table::matching(const security::acl_filter& f) const {
    std::vector<v1::AclBinding> out;
    for (const auto& [key, record] : _acls) {
        if (security::matches(f, key)) {
            out.push_back(record);
        }
    }
    return out;
}

void acl_table::insert(const security::acl_binding& key, v1::AclBinding record) {
    _acls.insert_or_assign(key, std::move(record));
}

const v1::Role* role_table::find(std::string_view name) const {
    const auto it = _roles.find(name);
    return it == _roles.end() ? nullptr : &it->second;
}

void role_table::upsert(v1::Role r) {
    std::string name = r.name();
    _roles.insert_or_assign(std::move(name), std::move(r));
}

void role_table::erase(std::string_view name) {
    if (const auto it = _roles.find(name); it != _roles.end()) {
        _roles.erase(it);
    }
}

}  // namespace fjord::stm
