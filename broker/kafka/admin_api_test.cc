// File: broker/kafka/admin_api_test.cc
//
// The admin APIs' pure parts and request handling without a controller:
// the controller-result table (errors.h), config descriptions and alter
// plans (admin_configs.h), and the admin handlers' own refusals, cache-served
// answers, auto-creation gate and its answer when no controller is
// reachable. The controller side is exercised end to end by
// tests/e2e/test_admin.py.

#include "broker/kafka/admin_forwarder.h"

#include <gtest/gtest.h>

#include <deque>

#include "broker/cluster/partition_manager.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/fetch.h"
#include "broker/server/broker_config.h"
#include "broker/storage/log_test_util.h"
#include "common/kafka/frame.h"
#include "common/kafka/messages/create_partitions.h"
#include "common/kafka/messages/create_topics.h"
#include "common/kafka/messages/delete_topics.h"
#include "common/kafka/messages/describe_cluster.h"
#include "common/kafka/messages/describe_configs.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
using namespace std::chrono_literals;

// ------------------------------------------------------------ the error table

TEST(admin_errors, controller_item_codes_map_to_kafka_codes) {
    EXPECT_EQ(kafka_error(v1::OK), k::none);
    EXPECT_EQ(kafka_error(v1::TOPIC_ALREADY_EXISTS), k::topic_already_exists);
    EXPECT_EQ(kafka_error(v1::UNKNOWN_TOPIC), k::unknown_topic_or_partition);
    EXPECT_EQ(kafka_error(v1::RESOURCE_IS_BEING_MIGRATED), k::invalid_topic_exception);
    EXPECT_EQ(kafka_error(v1::MIGRATIONS_DISABLED), k::invalid_config);
    EXPECT_EQ(kafka_error(v1::INVALID_PARTITIONS), k::invalid_partitions);
    EXPECT_EQ(kafka_error(v1::INVALID_REPLICATION_FACTOR), k::invalid_replication_factor);
    EXPECT_EQ(kafka_error(v1::INVALID_CONFIG), k::invalid_config);
    EXPECT_EQ(kafka_error(v1::NOT_LEADER), k::not_controller);
    EXPECT_EQ(kafka_error(v1::CONFLICT), k::not_controller);
    EXPECT_EQ(kafka_error(v1::TIMEOUT), k::request_timed_out);
    EXPECT_EQ(kafka_error(v1::INTERNAL), k::unknown_server_error);
    EXPECT_EQ(kafka_error(static_cast<v1::ErrorCode>(99)), k::unknown_server_error);
}

TEST(admin_errors, an_invalid_topic_name_is_invalid_topic_exception) {
    EXPECT_EQ(kafka_error(v1::INVALID_ARGUMENT, "topics[3].name"), k::invalid_topic_exception);
    EXPECT_EQ(kafka_error(v1::INVALID_ARGUMENT, "names[0]"), k::invalid_topic_exception);
    EXPECT_EQ(kafka_error(v1::INVALID_ARGUMENT, "topics[0].set"), k::invalid_request);
    EXPECT_EQ(kafka_error(v1::INVALID_ARGUMENT, ""), k::invalid_request);
}

TEST(admin_errors, a_failed_controller_call_is_retriable) {
    EXPECT_EQ(kafka_error_for_controller_call(std::make_error_code(std::errc::timed_out)),
              k::request_timed_out);
    EXPECT_EQ(kafka_error_for_controller_call(std::make_error_code(std::errc::io_error)),
              k::not_controller);
    EXPECT_EQ(kafka_error_for_controller_call(std::make_error_code(std::errc::operation_canceled)),
              k::not_controller);
}

// ------------------------------------------------------------ fixtures

v1::Topic make_topic(const std::string& name, int partitions,
                     std::map<std::string, std::string> configs = {}) {
    v1::Topic t;
    t.set_name(name);
    t.set_uuid("0123abcd-0000-4000-8000-00000000beef");
    t.set_replication_factor(1);
    for (int p = 0; p < partitions; ++p) {
        auto* a = t.add_partitions();
        a->set_partition(p);
        a->add_replicas(1);
        a->set_leader(1);
    }
    for (const auto& [kk, v] : configs) {
        (*t.mutable_configs())[kk] = v;
    }
    return t;
}

metadata_cache make_cache(std::vector<v1::Topic> topics,
                          std::map<std::string, std::string> cluster = {}) {
    v1::WatchEvent ev;
    auto* s = ev.mutable_snapshot();
    s->set_revision(10);
    s->set_cluster_uuid("cluster-1");
    for (auto& t : topics) {
        *s->add_topics() = t;
    }
    auto* b = s->add_brokers();
    b->set_id(1);
    b->set_rack("r1");
    auto* ep = b->add_endpoints();
    ep->set_name("kafka");
    ep->set_host("127.0.0.1");
    ep->set_port(9092);
    auto* gone = s->add_brokers();
    gone->set_id(2);
    gone->set_state(v1::BROKER_STATE_DECOMMISSIONED);
    *gone->add_endpoints() = *ep;
    for (const auto& [kk, v] : cluster) {
        auto* c = s->add_cluster_config();
        c->set_key(kk);
        c->set_value(v);
    }
    ev.set_revision_complete(true);
    metadata_cache md;
    EXPECT_TRUE(md.apply(ev).has_value());
    return md;
}

const described_config& find(const std::vector<described_config>& v, const std::string& name) {
    for (const auto& d : v) {
        if (d.name == name) {
            return d;
        }
    }
    ADD_FAILURE() << "no config " << name;
    static described_config none;
    return none;
}

// ------------------------------------------------------------ describe

TEST(admin_configs, a_topic_config_comes_from_the_topic_then_the_cluster_then_the_default) {
    auto md = make_cache({}, {{"log_segment_size", "2097152"}});
    const auto t = make_topic("t", 1, {{"retention.ms", "1000"}});
    const auto all = describe_topic(t, md);

    const auto& retention = find(all, "retention.ms");
    EXPECT_EQ(retention.value, "1000");
    EXPECT_EQ(retention.source, config_source::dynamic_topic);
    EXPECT_FALSE(retention.read_only);
    EXPECT_EQ(retention.type, config_type::int64);
    ASSERT_EQ(retention.synonyms.size(), 2u);  // the topic's, then the default
    EXPECT_EQ(retention.synonyms[1].name, "log_retention_ms");
    EXPECT_EQ(retention.synonyms[1].value, "604800000");
    EXPECT_EQ(retention.synonyms[1].source, config_source::default_config);

    const auto& segment = find(all, "segment.bytes");
    EXPECT_EQ(segment.value, "2097152");
    EXPECT_EQ(segment.source, config_source::dynamic_default_broker);
    EXPECT_EQ(segment.type, config_type::int32);
    ASSERT_EQ(segment.synonyms.size(), 2u);
    EXPECT_EQ(segment.synonyms[0].name, "log_segment_size");

    const auto& cleanup = find(all, "cleanup.policy");
    EXPECT_EQ(cleanup.value, "delete");
    EXPECT_EQ(cleanup.source, config_source::default_config);
    EXPECT_EQ(cleanup.type, config_type::list);
    EXPECT_FALSE(cleanup.documentation.empty());

    // A key with no cluster property: the default is named after itself.
    const auto& ts = find(all, "message.timestamp.type");
    ASSERT_EQ(ts.synonyms.size(), 1u);
    EXPECT_EQ(ts.synonyms[0].name, "message.timestamp.type");
    EXPECT_EQ(ts.value, "CreateTime");
}

TEST(admin_configs, broker_configs_are_read_only_and_name_their_source) {
    auto md = make_cache({}, {{"auto_create_topics_enabled", "true"}});
    broker_config cfg;
    cfg.node_id = 7;
    cfg.data_dir = "/var/lib/fjord";
    cfg.listen.kafka = {"0.0.0.0", 9092};
    cfg.advertise.kafka = {"b7.example.com", 9092};
    cfg.max_request_bytes = 1024 * 1024;
    const auto all = describe_broker(broker_settings(cfg), md, false);
    for (const auto& d : all) {
        EXPECT_TRUE(d.read_only) << d.name;
    }
    EXPECT_EQ(find(all, "broker.id").value, "7");
    EXPECT_EQ(find(all, "broker.id").source, config_source::static_broker);
    EXPECT_EQ(find(all, "log.dirs").value, "/var/lib/fjord");
    EXPECT_EQ(find(all, "advertised.listeners").value, "PLAINTEXT://b7.example.com:9092");
    EXPECT_EQ(find(all, "socket.request.max.bytes").source, config_source::static_broker);
    EXPECT_EQ(find(all, "connections.max.idle.ms").source, config_source::default_config);
    EXPECT_EQ(find(all, "broker.rack").value, std::nullopt);
    EXPECT_EQ(find(all, "auto.create.topics.enable").value, "true");
    EXPECT_EQ(find(all, "auto.create.topics.enable").source, config_source::dynamic_default_broker);
    EXPECT_EQ(find(all, "auto.create.topics.enable").synonyms[0].name,
              "auto_create_topics_enabled");
    EXPECT_EQ(find(all, "num.partitions").value, "1");
    EXPECT_EQ(find(all, "num.partitions").source, config_source::default_config);
    EXPECT_EQ(find(all, "message.max.bytes").value, "1048588");

    // The cluster-wide defaults ("" resource): only what was set.
    const auto defaults = describe_broker(broker_settings(cfg), md, true);
    ASSERT_EQ(defaults.size(), 1u);
    EXPECT_EQ(defaults[0].name, "auto.create.topics.enable");
}

// ------------------------------------------------------------ alter plans

using alterable = kafka::alter_configs_request::alterable_config;
using incremental = kafka::incremental_alter_configs_request::alterable_config;

TEST(admin_configs, alter_configs_replaces_the_whole_set) {
    const auto t = make_topic("t", 1, {{"retention.ms", "1000"}, {"segment.ms", "5000"}});
    const auto plan = replace_topic_configs(
        t, {alterable{"retention.ms", "2000", {}}, alterable{"cleanup.policy", std::nullopt, {}}});
    EXPECT_EQ(plan.error_code, k::none);
    EXPECT_FALSE(plan.no_op);
    EXPECT_EQ(plan.item.name(), "t");
    ASSERT_EQ(plan.item.set_size(), 1);
    EXPECT_EQ(plan.item.set().at("retention.ms"), "2000");
    // segment.ms was set and is not in the request: back to its default.
    ASSERT_EQ(plan.item.remove_size(), 1);
    EXPECT_EQ(plan.item.remove(0), "segment.ms");

    EXPECT_TRUE(replace_topic_configs(make_topic("u", 1), {}).no_op);
    const auto dup = replace_topic_configs(
        t, {alterable{"retention.ms", "1", {}}, alterable{"retention.ms", "2", {}}});
    EXPECT_EQ(dup.error_code, k::invalid_request);
    EXPECT_NE(dup.error_message.find("retention.ms"), std::string::npos);
}

TEST(admin_configs, incremental_set_delete_append_subtract) {
    auto md = make_cache({});
    const auto t = make_topic("t", 1, {{"retention.ms", "1000"}});
    auto plan =
        incremental_topic_configs(t, md,
                                  {incremental{"segment.ms", op_set, "9", {}},
                                   incremental{"retention.ms", op_delete, std::nullopt, {}},
                                   incremental{"cleanup.policy", op_append, "compact", {}}});
    ASSERT_EQ(plan.error_code, k::none) << plan.error_message;
    EXPECT_EQ(plan.item.set().at("segment.ms"), "9");
    EXPECT_EQ(plan.item.set().at("cleanup.policy"), "delete,compact");  // the default, + compact
    ASSERT_EQ(plan.item.remove_size(), 1);
    EXPECT_EQ(plan.item.remove(0), "retention.ms");

    const auto both = make_topic("b", 1, {{"cleanup.policy", "compact,delete"}});
    plan = incremental_topic_configs(both, md,
                                     {incremental{"cleanup.policy", op_subtract, "delete", {}}});
    ASSERT_EQ(plan.error_code, k::none);
    EXPECT_EQ(plan.item.set().at("cleanup.policy"), "compact");
    // Appending what is there already changes nothing in the list.
    plan = incremental_topic_configs(both, md,
                                     {incremental{"cleanup.policy", op_append, "delete", {}}});
    EXPECT_EQ(plan.item.set().at("cleanup.policy"), "compact,delete");
}

TEST(admin_configs, incremental_refusals_name_the_key) {
    auto md = make_cache({});
    const auto t = make_topic("t", 1);
    auto plan = incremental_topic_configs(t, md, {incremental{"retention.ms", op_append, "5", {}}});
    EXPECT_EQ(plan.error_code, k::invalid_config);
    EXPECT_NE(plan.error_message.find("retention.ms"), std::string::npos);
    EXPECT_NE(plan.error_message.find("list"), std::string::npos);

    plan = incremental_topic_configs(t, md, {incremental{"no.such", op_subtract, "x", {}}});
    EXPECT_EQ(plan.error_code, k::invalid_config);

    plan = incremental_topic_configs(t, md, {incremental{"segment.ms", op_set, std::nullopt, {}}});
    EXPECT_EQ(plan.error_code, k::invalid_request);

    plan = incremental_topic_configs(t, md, {incremental{"segment.ms", 9, "1", {}}});
    EXPECT_EQ(plan.error_code, k::invalid_request);
    EXPECT_NE(plan.error_message.find("operation 9"), std::string::npos);

    plan = incremental_topic_configs(t, md,
                                     {incremental{"segment.ms", op_set, "1", {}},
                                      incremental{"segment.ms", op_delete, std::nullopt, {}}});
    EXPECT_EQ(plan.error_code, k::invalid_request);

    EXPECT_TRUE(incremental_topic_configs(t, md, {}).no_op);
}

// ------------------------------------------------------------ the module

/// The admin handlers behind the dispatcher, with the io thread played by the test: `post`ed work
/// queues up and run() drains it. The controller address has nobody listening, so every forwarded
/// call fails as "unreachable".
class admin_module : public ::testing::Test {
  protected:
    admin_module() : controller({"127.0.0.1:1"}) {}

    void make(std::map<std::string, std::string> cluster = {}) {
        md = make_cache({make_topic("events", 2, {{"retention.ms", "1000"}})}, std::move(cluster));
        admin_options o;
        o.node_id = 1;
        broker_config cfg;
        cfg.node_id = 1;
        cfg.data_dir = "/data";
        o.settings = broker_settings(cfg);
        o.default_timeout = 5s;
        api = std::make_unique<admin_forwarder>(
            o, md, controller, [this](std::chrono::milliseconds, std::function<void()> fn) {
                std::lock_guard g(mu);
                posted.push_back(std::move(fn));
                cv.notify_all();
            });
        services =
            std::make_unique<broker_services>(broker_services{.me = {1, "broker-1", 9091, ""},
                                                              .options = {},
                                                              .md = md,
                                                              .pm = pm,
                                                              .fetches = fetches,
                                                              .now = [] { return int64_t{1000}; },
                                                              .admin = api.get()});
        kafka = std::make_unique<dispatcher>(*services);
    }

    ~admin_module() override {
        controller.stop();
        kafka.reset();
        api.reset();
    }

    /// Runs posted work until `done` or 10 s pass.
    void run_until(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            std::function<void()> fn;
            {
                std::unique_lock lk(mu);
                cv.wait_for(lk, 20ms, [&] { return !posted.empty(); });
                if (posted.empty()) {
                    continue;
                }
                fn = std::move(posted.front());
                posted.pop_front();
            }
            fn();
            ++ran;
        }
    }

    /// Serves one request and returns the response body (empty: none yet).
    template <typename Req>
    std::shared_ptr<std::optional<reply_t>> serve(const Req& req, int16_t version) {
        kafka::writer w;
        EXPECT_TRUE(req.encode(w, version).has_value());
        kafka::request_header h;
        h.request_api_key = static_cast<int16_t>(Req::api);
        h.request_api_version = version;
        h.correlation_id = 42;
        h.client_id = "test";
        auto framed = kafka::frame_request(h, w.data());
        EXPECT_TRUE(framed.has_value());
        frames.push_back(framed->substr(4));
        auto out = std::make_shared<std::optional<reply_t>>();
        kafka->on_frame(conn, frames.back(), [out](reply_t r) { *out = r; });
        return out;
    }

    template <typename Resp>
    Resp decode(const std::optional<reply_t>& r, int16_t version) {
        EXPECT_TRUE(r.has_value());
        EXPECT_EQ(r->what, reply_t::kind::response);
        kafka::reader rd(r->bytes);
        const auto* info = kafka::find_api(static_cast<int16_t>(Resp::api));
        auto header =
            kafka::response_header::decode(rd, kafka::response_header_version(*info, version));
        EXPECT_TRUE(header.has_value());
        auto body = Resp::decode(rd, version);
        EXPECT_TRUE(body.has_value()) << (body ? "" : body.error().detail);
        EXPECT_EQ(rd.remaining(), 0u);
        return body ? *body : Resp{};
    }

    controller_client::client controller;
    metadata_cache md;
    storage::testing::temp_dir dir;
    partition_manager pm{dir.path(), 1, partition_defaults{}};
    parked_fetches fetches{[](std::chrono::milliseconds, std::function<void()>) {}};
    std::unique_ptr<admin_forwarder> api;
    std::unique_ptr<broker_services> services;
    std::unique_ptr<dispatcher> kafka;
    std::shared_ptr<session> conn = std::make_shared<session>(1, "127.0.0.1:5555");
    std::deque<std::string> frames;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> posted;
    size_t ran = 0;  ///< posted work run so far
};

TEST_F(admin_module, create_topics_refuses_assignments_and_duplicates_without_the_controller) {
    make();
    kafka::create_topics_request req;
    kafka::create_topics_request::creatable_topic dup;
    dup.name = "twice";
    dup.num_partitions = 1;
    dup.replication_factor = 1;
    req.topics = {dup, dup};
    kafka::create_topics_request::creatable_topic manual;
    manual.name = "manual";
    manual.num_partitions = -1;
    manual.replication_factor = -1;
    manual.assignments.push_back({0, {1}, {}});
    req.topics.push_back(manual);
    kafka::create_topics_request::creatable_topic nulled;
    nulled.name = "nulled";
    nulled.configs.push_back({"retention.ms", std::nullopt, {}});
    req.topics.push_back(nulled);

    auto out = serve(req, 4);
    ASSERT_TRUE(out->has_value()) << "answered at once: nothing was sent to the controller";
    const auto resp = decode<kafka::create_topics_response>(*out, 4);
    ASSERT_EQ(resp.topics.size(), 4u);
    EXPECT_EQ(resp.topics[0].error_code, k::invalid_request);
    EXPECT_EQ(resp.topics[1].error_code, k::invalid_request);
    EXPECT_EQ(resp.topics[2].name, "manual");
    EXPECT_EQ(resp.topics[2].error_code, k::invalid_request);
    EXPECT_NE(resp.topics[2].error_message->find("assignments"), std::string::npos);
    EXPECT_EQ(resp.topics[3].error_code, k::invalid_config);
    EXPECT_NE(resp.topics[3].error_message->find("retention.ms"), std::string::npos);
}

TEST_F(admin_module, an_unreachable_controller_is_not_controller_per_item) {
    make();
    kafka::create_topics_request req;
    kafka::create_topics_request::creatable_topic t;
    t.name = "fresh";
    t.num_partitions = 3;
    t.replication_factor = -1;
    req.topics = {t};
    req.timeout_ms = 3000;
    auto out = serve(req, 5);
    run_until([&] { return out->has_value(); });
    const auto resp = decode<kafka::create_topics_response>(*out, 5);
    ASSERT_EQ(resp.topics.size(), 1u);
    EXPECT_EQ(resp.topics[0].error_code, k::not_controller);
    EXPECT_EQ(resp.topics[0].num_partitions, -1);

    kafka::create_partitions_request cp;
    kafka::create_partitions_request::create_partitions_topic ct;
    ct.name = "events";
    ct.count = 4;
    ct.assignments = std::nullopt;
    cp.topics = {ct};
    cp.timeout_ms = 3000;
    auto cpo = serve(cp, 1);
    run_until([&] { return cpo->has_value(); });
    const auto cpr = decode<kafka::create_partitions_response>(*cpo, 1);
    ASSERT_EQ(cpr.results.size(), 1u);
    EXPECT_EQ(cpr.results[0].error_code, k::not_controller);
    EXPECT_TRUE(cpr.results[0].error_message.has_value());
}

TEST_F(admin_module, delete_topics_by_id_resolves_from_the_cache) {
    make();
    kafka::delete_topics_request req;
    kafka::delete_topics_request::delete_topic_state unknown;
    unknown.topic_id = {1, 2};
    kafka::delete_topics_request::delete_topic_state both;
    both.name = "events";
    both.topic_id = {1, 2};
    req.topics = {unknown, both};
    auto out = serve(req, 6);
    ASSERT_TRUE(out->has_value());
    const auto resp = decode<kafka::delete_topics_response>(*out, 6);
    ASSERT_EQ(resp.responses.size(), 2u);
    EXPECT_EQ(resp.responses[0].error_code, k::unknown_topic_id);
    EXPECT_EQ(resp.responses[0].name, std::nullopt);
    EXPECT_EQ(resp.responses[1].error_code, k::invalid_request);
}

TEST_F(admin_module, describe_configs_answers_from_the_cache) {
    make({{"log_retention_ms", "5000"}});
    kafka::describe_configs_request req;
    req.resources.push_back({2, "events", std::vector<std::string>{"retention.ms", "nope"}, {}});
    req.resources.push_back({2, "missing", std::nullopt, {}});
    req.resources.push_back({2, "bad name!", std::nullopt, {}});
    req.resources.push_back({4, "1", std::vector<std::string>{"broker.id"}, {}});
    req.resources.push_back({4, "2", std::nullopt, {}});
    req.resources.push_back({8, "1", std::nullopt, {}});

    for (int16_t version : {0, 1, 4}) {
        req.include_synonyms = version >= 1;  // v0 cannot carry it
        auto out = serve(req, version);
        ASSERT_TRUE(out->has_value());
        const auto resp = decode<kafka::describe_configs_response>(*out, version);
        ASSERT_EQ(resp.results.size(), 6u);
        const auto& events = resp.results[0];
        EXPECT_EQ(events.error_code, k::none);
        ASSERT_EQ(events.configs.size(), 1u) << "only the key asked for; unknown keys left out";
        EXPECT_EQ(events.configs[0].name, "retention.ms");
        EXPECT_EQ(events.configs[0].value, "1000");
        if (version == 0) {
            EXPECT_FALSE(events.configs[0].is_default);
            EXPECT_TRUE(events.configs[0].synonyms.empty());
        } else {
            EXPECT_EQ(events.configs[0].config_source, 1);  // DYNAMIC_TOPIC_CONFIG
            ASSERT_EQ(events.configs[0].synonyms.size(), 3u);
            EXPECT_EQ(events.configs[0].synonyms[1].name, "log_retention_ms");
            EXPECT_EQ(events.configs[0].synonyms[1].value, "5000");
            EXPECT_EQ(events.configs[0].synonyms[1].source, 3);
        }
        EXPECT_EQ(resp.results[1].error_code, k::unknown_topic_or_partition);
        EXPECT_EQ(resp.results[2].error_code, k::invalid_topic_exception);
        EXPECT_EQ(resp.results[3].error_code, k::none);
        ASSERT_EQ(resp.results[3].configs.size(), 1u);
        EXPECT_EQ(resp.results[3].configs[0].value, "1");
        EXPECT_TRUE(resp.results[3].configs[0].read_only);
        EXPECT_EQ(resp.results[4].error_code, k::invalid_request);
        EXPECT_EQ(resp.results[5].error_code, k::invalid_request);
    }
}

TEST_F(admin_module, alter_configs_refuses_broker_resources) {
    make();
    kafka::alter_configs_request req;
    req.resources.push_back({4, "1", {{"log.retention.ms", "1", {}}}, {}});
    req.resources.push_back({2, "missing", {{"retention.ms", "1", {}}}, {}});
    req.resources.push_back({2, "events", {{"retention.ms", "1000", {}}}, {}});
    auto out = serve(req, 1);
    // "events" would go to the controller, which is unreachable.
    run_until([&] { return out->has_value(); });
    const auto resp = decode<kafka::alter_configs_response>(*out, 1);
    ASSERT_EQ(resp.responses.size(), 3u);
    EXPECT_EQ(resp.responses[0].error_code, k::policy_violation);
    EXPECT_NE(resp.responses[0].error_message->find("fjord cluster config"), std::string::npos);
    EXPECT_EQ(resp.responses[1].error_code, k::unknown_topic_or_partition);
    EXPECT_EQ(resp.responses[2].error_code, k::not_controller);
}

TEST_F(admin_module, describe_cluster_lists_live_brokers_and_refuses_controller_endpoints) {
    make();
    kafka::describe_cluster_request req;
    auto out = serve(req, 0);
    ASSERT_TRUE(out->has_value());
    auto resp = decode<kafka::describe_cluster_response>(*out, 0);
    EXPECT_EQ(resp.error_code, k::none);
    EXPECT_EQ(resp.cluster_id, "cluster-1");
    EXPECT_EQ(resp.controller_id, 1);
    ASSERT_EQ(resp.brokers.size(), 1u) << "the decommissioned broker is left out";
    EXPECT_EQ(resp.brokers[0].host, "127.0.0.1");
    EXPECT_EQ(resp.brokers[0].port, 9092);
    EXPECT_EQ(resp.brokers[0].rack, "r1");

    req.endpoint_type = 2;
    out = serve(req, 1);
    resp = decode<kafka::describe_cluster_response>(*out, 1);
    EXPECT_EQ(resp.error_code, k::mismatched_endpoint_type);
    EXPECT_EQ(resp.endpoint_type, 2);
    req.endpoint_type = 9;
    out = serve(req, 1);
    EXPECT_EQ(decode<kafka::describe_cluster_response>(*out, 1).error_code,
              k::unsupported_endpoint_type);
}

TEST_F(admin_module, auto_creation_follows_the_cluster_config) {
    make();
    EXPECT_EQ(api->auto_create_topic("new-topic"), k::unknown_topic_or_partition)
        << "auto_create_topics_enabled defaults to false";
    EXPECT_TRUE(posted.empty()) << "no controller call";
}

TEST_F(admin_module, auto_creation_answers_leader_not_available_while_it_is_asked_for) {
    make({{"auto_create_topics_enabled", "true"}});
    EXPECT_EQ(api->auto_create_topic("bad/name"), k::invalid_topic_exception);
    EXPECT_EQ(api->auto_create_topic("new-topic"), k::leader_not_available);
    EXPECT_EQ(api->auto_create_topic("new-topic"), k::leader_not_available);
    // The (unreachable) controller's answer comes back; the client's retry
    // still hears "not yet", not a refusal about the topic.
    run_until([&] { return ran >= 1; });
    EXPECT_EQ(api->auto_create_topic("new-topic"), k::leader_not_available);
}

}  // namespace
}  // namespace fjord::broker
