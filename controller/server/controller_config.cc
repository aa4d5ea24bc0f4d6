// File: controller/server/controller_config.cc
//
// YAML → controller_config. yaml-cpp only builds the node tree; every check is
// ours: a mapping's keys are compared with the known set (unknown keys get a
// "did you mean" when one is within two edits, duplicates are refused since
// yaml-cpp would silently keep one), scalars are converted by hand (decimal
// digits only for integers) so the messages can name the key, the expected
// type and the line. Problems are collected, sorted by line and reported
// together, so an operator fixes a file in one pass.

#include "controller/server/controller_config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <system_error>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/uuid.h"

namespace fjord::controller {

// --- host_port ---

std::string host_port::to_string() const {
    if (host.find(':') != std::string::npos) {
        return fmt::format("[{}]:{}", host, port);
    }
    return fmt::format("{}:{}", host, port);
}

bool is_wildcard_host(std::string_view host) {
    return host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0";
}

namespace {

bool valid_dns_name(std::string_view h) {
    if (h.empty() || h.size() > 253) {
        return false;
    }
    size_t label = 0;
    char prev = '.';
    for (const char c : h) {
        if (c == '.') {
            if (label == 0 || prev == '-') {
                return false;
            }
            label = 0;
        } else {
            const bool alnum =
                (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (!(alnum || (c == '-' && label > 0)) || ++label > 63) {
                return false;
            }
        }
        prev = c;
    }
    return prev != '-';
}

}  // namespace

result<host_port> parse_host_port(std::string_view text) {
    const auto invalid = [](std::string reason) {
        return error_info(std::make_error_code(std::errc::invalid_argument), std::move(reason));
    };
    std::string_view host;
    std::string_view port_text;
    if (text.starts_with('[')) {
        const size_t close = text.find(']');
        if (close == std::string_view::npos) {
            return invalid("missing \"]\" after the IPv6 address");
        }
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (!rest.starts_with(':')) {
            return invalid("missing \":port\"");
        }
        port_text = rest.substr(1);
        in6_addr a6{};
        if (::inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
            return invalid(fmt::format("\"{}\" is not an IPv6 address", host));
        }
    } else {
        const size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return invalid("missing \":port\"");
        }
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return invalid("an IPv6 address must be in brackets, as in [::1]:9644");
        }
        if (host.empty()) {
            return invalid("empty host");
        }
        const bool numeric = host.find_first_not_of("0123456789.") == std::string_view::npos;
        in_addr a4{};
        if (numeric) {
            if (::inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) {
                return invalid(fmt::format("\"{}\" is not an IPv4 address", host));
            }
        } else if (!valid_dns_name(host)) {
            return invalid(fmt::format("\"{}\" is not a valid host name", host));
        }
    }
    if (port_text.empty()) {
        return invalid("missing port number after \":\"");
    }
    uint32_t port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() ||
        port_text.find_first_not_of("0123456789") != std::string_view::npos) {
        return invalid(fmt::format("port \"{}\" is not a number", port_text));
    }
    if (port < 1 || port > 65535) {
        return invalid(fmt::format("port {} is outside 1..65535", port));
    }
    return host_port{std::string(host), static_cast<uint16_t>(port)};
}

namespace {

constexpr size_t max_reported_errors = 20;
constexpr size_t max_file_bytes = size_t{1} << 20;

// Keys of each mapping, in the order the reference documents them.
constexpr std::string_view top_keys[] = {
    "node_id",   "data_dir",        "listen",
    "advertise", "initial_members", "cluster_id",
    "raft",      "segment_bytes",   "broker_session_timeout_ms",
    "log_level"};
constexpr std::string_view listen_keys[] = {"api", "peer", "metrics"};
constexpr std::string_view advertise_keys[] = {"api", "peer"};
constexpr std::string_view member_keys[] = {"id", "peer", "api"};
constexpr std::string_view raft_keys[] = {"tick_ms", "election_ticks", "heartbeat_ticks",
                                          "snapshot_entries", "max_append_bytes"};

// 1-based line of a node; 0 when yaml-cpp has no position for it.
int line_of(const YAML::Node& n) {
    const YAML::Mark m = n.Mark();
    return m.is_null() ? 0 : m.line + 1;
}

std::string describe(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Scalar: {
            std::string s = n.Scalar();
            if (s.size() > 40) {
                s = s.substr(0, 40) + "...";
            }
            return fmt::format("\"{}\"", s);
        }
        case YAML::NodeType::Sequence:
            return "a sequence";
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            break;
    }
    return "nothing (null)";
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string child_path(std::string_view parent, std::string_view key) {
    return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

struct field {
    std::string key;
    YAML::Node value;
    int line = 0;
};

// One pass over the document. Each read_* records a problem and leaves the
// default in place, so the walk continues and reports everything.
class config_parser {
  public:
    void error(std::string_view path, std::string_view msg, int line) {
        std::string text = path.empty() ? std::string(msg) : fmt::format("{}: {}", path, msg);
        if (line > 0) {
            text += fmt::format(" (line {})", line);
        }
        _errors.push_back({line, std::move(text)});
    }

    bool failed() const { return !_errors.empty(); }

    // The problems, by line (those without a line last), one per line of text.
    std::string report() {
        std::stable_sort(_errors.begin(), _errors.end(), [](const auto& a, const auto& b) {
            const int la = a.first == 0 ? std::numeric_limits<int>::max() : a.first;
            const int lb = b.first == 0 ? std::numeric_limits<int>::max() : b.first;
            return la < lb;
        });
        std::string out;
        for (size_t i = 0; i < _errors.size() && i < max_reported_errors; ++i) {
            if (i > 0) {
                out += '\n';
            }
            out += _errors[i].second;
        }
        if (_errors.size() > max_reported_errors) {
            out += fmt::format("\n... and {} more", _errors.size() - max_reported_errors);
        }
        return out;
    }

    // The entries of mapping `node` at `path`, each key known and unique; or
    // nullopt (with an error) if `node` is not a mapping.
    template <size_t N>
    std::optional<std::vector<field>> fields(const YAML::Node& node, std::string_view path,
                                             int line, const std::string_view (&known)[N]) {
        if (!node.IsMap()) {
            error(path.empty() ? "top level" : path,
                  fmt::format("expected a mapping, got {}", describe(node)), line);
            return std::nullopt;
        }
        std::vector<field> out;
        std::map<std::string, int, std::less<>> seen;
        for (auto it = node.begin(); it != node.end(); ++it) {
            const YAML::Node k = it->first;
            const int kline = line_of(k);
            if (!k.IsScalar()) {
                error(path.empty() ? "top level" : path, "keys must be plain strings", kline);
                continue;
            }
            const std::string key = k.Scalar();
            const std::string kp = child_path(path, key);
            if (std::find(std::begin(known), std::end(known), key) == std::end(known)) {
                std::string_view best;
                size_t best_d = 3;
                for (const std::string_view cand : known) {
                    const size_t d = edit_distance(key, cand);
                    if (d < best_d) {
                        best = cand;
                        best_d = d;
                    }
                }
                error(kp,
                      best.empty() ? "unknown key"
                                   : fmt::format("unknown key, did you mean {}?", best),
                      kline);
                continue;
            }
            if (const auto s = seen.find(key); s != seen.end()) {
                error(kp, fmt::format("duplicate key, first set on line {}", s->second), kline);
                continue;
            }
            seen.emplace(key, kline);
            out.push_back({key, it->second, kline});
        }
        return out;
    }

    static const field* find(const std::vector<field>& fs, std::string_view key) {
        for (const field& f : fs) {
            if (f.key == key) {
                return &f;
            }
        }
        return nullptr;
    }

    // The line where `path` was set (0 if it was not).
    int line(std::string_view path) const {
        const auto it = _lines.find(path);
        return it == _lines.end() ? 0 : it->second;
    }

    // Looks `key` up in `fs` and records its line; a missing required key is
    // an error reported at `parent_line` (omitted for the top level).
    const field* lookup(const std::vector<field>& fs, std::string_view parent, std::string_view key,
                        bool required, int parent_line) {
        const field* f = find(fs, key);
        const std::string path = child_path(parent, key);
        if (f == nullptr) {
            if (required) {
                error(path, "required key is missing", parent_line);
            }
            return nullptr;
        }
        _lines[path] = f->line;
        return f;
    }

    template <typename T>
    void read_uint(const std::vector<field>& fs, std::string_view parent, std::string_view key,
                   bool required, int parent_line, T min, T max, T& out) {
        const field* f = lookup(fs, parent, key, required, parent_line);
        if (f == nullptr) {
            return;
        }
        const std::string path = child_path(parent, key);
        const std::string text = f->value.IsScalar() ? f->value.Scalar() : std::string();
        if (!f->value.IsScalar() || text.empty() ||
            text.find_first_not_of("0123456789") != std::string::npos) {
            error(path, fmt::format("expected an unsigned integer, got {}", describe(f->value)),
                  f->line);
            return;
        }
        uint64_t v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || v < min || v > max) {
            const bool unbounded = max == std::numeric_limits<T>::max();
            if (unbounded && ec == std::errc()) {
                error(path, fmt::format("must be at least {}, got {}", min, text), f->line);
            } else if (unbounded) {
                error(path, fmt::format("must be at most {}, got {}", max, text), f->line);
            } else {
                error(path, fmt::format("must be between {} and {}, got {}", min, max, text),
                      f->line);
            }
            return;
        }
        out = static_cast<T>(v);
    }

    // A string value. With `allow_empty`, "" and null (nothing after the colon)
    // both read as "".
    std::optional<std::string> read_string(const std::vector<field>& fs, std::string_view parent,
                                           std::string_view key, bool required, int parent_line,
                                           bool allow_empty) {
        const field* f = lookup(fs, parent, key, required, parent_line);
        if (f == nullptr) {
            return std::nullopt;
        }
        const std::string path = child_path(parent, key);
        if (f->value.IsNull() && allow_empty) {
            return std::string();
        }
        if (!f->value.IsScalar()) {
            error(path, fmt::format("expected a string, got {}", describe(f->value)), f->line);
            return std::nullopt;
        }
        if (f->value.Scalar().empty() && !allow_empty) {
            error(path, "must not be empty", f->line);
            return std::nullopt;
        }
        return f->value.Scalar();
    }

    void read_address(const std::vector<field>& fs, std::string_view parent, std::string_view key,
                      bool required, int parent_line, host_port& out) {
        const auto text = read_string(fs, parent, key, required, parent_line, false);
        if (text) {
            set_address(child_path(parent, key), *text, out);
        }
    }

    bool set_address(const std::string& path, const std::string& text, host_port& out) {
        auto hp = parse_host_port(text);
        if (!hp) {
            error(path, fmt::format("\"{}\" is not host:port: {}", text, hp.error().detail),
                  line(path));
            return false;
        }
        out = std::move(*hp);
        return true;
    }

  private:
    std::vector<std::pair<int, std::string>> _errors;
    std::map<std::string, int, std::less<>> _lines;
};

void parse_listen(config_parser& p, const field& f, controller_config& c) {
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

void parse_members(config_parser& p, const field& f, controller_config& c) {
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

void parse_raft(config_parser& p, const field& f, controller_config& c) {
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
void validate(config_parser& p, controller_config& c) {
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
}

std::optional<fjord::log_level> parse_log_level(std::string_view s) {
    static constexpr std::pair<std::string_view, fjord::log_level> levels[] = {
        {"trace", fjord::log_level::trace}, {"debug", fjord::log_level::debug},
        {"info", fjord::log_level::info},   {"warn", fjord::log_level::warn},
        {"error", fjord::log_level::error}, {"off", fjord::log_level::off},
    };
    for (const auto& [name, l] : levels) {
        if (name == s) {
            return l;
        }
    }
    return std::nullopt;
}

result<controller_config> parse_document(config_parser& p, const YAML::Node& root) {
    controller_config c;
    // An empty document is an empty mapping: the missing keys say what to add.
    const YAML::Node top = root.IsNull() ? YAML::Node(YAML::NodeType::Map) : root;
    const auto fs = p.fields(top, "", line_of(top), top_keys);
    if (!fs) {
        return error_info(std::make_error_code(std::errc::invalid_argument), p.report());
    }
    uint64_t id = 0;
    p.read_uint<uint64_t>(*fs, "", "node_id", true, 0, 1, std::numeric_limits<uint64_t>::max(), id);
    c.node_id = node_id(id);
    if (auto d = p.read_string(*fs, "", "data_dir", true, 0, false)) {
        c.data_dir = std::move(*d);
    }
    if (const field* f = p.lookup(*fs, "", "listen", false, 0)) {
        parse_listen(p, *f, c);
    }
    if (const field* f = p.lookup(*fs, "", "advertise", false, 0)) {
        if (const auto afs = p.fields(f->value, "advertise", f->line, advertise_keys)) {
            p.read_address(*afs, "advertise", "api", false, f->line, c.advertise.api);
            p.read_address(*afs, "advertise", "peer", false, f->line, c.advertise.peer);
        }
    }
    if (const field* f = p.lookup(*fs, "", "initial_members", false, 0)) {
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
    if (const field* f = p.lookup(*fs, "", "raft", false, 0)) {
        parse_raft(p, *f, c);
    }
    p.read_uint<uint64_t>(*fs, "", "segment_bytes", false, 0, uint64_t{1} << 20, uint64_t{1} << 30,
                          c.segment_bytes);
    p.read_uint<uint32_t>(*fs, "", "broker_session_timeout_ms", false, 0, 100, 3'600'000,
                          c.broker_session_timeout_ms);
    if (const auto l = p.read_string(*fs, "", "log_level", false, 0, false)) {
        if (const auto level = parse_log_level(*l)) {
            c.log_level = *level;
        } else {
            p.error(
                "log_level",
                fmt::format("expected one of trace, debug, info, warn, error, off, got \"{}\"", *l),
                p.line("log_level"));
        }
    }
    if (!p.failed()) {
        validate(p, c);
    }
    if (p.failed()) {
        return error_info(std::make_error_code(std::errc::invalid_argument), p.report());
    }
    return c;
}

}  // namespace

result<controller_config> parse_controller_config(std::string_view yaml_text) {
    const auto invalid = [](std::string detail) {
        return error_info(std::make_error_code(std::errc::invalid_argument), std::move(detail));
    };
    try {
        const std::vector<YAML::Node> docs = YAML::LoadAll(std::string(yaml_text));
        if (docs.size() > 1) {
            return invalid(fmt::format("expected one YAML document, found {}", docs.size()));
        }
        config_parser p;
        return parse_document(p, docs.empty() ? YAML::Node() : docs[0]);
    } catch (const YAML::Exception& e) {
        if (e.mark.is_null()) {
            return invalid(fmt::format("YAML syntax error: {}", e.msg));
        }
        return invalid(fmt::format("YAML syntax error: {} (line {}, column {})", e.msg,
                                   e.mark.line + 1, e.mark.column + 1));
    } catch (const std::exception& e) {
        return invalid(fmt::format("cannot parse the configuration: {}", e.what()));
    }
}

result<controller_config> load_controller_config(const std::string& path) {
    const auto io_error = [&path](std::string_view what, int err) {
        return error_info(std::error_code(err, std::generic_category()),
                          fmt::format("{}: {}: {}", path, what, std::strerror(err)));
    };
    int fd = -1;
    do {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return io_error("cannot open", errno);
    }
    std::string text;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            return io_error("cannot read", err);
        }
        if (n == 0) {
            break;
        }
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > max_file_bytes) {
            ::close(fd);
            return error_info(
                std::make_error_code(std::errc::file_too_large),
                fmt::format("{}: larger than {} bytes; is this the configuration file?", path,
                            max_file_bytes));
        }
    }
    ::close(fd);
    auto c = parse_controller_config(text);
    if (c) {
        return c;
    }
    // Prefix every reported line with the file, compiler style.
    std::string detail;
    const std::string& d = c.error().detail;
    size_t start = 0;
    while (start <= d.size()) {
        size_t nl = d.find('\n', start);
        if (nl == std::string::npos) {
            nl = d.size();
        }
        detail +=
            fmt::format("{}{}: {}", start == 0 ? "" : "\n", path, d.substr(start, nl - start));
        start = nl + 1;
    }
    return error_info(c.error().code, std::move(detail));
}

}  // namespace fjord::controller
