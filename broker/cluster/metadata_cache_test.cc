// File: broker/cluster/metadata_cache_test.cc
//
// The cache against the Watch stream's contract: snapshot first, deltas
// after, applied revision only at a revision's last event, replays ignored.

#include "broker/cluster/metadata_cache.h"

#include <gtest/gtest.h>

namespace fjord::broker {
namespace {

v1::Topic make_topic(const std::string& name, int partitions) {
    v1::Topic t;
    t.set_name(name);
    t.set_uuid("00000000-0000-4000-8000-000000000001");
    for (int p = 0; p < partitions; ++p) {
        auto* a = t.add_partitions();
        a->set_partition(p);
        a->add_replicas(1);
        a->set_leader(1);
    }
    return t;
}

v1::WatchEvent snapshot(uint64_t rev, std::vector<v1::Topic> topics) {
    v1::WatchEvent ev;
    ev.mutable_snapshot()->set_revision(rev);
    ev.mutable_snapshot()->set_cluster_uuid("cluster-1");
    for (auto& t : topics) {
        *ev.mutable_snapshot()->add_topics() = t;
    }
    auto* b = ev.mutable_snapshot()->add_brokers();
    b->set_id(1);
    auto* c = ev.mutable_snapshot()->add_cluster_config();
    c->set_key("auto_create_topics_enabled");
    c->set_value("true");
    ev.set_revision_complete(true);
    return ev;
}

v1::WatchEvent upsert(uint64_t rev, const v1::Topic& t, bool complete = true) {
    v1::WatchEvent ev;
    ev.mutable_delta()->set_revision(rev);
    *ev.mutable_delta()->mutable_topic_upserted() = t;
    ev.set_revision_complete(complete);
    return ev;
}

v1::WatchEvent deleted(uint64_t rev, const std::string& name) {
    v1::WatchEvent ev;
    ev.mutable_delta()->set_revision(rev);
    ev.mutable_delta()->set_topic_deleted(name);
    ev.set_revision_complete(true);
    return ev;
}

TEST(metadata_cache, a_delta_before_any_snapshot_is_refused) {
    metadata_cache c;
    auto r = c.apply(upsert(5, make_topic("a", 1)));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("before any snapshot"), std::string::npos);
    EXPECT_FALSE(c.ready());
    EXPECT_TRUE(c.topics().empty());
}

TEST(metadata_cache, snapshot_then_deltas) {
    metadata_cache c;
    ASSERT_TRUE(c.apply(snapshot(10, {make_topic("a", 2)})));
    EXPECT_TRUE(c.ready());
    EXPECT_EQ(c.applied_revision(), 10u);
    EXPECT_EQ(c.cluster_uuid(), "cluster-1");
    ASSERT_NE(c.topic("a"), nullptr);
    EXPECT_EQ(c.topic("a")->partitions_size(), 2);
    EXPECT_EQ(c.config("auto_create_topics_enabled"), "true");
    EXPECT_NE(c.broker(1), nullptr);

    ASSERT_TRUE(c.apply(upsert(11, make_topic("b", 3))));
    ASSERT_TRUE(c.apply(upsert(12, make_topic("a", 4))));
    ASSERT_TRUE(c.apply(deleted(13, "b")));
    EXPECT_EQ(c.applied_revision(), 13u);
    EXPECT_EQ(c.topic("a")->partitions_size(), 4);
    EXPECT_EQ(c.topic("b"), nullptr);
}

TEST(metadata_cache, shadow_links_follow_the_snapshot_and_deltas) {
    metadata_cache c;
    auto snap = snapshot(10, {});
    auto* l = snap.mutable_snapshot()->add_shadow_links();
    l->set_name("dr");
    l->mutable_config()->mutable_client_options()->add_bootstrap_servers("127.0.0.1:9092");
    ASSERT_TRUE(c.apply(snap));
    ASSERT_NE(c.shadow_link("dr"), nullptr);
    EXPECT_EQ(c.shadow_link("dr")->config().client_options().bootstrap_servers(0),
              "127.0.0.1:9092");
    v1::WatchEvent up;
    up.mutable_delta()->set_revision(11);
    up.mutable_delta()->mutable_shadow_link_upserted()->set_name("dr2");
    up.set_revision_complete(true);
    ASSERT_TRUE(c.apply(up));
    EXPECT_EQ(c.shadow_links().size(), 2u);
    v1::WatchEvent rm;
    rm.mutable_delta()->set_revision(12);
    rm.mutable_delta()->set_shadow_link_removed("dr");
    rm.set_revision_complete(true);
    ASSERT_TRUE(c.apply(rm));
    EXPECT_EQ(c.shadow_link("dr"), nullptr);
    ASSERT_TRUE(c.apply(snapshot(20, {})));  // a new snapshot replaces them
    EXPECT_TRUE(c.shadow_links().empty());
}

TEST(metadata_cache, applied_revision_moves_only_when_a_revision_completes) {
    metadata_cache c;
    ASSERT_TRUE(c.apply(snapshot(10, {})));
    ASSERT_TRUE(c.apply(upsert(11, make_topic("x", 1), false)));
    EXPECT_EQ(c.applied_revision(), 10u) << "half of revision 11 is not revision 11";
    EXPECT_NE(c.topic("x"), nullptr);
    ASSERT_TRUE(c.apply(upsert(11, make_topic("y", 1), true)));
    EXPECT_EQ(c.applied_revision(), 11u);
    EXPECT_NE(c.topic("y"), nullptr);
}

TEST(metadata_cache, replayed_deltas_are_ignored_and_a_new_snapshot_replaces_everything) {
    metadata_cache c;
    ASSERT_TRUE(c.apply(snapshot(10, {make_topic("a", 1)})));
    ASSERT_TRUE(c.apply(deleted(11, "a")));
    const auto gen = c.generation();
    ASSERT_TRUE(c.apply(upsert(9, make_topic("a", 1))));  // an old revision
    EXPECT_EQ(c.topic("a"), nullptr);
    EXPECT_EQ(c.generation(), gen);
    ASSERT_TRUE(c.apply(snapshot(20, {make_topic("z", 1)})));
    EXPECT_EQ(c.applied_revision(), 20u);
    EXPECT_EQ(c.topics().size(), 1u);
    EXPECT_NE(c.topic("z"), nullptr);
}

TEST(metadata_cache, a_snapshot_older_than_the_applied_revision_is_refused) {
    // Any controller member serves Watch; a lagging one's snapshot must not
    // take the broker back in time (its topics' logs would be dropped).
    metadata_cache c;
    ASSERT_TRUE(c.apply(snapshot(10, {make_topic("a", 1)})));
    ASSERT_TRUE(c.apply(upsert(12, make_topic("b", 1))));
    const auto gen = c.generation();
    auto r = c.apply(snapshot(11, {make_topic("a", 1)}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, watch_errc::behind);
    EXPECT_EQ(r.error().detail, "snapshot revision 11 < applied revision 12");
    EXPECT_EQ(c.applied_revision(), 12u);
    EXPECT_NE(c.topic("b"), nullptr);
    EXPECT_EQ(c.generation(), gen);
    ASSERT_TRUE(c.apply(snapshot(12, {make_topic("c", 1)})));  // same revision: taken
    EXPECT_EQ(c.topics().size(), 1u);
    EXPECT_NE(c.topic("c"), nullptr);
}

TEST(metadata_cache, the_first_snapshot_is_refused_below_the_recorded_revision) {
    // After a restart the cache is empty, but the broker has acted on
    // revision 40 (recorded on disk): a member at 30 is behind, and its
    // state lacks what the broker created since.
    metadata_cache c;
    c.require("cluster-1", 40);
    auto r = c.apply(snapshot(30, {}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, watch_errc::behind);
    EXPECT_EQ(r.error().detail, "snapshot revision 30 < applied revision 40");
    EXPECT_FALSE(c.ready());
    EXPECT_TRUE(c.topics().empty());
    ASSERT_TRUE(c.apply(snapshot(40, {make_topic("a", 1)})));
    EXPECT_TRUE(c.ready());
    EXPECT_EQ(c.applied_revision(), 40u);
}

TEST(metadata_cache, a_snapshot_of_another_cluster_is_refused) {
    metadata_cache c;
    c.require("cluster-2", 5);
    auto r = c.apply(snapshot(50, {}));  // cluster-1's
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, watch_errc::foreign_cluster);
    EXPECT_EQ(r.error().detail,
              "snapshot of cluster cluster-1 refused: this broker's data belongs to cluster "
              "cluster-2");
    EXPECT_FALSE(c.ready());
    EXPECT_EQ(c.cluster_uuid(), "");

    // A cluster without a uuid yet is not ours either.
    auto none = snapshot(50, {});
    none.mutable_snapshot()->clear_cluster_uuid();
    r = c.apply(none);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("snapshot of cluster (no uuid) refused"), std::string::npos);
    EXPECT_FALSE(c.ready());
}

TEST(metadata_cache, the_first_cluster_applied_binds_the_cache_when_none_is_recorded) {
    metadata_cache c;  // a fresh data dir: nothing required
    ASSERT_TRUE(c.apply(snapshot(10, {make_topic("a", 1)})));
    auto other = snapshot(20, {});
    other.mutable_snapshot()->set_cluster_uuid("cluster-9");
    auto r = c.apply(other);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("belongs to cluster cluster-1"), std::string::npos);
    EXPECT_NE(c.topic("a"), nullptr);
    EXPECT_EQ(c.applied_revision(), 10u);
}

TEST(metadata_cache, a_delta_that_changes_the_cluster_uuid_is_refused) {
    metadata_cache c;
    ASSERT_TRUE(c.apply(snapshot(10, {make_topic("a", 1)})));
    v1::WatchEvent ev;
    ev.mutable_delta()->set_revision(11);
    ev.mutable_delta()->set_cluster_uuid_set("cluster-9");
    ev.set_revision_complete(true);
    auto r = c.apply(ev);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, watch_errc::foreign_cluster);
    EXPECT_EQ(c.cluster_uuid(), "cluster-1");
    EXPECT_EQ(c.applied_revision(), 10u);
    ev.mutable_delta()->set_cluster_uuid_set("cluster-1");  // the same: fine
    ASSERT_TRUE(c.apply(ev));
    EXPECT_EQ(c.applied_revision(), 11u);
}

TEST(metadata_cache, an_empty_event_is_an_error_and_changes_nothing) {
    metadata_cache c;
    ASSERT_TRUE(c.apply(snapshot(10, {make_topic("a", 1)})));
    EXPECT_FALSE(c.apply(v1::WatchEvent{}));
    EXPECT_EQ(c.applied_revision(), 10u);
    EXPECT_EQ(c.topics().size(), 1u);
}

}  // namespace
}  // namespace fjord::broker
