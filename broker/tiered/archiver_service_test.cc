// File: broker/tiered/archiver_service_test.cc
//
// The broker-wide archiver service with its real worker thread, the io
// thread played by the test (posted completions queue up and the test runs
// them): the store built from the cluster config (and rebuilt when it
// changes; a config that does not build waits), archivers only for the led
// partitions of tiered topics, uploads reaching the bucket, the final
// upload of an unmount, the remote half of deleting a tiered topic (kept
// for unmounted data, a mount manifest, or a live topic at the location),
// and the metrics.

#include "broker/tiered/archiver_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/storage/log_test_util.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/objstore/local_store.h"
#include "common/tiered/layout.h"
#include "common/tiered/manifest.h"

namespace fjord::broker::archival {
namespace {

using storage::testing::make_batch;
using storage::testing::temp_dir;

[[maybe_unused]] const bool quiet_logs = [] {
    if (std::getenv("FJORD_LOG") == nullptr) {
        set_log_level(log_level::off);
    }
    return true;
}();

constexpr const char* cluster = "9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5f";
constexpr const char* uuid_1 = "00000000-0000-4000-8000-000000000001";
constexpr const char* uuid_2 = "00000000-0000-4000-8000-000000000002";

v1::Topic make_topic(const std::string& name, const std::string& uuid, int partitions,
                     std::map<std::string, std::string> configs) {
    v1::Topic t;
    t.set_name(name);
    t.set_uuid(uuid);
    for (int p = 0; p < partitions; ++p) {
        auto* a = t.add_partitions();
        a->set_partition(p);
        a->add_replicas(1);
        a->add_replicas(2);
        a->set_leader(p == 0 ? 1 : 2);  // this broker (1) leads partition 0 only
        a->set_leader_epoch(4);
    }
    for (const auto& [k, v] : configs) {
        (*t.mutable_configs())[k] = v;
    }
    return t;
}

const std::map<std::string, std::string> tiered = {{"redpanda.remote.write", "true"}};

struct fixture {
    temp_dir dir;
    metadata_cache md;
    partition_manager pm{dir.path() + "/data", 1, partition_defaults{}};
    std::mutex mu;
    std::deque<std::function<void()>> io;  // what the worker posted
    int64_t now = 1000;
    std::unique_ptr<archiver_service> svc;
    std::vector<v1::Topic> topics;
    std::map<std::string, std::string> config;
    uint64_t revision = 10;

    fixture() {
        std::filesystem::create_directories(dir.path() + "/data");
        service_options o;
        o.node_id = 1;
        o.archiver = {0, 0};
        o.now = [this] { return now; };
        o.retry_ms = 0;
        svc = std::make_unique<archiver_service>(o, [this](std::function<void()> fn) {
            std::lock_guard g(mu);
            io.push_back(std::move(fn));
        });
    }
    ~fixture() { svc->stop(); }

    std::string bucket(const std::string& name = "bucket") const { return dir.path() + "/" + name; }

    void apply() {
        v1::WatchEvent ev;
        ev.mutable_snapshot()->set_revision(++revision);
        ev.mutable_snapshot()->set_cluster_uuid(cluster);
        for (const auto& t : topics) {
            *ev.mutable_snapshot()->add_topics() = t;
        }
        for (const auto& [k, v] : config) {
            auto* c = ev.mutable_snapshot()->add_cluster_config();
            c->set_key(k);
            c->set_value(v);
        }
        ev.set_revision_complete(true);
        md = metadata_cache{};
        ASSERT_TRUE(md.apply(ev));
        pm.reconcile(md, now);
        svc->reconcile(md, pm);
    }

    /// Runs what the worker posted until `pred` holds (ticking meanwhile).
    bool until(const std::function<bool()>& pred) {
        for (int i = 0; i < 2000; ++i) {
            if (pred()) {
                return true;
            }
            std::deque<std::function<void()>> batch;
            {
                std::lock_guard g(mu);
                batch.swap(io);
            }
            for (auto& fn : batch) {
                fn();
            }
            svc->tick();
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return pred();
    }

    void produce(const std::string& topic, int n) {
        auto& log = pm.find(topic, 0)->log();
        for (int i = 0; i < n; ++i) {
            ASSERT_TRUE(log.append(make_batch(1, 1000, 200, i), now));
            if (i % 4 == 3) {
                ASSERT_TRUE(log.roll(now));
            }
        }
        ASSERT_TRUE(log.flush(now));
        ASSERT_TRUE(log.set_high_watermark(log.log_end_offset()));
    }

    std::optional<tiered::partition_manifest> manifest(const std::string& root,
                                                       const std::string& location, int p = 0) {
        auto store = objstore::make_local_store(root);
        EXPECT_TRUE(store);
        const std::string key = tiered::partition_manifest_key(location, p);
        auto got = (*store)->get(key);
        if (!got) {
            return std::nullopt;
        }
        auto m = tiered::decode_partition_manifest(*got, key);
        return m ? std::optional(*m) : std::nullopt;
    }
};

std::string loc(const std::string& name, const std::string& uuid) {
    return tiered::default_location(name, cluster, uuid);
}

TEST(archiver_service, uploads_the_led_partitions_of_tiered_topics_once_cloud_storage_is_on) {
    fixture f;
    f.topics = {make_topic("orders", uuid_1, 2, tiered), make_topic("plain", uuid_2, 1, {})};
    f.apply();
    EXPECT_FALSE(f.svc->store_ready());
    EXPECT_EQ(f.svc->archivers(), 0u);
    f.produce("orders", 8);
    f.config = {{"cloud_storage_enabled", "true"}, {"cloud_storage_local_directory", f.bucket()}};
    f.apply();
    ASSERT_TRUE(f.until([&] { return f.svc->store_ready(); }));
    EXPECT_EQ(f.svc->archivers(),
              1u);  // orders-0: led here; orders-1 is broker 2's; plain is not tiered
    ASSERT_TRUE(f.until([&] { return f.svc->stats().segments_uploaded.load() == 2; }));
    auto m = f.manifest(f.bucket(), loc("orders", uuid_1));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->next_offset(), 8);
    ASSERT_EQ(m->segments.size(), 2u);
    EXPECT_EQ(m->segments[0].epoch, 4);  // the leader epoch
    EXPECT_FALSE(f.manifest(f.bucket(), loc("orders", uuid_1), 1));
    EXPECT_FALSE(f.manifest(f.bucket(), loc("plain", uuid_2)));
    EXPECT_EQ(f.pm.find("orders", 0)->log().retention_limit(), kafka_offset{8});
    EXPECT_EQ(f.svc->stats().segments_uploaded.load(), 2u);

    // The metrics.
    metrics::registry reg;
    auto update = f.svc->add_metrics(reg);
    update();
    const std::string text = reg.render();
    EXPECT_NE(text.find("fjord_broker_tiered_uploaded_segments_total 2"), std::string::npos)
        << text;
    EXPECT_NE(text.find("fjord_broker_tiered_upload_lag_offsets 0"), std::string::npos);
    EXPECT_NE(text.find("fjord_broker_tiered_partitions 1"), std::string::npos);
    EXPECT_NE(text.find("fjord_broker_objstore_requests_total"), std::string::npos);

    // Another directory: a new store, and the archiver starts over there.
    f.config["cloud_storage_local_directory"] = f.bucket("other");
    f.apply();
    ASSERT_TRUE(f.until([&] {
        auto mo = f.manifest(f.bucket("other"), loc("orders", uuid_1));
        return mo && mo->next_offset() == 8;
    }));
    // Off: no store, no archivers.
    f.config["cloud_storage_enabled"] = "false";
    f.apply();
    EXPECT_FALSE(f.svc->store_ready());
    EXPECT_EQ(f.svc->archivers(), 0u);
}

TEST(archiver_service, a_config_that_does_not_build_a_store_waits) {
    fixture f;
    f.topics = {make_topic("orders", uuid_1, 1, tiered)};
    f.config = {{"cloud_storage_enabled", "true"}};  // no directory
    f.apply();
    EXPECT_FALSE(f.until([&] { return f.svc->store_ready(); }));
    EXPECT_EQ(f.svc->archivers(), 0u);
    EXPECT_EQ(f.pm.find("orders", 0)->log().retention_limit(), kafka_offset{0});
    f.config = {{"cloud_storage_enabled", "true"}, {"cloud_storage_local_directory", "relative"}};
    f.apply();  // make_store refuses a relative directory
    EXPECT_FALSE(f.until([&] { return f.svc->store_ready(); }));
    f.config["cloud_storage_local_directory"] = f.bucket();
    f.apply();
    EXPECT_TRUE(f.until([&] { return f.svc->store_ready(); }));
    EXPECT_TRUE(f.until([&] { return f.manifest(f.bucket(), loc("orders", uuid_1)).has_value(); }));
}

TEST(archiver_service, an_unmount_executing_gets_the_final_manifest) {
    fixture f;
    f.config = {{"cloud_storage_enabled", "true"}, {"cloud_storage_local_directory", f.bucket()}};
    f.topics = {make_topic("orders", uuid_1, 1, tiered)};
    f.apply();
    f.produce("orders", 6);  // the last two in the active segment
    auto& mig = *f.topics[0].mutable_migration();
    mig.set_id(9);
    mig.set_type(v1::MIGRATION_TYPE_UNMOUNT);
    mig.set_state(v1::MIGRATION_STATE_EXECUTING);
    f.apply();
    ASSERT_TRUE(f.until([&] {
        auto m = f.manifest(f.bucket(), loc("orders", uuid_1));
        return m && m->final.has_value();
    }));
    auto m = f.manifest(f.bucket(), loc("orders", uuid_1));
    EXPECT_EQ(m->final->migration_id, 9);
    EXPECT_EQ(m->final->next_offset, 6);
    EXPECT_EQ(m->next_offset(), 6);
    // Cancelled: the marker goes.
    mig.set_state(v1::MIGRATION_STATE_CANCELLED);
    f.apply();
    ASSERT_TRUE(f.until([&] {
        auto mm = f.manifest(f.bucket(), loc("orders", uuid_1));
        return mm && !mm->final.has_value();
    }));
}

TEST(archiver_service, the_remote_data_of_a_deleted_topic_is_deleted_unless_it_must_stay) {
    fixture f;
    f.config = {{"cloud_storage_enabled", "true"}, {"cloud_storage_local_directory", f.bucket()}};
    f.topics = {make_topic("orders", uuid_1, 1, tiered)};
    f.apply();
    f.produce("orders", 8);
    const std::string l = loc("orders", uuid_1);
    ASSERT_TRUE(f.until([&] {
        auto m = f.manifest(f.bucket(), l);
        return m && m->next_offset() == 8;
    }));
    // Still a live topic at the location: kept, at once.
    EXPECT_TRUE(f.svc->reclaim_remote(uuid_1, l));
    EXPECT_TRUE(f.manifest(f.bucket(), l).has_value());
    f.topics.clear();
    f.apply();
    EXPECT_FALSE(f.svc->reclaim_remote(uuid_1, l));
    ASSERT_TRUE(f.until([&] { return f.svc->reclaim_remote(uuid_1, l); }));
    auto store = objstore::make_local_store(f.bucket());
    auto left = (*store)->list("topics/");
    ASSERT_TRUE(left);
    EXPECT_TRUE(left->empty());
}

TEST(delete_topic_data, keeps_unmounted_and_unreadable_data_and_is_idempotent) {
    temp_dir dir;
    auto made = objstore::make_local_store(dir.path() + "/b");
    ASSERT_TRUE(made);
    auto& store = **made;
    const std::string l = loc("orders", uuid_1);
    std::string owner = uuid_1;  // this cluster
    auto put_manifest = [&](int p, std::optional<tiered::final_marker> fin) {
        tiered::partition_manifest m;
        m.location = l;
        m.partition = p;
        tiered::segment_meta s;
        s.name = tiered::segment_name(0, 9, 1);
        s.last_offset = 9;
        m.segments.push_back(s);
        m.final = fin;
        m.owner_cluster = owner;
        if (fin) {
            m.final->next_offset = 10;
        }
        ASSERT_TRUE(store.put(tiered::partition_manifest_key(l, p), tiered::encode(m)));
        ASSERT_TRUE(store.put(tiered::segment_key(l, p, s.name), "data"));
    };
    put_manifest(0, std::nullopt);
    put_manifest(1, tiered::final_marker{3, 10});
    auto r = delete_topic_data(store, l, uuid_1);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, remote_delete_outcome::kept_unmounted);
    EXPECT_EQ(store.list("topics/")->size(), 4u);

    put_manifest(1, std::nullopt);
    ASSERT_TRUE(store.put(tiered::mount_manifest_key(l), "{}"));
    r = delete_topic_data(store, l, uuid_1);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, remote_delete_outcome::kept_mountable);
    ASSERT_TRUE(store.del(tiered::mount_manifest_key(l)));

    ASSERT_TRUE(store.put(tiered::partition_manifest_key(l, 2), "{broken"));
    r = delete_topic_data(store, l, uuid_1);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, remote_delete_outcome::kept_unreadable);
    ASSERT_TRUE(store.del(tiered::partition_manifest_key(l, 2)));

    // Mounted into another cluster since (its archiver wrote last), or
    // written by a build that named no owner: not this cluster's to delete.
    for (const std::string& other : {std::string(uuid_2), std::string()}) {
        owner = other;
        put_manifest(1, std::nullopt);
        r = delete_topic_data(store, l, uuid_1);
        ASSERT_TRUE(r);
        EXPECT_EQ(*r, remote_delete_outcome::kept_foreign);
        EXPECT_EQ(store.list("topics/")->size(), 4u);
    }
    owner = uuid_1;
    put_manifest(1, std::nullopt);

    r = delete_topic_data(store, l, uuid_1);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, remote_delete_outcome::deleted);
    EXPECT_TRUE(store.list("topics/")->empty());
    r = delete_topic_data(store, l, uuid_1);  // again: nothing left, still fine
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, remote_delete_outcome::deleted);
}

}  // namespace
}  // namespace fjord::broker::archival
