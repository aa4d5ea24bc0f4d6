// File: cli/apply/desired_state_test.cc
//
// fjord apply's desired-state codec (desired_state.h): every key to its
// DesiredState field; present-but-empty lists; unknown keys named with path
// and line; inline passwords refused; password_env / password_file
// resolution and its errors naming the key; ACL and role vocabulary; config
// values' text; shadow link entries.

#include "cli/apply/desired_state.h"

#include <map>
#include <string>

#include <gtest/gtest.h>

namespace fjord::cli::apply {
namespace {

/// Secrets from maps: an absent variable is unset; an absent file cannot be
/// read.
struct fake_secrets {
    std::map<std::string, std::string> env;
    std::map<std::string, std::string> files;
    secret_source source() const {
        return {[this](const std::string& v) -> std::optional<std::string> {
                    auto it = env.find(v);
                    return it == env.end() ? std::nullopt : std::optional(it->second);
                },
                [this](const std::string& p) -> result<std::string> {
                    auto it = files.find(p);
                    if (it == files.end()) {
                        return error_info(
                            std::make_error_code(std::errc::no_such_file_or_directory),
                            "cannot read " + p + ": No such file or directory");
                    }
                    return it->second;
                }};
    }
};

result<desired_file> parse(std::string_view text, const fake_secrets& s = {}) {
    return parse_desired_state(text, s.source());
}

std::string error_of(std::string_view text, const fake_secrets& s = {}) {
    auto r = parse(text, s);
    EXPECT_FALSE(r) << text;
    return r ? std::string() : r.error().detail;
}

TEST(DesiredState, EveryKey) {
    fake_secrets s;
    s.env["ALICE_PW"] = "alice-secret";
    s.files["/run/bob.pw"] = "bob-secret\n";
    auto r = parse(R"(owner: ci-prod
topics:
  - name: orders
    partitions: 6
    replication_factor: 3
    config:
      retention.ms: 86400000
      cleanup.policy: [compact, delete]
      compression.type: zstd
      unclean.leader.election.enable: false
  - name: logs
acls:
  - principal: alice
    resource_type: topic
    resource_name: orders
    operation: read
  - principal: Role:ops
    host: 10.0.0.1
    resource_type: group
    resource_name: app-
    pattern_type: prefixed
    operation: describe
    permission: deny
  - principal: User:*
    resource_type: cluster
    operation: describe_configs
users:
  - name: alice
    password_env: ALICE_PW
  - name: bob
    mechanism: scram-sha-512
    password_file: /run/bob.pw
roles:
  - name: ops
    members: [alice, User:bob]
cluster_config:
  log_retention_ms: 3600000
  auto_create_topics_enabled: true
  superusers: [admin, root]
)",
                   s);
    ASSERT_TRUE(r) << r.error().detail;
    const auto& d = r->state;
    EXPECT_EQ(r->owner, "ci-prod");
    EXPECT_TRUE(d.has_topics() && d.has_acls() && d.has_users() && d.has_roles() &&
                d.has_cluster_config());
    EXPECT_FALSE(r->has_shadow_links);
    ASSERT_EQ(d.topics_size(), 2);
    EXPECT_EQ(d.topics(0).name(), "orders");
    EXPECT_EQ(d.topics(0).partitions(), 6);
    EXPECT_EQ(d.topics(0).replication_factor(), 3);
    EXPECT_EQ(d.topics(0).configs().at("retention.ms"), "86400000");
    EXPECT_EQ(d.topics(0).configs().at("cleanup.policy"), "compact,delete");
    EXPECT_EQ(d.topics(0).configs().at("unclean.leader.election.enable"), "false");
    EXPECT_EQ(d.topics(0).configs().size(), 4u);
    // Left out: the cluster's defaults.
    EXPECT_EQ(d.topics(1).partitions(), -1);
    EXPECT_EQ(d.topics(1).replication_factor(), -1);
    EXPECT_TRUE(d.topics(1).configs().empty());

    ASSERT_EQ(d.acls_size(), 3);
    EXPECT_EQ(d.acls(0).principal(), "User:alice");
    EXPECT_EQ(d.acls(0).host(), "*");
    EXPECT_EQ(d.acls(0).resource_type(), v1::ACL_RESOURCE_TOPIC);
    EXPECT_EQ(d.acls(0).resource_name(), "orders");
    EXPECT_EQ(d.acls(0).pattern_type(), v1::ACL_PATTERN_LITERAL);
    EXPECT_EQ(d.acls(0).operation(), v1::ACL_OPERATION_READ);
    EXPECT_EQ(d.acls(0).permission(), v1::ACL_PERMISSION_ALLOW);
    EXPECT_EQ(d.acls(1).principal(), "Role:ops");
    EXPECT_EQ(d.acls(1).host(), "10.0.0.1");
    EXPECT_EQ(d.acls(1).pattern_type(), v1::ACL_PATTERN_PREFIXED);
    EXPECT_EQ(d.acls(1).permission(), v1::ACL_PERMISSION_DENY);
    EXPECT_EQ(d.acls(2).resource_name(), "kafka-cluster");
    EXPECT_EQ(d.acls(2).operation(), v1::ACL_OPERATION_DESCRIBE_CONFIGS);

    ASSERT_EQ(d.users_size(), 2);
    EXPECT_EQ(d.users(0).password(), "alice-secret");
    EXPECT_EQ(d.users(0).mechanism(), "SCRAM-SHA-256");
    EXPECT_EQ(d.users(1).password(), "bob-secret");  // one trailing line break dropped
    EXPECT_EQ(d.users(1).mechanism(), "SCRAM-SHA-512");

    ASSERT_EQ(d.roles_size(), 1);
    EXPECT_EQ(d.roles(0).members(0), "User:alice");
    EXPECT_EQ(d.roles(0).members(1), "User:bob");

    EXPECT_EQ(d.cluster_config().at("log_retention_ms"), "3600000");
    EXPECT_EQ(d.cluster_config().at("auto_create_topics_enabled"), "true");
    EXPECT_EQ(d.cluster_config().at("superusers"), "admin,root");
}

TEST(DesiredState, PresentListsAreDesiredSetsAbsentOnesAreLeftAlone) {
    auto r = parse("topics: []\nacls:\n");
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_TRUE(r->state.has_topics());
    EXPECT_TRUE(r->state.has_acls());  // null: present, empty
    EXPECT_FALSE(r->state.has_users() || r->state.has_roles() || r->state.has_cluster_config());
    auto empty = parse("");
    ASSERT_TRUE(empty);
    EXPECT_FALSE(empty->state.has_topics());
}

TEST(DesiredState, UnknownKeysNamePathAndLine) {
    EXPECT_EQ(error_of("topics: []\ntopic: []\n"), "topic: unknown key (line 2)");
    EXPECT_EQ(error_of("topics:\n  - name: a\n    partiton: 3\n"),
              "topics[0].partiton: unknown key (line 3)");
    EXPECT_EQ(
        error_of("users:\n  - name: a\n    password_env: X\n    role: admin\n", {{{"X", "x"}}, {}}),
        "users[0].role: unknown key (line 4)");
    EXPECT_EQ(error_of("roles:\n  - name: r\n    member: [a]\n"),
              "roles[0].member: unknown key (line 3)");
    EXPECT_EQ(error_of("acls:\n  - principal: a\n    resource: topic\n"),
              "acls[0].resource: unknown key (line 3)");
    EXPECT_EQ(
        error_of(
            "shadow_links:\n  - name: l\n    config:\n      name: l\n      clint_options: {}\n"),
        "shadow_links[0].config.clint_options: unknown key (line 5)");
    EXPECT_EQ(error_of("topics:\n  - name: a\n  - name: a\n"),
              "topics[1].name: \"a\" is listed twice (first at topics[0].name) (line 3)");
}

TEST(DesiredState, ValuesOfTheWrongKind) {
    EXPECT_EQ(error_of("- a\n"),
              "expected a map with topics, acls, users, roles, cluster_config, ... (line 1)");
    EXPECT_EQ(error_of("topics: {name: a}\n"), "topics: expected a list (line 1)");
    EXPECT_EQ(error_of("topics:\n  - partitions: 3\n"), "topics[0].name: required (line 2)");
    EXPECT_EQ(error_of("topics:\n  - name: a\n    partitions: three\n"),
              "topics[0].partitions: \"three\" is not a whole number (line 3)");
    EXPECT_EQ(error_of("topics:\n  - name: a\n    partitions: 0\n"),
              "topics[0].partitions: 0 is not allowed (at least 1; leave it out for the cluster's "
              "default) (line 3)");
    EXPECT_EQ(error_of("topics:\n  - name: a\n    config:\n      x: {y: 1}\n"),
              "topics[0].config.x: expected a scalar or a list of scalars (line 4)");
    EXPECT_EQ(error_of("cluster_config:\n  x:\n"),
              "cluster_config.x: expected a value (\"\" to reset the key to its default) (line 2)");
    EXPECT_EQ(error_of("owner: [a]\n"), "owner: expected a string (line 1)");
    EXPECT_TRUE(error_of("topics: [\n").starts_with("not valid YAML: "));
}

TEST(DesiredState, AclVocabulary) {
    EXPECT_EQ(
        error_of("acls:\n  - principal: a\n    resource_type: topic\n    resource_name: t\n"
                 "    operation: reed\n"),
        "acls[0].operation: \"reed\" is not one of any, all, read, write, create, delete, alter, "
        "describe, cluster_action, describe_configs, alter_configs, idempotent_write (line "
        "5)");
    EXPECT_EQ(error_of("acls:\n  - principal: Group:x\n    resource_type: topic\n"
                       "    resource_name: t\n    operation: read\n"),
              "acls[0].principal: \"Group:x\": Group principals are not supported (User:NAME, "
              "User:* or Role:NAME) (line 2)");
    EXPECT_EQ(error_of("acls:\n  - principal: a\n    resource_type: topic\n    operation: read\n"),
              "acls[0].resource_name: required (line 2)");
    const std::string any = error_of(
        "acls:\n  - principal: a\n    resource_type: topic\n    resource_name: t\n"
        "    operation: any\n");
    EXPECT_TRUE(any.starts_with("acls[0].operation: ")) << any;
    EXPECT_TRUE(any.ends_with("(line 5)")) << any;
    const std::string host = error_of(
        "acls:\n  - principal: a\n    host: nowhere\n    resource_type: topic\n"
        "    resource_name: t\n    operation: read\n");
    EXPECT_TRUE(host.starts_with("acls[0].host: ")) << host;
    EXPECT_EQ(error_of("roles:\n  - name: r\n    members: [Role:x]\n").substr(0, 19),
              "roles[0].members[0]");
}

TEST(DesiredState, UserPasswords) {
    // Inline: refused, whatever else is there.
    EXPECT_EQ(error_of("users:\n  - name: a\n    password: hunter2\n"),
              "users[0].password: an inline password is not accepted: use password_env: "
              "VARIABLE or password_file: PATH (the file is meant to be committed) (line 3)");
    EXPECT_EQ(error_of("users:\n  - name: a\n"),
              "users[0].password_env: required (or password_file) (line 2)");
    EXPECT_EQ(error_of("users:\n  - name: a\n    password_env: NOPE\n"),
              "users[0].password_env: environment variable NOPE is not set (line 3)");
    EXPECT_EQ(error_of("users:\n  - name: a\n    password_env: E\n", {{{"E", ""}}, {}}),
              "users[0].password_env: environment variable E is empty (line 3)");
    EXPECT_EQ(error_of("users:\n  - name: a\n    password_file: /x\n"),
              "users[0].password_file: cannot read /x: No such file or directory (line 3)");
    EXPECT_EQ(error_of("users:\n  - name: a\n    password_file: /e\n", {{}, {{"/e", "\r\n"}}}),
              "users[0].password_file: /e is empty (line 3)");
    EXPECT_EQ(error_of("users:\n  - name: a\n    password_env: E\n    password_file: /e\n",
                       {{{"E", "x"}}, {{"/e", "y"}}}),
              "users[0].password_file: password_env and password_file are mutually exclusive; "
              "set one (line 4)");
    EXPECT_EQ(error_of("users:\n  - name: a\n    mechanism: md5\n    password_env: E\n",
                       {{{"E", "x"}}, {}}),
              "users[0].mechanism: \"md5\" is not one of SCRAM-SHA-256, SCRAM-SHA-512 (line 3)");
    // A password's own characters are kept (only one trailing line break goes).
    auto r = parse("users:\n  - name: a\n    password_file: /p\n", {{}, {{"/p", " x y\n\n"}}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->state.users(0).password(), " x y\n");
}

TEST(DesiredState, ShadowLinks) {
    fake_secrets s;
    s.env["SRC_PW"] = "source-secret";
    auto r = parse(R"(shadow_links:
  - name: dr
    password_env: SRC_PW
    config:
      client_options:
        bootstrap_servers: ["10.0.0.1:9092"]
        authentication_configuration:
          scram_configuration:
            username: replicator
            scram_mechanism: SCRAM-SHA-512
      topic_metadata_sync_options:
        interval: 30s
  - name: plain
    config:
      name: plain
      client_options:
        bootstrap_servers: ["10.0.0.2:9092"]
)",
                   s);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_TRUE(r->has_shadow_links);
    ASSERT_EQ(r->shadow_links.size(), 2u);
    const auto& dr = r->shadow_links[0];
    EXPECT_EQ(dr.link.name(), "dr");
    EXPECT_EQ(dr.path, "shadow_links[0]");
    EXPECT_TRUE(dr.has_password);
    EXPECT_EQ(dr.link.config()
                  .client_options()
                  .authentication_configuration()
                  .scram_configuration()
                  .password(),
              "source-secret");
    EXPECT_EQ(dr.link.config().topic_metadata_sync_options().interval_ms(), 30000);
    EXPECT_FALSE(r->shadow_links[1].has_password);
    EXPECT_EQ(error_of("shadow_links:\n  - name: a\n    config:\n      name: b\n"),
              "shadow_links[0].config.name: \"b\" differs from the entry's name \"a\" (leave it "
              "out) (line 4)");
    EXPECT_EQ(error_of("shadow_links:\n  - name: a\n"),
              "shadow_links[0].config: required (the YAML of fjord shadow create -c) (line 2)");
    EXPECT_EQ(error_of("shadow_links:\n  - name: a\n    password_env: E\n    config:\n"
                       "      client_options: {bootstrap_servers: [\"h:1\"]}\n",
                       {{{"E", "x"}}, {}}),
              "shadow_links[0].password_env: the config has no "
              "client_options.authentication_configuration to use the password for (line 3)");
}

TEST(DesiredState, ConfigValueText) {
    const YAML::Node n = YAML::Load("{a: 1.50, b: yes, c: [x, 2], d: \"\"}");
    EXPECT_EQ(*config_value_text(n["a"], "a"), "1.50");  // as written
    EXPECT_EQ(*config_value_text(n["b"], "b"), "yes");
    EXPECT_EQ(*config_value_text(n["c"], "c"), "x,2");
    EXPECT_EQ(*config_value_text(n["d"], "d"), "");
}

}  // namespace
}  // namespace fjord::cli::apply
