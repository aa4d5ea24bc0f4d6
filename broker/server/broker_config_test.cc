// File: broker/server/broker_config_test.cc
//
// parse_broker_config / load_broker_config: the documented example, defaults,
// and every rejection with its exact message (unknown, duplicate and missing
// keys, wrong types, ranges, addresses, controllers, wildcards, YAML syntax).

#include "broker/server/broker_config.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace fjord::broker {
namespace {

// The example from README.md, every key set.
constexpr std::string_view full_example = R"(node_id: 1
data_dir: /var/lib/fjord/broker
controllers:
  - ctl-1.example.com:9644
  - ctl-2.example.com:9644
  - "[fd00::3]:9644"
listen:
  kafka: 0.0.0.0:9092
  metrics: 127.0.0.1:9093
advertise:
  kafka: broker-1.example.com:9092
rack: eu-west-1a
max_request_bytes: 52428800
connections_max_idle_ms: 300000
fetch_max_bytes: 52428800
flush:
  messages: 10000
  ms: 1000
group:
  offsets_topic_partitions: 32
  min_session_timeout_ms: 6000
  max_session_timeout_ms: 300000
  initial_rebalance_delay_ms: 1000
log_delete_delay_ms: 300000
log_level: debug
)";

// Minimal valid prefix for error cases that concern other keys.
constexpr std::string_view base = "node_id: 1\ndata_dir: /d\ncontrollers: [c:9644]\n";

std::string error_of(std::string_view yaml) {
    auto r = parse_broker_config(yaml);
    if (r) {
        return "<parsed>";
    }
    EXPECT_EQ(r.code(), std::errc::invalid_argument);
    return r.error().detail;
}

std::string error_with_base(std::string_view rest) {
    return error_of(std::string(base) + std::string(rest));
}

TEST(broker_config, full_example) {
    auto r = parse_broker_config(full_example);
    ASSERT_TRUE(r) << r.error().message();
    const broker_config& c = *r;
    EXPECT_EQ(c.node_id, 1);
    EXPECT_EQ(c.data_dir, "/var/lib/fjord/broker");
    EXPECT_EQ(c.controllers,
              (std::vector<host_port>{
                  {"ctl-1.example.com", 9644}, {"ctl-2.example.com", 9644}, {"fd00::3", 9644}}));
    EXPECT_EQ(c.listen.kafka, (host_port{"0.0.0.0", 9092}));
    EXPECT_EQ(c.listen.metrics, (host_port{"127.0.0.1", 9093}));
    EXPECT_EQ(c.advertise.kafka, (host_port{"broker-1.example.com", 9092}));
    EXPECT_EQ(c.rack, "eu-west-1a");
    EXPECT_EQ(c.max_request_bytes, 52428800u);
    EXPECT_EQ(c.connections_max_idle_ms, 300000u);
    EXPECT_EQ(c.fetch_max_bytes, 52428800u);
    EXPECT_EQ(c.flush, (flush_policy{10000, 1000}));
    EXPECT_EQ(c.group, (group_coordinator_config{32, 6000, 300000, 1000}));
    EXPECT_EQ(c.log_delete_delay_ms, 300000u);
    EXPECT_EQ(c.log_level, log_level::debug);
}

TEST(broker_config, defaults) {
    auto r = parse_broker_config(base);
    ASSERT_TRUE(r) << r.error().message();
    broker_config want;
    want.node_id = 1;
    want.data_dir = "/d";
    want.controllers = {{"c", 9644}};
    want.advertise.kafka = {"127.0.0.1", 9092};
    EXPECT_EQ(*r, want);
    EXPECT_EQ(r->listen.kafka.to_string(), "127.0.0.1:9092");
    EXPECT_EQ(r->listen.metrics->to_string(), "127.0.0.1:9093");
    EXPECT_EQ(r->advertise.kafka.to_string(), "127.0.0.1:9092");
    EXPECT_EQ(r->rack, "");
    EXPECT_EQ(r->max_request_bytes, 104857600u);
    EXPECT_EQ(r->connections_max_idle_ms, 600000u);
    EXPECT_EQ(r->fetch_max_bytes, 57671680u);
    EXPECT_EQ(r->flush, (flush_policy{0, 100}));
    EXPECT_EQ(r->log_delete_delay_ms, 60000u);
    EXPECT_EQ(r->log_level, log_level::info);
}

TEST(broker_config, edges_of_the_ranges_are_accepted) {
    auto low = parse_broker_config(
        "node_id: 0\ndata_dir: /d\ncontrollers: [c:1]\nmax_request_bytes: 1024\n"
        "connections_max_idle_ms: 1000\nfetch_max_bytes: 1024\nflush: {messages: 0, ms: 0}\n");
    ASSERT_TRUE(low) << low.error().message();
    EXPECT_EQ(low->node_id, 0);
    auto high = parse_broker_config(
        "node_id: 2147483647\ndata_dir: /d\ncontrollers: [c:1]\n"
        "max_request_bytes: 1073741824\nconnections_max_idle_ms: 86400000\n"
        "fetch_max_bytes: 1073741824\n"
        "flush: {messages: 9223372036854775807, ms: 86400000}\n");
    ASSERT_TRUE(high) << high.error().message();
    EXPECT_EQ(high->node_id, 2147483647);
    EXPECT_EQ(high->max_request_bytes, 1073741824u);
    EXPECT_EQ(high->fetch_max_bytes, 1073741824u);
    EXPECT_EQ(high->flush, (flush_policy{9223372036854775807u, 86400000}));
}

TEST(broker_config, metrics_disabled_rack_null_and_quoted_numbers) {
    auto r = parse_broker_config(std::string(base) +
                                 "listen:\n  metrics: \"\"\nrack:\nmax_request_bytes: '2048'\n");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->listen.metrics, std::nullopt);
    EXPECT_EQ(r->rack, "");
    EXPECT_EQ(r->max_request_bytes, 2048u);
    auto r2 = parse_broker_config(std::string(base) + "listen: {metrics: }\n");
    ASSERT_TRUE(r2) << r2.error().message();
    EXPECT_EQ(r2->listen.metrics, std::nullopt);
}

TEST(broker_config, advertise_defaults_to_a_specific_listen_address) {
    auto r = parse_broker_config(std::string(base) + "listen: {kafka: 10.1.1.1:9000}\n");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->advertise.kafka, (host_port{"10.1.1.1", 9000}));
}

TEST(broker_config, unknown_keys_name_the_full_path_and_line) {
    EXPECT_EQ(error_with_base("flush:\n  ms: 100\n  mesages: 10\n"),
              "flush.mesages: unknown key, did you mean messages? (line 6)");
    EXPECT_EQ(error_with_base("node-id: 2\n"),
              "node-id: unknown key, did you mean node_id? (line 4)");
    EXPECT_EQ(error_with_base("listen: {kafak: a:1}\n"),
              "listen.kafak: unknown key, did you mean kafka? (line 4)");
    EXPECT_EQ(error_with_base("advertise: {metrics: a:1}\n"),
              "advertise.metrics: unknown key (line 4)");
    // Not a broker key: the controller sets the session timeout.
    EXPECT_EQ(error_with_base("broker_session_timeout_ms: 9000\n"),
              "broker_session_timeout_ms: unknown key (line 4)");
}

TEST(broker_config, duplicate_keys) {
    EXPECT_EQ(error_with_base("node_id: 2\n"),
              "node_id: duplicate key, first set on line 1 (line 4)");
    EXPECT_EQ(error_with_base("flush:\n  ms: 10\n  ms: 20\n"),
              "flush.ms: duplicate key, first set on line 5 (line 6)");
}

TEST(broker_config, missing_required_keys) {
    EXPECT_EQ(error_of(""),
              "node_id: required key is missing\n"
              "data_dir: required key is missing\n"
              "controllers: required key is missing");
    EXPECT_EQ(error_of("node_id: 1\ndata_dir: /d\n"), "controllers: required key is missing");
}

TEST(broker_config, wrong_types) {
    EXPECT_EQ(error_with_base("rack: [a]\n"), "rack: expected a string, got a sequence (line 4)");
    EXPECT_EQ(error_with_base("listen: [a]\n"),
              "listen: expected a mapping, got a sequence (line 4)");
    EXPECT_EQ(error_with_base("advertise: a:1\n"),
              "advertise: expected a mapping, got \"a:1\" (line 4)");
    EXPECT_EQ(error_with_base("flush: 5\n"), "flush: expected a mapping, got \"5\" (line 4)");
    EXPECT_EQ(error_with_base("log_level: [info]\n"),
              "log_level: expected a string, got a sequence (line 4)");
    EXPECT_EQ(error_of("node_id: 1\ndata_dir:\ncontrollers: [c:1]\n"),
              "data_dir: expected a string, got nothing (null) (line 2)");
    EXPECT_EQ(error_of("node_id: 1\ndata_dir: \"\"\ncontrollers: [c:1]\n"),
              "data_dir: must not be empty (line 2)");
    EXPECT_EQ(error_of("- node_id: 1\n"), "top level: expected a mapping, got a sequence (line 1)");
}

// Every numeric key: a non-integer and an out-of-range value, each naming
// the key and its line.
TEST(broker_config, every_number_checks_type_and_range) {
    struct bad_case {
        std::string yaml;
        std::string error;
    };
    const std::string ctl = "controllers: [c:1]\n";
    for (const bad_case& c : {
             bad_case{"node_id: one\ndata_dir: /d\n" + ctl,
                      "node_id: expected an unsigned integer, got \"one\" (line 1)"},
             bad_case{"node_id: -1\ndata_dir: /d\n" + ctl,
                      "node_id: expected an unsigned integer, got \"-1\" (line 1)"},
             bad_case{"node_id: 2147483648\ndata_dir: /d\n" + ctl,
                      "node_id: must be between 0 and 2147483647, got 2147483648 (line 1)"},
             bad_case{std::string(base) + "max_request_bytes: 1MB\n",
                      "max_request_bytes: expected an unsigned integer, got \"1MB\" (line 4)"},
             bad_case{std::string(base) + "max_request_bytes: 1023\n",
                      "max_request_bytes: must be between 1024 and 1073741824, got 1023 (line 4)"},
             bad_case{std::string(base) + "max_request_bytes: 1073741825\n",
                      "max_request_bytes: must be between 1024 and 1073741824, got 1073741825 "
                      "(line 4)"},
             bad_case{
                 std::string(base) + "connections_max_idle_ms: 1.5\n",
                 "connections_max_idle_ms: expected an unsigned integer, got \"1.5\" (line 4)"},
             bad_case{std::string(base) + "fetch_max_bytes: 1023\n",
                      "fetch_max_bytes: must be between 1024 and 1073741824, got 1023 (line 4)"},
             bad_case{std::string(base) + "fetch_max_bytes: 1073741825\n",
                      "fetch_max_bytes: must be between 1024 and 1073741824, got 1073741825 "
                      "(line 4)"},
             bad_case{std::string(base) + "connections_max_idle_ms: 999\n",
                      "connections_max_idle_ms: must be between 1000 and 86400000, got 999 "
                      "(line 4)"},
             bad_case{std::string(base) + "flush:\n  messages: many\n",
                      "flush.messages: expected an unsigned integer, got \"many\" (line 5)"},
             bad_case{std::string(base) + "flush:\n  messages: 9223372036854775808\n",
                      "flush.messages: must be between 0 and 9223372036854775807, got "
                      "9223372036854775808 (line 5)"},
             bad_case{std::string(base) + "flush: {ms: [1]}\n",
                      "flush.ms: expected an unsigned integer, got a sequence (line 4)"},
             bad_case{std::string(base) + "flush: {ms: 86400001}\n",
                      "flush.ms: must be between 0 and 86400000, got 86400001 (line 4)"},
         }) {
        EXPECT_EQ(error_of(c.yaml), c.error) << c.yaml;
    }
}

TEST(broker_config, group_coordinator_keys) {
    auto r =
        parse_broker_config(std::string(base) +
                            "group: {offsets_topic_partitions: 1, min_session_timeout_ms: 1,\n"
                            "        max_session_timeout_ms: 1, initial_rebalance_delay_ms: 0}\n");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->group, (group_coordinator_config{1, 1, 1, 0}));
    EXPECT_EQ(parse_broker_config(base)->group,
              (group_coordinator_config{16, 6000, 1800000, 3000}));

    EXPECT_EQ(error_with_base("group: {offsets_topic_partitions: 0}\n"),
              "group.offsets_topic_partitions: must be between 1 and 10000, got 0 (line 4)");
    EXPECT_EQ(
        error_with_base("group: {initial_rebalance_delay_ms: 300001}\n"),
        "group.initial_rebalance_delay_ms: must be between 0 and 300000, got 300001 (line 4)");
    EXPECT_EQ(error_with_base("group:\n  min_session_timeout_m: 10\n"),
              "group.min_session_timeout_m: unknown key, did you mean min_session_timeout_ms? "
              "(line 5)");
    // The bounds must leave some session timeout allowed.
    EXPECT_EQ(error_with_base("group:\n  min_session_timeout_ms: 7000\n"
                              "  max_session_timeout_ms: 6999\n"),
              "group.min_session_timeout_ms: 7000 is more than group.max_session_timeout_ms "
              "(6999) (line 5)");
    EXPECT_EQ(error_with_base("group:\n  max_session_timeout_ms: 5000\n"),
              "group.min_session_timeout_ms: 6000 is more than group.max_session_timeout_ms "
              "(5000) (line 5)");
}

TEST(broker_config, principal_mapping_rules_need_client_certificates) {
    EXPECT_EQ(error_with_base("principal_mapping_rules: DEFAULT\n"),
              "principal_mapping_rules: needs kafka_tls enabled with a truststore_file: the "
              "listener asks for client certificates only then, so no rule would ever apply "
              "(line 4)");
    EXPECT_EQ(error_with_base("kafka_tls: {enabled: true, cert_file: /c, key_file: /k}\n"
                              "principal_mapping_rules: DEFAULT\n"),
              "principal_mapping_rules: needs kafka_tls enabled with a truststore_file: the "
              "listener asks for client certificates only then, so no rule would ever apply "
              "(line 5)");
    auto ok = parse_broker_config(
        std::string(base) +
        "kafka_tls: {enabled: true, cert_file: /c, key_file: /k, truststore_file: /ca}\n"
        "principal_mapping_rules: \"RULE:^CN=([^,]+)$/$1/L\"\n");
    ASSERT_TRUE(ok) << ok.error().detail;
    EXPECT_EQ(ok->principal_mapping_rules, "RULE:^CN=([^,]+)$/$1/L");
}

TEST(broker_config, log_delete_delay_ms) {
    for (const auto& [text, want] : {std::pair<const char*, uint64_t>{"0", 0},
                                     {"1", 1},
                                     {"\"250\"", 250},
                                     {"9223372036854775807", 9223372036854775807u}}) {
        auto r = parse_broker_config(std::string(base) + "log_delete_delay_ms: " + text + "\n");
        ASSERT_TRUE(r) << text << ": " << r.error().message();
        EXPECT_EQ(r->log_delete_delay_ms, want) << text;
    }
    EXPECT_EQ(error_with_base("log_delete_delay_ms: -1\n"),
              "log_delete_delay_ms: must be 0 or more milliseconds, got -1 (line 4)");
    EXPECT_EQ(error_with_base("log_delete_delay_ms: 1m\n"),
              "log_delete_delay_ms: expected an unsigned integer, got \"1m\" (line 4)");
    EXPECT_EQ(error_with_base("log_delete_delay_ms: 9223372036854775808\n"),
              "log_delete_delay_ms: must be between 0 and 9223372036854775807, got "
              "9223372036854775808 (line 4)");
    EXPECT_EQ(error_with_base("log_delete_dely_ms: 5\n"),
              "log_delete_dely_ms: unknown key, did you mean log_delete_delay_ms? (line 4)");
}

TEST(broker_config, log_level) {
    EXPECT_EQ(error_with_base("log_level: verbose\n"),
              "log_level: expected one of trace, debug, info, warn, error, off, got \"verbose\" "
              "(line 4)");
    for (const char* level : {"trace", "debug", "info", "warn", "error"}) {
        EXPECT_TRUE(parse_broker_config(std::string(base) + "log_level: " + level + "\n")) << level;
    }
}

TEST(broker_config, controllers) {
    EXPECT_EQ(error_of("node_id: 1\ndata_dir: /d\ncontrollers:\n  - a:9644\n  - x\n"),
              "controllers[1]: \"x\" is not host:port: missing \":port\" (line 5)");
    EXPECT_EQ(error_of("node_id: 1\ndata_dir: /d\ncontrollers: []\n"),
              "controllers: must list at least one controller (line 3)");
    EXPECT_EQ(error_of("node_id: 1\ndata_dir: /d\ncontrollers:\n"),
              "controllers: expected a sequence of host:port, got nothing (null) (line 3)");
    EXPECT_EQ(error_of("node_id: 1\ndata_dir: /d\ncontrollers: a:9644\n"),
              "controllers: expected a sequence of host:port, got \"a:9644\" (line 3)");
    EXPECT_EQ(error_of("node_id: 1\ndata_dir: /d\ncontrollers:\n  - {host: a}\n"),
              "controllers[0]: expected host:port, got a mapping (line 4)");
    EXPECT_EQ(error_of("node_id: 1\ndata_dir: /d\ncontrollers: [a:1, \"0.0.0.0:2\", a:1]\n"),
              "controllers[1]: 0.0.0.0:2 is a wildcard address; give one the broker can reach "
              "(line 3)\n"
              "controllers[2]: a:1 is also controllers[0] (line 3)");
}

TEST(broker_config, addresses) {
    EXPECT_EQ(error_with_base("listen: {kafka: localhost}\n"),
              "listen.kafka: \"localhost\" is not host:port: missing \":port\" (line 4)");
    EXPECT_EQ(
        error_with_base("listen: {metrics: \"h:http\"}\n"),
        "listen.metrics: \"h:http\" is not host:port: port \"http\" is not a number (line 4)");
    EXPECT_EQ(error_with_base("advertise: {kafka: \"::1:9092\"}\n"),
              "advertise.kafka: \"::1:9092\" is not host:port: an IPv6 address must be in "
              "brackets, as in [::1]:9644 (line 4)");
}

TEST(broker_config, wildcard_and_conflicting_addresses) {
    EXPECT_EQ(error_with_base("listen:\n  kafka: 0.0.0.0:9092\n"),
              "advertise.kafka: required when listen.kafka is a wildcard address (0.0.0.0:9092) "
              "(line 5)");
    EXPECT_EQ(error_with_base("listen: {kafka: \"[::]:9092\"}\n"),
              "advertise.kafka: required when listen.kafka is a wildcard address ([::]:9092) "
              "(line 4)");
    EXPECT_EQ(error_with_base("advertise: {kafka: 0.0.0.0:9092}\n"),
              "advertise.kafka: 0.0.0.0:9092 is a wildcard address; advertise one that clients "
              "can reach (line 4)");
    EXPECT_EQ(error_with_base("listen: {kafka: 127.0.0.1:9000, metrics: 127.0.0.1:9000}\n"),
              "listen.metrics: 127.0.0.1:9000 conflicts with listen.kafka (127.0.0.1:9000) "
              "(line 4)");
    EXPECT_EQ(error_with_base("listen: {kafka: 0.0.0.0:9000, metrics: 127.0.0.1:9000}\n"
                              "advertise: {kafka: b:9000}\n"),
              "listen.metrics: 127.0.0.1:9000 conflicts with listen.kafka (0.0.0.0:9000) "
              "(line 4)");
    // A wildcard listener with an advertised address is the usual set-up.
    EXPECT_EQ(error_with_base("listen: {kafka: 0.0.0.0:9092}\nadvertise: {kafka: b:9092}\n"),
              "<parsed>");
}

TEST(broker_config, all_problems_are_reported_in_line_order) {
    EXPECT_EQ(error_of("log_level: loud\n"
                       "controllers:\n"
                       "  - a:1\n"
                       "  - x\n"
                       "flush:\n"
                       "  ms: soon\n"
                       "max_request_bytes: 1\n"
                       "extra: 1\n"),
              "log_level: expected one of trace, debug, info, warn, error, off, got \"loud\" "
              "(line 1)\n"
              "controllers[1]: \"x\" is not host:port: missing \":port\" (line 4)\n"
              "flush.ms: expected an unsigned integer, got \"soon\" (line 6)\n"
              "max_request_bytes: must be between 1024 and 1073741824, got 1 (line 7)\n"
              "extra: unknown key (line 8)\n"
              "node_id: required key is missing\n"
              "data_dir: required key is missing");
}

TEST(broker_config, yaml_syntax_errors) {
    EXPECT_EQ(error_of("node_id: 1\n  data_dir: /d\n"),
              "YAML syntax error: illegal map value (line 2, column 11)");
    EXPECT_EQ(error_of(std::string(base) + "---\nnode_id: 2\n"),
              "expected one YAML document, found 2");
}

class temp_file {
  public:
    explicit temp_file(std::string_view contents) {
        char tmpl[] = "/tmp/fjord_broker_config_test_XXXXXX";
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

TEST(broker_config, load_prefixes_every_line_with_the_path) {
    temp_file good(full_example);
    auto r = load_broker_config(good.path());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->node_id, 1);

    temp_file bad("node_id: x\ndata_dir: /d\ncontrollers: [c:1]\nbogus: 1\n");
    auto b = load_broker_config(bad.path());
    ASSERT_FALSE(b);
    EXPECT_EQ(b.code(), std::errc::invalid_argument);
    EXPECT_EQ(b.error().detail, bad.path() +
                                    ": node_id: expected an unsigned integer, got \"x\" "
                                    "(line 1)\n" +
                                    bad.path() + ": bogus: unknown key (line 4)");
}

TEST(broker_config, load_missing_and_oversized_files) {
    auto m = load_broker_config("/nonexistent/broker.yaml");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(m.error().detail, "/nonexistent/broker.yaml: cannot open: No such file or directory");

    temp_file big(std::string(2 << 20, '#'));
    auto b = load_broker_config(big.path());
    ASSERT_FALSE(b);
    EXPECT_EQ(b.code(), std::errc::file_too_large);
    EXPECT_EQ(b.error().detail,
              big.path() + ": larger than 1048576 bytes; is this the configuration file?");
}

}  // namespace
}  // namespace fjord::broker

namespace fjord::broker {
namespace {

TEST(broker_config, authentication_method_and_controller_credentials) {
    auto r =
        parse_broker_config(std::string(base) +
                            "authentication_method: {kafka: sasl}\n"
                            "controller_credentials: {username: broker-1, password: s3cret}\n");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->authentication_method.kafka, listener_authentication::sasl);
    EXPECT_EQ(r->controller_credentials, (controller_credential{"broker-1", "s3cret"}));
    auto none = parse_broker_config(std::string(base) + "authentication_method:\n  kafka: none\n");
    ASSERT_TRUE(none);
    EXPECT_EQ(none->authentication_method.kafka, listener_authentication::none);
    // Unset: follows the cluster's enable_sasl.
    EXPECT_FALSE(parse_broker_config(base)->authentication_method.kafka.has_value());
    EXPECT_FALSE(parse_broker_config(base)->controller_credentials.has_value());

    EXPECT_EQ(error_with_base("authentication_method: {kafka: scram}\n"),
              "authentication_method.kafka: \"scram\" is not none or sasl (line 4)");
    EXPECT_EQ(error_with_base("authentication_method: {kafak: sasl}\n"),
              "authentication_method.kafak: unknown key, did you mean kafka? (line 4)");
    const std::string missing = error_with_base("controller_credentials: {username: b}\n");
    EXPECT_NE(missing.find("controller_credentials.password"), std::string::npos) << missing;
    const std::string long_pw = error_with_base(
        "controller_credentials: {username: b, password: " + std::string(1025, 'x') + "}\n");
    EXPECT_NE(long_pw.find("controller_credentials.password: 1025 bytes"), std::string::npos)
        << long_pw;
    EXPECT_EQ(long_pw.find("xxxx"), std::string::npos) << "the password is never repeated";
}

}  // namespace
}  // namespace fjord::broker
