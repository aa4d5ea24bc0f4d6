// File: common/security/acl_proto_test.cc
//
// acl_proto.h: round trips, enum range checks naming the field, filters'
// unset dimensions, role members, and the authorizer built from records.

#include "common/security/acl_proto.h"

#include <gtest/gtest.h>

namespace fjord::security {
namespace {

v1::AclBinding binding(std::string principal, v1::AclOperation op, v1::AclPermission perm,
                       std::string name = "orders",
                       v1::AclPatternType pt = v1::ACL_PATTERN_LITERAL) {
    v1::AclBinding b;
    b.set_resource_type(v1::ACL_RESOURCE_TOPIC);
    b.set_resource_name(std::move(name));
    b.set_pattern_type(pt);
    b.set_principal(std::move(principal));
    b.set_host("*");
    b.set_operation(op);
    b.set_permission(perm);
    return b;
}

TEST(acl_proto, binding_round_trip) {
    const v1::AclBinding p = binding("User:alice", v1::ACL_OPERATION_DESCRIBE_CONFIGS,
                                     v1::ACL_PERMISSION_DENY, "pre", v1::ACL_PATTERN_PREFIXED);
    auto b = binding_from_proto(p);
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(b->rtype, resource_type::topic);
    EXPECT_EQ(b->ptype, pattern_type::prefixed);
    EXPECT_EQ(b->who, principal::user("alice"));
    EXPECT_EQ(b->op, acl_operation::describe_configs);
    EXPECT_EQ(b->perm, acl_permission::deny);
    EXPECT_EQ(to_proto(*b).SerializeAsString(), p.SerializeAsString());
    // The Audit is not part of the binding.
    v1::AclBinding with_audit = p;
    with_audit.mutable_created()->set_principal("User:root");
    EXPECT_EQ(*binding_from_proto(with_audit), *b);
}

TEST(acl_proto, binding_enums_are_checked_by_field) {
    const auto field_of = [](const v1::AclBinding& b) {
        auto r = binding_from_proto(b);
        return r ? std::string("ok") : r.error().field;
    };
    v1::AclBinding b = binding("User:a", v1::ACL_OPERATION_READ, v1::ACL_PERMISSION_ALLOW);
    EXPECT_EQ(field_of(b), "ok");
    v1::AclBinding x = b;
    x.set_resource_type(v1::ACL_RESOURCE_TYPE_UNSPECIFIED);
    EXPECT_EQ(field_of(x), "resource_type");
    x = b;
    x.set_resource_type(static_cast<v1::AclResourceType>(9));
    EXPECT_EQ(field_of(x), "resource_type");
    x = b;
    x.set_pattern_type(static_cast<v1::AclPatternType>(5));
    EXPECT_EQ(field_of(x), "pattern_type");
    x = b;
    x.set_operation(static_cast<v1::AclOperation>(13));
    EXPECT_EQ(field_of(x), "operation");
    x = b;
    x.set_operation(v1::ACL_OPERATION_UNSPECIFIED);
    EXPECT_EQ(field_of(x), "operation");
    x = b;
    x.set_permission(static_cast<v1::AclPermission>(4));
    EXPECT_EQ(field_of(x), "permission");
    x = b;
    x.set_principal("alice");
    EXPECT_EQ(field_of(x), "principal");
    // `any` converts; validate() is what refuses it in a stored binding.
    x = b;
    x.set_operation(v1::ACL_OPERATION_ANY);
    auto any = binding_from_proto(x);
    ASSERT_TRUE(any);
    EXPECT_EQ(validate(*any).error().field, "operation");
}

TEST(acl_proto, filter_unset_dimensions_match_everything) {
    auto f = filter_from_proto(v1::AclFilter{});
    ASSERT_TRUE(f);
    EXPECT_EQ(*f, acl_filter{});
    EXPECT_EQ(to_proto(*f).resource_type(), v1::ACL_RESOURCE_ANY);
    EXPECT_FALSE(to_proto(*f).has_principal());

    v1::AclFilter p;
    p.set_resource_type(v1::ACL_RESOURCE_TOPIC);
    p.set_pattern_type(v1::ACL_PATTERN_MATCH);
    p.set_resource_name("orders-eu");
    p.set_principal("User:bob");
    p.set_host("10.0.0.1");
    p.set_operation(v1::ACL_OPERATION_WRITE);
    p.set_permission(v1::ACL_PERMISSION_ALLOW);
    auto g = filter_from_proto(p);
    ASSERT_TRUE(g) << g.error().message();
    EXPECT_EQ(g->ptype, pattern_type::match);
    EXPECT_EQ(*g->who, principal::user("bob"));
    EXPECT_EQ(to_proto(*g).SerializeAsString(), p.SerializeAsString());

    v1::AclFilter bad = p;
    bad.set_host("not-an-address");
    EXPECT_EQ(filter_from_proto(bad).error().field, "host");
    bad = p;
    bad.set_principal("Group:x");
    EXPECT_EQ(filter_from_proto(bad).error().field, "principal");
    bad = p;
    bad.set_permission(static_cast<v1::AclPermission>(7));
    EXPECT_EQ(filter_from_proto(bad).error().field, "permission");
}

TEST(acl_proto, role_members) {
    EXPECT_EQ(*parse_role_member("alice"), principal::user("alice"));
    EXPECT_EQ(*parse_role_member("User:alice"), principal::user("alice"));
    EXPECT_EQ(parse_role_member("Role:ops").error().field, "principal");
    EXPECT_EQ(parse_role_member("").error().field, "principal");
    EXPECT_EQ(parse_role_member("Group:x").error().field, "principal");
}

TEST(acl_proto, build_authorizer_from_records) {
    google::protobuf::RepeatedPtrField<v1::AclBinding> bindings;
    *bindings.Add() = binding("User:alice", v1::ACL_OPERATION_READ, v1::ACL_PERMISSION_ALLOW);
    *bindings.Add() = binding("Role:ops", v1::ACL_OPERATION_WRITE, v1::ACL_PERMISSION_ALLOW);
    *bindings.Add() = binding("User:carol", v1::ACL_OPERATION_ALL, v1::ACL_PERMISSION_DENY);
    v1::AclBinding newer = binding("User:alice", v1::ACL_OPERATION_WRITE, v1::ACL_PERMISSION_ALLOW);
    newer.set_operation(static_cast<v1::AclOperation>(40));  // a newer version's value
    *bindings.Add() = newer;
    google::protobuf::RepeatedPtrField<v1::Role> roles;
    v1::Role ops;
    ops.set_name("ops");
    ops.add_members("User:bob");
    ops.add_members("User:carol");
    *roles.Add() = ops;
    const std::vector<std::string> superusers{"root"};
    auto a = build_authorizer(bindings, superusers, roles);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->binding_count(), 3u);
    const auto topic = resource_type::topic;
    EXPECT_TRUE(
        a->allowed(principal::user("alice"), "1.2.3.4", acl_operation::read, topic, "orders"));
    EXPECT_FALSE(
        a->allowed(principal::user("alice"), "1.2.3.4", acl_operation::write, topic, "orders"));
    const decision d =
        a->authorize(principal::user("bob"), "1.2.3.4", acl_operation::write, topic, "orders");
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.via_role, "ops");
    // carol is in ops, but her own DENY wins.
    EXPECT_FALSE(
        a->allowed(principal::user("carol"), "1.2.3.4", acl_operation::write, topic, "orders"));
    EXPECT_TRUE(a->allowed(principal::user("root"), "1.2.3.4", acl_operation::alter,
                           resource_type::cluster, "kafka-cluster"));
}

}  // namespace
}  // namespace fjord::security
