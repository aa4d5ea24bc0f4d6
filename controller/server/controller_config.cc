// File: controller/server/controller_config.cc
//
// YAML → controller_config: the controller's keys, their ranges and the
// cross-key checks. The generic part (known keys with "did you mean",
// duplicates, typed reads naming key path and line, problems collected and
// reported together in line order) is common/yaml_config.h's yaml_checker.

#include "controller/server/controller_config.h"

#include "common/security/principal_mapping.h"
#include "common/tls/tls_yaml.h"

#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/uuid.h"
#include "common/yaml_config.h"

namespace fjord::server {

namespace {

// Keys of each mapping, in the order the reference documents them.
constexpr std::string_view top_keys[] = {"node_id",
                                         "data_dir",
                                         "listen",
                                         "advertise",
                                         "initial_members",
                                         "cluster_id",
                                         "raft",
                                         "segment_bytes",
                                         "broker_session_timeout_ms",
                                         "log_level",
                                         "api_tls",
                                         "peer_tls",
                                         "principal_mapping_rules",
                                         "fips_mode",
                                         "openssl_config_file",
                                         "openssl_module_directory",
                                         "fips_flag_file"};
constexpr std::string_view listen_keys[] = {"api", "peer", "metrics"};
constexpr std::string_view advertise_keys[] = {"api", "peer"};
constexpr std::string_view member_keys[] = {"id", "peer", "api"};
constexpr std::string_view raft_keys[] = {"tick_ms", "election_ticks", "heartbeat_ticks",
                                          "snapshot_entries", "max_append_bytes"};

void parse_listen(yaml_checker& p, const yaml_field& f, controller_config& c) {
    const auto fs = p.fields(f.value, "listen", f.line, listen_keys);
    if (!fs) {
        return;
    }
    p.read_address(*fs, "listen", "api", false, f.line, c.listen.api);
    p.read_address(*fs, "listen", "peer", false, f.line, c.listen.peer);
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

void parse_members(yaml_checker& p, const yaml_field& f, controller_config& c) {
    if (f.value.IsNull()) {
        return;  // "initial_members:" with nothing after it: none
    }
    if (!f.value.IsSequence()) {
        p.error("initial_members", fmt::format("expected a sequence, got {}", describe(f.value)),
                f.line);
        return;
    }
    size_t i = 0;
    for (auto it = f.value.begin(); it != f.value.end(); ++it, ++i) {
        const YAML::Node item = *it;
        const std::string path = fmt::format("initial_members[{}]", i);
        const int item_line = line_of(item);
        const auto fs = p.fields(item, path, item_line, member_keys);
        if (!fs) {
            continue;
        }
        member m;
        uint64_t id = 0;
        p.read_uint<uint64_t>(*fs, path, "id", true, item_line, 1,
                              std::numeric_limits<uint64_t>::max(), id);
        m.id = node_id(id);
        p.read_address(*fs, path, "peer", true, item_line, m.peer);
        p.read_address(*fs, path, "api", true, item_line, m.api);
        c.initial_members.push_back(std::move(m));
    }
}

void parse_raft(yaml_checker& p, const yaml_field& f, controller_config& c) {
    const auto fs = p.fields(f.value, "raft", f.line, raft_keys);
    if (!fs) {
        return;
    }
    raft_options& r = c.raft;
    p.read_uint<uint32_t>(*fs, "raft", "tick_ms", false, f.line, 1, 10000, r.tick_ms);
    p.read_uint<uint32_t>(*fs, "raft", "election_ticks", false, f.line, 2, 10000, r.election_ticks);
    p.read_uint<uint32_t>(*fs, "raft", "heartbeat_ticks", false, f.line, 1, 10000,
                          r.heartbeat_ticks);
    p.read_uint<uint64_t>(*fs, "raft", "snapshot_entries", false, f.line, 1,
                          std::numeric_limits<uint64_t>::max(), r.snapshot_entries);
    p.read_uint<uint64_t>(*fs, "raft", "max_append_bytes", false, f.line, 1024, uint64_t{64} << 20,
                          r.max_append_bytes);
}

bool conflicts(const host_port& a, const host_port& b) {
    return a.port == b.port &&
           (a.host == b.host || is_wildcard_host(a.host) || is_wildcard_host(b.host));
}

// Checks that need every key parsed.
void validate(yaml_checker& p, controller_config& c) {
    if (c.raft.heartbeat_ticks >= c.raft.election_ticks) {
        const int l = p.line("raft.heartbeat_ticks") != 0 ? p.line("raft.heartbeat_ticks")
                                                          : p.line("raft.election_ticks");
        p.error("raft.heartbeat_ticks",
                fmt::format("must be less than raft.election_ticks ({}), got {}",
                            c.raft.election_ticks, c.raft.heartbeat_ticks),
                l);
    }

    if (conflicts(c.listen.peer, c.listen.api)) {
        p.error("listen.peer",
                fmt::format("{} conflicts with listen.api ({})", c.listen.peer.to_string(),
                            c.listen.api.to_string()),
                p.line("listen.peer"));
    }
    if (c.listen.metrics) {
        for (const auto& [name, other] :
             {std::pair{"listen.api", &c.listen.api}, std::pair{"listen.peer", &c.listen.peer}}) {
            if (conflicts(*c.listen.metrics, *other)) {
                p.error("listen.metrics",
                        fmt::format("{} conflicts with {} ({})", c.listen.metrics->to_string(),
                                    name, other->to_string()),
                        p.line("listen.metrics"));
            }
        }
    }

    // Advertised addresses default to the listen ones, but a wildcard is not
    // something another node can dial.
    for (const auto& [name, adv, lis] : {std::tuple{"api", &c.advertise.api, &c.listen.api},
                                         std::tuple{"peer", &c.advertise.peer, &c.listen.peer}}) {
        const std::string apath = fmt::format("advertise.{}", name);
        if (adv->host.empty()) {
            *adv = *lis;
            if (is_wildcard_host(lis->host)) {
                p.error(apath,
                        fmt::format("required when listen.{} is a wildcard address ({})", name,
                                    lis->to_string()),
                        p.line(fmt::format("listen.{}", name)));
            }
        } else if (is_wildcard_host(adv->host)) {
            p.error(apath,
                    fmt::format("{} is a wildcard address; advertise one that others can reach",
                                adv->to_string()),
                    p.line(apath));
        }
    }

    std::map<uint64_t, size_t> ids;
    std::map<std::string, size_t> peers;
    std::map<std::string, size_t> apis;
    for (size_t i = 0; i < c.initial_members.size(); ++i) {
        const member& m = c.initial_members[i];
        const std::string path = fmt::format("initial_members[{}]", i);
        if (const auto [it, fresh] = ids.emplace(m.id.value(), i); !fresh) {
            p.error(
                path + ".id",
                fmt::format("duplicate member id {}, also initial_members[{}]", m.id, it->second),
                p.line(path + ".id"));
        }
        for (const auto& [key, addr, seen] :
             {std::tuple{"peer", &m.peer, &peers}, std::tuple{"api", &m.api, &apis}}) {
            const std::string kp = fmt::format("{}.{}", path, key);
            if (is_wildcard_host(addr->host)) {
                p.error(kp,
                        fmt::format("{} is a wildcard address; give one that others can reach",
                                    addr->to_string()),
                        p.line(kp));
            } else if (const auto [it, fresh] = seen->emplace(addr->to_string(), i); !fresh) {
                p.error(kp,
                        fmt::format("{} is also the {} address of initial_members[{}]",
                                    addr->to_string(), key, it->second),
                        p.line(kp));
            }
        }
    }
    if (!c.initial_members.empty() && ids.count(c.node_id.value()) == 0) {
        std::string list;
        for (const auto& [id, i] : ids) {
            list += list.empty() ? fmt::format("{}", id) : fmt::format(", {}", id);
        }
        p.error("node_id",
                fmt::format("{} is not among the ids of initial_members ({})", c.node_id, list),
                p.line("node_id"));
    }
    // A member's peer certificate is what binds a Raft stream to the member
    // it claims (peer_transport.h): without one required, and a truststore
    // to verify it, anyone reaching the peer port could speak as a member.
    if (c.peer_tls.enabled && !c.peer_tls.require_client_auth) {
        p.error("peer_tls.require_client_auth",
                "must be true when peer_tls is enabled: a member proves which member it is by "
                "its client certificate (and needs peer_tls.truststore_file to verify it)",
                p.line("peer_tls.require_client_auth") != 0 ? p.line("peer_tls.require_client_auth")
                                                            : p.line("peer_tls"));
    }
    // Rules map verified client certificates, which the API asks for only
    // when it has a truststore: without one the rules could never apply.
    if (!c.principal_mapping_rules.empty() &&
        (!c.api_tls.enabled || c.api_tls.truststore_file.empty())) {
        p.error("principal_mapping_rules",
                "needs api_tls enabled with a truststore_file: the API asks for client "
                "certificates only then, so no rule would ever apply",
                p.line("principal_mapping_rules"));
    }
}

void parse_document(yaml_checker& p, const YAML::Node& root, controller_config& c) {
    // An empty document is an empty mapping: the missing keys say what to add.
    const YAML::Node top = root.IsNull() ? YAML::Node(YAML::NodeType::Map) : root;
    const auto fs = p.fields(top, "", line_of(top), top_keys);
    if (!fs) {
        return;
    }
    uint64_t id = 0;
    p.read_uint<uint64_t>(*fs, "", "node_id", true, 0, 1, std::numeric_limits<uint64_t>::max(), id);
    c.node_id = node_id(id);
    if (auto d = p.read_string(*fs, "", "data_dir", true, 0, false)) {
        c.data_dir = std::move(*d);
    }
    if (const yaml_field* f = p.lookup(*fs, "", "listen", false, 0)) {
        parse_listen(p, *f, c);
    }
    if (const yaml_field* f = p.lookup(*fs, "", "advertise", false, 0)) {
        if (const auto afs = p.fields(f->value, "advertise", f->line, advertise_keys)) {
            p.read_address(*afs, "advertise", "api", false, f->line, c.advertise.api);
            p.read_address(*afs, "advertise", "peer", false, f->line, c.advertise.peer);
        }
    }
    if (const yaml_field* f = p.lookup(*fs, "", "initial_members", false, 0)) {
        parse_members(p, *f, c);
    }
    if (const auto id_text = p.read_string(*fs, "", "cluster_id", false, 0, true)) {
        if (!id_text->empty()) {
            if (auto u = parse_uuid(*id_text)) {
                c.cluster_id = std::move(*u);
            } else {
                p.error("cluster_id",
                        fmt::format("expected a UUID (8-4-4-4-12 hex digits) or \"\", got \"{}\"",
                                    *id_text),
                        p.line("cluster_id"));
            }
        }
    }
    if (const yaml_field* f = p.lookup(*fs, "", "raft", false, 0)) {
        parse_raft(p, *f, c);
    }
    p.read_uint<uint64_t>(*fs, "", "segment_bytes", false, 0, uint64_t{1} << 20, uint64_t{1} << 30,
                          c.segment_bytes);
    p.read_uint<uint32_t>(*fs, "", "broker_session_timeout_ms", false, 0, 100, 3'600'000,
                          c.broker_session_timeout_ms);
    p.read_log_level(*fs, "", "log_level", false, 0, c.log_level);
    tls::read_tls_block(p, *fs, "", "api_tls", tls::tls_role::server, c.api_tls);
    tls::read_tls_block(p, *fs, "", "peer_tls", tls::tls_role::server, c.peer_tls);
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

result<controller_config> parse_controller_config(std::string_view yaml_text) {
    return parse_config<controller_config>(yaml_text, parse_document);
}

result<controller_config> load_controller_config(const std::string& path) {
    return load_config(path, parse_controller_config);
}

}  // namespace fjord::server
