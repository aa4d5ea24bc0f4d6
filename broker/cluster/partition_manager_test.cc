// File: broker/cluster/partition_manager_test.cc
//
// The broker's data against the controller's word, as broker_server wires
// them: the cluster_record read at start-up, the metadata cache that
// requires it, and the partition manager that changes the disk. A foreign or
// lagging controller changes nothing on disk; a deletion moves the data to
// the trash, which the reclaimer empties after the delay, across restarts.

#include "broker/cluster/partition_manager.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "broker/cluster/cluster_record.h"
#include "broker/storage/log_test_util.h"
#include "common/kafka/record_batch.h"

namespace fjord::broker {
namespace {

/// The log of a served partition, or nullptr.
storage::partition_log* log_of(partition* p) {
    return p == nullptr ? nullptr : &p->log();
}

namespace fs = std::filesystem;
using storage::testing::make_batch;
using storage::testing::temp_dir;

constexpr const char* cluster_a = "9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5f";
constexpr const char* cluster_b = "1b2c3d4e-0000-4000-8000-5f6e7d8c9b0a";
constexpr const char* uuid_1 = "00000000-0000-4000-8000-000000000001";
constexpr const char* uuid_2 = "00000000-0000-4000-8000-000000000002";
constexpr int64_t t0 = 1'700'000'000'000;  // wall-clock ms

v1::Topic make_topic(const std::string& name, const std::string& uuid, int partitions = 2) {
    v1::Topic t;
    t.set_name(name);
    t.set_uuid(uuid);
    for (int p = 0; p < partitions; ++p) {
        auto* a = t.add_partitions();
        a->set_partition(p);
        a->add_replicas(1);
        a->set_leader(1);
    }
    return t;
}

v1::WatchEvent snapshot(const std::string& cluster, uint64_t rev, std::vector<v1::Topic> topics) {
    v1::WatchEvent ev;
    ev.mutable_snapshot()->set_revision(rev);
    ev.mutable_snapshot()->set_cluster_uuid(cluster);
    for (auto& t : topics) {
        *ev.mutable_snapshot()->add_topics() = t;
    }
    ev.set_revision_complete(true);
    return ev;
}

v1::WatchEvent deleted(uint64_t rev, const std::string& name) {
    v1::WatchEvent ev;
    ev.mutable_delta()->set_revision(rev);
    ev.mutable_delta()->set_topic_deleted(name);
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

/// Every file under `root` (relative path -> contents): "byte for byte".
std::map<std::string, std::string> tree(const std::string& root) {
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(root, ec)) {
        const std::string rel = fs::relative(e.path(), root).string();
        if (e.is_directory()) {
            out[rel + "/"] = "";
            continue;
        }
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        out[rel] = ss.str();
    }
    return out;
}

/// One broker process's worth of state over a data dir, wired as
/// broker_server wires it. Destroying it and making another is a restart.
struct broker_run {
    explicit broker_run(const std::string& dir, int64_t delete_delay_ms = 60000)
        : record(*cluster_record::open(dir)) {
        md.require(record.cluster_uuid(), record.revision());
        partition_defaults d;
        d.delete_delay_ms = delete_delay_ms;
        pm.emplace(dir, 1, d, &record);
    }
    /// As broker_server::on_event: refused events change nothing.
    result<void> event(const v1::WatchEvent& ev, int64_t now_ms = t0) {
        auto r = md.apply(ev);
        if (r && ev.revision_complete()) {
            pm->reconcile(md, now_ms);
        }
        return r;
    }
    void produce(const std::string& topic, int32_t partition, int records) {
        auto* log = log_of(pm->find(topic, partition));
        ASSERT_NE(log, nullptr) << topic << "-" << partition;
        ASSERT_TRUE(log->append(make_batch(records, t0), t0));
        ASSERT_TRUE(log->flush(t0));
    }

    cluster_record record;
    metadata_cache md;
    std::optional<partition_manager> pm;
};

std::string topic_dir(const temp_dir& d, const std::string& uuid) {
    return d.path() + "/topics/" + uuid;
}

/// A data dir of cluster A at revision 20 holding topic "orders" (uuid_1,
/// two partitions with records), as a stopped broker leaves it.
void make_broker_data(const temp_dir& d) {
    broker_run b(d.path());
    ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {make_topic("orders", uuid_1)})));
    b.produce("orders", 0, 3);
    b.produce("orders", 1, 2);
}

TEST(partition_manager, a_snapshot_of_another_cluster_is_refused_and_the_data_untouched) {
    temp_dir d;
    make_broker_data(d);
    const auto before = tree(d.path());
    ASSERT_TRUE(before.count("topics/" + std::string(uuid_1) + "/0/"));

    // Restarted against another (empty) controller cluster: the bug was
    // "removed the data of deleted topic" for every topic.
    broker_run b(d.path());
    auto r = b.event(snapshot(cluster_b, 500, {}));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find(cluster_a), std::string::npos) << r.error().detail;
    EXPECT_NE(r.error().detail.find(cluster_b), std::string::npos) << r.error().detail;
    EXPECT_FALSE(b.md.ready()) << "nothing from it is served";
    b.pm->reconcile(b.md, t0);  // even if asked to: no state, no change
    b.pm->housekeeping(t0 + 3'600'000);
    EXPECT_EQ(tree(d.path()), before);
    EXPECT_TRUE(b.pm->tombstones().empty());
    EXPECT_EQ(b.record.cluster_uuid(), cluster_a);

    // Pointed back at its own cluster, it serves the old records.
    ASSERT_TRUE(b.event(snapshot(cluster_a, 25, {make_topic("orders", uuid_1)})));
    ASSERT_NE(b.pm->find("orders", 0), nullptr);
    EXPECT_EQ(b.pm->find("orders", 0)->log().log_end_offset().value(), 3);
    EXPECT_EQ(b.pm->find("orders", 1)->log().log_end_offset().value(), 2);
}

TEST(partition_manager, a_snapshot_older_than_the_recorded_revision_is_refused) {
    temp_dir d;
    make_broker_data(d);
    const auto before = tree(d.path());
    broker_run b(d.path());
    EXPECT_EQ(b.record.revision(), 20u);
    // A member of the right cluster that is behind: "orders" (created at
    // revision <= 20) does not exist in its state yet.
    auto r = b.event(snapshot(cluster_a, 19, {}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, "snapshot revision 19 < applied revision 20");
    b.pm->reconcile(b.md, t0);
    EXPECT_EQ(tree(d.path()), before);
    EXPECT_TRUE(b.pm->tombstones().empty());
}

TEST(partition_manager, a_deletion_moves_the_data_to_a_tombstone) {
    temp_dir d;
    broker_run b(d.path(), 60000);
    ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {make_topic("orders", uuid_1)})));
    b.produce("orders", 0, 3);
    const auto data = tree(topic_dir(d, uuid_1));

    ASSERT_TRUE(b.event(deleted(21, "orders"), t0 + 5));
    EXPECT_EQ(b.pm->find("orders", 0), nullptr);
    EXPECT_FALSE(fs::exists(topic_dir(d, uuid_1)));
    const auto tombs = b.pm->tombstones();
    ASSERT_EQ(tombs.size(), 1u);
    EXPECT_EQ(tombs[0].path, fmt::format("{}/trash/{}.21.{}", d.path(), uuid_1, t0 + 5));
    EXPECT_EQ(tombs[0].topic_uuid, uuid_1);
    EXPECT_EQ(tombs[0].revision, 21u);
    EXPECT_EQ(tree(tombs[0].path), data) << "the tombstone holds the data, byte for byte";
    // Recorded before the move: a snapshot from before the deletion is
    // refused from now on, even after a restart.
    EXPECT_EQ(b.record.revision(), 21u);
    EXPECT_EQ(cluster_record::open(d.path())->revision(), 21u);
}

TEST(partition_manager, the_reclaimer_removes_a_tombstone_after_the_delay) {
    temp_dir d;
    broker_run b(d.path(), 100);
    ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {make_topic("orders", uuid_1)})));
    b.produce("orders", 0, 1);
    ASSERT_TRUE(b.event(deleted(21, "orders"), t0));
    ASSERT_EQ(b.pm->tombstones().size(), 1u);
    EXPECT_EQ(b.pm->reclaim(t0 + 99), 0u);
    ASSERT_EQ(b.pm->tombstones().size(), 1u);
    EXPECT_EQ(b.pm->reclaim(t0 + 100), 1u);
    EXPECT_TRUE(b.pm->tombstones().empty());
    EXPECT_TRUE(fs::is_empty(d.path() + "/trash"));
}

TEST(partition_manager, a_zero_delay_reclaims_at_the_next_pass) {
    temp_dir d;
    broker_run b(d.path(), 0);
    ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {make_topic("orders", uuid_1)})));
    ASSERT_TRUE(b.event(deleted(21, "orders"), t0));
    ASSERT_EQ(b.pm->tombstones().size(), 1u) << "moved, not removed, even with no delay";
    b.pm->housekeeping(t0);
    EXPECT_TRUE(b.pm->tombstones().empty());
}

TEST(partition_manager, a_tombstone_survives_a_restart_and_is_reclaimed_after_it) {
    temp_dir d;
    {
        broker_run b(d.path(), 1000);
        ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {make_topic("orders", uuid_1)})));
        b.produce("orders", 0, 1);
        ASSERT_TRUE(b.event(deleted(21, "orders"), t0));
    }
    broker_run b(d.path(), 1000);  // restarted, before any Watch event
    ASSERT_EQ(b.pm->tombstones().size(), 1u);
    b.pm->housekeeping(t0 + 999);
    EXPECT_EQ(b.pm->tombstones().size(), 1u);
    b.pm->housekeeping(t0 + 1000);
    EXPECT_TRUE(b.pm->tombstones().empty());
}

TEST(partition_manager, a_topic_created_again_under_the_same_name_starts_empty) {
    temp_dir d;
    broker_run b(d.path());
    ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {make_topic("orders", uuid_1)})));
    b.produce("orders", 0, 3);
    ASSERT_TRUE(b.event(deleted(21, "orders"), t0));
    ASSERT_TRUE(b.event(upserted(22, make_topic("orders", uuid_2)), t0 + 1));
    ASSERT_NE(b.pm->find("orders", 0), nullptr);
    EXPECT_EQ(b.pm->find("orders", 0)->log().log_end_offset().value(), 0);
    b.produce("orders", 0, 1);
    EXPECT_TRUE(fs::exists(topic_dir(d, uuid_2) + "/0"));
    const auto tombs = b.pm->tombstones();
    ASSERT_EQ(tombs.size(), 1u);
    EXPECT_EQ(tombs[0].topic_uuid, uuid_1) << "the old data is still in its own tombstone";

    // Deleted again: a second tombstone next to the first.
    ASSERT_TRUE(b.event(deleted(23, "orders"), t0 + 2));
    ASSERT_EQ(b.pm->tombstones().size(), 2u);
    EXPECT_EQ(b.pm->tombstones()[1].topic_uuid, uuid_2);
}

// docs/reliability.md's recovery procedures, as an operator would run them.
TEST(partition_manager, a_tombstone_renamed_back_is_served_again) {
    temp_dir d;
    std::string tomb;
    {
        broker_run b(d.path());
        ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {make_topic("orders", uuid_1)})));
        b.produce("orders", 0, 3);
        // A wrong deletion (the controller still has the topic afterwards).
        ASSERT_TRUE(b.event(deleted(21, "orders"), t0));
        ASSERT_EQ(b.pm->tombstones().size(), 1u);
        tomb = b.pm->tombstones()[0].path;
    }
    fs::rename(tomb, topic_dir(d, uuid_1));  // broker stopped
    broker_run b(d.path());
    ASSERT_TRUE(b.event(snapshot(cluster_a, 30, {make_topic("orders", uuid_1)})));
    ASSERT_NE(b.pm->find("orders", 0), nullptr);
    EXPECT_EQ(b.pm->find("orders", 0)->log().log_end_offset().value(), 3);
}

TEST(partition_manager, a_tombstone_copied_into_the_recreated_topic_brings_the_records_back) {
    temp_dir d;
    std::string tomb;
    {
        broker_run b(d.path());
        ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {make_topic("orders", uuid_1, 1)})));
        b.produce("orders", 0, 3);
        ASSERT_TRUE(b.event(deleted(21, "orders"), t0));
        ASSERT_TRUE(b.event(upserted(22, make_topic("orders", uuid_2, 1)), t0));
        ASSERT_TRUE(fs::exists(topic_dir(d, uuid_2) + "/0"));
        tomb = b.pm->tombstones().at(0).path;
    }
    fs::remove_all(topic_dir(d, uuid_2) + "/0");  // broker stopped
    fs::rename(tomb + "/0", topic_dir(d, uuid_2) + "/0");
    broker_run b(d.path());
    ASSERT_TRUE(b.event(snapshot(cluster_a, 22, {make_topic("orders", uuid_2, 1)})));
    ASSERT_NE(b.pm->find("orders", 0), nullptr);
    EXPECT_EQ(b.pm->find("orders", 0)->log().log_end_offset().value(), 3);
}

TEST(partition_manager, a_topic_deleted_while_the_broker_was_away_goes_to_the_trash) {
    temp_dir d;
    make_broker_data(d);
    broker_run b(d.path());
    // Same cluster, not older than what was acted on, and "orders" is gone:
    // it was deleted while this broker was down.
    ASSERT_TRUE(b.event(snapshot(cluster_a, 30, {make_topic("other", uuid_2)})));
    EXPECT_FALSE(fs::exists(topic_dir(d, uuid_1)));
    const auto tombs = b.pm->tombstones();
    ASSERT_EQ(tombs.size(), 1u);
    EXPECT_EQ(tombs[0].topic_uuid, uuid_1);
    EXPECT_EQ(tombs[0].revision, 30u);
    EXPECT_TRUE(fs::exists(tombs[0].path + "/0"));
}

TEST(partition_manager, the_record_covers_a_new_topic_before_its_directory_exists) {
    temp_dir d;
    broker_run b(d.path());
    ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {})));
    ASSERT_TRUE(b.event(upserted(27, make_topic("orders", uuid_1))));
    ASSERT_TRUE(fs::exists(topic_dir(d, uuid_1)));
    auto on_disk = cluster_record::open(d.path());
    ASSERT_TRUE(on_disk);
    EXPECT_EQ(on_disk->cluster_uuid(), cluster_a);
    EXPECT_EQ(on_disk->revision(), 27u) << "else a member at 20..26 would make it look deleted";
}

TEST(partition_manager, without_a_record_unknown_directories_are_kept_as_orphans) {
    temp_dir d;
    make_broker_data(d);
    fs::remove(d.path() + "/" + std::string(cluster_record::file_name));  // an older broker's
    broker_run b(d.path());
    EXPECT_FALSE(b.record.exists());
    ASSERT_TRUE(b.event(snapshot(cluster_b, 3, {make_topic("other", uuid_2)})));
    EXPECT_FALSE(fs::exists(topic_dir(d, uuid_1)));
    EXPECT_TRUE(fs::exists(d.path() + "/orphans/" + uuid_1 + "/0"));
    EXPECT_TRUE(b.pm->tombstones().empty()) << "nothing proves it was deleted";
    b.pm->housekeeping(t0 + 3'600'000);
    EXPECT_TRUE(fs::exists(d.path() + "/orphans/" + uuid_1 + "/0"));
    EXPECT_EQ(b.record.cluster_uuid(), cluster_b);
    EXPECT_EQ(cluster_record::open(d.path())->revision(), 3u);
}

TEST(partition_manager, without_a_cluster_record_nothing_is_moved_or_removed) {
    temp_dir d;
    make_broker_data(d);
    metadata_cache md;
    partition_manager pm(d.path(), 1, partition_defaults{});  // other modules' tests
    ASSERT_TRUE(md.apply(snapshot(cluster_a, 30, {})));
    pm.reconcile(md, t0);
    EXPECT_TRUE(fs::exists(topic_dir(d, uuid_1) + "/0"));
}

TEST(partition_manager, the_reclaimer_leaves_what_it_did_not_name_alone) {
    temp_dir d;
    broker_run b(d.path(), 0);
    fs::create_directories(d.path() + "/trash/keep-me");
    fs::create_directories(d.path() + fmt::format("/trash/{}.12", uuid_1));
    fs::create_directories(d.path() + fmt::format("/trash/{}.x.{}", uuid_1, t0));
    std::ofstream(d.path() + "/trash/notes.txt") << "operator's";
    EXPECT_EQ(b.pm->reclaim(t0 + 3'600'000), 0u);
    EXPECT_EQ(tree(d.path() + "/trash").size(), 4u);
}

// --- compaction --------------------------------------------------------------------

TEST(partition_manager, config_for_reads_the_cleanup_policy_and_the_compaction_keys) {
    metadata_cache md;
    v1::WatchEvent ev = snapshot(cluster_a, 1, {});
    auto* policy = ev.mutable_snapshot()->add_cluster_config();
    policy->set_key("log_cleanup_policy");
    policy->set_value("compact");
    ASSERT_TRUE(md.apply(ev));
    v1::Topic t = make_topic("t", uuid_1);
    auto cfg = partition_manager::config_for(t, md, {});
    ASSERT_TRUE(cfg) << cfg.error().message();
    // The cluster's default policy; Kafka's defaults for the rest.
    EXPECT_TRUE(cfg->cleanup_compact);
    EXPECT_FALSE(cfg->cleanup_delete);
    EXPECT_EQ(cfg->delete_retention_ms, 86'400'000);
    EXPECT_EQ(cfg->min_cleanable_dirty_ratio, 0.5);
    EXPECT_EQ(cfg->min_compaction_lag_ms, 0);
    auto& configs = *t.mutable_configs();
    configs["cleanup.policy"] = "delete,compact";
    configs["delete.retention.ms"] = "1000";
    configs["min.cleanable.dirty.ratio"] = "0.25";
    configs["min.compaction.lag.ms"] = "500";
    cfg = partition_manager::config_for(t, md, {});
    ASSERT_TRUE(cfg) << cfg.error().message();
    EXPECT_TRUE(cfg->cleanup_compact);
    EXPECT_TRUE(cfg->cleanup_delete);
    EXPECT_EQ(cfg->delete_retention_ms, 1000);
    EXPECT_EQ(cfg->min_cleanable_dirty_ratio, 0.25);
    EXPECT_EQ(cfg->min_compaction_lag_ms, 500);
    for (const auto& [key, bad] :
         std::vector<std::pair<std::string, std::string>>{{"cleanup.policy", "forever"},
                                                          {"min.cleanable.dirty.ratio", "2"},
                                                          {"min.cleanable.dirty.ratio", "half"},
                                                          {"delete.retention.ms", "-1"}}) {
        v1::Topic b = t;
        (*b.mutable_configs())[key] = bad;
        auto r = partition_manager::config_for(b, md, {});
        ASSERT_FALSE(r) << key << "=" << bad;
        EXPECT_NE(r.error().detail.find(key), std::string::npos) << r.error().detail;
    }
    // Without any setting: delete only.
    metadata_cache plain;
    ASSERT_TRUE(plain.apply(snapshot(cluster_a, 1, {})));
    cfg = partition_manager::config_for(make_topic("t", uuid_1), plain, {});
    ASSERT_TRUE(cfg);
    EXPECT_TRUE(cfg->cleanup_delete);
    EXPECT_FALSE(cfg->cleanup_compact);
}

TEST(partition_manager, housekeeping_compacts_compacted_topics_and_config_changes_apply) {
    temp_dir d;
    broker_run b(d.path());
    v1::Topic t = make_topic("c", uuid_1, 1);
    (*t.mutable_configs())["cleanup.policy"] = "compact";
    ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {t})));
    storage::partition_log* log = log_of(b.pm->find("c", 0));
    ASSERT_NE(log, nullptr);
    EXPECT_TRUE(log->config().cleanup_compact);
    for (int round = 0; round < 3; ++round) {
        for (int k = 0; k < 10; ++k) {
            const std::string key = fmt::format("k{}", k);
            const std::string value = fmt::format("v{}", round);
            ASSERT_TRUE(log->append(kafka::record_batch_builder().add(key, value, t0).build(), t0));
        }
        ASSERT_TRUE(log->roll(t0));
    }
    ASSERT_TRUE(log->set_high_watermark(log->log_end_offset()));
    const uint64_t before = log->size_bytes();
    b.pm->housekeeping(t0);
    EXPECT_EQ(b.pm->compaction().passes.load(), 1u);
    EXPECT_EQ(b.pm->compaction().records_removed.load(), 20u);
    EXPECT_EQ(b.pm->compaction().bytes_removed.load(), before - log->size_bytes());
    EXPECT_GT(b.pm->compaction().bytes_removed.load(), 0u);
    // Nothing new: nothing more to do.
    b.pm->housekeeping(t0 + 1000);
    EXPECT_EQ(b.pm->compaction().passes.load(), 1u);
    // A config change reaches the open log: the whole config is compared.
    (*t.mutable_configs())["cleanup.policy"] = "delete";
    (*t.mutable_configs())["min.compaction.lag.ms"] = "7";
    ASSERT_TRUE(b.event(upserted(21, t)));
    EXPECT_FALSE(b.pm->find("c", 0)->log().config().cleanup_compact);
    EXPECT_EQ(b.pm->find("c", 0)->log().config().min_compaction_lag_ms, 7);
}

TEST(partition_manager, a_bad_topic_config_never_turns_a_compacted_topic_to_delete) {
    temp_dir d;
    v1::Topic t = make_topic("c", uuid_1, 1);
    (*t.mutable_configs())["cleanup.policy"] = "compact";
    (*t.mutable_configs())["delete.retention.ms"] = "1000";
    storage::log_config good;
    {
        broker_run b(d.path());
        ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {t})));
        ASSERT_NE(b.pm->find("c", 0), nullptr);
        good = b.pm->find("c", 0)->log().config();
        EXPECT_TRUE(good.cleanup_compact);
        EXPECT_FALSE(good.cleanup_delete);
        EXPECT_EQ(good.delete_retention_ms, 1000);
        // A value that does not parse: the open log keeps all its settings
        // (not the cluster's defaults, whose policy is delete).
        (*t.mutable_configs())["min.cleanable.dirty.ratio"] = "2";
        ASSERT_TRUE(b.event(upserted(21, t)));
        ASSERT_NE(b.pm->find("c", 0), nullptr);
        EXPECT_EQ(b.pm->find("c", 0)->log().config(), good);
    }
    // After a restart the log is opened anew with the bad config: the
    // defaults, but compact only, as its policy says.
    broker_run b(d.path());
    v1::Topic u = make_topic("u", uuid_2, 1);
    (*u.mutable_configs())["cleanup.policy"] = "compact,forever";  // itself malformed
    ASSERT_TRUE(b.event(snapshot(cluster_a, 22, {t, u})));
    for (const char* name : {"c", "u"}) {
        SCOPED_TRACE(name);
        storage::partition_log* log = log_of(b.pm->find(name, 0));
        ASSERT_NE(log, nullptr);
        EXPECT_TRUE(log->config().cleanup_compact);
        EXPECT_FALSE(log->config().cleanup_delete);
    }
    // Without compact in it, a bad config falls back to the defaults.
    v1::Topic plain = make_topic("p", uuid_1, 1);
    (*plain.mutable_configs())["retention.ms"] = "soon";
    metadata_cache md;
    ASSERT_TRUE(md.apply(snapshot(cluster_a, 1, {})));
    ASSERT_FALSE(partition_manager::config_for(plain, md, {}));
    const auto fallback = partition_manager::fallback_config_for(plain, md, {});
    EXPECT_TRUE(fallback.cleanup_delete);
    EXPECT_FALSE(fallback.cleanup_compact);
}

}  // namespace
TEST(partition_manager, a_shadow_topics_log_drops_the_copied_producers_when_it_fails_over) {
    temp_dir d;
    v1::Topic t = make_topic("orders", uuid_1, 1);
    t.mutable_shadow()->set_link("dr");
    t.mutable_shadow()->set_state(v1::SHADOW_TOPIC_STATE_ACTIVE);
    {
        broker_run b(d.path());
        ASSERT_TRUE(b.event(snapshot(cluster_a, 20, {t})));
        storage::partition_log* log = log_of(b.pm->find("orders", 0));
        ASSERT_NE(log, nullptr);
        EXPECT_TRUE(log->copying());
        EXPECT_TRUE(log->config().offset_gaps);
        // FAILING_OVER: nothing copies any more; the copies' producers go.
        t.mutable_shadow()->set_state(v1::SHADOW_TOPIC_STATE_FAILING_OVER);
        ASSERT_TRUE(b.event(upserted(21, t)));
        EXPECT_FALSE(log_of(b.pm->find("orders", 0))->copying());
    }
    // The link deleted while the broker was away (Topic.shadow cleared):
    // the log still accepts its gaps and stays ended.
    t.clear_shadow();
    broker_run b(d.path());
    ASSERT_TRUE(b.event(snapshot(cluster_a, 22, {t})));
    storage::partition_log* log = log_of(b.pm->find("orders", 0));
    ASSERT_NE(log, nullptr);
    EXPECT_FALSE(log->copying());
    EXPECT_TRUE(log->config().offset_gaps);
}

}  // namespace fjord::broker
