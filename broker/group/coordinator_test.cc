// File: broker/group/coordinator_test.cc
//
// The coordinator over real partition logs and a metadata cache fed like
// the Watch stream: Kafka's partition hash, commits that survive a restart
// (a new coordinator replays the log), COORDINATOR_LOAD_IN_PROGRESS while a
// replay runs, NOT_COORDINATOR once leadership moves, and
// COORDINATOR_NOT_AVAILABLE without the offsets topic; offsets that follow
// their topic (tombstoned when it is deleted or recreated, while running or
// found at a replay; offsets without a topic id); admin offsets (a shadow
// link's) that spare groups with members.

#include "broker/group/coordinator.h"

#include <gtest/gtest.h>

#include <deque>
#include <optional>

#include "broker/kafka/errors.h"
#include "broker/kafka/topic_id.h"
#include "broker/storage/log_test_util.h"
#include "common/kafka/record_batch.h"

namespace fjord::broker {
namespace {

/// The log of a served partition, or nullptr.
storage::partition_log* log_of(partition* p) {
    return p == nullptr ? nullptr : &p->log();
}

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

/// store_offsets' answer (the partition manager's inline flusher answers
/// before store_offsets returns).
int16_t store(group_coordinator& c, const std::string& group,
              const std::vector<group_coordinator::commit>& commits) {
    std::optional<int16_t> answer;
    c.store_offsets(group, commits, [&](int16_t e) { answer = e; });
    EXPECT_TRUE(answer.has_value()) << "store_offsets did not answer";
    return answer.value_or(-1);
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
        ASSERT_EQ(store(*n.coord, "g", {make_commit("t", 0, 42), make_commit("t", 1, 7)}), k::none);
        ASSERT_EQ(store(*n.coord, "g", {make_commit("t", 0, 43)}), k::none);
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
            ASSERT_EQ(store(*n.coord, "g", {make_commit("t", 0, i)}), k::none);
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

/// store_admin_offsets' answer (inline, as store()).
int16_t store_admin(group_coordinator& c, const std::string& group,
                    const std::vector<group_coordinator::commit>& commits) {
    std::optional<int16_t> answer;
    c.store_admin_offsets(group, commits, [&](int16_t e) { answer = e; });
    EXPECT_TRUE(answer.has_value()) << "store_admin_offsets did not answer";
    return answer.value_or(-1);
}

TEST(admin_offsets, are_fetched_like_commits_survive_a_reload_and_spare_live_groups) {
    temp_dir dir;
    const auto state = snapshot(
        10, {topic("__consumer_offsets", offsets_uuid, 1, 1), topic("t", data_uuid, 2, 1)});
    {
        node n(dir.path());
        n.apply(state);
        // A group nobody knows yet: created Empty, its offsets durable.
        ASSERT_EQ(store_admin(*n.coord, "g", {make_commit("t", 0, 42), make_commit("t", 1, 7)}),
                  k::none);
        const committed_offset* c = n.coord->fetch_offset("g", "t", 0);
        ASSERT_NE(c, nullptr);
        EXPECT_EQ(c->offset, 42);
        ASSERT_NE(n.coord->groups().find("g"), nullptr);
        EXPECT_EQ(n.coord->groups().find("g")->state(), group_state::empty);
        EXPECT_EQ(store_admin(*n.coord, "g", {}), k::none);  // nothing to write

        // A member joins "live": it is left alone, nothing is written.
        join_request jr;
        jr.client_id = "c";
        jr.session_timeout_ms = 10000;
        jr.rebalance_timeout_ms = 10000;
        jr.protocol_type = "consumer";
        jr.protocols = {{"range", ""}};
        n.coord->groups().join("live", jr, n.now, [](join_result) {});
        EXPECT_EQ(store_admin(*n.coord, "live", {make_commit("t", 0, 5)}), k::non_empty_group);
        EXPECT_EQ(n.coord->fetch_offset("live", "t", 0), nullptr);
    }
    // The offsets partition replayed by a new coordinator.
    node n(dir.path());
    n.apply(state);
    ASSERT_EQ(n.coord->check("g"), k::none);
    const committed_offset* c0 = n.coord->fetch_offset("g", "t", 0);
    const committed_offset* c1 = n.coord->fetch_offset("g", "t", 1);
    ASSERT_NE(c0, nullptr);
    ASSERT_NE(c1, nullptr);
    EXPECT_EQ(c0->offset, 42);
    EXPECT_EQ(c1->offset, 7);
    EXPECT_EQ(n.coord->fetch_offset("live", "t", 0), nullptr);
    // Not coordinated here: the coordinator's error, nothing written.
    n.apply(snapshot(
        11, {topic("__consumer_offsets", offsets_uuid, 1, 2), topic("t", data_uuid, 2, 1)}));
    EXPECT_EQ(store_admin(*n.coord, "g", {make_commit("t", 0, 50)}), k::not_coordinator);
}

// ---------------------------------------------------------------- offsets follow their topic

constexpr const char* recreated_uuid = "00000000-0000-4000-8000-00000000000c";
constexpr const char* other_uuid = "00000000-0000-4000-8000-00000000000d";

committed_offset offset_on(int64_t offset, const char* topic_uuid) {
    committed_offset c{offset, -1, "", 1000};
    if (topic_uuid != nullptr) {
        c.topic_id = to_kafka_uuid(topic_uuid);
    }
    return c;
}

using offset_records = std::vector<std::pair<offset_key, std::optional<committed_offset>>>;

/// Appends records to partition 0 of __consumer_offsets as a commit (or a
/// broker before topic ids, for offsets without one) wrote them.
void append_records(node& n, const offset_records& records) {
    storage::partition_log* plog = log_of(n.pm->find("__consumer_offsets", 0));
    ASSERT_NE(plog, nullptr);
    kafka::record_batch_builder b;
    for (const auto& [key, value] : records) {
        const std::optional<std::string> v =
            value ? std::optional<std::string>(encode_offset_value(*value)) : std::nullopt;
        b.add(encode_offset_key(key), v, 1000);
    }
    auto r = plog->append(b.build(), 1000);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_TRUE(plog->set_high_watermark(plog->log_end_offset()));  // as if synced
}

/// Every record of partition 0 of __consumer_offsets, decoded.
offset_records log_records(node& n) {
    offset_records out;
    storage::partition_log* plog = log_of(n.pm->find("__consumer_offsets", 0));
    EXPECT_NE(plog, nullptr);
    if (plog == nullptr) {
        return out;
    }
    auto slice = plog->read(plog->log_start_offset(), 64u << 20, plog->log_end_offset());
    EXPECT_TRUE(slice) << slice.error().message();
    auto batches = kafka::parse_record_batches(slice->bytes);
    EXPECT_TRUE(batches);
    for (const auto& b : *batches) {
        auto records = kafka::read_records(b);
        EXPECT_TRUE(records);
        for (const auto& r : *records) {
            auto rec = decode_offset_record(r.key, r.value);
            EXPECT_TRUE(rec && *rec);
            out.emplace_back((*rec)->key, (*rec)->value);
        }
    }
    return out;
}

const std::optional<committed_offset> tombstone;

TEST(offsets_follow_topic, deleting_a_topic_tombstones_its_offsets_and_a_replay_agrees) {
    temp_dir dir;
    const auto offsets = topic("__consumer_offsets", offsets_uuid, 1, 1);
    const auto u = topic("u", other_uuid, 1, 1);
    const auto with_t = snapshot(10, {offsets, topic("t", data_uuid, 2, 1), u});
    const offset_records commits = {{{"g1", "t", 0}, offset_on(10, data_uuid)},
                                    {{"g1", "t", 1}, offset_on(11, data_uuid)},
                                    {{"g1", "u", 0}, offset_on(5, other_uuid)},
                                    {{"g2", "t", 0}, offset_on(12, data_uuid)}};
    {
        node n(dir.path());
        n.apply(with_t);
        append_records(n, commits);
        ASSERT_EQ(n.coord->check("g1"), k::none);
        ASSERT_NE(n.coord->fetch_offset("g1", "t", 0), nullptr);
        EXPECT_EQ(n.coord->fetch_offset("g1", "t", 0)->offset, 10);

        // A new topic changes nothing.
        n.apply(snapshot(
            11, {offsets, topic("t", data_uuid, 2, 1), u, topic("v", recreated_uuid, 1, 1)}));
        EXPECT_EQ(n.coord->check("g1"), k::none);
        EXPECT_EQ(log_records(n).size(), 4u);

        n.apply(snapshot(12, {offsets, u}));  // t deleted
        EXPECT_EQ(n.coord->check("g1"), k::none);
        EXPECT_EQ(n.coord->offsets().find("g1", "t", 0), nullptr);
        EXPECT_EQ(n.coord->offsets().find("g1", "t", 1), nullptr);
        EXPECT_FALSE(n.coord->offsets().has_group("g2"));
        ASSERT_NE(n.coord->fetch_offset("g1", "u", 0), nullptr);  // another topic's stay
        const auto records = log_records(n);
        const offset_records expected_tail = {
            {{"g1", "t", 0}, tombstone}, {{"g1", "t", 1}, tombstone}, {{"g2", "t", 0}, tombstone}};
        ASSERT_EQ(records.size(), 7u);
        EXPECT_EQ(offset_records(records.begin() + 4, records.end()), expected_tail);
    }
    // The replay agrees: even under a topic of that name and id again, only
    // the tombstones keep the offsets away.
    node n(dir.path());
    n.apply(with_t);
    ASSERT_EQ(n.coord->check("g1"), k::none);
    EXPECT_EQ(n.coord->offsets().find("g1", "t", 0), nullptr);
    EXPECT_EQ(n.coord->offsets().find("g1", "t", 1), nullptr);
    EXPECT_FALSE(n.coord->offsets().has_group("g2"));
    EXPECT_EQ(n.coord->groups().find("g2"), nullptr);  // nothing left to list it for
    ASSERT_NE(n.coord->fetch_offset("g1", "u", 0), nullptr);
    EXPECT_EQ(log_records(n).size(), 7u);  // nothing more to tombstone
}

TEST(offsets_follow_topic, a_topic_recreated_under_its_name_has_no_offsets) {
    temp_dir dir;
    const auto offsets = topic("__consumer_offsets", offsets_uuid, 1, 1);
    const auto recreated = snapshot(11, {offsets, topic("t", recreated_uuid, 2, 1)});
    {
        node n(dir.path());
        n.apply(snapshot(10, {offsets, topic("t", data_uuid, 2, 1)}));
        append_records(n, {{{"g", "t", 0}, offset_on(10, data_uuid)}});
        ASSERT_EQ(n.coord->check("g"), k::none);
        ASSERT_NE(n.coord->fetch_offset("g", "t", 0), nullptr);

        // Deleted and created again between two looks (one Watch snapshot).
        n.apply(recreated);
        EXPECT_EQ(n.coord->check("g"), k::none);
        EXPECT_EQ(n.coord->fetch_offset("g", "t", 0), nullptr);
        EXPECT_EQ(n.coord->offsets().find("g", "t", 0), nullptr);
        const auto records = log_records(n);
        ASSERT_EQ(records.size(), 2u);
        EXPECT_EQ(records[1], (std::pair<offset_key, std::optional<committed_offset>>({"g", "t", 0},
                                                                                      tombstone)));

        // Which offsets are current: the live topic's, or of an unknown id.
        EXPECT_FALSE(n.coord->is_current("t", offset_on(1, data_uuid)));
        EXPECT_TRUE(n.coord->is_current("t", offset_on(1, recreated_uuid)));
        EXPECT_TRUE(n.coord->is_current("t", offset_on(1, nullptr)));
        EXPECT_FALSE(n.coord->is_current("gone", offset_on(1, nullptr)));
        // A commit on the new topic (as OffsetCommit writes it) is kept.
        append_records(n, {{{"g", "t", 1}, offset_on(3, recreated_uuid)}});
    }
    node n(dir.path());
    n.apply(recreated);
    ASSERT_EQ(n.coord->check("g"), k::none);
    EXPECT_EQ(n.coord->fetch_offset("g", "t", 0), nullptr);
    ASSERT_NE(n.coord->fetch_offset("g", "t", 1), nullptr);
    EXPECT_EQ(n.coord->fetch_offset("g", "t", 1)->offset, 3);
    EXPECT_EQ(log_records(n).size(), 3u);
}

TEST(offsets_follow_topic, a_broker_down_while_its_topic_was_recreated_drops_the_old_offsets) {
    temp_dir dir;
    const auto offsets = topic("__consumer_offsets", offsets_uuid, 1, 1);
    const auto u = topic("u", other_uuid, 1, 1);
    {
        node n(dir.path());
        n.apply(snapshot(10, {offsets, topic("t", data_uuid, 2, 1), u}));
        append_records(n, {{{"g", "t", 0}, offset_on(10, data_uuid)},
                           {{"g", "t", 1}, offset_on(11, data_uuid)},
                           {{"g", "u", 0}, offset_on(5, other_uuid)}});
        ASSERT_EQ(n.coord->check("g"), k::none);
    }
    // Meanwhile t was deleted and created again: the broker starts with
    // only the new topic in its metadata.
    const auto recreated = snapshot(12, {offsets, topic("t", recreated_uuid, 2, 1), u});
    {
        node n(dir.path());
        n.apply(recreated);
        ASSERT_EQ(n.coord->check("g"), k::none);
        EXPECT_EQ(n.coord->fetch_offset("g", "t", 0), nullptr);
        EXPECT_EQ(n.coord->fetch_offset("g", "t", 1), nullptr);
        EXPECT_EQ(n.coord->offsets().find("g", "t", 0), nullptr);
        ASSERT_NE(n.coord->fetch_offset("g", "u", 0), nullptr);
        const auto records = log_records(n);
        ASSERT_EQ(records.size(), 5u);
        EXPECT_FALSE(records[3].second.has_value());
        EXPECT_FALSE(records[4].second.has_value());
    }
    node n(dir.path());
    n.apply(recreated);
    ASSERT_EQ(n.coord->check("g"), k::none);
    EXPECT_EQ(n.coord->fetch_offset("g", "t", 0), nullptr);
    EXPECT_EQ(log_records(n).size(), 5u);  // the replay agrees: nothing more written
}

TEST(offsets_follow_topic, offsets_without_a_topic_id_belong_to_the_topic_they_are_loaded_with) {
    temp_dir dir;
    const auto offsets = topic("__consumer_offsets", offsets_uuid, 1, 1);
    node n(dir.path());
    n.apply(snapshot(10, {offsets, topic("t", data_uuid, 2, 1)}));
    // A broker before topic ids wrote v3 records: one for t, one for a
    // topic that no longer exists.
    append_records(
        n, {{{"g", "t", 0}, offset_on(10, nullptr)}, {{"g", "gone", 0}, offset_on(4, nullptr)}});
    ASSERT_EQ(n.coord->check("g"), k::none);
    ASSERT_NE(n.coord->fetch_offset("g", "t", 0), nullptr);  // cannot be told apart: kept
    EXPECT_EQ(n.coord->offsets().find("g", "gone", 0), nullptr);
    auto records = log_records(n);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[2].first, (offset_key{"g", "gone", 0}));
    EXPECT_FALSE(records[2].second.has_value());

    // t recreated while this broker watches: the offset was the old topic's.
    n.apply(snapshot(11, {offsets, topic("t", recreated_uuid, 2, 1)}));
    ASSERT_EQ(n.coord->check("g"), k::none);
    EXPECT_EQ(n.coord->offsets().find("g", "t", 0), nullptr);
    records = log_records(n);
    ASSERT_EQ(records.size(), 4u);
    EXPECT_EQ(records[3].first, (offset_key{"g", "t", 0}));
    EXPECT_FALSE(records[3].second.has_value());
}

}  // namespace
}  // namespace fjord::broker
