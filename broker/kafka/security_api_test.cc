// File: broker/kafka/security_api_test.cc
//
// Security through the dispatcher (dispatcher.h), with real credentials and
// a real authorizer: requests held until the controller's state is known;
// on a SASL listener only ApiVersions/SaslHandshake/SaslAuthenticate before
// authentication (anything else closes); SaslHandshake v1 + SaslAuthenticate
// and v0 + raw tokens; one answer for a wrong password and an unknown user,
// then the connection closed; an unsupported mechanism; and Kafka's
// operation table on the data path (Produce, Fetch, ListOffsets,
// DeleteRecords, Metadata, InitProducerId; the admin APIs are e2e cases), with nothing
// written on a denied request, CVE-2018-17196's transactional batch, an
// ACL change enforced on the next request of the same connection, and the
// SCRAM admin APIs' checks (Describe/AlterUserScramCredentials), and a TLS
// client certificate's identity: the principal where the listener has no
// SASL, never a way around SASL where it has.

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/fetch.h"
#include "broker/kafka/producer_ids.h"
#include "broker/security/security_snapshot.h"
#include "broker/storage/log_test_util.h"
#include "common/kafka/frame.h"
#include "common/kafka/messages/alter_user_scram_credentials.h"
#include "common/kafka/messages/api_versions.h"
#include "common/kafka/messages/delete_records.h"
#include "common/kafka/messages/describe_user_scram_credentials.h"
#include "common/kafka/messages/fetch.h"
#include "common/kafka/messages/init_producer_id.h"
#include "common/kafka/messages/list_offsets.h"
#include "common/kafka/messages/metadata.h"
#include "common/kafka/messages/produce.h"
#include "common/kafka/messages/sasl_authenticate.h"
#include "common/kafka/messages/sasl_handshake.h"
#include "common/kafka/record_batch.h"
#include "common/security/scram.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
namespace sec = fjord::security;
using std::string_literals::operator""s;
using storage::testing::make_batch;
using storage::testing::temp_dir;

v1::Topic topic(const std::string& name, const std::string& uuid) {
    v1::Topic t;
    t.set_name(name);
    t.set_uuid(uuid);
    t.set_replication_factor(1);
    auto* a = t.add_partitions();
    a->set_partition(0);
    a->add_replicas(1);
    a->set_leader(1);
    return t;
}

v1::AclBinding allow(v1::AclResourceType rt, const std::string& name, const std::string& who,
                     v1::AclOperation op) {
    v1::AclBinding b;
    b.set_resource_type(rt);
    b.set_resource_name(name);
    b.set_pattern_type(v1::ACL_PATTERN_LITERAL);
    b.set_principal(who);
    b.set_host("*");
    b.set_operation(op);
    b.set_permission(v1::ACL_PERMISSION_ALLOW);
    return b;
}

/// Users alice (SCRAM-SHA-256) and bob (SCRAM-SHA-512); SASL on, PLAIN and
/// SCRAM offered; alice may write and describe "t", bob nothing.
v1::WatchEvent snapshot() {
    v1::WatchEvent ev;
    auto* s = ev.mutable_snapshot();
    s->set_revision(10);
    s->set_cluster_uuid("cluster-1");
    *s->add_topics() = topic("t", "00000000-0000-4000-8000-000000000001");
    *s->add_topics() = topic("secret", "00000000-0000-4000-8000-000000000002");
    auto* b = s->add_brokers();
    b->set_id(1);
    auto* ep = b->add_endpoints();
    ep->set_name("kafka");
    ep->set_host("broker-1");
    ep->set_port(9092);
    for (auto [key, value] :
         {std::pair{"enable_sasl", "true"}, {"sasl_mechanisms", "SCRAM,PLAIN"}}) {
        auto* c = s->add_cluster_config();
        c->set_key(key);
        c->set_value(value);
    }
    for (auto [name, m] : {std::pair{"alice", sec::scram_mechanism::sha256},
                           std::pair{"bob", sec::scram_mechanism::sha512}}) {
        auto c = sec::make_scram_credential(m, std::string(name) + "-pw");
        EXPECT_TRUE(c);
        auto* u = s->add_users();
        u->set_name(name);
        u->mutable_credential()->set_mechanism(std::string(sec::to_string(m)));
        u->mutable_credential()->set_salt(c->salt);
        u->mutable_credential()->set_iterations(c->iterations);
        u->mutable_credential()->set_stored_key(c->stored_key);
        u->mutable_credential()->set_server_key(c->server_key);
    }
    *s->add_acls() = allow(v1::ACL_RESOURCE_TOPIC, "t", "User:alice", v1::ACL_OPERATION_WRITE);
    ev.set_revision_complete(true);
    return ev;
}

struct fixture {
    temp_dir dir;
    metadata_cache md;
    partition_manager pm{dir.path(), 1, partition_defaults{}};
    parked_fetches fetches{[](std::chrono::milliseconds, std::function<void()>) {}};
    security_state security;
    std::optional<producer_id_allocator> ids;
    std::unique_ptr<broker_services> services;
    std::unique_ptr<dispatcher> api;
    std::shared_ptr<session> conn = std::make_shared<session>(1, "127.0.0.1:5555");
    int32_t correlation = 1;

    explicit fixture(bool apply_state = true) {
        auto opened = producer_id_allocator::open(dir.path(), 1);
        EXPECT_TRUE(opened);
        ids = std::move(*opened);
        services = std::make_unique<broker_services>(broker_services{
            .me = {1, "broker-1", 9092, ""},
            .options = {},
            .md = md,
            .pm = pm,
            .fetches = fetches,
            .now = [] { return int64_t{1000}; },
            .producer_ids = &*ids,
            .security = &security,
        });
        api = std::make_unique<dispatcher>(*services);
        if (apply_state) {
            apply(snapshot());
        }
    }

    void apply(const v1::WatchEvent& ev) {
        ASSERT_TRUE(md.apply(ev));
        pm.reconcile(md, 1000);
        security.publish(security_snapshot::build(md));
        api->release_held();
    }
    /// The next revision, with one more ALLOW binding.
    void grant(const v1::AclBinding& b) {
        v1::WatchEvent ev;
        ev.mutable_delta()->set_revision(md.applied_revision() + 1);
        *ev.mutable_delta()->mutable_acl_created() = b;
        ev.set_revision_complete(true);
        apply(ev);
    }

    /// Sends raw frame bytes; the reply, if one came synchronously.
    std::optional<reply_t> send(std::string frame) {
        std::optional<reply_t> got;
        api->on_frame(conn, std::move(frame), [&got](reply_t r) { got = std::move(r); });
        return got;
    }
    template <typename Req>
    std::string frame(const Req& req, int16_t version) {
        kafka::writer body;
        EXPECT_TRUE(req.encode(body, version));
        kafka::request_header h;
        h.request_api_key = static_cast<int16_t>(Req::api);
        h.request_api_version = version;
        h.correlation_id = correlation++;
        h.client_id = "tester";
        auto framed = kafka::frame_request(h, body.data());
        EXPECT_TRUE(framed);
        return framed->substr(4);
    }
    template <typename Resp>
    static Resp decode(const reply_t& got, int16_t version) {
        kafka::reader r(got.bytes);
        EXPECT_TRUE(r.read_int32());  // correlation id
        if (kafka::response_header_version(*kafka::find_api(static_cast<int16_t>(Resp::api)),
                                           version) >= 1) {
            EXPECT_TRUE(r.read_unsigned_varint());
        }
        auto d = Resp::decode(r, version);
        EXPECT_TRUE(d) << d.error().message();
        return d ? *d : Resp{};
    }
    /// A request answered with a response (kind `want`); its decoded body.
    template <typename Resp, typename Req>
    Resp call(const Req& req, int16_t version, reply_t::kind want = reply_t::kind::response) {
        auto got = send(frame(req, version));
        EXPECT_TRUE(got.has_value());
        if (!got) {
            return Resp{};
        }
        EXPECT_EQ(static_cast<int>(got->what), static_cast<int>(want));
        return decode<Resp>(*got, version);
    }
    /// Logs in with SaslHandshake v1 + SaslAuthenticate PLAIN.
    void login_plain(const std::string& user, const std::string& password) {
        kafka::sasl_handshake_request hs;
        hs.mechanism = "PLAIN";
        EXPECT_EQ(call<kafka::sasl_handshake_response>(hs, 1).error_code, k::none);
        kafka::sasl_authenticate_request a;
        a.auth_bytes = "\0"s + user + "\0"s + password;
        EXPECT_EQ(call<kafka::sasl_authenticate_response>(a, 2).error_code, k::none);
        EXPECT_EQ(conn->principal(), "User:" + user);
    }
    int64_t log_end(const std::string& t) { return pm.find(t, 0)->log().log_end_offset().value(); }
};

kafka::init_producer_id_request idempotent() {
    kafka::init_producer_id_request r;
    r.transactional_id = std::nullopt;  // an idempotent producer
    return r;
}

kafka::produce_request produce(const std::string& t, std::string batch) {
    kafka::produce_request req;
    req.acks = 1;
    req.timeout_ms = 1000;
    kafka::produce_request::topic_produce_data td;
    td.name = t;
    kafka::produce_request::partition_produce_data pd;
    pd.index = 0;
    pd.records = std::move(batch);
    td.partition_data.push_back(std::move(pd));
    req.topic_data.push_back(std::move(td));
    return req;
}

TEST(security_api, requests_wait_for_the_controllers_state_in_order) {
    fixture f(/*apply_state=*/false);
    std::vector<reply_t> replies;
    for (int i = 0; i < 2; ++i) {
        f.api->on_frame(f.conn, f.frame(kafka::api_versions_request{}, 0),
                        [&](reply_t r) { replies.push_back(std::move(r)); });
    }
    EXPECT_TRUE(replies.empty());
    EXPECT_EQ(f.api->held(), 2u);
    f.apply(snapshot());
    ASSERT_EQ(replies.size(), 2u);
    EXPECT_EQ(f.api->held(), 0u);
    EXPECT_EQ(fixture::decode<kafka::api_versions_response>(replies[0], 0).error_code, k::none);
}

TEST(security_api, only_sasl_apis_before_authentication) {
    fixture f;
    EXPECT_EQ(f.call<kafka::api_versions_response>(kafka::api_versions_request{}, 3).error_code,
              k::none);
    auto got = f.send(f.frame(kafka::metadata_request{}, 1));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->what, reply_t::kind::close);
}

TEST(security_api, plain_login_then_only_describable_topics) {
    fixture f;
    f.login_plain("alice", "alice-pw");
    kafka::metadata_request all;
    all.topics = std::nullopt;
    auto md = f.call<kafka::metadata_response>(all, 1);
    ASSERT_EQ(md.topics.size(), 1u);  // "t" (WRITE implies DESCRIBE), not "secret"
    EXPECT_EQ(md.topics[0].name, "t");
    kafka::metadata_request named;
    named.topics.emplace();
    named.topics->push_back({});
    named.topics->back().name = "secret";
    md = f.call<kafka::metadata_response>(named, 1);
    ASSERT_EQ(md.topics.size(), 1u);
    EXPECT_EQ(md.topics[0].error_code, k::topic_authorization_failed);
    // A second handshake after authentication: ILLEGAL_SASL_STATE, kept open.
    kafka::sasl_handshake_request hs;
    hs.mechanism = "PLAIN";
    EXPECT_EQ(f.call<kafka::sasl_handshake_response>(hs, 1).error_code, k::illegal_sasl_state);
}

TEST(security_api, wrong_password_and_unknown_user_get_one_answer_and_a_close) {
    std::vector<std::optional<std::string>> messages;
    for (auto [user, pw] : {std::pair{"alice", "wrong"}, std::pair{"nobody", "wrong"}}) {
        fixture f;
        kafka::sasl_handshake_request hs;
        hs.mechanism = "PLAIN";
        f.call<kafka::sasl_handshake_response>(hs, 1);
        kafka::sasl_authenticate_request a;
        a.auth_bytes = "\0"s + user + "\0"s + pw;
        auto resp =
            f.call<kafka::sasl_authenticate_response>(a, 1, reply_t::kind::response_then_close);
        EXPECT_EQ(resp.error_code, k::sasl_authentication_failed);
        EXPECT_FALSE(f.conn->authenticated());
        EXPECT_EQ(f.conn->principal(), "User:ANONYMOUS");
        messages.push_back(resp.error_message);
    }
    EXPECT_EQ(messages[0], messages[1]);
}

TEST(security_api, unsupported_mechanism_lists_the_offered_ones_and_closes) {
    fixture f;
    kafka::sasl_handshake_request hs;
    hs.mechanism = "GSSAPI";
    auto resp = f.call<kafka::sasl_handshake_response>(hs, 1, reply_t::kind::response_then_close);
    EXPECT_EQ(resp.error_code, k::unsupported_sasl_mechanism);
    EXPECT_EQ(resp.mechanisms,
              (std::vector<std::string>{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}));
}

TEST(security_api, handshake_v0_then_raw_scram_tokens) {
    fixture f;
    kafka::sasl_handshake_request hs;
    hs.mechanism = "SCRAM-SHA-512";
    EXPECT_EQ(f.call<kafka::sasl_handshake_response>(hs, 0).error_code, k::none);
    sec::scram_client client(sec::scram_mechanism::sha512);
    auto first = f.send(client.client_first("bob"));
    ASSERT_TRUE(first && first->what == reply_t::kind::response);
    auto final_message = client.client_final(first->bytes, "bob-pw");
    ASSERT_TRUE(final_message);
    auto last = f.send(*final_message);
    ASSERT_TRUE(last && last->what == reply_t::kind::response);
    EXPECT_TRUE(client.verify_server_final(last->bytes));
    EXPECT_EQ(f.conn->principal(), "User:bob");
    // Framed requests again from here.
    EXPECT_EQ(f.call<kafka::api_versions_response>(kafka::api_versions_request{}, 0).error_code,
              k::none);
}

TEST(security_api, a_raw_plain_token_that_fails_closes_without_an_answer) {
    fixture f;
    kafka::sasl_handshake_request hs;
    hs.mechanism = "PLAIN";
    f.call<kafka::sasl_handshake_response>(hs, 0);
    auto got = f.send("alice\0alice\0nope"s);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->what, reply_t::kind::close);
}

TEST(security_api, denied_requests_write_nothing_and_get_kafkas_codes) {
    fixture f;
    f.login_plain("bob", "bob-pw");
    auto p = f.call<kafka::produce_response>(produce("t", make_batch(1, 1000)), 7);
    EXPECT_EQ(p.responses[0].partition_responses[0].error_code, k::topic_authorization_failed);
    EXPECT_EQ(f.log_end("t"), 0);

    kafka::fetch_request fr;
    fr.max_wait_ms = 500;
    fr.max_bytes = 1 << 20;
    fr.topics.push_back({});
    fr.topics[0].topic = "t";
    fr.topics[0].partitions.push_back({});
    fr.topics[0].partitions[0].partition_max_bytes = 1 << 20;
    // Nothing readable: answered at once, not parked.
    auto fetched = f.call<kafka::fetch_response>(fr, 11);
    EXPECT_EQ(fetched.responses[0].partitions[0].error_code, k::topic_authorization_failed);

    kafka::list_offsets_request lo;
    lo.topics.push_back({});
    lo.topics[0].name = "t";
    lo.topics[0].partitions.push_back({});
    lo.topics[0].partitions[0].timestamp = -1;
    EXPECT_EQ(f.call<kafka::list_offsets_response>(lo, 1).topics[0].partitions[0].error_code,
              k::topic_authorization_failed);

    kafka::delete_records_request dr;
    dr.topics.push_back({});
    dr.topics[0].name = "t";
    dr.topics[0].partitions.push_back({0, 0, {}});
    EXPECT_EQ(f.call<kafka::delete_records_response>(dr, 2).topics[0].partitions[0].error_code,
              k::topic_authorization_failed);

    EXPECT_EQ(f.call<kafka::init_producer_id_response>(idempotent(), 4).error_code,
              k::cluster_authorization_failed);
}

TEST(security_api, an_acl_change_applies_to_the_next_request_without_reconnecting) {
    fixture f;
    f.login_plain("bob", "bob-pw");
    auto p = f.call<kafka::produce_response>(produce("t", make_batch(1, 1000)), 7);
    EXPECT_EQ(p.responses[0].partition_responses[0].error_code, k::topic_authorization_failed);
    f.grant(allow(v1::ACL_RESOURCE_TOPIC, "t", "User:bob", v1::ACL_OPERATION_WRITE));
    p = f.call<kafka::produce_response>(produce("t", make_batch(1, 1000)), 7);
    EXPECT_EQ(p.responses[0].partition_responses[0].error_code, k::none);
    EXPECT_EQ(f.log_end("t"), 1);
    // WRITE on a topic is enough for an idempotent producer's id (KIP-679).
    auto id = f.call<kafka::init_producer_id_response>(idempotent(), 4);
    EXPECT_EQ(id.error_code, k::none);
}

TEST(security_api, a_client_certificate_names_the_principal_only_where_sasl_is_not_required) {
    // SASL_SSL: a verified certificate does not stand in for a login...
    {
        fixture f;
        f.conn->set_certificate_identity("CN=alice", "alice");
        auto got = f.send(f.frame(kafka::metadata_request{}, 1));
        ASSERT_TRUE(got);
        EXPECT_EQ(got->what, reply_t::kind::close);
    }
    // ...and the SASL user, not the certificate's, is who asks afterwards.
    {
        fixture f;
        f.conn->set_certificate_identity("CN=alice", "alice");
        f.login_plain("bob", "bob-pw");
        auto p = f.call<kafka::produce_response>(produce("t", make_batch(1, 1000)), 7);
        EXPECT_EQ(p.responses[0].partition_responses[0].error_code, k::topic_authorization_failed);
        EXPECT_EQ(f.log_end("t"), 0);
    }
    // SSL with client authentication (no SASL on this listener, ACLs on):
    // the certificate's user is the principal ACLs decide on.
    fixture f;
    f.services->options.require_sasl = false;
    f.conn->set_certificate_identity("CN=alice,O=Example", "alice");
    EXPECT_EQ(f.conn->principal(), "User:alice");
    EXPECT_FALSE(f.conn->authenticated());
    auto p = f.call<kafka::produce_response>(produce("t", make_batch(1, 1000)), 7);
    EXPECT_EQ(p.responses[0].partition_responses[0].error_code, k::none);
    EXPECT_EQ(f.log_end("t"), 1);
    f.conn = std::make_shared<session>(2, "127.0.0.1:5556");
    f.conn->set_certificate_identity("CN=mallory,O=Example", "mallory");
    p = f.call<kafka::produce_response>(produce("t", make_batch(1, 1000)), 7);
    EXPECT_EQ(p.responses[0].partition_responses[0].error_code, k::topic_authorization_failed);
    // No certificate: anonymous, refused too.
    f.conn = std::make_shared<session>(3, "127.0.0.1:5557");
    p = f.call<kafka::produce_response>(produce("t", make_batch(1, 1000)), 7);
    EXPECT_EQ(p.responses[0].partition_responses[0].error_code, k::topic_authorization_failed);
    EXPECT_EQ(f.log_end("t"), 1);
}

TEST(security_api, a_transactional_batch_needs_write_on_its_transactional_id) {
    // CVE-2018-17196: the batch says transactional, the request names no
    // transactional id; alice may write the topic, not the transaction.
    fixture f;
    f.login_plain("alice", "alice-pw");
    std::string batch = make_batch(1, 1000);
    kafka::write_batch_field(batch, kafka::batch_field::attributes, 0x10);
    kafka::write_batch_field(batch, kafka::batch_field::producer_id, 7);
    kafka::write_batch_field(batch, kafka::batch_field::producer_epoch, 0);
    kafka::write_batch_field(batch, kafka::batch_field::base_sequence, 0);
    kafka::update_record_batch_crc(batch);
    auto p = f.call<kafka::produce_response>(produce("t", batch), 7);
    EXPECT_EQ(p.responses[0].partition_responses[0].error_code,
              k::transactional_id_authorization_failed);
    EXPECT_EQ(f.log_end("t"), 0);
}

TEST(security_api, scram_credentials_are_described_without_keys_and_checked_before_altering) {
    fixture f;
    f.login_plain("bob", "bob-pw");
    using describe_req = kafka::describe_user_scram_credentials_request;
    using describe_resp = kafka::describe_user_scram_credentials_response;
    describe_req all;
    all.users = std::nullopt;
    EXPECT_EQ(f.call<describe_resp>(all, 0).error_code, k::cluster_authorization_failed);
    f.grant(
        allow(v1::ACL_RESOURCE_CLUSTER, "kafka-cluster", "User:bob", v1::ACL_OPERATION_DESCRIBE));
    auto d = f.call<describe_resp>(all, 0);
    ASSERT_EQ(d.error_code, k::none);
    ASSERT_EQ(d.results.size(), 2u);
    EXPECT_EQ(d.results[0].user, "alice");
    ASSERT_EQ(d.results[0].credential_infos.size(), 1u);
    EXPECT_EQ(d.results[0].credential_infos[0].mechanism, 1);  // SCRAM-SHA-256
    EXPECT_EQ(d.results[0].credential_infos[0].iterations, 4096);
    EXPECT_EQ(d.results[1].credential_infos[0].mechanism, 2);  // SCRAM-SHA-512
    describe_req named;
    named.users = {{"alice", {}}, {"nobody", {}}, {"bob", {}}, {"bob", {}}};
    d = f.call<describe_resp>(named, 0);
    ASSERT_EQ(d.results.size(), 4u);
    EXPECT_EQ(d.results[0].error_code, k::none);
    EXPECT_EQ(d.results[1].error_code, k::resource_not_found);
    EXPECT_EQ(d.results[2].error_code, k::duplicate_resource);

    // Altering needs ALTER on the cluster; malformed entries are refused
    // here, before the controller is asked (this fixture has none).
    using alter_req = kafka::alter_user_scram_credentials_request;
    using alter_resp = kafka::alter_user_scram_credentials_response;
    alter_req a;
    a.upsertions.push_back({"carol", 1, 4096, "salt", std::string(32, 'x'), {}});
    EXPECT_EQ(f.call<alter_resp>(a, 0).results[0].error_code, k::cluster_authorization_failed);
    f.grant(allow(v1::ACL_RESOURCE_CLUSTER, "kafka-cluster", "User:bob", v1::ACL_OPERATION_ALTER));
    alter_req bad;
    bad.upsertions.push_back({"carol", 3, 4096, "salt", std::string(32, 'x'), {}});
    bad.upsertions.push_back({"dave", 2, 4096, "salt", std::string(32, 'x'), {}});
    bad.upsertions.push_back({"erin", 1, 100, "salt", std::string(32, 'x'), {}});
    bad.upsertions.push_back({"a,b", 1, 4096, "salt", std::string(32, 'x'), {}});
    bad.deletions.push_back({"frank", 1, {}});
    bad.deletions.push_back({"alice", 2, {}});  // alice's is SCRAM-SHA-256
    auto r = f.call<alter_resp>(bad, 0);
    ASSERT_EQ(r.results.size(), 6u);
    std::map<std::string, int16_t> codes;
    for (const auto& x : r.results) {
        codes[x.user] = x.error_code;
    }
    EXPECT_EQ(codes["carol"], k::unsupported_sasl_mechanism);
    EXPECT_EQ(codes["dave"], k::unacceptable_credential);  // 32 bytes for SHA-512
    EXPECT_EQ(codes["erin"], k::unacceptable_credential);  // iterations
    EXPECT_EQ(codes["a,b"], k::unacceptable_credential);   // not a SASLname
    EXPECT_EQ(codes["frank"], k::resource_not_found);
    EXPECT_EQ(codes["alice"], k::resource_not_found);
}

}  // namespace
}  // namespace fjord::broker
