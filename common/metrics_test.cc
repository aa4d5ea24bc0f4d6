// File: common/metrics_test.cc
//
// The registry's exact text output (format 0.0.4: HELP/TYPE lines, sorting,
// escaping, histogram expansion, float spelling), stable handles, concurrent
// updates, and the registration mistakes that must stop the process.

#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace fjord::metrics {
namespace {

TEST(metrics, empty_registry_renders_nothing) {
    registry reg;
    EXPECT_EQ(reg.render(), "");
}

TEST(metrics, counter_and_gauge_without_labels) {
    registry reg;
    counter& c = reg.add_counter("fjord_elections_total", "Elections started by this node.");
    gauge& g = reg.add_gauge("fjord_raft_term", "Current Raft term.");
    c.inc();
    c.inc(4);
    g.set(7);
    g.add(0.5);
    g.dec();
    EXPECT_EQ(c.value(), 5u);
    EXPECT_EQ(g.value(), 6.5);
    EXPECT_EQ(reg.render(),
              "# HELP fjord_elections_total Elections started by this node.\n"
              "# TYPE fjord_elections_total counter\n"
              "fjord_elections_total 5\n"
              "# HELP fjord_raft_term Current Raft term.\n"
              "# TYPE fjord_raft_term gauge\n"
              "fjord_raft_term 6.5\n");
}

TEST(metrics, families_and_series_are_sorted) {
    registry reg;
    auto& req = reg.add_counter_family("requests", "RPCs served.", {"method", "code"});
    reg.add_gauge("a_first", "Sorted before requests.").set(1);
    req.with({"DeleteTopics", "OK"}).inc(2);
    req.with({"CreateTopics", "OK"}).inc(3);
    req.with({"CreateTopics", "INVALID_ARGUMENT"}).inc();
    EXPECT_EQ(reg.render(),
              "# HELP a_first Sorted before requests.\n"
              "# TYPE a_first gauge\n"
              "a_first 1\n"
              "# HELP requests RPCs served.\n"
              "# TYPE requests counter\n"
              "requests{method=\"CreateTopics\",code=\"INVALID_ARGUMENT\"} 1\n"
              "requests{method=\"CreateTopics\",code=\"OK\"} 3\n"
              "requests{method=\"DeleteTopics\",code=\"OK\"} 2\n");
}

TEST(metrics, family_without_series_is_omitted) {
    registry reg;
    reg.add_counter_family("unused_total", "Nothing yet.", {"kind"});
    EXPECT_EQ(reg.render(), "");
}

TEST(metrics, handles_are_stable) {
    registry reg;
    auto& fam = reg.add_counter_family("x_total", "x", {"k"});
    counter& first = fam.with({"a"});
    for (int i = 0; i < 1000; ++i) {
        fam.with({std::to_string(i)});
    }
    EXPECT_EQ(&fam.with({"a"}), &first);
    first.inc();
    EXPECT_EQ(fam.with({"a"}).value(), 1u);
}

TEST(metrics, escaping_of_help_and_label_values) {
    registry reg;
    auto& fam = reg.add_gauge_family("esc", "Line one\nback\\slash \"quotes\" kept.", {"v"});
    fam.with({"a\"b\\c\nd"}).set(1);
    fam.with({""}).set(2);
    EXPECT_EQ(reg.render(),
              "# HELP esc Line one\\nback\\\\slash \"quotes\" kept.\n"
              "# TYPE esc gauge\n"
              "esc{v=\"\"} 2\n"
              "esc{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(metrics, empty_help_omits_help_line) {
    registry reg;
    reg.add_counter("no_help_total", "").inc();
    EXPECT_EQ(reg.render(),
              "# TYPE no_help_total counter\n"
              "no_help_total 1\n");
}

TEST(metrics, gauge_float_spelling) {
    registry reg;
    auto& fam = reg.add_gauge_family("g", "floats", {"case"});
    fam.with({"a_int"}).set(3);
    fam.with({"b_frac"}).set(0.1);
    fam.with({"c_neg"}).set(-2.25);
    fam.with({"d_big"}).set(1e21);
    fam.with({"e_small"}).set(1e-7);
    fam.with({"f_inf"}).set(std::numeric_limits<double>::infinity());
    fam.with({"g_ninf"}).set(-std::numeric_limits<double>::infinity());
    fam.with({"h_nan"}).set(std::nan(""));
    fam.with({"i_zero"});
    EXPECT_EQ(reg.render(),
              "# HELP g floats\n"
              "# TYPE g gauge\n"
              "g{case=\"a_int\"} 3\n"
              "g{case=\"b_frac\"} 0.1\n"
              "g{case=\"c_neg\"} -2.25\n"
              "g{case=\"d_big\"} 1e+21\n"
              "g{case=\"e_small\"} 1e-07\n"
              "g{case=\"f_inf\"} +Inf\n"
              "g{case=\"g_ninf\"} -Inf\n"
              "g{case=\"h_nan\"} NaN\n"
              "g{case=\"i_zero\"} 0\n");
}

TEST(metrics, histogram_buckets_sum_count) {
    registry reg;
    histogram& h = reg.add_histogram("rpc_seconds", "RPC latency.", {0.01, 0.1, 1});
    h.observe(0.005);
    h.observe(0.01);  // bounds are inclusive: lands in le="0.01"
    h.observe(0.05);
    h.observe(0.5);
    h.observe(30);
    EXPECT_EQ(reg.render(),
              "# HELP rpc_seconds RPC latency.\n"
              "# TYPE rpc_seconds histogram\n"
              "rpc_seconds_bucket{le=\"0.01\"} 2\n"
              "rpc_seconds_bucket{le=\"0.1\"} 3\n"
              "rpc_seconds_bucket{le=\"1\"} 4\n"
              "rpc_seconds_bucket{le=\"+Inf\"} 5\n"
              "rpc_seconds_sum 30.565\n"
              "rpc_seconds_count 5\n");
    const histogram::snapshot s = h.collect();
    EXPECT_EQ(s.count(), 5u);
    EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 3, 4, 5}));
}

TEST(metrics, histogram_family_puts_le_last_and_drops_trailing_inf) {
    registry reg;
    auto& fam = reg.add_histogram_family("append_bytes", "Append sizes.", {"peer"},
                                         {1024, 65536, std::numeric_limits<double>::infinity()});
    fam.with({"2"}).observe(100);
    fam.with({"3"}).observe(1e6);
    EXPECT_EQ(reg.render(),
              "# HELP append_bytes Append sizes.\n"
              "# TYPE append_bytes histogram\n"
              "append_bytes_bucket{peer=\"2\",le=\"1024\"} 1\n"
              "append_bytes_bucket{peer=\"2\",le=\"65536\"} 1\n"
              "append_bytes_bucket{peer=\"2\",le=\"+Inf\"} 1\n"
              "append_bytes_sum{peer=\"2\"} 100\n"
              "append_bytes_count{peer=\"2\"} 1\n"
              "append_bytes_bucket{peer=\"3\",le=\"1024\"} 0\n"
              "append_bytes_bucket{peer=\"3\",le=\"65536\"} 0\n"
              "append_bytes_bucket{peer=\"3\",le=\"+Inf\"} 1\n"
              "append_bytes_sum{peer=\"3\"} 1000000\n"
              "append_bytes_count{peer=\"3\"} 1\n");
}

TEST(metrics, histogram_nan_goes_to_inf_bucket) {
    registry reg;
    histogram& h = reg.add_histogram("h", "h", {1});
    h.observe(std::nan(""));
    const histogram::snapshot s = h.collect();
    EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{0, 1}));
    EXPECT_TRUE(std::isnan(s.sum));
}

TEST(metrics, bucket_helpers) {
    EXPECT_EQ(default_latency_buckets(),
              (std::vector<double>{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}));
    EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
}

TEST(metrics, concurrent_updates_are_not_lost) {
    registry reg;
    auto& fam = reg.add_counter_family("c_total", "c", {"t"});
    counter& shared = reg.add_counter("shared_total", "s");
    gauge& g = reg.add_gauge("g", "g");
    histogram& h = reg.add_histogram("h", "h", {0.5});
    constexpr int threads = 4;
    constexpr int per_thread = 20000;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            counter& mine = fam.with({std::to_string(t % 2)});
            for (int i = 0; i < per_thread; ++i) {
                mine.inc();
                shared.inc();
                g.add(1);
                h.observe(i % 2 == 0 ? 0.25 : 1.0);
                if (i % 5000 == 0) {
                    (void)reg.render();  // renders race with updates safely
                }
            }
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    EXPECT_EQ(shared.value(), uint64_t{threads} * per_thread);
    EXPECT_EQ(fam.with({"0"}).value() + fam.with({"1"}).value(), uint64_t{threads} * per_thread);
    EXPECT_EQ(g.value(), double{threads} * per_thread);
    const histogram::snapshot s = h.collect();
    EXPECT_EQ(s.cumulative,
              (std::vector<uint64_t>{threads * per_thread / 2, threads * per_thread}));
    EXPECT_EQ(s.sum, threads * per_thread / 2 * 1.25);
}

using metrics_death_test = ::testing::Test;

TEST(metrics_death_test, registration_mistakes_stop_the_process) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            registry reg;
            reg.add_counter("dup", "a");
            reg.add_gauge("dup", "b");
        },
        "metric dup is registered twice");
    EXPECT_DEATH(
        {
            registry reg;
            reg.add_counter("1bad", "a");
        },
        "metric name \"1bad\" is not");
    EXPECT_DEATH(
        {
            registry reg;
            reg.add_counter_family("x", "a", {"__reserved"});
        },
        "label name \"__reserved\"");
    EXPECT_DEATH(
        {
            registry reg;
            reg.add_counter_family("x", "a", {"k", "k"});
        },
        "label name \"k\" appears twice");
    EXPECT_DEATH(
        {
            registry reg;
            reg.add_histogram_family("x", "a", {"le"}, {1});
        },
        "\"le\" is reserved");
    EXPECT_DEATH(
        {
            registry reg;
            reg.add_histogram("x", "a", {1, 1});
        },
        "strictly increasing");
    EXPECT_DEATH(
        {
            registry reg;
            reg.add_histogram("x", "a", {});
        },
        "at least one finite bucket");
    EXPECT_DEATH(
        {
            registry reg;
            reg.add_counter_family("x", "a", {"k"}).with({"a", "b"});
        },
        "2 label values given for 1 label names");
}

}  // namespace
}  // namespace fjord::metrics
