// File: controller/frontend/shadow_links_test.cc
//
// The shadow-links frontend (shadow_links.h) over a real controller_state
// and a loop that applies each proposal at once: passwords are stamped and
// kept, never returned; the PEM key is fingerprinted; validate_only and a
// failing preflight create nothing; failover's per-topic rules; status
// assembled from the tables and the brokers' reports.

#include "controller/frontend/shadow_links.h"

#include <gtest/gtest.h>

#include "common/cluster/shadow_link.h"
#include "controller/frontend/brokers.h"
#include "controller/frontend/test_util.h"

namespace fjord::frontend {
namespace {

using cluster::errc;
using namespace std::chrono_literals;

class shadow_links_test : public ::testing::Test {
  protected:
    shadow_links_test() : state(stm::stm_config{}), loop(state) {}

    void SetUp() override {
        options o;
        o.shadow_preflight = [this](const v1::ShadowLink& l) -> result<std::string> {
            ++preflights;
            preflight_password = l.config()
                                     .client_options()
                                     .authentication_configuration()
                                     .scram_configuration()
                                     .password();
            if (!preflight_answer) {
                return preflight_answer.error();
            }
            return std::string("source-cluster-id");
        };
        c = std::make_unique<core>(o, loop, state, liveness);
        for (int32_t id : {1, 2, 3}) {
            v1::Broker b;
            b.set_id(id);
            b.set_incarnation("inc");
            v1::Endpoint* e = b.add_endpoints();
            e->set_name("kafka");
            e->set_host("h");
            e->set_port(9092 + id);
            propose(state.read([&](const stm::controller_stm& s) {
                return stm::make_register_broker(s, b, false, meta());
            }));
        }
    }

    command_meta meta() { return command_meta{"User:admin", clock_ms += 1000}; }

    template <typename R>
    void propose(const R& cmd) {
        ASSERT_TRUE(cmd) << cmd.error().message();
        if constexpr (requires { cmd->has_value(); }) {
            ASSERT_TRUE(cmd->has_value());
            propose_cmd(**cmd);
        } else {
            propose_cmd(*cmd);
        }
    }
    void propose_cmd(const v1::ControllerCommand& cmd) {
        result<void> out = error_info(errc::internal, "not answered");
        c->propose_one(cmd, [&](result<void> r) { out = std::move(r); });
        ASSERT_TRUE(out) << out.error().message();
    }

    template <typename Fn>
    shadow_link_outcome run(Fn fn) {
        std::optional<result<shadow_link_outcome>> got;
        fn([&](result<shadow_link_outcome> r) { got = std::move(r); });
        EXPECT_TRUE(got.has_value());
        EXPECT_TRUE(*got) << got->error().message();
        return std::move(**got);
    }

    v1::ShadowLink link(const std::string& password) {
        v1::ShadowLink l;
        l.set_name("dr");
        v1::ShadowClientOptions* co = l.mutable_config()->mutable_client_options();
        co->add_bootstrap_servers("src:9092");
        auto* s = co->mutable_authentication_configuration()->mutable_scram_configuration();
        s->set_username("alice");
        s->set_password(password);
        s->set_password_set(password.empty());
        s->set_scram_mechanism("SCRAM-SHA-256");
        co->mutable_tls_settings()->set_enabled(true);
        co->mutable_tls_settings()->mutable_tls_pem_settings()->set_cert("CERT");
        co->mutable_tls_settings()->mutable_tls_pem_settings()->set_key(password.empty() ? ""
                                                                                         : "KEY");
        return l;
    }

    shadow_link_outcome create(const v1::ShadowLink& l, bool validate_only = false) {
        v1::CreateShadowLinkRequest req;
        *req.mutable_link() = l;
        req.set_validate_only(validate_only);
        const command_meta m = meta();
        return run([&](auto then) { create_shadow_link(*c, req, m, then); });
    }

    /// The stored link, password and all (what brokers get).
    v1::ShadowLink stored() {
        return state.read([](const stm::controller_stm& s) {
            const v1::ShadowLink* l = s.shadow_links().find("dr");
            return l != nullptr ? *l : v1::ShadowLink{};
        });
    }

    size_t link_count() {
        return state.read([](const stm::controller_stm& s) { return s.shadow_links().size(); });
    }

    void add_shadow_topic(const std::string& name, int32_t partitions) {
        v1::CreateTopicsRequest::Item item;
        item.set_name(name);
        item.set_partitions(partitions);
        item.set_replication_factor(1);
        propose(state.read([&](const stm::controller_stm& s) {
            return stm::make_create_shadow_topic(
                s, "dr", item, v1::TopicShadow{},
                fmt::format("00000000-0000-4000-8000-0000000000{:02}", ++uuids), meta());
        }));
    }

    v1::ShadowTopicState topic_state(const std::string& name) {
        return state.read([&](const stm::controller_stm& s) {
            const v1::Topic* t = s.topics().find(name);
            return t != nullptr && t->has_shadow() ? t->shadow().state()
                                                   : v1::SHADOW_TOPIC_STATE_UNSPECIFIED;
        });
    }

    shadow_link_outcome fail_over(const std::string& topic) {
        v1::FailOverShadowLinkRequest req;
        req.set_name("dr");
        req.set_topic(topic);
        const command_meta m = meta();
        return run([&](auto then) { fail_over_shadow_link(*c, req, m, then); });
    }

    loop::controller_state state;
    instant_loop loop;
    broker_liveness liveness;
    std::unique_ptr<core> c;
    int64_t clock_ms = 1'000'000;
    int uuids = 0;
    int preflights = 0;
    std::string preflight_password;
    result<void> preflight_answer = ok();
};

TEST_F(shadow_links_test, create_stamps_the_password_and_never_returns_it) {
    const shadow_link_outcome out = create(link("secret"));
    ASSERT_TRUE(out.outcome) << out.outcome.error().message();
    EXPECT_EQ(preflights, 1);
    EXPECT_EQ(preflight_password, "secret");  // the preflight dials with it
    ASSERT_TRUE(out.link.has_value());
    const auto& scram =
        out.link->config().client_options().authentication_configuration().scram_configuration();
    EXPECT_TRUE(scram.password().empty());
    EXPECT_TRUE(scram.password_set());
    EXPECT_GT(scram.password_set_at_ms(), 0);
    const auto& pem = out.link->config().client_options().tls_settings().tls_pem_settings();
    EXPECT_TRUE(pem.key().empty());
    EXPECT_EQ(pem.key_fingerprint(), key_fingerprint("KEY"));
    EXPECT_EQ(pem.key_fingerprint().size(), 64u);
    EXPECT_EQ(out.link->state(), v1::SHADOW_LINK_STATE_ACTIVE);
    EXPECT_EQ(out.link->uuid().size(), 36u);

    // Stored with the password (brokers replicate with it) ...
    EXPECT_EQ(stored()
                  .config()
                  .client_options()
                  .authentication_configuration()
                  .scram_configuration()
                  .password(),
              "secret");
    // ... but no read returns it.
    v1::GetShadowLinkRequest get;
    get.set_name("dr");
    auto got = get_shadow_link(*c, get);
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->link()
                    .config()
                    .client_options()
                    .authentication_configuration()
                    .scram_configuration()
                    .password()
                    .empty());
    EXPECT_TRUE(
        got->link().config().client_options().tls_settings().tls_pem_settings().key().empty());
    auto list = list_shadow_links(*c, v1::ListShadowLinksRequest{});
    ASSERT_TRUE(list);
    ASSERT_EQ(list->links_size(), 1);
    EXPECT_TRUE(list->links(0)
                    .config()
                    .client_options()
                    .authentication_configuration()
                    .scram_configuration()
                    .password()
                    .empty());
    get.set_name("nope");
    EXPECT_EQ(get_shadow_link(*c, get).error().code, errc::unknown_shadow_link);
}

TEST_F(shadow_links_test, validate_only_and_a_failed_preflight_create_nothing) {
    shadow_link_outcome out = create(link("secret"), /*validate_only=*/true);
    EXPECT_TRUE(out.outcome) << out.outcome.error().message();
    EXPECT_EQ(preflights, 1);
    EXPECT_EQ(link_count(), 0u);
    ASSERT_TRUE(out.link.has_value());
    EXPECT_TRUE(out.link->config()
                    .client_options()
                    .authentication_configuration()
                    .scram_configuration()
                    .password()
                    .empty());

    preflight_answer =
        error_info::for_field(errc::shadow_link_unreachable, "client_options.bootstrap_servers",
                              "src:9092: connection refused");
    out = create(link("secret"));
    ASSERT_FALSE(out.outcome);
    EXPECT_EQ(out.outcome.error().code, errc::shadow_link_unreachable);
    EXPECT_EQ(out.outcome.error().field, "client_options.bootstrap_servers");
    EXPECT_EQ(link_count(), 0u);

    // A bad config is refused before the source is dialled.
    const int before = preflights;
    v1::ShadowLink bad = link("secret");
    bad.mutable_config()->mutable_client_options()->clear_bootstrap_servers();
    out = create(bad);
    ASSERT_FALSE(out.outcome);
    EXPECT_EQ(out.outcome.error().code, errc::invalid_argument);
    EXPECT_EQ(preflights, before);
    EXPECT_EQ(link_count(), 0u);
}

TEST_F(shadow_links_test, update_keeps_or_replaces_the_password) {
    ASSERT_TRUE(create(link("secret")).outcome);
    const int64_t first_at = stored()
                                 .config()
                                 .client_options()
                                 .authentication_configuration()
                                 .scram_configuration()
                                 .password_set_at_ms();
    const std::string uuid = stored().uuid();

    // The preflight's cluster id is pinned at create.
    EXPECT_EQ(stored().source_cluster_id_observed(), "source-cluster-id");
    EXPECT_EQ(preflights, 1);

    // As describe returned it: no password, password_set; no PEM key. A
    // new server: the source is asked again (with the stored password), and
    // an update the source refuses changes nothing.
    v1::UpdateShadowLinkRequest req;
    *req.mutable_link() = link("");
    req.mutable_link()->mutable_config()->mutable_client_options()->add_bootstrap_servers(
        "src2:9092");
    command_meta m = meta();
    preflight_answer = error_info(errc::shadow_link_unreachable, "src2:9092: down");
    shadow_link_outcome out = run([&](auto then) { update_shadow_link(*c, req, m, then); });
    ASSERT_FALSE(out.outcome);
    EXPECT_EQ(out.outcome.error().code, errc::shadow_link_unreachable);
    EXPECT_EQ(stored().config().client_options().bootstrap_servers_size(), 1);
    EXPECT_EQ(preflights, 2);
    EXPECT_EQ(preflight_password, "secret");
    preflight_answer = ok();
    m = meta();
    out = run([&](auto then) { update_shadow_link(*c, req, m, then); });
    ASSERT_TRUE(out.outcome) << out.outcome.error().message();
    EXPECT_EQ(preflights, 3);
    v1::ShadowLink s = stored();
    EXPECT_EQ(s.source_cluster_id_observed(), "source-cluster-id");
    EXPECT_EQ(s.uuid(), uuid);
    EXPECT_EQ(s.config().client_options().bootstrap_servers_size(), 2);
    const auto& kept =
        s.config().client_options().authentication_configuration().scram_configuration();
    EXPECT_EQ(kept.password(), "secret");
    EXPECT_EQ(kept.password_set_at_ms(), first_at);
    EXPECT_EQ(s.config().client_options().tls_settings().tls_pem_settings().key(), "KEY");
    EXPECT_TRUE(out.link->config()
                    .client_options()
                    .authentication_configuration()
                    .scram_configuration()
                    .password()
                    .empty());

    // A new password: a new time (the servers are as stored: no preflight,
    // and the pinned id is kept).
    *req.mutable_link() = link("fresh");
    req.mutable_link()->mutable_config()->mutable_client_options()->add_bootstrap_servers(
        "src2:9092");
    m = meta();
    out = run([&](auto then) { update_shadow_link(*c, req, m, then); });
    ASSERT_TRUE(out.outcome) << out.outcome.error().message();
    EXPECT_EQ(preflights, 3);
    EXPECT_EQ(stored().source_cluster_id_observed(), "source-cluster-id");
    const v1::ShadowLink after = stored();
    const auto& replaced =
        after.config().client_options().authentication_configuration().scram_configuration();
    EXPECT_EQ(replaced.password(), "fresh");
    EXPECT_EQ(replaced.password_set_at_ms(), m.time_ms);
    EXPECT_GT(replaced.password_set_at_ms(), first_at);

    // The name selects the link; another name is another (unknown) link.
    req.mutable_link()->set_name("renamed");
    m = meta();
    out = run([&](auto then) { update_shadow_link(*c, req, m, then); });
    ASSERT_FALSE(out.outcome);
    EXPECT_EQ(out.outcome.error().code, errc::unknown_shadow_link);
}

TEST_F(shadow_links_test, failover_delete_and_status) {
    ASSERT_TRUE(create(link("secret")).outcome);
    add_shadow_topic("a", 2);
    add_shadow_topic("b", 1);
    add_shadow_topic("c", 1);
    propose(state.read([&](const stm::controller_stm& s) {
        return stm::make_set_shadow_topic_state(s, "c", v1::SHADOW_TOPIC_STATE_ACTIVE,
                                                v1::SHADOW_TOPIC_STATE_FAULTED, "gone", meta());
    }));
    {
        v1::CreateTopicsRequest::Item item;
        item.set_name("plain");
        item.set_partitions(1);
        item.set_replication_factor(1);
        propose(state.read([&](const stm::controller_stm& s) {
            return stm::make_create_topic(s, item, "00000000-0000-4000-8000-000000000099", meta());
        }));
    }

    // One topic, then again (fine), then the rest.
    EXPECT_TRUE(fail_over("a").outcome);
    EXPECT_EQ(topic_state("a"), v1::SHADOW_TOPIC_STATE_FAILING_OVER);
    EXPECT_TRUE(fail_over("a").outcome);
    auto out = fail_over("nope");
    EXPECT_EQ(out.outcome.error().code, errc::unknown_topic);
    EXPECT_EQ(out.outcome.error().field, "topic");
    out = fail_over("plain");
    EXPECT_EQ(out.outcome.error().code, errc::invalid_argument);
    // The whole link: one command; ACTIVE -> FAILING_OVER, and a FAULTED
    // topic (nothing replicates it) straight to FAILED_OVER.
    out = fail_over("");
    EXPECT_TRUE(out.outcome) << out.outcome.error().message();
    EXPECT_EQ(topic_state("b"), v1::SHADOW_TOPIC_STATE_FAILING_OVER);
    EXPECT_EQ(topic_state("c"), v1::SHADOW_TOPIC_STATE_FAILED_OVER);
    EXPECT_TRUE(fail_over("c").outcome);  // done already: fine

    // Status: the reports of a broker, a partition nobody reported.
    v1::HeartbeatRequest hb;
    hb.set_broker_id(1);
    hb.set_incarnation("inc");
    v1::ShadowPartitionStatus* p = hb.add_shadow_partitions();
    p->set_link("dr");
    p->set_topic("a");
    p->set_partition(0);
    p->set_source_hwm(10);
    p->set_shadow_hwm(7);
    p->set_state("ACTIVE");
    v1::ShadowTaskStatus* t = hb.add_shadow_tasks();
    t->set_link("dr");
    t->set_name("Consumer Group Shadowing");
    t->set_state("ACTIVE");
    ASSERT_TRUE(heartbeat(*c, hb).known);
    c->shadow().set_controller_tasks("dr", {[] {
                                         v1::ShadowTaskStatus s;
                                         s.set_name("Source Topic Sync");
                                         s.set_state("ACTIVE");
                                         return s;
                                     }()});
    v1::GetShadowLinkStatusRequest sreq;
    sreq.set_name("dr");
    auto st = shadow_link_status(*c, sreq, std::chrono::steady_clock::now());
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_TRUE(st->link()
                    .config()
                    .client_options()
                    .authentication_configuration()
                    .scram_configuration()
                    .password()
                    .empty());
    ASSERT_EQ(st->tasks_size(), 2);
    EXPECT_EQ(st->tasks(0).name(), "Source Topic Sync");
    EXPECT_EQ(st->tasks(0).broker_id(), -1);
    EXPECT_EQ(st->tasks(1).broker_id(), 1);
    ASSERT_EQ(st->topics_size(), 3);  // a, b, c; not plain
    EXPECT_EQ(st->topics(0).name(), "a");
    ASSERT_EQ(st->topics(0).partitions_size(), 2);
    EXPECT_EQ(st->topics(0).partitions(0).shadow_hwm(), 7);
    EXPECT_EQ(st->topics(0).partitions(0).broker_id(), 1);
    EXPECT_EQ(st->topics(0).partitions(1).state(), "UNKNOWN");
    EXPECT_EQ(st->topics(0).partitions(1).source_hwm(), -1);
    EXPECT_EQ(st->topics(0).partitions(1).shadow_hwm(), -1);
    EXPECT_EQ(st->topics(2).state(), v1::SHADOW_TOPIC_STATE_FAILED_OVER);
    EXPECT_EQ(st->topics(2).reason(), "failover of the link requested by User:admin");
    EXPECT_EQ(st->synced_shadow_topic_properties_size(),
              static_cast<int>(cluster::shadow::synced_properties({}).size()));
    sreq.set_name("nope");
    EXPECT_EQ(shadow_link_status(*c, sreq, std::chrono::steady_clock::now()).error().code,
              errc::unknown_shadow_link);

    // Delete: refused while a topic is not terminal, then forced.
    v1::DeleteShadowLinkRequest del;
    del.set_name("dr");
    command_meta m = meta();
    out = run([&](auto then) { delete_shadow_link(*c, del, m, then); });
    EXPECT_EQ(out.outcome.error().code, errc::shadow_link_has_active_topics);
    del.set_force(true);
    m = meta();
    out = run([&](auto then) { delete_shadow_link(*c, del, m, then); });
    EXPECT_TRUE(out.outcome) << out.outcome.error().message();
    EXPECT_FALSE(out.link.has_value());
    EXPECT_EQ(link_count(), 0u);
    EXPECT_EQ(topic_state("a"), v1::SHADOW_TOPIC_STATE_UNSPECIFIED);  // an ordinary topic now
}

TEST(key_fingerprint, is_the_sha256_of_the_key_in_hex) {
    EXPECT_EQ(key_fingerprint("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace fjord::frontend
