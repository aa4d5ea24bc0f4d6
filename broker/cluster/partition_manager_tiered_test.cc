// File: broker/cluster/partition_manager_tiered_test.cc
//
// The partition manager's part in tiered storage: a tiered topic's logs
// keep everything until the archiver says what is uploaded (retention limit
// 0) and take their local retention from retention.local.target.*; a
// topic that is not tiered keeps Kafka's retention and no limit; a mounted
// partition's new log starts at its start_offset; a deleted tiered topic's
// tombstone carries a remote-delete intent that reclaim() hands to the
// remote reclaimer, and stays (without its local data) until that is done;
// no intent for redpanda.remote.delete=false, for a topic leaving by an
// unmount, or without cloud storage.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "broker/cluster/cluster_record.h"
#include "broker/cluster/partition_manager.h"
#include "broker/storage/log_test_util.h"
#include "common/tiered/layout.h"

namespace fjord::broker {
namespace {

namespace fs = std::filesystem;
using storage::testing::make_batch;
using storage::testing::temp_dir;

constexpr const char* cluster_a = "9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5f";
constexpr const char* uuid_1 = "00000000-0000-4000-8000-000000000001";
constexpr int64_t t0 = 1'700'000'000'000;

v1::Topic make_topic(std::map<std::string, std::string> configs, int64_t start_offset = 0) {
    v1::Topic t;
    t.set_name("orders");
    t.set_uuid(uuid_1);
    auto* a = t.add_partitions();
    a->set_partition(0);
    a->add_replicas(1);
    a->set_leader(1);
    a->set_start_offset(start_offset);
    for (const auto& [k, v] : configs) {
        (*t.mutable_configs())[k] = v;
    }
    return t;
}

v1::WatchEvent snapshot(uint64_t rev, std::vector<v1::Topic> topics,
                        std::map<std::string, std::string> config = {
                            {"cloud_storage_enabled", "true"}}) {
    v1::WatchEvent ev;
    ev.mutable_snapshot()->set_revision(rev);
    ev.mutable_snapshot()->set_cluster_uuid(cluster_a);
    for (auto& t : topics) {
        *ev.mutable_snapshot()->add_topics() = t;
    }
    for (const auto& [k, v] : config) {
        auto* c = ev.mutable_snapshot()->add_cluster_config();
        c->set_key(k);
        c->set_value(v);
    }
    ev.set_revision_complete(true);
    return ev;
}

v1::WatchEvent deleted(uint64_t rev) {
    v1::WatchEvent ev;
    ev.mutable_delta()->set_revision(rev);
    ev.mutable_delta()->set_topic_deleted("orders");
    ev.set_revision_complete(true);
    return ev;
}

v1::WatchEvent upserted(uint64_t rev, const v1::Topic& t) {
    v1::WatchEvent ev;
    ev.mutable_delta()->set_revision(rev);
    *ev.mutable_delta()->mutable_topic_upserted() = t;
    ev.set_revision_complete(true);
    return ev;
}

struct broker_run {
    explicit broker_run(const std::string& dir, int64_t delete_delay_ms = 100)
        : record(*cluster_record::open(dir)) {
        md.require(record.cluster_uuid(), record.revision());
        partition_defaults d;
        d.delete_delay_ms = delete_delay_ms;
        pm.emplace(dir, 1, d, &record);
    }
    void event(const v1::WatchEvent& ev, int64_t now_ms = t0) {
        ASSERT_TRUE(md.apply(ev));
        pm->reconcile(md, now_ms);
    }
    storage::partition_log& log() {
        auto* p = pm->find("orders", 0);
        EXPECT_NE(p, nullptr);
        return p->log();
    }
    cluster_record record;
    metadata_cache md;
    std::optional<partition_manager> pm;
};

const std::map<std::string, std::string> tiered = {{"redpanda.remote.write", "true"}};

TEST(partition_manager_tiered, a_tiered_log_keeps_everything_until_the_archiver_says) {
    temp_dir d;
    broker_run b(d.path());
    auto configs = tiered;
    configs["retention.local.target.bytes"] = "1000";
    configs["retention.bytes"] = "5000";
    configs["retention.local.target.ms"] = "600000";
    configs["retention.ms"] = "60000";
    b.event(snapshot(10, {make_topic(configs)}));
    auto& log = b.log();
    EXPECT_EQ(log.retention_limit(), kafka_offset{0});
    EXPECT_EQ(log.config().retention_bytes, 1000);  // the local target
    EXPECT_EQ(log.config().retention_ms, 60000);    // never longer than the whole log's
    // The archiver's limit is not taken back by later reconciles.
    log.set_retention_limit(kafka_offset{7});
    b.event(upserted(11, make_topic(configs)));
    EXPECT_EQ(b.log().retention_limit(), kafka_offset{7});
    // No longer tiered: Kafka's retention, no limit.
    b.event(upserted(12, make_topic({{"retention.bytes", "5000"}})));
    EXPECT_EQ(b.log().retention_limit(), std::nullopt);
    EXPECT_EQ(b.log().config().retention_bytes, 5000);
    // Tiered again: nothing goes until the archiver knows.
    b.event(upserted(13, make_topic(configs)));
    EXPECT_EQ(b.log().retention_limit(), kafka_offset{0});
}

TEST(partition_manager_tiered, without_cloud_storage_a_remote_write_topic_is_not_tiered) {
    temp_dir d;
    broker_run b(d.path());
    auto configs = tiered;
    configs["retention.local.target.bytes"] = "1000";
    b.event(snapshot(10, {make_topic(configs)}, {}));
    EXPECT_EQ(b.log().retention_limit(), std::nullopt);
    EXPECT_EQ(b.log().config().retention_bytes, -1);
}

TEST(partition_manager_tiered, a_mounted_partition_starts_its_new_log_at_its_start_offset) {
    temp_dir d;
    {
        broker_run b(d.path());
        b.event(snapshot(10, {make_topic(tiered, 500)}));
        EXPECT_EQ(b.log().log_start_offset(), kafka_offset{500});
        EXPECT_EQ(b.log().log_end_offset(), kafka_offset{500});
        EXPECT_EQ(b.log().high_watermark(), kafka_offset{500});
        auto a = b.log().append(make_batch(2, t0), t0);
        ASSERT_TRUE(a);
        EXPECT_EQ(a->base_offset, kafka_offset{500});
        ASSERT_TRUE(b.log().flush(t0));
    }
    broker_run b(d.path());  // restarted: the log keeps its offsets
    b.event(snapshot(11, {make_topic(tiered, 500)}));
    EXPECT_EQ(b.log().log_start_offset(), kafka_offset{500});
    EXPECT_EQ(b.log().log_end_offset(), kafka_offset{502});
}

TEST(partition_manager_tiered, a_deleted_tiered_topic_waits_for_its_remote_data) {
    temp_dir d;
    broker_run b(d.path(), 100);
    b.event(snapshot(10, {make_topic(tiered)}));
    ASSERT_TRUE(b.log().append(make_batch(3, t0), t0));
    b.event(deleted(11), t0);
    auto tombs = b.pm->tombstones();
    ASSERT_EQ(tombs.size(), 1u);
    EXPECT_TRUE(fs::exists(tombs[0].path + "/remote_delete"));
    EXPECT_TRUE(fs::exists(tombs[0].path + "/0"));

    std::vector<std::pair<std::string, std::string>> asked;
    bool done = false;
    b.pm->set_remote_reclaimer([&](const std::string& uuid, const std::string& location) {
        asked.emplace_back(uuid, location);
        return done;
    });
    EXPECT_EQ(b.pm->reclaim(t0 + 99), 0u);  // not due
    EXPECT_TRUE(asked.empty());
    EXPECT_EQ(b.pm->reclaim(t0 + 100), 0u);
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0].first, uuid_1);
    EXPECT_EQ(asked[0].second, tiered::default_location("orders", cluster_a, uuid_1));
    // The local data is gone, the intent stays with its tombstone.
    ASSERT_EQ(b.pm->tombstones().size(), 1u);
    EXPECT_FALSE(fs::exists(tombs[0].path + "/0"));
    EXPECT_TRUE(fs::exists(tombs[0].path + "/remote_delete"));
    // A restart keeps it (durable state), and asks again.
    broker_run again(d.path(), 100);
    again.pm->set_remote_reclaimer([&](const std::string& uuid, const std::string& location) {
        asked.emplace_back(uuid, location);
        return done;
    });
    done = true;
    EXPECT_EQ(again.pm->reclaim(t0 + 200), 1u);
    EXPECT_EQ(asked.size(), 2u);
    EXPECT_TRUE(again.pm->tombstones().empty());
}

TEST(partition_manager_tiered, a_recorded_location_is_the_one_deleted) {
    temp_dir d;
    broker_run b(d.path(), 0);
    auto t = make_topic(tiered);
    const std::string loc = tiered::default_location("src", cluster_a, uuid_1);
    t.set_remote_location(loc);
    b.event(snapshot(10, {t}));
    b.event(deleted(11), t0);
    std::string got;
    b.pm->set_remote_reclaimer([&](const std::string&, const std::string& location) {
        got = location;
        return true;
    });
    EXPECT_EQ(b.pm->reclaim(t0), 1u);
    EXPECT_EQ(got, loc);
}

/// Deletes the topic in the last state `t` and tells whether the reclaimer
/// was asked about remote data.
bool remote_delete_asked(const v1::Topic& t, std::map<std::string, std::string> config = {
                                                 {"cloud_storage_enabled", "true"}}) {
    temp_dir d;
    broker_run b(d.path(), 0);
    b.event(snapshot(10, {t}, config));
    b.event(deleted(11), t0);
    bool asked = false;
    b.pm->set_remote_reclaimer([&](const std::string&, const std::string&) {
        asked = true;
        return true;
    });
    EXPECT_EQ(b.pm->reclaim(t0), 1u);
    EXPECT_TRUE(b.pm->tombstones().empty());
    return asked;
}

TEST(partition_manager_tiered, no_remote_delete_without_its_reasons) {
    EXPECT_TRUE(remote_delete_asked(make_topic(tiered)));
    auto keep = tiered;
    keep["redpanda.remote.delete"] = "false";
    EXPECT_FALSE(remote_delete_asked(make_topic(keep)));
    EXPECT_FALSE(remote_delete_asked(make_topic(tiered), {}));  // no cloud storage
    EXPECT_FALSE(remote_delete_asked(make_topic({})));          // not tiered
    for (auto state : {v1::MIGRATION_STATE_PREPARING, v1::MIGRATION_STATE_EXECUTING,
                       v1::MIGRATION_STATE_EXECUTED, v1::MIGRATION_STATE_CUT_OVER,
                       v1::MIGRATION_STATE_FINISHED}) {
        auto t = make_topic(tiered);
        t.mutable_migration()->set_id(4);
        t.mutable_migration()->set_type(v1::MIGRATION_TYPE_UNMOUNT);
        t.mutable_migration()->set_state(state);
        EXPECT_FALSE(remote_delete_asked(t)) << "an unmount in state " << state;
        t.mutable_migration()->set_type(v1::MIGRATION_TYPE_MOUNT);
        EXPECT_EQ(remote_delete_asked(t), state == v1::MIGRATION_STATE_FINISHED)
            << "a mount in state " << state;
    }
    auto cancelled = make_topic(tiered);
    cancelled.mutable_migration()->set_type(v1::MIGRATION_TYPE_UNMOUNT);
    cancelled.mutable_migration()->set_state(v1::MIGRATION_STATE_CANCELLED);
    EXPECT_TRUE(remote_delete_asked(cancelled));
}

TEST(partition_manager_tiered, a_damaged_intent_keeps_the_remote_data) {
    temp_dir d;
    broker_run b(d.path(), 0);
    b.event(snapshot(10, {make_topic(tiered)}));
    b.event(deleted(11), t0);
    auto tombs = b.pm->tombstones();
    ASSERT_EQ(tombs.size(), 1u);
    std::ofstream(tombs[0].path + "/remote_delete", std::ios::app) << "junk\n";
    bool asked = false;
    b.pm->set_remote_reclaimer([&](const std::string&, const std::string&) {
        asked = true;
        return true;
    });
    EXPECT_EQ(b.pm->reclaim(t0), 1u);
    EXPECT_FALSE(asked);
}

}  // namespace
}  // namespace fjord::broker
