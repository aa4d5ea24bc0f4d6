// File: broker/security/security_snapshot_test.cc
//
// The snapshot built from the metadata cache: the cluster config's switches
// (enable_sasl, kafka_enable_authorization following it when unset,
// sasl_mechanisms, superusers), the credentials, the authorizer's decisions
// through allowed(), Kafka's InitProducerId rule, and that every security
// change moves the cache's security_generation.

#include "broker/security/security_snapshot.h"

#include <gtest/gtest.h>

#include "broker/cluster/metadata_cache.h"

namespace fjord::broker {
namespace {

namespace sec = fjord::security;
using sec::acl_operation;
using sec::resource_type;

v1::AclBinding binding(v1::AclResourceType rt, const std::string& name, v1::AclPatternType pt,
                       const std::string& who, v1::AclOperation op, v1::AclPermission perm) {
    v1::AclBinding b;
    b.set_resource_type(rt);
    b.set_resource_name(name);
    b.set_pattern_type(pt);
    b.set_principal(who);
    b.set_host("*");
    b.set_operation(op);
    b.set_permission(perm);
    return b;
}

v1::User user(const std::string& name, sec::scram_mechanism m, const std::string& password) {
    auto c = sec::make_scram_credential(m, password);
    EXPECT_TRUE(c);
    v1::User u;
    u.set_name(name);
    auto* pc = u.mutable_credential();
    pc->set_mechanism(std::string(sec::to_string(m)));
    pc->set_salt(c->salt);
    pc->set_iterations(c->iterations);
    pc->set_stored_key(c->stored_key);
    pc->set_server_key(c->server_key);
    return u;
}

v1::WatchEvent snapshot(std::map<std::string, std::string> config) {
    v1::WatchEvent ev;
    auto* s = ev.mutable_snapshot();
    s->set_revision(5);
    s->set_cluster_uuid("c");
    for (const auto& [k, v] : config) {
        auto* e = s->add_cluster_config();
        e->set_key(k);
        e->set_value(v);
    }
    *s->add_users() = user("alice", sec::scram_mechanism::sha256, "alice-secret");
    *s->add_users() = user("bob", sec::scram_mechanism::sha512, "bob-secret");
    *s->add_acls() = binding(v1::ACL_RESOURCE_TOPIC, "orders", v1::ACL_PATTERN_LITERAL,
                             "User:alice", v1::ACL_OPERATION_WRITE, v1::ACL_PERMISSION_ALLOW);
    *s->add_acls() = binding(v1::ACL_RESOURCE_TOPIC, "logs-", v1::ACL_PATTERN_PREFIXED,
                             "Role:readers", v1::ACL_OPERATION_READ, v1::ACL_PERMISSION_ALLOW);
    auto* r = s->add_roles();
    r->set_name("readers");
    r->add_members("User:bob");
    ev.set_revision_complete(true);
    return ev;
}

std::shared_ptr<const security_snapshot> build(std::map<std::string, std::string> config) {
    metadata_cache md;
    EXPECT_TRUE(md.apply(snapshot(std::move(config))));
    return security_snapshot::build(md);
}

TEST(security_snapshot, defaults_are_open_and_offer_scram) {
    auto s = build({});
    EXPECT_TRUE(s->ready());
    EXPECT_EQ(s->revision(), 5u);
    EXPECT_FALSE(s->sasl_enabled());
    EXPECT_FALSE(s->authorization_enabled());
    // Authorization off: everything is allowed, whatever the bindings say.
    EXPECT_TRUE(s->allowed(sec::principal::user("mallory"), "10.0.0.1", acl_operation::write,
                           resource_type::topic, "orders"));
    EXPECT_EQ(s->mechanism_names(), (std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-512"}));
}

TEST(security_snapshot, enable_sasl_turns_authorization_on_unless_overridden) {
    EXPECT_TRUE(build({{"enable_sasl", "true"}})->authorization_enabled());
    EXPECT_FALSE(build({{"enable_sasl", "true"}, {"kafka_enable_authorization", "false"}})
                     ->authorization_enabled());
    EXPECT_TRUE(build({{"kafka_enable_authorization", "true"}})->authorization_enabled());
    EXPECT_FALSE(build({{"kafka_enable_authorization", "true"}})->sasl_enabled());
}

TEST(security_snapshot, decisions_follow_bindings_roles_and_superusers) {
    auto s = build({{"enable_sasl", "true"},
                    {"sasl_mechanisms", "PLAIN, SCRAM"},
                    {"superusers", "admin, User:root"}});
    EXPECT_TRUE(s->offers(sasl_mechanism::plain));
    const auto alice = sec::principal::user("alice");
    const auto bob = sec::principal::user("bob");
    EXPECT_TRUE(
        s->allowed(alice, "127.0.0.1", acl_operation::write, resource_type::topic, "orders"));
    // WRITE implies DESCRIBE, not READ.
    EXPECT_TRUE(
        s->allowed(alice, "127.0.0.1", acl_operation::describe, resource_type::topic, "orders"));
    EXPECT_FALSE(
        s->allowed(alice, "127.0.0.1", acl_operation::read, resource_type::topic, "orders"));
    // Through the role, on the prefix.
    EXPECT_TRUE(
        s->allowed(bob, "127.0.0.1", acl_operation::read, resource_type::topic, "logs-app"));
    EXPECT_FALSE(s->allowed(bob, "127.0.0.1", acl_operation::read, resource_type::topic, "log"));
    // Superusers, with or without the User: prefix in the config.
    for (const char* su : {"admin", "root"}) {
        EXPECT_TRUE(
            s->allowed_on_cluster(sec::principal::user(su), "1.2.3.4", acl_operation::alter))
            << su;
    }
    EXPECT_FALSE(s->allowed_on_cluster(alice, "1.2.3.4", acl_operation::alter));
}

TEST(security_snapshot, credentials_by_user_and_mechanism) {
    auto s = build({});
    ASSERT_NE(s->credential("alice"), nullptr);
    EXPECT_TRUE(sec::verify_password(*s->credential("alice"), "alice-secret"));
    EXPECT_EQ(s->credential("nobody"), nullptr);
    EXPECT_TRUE(s->credential("bob", sec::scram_mechanism::sha512));
    EXPECT_FALSE(s->credential("bob", sec::scram_mechanism::sha256));
}

TEST(security_snapshot, idempotent_producers_need_idempotent_write_or_write_on_some_topic) {
    auto s = build({{"enable_sasl", "true"}});
    EXPECT_TRUE(s->may_produce_idempotently(sec::principal::user("alice"), "127.0.0.1"));
    EXPECT_FALSE(s->may_produce_idempotently(sec::principal::user("bob"), "127.0.0.1"));

    metadata_cache md;
    auto ev = snapshot({{"enable_sasl", "true"}});
    // A DENY on the very topic alice may write takes that away.
    *ev.mutable_snapshot()->add_acls() =
        binding(v1::ACL_RESOURCE_TOPIC, "orders", v1::ACL_PATTERN_LITERAL, "User:alice",
                v1::ACL_OPERATION_WRITE, v1::ACL_PERMISSION_DENY);
    *ev.mutable_snapshot()->add_acls() =
        binding(v1::ACL_RESOURCE_CLUSTER, "kafka-cluster", v1::ACL_PATTERN_LITERAL, "User:bob",
                v1::ACL_OPERATION_IDEMPOTENT_WRITE, v1::ACL_PERMISSION_ALLOW);
    ASSERT_TRUE(md.apply(ev));
    auto t = security_snapshot::build(md);
    EXPECT_FALSE(t->may_produce_idempotently(sec::principal::user("alice"), "127.0.0.1"));
    EXPECT_TRUE(t->may_produce_idempotently(sec::principal::user("bob"), "127.0.0.1"));
}

TEST(security_snapshot, deltas_move_the_security_generation) {
    metadata_cache md;
    ASSERT_TRUE(md.apply(snapshot({{"enable_sasl", "true"}})));
    const auto bob = sec::principal::user("bob");
    EXPECT_FALSE(security_snapshot::build(md)->allowed(bob, "h", acl_operation::write,
                                                       resource_type::topic, "orders"));
    uint64_t gen = md.security_generation();
    uint64_t revision = 6;
    const auto apply = [&](auto fill) {
        v1::WatchEvent ev;
        auto* d = ev.mutable_delta();
        d->set_revision(revision++);
        fill(*d);
        ev.set_revision_complete(true);
        ASSERT_TRUE(md.apply(ev));
        EXPECT_GT(md.security_generation(), gen);
        gen = md.security_generation();
    };
    const auto grant = binding(v1::ACL_RESOURCE_TOPIC, "orders", v1::ACL_PATTERN_LITERAL,
                               "User:bob", v1::ACL_OPERATION_WRITE, v1::ACL_PERMISSION_ALLOW);
    apply([&](v1::Delta& d) { *d.mutable_acl_created() = grant; });
    EXPECT_TRUE(security_snapshot::build(md)->allowed(bob, "h", acl_operation::write,
                                                      resource_type::topic, "orders"));
    apply([&](v1::Delta& d) {
        auto deleted = grant;
        deleted.mutable_created()->set_revision(99);  // the Audit does not matter
        *d.mutable_acl_deleted() = deleted;
    });
    EXPECT_FALSE(security_snapshot::build(md)->allowed(bob, "h", acl_operation::write,
                                                       resource_type::topic, "orders"));
    apply([&](v1::Delta& d) { d.set_user_deleted("alice"); });
    EXPECT_EQ(security_snapshot::build(md)->credential("alice"), nullptr);
    apply([&](v1::Delta& d) { d.set_role_deleted("readers"); });
    EXPECT_FALSE(security_snapshot::build(md)->allowed(bob, "h", acl_operation::read,
                                                       resource_type::topic, "logs-x"));
    apply([&](v1::Delta& d) {
        d.mutable_config_set()->set_key("kafka_enable_authorization");
        d.mutable_config_set()->set_value("false");
    });
    EXPECT_FALSE(security_snapshot::build(md)->authorization_enabled());
}

TEST(security_snapshot, state_publishes_whole_snapshots) {
    security_state st;
    EXPECT_FALSE(st.current()->ready());
    auto s = build({});
    st.publish(s);
    EXPECT_EQ(st.current(), s);
}

}  // namespace
}  // namespace fjord::broker
