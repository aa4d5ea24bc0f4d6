// File: broker/kafka/group_api_test.cc
//
// The group handlers through the dispatcher, with requests and responses
// encoded by the codec at versions the e2e clients (kafka-python, kcat) do
// not send: flexible JoinGroup v7 and its KIP-394 round trip, SyncGroup v5,
// LeaveGroup v3 batches, FindCoordinator v4 batches, OffsetCommit and
// OffsetFetch v8; static membership refused; errors placed where each
// version carries them; a waiting JoinGroup whose connection closed.

#include "broker/kafka/dispatcher.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/fetch.h"
#include "broker/kafka/registry.h"
#include "broker/kafka/topic_id.h"

#include <gtest/gtest.h>

#include <deque>

#include "broker/kafka/errors.h"
#include "broker/storage/log_test_util.h"
#include "common/kafka/frame.h"
#include "common/kafka/messages/describe_groups.h"
#include "common/kafka/messages/find_coordinator.h"
#include "common/kafka/messages/heartbeat.h"
#include "common/kafka/messages/join_group.h"
#include "common/kafka/messages/leave_group.h"
#include "common/kafka/messages/list_groups.h"
#include "common/kafka/messages/offset_commit.h"
#include "common/kafka/messages/offset_fetch.h"
#include "common/kafka/messages/sync_group.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
using storage::testing::temp_dir;

v1::Topic topic(const std::string& name, const std::string& uuid, int partitions, int leader) {
    v1::Topic t;
    t.set_name(name);
    t.set_uuid(uuid);
    for (int p = 0; p < partitions; ++p) {
        auto* a = t.add_partitions();
        a->set_partition(p);
        a->add_replicas(1);
        a->set_leader(leader);
    }
    return t;
}

v1::WatchEvent snapshot(uint64_t rev, int offsets_leader) {
    v1::WatchEvent ev;
    auto* s = ev.mutable_snapshot();
    s->set_revision(rev);
    s->set_cluster_uuid("cluster-1");
    *s->add_topics() =
        topic("__consumer_offsets", "00000000-0000-4000-8000-00000000000a", 2, offsets_leader);
    *s->add_topics() = topic("t", "00000000-0000-4000-8000-00000000000b", 2, 1);
    for (int id : {1, 2}) {
        auto* b = s->add_brokers();
        b->set_id(id);
        auto* ep = b->add_endpoints();
        ep->set_name("kafka");
        ep->set_host("broker-" + std::to_string(id));
        ep->set_port(9090 + id);
    }
    ev.set_revision_complete(true);
    return ev;
}

/// A response not given yet, or given: the decoded body.
template <typename Resp>
struct pending {
    std::shared_ptr<std::optional<reply_t>> slot;
    int16_t version = 0;

    bool answered() const { return slot->has_value(); }
    Resp get() const {
        EXPECT_TRUE(answered());
        if (!answered()) {
            return Resp{};
        }
        EXPECT_EQ((*slot)->what, reply_t::kind::response);
        kafka::reader r((*slot)->bytes);
        EXPECT_TRUE(r.read_int32());  // correlation id
        if (kafka::response_header_version(*kafka::find_api(static_cast<int16_t>(Resp::api)),
                                           version) >= 1) {
            auto n = r.read_unsigned_varint();  // the header's tagged fields
            EXPECT_TRUE(n && *n == 0);
        }
        auto d = Resp::decode(r, version);
        EXPECT_TRUE(d) << d.error().message();
        EXPECT_TRUE(r.expect_end());
        return d ? *d : Resp{};
    }
};

struct fixture {
    temp_dir dir;
    metadata_cache md;
    partition_manager pm{dir.path(), 1, partition_defaults{}};
    std::deque<std::function<void()>> tasks;
    int64_t now = 1000;
    int next_id = 1;
    parked_fetches fetches{[](std::chrono::milliseconds, std::function<void()>) {}};
    std::unique_ptr<group_gateway> api;
    std::unique_ptr<broker_services> services;
    std::unique_ptr<dispatcher> kafka;
    std::map<uint64_t, std::shared_ptr<session>> sessions;
    std::deque<std::string> frames;
    int32_t correlation = 1;

    explicit fixture(int32_t initial_delay_ms = 0, int offsets_leader = 1) {
        coordinator_options o;
        o.node_id = 1;
        o.groups.initial_rebalance_delay_ms = initial_delay_ms;
        api = std::make_unique<group_gateway>(
            o, md, pm, nullptr,
            [this](std::chrono::milliseconds, std::function<void()> fn) {
                tasks.push_back(std::move(fn));
            },
            [this] { return now; }, [this] { return std::to_string(next_id++); });
        EXPECT_TRUE(md.apply(snapshot(10, offsets_leader)));
        pm.reconcile(md, now);
        api->start();
        services =
            std::make_unique<broker_services>(broker_services{.me = {1, "broker-1", 9091, ""},
                                                              .options = {},
                                                              .md = md,
                                                              .pm = pm,
                                                              .fetches = fetches,
                                                              .now = [this] { return now; },
                                                              .groups = api.get()});
        kafka = std::make_unique<dispatcher>(*services);
    }

    const std::shared_ptr<session>& conn(uint64_t id, const std::string& peer = "127.0.0.1:5555") {
        auto& s = sessions[id];
        if (!s) {
            s = std::make_shared<session>(id, peer);
        }
        return s;
    }

    /// Moves the clock and runs the timers due (every queued task: the
    /// coordinator ticks; the clock decides what is due).
    void advance(int64_t ms) {
        now += ms;
        const size_t n = tasks.size();
        for (size_t i = 0; i < n; ++i) {
            auto fn = std::move(tasks.front());
            tasks.pop_front();
            fn();
        }
    }

    template <typename Resp, typename Req>
    pending<Resp> send(const Req& req, int16_t version, uint64_t conn_id = 1) {
        kafka::writer body;
        auto enc = req.encode(body, version);
        EXPECT_TRUE(enc) << enc.error().message();
        kafka::request_header h;
        h.request_api_key = static_cast<int16_t>(Req::api);
        h.request_api_version = version;
        h.correlation_id = correlation++;
        h.client_id = "tester";
        auto framed = kafka::frame_request(h, body.data());
        EXPECT_TRUE(framed);
        frames.push_back(framed->substr(4));
        pending<Resp> p;
        p.slot = std::make_shared<std::optional<reply_t>>();
        p.version = version;
        auto slot = p.slot;
        kafka->on_frame(conn(conn_id), frames.back(), [slot](reply_t r) { *slot = std::move(r); });
        return p;
    }

    template <typename Resp, typename Req>
    Resp call(const Req& req, int16_t version, uint64_t conn_id = 1) {
        auto p = send<Resp>(req, version, conn_id);
        EXPECT_TRUE(p.answered()) << Req::schema_name << " v" << version << " not answered";
        return p.get();
    }
};

kafka::join_group_request join_req(const std::string& group, const std::string& member) {
    kafka::join_group_request r;
    r.group_id = group;
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 30000;
    r.member_id = member;
    r.protocol_type = "consumer";
    r.protocols.push_back({"range", "meta", {}});
    return r;
}

TEST(group_api, advertises_every_group_api_from_version_0) {
    fixture f;
    std::map<kafka::api_key, std::pair<int16_t, int16_t>> got;
    for (const auto& e : kafka_apis()) {
        if (e.key == kafka::api_key::find_coordinator || e.key == kafka::api_key::join_group ||
            e.key == kafka::api_key::sync_group || e.key == kafka::api_key::heartbeat ||
            e.key == kafka::api_key::leave_group || e.key == kafka::api_key::offset_commit ||
            e.key == kafka::api_key::offset_fetch || e.key == kafka::api_key::list_groups ||
            e.key == kafka::api_key::describe_groups) {
            got[e.key] = {e.min_version, e.max_version};
        }
    }
    using kafka::api_key;
    const std::map<api_key, std::pair<int16_t, int16_t>> want = {
        {api_key::find_coordinator, {0, 4}}, {api_key::join_group, {0, 7}},
        {api_key::sync_group, {0, 5}},       {api_key::heartbeat, {0, 4}},
        {api_key::leave_group, {0, 4}},      {api_key::offset_commit, {0, 8}},
        {api_key::offset_fetch, {0, 8}},     {api_key::list_groups, {0, 4}},
        {api_key::describe_groups, {0, 5}},
    };
    EXPECT_EQ(got, want);
}

TEST(group_api, find_coordinator_v0_and_v4_batches) {
    fixture f;
    kafka::find_coordinator_request r0;
    r0.key = "g";
    auto a0 = f.call<kafka::find_coordinator_response>(r0, 0);
    EXPECT_EQ(a0.error_code, k::none);
    EXPECT_EQ(a0.node_id, 1);
    EXPECT_EQ(a0.host, "broker-1");
    EXPECT_EQ(a0.port, 9091);

    kafka::find_coordinator_request r4;
    r4.coordinator_keys = {"a", "b"};
    auto a4 = f.call<kafka::find_coordinator_response>(r4, 4);
    ASSERT_EQ(a4.coordinators.size(), 2u);
    EXPECT_EQ(a4.coordinators[0].key, "a");
    EXPECT_EQ(a4.coordinators[1].key, "b");
    for (const auto& c : a4.coordinators) {
        EXPECT_EQ(c.error_code, k::none);
        EXPECT_EQ(c.error_message, std::nullopt);
        EXPECT_EQ(c.node_id, 1);
    }
    r4.key_type = 1;
    auto txn = f.call<kafka::find_coordinator_response>(r4, 4);
    ASSERT_EQ(txn.coordinators.size(), 2u);
    EXPECT_EQ(txn.coordinators[0].error_code, k::invalid_request);
    EXPECT_NE(txn.coordinators[0].error_message.value_or("").find("no transaction coordinator"),
              std::string::npos);
    EXPECT_EQ(txn.coordinators[0].node_id, -1);
}

TEST(group_api, flexible_join_sync_heartbeat_and_batch_leave) {
    fixture f;
    // v7: KIP-394's round trip; protocol type and name are null on errors.
    auto first = f.call<kafka::join_group_response>(join_req("g", ""), 7);
    EXPECT_EQ(first.error_code, k::member_id_required);
    EXPECT_EQ(first.member_id, "tester-1");
    EXPECT_EQ(first.protocol_name, std::nullopt);
    EXPECT_EQ(first.protocol_type, std::nullopt);

    auto waiting = f.send<kafka::join_group_response>(join_req("g", "tester-1"), 7);
    EXPECT_FALSE(waiting.answered());  // the rebalance completes at the next tick
    f.advance(0);
    auto joined = waiting.get();
    EXPECT_EQ(joined.error_code, k::none);
    EXPECT_EQ(joined.generation_id, 1);
    EXPECT_EQ(joined.protocol_type, "consumer");
    EXPECT_EQ(joined.protocol_name, "range");
    EXPECT_EQ(joined.leader, "tester-1");
    ASSERT_EQ(joined.members.size(), 1u);
    EXPECT_EQ(joined.members[0].metadata, "meta");

    kafka::sync_group_request s;
    s.group_id = "g";
    s.generation_id = 1;
    s.member_id = "tester-1";
    s.protocol_type = "consumer";
    s.protocol_name = "range";
    s.assignments.push_back({"tester-1", "assigned", {}});
    auto synced = f.call<kafka::sync_group_response>(s, 5);
    EXPECT_EQ(synced.error_code, k::none);
    EXPECT_EQ(synced.assignment, "assigned");
    EXPECT_EQ(synced.protocol_name, "range");
    s.protocol_name = "roundrobin";
    EXPECT_EQ(f.call<kafka::sync_group_response>(s, 5).error_code, k::inconsistent_group_protocol);

    kafka::heartbeat_request hb;
    hb.group_id = "g";
    hb.generation_id = 1;
    hb.member_id = "tester-1";
    EXPECT_EQ(f.call<kafka::heartbeat_response>(hb, 4).error_code, k::none);

    // v3+: several members at once, each with its own answer.
    kafka::leave_group_request leave;
    leave.group_id = "g";
    leave.members.push_back({"tester-1", std::nullopt, std::nullopt, {}});
    leave.members.push_back({"stranger-9", std::nullopt, std::nullopt, {}});
    auto left = f.call<kafka::leave_group_response>(leave, 4);
    EXPECT_EQ(left.error_code, k::none);
    ASSERT_EQ(left.members.size(), 2u);
    EXPECT_EQ(left.members[0].error_code, k::none);
    EXPECT_EQ(left.members[1].error_code, k::unknown_member_id);
    // v0-2: one member, its error at the top.
    kafka::leave_group_request old;
    old.group_id = "g";
    old.member_id = "tester-1";
    EXPECT_EQ(f.call<kafka::leave_group_response>(old, 1).error_code, k::unknown_member_id);
}

TEST(group_api, static_membership_is_refused) {
    fixture f;
    auto join = join_req("g", "");
    join.group_instance_id = "instance-1";
    EXPECT_EQ(f.call<kafka::join_group_response>(join, 5).error_code, k::unsupported_version);

    kafka::leave_group_request leave;
    leave.group_id = "g";
    leave.members.push_back({"", std::string("instance-1"), std::nullopt, {}});
    auto left = f.call<kafka::leave_group_response>(leave, 3);
    ASSERT_EQ(left.members.size(), 1u);
    EXPECT_EQ(left.members[0].error_code, k::unsupported_version);

    kafka::offset_commit_request c;
    c.group_id = "g";
    c.group_instance_id = "instance-1";
    c.topics.push_back({"t", {{0, 5, -1, -1, std::string(""), {}}}, {}});
    auto committed = f.call<kafka::offset_commit_response>(c, 7);
    EXPECT_EQ(committed.topics.at(0).partitions.at(0).error_code, k::unsupported_version);
}

TEST(group_api, invalid_group_ids_and_timeouts) {
    fixture f;
    EXPECT_EQ(f.call<kafka::join_group_response>(join_req("", ""), 2).error_code,
              k::invalid_group_id);
    auto bad = join_req("g", "");
    bad.rebalance_timeout_ms = -5;
    EXPECT_EQ(f.call<kafka::join_group_response>(bad, 2).error_code, k::invalid_request);
    bad = join_req("g", "");
    bad.session_timeout_ms = 0;
    EXPECT_EQ(f.call<kafka::join_group_response>(bad, 0).error_code, k::invalid_session_timeout);
    kafka::heartbeat_request hb;
    EXPECT_EQ(f.call<kafka::heartbeat_response>(hb, 0).error_code, k::invalid_group_id);
    // Kafka lets OffsetFetch name the empty group.
    kafka::offset_fetch_request of;
    of.topics =
        std::vector<kafka::offset_fetch_request::offset_fetch_request_topic>{{"t", {0}, {}}};
    auto fetched = f.call<kafka::offset_fetch_response>(of, 2);
    EXPECT_EQ(fetched.error_code, k::none);
    EXPECT_EQ(fetched.topics.at(0).partitions.at(0).committed_offset, -1);
}

TEST(group_api, offset_commit_and_fetch_v8) {
    fixture f;
    kafka::offset_commit_request c;
    c.group_id = "g";
    c.topics.push_back({"t", {{0, 42, 3, -1, std::string("m"), {}}, {1, 7, -1, -1, {}, {}}}, {}});
    auto committed = f.call<kafka::offset_commit_response>(c, 8);
    ASSERT_EQ(committed.topics.at(0).partitions.size(), 2u);
    EXPECT_EQ(committed.topics[0].partitions[0].error_code, k::none);
    EXPECT_EQ(committed.topics[0].partitions[1].error_code, k::none);

    kafka::offset_fetch_request r;
    kafka::offset_fetch_request::offset_fetch_request_group all;
    all.group_id = "g";
    all.topics = std::nullopt;  // every committed offset
    kafka::offset_fetch_request::offset_fetch_request_group some;
    some.group_id = "h";
    some.topics =
        std::vector<kafka::offset_fetch_request::offset_fetch_request_topics>{{"t", {1}, {}}};
    r.groups = {all, some};
    auto fetched = f.call<kafka::offset_fetch_response>(r, 8);
    ASSERT_EQ(fetched.groups.size(), 2u);
    const auto& g = fetched.groups[0];
    EXPECT_EQ(g.group_id, "g");
    EXPECT_EQ(g.error_code, k::none);
    ASSERT_EQ(g.topics.size(), 1u);
    ASSERT_EQ(g.topics[0].partitions.size(), 2u);
    EXPECT_EQ(g.topics[0].partitions[0].committed_offset, 42);
    EXPECT_EQ(g.topics[0].partitions[0].committed_leader_epoch, 3);
    EXPECT_EQ(g.topics[0].partitions[0].metadata, "m");
    EXPECT_EQ(g.topics[0].partitions[1].committed_offset, 7);
    EXPECT_EQ(g.topics[0].partitions[1].metadata, "");  // null metadata is stored as ""
    const auto& h = fetched.groups[1];
    EXPECT_EQ(h.topics.at(0).partitions.at(0).committed_offset, -1);
}

TEST(group_api, not_coordinator_goes_where_each_version_carries_errors) {
    fixture f(0, /*offsets_leader=*/2);
    kafka::offset_fetch_request r;
    r.group_id = "g";
    r.topics =
        std::vector<kafka::offset_fetch_request::offset_fetch_request_topic>{{"t", {0, 1}, {}}};
    // v1 has no top-level error: every partition carries it.
    auto v1r = f.call<kafka::offset_fetch_response>(r, 1);
    ASSERT_EQ(v1r.topics.at(0).partitions.size(), 2u);
    EXPECT_EQ(v1r.topics[0].partitions[0].error_code, k::not_coordinator);
    EXPECT_EQ(v1r.topics[0].partitions[1].error_code, k::not_coordinator);
    // v2+: at the top, partitions clean.
    auto v2r = f.call<kafka::offset_fetch_response>(r, 2);
    EXPECT_EQ(v2r.error_code, k::not_coordinator);
    EXPECT_EQ(v2r.topics.at(0).partitions.at(0).error_code, k::none);

    EXPECT_EQ(f.call<kafka::join_group_response>(join_req("g", ""), 2).error_code,
              k::not_coordinator);
    kafka::describe_groups_request d;
    d.groups = {"g"};
    EXPECT_EQ(f.call<kafka::describe_groups_response>(d, 0).groups.at(0).error_code,
              k::not_coordinator);
    kafka::find_coordinator_request fc;
    fc.key = "g";
    auto where = f.call<kafka::find_coordinator_response>(fc, 1);
    EXPECT_EQ(where.error_code, k::none);
    EXPECT_EQ(where.node_id, 2);
    EXPECT_EQ(where.host, "broker-2");
}

TEST(group_api, a_join_whose_connection_closed_is_not_answered) {
    fixture f(/*initial_delay_ms=*/3000);
    auto gone = f.send<kafka::join_group_response>(join_req("g", ""), 2, /*conn_id=*/7);
    auto stays = f.send<kafka::join_group_response>(join_req("g", ""), 2, /*conn_id=*/8);
    EXPECT_FALSE(gone.answered());
    EXPECT_FALSE(stays.answered());
    f.kafka->on_close(*f.conn(7, "127.0.0.1:7777"));
    f.advance(3000);  // the second member's arrival extended the initial delay
    EXPECT_FALSE(stays.answered());
    f.advance(3000);
    EXPECT_FALSE(gone.answered());
    ASSERT_TRUE(stays.answered());
    // The member of the closed connection is still in the generation, as in
    // Kafka: its session timeout removes it unless it comes back.
    const auto r = stays.get();
    EXPECT_EQ(r.error_code, k::none);
    EXPECT_EQ(r.generation_id, 1);
}

TEST(group_api, describe_v5_and_list_v4_with_a_state_filter) {
    fixture f;
    auto waiting = f.send<kafka::join_group_response>(join_req("g", ""), 2);
    f.advance(0);
    const auto joined = waiting.get();
    kafka::sync_group_request s;
    s.group_id = "g";
    s.generation_id = 1;
    s.member_id = joined.member_id;
    s.assignments.push_back({joined.member_id, "mine", {}});
    ASSERT_EQ(f.call<kafka::sync_group_response>(s, 3).error_code, k::none);

    kafka::describe_groups_request d;
    d.groups = {"g", "nobody"};
    d.include_authorized_operations = true;
    auto described = f.call<kafka::describe_groups_response>(d, 5);
    ASSERT_EQ(described.groups.size(), 2u);
    const auto& g = described.groups[0];
    EXPECT_EQ(g.group_state, "Stable");
    EXPECT_EQ(g.protocol_type, "consumer");
    EXPECT_EQ(g.protocol_data, "range");
    EXPECT_EQ(g.authorized_operations, (1 << 3) | (1 << 6) | (1 << 8));
    ASSERT_EQ(g.members.size(), 1u);
    EXPECT_EQ(g.members[0].client_id, "tester");
    EXPECT_EQ(g.members[0].client_host, "/127.0.0.1");
    EXPECT_EQ(g.members[0].member_metadata, "meta");
    EXPECT_EQ(g.members[0].member_assignment, "mine");
    EXPECT_EQ(described.groups[1].group_state, "Dead");
    EXPECT_EQ(described.groups[1].error_code, k::none);

    kafka::list_groups_request l;
    l.states_filter = {"stable"};
    auto listed = f.call<kafka::list_groups_response>(l, 4);
    ASSERT_EQ(listed.groups.size(), 1u);
    EXPECT_EQ(listed.groups[0].group_id, "g");
    EXPECT_EQ(listed.groups[0].group_state, "Stable");
    l.states_filter = {"Empty"};
    EXPECT_TRUE(f.call<kafka::list_groups_response>(l, 4).groups.empty());
}

TEST(group_api, offsets_of_a_deleted_or_recreated_topic_are_not_answered) {
    fixture f;
    kafka::offset_commit_request c;
    c.group_id = "g";
    c.topics.push_back({"t", {{0, 42, -1, -1, std::string("m"), {}}}, {}});
    auto committed = f.call<kafka::offset_commit_response>(c, 8);
    ASSERT_EQ(committed.topics.at(0).partitions.at(0).error_code, k::none);
    // The commit records the topic's id.
    const committed_offset* stored = f.api->coordinator().offsets().find("g", "t", 0);
    ASSERT_NE(stored, nullptr);
    EXPECT_EQ(stored->topic_id, to_kafka_uuid("00000000-0000-4000-8000-00000000000b"));

    // OffsetFetch v8 for t-0, and for every committed offset (topics null).
    const auto fetch = [&f] {
        kafka::offset_fetch_request r;
        kafka::offset_fetch_request::offset_fetch_request_group one;
        one.group_id = "g";
        one.topics =
            std::vector<kafka::offset_fetch_request::offset_fetch_request_topics>{{"t", {0}, {}}};
        kafka::offset_fetch_request::offset_fetch_request_group all;
        all.group_id = "g";
        all.topics = std::nullopt;
        r.groups = {one, all};
        auto resp = f.call<kafka::offset_fetch_response>(r, 8);
        EXPECT_EQ(resp.groups.size(), 2u);
        return resp;
    };
    auto before = fetch();
    EXPECT_EQ(before.groups.at(0).topics.at(0).partitions.at(0).committed_offset, 42);
    EXPECT_EQ(before.groups.at(1).topics.size(), 1u);

    // t deleted and created again under its name: no offset, so the
    // consumer's auto.offset.reset applies.
    auto recreated = snapshot(11, 1);
    recreated.mutable_snapshot()->mutable_topics(1)->set_uuid(
        "00000000-0000-4000-8000-00000000000c");
    ASSERT_TRUE(f.md.apply(recreated));
    f.pm.reconcile(f.md, f.now);
    auto after = fetch();
    EXPECT_EQ(after.groups.at(0).error_code, k::none);
    EXPECT_EQ(after.groups.at(0).topics.at(0).partitions.at(0).committed_offset, -1);
    EXPECT_EQ(after.groups.at(0).topics.at(0).partitions.at(0).error_code, k::none);
    EXPECT_TRUE(after.groups.at(1).topics.empty());

    // t deleted: a commit on it is refused, as Kafka does.
    auto deleted = snapshot(12, 1);
    deleted.mutable_snapshot()->mutable_topics()->RemoveLast();
    ASSERT_TRUE(f.md.apply(deleted));
    f.pm.reconcile(f.md, f.now);
    auto refused = f.call<kafka::offset_commit_response>(c, 8);
    EXPECT_EQ(refused.topics.at(0).partitions.at(0).error_code, k::unknown_topic_or_partition);
}

}  // namespace
}  // namespace fjord::broker
