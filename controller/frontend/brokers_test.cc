// File: controller/frontend/brokers_test.cc
//
// Registration and liveness (brokers.h, broker_liveness.h) over a real
// controller_state: a live incarnation holds its id; one that said it is
// leaving frees it at once, and nothing it or a predecessor sends later
// takes it back from the successor.

#include "controller/frontend/brokers.h"

#include <gtest/gtest.h>

#include "controller/frontend/test_util.h"

namespace fjord::frontend {
namespace {

using cluster::errc;

class brokers_test : public ::testing::Test {
  protected:
    brokers_test() : state(stm::stm_config{}), loop(state) {}

    void SetUp() override {
        options o;
        o.broker_session_timeout = std::chrono::hours(1);  // nothing lapses by itself
        c = std::make_unique<core>(o, loop, state, liveness);
    }

    result<registered> register_as(const std::string& incarnation, int32_t port) {
        v1::RegisterBrokerRequest req;
        v1::Broker& b = *req.mutable_broker();
        b.set_id(1);
        b.set_incarnation(incarnation);
        v1::Endpoint* e = b.add_endpoints();
        e->set_name("kafka");
        e->set_host("127.0.0.1");
        e->set_port(port);
        result<registered> out = error_info(errc::internal, "not answered");
        register_broker(*c, req, command_meta{"User:broker", 1000},
                        [&](result<registered> r) { out = std::move(r); });
        return out;
    }

    /// The registration's refusal, or nullopt when it succeeded.
    static std::optional<std::error_code> refusal(const result<registered>& r) {
        EXPECT_TRUE(r) << r.error().message();
        if (!r || r->outcome) {
            return std::nullopt;
        }
        return r->outcome.error().code;
    }

    heartbeat_outcome beat(const std::string& incarnation, bool leaving = false) {
        v1::HeartbeatRequest req;
        req.set_broker_id(1);
        req.set_incarnation(incarnation);
        req.set_leaving(leaving);
        return heartbeat(*c, req);
    }

    /// (alive, port) of broker 1 as ListBrokers shows it.
    std::pair<bool, int32_t> listed() {
        auto r = list_brokers(*c, v1::ListBrokersRequest{});
        EXPECT_TRUE(r) << r.error().message();
        EXPECT_EQ(r->brokers_size(), 1);
        const auto& item = r->brokers(0);
        return {item.alive(), item.broker().endpoints(0).port()};
    }

    loop::controller_state state;
    instant_loop loop;
    broker_liveness liveness;
    std::unique_ptr<core> c;
};

TEST_F(brokers_test, a_live_incarnation_holds_its_id) {
    ASSERT_EQ(refusal(register_as("old", 9092)), std::nullopt);
    EXPECT_TRUE(beat("old").known);
    EXPECT_EQ(refusal(register_as("new", 9093)), make_error_code(errc::broker_id_in_use));
    EXPECT_EQ(listed(), std::make_pair(true, 9092));
}

TEST_F(brokers_test, a_leaving_incarnation_frees_its_id_at_once) {
    ASSERT_EQ(refusal(register_as("old", 9092)), std::nullopt);
    EXPECT_TRUE(beat("old", true).known);
    EXPECT_EQ(listed(), std::make_pair(false, 9092));
    // Later words of the leaver do not make it live again.
    EXPECT_TRUE(beat("old").known);
    EXPECT_EQ(listed(), std::make_pair(false, 9092));
    ASSERT_EQ(refusal(register_as("new", 9093)), std::nullopt);
    EXPECT_EQ(listed(), std::make_pair(true, 9093));
}

TEST_F(brokers_test, a_predecessors_late_leaving_frees_nothing) {
    ASSERT_EQ(refusal(register_as("old", 9092)), std::nullopt);
    ASSERT_TRUE(beat("old", true).known);
    ASSERT_EQ(refusal(register_as("new", 9093)), std::nullopt);
    // The predecessor's leaving, delivered again after the successor took
    // the id: not the registered incarnation, so nothing happens.
    EXPECT_FALSE(beat("old", true).known);
    EXPECT_EQ(listed(), std::make_pair(true, 9093));
    EXPECT_EQ(refusal(register_as("third", 9094)), make_error_code(errc::broker_id_in_use));
}

TEST(broker_liveness, release_applies_only_to_the_incarnation_last_heard) {
    using clock = broker_liveness::clock;
    const auto t0 = clock::now();
    const auto timeout = std::chrono::milliseconds(1000);
    broker_liveness l;
    l.reset(t0);
    EXPECT_TRUE(l.heartbeat(1, "b", 0, t0));
    l.release(1, "a", t0);  // "a" was replaced by "b" before its word arrived
    EXPECT_TRUE(l.get(1, "b", timeout, t0).alive);
    l.release(1, "b", t0);
    EXPECT_FALSE(l.get(1, "b", timeout, t0).alive);
    EXPECT_FALSE(l.heartbeat(1, "b", 7, t0 + timeout / 2)) << "released stays released";
    EXPECT_FALSE(l.get(1, "b", timeout, t0 + timeout / 2).alive);
    EXPECT_EQ(l.get(1, "b", timeout, t0).applied_revision, 7u);

    // A new leader has heard nothing yet: every incarnation is assumed alive
    // for one timeout, except one that said it is leaving.
    l.reset(t0);
    l.release(2, "x", t0);
    EXPECT_FALSE(l.get(2, "x", timeout, t0).alive);
    EXPECT_TRUE(l.get(3, "y", timeout, t0).alive);
    l.heartbeat(2, "z", 0, t0);
    EXPECT_TRUE(l.get(2, "z", timeout, t0).alive) << "a successor is heard as usual";
}

}  // namespace
}  // namespace fjord::frontend
