// File: controller/frontend/apply_test.cc
//
// fjord apply's plan (plan_apply) and the ApplyBatch it proposes, over a
// real state machine applying at consecutive indexes, as the Raft loop
// would: what is created, changed and pruned, the field-level diff, the
// changes that cannot be made, and the batch's guarantees (it lands whole or
// not at all; a plan whose objects moved is refused naming them).

#include <gtest/gtest.h>

#include <string>

#include "common/cluster/errc.h"
#include "common/log.h"
#include "common/security/acl_proto.h"
#include "common/security/scram.h"
#include "controller/frontend/apply.h"
#include "controller/frontend/security.h"

namespace fjord::frontend {
namespace {

using cluster::errc;

class apply_plan_test : public ::testing::Test {
  protected:
    void SetUp() override {
        _saved = current_log_level();
        set_log_level(log_level::off);
        v1::ControllerCommand reg;
        reg.mutable_register_broker()->mutable_broker()->set_id(1);
        reg.mutable_register_broker()->mutable_broker()->set_incarnation("i");
        ASSERT_TRUE(commit(reg));
    }
    void TearDown() override { set_log_level(_saved); }

    result<void> commit(const v1::ControllerCommand& c) {
        return _stm.apply_command(log_index{++_index}, c.SerializeAsString());
    }

    result<apply_plan> plan(const v1::ApplyRequest& req) {
        int uuid = 0;
        plan_hooks hooks{
            .new_uuid =
                [&uuid, this] {
                    return fmt::format("00000000-0000-4000-8000-{:012}", ++uuid + _index * 100);
                },
            .derive_credential =
                [](const std::string& password, const std::string& mechanism) {
                    return derive_credential(password, mechanism, 0);
                },
            .password_matches =
                [](const v1::ScramCredential& stored, const std::string& password) {
                    auto c = security::credential_from_proto(stored);
                    return c && security::verify_password(*c, password);
                },
        };
        return plan_apply(_stm, req, {.principal = "User:admin", .time_ms = 1000}, hooks);
    }

    /// Plans `req` and commits its batch; the plan must be valid.
    apply_plan apply(const v1::ApplyRequest& req) {
        auto p = plan(req);
        EXPECT_TRUE(p) << p.error().message();
        EXPECT_EQ(p->errors, 0U);
        if (p->batch.commands_size() > 0) {
            auto r = commit(batch(*p));
            EXPECT_TRUE(r) << r.error().message();
        }
        return std::move(*p);
    }

    static v1::ControllerCommand batch(const apply_plan& p) {
        v1::ControllerCommand c;
        c.set_principal("User:admin");
        *c.mutable_apply_batch() = p.batch;
        return c;
    }

    static v1::DesiredState::Topic* topic(v1::ApplyRequest& req, const std::string& name,
                                          int partitions) {
        req.mutable_desired()->set_has_topics(true);
        auto* t = req.mutable_desired()->add_topics();
        t->set_name(name);
        t->set_partitions(partitions);
        t->set_replication_factor(1);
        return t;
    }

    static std::string summary(const apply_plan& p) {
        std::string out;
        for (const auto& pc : p.changes) {
            out += fmt::format("{} {} {}", v1::ChangeAction_Name(pc.change.action()),
                               v1::ObjectKind_Name(pc.change.object().kind()),
                               pc.change.object().name());
            for (const auto& f : pc.change.fields()) {
                out += fmt::format(" [{}: {} -> {}]", f.field(), f.has_before() ? f.before() : "-",
                                   f.has_after() ? f.after() : "-");
            }
            if (pc.error) {
                out += " ERROR " + pc.error->detail;
            }
            out += "\n";
        }
        return out;
    }

    stm::controller_stm _stm;
    uint64_t _index = 0;

  private:
    log_level _saved = log_level::info;
};

TEST_F(apply_plan_test, creates_everything_then_a_second_plan_is_empty) {
    v1::ApplyRequest req;
    req.set_owner("ci");
    auto* t = topic(req, "orders", 3);
    (*t->mutable_configs())["retention.ms"] = "86400000";
    auto* d = req.mutable_desired();
    d->set_has_users(true);
    auto* u = d->add_users();
    u->set_name("alice");
    u->set_password("alice-secret-password");
    d->set_has_roles(true);
    auto* r = d->add_roles();
    r->set_name("ops");
    r->add_members("alice");
    d->set_has_acls(true);
    auto* a = d->add_acls();
    a->set_resource_type(v1::ACL_RESOURCE_TOPIC);
    a->set_resource_name("orders");
    a->set_pattern_type(v1::ACL_PATTERN_LITERAL);
    a->set_principal("User:alice");
    a->set_host("*");
    a->set_operation(v1::ACL_OPERATION_READ);
    a->set_permission(v1::ACL_PERMISSION_ALLOW);
    d->set_has_cluster_config(true);
    (*d->mutable_cluster_config())["default_topic_partitions"] = "2";

    const auto first = apply(req);
    EXPECT_EQ(summary(first),
              "CHANGE_CREATE OBJECT_TOPIC orders [partitions: - -> 3] [replication_factor: - -> "
              "1] [configs.retention.ms: - -> 86400000]\n"
              "CHANGE_CREATE OBJECT_ACL ALLOW User:alice * topic literal:orders read [binding: - "
              "-> ALLOW User:alice * topic literal:orders read]\n"
              "CHANGE_CREATE OBJECT_USER alice [mechanism: - -> SCRAM-SHA-256] [password: - -> "
              "(redacted)]\n"
              "CHANGE_CREATE OBJECT_ROLE ops [members: - -> User:alice]\n"
              "CHANGE_UPDATE OBJECT_CLUSTER_CONFIG default_topic_partitions [value: 1 (default) "
              "-> 2]\n");
    ASSERT_NE(_stm.topics().find("orders"), nullptr);
    ASSERT_NE(_stm.users().find("alice"), nullptr);
    EXPECT_EQ(_stm.owner_of(first.changes[0].change.object()), "ci");

    // The same file again: nothing to do, the password included (it is
    // checked against the stored SCRAM keys, not re-set).
    auto second = plan(req);
    ASSERT_TRUE(second);
    EXPECT_EQ(summary(*second), "");
    EXPECT_EQ(second->batch.commands_size(), 0);
}

TEST_F(apply_plan_test, updates_show_field_diffs_and_impossible_changes_are_errors) {
    v1::ApplyRequest req;
    auto* t = topic(req, "orders", 3);
    (*t->mutable_configs())["retention.ms"] = "1000";
    (*t->mutable_configs())["cleanup.policy"] = "delete";
    apply(req);

    v1::ApplyRequest grow;
    auto* g = topic(grow, "orders", 5);
    (*g->mutable_configs())["retention.ms"] = "2000";
    const auto p = apply(grow);
    EXPECT_EQ(summary(p),
              "CHANGE_UPDATE OBJECT_TOPIC orders [partitions: 3 -> 5] [configs.retention.ms: "
              "1000 -> 2000] [configs.cleanup.policy: delete -> -]\n");
    EXPECT_EQ(_stm.topics().find("orders")->partitions_size(), 5);
    EXPECT_EQ(_stm.topics().find("orders")->configs().count("cleanup.policy"), 0U);

    v1::ApplyRequest shrink;
    auto* s = topic(shrink, "orders", 2);
    s->set_replication_factor(3);
    auto bad = plan(shrink);
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->errors, 1U);
    EXPECT_EQ(bad->batch.commands_size(), 0);
    ASSERT_EQ(bad->changes.size(), 1U);
    ASSERT_TRUE(bad->changes[0].error);
    EXPECT_EQ(bad->changes[0].error->code, make_error_code(errc::invalid_replication_factor));

    v1::ApplyRequest fewer;
    topic(fewer, "orders", 2);
    bad = plan(fewer);
    ASSERT_TRUE(bad);
    ASSERT_TRUE(bad->changes[0].error);
    EXPECT_EQ(bad->changes[0].error->code, make_error_code(errc::invalid_partitions));
    EXPECT_NE(bad->changes[0].error->detail.find("never loses partitions"), std::string::npos);

    v1::ApplyRequest bad_config;
    (*topic(bad_config, "orders", 5)->mutable_configs())["retention.ms"] = "soon";
    bad = plan(bad_config);
    ASSERT_TRUE(bad);
    ASSERT_EQ(bad->changes.size(), 1U);
    ASSERT_TRUE(bad->changes[0].error);
    EXPECT_EQ(bad->changes[0].error->field, "configs.retention.ms");
}

TEST_F(apply_plan_test, a_plan_whose_objects_moved_is_refused_whole_naming_them) {
    v1::ApplyRequest req;
    topic(req, "orders", 1);
    apply(req);

    // Two applies planned at the same revision: both grow "orders" and
    // create a topic of their own.
    v1::ApplyRequest a;
    topic(a, "orders", 2);
    topic(a, "a-only", 1);
    v1::ApplyRequest b;
    topic(b, "orders", 3);
    topic(b, "b-only", 1);
    auto pa = plan(a);
    auto pb = plan(b);
    ASSERT_TRUE(pa && pb);
    ASSERT_TRUE(commit(batch(*pa)));
    const std::string before = _stm.snapshot();
    auto refused = commit(batch(*pb));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.code(), make_error_code(errc::conflict));
    EXPECT_NE(refused.error().detail.find("topic \"orders\" changed since the plan"),
              std::string::npos)
        << refused.error().detail;
    // Nothing of b landed, not even the topic nobody else touched.
    EXPECT_EQ(_stm.topics().find("b-only"), nullptr);
    EXPECT_EQ(_stm.snapshot(), before);
    EXPECT_EQ(_stm.topics().find("orders")->partitions_size(), 2);
}

TEST_F(apply_plan_test, a_refused_batch_of_every_kind_leaves_the_state_as_it_was) {
    v1::ApplyRequest setup;
    (*topic(setup, "existing", 1)->mutable_configs())["retention.ms"] = "1000";
    setup.mutable_desired()->set_has_roles(true);
    setup.mutable_desired()->add_roles()->set_name("old-role");
    apply(setup);
    const revision_id before_revision = _stm.revision();

    // Every kind at once: a new topic, an existing one grown and altered,
    // config, a user, a role and its member, a binding, the old role gone.
    v1::ApplyRequest req;
    req.set_owner("ci");
    req.set_prune(true);
    topic(req, "new-topic", 2);
    (*topic(req, "existing", 3)->mutable_configs())["retention.ms"] = "2000";
    auto* d = req.mutable_desired();
    d->set_has_cluster_config(true);
    (*d->mutable_cluster_config())["default_topic_partitions"] = "5";
    d->set_has_users(true);
    auto* u = d->add_users();
    u->set_name("carol");
    u->set_password("carol-password-1");
    d->set_has_roles(true);
    auto* r = d->add_roles();
    r->set_name("new-role");
    r->add_members("carol");
    d->set_has_acls(true);
    auto* a = d->add_acls();
    a->set_resource_type(v1::ACL_RESOURCE_TOPIC);
    a->set_resource_name("new-topic");
    a->set_pattern_type(v1::ACL_PATTERN_LITERAL);
    a->set_principal("User:carol");
    a->set_host("*");
    a->set_operation(v1::ACL_OPERATION_WRITE);
    a->set_permission(v1::ACL_PERMISSION_ALLOW);
    auto p = plan(req);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->errors, 0U);
    v1::ApplyBatch b = p->batch;
    b.add_commands()->mutable_delete_role()->set_name("old-role");
    b.add_commands()->mutable_delete_topic()->set_name("missing");  // refused at apply
    v1::ControllerCommand c;
    *c.mutable_apply_batch() = b;
    const std::string before = _stm.snapshot();
    auto refused = commit(c);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.code(), make_error_code(errc::unknown_topic));
    EXPECT_EQ(_stm.snapshot(), before);
    EXPECT_EQ(_stm.revision(), before_revision);
    auto deltas = _stm.changes_after(before_revision);
    ASSERT_TRUE(deltas);
    EXPECT_TRUE(deltas->empty()) << "a refused batch's deltas must not reach a watcher";
    EXPECT_NE(_stm.roles().find("old-role"), nullptr);

    // The same plan without the bad command lands whole.
    ASSERT_TRUE(commit(batch(*p)));
    EXPECT_EQ(_stm.topics().find("existing")->partitions_size(), 3);
    EXPECT_NE(_stm.users().find("carol"), nullptr);
    EXPECT_EQ(_stm.cluster_config().find("default_topic_partitions")->value(), "5");
}

TEST_F(apply_plan_test, a_batch_lands_whole_or_not_at_all) {
    v1::ApplyRequest req;
    topic(req, "first", 1);
    auto p = plan(req);
    ASSERT_TRUE(p);
    // A second command that fails at apply (its topic does not exist).
    v1::ApplyBatch b = p->batch;
    auto* del = b.add_commands()->mutable_delete_topic();
    del->set_name("missing");
    v1::ControllerCommand c;
    *c.mutable_apply_batch() = b;
    const std::string before = _stm.snapshot();
    auto r = commit(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), make_error_code(errc::unknown_topic));
    EXPECT_EQ(r.error().field.rfind("commands[1]", 0), 0U) << r.error().detail;
    EXPECT_EQ(_stm.topics().find("first"), nullptr);
    EXPECT_EQ(_stm.snapshot(), before);

    // Nested batches and session commands are refused as a shape.
    v1::ControllerCommand nested;
    *nested.mutable_apply_batch()->add_commands() = c;
    r = commit(nested);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "commands[0]");
}

TEST_F(apply_plan_test, prune_deletes_only_what_the_same_owner_created) {
    v1::ApplyRequest ci;
    ci.set_owner("ci");
    topic(ci, "ci-topic", 1);
    topic(ci, "shared", 1);
    apply(ci);
    v1::ApplyRequest other;
    other.set_owner("other");
    topic(other, "other-topic", 1);
    apply(other);
    v1::ApplyRequest by_hand;  // no owner: like `fjord topic create`
    topic(by_hand, "by-hand", 1);
    apply(by_hand);

    // "shared" was deleted and made again by hand: no longer ci's.
    v1::ControllerCommand del;
    del.mutable_delete_topic()->set_name("shared");
    ASSERT_TRUE(commit(del));
    v1::ApplyRequest again;
    topic(again, "shared", 1);
    apply(again);

    // The snapshot keeps the owners (a restarted member plans the same).
    stm::controller_stm restored;
    ASSERT_TRUE(restored.restore(_stm.snapshot(), _stm.applied()));
    EXPECT_EQ(restored.owned_by("ci").size(), 1U);

    v1::ApplyRequest prune;
    prune.set_owner("ci");
    prune.set_prune(true);
    prune.mutable_desired()->set_has_topics(true);
    const auto p = apply(prune);
    EXPECT_EQ(summary(p), "CHANGE_DELETE OBJECT_TOPIC ci-topic\n");
    EXPECT_EQ(_stm.topics().find("ci-topic"), nullptr);
    EXPECT_NE(_stm.topics().find("shared"), nullptr);
    EXPECT_NE(_stm.topics().find("other-topic"), nullptr);
    EXPECT_NE(_stm.topics().find("by-hand"), nullptr);

    // An absent list leaves its kind alone, and prune needs an owner.
    v1::ApplyRequest nothing;
    nothing.set_owner("other");
    nothing.set_prune(true);
    EXPECT_EQ(summary(apply(nothing)), "");
    v1::ApplyRequest anonymous;
    anonymous.set_prune(true);
    auto refused = plan(anonymous);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().field, "owner");
}

TEST_F(apply_plan_test, a_changed_password_is_an_update_that_never_shows_the_password) {
    v1::ApplyRequest req;
    req.mutable_desired()->set_has_users(true);
    auto* u = req.mutable_desired()->add_users();
    u->set_name("bob");
    u->set_password("first-password-1");
    apply(req);
    u->set_password("second-password-2");
    const auto p = apply(req);
    EXPECT_EQ(summary(p), "CHANGE_UPDATE OBJECT_USER bob [password: (redacted) -> (redacted)]\n");
    EXPECT_EQ(summary(*plan(req)), "");

    u->set_password("");
    auto refused = plan(req);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().field, "desired.users[0].password");
}

TEST_F(apply_plan_test, a_role_is_not_pruned_with_bindings_someone_else_made) {
    v1::ApplyRequest req;
    req.set_owner("ci");
    req.mutable_desired()->set_has_roles(true);
    req.mutable_desired()->add_roles()->set_name("ops");
    apply(req);
    // An admin grants the role something by hand.
    v1::ControllerCommand grant;
    auto* b = grant.mutable_create_acls()->add_bindings();
    b->set_resource_type(v1::ACL_RESOURCE_TOPIC);
    b->set_resource_name("payments");
    b->set_pattern_type(v1::ACL_PATTERN_LITERAL);
    b->set_principal("Role:ops");
    b->set_host("*");
    b->set_operation(v1::ACL_OPERATION_READ);
    b->set_permission(v1::ACL_PERMISSION_ALLOW);
    ASSERT_TRUE(commit(grant));

    v1::ApplyRequest prune;
    prune.set_owner("ci");
    prune.set_prune(true);
    prune.mutable_desired()->set_has_roles(true);
    auto p = plan(prune);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->errors, 1U);
    EXPECT_EQ(p->batch.commands_size(), 0);
    ASSERT_EQ(p->changes.size(), 1U);
    ASSERT_TRUE(p->changes[0].error);
    EXPECT_NE(p->changes[0].error->detail.find("Role:ops * topic literal:payments read"),
              std::string::npos)
        << p->changes[0].error->detail;
}

TEST_F(apply_plan_test, a_batch_deletes_bindings_only_by_exact_filters) {
    v1::ControllerCommand c;
    auto* f = c.mutable_apply_batch()->add_commands()->mutable_delete_acls()->add_filters();
    f->set_resource_type(v1::ACL_RESOURCE_ANY);  // would match every binding
    auto r = commit(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "commands[0].delete_acls");
}

TEST_F(apply_plan_test, a_config_key_set_by_hand_is_never_owned_or_pruned) {
    v1::ControllerCommand by_hand;
    (*by_hand.mutable_set_cluster_config()->mutable_upsert())["log_retention_ms"] = "1000";
    ASSERT_TRUE(commit(by_hand));
    v1::ApplyRequest req;
    req.set_owner("ci");
    req.mutable_desired()->set_has_cluster_config(true);
    (*req.mutable_desired()->mutable_cluster_config())["log_retention_ms"] = "2000";
    (*req.mutable_desired()->mutable_cluster_config())["default_topic_partitions"] = "3";
    apply(req);
    const auto key = [](const std::string& k) {
        v1::ObjectRef o;
        o.set_kind(v1::OBJECT_CLUSTER_CONFIG);
        o.set_name(k);
        return o;
    };
    EXPECT_EQ(_stm.owner_of(key("log_retention_ms")), std::nullopt);
    EXPECT_EQ(_stm.owner_of(key("default_topic_partitions")), "ci");

    v1::ApplyRequest prune;
    prune.set_owner("ci");
    prune.set_prune(true);
    prune.mutable_desired()->set_has_cluster_config(true);
    const auto p = apply(prune);
    EXPECT_EQ(summary(p),
              "CHANGE_DELETE OBJECT_CLUSTER_CONFIG default_topic_partitions [value: 3 -> 1 "
              "(default)]\n");
    EXPECT_EQ(_stm.cluster_config().find("log_retention_ms")->value(), "2000");
}

TEST_F(apply_plan_test, a_topic_taking_a_default_fails_if_the_default_moved) {
    v1::ApplyRequest req;
    req.mutable_desired()->set_has_topics(true);
    auto* t = req.mutable_desired()->add_topics();
    t->set_name("defaulted");
    t->set_partitions(-1);
    t->set_replication_factor(-1);
    auto p = plan(req);
    ASSERT_TRUE(p);
    v1::ControllerCommand change;
    (*change.mutable_set_cluster_config()->mutable_upsert())["default_topic_partitions"] = "7";
    ASSERT_TRUE(commit(change));
    auto r = commit(batch(*p));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), make_error_code(errc::conflict));
    EXPECT_NE(r.error().detail.find("default_topic_partitions"), std::string::npos);
}

}  // namespace
}  // namespace fjord::frontend
