// File: controller/server/controller_config_test.cc
//
// parse_controller_config / load_controller_config: the documented example,
// defaults, and every rejection with its exact message (unknown, duplicate
// and missing keys, wrong types, ranges, addresses, membership, conflicts,
// YAML syntax). host:port parsing on its own is common/host_port_test.cc.

#include "controller/server/controller_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace fjord::server {
namespace {

// The example from README.md, every key set.
constexpr std::string_view full_example = R"(node_id: 1
data_dir: /var/lib/fjord/controller
listen:
  api: 0.0.0.0:9644
  peer: 0.0.0.0:33145
  metrics: 127.0.0.1:9645
advertise:
  api: ctl-1.example.com:9644
  peer: 10.0.0.1:33145
initial_members:
  - {id: 1, peer: 10.0.0.1:33145, api: ctl-1.example.com:9644}
  - {id: 2, peer: 10.0.0.2:33145, api: ctl-2.example.com:9644}
  - id: 3
    peer: "[fd00::3]:33145"
    api: "[fd00::3]:9644"
cluster_id: 9F1C0A52-6B1E-4C3D-8E2F-0A1B2C3D4E5F
raft:
  tick_ms: 50
  election_ticks: 20
  heartbeat_ticks: 2
  snapshot_entries: 5000
  max_append_bytes: 2097152
segment_bytes: 134217728
broker_session_timeout_ms: 6000
log_level: debug
)";

// Minimal valid prefix for error cases that concern other keys.
constexpr std::string_view base = "node_id: 1\ndata_dir: /d\n";

std::string error_of(std::string_view yaml) {
    auto r = parse_controller_config(yaml);
    if (r) {
        return "<parsed>";
    }
    EXPECT_EQ(r.code(), std::errc::invalid_argument);
    return r.error().detail;
}

std::string error_with_base(std::string_view rest) {
    return error_of(std::string(base) + std::string(rest));
}

TEST(controller_config, full_example) {
    auto r = parse_controller_config(full_example);
    ASSERT_TRUE(r) << r.error().message();
    const controller_config& c = *r;
    EXPECT_EQ(c.node_id, node_id{1});
    EXPECT_EQ(c.data_dir, "/var/lib/fjord/controller");
    EXPECT_EQ(c.listen.api, (host_port{"0.0.0.0", 9644}));
    EXPECT_EQ(c.listen.peer, (host_port{"0.0.0.0", 33145}));
    EXPECT_EQ(c.listen.metrics, (host_port{"127.0.0.1", 9645}));
    EXPECT_EQ(c.advertise.api, (host_port{"ctl-1.example.com", 9644}));
    EXPECT_EQ(c.advertise.peer, (host_port{"10.0.0.1", 33145}));
    ASSERT_EQ(c.initial_members.size(), 3u);
    EXPECT_EQ(c.initial_members[0],
              (member{node_id{1}, {"10.0.0.1", 33145}, {"ctl-1.example.com", 9644}}));
    EXPECT_EQ(c.initial_members[1],
              (member{node_id{2}, {"10.0.0.2", 33145}, {"ctl-2.example.com", 9644}}));
    EXPECT_EQ(c.initial_members[2], (member{node_id{3}, {"fd00::3", 33145}, {"fd00::3", 9644}}));
    EXPECT_EQ(c.initial_members[2].peer.to_string(), "[fd00::3]:33145");
    EXPECT_EQ(c.cluster_id, "9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5f");
    EXPECT_EQ(c.raft, (raft_options{50, 20, 2, 5000, 2097152}));
    EXPECT_EQ(c.segment_bytes, 134217728u);
    EXPECT_EQ(c.broker_session_timeout_ms, 6000u);
    EXPECT_EQ(c.log_level, log_level::debug);
}

TEST(controller_config, defaults) {
    auto r = parse_controller_config(base);
    ASSERT_TRUE(r) << r.error().message();
    controller_config want;
    want.node_id = node_id{1};
    want.data_dir = "/d";
    want.advertise = {{"127.0.0.1", 9644}, {"127.0.0.1", 33145}};
    EXPECT_EQ(*r, want);
    EXPECT_EQ(r->listen.api.to_string(), "127.0.0.1:9644");
    EXPECT_EQ(r->listen.peer.to_string(), "127.0.0.1:33145");
    EXPECT_EQ(r->listen.metrics->to_string(), "127.0.0.1:9645");
    EXPECT_TRUE(r->initial_members.empty());
    EXPECT_EQ(r->cluster_id, "");
    EXPECT_EQ(r->raft, (raft_options{50, 10, 1, 10000, 1048576}));
    EXPECT_EQ(r->segment_bytes, 67108864u);
    EXPECT_EQ(r->broker_session_timeout_ms, 9000u);
    EXPECT_EQ(r->log_level, log_level::info);
}

TEST(controller_config, metrics_disabled_and_nulls) {
    auto r = parse_controller_config(std::string(base) +
                                     "listen:\n  metrics: \"\"\ncluster_id:\ninitial_members:\n");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->listen.metrics, std::nullopt);
    EXPECT_EQ(r->cluster_id, "");
    auto r2 = parse_controller_config(std::string(base) + "listen: {metrics: }\n");
    ASSERT_TRUE(r2) << r2.error().message();
    EXPECT_EQ(r2->listen.metrics, std::nullopt);
}

TEST(controller_config, advertise_defaults_per_key) {
    auto r = parse_controller_config(std::string(base) +
                                     "listen: {api: 10.1.1.1:1000, peer: 10.1.1.1:2000}\n"
                                     "advertise: {api: public.example:443}\n");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->advertise.api, (host_port{"public.example", 443}));
    EXPECT_EQ(r->advertise.peer, (host_port{"10.1.1.1", 2000}));
}

TEST(controller_config, quoted_numbers_are_accepted) {
    // Templating tools often quote everything.
    auto r = parse_controller_config("node_id: \"7\"\ndata_dir: /d\nraft: {tick_ms: '20'}\n");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->node_id, node_id{7});
    EXPECT_EQ(r->raft.tick_ms, 20u);
}

TEST(controller_config, unknown_keys_name_the_full_path_and_line) {
    EXPECT_EQ(error_with_base("raft:\n  tick_ms: 100\n  electon_ticks: 10\n"),
              "raft.electon_ticks: unknown key, did you mean election_ticks? (line 5)");
    EXPECT_EQ(error_with_base("colour: blue\n"), "colour: unknown key (line 3)");
    EXPECT_EQ(error_with_base("listen:\n  metric: 127.0.0.1:1\n"),
              "listen.metric: unknown key, did you mean metrics? (line 4)");
    EXPECT_EQ(error_with_base("initial_members:\n  - {id: 1, peer: a:1, api: a:2, rack: r1}\n"),
              "initial_members[0].rack: unknown key (line 4)");
    EXPECT_EQ(error_with_base("advertise: {api: a:1, metrics: a:2}\n"),
              "advertise.metrics: unknown key (line 3)");
}

TEST(controller_config, all_problems_are_reported_in_line_order) {
    EXPECT_EQ(error_of("log_level: loud\n"
                       "raft:\n"
                       "  tick_ms: fast\n"
                       "extra: 1\n"),
              "log_level: expected one of trace, debug, info, warn, error, off, got \"loud\" "
              "(line 1)\n"
              "raft.tick_ms: expected an unsigned integer, got \"fast\" (line 3)\n"
              "extra: unknown key (line 4)\n"
              "node_id: required key is missing\n"
              "data_dir: required key is missing");
}

TEST(controller_config, duplicate_keys) {
    EXPECT_EQ(error_with_base("raft:\n  tick_ms: 10\n  tick_ms: 20\n"),
              "raft.tick_ms: duplicate key, first set on line 4 (line 5)");
    EXPECT_EQ(error_with_base("node_id: 2\n"),
              "node_id: duplicate key, first set on line 1 (line 3)");
}

TEST(controller_config, missing_required_keys) {
    EXPECT_EQ(error_of(""), "node_id: required key is missing\ndata_dir: required key is missing");
    EXPECT_EQ(error_of("# only a comment\n"),
              "node_id: required key is missing\ndata_dir: required key is missing");
    EXPECT_EQ(error_with_base("initial_members:\n  - {id: 1, peer: a:1}\n"),
              "initial_members[0].api: required key is missing (line 4)");
}

TEST(controller_config, wrong_types) {
    EXPECT_EQ(error_of("node_id: one\ndata_dir: /d\n"),
              "node_id: expected an unsigned integer, got \"one\" (line 1)");
    EXPECT_EQ(error_of("node_id: -1\ndata_dir: /d\n"),
              "node_id: expected an unsigned integer, got \"-1\" (line 1)");
    EXPECT_EQ(error_of("node_id: 1.5\ndata_dir: /d\n"),
              "node_id: expected an unsigned integer, got \"1.5\" (line 1)");
    EXPECT_EQ(error_of("node_id: [1]\ndata_dir: /d\n"),
              "node_id: expected an unsigned integer, got a sequence (line 1)");
    EXPECT_EQ(error_of("node_id:\ndata_dir: /d\n"),
              "node_id: expected an unsigned integer, got nothing (null) (line 1)");
    EXPECT_EQ(error_of("node_id: 1\ndata_dir: {a: b}\n"),
              "data_dir: expected a string, got a mapping (line 2)");
    EXPECT_EQ(error_of("node_id: 1\ndata_dir:\n"),
              "data_dir: expected a string, got nothing (null) (line 2)");
    EXPECT_EQ(error_of("node_id: 1\ndata_dir: \"\"\n"), "data_dir: must not be empty (line 2)");
    EXPECT_EQ(error_with_base("raft: 5\n"), "raft: expected a mapping, got \"5\" (line 3)");
    EXPECT_EQ(error_with_base("listen: [a]\n"),
              "listen: expected a mapping, got a sequence (line 3)");
    EXPECT_EQ(error_with_base("initial_members: {id: 1}\n"),
              "initial_members: expected a sequence, got a mapping (line 3)");
    EXPECT_EQ(error_with_base("initial_members:\n  - 1\n"),
              "initial_members[0]: expected a mapping, got \"1\" (line 4)");
    EXPECT_EQ(error_with_base("log_level: [info]\n"),
              "log_level: expected a string, got a sequence (line 3)");
    EXPECT_EQ(error_of("- node_id: 1\n"), "top level: expected a mapping, got a sequence (line 1)");
    EXPECT_EQ(error_of("just text\n"), "top level: expected a mapping, got \"just text\" (line 1)");
    EXPECT_EQ(error_with_base("? [a, b]\n: 1\n"), "top level: keys must be plain strings (line 3)");
}

TEST(controller_config, ranges) {
    EXPECT_EQ(error_of("node_id: 0\ndata_dir: /d\n"),
              "node_id: must be at least 1, got 0 (line 1)");
    EXPECT_EQ(error_of("node_id: 18446744073709551616\ndata_dir: /d\n"),
              "node_id: must be at most 18446744073709551615, got 18446744073709551616 (line 1)");
    EXPECT_EQ(error_with_base("raft: {tick_ms: 0}\n"),
              "raft.tick_ms: must be between 1 and 10000, got 0 (line 3)");
    EXPECT_EQ(error_with_base("raft: {election_ticks: 1}\n"),
              "raft.election_ticks: must be between 2 and 10000, got 1 (line 3)");
    EXPECT_EQ(error_with_base("raft: {snapshot_entries: 0}\n"),
              "raft.snapshot_entries: must be at least 1, got 0 (line 3)");
    EXPECT_EQ(error_with_base("raft: {max_append_bytes: 100}\n"),
              "raft.max_append_bytes: must be between 1024 and 67108864, got 100 (line 3)");
    EXPECT_EQ(error_with_base("segment_bytes: 1024\n"),
              "segment_bytes: must be between 1048576 and 1073741824, got 1024 (line 3)");
    EXPECT_EQ(error_with_base("broker_session_timeout_ms: 4294967296\n"),
              "broker_session_timeout_ms: must be between 100 and 3600000, got 4294967296 "
              "(line 3)");
    EXPECT_EQ(error_with_base("raft:\n  election_ticks: 5\n  heartbeat_ticks: 5\n"),
              "raft.heartbeat_ticks: must be less than raft.election_ticks (5), got 5 (line 5)");
    EXPECT_EQ(error_with_base("raft:\n  election_ticks: 2\n  heartbeat_ticks: 3\n"),
              "raft.heartbeat_ticks: must be less than raft.election_ticks (2), got 3 (line 5)");
}

TEST(controller_config, enumerations_and_uuid) {
    EXPECT_EQ(error_with_base("log_level: verbose\n"),
              "log_level: expected one of trace, debug, info, warn, error, off, got \"verbose\" "
              "(line 3)");
    EXPECT_EQ(error_with_base("cluster_id: abc\n"),
              "cluster_id: expected a UUID (8-4-4-4-12 hex digits) or \"\", got \"abc\" (line 3)");
    for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
        EXPECT_TRUE(parse_controller_config(std::string(base) + "log_level: " + level + "\n"))
            << level;
    }
}

TEST(controller_config, addresses) {
    EXPECT_EQ(error_with_base("listen: {api: localhost}\n"),
              "listen.api: \"localhost\" is not host:port: missing \":port\" (line 3)");
    EXPECT_EQ(error_with_base("listen: {api: \"127.0.0.1:0\"}\n"),
              "listen.api: \"127.0.0.1:0\" is not host:port: port 0 is outside 1..65535 (line 3)");
    EXPECT_EQ(error_with_base("listen: {peer: \"127.0.0.1:65536\"}\n"),
              "listen.peer: \"127.0.0.1:65536\" is not host:port: port 65536 is outside 1..65535 "
              "(line 3)");
    EXPECT_EQ(
        error_with_base("listen: {metrics: \"h:http\"}\n"),
        "listen.metrics: \"h:http\" is not host:port: port \"http\" is not a number (line 3)");
    EXPECT_EQ(error_with_base("advertise: {api: \"::1:9644\"}\n"),
              "advertise.api: \"::1:9644\" is not host:port: an IPv6 address must be in brackets, "
              "as in [::1]:9644 (line 3)");
    EXPECT_EQ(error_with_base("initial_members:\n  - {id: 1, peer: \"300.1.1.1:1\", api: a:2}\n"),
              "initial_members[0].peer: \"300.1.1.1:1\" is not host:port: \"300.1.1.1\" is not an "
              "IPv4 address (line 4)");
}

TEST(controller_config, wildcard_and_conflicting_addresses) {
    EXPECT_EQ(error_with_base("listen: {api: 0.0.0.0:9644}\n"),
              "advertise.api: required when listen.api is a wildcard address (0.0.0.0:9644) "
              "(line 3)");
    EXPECT_EQ(error_with_base("advertise: {peer: \"[::]:33145\"}\n"),
              "advertise.peer: [::]:33145 is a wildcard address; advertise one that others can "
              "reach (line 3)");
    EXPECT_EQ(error_with_base("listen: {api: 127.0.0.1:1000, peer: 127.0.0.1:1000}\n"),
              "listen.peer: 127.0.0.1:1000 conflicts with listen.api (127.0.0.1:1000) (line 3)");
    EXPECT_EQ(error_with_base("listen:\n  api: 0.0.0.0:1000\n  metrics: 127.0.0.1:1000\n"
                              "advertise: {api: a:1000}\n"),
              "listen.metrics: 127.0.0.1:1000 conflicts with listen.api (0.0.0.0:1000) (line 5)");
    // Same port on different specific addresses is fine.
    EXPECT_EQ(error_with_base("listen: {api: 127.0.0.1:1000, peer: 127.0.0.2:1000}\n"), "<parsed>");
}

TEST(controller_config, membership) {
    EXPECT_EQ(error_with_base("initial_members:\n"
                              "  - {id: 2, peer: a:1, api: a:2}\n"
                              "  - {id: 3, peer: b:1, api: b:2}\n"),
              "node_id: 1 is not among the ids of initial_members (2, 3) (line 1)");
    EXPECT_EQ(error_with_base("initial_members:\n"
                              "  - {id: 1, peer: a:1, api: a:2}\n"
                              "  - {id: 1, peer: b:1, api: b:2}\n"),
              "initial_members[1].id: duplicate member id 1, also initial_members[0] (line 5)");
    EXPECT_EQ(error_with_base("initial_members:\n"
                              "  - {id: 1, peer: a:1, api: a:2}\n"
                              "  - {id: 2, peer: a:1, api: b:2}\n"),
              "initial_members[1].peer: a:1 is also the peer address of initial_members[0] "
              "(line 5)");
    EXPECT_EQ(error_with_base("initial_members:\n"
                              "  - {id: 1, peer: 0.0.0.0:1, api: a:2}\n"),
              "initial_members[0].peer: 0.0.0.0:1 is a wildcard address; give one that others can "
              "reach (line 4)");
    EXPECT_EQ(error_with_base("initial_members:\n  - {id: 0, peer: a:1, api: a:2}\n"),
              "initial_members[0].id: must be at least 1, got 0 (line 4)");
    // A one-member group is allowed.
    EXPECT_EQ(error_with_base("initial_members: [{id: 1, peer: a:1, api: a:2}]\n"), "<parsed>");
}

TEST(controller_config, yaml_syntax_errors) {
    EXPECT_EQ(error_of("node_id: 1\n  data_dir: /d\n"),
              "YAML syntax error: illegal map value (line 2, column 11)");
    EXPECT_EQ(error_of("node_id: [1\n"),
              "YAML syntax error: end of sequence flow not found (line 2, column 1)");
    EXPECT_EQ(error_of("node_id: 1\n---\nnode_id: 2\n"), "expected one YAML document, found 2");
}

TEST(controller_config, many_problems_are_capped) {
    std::string yaml(base);
    for (int i = 0; i < 30; ++i) {
        yaml += "unknown_" + std::to_string(i) + ": 1\n";
    }
    const std::string e = error_of(yaml);
    EXPECT_TRUE(e.starts_with("unknown_0: unknown key (line 3)\n")) << e;
    EXPECT_TRUE(e.ends_with("\nunknown_19: unknown key (line 22)\n... and 10 more")) << e;
}

class temp_file {
  public:
    explicit temp_file(std::string_view contents) {
        char tmpl[] = "/tmp/fjord_config_test_XXXXXX";
        const int fd = ::mkstemp(tmpl);
        EXPECT_GE(fd, 0);
        ::close(fd);
        _path = tmpl;
        std::ofstream(_path) << contents;
    }
    ~temp_file() { std::remove(_path.c_str()); }
    const std::string& path() const { return _path; }

  private:
    std::string _path;
};

TEST(controller_config, load_prefixes_every_line_with_the_path) {
    temp_file good(full_example);
    auto r = load_controller_config(good.path());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->node_id, node_id{1});

    temp_file bad("node_id: x\nbogus: 1\n");
    auto b = load_controller_config(bad.path());
    ASSERT_FALSE(b);
    EXPECT_EQ(b.code(), std::errc::invalid_argument);
    EXPECT_EQ(b.error().detail, bad.path() +
                                    ": node_id: expected an unsigned integer, got \"x\" "
                                    "(line 1)\n" +
                                    bad.path() + ": bogus: unknown key (line 2)\n" + bad.path() +
                                    ": data_dir: required key is missing");
}

TEST(controller_config, load_missing_and_oversized_files) {
    auto m = load_controller_config("/nonexistent/controller.yaml");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(m.error().detail,
              "/nonexistent/controller.yaml: cannot open: No such file or directory");

    temp_file big(std::string(2 << 20, '#'));
    auto b = load_controller_config(big.path());
    ASSERT_FALSE(b);
    EXPECT_EQ(b.code(), std::errc::file_too_large);
    EXPECT_EQ(b.error().detail,
              big.path() + ": larger than 1048576 bytes; is this the configuration file?");
}

}  // namespace
}  // namespace fjord::server

namespace fjord::server {
namespace {

TEST(controller_config, principal_mapping_rules_need_client_certificates) {
    EXPECT_EQ(error_with_base("principal_mapping_rules: \"RULE:^CN=([^,]+)$/$1/L\"\n"),
              "principal_mapping_rules: needs api_tls enabled with a truststore_file: the API "
              "asks for client certificates only then, so no rule would ever apply (line 3)");
    EXPECT_EQ(error_with_base("api_tls: {enabled: true, cert_file: /c, key_file: /k}\n"
                              "principal_mapping_rules: DEFAULT\n"),
              "principal_mapping_rules: needs api_tls enabled with a truststore_file: the API "
              "asks for client certificates only then, so no rule would ever apply (line 4)");
    auto ok = parse_controller_config(
        std::string(base) +
        "api_tls: {enabled: true, cert_file: /c, key_file: /k, truststore_file: /ca}\n"
        "principal_mapping_rules: \"RULE:^CN=([^,]+)$/$1/L\"\n");
    ASSERT_TRUE(ok) << ok.error().detail;
    EXPECT_EQ(ok->principal_mapping_rules, "RULE:^CN=([^,]+)$/$1/L");
    EXPECT_TRUE(ok->api_tls.enabled);
    EXPECT_EQ(ok->api_tls.truststore_file, "/ca");
}

TEST(controller_config, peer_tls_requires_client_certificates) {
    EXPECT_EQ(error_with_base("peer_tls: {enabled: true, cert_file: /c, key_file: /k, "
                              "truststore_file: /ca}\n"),
              "peer_tls.require_client_auth: must be true when peer_tls is enabled: a member "
              "proves which member it is by its client certificate (and needs "
              "peer_tls.truststore_file to verify it) (line 3)");
    EXPECT_EQ(error_with_base("peer_tls: {enabled: true, cert_file: /c, key_file: /k, "
                              "truststore_file: /ca, require_client_auth: false}\n"),
              "peer_tls.require_client_auth: must be true when peer_tls is enabled: a member "
              "proves which member it is by its client certificate (and needs "
              "peer_tls.truststore_file to verify it) (line 3)");
    // require_client_auth without a truststore: the TLS block's own check.
    const std::string no_ca = error_with_base(
        "peer_tls: {enabled: true, cert_file: /c, key_file: /k, require_client_auth: true}\n");
    EXPECT_NE(no_ca.find("peer_tls"), std::string::npos) << no_ca;
    EXPECT_NE(no_ca.find("truststore_file"), std::string::npos) << no_ca;
    auto ok = parse_controller_config(std::string(base) +
                                      "peer_tls: {enabled: true, cert_file: /c, key_file: /k, "
                                      "truststore_file: /ca, require_client_auth: true}\n");
    ASSERT_TRUE(ok) << ok.error().detail;
    EXPECT_TRUE(ok->peer_tls.require_client_auth);
    // Disabled: nothing required.
    EXPECT_TRUE(parse_controller_config(std::string(base) + "peer_tls: {enabled: false}\n"));
}

}  // namespace
}  // namespace fjord::server
