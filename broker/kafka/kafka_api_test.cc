// File: broker/kafka/kafka_api_test.cc
//
// The dispatcher (dispatcher.h) with the data-path handlers, requests and
// responses encoded by the codec: DeleteRecords at v0 and the flexible
// v2 with Kafka's per-partition codes; ListOffsets and Fetch after it (the
// earliest offset, OFFSET_OUT_OF_RANGE below the start); and the broker's
// fetch.max.bytes capping a Fetch, the first batch included as Kafka sends it.

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/kafka/dispatcher.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/fetch.h"
#include "broker/kafka/registry.h"
#include "broker/storage/log_test_util.h"
#include "common/kafka/frame.h"
#include "common/kafka/messages/api_versions.h"
#include "common/kafka/messages/delete_records.h"
#include "common/kafka/messages/describe_log_dirs.h"
#include "common/kafka/messages/fetch.h"
#include "common/kafka/messages/list_offsets.h"
#include "common/kafka/messages/produce.h"
#include "common/kafka/record_batch.h"

namespace fjord::broker {
namespace {

/// The log of a served partition, or nullptr.
storage::partition_log* log_of(partition* p) {
    return p == nullptr ? nullptr : &p->log();
}

namespace k = kafka_errors;
using storage::testing::make_batch;
using storage::testing::temp_dir;

v1::Topic topic(const std::string& name, const std::string& uuid, int partitions, int leader,
                std::map<std::string, std::string> configs = {}) {
    v1::Topic t;
    t.set_name(name);
    t.set_uuid(uuid);
    t.set_replication_factor(1);
    for (int p = 0; p < partitions; ++p) {
        auto* a = t.add_partitions();
        a->set_partition(p);
        a->add_replicas(leader < 0 ? 1 : leader);
        a->set_leader(leader);
    }
    for (const auto& [key, v] : configs) {
        (*t.mutable_configs())[key] = v;
    }
    return t;
}

v1::WatchEvent snapshot() {
    v1::WatchEvent ev;
    auto* s = ev.mutable_snapshot();
    s->set_revision(10);
    s->set_cluster_uuid("cluster-1");
    *s->add_topics() = topic("t", "00000000-0000-4000-8000-000000000001", 2, 1);
    *s->add_topics() = topic("elsewhere", "00000000-0000-4000-8000-000000000002", 1, 2);
    *s->add_topics() = topic("leaderless", "00000000-0000-4000-8000-000000000003", 1, -1);
    *s->add_topics() = topic("__consumer_offsets", "00000000-0000-4000-8000-000000000004", 1, 1);
    *s->add_topics() = topic("compacted", "00000000-0000-4000-8000-000000000005", 1, 1,
                             {{"cleanup.policy", "compact"}});
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

struct fixture {
    temp_dir dir;
    metadata_cache md;
    partition_manager pm{dir.path(), 1, partition_defaults{}};
    parked_fetches fetches{[](std::chrono::milliseconds, std::function<void()>) {}};
    std::unique_ptr<broker_services> services;
    std::unique_ptr<dispatcher> api;
    std::shared_ptr<session> conn = std::make_shared<session>(1, "127.0.0.1:5555");
    int32_t correlation = 1;

    explicit fixture(kafka_options options = {}) {
        EXPECT_TRUE(md.apply(snapshot()));
        pm.reconcile(md, 1000);
        services =
            std::make_unique<broker_services>(broker_services{.me = {1, "broker-1", 9091, ""},
                                                              .options = options,
                                                              .md = md,
                                                              .pm = pm,
                                                              .fetches = fetches,
                                                              .now = [] { return int64_t{1000}; }});
        api = std::make_unique<dispatcher>(*services);
    }

    storage::partition_log& log(const std::string& t, int32_t p) {
        storage::partition_log* l = log_of(pm.find(t, p));
        EXPECT_NE(l, nullptr) << t << "-" << p;
        return *l;
    }

    /// `n` batches of `records` records with values of `value_size` bytes;
    /// all readable (the high watermark at the end).
    void fill(const std::string& t, int32_t p, int n, int records = 1, size_t value_size = 16) {
        storage::partition_log& l = log(t, p);
        for (int i = 0; i < n; ++i) {
            std::string batch = make_batch(records, 1000 + i, value_size, i);
            if (l.config().cleanup_compact) {
                // A compacted topic takes keyed records only.
                kafka::record_batch_builder b;
                for (int j = 0; j < records; ++j) {
                    b.add("k" + std::to_string(j), std::string(value_size, 'v'), 1000 + i);
                }
                batch = b.build();
            }
            auto r = l.append(std::move(batch), 1000);
            ASSERT_TRUE(r) << r.error().message();
        }
        ASSERT_TRUE(l.set_high_watermark(l.log_end_offset()));
    }

    template <typename Resp, typename Req>
    Resp call(const Req& req, int16_t version) {
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
        std::optional<reply_t> got;
        api->on_frame(conn, framed->substr(4), [&got](reply_t r) { got = std::move(r); });
        EXPECT_TRUE(got.has_value()) << Req::schema_name << " v" << version << " not answered";
        if (!got || got->what != reply_t::kind::response) {
            ADD_FAILURE() << Req::schema_name << " v" << version << ": no response";
            return Resp{};
        }
        kafka::reader r(got->bytes);
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

kafka::delete_records_request delete_req(
    std::vector<std::pair<std::string, std::vector<std::pair<int32_t, int64_t>>>> topics) {
    kafka::delete_records_request r;
    r.timeout_ms = 1000;
    for (const auto& [name, parts] : topics) {
        kafka::delete_records_request::delete_records_topic t;
        t.name = name;
        for (const auto& [p, o] : parts) {
            t.partitions.push_back({p, o, {}});
        }
        r.topics.push_back(std::move(t));
    }
    return r;
}

/// (error code, low watermark) per "topic-partition".
std::map<std::string, std::pair<int16_t, int64_t>> results(
    const kafka::delete_records_response& resp) {
    std::map<std::string, std::pair<int16_t, int64_t>> out;
    for (const auto& t : resp.topics) {
        for (const auto& p : t.partitions) {
            out[t.name + "-" + std::to_string(p.partition_index)] = {p.error_code, p.low_watermark};
        }
    }
    return out;
}

TEST(delete_records_api, advertises_versions_0_to_2) {
    const api_entry* e = find_api_entry(static_cast<int16_t>(kafka::api_key::delete_records));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->key, kafka::api_key::delete_records);
    EXPECT_EQ(e->min_version, 0);
    EXPECT_EQ(e->max_version, 2);
}

TEST(delete_records_api, kafka_rules_and_codes_per_partition_at_every_version) {
    for (int16_t v : {0, 1, 2}) {
        SCOPED_TRACE(testing::Message() << "DeleteRecords v" << v);
        fixture f;
        f.fill("t", 0, 10);
        f.fill("t", 1, 4);
        f.fill("compacted", 0, 2);
        f.fill("__consumer_offsets", 0, 2);
        auto resp =
            f.call<kafka::delete_records_response>(delete_req({{"t", {{0, 5}, {1, -1}, {7, 0}}},
                                                               {"nope", {{0, 1}}},
                                                               {"elsewhere", {{0, 1}}},
                                                               {"leaderless", {{0, 0}}},
                                                               {"__consumer_offsets", {{0, 1}}},
                                                               {"compacted", {{0, 1}}}}),
                                                   v);
        const auto got = results(resp);
        const std::map<std::string, std::pair<int16_t, int64_t>> want = {
            {"t-0", {k::none, 5}},
            {"t-1", {k::none, 4}},  // -1: the high watermark
            {"t-7", {k::unknown_topic_or_partition, -1}},
            {"nope-0", {k::unknown_topic_or_partition, -1}},
            {"elsewhere-0", {k::not_leader_or_follower, -1}},
            {"leaderless-0", {k::leader_not_available, -1}},
            {"__consumer_offsets-0", {k::invalid_topic_exception, -1}},
            {"compacted-0", {k::policy_violation, -1}},
        };
        EXPECT_EQ(got, want);
        EXPECT_EQ(f.log("t", 0).log_start_offset(), kafka_offset{5});
        EXPECT_EQ(f.log("__consumer_offsets", 0).log_start_offset(), kafka_offset{0});

        // Below the start: nothing changes, the start is answered. Above the
        // high watermark (or negative): OFFSET_OUT_OF_RANGE.
        ASSERT_TRUE(f.log("t", 0).set_high_watermark(kafka_offset{8}));
        resp = f.call<kafka::delete_records_response>(
            delete_req({{"t", {{0, 3}}}, {"t", {{0, 9}}}, {"t", {{0, -2}}}}), v);
        ASSERT_EQ(resp.topics.size(), 3u);
        EXPECT_EQ(resp.topics[0].partitions[0].error_code, k::none);
        EXPECT_EQ(resp.topics[0].partitions[0].low_watermark, 5);
        EXPECT_EQ(resp.topics[1].partitions[0].error_code, k::offset_out_of_range);
        EXPECT_EQ(resp.topics[1].partitions[0].low_watermark, -1);
        EXPECT_EQ(resp.topics[2].partitions[0].error_code, k::offset_out_of_range);
        EXPECT_EQ(f.log("t", 0).log_start_offset(), kafka_offset{5});
    }
}

// Shadow topics (docs/shadow-links.md): read-only until failed over.
struct shadow_fixture : fixture {
    shadow_fixture() {
        v1::WatchEvent ev;
        ev.mutable_delta()->set_revision(11);
        v1::Topic t = topic("shadow", "00000000-0000-4000-8000-000000000011", 1, 1);
        t.mutable_shadow()->set_link("dr");
        t.mutable_shadow()->set_state(v1::SHADOW_TOPIC_STATE_ACTIVE);
        *ev.mutable_delta()->mutable_topic_upserted() = t;
        ev.set_revision_complete(true);
        EXPECT_TRUE(md.apply(ev));
        t.set_name("failed");
        t.set_uuid("00000000-0000-4000-8000-000000000012");
        ev.mutable_delta()->set_revision(12);
        *ev.mutable_delta()->mutable_topic_upserted() = t;
        EXPECT_TRUE(md.apply(ev));
        pm.reconcile(md, 1000);
        // Both hold copies from the source, at offsets 5 and 6.
        for (const char* name : {"shadow", "failed"}) {
            auto r = pm.find(name, 0)->append_copy(
                storage::testing::with_base_offset(make_batch(2, 1000), 5), 1000);
            EXPECT_TRUE(r) << r.error().detail;
            pm.find(name, 0)->sync(nullptr);
        }
        // Then "failed" fails over: nothing copies into it any more.
        t.mutable_shadow()->set_state(v1::SHADOW_TOPIC_STATE_FAILED_OVER);
        ev.mutable_delta()->set_revision(13);
        *ev.mutable_delta()->mutable_topic_upserted() = t;
        EXPECT_TRUE(md.apply(ev));
        pm.reconcile(md, 1000);
    }
};

kafka::produce_request produce_req(const std::string& t) {
    kafka::produce_request r;
    r.acks = 1;
    r.timeout_ms = 1000;
    kafka::produce_request::topic_produce_data td;
    td.name = t;
    td.partition_data.push_back({0, make_batch(1, 2000), {}});
    r.topic_data.push_back(std::move(td));
    return r;
}

TEST(shadow_topics, produce_is_refused_until_failover) {
    for (int16_t v : {3, 8, 9}) {
        SCOPED_TRACE(testing::Message() << "Produce v" << v);
        shadow_fixture f;
        auto refused = f.call<kafka::produce_response>(produce_req("shadow"), v);
        ASSERT_EQ(refused.responses.size(), 1u);
        const auto& pr = refused.responses[0].partition_responses.at(0);
        EXPECT_EQ(pr.error_code, k::policy_violation);
        EXPECT_EQ(pr.base_offset, -1);
        if (v >= 8) {
            EXPECT_EQ(pr.error_message.value_or(""),
                      "topic shadow is a shadow topic of link dr (state ACTIVE): read-only until "
                      "it is failed over");
        }
        EXPECT_EQ(f.log("shadow", 0).log_end_offset(), kafka_offset{7});
        auto taken = f.call<kafka::produce_response>(produce_req("failed"), v);
        const auto& ok = taken.responses.at(0).partition_responses.at(0);
        EXPECT_EQ(ok.error_code, k::none);
        EXPECT_EQ(ok.base_offset, 7) << "a failed-over topic takes writes at the next offset";
    }
}

TEST(shadow_topics, delete_records_is_refused_until_failover) {
    shadow_fixture f;
    auto resp = f.call<kafka::delete_records_response>(
        delete_req({{"shadow", {{0, 6}}}, {"failed", {{0, 6}}}}), 2);
    const std::map<std::string, std::pair<int16_t, int64_t>> want = {
        {"shadow-0", {k::policy_violation, -1}},
        {"failed-0", {k::none, 6}},
    };
    EXPECT_EQ(results(resp), want);
}

TEST(delete_records_api, list_offsets_and_fetch_follow_the_new_start) {
    fixture f;
    f.fill("t", 0, 10);
    auto del = f.call<kafka::delete_records_response>(delete_req({{"t", {{0, 6}}}}), 1);
    ASSERT_EQ(results(del)["t-0"], (std::pair<int16_t, int64_t>{k::none, 6}));

    kafka::list_offsets_request lo;
    lo.replica_id = -1;
    kafka::list_offsets_request::list_offsets_topic lt;
    lt.name = "t";
    kafka::list_offsets_request::list_offsets_partition lp;
    lp.partition_index = 0;
    lp.timestamp = -2;  // earliest
    lt.partitions.push_back(lp);
    lp.timestamp = 0;  // the first record at or after time 0
    lt.partitions.push_back(lp);
    lo.topics.push_back(lt);
    auto offsets = f.call<kafka::list_offsets_response>(lo, 1);
    ASSERT_EQ(offsets.topics.size(), 1u);
    ASSERT_EQ(offsets.topics[0].partitions.size(), 2u);
    EXPECT_EQ(offsets.topics[0].partitions[0].offset, 6);
    EXPECT_EQ(offsets.topics[0].partitions[1].offset, 6);

    kafka::fetch_request fr;
    fr.max_wait_ms = 0;
    kafka::fetch_request::fetch_topic ft;
    ft.topic = "t";
    kafka::fetch_request::fetch_partition fp;
    fp.partition = 0;
    fp.fetch_offset = 2;
    fp.partition_max_bytes = 1 << 20;
    ft.partitions.push_back(fp);
    fr.topics.push_back(ft);
    auto fetched = f.call<kafka::fetch_response>(fr, 4);
    ASSERT_EQ(fetched.responses.size(), 1u);
    EXPECT_EQ(fetched.responses[0].partitions[0].error_code, k::offset_out_of_range);
    fr.topics[0].partitions[0].fetch_offset = 6;
    fetched = f.call<kafka::fetch_response>(fr, 11);  // log_start_offset from v5
    const auto& pd = fetched.responses[0].partitions[0];
    EXPECT_EQ(pd.error_code, k::none);
    EXPECT_EQ(pd.log_start_offset, 6);
    ASSERT_TRUE(pd.records);
    const auto batches = storage::testing::split_batches(*pd.records);
    ASSERT_EQ(batches.size(), 4u);
    EXPECT_EQ(storage::testing::base_offset_of(batches[0]), 6);
}

// ------------------------------------------------------------ DescribeLogDirs

TEST(describe_log_dirs_api, sizes_of_the_partitions_this_broker_has_at_every_version) {
    fixture f(kafka_options{.log_dir = "/data/topics"});
    f.fill("t", 0, 10);
    const int64_t size0 = static_cast<int64_t>(f.log("t", 0).size_bytes());
    ASSERT_GT(size0, 0);
    for (int16_t v : {0, 1, 2, 3, 4}) {
        SCOPED_TRACE(testing::Message() << "v" << v);
        // Every topic: "elsewhere" has no log here, the rest do.
        kafka::describe_log_dirs_request all;
        all.topics = std::nullopt;
        auto resp = f.call<kafka::describe_log_dirs_response>(all, v);
        EXPECT_EQ(resp.error_code, k::none);
        ASSERT_EQ(resp.results.size(), 1u);
        const auto& dir = resp.results[0];
        EXPECT_EQ(dir.error_code, k::none);
        EXPECT_EQ(dir.log_dir, "/data/topics");
        std::map<std::string, int64_t> sizes;
        for (const auto& t : dir.topics) {
            for (const auto& p : t.partitions) {
                sizes[t.name + "-" + std::to_string(p.partition_index)] = p.partition_size;
                EXPECT_EQ(p.offset_lag, 0);
                EXPECT_FALSE(p.is_future_key);
            }
        }
        EXPECT_EQ(sizes.count("elsewhere-0"), 0u);
        EXPECT_EQ(sizes["t-0"], size0);
        EXPECT_EQ(sizes["t-1"], 0);
        // Named partitions: unknown ones are left out.
        kafka::describe_log_dirs_request some;
        some.topics = std::vector<kafka::describe_log_dirs_request::describable_log_dir_topic>{};
        some.topics->push_back({"t", {0, 7}, {}});
        some.topics->push_back({"ghost", {0}, {}});
        resp = f.call<kafka::describe_log_dirs_response>(some, v);
        ASSERT_EQ(resp.results.size(), 1u);
        ASSERT_EQ(resp.results[0].topics.size(), 1u);
        EXPECT_EQ(resp.results[0].topics[0].name, "t");
        ASSERT_EQ(resp.results[0].topics[0].partitions.size(), 1u);
        EXPECT_EQ(resp.results[0].topics[0].partitions[0].partition_size, size0);
        // The volume, from v4 (the directory does not exist here: unknown).
        EXPECT_EQ(resp.results[0].total_bytes, -1);
    }
}

// ------------------------------------------------------------ fetch.max.bytes

/// Bytes of records in a Fetch response, and per partition.
std::pair<size_t, std::vector<size_t>> record_bytes(const kafka::fetch_response& resp) {
    size_t total = 0;
    std::vector<size_t> per;
    for (const auto& t : resp.responses) {
        for (const auto& p : t.partitions) {
            const size_t n = p.records ? p.records->size() : 0;
            per.push_back(n);
            total += n;
        }
    }
    return {total, per};
}

kafka::fetch_request fetch_both(int32_t max_bytes) {
    kafka::fetch_request fr;
    fr.max_wait_ms = 0;
    fr.max_bytes = max_bytes;
    kafka::fetch_request::fetch_topic ft;
    ft.topic = "t";
    for (int32_t p : {0, 1}) {
        kafka::fetch_request::fetch_partition fp;
        fp.partition = p;
        fp.partition_max_bytes = 1 << 20;
        ft.partitions.push_back(fp);
    }
    fr.topics.push_back(ft);
    return fr;
}

TEST(fetch_max_bytes, caps_a_fetch_asking_for_more) {
    fixture f(kafka_options{.fetch_max_bytes = 4096});
    f.fill("t", 0, 20, 1, 500);  // batches of ~570 bytes
    f.fill("t", 1, 20, 1, 500);
    const size_t batch = f.log("t", 0).size_bytes() / 20;
    for (int16_t v : {4, 11, 12}) {
        auto resp = f.call<kafka::fetch_response>(fetch_both(64 << 20), v);
        const auto [total, per] = record_bytes(resp);
        EXPECT_LE(total, 4096u) << "v" << v;
        EXPECT_GT(total, 4096u - batch) << "v" << v << ": whole batches up to the cap";
        ASSERT_EQ(per.size(), 2u);
        EXPECT_EQ(per[1], 0u) << "the first partition took the whole cap";
    }
    // A request asking for less than the cap gets what it asked for.
    auto resp = f.call<kafka::fetch_response>(fetch_both(2000), 4);
    EXPECT_LE(record_bytes(resp).first, 2000u);
    EXPECT_GT(record_bytes(resp).first, 0u);
}

TEST(fetch_max_bytes, the_first_batch_goes_whole_even_above_the_cap) {
    fixture f(kafka_options{.fetch_max_bytes = 1024});
    f.fill("t", 0, 2, 1, 3000);  // each batch alone exceeds the cap
    f.fill("t", 1, 2, 1, 100);
    auto resp = f.call<kafka::fetch_response>(fetch_both(64 << 20), 4);
    const auto [total, per] = record_bytes(resp);
    ASSERT_EQ(per.size(), 2u);
    EXPECT_EQ(storage::testing::split_batches(*resp.responses[0].partitions[0].records).size(), 1u)
        << "one batch, so the consumer progresses";
    EXPECT_GT(per[0], 1024u);
    EXPECT_EQ(per[1], 0u) << "nothing more once the cap is spent";
    EXPECT_EQ(total, per[0]);
}

TEST(fetch_max_bytes, the_default_is_kafkas_55_mib) {
    EXPECT_EQ(kafka_options{}.fetch_max_bytes, 57671680);
}

// ApiVersions is the registry's table; the list is the one Kafka clients
// saw before the registry existed (key, min, max), byte for byte, plus the
// security APIs (SaslHandshake 17, DescribeAcls 29, CreateAcls 30,
// DeleteAcls 31, SaslAuthenticate 36, Describe/AlterUserScramCredentials
// 50/51), ListOffsets up to 8 (MAX_TIMESTAMP and EARLIEST_LOCAL) and
// DescribeLogDirs 35.
TEST(api_versions, advertises_the_registry_at_every_version) {
    const std::vector<std::tuple<int16_t, int16_t, int16_t>> want = {
        {0, 0, 9},  {1, 4, 12}, {2, 1, 8},  {3, 0, 12}, {8, 0, 8},  {9, 0, 8},  {10, 0, 4},
        {11, 0, 7}, {12, 0, 4}, {13, 0, 4}, {14, 0, 5}, {15, 0, 5}, {16, 0, 4}, {17, 0, 1},
        {18, 0, 3}, {19, 0, 7}, {20, 0, 6}, {21, 0, 2}, {22, 0, 4}, {29, 0, 3}, {30, 0, 3},
        {31, 0, 3}, {32, 0, 4}, {33, 0, 2}, {35, 0, 4}, {36, 0, 2}, {37, 0, 3}, {44, 0, 1},
        {50, 0, 0}, {51, 0, 0}, {60, 0, 1},
    };
    for (int16_t v : {0, 1, 2, 3}) {
        SCOPED_TRACE(testing::Message() << "ApiVersions v" << v);
        fixture f;
        auto resp = f.call<kafka::api_versions_response>(kafka::api_versions_request{}, v);
        EXPECT_EQ(resp.error_code, k::none);
        std::vector<std::tuple<int16_t, int16_t, int16_t>> got;
        for (const auto& a : resp.api_keys) {
            got.emplace_back(a.api_key, a.min_version, a.max_version);
        }
        EXPECT_EQ(got, want);
    }
}

}  // namespace
}  // namespace fjord::broker
