// File: cli/apply/plan_print_test.cc
//
// fjord apply's printers (plan_print.h) and the CLI's shadow link plan
// (shadow_plan.h): terraform-like text, the data document, counts and
// per-change errors; a link created, updated field by field, or left alone,
// with passwords never compared.

#include "cli/apply/plan_print.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/apply/shadow_plan.h"

namespace fjord::cli::apply {
namespace {

v1::PlannedChange change(v1::ObjectKind k, std::string name, v1::ChangeAction a,
                         uint64_t revision = 0) {
    v1::PlannedChange c;
    c.mutable_object()->set_kind(k);
    c.mutable_object()->set_name(std::move(name));
    c.set_action(a);
    c.set_revision(revision);
    return c;
}

void field(v1::PlannedChange& c, std::string name, const char* before, const char* after) {
    auto* f = c.add_fields();
    f->set_field(std::move(name));
    if (before != nullptr) {
        f->set_before(before);
        f->set_has_before(true);
    }
    if (after != nullptr) {
        f->set_after(after);
        f->set_has_after(true);
    }
}

v1::ApplyResponse sample() {
    v1::ApplyResponse r;
    r.set_plan_revision(41);
    auto c = change(v1::OBJECT_TOPIC, "orders", v1::CHANGE_CREATE);
    field(c, "partitions", nullptr, "6");
    field(c, "configs.retention.ms", nullptr, "86400000");
    *r.add_changes() = c;
    c = change(v1::OBJECT_TOPIC, "logs", v1::CHANGE_UPDATE, 17);
    field(c, "partitions", "3", "6");
    field(c, "configs.retention.ms", nullptr, "86400000");
    field(c, "configs.cleanup.policy", "compact", nullptr);
    *r.add_changes() = c;
    c = change(v1::OBJECT_USER, "alice", v1::CHANGE_UPDATE, 9);
    field(c, "password", "(redacted)", "(redacted)");
    *r.add_changes() = c;
    *r.add_changes() =
        change(v1::OBJECT_ACL, "ALLOW User:bob * topic literal:x read", v1::CHANGE_DELETE, 12);
    return r;
}

TEST(PlanPrint, Text) {
    EXPECT_EQ(plan_text(sample()),
              "+ topic orders\n"
              "    partitions: 6\n"
              "    configs.retention.ms: 86400000\n"
              "~ topic logs\n"
              "    partitions: 3 -> 6\n"
              "    configs.retention.ms: (unset) -> 86400000\n"
              "    configs.cleanup.policy: compact -> (unset)\n"
              "~ user alice\n"
              "    password: (redacted) -> (redacted)\n"
              "- acl ALLOW User:bob * topic literal:x read\n"
              "\n"
              "Plan: 1 to create, 2 to update, 1 to delete.\n");
    EXPECT_EQ(plan_text(v1::ApplyResponse()), "");
}

TEST(PlanPrint, ErrorsPerChange) {
    v1::ApplyResponse r;
    auto c = change(v1::OBJECT_TOPIC, "logs", v1::CHANGE_UPDATE, 17);
    field(c, "partitions", "6", "3");
    c.mutable_error()->set_code(v1::INVALID_PARTITIONS);
    c.mutable_error()->set_message("cannot go from 6 to 3 partitions");
    *r.add_changes() = c;
    r.mutable_result()->set_code(v1::INVALID_ARGUMENT);
    r.mutable_result()->set_message("the plan has a change in error");
    EXPECT_EQ(plan_text(r),
              "~ topic logs\n"
              "    partitions: 6 -> 3\n"
              "    error: INVALID_PARTITIONS: cannot go from 6 to 3 partitions\n"
              "\n"
              "Plan: 0 to create, 1 to update, 0 to delete.\n");
    const auto errors = plan_errors(r);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0], "topic logs: INVALID_PARTITIONS: cannot go from 6 to 3 partitions");
    const plan_counts n = count(r);
    EXPECT_EQ(n.update, 1u);
    EXPECT_EQ(n.errors, 1u);
    const auto j = plan_json(r);
    EXPECT_EQ(j["changes"][0]["error"]["code"], "INVALID_PARTITIONS");
    EXPECT_EQ(j["error"]["code"], "INVALID_ARGUMENT");
}

TEST(PlanPrint, Json) {
    v1::ApplyResponse r = sample();
    r.set_applied(true);
    r.set_revision(42);
    const auto j = plan_json(r);
    EXPECT_EQ(j["plan_revision"], 41);
    EXPECT_EQ(j["applied"], true);
    EXPECT_EQ(j["revision"], 42);
    EXPECT_TRUE(j["error"].is_null());
    ASSERT_EQ(j["changes"].size(), 4u);
    const auto& logs = j["changes"][1];
    EXPECT_EQ(logs["kind"], "topic");
    EXPECT_EQ(logs["name"], "logs");
    EXPECT_EQ(logs["action"], "update");
    EXPECT_EQ(logs["revision"], 17);
    EXPECT_TRUE(logs["error"].is_null());
    EXPECT_EQ(logs["fields"][0],
              (nlohmann::json{{"field", "partitions"}, {"before", "3"}, {"after", "6"}}));
    EXPECT_TRUE(logs["fields"][1]["before"].is_null());
    EXPECT_TRUE(logs["fields"][2]["after"].is_null());
    EXPECT_EQ(j["changes"][3]["action"], "delete");
    EXPECT_EQ(j["changes"][3]["kind"], "acl");
}

TEST(PlanPrint, Names) {
    EXPECT_EQ(kind_name(v1::OBJECT_CLUSTER_CONFIG), "cluster_config");
    EXPECT_EQ(kind_name(v1::OBJECT_SHADOW_LINK), "shadow_link");
    EXPECT_EQ(kind_name(v1::OBJECT_ROLE), "role");
    EXPECT_EQ(action_name(v1::CHANGE_DELETE), "delete");
    EXPECT_EQ(action_name(v1::CHANGE_ACTION_UNSPECIFIED), "");
}

// ----------------------------------------------------------- shadow plan

shadow_link_entry entry(const std::string& password) {
    shadow_link_entry e;
    e.path = "shadow_links[0]";
    e.link.set_name("dr");
    auto* c = e.link.mutable_config()->mutable_client_options();
    c->add_bootstrap_servers("10.0.0.1:9092");
    c->set_metadata_max_age_ms(1000);
    auto* s = c->mutable_authentication_configuration()->mutable_scram_configuration();
    s->set_username("replicator");
    s->set_password(password);
    s->set_scram_mechanism("SCRAM-SHA-256");
    e.has_password = !password.empty();
    return e;
}

/// The link as the API returns it: uuid and audit, no password.
v1::ShadowLink stored(const shadow_link_entry& e) {
    v1::ShadowLink l = e.link;
    l.set_uuid("u-1");
    l.mutable_updated()->set_revision(33);
    auto* s = l.mutable_config()
                  ->mutable_client_options()
                  ->mutable_authentication_configuration()
                  ->mutable_scram_configuration();
    s->clear_password();
    s->set_password_set(true);
    return l;
}

TEST(ShadowPlan, CreateWhenAbsent) {
    const auto s = plan_shadow_link(entry("pw"), std::nullopt);
    EXPECT_EQ(s.change.action(), v1::CHANGE_CREATE);
    EXPECT_EQ(s.change.object().kind(), v1::OBJECT_SHADOW_LINK);
    EXPECT_FALSE(s.change.has_error());
    EXPECT_EQ(s.request_link.config()
                  .client_options()
                  .authentication_configuration()
                  .scram_configuration()
                  .password(),
              "pw");  // sent, never shown:
    for (const auto& f : s.change.fields()) {
        EXPECT_EQ(f.after().find("pw"), std::string::npos) << f.field();
        EXPECT_EQ(f.field().find("password"), std::string::npos) << f.field();
    }
    v1::ApplyResponse r;
    *r.add_changes() = s.change;
    EXPECT_NE(plan_text(r).find("+ shadow_link dr\n"), std::string::npos) << plan_text(r);
    EXPECT_NE(plan_text(r).find("    config.client_options.bootstrap_servers: [\"10.0.0.1:9092\"]"),
              std::string::npos)
        << plan_text(r);
}

TEST(ShadowPlan, CreateWithoutPasswordIsAnError) {
    const auto s = plan_shadow_link(entry(""), std::nullopt);
    ASSERT_TRUE(s.change.has_error());
    EXPECT_EQ(s.change.error().code(), v1::INVALID_ARGUMENT);
    EXPECT_TRUE(s.change.error().message().starts_with("shadow_links[0].config: "))
        << s.change.error().message();
}

TEST(ShadowPlan, SameConfigIsNothingToDoWhateverThePassword) {
    const auto e = entry("pw");
    const auto s = plan_shadow_link(entry("another password"), stored(e));
    EXPECT_EQ(s.change.action(), v1::CHANGE_ACTION_UNSPECIFIED);
    EXPECT_TRUE(s.update_mask.empty());
}

TEST(ShadowPlan, UpdateShowsEachChangedField) {
    const auto e = entry("");
    auto next = e;
    next.link.mutable_config()->mutable_client_options()->set_metadata_max_age_ms(2000);
    const auto s = plan_shadow_link(next, stored(e));
    EXPECT_EQ(s.change.action(), v1::CHANGE_UPDATE);
    EXPECT_EQ(s.change.revision(), 33u);
    ASSERT_EQ(s.update_mask,
              std::vector<std::string>{"configurations.client_options.metadata_max_age_ms"});
    ASSERT_EQ(s.change.fields_size(), 1);
    EXPECT_EQ(s.change.fields(0).field(), "config.client_options.metadata_max_age_ms");
    EXPECT_EQ(s.change.fields(0).before(), "1000");
    EXPECT_EQ(s.change.fields(0).after(), "2000");
    EXPECT_FALSE(s.change.has_error()) << s.change.error().message();
    EXPECT_EQ(s.request_link.uuid(), "u-1");
    // The stored password is kept (password_set), not replaced by "".
    EXPECT_TRUE(s.request_link.config()
                    .client_options()
                    .authentication_configuration()
                    .scram_configuration()
                    .password_set());
}

}  // namespace
}  // namespace fjord::cli::apply
