// File: controller/stm/stm_unit_test.cc
//
// Unit tests of what the datadriven scenarios cannot reach easily: snapshot
// images that parse but break a table invariant, typed config reads over
// values a different schema wrote, schema edge cases, and change-log limits.

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "common/cluster/config_schema.h"
#include "common/cluster/errc.h"
#include "common/log.h"
#include "common/security/scram.h"
#include "controller/stm/commands.h"
#include "controller/stm/controller_stm.h"

namespace fjord::stm {

using cluster::cluster_config_schema;
using cluster::config_schema;
using cluster::errc;
using cluster::error_category;
using cluster::property;
using cluster::topic_config_schema;
namespace {

class stm_unit : public ::testing::Test {
  protected:
    void SetUp() override {
        _saved = current_log_level();
        set_log_level(log_level::off);
    }
    void TearDown() override { set_log_level(_saved); }

    static v1::Topic topic(const std::string& name) {
        v1::Topic t;
        t.set_name(name);
        t.set_uuid("00000000-0000-4000-8000-000000000001");
        t.set_replication_factor(1);
        v1::PartitionAssignment* p = t.add_partitions();
        p->add_replicas(1);
        p->set_leader(1);
        return t;
    }

    // A state with one broker and one topic, at index 2.
    static controller_stm populated() {
        controller_stm stm;
        v1::ControllerCommand reg;
        reg.mutable_register_broker()->mutable_broker()->set_id(1);
        reg.mutable_register_broker()->mutable_broker()->set_incarnation("i");
        EXPECT_TRUE(stm.apply_command(log_index{1}, reg.SerializeAsString()));
        v1::ControllerCommand create;
        *create.mutable_create_topic()->mutable_topic() = topic("orders");
        EXPECT_TRUE(stm.apply_command(log_index{2}, create.SerializeAsString()));
        return stm;
    }

  private:
    log_level _saved = log_level::info;
};

TEST_F(stm_unit, restore_refuses_images_that_break_invariants) {
    controller_stm stm = populated();
    const std::string before = stm.snapshot();

    const auto refused = [&](const v1::ClusterState& s, log_index index, const std::string& why) {
        const result<void> r = stm.restore(s.SerializeAsString(), index);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.code(), make_error_code(errc::internal));
        EXPECT_NE(r.error().detail.find(why), std::string::npos) << r.error().detail;
        EXPECT_EQ(stm.snapshot(), before);
        EXPECT_EQ(stm.applied(), log_index{2});
    };

    v1::ClusterState dup;
    *dup.add_topics() = topic("a");
    *dup.add_topics() = topic("a");
    refused(dup, log_index{5}, "already exists");

    v1::ClusterState collide;
    *collide.add_topics() = topic("a.b");
    *collide.add_topics() = topic("a_b");
    refused(collide, log_index{5}, "collides");

    v1::ClusterState future;
    future.set_revision(9);
    refused(future, log_index{5}, "beyond the snapshot index");

    v1::ClusterState brokers;
    brokers.add_brokers()->set_id(3);
    brokers.add_brokers()->set_id(3);
    refused(brokers, log_index{5}, "broker 3 appears twice");

    v1::ClusterState shape;
    v1::Topic bad = topic("t");
    bad.set_replication_factor(2);
    bad.mutable_partitions(0)->add_replicas(1);
    *shape.add_topics() = bad;
    refused(shape, log_index{5}, "appears twice");
}

TEST_F(stm_unit, restore_refuses_migration_images_that_break_invariants) {
    controller_stm stm = populated();
    const std::string before = stm.snapshot();
    const auto refused = [&](const v1::ClusterState& s, const std::string& why) {
        const result<void> r = stm.restore(s.SerializeAsString(), log_index{5});
        ASSERT_FALSE(r) << why;
        EXPECT_NE(r.error().detail.find(why), std::string::npos) << r.error().detail;
        EXPECT_EQ(stm.snapshot(), before);
    };
    v1::Migration m;
    m.set_id(3);
    m.set_type(v1::MIGRATION_TYPE_UNMOUNT);
    m.set_state(v1::MIGRATION_STATE_PLANNED);
    v1::ClusterState twice;
    *twice.add_migrations() = m;
    *twice.add_migrations() = m;
    twice.set_next_migration_id(4);
    refused(twice, "appears twice");
    v1::ClusterState ahead;  // an id the table would hand out again
    *ahead.add_migrations() = m;
    ahead.set_next_migration_id(3);
    refused(ahead, "not below next_migration_id 3");
    v1::ClusterState zero;
    m.set_id(0);
    *zero.add_migrations() = m;
    zero.set_next_migration_id(4);
    refused(zero, "bad id");

    // A good one round-trips, and the next id is never reused.
    v1::ClusterState good;
    m.set_id(3);
    *good.add_migrations() = m;
    good.set_next_migration_id(7);
    controller_stm fresh;
    ASSERT_TRUE(fresh.restore(good.SerializeAsString(), log_index{5}));
    EXPECT_EQ(fresh.migrations().next_id(), 7);
    EXPECT_NE(fresh.migrations().find(3), nullptr);
    EXPECT_EQ(fresh.full_state().next_migration_id(), 7);
}

TEST_F(stm_unit, restore_refuses_security_images_that_break_invariants) {
    controller_stm stm = populated();
    const std::string before = stm.snapshot();
    const auto refused = [&](const v1::ClusterState& s, const std::string& why) {
        const result<void> r = stm.restore(s.SerializeAsString(), log_index{5});
        ASSERT_FALSE(r) << why;
        EXPECT_NE(r.error().detail.find(why), std::string::npos) << r.error().detail;
        EXPECT_EQ(stm.snapshot(), before);
    };
    auto cred = security::make_scram_credential(security::scram_mechanism::sha256, "pw");
    v1::User u;
    u.set_name("alice");
    u.mutable_credential()->set_mechanism("SCRAM-SHA-256");
    u.mutable_credential()->set_salt(cred->salt);
    u.mutable_credential()->set_iterations(cred->iterations);
    u.mutable_credential()->set_stored_key(cred->stored_key);
    u.mutable_credential()->set_server_key(cred->server_key);

    v1::ClusterState users;
    *users.add_users() = u;
    *users.add_users() = u;
    refused(users, "appears twice");
    v1::ClusterState keyless;
    *keyless.add_users() = u;
    keyless.mutable_users(0)->mutable_credential()->clear_stored_key();
    refused(keyless, "stored_key");

    v1::AclBinding b;
    b.set_resource_type(v1::ACL_RESOURCE_TOPIC);
    b.set_resource_name("orders");
    b.set_pattern_type(v1::ACL_PATTERN_LITERAL);
    b.set_principal("User:alice");
    b.set_host("*");
    b.set_operation(v1::ACL_OPERATION_READ);
    b.set_permission(v1::ACL_PERMISSION_ALLOW);
    v1::ClusterState acls;
    *acls.add_acls() = b;
    *acls.add_acls() = b;
    refused(acls, "appears twice");
    v1::ClusterState any;
    *any.add_acls() = b;
    any.mutable_acls(0)->set_operation(v1::ACL_OPERATION_ANY);
    refused(any, "operation");

    v1::ClusterState roles;
    roles.add_roles()->set_name("a:b");
    refused(roles, "misnamed");

    // A sound image round-trips, and the authorizer follows the restore.
    v1::ClusterState good;
    good.set_revision(4);
    *good.add_users() = u;
    *good.add_acls() = b;
    v1::Role* ops = good.add_roles();
    ops->set_name("ops");
    ops->add_members("User:bob");
    ASSERT_TRUE(stm.restore(good.SerializeAsString(), log_index{5}));
    EXPECT_EQ(stm.users().all().size(), 1u);
    EXPECT_TRUE(stm.authorizer()->allowed(security::principal::user("alice"), "1.2.3.4",
                                          security::acl_operation::read,
                                          security::resource_type::topic, "orders"));
    EXPECT_EQ(stm.full_state().SerializeAsString(), good.SerializeAsString());
}

TEST_F(stm_unit, restore_round_trips_and_continues) {
    controller_stm stm = populated();
    controller_stm other;
    ASSERT_TRUE(other.restore(stm.snapshot(), stm.applied()));
    EXPECT_EQ(other.snapshot(), stm.snapshot());
    EXPECT_EQ(other.applied(), log_index{2});
    EXPECT_EQ(other.revision(), revision_id{2});
    EXPECT_EQ(other.horizon(), revision_id{2});
    EXPECT_FALSE(other.changes_after(revision_id{1}).has_value());
    ASSERT_TRUE(other.changes_after(revision_id{2}).has_value());
    EXPECT_TRUE(other.changes_after(revision_id{2})->empty());

    v1::ControllerCommand del;
    del.mutable_delete_topic()->set_name("orders");
    ASSERT_TRUE(stm.apply_command(log_index{3}, del.SerializeAsString()));
    ASSERT_TRUE(other.apply_command(log_index{3}, del.SerializeAsString()));
    EXPECT_EQ(other.snapshot(), stm.snapshot());
}

TEST_F(stm_unit, empty_entries_and_no_retained_deltas) {
    stm_config cfg;
    cfg.max_retained_deltas = 0;
    controller_stm stm(cfg);
    EXPECT_TRUE(stm.apply_command(log_index{1}, ""));
    EXPECT_EQ(stm.applied(), log_index{1});
    EXPECT_EQ(stm.revision(), revision_id{0});
    v1::ControllerCommand init;
    init.mutable_init_cluster()->set_cluster_uuid("00000000-0000-4000-8000-000000000001");
    ASSERT_TRUE(stm.apply_command(log_index{2}, init.SerializeAsString()));
    EXPECT_EQ(stm.horizon(), revision_id{2});
    EXPECT_FALSE(stm.changes_after(revision_id{1}).has_value());
    EXPECT_TRUE(stm.changes_after(revision_id{2})->empty());
}

TEST_F(stm_unit, typed_config_reads_fall_back_to_the_default) {
    // A value written without validation (a proposer with another schema)
    // reads as the default, the same on every member.
    controller_stm stm;
    v1::ControllerCommand set;
    (*set.mutable_set_cluster_config()->mutable_upsert())["default_topic_partitions"] = "many";
    (*set.mutable_set_cluster_config()->mutable_upsert())["enable_sasl"] = "yes";
    (*set.mutable_set_cluster_config()->mutable_upsert())["future_key"] = "1";
    ASSERT_TRUE(stm.apply_command(log_index{1}, set.SerializeAsString()));
    EXPECT_EQ(stm.cluster_config().int_value("default_topic_partitions"), 1);
    EXPECT_FALSE(stm.cluster_config().bool_value("enable_sasl"));
    EXPECT_EQ(stm.cluster_config().value("default_topic_partitions"), "many");
    ASSERT_NE(stm.cluster_config().find("future_key"), nullptr);
    const auto all = stm.cluster_config().effective({});
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), cluster_config_schema().properties().size());
}

TEST_F(stm_unit, schema_values_and_publication) {
    const config_schema& topic = topic_config_schema();
    EXPECT_EQ(*topic.validate("retention.ms", "-1"), "-1");
    EXPECT_EQ(*topic.validate("retention.ms", "-0"), "0");
    EXPECT_EQ(*topic.validate("cleanup.policy", " delete , compact "), "delete,compact");
    EXPECT_FALSE(topic.validate("retention.ms", ""));
    EXPECT_FALSE(topic.validate("retention.ms", " 5"));
    EXPECT_FALSE(topic.validate("retention.ms", "9223372036854775808"));
    EXPECT_FALSE(topic.validate("cleanup.policy", "delete,"));
    EXPECT_EQ(topic.validate("nope", "1").code(), make_error_code(errc::invalid_config));
    // Doubles: canonical as the shortest text that reads back the same.
    EXPECT_EQ(*topic.validate("min.cleanable.dirty.ratio", "0.50"), "0.5");
    EXPECT_EQ(*topic.validate("min.cleanable.dirty.ratio", "1.0"), "1");
    EXPECT_EQ(*topic.validate("min.cleanable.dirty.ratio", "-0"), "0");
    EXPECT_EQ(*topic.validate("min.cleanable.dirty.ratio", "1e-3"), "0.001");
    for (const char* bad :
         {"", " 0.5", "+0.5", "0.5 ", "half", "nan", "inf", "1.5", "-0.1", "0x1p-1", "1e400"}) {
        EXPECT_FALSE(topic.validate("min.cleanable.dirty.ratio", bad)) << bad;
    }

    const auto props = cluster_config_schema().to_proto();
    ASSERT_FALSE(props.empty());
    for (const v1::ConfigProperty& p : props) {
        EXPECT_FALSE(p.description().empty()) << p.name();
        EXPECT_FALSE(p.type().empty()) << p.name();
        // Every default is a valid value of its own property.
        EXPECT_TRUE(cluster_config_schema().validate(p.name(), p.default_value())) << p.name();
    }
    for (const property& p : topic.properties()) {
        EXPECT_TRUE(topic.validate(p.name, p.default_value)) << p.name;
        if (!p.cluster_default.empty()) {
            // A topic property's cluster default has the same type and range.
            const property* c = cluster_config_schema().find(p.cluster_default);
            ASSERT_NE(c, nullptr) << p.name;
            EXPECT_EQ(c->type, p.type) << p.name;
            EXPECT_EQ(c->min, p.min) << p.name;
            EXPECT_EQ(c->max, p.max) << p.name;
        }
    }
    // FIPS mode is each node's own setting (its config file), never a
    // cluster property that would be accepted and not honoured.
    EXPECT_EQ(cluster_config_schema().find("fips_mode"), nullptr);
}

TEST_F(stm_unit, error_category) {
    const std::error_code ec = make_error_code(errc::topic_already_exists);
    EXPECT_STREQ(ec.category().name(), "controller");
    EXPECT_EQ(ec.message(), "topic already exists");
    EXPECT_EQ(to_string(errc::invalid_replication_factor), "invalid_replication_factor");
    const error_info e(errc::unknown_topic, "name: topic \"x\" does not exist");
    EXPECT_EQ(e.message(), "controller: unknown topic: name: topic \"x\" does not exist");
}

// --------------------------------------------------------------- sessions

v1::ControllerCommand in_session(v1::ControllerCommand c, const std::string& client, uint64_t seq,
                                 int64_t time_ms, uint64_t first_outstanding = 0) {
    c.mutable_session()->set_client_id(client);
    c.mutable_session()->set_seq(seq);
    c.mutable_session()->set_first_outstanding(first_outstanding);
    c.set_time_ms(time_ms);
    return c;
}

v1::ControllerCommand delete_topic(const std::string& name) {
    v1::ControllerCommand c;
    c.mutable_delete_topic()->set_name(name);
    return c;
}

// The CLI's failure: its create committed, the answer was lost, and the retry
// reported the command's own topic as already existing. With a session the
// retry gets the first outcome, and applies nothing, even after another
// client deleted the topic in between (a retried create must not recreate it).
TEST_F(stm_unit, a_retried_session_command_gets_its_first_outcome_and_applies_nothing) {
    controller_stm stm = populated();
    v1::ControllerCommand create;
    *create.mutable_create_topic()->mutable_topic() = topic("payments");
    const std::string first = in_session(create, "cli-a", 1, 1000).SerializeAsString();
    ASSERT_TRUE(stm.apply_command(log_index{3}, first));
    ASSERT_TRUE(stm.apply_command(log_index{4}, delete_topic("payments").SerializeAsString()));
    const revision_id before = stm.revision();

    const result<void> retry = stm.apply_command(log_index{5}, first);
    EXPECT_TRUE(retry) << retry.error().message();
    EXPECT_EQ(stm.topics().find("payments"), nullptr);
    EXPECT_EQ(stm.revision(), before);

    // A refusal is remembered the same way: a retried delete of a topic that
    // someone recreated in between must not delete the new one.
    const std::string del = in_session(delete_topic("ghost"), "cli-a", 2, 1001).SerializeAsString();
    const result<void> refused = stm.apply_command(log_index{6}, del);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.code(), make_error_code(errc::unknown_topic));
    v1::ControllerCommand recreate;
    *recreate.mutable_create_topic()->mutable_topic() = topic("ghost");
    ASSERT_TRUE(stm.apply_command(log_index{7}, recreate.SerializeAsString()));
    const result<void> again = stm.apply_command(log_index{8}, del);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.code(), make_error_code(errc::unknown_topic));
    EXPECT_NE(stm.topics().find("ghost"), nullptr);

    // Without a session the same bytes apply each time (the old behaviour).
    const result<void> plain = stm.apply_command(log_index{9}, recreate.SerializeAsString());
    EXPECT_EQ(plain.code(), make_error_code(errc::topic_already_exists));
}

// A retry refused on the leader's tables is recorded in the log
// (make_record_refusal): its earlier attempt, applied after it, gets the
// refusal instead of applying; applied before it, its outcome answers both.
TEST_F(stm_unit, a_recorded_refusal_stops_its_earlier_attempt_and_yields_to_one_applied_first) {
    controller_stm stm = populated();
    v1::CommandSession ses;
    ses.set_client_id("cli-r");
    ses.set_seq(1);
    const error_info no_topic =
        error_info::for_field(errc::unknown_topic, "name", "topic \"late\" does not exist");
    const std::string record =
        make_record_refusal(ses, no_topic, {"admin", 1000}).SerializeAsString();
    const result<void> recorded = stm.apply_command(log_index{3}, record);
    ASSERT_FALSE(recorded);
    EXPECT_EQ(recorded.code(), make_error_code(errc::unknown_topic));
    EXPECT_EQ(recorded.error().field, "name");
    EXPECT_EQ(recorded.error().detail, no_topic.detail);
    v1::ControllerCommand create;
    *create.mutable_create_topic()->mutable_topic() = topic("late");
    ASSERT_TRUE(stm.apply_command(log_index{4}, create.SerializeAsString()));
    const result<void> late = stm.apply_command(
        log_index{5}, in_session(delete_topic("late"), "cli-r", 1, 1001).SerializeAsString());
    EXPECT_EQ(late.code(), make_error_code(errc::unknown_topic));
    EXPECT_NE(stm.topics().find("late"), nullptr);

    // The other order: the earlier attempt applied first; the record answers with it.
    ses.set_seq(2);
    ASSERT_TRUE(stm.apply_command(
        log_index{6}, in_session(delete_topic("late"), "cli-r", 2, 1002).SerializeAsString()));
    const result<void> answered = stm.apply_command(
        log_index{7}, make_record_refusal(ses, no_topic, {"admin", 1003}).SerializeAsString());
    EXPECT_TRUE(answered) << answered.error().message();

    // Without a session, or with a code that is no refusal, nothing is recorded.
    v1::ControllerCommand bare = make_record_refusal(ses, no_topic, {"admin", 1004});
    bare.clear_session();
    EXPECT_EQ(stm.apply_command(log_index{8}, bare.SerializeAsString()).code(),
              make_error_code(errc::internal));
    ses.set_seq(3);
    v1::ControllerCommand zero = make_record_refusal(ses, no_topic, {"admin", 1005});
    zero.mutable_record_refusal()->set_code(0);
    EXPECT_EQ(stm.apply_command(log_index{9}, zero.SerializeAsString()).code(),
              make_error_code(errc::internal));
}

TEST_F(stm_unit, sessions_forget_what_the_client_gave_up_and_expire_by_log_time) {
    controller_stm stm = populated();
    v1::ControllerCommand create;
    *create.mutable_create_topic()->mutable_topic() = topic("a");
    const std::string seq1 = in_session(create, "c", 1, 1000).SerializeAsString();
    ASSERT_TRUE(stm.apply_command(log_index{3}, seq1));
    // Request 2 says the client awaits nothing below 2: request 1 is given up.
    ASSERT_TRUE(stm.apply_command(
        log_index{4}, in_session(delete_topic("a"), "c", 2, 1001, 2).SerializeAsString()));
    const result<void> late = stm.apply_command(log_index{5}, seq1);
    ASSERT_FALSE(late);
    EXPECT_EQ(late.code(), make_error_code(errc::outcome_unknown));
    EXPECT_EQ(stm.topics().find("a"), nullptr);

    // Log time, not wall time: an idle session goes once a later command's
    // time passes its last activity by the ttl, on every member alike.
    EXPECT_EQ(stm.sessions().size(), 1u);
    v1::ControllerCommand other;
    *other.mutable_create_topic()->mutable_topic() = topic("b");
    ASSERT_TRUE(stm.apply_command(
        log_index{6}, in_session(other, "d", 1, 1001 + session_table::ttl_ms).SerializeAsString()));
    EXPECT_EQ(stm.sessions().size(), 2u);
    *other.mutable_create_topic()->mutable_topic() = topic("c");
    ASSERT_TRUE(stm.apply_command(
        log_index{7}, in_session(other, "d", 2, 1002 + session_table::ttl_ms).SerializeAsString()));
    EXPECT_EQ(stm.sessions().size(), 1u);  // "c" expired; "d" is active
}

TEST_F(stm_unit, sessions_survive_snapshot_and_restore) {
    controller_stm stm = populated();
    v1::ControllerCommand create;
    *create.mutable_create_topic()->mutable_topic() = topic("a");
    const std::string cmd = in_session(create, "c", 7, 5000).SerializeAsString();
    ASSERT_TRUE(stm.apply_command(log_index{3}, cmd));
    ASSERT_TRUE(stm.apply_command(log_index{4}, delete_topic("a").SerializeAsString()));

    controller_stm restored;
    ASSERT_TRUE(restored.restore(stm.snapshot(), stm.applied()));
    EXPECT_EQ(restored.snapshot(), stm.snapshot());
    EXPECT_EQ(restored.sessions().clock_ms(), 5000);
    ASSERT_TRUE(restored.apply_command(log_index{5}, cmd));
    EXPECT_EQ(restored.topics().find("a"), nullptr);  // answered, not applied
    // Watch's image carries no sessions.
    EXPECT_EQ(stm.full_state().sessions_size(), 0);
}

// Every refusal code a session can remember must load from a snapshot again,
// the newest ones included: a member that cannot restore its snapshot cannot
// restart (found in review: the bound stopped at outcome_unknown).
TEST_F(stm_unit, sessions_remembering_every_refusal_code_survive_snapshot_and_restore) {
    controller_stm stm = populated();
    v1::CommandSession ses;
    ses.set_client_id("every-code");
    for (int code = 1; code <= static_cast<int>(cluster::last_errc); ++code) {
        ses.set_seq(static_cast<uint64_t>(code));
        const error_info e(static_cast<errc>(code), "refused");
        ASSERT_FALSE(stm.apply_command(
            log_index{stm.applied().value() + 1},
            make_record_refusal(ses, e, {"admin", 1000 + code}).SerializeAsString()));
    }
    controller_stm restored;
    const auto r = restored.restore(stm.snapshot(), stm.applied());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(restored.snapshot(), stm.snapshot());
}

TEST_F(stm_unit, malformed_sessions_are_refused_not_applied) {
    controller_stm stm = populated();
    v1::ControllerCommand create;
    *create.mutable_create_topic()->mutable_topic() = topic("a");
    for (const auto& [client, seq, first] : {std::tuple<std::string, uint64_t, uint64_t>{"", 1, 0},
                                             {std::string(65, 'x'), 1, 0},
                                             {"c", 0, 0},
                                             {"c", 2, 3}}) {
        const result<void> r =
            stm.apply_command(log_index{stm.applied().value() + 1},
                              in_session(create, client, seq, 1, first).SerializeAsString());
        ASSERT_FALSE(r);
        EXPECT_EQ(r.code(), make_error_code(errc::invalid_argument));
        EXPECT_EQ(r.error().detail.rfind("session.", 0), 0u) << r.error().detail;
    }
    EXPECT_EQ(stm.topics().find("a"), nullptr);
}

// A proposer whose clock lags the log's by more than the ttl must not
// create sessions that are born expired: the retry below would then delete
// the topic another client recreated. (Found in review.)
TEST_F(stm_unit, a_lagging_proposer_clock_does_not_turn_sessions_off) {
    controller_stm stm = populated();
    v1::ControllerCommand create;
    *create.mutable_create_topic()->mutable_topic() = topic("t");
    const int64_t now = 100 * session_table::ttl_ms;
    ASSERT_TRUE(
        stm.apply_command(log_index{3}, in_session(create, "b", 1, now).SerializeAsString()));
    const int64_t behind = now - 2 * session_table::ttl_ms;
    const std::string del = in_session(delete_topic("t"), "a", 1, behind).SerializeAsString();
    ASSERT_TRUE(stm.apply_command(log_index{4}, del));
    ASSERT_TRUE(
        stm.apply_command(log_index{5}, in_session(create, "b", 2, now).SerializeAsString()));
    ASSERT_TRUE(stm.apply_command(log_index{6}, del));  // the retry: answered, not applied
    EXPECT_NE(stm.topics().find("t"), nullptr);
    EXPECT_EQ(stm.sessions().size(), 2u);
}

// Every item of a request is remembered, however many there are: a batch
// larger than max_outcomes applies whole, and its retry is answered whole.
TEST_F(stm_unit, a_batch_larger_than_the_outcome_limit_is_remembered_whole) {
    controller_stm stm = populated();
    const size_t n = session_table::max_outcomes + 5;
    std::vector<std::string> cmds;
    for (size_t i = 0; i < n; ++i) {
        v1::ControllerCommand create;
        *create.mutable_create_topic()->mutable_topic() = topic(fmt::format("t{}", i));
        v1::ControllerCommand c = in_session(create, "c", 1, 1000);
        c.mutable_session()->set_item(static_cast<uint32_t>(i));
        cmds.push_back(c.SerializeAsString());
    }
    uint64_t index = 3;
    for (const auto& c : cmds) {
        const result<void> r = stm.apply_command(log_index{index++}, c);
        ASSERT_TRUE(r) << r.error().message();
    }
    for (const auto& c : cmds) {
        const result<void> r = stm.apply_command(log_index{index++}, c);
        ASSERT_TRUE(r) << r.error().message();
    }
    EXPECT_EQ(stm.topics().all().size(), n + 1);  // and "orders"
}

}  // namespace
}  // namespace fjord::stm
