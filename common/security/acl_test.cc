// File: common/security/acl_test.cc
//
// The ACL model (acl.h): keyword parsing (case-, '_'- and '-'-insensitive,
// every canonical name round-trips), principals, validation errors that name
// their field, and Kafka's filter semantics (any, match, literal, prefixed).

#include "common/security/acl.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "common/cluster/errc.h"

namespace fjord::security {
namespace {

using cluster::errc;

acl_binding topic_binding(std::string name, pattern_type pt = pattern_type::literal) {
    return acl_binding{
        .rtype = resource_type::topic,
        .name = std::move(name),
        .ptype = pt,
        .who = principal::user("alice"),
        .host = "*",
        .op = acl_operation::read,
        .perm = acl_permission::allow,
    };
}

/// The field a failed validation names ("" on success).
std::string field_of(const result<void>& r) {
    return r ? std::string() : r.error().field;
}

// ---------------------------------------------------------------- parsing

TEST(acl_parse, operations_ignore_case_and_separators) {
    for (const char* text : {"describe_configs", "DescribeConfigs", "describeconfigs",
                             "DESCRIBE_CONFIGS", "describe-configs"}) {
        auto op = parse_operation(text);
        ASSERT_TRUE(op) << text;
        EXPECT_EQ(*op, acl_operation::describe_configs) << text;
    }
    EXPECT_EQ(*parse_operation("ClusterAction"), acl_operation::cluster_action);
    EXPECT_EQ(*parse_operation("IDEMPOTENT_WRITE"), acl_operation::idempotent_write);
    EXPECT_EQ(*parse_operation("delete"), acl_operation::remove);
    EXPECT_EQ(*parse_operation("remove"), acl_operation::remove);
    EXPECT_EQ(*parse_operation("Any"), acl_operation::any);
}

TEST(acl_parse, every_name_round_trips) {
    for (int v = 1; v <= 12; ++v) {
        const auto op = static_cast<acl_operation>(v);
        auto back = parse_operation(to_string(op));
        ASSERT_TRUE(back) << to_string(op);
        EXPECT_EQ(*back, op);
    }
    for (int v = 1; v <= 5; ++v) {
        const auto t = static_cast<resource_type>(v);
        EXPECT_EQ(*parse_resource_type(to_string(t)), t);
    }
    for (int v = 1; v <= 4; ++v) {
        const auto t = static_cast<pattern_type>(v);
        EXPECT_EQ(*parse_pattern_type(to_string(t)), t);
    }
    for (int v = 1; v <= 3; ++v) {
        const auto p = static_cast<acl_permission>(v);
        EXPECT_EQ(*parse_permission(to_string(p)), p);
    }
}

TEST(acl_parse, canonical_names) {
    EXPECT_EQ(to_string(resource_type::transactional_id), "transactional_id");
    EXPECT_EQ(to_string(pattern_type::prefixed), "prefixed");
    EXPECT_EQ(to_string(acl_operation::remove), "delete");
    EXPECT_EQ(to_string(acl_operation::cluster_action), "cluster_action");
    EXPECT_EQ(to_string(acl_permission::deny), "deny");
}

TEST(acl_parse, aliases) {
    EXPECT_EQ(*parse_resource_type("TransactionalId"), resource_type::transactional_id);
    EXPECT_EQ(*parse_resource_type("transactional-id"), resource_type::transactional_id);
    EXPECT_EQ(*parse_pattern_type("prefix"), pattern_type::prefixed);
    EXPECT_EQ(*parse_pattern_type("LITERAL"), pattern_type::literal);
    EXPECT_EQ(*parse_permission("Allow"), acl_permission::allow);
}

TEST(acl_parse, failures_name_the_field_and_list_valid_values) {
    auto op = parse_operation("frobnicate");
    ASSERT_FALSE(op);
    EXPECT_EQ(op.code(), errc::invalid_argument);
    EXPECT_EQ(op.error().field, "operation");
    EXPECT_NE(op.error().detail.find("\"frobnicate\""), std::string::npos) << op.error().detail;
    EXPECT_NE(op.error().detail.find("describe_configs"), std::string::npos) << op.error().detail;

    auto rt = parse_resource_type("subject");
    ASSERT_FALSE(rt);
    EXPECT_EQ(rt.error().field, "resource_type");
    EXPECT_EQ(rt.error().reason(),
              "\"subject\" is not one of any, topic, group, cluster, transactional_id");

    auto pt = parse_pattern_type("regex");
    ASSERT_FALSE(pt);
    EXPECT_EQ(pt.error().field, "pattern_type");

    auto pm = parse_permission("maybe");
    ASSERT_FALSE(pm);
    EXPECT_EQ(pm.error().field, "permission");
    EXPECT_EQ(pm.error().detail, "permission: \"maybe\" is not one of any, deny, allow");

    EXPECT_FALSE(parse_operation(""));
}

TEST(acl_parse, principals) {
    auto alice = parse_principal("User:alice");
    ASSERT_TRUE(alice);
    EXPECT_EQ(*alice, principal::user("alice"));
    EXPECT_EQ(to_string(*alice), "User:alice");

    auto any = parse_principal("User:*");
    ASSERT_TRUE(any);
    EXPECT_TRUE(any->is_wildcard());
    EXPECT_EQ(*any, principal::any_user());

    auto ops = parse_principal("Role:ops");
    ASSERT_TRUE(ops);
    EXPECT_EQ(*ops, principal::role("ops"));
    EXPECT_EQ(to_string(*ops), "Role:ops");
    EXPECT_FALSE(ops->is_wildcard());

    auto rp = parse_principal("RedpandaRole:ops");
    ASSERT_TRUE(rp);
    EXPECT_EQ(*rp, principal::role("ops"));

    // A DN with commas and colons stays whole after the first prefix.
    auto dn = parse_principal("User:CN=svc,O=Acme:x");
    ASSERT_TRUE(dn);
    EXPECT_EQ(dn->name, "CN=svc,O=Acme:x");
}

TEST(acl_parse, bad_principals) {
    for (const char* text :
         {"alice", "user:alice", "Group:eng", "User:", "Role:", "Role:*", "RedpandaRole:*", ""}) {
        auto p = parse_principal(text);
        ASSERT_FALSE(p) << text;
        EXPECT_EQ(p.code(), errc::invalid_argument) << text;
        EXPECT_EQ(p.error().field, "principal") << text;
    }
    EXPECT_NE(parse_principal("Role:*").error().reason().find("never a wildcard"),
              std::string::npos);
}

TEST(acl_format, binding_and_filter) {
    acl_binding b = topic_binding("foo", pattern_type::prefixed);
    b.who = principal::user("bob");
    b.perm = acl_permission::deny;
    EXPECT_EQ(to_string(b), "DENY User:bob * topic prefixed:foo read");

    EXPECT_EQ(to_string(acl_filter{}), "(everything)");
    acl_filter f{.rtype = resource_type::topic,
                 .name = "orders",
                 .ptype = pattern_type::match,
                 .who = principal::role("ops"),
                 .host = std::nullopt,
                 .op = acl_operation::write,
                 .perm = acl_permission::allow};
    EXPECT_EQ(to_string(f),
              "resource_type=topic pattern_type=match name=orders principal=Role:ops "
              "operation=write permission=allow");
}

// ---------------------------------------------------------------- validation

TEST(acl_validate, accepts_good_bindings) {
    EXPECT_TRUE(validate(topic_binding("orders")));
    EXPECT_TRUE(validate(topic_binding("*")));
    EXPECT_TRUE(validate(topic_binding("orders.", pattern_type::prefixed)));

    acl_binding cluster{.rtype = resource_type::cluster,
                        .name = "kafka-cluster",
                        .ptype = pattern_type::literal,
                        .who = principal::role("admins"),
                        .host = "10.0.0.1",
                        .op = acl_operation::alter,
                        .perm = acl_permission::deny};
    EXPECT_TRUE(validate(cluster));

    acl_binding group = topic_binding("any group name: spaces too");
    group.rtype = resource_type::group;
    group.host = "::1";
    group.who = principal::any_user();
    EXPECT_TRUE(validate(group));

    acl_binding txn = topic_binding("tx-");
    txn.rtype = resource_type::transactional_id;
    txn.ptype = pattern_type::prefixed;
    txn.host = "2001:db8::7";
    txn.op = acl_operation::all;
    EXPECT_TRUE(validate(txn));
}

TEST(acl_validate, each_fault_names_its_field) {
    struct fault {
        const char* what;
        acl_binding b;
        const char* field;
    };
    std::vector<fault> faults;
    auto add = [&](const char* what, auto mutate, const char* field) {
        acl_binding b = topic_binding("orders");
        mutate(b);
        faults.push_back({what, b, field});
    };
    add(
        "resource type any", [](acl_binding& b) { b.rtype = resource_type::any; }, "resource_type");
    add(
        "pattern any", [](acl_binding& b) { b.ptype = pattern_type::any; }, "pattern_type");
    add(
        "pattern match", [](acl_binding& b) { b.ptype = pattern_type::match; }, "pattern_type");
    add(
        "empty name", [](acl_binding& b) { b.name.clear(); }, "resource_name");
    add(
        "bad topic", [](acl_binding& b) { b.name = "no spaces"; }, "resource_name");
    add(
        "topic ..", [](acl_binding& b) { b.name = ".."; }, "resource_name");
    add(
        "long topic", [](acl_binding& b) { b.name = std::string(250, 't'); }, "resource_name");
    add(
        "cluster name",
        [](acl_binding& b) {
            b.rtype = resource_type::cluster;
            b.name = "my-cluster";
        },
        "resource_name");
    add(
        "empty user", [](acl_binding& b) { b.who = principal::user(""); }, "principal");
    add(
        "role wildcard", [](acl_binding& b) { b.who = principal::role("*"); }, "principal");
    add(
        "hostname", [](acl_binding& b) { b.host = "broker.example.com"; }, "host");
    add(
        "cidr", [](acl_binding& b) { b.host = "10.0.0.0/8"; }, "host");
    add(
        "empty host", [](acl_binding& b) { b.host = ""; }, "host");
    add(
        "operation any", [](acl_binding& b) { b.op = acl_operation::any; }, "operation");
    add(
        "operation 13", [](acl_binding& b) { b.op = static_cast<acl_operation>(13); }, "operation");
    add(
        "permission any", [](acl_binding& b) { b.perm = acl_permission::any; }, "permission");

    for (const auto& f : faults) {
        auto r = validate(f.b);
        ASSERT_FALSE(r) << f.what;
        EXPECT_EQ(r.code(), errc::invalid_argument) << f.what;
        EXPECT_EQ(field_of(r), f.field) << f.what << ": " << r.error().detail;
        EXPECT_EQ(r.error().detail.substr(0, r.error().field.size() + 2),
                  std::string(f.field) + ": ")
            << f.what;
    }
}

TEST(acl_validate, reasons_read_well) {
    acl_binding b = topic_binding("orders");
    b.rtype = resource_type::cluster;
    EXPECT_EQ(validate(b).error().detail,
              "resource_name: \"orders\" is not the cluster's name (a cluster resource is "
              "always \"kafka-cluster\")");
    b = topic_binding("a b");
    EXPECT_EQ(validate(b).error().detail,
              "resource_name: not a valid topic name: \"a b\": character ' ' at position 1 is "
              "not allowed (use a-z, A-Z, 0-9, '.', '_' and '-')");
    b = topic_binding("orders");
    b.host = "localhost";
    EXPECT_EQ(validate(b).error().detail,
              "host: \"localhost\" is not \"*\" or an IPv4 or IPv6 address");
}

TEST(acl_binding_order, sets_deduplicate) {
    std::set<acl_binding> s;
    s.insert(topic_binding("b"));
    s.insert(topic_binding("a"));
    s.insert(topic_binding("a"));
    acl_binding deny = topic_binding("a");
    deny.perm = acl_permission::deny;
    s.insert(deny);
    ASSERT_EQ(s.size(), 3U);
    EXPECT_EQ(s.begin()->name, "a");
    EXPECT_EQ(s.begin()->perm, acl_permission::deny);  // deny (2) < allow (3)
    EXPECT_EQ(topic_binding("x"), topic_binding("x"));
    EXPECT_NE(topic_binding("x"), topic_binding("y"));
}

// ---------------------------------------------------------------- filters

TEST(acl_filter_match, default_matches_everything) {
    acl_filter all;
    EXPECT_TRUE(matches(all, topic_binding("orders")));
    EXPECT_TRUE(matches(all, topic_binding("o", pattern_type::prefixed)));
    acl_binding c{.rtype = resource_type::cluster,
                  .name = "kafka-cluster",
                  .ptype = pattern_type::literal,
                  .who = principal::role("r"),
                  .host = "1.2.3.4",
                  .op = acl_operation::alter,
                  .perm = acl_permission::deny};
    EXPECT_TRUE(matches(all, c));
}

TEST(acl_filter_match, pattern_any_is_exact_name_of_literal_or_prefixed) {
    acl_filter f{.rtype = resource_type::topic, .name = "foo"};
    EXPECT_TRUE(matches(f, topic_binding("foo")));
    EXPECT_TRUE(matches(f, topic_binding("foo", pattern_type::prefixed)));
    EXPECT_FALSE(matches(f, topic_binding("*")));
    EXPECT_FALSE(matches(f, topic_binding("fo", pattern_type::prefixed)));
    EXPECT_FALSE(matches(f, topic_binding("foobar")));
}

TEST(acl_filter_match, pattern_match_is_what_applies_to_the_name) {
    acl_filter f{.rtype = resource_type::topic, .name = "foobar", .ptype = pattern_type::match};
    EXPECT_TRUE(matches(f, topic_binding("foobar")));
    EXPECT_TRUE(matches(f, topic_binding("*")));
    EXPECT_TRUE(matches(f, topic_binding("foo", pattern_type::prefixed)));
    EXPECT_TRUE(matches(f, topic_binding("foobar", pattern_type::prefixed)));
    EXPECT_FALSE(matches(f, topic_binding("foo")));
    EXPECT_FALSE(matches(f, topic_binding("foobarbaz", pattern_type::prefixed)));
    EXPECT_FALSE(matches(f, topic_binding("bar", pattern_type::prefixed)));
    // A prefixed "*" is a prefix like any other, not a wildcard.
    acl_binding star_prefix = topic_binding("*", pattern_type::prefixed);
    EXPECT_FALSE(matches(f, star_prefix));
    // Without a name, match selects everything of the type.
    acl_filter nameless{.rtype = resource_type::topic, .ptype = pattern_type::match};
    EXPECT_TRUE(matches(nameless, topic_binding("x", pattern_type::prefixed)));
}

TEST(acl_filter_match, literal_and_prefixed_select_their_kind) {
    acl_filter lit{.name = "*", .ptype = pattern_type::literal};
    EXPECT_TRUE(matches(lit, topic_binding("*")));
    EXPECT_FALSE(matches(lit, topic_binding("foo")));  // no wildcard expansion
    acl_filter pre{.ptype = pattern_type::prefixed};
    EXPECT_TRUE(matches(pre, topic_binding("foo", pattern_type::prefixed)));
    EXPECT_FALSE(matches(pre, topic_binding("foo")));
    acl_filter pre_named{.name = "foo", .ptype = pattern_type::prefixed};
    EXPECT_TRUE(matches(pre_named, topic_binding("foo", pattern_type::prefixed)));
    EXPECT_FALSE(matches(pre_named, topic_binding("fo", pattern_type::prefixed)));
}

TEST(acl_filter_match, entry_dimensions_are_exact) {
    acl_binding b = topic_binding("orders");
    EXPECT_TRUE(matches(acl_filter{.who = principal::user("alice")}, b));
    EXPECT_FALSE(matches(acl_filter{.who = principal::any_user()}, b));
    EXPECT_FALSE(matches(acl_filter{.who = principal::role("alice")}, b));
    EXPECT_TRUE(matches(acl_filter{.host = "*"}, b));
    EXPECT_FALSE(matches(acl_filter{.host = "10.0.0.1"}, b));
    EXPECT_TRUE(matches(acl_filter{.op = acl_operation::read}, b));
    EXPECT_FALSE(matches(acl_filter{.op = acl_operation::describe}, b));  // no implication
    EXPECT_FALSE(matches(acl_filter{.op = acl_operation::all}, b));
    EXPECT_TRUE(matches(acl_filter{.perm = acl_permission::allow}, b));
    EXPECT_FALSE(matches(acl_filter{.perm = acl_permission::deny}, b));
    EXPECT_FALSE(matches(acl_filter{.rtype = resource_type::group}, b));
}

}  // namespace
}  // namespace fjord::security
