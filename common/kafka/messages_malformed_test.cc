// Bad input for the generated messages: hostile lengths, nulls where a
// version forbids them, broken tagged fields, values a version cannot carry,
// and, for every message and version, truncations and random garbage. Every
// failure must be an error value that names the field; none may crash
// (the ASan+UBSan build runs these too).

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/kafka/errc.h"
#include "common/kafka/messages/alter_configs.h"
#include "common/kafka/messages/api_versions.h"
#include "common/kafka/messages/create_partitions.h"
#include "common/kafka/messages/create_topics.h"
#include "common/kafka/messages/delete_records.h"
#include "common/kafka/messages/delete_topics.h"
#include "common/kafka/messages/describe_cluster.h"
#include "common/kafka/messages/describe_configs.h"
#include "common/kafka/messages/describe_groups.h"
#include "common/kafka/messages/fetch.h"
#include "common/kafka/messages/find_coordinator.h"
#include "common/kafka/messages/headers.h"
#include "common/kafka/messages/heartbeat.h"
#include "common/kafka/messages/incremental_alter_configs.h"
#include "common/kafka/messages/init_producer_id.h"
#include "common/kafka/messages/join_group.h"
#include "common/kafka/messages/leave_group.h"
#include "common/kafka/messages/list_groups.h"
#include "common/kafka/messages/list_offsets.h"
#include "common/kafka/messages/metadata.h"
#include "common/kafka/messages/offset_commit.h"
#include "common/kafka/messages/offset_fetch.h"
#include "common/kafka/messages/produce.h"
#include "common/kafka/messages/sync_group.h"
#include "common/kafka/test_util.h"

namespace fjord::kafka {
namespace {

using testing::decode_error;
using testing::golden;
using testing::H;
using testing::hex;

// ---------------------------------------------------------------- hostile lengths

TEST(malformed, array_length_2_pow_31_minus_1) {
    auto e = decode_error<metadata_request>(H("7fffffff"), 1);
    EXPECT_EQ(e.code, errc::invalid_length);
    EXPECT_EQ(e.detail,
              "MetadataRequest v1: Topics: at byte 0: array length 2147483647 needs at least "
              "4294967294 bytes, 0 left");
    auto c = decode_error<metadata_request>(H("ffffffff07"), 9);  // compact 2^31 - 2
    EXPECT_EQ(c.code, errc::invalid_length);
    EXPECT_EQ(c.detail.rfind("MetadataRequest v9: Topics: at byte 0: array length 2147483646", 0),
              0u)
        << c.detail;
    auto n = decode_error<produce_response>(H("00000001 0003") + "foo" + H("7fffffff"), 3);
    EXPECT_EQ(n.code, errc::invalid_length);
    EXPECT_EQ(n.detail.rfind("ProduceResponse v3: Responses[0].PartitionResponses: at byte 9: "
                             "array length 2147483647",
                             0),
              0u)
        << n.detail;
    auto ints = decode_error<metadata_response>(H("00000000 00000001 0000 0003") + "foo" +
                                                    H("00000001 0000 00000000 00000001") +
                                                    H("7fffffff 00000000"),
                                                0);
    EXPECT_EQ(ints.code, errc::invalid_length);
    EXPECT_EQ(ints.detail.rfind("MetadataResponse v0: Topics[0].Partitions[0].ReplicaNodes: ", 0),
              0u)
        << ints.detail;
}

TEST(malformed, negative_array_lengths) {
    auto e = decode_error<metadata_request>(H("fffffffe"), 1);
    EXPECT_EQ(e.code, errc::invalid_length);
    EXPECT_EQ(e.detail, "MetadataRequest v1: Topics: at byte 0: array length -2 is negative");
    auto null = decode_error<metadata_request>(H("ffffffff"), 0);  // null only from v1
    EXPECT_EQ(null.code, errc::invalid_value);
    EXPECT_EQ(null.detail,
              "MetadataRequest v0: Topics: at byte 0: null array where the version forbids null");
}

TEST(malformed, negative_string_lengths) {
    auto e = decode_error<metadata_request>(H("00000001 fffe"), 1);
    EXPECT_EQ(e.code, errc::invalid_length);
    EXPECT_EQ(e.detail,
              "MetadataRequest v1: Topics[0].Name: at byte 4: string length -2 is negative");
    // -1 is null: allowed for a nullable string, an error for any other.
    auto n = decode_error<produce_request>(H("ffff ffff 00007530 00000001 ffff 00000000"), 3);
    EXPECT_EQ(n.code, errc::invalid_value);
    EXPECT_EQ(n.detail,
              "ProduceRequest v3: TopicData[0].Name: at byte 12: null string where the version "
              "forbids null");
    auto big = decode_error<join_group_request>(H("7fff") + "g1", 2);
    EXPECT_EQ(big.code, errc::invalid_length);
    EXPECT_EQ(
        big.detail,
        "JoinGroupRequest v2: GroupId: at byte 0: string length 32767 exceeds the 2 bytes left");
}

TEST(malformed, hostile_bytes_lengths) {
    auto e = decode_error<produce_request>(
        H("ffff ffff 00007530 00000001 0003") + "foo" + H("00000001 00000000 7fffffff"), 3);
    EXPECT_EQ(e.code, errc::invalid_length);
    EXPECT_EQ(e.detail,
              "ProduceRequest v3: TopicData[0].PartitionData[0].Records: at byte 25: bytes length "
              "2147483647 exceeds the 0 bytes left");
    auto neg = decode_error<sync_group_response>(H("00000000 0000 fffffffe"), 1);
    EXPECT_EQ(neg.code, errc::invalid_length);
    EXPECT_EQ(neg.detail,
              "SyncGroupResponse v1: Assignment: at byte 6: bytes length -2 is negative");
    auto null = decode_error<sync_group_response>(H("00000000 0000 ffffffff"), 1);
    EXPECT_EQ(null.code, errc::invalid_value);
}

TEST(malformed, overlong_compact_length) {
    auto e = decode_error<api_versions_request>(H("ffffffffff"), 3);
    EXPECT_EQ(e.code, errc::invalid_varint);
    EXPECT_EQ(
        e.detail,
        "ApiVersionsRequest v3: ClientSoftwareName: at byte 0: unsigned varint exceeds 32 bits");
}

// ---------------------------------------------------------------- tagged fields

TEST(malformed, tagged_field_size_past_the_end) {
    auto e = decode_error<api_versions_request>(H("01 01 01 00 05 aa"), 3);
    EXPECT_EQ(e.code, errc::invalid_length);
    EXPECT_EQ(
        e.detail,
        "ApiVersionsRequest v3: (tagged fields): at byte 4: tagged field 0 size 5 exceeds the 1 "
        "bytes left");
    auto count = decode_error<api_versions_request>(H("01 01 ffffffff0f"), 3);
    EXPECT_EQ(count.detail.rfind("ApiVersionsRequest v3: (tagged fields): ", 0), 0u)
        << count.detail;
}

TEST(malformed, known_tag_with_wrong_size) {
    const std::string head = H("0000 01 00000000");  // ErrorCode, ApiKeys [], ThrottleTimeMs
    auto longer = decode_error<api_versions_response>(head + H("01 01 09 0000000000000005 ff"), 3);
    EXPECT_EQ(longer.code, errc::trailing_bytes);
    EXPECT_EQ(longer.detail,
              "ApiVersionsResponse v3: FinalizedFeaturesEpoch: at byte 8: 1 bytes left unread");
    auto shorter = decode_error<api_versions_response>(head + H("01 01 04 00000005"), 3);
    EXPECT_EQ(shorter.code, errc::truncated);
    EXPECT_EQ(shorter.detail,
              "ApiVersionsResponse v3: FinalizedFeaturesEpoch: at byte 0: needs 8 bytes, 4 left");
}

TEST(malformed, duplicate_known_tag) {
    const std::string head = H("ffffffff 000001f4 00000001 03200000 00 00000000 ffffffff 01 01 01");
    auto e = decode_error<fetch_request>(head + H("02 00 02 02 61 00 02 02 62"), 12);
    EXPECT_EQ(e.code, errc::invalid_value);
    EXPECT_EQ(e.detail, "FetchRequest v12: (tagged fields): tag 0 appears twice");
}

TEST(tagged, unknown_tags_in_nested_structs_are_kept) {
    // MetadataRequest v9, topic "foo" with unknown tags 5 and 2 (out of order).
    const std::string wire = H("02 04") + "foo" + H("02 05 01 aa 02 00") + H("01 00 00 00");
    reader r(wire);
    auto m = metadata_request::decode(r, 9);
    ASSERT_TRUE(m) << m.error().message();
    const auto& tags = (*m->topics)[0].unknown_tags;
    ASSERT_EQ(tags.size(), 2u);  // kept in ascending tag order
    EXPECT_EQ(tags[0].tag, 2u);
    EXPECT_EQ(tags[1].tag, 5u);
    EXPECT_EQ(tags[1].data, H("aa"));
    writer w;
    ASSERT_TRUE(m->encode(w, 9));
    // Written back in ascending tag order, as the protocol requires.
    EXPECT_EQ(hex(w.data()), hex(H("02 04") + "foo" + H("02 02 00 05 01 aa") + H("01 00 00 00")));
}

TEST(tagged, known_tags_of_a_later_version_stay_unknown) {
    // FetchRequest tag 1 (ReplicaState) exists from v15: in v12 it is unknown.
    const std::string wire =
        H("ffffffff 000001f4 00000001 03200000 00 00000000 ffffffff 01 01 01"
          "01 01 0d 00000003 0000000000000004 00");
    auto m = golden<fetch_request>(wire, 12);
    EXPECT_EQ(m.replica_state.replica_id, -1);
    ASSERT_EQ(m.unknown_tags.size(), 1u);
    EXPECT_EQ(m.unknown_tags[0].tag, 1u);
}

// ---------------------------------------------------------------- encoding

TEST(encode, non_ignorable_field_absent_from_the_version) {
    create_topics_request m;
    m.validate_only = true;  // v1+, not ignorable
    writer w;
    auto e = m.encode(w, 0);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.code(), errc::unsupported_version);
    EXPECT_EQ(e.error().detail,
              "CreateTopicsRequest v0: validateOnly: version 0 cannot carry a non-default value");
    EXPECT_TRUE(m.encode(w, 1));

    list_offsets_request lo;
    lo.topics.emplace_back();
    lo.topics[0].partitions.emplace_back();
    lo.topics[0].partitions[0].max_num_offsets = 5;  // v0 only
    writer w2;
    auto e2 = lo.encode(w2, 1);
    ASSERT_FALSE(e2);
    EXPECT_EQ(e2.error().detail,
              "ListOffsetsRequest v1: Topics[0].Partitions[0].MaxNumOffsets: version 1 cannot "
              "carry a non-default value");
}

TEST(encode, ignorable_fields_are_dropped) {
    metadata_response m;
    m.throttle_time_ms = 5;  // v3+, ignorable
    m.cluster_id = "c1";     // v2+, ignorable
    writer w;
    ASSERT_TRUE(m.encode(w, 0));
    EXPECT_EQ(hex(w.data()), hex(H("00000000 00000000")));  // Brokers [], Topics []
}

TEST(encode, null_where_the_version_forbids_it) {
    metadata_request m;
    m.topics.reset();
    writer w;
    auto e = m.encode(w, 0);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.code(), errc::invalid_value);
    EXPECT_EQ(e.error().detail,
              "MetadataRequest v0: Topics: null array where the version forbids null");
    writer w1;
    ASSERT_TRUE(m.encode(w1, 1));
    EXPECT_EQ(hex(w1.data()), "ffffffff");

    metadata_request named;
    named.topics->push_back({});
    named.topics->back().name.reset();  // nullable from v10
    writer w2;
    auto e2 = named.encode(w2, 9);
    ASSERT_FALSE(e2);
    EXPECT_EQ(e2.error().detail,
              "MetadataRequest v9: Topics[0].Name: null string where the version forbids null");
}

TEST(encode, strings_over_32767_bytes) {
    metadata_request m;
    m.topics->push_back({});
    m.topics->back().name = std::string(40000, 't');
    writer w;
    auto e = m.encode(w, 1);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().detail,
              "MetadataRequest v1: Topics[0].Name: string of 40000 bytes exceeds 32767");
}

TEST(encode, unknown_tags_need_a_flexible_version) {
    metadata_request m;
    m.unknown_tags.push_back({3, "x"});
    writer w;
    auto e = m.encode(w, 8);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.code(), errc::unsupported_version);
    EXPECT_EQ(e.error().detail,
              "MetadataRequest v8: (tagged fields): version 8 has no tagged fields");
    writer w9;
    EXPECT_TRUE(m.encode(w9, 9));
}

TEST(versions, outside_valid_versions) {
    metadata_request m;
    writer w;
    auto e = m.encode(w, 13);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.code(), errc::unsupported_version);
    EXPECT_EQ(e.error().detail, "MetadataRequest has no version 13");
    EXPECT_FALSE(m.encode(w, -1));
    EXPECT_EQ(w.size(), 0u);
    const std::string wire = H("00000000");
    reader r(wire);
    EXPECT_EQ(metadata_request::decode(r, 13).code(), errc::unsupported_version);
}

// ---------------------------------------------------------------- every message, every version

template <typename T>
class every_message : public ::testing::Test {};

using all_messages = ::testing::Types<
    request_header, response_header, api_versions_request, api_versions_response, metadata_request,
    metadata_response, produce_request, produce_response, fetch_request, fetch_response,
    list_offsets_request, list_offsets_response, init_producer_id_request,
    init_producer_id_response, find_coordinator_request, find_coordinator_response,
    join_group_request, join_group_response, sync_group_request, sync_group_response,
    heartbeat_request, heartbeat_response, leave_group_request, leave_group_response,
    offset_commit_request, offset_commit_response, offset_fetch_request, offset_fetch_response,
    list_groups_request, list_groups_response, describe_groups_request, describe_groups_response,
    create_topics_request, create_topics_response, delete_topics_request, delete_topics_response,
    create_partitions_request, create_partitions_response, describe_configs_request,
    describe_configs_response, alter_configs_request, alter_configs_response,
    incremental_alter_configs_request, incremental_alter_configs_response, describe_cluster_request,
    describe_cluster_response, delete_records_request, delete_records_response>;

class message_names {
  public:
    template <typename T>
    static std::string GetName(int) {
        return std::string(T::schema_name);
    }
};

TYPED_TEST_SUITE(every_message, all_messages, message_names);

// The default message of every version encodes, decodes to itself, and every
// truncation of it fails.
TYPED_TEST(every_message, defaults_round_trip_and_truncations_fail) {
    using T = TypeParam;
    for (int16_t v = T::min_version; v <= T::max_version; ++v) {
        const T m;
        writer w;
        auto e = m.encode(w, v);
        ASSERT_TRUE(e) << e.error().message();
        reader r(w.data());
        auto d = T::decode(r, v);
        ASSERT_TRUE(d) << d.error().message();
        EXPECT_EQ(r.remaining(), 0u);
        EXPECT_TRUE(*d == m) << T::schema_name << " v" << v;
        for (size_t n = 0; n < w.size(); ++n) {
            reader tr(std::string_view(w.data()).substr(0, n));
            auto t = T::decode(tr, v);
            ASSERT_FALSE(t) << T::schema_name << " v" << v << " prefix " << n;
            EXPECT_NE(t.error().detail.find(T::schema_name), std::string::npos);
        }
    }
}

// Random bytes and mutated valid messages: decoding fails cleanly or yields a
// message that re-encodes and decodes to the same value.
TYPED_TEST(every_message, garbage_fails_cleanly) {
    using T = TypeParam;
    std::mt19937 rng(20240601);
    auto check = [](const std::string& input, int16_t v) {
        reader r(input);
        auto d = T::decode(r, v);
        if (!d) {
            EXPECT_FALSE(d.error().detail.empty());
            return;
        }
        writer w;
        auto e = d->encode(w, v);
        ASSERT_TRUE(e) << T::schema_name << " v" << v << ": " << e.error().message() << " for "
                       << hex(input);
        reader again(w.data());
        auto d2 = T::decode(again, v);
        ASSERT_TRUE(d2) << d2.error().message();
        EXPECT_TRUE(*d2 == *d) << T::schema_name << " v" << v << " for " << hex(input);
    };
    for (int16_t v = T::min_version; v <= T::max_version; ++v) {
        for (int i = 0; i < 150; ++i) {
            std::string input(rng() % 48, '\0');
            for (auto& c : input) {
                // Mostly small bytes, so that lengths and counts are often plausible.
                c = static_cast<char>(rng() % 4 == 0 ? rng() : rng() % 3);
            }
            check(input, v);
        }
        writer w;
        ASSERT_TRUE(T().encode(w, v));
        const std::string valid = w.data();
        for (size_t i = 0; i < valid.size(); ++i) {
            for (const int x : {0x01, 0x7f, 0x80, 0xff}) {
                std::string mutated = valid;
                mutated[i] = static_cast<char>(mutated[i] ^ x);
                check(mutated, v);
            }
        }
    }
}

}  // namespace
}  // namespace fjord::kafka
