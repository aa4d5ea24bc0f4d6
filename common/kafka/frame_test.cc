#include "common/kafka/frame.h"

#include <gtest/gtest.h>

#include <string>

#include "common/kafka/errc.h"
#include "common/kafka/messages/api_versions.h"
#include "common/kafka/messages/metadata.h"
#include "common/kafka/test_util.h"

namespace fjord::kafka {
namespace {

using testing::H;
using testing::hex;

TEST(api_keys, table_matches_the_schemas) {
    const auto apis = known_apis();
    ASSERT_EQ(apis.size(), 31u);
    for (size_t i = 1; i < apis.size(); ++i) {
        EXPECT_LT(apis[i - 1].key, apis[i].key);
    }
    const api_info* produce = find_api(0);
    ASSERT_NE(produce, nullptr);
    EXPECT_EQ(produce->name, "Produce");
    EXPECT_EQ(produce->min_version, 0);
    EXPECT_EQ(produce->max_version, 11);
    EXPECT_EQ(produce->flexible_version, 9);
    const api_info* fetch = find_api(static_cast<int16_t>(api_key::fetch));
    ASSERT_NE(fetch, nullptr);
    EXPECT_EQ(fetch->max_version, 17);
    EXPECT_EQ(fetch->flexible_version, 12);
    const api_info* cluster = find_api(60);
    ASSERT_NE(cluster, nullptr);
    EXPECT_EQ(cluster->name, "DescribeCluster");
    EXPECT_EQ(cluster->flexible_version, 0);
    const api_info* delete_records = find_api(21);
    ASSERT_NE(delete_records, nullptr);
    EXPECT_EQ(delete_records->name, "DeleteRecords");
    EXPECT_EQ(delete_records->max_version, 2);
    EXPECT_EQ(delete_records->flexible_version, 2);
    const api_info* log_dirs = find_api(35);
    ASSERT_NE(log_dirs, nullptr);
    EXPECT_EQ(log_dirs->name, "DescribeLogDirs");
    EXPECT_EQ(log_dirs->max_version, 4);
    EXPECT_EQ(log_dirs->flexible_version, 2);
    const api_info* handshake = find_api(17);
    ASSERT_NE(handshake, nullptr);
    EXPECT_EQ(handshake->name, "SaslHandshake");
    EXPECT_EQ(handshake->max_version, 1);
    EXPECT_EQ(handshake->flexible_version, -1);  // never flexible
    const api_info* authenticate = find_api(36);
    ASSERT_NE(authenticate, nullptr);
    EXPECT_EQ(authenticate->flexible_version, 2);
    const api_info* alter_scram = find_api(51);
    ASSERT_NE(alter_scram, nullptr);
    EXPECT_EQ(alter_scram->name, "AlterUserScramCredentials");
    EXPECT_EQ(alter_scram->max_version, 0);
    EXPECT_EQ(alter_scram->flexible_version, 0);
    EXPECT_EQ(find_api(23), nullptr);  // OffsetForLeaderEpoch is not generated
    EXPECT_EQ(find_api(-1), nullptr);
    EXPECT_EQ(metadata_request::api, api_key::metadata);
    EXPECT_EQ(metadata_request::max_version, 12);
}

TEST(api_keys, header_versions) {
    const api_info& produce = *find_api(0);
    EXPECT_EQ(request_header_version(produce, 8), 1);
    EXPECT_EQ(request_header_version(produce, 9), 2);
    EXPECT_EQ(response_header_version(produce, 8), 0);
    EXPECT_EQ(response_header_version(produce, 9), 1);
    const api_info& api_versions = *find_api(18);
    EXPECT_EQ(request_header_version(api_versions, 2), 1);
    EXPECT_EQ(request_header_version(api_versions, 3), 2);
    EXPECT_EQ(request_header_version(api_versions, 7), 2);   // newer than we know: still flexible
    EXPECT_EQ(response_header_version(api_versions, 3), 0);  // KIP-511
    EXPECT_EQ(response_header_version(api_versions, 4), 0);
    const api_info& cluster = *find_api(60);
    EXPECT_EQ(request_header_version(cluster, 0), 2);
    EXPECT_EQ(response_header_version(cluster, 0), 1);
}

TEST(frame, split_waits_for_a_whole_frame) {
    const std::string stream = H("00000003 aabbcc 00000001");
    for (size_t n = 0; n < 7; ++n) {
        auto s = split_frame(std::string_view(stream).substr(0, n));
        ASSERT_TRUE(s) << n;
        EXPECT_FALSE(s->has_value()) << n;
    }
    auto s = split_frame(stream);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->has_value());
    EXPECT_EQ(hex((*s)->frame), "aabbcc");
    EXPECT_EQ((*s)->consumed, 7u);
    const std::string zero = H("00000000");
    auto empty = split_frame(zero);
    ASSERT_TRUE(empty && empty->has_value());
    EXPECT_EQ((*empty)->frame.size(), 0u);
}

TEST(frame, split_rejects_hostile_sizes) {
    auto neg = split_frame(H("ffffffff"));
    ASSERT_FALSE(neg);
    EXPECT_EQ(neg.code(), errc::invalid_length);
    EXPECT_EQ(neg.error().detail, "frame size -1 is negative");
    // Rejected from the prefix alone: nothing waits for 2 GiB to arrive.
    auto big = split_frame(H("7fffffff"));
    ASSERT_FALSE(big);
    EXPECT_EQ(big.code(), errc::frame_too_large);
    EXPECT_EQ(big.error().detail, "frame size 2147483647 exceeds the limit of 104857600 bytes");
    auto small = split_frame(H("00000011"), 16);
    ASSERT_FALSE(small);
    EXPECT_EQ(small.code(), errc::frame_too_large);
    EXPECT_TRUE(split_frame(H("00000010"), 16));
}

// librdkafka's first request: ApiVersions v3 with request header v2. These
// are the bytes librdkafka 2.0.2 (kcat 1.7.1 -L) sent to a test socket.
TEST(frame, parses_request_header_v2) {
    const std::string frame = H("0012 0003 00000001") + H("0007") + "rdkafka" + H("00")  // header
                              + H("0b") + "librdkafka" + H("06") + "2.0.2" + H("00");    // body
    auto req = parse_request(frame);
    ASSERT_TRUE(req) << req.error().message();
    EXPECT_EQ(req->api_key(), 18);
    EXPECT_EQ(req->api_version(), 3);
    EXPECT_EQ(req->correlation_id(), 1);
    EXPECT_EQ(req->header.client_id, std::optional<std::string>("rdkafka"));
    EXPECT_EQ(req->header_version, 2);
    EXPECT_EQ(req->api->name, "ApiVersions");
    reader body(req->body);
    auto m = api_versions_request::decode(body, req->api_version());
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->client_software_name, "librdkafka");
    EXPECT_EQ(m->client_software_version, "2.0.2");
    EXPECT_EQ(body.remaining(), 0u);
}

// kafka-python's probe: Metadata v0 with request header v1 (no tagged fields).
TEST(frame, parses_request_header_v1) {
    const std::string frame = H("0003 0000 0000002a") + H("000c") + "kafka-python" + H("00000000");
    auto req = parse_request(frame);
    ASSERT_TRUE(req) << req.error().message();
    EXPECT_EQ(req->header_version, 1);
    EXPECT_EQ(req->correlation_id(), 42);
    EXPECT_EQ(req->header.client_id, std::optional<std::string>("kafka-python"));
    EXPECT_EQ(hex(req->body), "00000000");
    reader body(req->body);
    auto m = metadata_request::decode(body, 0);
    ASSERT_TRUE(m);
    ASSERT_TRUE(m->topics.has_value());
    EXPECT_TRUE(m->topics->empty());
}

// What librdkafka 2.0.2 sent next (captured as above): Metadata v4 for no
// topics without auto-creation, and for all topics with it.
TEST(frame, librdkafka_metadata_v4_frames) {
    const std::string none = H("0003 0004 00000002 0007") + "rdkafka" + H("00000000 00");
    const std::string all = H("0003 0004 00000003 0007") + "rdkafka" + H("ffffffff 01");
    auto a = parse_request(none);
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(a->header_version, 1);
    reader ra(a->body);
    auto ma = metadata_request::decode(ra, 4);
    ASSERT_TRUE(ma) << ma.error().message();
    EXPECT_TRUE(ma->topics.has_value() && ma->topics->empty());
    EXPECT_FALSE(ma->allow_auto_topic_creation);
    auto b = parse_request(all);
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(b->correlation_id(), 3);
    reader rb(b->body);
    auto mb = metadata_request::decode(rb, 4);
    ASSERT_TRUE(mb) << mb.error().message();
    EXPECT_FALSE(mb->topics.has_value());
    EXPECT_TRUE(mb->allow_auto_topic_creation);
}

TEST(frame, null_client_id_and_header_tags) {
    const std::string frame = H("0003 0009 00000007 ffff 01 05 01 ff");
    auto req = parse_request(frame);
    ASSERT_TRUE(req) << req.error().message();
    EXPECT_EQ(req->header.client_id, std::nullopt);
    ASSERT_EQ(req->header.unknown_tags.size(), 1u);
    EXPECT_EQ(req->header.unknown_tags[0].tag, 5u);
    EXPECT_EQ(req->body.size(), 0u);
}

TEST(frame, unknown_api_key_and_future_versions) {
    auto unknown = parse_request(H("00ff 0000 00000001 0000"));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.code(), errc::unsupported_api);
    EXPECT_EQ(unknown.error().detail, "api key 255 (version 0) is not supported");
    // ApiVersions v9: the header parses (as v2); the broker answers with a v0
    // response carrying UNSUPPORTED_VERSION.
    const std::string frame = H("0012 0009 00000005 0000 00") + H("deadbeef");
    auto future = parse_request(frame);
    ASSERT_TRUE(future) << future.error().message();
    EXPECT_FALSE(future->api->supports(9));
    EXPECT_EQ(future->header_version, 2);
    EXPECT_EQ(hex(future->body), "deadbeef");
    reader r(future->body);
    auto body = api_versions_request::decode(r, 9);
    ASSERT_FALSE(body);
    EXPECT_EQ(body.code(), errc::unsupported_version);
    EXPECT_EQ(body.error().detail, "ApiVersionsRequest has no version 9");
}

TEST(frame, truncated_headers_fail_cleanly) {
    const std::string frame = H("0012 0003 00000001 0007") + "rdkafka" + H("00");
    for (size_t n = 0; n < frame.size(); ++n) {
        auto req = parse_request(std::string_view(frame).substr(0, n));
        EXPECT_FALSE(req) << n;
    }
    auto e = parse_request(H("0003 0001 000000"));
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().detail,
              "RequestHeader v1: CorrelationId: at byte 4: needs 4 bytes, 3 left");
    auto bad_id = parse_request(H("0003 0001 00000001 fffe"));
    ASSERT_FALSE(bad_id);
    EXPECT_EQ(bad_id.code(), errc::invalid_length);
    EXPECT_EQ(bad_id.error().detail,
              "RequestHeader v1: ClientId: at byte 8: string length -2 is negative");
}

TEST(frame, frames_responses_with_both_header_versions) {
    EXPECT_EQ(hex(frame_response(42, 0, H("abcd"))), hex(H("00000006 0000002a abcd")));
    EXPECT_EQ(hex(frame_response(42, 1, H("abcd"))), hex(H("00000007 0000002a 00 abcd")));
    // The same without the size prefix, for a transport that frames itself.
    EXPECT_EQ(hex(response_message(42, 0, H("abcd"))), hex(H("0000002a abcd")));
    EXPECT_EQ(hex(response_message(42, 1, H("abcd"))), hex(H("0000002a 00 abcd")));
    const std::string frame = frame_response(7, 1, "");
    auto split = split_frame(frame);
    ASSERT_TRUE(split && split->has_value());
    reader r((*split)->frame);
    auto h = response_header::decode(r, 1);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->correlation_id, 7);
}

TEST(frame, frames_requests) {
    request_header h;
    h.request_api_key = 18;
    h.request_api_version = 3;
    h.correlation_id = 1;
    h.client_id = "rdkafka";
    auto f = frame_request(h, H("0100"));
    ASSERT_TRUE(f);
    EXPECT_EQ(*f, H("00000014 0012 0003 00000001 0007") + "rdkafka" + H("00 0100"));
    h.request_api_version = 2;  // header v1: no tagged fields
    auto g = frame_request(h, "");
    ASSERT_TRUE(g);
    EXPECT_EQ(*g, H("00000011 0012 0002 00000001 0007") + "rdkafka");
    h.request_api_key = 99;
    EXPECT_EQ(frame_request(h, "").code(), errc::unsupported_api);
}

}  // namespace
}  // namespace fjord::kafka
