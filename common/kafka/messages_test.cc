// Golden bytes for the generated messages. Every expected byte string here is
// written by hand from the wire rules in ../shared/kafka-protocol/README.md
// and the schemas, never produced by this codec: golden<T>() decodes it,
// checks that re-encoding gives the same bytes, and that every truncation
// fails.
//
// Independent checks made when these were written: every non-flexible one
// that kafka-python 2.0.2 (Debian's python3-kafka) has a schema for decodes
// there to the same values, consumes every byte and re-encodes identically
// (CreateTopics v4 with its v3 schema, which has the same layout; Fetch v11
// with its rack_id field typed as String('utf-8'), a kafka-python bug). The
// ApiVersions v3 response layout, tagged fields and an unknown tag included,
// was accepted by librdkafka 2.0.2 (kcat -L against a socket answering it).

#include <gtest/gtest.h>

#include <string>

#include "common/kafka/messages/api_versions.h"
#include "common/kafka/messages/create_topics.h"
#include "common/kafka/messages/describe_log_dirs.h"
#include "common/kafka/messages/fetch.h"
#include "common/kafka/messages/join_group.h"
#include "common/kafka/messages/list_offsets.h"
#include "common/kafka/messages/metadata.h"
#include "common/kafka/messages/produce.h"
#include "common/kafka/messages/sync_group.h"
#include "common/kafka/test_util.h"

namespace fjord::kafka {
namespace {

using testing::golden;
using testing::H;
using testing::hex;

// Kafka's uuid for the tests: high then low 64 bits.
const std::string topic_uuid = H("0102030405060708 090a0b0c0d0e0f10");
constexpr uuid topic_id{0x0102030405060708, 0x090a0b0c0d0e0f10};

// ---------------------------------------------------------------- ApiVersions (18)

TEST(api_versions, v0_request_is_empty) {
    auto m = golden<api_versions_request>("", 0);
    EXPECT_EQ(m.client_software_name, "");
}

TEST(api_versions, v3_request) {
    // clang-format off
    const std::string wire = H("0b") + "librdkafka"  // ClientSoftwareName, compact: 10+1
                             + H("06") + "2.0.2"     // ClientSoftwareVersion
                             + H("00");              // no tagged fields
    // clang-format on
    auto m = golden<api_versions_request>(wire, 3);
    EXPECT_EQ(m.client_software_name, "librdkafka");
    EXPECT_EQ(m.client_software_version, "2.0.2");
    EXPECT_TRUE(m.unknown_tags.empty());
}

TEST(api_versions, v0_response) {
    // clang-format off
    const std::string wire = H("0000"            // ErrorCode
                               "00000002"        // ApiKeys: 2
                               "0000 0000 0009"  // Produce 0-9
                               "0012 0000 0003"  // ApiVersions 0-3
    );
    // clang-format on
    auto m = golden<api_versions_response>(wire, 0);
    EXPECT_EQ(m.error_code, 0);
    ASSERT_EQ(m.api_keys.size(), 2u);
    EXPECT_EQ(m.api_keys[0].api_key, 0);
    EXPECT_EQ(m.api_keys[0].max_version, 9);
    EXPECT_EQ(m.api_keys[1].api_key, 18);
    EXPECT_EQ(m.api_keys[1].min_version, 0);
    EXPECT_EQ(m.api_keys[1].max_version, 3);
    EXPECT_EQ(m.throttle_time_ms, 0);
}

TEST(api_versions, v3_response_with_tagged_fields) {
    // clang-format off
    const std::string wire =
        H("0000"                         // ErrorCode
          "03"                           // ApiKeys: compact 2+1
          "0000 0000 0009 00"            // Produce 0-9, no tags
          "0012 0000 0003 00"            // ApiVersions 0-3, no tags
          "0000000a"                     // ThrottleTimeMs 10
          "05")                          // 5 tagged fields, ascending tags:
        + H("00 09 02 03") + "fv" + H("0001 0003 00")  // 0 SupportedFeatures [fv 1-3]
        + H("01 08 0000000000000005")                  // 1 FinalizedFeaturesEpoch 5
        + H("02 09 02 03") + "fv" + H("0003 0001 00")  // 2 FinalizedFeatures [fv max 3 min 1]
        + H("03 01 01")                                // 3 ZkMigrationReady true
        + H("07 02 abcd");                             // 7 unknown: kept
    // clang-format on
    auto m = golden<api_versions_response>(wire, 3);
    ASSERT_EQ(m.api_keys.size(), 2u);
    EXPECT_EQ(m.api_keys[1].api_key, 18);
    EXPECT_EQ(m.throttle_time_ms, 10);
    ASSERT_EQ(m.supported_features.size(), 1u);
    EXPECT_EQ(m.supported_features[0].name, "fv");
    EXPECT_EQ(m.supported_features[0].min_version, 1);
    EXPECT_EQ(m.supported_features[0].max_version, 3);
    EXPECT_EQ(m.finalized_features_epoch, 5);
    ASSERT_EQ(m.finalized_features.size(), 1u);
    EXPECT_EQ(m.finalized_features[0].max_version_level, 3);
    EXPECT_EQ(m.finalized_features[0].min_version_level, 1);
    EXPECT_TRUE(m.zk_migration_ready);
    ASSERT_EQ(m.unknown_tags.size(), 1u);
    EXPECT_EQ(m.unknown_tags[0].tag, 7u);
    EXPECT_EQ(m.unknown_tags[0].data, H("abcd"));
}

TEST(api_versions, v3_response_defaults_send_no_tags) {
    api_versions_response m;
    m.api_keys.push_back({18, 0, 4, {}});
    writer w;
    ASSERT_TRUE(m.encode(w, 3));
    EXPECT_EQ(hex(w.data()), hex(H("0000 02 00120000000400 00000000 00")));
}

// ---------------------------------------------------------------- Metadata (3)

TEST(metadata, v1_request) {
    auto m = golden<metadata_request>(H("00000001 0003") + "foo", 1);
    ASSERT_TRUE(m.topics.has_value());
    ASSERT_EQ(m.topics->size(), 1u);
    EXPECT_EQ((*m.topics)[0].name, std::optional<std::string>("foo"));
    EXPECT_TRUE(m.allow_auto_topic_creation);  // not on the wire before v4: the default
    auto all = golden<metadata_request>(H("ffffffff"), 1);  // null: all topics
    EXPECT_FALSE(all.topics.has_value());
}

TEST(metadata, v4_request) {
    auto m = golden<metadata_request>(H("00000001 0003") + "foo" + H("00"), 4);
    ASSERT_EQ(m.topics->size(), 1u);
    EXPECT_FALSE(m.allow_auto_topic_creation);
}

TEST(metadata, v9_request) {
    // clang-format off
    const std::string wire = H("02 04") + "foo" + H("00")  // Topics: [foo], topic tags
                             + H("01"                      // AllowAutoTopicCreation
                                 "00"                      // IncludeClusterAuthorizedOperations
                                 "01"                      // IncludeTopicAuthorizedOperations
                                 "00");                    // tags
    // clang-format on
    auto m = golden<metadata_request>(wire, 9);
    EXPECT_EQ((*m.topics)[0].name, std::optional<std::string>("foo"));
    EXPECT_TRUE(m.allow_auto_topic_creation);
    EXPECT_FALSE(m.include_cluster_authorized_operations);
    EXPECT_TRUE(m.include_topic_authorized_operations);
}

TEST(metadata, v12_request) {
    // clang-format off
    const std::string wire = H("02") + topic_uuid + H("00 00")  // Topics: [{id, null name}]
                             + H("01 00 00");  // AllowAuto, IncludeTopicAuthorizedOperations, tags
    // clang-format on
    auto m = golden<metadata_request>(wire, 12);
    ASSERT_EQ(m.topics->size(), 1u);
    EXPECT_EQ((*m.topics)[0].topic_id, topic_id);
    EXPECT_EQ((*m.topics)[0].name, std::nullopt);
    EXPECT_FALSE(m.include_topic_authorized_operations);
}

TEST(metadata, v1_response) {
    // clang-format off
    const std::string wire =
        H("00000001"                               // Brokers: 1
          "00000001 0009") + "localhost"           //   NodeId 1, Host
        + H("00002384 ffff")                       //   Port 9092, Rack null
        + H("00000001")                            // ControllerId 1
        + H("00000001 0000 0003") + "foo" + H("00")  // Topics: 1; ErrorCode, Name, IsInternal
        + H("00000001 0000 00000000 00000001"      //   Partitions: 1; ErrorCode, Index, Leader 1
            "00000001 00000001"                    //   ReplicaNodes [1]
            "00000001 00000001");                  //   IsrNodes [1]
    // clang-format on
    auto m = golden<metadata_response>(wire, 1);
    ASSERT_EQ(m.brokers.size(), 1u);
    EXPECT_EQ(m.brokers[0].node_id, 1);
    EXPECT_EQ(m.brokers[0].host, "localhost");
    EXPECT_EQ(m.brokers[0].port, 9092);
    EXPECT_EQ(m.brokers[0].rack, std::nullopt);
    EXPECT_EQ(m.controller_id, 1);
    EXPECT_EQ(m.cluster_id, std::nullopt);
    ASSERT_EQ(m.topics.size(), 1u);
    EXPECT_EQ(m.topics[0].name, std::optional<std::string>("foo"));
    ASSERT_EQ(m.topics[0].partitions.size(), 1u);
    const auto& p = m.topics[0].partitions[0];
    EXPECT_EQ(p.leader_id, 1);
    EXPECT_EQ(p.leader_epoch, -1);
    EXPECT_EQ(p.replica_nodes, std::vector<int32_t>{1});
    EXPECT_EQ(p.isr_nodes, std::vector<int32_t>{1});
}

TEST(metadata, v4_response) {
    // clang-format off
    const std::string wire =
        H("0000000a")                                      // ThrottleTimeMs 10
        + H("00000001 00000001 0009") + "localhost"        // Brokers: [1 localhost
        + H("00002384 0002") + "r1"                        //   9092 rack r1]
        + H("0002") + "c1"                                 // ClusterId
        + H("00000001")                                    // ControllerId
        + H("00000001 0000 0003") + "foo" + H("00")        // Topics: [foo, not internal
        + H("00000001 0000 00000000 00000001"              //   partition 0, leader 1
            "00000001 00000001 00000001 00000001");        //   replicas [1], isr [1]]
    // clang-format on
    auto m = golden<metadata_response>(wire, 4);
    EXPECT_EQ(m.throttle_time_ms, 10);
    EXPECT_EQ(m.brokers[0].rack, std::optional<std::string>("r1"));
    EXPECT_EQ(m.cluster_id, std::optional<std::string>("c1"));
    EXPECT_TRUE(m.topics[0].partitions[0].offline_replicas.empty());
}

TEST(metadata, v9_response) {
    // clang-format off
    const std::string wire =
        H("00000000")                                          // ThrottleTimeMs
        + H("02 00000001 0a") + "localhost" + H("00002384 00 00")  // Brokers: [1, rack null, tags]
        + H("03") + "c1"                                       // ClusterId
        + H("00000001")                                        // ControllerId
        + H("02 0000 04") + "foo" + H("00")                    // Topics: [foo, not internal
        + H("02 0000 00000000 00000001 00000005"               //   partition 0, leader 1, epoch 5
            "02 00000001 02 00000001 01 00")                   //   [1] [1] [] tags]
        + H("80000000 00")                                     //   TopicAuthorizedOperations, tags
        + H("80000000 00");                                    // ClusterAuthorizedOperations, tags
    // clang-format on
    auto m = golden<metadata_response>(wire, 9);
    EXPECT_EQ(m.topics[0].partitions[0].leader_epoch, 5);
    EXPECT_EQ(m.topics[0].topic_authorized_operations, INT32_MIN);
    EXPECT_EQ(m.cluster_authorized_operations, INT32_MIN);
    EXPECT_EQ(m.cluster_id, std::optional<std::string>("c1"));
}

TEST(metadata, v12_response) {
    // clang-format off
    const std::string wire =
        H("00000000")                                              // ThrottleTimeMs
        + H("02 00000001 0a") + "localhost" + H("00002384 00 00")  // Brokers
        + H("00")                                                  // ClusterId null
        + H("00000001")                                            // ControllerId
        + H("02 0003 04") + "foo" + topic_uuid                     // Topics: [error 3, foo, id
        + H("00 01 80000000 00")                                   //   internal, [], ops, tags]
        + H("00");                                                 // tags
    // clang-format on
    auto m = golden<metadata_response>(wire, 12);
    EXPECT_EQ(m.cluster_id, std::nullopt);
    ASSERT_EQ(m.topics.size(), 1u);
    EXPECT_EQ(m.topics[0].error_code, 3);
    EXPECT_EQ(m.topics[0].topic_id, topic_id);
    EXPECT_TRUE(m.topics[0].partitions.empty());
}

// ---------------------------------------------------------------- Produce (0)

TEST(produce, v3_request) {
    // clang-format off
    const std::string wire = H("ffff"      // TransactionalId null
                               "ffff"      // Acks -1
                               "00007530"  // TimeoutMs 30000
                               "00000001 0003") + "foo"        // TopicData: [foo
                             + H("00000001 00000000"             //   partition 0
                                 "00000004 deadbeef");           //   records: 4 raw bytes]
    // clang-format on
    auto m = golden<produce_request>(wire, 3);
    EXPECT_EQ(m.transactional_id, std::nullopt);
    EXPECT_EQ(m.acks, -1);
    EXPECT_EQ(m.timeout_ms, 30000);
    ASSERT_EQ(m.topic_data.size(), 1u);
    EXPECT_EQ(m.topic_data[0].name, "foo");
    ASSERT_EQ(m.topic_data[0].partition_data.size(), 1u);
    EXPECT_EQ(m.topic_data[0].partition_data[0].index, 0);
    EXPECT_EQ(m.topic_data[0].partition_data[0].records, std::optional<std::string>(H("deadbeef")));
}

TEST(produce, v7_request) {
    // clang-format off
    const std::string wire = H("0002") + "tx" + H("0001 000003e8")  // TransactionalId, Acks 1, 1 s
                             + H("00000001 0003") + "foo"          // TopicData: [foo
                             + H("00000002"                        //   2 partitions:
                                 "00000000 ffffffff"               //   0, records null
                                 "00000001 00000002 abcd");        //   1, 2 bytes]
    // clang-format on
    auto m = golden<produce_request>(wire, 7);
    EXPECT_EQ(m.transactional_id, std::optional<std::string>("tx"));
    EXPECT_EQ(m.acks, 1);
    const auto& parts = m.topic_data[0].partition_data;
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].records, std::nullopt);
    EXPECT_EQ(parts[1].index, 1);
    EXPECT_EQ(parts[1].records, std::optional<std::string>(H("abcd")));
}

TEST(produce, v9_request) {
    // clang-format off
    const std::string wire = H("00 ffff 00007530")             // TransactionalId null, Acks, Timeout
                             + H("02 04") + "foo"              // TopicData: [foo
                             + H("02 00000000 05 deadbeef 00"  //   [0, 4 bytes, tags]
                                 "00"                          //   tags]
                                 "00");                        // tags
    // clang-format on
    auto m = golden<produce_request>(wire, 9);
    EXPECT_EQ(m.topic_data[0].partition_data[0].records, std::optional<std::string>(H("deadbeef")));
}

TEST(produce, v3_response) {
    // clang-format off
    const std::string wire = H("00000001 0003") + "foo"               // Responses: [foo
                             + H("00000001 00000000 0000"             //   [0, no error,
                                 "0000000000000064"                   //    BaseOffset 100
                                 "ffffffffffffffff")                  //    LogAppendTimeMs -1]]
                             + H("00000000");                         // ThrottleTimeMs
    // clang-format on
    auto m = golden<produce_response>(wire, 3);
    ASSERT_EQ(m.responses.size(), 1u);
    const auto& p = m.responses[0].partition_responses[0];
    EXPECT_EQ(p.base_offset, 100);
    EXPECT_EQ(p.log_append_time_ms, -1);
    EXPECT_EQ(p.log_start_offset, -1);
}

TEST(produce, v7_response) {
    // clang-format off
    const std::string wire = H("00000001 0003") + "foo"
                             + H("00000001 00000000 0000 0000000000000064 ffffffffffffffff"
                                 "0000000000000000")  // LogStartOffset 0
                             + H("00000005");         // ThrottleTimeMs 5
    // clang-format on
    auto m = golden<produce_response>(wire, 7);
    EXPECT_EQ(m.responses[0].partition_responses[0].log_start_offset, 0);
    EXPECT_EQ(m.throttle_time_ms, 5);
}

TEST(produce, v9_response) {
    // clang-format off
    const std::string wire =
        H("02 04") + "foo"                                            // Responses: [foo
        + H("02 00000000 0057 0000000000000064 ffffffffffffffff"      //   [0, INVALID_RECORD,
            "0000000000000000")                                       //    offsets,
        + H("02 00000000 04") + "bad" + H("00")                       //    RecordErrors [0 "bad"],
        + H("00 00")                                                  //    ErrorMessage null, tags]
        + H("00")                                                     //   tags]
        + H("00000000 00");                                           // ThrottleTimeMs, tags
    // clang-format on
    auto m = golden<produce_response>(wire, 9);
    const auto& p = m.responses[0].partition_responses[0];
    EXPECT_EQ(p.error_code, 87);
    ASSERT_EQ(p.record_errors.size(), 1u);
    EXPECT_EQ(p.record_errors[0].batch_index, 0);
    EXPECT_EQ(p.record_errors[0].batch_index_error_message, std::optional<std::string>("bad"));
    EXPECT_EQ(p.error_message, std::nullopt);
}

TEST(produce, v10_response_with_tagged_structs) {
    // clang-format off
    const std::string wire =
        H("02 04") + "foo"                                      // Responses: [foo
        + H("02 00000000 0006"                                  //   [0, NOT_LEADER_OR_FOLLOWER,
            "ffffffffffffffff ffffffffffffffff ffffffffffffffff"
            "01 00"                                             //    [] null
            "01 00 09 00000002 00000007 00")                    //    tag 0 CurrentLeader {2, 7}]
        + H("00")                                               //   tags]
        + H("00000000")                                         // ThrottleTimeMs
        + H("01 00 15 02 00000002 0a") + "localhost"            // tag 0 NodeEndpoints [2
        + H("00002384 00 00");                                  //   9092 null rack]
    // clang-format on
    auto m = golden<produce_response>(wire, 10);
    const auto& p = m.responses[0].partition_responses[0];
    EXPECT_EQ(p.current_leader.leader_id, 2);
    EXPECT_EQ(p.current_leader.leader_epoch, 7);
    ASSERT_EQ(m.node_endpoints.size(), 1u);
    EXPECT_EQ(m.node_endpoints[0].node_id, 2);
    EXPECT_EQ(m.node_endpoints[0].host, "localhost");
    EXPECT_EQ(m.node_endpoints[0].rack, std::nullopt);
}

// ---------------------------------------------------------------- Fetch (1)

TEST(fetch, v4_request) {
    // clang-format off
    const std::string wire = H("ffffffff"    // ReplicaId -1 (a consumer)
                               "000001f4"    // MaxWaitMs 500
                               "00000001"    // MinBytes 1
                               "03200000"    // MaxBytes 52428800
                               "00"          // IsolationLevel read_uncommitted
                               "00000001 0003") + "foo"  // Topics: [foo
                             + H("00000001 00000000"       //   [partition 0,
                                 "0000000000000000"        //    FetchOffset 0,
                                 "00100000");              //    PartitionMaxBytes 1 MiB]]
    // clang-format on
    auto m = golden<fetch_request>(wire, 4);
    EXPECT_EQ(m.replica_id, -1);
    EXPECT_EQ(m.max_wait_ms, 500);
    EXPECT_EQ(m.max_bytes, 52428800);
    EXPECT_EQ(m.isolation_level, 0);
    EXPECT_EQ(m.session_epoch, -1);  // default: not on the wire before v7
    ASSERT_EQ(m.topics.size(), 1u);
    EXPECT_EQ(m.topics[0].topic, "foo");
    EXPECT_EQ(m.topics[0].partitions[0].partition_max_bytes, 1 << 20);
    EXPECT_EQ(m.topics[0].partitions[0].current_leader_epoch, -1);
}

TEST(fetch, v11_request) {
    // clang-format off
    const std::string wire =
        H("ffffffff 000001f4 00000001 03200000"
          "01"                                    // IsolationLevel read_committed
          "00000000 ffffffff")                    // SessionId 0, SessionEpoch -1
        + H("00000001 0003") + "foo"              // Topics: [foo
        + H("00000001 00000002 00000003"          //   [partition 2, CurrentLeaderEpoch 3,
            "000000000000000a ffffffffffffffff"   //    FetchOffset 10, LogStartOffset -1,
            "00100000")                           //    PartitionMaxBytes]]
        + H("00000001 0003") + "bar"              // ForgottenTopicsData: [bar
        + H("00000002 00000000 00000001")         //   [0, 1]]
        + H("0004") + "rack";                     // RackId
    // clang-format on
    auto m = golden<fetch_request>(wire, 11);
    EXPECT_EQ(m.isolation_level, 1);
    const auto& p = m.topics[0].partitions[0];
    EXPECT_EQ(p.partition, 2);
    EXPECT_EQ(p.current_leader_epoch, 3);
    EXPECT_EQ(p.fetch_offset, 10);
    ASSERT_EQ(m.forgotten_topics_data.size(), 1u);
    EXPECT_EQ(m.forgotten_topics_data[0].topic, "bar");
    EXPECT_EQ(m.forgotten_topics_data[0].partitions, (std::vector<int32_t>{0, 1}));
    EXPECT_EQ(m.rack_id, "rack");
}

TEST(fetch, v12_request) {
    // clang-format off
    const std::string wire =
        H("ffffffff 000001f4 00000001 03200000 00 00000000 ffffffff")
        + H("02 04") + "foo"                              // Topics: [foo
        + H("02 00000000 ffffffff 0000000000000000"       //   [0, epoch -1, offset 0,
            "ffffffff ffffffffffffffff 00100000 00"       //    LastFetchedEpoch -1, ..., tags]
            "00")                                         //   tags]
        + H("01")                                         // ForgottenTopicsData []
        + H("01")                                         // RackId ""
        + H("01 00 04 04") + "cid";                       // tag 0 ClusterId "cid"
    // clang-format on
    auto m = golden<fetch_request>(wire, 12);
    EXPECT_EQ(m.cluster_id, std::optional<std::string>("cid"));
    EXPECT_EQ(m.topics[0].partitions[0].last_fetched_epoch, -1);
    EXPECT_EQ(m.rack_id, "");
}

TEST(fetch, v4_response) {
    // clang-format off
    const std::string wire = H("00000000")                       // ThrottleTimeMs
                             + H("00000001 0003") + "foo"        // Responses: [foo
                             + H("00000001 00000000 0000"        //   [0, no error,
                                 "000000000000000a"              //    HighWatermark 10
                                 "000000000000000a"              //    LastStableOffset 10
                                 "ffffffff"                      //    AbortedTransactions null
                                 "00000003 010203");             //    Records: 3 bytes]]
    // clang-format on
    auto m = golden<fetch_response>(wire, 4);
    const auto& p = m.responses[0].partitions[0];
    EXPECT_EQ(p.high_watermark, 10);
    EXPECT_EQ(p.last_stable_offset, 10);
    EXPECT_FALSE(p.aborted_transactions.has_value());
    EXPECT_EQ(p.records, std::optional<std::string>(H("010203")));
}

TEST(fetch, v11_response) {
    // clang-format off
    const std::string wire = H("00000000 0000 00000000")        // ThrottleTimeMs, ErrorCode, Session
                             + H("00000001 0003") + "foo"
                             + H("00000001 00000000 0000 000000000000000a 000000000000000a"
                                 "0000000000000000"              //  LogStartOffset 0
                                 "00000001 0000000000000007 0000000000000003"  // Aborted [7 @ 3]
                                 "ffffffff"                      //  PreferredReadReplica -1
                                 "ffffffff");                    //  Records null
    // clang-format on
    auto m = golden<fetch_response>(wire, 11);
    const auto& p = m.responses[0].partitions[0];
    ASSERT_TRUE(p.aborted_transactions.has_value());
    ASSERT_EQ(p.aborted_transactions->size(), 1u);
    EXPECT_EQ((*p.aborted_transactions)[0].producer_id, 7);
    EXPECT_EQ((*p.aborted_transactions)[0].first_offset, 3);
    EXPECT_EQ(p.preferred_read_replica, -1);
    EXPECT_EQ(p.records, std::nullopt);
}

TEST(fetch, v12_response) {
    // clang-format off
    const std::string wire =
        H("00000000 0000 00000000")
        + H("02 04") + "foo"                                          // Responses: [foo
        + H("02 00000000 0000 000000000000000a 000000000000000a"      //   [0, ...,
            "0000000000000000 00 ffffffff 04 010203"                  //    null aborted, records
            "01 01 09 00000001 00000002 00")                          //    tag 1 CurrentLeader]
        + H("00")                                                     //   tags]
        + H("00");                                                    // tags
    // clang-format on
    auto m = golden<fetch_response>(wire, 12);
    const auto& p = m.responses[0].partitions[0];
    EXPECT_EQ(p.current_leader.leader_id, 1);
    EXPECT_EQ(p.current_leader.leader_epoch, 2);
    EXPECT_EQ(p.diverging_epoch.epoch, -1);  // absent tag: the default
    EXPECT_EQ(p.snapshot_id.end_offset, -1);
    EXPECT_EQ(p.records, std::optional<std::string>(H("010203")));
}

// ---------------------------------------------------------------- ListOffsets (2)

TEST(list_offsets, v0_request) {
    // clang-format off
    const std::string wire = H("ffffffff 00000001 0003") + "foo"
                             + H("00000001 00000000 ffffffffffffffff 00000001");  // latest, 1 offset
    // clang-format on
    auto m = golden<list_offsets_request>(wire, 0);
    EXPECT_EQ(m.topics[0].partitions[0].timestamp, -1);
    EXPECT_EQ(m.topics[0].partitions[0].max_num_offsets, 1);
}

TEST(list_offsets, v1_request) {
    // clang-format off
    const std::string wire = H("ffffffff 00000001 0003") + "foo"
                             + H("00000001 00000000 fffffffffffffffe");  // earliest
    // clang-format on
    auto m = golden<list_offsets_request>(wire, 1);
    EXPECT_EQ(m.replica_id, -1);
    EXPECT_EQ(m.topics[0].name, "foo");
    EXPECT_EQ(m.topics[0].partitions[0].timestamp, -2);
}

TEST(list_offsets, v6_request) {
    // clang-format off
    const std::string wire = H("ffffffff 01 02 04") + "foo"
                             + H("02 00000000 00000003 ffffffffffffffff 00 00 00");
    // clang-format on
    auto m = golden<list_offsets_request>(wire, 6);
    EXPECT_EQ(m.isolation_level, 1);
    EXPECT_EQ(m.topics[0].partitions[0].current_leader_epoch, 3);
}

TEST(list_offsets, v0_response) {
    // clang-format off
    const std::string wire = H("00000001 0003") + "foo"
                             + H("00000001 00000000 0000 00000001 000000000000002a");
    // clang-format on
    auto m = golden<list_offsets_response>(wire, 0);
    EXPECT_EQ(m.topics[0].partitions[0].old_style_offsets, std::vector<int64_t>{42});
}

TEST(list_offsets, v1_response) {
    // clang-format off
    const std::string wire = H("00000001 0003") + "foo"
                             + H("00000001 00000000 0000 ffffffffffffffff 000000000000002a");
    // clang-format on
    auto m = golden<list_offsets_response>(wire, 1);
    EXPECT_EQ(m.topics[0].partitions[0].timestamp, -1);
    EXPECT_EQ(m.topics[0].partitions[0].offset, 42);
}

TEST(list_offsets, v6_response) {
    // clang-format off
    const std::string wire = H("00000000 02 04") + "foo"
                             + H("02 00000000 0000 ffffffffffffffff 000000000000002a 00000003"
                                 "00 00 00");
    // clang-format on
    auto m = golden<list_offsets_response>(wire, 6);
    EXPECT_EQ(m.topics[0].partitions[0].leader_epoch, 3);
}

// ---------------------------------------------------------------- JoinGroup (11)

TEST(join_group, v2_request) {
    // clang-format off
    const std::string wire = H("0002") + "g1"                       // GroupId
                             + H("00002710 0000ea60")               // session 10 s, rebalance 60 s
                             + H("0000")                            // MemberId ""
                             + H("0008") + "consumer"               // ProtocolType
                             + H("00000001 0005") + "range"         // Protocols: [range
                             + H("00000003 010203");                //   metadata]
    // clang-format on
    auto m = golden<join_group_request>(wire, 2);
    EXPECT_EQ(m.group_id, "g1");
    EXPECT_EQ(m.session_timeout_ms, 10000);
    EXPECT_EQ(m.rebalance_timeout_ms, 60000);
    EXPECT_EQ(m.member_id, "");
    EXPECT_EQ(m.protocol_type, "consumer");
    ASSERT_EQ(m.protocols.size(), 1u);
    EXPECT_EQ(m.protocols[0].name, "range");
    EXPECT_EQ(m.protocols[0].metadata, H("010203"));
}

TEST(join_group, v6_request) {
    // clang-format off
    const std::string wire = H("03") + "g1" + H("00002710 0000ea60 01")  // ..., MemberId ""
                             + H("00")                                  // GroupInstanceId null
                             + H("09") + "consumer"
                             + H("02 06") + "range" + H("04 010203 00")  // Protocols
                             + H("00");
    // clang-format on
    auto m = golden<join_group_request>(wire, 6);
    EXPECT_EQ(m.group_instance_id, std::nullopt);
    EXPECT_EQ(m.protocols[0].metadata, H("010203"));
}

TEST(join_group, v2_response) {
    // clang-format off
    const std::string wire = H("00000000 0000 00000001")     // Throttle, ErrorCode, GenerationId 1
                             + H("0005") + "range"           // ProtocolName
                             + H("0002") + "m1"              // Leader
                             + H("0002") + "m1"              // MemberId
                             + H("00000001 0002") + "m1"     // Members: [m1
                             + H("00000002 abcd");           //   metadata]
    // clang-format on
    auto m = golden<join_group_response>(wire, 2);
    EXPECT_EQ(m.generation_id, 1);
    EXPECT_EQ(m.protocol_name, std::optional<std::string>("range"));
    EXPECT_EQ(m.leader, "m1");
    ASSERT_EQ(m.members.size(), 1u);
    EXPECT_EQ(m.members[0].metadata, H("abcd"));
}

TEST(join_group, v6_response) {
    // clang-format off
    const std::string wire = H("00000000 0000 00000001 06") + "range"
                             + H("03") + "m1" + H("03") + "m1"
                             + H("02 03") + "m1" + H("00 03 abcd 00")  // [m1, null instance, md]
                             + H("00");
    // clang-format on
    auto m = golden<join_group_response>(wire, 6);
    EXPECT_EQ(m.members[0].group_instance_id, std::nullopt);
    EXPECT_EQ(m.member_id, "m1");
}

// ---------------------------------------------------------------- SyncGroup (14)

TEST(sync_group, v1_request) {
    // clang-format off
    const std::string wire = H("0002") + "g1" + H("00000001 0002") + "m1"
                             + H("00000001 0002") + "m1" + H("00000002 abcd");
    // clang-format on
    auto m = golden<sync_group_request>(wire, 1);
    EXPECT_EQ(m.generation_id, 1);
    EXPECT_EQ(m.member_id, "m1");
    ASSERT_EQ(m.assignments.size(), 1u);
    EXPECT_EQ(m.assignments[0].assignment, H("abcd"));
}

TEST(sync_group, v4_request) {
    // clang-format off
    const std::string wire = H("03") + "g1" + H("00000001 03") + "m1"
                             + H("03") + "i1"                           // GroupInstanceId
                             + H("02 03") + "m1" + H("03 abcd 00")       // Assignments
                             + H("00");
    // clang-format on
    auto m = golden<sync_group_request>(wire, 4);
    EXPECT_EQ(m.group_instance_id, std::optional<std::string>("i1"));
    EXPECT_EQ(m.assignments[0].member_id, "m1");
}

TEST(sync_group, v1_response) {
    auto m = golden<sync_group_response>(H("00000000 0000 00000002 abcd"), 1);
    EXPECT_EQ(m.assignment, H("abcd"));
}

TEST(sync_group, v4_and_v5_response) {
    auto m4 = golden<sync_group_response>(H("00000000 0000 03 abcd 00"), 4);
    EXPECT_EQ(m4.assignment, H("abcd"));
    auto m5 = golden<sync_group_response>(
        H("00000000 0000 09") + "consumer" + H("06") + "range" + H("03 abcd 00"), 5);
    EXPECT_EQ(m5.protocol_type, std::optional<std::string>("consumer"));
    EXPECT_EQ(m5.protocol_name, std::optional<std::string>("range"));
}

// ---------------------------------------------------------------- CreateTopics (19)

TEST(create_topics, v4_request) {
    // clang-format off
    const std::string wire = H("00000001 0003") + "foo"              // Topics: [foo
                             + H("00000003 0001")                    //   3 partitions, RF 1
                             + H("00000000")                         //   Assignments []
                             + H("00000001 000e") + "cleanup.policy"  //   Configs [cleanup.policy
                             + H("0007") + "compact"                 //     = compact]]
                             + H("00007530 00");                     // timeoutMs, validateOnly
    // clang-format on
    auto m = golden<create_topics_request>(wire, 4);
    ASSERT_EQ(m.topics.size(), 1u);
    EXPECT_EQ(m.topics[0].num_partitions, 3);
    EXPECT_EQ(m.topics[0].replication_factor, 1);
    ASSERT_EQ(m.topics[0].configs.size(), 1u);
    EXPECT_EQ(m.topics[0].configs[0].value, std::optional<std::string>("compact"));
    EXPECT_EQ(m.timeout_ms, 30000);
    EXPECT_FALSE(m.validate_only);
}

TEST(create_topics, v5_request) {
    // clang-format off
    const std::string wire = H("02 04") + "foo"
                             + H("ffffffff ffff")                          // broker defaults
                             + H("02 00000000 03 00000001 00000002 00")    // Assignments [0: 1,2]
                             + H("02 0f") + "cleanup.policy" + H("00 00")  // Configs [null value]
                             + H("00")                                     // topic tags
                             + H("00007530 01 00");                        // timeout, validate, tags
    // clang-format on
    auto m = golden<create_topics_request>(wire, 5);
    EXPECT_EQ(m.topics[0].num_partitions, -1);
    ASSERT_EQ(m.topics[0].assignments.size(), 1u);
    EXPECT_EQ(m.topics[0].assignments[0].broker_ids, (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(m.topics[0].configs[0].value, std::nullopt);
    EXPECT_TRUE(m.validate_only);
}

TEST(create_topics, v4_response) {
    // clang-format off
    const std::string wire = H("00000000 00000001 0003") + "foo"
                             + H("0024 0006") + "exists";  // TOPIC_ALREADY_EXISTS, message
    // clang-format on
    auto m = golden<create_topics_response>(wire, 4);
    EXPECT_EQ(m.topics[0].error_code, 36);
    EXPECT_EQ(m.topics[0].error_message, std::optional<std::string>("exists"));
    EXPECT_EQ(m.topics[0].num_partitions, -1);
}

TEST(create_topics, v5_response) {
    // clang-format off
    const std::string wire =
        H("00000000 02 04") + "foo"
        + H("0000 00 00000003 0001")                            // no error, null message, 3, RF 1
        + H("02 0f") + "cleanup.policy" + H("08") + "compact"   // Configs [cleanup.policy=compact
        + H("00 05 00 00")                                      //   not read-only, source 5]
        + H("01 00 02 001d")                                    // tag 0 TopicConfigErrorCode 29
        + H("00");
    // clang-format on
    auto m = golden<create_topics_response>(wire, 5);
    const auto& t = m.topics[0];
    EXPECT_EQ(t.error_message, std::nullopt);
    EXPECT_EQ(t.num_partitions, 3);
    EXPECT_EQ(t.topic_config_error_code, 29);
    ASSERT_TRUE(t.configs.has_value());
    EXPECT_EQ((*t.configs)[0].config_source, 5);
    EXPECT_EQ((*t.configs)[0].value, std::optional<std::string>("compact"));
}

// ---------------------------------------------------------------- DescribeLogDirs (35)
// The schema files are written here (schemas/README.md); these bytes come
// from the protocol's field list (no client at hand speaks DescribeLogDirs:
// neither kafka-python 2.0.2 nor librdkafka 2.0.2 has it).

TEST(describe_log_dirs, v1_request_topics_and_null) {
    auto m = golden<describe_log_dirs_request>(
        H("00000001 0001") + "t" + H("00000002 00000000 00000003"), 1);
    ASSERT_TRUE(m.topics);
    ASSERT_EQ(m.topics->size(), 1u);
    EXPECT_EQ((*m.topics)[0].topic, "t");
    EXPECT_EQ((*m.topics)[0].partitions, (std::vector<int32_t>{0, 3}));
    auto all = golden<describe_log_dirs_request>(H("ffffffff"), 0);
    EXPECT_FALSE(all.topics);
}

TEST(describe_log_dirs, v2_request_is_flexible) {
    auto m = golden<describe_log_dirs_request>(H("02 02") + "t" + H("02 00000005 00 00"), 2);
    ASSERT_TRUE(m.topics);
    EXPECT_EQ((*m.topics)[0].partitions, (std::vector<int32_t>{5}));
    EXPECT_FALSE(golden<describe_log_dirs_request>(H("00 00"), 2).topics);
}

TEST(describe_log_dirs, v1_response) {
    const std::string wire = H("00000000 00000001 0000 0002") + "/d" + H("00000001 0001") + "t" +
                             H("00000001 00000002 0000000000000400 0000000000000000 00");
    auto m = golden<describe_log_dirs_response>(wire, 1);
    ASSERT_EQ(m.results.size(), 1u);
    EXPECT_EQ(m.results[0].log_dir, "/d");
    ASSERT_EQ(m.results[0].topics.size(), 1u);
    const auto& p = m.results[0].topics[0].partitions.at(0);
    EXPECT_EQ(p.partition_index, 2);
    EXPECT_EQ(p.partition_size, 1024);
    EXPECT_EQ(p.offset_lag, 0);
    EXPECT_FALSE(p.is_future_key);
}

TEST(describe_log_dirs, v4_response_error_code_and_volume) {
    const std::string wire = H("00000000 0000 02 0000 03") + "/d" + H("02 02") + "t" +
                             H("02 00000002 0000000000000400 0000000000000000 00 00 00") +
                             H("0000000000002000 0000000000001000 00 00");
    auto m = golden<describe_log_dirs_response>(wire, 4);
    EXPECT_EQ(m.error_code, 0);
    ASSERT_EQ(m.results.size(), 1u);
    EXPECT_EQ(m.results[0].total_bytes, 8192);
    EXPECT_EQ(m.results[0].usable_bytes, 4096);
    EXPECT_EQ(m.results[0].topics.at(0).partitions.at(0).partition_size, 1024);
}

}  // namespace
}  // namespace fjord::kafka
