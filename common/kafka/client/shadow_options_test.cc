// File: common/kafka/client/shadow_options_test.cc
//
// A shadow link's client_options as wire_client's: defaults, SASL forms,
// TLS from PEM (checked) and from files (read), errors naming the field.

#include "common/kafka/client/shadow_options.h"

#include <gtest/gtest.h>

#include "common/tls/cert_gen.h"

namespace fjord::kafka::client {
namespace {

namespace v1 = fjord::controller::v1;

v1::ShadowClientOptions base() {
    v1::ShadowClientOptions o;
    o.add_bootstrap_servers("127.0.0.1:9092");
    return o;
}

TEST(shadow_options, plaintext_without_sasl_and_the_default_timeout) {
    auto o = client_options_for(base(), "fjord-shadow-dr");
    ASSERT_TRUE(o) << o.error().detail;
    EXPECT_FALSE(o->tls);
    EXPECT_TRUE(o->user.empty());
    EXPECT_EQ(o->client_id, "fjord-shadow-dr");
    // connection_timeout_ms 1000 + fetch_wait_max_ms 500 (their defaults).
    EXPECT_EQ(o->timeout, std::chrono::milliseconds(1500));
    auto c = base();
    c.set_connection_timeout_ms(3000);
    c.set_fetch_wait_max_ms(100);
    EXPECT_EQ(client_options_for(c)->timeout, std::chrono::milliseconds(3100));
}

TEST(shadow_options, scram_and_plain) {
    auto c = base();
    auto* s = c.mutable_authentication_configuration()->mutable_scram_configuration();
    s->set_username("alice");
    s->set_password("secret");
    s->set_scram_mechanism("SCRAM-SHA-512");
    auto o = client_options_for(c);
    ASSERT_TRUE(o) << o.error().detail;
    EXPECT_EQ(o->user, "alice");
    EXPECT_EQ(o->pass, "secret");
    EXPECT_EQ(o->sasl_mechanism, "SCRAM-SHA-512");

    s->set_scram_mechanism("MD5");
    auto bad = client_options_for(c);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().detail.find("scram_configuration.scram_mechanism"), std::string::npos);

    auto p = base();
    auto* plain = p.mutable_authentication_configuration()->mutable_plain_configuration();
    plain->set_username("bob");
    plain->set_password("pw");
    o = client_options_for(p);
    ASSERT_TRUE(o) << o.error().detail;
    EXPECT_EQ(o->sasl_mechanism, "PLAIN");
    EXPECT_EQ(o->user, "bob");
}

TEST(shadow_options, tls_from_pem_files_or_the_system) {
    tls::cert_request ca_req;
    ca_req.common_name = "ca";
    auto ca = tls::make_ca(ca_req);
    ASSERT_TRUE(ca);
    tls::cert_request client_req;
    client_req.common_name = "shadow";
    auto client = tls::issue(*ca, client_req);
    ASSERT_TRUE(client);

    auto c = base();
    c.mutable_tls_settings()->set_enabled(true);
    auto o = client_options_for(c);  // no material: the system's CAs
    ASSERT_TRUE(o) << o.error().detail;
    ASSERT_TRUE(o->tls);
    EXPECT_TRUE(o->tls->ca_pem.empty());
    EXPECT_TRUE(o->tls_sni);

    c.mutable_tls_settings()->set_do_not_set_sni_hostname(true);
    auto* pem = c.mutable_tls_settings()->mutable_tls_pem_settings();
    pem->set_ca(ca->cert_pem);
    pem->set_key(client->key_pem);
    pem->set_cert(client->cert_pem);
    o = client_options_for(c);
    ASSERT_TRUE(o) << o.error().detail;
    ASSERT_TRUE(o->tls);
    EXPECT_EQ(o->tls->ca_pem, ca->cert_pem);
    EXPECT_FALSE(o->tls_sni);

    pem->set_ca("not a certificate");
    auto bad = client_options_for(c);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().detail.find("tls_settings.tls_pem_settings"), std::string::npos);

    auto f = base();
    f.mutable_tls_settings()->set_enabled(true);
    f.mutable_tls_settings()->mutable_tls_file_settings()->set_ca_path("/nonexistent/ca.pem");
    bad = client_options_for(f);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().detail.find("tls_settings.tls_file_settings"), std::string::npos);
}

}  // namespace
}  // namespace fjord::kafka::client
