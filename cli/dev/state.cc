// File: cli/dev/state.cc

#include "cli/dev/state.h"

#include "cli/dev/pki.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

namespace fjord::cli::dev {
namespace {

using json = nlohmann::json;

std::string env_or(const env_map& env, const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
}

/// Replaces `path` whole with `text`; `secret` files (they hold a password)
/// are created mode 0600 and never exist with wider permissions.
result<void> write_text(const fs::path& path, const std::string& text, bool secret = false) {
    const fs::path tmp = path.string() + ".tmp";
    if (secret) {
        std::error_code ignored;
        fs::remove(tmp, ignored);  // a leftover could have wider permissions
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            return error_info(
                std::error_code(errno, std::generic_category()),
                fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno)));
        }
        ::close(fd);
    }
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        if (!out.flush()) {
            return error_info(std::make_error_code(std::errc::io_error),
                              fmt::format("cannot write {}", tmp.string()));
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        return error_info(ec, fmt::format("cannot write {}: {}", path.string(), ec.message()));
    }
    return ok();
}

uint16_t port_of(const std::string& address) {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
        return 0;
    }
    try {
        const int p = std::stoi(address.substr(colon + 1));
        return p > 0 && p <= 65535 ? static_cast<uint16_t>(p) : 0;
    } catch (const std::exception&) {
        return 0;
    }
}

/// member `m` of cluster.json, or why not.
result<member> parse_member(const json& m, const fs::path& dir) {
    if (!m.is_object() || !m.contains("id") || !m["id"].is_number_unsigned()) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          "a member without an id");
    }
    member x;
    x.id = m["id"].get<uint64_t>();
    x.api = port_of(m.value("api", std::string()));
    x.peer = port_of(m.value("peer", std::string()));
    x.metrics = port_of(m.value("metrics", std::string()));
    if (x.api == 0 || x.peer == 0 || x.metrics == 0) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          fmt::format("member {}: missing or bad addresses", x.id));
    }
    x.dir = dir / fmt::format("controller-{}", x.id);
    return x;
}

/// broker `b` of cluster.json, or why not.
result<broker_node> parse_broker(const json& b, const fs::path& dir) {
    if (!b.is_object() || !b.contains("id") || !b["id"].is_number_unsigned()) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          "a broker without an id");
    }
    broker_node x;
    x.id = b["id"].get<uint64_t>();
    x.kafka = port_of(b.value("kafka", std::string()));
    x.metrics = port_of(b.value("metrics", std::string()));
    if (x.kafka == 0 || x.metrics == 0) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          fmt::format("broker {}: missing or bad addresses", x.id));
    }
    x.dir = dir / fmt::format("broker-{}", x.id);
    return x;
}

/// With c.tls, the TLS blocks of a process's config, all from the dev CA
/// (pki.h): servers present the process's certificate and trust the CA;
/// peers must present one (require_client_auth); the client block (a
/// broker's link to the controllers) only trusts the CA: a broker presents
/// no certificate there, since a certificate naming a member's address is
/// what a leader believes forwarded identities from (docs/security.md).
std::string tls_blocks(const cluster& c, const dev_process& p,
                       std::initializer_list<const char*> keys) {
    if (!c.tls) {
        return {};
    }
    std::string out;
    for (const std::string key : keys) {
        out += fmt::format("{}:\n  enabled: true\n", key);
        if (key != "controller_tls") {
            out += fmt::format("  cert_file: {}\n  key_file: {}\n",
                               json(node_cert_file(p).string()).dump(),
                               json(node_key_file(p).string()).dump());
        }
        out += fmt::format("  truststore_file: {}\n", json(ca_cert_file(c).string()).dump());
        if (key == "peer_tls") {
            out += "  require_client_auth: true\n";
        }
    }
    return out;
}

result<void> write_member_config(const cluster& c, const member& m) {
    std::string initial;
    for (const auto& o : c.members) {
        initial += fmt::format("  - {{id: {}, peer: {}, api: {}}}\n", o.id, o.peer_address(),
                               o.api_address());
    }
    const std::string text =
        fmt::format(
            "# Written by `fjord dev start`; keys: controller/server/README.md.\n"
            "node_id: {}\n"
            "data_dir: {}\n"
            "listen:\n"
            "  api: {}\n"
            "  peer: {}\n"
            "  metrics: {}\n"
            "initial_members:\n"
            "{}",
            m.id, json((m.dir / "data").string()).dump(), m.api_address(), m.peer_address(),
            m.metrics_address(), initial) +
        tls_blocks(c, m, {"api_tls", "peer_tls"});
    std::error_code ec;
    fs::create_directories(m.dir, ec);
    if (ec) {
        return error_info(ec, fmt::format("cannot create {}: {}", m.dir.string(), ec.message()));
    }
    return write_text(m.config(), text);
}

result<void> write_broker_config(const cluster& c, const broker_node& b) {
    std::string controllers;
    for (const auto& m : c.members) {
        controllers += fmt::format("  - {}\n", m.api_address());
    }
    const std::string text = fmt::format(
        "# Written by `fjord dev start`; keys: broker/server/README.md.\n"
        "node_id: {}\n"
        "data_dir: {}\n"
        "controllers:\n"
        "{}"
        "listen:\n"
        "  kafka: {}\n"
        "  metrics: {}\n",
        b.id, json((b.dir / "data").string()).dump(), controllers, b.kafka_address(),
        b.metrics_address());
    std::string auth;
    if (c.sasl) {
        // The broker's own calls (registration, heartbeats, Watch, forwarded
        // admin requests) need a user once admin_api_require_auth is on; in a
        // dev cluster that is the superuser.
        auth = fmt::format(
            "controller_credentials:\n"
            "  username: {}\n"
            "  password: {}\n",
            json(c.sasl->user).dump(), json(c.sasl->password).dump());
    }
    std::error_code ec;
    fs::create_directories(b.dir, ec);
    if (ec) {
        return error_info(ec, fmt::format("cannot create {}: {}", b.dir.string(), ec.message()));
    }
    return write_text(b.config(), text + auth + tls_blocks(c, b, {"kafka_tls", "controller_tls"}),
                      c.sasl.has_value());
}

/// The id in a process directory's name ("controller-3": 3), if it is one.
std::optional<uint64_t> id_of(const std::string& name, const std::string& prefix) {
    std::optional<uint64_t> id;
    if (name.starts_with(prefix) && name.size() > prefix.size() &&
        std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                    [](unsigned char ch) { return std::isdigit(ch) != 0; })) {
        try {
            id = std::stoull(name.substr(prefix.size()));
        } catch (const std::exception&) {
        }
    }
    return id;
}

}  // namespace

std::string cluster::controllers() const {
    std::string out;
    for (const auto& m : members) {
        out += (out.empty() ? "" : ",") + m.api_address();
    }
    return out;
}

std::string cluster::kafka_brokers() const {
    std::string out;
    for (const auto& b : brokers) {
        out += (out.empty() ? "" : ",") + b.kafka_address();
    }
    return out;
}

fd_guard::~fd_guard() {
    if (_fd >= 0) {
        ::close(_fd);
    }
}

result<fs::path> state_dir_for(const std::string& flag, const env_map& env,
                               const std::string& name) {
    fs::path dir;
    const std::string leaf = name.empty() ? std::string("dev") : "dev-" + name;
    if (!flag.empty()) {
        dir = flag;
    } else if (auto x = env_or(env, "XDG_STATE_HOME"); !x.empty() && x.front() == '/') {
        dir = fs::path(x) / "fjord" / leaf;
    } else if (auto h = env_or(env, "HOME"); !h.empty()) {
        dir = fs::path(h) / ".local" / "state" / "fjord" / leaf;
    } else {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          "cannot locate the dev state directory: give --state-dir (neither "
                          "XDG_STATE_HOME nor HOME is set)");
    }
    // One spelling per directory (symlinks resolved): the members' command
    // lines name their config by this path, and stop/status match on it.
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    return ec ? dir : canonical;
}

result<std::string> find_bin(const env_map& env, const std::string& kind) {
    std::string var = "FJORD_" + kind + "_BIN";
    std::transform(var.begin(), var.end(), var.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    const std::string name = "fjord-" + kind;
    std::string tried;
    if (auto b = env_or(env, var.c_str()); !b.empty()) {
        if (::access(b.c_str(), X_OK) == 0) {
            return b;
        }
        return error_info(std::make_error_code(std::errc::no_such_file_or_directory),
                          fmt::format("{}={}: not an executable file", var, b));
    }
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path candidate = self.parent_path() / name;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate.string();
        }
        tried = candidate.string();
    }
    return error_info(std::make_error_code(std::errc::no_such_file_or_directory),
                      fmt::format("{} not found{}; build it (ninja -C build {}) or set {}", name,
                                  tried.empty() ? "" : fmt::format(" at {}", tried), name, var));
}

fs::path cluster_file(const fs::path& dir) {
    return dir / "cluster.json";
}

result<void> save_cluster(const cluster& c) {
    json members = json::array();
    for (const auto& m : c.members) {
        members.push_back({{"id", m.id},
                           {"api", m.api_address()},
                           {"peer", m.peer_address()},
                           {"metrics", m.metrics_address()},
                           {"pid_file", m.pid_file().string()}});
    }
    json brokers = json::array();
    for (const auto& b : c.brokers) {
        brokers.push_back({{"id", b.id},
                           {"kafka", b.kafka_address()},
                           {"metrics", b.metrics_address()},
                           {"pid_file", b.pid_file().string()}});
    }
    const json doc = {{"version", 2},
                      {"tls", c.tls},
                      {"controller_bin", c.controller_bin},
                      {"broker_bin", c.broker_bin},
                      {"members", members},
                      {"brokers", brokers}};
    return write_text(cluster_file(c.state_dir), doc.dump(2) + "\n");
}

fs::path sasl_file(const fs::path& dir) {
    return dir / "sasl.json";
}

namespace {

constexpr std::array<std::pair<sasl_state::stage, const char*>, 3> stage_names{
    {{sasl_state::stage::fresh, "fresh"},
     {sasl_state::stage::user_created, "user_created"},
     {sasl_state::stage::secured, "secured"}}};

/// sasl.json of `dir`: nullopt when there is none.
result<std::optional<sasl_state>> load_sasl(const fs::path& dir) {
    const fs::path file = sasl_file(dir);
    std::error_code ec;
    if (!fs::exists(file, ec)) {
        return std::optional<sasl_state>();
    }
    std::ifstream in(file);
    const json doc = json::parse(in, nullptr, false);
    const auto bad = [&](const char* why) {
        return error_info(
            std::make_error_code(std::errc::invalid_argument),
            fmt::format("{}: {}; fjord dev purge removes the cluster", file.string(), why));
    };
    if (doc.is_discarded() || !doc.is_object()) {
        return bad("not JSON");
    }
    sasl_state st;
    st.user = doc.value("user", std::string());
    st.password = doc.value("password", std::string());
    st.mechanism = doc.value("mechanism", std::string());
    if (st.user.empty() || st.password.empty() || st.mechanism.empty()) {
        return bad("user, password or mechanism missing");
    }
    const std::string stage = doc.value("stage", std::string());
    const auto it = std::find_if(stage_names.begin(), stage_names.end(),
                                 [&](const auto& n) { return stage == n.second; });
    if (it == stage_names.end()) {
        return bad("\"stage\" is not fresh, user_created or secured");
    }
    st.progress = it->first;
    return std::optional<sasl_state>(std::move(st));
}

}  // namespace

result<void> save_sasl(const cluster& c) {
    if (!c.sasl) {
        return ok();
    }
    const char* stage = "fresh";
    for (const auto& [value, name] : stage_names) {
        if (value == c.sasl->progress) {
            stage = name;
        }
    }
    const json doc = {{"user", c.sasl->user},
                      {"password", c.sasl->password},
                      {"mechanism", c.sasl->mechanism},
                      {"stage", stage}};
    return write_text(sasl_file(c.state_dir), doc.dump(2) + "\n", true);
}

result<std::optional<cluster>> load_cluster(const fs::path& dir) {
    const fs::path file = cluster_file(dir);
    std::ifstream in(file);
    if (!in) {
        return std::optional<cluster>();
    }
    const auto bad = [&](const std::string& why) {
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          fmt::format("{}: {} (remove the dev cluster with fjord dev purge)",
                                      file.string(), why));
    };
    const json doc = json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("members") ||
        !doc["members"].is_array()) {
        return bad("not a dev cluster description");
    }
    cluster c;
    c.state_dir = dir;
    c.controller_bin = doc.value("controller_bin", std::string());
    c.tls = doc.value("tls", false);
    for (const auto& m : doc["members"]) {
        auto x = parse_member(m, dir);
        if (!x) {
            return bad(x.error().detail);
        }
        c.members.push_back(std::move(*x));
    }
    if (c.members.empty()) {
        return bad("no members");
    }
    // Version 1 (before brokers) has no "brokers": a cluster without any.
    c.broker_bin = doc.value("broker_bin", std::string());
    if (doc.contains("brokers")) {
        if (!doc["brokers"].is_array()) {
            return bad("\"brokers\" is not a list");
        }
        for (const auto& b : doc["brokers"]) {
            auto x = parse_broker(b, dir);
            if (!x) {
                return bad(x.error().detail);
            }
            c.brokers.push_back(std::move(*x));
        }
    }
    auto sasl = load_sasl(dir);
    if (!sasl) {
        return sasl.error();
    }
    c.sasl = std::move(*sasl);
    return std::optional<cluster>(std::move(c));
}

cluster scan_process_dirs(const fs::path& dir) {
    cluster c;
    c.state_dir = dir;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (!entry.is_directory()) {
            continue;
        }
        const std::string name = entry.path().filename().string();
        if (auto id = id_of(name, "controller-")) {
            member m;
            m.dir = entry.path();
            m.id = *id;
            c.members.push_back(std::move(m));
        } else if (auto bid = id_of(name, "broker-")) {
            broker_node b;
            b.dir = entry.path();
            b.id = *bid;
            c.brokers.push_back(std::move(b));
        }
    }
    std::sort(c.members.begin(), c.members.end(),
              [](const member& a, const member& b) { return a.id < b.id; });
    std::sort(c.brokers.begin(), c.brokers.end(),
              [](const broker_node& a, const broker_node& b) { return a.id < b.id; });
    return c;
}

result<void> write_configs(const cluster& c) {
    for (const auto& m : c.members) {
        if (auto r = write_member_config(c, m); !r) {
            return r;
        }
    }
    for (const auto& b : c.brokers) {
        if (auto r = write_broker_config(c, b); !r) {
            return r;
        }
    }
    return ok();
}

result<std::shared_ptr<fd_guard>> lock_state(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return error_info(ec, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    }
    auto fd = std::make_shared<fd_guard>(
        ::open((dir / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (fd->get() < 0) {
        return error_info(
            std::error_code(errno, std::generic_category()),
            fmt::format("cannot open {}: {}", (dir / "lock").string(), std::strerror(errno)));
    }
    if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
        return error_info(std::make_error_code(std::errc::resource_unavailable_try_again),
                          fmt::format("another fjord dev command is working on {}", dir.string()));
    }
    return fd;
}

}  // namespace fjord::cli::dev
