// File: broker/shadow/fetcher_service_test.cc
//
// The fetchers against a live source cluster (a manual integration check,
// skipped unless FJORD_SHADOW_SOURCE names a source broker host:port whose
// cluster has a topic FJORD_SHADOW_TOPIC, default "shadow-src", with 2
// partitions): records produced there are copied into shadow partitions
// byte for byte at the same offsets, the heartbeat report says so, and
// once the topic is FAILING_OVER nothing more lands. The io thread is a
// queue run by a thread of the test.

#include "broker/shadow/fetcher_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/storage/log_test_util.h"
#include "common/kafka/client/wire_client.h"
#include "common/kafka/messages/delete_records.h"
#include "common/kafka/messages/fetch.h"
#include "common/kafka/messages/produce.h"

namespace fjord::broker::shadow {
namespace {

using storage::testing::make_batch;
using storage::testing::split_batches;

int64_t wall() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// The io thread.
class executor {
  public:
    executor() : _t([this] { loop(); }) {}
    ~executor() {
        {
            std::lock_guard g(_m);
            _stop = true;
        }
        _cv.notify_all();
        _t.join();
    }
    void post(std::function<void()> fn) {
        {
            std::lock_guard g(_m);
            _q.push_back(std::move(fn));
        }
        _cv.notify_all();
    }
    template <typename F>
    auto run(F fn) {
        std::packaged_task<decltype(fn())()> task(std::move(fn));
        auto f = task.get_future();
        post([&task] { task(); });
        return f.get();
    }

  private:
    void loop() {
        std::unique_lock g(_m);
        while (true) {
            _cv.wait(g, [&] { return _stop || !_q.empty(); });
            if (_q.empty()) {
                return;
            }
            auto fn = std::move(_q.front());
            _q.pop_front();
            g.unlock();
            fn();
            g.lock();
        }
    }
    std::mutex _m;
    std::condition_variable _cv;
    std::deque<std::function<void()>> _q;
    bool _stop = false;
    std::thread _t;
};

void produce(kafka::client::wire_client& c, const std::string& topic, int32_t p, int n) {
    kafka::produce_request req;
    req.acks = -1;
    req.timeout_ms = 5000;
    kafka::produce_request::topic_produce_data td;
    td.name = topic;
    td.partition_data.push_back({p, make_batch(n, wall(), 32, p), {}});
    req.topic_data.push_back(td);
    auto r = c.call<kafka::produce_request, kafka::produce_response>(req, 7);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->responses.at(0).partition_responses.at(0).error_code, 0);
}

/// The source's batches of (topic, p) from 0, and its high watermark.
std::pair<std::string, int64_t> source_log(kafka::client::wire_client& c, const std::string& topic,
                                           int32_t p, int64_t from = 0) {
    kafka::fetch_request req;
    req.max_wait_ms = 0;
    req.min_bytes = 0;
    kafka::fetch_request::fetch_topic ft;
    ft.topic = topic;
    kafka::fetch_request::fetch_partition fp;
    fp.partition = p;
    fp.fetch_offset = from;
    fp.partition_max_bytes = 1 << 20;
    ft.partitions.push_back(fp);
    req.topics.push_back(ft);
    auto r = c.call<kafka::fetch_request, kafka::fetch_response>(req, 11);
    EXPECT_TRUE(r) << r.error().message();
    const auto& pr = r->responses.at(0).partitions.at(0);
    return {pr.records.value_or(""), pr.high_watermark};
}

/// A shadow cluster's state: broker 1, link "dr" to `source`, and `topic`
/// (set in `t`) a shadow of the source's topic of that name, 2 partitions
/// led by broker 1.
v1::WatchEvent shadow_state(const std::string& source, const std::string& topic, v1::Topic& t) {
    v1::WatchEvent snap;
    auto* s = snap.mutable_snapshot();
    s->set_revision(1);
    s->set_cluster_uuid("shadow-cluster");
    auto* b = s->add_brokers();
    b->set_id(1);
    auto* l = s->add_shadow_links();
    l->set_name("dr");
    l->set_uuid("00000000-0000-4000-8000-0000000000dd");
    l->set_state(v1::SHADOW_LINK_STATE_ACTIVE);
    l->mutable_config()->mutable_client_options()->add_bootstrap_servers(source);
    l->mutable_config()->mutable_client_options()->set_retry_backoff_ms(50);
    l->mutable_config()->mutable_client_options()->set_fetch_wait_max_ms(100);
    t.set_name(topic);
    t.set_uuid("00000000-0000-4000-8000-0000000000aa");
    t.set_replication_factor(1);
    for (int32_t p : {0, 1}) {
        auto* a = t.add_partitions();
        a->set_partition(p);
        a->add_replicas(1);
        a->set_leader(1);
    }
    t.mutable_shadow()->set_link("dr");
    t.mutable_shadow()->set_link_uuid(l->uuid());
    t.mutable_shadow()->set_source_topic(topic);
    t.mutable_shadow()->set_state(v1::SHADOW_TOPIC_STATE_ACTIVE);
    t.mutable_shadow()->set_start_at(-2);
    *s->add_topics() = t;
    snap.set_revision_complete(true);
    return snap;
}

TEST(fetcher_service, copies_a_live_source_and_stops_at_failover) {
    const char* source = std::getenv("FJORD_SHADOW_SOURCE");
    if (source == nullptr) {
        GTEST_SKIP() << "FJORD_SHADOW_SOURCE is not set";
    }
    const std::string topic =
        std::getenv("FJORD_SHADOW_TOPIC") ? std::getenv("FJORD_SHADOW_TOPIC") : "shadow-src";
    kafka::client::client_options co;
    auto src = kafka::client::wire_client::open(source, co);
    ASSERT_TRUE(src) << src.error().message();
    for (int32_t p : {0, 1}) {
        produce(**src, topic, p, 3);
        produce(**src, topic, p, 1);
    }

    storage::testing::temp_dir dir;
    executor io;
    metadata_cache md;
    partition_manager pm(dir.path(), 1, partition_defaults{});
    fetcher_service svc(
        fetcher_options{.node_id = 1, .now = wall, .post_to_io = [&io](std::function<void()> fn) {
                            io.post(std::move(fn));
                        }});
    v1::Topic t;
    const v1::WatchEvent snap = shadow_state(source, topic, t);
    io.run([&] {
        EXPECT_TRUE(md.apply(snap));
        pm.reconcile(md, wall());
        svc.reconcile(md, pm);
        return 0;
    });

    // Everything the source has, at the same offsets, byte for byte.
    for (int32_t p : {0, 1}) {
        const auto [bytes, hwm] = source_log(**src, topic, p);
        ASSERT_GT(hwm, 0);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        int64_t hw = 0;
        while (std::chrono::steady_clock::now() < deadline) {
            hw = io.run([&] { return pm.find(topic, p)->high_watermark().value(); });
            if (hw >= hwm) {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ASSERT_EQ(hw, hwm) << "partition " << p;
        const std::string copied = io.run([&] {
            auto& log = pm.find(topic, p)->log();
            auto r = log.read(log.log_start_offset(), UINT64_MAX, log.high_watermark());
            return r ? r->bytes : std::string("read failed");
        });
        EXPECT_EQ(split_batches(copied), split_batches(bytes)) << "partition " << p;
    }
    io.run([&] {
        svc.tick();
        return 0;
    });
    v1::HeartbeatRequest hb;
    svc.report(hb);
    ASSERT_EQ(hb.shadow_partitions_size(), 2);
    for (const auto& ps : hb.shadow_partitions()) {
        EXPECT_EQ(ps.state(), "ACTIVE") << ps.reason();
        EXPECT_EQ(ps.source_hwm(), ps.shadow_hwm());
        EXPECT_EQ(ps.link(), "dr");
    }
    ASSERT_EQ(hb.shadow_tasks_size(), 1);
    EXPECT_EQ(hb.shadow_tasks(0).name(), "Shadow Topic Replication");
    EXPECT_EQ(hb.shadow_tasks(0).state(), "ACTIVE");

    // A restart resumes from the shadow's log end: more records, no
    // duplicate, no gap.
    svc.stop();
    for (int32_t p : {0, 1}) {
        produce(**src, topic, p, 2);
    }
    fetcher_service again(
        fetcher_options{.node_id = 1, .now = wall, .post_to_io = [&io](std::function<void()> fn) {
                            io.post(std::move(fn));
                        }});
    io.run([&] {
        again.reconcile(md, pm);
        return 0;
    });
    for (int32_t p : {0, 1}) {
        const auto [bytes, hwm] = source_log(**src, topic, p);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        int64_t hw = 0;
        while (std::chrono::steady_clock::now() < deadline && hw < hwm) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            hw = io.run([&] { return pm.find(topic, p)->high_watermark().value(); });
        }
        ASSERT_EQ(hw, hwm) << "partition " << p;
        const std::string copied = io.run([&] {
            auto& log = pm.find(topic, p)->log();
            auto r = log.read(log.log_start_offset(), UINT64_MAX, log.high_watermark());
            return r ? r->bytes : std::string("read failed");
        });
        EXPECT_EQ(split_batches(copied), split_batches(bytes)) << "partition " << p;
    }

    // The failover fence: once FAILING_OVER is applied, nothing lands.
    const int64_t end0 = io.run([&] {
        v1::WatchEvent ev;
        ev.mutable_delta()->set_revision(2);
        t.mutable_shadow()->set_state(v1::SHADOW_TOPIC_STATE_FAILING_OVER);
        *ev.mutable_delta()->mutable_topic_upserted() = t;
        ev.set_revision_complete(true);
        EXPECT_TRUE(md.apply(ev));
        pm.reconcile(md, wall());
        again.reconcile(md, pm);
        return pm.find(topic, 0)->log().log_end_offset().value();
    });
    produce(**src, topic, 0, 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(io.run([&] { return pm.find(topic, 0)->log().log_end_offset().value(); }), end0);
    v1::HeartbeatRequest after;
    again.report(after);
    EXPECT_EQ(after.shadow_partitions_size(), 0);
    again.stop();
}

TEST(fetcher_service, the_source_start_inside_a_batch) {
    // The source's DeleteRecords start lies inside its first batch: the
    // shadow holds that batch whole, at its offsets, and starts where the
    // source starts.
    const char* source = std::getenv("FJORD_SHADOW_SOURCE");
    const char* topic = std::getenv("FJORD_SHADOW_TRIM_TOPIC");
    if (source == nullptr || topic == nullptr) {
        GTEST_SKIP() << "FJORD_SHADOW_SOURCE or FJORD_SHADOW_TRIM_TOPIC is not set";
    }
    auto src = kafka::client::wire_client::open(source, kafka::client::client_options{});
    ASSERT_TRUE(src) << src.error().message();
    produce(**src, topic, 0, 3);
    produce(**src, topic, 0, 2);
    kafka::delete_records_request del;
    del.timeout_ms = 5000;
    kafka::delete_records_request::delete_records_topic dt;
    dt.name = topic;
    dt.partitions.push_back({0, 2, {}});
    del.topics.push_back(dt);
    auto deleted =
        (*src)->call<kafka::delete_records_request, kafka::delete_records_response>(del, 1);
    ASSERT_TRUE(deleted) << deleted.error().message();
    ASSERT_EQ(deleted->topics.at(0).partitions.at(0).error_code, 0);

    storage::testing::temp_dir dir;
    executor io;
    metadata_cache md;
    partition_manager pm(dir.path(), 1, partition_defaults{});
    fetcher_service svc(
        fetcher_options{.node_id = 1, .now = wall, .post_to_io = [&io](std::function<void()> fn) {
                            io.post(std::move(fn));
                        }});
    v1::Topic t;
    const v1::WatchEvent snap = shadow_state(source, topic, t);
    io.run([&] {
        EXPECT_TRUE(md.apply(snap));
        pm.reconcile(md, wall());
        svc.reconcile(md, pm);
        return 0;
    });
    const auto [bytes, hwm] = source_log(**src, topic, 0, 2);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    int64_t start = -1;
    int64_t hw = 0;
    while (std::chrono::steady_clock::now() < deadline && (hw < hwm || start != 2)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::tie(hw, start) = io.run([&] {
            auto* p = pm.find(topic, 0);
            return std::pair<int64_t, int64_t>{p->high_watermark().value(),
                                               p->log().log_start_offset().value()};
        });
    }
    EXPECT_EQ(hw, hwm);
    EXPECT_EQ(start, 2);
    const std::string copied = io.run([&] {
        auto& log = pm.find(topic, 0)->log();
        auto r = log.read(kafka_offset{2}, UINT64_MAX, log.high_watermark());
        return r ? r->bytes : std::string("read failed");
    });
    EXPECT_EQ(split_batches(copied), split_batches(bytes));
    svc.stop();
}

TEST(fetcher_service, an_unreachable_source_is_link_unavailable_with_the_reason) {
    storage::testing::temp_dir dir;
    executor io;
    metadata_cache md;
    partition_manager pm(dir.path(), 1, partition_defaults{});
    fetcher_service svc(
        fetcher_options{.node_id = 1, .now = wall, .post_to_io = [&io](std::function<void()> fn) {
                            io.post(std::move(fn));
                        }});
    v1::Topic t;
    const v1::WatchEvent snap = shadow_state("127.0.0.1:1", "t", t);
    io.run([&] {
        EXPECT_TRUE(md.apply(snap));
        pm.reconcile(md, wall());
        svc.reconcile(md, pm);
        return 0;
    });
    v1::HeartbeatRequest hb;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        hb.Clear();
        svc.report(hb);
        if (hb.shadow_tasks_size() == 1 && hb.shadow_tasks(0).state() == "LINK_UNAVAILABLE") {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(hb.shadow_tasks_size(), 1);
    EXPECT_EQ(hb.shadow_tasks(0).state(), "LINK_UNAVAILABLE");
    EXPECT_NE(hb.shadow_tasks(0).reason().find("127.0.0.1:1"), std::string::npos)
        << hb.shadow_tasks(0).reason();
    // Partitions say it too, once the round that failed has reported.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    hb.Clear();
    svc.report(hb);
    ASSERT_EQ(hb.shadow_partitions_size(), 2);
    EXPECT_EQ(hb.shadow_partitions(0).state(), "LINK_UNAVAILABLE");
    EXPECT_EQ(hb.shadow_partitions(0).source_hwm(), -1);
    svc.stop();
}

}  // namespace
}  // namespace fjord::broker::shadow
