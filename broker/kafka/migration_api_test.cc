// File: broker/kafka/migration_api_test.cc
//
// Produce on a topic in a migration (mountable topics), through the
// dispatcher with requests and responses encoded by the codec: refused with
// INVALID_TOPIC_EXCEPTION in every state migration_rules.h blocks (nothing
// written), accepted in the others. The rule itself is
// broker/tiered/migration_rules.h's topic_blocked, which Fetch and
// ListOffsets share.

#include <gtest/gtest.h>

#include <string>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/fetch.h"
#include "broker/storage/log_test_util.h"
#include "broker/tiered/migration_rules.h"
#include "common/kafka/frame.h"
#include "common/kafka/messages/produce.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
using storage::testing::make_batch;
using storage::testing::temp_dir;

v1::Topic topic(v1::MigrationType type, v1::MigrationState state) {
    v1::Topic t;
    t.set_name("t");
    t.set_uuid("00000000-0000-4000-8000-000000000001");
    t.set_replication_factor(1);
    auto* a = t.add_partitions();
    a->set_partition(0);
    a->add_replicas(1);
    a->set_leader(1);
    if (type != v1::MIGRATION_TYPE_UNSPECIFIED) {
        t.mutable_migration()->set_id(3);
        t.mutable_migration()->set_type(type);
        t.mutable_migration()->set_state(state);
    }
    return t;
}

struct fixture {
    temp_dir dir;
    metadata_cache md;
    partition_manager pm{dir.path(), 1, partition_defaults{}};
    parked_fetches fetches{[](std::chrono::milliseconds, std::function<void()>) {}};
    std::unique_ptr<broker_services> services;
    std::unique_ptr<dispatcher> api;
    std::shared_ptr<session> conn = std::make_shared<session>(1, "127.0.0.1:5555");
    int32_t correlation = 1;
    uint64_t revision = 10;

    explicit fixture(const v1::Topic& t) {
        set(t);
        services =
            std::make_unique<broker_services>(broker_services{.me = {1, "broker-1", 9091, ""},
                                                              .options = kafka_options{},
                                                              .md = md,
                                                              .pm = pm,
                                                              .fetches = fetches,
                                                              .now = [] { return int64_t{1000}; }});
        api = std::make_unique<dispatcher>(*services);
    }
    void set(const v1::Topic& t) {
        v1::WatchEvent ev;
        auto* s = ev.mutable_snapshot();
        s->set_revision(++revision);
        s->set_cluster_uuid("cluster-1");
        *s->add_topics() = t;
        auto* b = s->add_brokers();
        b->set_id(1);
        auto* ep = b->add_endpoints();
        ep->set_name("kafka");
        ep->set_host("broker-1");
        ep->set_port(9091);
        ev.set_revision_complete(true);
        ASSERT_TRUE(md.apply(ev));
        pm.reconcile(md, 1000);
    }

    /// Produces one batch to t-0; the partition's error code and message.
    std::pair<int16_t, std::string> produce() {
        kafka::produce_request req;
        req.acks = 1;
        req.timeout_ms = 1000;
        kafka::produce_request::topic_produce_data td;
        td.name = "t";
        kafka::produce_request::partition_produce_data pd;
        pd.index = 0;
        pd.records = make_batch(1, 1000);
        td.partition_data.push_back(std::move(pd));
        req.topic_data.push_back(std::move(td));
        const int16_t version = 8;  // the first with error_message
        kafka::writer body;
        EXPECT_TRUE(req.encode(body, version));
        kafka::request_header h;
        h.request_api_key = static_cast<int16_t>(kafka::produce_request::api);
        h.request_api_version = version;
        h.correlation_id = correlation++;
        h.client_id = "tester";
        auto framed = kafka::frame_request(h, body.data());
        EXPECT_TRUE(framed);
        std::optional<reply_t> got;
        api->on_frame(conn, framed->substr(4), [&got](reply_t r) { got = std::move(r); });
        if (!got || got->what != reply_t::kind::response) {
            ADD_FAILURE() << "no response";
            return {-1, ""};
        }
        kafka::reader r(got->bytes);
        EXPECT_TRUE(r.read_int32());  // correlation id
        auto d = kafka::produce_response::decode(r, version);
        EXPECT_TRUE(d) << d.error().message();
        if (!d || d->responses.empty() || d->responses[0].partition_responses.empty()) {
            return {-1, ""};
        }
        const auto& p = d->responses[0].partition_responses[0];
        return {p.error_code, p.error_message.value_or("")};
    }
    int64_t log_end() { return pm.find("t", 0)->log().log_end_offset().value(); }
};

TEST(migration_api, produce_is_refused_exactly_while_the_topic_is_blocked) {
    const std::pair<v1::MigrationType, v1::MigrationState> blocked[] = {
        {v1::MIGRATION_TYPE_UNMOUNT, v1::MIGRATION_STATE_EXECUTING},
        {v1::MIGRATION_TYPE_UNMOUNT, v1::MIGRATION_STATE_EXECUTED},
        {v1::MIGRATION_TYPE_UNMOUNT, v1::MIGRATION_STATE_CUT_OVER},
        {v1::MIGRATION_TYPE_UNMOUNT, v1::MIGRATION_STATE_CANCELING},
        {v1::MIGRATION_TYPE_MOUNT, v1::MIGRATION_STATE_PLANNED},
        {v1::MIGRATION_TYPE_MOUNT, v1::MIGRATION_STATE_PREPARED},
        {v1::MIGRATION_TYPE_MOUNT, v1::MIGRATION_STATE_EXECUTED},
        {v1::MIGRATION_TYPE_MOUNT, v1::MIGRATION_STATE_CUT_OVER},
        {v1::MIGRATION_TYPE_MOUNT, v1::MIGRATION_STATE_CANCELING},
    };
    for (const auto& [type, state] : blocked) {
        fixture f(topic(type, state));
        EXPECT_TRUE(topic_blocked(*f.md.topic("t")));
        const auto [code, message] = f.produce();
        EXPECT_EQ(code, k::invalid_topic_exception) << type << " " << state;
        EXPECT_NE(message.find("migration 3"), std::string::npos) << message;
        EXPECT_EQ(f.log_end(), 0) << "nothing written";
    }
    const std::pair<v1::MigrationType, v1::MigrationState> served[] = {
        {v1::MIGRATION_TYPE_UNSPECIFIED, v1::MIGRATION_STATE_UNSPECIFIED},
        {v1::MIGRATION_TYPE_UNMOUNT, v1::MIGRATION_STATE_PLANNED},
        {v1::MIGRATION_TYPE_UNMOUNT, v1::MIGRATION_STATE_PREPARING},
        {v1::MIGRATION_TYPE_UNMOUNT, v1::MIGRATION_STATE_PREPARED},
        {v1::MIGRATION_TYPE_UNMOUNT, v1::MIGRATION_STATE_CANCELLED},
        {v1::MIGRATION_TYPE_MOUNT, v1::MIGRATION_STATE_FINISHED},
    };
    for (const auto& [type, state] : served) {
        fixture f(topic(type, state));
        EXPECT_FALSE(topic_blocked(*f.md.topic("t")));
        EXPECT_EQ(f.produce().first, 0) << type << " " << state;
        EXPECT_EQ(f.log_end(), 1);
    }
}

TEST(migration_api, a_cancelled_unmount_serves_the_topic_again) {
    fixture f(topic(v1::MIGRATION_TYPE_UNMOUNT, v1::MIGRATION_STATE_EXECUTING));
    EXPECT_EQ(f.produce().first, k::invalid_topic_exception);
    f.set(topic(v1::MIGRATION_TYPE_UNMOUNT, v1::MIGRATION_STATE_CANCELLED));
    EXPECT_EQ(f.produce().first, 0);
    EXPECT_EQ(f.log_end(), 1);
}

}  // namespace
}  // namespace fjord::broker
