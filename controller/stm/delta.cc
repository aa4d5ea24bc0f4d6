// File: controller/stm/delta.cc
//
// apply_delta: sorted upsert/erase over the repeated fields of ClusterState.

#include "controller/stm/delta.h"

#include <algorithm>
#include <optional>

#include "common/security/acl_proto.h"

namespace fjord::stm {
namespace {

// Inserts or replaces `v` in `field`, which is sorted by `key`.
template <typename T, typename Key>
void sorted_upsert(google::protobuf::RepeatedPtrField<T>& field, const T& v, Key key) {
    const auto k = key(v);
    const auto it = std::lower_bound(field.begin(), field.end(), k,
                                     [&](const T& e, const auto& kk) { return key(e) < kk; });
    if (it != field.end() && key(*it) == k) {
        *it = v;
        return;
    }
    // The position, taken before Add() may reallocate (invalidating `it`).
    const int target = static_cast<int>(it - field.begin());
    int pos = field.size();
    *field.Add() = v;
    while (pos > target) {
        field.SwapElements(pos, pos - 1);
        --pos;
    }
}

template <typename T, typename Key, typename K>
void sorted_erase(google::protobuf::RepeatedPtrField<T>& field, const K& k, Key key) {
    const auto it = std::lower_bound(field.begin(), field.end(), k,
                                     [&](const T& e, const K& kk) { return key(e) < kk; });
    if (it != field.end() && key(*it) == k) {
        field.DeleteSubrange(static_cast<int>(it - field.begin()), 1);
    }
}

}  // namespace

void apply_delta(v1::ClusterState& state, const v1::Delta& d) {
    const auto topic_key = [](const v1::Topic& t) -> const std::string& { return t.name(); };
    const auto config_key = [](const v1::ConfigValue& c) -> const std::string& { return c.key(); };
    const auto broker_key = [](const v1::Broker& b) { return b.id(); };
    const auto member_key = [](const v1::Member& m) { return m.id(); };
    const auto user_key = [](const v1::User& u) -> const std::string& { return u.name(); };
    const auto role_key = [](const v1::Role& r) -> const std::string& { return r.name(); };
    const auto migration_key = [](const v1::Migration& m) { return m.id(); };
    const auto link_key = [](const v1::ShadowLink& l) -> const std::string& { return l.name(); };
    // ACLs in common/security/acl.h order, as the stm keeps them (a record
    // that does not convert, from a newer version, sorts first).
    const auto acl_key = [](const v1::AclBinding& b) -> std::optional<security::acl_binding> {
        auto k = security::binding_from_proto(b);
        return k ? std::optional(std::move(*k)) : std::nullopt;
    };
    switch (d.change_case()) {
        case v1::Delta::kTopicUpserted:
            sorted_upsert(*state.mutable_topics(), d.topic_upserted(), topic_key);
            break;
        case v1::Delta::kTopicDeleted:
            sorted_erase(*state.mutable_topics(), d.topic_deleted(), topic_key);
            break;
        case v1::Delta::kBrokerUpserted:
            sorted_upsert(*state.mutable_brokers(), d.broker_upserted(), broker_key);
            break;
        case v1::Delta::kConfigSet:
            sorted_upsert(*state.mutable_cluster_config(), d.config_set(), config_key);
            break;
        case v1::Delta::kConfigRemoved:
            sorted_erase(*state.mutable_cluster_config(), d.config_removed(), config_key);
            break;
        case v1::Delta::kMemberUpserted:
            sorted_upsert(*state.mutable_members(), d.member_upserted(), member_key);
            break;
        case v1::Delta::kMemberRemoved:
            sorted_erase(*state.mutable_members(), d.member_removed(), member_key);
            break;
        case v1::Delta::kClusterUuidSet:
            state.set_cluster_uuid(d.cluster_uuid_set());
            break;
        case v1::Delta::kUserUpserted:
            sorted_upsert(*state.mutable_users(), d.user_upserted(), user_key);
            break;
        case v1::Delta::kUserDeleted:
            sorted_erase(*state.mutable_users(), d.user_deleted(), user_key);
            break;
        case v1::Delta::kAclCreated:
            sorted_upsert(*state.mutable_acls(), d.acl_created(), acl_key);
            break;
        case v1::Delta::kAclDeleted:
            sorted_erase(*state.mutable_acls(), acl_key(d.acl_deleted()), acl_key);
            break;
        case v1::Delta::kRoleUpserted:
            sorted_upsert(*state.mutable_roles(), d.role_upserted(), role_key);
            break;
        case v1::Delta::kRoleDeleted:
            sorted_erase(*state.mutable_roles(), d.role_deleted(), role_key);
            break;
        case v1::Delta::kMigrationUpserted:
            sorted_upsert(*state.mutable_migrations(), d.migration_upserted(), migration_key);
            state.set_next_migration_id(
                std::max(state.next_migration_id(), d.migration_upserted().id() + 1));
            break;
        case v1::Delta::kMigrationRemoved:
            sorted_erase(*state.mutable_migrations(), d.migration_removed(), migration_key);
            break;
        case v1::Delta::kShadowLinkUpserted:
            sorted_upsert(*state.mutable_shadow_links(), d.shadow_link_upserted(), link_key);
            break;
        case v1::Delta::kShadowLinkRemoved:
            sorted_erase(*state.mutable_shadow_links(), d.shadow_link_removed(), link_key);
            break;
        case v1::Delta::CHANGE_NOT_SET:
            break;
    }
    state.set_revision(d.revision());
}

}  // namespace fjord::stm
