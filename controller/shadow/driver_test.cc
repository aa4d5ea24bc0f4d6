// File: controller/shadow/driver_test.cc
//
// The shadow driver's decisions (plan.h) against a real controller_stm,
// and the driver (driver.h) against a fake source cluster: task states,
// retries with backoff, pauses, leadership. Shadow topics the tests start
// from are put in the state through a snapshot (restore), as a follower
// would receive them.

#include "controller/shadow/driver.h"

#include <gtest/gtest.h>

#include <mutex>

#include <fmt/format.h>

#include "common/cluster/errc.h"
#include "common/cluster/shadow_link.h"
#include "common/log.h"
#include "common/security/acl_proto.h"
#include "controller/shadow/plan.h"
#include "controller/stm/commands.h"

namespace fjord::shadow {
namespace {

constexpr const char* cluster_uuid = "11111111-1111-4111-8111-111111111111";
constexpr const char* link_uuid = "33333333-3333-4333-8333-333333333333";
constexpr const char* source_id = "44444444-4444-4444-8444-000000000001";

// ------------------------------------------------------------ a source

/// A source cluster: its topics, their explicitly set configs, its ACLs.
struct fake_cluster {
    bool reachable = true;
    std::string id = "source-cluster";
    std::map<std::string, source_topic> topics;
    std::map<std::string, std::map<std::string, std::string>> configs;
    std::vector<v1::AclBinding> acls;
    /// DescribeAcls answers this instead (an authorization failure).
    std::optional<error_info> acl_error;
    int connects = 0;

    void add_topic(const std::string& name, int32_t partitions, int32_t rf = 3,
                   std::map<std::string, std::string> values = {}) {
        source_topic t;
        t.name = name;
        t.id = fmt::format("44444444-4444-4444-8444-{:012d}", topics.size() + 1);
        t.partitions = partitions;
        t.replication_factor = rf;
        topics[name] = t;
        configs[name] = std::move(values);
    }
};

class fake_client final : public source_client {
  public:
    explicit fake_client(fake_cluster& c) : _c(c) {}
    result<source_metadata> metadata() override {
        if (auto r = reachable(); !r) {
            return r.error();
        }
        source_metadata m;
        m.cluster_id = _c.id;
        m.topics = _c.topics;
        return m;
    }
    result<std::set<std::string>> absent_topics(const std::vector<std::string>& names) override {
        if (auto r = reachable(); !r) {
            return r.error();
        }
        std::set<std::string> out;
        for (const auto& n : names) {
            if (_c.topics.count(n) == 0) {
                out.insert(n);
            }
        }
        return out;
    }
    result<std::map<std::string, std::map<std::string, std::string>>> topic_configs(
        const std::vector<std::string>& topics, const std::vector<std::string>& keys) override {
        if (auto r = reachable(); !r) {
            return r.error();
        }
        std::map<std::string, std::map<std::string, std::string>> out;
        for (const auto& t : topics) {
            auto it = _c.configs.find(t);
            if (it == _c.configs.end()) {
                continue;
            }
            auto& values = out[t];
            for (const auto& k : keys) {
                if (auto v = it->second.find(k); v != it->second.end()) {
                    values[k] = v->second;
                }
            }
        }
        return out;
    }
    result<std::vector<v1::AclBinding>> describe_acls(const v1::AclFilter& f) override {
        if (auto r = reachable(); !r) {
            return r.error();
        }
        if (_c.acl_error) {
            return *_c.acl_error;
        }
        auto filter = security::filter_from_proto(f);
        EXPECT_TRUE(filter) << filter.error().message();
        std::vector<v1::AclBinding> out;
        for (const auto& b : _c.acls) {
            auto m = security::binding_from_proto(b);
            if (!m || security::matches(*filter, *m)) {
                out.push_back(b);  // one this cluster cannot read is sent on as is
            }
        }
        return out;
    }

  private:
    result<void> reachable() {
        if (!_c.reachable) {
            return error_info(cluster::errc::shadow_link_unreachable,
                              "127.0.0.1:19092: cannot connect: Connection refused");
        }
        return ok();
    }
    fake_cluster& _c;
};

// ------------------------------------------------------------ a controller

class test_host final : public driver_host {
  public:
    stm::controller_stm stm;
    fake_cluster source;
    /// Set: links() answers this instead of the state (a link state the
    /// API cannot set yet: PAUSED).
    std::optional<std::vector<v1::ShadowLink>> links_override;
    bool leader = true;
    std::map<int32_t, broker_view> brokers;
    std::vector<v1::ControllerCommand> proposed;
    std::map<std::string, std::vector<v1::ShadowTaskStatus>> published;
    int publishes = 0;

    void read(const std::function<void(const stm::controller_stm&)>& fn) override {
        std::lock_guard g(_mu);
        fn(stm);
    }
    std::vector<v1::ShadowLink> links() override {
        if (links_override) {
            return *links_override;
        }
        std::lock_guard g(_mu);
        std::vector<v1::ShadowLink> out;
        for (const auto& [name, l] : stm.shadow_links().all()) {
            out.push_back(l);
        }
        return out;
    }
    result<void> propose(const v1::ControllerCommand& cmd) override {
        std::lock_guard g(_mu);
        proposed.push_back(cmd);
        return stm.apply_command(stm.applied() + 1, cmd.SerializeAsString());
    }
    bool is_leader() override { return leader; }
    result<void> linearize() override {
        return leader ? ok() : result<void>(error_info(cluster::errc::not_leader, "follower"));
    }
    int64_t now_ms() override { return _clock += 1000; }
    std::string new_uuid() override {
        return fmt::format("22222222-2222-4222-8222-{:012d}", ++_uuids);
    }
    broker_view liveness(int32_t id, const std::string&) override {
        auto it = brokers.find(id);
        return it == brokers.end() ? broker_view{} : it->second;
    }
    result<std::unique_ptr<source_client>> connect(const v1::ShadowLink&) override {
        ++source.connects;
        if (!source.reachable) {
            return error_info(cluster::errc::shadow_link_unreachable,
                              "127.0.0.1:19092: cannot connect: Connection refused");
        }
        return std::unique_ptr<source_client>(std::make_unique<fake_client>(source));
    }
    void publish_tasks(const std::string& link, std::vector<v1::ShadowTaskStatus> tasks) override {
        ++publishes;
        published[link] = std::move(tasks);
    }

    template <typename R>
    void must(R r) {
        ASSERT_TRUE(r) << r.error().message();
        if constexpr (std::is_same_v<R, result<std::optional<v1::ControllerCommand>>>) {
            ASSERT_TRUE(r->has_value());
            auto a = stm.apply_command(stm.applied() + 1, (*r)->SerializeAsString());
            ASSERT_TRUE(a) << a.error().message();
        } else {
            auto a = stm.apply_command(stm.applied() + 1, r->SerializeAsString());
            ASSERT_TRUE(a) << a.error().message();
        }
    }
    stm::command_meta meta() { return {"test", now_ms()}; }

    /// Puts `t` in the state as a snapshot would (the way tests start from
    /// shadow topics without proposing them).
    void install_topic(const v1::Topic& t) {
        v1::ClusterState cs = stm.snapshot_image();
        *cs.add_topics() = t;
        auto r = stm.restore(cs.SerializeAsString(), stm.applied() + 1);
        ASSERT_TRUE(r) << r.error().message();
    }

    const std::string& task_state(const std::string& link, std::string_view task) {
        static const std::string none = "(none)";
        for (const auto& s : published[link]) {
            if (s.name() == task) {
                return s.state();
            }
        }
        return none;
    }
    std::string task_reason(const std::string& link, std::string_view task) {
        for (const auto& s : published[link]) {
            if (s.name() == task) {
                return s.reason();
            }
        }
        return "(none)";
    }

  private:
    std::mutex _mu;
    int64_t _clock = 0;
    int _uuids = 0;
};

v1::ShadowNameFilter filter(v1::ShadowPatternType p, v1::ShadowFilterType f, std::string name) {
    v1::ShadowNameFilter out;
    out.set_pattern_type(p);
    out.set_filter_type(f);
    out.set_name(std::move(name));
    return out;
}

v1::AclBinding binding(std::string principal, std::string topic,
                       v1::AclOperation op = v1::ACL_OPERATION_READ) {
    v1::AclBinding b;
    b.set_resource_type(v1::ACL_RESOURCE_TOPIC);
    b.set_resource_name(std::move(topic));
    b.set_pattern_type(v1::ACL_PATTERN_LITERAL);
    b.set_principal(std::move(principal));
    b.set_host("*");
    b.set_operation(op);
    b.set_permission(v1::ACL_PERMISSION_ALLOW);
    return b;
}

class shadow_test : public ::testing::Test {
  protected:
    void SetUp() override {
        _saved = current_log_level();
        set_log_level(log_level::error);
        for (int32_t id = 1; id <= 3; ++id) {
            v1::Broker b;
            b.set_id(id);
            b.set_incarnation(fmt::format("inc-{}", id));
            auto* e = b.add_endpoints();
            e->set_name("kafka");
            e->set_host("h");
            e->set_port(9092);
            host.must(stm::make_register_broker(host.stm, b, false, host.meta()));
            host.brokers[id] = broker_view{true, 0};
        }
        host.must(stm::make_init_cluster(host.stm, cluster_uuid, host.meta()));

        link.set_name("dr");
        auto* cfg = link.mutable_config();
        cfg->mutable_client_options()->add_bootstrap_servers("127.0.0.1:19092");
        auto* topics = cfg->mutable_topic_metadata_sync_options();
        *topics->add_auto_create_shadow_topic_filters() =
            filter(v1::SHADOW_PATTERN_PREFIX, v1::SHADOW_FILTER_INCLUDE, "orders");
        *topics->add_auto_create_shadow_topic_filters() =
            filter(v1::SHADOW_PATTERN_LITERAL, v1::SHADOW_FILTER_EXCLUDE, "orders.tmp");
        v1::AclFilter all_topics;
        all_topics.set_resource_type(v1::ACL_RESOURCE_TOPIC);
        *cfg->mutable_security_sync_options()->add_acl_filters() = all_topics;
        host.must(stm::make_create_shadow_link(host.stm, link, link_uuid, host.meta()));
        link = *host.stm.shadow_links().find("dr");
    }
    void TearDown() override { set_log_level(_saved); }

    /// Stores `link` as changed by the test (UpdateShadowLink).
    void update_link() {
        host.must(stm::make_update_shadow_link(host.stm, link, host.meta()));
        link = *host.stm.shadow_links().find("dr");
    }

    /// A shadow topic of `link` in `state`, placed on broker 1..3.
    v1::Topic shadow_topic(const std::string& name, int32_t partitions, v1::ShadowTopicState state,
                           std::map<std::string, std::string> configs = {}) {
        v1::Topic t;
        t.set_name(name);
        t.set_uuid(host.new_uuid());
        t.set_replication_factor(1);
        for (int32_t p = 0; p < partitions; ++p) {
            auto* a = t.add_partitions();
            a->set_partition(p);
            a->add_replicas(1 + p % 3);
            a->set_leader(-1);
        }
        for (auto& [k, v] : configs) {
            (*t.mutable_configs())[k] = v;
        }
        auto* sh = t.mutable_shadow();
        sh->set_link(link.name());
        sh->set_link_uuid(link.uuid());
        sh->set_source_topic(name);
        sh->set_source_topic_id(host.source.topics.count(name) ? host.source.topics[name].id : "");
        sh->set_state(state);
        sh->set_start_at(-2);
        return t;
    }

    topic_sync_input source_view() {
        topic_sync_input in;
        in.source.cluster_id = host.source.id;
        in.source.topics = host.source.topics;
        fake_client c(host.source);
        topic_sync_questions q = topic_sync_questions_of(host.stm, link, in.source);
        in.configs = *c.topic_configs(q.describe, synced_keys(link));
        in.absent = *c.absent_topics(q.check_absent);
        return in;
    }

    plan topic_plan() {
        return plan_topic_sync(
            host.stm, link, source_view(), [&] { return host.new_uuid(); }, host.meta());
    }

    log_level _saved = log_level::info;
    test_host host;
    v1::ShadowLink link;
};

// ------------------------------------------------------------ Source Topic Sync

TEST_F(shadow_test, new_source_topics_passing_the_filters_become_shadow_topics) {
    host.source.add_topic("orders", 3, 3,
                          {{"retention.ms", "86400000"},
                           {"cleanup.policy", "delete"},
                           {"segment.bytes", "1048576"}});  // not synced
    host.source.add_topic("orders.tmp", 1);                 // excluded
    host.source.add_topic("payments", 1);                   // no filter matches
    host.source.add_topic("__consumer_offsets", 50);        // system topic
    const plan p = topic_plan();
    ASSERT_EQ(p.commands.size(), 1u) << fmt::format("{}", fmt::join(p.notes, "; "));
    EXPECT_TRUE(p.notes.empty()) << fmt::format("{}", fmt::join(p.notes, "; "));
    const v1::CreateShadowTopic& c = p.commands[0].create_shadow_topic();
    EXPECT_EQ(p.commands[0].principal(), "test");
    EXPECT_EQ(c.link(), "dr");
    EXPECT_EQ(c.link_uuid(), link_uuid);
    const v1::Topic& t = c.topic();
    EXPECT_EQ(t.name(), "orders");
    EXPECT_EQ(t.partitions_size(), 3);
    EXPECT_EQ(t.replication_factor(), 3);
    for (const auto& a : t.partitions()) {
        EXPECT_EQ(a.replicas_size(), 3);
    }
    EXPECT_EQ(t.configs().size(), 2);
    EXPECT_EQ(t.configs().at("retention.ms"), "86400000");
    EXPECT_EQ(t.configs().at("cleanup.policy"), "delete");
    EXPECT_EQ(t.shadow().link(), "dr");
    EXPECT_EQ(t.shadow().link_uuid(), link_uuid);
    EXPECT_EQ(t.shadow().source_topic(), "orders");
    EXPECT_EQ(t.shadow().source_topic_id(), source_id);
    EXPECT_EQ(t.shadow().state(), v1::SHADOW_TOPIC_STATE_ACTIVE);
    EXPECT_EQ(t.shadow().start_at(), -2);  // earliest by default
}

TEST_F(shadow_test, two_new_topics_are_placed_counting_each_other) {
    host.source.add_topic("orders.a", 3, 1);
    host.source.add_topic("orders.b", 3, 1);
    const plan p = topic_plan();
    ASSERT_EQ(p.commands.size(), 2u);
    std::map<int32_t, int> leaders;
    for (const auto& cmd : p.commands) {
        for (const auto& a : cmd.create_shadow_topic().topic().partitions()) {
            ++leaders[a.replicas(0)];
        }
    }
    // Six partitions over three brokers: two each, not the same three twice.
    EXPECT_EQ(leaders, (std::map<int32_t, int>{{1, 2}, {2, 2}, {3, 2}}));
    EXPECT_NE(p.commands[0].create_shadow_topic().topic().uuid(),
              p.commands[1].create_shadow_topic().topic().uuid());
}

TEST_F(shadow_test, the_replication_factor_is_the_sources_within_what_this_cluster_places) {
    EXPECT_EQ(shadow_replication_factor(host.stm, link, 5), 3);  // three active brokers
    EXPECT_EQ(shadow_replication_factor(host.stm, link, 3), 3);
    EXPECT_EQ(shadow_replication_factor(host.stm, link, 2), 1);  // odd here
    EXPECT_EQ(shadow_replication_factor(host.stm, link, 1), 1);
    link.mutable_config()->mutable_topic_metadata_sync_options()->set_exclude_default(true);
    // Not synced: this cluster's default (1).
    EXPECT_EQ(shadow_replication_factor(host.stm, link, 3),
              host.stm.cluster_config().int_value("default_topic_replications"));
}

TEST_F(shadow_test, start_at_and_synced_properties_follow_the_link) {
    auto* o = link.mutable_config()->mutable_topic_metadata_sync_options();
    o->set_start_at_latest(true);
    o->set_exclude_default(true);  // only the always-synced ones
    o->add_synced_shadow_topic_properties("segment.bytes");
    host.source.add_topic(
        "orders", 1, 1,
        {{"retention.ms", "1000"}, {"max.message.bytes", "2000000"}, {"segment.bytes", "1048576"}});
    const plan p = topic_plan();
    ASSERT_EQ(p.commands.size(), 1u);
    const v1::Topic& t = p.commands[0].create_shadow_topic().topic();
    EXPECT_EQ(t.shadow().start_at(), -1);
    EXPECT_EQ(t.configs().count("retention.ms"), 0u);
    EXPECT_EQ(t.configs().at("max.message.bytes"), "2000000");
    EXPECT_EQ(t.configs().at("segment.bytes"), "1048576");
}

TEST_F(shadow_test, a_topic_of_that_name_that_is_no_shadow_of_the_link_is_reported) {
    v1::CreateTopicsRequest::Item item;
    item.set_name("orders");
    item.set_partitions(1);
    item.set_replication_factor(1);
    host.must(stm::make_create_topic(host.stm, item, host.new_uuid(), host.meta()));
    host.source.add_topic("orders", 4);
    host.source.add_topic("orders_x", 1);
    v1::Topic other = shadow_topic("orders.x", 1, v1::SHADOW_TOPIC_STATE_ACTIVE);
    other.mutable_shadow()->set_link_uuid("55555555-5555-4555-8555-555555555555");
    host.install_topic(other);
    host.source.add_topic("orders.x", 1);
    const plan p = topic_plan();
    EXPECT_TRUE(p.commands.empty());
    EXPECT_EQ(p.notes,
              (std::vector<std::string>{
                  "topic \"orders\" exists here and is not a shadow of this link; not shadowed",
                  "topic \"orders.x\" exists here and is not a shadow of this link; not shadowed",
                  "source topic \"orders_x\" not shadowed: \"orders_x\" collides with "
                  "existing topic \"orders.x\" ('.' and '_' are the same in metric names)"}));
}

TEST_F(shadow_test, partition_increases_and_synced_values_follow_the_source) {
    host.source.add_topic("orders", 5, 1, {{"retention.ms", "1000"}, {"compression.type", "zstd"}});
    host.install_topic(shadow_topic("orders", 2, v1::SHADOW_TOPIC_STATE_ACTIVE,
                                    {{"retention.ms", "5000"},
                                     {"retention.bytes", "100"},       // gone at the source
                                     {"segment.bytes", "1048576"}}));  // not synced: kept
    const plan p = topic_plan();
    ASSERT_EQ(p.commands.size(), 1u) << fmt::format("{}", fmt::join(p.notes, "; "));
    const v1::SyncShadowTopic& s = p.commands[0].sync_shadow_topic();
    EXPECT_EQ(s.topic(), "orders");
    EXPECT_EQ(s.link_uuid(), link_uuid);
    ASSERT_EQ(s.new_partitions_size(), 3);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(s.new_partitions(i).partition(), 2 + i);
        EXPECT_EQ(s.new_partitions(i).replicas_size(), 1);
    }
    EXPECT_EQ(s.configs().size(), 2);
    EXPECT_EQ(s.configs().at("retention.ms"), "1000");
    EXPECT_EQ(s.configs().at("compression.type"), "zstd");
    const std::vector<std::string> keys(s.synced_keys().begin(), s.synced_keys().end());
    EXPECT_EQ(keys, synced_keys(link));
    EXPECT_NE(std::find(keys.begin(), keys.end(), "retention.bytes"), keys.end());
    EXPECT_EQ(std::find(keys.begin(), keys.end(), "segment.bytes"), keys.end());
}

TEST_F(shadow_test, a_shadow_topic_in_step_with_its_source_needs_nothing) {
    host.source.add_topic("orders", 2, 1, {{"retention.ms", "1000"}});
    host.install_topic(
        shadow_topic("orders", 2, v1::SHADOW_TOPIC_STATE_PAUSED, {{"retention.ms", "1000"}}));
    const plan p = topic_plan();
    EXPECT_TRUE(p.commands.empty());
    EXPECT_TRUE(p.notes.empty());
    // Failed-over topics are no longer followed at all.
    host.source.topics["orders"].partitions = 4;
    v1::ClusterState cs = host.stm.snapshot_image();
    cs.mutable_topics(0)->mutable_shadow()->set_state(v1::SHADOW_TOPIC_STATE_FAILED_OVER);
    ASSERT_TRUE(host.stm.restore(cs.SerializeAsString(), host.stm.applied() + 1));
    EXPECT_TRUE(topic_plan().commands.empty());
}

TEST_F(shadow_test, a_source_topic_gone_faults_its_shadow_topic) {
    host.source.add_topic("orders", 1);
    host.install_topic(shadow_topic("orders", 1, v1::SHADOW_TOPIC_STATE_ACTIVE));
    host.source.topics.clear();
    const plan p = topic_plan();
    ASSERT_EQ(p.commands.size(), 1u);
    const v1::SetShadowTopicState& c = p.commands[0].set_shadow_topic_state();
    EXPECT_EQ(c.topic(), "orders");
    EXPECT_EQ(c.from(), v1::SHADOW_TOPIC_STATE_ACTIVE);
    EXPECT_EQ(c.to(), v1::SHADOW_TOPIC_STATE_FAULTED);
    EXPECT_EQ(c.reason(), "source topic deleted");
    EXPECT_EQ(c.link_uuid(), link_uuid);

    // Left out of the listing but not said to be absent (this link may not
    // describe it): noted, never faulted.
    topic_sync_input in = source_view();
    in.absent.clear();
    const plan q = plan_topic_sync(
        host.stm, link, in, [&] { return host.new_uuid(); }, host.meta());
    EXPECT_TRUE(q.commands.empty());
    ASSERT_EQ(q.notes.size(), 1u);
    EXPECT_NE(q.notes[0].find("not listed by the source"), std::string::npos);
}

TEST_F(shadow_test, a_source_topic_recreated_under_the_same_name_faults_its_shadow_topic) {
    host.source.add_topic("orders", 1);
    host.install_topic(shadow_topic("orders", 1, v1::SHADOW_TOPIC_STATE_ACTIVE));
    host.source.topics["orders"].id = "44444444-4444-4444-8444-999999999999";
    const plan p = topic_plan();
    ASSERT_EQ(p.commands.size(), 1u);
    EXPECT_EQ(p.commands[0].set_shadow_topic_state().to(), v1::SHADOW_TOPIC_STATE_FAULTED);
    EXPECT_EQ(p.commands[0].set_shadow_topic_state().reason(),
              fmt::format("source topic deleted and recreated (topic id "
                          "44444444-4444-4444-8444-999999999999, was {})",
                          source_id));
}

TEST_F(shadow_test, a_source_value_this_cluster_refuses_is_noted_and_left_out) {
    host.source.add_topic("orders", 1, 1,
                          {{"cleanup.policy", "sometimes"}, {"retention.ms", "1000"}});
    const plan p = topic_plan();
    ASSERT_EQ(p.commands.size(), 1u);
    const v1::Topic& t = p.commands[0].create_shadow_topic().topic();
    EXPECT_EQ(t.configs().count("cleanup.policy"), 0u);
    EXPECT_EQ(t.configs().at("retention.ms"), "1000");
    ASSERT_EQ(p.notes.size(), 1u);
    EXPECT_NE(p.notes[0].find("topic \"orders\": the source's cleanup.policy=sometimes is not "
                              "accepted here"),
              std::string::npos)
        << p.notes[0];
}

// ------------------------------------------------------------ Security Migrator

TEST_F(shadow_test, acl_sync_creates_what_is_missing_and_removes_what_the_source_dropped) {
    // Here already: not created again.
    host.must(stm::make_create_acl(host.stm, binding("User:bob", "orders"), host.meta()));
    // Synced before; the source dropped it.
    *link.add_synced_acls() = binding("User:old", "orders");
    // Synced before and still there: kept.
    *link.add_synced_acls() = binding("User:bob", "orders");
    const std::vector<v1::AclBinding> source = {
        binding("User:alice", "orders"), binding("User:bob", "orders"),
        binding("User:alice", "orders"),  // the union of two filters may repeat one
        binding("Group:ops", "orders"),   // a principal type this cluster does not know
    };
    const plan p = plan_acl_sync(host.stm, link, source, host.meta());
    ASSERT_EQ(p.commands.size(), 1u);
    const v1::SyncShadowAcls& c = p.commands[0].sync_shadow_acls();
    EXPECT_EQ(c.link(), "dr");
    EXPECT_EQ(c.link_uuid(), link_uuid);
    ASSERT_EQ(c.create_size(), 1);
    EXPECT_EQ(c.create(0).principal(), "User:alice");
    ASSERT_EQ(c.remove_size(), 1);
    EXPECT_EQ(c.remove(0).principal(), "User:old");
    ASSERT_EQ(p.notes.size(), 1u);
    EXPECT_NE(p.notes[0].find("source ACL for Group:ops on \"orders\" not synced"),
              std::string::npos)
        << p.notes[0];
    // In step: nothing to propose.
    link.clear_synced_acls();
    *link.add_synced_acls() = binding("User:bob", "orders");
    host.must(stm::make_create_acl(host.stm, binding("User:alice", "orders"), host.meta()));
    EXPECT_TRUE(plan_acl_sync(host.stm, link, source, host.meta()).commands.empty());
}

// ------------------------------------------------------------ failover completion

TEST_F(shadow_test, failover_completes_once_every_live_broker_applied_its_revision) {
    v1::Topic t = shadow_topic("orders", 1, v1::SHADOW_TOPIC_STATE_FAILING_OVER);
    t.mutable_shadow()->set_state_revision(40);
    host.install_topic(t);
    host.brokers = {{1, {true, 41}}, {2, {true, 39}}, {3, {true, 12}}};
    plan p = plan_failover_completion(host.stm, link, host.brokers, host.meta());
    EXPECT_TRUE(p.commands.empty());
    EXPECT_EQ(p.notes, (std::vector<std::string>{
                           "topic \"orders\" fails over once brokers 2, 3 apply revision 40"}));
    host.brokers[2].applied_revision = 40;
    host.brokers[3].alive = false;  // a dead broker does not block
    p = plan_failover_completion(host.stm, link, host.brokers, host.meta());
    ASSERT_EQ(p.commands.size(), 1u);
    const v1::SetShadowTopicState& c = p.commands[0].set_shadow_topic_state();
    EXPECT_EQ(c.topic(), "orders");
    EXPECT_EQ(c.from(), v1::SHADOW_TOPIC_STATE_FAILING_OVER);
    EXPECT_EQ(c.to(), v1::SHADOW_TOPIC_STATE_FAILED_OVER);
    EXPECT_EQ(c.link_uuid(), link_uuid);
    // A broker not heard from since this leadership began is alive with
    // nothing applied: it blocks until its first heartbeat.
    host.brokers[3] = {true, 0};
    EXPECT_TRUE(
        plan_failover_completion(host.stm, link, host.brokers, host.meta()).commands.empty());
}

// ------------------------------------------------------------ the driver

TEST_F(shadow_test, an_unreachable_source_makes_the_tasks_link_unavailable_and_retry) {
    host.source.reachable = false;
    driver d(host);
    d.run_once();
    EXPECT_EQ(host.task_state("dr", topic_sync_task), "LINK_UNAVAILABLE");
    EXPECT_EQ(host.task_reason("dr", topic_sync_task),
              "127.0.0.1:19092: cannot connect: Connection refused");
    EXPECT_EQ(host.task_state("dr", security_task), "LINK_UNAVAILABLE");
    EXPECT_EQ(host.source.connects, 1);  // one dial per pass, shared by the tasks
    for (const auto& s : host.published["dr"]) {
        EXPECT_EQ(s.link(), "dr");
        EXPECT_EQ(s.broker_id(), -1);
        EXPECT_EQ(s.shard(), 0);
    }
    // Not due again before the backoff (100 ms at first).
    d.run_once();
    EXPECT_EQ(host.source.connects, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    d.run_once();
    EXPECT_EQ(host.source.connects, 2);
    const int publishes = host.publishes;
    // The source returns: the tasks run and are ACTIVE again.
    host.source.reachable = true;
    d.make_due();
    d.run_once();
    EXPECT_EQ(host.task_state("dr", topic_sync_task), "ACTIVE");
    EXPECT_EQ(host.task_state("dr", security_task), "ACTIVE");
    EXPECT_GT(host.publishes, publishes);
}

TEST_F(shadow_test, a_source_of_another_cluster_is_unavailable_naming_both_ids) {
    link.mutable_config()->mutable_client_options()->set_source_cluster_id("the-right-one");
    update_link();
    driver d(host);
    d.run_once();
    EXPECT_EQ(host.task_state("dr", topic_sync_task), "LINK_UNAVAILABLE");
    EXPECT_EQ(host.task_reason("dr", topic_sync_task),
              "the source is cluster \"source-cluster\", not \"the-right-one\" "
              "(client_options.source_cluster_id)");
    EXPECT_TRUE(host.proposed.empty());
}

TEST_F(shadow_test, a_refusal_by_the_source_faults_the_task_with_the_reason) {
    host.source.acl_error =
        error_info(cluster::errc::invalid_argument,
                   "the source 127.0.0.1:19092 refused DescribeAcls: CLUSTER_AUTHORIZATION_FAILED");
    driver d(host);
    d.run_once();
    EXPECT_EQ(host.task_state("dr", security_task), "FAULTED");
    EXPECT_EQ(host.task_reason("dr", security_task),
              "the source 127.0.0.1:19092 refused DescribeAcls: CLUSTER_AUTHORIZATION_FAILED");
    EXPECT_EQ(host.task_state("dr", topic_sync_task), "ACTIVE");
}

TEST_F(shadow_test, paused_tasks_and_links_do_not_run) {
    host.source.add_topic("orders", 1, 1);
    link.mutable_config()->mutable_topic_metadata_sync_options()->set_paused(true);
    update_link();
    driver d(host);
    d.run_once();
    EXPECT_EQ(host.task_state("dr", topic_sync_task), "PAUSED");
    EXPECT_EQ(host.task_state("dr", security_task), "ACTIVE");
    for (const auto& cmd : host.proposed) {
        EXPECT_FALSE(cmd.has_create_shadow_topic());
    }
    link.mutable_config()->mutable_topic_metadata_sync_options()->set_paused(false);
    link.set_state(v1::SHADOW_LINK_STATE_PAUSED);
    host.links_override = std::vector<v1::ShadowLink>{link};
    const int connects = host.source.connects;
    d.make_due();
    d.run_once();
    EXPECT_EQ(host.task_state("dr", topic_sync_task), "PAUSED");
    EXPECT_EQ(host.task_reason("dr", security_task), "the link is paused");
    EXPECT_EQ(host.source.connects, connects);
}

TEST_F(shadow_test, only_the_leader_drives_and_a_deleted_link_is_unpublished) {
    host.leader = false;
    driver d(host);
    EXPECT_EQ(d.run_once(), 0u);
    EXPECT_EQ(host.source.connects, 0);
    EXPECT_TRUE(host.published.empty());
    host.leader = true;
    d.run_once();
    EXPECT_EQ(host.published["dr"].size(), 2u);
    // Leadership lost: a follower's states are not current.
    host.leader = false;
    d.run_once();
    EXPECT_TRUE(host.published["dr"].empty());
    host.leader = true;
    d.run_once();
    EXPECT_EQ(host.published["dr"].size(), 2u);
    host.must(stm::make_delete_shadow_link(host.stm, "dr", false, host.meta()));
    d.run_once();
    EXPECT_TRUE(host.published["dr"].empty());
}

// ------------------------------------------------------------ the driver, applied

TEST_F(shadow_test, the_source_is_followed_by_a_driver_thrown_away_after_every_pass) {
    host.source.add_topic("orders", 2, 1, {{"retention.ms", "1000"}});
    host.source.add_topic("orders.tmp", 1, 1);
    host.source.add_topic("payments", 1, 1);
    host.source.acls = {binding("User:alice", "orders")};
    // A leader crash between passes: a new driver each time, nothing kept.
    const auto pass = [&] { return driver(host).run_once(); };

    EXPECT_EQ(pass(), 2u);  // the topic, the ACLs
    const v1::Topic* t = host.stm.topics().find("orders");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->partitions_size(), 2);
    EXPECT_EQ(t->configs().at("retention.ms"), "1000");
    EXPECT_EQ(t->shadow().link_uuid(), link_uuid);
    EXPECT_EQ(t->shadow().state(), v1::SHADOW_TOPIC_STATE_ACTIVE);
    EXPECT_GT(t->shadow().state_revision(), 0u);
    EXPECT_EQ(host.stm.topics().find("orders.tmp"), nullptr);
    EXPECT_EQ(host.stm.topics().find("payments"), nullptr);
    ASSERT_NE(host.stm.acls().find(*security::binding_from_proto(binding("User:alice", "orders"))),
              nullptr);
    ASSERT_EQ(host.stm.shadow_links().find("dr")->synced_acls_size(), 1);
    EXPECT_EQ(host.task_state("dr", topic_sync_task), "ACTIVE");
    EXPECT_EQ(host.task_reason("dr", topic_sync_task), "");

    // In step: a pass proposes nothing.
    const size_t proposals = host.proposed.size();
    EXPECT_EQ(pass(), 0u);
    EXPECT_EQ(host.proposed.size(), proposals);

    // The source grows and changes.
    host.source.topics["orders"].partitions = 4;
    host.source.configs["orders"]["retention.ms"] = "2000";
    host.source.acls = {binding("User:bob", "orders")};
    EXPECT_EQ(pass(), 2u);
    t = host.stm.topics().find("orders");
    EXPECT_EQ(t->partitions_size(), 4);
    EXPECT_EQ(t->partitions(3).partition(), 3);
    EXPECT_EQ(t->configs().at("retention.ms"), "2000");
    EXPECT_EQ(host.stm.acls().find(*security::binding_from_proto(binding("User:alice", "orders"))),
              nullptr);
    EXPECT_NE(host.stm.acls().find(*security::binding_from_proto(binding("User:bob", "orders"))),
              nullptr);
    ASSERT_EQ(host.stm.shadow_links().find("dr")->synced_acls_size(), 1);
    EXPECT_EQ(host.stm.shadow_links().find("dr")->synced_acls(0).principal(), "User:bob");

    // The source topic goes: its shadow faults, and stays so.
    host.source.topics.erase("orders");
    EXPECT_EQ(pass(), 1u);
    t = host.stm.topics().find("orders");
    EXPECT_EQ(t->shadow().state(), v1::SHADOW_TOPIC_STATE_FAULTED);
    EXPECT_EQ(t->shadow().reason(), "source topic deleted");
    EXPECT_EQ(pass(), 0u);
}

TEST_F(shadow_test, a_stale_leaders_proposals_apply_once_or_are_refused) {
    host.source.add_topic("orders", 2, 1);
    const plan create = topic_plan();
    ASSERT_EQ(create.commands.size(), 1u);
    ASSERT_TRUE(host.propose(create.commands[0]));
    // The same creation again (a new leader that planned before it applied).
    auto again = host.propose(create.commands[0]);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, cluster::errc::topic_already_exists);

    host.source.topics["orders"].partitions = 3;
    const plan grow = topic_plan();
    ASSERT_EQ(grow.commands.size(), 1u);
    ASSERT_TRUE(host.propose(grow.commands[0]));
    again = host.propose(grow.commands[0]);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, cluster::errc::conflict);
    EXPECT_EQ(host.stm.topics().find("orders")->partitions_size(), 3);

    // The link is deleted and created again: a plan made with the old uuid
    // is refused and creates nothing under the new link.
    host.source.add_topic("orders.new", 1, 1);
    const plan stale = topic_plan();
    ASSERT_EQ(stale.commands.size(), 1u);
    host.must(stm::make_delete_shadow_link(host.stm, "dr", true, host.meta()));
    v1::ShadowLink fresh = link;
    fresh.clear_uuid();
    fresh.clear_synced_acls();
    host.must(stm::make_create_shadow_link(host.stm, fresh, "66666666-6666-4666-8666-666666666666",
                                           host.meta()));
    auto refused = host.propose(stale.commands[0]);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, cluster::errc::conflict) << refused.error().message();
    EXPECT_EQ(host.stm.topics().find("orders.new"), nullptr);
    // The new link's driver creates it under the new uuid.
    driver(host).run_once();
    ASSERT_NE(host.stm.topics().find("orders.new"), nullptr);
    EXPECT_EQ(host.stm.topics().find("orders.new")->shadow().link_uuid(),
              "66666666-6666-4666-8666-666666666666");
}

TEST_F(shadow_test, the_driver_finishes_a_failover_once_every_live_broker_caught_up) {
    host.source.add_topic("orders", 1, 1);
    driver(host).run_once();
    ASSERT_NE(host.stm.topics().find("orders"), nullptr);
    host.must(stm::make_set_shadow_topic_state(host.stm, "orders", v1::SHADOW_TOPIC_STATE_ACTIVE,
                                               v1::SHADOW_TOPIC_STATE_FAILING_OVER, "",
                                               host.meta()));
    const uint64_t r = host.stm.topics().find("orders")->shadow().state_revision();
    for (auto& [id, b] : host.brokers) {
        b.applied_revision = r - 1;
    }
    driver d(host);
    d.run_once();
    EXPECT_EQ(host.stm.topics().find("orders")->shadow().state(),
              v1::SHADOW_TOPIC_STATE_FAILING_OVER);
    host.brokers[1].applied_revision = r;
    host.brokers[2].applied_revision = r + 5;
    host.brokers[3].alive = false;
    d.run_once();  // not due: failovers are looked at every pass all the same
    EXPECT_EQ(host.stm.topics().find("orders")->shadow().state(),
              v1::SHADOW_TOPIC_STATE_FAILED_OVER);
    // The source grows: a failed-over topic no longer follows it.
    host.source.topics["orders"].partitions = 3;
    driver(host).run_once();
    EXPECT_EQ(host.stm.topics().find("orders")->partitions_size(), 1);
}

TEST_F(shadow_test, a_config_change_makes_the_tasks_due_at_once) {
    host.source.add_topic("orders", 1, 1);
    host.source.add_topic("payments", 1, 1);
    driver d(host);
    d.run_once();
    EXPECT_NE(host.stm.topics().find("orders"), nullptr);
    EXPECT_EQ(host.stm.topics().find("payments"), nullptr);
    d.run_once();  // not due for 30 s
    *link.mutable_config()
         ->mutable_topic_metadata_sync_options()
         ->add_auto_create_shadow_topic_filters() =
        filter(v1::SHADOW_PATTERN_LITERAL, v1::SHADOW_FILTER_INCLUDE, "payments");
    update_link();
    d.run_once();
    EXPECT_NE(host.stm.topics().find("payments"), nullptr);
}

TEST_F(shadow_test, the_thread_runs_until_stopped) {
    host.source.reachable = false;
    driver_options o;
    o.poll = std::chrono::milliseconds(5);
    driver d(host, o);
    d.start();
    for (int i = 0; i < 1000 && host.source.connects < 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    d.stop();
    EXPECT_GE(host.source.connects, 2);  // retried after its backoff
}

}  // namespace
}  // namespace fjord::shadow
