// File: broker/kafka/tiered_read_api_test.cc
//
// Fetch and ListOffsets below the local log start of a
// redpanda.remote.read topic (handlers/tiered_read.h), through the
// dispatcher with the codec, over a real remote reader and a local-directory
// bucket behind objstore::testing::fault_store, the io thread driven by the
// test: a Fetch waits (parked) while the segment downloads and is woken
// with the remote bytes; a consumer reading from 0 crosses into the local
// log byte for byte; max_wait elapses with an empty answer; below the
// remote start and without remote.read it is OFFSET_OUT_OF_RANGE; the store
// down is KAFKA_STORAGE_ERROR; ListOffsets -2 (the remote start), -4 (the
// local start, v8), -1, -3 (v7) and timestamps in remote segments, answered
// later when the store must be asked, and REQUEST_TIMED_OUT at its deadline;
// blocked topics (migrations) are INVALID_TOPIC_EXCEPTION.

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/fetch.h"
#include "broker/tiered/remote_reader.h"
#include "broker/tiered/test_util.h"
#include "common/kafka/frame.h"
#include "common/kafka/messages/delete_records.h"
#include "common/kafka/messages/describe_log_dirs.h"
#include "common/kafka/messages/fetch.h"
#include "common/kafka/messages/list_offsets.h"
#include "common/objstore/testing.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
namespace layout = ::fjord::tiered;
using tiered_read::testing::manual_io;
using tiered_read::testing::remote_log;

constexpr const char* cluster = "00000000-0000-4000-8000-00000000c1c1";
constexpr const char* topic_uuid = "00000000-0000-4000-8000-0000000070b1";

v1::Topic make_topic(const std::string& name, const std::string& uuid,
                     std::map<std::string, std::string> configs) {
    v1::Topic t;
    t.set_name(name);
    t.set_uuid(uuid);
    t.set_replication_factor(1);
    auto* a = t.add_partitions();
    a->set_partition(0);
    a->add_replicas(1);
    a->set_leader(1);
    for (const auto& [key, v] : configs) {
        (*t.mutable_configs())[key] = v;
    }
    return t;
}

v1::WatchEvent snapshot(std::optional<v1::MigrationState> unmount = std::nullopt) {
    v1::WatchEvent ev;
    auto* s = ev.mutable_snapshot();
    s->set_revision(10);
    s->set_cluster_uuid(cluster);
    // "orders": tiered with remote.read; its location is the test bucket's.
    v1::Topic orders =
        make_topic("orders", topic_uuid,
                   {{"redpanda.remote.read", "true"}, {"redpanda.remote.write", "true"}});
    if (unmount) {
        orders.mutable_migration()->set_id(3);
        orders.mutable_migration()->set_type(v1::MIGRATION_TYPE_UNMOUNT);
        orders.mutable_migration()->set_state(*unmount);
    }
    *s->add_topics() = orders;
    // "plain": the same data remotely, but no remote.read.
    *s->add_topics() = make_topic("plain", "00000000-0000-4000-8000-0000000070b2",
                                  {{"redpanda.remote.write", "true"}});
    auto* b = s->add_brokers();
    b->set_id(1);
    auto* ep = b->add_endpoints();
    ep->set_name("kafka");
    ep->set_host("broker-1");
    ep->set_port(9092);
    auto* c = s->add_cluster_config();
    c->set_key("cloud_storage_enabled");
    c->set_value("true");
    ev.set_revision_complete(true);
    return ev;
}

struct fixture {
    storage::testing::temp_dir dir;
    manual_io io;
    int64_t now = 1'000'000;
    metadata_cache md;
    partition_manager pm{dir.path(), 1, partition_defaults{}};
    std::shared_ptr<objstore::testing::fault_store> store;
    std::unique_ptr<tiered_read::remote_reader> reader;
    parked_fetches fetches{[this](std::chrono::milliseconds d, std::function<void()> fn) {
        io.schedule(d, std::move(fn));
    }};
    std::unique_ptr<broker_services> services;
    std::unique_ptr<dispatcher> api;
    std::shared_ptr<session> conn = std::make_shared<session>(1, "127.0.0.1:5555");
    int32_t correlation = 1;
    /// The remote log of "orders" (and "plain"): 0-19 and 20-39, in the bucket.
    remote_log remote;

    explicit fixture(std::optional<v1::MigrationState> unmount = std::nullopt) {
        EXPECT_TRUE(md.apply(snapshot(unmount)));
        pm.reconcile(md, 1000);
        auto s = objstore::make_local_store(dir.sub("bucket"));
        EXPECT_TRUE(s);
        store = std::make_shared<objstore::testing::fault_store>(
            std::shared_ptr<objstore::object_store>(std::move(*s)));
        tiered_read::remote_reader_options o;
        o.cache_dir = dir.sub("cloud_cache");
        auto r = tiered_read::remote_reader::open(
            o, [this](std::function<void()> fn) { io.post(std::move(fn)); },
            [this](std::chrono::milliseconds d, std::function<void()> fn) {
                io.schedule(d, std::move(fn));
            },
            [this] { return now; });
        EXPECT_TRUE(r);
        reader = std::move(*r);
        reader->set_store(store, "test-bucket");
        reader->set_on_progress([this] { fetches.wake(); });
        services =
            std::make_unique<broker_services>(broker_services{.me = {1, "broker-1", 9092, ""},
                                                              .options = {},
                                                              .md = md,
                                                              .pm = pm,
                                                              .fetches = fetches,
                                                              .now = [this] { return now; },
                                                              .remote = reader.get()});
        api = std::make_unique<dispatcher>(*services);

        remote.location = layout::default_location("orders", cluster, topic_uuid);
        remote.manifest.location = remote.location;
        remote.add({4, 5, 1000, 100});
        remote.add({4, 5, 1020, 100});
        remote.upload(*store);
        // The local log holds the same batches, 0-39, in two segments; then
        // retention removes the first, as local retention does once it is
        // uploaded: 0-19 are only in the bucket now.
        for (const char* t : {"orders", "plain"}) {
            storage::partition_log& l = pm.find(t, 0)->log();
            for (const auto& [base, batch] : remote.batches) {
                if (base == 20) {
                    EXPECT_TRUE(l.roll(1000));
                }
                auto a = l.append(storage::testing::with_base_offset(batch, 0), 1000);
                EXPECT_TRUE(a) << a.error().message();
                EXPECT_EQ(a->base_offset.value(), base);
            }
            EXPECT_TRUE(l.set_high_watermark(l.log_end_offset()));
            // The bucket has 0-39: the archiver's limit lets retention go.
            l.set_retention_limit(kafka_offset{40});
            storage::log_config c = l.config();
            c.retention_bytes = 1;
            EXPECT_TRUE(l.set_config(c));
            EXPECT_TRUE(l.apply_retention(1000));
            EXPECT_EQ(l.log_start_offset().value(), 20);
            EXPECT_EQ(l.records_deleted_before().value(), 0);
        }
    }

    /// Sends a request; the reply lands in the returned slot, now or later.
    template <typename Req>
    std::shared_ptr<std::optional<reply_t>> send(const Req& req, int16_t version) {
        kafka::writer body;
        EXPECT_TRUE(req.encode(body, version));
        kafka::request_header h;
        h.request_api_key = static_cast<int16_t>(Req::api);
        h.request_api_version = version;
        h.correlation_id = correlation++;
        h.client_id = "tester";
        auto framed = kafka::frame_request(h, body.data());
        EXPECT_TRUE(framed);
        auto got = std::make_shared<std::optional<reply_t>>();
        api->on_frame(conn, framed->substr(4), [got](reply_t r) { *got = std::move(r); });
        return got;
    }

    template <typename Resp>
    Resp decode(const std::optional<reply_t>& got, int16_t version) {
        if (!got || got->what != reply_t::kind::response) {
            ADD_FAILURE() << "no response";
            return Resp{};
        }
        kafka::reader r(got->bytes);
        EXPECT_TRUE(r.read_int32());
        if (kafka::response_header_version(*kafka::find_api(static_cast<int16_t>(Resp::api)),
                                           version) >= 1) {
            auto n = r.read_unsigned_varint();
            EXPECT_TRUE(n && *n == 0);
        }
        auto d = Resp::decode(r, version);
        EXPECT_TRUE(d) << d.error().message();
        return d ? *d : Resp{};
    }

    /// Runs the io thread until `got` is answered (loads and downloads
    /// complete on the reader's workers).
    void until_answered(const std::shared_ptr<std::optional<reply_t>>& got) {
        ASSERT_TRUE(io.run_until([&] { return got->has_value(); }));
    }
};

kafka::fetch_request fetch_req(const std::string& topic, int64_t offset, int32_t max_wait_ms,
                               int32_t partition_max_bytes = 1 << 20) {
    kafka::fetch_request fr;
    fr.max_wait_ms = max_wait_ms;
    fr.min_bytes = 1;
    fr.max_bytes = 64 << 20;
    kafka::fetch_request::fetch_topic ft;
    ft.topic = topic;
    kafka::fetch_request::fetch_partition fp;
    fp.partition = 0;
    fp.fetch_offset = offset;
    fp.partition_max_bytes = partition_max_bytes;
    ft.partitions.push_back(fp);
    fr.topics.push_back(ft);
    return fr;
}

const kafka::fetch_response::partition_data& only(const kafka::fetch_response& r) {
    EXPECT_EQ(r.responses.size(), 1u);
    EXPECT_EQ(r.responses.at(0).partitions.size(), 1u);
    return r.responses.at(0).partitions.at(0);
}

kafka::list_offsets_request offsets_req(const std::string& topic, std::vector<int64_t> ts) {
    kafka::list_offsets_request lo;
    lo.replica_id = -1;
    kafka::list_offsets_request::list_offsets_topic t;
    t.name = topic;
    for (int64_t x : ts) {
        kafka::list_offsets_request::list_offsets_partition p;
        p.partition_index = 0;
        p.timestamp = x;
        t.partitions.push_back(p);
    }
    lo.topics.push_back(t);
    return lo;
}

/// (error, offset, timestamp) per asked partition entry.
std::vector<std::tuple<int16_t, int64_t, int64_t>> answers(const kafka::list_offsets_response& r) {
    std::vector<std::tuple<int16_t, int64_t, int64_t>> out;
    for (const auto& t : r.topics) {
        for (const auto& p : t.partitions) {
            out.emplace_back(p.error_code, p.offset, p.timestamp);
        }
    }
    return out;
}

TEST(tiered_fetch, below_the_local_start_waits_for_the_download_then_serves_the_remote_bytes) {
    fixture f;
    auto got = f.send(fetch_req("orders", 7, 500), 11);
    EXPECT_FALSE(got->has_value());  // parked: the manifest, then the segment
    f.until_answered(got);
    auto resp = f.decode<kafka::fetch_response>(*got, 11);
    const auto& pd = only(resp);
    EXPECT_EQ(pd.error_code, k::none);
    EXPECT_EQ(pd.high_watermark, 40);
    EXPECT_EQ(pd.log_start_offset, 0);  // the remote start
    ASSERT_TRUE(pd.records);
    EXPECT_EQ(*pd.records, f.remote.bytes(7, 20));  // from the batch holding 7: 5-9
    EXPECT_EQ(f.reader->stats().downloads.load(), 1u);
}

TEST(tiered_fetch, a_consumer_from_zero_crosses_into_the_local_log_byte_for_byte) {
    fixture f;
    std::string all;
    int64_t at = 0;
    for (int i = 0; i < 20 && at < 40; ++i) {
        auto got = f.send(fetch_req("orders", at, 500, 1200), 12);
        f.until_answered(got);
        auto resp = f.decode<kafka::fetch_response>(*got, 12);
        const auto& pd = only(resp);
        ASSERT_EQ(pd.error_code, k::none) << "at " << at;
        ASSERT_TRUE(pd.records);
        ASSERT_FALSE(pd.records->empty()) << "at " << at;
        const auto batches = storage::testing::split_batches(*pd.records);
        all += *pd.records;
        const auto& last = batches.back();
        at = storage::testing::base_offset_of(last) +
             static_cast<int64_t>(storage::testing::get_be(last, 23, 4)) + 1;
    }
    EXPECT_EQ(at, 40);
    EXPECT_EQ(all, f.remote.bytes(0, 40));
}

TEST(tiered_fetch, max_wait_passes_while_downloading_empty_not_an_error) {
    fixture f;
    auto got = f.send(fetch_req("orders", 0, 500), 11);
    EXPECT_FALSE(got->has_value());
    f.io.fire_timers();  // max_wait_ms, before the io thread ran the completions
    ASSERT_TRUE(got->has_value());
    auto resp = f.decode<kafka::fetch_response>(*got, 11);
    EXPECT_EQ(only(resp).error_code, k::none);
    EXPECT_TRUE(!only(resp).records || only(resp).records->empty());
    // max_wait 0: answered at once, empty; what it started goes on in the
    // background (the manifest, then the segment) and a later one is served.
    int empty = 0;
    std::optional<kafka::fetch_response> served;
    for (int i = 0; i < 10 && !served; ++i) {
        auto now = f.send(fetch_req("orders", 0, 0), 11);
        ASSERT_TRUE(now->has_value());
        auto r = f.decode<kafka::fetch_response>(*now, 11);
        EXPECT_EQ(only(r).error_code, k::none);
        if (only(r).records && !only(r).records->empty()) {
            served = r;
        } else {
            ++empty;
        }
        ASSERT_TRUE(f.io.run_until([&] { return f.reader->jobs_in_flight() == 0; }));
    }
    ASSERT_TRUE(served);
    EXPECT_EQ(empty, 2);  // the manifest, then the segment
    EXPECT_EQ(*only(*served).records, f.remote.bytes(0, 20));
}

TEST(tiered_fetch, out_of_range_below_the_remote_start_and_without_remote_read) {
    fixture f;
    f.remote.manifest.start_offset = 10;
    f.remote.upload(*f.store);
    auto got = f.send(fetch_req("orders", 3, 500), 11);
    f.until_answered(got);
    EXPECT_EQ(only(f.decode<kafka::fetch_response>(*got, 11)).error_code, k::offset_out_of_range);
    // At the remote start: served.
    got = f.send(fetch_req("orders", 10, 500), 11);
    f.until_answered(got);
    auto resp = f.decode<kafka::fetch_response>(*got, 11);
    EXPECT_EQ(only(resp).error_code, k::none);
    EXPECT_EQ(only(resp).log_start_offset, 10);
    // "plain" has no remote.read: out of range at once, the store untouched
    // (even down).
    f.store->set_down(true);
    got = f.send(fetch_req("plain", 3, 500), 11);
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(only(f.decode<kafka::fetch_response>(*got, 11)).error_code, k::offset_out_of_range);
}

TEST(tiered_fetch, nothing_below_the_delete_records_start_is_served) {
    fixture f;
    // DeleteRecords to 25: the remote log still holds 0-39 (the archiver
    // has not moved its start yet); nothing below 25 may be served.
    ASSERT_TRUE(f.pm.find("orders", 0)->log().delete_records_before(kafka_offset{25}));
    for (int64_t o : {5, 22}) {
        auto got = f.send(fetch_req("orders", o, 500), 11);
        ASSERT_TRUE(got->has_value());
        EXPECT_EQ(only(f.decode<kafka::fetch_response>(*got, 11)).error_code,
                  k::offset_out_of_range)
            << o;
    }
    auto got = f.send(fetch_req("orders", 25, 500), 11);
    ASSERT_TRUE(got->has_value());
    auto resp = f.decode<kafka::fetch_response>(*got, 11);
    EXPECT_EQ(only(resp).error_code, k::none);
    auto lo = f.send(offsets_req("orders", {-2, 1001}), 8);
    f.until_answered(lo);
    // 1001 is in batch 0-4, below the start: the batch holding the start
    // answers, with the start.
    EXPECT_EQ(answers(f.decode<kafka::list_offsets_response>(*lo, 8)),
              (std::vector<std::tuple<int16_t, int64_t, int64_t>>{{k::none, 25, -1},
                                                                  {k::none, 25, 1029}}));
    EXPECT_EQ(f.reader->stats().downloads.load(), 0u);
}

TEST(tiered_fetch, delete_records_below_the_local_start_deletes_the_remote_records) {
    fixture f;
    // 0-19 are only in the bucket (the local log starts at 20). DeleteRecords
    // to 10 must hide 0-9 for good, not answer success and serve them on.
    auto warm = f.send(fetch_req("orders", 0, 500), 11);
    f.until_answered(warm);
    kafka::delete_records_request dr;
    dr.topics.resize(1);
    dr.topics[0].name = "orders";
    dr.topics[0].partitions.resize(1);
    dr.topics[0].partitions[0].partition_index = 0;
    dr.topics[0].partitions[0].offset = 10;
    auto got = f.send(dr, 2);
    ASSERT_TRUE(got->has_value());
    auto resp = f.decode<kafka::delete_records_response>(*got, 2);
    ASSERT_EQ(resp.topics.size(), 1u);
    ASSERT_EQ(resp.topics[0].partitions.size(), 1u);
    EXPECT_EQ(resp.topics[0].partitions[0].error_code, k::none);
    EXPECT_EQ(resp.topics[0].partitions[0].low_watermark, 10);
    EXPECT_EQ(f.pm.find("orders", 0)->log().records_deleted_before().value(), 10);
    auto below = f.send(fetch_req("orders", 5, 500), 11);
    f.until_answered(below);
    EXPECT_EQ(only(f.decode<kafka::fetch_response>(*below, 11)).error_code, k::offset_out_of_range);
    auto at = f.send(fetch_req("orders", 10, 500), 11);
    f.until_answered(at);
    auto served = f.decode<kafka::fetch_response>(*at, 11);
    EXPECT_EQ(only(served).error_code, k::none);
    EXPECT_EQ(only(served).log_start_offset, 10);
}

TEST(tiered_fetch, the_store_down_is_a_storage_error_clients_retry) {
    fixture f;
    f.store->set_down(true);
    auto got = f.send(fetch_req("orders", 0, 500), 11);
    f.until_answered(got);
    EXPECT_EQ(only(f.decode<kafka::fetch_response>(*got, 11)).error_code, k::kafka_storage_error);
    // Local offsets are served meanwhile.
    got = f.send(fetch_req("orders", 25, 500), 11);
    ASSERT_TRUE(got->has_value());
    auto resp = f.decode<kafka::fetch_response>(*got, 11);
    EXPECT_EQ(only(resp).error_code, k::none);
    ASSERT_TRUE(only(resp).records);
    EXPECT_EQ(*only(resp).records, f.remote.bytes(25, 40));
}

TEST(tiered_fetch, a_blocked_topic_is_invalid_topic) {
    fixture f(v1::MIGRATION_STATE_EXECUTING);
    auto got = f.send(fetch_req("orders", 25, 500), 11);
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(only(f.decode<kafka::fetch_response>(*got, 11)).error_code,
              k::invalid_topic_exception);
    auto lgot = f.send(offsets_req("orders", {-1}), 6);
    ASSERT_TRUE(lgot->has_value());
    EXPECT_EQ(f.decode<kafka::list_offsets_response>(*lgot, 6).topics[0].partitions[0].error_code,
              k::invalid_topic_exception);
}

TEST(tiered_fetch, an_unmount_still_preparing_is_served) {
    fixture f(v1::MIGRATION_STATE_PREPARED);
    auto got = f.send(fetch_req("orders", 25, 500), 11);
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(only(f.decode<kafka::fetch_response>(*got, 11)).error_code, k::none);
}

// ------------------------------------------------------------ ListOffsets

TEST(tiered_list_offsets, earliest_is_the_remote_start_and_earliest_local_the_local_one) {
    fixture f;
    // Earliest waits for the manifest; the others are local.
    auto got = f.send(offsets_req("orders", {-2, -4, -1}), 8);
    EXPECT_FALSE(got->has_value());
    f.until_answered(got);
    EXPECT_EQ(answers(f.decode<kafka::list_offsets_response>(*got, 8)),
              (std::vector<std::tuple<int16_t, int64_t, int64_t>>{
                  {k::none, 0, -1}, {k::none, 20, -1}, {k::none, 40, -1}}));
    // Without remote.read: the local start.
    got = f.send(offsets_req("plain", {-2}), 8);
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(std::get<1>(answers(f.decode<kafka::list_offsets_response>(*got, 8))[0]), 20);
    // -4 needs v8 and -3 v7.
    got = f.send(offsets_req("orders", {-4, -3}), 6);
    ASSERT_TRUE(got->has_value());
    for (const auto& a : answers(f.decode<kafka::list_offsets_response>(*got, 6))) {
        EXPECT_EQ(std::get<0>(a), k::invalid_request);
    }
}

TEST(tiered_list_offsets, timestamps_below_the_local_data_are_found_remotely) {
    fixture f;
    // 1007: in remote segment 0 (batch 5-9 carries 1005-1009); 1032: local.
    auto got = f.send(offsets_req("orders", {1007, 1032}), 1);
    f.until_answered(got);
    EXPECT_EQ(answers(f.decode<kafka::list_offsets_response>(*got, 1)),
              (std::vector<std::tuple<int16_t, int64_t, int64_t>>{{k::none, 5, 1009},
                                                                  {k::none, 30, 1034}}));
    // Only the remote segment below the local start holding it was read.
    EXPECT_EQ(f.reader->stats().downloads.load(), 1u);
    // Max timestamp: the local log's (1039, batch 35-39).
    got = f.send(offsets_req("orders", {-3}), 7);
    f.until_answered(got);
    EXPECT_EQ(answers(f.decode<kafka::list_offsets_response>(*got, 7)),
              (std::vector<std::tuple<int16_t, int64_t, int64_t>>{{k::none, 35, 1039}}));
}

TEST(tiered_list_offsets, the_largest_timestamp_may_be_remote) {
    fixture f;
    // The bucket's copy of 0-19 carries later timestamps than the local log.
    remote_log later;
    later.location = f.remote.location;
    later.manifest.location = later.location;
    later.add({4, 5, 9000, 100});
    later.upload(*f.store);
    auto got = f.send(offsets_req("orders", {-3}), 8);
    f.until_answered(got);
    EXPECT_EQ(answers(f.decode<kafka::list_offsets_response>(*got, 8)),
              (std::vector<std::tuple<int16_t, int64_t, int64_t>>{{k::none, 15, 9019}}));
}

TEST(tiered_list_offsets, the_store_down_is_a_storage_error_and_a_stuck_one_times_out) {
    fixture f;
    f.store->set_down(true);
    auto got = f.send(offsets_req("orders", {-2, -1}), 8);
    f.until_answered(got);
    EXPECT_EQ(answers(f.decode<kafka::list_offsets_response>(*got, 8)),
              (std::vector<std::tuple<int16_t, int64_t, int64_t>>{{k::kafka_storage_error, -1, -1},
                                                                  {k::none, 40, -1}}));
    // An answer that never comes in time: REQUEST_TIMED_OUT at the deadline
    // (the io thread does not run the completion before the timer).
    f.store->set_down(false);
    f.now += 60000;  // past the backoff
    got = f.send(offsets_req("orders", {-2}), 8);
    EXPECT_FALSE(got->has_value());
    f.now += 30000;
    f.io.fire_timers();
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(std::get<0>(answers(f.decode<kafka::list_offsets_response>(*got, 8))[0]),
              k::request_timed_out);
}

// ------------------------------------------------------------ DescribeLogDirs

TEST(tiered_log_dirs, the_remote_directory_holds_the_uploaded_bytes) {
    fixture f;
    const int64_t remote_bytes =
        static_cast<int64_t>(f.remote.objects[0].size() + f.remote.objects[1].size());
    kafka::describe_log_dirs_request req;
    req.topics = std::nullopt;
    auto got = f.send(req, 4);
    EXPECT_FALSE(got->has_value());  // the manifests load first
    f.until_answered(got);
    auto resp = f.decode<kafka::describe_log_dirs_response>(*got, 4);
    ASSERT_EQ(resp.results.size(), 2u);
    const auto& remote = resp.results[1];
    EXPECT_EQ(remote.log_dir, "remote://test-bucket");
    EXPECT_EQ(remote.error_code, k::none);
    std::map<std::string, std::pair<int64_t, int64_t>> sizes;  // size, lag
    for (const auto& t : remote.topics) {
        for (const auto& p : t.partitions) {
            sizes[t.name + "-" + std::to_string(p.partition_index)] = {p.partition_size,
                                                                       p.offset_lag};
        }
    }
    // Both topics upload to the same location in this fixture's bucket.
    EXPECT_EQ(sizes["orders-0"], (std::pair<int64_t, int64_t>{remote_bytes, 0}));
    // The local directory: the second segment only (the first was removed).
    const auto& local = resp.results[0];
    ASSERT_EQ(local.topics.size(), 2u);
    EXPECT_EQ(local.topics[0].partitions.at(0).partition_size,
              static_cast<int64_t>(f.pm.find(local.topics[0].name, 0)->log().size_bytes()));
    // The store down: the remote directory answers KAFKA_STORAGE_ERROR.
    fixture g;
    g.store->set_down(true);
    got = g.send(req, 4);
    g.until_answered(got);
    resp = g.decode<kafka::describe_log_dirs_response>(*got, 4);
    ASSERT_EQ(resp.results.size(), 2u);
    EXPECT_EQ(resp.results[1].error_code, k::kafka_storage_error);
    EXPECT_EQ(resp.results[0].error_code, k::none);
}

}  // namespace
}  // namespace fjord::broker
