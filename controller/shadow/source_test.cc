// File: controller/shadow/source_test.cc
//
// The source connection (source.h) at unit level: client options from a
// link's config, and the preflight and Metadata against an in-process
// fake Kafka broker on loopback that answers ApiVersions and Metadata from
// the codec (no fjord-broker: the end-to-end tests run the real one).

#include "controller/shadow/source.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "common/cluster/errc.h"
#include "common/kafka/api_keys.h"
#include "common/kafka/frame.h"
#include "common/kafka/messages/api_versions.h"
#include "common/kafka/messages/metadata.h"

namespace fjord::shadow {
namespace {

namespace k = fjord::kafka;
using cluster::errc;

/// A loopback Kafka broker that serves ApiVersions (the `apis` it is told)
/// and Metadata (`metadata`), one connection at a time.
class fake_kafka {
  public:
    std::map<int16_t, std::pair<int16_t, int16_t>> apis;
    k::metadata_response metadata;

    fake_kafka() {
        for (const required_api& a : required_apis()) {
            apis[a.key] = {0, a.max};
        }
        apis[static_cast<int16_t>(k::api_key::api_versions)] = {0, 3};
        metadata.cluster_id = "source-cluster";
        _fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(_fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        socklen_t len = sizeof a;
        ::getsockname(_fd, reinterpret_cast<sockaddr*>(&a), &len);
        _port = ntohs(a.sin_port);
        EXPECT_EQ(::listen(_fd, 4), 0);
        _thread = std::thread([this] { accept_loop(); });
    }
    ~fake_kafka() {
        ::shutdown(_fd, SHUT_RDWR);
        ::close(_fd);
        _thread.join();
    }
    std::string address() const { return fmt::format("127.0.0.1:{}", _port); }

  private:
    void accept_loop() {
        for (;;) {
            const int c = ::accept(_fd, nullptr, nullptr);
            if (c < 0) {
                return;
            }
            serve(c);
            ::close(c);
        }
    }
    void serve(int c) {
        std::string buf;
        char tmp[4096];
        for (;;) {
            const ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
            if (n <= 0) {
                return;
            }
            buf.append(tmp, static_cast<size_t>(n));
            for (;;) {
                auto split = k::split_frame(buf);
                if (!split || !*split) {
                    break;
                }
                auto req = k::parse_request((*split)->frame);
                if (!req) {
                    return;
                }
                k::writer w;
                const int16_t v = req->api_version();
                if (req->api_key() == static_cast<int16_t>(k::api_key::api_versions)) {
                    k::api_versions_response r;
                    for (const auto& [key, range] : apis) {
                        k::api_versions_response::api_version av;
                        av.api_key = key;
                        av.min_version = range.first;
                        av.max_version = range.second;
                        r.api_keys.push_back(av);
                    }
                    EXPECT_TRUE(r.encode(w, v));
                } else if (req->api_key() == static_cast<int16_t>(k::api_key::metadata)) {
                    EXPECT_TRUE(metadata.encode(w, v));
                } else {
                    return;
                }
                const std::string out = k::frame_response(
                    req->correlation_id(), k::response_header_version(*req->api, v), w.data());
                if (::send(c, out.data(), out.size(), MSG_NOSIGNAL) < 0) {
                    return;
                }
                buf.erase(0, (*split)->consumed);
            }
        }
    }

    int _fd = -1;
    int _port = 0;
    std::thread _thread;
};

/// A loopback port nothing listens on.
std::string closed_address() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return fmt::format("127.0.0.1:{}", ntohs(a.sin_port));
}

v1::ShadowLink link_to(std::vector<std::string> servers) {
    v1::ShadowLink l;
    l.set_name("dr");
    for (auto& s : servers) {
        l.mutable_config()->mutable_client_options()->add_bootstrap_servers(std::move(s));
    }
    return l;
}

TEST(source_test, client_options_follow_the_link) {
    v1::ShadowClientOptions o;
    auto c = make_client_options(o);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->timeout, std::chrono::milliseconds(1500));  // connect + fetch wait defaults
    EXPECT_FALSE(c->tls);
    EXPECT_TRUE(c->user.empty());

    o.set_connection_timeout_ms(2500);
    auto* scram = o.mutable_authentication_configuration()->mutable_scram_configuration();
    scram->set_username("alice");
    scram->set_password("secret");
    scram->set_scram_mechanism("SCRAM-SHA-512");
    c = make_client_options(o);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->timeout, std::chrono::milliseconds(3000));
    EXPECT_EQ(c->user, "alice");
    EXPECT_EQ(c->pass, "secret");
    EXPECT_EQ(c->sasl_mechanism, "SCRAM-SHA-512");

    auto* plain = o.mutable_authentication_configuration()->mutable_plain_configuration();
    plain->set_username("bob");
    plain->set_password("pw");
    c = make_client_options(o);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->user, "bob");
    EXPECT_EQ(c->sasl_mechanism, "PLAIN");

    // TLS with the system's CAs, SNI off.
    o.mutable_tls_settings()->set_enabled(true);
    o.mutable_tls_settings()->set_do_not_set_sni_hostname(true);
    c = make_client_options(o);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_TRUE(c->tls);
    EXPECT_FALSE(c->tls_sni);
}

TEST(source_test, tls_material_that_does_not_load_names_the_setting) {
    v1::ShadowClientOptions o;
    o.mutable_tls_settings()->set_enabled(true);
    o.mutable_tls_settings()->mutable_tls_file_settings()->set_ca_path("/nonexistent/ca.pem");
    auto c = make_client_options(o);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, errc::invalid_argument);
    EXPECT_EQ(c.error().field, "client_options.tls_settings.tls_file_settings.ca_path");
    EXPECT_NE(c.error().detail.find("/nonexistent/ca.pem"), std::string::npos) << c.error().detail;

    o.mutable_tls_settings()->clear_tls_file_settings();
    o.mutable_tls_settings()->mutable_tls_pem_settings()->set_ca("not a certificate");
    c = make_client_options(o);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().field, "client_options.tls_settings.tls_pem_settings.ca");
}

TEST(source_test, an_unreachable_source_is_named_with_every_server_tried) {
    const std::string a = closed_address();
    auto r = preflight(link_to({a}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::shadow_link_unreachable);
    EXPECT_EQ(r.error().detail, a + ": cannot connect: Connection refused");
    const std::string b = closed_address();
    r = preflight(link_to({a, b}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail,
              fmt::format("{}: cannot connect: Connection refused; {}: cannot connect: "
                          "Connection refused",
                          a, b));
}

TEST(source_test, preflight_checks_the_apis_and_the_cluster_id) {
    fake_kafka broker;
    // The first bootstrap server is down: the next one answers.
    v1::ShadowLink l = link_to({closed_address(), broker.address()});
    auto r = preflight(l);
    EXPECT_TRUE(r) << r.error().message();

    l.mutable_config()->mutable_client_options()->set_source_cluster_id("another");
    r = preflight(l);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::shadow_link_unreachable);
    EXPECT_EQ(r.error().field, "client_options.source_cluster_id");
    EXPECT_EQ(r.error().detail,
              fmt::format("client_options.source_cluster_id: the source {} is cluster "
                          "\"source-cluster\", not \"another\"",
                          broker.address()));
    l.mutable_config()->mutable_client_options()->set_source_cluster_id("source-cluster");
    EXPECT_TRUE(preflight(l));

    broker.apis[static_cast<int16_t>(k::api_key::fetch)] = {0, 3};
    r = preflight(l);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::shadow_link_unsupported_api);
    EXPECT_EQ(r.error().detail,
              fmt::format("the source {} does not serve Fetch v4-12 (it serves up to v3)",
                          broker.address()));
    broker.apis[static_cast<int16_t>(k::api_key::fetch)] = {0, 12};
    broker.apis.erase(static_cast<int16_t>(k::api_key::describe_acls));
    r = preflight(l);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, fmt::format("the source {} does not serve DescribeAcls (v1-3 "
                                            "needed)",
                                            broker.address()));
}

TEST(source_test, metadata_lists_topics_with_their_ids_and_replication) {
    fake_kafka broker;
    k::metadata_response::metadata_response_topic t;
    t.name = "orders";
    t.topic_id = k::uuid{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
    for (int32_t p = 0; p < 3; ++p) {
        k::metadata_response::metadata_response_partition part;
        part.partition_index = p;
        part.replica_nodes = {1, 2, 3};
        t.partitions.push_back(part);
    }
    broker.metadata.topics.push_back(t);
    k::metadata_response::metadata_response_topic electing;
    electing.name = "electing";
    electing.error_code = 5;  // LEADER_NOT_AVAILABLE: left out this time
    broker.metadata.topics.push_back(electing);

    auto c = connect(link_to({broker.address()}));
    ASSERT_TRUE(c) << c.error().message();
    auto md = (*c)->metadata();
    ASSERT_TRUE(md) << md.error().message();
    EXPECT_EQ(md->cluster_id, "source-cluster");
    ASSERT_EQ(md->topics.size(), 1u);
    const source_topic& o = md->topics.at("orders");
    EXPECT_EQ(o.partitions, 3);
    EXPECT_EQ(o.replication_factor, 3);
    EXPECT_EQ(o.id, "01234567-89ab-cdef-fedc-ba9876543210");
}

}  // namespace
}  // namespace fjord::shadow
