// File: broker/server/broker_config.cc
//
// YAML → broker_config: the broker's keys, their ranges and the cross-key
// checks. The generic part (known keys with "did you mean", duplicates, typed
// reads naming key path and line, problems collected and reported together in
// line order) is common/yaml_config.h's yaml_checker.

#include "broker/server/broker_config.h"

#include "common/security/principal_mapping.h"
#include "common/tls/tls_yaml.h"

#include <cstdint>
#include <limits>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/yaml_config.h"

namespace fjord::broker {

namespace {

// Keys of each mapping, in the order the reference documents them.
constexpr std::string_view top_keys[] = {"node_id",
                                         "data_dir",
                                         "controllers",
                                         "listen",
                                         "advertise",
                                         "authentication_method",
                                         "controller_credentials",
                                         "rack",
                                         "max_request_bytes",
                                         "connections_max_idle_ms",
                                         "fetch_max_bytes",
                                         "flush",
                                         "group",
                                         "log_delete_delay_ms",
                                         "log_level",
                                         "kafka_tls",
                                         "controller_tls",
                                         "principal_mapping_rules",
                                         "fips_mode",
                                         "openssl_config_file",
                                         "openssl_module_directory",
                                         "fips_flag_file"};
constexpr std::string_view listen_keys[] = {"kafka", "metrics"};
constexpr std::string_view advertise_keys[] = {"kafka"};
constexpr std::string_view authentication_method_keys[] = {"kafka"};
constexpr std::string_view controller_credentials_keys[] = {"username", "password"};

void parse_authentication_method(yaml_checker& p, const yaml_field& f, broker_config& c) {
    const auto fs = p.fields(f.value, "authentication_method", f.line, authentication_method_keys);
    if (!fs) {
        return;
    }
    auto v = p.read_string(*fs, "authentication_method", "kafka", false, f.line, false);
    if (!v) {
        return;
    }
    if (*v == "none") {
        c.authentication_method.kafka = listener_authentication::none;
    } else if (*v == "sasl") {
        c.authentication_method.kafka = listener_authentication::sasl;
    } else {
        p.error("authentication_method.kafka", fmt::format("\"{}\" is not none or sasl", *v),
                p.line("authentication_method.kafka"));
    }
}

void parse_controller_credentials(yaml_checker& p, const yaml_field& f, broker_config& c) {
    const auto fs =
        p.fields(f.value, "controller_credentials", f.line, controller_credentials_keys);
    if (!fs) {
        return;
    }
    auto user = p.read_string(*fs, "controller_credentials", "username", true, f.line, false);
    auto password = p.read_string(*fs, "controller_credentials", "password", true, f.line, false);
    // The password is never repeated in a message.
    if (password && password->size() > 1024) {
        p.error("controller_credentials.password",
                fmt::format("{} bytes: at most 1024", password->size()),
                p.line("controller_credentials.password"));
        return;
    }
    if (user && password) {
        c.controller_credentials = controller_credential{std::move(*user), std::move(*password)};
    }
}
constexpr std::string_view flush_keys[] = {"messages", "ms"};
constexpr std::string_view group_keys[] = {"offsets_topic_partitions", "min_session_timeout_ms",
                                           "max_session_timeout_ms", "initial_rebalance_delay_ms"};

void parse_controllers(yaml_checker& p, const yaml_field& f, broker_config& c) {
    if (!f.value.IsSequence()) {
        p.error("controllers",
                fmt::format("expected a sequence of host:port, got {}", describe(f.value)), f.line);
        return;
    }
    if (f.value.size() == 0) {
        p.error("controllers", "must list at least one controller", f.line);
        return;
    }
    std::map<std::string, size_t> seen;
    size_t i = 0;
    for (auto it = f.value.begin(); it != f.value.end(); ++it, ++i) {
        const YAML::Node item = *it;
        const std::string path = fmt::format("controllers[{}]", i);
        const int item_line = line_of(item);
        p.note_line(path, item_line);
        if (!item.IsScalar()) {
            p.error(path, fmt::format("expected host:port, got {}", describe(item)), item_line);
            continue;
        }
        host_port hp;
        if (!p.set_address(path, item.Scalar(), hp)) {
            continue;
        }
        if (is_wildcard_host(hp.host)) {
            p.error(path,
                    fmt::format("{} is a wildcard address; give one the broker can reach",
                                hp.to_string()),
                    item_line);
        } else if (const auto [s, fresh] = seen.emplace(hp.to_string(), i); !fresh) {
            p.error(path, fmt::format("{} is also controllers[{}]", hp.to_string(), s->second),
                    item_line);
        }
        c.controllers.push_back(std::move(hp));
    }
}

void parse_listen(yaml_checker& p, const yaml_field& f, broker_config& c) {
    const auto fs = p.fields(f.value, "listen", f.line, listen_keys);
    if (!fs) {
        return;
    }
    p.read_address(*fs, "listen", "kafka", false, f.line, c.listen.kafka);
    if (const auto m = p.read_string(*fs, "listen", "metrics", false, f.line, true)) {
        if (m->empty()) {
            c.listen.metrics.reset();
        } else {
            host_port hp;
            if (p.set_address("listen.metrics", *m, hp)) {
                c.listen.metrics = hp;
            }
        }
    }
}

void parse_flush(yaml_checker& p, const yaml_field& f, broker_config& c) {
    const auto fs = p.fields(f.value, "flush", f.line, flush_keys);
    if (!fs) {
        return;
    }
    p.read_uint<uint64_t>(*fs, "flush", "messages", false, f.line, 0,
                          std::numeric_limits<int64_t>::max(), c.flush.messages);
    p.read_uint<uint32_t>(*fs, "flush", "ms", false, f.line, 0, 86'400'000, c.flush.ms);
}

void parse_group(yaml_checker& p, const yaml_field& f, broker_config& c) {
    const auto fs = p.fields(f.value, "group", f.line, group_keys);
    if (!fs) {
        return;
    }
    auto& g = c.group;
    p.read_uint<uint32_t>(*fs, "group", "offsets_topic_partitions", false, f.line, 1, 10000,
                          g.offsets_topic_partitions);
    p.read_uint<uint32_t>(*fs, "group", "min_session_timeout_ms", false, f.line, 1, 86'400'000,
                          g.min_session_timeout_ms);
    p.read_uint<uint32_t>(*fs, "group", "max_session_timeout_ms", false, f.line, 1, 86'400'000,
                          g.max_session_timeout_ms);
    p.read_uint<uint32_t>(*fs, "group", "initial_rebalance_delay_ms", false, f.line, 0, 300'000,
                          g.initial_rebalance_delay_ms);
}

bool conflicts(const host_port& a, const host_port& b) {
    return a.port == b.port &&
           (a.host == b.host || is_wildcard_host(a.host) || is_wildcard_host(b.host));
}

// Checks that need every key parsed.
void validate(yaml_checker& p, broker_config& c) {
    // Rules map verified client certificates, which the Kafka listener asks
    // for only when it has a truststore: without one they never apply.
    if (!c.principal_mapping_rules.empty() &&
        (!c.kafka_tls.enabled || c.kafka_tls.truststore_file.empty())) {
        p.error("principal_mapping_rules",
                "needs kafka_tls enabled with a truststore_file: the listener asks for client "
                "certificates only then, so no rule would ever apply",
                p.line("principal_mapping_rules"));
    }
    if (c.group.min_session_timeout_ms > c.group.max_session_timeout_ms) {
        p.error("group.min_session_timeout_ms",
                fmt::format("{} is more than group.max_session_timeout_ms ({})",
                            c.group.min_session_timeout_ms, c.group.max_session_timeout_ms),
                p.line("group.min_session_timeout_ms") != 0
                    ? p.line("group.min_session_timeout_ms")
                    : p.line("group.max_session_timeout_ms"));
    }
    if (c.listen.metrics && conflicts(*c.listen.metrics, c.listen.kafka)) {
        p.error("listen.metrics",
                fmt::format("{} conflicts with listen.kafka ({})", c.listen.metrics->to_string(),
                            c.listen.kafka.to_string()),
                p.line("listen.metrics"));
    }
    // Clients dial the advertised address, and a wildcard is not one.
    if (c.advertise.kafka.host.empty()) {
        c.advertise.kafka = c.listen.kafka;
        if (is_wildcard_host(c.listen.kafka.host)) {
            p.error("advertise.kafka",
                    fmt::format("required when listen.kafka is a wildcard address ({})",
                                c.listen.kafka.to_string()),
                    p.line("listen.kafka"));
        }
    } else if (is_wildcard_host(c.advertise.kafka.host)) {
        p.error("advertise.kafka",
                fmt::format("{} is a wildcard address; advertise one that clients can reach",
                            c.advertise.kafka.to_string()),
                p.line("advertise.kafka"));
    }
}

void parse_document(yaml_checker& p, const YAML::Node& root, broker_config& c) {
    // An empty document is an empty mapping: the missing keys say what to add.
    const YAML::Node top = root.IsNull() ? YAML::Node(YAML::NodeType::Map) : root;
    const auto fs = p.fields(top, "", line_of(top), top_keys);
    if (!fs) {
        return;
    }
    uint32_t id = 0;
    p.read_uint<uint32_t>(*fs, "", "node_id", true, 0, 0, std::numeric_limits<int32_t>::max(), id);
    c.node_id = static_cast<int32_t>(id);
    if (auto d = p.read_string(*fs, "", "data_dir", true, 0, false)) {
        c.data_dir = std::move(*d);
    }
    if (const yaml_field* f = p.lookup(*fs, "", "controllers", true, 0)) {
        parse_controllers(p, *f, c);
    }
    if (const yaml_field* f = p.lookup(*fs, "", "listen", false, 0)) {
        parse_listen(p, *f, c);
    }
    if (const yaml_field* f = p.lookup(*fs, "", "advertise", false, 0)) {
        if (const auto afs = p.fields(f->value, "advertise", f->line, advertise_keys)) {
            p.read_address(*afs, "advertise", "kafka", false, f->line, c.advertise.kafka);
        }
    }
    if (const yaml_field* f = p.lookup(*fs, "", "authentication_method", false, 0)) {
        parse_authentication_method(p, *f, c);
    }
    if (const yaml_field* f = p.lookup(*fs, "", "controller_credentials", false, 0)) {
        parse_controller_credentials(p, *f, c);
    }
    if (auto r = p.read_string(*fs, "", "rack", false, 0, true)) {
        c.rack = std::move(*r);
    }
    p.read_uint<uint32_t>(*fs, "", "max_request_bytes", false, 0, 1024, uint32_t{1} << 30,
                          c.max_request_bytes);
    p.read_uint<uint32_t>(*fs, "", "connections_max_idle_ms", false, 0, 1000, 86'400'000,
                          c.connections_max_idle_ms);
    p.read_uint<uint32_t>(*fs, "", "fetch_max_bytes", false, 0, 1024, uint32_t{1} << 30,
                          c.fetch_max_bytes);
    if (const yaml_field* f = p.lookup(*fs, "", "flush", false, 0)) {
        parse_flush(p, *f, c);
    }
    if (const yaml_field* f = p.lookup(*fs, "", "group", false, 0)) {
        parse_group(p, *f, c);
    }
    if (const yaml_field* f = p.lookup(*fs, "", "log_delete_delay_ms", false, 0);
        f != nullptr && f->value.IsScalar() && f->value.Scalar().starts_with('-')) {
        // A negative delay is the likely mistake (Kafka's -1 means "never"
        // elsewhere): say what is allowed rather than "not unsigned".
        p.error("log_delete_delay_ms",
                fmt::format("must be 0 or more milliseconds, got {}", f->value.Scalar()), f->line);
    } else {
        p.read_uint<uint64_t>(*fs, "", "log_delete_delay_ms", false, 0, 0,
                              std::numeric_limits<int64_t>::max(), c.log_delete_delay_ms);
    }
    p.read_log_level(*fs, "", "log_level", false, 0, c.log_level);
    tls::read_tls_block(p, *fs, "", "kafka_tls", tls::tls_role::server, c.kafka_tls);
    tls::read_tls_block(p, *fs, "", "controller_tls", tls::tls_role::client, c.controller_tls);
    if (auto r = p.read_string(*fs, "", "principal_mapping_rules", false, 0, true)) {
        if (auto m = security::principal_mapper::parse(*r); !m) {
            p.error("principal_mapping_rules", m.error().reason(),
                    p.line("principal_mapping_rules"));
        } else {
            c.principal_mapping_rules = std::move(*r);
        }
    }
    tls::read_fips_keys(p, *fs, c.fips);
    if (!p.failed()) {
        validate(p, c);
    }
}

}  // namespace

result<broker_config> parse_broker_config(std::string_view yaml_text) {
    return parse_config<broker_config>(yaml_text, parse_document);
}

result<broker_config> load_broker_config(const std::string& path) {
    return load_config(path, parse_broker_config);
}

}  // namespace fjord::broker
