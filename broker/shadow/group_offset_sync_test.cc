// File: broker/shadow/group_offset_sync_test.cc
//
// The Consumer Group Shadowing's rules (which links run, which topics and
// groups, clamping, what changed, the task states) and one broker's task
// over a real coordinator with a fake source: offsets written, clamped to
// the broker's own or the controller's high watermarks, groups with members
// left alone, nothing rewritten when nothing changed, PAUSED,
// LINK_UNAVAILABLE and FAULTED.

#include "broker/shadow/group_offset_sync.h"

#include <gtest/gtest.h>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/storage/log_test_util.h"
#include "common/kafka/record_batch.h"

namespace fjord::broker::shadow {
namespace {

namespace k = kafka_errors;

v1::ShadowNameFilter filter(v1::ShadowPatternType p, v1::ShadowFilterType f, std::string name) {
    v1::ShadowNameFilter out;
    out.set_pattern_type(p);
    out.set_filter_type(f);
    out.set_name(std::move(name));
    return out;
}

v1::ShadowLink make_link(const std::string& name = "dr") {
    v1::ShadowLink l;
    l.set_name(name);
    l.set_uuid("link-uuid");
    l.set_state(v1::SHADOW_LINK_STATE_ACTIVE);
    l.mutable_config()->mutable_client_options()->add_bootstrap_servers("127.0.0.1:9092");
    auto* o = l.mutable_config()->mutable_consumer_offset_sync_options();
    *o->add_group_filters() = filter(v1::SHADOW_PATTERN_LITERAL, v1::SHADOW_FILTER_INCLUDE, "*");
    *o->add_group_filters() =
        filter(v1::SHADOW_PATTERN_PREFIX, v1::SHADOW_FILTER_EXCLUDE, "private-");
    return l;
}

v1::Topic make_topic(const std::string& name, const std::string& uuid, int partitions, int leader) {
    v1::Topic t;
    t.set_name(name);
    t.set_uuid(uuid);
    t.set_replication_factor(1);
    for (int p = 0; p < partitions; ++p) {
        auto* a = t.add_partitions();
        a->set_partition(p);
        a->add_replicas(leader);
        a->set_leader(leader);
    }
    return t;
}

v1::Topic shadow_topic(const std::string& name, const std::string& uuid, int partitions, int leader,
                       const std::string& link = "dr",
                       v1::ShadowTopicState state = v1::SHADOW_TOPIC_STATE_ACTIVE) {
    v1::Topic t = make_topic(name, uuid, partitions, leader);
    t.mutable_shadow()->set_link(link);
    t.mutable_shadow()->set_link_uuid("link-uuid");
    t.mutable_shadow()->set_source_topic(name);
    t.mutable_shadow()->set_state(state);
    return t;
}

// ------------------------------------------------------------------ rules

TEST(group_sync_rules, runs_for_active_links_whose_sync_is_not_paused) {
    auto l = make_link();
    EXPECT_FALSE(paused_reason(l));
    l.mutable_config()->mutable_consumer_offset_sync_options()->set_paused(true);
    EXPECT_EQ(paused_reason(l).value_or(""), "consumer_offset_sync_options.paused is set");
    l = make_link();
    l.set_state(v1::SHADOW_LINK_STATE_PAUSED);
    EXPECT_EQ(paused_reason(l).value_or(""), "the link is PAUSED");
}

TEST(group_sync_rules, synced_topics_are_the_links_active_shadow_topics_by_source_name) {
    std::map<std::string, v1::Topic> topics;
    topics["orders"] = shadow_topic("orders", "u1", 3, 1);
    topics["paused"] = shadow_topic("paused", "u2", 1, 1, "dr", v1::SHADOW_TOPIC_STATE_PAUSED);
    topics["failed-over"] =
        shadow_topic("failed-over", "u3", 1, 1, "dr", v1::SHADOW_TOPIC_STATE_FAILED_OVER);
    topics["theirs"] = shadow_topic("theirs", "u4", 1, 1, "other-link");
    topics["plain"] = make_topic("plain", "u5", 1, 1);
    auto renamed = shadow_topic("local-name", "u6", 2, 1);
    renamed.mutable_shadow()->set_source_topic("source-name");
    topics["local-name"] = renamed;
    auto stale = shadow_topic("stale", "u7", 1, 1);
    stale.mutable_shadow()->set_link_uuid("an-older-link");  // a link of that name, deleted
    topics["stale"] = stale;

    const auto got = synced_topics(make_link(), topics);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got.at("orders").name, "orders");
    EXPECT_EQ(got.at("orders").uuid, "u1");
    EXPECT_EQ(got.at("orders").partitions, 3);
    EXPECT_EQ(got.at("source-name").name, "local-name");
}

TEST(group_sync_rules, groups_pass_the_filters_and_are_coordinated_here) {
    std::map<std::string, v1::Topic> topics;
    topics["__consumer_offsets"] = make_topic("__consumer_offsets", "co", 4, 2);
    auto& parts = *topics["__consumer_offsets"].mutable_partitions();
    const int32_t mine = offsets_partition_for("g-mine", 4);
    parts[mine].set_leader(1);
    const auto v = offsets_view(topics, 1);
    EXPECT_EQ(v.partitions, 4);
    EXPECT_EQ(v.led_here, (std::set<int32_t>{mine}));
    EXPECT_TRUE(coordinated_here(v, "g-mine"));
    EXPECT_FALSE(coordinated_here(offsets_topic_view{}, "g-mine"));

    // Groups of the same partition as g-mine, and one of another.
    std::vector<std::string> listed = {"g-mine", "g-mine"};
    std::string same;
    std::string other;
    for (int i = 0; same.empty() || other.empty(); ++i) {
        const std::string g = "group-" + std::to_string(i);
        (offsets_partition_for(g, 4) == mine ? same : other) = g;
    }
    listed.push_back(same);
    listed.push_back(other);
    listed.push_back("private-" + same);  // excluded by the filter (if coordinated here)
    EXPECT_EQ(groups_to_sync(make_link(), listed, v), (std::vector<std::string>{"g-mine", same}));
    // No filter at all: nothing passes (§10.3).
    auto none = make_link();
    none.mutable_config()->mutable_consumer_offset_sync_options()->clear_group_filters();
    EXPECT_TRUE(groups_to_sync(none, listed, v).empty());
}

TEST(group_sync_rules, plans_clamp_to_the_high_watermark_and_skip_what_is_not_synced) {
    std::map<std::string, synced_topic> topics;
    topics["orders"] = {"orders", "u1", 2};
    topics["source-name"] = {"local-name", "u2", 1};
    source_offsets src;
    src[{"orders", 0}] = {50, "m0"};
    src[{"orders", 1}] = {500, "m1"};     // above the high watermark: clamped
    src[{"orders", 7}] = {5, ""};         // no such partition here
    src[{"source-name", 0}] = {9, ""};    // written under the shadow's name
    src[{"unsynced", 0}] = {1, ""};       // not a synced topic
    src[{"orders-no-hwm", 0}] = {1, ""};  // not synced either
    hwm_map hwms{{{"orders", 0}, 100}, {{"orders", 1}, 120}, {{"local-name", 0}, 9}};
    auto plan = plan_group("g", src, topics, hwms);
    EXPECT_EQ(plan.group, "g");
    EXPECT_EQ(plan.unknown_hwm, 0u);
    ASSERT_EQ(plan.writes.size(), 3u);
    EXPECT_EQ(plan.writes[0], (offset_write{"local-name", 0, 9, "", false}));
    EXPECT_EQ(plan.writes[1], (offset_write{"orders", 0, 50, "m0", false}));
    EXPECT_EQ(plan.writes[2], (offset_write{"orders", 1, 120, "m1", true}));

    // An unknown high watermark: not synced this round; nothing committed
    // (-1): left out.
    hwms.erase({"orders", 1});
    src[{"orders", 0}] = {-1, ""};
    plan = plan_group("g", src, topics, hwms);
    EXPECT_EQ(plan.unknown_hwm, 1u);
    ASSERT_EQ(plan.writes.size(), 1u);
    EXPECT_EQ(plan.writes[0].topic, "local-name");
}

TEST(group_sync_rules, only_changed_offsets_are_written) {
    const std::vector<offset_write> wanted = {
        {"t", 0, 10, "m", false}, {"t", 1, 20, "m", false}, {"t", 2, 30, "m", false}};
    const committed_offset same{10, -1, "m", 1};
    const committed_offset moved{15, -1, "m", 1};
    auto got =
        changed_writes(wanted, [&](const std::string&, int32_t p) -> const committed_offset* {
            return p == 0 ? &same : p == 1 ? &moved : nullptr;
        });
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].partition, 1);
    EXPECT_EQ(got[1].partition, 2);
}

TEST(group_sync_rules, statuses_and_states) {
    v1::GetShadowLinkStatusResponse s;
    auto* t = s.add_topics();
    t->set_name("orders");
    auto* p0 = t->add_partitions();
    p0->set_partition(0);
    p0->set_shadow_hwm(42);
    auto* p1 = t->add_partitions();
    p1->set_partition(1);
    p1->set_shadow_hwm(-1);
    EXPECT_EQ(hwms_from_status(s), (hwm_map{{{"orders", 0}, 42}}));

    const auto err = [](std::errc e) { return error_info(std::make_error_code(e), "x"); };
    EXPECT_EQ(state_for(err(std::errc::permission_denied)), task_state::faulted);
    EXPECT_EQ(state_for(err(std::errc::not_supported)), task_state::faulted);
    EXPECT_EQ(state_for(err(std::errc::invalid_argument)), task_state::faulted);
    EXPECT_EQ(state_for(err(std::errc::connection_refused)), task_state::link_unavailable);
    EXPECT_EQ(state_for(err(std::errc::timed_out)), task_state::link_unavailable);

    const auto st = task_status("dr", 3, task_state::link_unavailable, "down");
    EXPECT_EQ(st.link(), "dr");
    EXPECT_EQ(st.name(), "Consumer Group Shadowing");
    EXPECT_EQ(st.broker_id(), 3);
    EXPECT_EQ(st.state(), "LINK_UNAVAILABLE");
    EXPECT_EQ(st.reason(), "down");
}

// ------------------------------------------------------------------ the task

/// The source's groups and offsets, shared with the test.
struct fake_source_state {
    std::vector<std::string> groups;
    std::map<std::string, source_offsets> offsets;
    std::optional<error_info> connect_error;
    int connects = 0;
    int fetches = 0;
};

class fake_source final : public source_cluster {
  public:
    explicit fake_source(std::shared_ptr<fake_source_state> s) : _s(std::move(s)) {}
    result<std::vector<std::string>> list_groups(std::vector<std::string>&) override {
        return _s->groups;
    }
    result<source_offsets> fetch_offsets(const std::string& group) override {
        ++_s->fetches;
        return _s->offsets[group];
    }

  private:
    std::shared_ptr<fake_source_state> _s;
};

v1::WatchEvent snapshot(uint64_t rev, const std::vector<v1::Topic>& topics) {
    v1::WatchEvent ev;
    ev.mutable_snapshot()->set_revision(rev);
    ev.mutable_snapshot()->set_cluster_uuid("cluster-1");
    for (const auto& t : topics) {
        *ev.mutable_snapshot()->add_topics() = t;
    }
    for (int id : {1, 2}) {
        auto* b = ev.mutable_snapshot()->add_brokers();
        b->set_id(id);
        auto* ep = b->add_endpoints();
        ep->set_name("kafka");
        ep->set_host("broker-" + std::to_string(id));
        ep->set_port(9090 + id);
    }
    ev.set_revision_complete(true);
    return ev;
}

/// Broker 1 of the shadow cluster: its logs, coordinator and the task, with
/// everything inline (the io thread is the test's).
struct shadow_broker {
    storage::testing::temp_dir dir;
    metadata_cache md;
    std::unique_ptr<partition_manager> pm;
    std::unique_ptr<group_coordinator> coord;
    std::unique_ptr<group_offset_sync> sync;
    std::shared_ptr<fake_source_state> source = std::make_shared<fake_source_state>();
    std::vector<v1::ShadowLink> links{make_link()};
    v1::GetShadowLinkStatusResponse status;
    std::vector<v1::ShadowTaskStatus> published;
    int64_t now = 1000;

    shadow_broker() {
        pm = std::make_unique<partition_manager>(dir.path(), 1, partition_defaults{});
        coordinator_options o;
        o.node_id = 1;
        coord = std::make_unique<group_coordinator>(
            o, md, *pm, nullptr, [](std::chrono::milliseconds, std::function<void()>) {},
            [this] { return now; }, [] { return std::string("id"); });
        group_sync_env env;
        env.node_id = 1;
        env.post = [](std::function<void()> fn) { fn(); };
        env.links = [this] { return links; };
        env.link_status = [this](const std::string&, auto done) { done(status); };
        env.publish = [this](std::vector<v1::ShadowTaskStatus> s) { published = std::move(s); };
        env.connect = [this](const v1::ShadowLink&) -> result<std::unique_ptr<source_cluster>> {
            ++source->connects;
            if (source->connect_error) {
                return *source->connect_error;
            }
            return std::unique_ptr<source_cluster>(std::make_unique<fake_source>(source));
        };
        env.now_ms = [this] { return now; };
        env.wall_ms = [this] { return now; };
        sync = std::make_unique<group_offset_sync>(std::move(env), md, *pm, *coord);
    }

    void apply(const v1::WatchEvent& ev) {
        ASSERT_TRUE(md.apply(ev));
        pm->reconcile(md, now);
    }

    /// `n` records appended to a partition led here (its high watermark).
    void produce(const std::string& topic, int32_t p, int n) {
        partition* part = pm->find(topic, p);
        ASSERT_NE(part, nullptr);
        kafka::record_batch_builder b;
        for (int i = 0; i < n; ++i) {
            b.add(std::nullopt, std::string("v"), now);
        }
        ASSERT_TRUE(part->log().append(b.build(), now));
        ASSERT_TRUE(part->log().set_high_watermark(part->log().log_end_offset()));
    }

    const v1::ShadowTaskStatus& only_status() const {
        EXPECT_EQ(published.size(), 1u);
        return published.front();
    }
};

TEST(group_sync_task, writes_clamped_offsets_and_leaves_live_groups_alone) {
    shadow_broker b;
    // "orders" is led here; "remote" by broker 2 (its leader reported a
    // high watermark of 40 to the controller); "paused-topic" is PAUSED.
    b.apply(snapshot(10, {make_topic("__consumer_offsets", "co", 1, 1),
                          shadow_topic("orders", "00000000-0000-4000-8000-000000000001", 2, 1),
                          shadow_topic("remote", "00000000-0000-4000-8000-000000000002", 1, 2),
                          shadow_topic("paused-topic", "00000000-0000-4000-8000-000000000003", 1, 1,
                                       "dr", v1::SHADOW_TOPIC_STATE_PAUSED)}));
    b.produce("orders", 0, 10);
    auto* rt = b.status.add_topics();
    rt->set_name("remote");
    auto* rp = rt->add_partitions();
    rp->set_partition(0);
    rp->set_shadow_hwm(40);
    // The controller's value for a partition led here is older: ours wins.
    auto* ot = b.status.add_topics();
    ot->set_name("orders");
    auto* op = ot->add_partitions();
    op->set_partition(0);
    op->set_shadow_hwm(2);

    b.source->groups = {"g", "live", "private-g"};
    b.source->offsets["g"] = {{{"orders", 0}, {5, "meta"}},
                              {{"orders", 1}, {3, ""}},    // this partition is empty here: 0
                              {{"remote", 0}, {100, ""}},  // 40
                              {{"paused-topic", 0}, {1, ""}},
                              {{"unshadowed", 0}, {1, ""}}};
    b.source->offsets["live"] = {{{"orders", 0}, {7, ""}}};
    b.source->offsets["private-g"] = {{{"orders", 0}, {7, ""}}};
    // "live" has a member on this cluster.
    join_request jr;
    jr.client_id = "c";
    jr.session_timeout_ms = 10000;
    jr.rebalance_timeout_ms = 10000;
    jr.protocol_type = "consumer";
    jr.protocols = {{"range", ""}};
    ASSERT_EQ(b.coord->check("live"), k::none);
    b.coord->groups().join("live", jr, b.now, [](join_result) {});

    b.sync->run_once(b.now);
    const auto& st = b.only_status();
    EXPECT_EQ(st.state(), "ACTIVE");
    EXPECT_EQ(st.name(), "Consumer Group Shadowing");
    EXPECT_EQ(st.broker_id(), 1);
    EXPECT_NE(st.reason().find("3 offsets written in 1 groups (2 clamped"), std::string::npos)
        << st.reason();
    EXPECT_NE(st.reason().find("left alone, members on this cluster: live"), std::string::npos)
        << st.reason();

    auto offset = [&](const std::string& g, const std::string& t, int32_t p) -> int64_t {
        const committed_offset* c = b.coord->fetch_offset(g, t, p);
        return c == nullptr ? -100 : c->offset;
    };
    EXPECT_EQ(offset("g", "orders", 0), 5);
    EXPECT_EQ(offset("g", "orders", 1), 0);
    EXPECT_EQ(offset("g", "remote", 0), 40);
    EXPECT_EQ(offset("g", "paused-topic", 0), -100);
    EXPECT_EQ(offset("live", "orders", 0), -100);
    EXPECT_EQ(offset("private-g", "orders", 0), -100);
    EXPECT_EQ(b.coord->fetch_offset("g", "orders", 0)->metadata, "meta");
    EXPECT_EQ(b.coord->fetch_offset("g", "orders", 0)->leader_epoch, -1);

    // Not due before the interval (30 s by default): nothing is read.
    const int fetches = b.source->fetches;
    b.now += 1000;
    b.sync->run_once(b.now);
    EXPECT_EQ(b.source->fetches, fetches);
    // Due: the same offsets are not written again; a moved one is.
    b.now += 30000;
    b.sync->run_once(b.now);
    EXPECT_NE(b.only_status().reason().find("0 offsets written"), std::string::npos)
        << b.only_status().reason();
    b.source->offsets["g"][{"orders", 0}] = {8, "meta"};
    b.now += 30000;
    b.sync->run_once(b.now);
    EXPECT_NE(b.only_status().reason().find("1 offsets written in 1 groups"), std::string::npos)
        << b.only_status().reason();
    EXPECT_EQ(offset("g", "orders", 0), 8);
    EXPECT_EQ(b.source->connects, 1);  // the connection is kept
}

TEST(group_sync_task, paused_unavailable_and_faulted) {
    shadow_broker b;
    b.apply(snapshot(10, {make_topic("__consumer_offsets", "co", 1, 1),
                          shadow_topic("orders", "00000000-0000-4000-8000-000000000001", 1, 1)}));
    b.links[0].mutable_config()->mutable_consumer_offset_sync_options()->set_paused(true);
    b.sync->run_once(b.now);
    EXPECT_EQ(b.only_status().state(), "PAUSED");
    EXPECT_EQ(b.source->connects, 0);

    b.links[0].mutable_config()->mutable_consumer_offset_sync_options()->set_paused(false);
    b.source->connect_error =
        error_info(std::make_error_code(std::errc::connection_refused), "no bootstrap answered");
    b.sync->run_once(b.now);  // resumed: at once
    EXPECT_EQ(b.only_status().state(), "LINK_UNAVAILABLE");
    EXPECT_EQ(b.only_status().reason(), "no bootstrap answered");

    b.source->connect_error = error_info(std::make_error_code(std::errc::permission_denied),
                                         "SASL authentication failed");
    b.now += 30000;
    b.sync->run_once(b.now);
    EXPECT_EQ(b.only_status().state(), "FAULTED");

    // A link gone: its status is gone too.
    b.links.clear();
    b.sync->run_once(b.now);
    EXPECT_TRUE(b.published.empty());
}

TEST(group_sync_task, a_broker_that_leads_no_offsets_partition_does_not_connect) {
    shadow_broker b;
    b.apply(snapshot(10, {make_topic("__consumer_offsets", "co", 2, 2),
                          shadow_topic("orders", "00000000-0000-4000-8000-000000000001", 1, 1)}));
    b.sync->run_once(b.now);
    EXPECT_EQ(b.only_status().state(), "ACTIVE");
    EXPECT_EQ(b.source->connects, 0);
}

}  // namespace
}  // namespace fjord::broker::shadow
