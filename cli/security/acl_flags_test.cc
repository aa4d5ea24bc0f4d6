// File: cli/security/acl_flags_test.cc
//
// `fjord security acl` flags: the create product, the list/delete filters,
// check's one-of-everything rule, and the errors that name the flag.

#include "cli/security/acl_flags.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fjord::cli::acl {
namespace {

using security::acl_operation;
using security::acl_permission;
using security::pattern_type;
using security::resource_type;

std::string error_of(const acl_flags& f) {
    auto r = bindings_to_create(f);
    return r ? std::string("(no error)") : r.error().detail;
}

TEST(acl_flags, create_multiplies_principals_hosts_resources_and_operations) {
    acl_flags f;
    f.allow_principals = {"alice", "User:bob"};
    f.allow_hosts = {"10.0.0.1", "::1"};
    f.deny_roles = {"guests"};
    f.topics = {"orders", "payments"};
    f.groups = {"billing"};
    f.operations = {"read", "Describe"};
    auto r = bindings_to_create(f);
    ASSERT_TRUE(r) << r.error().detail;
    // (2 allow principals x 2 hosts + 1 deny role x "*") x 3 resources x 2 ops.
    ASSERT_EQ(r->size(), 5u * 3u * 2u);
    const auto& first = r->front();
    EXPECT_EQ(security::to_string(first.who), "User:alice");
    EXPECT_EQ(first.host, "10.0.0.1");
    EXPECT_EQ(first.rtype, resource_type::topic);
    EXPECT_EQ(first.name, "orders");
    EXPECT_EQ(first.ptype, pattern_type::literal);
    EXPECT_EQ(first.op, acl_operation::read);
    EXPECT_EQ(first.perm, acl_permission::allow);
    const auto& last = r->back();
    EXPECT_EQ(security::to_string(last.who), "Role:guests");
    EXPECT_EQ(last.host, "*");
    EXPECT_EQ(last.rtype, resource_type::group);
    EXPECT_EQ(last.op, acl_operation::describe);
    EXPECT_EQ(last.perm, acl_permission::deny);
}

TEST(acl_flags, create_prefixed_cluster_and_duplicates) {
    acl_flags f;
    f.allow_principals = {"*", "User:*"};  // the same principal twice
    f.cluster = true;
    f.transactional_ids = {"tx-"};
    f.pattern = "PREFIXED";
    f.operations = {"all", "ALL"};
    auto r = bindings_to_create(f);
    ASSERT_TRUE(r) << r.error().detail;
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ(r->at(0).rtype, resource_type::cluster);
    EXPECT_EQ(r->at(0).name, "kafka-cluster");
    EXPECT_EQ(r->at(1).rtype, resource_type::transactional_id);
    EXPECT_EQ(r->at(1).ptype, pattern_type::prefixed);
    EXPECT_TRUE(r->at(0).who.is_wildcard());
}

TEST(acl_flags, create_refuses_what_cannot_be_stored_naming_the_flag) {
    acl_flags ok;
    ok.allow_principals = {"alice"};
    ok.topics = {"t"};
    ok.operations = {"read"};
    ASSERT_TRUE(bindings_to_create(ok));

    auto f = ok;
    f.allow_principals.clear();
    EXPECT_NE(error_of(f).find("at least one principal is required"), std::string::npos);
    f = ok;
    f.topics.clear();
    EXPECT_NE(error_of(f).find("at least one resource is required"), std::string::npos);
    f = ok;
    f.operations.clear();
    EXPECT_NE(error_of(f).find("at least one --operation"), std::string::npos);
    f = ok;
    f.operations = {"reed"};
    EXPECT_EQ(error_of(f).rfind("--operation \"reed\": ", 0), 0u) << error_of(f);
    f = ok;
    f.operations = {"any"};
    EXPECT_EQ(error_of(f).rfind("--operation \"any\": ", 0), 0u) << error_of(f);
    f = ok;
    f.pattern = "match";
    EXPECT_EQ(error_of(f).rfind("--resource-pattern-type \"match\": create takes literal", 0), 0u);
    f = ok;
    f.allow_hosts = {"example.com"};
    EXPECT_EQ(error_of(f).rfind("--allow-host \"example.com\": ", 0), 0u) << error_of(f);
    f = ok;
    f.deny_hosts = {"10.0.0.1"};
    EXPECT_EQ(error_of(f).rfind("--deny-host needs --deny-principal or --deny-role", 0), 0u)
        << error_of(f);
    f = ok;
    f.allow_roles = {"*"};
    EXPECT_EQ(error_of(f).rfind("--allow-role \"*\": a role is never a wildcard", 0), 0u);
    f = ok;
    f.deny_principals = {"Group:eng"};
    EXPECT_EQ(error_of(f).rfind("--deny-principal \"Group:eng\": Group principals", 0), 0u);
    f = ok;
    f.topics = {"bad topic!"};
    EXPECT_EQ(error_of(f).rfind("--topic \"bad topic!\": not a valid topic name", 0), 0u)
        << error_of(f);
    f = ok;
    f.allow_principals = {"User:"};
    EXPECT_EQ(error_of(f).rfind("--allow-principal \"User:\": ", 0), 0u) << error_of(f);
}

TEST(acl_flags, no_flags_is_the_filter_that_matches_everything) {
    auto r = filters_for(acl_flags{});
    ASSERT_TRUE(r) << r.error().detail;
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ(r->front(), security::acl_filter{});
}

TEST(acl_flags, filters_multiply_like_create_and_default_to_any) {
    acl_flags f;
    f.topics = {"orders"};
    f.allow_principals = {"alice"};
    f.deny_principals = {"bob"};
    f.deny_hosts = {"10.0.0.9"};
    f.operations = {"read", "write"};
    auto r = filters_for(f);
    ASSERT_TRUE(r) << r.error().detail;
    ASSERT_EQ(r->size(), 4u);  // (alice allow any-host, bob deny 10.0.0.9) x 2 ops
    EXPECT_EQ(r->at(0).ptype, pattern_type::any);
    EXPECT_EQ(r->at(0).rtype, resource_type::topic);
    EXPECT_EQ(r->at(0).name, "orders");
    EXPECT_EQ(security::to_string(*r->at(0).who), "User:alice");
    EXPECT_FALSE(r->at(0).host.has_value());
    EXPECT_EQ(r->at(0).perm, acl_permission::allow);
    EXPECT_EQ(r->at(3).host, "10.0.0.9");
    EXPECT_EQ(r->at(3).perm, acl_permission::deny);
    EXPECT_EQ(r->at(3).op, acl_operation::write);

    acl_flags m;
    m.pattern = "match";
    m.topics = {"orders-eu"};
    m.allow_hosts = {"10.0.0.1"};  // hosts alone: every principal from there
    auto mr = filters_for(m);
    ASSERT_TRUE(mr) << mr.error().detail;
    ASSERT_EQ(mr->size(), 1u);
    EXPECT_EQ(mr->front().ptype, pattern_type::match);
    EXPECT_FALSE(mr->front().who.has_value());
    EXPECT_EQ(mr->front().host, "10.0.0.1");
    EXPECT_EQ(mr->front().perm, acl_permission::allow);

    acl_flags bad;
    bad.pattern = "prefixes";
    EXPECT_FALSE(filters_for(bad));
    bad = {};
    bad.allow_principals = {"alice"};
    bad.deny_hosts = {"10.0.0.1"};
    auto e = filters_for(bad);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().detail.rfind("--deny-host needs --deny-principal", 0), 0u);
}

TEST(acl_flags, check_names_one_user_one_operation_one_resource) {
    check_flags f;
    f.principal = "alice";
    f.operation = "describe_configs";
    f.topic = "orders";
    auto r = check_request(f);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->principal(), "User:alice");
    EXPECT_EQ(r->operation(), v1::ACL_OPERATION_DESCRIBE_CONFIGS);
    EXPECT_EQ(r->resource_type(), v1::ACL_RESOURCE_TOPIC);
    EXPECT_EQ(r->resource_name(), "orders");
    EXPECT_EQ(r->host(), "");

    auto c = f;
    c.topic.clear();
    c.cluster = true;
    c.host = "127.0.0.1";
    ASSERT_TRUE(check_request(c));
    EXPECT_EQ(check_request(c)->resource_name(), "kafka-cluster");
    EXPECT_EQ(check_request(c)->host(), "127.0.0.1");

    const auto err = [](check_flags x) {
        auto q = check_request(x);
        return q ? std::string("(no error)") : q.error().detail;
    };
    auto two = f;
    two.group = "g";
    EXPECT_NE(err(two).find("exactly one resource"), std::string::npos);
    auto none = f;
    none.topic.clear();
    EXPECT_NE(err(none).find("--transactional-id (0 given)"), std::string::npos);
    auto any = f;
    any.operation = "any";
    EXPECT_EQ(err(any).rfind("--operation \"any\": a request asks for one operation", 0), 0u);
    auto role = f;
    role.principal = "Role:ops";
    EXPECT_NE(err(role).find("a check asks about a user"), std::string::npos);
    auto host = f;
    host.host = "not-an-ip";
    EXPECT_EQ(err(host).rfind("--host \"not-an-ip\": ", 0), 0u);
}

TEST(acl_flags, rows_use_rpk_words) {
    v1::AclBinding b;
    b.set_principal("User:alice");
    b.set_host("*");
    b.set_resource_type(v1::ACL_RESOURCE_TRANSACTIONAL_ID);
    b.set_resource_name("tx");
    b.set_pattern_type(v1::ACL_PATTERN_PREFIXED);
    b.set_operation(v1::ACL_OPERATION_DELETE);
    b.set_permission(v1::ACL_PERMISSION_DENY);
    EXPECT_EQ(binding_row(b), (std::vector<std::string>{"User:alice", "*", "TRANSACTIONAL_ID", "tx",
                                                        "PREFIXED", "DELETE", "DENY"}));
    EXPECT_EQ(binding_json(b)["resource_pattern_type"], "PREFIXED");
    EXPECT_EQ(binding_columns.size(), binding_row(b).size());
    v1::AclFilter f;
    EXPECT_EQ(filter_row(f),
              (std::vector<std::string>{"ANY", "(any)", "ANY", "(any)", "(any)", "ANY", "ANY"}));
    EXPECT_TRUE(filter_json(f)["principal"].is_null());
    EXPECT_NE(std::string(operations_help).find("IDEMPOTENT_WRITE"), std::string::npos);
}

}  // namespace
}  // namespace fjord::cli::acl
