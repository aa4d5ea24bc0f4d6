// File: common/tiered/manifest_test.cc
//
// The manifests round-trip, and a damaged or inconsistent one is refused
// with the key and the reason, never half-read; the layout's keys.

#include "common/tiered/manifest.h"

#include <gtest/gtest.h>

#include "common/objstore/errc.h"
#include "common/objstore/object_store.h"
#include "common/tiered/layout.h"

namespace fjord::tiered {
namespace {

constexpr const char* cluster = "0a1b2c3d-0000-4000-8000-000000000001";
constexpr const char* topic_uuid = "0a1b2c3d-0000-4000-8000-000000000002";

partition_manifest sample() {
    partition_manifest m;
    m.location = default_location("orders", cluster, topic_uuid);
    m.partition = 3;
    m.start_offset = 0;
    m.sequence = 2;
    m.segments.push_back({segment_name(0, 99, 1), 0, 99, 1000, 2000, 1, 4096, 0xdeadbeef});
    m.segments.push_back({segment_name(100, 149, 2), 100, 149, 2001, 3000, 2, 2048, 7});
    return m;
}

TEST(ManifestTest, PartitionManifestRoundTrips) {
    auto m = sample();
    auto d = decode_partition_manifest(encode(m), "k");
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(*d, m);
    EXPECT_EQ(d->next_offset(), 150);
    EXPECT_EQ(d->size_bytes(), 6144u);
    m.final = final_marker{7, 150};
    EXPECT_EQ(*decode_partition_manifest(encode(m), "k"), m);
}

TEST(ManifestTest, FindServesTheSegmentHoldingAnOffsetOrTheNext) {
    auto m = sample();
    EXPECT_EQ(m.find(0)->base_offset, 0);
    EXPECT_EQ(m.find(99)->base_offset, 0);
    EXPECT_EQ(m.find(100)->base_offset, 100);
    EXPECT_EQ(m.find(150), nullptr);
    m.segments[1].base_offset = 120;  // a gap 100..119
    EXPECT_EQ(m.find(110)->base_offset, 120);
}

TEST(ManifestTest, DamageIsCorruptWithAReason) {
    auto expect_corrupt = [](std::string bytes, std::string_view reason) {
        auto d = decode_partition_manifest(bytes, "topics/x/0/manifest.json");
        ASSERT_FALSE(d) << bytes;
        EXPECT_EQ(d.error().code, objstore::errc::corrupt);
        EXPECT_NE(d.error().detail.find("topics/x/0/manifest.json"), std::string::npos);
        EXPECT_NE(d.error().detail.find(reason), std::string::npos) << d.error().detail;
    };
    const std::string good = encode(sample());
    expect_corrupt(good.substr(0, good.size() / 2), "not JSON");
    expect_corrupt("[]", "not a JSON object");
    expect_corrupt(R"({"version":2})", "format version");
    {
        auto m = sample();
        m.segments[1].base_offset = 99;
        expect_corrupt(encode(m), "overlaps");
    }
    {
        auto m = sample();
        m.start_offset = 120;  // the first segment is wholly below it
        expect_corrupt(encode(m), "wholly below");
    }
    {
        auto m = sample();
        m.final = final_marker{7, 149};
        expect_corrupt(encode(m), "final.next_offset");
    }
    {
        std::string s = good;
        s.replace(s.find("\"size\": 4096"), 12, "\"size\": \"4096\"");
        expect_corrupt(s, "segments[0].size: not an unsigned integer");
    }
}

TEST(ManifestTest, TopicMountManifestRoundTripsAndIsChecked) {
    topic_mount_manifest m;
    m.topic = "orders";
    m.location = default_location("orders", cluster, topic_uuid);
    m.cluster_uuid = cluster;
    m.topic_uuid = topic_uuid;
    m.replication_factor = 3;
    m.configs = {{"redpanda.remote.write", "true"}, {"retention.ms", "-1"}};
    m.next_offsets = {150, 0, 7};
    m.migration_id = 4;
    m.unmounted_ms = 1700000000000;
    auto d = decode_topic_mount_manifest(encode(m), "k");
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(*d, m);
    m.next_offsets.clear();
    EXPECT_EQ(decode_topic_mount_manifest(encode(m), "k").error().code, objstore::errc::corrupt);
    EXPECT_FALSE(decode_topic_mount_manifest("{\"version\":1}", "k"));
}

TEST(LayoutTest, KeysAndLocations) {
    const std::string loc = default_location("orders", cluster, topic_uuid);
    EXPECT_EQ(partition_manifest_key(loc, 2),
              "topics/orders/" + std::string(cluster) + "/" + topic_uuid + "/2/manifest.json");
    EXPECT_EQ(segment_name(5, 9, 1), "00000000000000000005-00000000000000000009-1.log");
    EXPECT_TRUE(objstore::check_key(segment_key(loc, 0, segment_name(0, 1, 0))));
    const std::string mk = mount_manifest_key(loc);
    EXPECT_EQ(location_of_mount_manifest(mk), loc);
    EXPECT_EQ(location_of_mount_manifest("mountable/x/topic_manifest.json"), std::nullopt);
    auto p = parse_location(loc);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->topic, "orders");
    EXPECT_FALSE(parse_location("orders/abc"));
    EXPECT_FALSE(parse_location("../" + std::string(cluster) + "/" + topic_uuid));
}

}  // namespace
}  // namespace fjord::tiered
