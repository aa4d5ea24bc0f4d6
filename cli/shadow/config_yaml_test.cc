// File: cli/shadow/config_yaml_test.cc
//
// The shadow link YAML codec (config_yaml.h): a full link survives render ->
// parse unchanged; rpk's file parses to the fields it names; every refusal
// names its path; durations, times, enum spellings, redaction and update's
// field mask.

#include "cli/shadow/config_yaml.h"

#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "common/cluster/shadow_link.h"

namespace fjord::cli::shadow {
namespace {

using google::protobuf::util::MessageDifferencer;

v1::ShadowLink full_link() {
    v1::ShadowLink l;
    l.set_name("dr-link");
    auto* c = l.mutable_config()->mutable_client_options();
    c->add_bootstrap_servers("10.0.0.1:9092");
    c->add_bootstrap_servers("source.example:19092");
    c->set_source_cluster_id("0b0e6a94-3c4e-4a2f-9a0c-6d1e8c2b7f10");
    auto* tls = c->mutable_tls_settings();
    tls->set_enabled(true);
    tls->set_do_not_set_sni_hostname(true);
    tls->mutable_tls_file_settings()->set_ca_path("/etc/fjord/ca.pem");
    tls->mutable_tls_file_settings()->set_cert_path("/etc/fjord/client.pem");
    tls->mutable_tls_file_settings()->set_key_path("/etc/fjord/client.key");
    auto* scram = c->mutable_authentication_configuration()->mutable_scram_configuration();
    scram->set_username("replicator");
    scram->set_password("s3cret: with # and \"quotes\"");
    scram->set_scram_mechanism("SCRAM-SHA-512");
    c->set_metadata_max_age_ms(5000);
    c->set_connection_timeout_ms(2000);
    c->set_retry_backoff_ms(250);
    c->set_fetch_wait_max_ms(100);
    c->set_fetch_min_bytes(1);
    c->set_fetch_max_bytes(1 << 20);
    c->set_fetch_partition_max_bytes(1 << 19);
    auto* t = l.mutable_config()->mutable_topic_metadata_sync_options();
    t->set_interval_ms(1000);
    t->set_paused(true);
    auto* f = t->add_auto_create_shadow_topic_filters();
    f->set_pattern_type(v1::SHADOW_PATTERN_LITERAL);
    f->set_filter_type(v1::SHADOW_FILTER_INCLUDE);
    f->set_name("*");
    f = t->add_auto_create_shadow_topic_filters();
    f->set_pattern_type(v1::SHADOW_PATTERN_PREFIX);
    f->set_filter_type(v1::SHADOW_FILTER_EXCLUDE);
    f->set_name("tmp-");
    t->add_synced_shadow_topic_properties("retention.ms");
    t->add_synced_shadow_topic_properties("segment.ms");
    t->set_exclude_default(true);
    t->set_start_at_timestamp_ms(1767323045123);
    auto* g = l.mutable_config()->mutable_consumer_offset_sync_options();
    g->set_interval_ms(90500);
    auto* gf = g->add_group_filters();
    gf->set_pattern_type(v1::SHADOW_PATTERN_PREFIX);
    gf->set_filter_type(v1::SHADOW_FILTER_INCLUDE);
    gf->set_name("app-");
    auto* s = l.mutable_config()->mutable_security_sync_options();
    s->set_interval_ms(3'600'000);
    auto* a = s->add_acl_filters();
    a->set_resource_type(v1::ACL_RESOURCE_TRANSACTIONAL_ID);
    a->set_pattern_type(v1::ACL_PATTERN_PREFIXED);
    a->set_resource_name("tx-");
    a->set_principal("User:alice");
    a->set_operation(v1::ACL_OPERATION_DELETE);
    a->set_permission(v1::ACL_PERMISSION_DENY);
    a->set_host("10.1.2.3");
    a = s->add_acl_filters();
    a->set_resource_type(v1::ACL_RESOURCE_ANY);
    a->set_pattern_type(v1::ACL_PATTERN_MATCH);
    a->set_operation(v1::ACL_OPERATION_ANY);
    a->set_permission(v1::ACL_PERMISSION_ANY);
    return l;
}

void expect_round_trip(const v1::ShadowLink& l) {
    const std::string text = render_link_yaml(l);
    auto back = parse_link_yaml(text);
    ASSERT_TRUE(back) << back.error().detail << "\n" << text;
    std::string diff;
    MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    EXPECT_TRUE(d.Compare(l, *back)) << diff << "\n" << text;
}

TEST(ShadowConfigYaml, FullLinkRoundTrips) {
    expect_round_trip(full_link());
    // The other forms of each oneof and of TLS.
    v1::ShadowLink l = full_link();
    auto* tls = l.mutable_config()->mutable_client_options()->mutable_tls_settings();
    tls->clear_tls_file_settings();
    tls->mutable_tls_pem_settings()->set_ca(
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    tls->mutable_tls_pem_settings()->set_key(
        "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
    auto* plain = l.mutable_config()
                      ->mutable_client_options()
                      ->mutable_authentication_configuration()
                      ->mutable_plain_configuration();
    plain->set_username("u");
    plain->set_password("p");
    l.mutable_config()->mutable_topic_metadata_sync_options()->set_start_at_latest(true);
    expect_round_trip(l);
    l.mutable_config()->mutable_topic_metadata_sync_options()->set_start_at_earliest(true);
    expect_round_trip(l);
    // A minimal link: no optional section at all.
    v1::ShadowLink m;
    m.set_name("m");
    m.mutable_config()->mutable_client_options()->add_bootstrap_servers("h:1");
    expect_round_trip(m);
}

TEST(ShadowConfigYaml, ReadsRpksFile) {
    auto l = parse_link_yaml(R"(
name: production-dr
client_options:
  bootstrap_servers: [a:9092, b:9092]
  tls_settings:
    enabled: true
    tls_pem_settings: {ca: "CA", key: "KEY", cert: "CERT"}
  authentication_configuration:
    scram_configuration: {username: u, password: p, scram_mechanism: SCRAM_SHA_256}
topic_metadata_sync_options:
  interval: 30s
  auto_create_shadow_topic_filters:
    - {pattern_type: PREFIXED, filter_type: include, name: orders-}
  synced_shadow_topic_properties: [retention.ms, segment.ms]
  start_at_timestamp: 2026-01-02T04:04:05.5+01:00
consumer_offset_sync_options:
  interval: 500ms
  paused: true
  group_filters: [{pattern_type: LITERAL, filter_type: INCLUDE, name: "*"}]
security_sync_options:
  acl_filters:
    - resource_filter: {resource_type: TXN_ID, pattern_type: PREFIX, name: ""}
      access_filter: {principal: "User:x", operation: REMOVE, permission_type: ALLOW, host: ""}
)");
    ASSERT_TRUE(l) << l.error().detail;
    const auto& c = l->config();
    EXPECT_EQ(l->name(), "production-dr");
    ASSERT_EQ(c.client_options().bootstrap_servers_size(), 2);
    EXPECT_EQ(c.client_options().tls_settings().tls_pem_settings().key(), "KEY");
    EXPECT_EQ(
        c.client_options().authentication_configuration().scram_configuration().scram_mechanism(),
        "SCRAM-SHA-256");
    const auto& t = c.topic_metadata_sync_options();
    EXPECT_EQ(t.interval_ms(), 30000);
    EXPECT_EQ(t.auto_create_shadow_topic_filters(0).pattern_type(), v1::SHADOW_PATTERN_PREFIX);
    EXPECT_EQ(t.auto_create_shadow_topic_filters(0).filter_type(), v1::SHADOW_FILTER_INCLUDE);
    EXPECT_EQ(t.start_at_timestamp_ms(), 1767323045500);
    EXPECT_EQ(c.consumer_offset_sync_options().interval_ms(), 500);
    EXPECT_TRUE(c.consumer_offset_sync_options().paused());
    const auto& a = c.security_sync_options().acl_filters(0);
    EXPECT_EQ(a.resource_type(), v1::ACL_RESOURCE_TRANSACTIONAL_ID);
    EXPECT_EQ(a.pattern_type(), v1::ACL_PATTERN_PREFIXED);
    EXPECT_FALSE(a.has_resource_name());  // empty: every name
    EXPECT_FALSE(a.has_host());
    EXPECT_EQ(a.principal(), "User:x");
    EXPECT_EQ(a.operation(), v1::ACL_OPERATION_DELETE);
    EXPECT_EQ(a.permission(), v1::ACL_PERMISSION_ALLOW);
    EXPECT_EQ(c.security_sync_options().interval_ms(), 0);  // the default
}

struct refusal {
    std::string yaml;
    std::string field;
    std::string says;  // a substring of the error
};

TEST(ShadowConfigYaml, RefusesNamingTheField) {
    const std::string head = "name: l\nclient_options:\n  bootstrap_servers: [h:1]\n";
    const std::vector<refusal> cases = {
        {head + "topic_metadata_sync_options:\n  intervall: 30s\n",
         "topic_metadata_sync_options.intervall", "unknown key (line 5)"},
        {"nme: l\n", "nme", "unknown key"},
        {head + "client_options2: {}\n", "client_options2", "unknown key"},
        {head + "cloud_options: {shadow_redpanda_id: x}\n", "cloud_options", "not supported"},
        {head + "schema_registry_sync_options: {shadow_schema_registry_topic: {}}\n",
         "schema_registry_sync_options", "not supported"},
        {head + "role_sync_options: {}\n", "role_sync_options", "not supported"},
        {"name: l\nclient_options:\n  bootstrap_servers: [h:1]\n  tls_settings:\n"
         "    tls_file_settings: {ca_path: /a}\n    tls_pem_settings: {ca: x}\n",
         "client_options.tls_settings.tls_pem_settings",
         "tls_file_settings and tls_pem_settings are mutually exclusive"},
        {"name: l\nclient_options:\n  authentication_configuration:\n"
         "    scram_configuration: {username: u}\n    plain_configuration: {username: u}\n",
         "client_options.authentication_configuration.plain_configuration",
         "scram_configuration and plain_configuration are mutually exclusive"},
        {head + "topic_metadata_sync_options:\n  start_at_earliest: {}\n  start_at_latest: {}\n",
         "topic_metadata_sync_options.start_at_latest", "start_at_earliest is already set"},
        {head + "topic_metadata_sync_options:\n  start_at_latest: {}\n"
                "  start_at_timestamp: 2026-01-01T00:00:00Z\n",
         "topic_metadata_sync_options.start_at_timestamp", "start_at_latest is already set"},
        {head + "topic_metadata_sync_options:\n  start_at_earliest: yes\n",
         "topic_metadata_sync_options.start_at_earliest", "expected {}"},
        {head + "topic_metadata_sync_options:\n  interval: 30 seconds\n",
         "topic_metadata_sync_options.interval", "is not a duration"},
        {head + "consumer_offset_sync_options:\n  interval: -1s\n",
         "consumer_offset_sync_options.interval", "is not a duration"},
        {head + "security_sync_options:\n  interval: 1.5s\n", "security_sync_options.interval",
         "is not a duration"},
        {head + "topic_metadata_sync_options:\n  auto_create_shadow_topic_filters:\n"
                "    - {pattern_type: GLOB, filter_type: INCLUDE, name: a}\n",
         "topic_metadata_sync_options.auto_create_shadow_topic_filters[0].pattern_type",
         "\"GLOB\" is not one of LITERAL, PREFIX"},
        {head + "consumer_offset_sync_options:\n  group_filters:\n"
                "    - {pattern_type: LITERAL, filter_type: ALLOW, name: a}\n",
         "consumer_offset_sync_options.group_filters[0].filter_type",
         "is not one of INCLUDE, EXCLUDE"},
        {head + "consumer_offset_sync_options:\n  group_filters:\n"
                "    - {pattern_type: LITERAL, filter_type: INCLUDE, nam: a}\n",
         "consumer_offset_sync_options.group_filters[0].nam", "unknown key"},
        {head + "consumer_offset_sync_options:\n  group_filters: {name: a}\n",
         "consumer_offset_sync_options.group_filters", "expected a list"},
        {"name: l\nclient_options:\n  authentication_configuration:\n"
         "    scram_configuration: {username: u, password: p, scram_mechanism: SCRAM-SHA-1}\n",
         "client_options.authentication_configuration.scram_configuration.scram_mechanism",
         "is not one of SCRAM-SHA-256, SCRAM-SHA-512"},
        {head + "security_sync_options:\n  acl_filters:\n"
                "    - resource_filter: {resource_type: SUBJECT}\n",
         "security_sync_options.acl_filters[0].resource_filter.resource_type",
         "SUBJECT is not supported: Fjord has no schema registry"},
        {head + "security_sync_options:\n  acl_filters:\n"
                "    - access_filter: {operation: EXPLODE}\n",
         "security_sync_options.acl_filters[0].access_filter.operation",
         "\"EXPLODE\" is not one of ANY, ALL, READ"},
        {head + "security_sync_options:\n  acl_filters:\n"
                "    - access_filter: {permission_type: MAYBE}\n",
         "security_sync_options.acl_filters[0].access_filter.permission_type",
         "is not one of ANY, ALLOW, DENY"},
        {head + "security_sync_options:\n  acl_filters:\n    - resource_filter: {type: TOPIC}\n",
         "security_sync_options.acl_filters[0].resource_filter.type", "unknown key"},
        {head + "topic_metadata_sync_options:\n  start_at_timestamp: yesterday\n",
         "topic_metadata_sync_options.start_at_timestamp", "is not an RFC 3339 time"},
        {head + "topic_metadata_sync_options:\n  start_at_timestamp: 2026-02-30T00:00:00Z\n",
         "topic_metadata_sync_options.start_at_timestamp", "day out of range"},
        {head + "topic_metadata_sync_options:\n  start_at_timestamp: 2026-02-03T00:00:00\n",
         "topic_metadata_sync_options.start_at_timestamp", "expected a zone"},
        {"name: l\nclient_options:\n  fetch_max_bytes: fast\n", "client_options.fetch_max_bytes",
         "\"fast\" is not a whole number"},
        {"name: l\nclient_options:\n  fetch_max_bytes: 3000000000\n",
         "client_options.fetch_max_bytes", "out of range"},
        {"name: l\nclient_options:\n  tls_settings: {enabled: yes please}\n",
         "client_options.tls_settings.enabled", "expected true or false"},
        {"name: l\nclient_options:\n  bootstrap_servers: h:1\n", "client_options.bootstrap_servers",
         "expected a list"},
        {"name: l\nclient_options:\n  bootstrap_servers: [[h, 1]]\n",
         "client_options.bootstrap_servers[0]", "expected a string"},
        {"name: l\nname: m\n", "name", "duplicate key"},
        {"name: [l]\n", "name", "expected a string"},
        {"", "name", "required"},
        {"- a\n- b\n", "", "expected a map"},
    };
    for (const auto& c : cases) {
        auto r = parse_link_yaml(c.yaml);
        ASSERT_FALSE(r) << c.yaml;
        EXPECT_EQ(r.error().field, c.field) << r.error().detail;
        EXPECT_NE(r.error().detail.find(c.says), std::string::npos)
            << r.error().detail << "\nwanted: " << c.says;
        if (!c.field.empty()) {
            EXPECT_EQ(r.error().detail.rfind(c.field + ": ", 0), 0u) << r.error().detail;
        }
    }
    auto broken = parse_link_yaml("name: [l\n");
    ASSERT_FALSE(broken);
    EXPECT_NE(broken.error().detail.find("not valid YAML"), std::string::npos);
}

TEST(ShadowConfigYaml, Durations) {
    const std::vector<std::pair<std::string, int64_t>> ok = {
        {"0", 0},        {"0s", 0},        {"30s", 30000},         {"500ms", 500}, {"1m", 60000},
        {"1h", 3600000}, {"1m30s", 90000}, {"1h2m3s4ms", 3723004}, {"90s", 90000}, {"1500ms", 1500},
    };
    for (const auto& [text, ms] : ok) {
        auto d = parse_duration_ms(text, "f");
        ASSERT_TRUE(d) << text;
        EXPECT_EQ(*d, ms) << text;
        auto again = parse_duration_ms(format_duration_ms(ms), "f");
        ASSERT_TRUE(again);
        EXPECT_EQ(*again, ms);
    }
    EXPECT_EQ(format_duration_ms(30000), "30s");
    EXPECT_EQ(format_duration_ms(90500), "1m30s500ms");
    EXPECT_EQ(format_duration_ms(0), "0s");
    for (const char* bad : {"", "s", "10", "1x", "1us", "-1s", "1.5s", "1 s", "m1"}) {
        auto d = parse_duration_ms(bad, "x.interval");
        ASSERT_FALSE(d) << bad;
        EXPECT_EQ(d.error().field, "x.interval");
    }
}

TEST(ShadowConfigYaml, Rfc3339) {
    auto t = parse_rfc3339_ms("2026-01-02T03:04:05Z", "f");
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, 1767323045000);
    EXPECT_EQ(format_rfc3339_ms(*t), "2026-01-02T03:04:05Z");
    EXPECT_EQ(*parse_rfc3339_ms("2026-01-02T05:04:05.123456+02:00", "f"), 1767323045123);
    EXPECT_EQ(*parse_rfc3339_ms("2024-02-29t00:00:00z", "f"), 1709164800000);
    EXPECT_EQ(format_rfc3339_ms(1709164800007), "2024-02-29T00:00:00.007Z");
    EXPECT_FALSE(parse_rfc3339_ms("2023-02-29T00:00:00Z", "f"));
    EXPECT_FALSE(parse_rfc3339_ms("1969-12-31T23:59:59Z", "f"));
    EXPECT_FALSE(parse_rfc3339_ms("2026-01-02T03:04:05Zjunk", "f"));
    EXPECT_FALSE(parse_rfc3339_ms("2026-01-02T24:00:00Z", "f"));
}

TEST(ShadowConfigYaml, RedactionForUpdate) {
    v1::ShadowLink l = full_link();
    auto* scram = l.mutable_config()
                      ->mutable_client_options()
                      ->mutable_authentication_configuration()
                      ->mutable_scram_configuration();
    // As the API returns it: no password, password_set.
    scram->clear_password();
    scram->set_password_set(true);
    scram->set_password_set_at_ms(1767323045000);
    const std::string shown = render_link_yaml(l, {.mark_redacted = true});
    EXPECT_NE(shown.find("password: \"<redacted>\""), std::string::npos) << shown;
    EXPECT_EQ(shown.find("password_set"), std::string::npos) << shown;
    auto back = parse_link_yaml(shown);
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(back->config()
                  .client_options()
                  .authentication_configuration()
                  .scram_configuration()
                  .password(),
              "");  // keep the stored one
    EXPECT_TRUE(changed_paths(l, *back).empty());

    // describe's output fields are accepted and ignored when fed back.
    const std::string described = render_link_yaml(l, {.output_fields = true});
    EXPECT_NE(described.find("password_set: true"), std::string::npos) << described;
    EXPECT_NE(described.find("password_set_at: \"2026-01-02T03:04:05Z\""), std::string::npos);
    EXPECT_EQ(described.find("<redacted>"), std::string::npos);
    EXPECT_TRUE(parse_link_yaml(described + "uid: x\nstate: ACTIVE\n"));
}

TEST(ShadowConfigYaml, ChangedPaths) {
    const v1::ShadowLink a = full_link();
    EXPECT_TRUE(changed_paths(a, a).empty());
    v1::ShadowLink b = a;
    b.mutable_config()->mutable_client_options()->add_bootstrap_servers("c:3");
    b.mutable_config()->mutable_consumer_offset_sync_options()->set_paused(true);
    b.mutable_config()->mutable_topic_metadata_sync_options()->set_start_at_earliest(true);
    EXPECT_EQ(changed_paths(a, b),
              (std::vector<std::string>{
                  "configurations.client_options.bootstrap_servers",
                  "configurations.consumer_offset_sync_options.paused",
                  "configurations.topic_metadata_sync_options.start_at_earliest",
                  "configurations.topic_metadata_sync_options.start_at_timestamp",
              }));
    v1::ShadowLink c = a;
    c.mutable_config()->clear_security_sync_options();
    const auto paths = changed_paths(a, c);
    ASSERT_FALSE(paths.empty());
    EXPECT_EQ(paths.front().rfind("configurations.security_sync_options.", 0), 0u);
}

TEST(ShadowConfigYaml, SampleAndTemplateParseAndValidate) {
    auto sample = parse_link_yaml(sample_config());
    ASSERT_TRUE(sample) << sample.error().detail;
    EXPECT_EQ(sample->name(), "sample-link");
    auto valid = cluster::shadow::validate_link(*sample);
    EXPECT_TRUE(valid) << valid.error().detail;
    auto tmpl = parse_link_yaml(config_template());
    ASSERT_TRUE(tmpl) << tmpl.error().detail;
    EXPECT_TRUE(tmpl->config().client_options().tls_settings().has_tls_file_settings());
    EXPECT_TRUE(tmpl->config().topic_metadata_sync_options().start_at_earliest());
}

}  // namespace
}  // namespace fjord::cli::shadow
