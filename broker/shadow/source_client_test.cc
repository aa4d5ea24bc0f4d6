// File: broker/shadow/source_client_test.cc
//
// A link's client_options as connection settings (source_client.h).

#include "broker/shadow/source_client.h"

#include <gtest/gtest.h>

namespace fjord::broker::shadow {
namespace {

TEST(source_client, tunables_sasl_and_tls) {
    v1::ShadowClientOptions o;
    o.add_bootstrap_servers("127.0.0.1:9092");
    auto plain = source_client_options(o, "fjord-shadow-dr");
    ASSERT_TRUE(plain) << plain.error().message();
    EXPECT_FALSE(plain->tls);
    EXPECT_TRUE(plain->user.empty());
    EXPECT_EQ(plain->client_id, "fjord-shadow-dr");
    // The long poll (500 ms by default) fits in the timeout.
    EXPECT_GE(plain->timeout.count(), 5500);

    auto* scram = o.mutable_authentication_configuration()->mutable_scram_configuration();
    scram->set_username("alice");
    scram->set_password("secret");
    scram->set_scram_mechanism("SCRAM-SHA-512");
    o.mutable_tls_settings()->set_enabled(true);
    o.mutable_tls_settings()->set_do_not_set_sni_hostname(true);
    auto secured = source_client_options(o, "c");
    ASSERT_TRUE(secured) << secured.error().message();
    EXPECT_EQ(secured->user, "alice");
    EXPECT_EQ(secured->pass, "secret");
    EXPECT_EQ(secured->sasl_mechanism, "SCRAM-SHA-512");
    ASSERT_TRUE(secured->tls);  // the system's CAs
    EXPECT_TRUE(secured->tls->ca_pem.empty());
    EXPECT_FALSE(secured->tls_sni);

    auto* pl = o.mutable_authentication_configuration()->mutable_plain_configuration();
    pl->set_username("bob");
    pl->set_password("pw");
    auto plain_sasl = source_client_options(o, "c");
    ASSERT_TRUE(plain_sasl);
    EXPECT_EQ(plain_sasl->sasl_mechanism, "PLAIN");
    EXPECT_EQ(plain_sasl->user, "bob");
}

TEST(source_client, bad_tls_material_names_the_field) {
    v1::ShadowClientOptions o;
    o.mutable_tls_settings()->set_enabled(true);
    o.mutable_tls_settings()->mutable_tls_pem_settings()->set_ca("not a certificate");
    auto r = source_client_options(o, "c");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("client_options.tls_settings.tls_pem_settings"),
              std::string::npos)
        << r.error().message();
    o.mutable_tls_settings()->clear_tls_pem_settings();
    o.mutable_tls_settings()->mutable_tls_file_settings()->set_ca_path("/nonexistent/ca.pem");
    r = source_client_options(o, "c");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("client_options.tls_settings.tls_file_settings"),
              std::string::npos)
        << r.error().message();
}

}  // namespace
}  // namespace fjord::broker::shadow
