// File: common/cluster/shadow_link_test.cc
//
// The shadow-link rules every side reads (shadow_link.h): validation with
// the field named, §10.3's filter order, §10.2's synced properties and
// §10.5's transitions.

#include "common/cluster/shadow_link.h"

#include <gtest/gtest.h>

#include "common/cluster/errc.h"

namespace fjord::cluster::shadow {
namespace {

v1::ShadowNameFilter filter(v1::ShadowPatternType p, v1::ShadowFilterType t, std::string name) {
    v1::ShadowNameFilter f;
    f.set_pattern_type(p);
    f.set_filter_type(t);
    f.set_name(std::move(name));
    return f;
}

v1::ShadowLink good_link() {
    v1::ShadowLink l;
    l.set_name("dr-1");
    auto* c = l.mutable_config()->mutable_client_options();
    c->add_bootstrap_servers("127.0.0.1:9092");
    *l.mutable_config()
         ->mutable_topic_metadata_sync_options()
         ->add_auto_create_shadow_topic_filters() =
        filter(v1::SHADOW_PATTERN_LITERAL, v1::SHADOW_FILTER_INCLUDE, "*");
    return l;
}

std::string field_of(const result<void>& r) {
    return r ? "" : r.error().field;
}

TEST(shadow_link, a_good_link_passes) {
    EXPECT_TRUE(validate_link(good_link()));
}

TEST(shadow_link, each_fault_names_its_field) {
    auto l = good_link();
    l.set_name("");
    EXPECT_EQ(field_of(validate_link(l)), "name");
    l = good_link();
    l.set_name("a/b");
    EXPECT_EQ(field_of(validate_link(l)), "name");

    l = good_link();
    l.mutable_config()->mutable_client_options()->clear_bootstrap_servers();
    EXPECT_EQ(field_of(validate_link(l)), "client_options.bootstrap_servers");
    l.mutable_config()->mutable_client_options()->add_bootstrap_servers("h:1");
    l.mutable_config()->mutable_client_options()->add_bootstrap_servers("nohost");
    EXPECT_EQ(field_of(validate_link(l)), "client_options.bootstrap_servers[1]");

    l = good_link();
    auto* tls = l.mutable_config()->mutable_client_options()->mutable_tls_settings();
    tls->set_enabled(true);
    tls->mutable_tls_file_settings()->set_ca_path("/ca");
    tls->mutable_tls_pem_settings()->set_ca("pem");
    EXPECT_EQ(field_of(validate_link(l)), "client_options.tls_settings");
    tls->clear_tls_pem_settings();
    tls->mutable_tls_file_settings()->set_key_path("/k");
    EXPECT_EQ(field_of(validate_link(l)), "client_options.tls_settings.tls_file_settings");

    l = good_link();
    auto* scram = l.mutable_config()
                      ->mutable_client_options()
                      ->mutable_authentication_configuration()
                      ->mutable_scram_configuration();
    scram->set_username("u");
    scram->set_password("p");
    scram->set_scram_mechanism("SCRAM-SHA-1");
    EXPECT_EQ(field_of(validate_link(l)),
              "client_options.authentication_configuration.scram_configuration.scram_mechanism");
    scram->set_scram_mechanism("SCRAM-SHA-512");
    EXPECT_TRUE(validate_link(l));
    scram->clear_password();
    EXPECT_EQ(field_of(validate_link(l)),
              "client_options.authentication_configuration.scram_configuration.password");
    // An update keeps the stored password.
    scram->set_password_set(true);
    EXPECT_TRUE(validate_link(l, true));

    l = good_link();
    l.mutable_config()->mutable_client_options()->set_fetch_min_bytes(30 << 20);
    EXPECT_EQ(field_of(validate_link(l)), "client_options.fetch_min_bytes");
    l = good_link();
    l.mutable_config()->mutable_client_options()->set_retry_backoff_ms(-1);
    EXPECT_EQ(field_of(validate_link(l)), "client_options.retry_backoff_ms");

    l = good_link();
    l.mutable_config()->mutable_topic_metadata_sync_options()->add_synced_shadow_topic_properties(
        "redpanda.remote.readreplica");
    EXPECT_EQ(field_of(validate_link(l)),
              "topic_metadata_sync_options.synced_shadow_topic_properties[0]");
    l = good_link();
    l.mutable_config()->mutable_topic_metadata_sync_options()->add_synced_shadow_topic_properties(
        "retenton.ms");
    EXPECT_EQ(field_of(validate_link(l)),
              "topic_metadata_sync_options.synced_shadow_topic_properties[0]");
    l = good_link();
    l.mutable_config()->mutable_client_options()->set_connection_timeout_ms(10000000);
    EXPECT_EQ(field_of(validate_link(l)), "client_options.connection_timeout_ms");
    l = good_link();
    l.mutable_config()->mutable_consumer_offset_sync_options()->set_interval_ms(5);
    EXPECT_EQ(field_of(validate_link(l)), "consumer_offset_sync_options.interval");
    l = good_link();
    l.mutable_config()->mutable_security_sync_options()->add_acl_filters()->set_principal("alice");
    EXPECT_EQ(field_of(validate_link(l)),
              "security_sync_options.acl_filters[0].access_filter.principal");
}

TEST(shadow_link, name_filters_are_checked) {
    const auto topic = filter_kind::topic;
    EXPECT_TRUE(check_name_filter(
        filter(v1::SHADOW_PATTERN_LITERAL, v1::SHADOW_FILTER_INCLUDE, "*"), topic, "f"));
    EXPECT_EQ(field_of(check_name_filter(
                  filter(v1::SHADOW_PATTERN_PREFIX, v1::SHADOW_FILTER_INCLUDE, "*"), topic, "f")),
              "f.pattern_type");
    EXPECT_EQ(field_of(check_name_filter(
                  filter(v1::SHADOW_PATTERN_LITERAL, v1::SHADOW_FILTER_INCLUDE, "a*"), topic, "f")),
              "f.name");
    EXPECT_EQ(field_of(check_name_filter(filter(v1::SHADOW_PATTERN_LITERAL,
                                                v1::SHADOW_FILTER_INCLUDE, "__consumer_offsets"),
                                         topic, "f")),
              "f.name");
    EXPECT_EQ(
        field_of(check_name_filter(
            filter(v1::SHADOW_PATTERN_PREFIX, v1::SHADOW_FILTER_INCLUDE, "_red"), topic, "f")),
        "f.name");
    EXPECT_EQ(field_of(check_name_filter(
                  filter(v1::SHADOW_PATTERN_PREFIX, v1::SHADOW_FILTER_INCLUDE, "_redpanda.x"),
                  topic, "f")),
              "f.name");
    EXPECT_EQ(field_of(check_name_filter(
                  filter(v1::SHADOW_PATTERN_TYPE_UNSPECIFIED, v1::SHADOW_FILTER_INCLUDE, "a"),
                  topic, "f")),
              "f.pattern_type");
    // Groups have no system names.
    EXPECT_TRUE(
        check_name_filter(filter(v1::SHADOW_PATTERN_PREFIX, v1::SHADOW_FILTER_INCLUDE, "_redpanda"),
                          filter_kind::group, "f"));
}

TEST(shadow_link, exclude_wins_first_include_decides_no_match_excludes) {
    google::protobuf::RepeatedPtrField<v1::ShadowNameFilter> fs;
    *fs.Add() = filter(v1::SHADOW_PATTERN_PREFIX, v1::SHADOW_FILTER_INCLUDE, "orders");
    *fs.Add() = filter(v1::SHADOW_PATTERN_LITERAL, v1::SHADOW_FILTER_EXCLUDE, "orders.tmp");
    EXPECT_TRUE(passes(fs, "orders.eu", filter_kind::topic));
    EXPECT_FALSE(passes(fs, "orders.tmp", filter_kind::topic));
    EXPECT_FALSE(passes(fs, "payments", filter_kind::topic));
    *fs.Add() = filter(v1::SHADOW_PATTERN_LITERAL, v1::SHADOW_FILTER_INCLUDE, "*");
    EXPECT_TRUE(passes(fs, "payments", filter_kind::topic));
    EXPECT_FALSE(passes(fs, "orders.tmp", filter_kind::topic));
    // "*" never reaches system topics; groups have none.
    EXPECT_FALSE(passes(fs, "__consumer_offsets", filter_kind::topic));
    EXPECT_FALSE(passes(fs, "_redpanda.audit_log", filter_kind::topic));
    EXPECT_FALSE(passes(fs, "__fjord_x", filter_kind::topic));
    EXPECT_TRUE(passes(fs, "_redpanda_group", filter_kind::group));
    // No filters: nothing.
    EXPECT_FALSE(passes({}, "orders", filter_kind::topic));
}

TEST(shadow_link, synced_properties_follow_the_options) {
    v1::ShadowTopicSyncOptions o;
    auto all = synced_properties(o);
    EXPECT_TRUE(is_synced_property(o, "retention.ms"));
    EXPECT_TRUE(is_synced_property(o, "cleanup.policy"));
    EXPECT_FALSE(is_synced_property(o, "segment.ms"));
    o.set_exclude_default(true);
    EXPECT_FALSE(is_synced_property(o, "retention.ms"));
    EXPECT_TRUE(is_synced_property(o, "max.message.bytes"));
    o.add_synced_shadow_topic_properties("segment.ms");
    EXPECT_TRUE(is_synced_property(o, "segment.ms"));
    EXPECT_EQ(synced_properties(o),
              (std::vector<std::string>{"cleanup.policy", "max.message.bytes",
                                        "message.timestamp.type", "segment.ms"}));
    EXPECT_EQ(all.size(), 9u);
}

TEST(shadow_link, start_at) {
    v1::ShadowTopicSyncOptions o;
    EXPECT_EQ(start_at(o), -2);
    o.set_start_at_latest(true);
    EXPECT_EQ(start_at(o), -1);
    o.set_start_at_timestamp_ms(1700000000000);
    EXPECT_EQ(start_at(o), 1700000000000);
    o.set_start_at_earliest(true);
    EXPECT_EQ(start_at(o), -2);
}

TEST(shadow_link, states) {
    using S = v1::ShadowTopicState;
    EXPECT_TRUE(transition_allowed(S::SHADOW_TOPIC_STATE_ACTIVE, S::SHADOW_TOPIC_STATE_PAUSED));
    EXPECT_TRUE(transition_allowed(S::SHADOW_TOPIC_STATE_PAUSED, S::SHADOW_TOPIC_STATE_ACTIVE));
    EXPECT_TRUE(
        transition_allowed(S::SHADOW_TOPIC_STATE_ACTIVE, S::SHADOW_TOPIC_STATE_FAILING_OVER));
    EXPECT_TRUE(
        transition_allowed(S::SHADOW_TOPIC_STATE_FAILING_OVER, S::SHADOW_TOPIC_STATE_FAILED_OVER));
    // Irreversible.
    for (int to = 1; to <= 7; ++to) {
        EXPECT_FALSE(transition_allowed(S::SHADOW_TOPIC_STATE_FAILED_OVER, static_cast<S>(to)));
        EXPECT_EQ(transition_allowed(S::SHADOW_TOPIC_STATE_FAULTED, static_cast<S>(to)),
                  to == S::SHADOW_TOPIC_STATE_FAILED_OVER);
    }
    EXPECT_FALSE(
        transition_allowed(S::SHADOW_TOPIC_STATE_FAILING_OVER, S::SHADOW_TOPIC_STATE_ACTIVE));
    EXPECT_FALSE(transition_allowed(S::SHADOW_TOPIC_STATE_ACTIVE, S::SHADOW_TOPIC_STATE_ACTIVE));

    v1::Topic t;
    EXPECT_FALSE(is_read_only(t));
    t.mutable_shadow()->set_state(S::SHADOW_TOPIC_STATE_ACTIVE);
    EXPECT_TRUE(is_read_only(t));
    t.mutable_shadow()->set_state(S::SHADOW_TOPIC_STATE_FAILING_OVER);
    EXPECT_TRUE(is_read_only(t));
    t.mutable_shadow()->set_state(S::SHADOW_TOPIC_STATE_FAILED_OVER);
    EXPECT_FALSE(is_read_only(t));
    EXPECT_TRUE(replicates(S::SHADOW_TOPIC_STATE_ACTIVE));
    EXPECT_FALSE(replicates(S::SHADOW_TOPIC_STATE_FAILING_OVER));
    EXPECT_EQ(to_string(S::SHADOW_TOPIC_STATE_FAILING_OVER), "FAILING_OVER");
    EXPECT_EQ(parse_topic_state("FAILED_OVER"), S::SHADOW_TOPIC_STATE_FAILED_OVER);
    EXPECT_EQ(parse_topic_state("nope"), std::nullopt);
}

TEST(shadow_link, redacted_drops_every_secret) {
    auto l = good_link();
    auto* c = l.mutable_config()->mutable_client_options();
    auto* s = c->mutable_authentication_configuration()->mutable_scram_configuration();
    s->set_username("u");
    s->set_password("secret");
    s->set_password_set(true);
    c->mutable_tls_settings()->mutable_tls_pem_settings()->set_key("KEY");
    c->mutable_tls_settings()->mutable_tls_pem_settings()->set_key_fingerprint("ab");
    const auto r = redacted(l);
    const auto& rc = r.config().client_options();
    EXPECT_EQ(rc.authentication_configuration().scram_configuration().password(), "");
    EXPECT_TRUE(rc.authentication_configuration().scram_configuration().password_set());
    EXPECT_EQ(rc.tls_settings().tls_pem_settings().key(), "");
    EXPECT_EQ(rc.tls_settings().tls_pem_settings().key_fingerprint(), "ab");
    EXPECT_EQ(r.SerializeAsString().find("secret"), std::string::npos);
}

}  // namespace
}  // namespace fjord::cluster::shadow
