// File: broker/group/coordinator_test.cc
//
// The coordinator over real partition logs and a metadata cache fed like
// the Watch stream: Kafka's partition hash, commits that survive a restart
// (a new coordinator replays the log), COORDINATOR_LOAD_IN_PROGRESS while a
// replay runs, NOT_COORDINATOR once leadership moves, and
// COORDINATOR_NOT_AVAILABLE without the offsets topic.

#include "broker/group/coordinator.h"

#include <gtest/gtest.h>

#include <deque>

#include "broker/kafka/errors.h"
#include "broker/log/log_test_util.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
using storage::testing::temp_dir;

TEST(partition_hash, is_javas_string_hashcode) {
    EXPECT_EQ(java_string_hashcode(""), 0);
    EXPECT_EQ(java_string_hashcode("a"), 97);
    EXPECT_EQ(java_string_hashcode("hello"), 99162322);
    EXPECT_EQ(java_string_hashcode("Aa"), java_string_hashcode("BB"));  // Java's classic collision
    EXPECT_EQ(java_string_hashcode("polygenelubricants"), INT32_MIN);
    EXPECT_EQ(java_string_hashcode("\xc3\xa9"), 233);  // U+00E9: one UTF-16 unit
    // U+1F600 is the surrogate pair D83D DE00 in UTF-16.
    EXPECT_EQ(java_string_hashcode("\xf0\x9f\x98\x80"), 0xD83D * 31 + 0xDE00);
    // A stray continuation byte counts as U+FFFD.
    EXPECT_EQ(java_string_hashcode("\x80"), 0xFFFD);
}

TEST(partition_hash, uses_kafkas_abs_and_modulo) {
    // Utils.abs(Integer.MIN_VALUE) is 0, not an overflow.
    EXPECT_EQ(offsets_partition_for("polygenelubricants", 16), 0);
    EXPECT_EQ(offsets_partition_for("hello", 50), 99162322 % 50);
    // A negative hash: (h & 0x7fffffff) % n.
    const int32_t h = java_string_hashcode("console-consumer-12345");
    EXPECT_EQ(offsets_partition_for("console-consumer-12345", 16),
              static_cast<int32_t>((static_cast<uint32_t>(h) & 0x7fffffffu) % 16));
    for (const char* g : {"a", "group-1", "consumer", ""}) {
        const int32_t p = offsets_partition_for(g, 7);
        EXPECT_GE(p, 0);
        EXPECT_LT(p, 7);
    }
}

v1::Topic topic(const std::string& name, const std::string& uuid, int partitions, int leader) {
    v1::Topic t;
    t.set_name(name);
    t.set_uuid(uuid);
    t.set_replication_factor(1);
    for (int p = 0; p < partitions; ++p) {
        auto* a = t.add_partitions();
        a->set_partition(p);
        a->add_replicas(1);
        a->set_leader(leader);
    }
    return t;
}

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

constexpr const char* offsets_uuid = "00000000-0000-4000-8000-00000000000a";
constexpr const char* data_uuid = "00000000-0000-4000-8000-00000000000b";

/// One broker (id 1): its cache, logs and coordinator, with a queue of
/// scheduled tasks run by hand.
struct node {
    metadata_cache md;
    std::unique_ptr<partition_manager> pm;
    std::unique_ptr<group_coordinator> coord;
    std::deque<std::function<void()>> tasks;
    int64_t now = 1000;
    int next_id = 1;

    node(const std::string& dir, uint64_t load_step_bytes = 4u << 20) {
        pm = std::make_unique<partition_manager>(dir, 1, partition_defaults{});
        coordinator_options o;
        o.node_id = 1;
        o.load_step_bytes = load_step_bytes;
        coord = std::make_unique<group_coordinator>(
            o, md, *pm, nullptr,
            [this](std::chrono::milliseconds, std::function<void()> fn) {
                tasks.push_back(std::move(fn));
            },
            [this] { return now; }, [this] { return std::to_string(next_id++); });
    }

    void apply(const v1::WatchEvent& ev) {
        ASSERT_TRUE(md.apply(ev));
        pm->reconcile(md, now);
    }

    /// Runs queued tasks (not the ones they queue) and returns how many.
    size_t run_tasks() {
        size_t n = tasks.size();
        for (size_t i = 0; i < n; ++i) {
            auto fn = std::move(tasks.front());
            tasks.pop_front();
            fn();
        }
        return n;
    }
};

group_coordinator::commit make_commit(const std::string& t, int32_t p, int64_t offset) {
    group_coordinator::commit c;
    c.topic = t;
    c.partition = p;
    c.value = {offset, -1, "meta", 1000};
    return c;
}

TEST(coordinator, commits_survive_a_restart_through_the_log) {
    temp_dir dir;
    const auto state = snapshot(
        10, {topic("__consumer_offsets", offsets_uuid, 4, 1), topic("t", data_uuid, 2, 1)});
    {
        node n(dir.path());
        n.apply(state);
        ASSERT_EQ(n.coord->check("g"), k::none);
        ASSERT_EQ(n.coord->groups().validate_commit("g", "", -1, n.now), k::none);
        ASSERT_EQ(n.coord->store_offsets("g", {make_commit("t", 0, 42), make_commit("t", 1, 7)}),
                  k::none);
        ASSERT_EQ(n.coord->store_offsets("g", {make_commit("t", 0, 43)}), k::none);
        ASSERT_NE(n.coord->offsets().find("g", "t", 0), nullptr);
        EXPECT_EQ(n.coord->offsets().find("g", "t", 0)->offset, 43);
    }
    // A new process: the same directory, the same controller state.
    node n(dir.path());
    n.apply(state);
    EXPECT_EQ(n.coord->check("g"), k::none);
    const committed_offset* c0 = n.coord->offsets().find("g", "t", 0);
    const committed_offset* c1 = n.coord->offsets().find("g", "t", 1);
    ASSERT_NE(c0, nullptr);
    ASSERT_NE(c1, nullptr);
    EXPECT_EQ(*c0, (committed_offset{43, -1, "meta", 1000}));
    EXPECT_EQ(c1->offset, 7);
    // The group is known again (Empty) from its offsets alone.
    ASSERT_NE(n.coord->groups().find("g"), nullptr);
    EXPECT_EQ(n.coord->groups().find("g")->state(), group_state::empty);

    const auto loc = n.coord->locate("g");
    EXPECT_EQ(loc.error, k::none);
    EXPECT_EQ(loc.node_id, 1);
    EXPECT_EQ(loc.host, "broker-1");
    EXPECT_EQ(loc.port, 9091);
}

TEST(coordinator, answers_load_in_progress_until_the_replay_is_done) {
    temp_dir dir;
    const auto state = snapshot(
        10, {topic("__consumer_offsets", offsets_uuid, 1, 1), topic("t", data_uuid, 1, 1)});
    {
        node n(dir.path());
        n.apply(state);
        for (int i = 0; i < 5; ++i) {
            ASSERT_EQ(n.coord->store_offsets("g", {make_commit("t", 0, i)}), k::none);
        }
    }
    node n(dir.path(), /*load_step_bytes=*/1);  // one batch per step
    n.coord->start();
    ASSERT_EQ(n.run_tasks(), 1u);  // the first tick: continuations now go through tasks
    n.apply(state);
    EXPECT_EQ(n.coord->check("g"), k::coordinator_load_in_progress);
    EXPECT_TRUE(n.coord->loading());
    int rounds = 0;
    while (n.coord->check("g") == k::coordinator_load_in_progress) {
        ASSERT_GT(n.run_tasks(), 0u);
        ASSERT_LT(++rounds, 20);
    }
    EXPECT_EQ(n.coord->check("g"), k::none);
    EXPECT_FALSE(n.coord->loading());
    EXPECT_EQ(n.coord->offsets().find("g", "t", 0)->offset, 4);
}

TEST(coordinator, leadership_moving_away_gives_the_groups_up) {
    temp_dir dir;
    node n(dir.path());
    n.apply(snapshot(10, {topic("__consumer_offsets", offsets_uuid, 1, 1)}));
    ASSERT_EQ(n.coord->check("g"), k::none);
    // A member waits in a rebalance (the initial delay).
    join_request jr;
    jr.client_id = "c";
    jr.session_timeout_ms = 10000;
    jr.rebalance_timeout_ms = 10000;
    jr.protocol_type = "consumer";
    jr.protocols = {{"range", ""}};
    std::optional<int16_t> answered;
    n.coord->groups().join("g", jr, n.now, [&](join_result r) { answered = r.error; });
    ASSERT_FALSE(answered);

    // Partition 0 is now led by broker 2.
    n.apply(snapshot(11, {topic("__consumer_offsets", offsets_uuid, 1, 2)}));
    EXPECT_EQ(n.coord->check("g"), k::not_coordinator);
    ASSERT_TRUE(answered);
    EXPECT_EQ(*answered, k::not_coordinator);
    EXPECT_EQ(n.coord->groups().find("g"), nullptr);
    const auto loc = n.coord->locate("g");
    EXPECT_EQ(loc.error, k::none);
    EXPECT_EQ(loc.node_id, 2);
    EXPECT_EQ(loc.host, "broker-2");
}

TEST(coordinator, without_the_offsets_topic_nothing_is_coordinated) {
    temp_dir dir;
    node n(dir.path());
    n.apply(snapshot(10, {}));
    EXPECT_EQ(n.coord->check("g"), k::coordinator_not_available);
    const auto loc = n.coord->locate("g");
    EXPECT_EQ(loc.error, k::coordinator_not_available);
    EXPECT_NE(loc.message.find("being created"), std::string::npos);
    // Without a leader, likewise.
    n.apply(snapshot(11, {topic("__consumer_offsets", offsets_uuid, 1, -1)}));
    EXPECT_EQ(n.coord->check("g"), k::coordinator_not_available);
    EXPECT_EQ(n.coord->locate("g").error, k::coordinator_not_available);
}

}  // namespace
}  // namespace fjord::broker
