// File: cli/shadow/printers_test.cc
//
// What `fjord shadow list|describe|status` print (printers.h): rpk's
// columns and JSON keys, the empty-section sentences, unknown offsets, and
// never a password.

#include "cli/shadow/printers.h"

#include <gtest/gtest.h>

namespace fjord::cli::shadow {
namespace {

v1::ShadowLink link(const std::string& name,
                    v1::ShadowLinkState st = v1::SHADOW_LINK_STATE_ACTIVE) {
    v1::ShadowLink l;
    l.set_name(name);
    l.set_uuid("uuid-" + name);
    l.set_state(st);
    auto* c = l.mutable_config()->mutable_client_options();
    c->add_bootstrap_servers("127.0.0.1:9092");
    auto* s = c->mutable_authentication_configuration()->mutable_scram_configuration();
    s->set_username("replicator");
    s->set_scram_mechanism("SCRAM-SHA-256");
    s->set_password_set(true);
    s->set_password_set_at_ms(1767323045000);
    return l;
}

TEST(ShadowPrinters, ListSortsAndUsesRpksKeys) {
    const std::vector<v1::ShadowLink> ls = {link("b"), link("a", v1::SHADOW_LINK_STATE_PAUSED)};
    const auto doc = list_doc(ls);
    ASSERT_EQ(doc.size(), 2u);
    EXPECT_EQ(doc[0]["name"], "a");
    EXPECT_EQ(doc[0]["UID"], "uuid-a");
    EXPECT_EQ(doc[0]["state"], "PAUSED");
    const std::string text = list_text(ls);
    EXPECT_EQ(text.substr(0, text.find('\n')), "NAME  UID     STATE");
    EXPECT_NE(text.find("b     uuid-b  ACTIVE"), std::string::npos) << text;
}

TEST(ShadowPrinters, DescribeSectionsAndNoPassword) {
    v1::ShadowLink l = link("dr");
    describe_sections s;
    s.defaults_if_none();
    const std::string text = describe_text(l, s);
    EXPECT_NE(text.find("OVERVIEW\n========\nNAME   dr\nUID    uuid-dr\nSTATE  ACTIVE\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("CLIENT\n"), std::string::npos);
    EXPECT_NE(text.find("PASSWORD SET AT"), std::string::npos);
    EXPECT_NE(text.find("2026-01-02T03:04:05Z"), std::string::npos);
    EXPECT_NE(text.find("FETCH MAX BYTES"), std::string::npos);
    EXPECT_NE(text.find("20971520"), std::string::npos) << "effective defaults";
    EXPECT_EQ(text.find("TOPIC METADATA SYNC"), std::string::npos);
    const auto doc = describe_doc(l);
    EXPECT_EQ(doc["uid"], "uuid-dr");
    const auto& scram =
        doc["client_options"]["authentication_configuration"]["scram_configuration"];
    EXPECT_EQ(scram["password_set"], true);
    EXPECT_FALSE(scram.contains("password"));

    describe_sections all{true, true, true, true, true};
    const std::string every = describe_text(l, all);
    for (const char* sec : {"TOPIC METADATA SYNC", "CONSUMER OFFSET SYNC", "SECURITY SYNC"}) {
        EXPECT_NE(every.find(sec), std::string::npos) << sec;
    }
    EXPECT_NE(every.find("START AT"), std::string::npos);
    EXPECT_NE(every.find("max.message.bytes"), std::string::npos) << "always synced";
}

TEST(ShadowPrinters, StatusEmptySectionsAndLag) {
    v1::GetShadowLinkStatusResponse r;
    *r.mutable_link() = link("dr");
    status_sections s;
    s.defaults_if_none();
    std::string text = status_text(r, s);
    EXPECT_NE(text.find("No tasks to display right now."), std::string::npos) << text;
    EXPECT_NE(text.find("No topics are being shadowed."), std::string::npos) << text;

    auto* task = r.add_tasks();
    task->set_name("Source Topic Sync");
    task->set_broker_id(-1);
    task->set_state("LINK_UNAVAILABLE");
    task->set_reason("127.0.0.1:9092: connection refused");
    auto* t = r.add_topics();
    t->set_name("orders");
    t->set_id("tid");
    t->set_state(v1::SHADOW_TOPIC_STATE_ACTIVE);
    auto* p0 = t->add_partitions();
    p0->set_partition(0);
    p0->set_source_lso(10);
    p0->set_source_hwm(12);
    p0->set_shadow_hwm(7);
    auto* p1 = t->add_partitions();
    p1->set_partition(1);
    p1->set_source_lso(-1);
    p1->set_source_hwm(-1);
    p1->set_shadow_hwm(0);
    r.add_synced_shadow_topic_properties("cleanup.policy");
    text = status_text(r, s);
    EXPECT_NE(text.find("NAME               BROKER_ID  SHARD  STATE             REASON"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("LINK_UNAVAILABLE  127.0.0.1:9092: connection refused"), std::string::npos);
    EXPECT_NE(text.find("Name: orders, ID: tid, State: ACTIVE"), std::string::npos);
    EXPECT_NE(text.find("PARTITION  SRC_LSO  SRC_HWM  DST_HWM  LAG"), std::string::npos) << text;
    EXPECT_NE(text.find("0          10       12       7        5"), std::string::npos) << text;
    EXPECT_NE(text.find("1          -        -        0        -"), std::string::npos) << text;
    EXPECT_NE(text.find("Synced Shadow Topic Properties:\n  - cleanup.policy"), std::string::npos);

    const auto doc = status_doc(r);
    EXPECT_EQ(doc["overview"]["name"], "dr");
    EXPECT_EQ(doc["overview"]["id"], "uuid-dr");
    EXPECT_EQ(doc["tasks"][0]["state"], "LINK_UNAVAILABLE");
    EXPECT_EQ(doc["tasks"][0]["broker_id"], -1);
    EXPECT_EQ(doc["topics"][0]["partitions"][0]["lag"], 5);
    EXPECT_EQ(doc["topics"][0]["partitions"][1]["lag"], -1);
    EXPECT_EQ(doc["topics"][0]["partitions"][0]["dst_hwm"], 7);
    EXPECT_EQ(doc["synced_shadow_topic_properties"][0], "cleanup.policy");

    status_sections only_tasks;
    only_tasks.tasks = true;
    text = status_text(r, only_tasks);
    EXPECT_EQ(text.find("OVERVIEW"), std::string::npos);
    EXPECT_EQ(text.find("TOPICS"), std::string::npos);
}

}  // namespace
}  // namespace fjord::cli::shadow
