// File: controller/frontend/shadow_reports_test.cc
//
// shadow_reports (shadow_reports.h): a broker's report replaces its last,
// brokers not heard for a session timeout are forgotten, the driver's tasks
// are kept by link, and a link sees only its own entries.

#include "controller/frontend/shadow_reports.h"

#include <gtest/gtest.h>

namespace fjord::frontend {
namespace {

using namespace std::chrono_literals;
using clock = shadow_reports::clock;

v1::ShadowPartitionStatus partition(const std::string& link, const std::string& topic, int32_t p,
                                    int64_t hwm) {
    v1::ShadowPartitionStatus s;
    s.set_link(link);
    s.set_topic(topic);
    s.set_partition(p);
    s.set_shadow_hwm(hwm);
    s.set_broker_id(99);  // overwritten by the reporting broker's id
    return s;
}

v1::ShadowTaskStatus task(const std::string& link, const std::string& name,
                          const std::string& state) {
    v1::ShadowTaskStatus t;
    t.set_link(link);
    t.set_name(name);
    t.set_state(state);
    return t;
}

TEST(shadow_reports, a_report_replaces_the_last_one_of_its_broker) {
    shadow_reports r(9000ms);
    const auto t0 = clock::now();
    r.report(1, {partition("dr", "a", 0, 10), partition("dr", "a", 1, 20)},
             {task("dr", "Consumer Group Shadowing", "ACTIVE")}, t0);
    r.report(2, {partition("dr", "b", 0, 5)}, {}, t0);
    auto v = r.of_link("dr", t0);
    ASSERT_EQ(v.partitions.size(), 3u);
    EXPECT_EQ(v.partitions[0].broker_id(), 1);
    EXPECT_EQ(v.partitions[2].broker_id(), 2);
    ASSERT_EQ(v.tasks.size(), 1u);
    EXPECT_EQ(v.tasks[0].broker_id(), 1);

    // Broker 1 no longer runs a/1: absent from its next report, gone.
    r.report(1, {partition("dr", "a", 0, 11)}, {}, t0 + 1s);
    v = r.of_link("dr", t0 + 1s);
    ASSERT_EQ(v.partitions.size(), 2u);
    EXPECT_EQ(v.partitions[0].shadow_hwm(), 11);
    EXPECT_TRUE(v.tasks.empty());

    // An empty report forgets the broker.
    r.report(2, {}, {}, t0 + 1s);
    EXPECT_EQ(r.of_link("dr", t0 + 1s).partitions.size(), 1u);
}

TEST(shadow_reports, brokers_not_heard_for_a_session_timeout_are_forgotten) {
    shadow_reports r(9000ms);
    const auto t0 = clock::now();
    r.report(1, {partition("dr", "a", 0, 10)}, {}, t0);
    r.report(2, {partition("dr", "a", 1, 10)}, {}, t0 + 5s);
    EXPECT_EQ(r.of_link("dr", t0 + 9s).partitions.size(), 2u);
    auto v = r.of_link("dr", t0 + 10s);
    ASSERT_EQ(v.partitions.size(), 1u);
    EXPECT_EQ(v.partitions[0].broker_id(), 2);
    EXPECT_TRUE(r.of_link("dr", t0 + 15s).partitions.empty());
}

TEST(shadow_reports, controller_tasks_by_link_and_links_apart) {
    shadow_reports r(9000ms);
    const auto t0 = clock::now();
    r.set_controller_tasks("dr", {task("", "Source Topic Sync", "ACTIVE"),
                                  task("", "Security Migrator", "LINK_UNAVAILABLE")});
    r.report(1, {partition("dr", "a", 0, 1), partition("other", "x", 0, 1)},
             {task("other", "Consumer Group Shadowing", "ACTIVE")}, t0);
    auto v = r.of_link("dr", t0);
    ASSERT_EQ(v.tasks.size(), 2u);
    EXPECT_EQ(v.tasks[0].link(), "dr");
    EXPECT_EQ(v.tasks[0].broker_id(), -1);
    EXPECT_EQ(v.tasks[1].state(), "LINK_UNAVAILABLE");
    EXPECT_EQ(v.partitions.size(), 1u);
    EXPECT_EQ(r.of_link("other", t0).tasks.size(), 1u);
    // The driver's tasks do not age; the broker's report does.
    v = r.of_link("dr", t0 + 1h);
    EXPECT_EQ(v.tasks.size(), 2u);
    EXPECT_TRUE(v.partitions.empty());
    EXPECT_TRUE(r.of_link("other", t0 + 1h).tasks.empty());

    r.set_controller_tasks("dr", {});
    r.forget_brokers();
    v = r.of_link("dr", t0);
    EXPECT_TRUE(v.tasks.empty());
    EXPECT_TRUE(v.partitions.empty());
}

}  // namespace
}  // namespace fjord::frontend
