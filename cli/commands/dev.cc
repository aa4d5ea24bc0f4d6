// File: cli/commands/dev.cc
//
// fjord dev start|stop|status|purge: a local controller group of real
// fjord-controller processes on loopback, for trying Fjord and for tests
// (rpk container's role, rpk-reference §9, without containers).
//
// State directory (--state-dir, else $XDG_STATE_HOME/fjord/dev, else
// ~/.local/state/fjord/dev):
//   cluster.json               what `start` created: members, ports, binary
//   lock                       flock held by the running dev command
//   controller-<id>/controller.yaml, data/, log, pid
//
// Contracts:
// - start: a fresh cluster gets member i (0-based) the ports 9644, 33145 and
//   9645 plus 1000*i (rpk container's offset; +i would make one member's
//   API port the next one's metrics port), each replaced by an ephemeral
//   port when taken. A stopped cluster restarts with its recorded ports and
//   data. Returns once every member answers Status naming the same leader
//   and the cluster has a uuid; otherwise (timeout, a member exiting) it
//   prints the log tails, stops what it started and exits 1. Then it
//   creates or updates the profile "dev" and makes it current (unless
//   --no-profile). Already running: says so, exits 0.
// - stop: SIGTERM to each member's recorded pid, but only if /proc/PID/cmdline
//   is a fjord-controller run with that member's config file; waits, then
//   SIGKILL after --timeout (reported, exit 1). State is kept.
// - status: exit 0 when every member runs and a leader exists, else 1.
// - purge: stop, then remove what start created (and the "dev" profile if it
//   still points at this state directory); other files are left and named.
// The processes run in their own session, so they outlive the command and
// a Ctrl-C in the shell. No broker is started: none exists yet.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/profile.h"
#include "common/log.h"

extern char** environ;

namespace fjord::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

constexpr const char* dev_profile = "dev";
constexpr const char* loopback = "127.0.0.1";
constexpr uint16_t base_ports[3] = {9644, 33145, 9645};  // api, peer, metrics

struct dev_options {
    std::string state_dir;
    int nodes = 3;
    std::chrono::milliseconds timeout{30000};
    bool no_profile = false;
};

struct member {
    uint64_t id = 0;
    uint16_t api = 0;
    uint16_t peer = 0;
    uint16_t metrics = 0;
    fs::path dir;  // <state>/controller-<id>

    std::string api_address() const { return fmt::format("{}:{}", loopback, api); }
    std::string peer_address() const { return fmt::format("{}:{}", loopback, peer); }
    std::string metrics_address() const { return fmt::format("{}:{}", loopback, metrics); }
    fs::path config() const { return dir / "controller.yaml"; }
    fs::path log() const { return dir / "log"; }
    fs::path pid_file() const { return dir / "pid"; }
};

struct cluster {
    fs::path state_dir;
    std::string controller_bin;
    std::vector<member> members;

    std::string controllers() const {
        std::string out;
        for (const auto& m : members) {
            out += (out.empty() ? "" : ",") + m.api_address();
        }
        return out;
    }
};

class fd_guard {
  public:
    explicit fd_guard(int fd = -1) : _fd(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() {
        if (_fd >= 0) {
            ::close(_fd);
        }
    }
    int get() const { return _fd; }

  private:
    int _fd;
};

std::string env_or(const env_map& env, const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
}

// ------------------------------------------------------------ locations

result<fs::path> state_dir_for(const std::string& flag, const env_map& env) {
    fs::path dir;
    if (!flag.empty()) {
        dir = flag;
    } else if (auto x = env_or(env, "XDG_STATE_HOME"); !x.empty() && x.front() == '/') {
        dir = fs::path(x) / "fjord" / "dev";
    } else if (auto h = env_or(env, "HOME"); !h.empty()) {
        dir = fs::path(h) / ".local" / "state" / "fjord" / "dev";
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

/// $FJORD_CONTROLLER_BIN, else fjord-controller next to this executable.
result<std::string> find_controller_bin(const env_map& env) {
    std::string tried;
    if (auto b = env_or(env, "FJORD_CONTROLLER_BIN"); !b.empty()) {
        if (::access(b.c_str(), X_OK) == 0) {
            return b;
        }
        return error_info(std::make_error_code(std::errc::no_such_file_or_directory),
                          fmt::format("FJORD_CONTROLLER_BIN={}: not an executable file", b));
    }
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path candidate = self.parent_path() / "fjord-controller";
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate.string();
        }
        tried = candidate.string();
    }
    return error_info(
        std::make_error_code(std::errc::no_such_file_or_directory),
        fmt::format("fjord-controller not found{}; build it (ninja -C build fjord-controller) or "
                    "set FJORD_CONTROLLER_BIN",
                    tried.empty() ? "" : fmt::format(" at {}", tried)));
}

// ------------------------------------------------------------ ports

/// True when nothing listens on 127.0.0.1:port. The probe binds without
/// SO_REUSEPORT, so it also sees a gRPC server (which sets it) on that port.
bool port_free(uint16_t port) {
    fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (s.get() < 0) {
        return false;
    }
    const int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::bind(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
}

/// A port the kernel hands out now (free until someone else takes it).
uint16_t ephemeral_port() {
    fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s.get() < 0 || ::bind(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
        return 0;
    }
    socklen_t len = sizeof(a);
    if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        return 0;
    }
    return ntohs(a.sin_port);
}

/// True when something accepts TCP connections on 127.0.0.1:port. Polled
/// before the first RPC so the gRPC channel does not enter its reconnect
/// backoff (1 s and growing) while the member is still starting.
bool port_listening(uint16_t port) {
    fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return s.get() >= 0 &&
           ::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
}

result<uint16_t> pick_port(uint32_t preferred, std::set<uint16_t>& taken) {
    if (preferred <= 65535 && !taken.contains(static_cast<uint16_t>(preferred)) &&
        port_free(static_cast<uint16_t>(preferred))) {
        taken.insert(static_cast<uint16_t>(preferred));
        return static_cast<uint16_t>(preferred);
    }
    for (int attempt = 0; attempt < 100; ++attempt) {
        const uint16_t p = ephemeral_port();
        if (p != 0 && !taken.contains(p)) {
            taken.insert(p);
            return p;
        }
    }
    return error_info(std::make_error_code(std::errc::address_in_use),
                      "no free loopback port for the dev cluster");
}

// ------------------------------------------------------------ processes

std::vector<std::string> read_cmdline(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
    std::vector<std::string> args;
    std::string arg;
    while (std::getline(in, arg, '\0')) {
        args.push_back(arg);
    }
    return args;
}

/// True when `pid` is a live (not zombie) fjord-controller running with
/// `config`: the only processes this command ever signals.
bool is_our_controller(pid_t pid, const fs::path& config) {
    if (pid <= 1) {
        return false;
    }
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string line;
    if (!std::getline(stat, line)) {
        return false;
    }
    // "pid (comm) S ...": the state follows the last ')'.
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z' ||
        line[paren + 2] == 'X') {
        return false;
    }
    const auto args = read_cmdline(pid);
    if (args.empty() || fs::path(args[0]).filename() != "fjord-controller") {
        return false;
    }
    for (size_t i = 1; i < args.size(); ++i) {
        if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size() &&
            args[i + 1] == config.string()) {
            return true;
        }
        if (args[i] == "--config=" + config.string()) {
            return true;
        }
    }
    return false;
}

std::optional<pid_t> read_pid(const fs::path& file) {
    std::ifstream in(file);
    long long pid = 0;
    if (!(in >> pid) || pid <= 1 || pid > 1'000'000'000) {
        return std::nullopt;
    }
    return static_cast<pid_t>(pid);
}

/// The member's pid if it is running (per is_our_controller), else nullopt.
std::optional<pid_t> running_pid(const member& m) {
    auto pid = read_pid(m.pid_file());
    if (pid && is_our_controller(*pid, m.config())) {
        return pid;
    }
    return std::nullopt;
}

std::string log_tail(const fs::path& log, size_t lines) {
    std::ifstream in(log);
    std::vector<std::string> all;
    std::string line;
    while (std::getline(in, line)) {
        all.push_back(line);
    }
    std::string out;
    for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
        out += "    " + all[i] + "\n";
    }
    return out.empty() ? "    (empty)\n" : out;
}

/// Starts the member's controller in its own session, output appended to
/// its log. The child keeps no descriptor but 0/1/2 (all opened here), so
/// `fjord dev start | cat` returns when fjord exits.
result<pid_t> spawn(const std::string& bin, const member& m) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, m.log().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    // Descriptors inherited from whoever ran fjord (a pipe a CI step waits
    // on to close, say) must not be held open by a long-lived controller.
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    sigset_t none;
    sigset_t defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) {
        sigaddset(&defaults, s);
    }
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, static_cast<short>(POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                       POSIX_SPAWN_SETSIGDEF));
    const std::string config = m.config().string();
    std::vector<char*> argv{const_cast<char*>(bin.c_str()), const_cast<char*>("--config"),
                            const_cast<char*>(config.c_str()), nullptr};
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, bin.c_str(), &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        return error_info(std::error_code(rc, std::generic_category()),
                          fmt::format("cannot start {}: {}", bin, std::strerror(rc)));
    }
    std::ofstream(m.pid_file(), std::ios::trunc) << pid << "\n";
    log(log_level::debug, "dev", "controller {}: started pid {} ({} --config {})", m.id, pid, bin,
        config);
    return pid;
}

enum class stop_result { not_running, stopped, killed, survived };

struct stop_report {
    uint64_t id;
    pid_t pid;
    stop_result result;
    double seconds;
};

/// SIGTERM to every running member, wait up to `timeout`, then SIGKILL the
/// rest (still only processes that pass is_our_controller).
std::vector<stop_report> stop_members(const std::vector<member>& members,
                                      std::chrono::milliseconds timeout) {
    std::vector<stop_report> out;
    const auto start = steady::now();
    for (const auto& m : members) {
        auto pid = running_pid(m);
        if (!pid) {
            out.push_back({m.id, 0, stop_result::not_running, 0});
            std::error_code ec;
            fs::remove(m.pid_file(), ec);
            continue;
        }
        log(log_level::debug, "dev", "controller {}: SIGTERM to pid {}", m.id, *pid);
        ::kill(*pid, SIGTERM);
        out.push_back({m.id, *pid, stop_result::survived, 0});
    }
    const auto wait_all = [&](steady::time_point deadline, stop_result done_as) {
        for (;;) {
            bool pending = false;
            for (size_t i = 0; i < out.size(); ++i) {
                auto& r = out[i];
                if (r.result != stop_result::survived) {
                    continue;
                }
                // Reap it if it is our child (a start that is failing).
                ::waitpid(r.pid, nullptr, WNOHANG);
                if (!is_our_controller(r.pid, members[i].config())) {
                    r.result = done_as;
                    r.seconds = std::chrono::duration<double>(steady::now() - start).count();
                    std::error_code ec;
                    fs::remove(members[i].pid_file(), ec);
                } else {
                    pending = true;
                }
            }
            if (!pending || steady::now() >= deadline) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    };
    wait_all(start + timeout, stop_result::stopped);
    bool any_left = false;
    for (size_t i = 0; i < out.size(); ++i) {
        if (out[i].result == stop_result::survived &&
            is_our_controller(out[i].pid, members[i].config())) {
            log(log_level::debug, "dev", "controller {}: SIGKILL to pid {}", out[i].id, out[i].pid);
            ::kill(out[i].pid, SIGKILL);
            any_left = true;
        }
    }
    if (any_left) {
        wait_all(steady::now() + std::chrono::seconds(5), stop_result::killed);
    }
    return out;
}

// ------------------------------------------------------------ state

fs::path cluster_file(const fs::path& dir) {
    return dir / "cluster.json";
}

result<void> write_text(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".tmp";
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

result<void> save_cluster(const cluster& c) {
    json members = json::array();
    for (const auto& m : c.members) {
        members.push_back({{"id", m.id},
                           {"api", m.api_address()},
                           {"peer", m.peer_address()},
                           {"metrics", m.metrics_address()}});
    }
    const json doc = {{"version", 1}, {"controller_bin", c.controller_bin}, {"members", members}};
    return write_text(cluster_file(c.state_dir), doc.dump(2) + "\n");
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

/// nullopt when the state directory holds no cluster; an error when it
/// holds one that cannot be read.
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
    for (const auto& m : doc["members"]) {
        if (!m.is_object() || !m.contains("id") || !m["id"].is_number_unsigned()) {
            return bad("a member without an id");
        }
        member x;
        x.id = m["id"].get<uint64_t>();
        x.api = port_of(m.value("api", std::string()));
        x.peer = port_of(m.value("peer", std::string()));
        x.metrics = port_of(m.value("metrics", std::string()));
        if (x.api == 0 || x.peer == 0 || x.metrics == 0) {
            return bad(fmt::format("member {}: missing or bad addresses", x.id));
        }
        x.dir = dir / fmt::format("controller-{}", x.id);
        c.members.push_back(std::move(x));
    }
    if (c.members.empty()) {
        return bad("no members");
    }
    return std::optional<cluster>(std::move(c));
}

result<void> write_member_config(const cluster& c, const member& m) {
    std::string initial;
    for (const auto& o : c.members) {
        initial += fmt::format("  - {{id: {}, peer: {}, api: {}}}\n", o.id, o.peer_address(),
                               o.api_address());
    }
    const std::string text = fmt::format(
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
        m.metrics_address(), initial);
    std::error_code ec;
    fs::create_directories(m.dir, ec);
    if (ec) {
        return error_info(ec, fmt::format("cannot create {}: {}", m.dir.string(), ec.message()));
    }
    return write_text(m.config(), text);
}

/// Holds <state>/lock (flock, non-blocking) for the command's lifetime; the
/// descriptor is close-on-exec so the controllers never inherit the lock.
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

// ------------------------------------------------------------ observing

struct member_view {
    std::optional<pid_t> pid;
    std::string role;  // from Status: leader, follower, candidate; "" if not answering
    std::string error;
    uint64_t leader_id = 0;
    uint64_t term = 0;
    std::string cluster_uuid;
};

std::vector<member_view> observe(const cluster& c) {
    settings s;
    s.controllers = {c.members.front().api_address()};
    s.command_timeout = std::chrono::milliseconds(1000);
    s.retry_timeout = std::chrono::milliseconds(0);
    controller_client client(s);
    std::vector<member_view> out;
    for (const auto& m : c.members) {
        member_view v;
        v.pid = running_pid(m);
        if (!v.pid) {
            v.error = "not running";
        } else if (!port_listening(m.api)) {
            v.error = "not listening yet";
        } else if (auto st = client.status_of(m.api_address())) {
            v.role = st->role();
            v.leader_id = st->leader_id();
            v.term = st->term();
            v.cluster_uuid = st->cluster_uuid();
        } else {
            v.error = st.error().detail;
        }
        out.push_back(std::move(v));
    }
    return out;
}

/// The leader the members agree on, with a known cluster uuid, or 0. With
/// `all`, every member must answer (start's readiness); otherwise those that
/// answer must agree (status, with a member down).
uint64_t agreed_leader(const std::vector<member_view>& views, std::string& uuid, bool all) {
    uint64_t leader = 0;
    for (const auto& v : views) {
        if (v.role.empty() && !all) {
            continue;
        }
        if (v.role.empty() || v.leader_id == 0 || (leader != 0 && v.leader_id != leader)) {
            return 0;
        }
        leader = v.leader_id;
        if (!v.cluster_uuid.empty()) {
            uuid = v.cluster_uuid;
        }
    }
    return uuid.empty() ? 0 : leader;
}

json members_json(const cluster& c, const std::vector<member_view>& views) {
    json out = json::array();
    for (size_t i = 0; i < c.members.size(); ++i) {
        const auto& m = c.members[i];
        const auto& v = views[i];
        json j = {{"id", m.id},
                  {"pid", v.pid ? json(*v.pid) : json(nullptr)},
                  {"alive", v.pid.has_value()},
                  {"api", m.api_address()},
                  {"peer", m.peer_address()},
                  {"metrics", m.metrics_address()},
                  {"role", v.role.empty() ? json(nullptr) : json(v.role)},
                  {"log", m.log().string()}};
        if (!v.error.empty()) {
            j["error"] = v.error;
        }
        out.push_back(std::move(j));
    }
    return out;
}

std::string members_table(const cluster& c, const std::vector<member_view>& views) {
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < c.members.size(); ++i) {
        const auto& m = c.members[i];
        const auto& v = views[i];
        rows.push_back({std::to_string(m.id), v.pid ? std::to_string(*v.pid) : "-",
                        v.pid ? "yes" : "no", m.api_address(), m.peer_address(),
                        m.metrics_address(), v.role.empty() ? "(" + v.error + ")" : v.role});
    }
    return render_table({"id", "pid", "alive", "api", "peer", "metrics", "role"}, rows);
}

constexpr const char* brokers_note =
    "brokers: none yet (the broker process does not exist yet; `topic create` needs a "
    "registered broker)";

// ------------------------------------------------------------ start

/// Creates or updates the "dev" profile to point at `c` and selects it.
result<std::string> select_dev_profile(cli_context& ctx, const cluster& c) {
    std::string path;
    auto p = profile_file_path(ctx.config_flag, ctx.env());
    if (!p) {
        return p.error();
    }
    path = *p;
    auto f = update_profile_file(path, [&](profile_file& pf) -> result<void> {
        profile* prof = pf.find(dev_profile);
        if (prof == nullptr) {
            pf.profiles.push_back(profile{dev_profile, {}, {}});
            prof = &pf.profiles.back();
        }
        prof->description = fmt::format("fjord dev cluster ({})", c.state_dir.string());
        prof->values["controllers"] = c.controllers();
        pf.current = dev_profile;
        return ok();
    });
    if (!f) {
        return f.error();
    }
    return path;
}

// `--format help` output: the JSON document each dev verb prints.
constexpr const char* member_schema =
    "{\"id\": int, \"pid\": int|null, \"alive\": bool, \"api\": \"host:port\", "
    "\"peer\": \"host:port\", \"metrics\": \"host:port\", \"role\": "
    "\"leader\"|\"follower\"|...|null, \"log\": path, \"error\"?: string}";
const std::string start_schema = fmt::format(
    "{{\"state_dir\": path, \"cluster_uuid\": string, \"leader_id\": int, "
    "\"controllers\": \"host:port,...\", \"profile\": string|null, \"members\": [{}], "
    "\"brokers\": []}}\n",
    member_schema);
const std::string status_schema = fmt::format(
    "{{\"state_dir\": path, \"running\": bool, \"cluster_uuid\": string, \"leader_id\": int, "
    "\"controllers\": \"host:port,...\", \"members\": [{}], \"brokers\": []}}\n",
    member_schema);
constexpr const char* stop_schema =
    "{\"state_dir\": path, \"was_running\": bool, \"members\": [{\"id\": int, \"result\": "
    "\"not running\"|\"stopped\"|\"killed ...\"|\"still running after SIGKILL\", \"pid\"?: "
    "int, \"seconds\"?: float}]}\n";
constexpr const char* purge_schema =
    "{\"state_dir\": path, \"removed\": bool, \"left\"?: [file name], \"profile_deleted\"?: "
    "bool, \"was_running\"?: bool, \"members\"?: [{\"id\": int, \"result\": string, "
    "\"pid\"?: int, \"seconds\"?: float}]}\n";

/// Resolves the output format; true when the command should go on (false on
/// a bad format, or after printing `schema` for `--format help`, which must
/// neither start nor stop anything).
bool begin(cli_context& ctx, const std::string& schema) {
    if (!ctx.prepare_output()) {
        return false;
    }
    if (ctx.format() == output_format::help) {
        std::cout << schema;
        return false;
    }
    return true;
}

void print_started(cli_context& ctx, const cluster& c, const std::vector<member_view>& views,
                   uint64_t leader, const std::string& uuid, const std::string& profile_path,
                   const std::string& headline) {
    json doc = {{"state_dir", c.state_dir.string()},
                {"cluster_uuid", uuid},
                {"leader_id", leader},
                {"controllers", c.controllers()},
                {"profile", profile_path.empty() ? json(nullptr) : json(dev_profile)},
                {"members", members_json(c, views)},
                {"brokers", json::array()}};
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string out = headline + "\n\n" + members_table(c, views) + brokers_note + "\n\n";
        if (!profile_path.empty()) {
            out +=
                fmt::format("Profile \"{}\" is selected ({}). Try:\n", dev_profile, profile_path);
        } else {
            out += fmt::format("Reach it with: export FJORD_CONTROLLERS={}\nthen try:\n",
                               c.controllers());
        }
        out += "  fjord controller status\n  fjord topic list\n";
        if (!profile_path.empty()) {
            out += fmt::format("Without the profile: -X controllers={} (or FJORD_CONTROLLERS)\n",
                               c.controllers());
        }
        out += fmt::format(
            "Logs: {}/controller-<id>/log. Stop: fjord dev stop. Remove: fjord dev purge.\n",
            c.state_dir.string());
        return out;
    });
}

/// Fails the start: prints why and the members' log tails, stops what this
/// run started (state is kept for the logs).
void fail_start(cli_context& ctx, const cluster& c, const std::vector<member>& started,
                const std::string& why) {
    std::string msg = why + "\n";
    for (const auto& m : c.members) {
        msg += fmt::format("  controller {} log ({}), last lines:\n{}", m.id, m.log().string(),
                           log_tail(m.log(), 15));
    }
    ctx.fail(exit_code::failed, msg + "  (stopping the controllers this command started)");
    stop_members(started, std::chrono::milliseconds(10000));
}

void run_start(cli_context& ctx, const dev_options& o, bool nodes_given) {
    if (!begin(ctx, start_schema)) {
        return;
    }
    auto dir = state_dir_for(o.state_dir, ctx.env());
    if (!dir) {
        ctx.fail(exit_code::usage, dir.error().detail);
        return;
    }
    auto lock = lock_state(*dir);
    if (!lock) {
        ctx.fail(exit_code::failed, lock.error().detail);
        return;
    }
    auto existing = load_cluster(*dir);
    if (!existing) {
        ctx.fail(exit_code::failed, existing.error().detail);
        return;
    }
    auto bin = find_controller_bin(ctx.env());
    cluster c;
    const bool fresh = !existing->has_value();
    if (!fresh) {
        c = std::move(**existing);
        if (nodes_given && static_cast<size_t>(o.nodes) != c.members.size()) {
            ctx.fail(exit_code::failed,
                     fmt::format("the dev cluster in {} has {} controllers, not {}; remove it "
                                 "first (fjord dev purge) to start a new one",
                                 dir->string(), c.members.size(), o.nodes));
            return;
        }
    }
    // Members already running are left alone; the others are (re)started.
    std::vector<member> to_start;
    for (const auto& m : c.members) {
        if (!running_pid(m)) {
            to_start.push_back(m);
        }
    }
    if (!fresh && to_start.empty()) {
        const auto views = observe(c);
        std::string uuid;
        const uint64_t leader = agreed_leader(views, uuid, false);
        std::string path;
        if (!o.no_profile) {
            auto p = select_dev_profile(ctx, c);
            if (!p) {
                ctx.fail(exit_code::failed, p.error().detail);
                return;
            }
            path = *p;
        }
        print_started(
            ctx, c, views, leader, uuid, path,
            fmt::format("The dev cluster in {} is already running ({} controllers, leader {}).",
                        dir->string(), c.members.size(),
                        leader == 0 ? std::string("not agreed yet") : std::to_string(leader)));
        return;
    }
    if (!bin) {
        ctx.fail(exit_code::failed, bin.error().detail);
        return;
    }
    c.state_dir = *dir;
    c.controller_bin = *bin;
    if (fresh) {
        // Leftover member directories without cluster.json: their data
        // belongs to some earlier cluster, which a new one must not adopt.
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(*dir, ec)) {
            if (entry.path().filename().string().starts_with("controller-")) {
                ctx.fail(exit_code::failed,
                         fmt::format("{} holds {} but no cluster.json; remove it first (fjord dev "
                                     "purge)",
                                     dir->string(), entry.path().filename().string()));
                return;
            }
        }
        std::set<uint16_t> taken;
        for (int i = 0; i < o.nodes; ++i) {
            member m;
            m.id = static_cast<uint64_t>(i + 1);
            m.dir = *dir / fmt::format("controller-{}", m.id);
            uint16_t* ports[3] = {&m.api, &m.peer, &m.metrics};
            for (int k = 0; k < 3; ++k) {
                auto p = pick_port(base_ports[k] + 1000u * static_cast<uint32_t>(i), taken);
                if (!p) {
                    ctx.fail(exit_code::failed, p.error().detail);
                    return;
                }
                *ports[k] = *p;
            }
            log(log_level::debug, "dev", "controller {}: api {}, peer {}, metrics {}", m.id, m.api,
                m.peer, m.metrics);
            c.members.push_back(std::move(m));
        }
        for (const auto& m : c.members) {
            if (auto r = write_member_config(c, m); !r) {
                ctx.fail(exit_code::failed, r.error().detail);
                return;
            }
        }
        if (auto r = save_cluster(c); !r) {
            ctx.fail(exit_code::failed, r.error().detail);
            return;
        }
        to_start = c.members;
    } else {
        // A restart keeps the recorded ports (the members' data names them).
        for (const auto& m : to_start) {
            for (const uint16_t port : {m.api, m.peer, m.metrics}) {
                if (!port_free(port)) {
                    ctx.fail(exit_code::failed,
                             fmt::format("cannot restart controller {}: port {} is in use by "
                                         "another process; remove the dev cluster (fjord dev "
                                         "purge) to start one on new ports",
                                         m.id, port));
                    return;
                }
            }
        }
    }

    const auto t0 = steady::now();
    std::vector<member> started;
    std::vector<pid_t> children;
    for (const auto& m : to_start) {
        auto pid = spawn(c.controller_bin, m);
        if (!pid) {
            fail_start(ctx, c, started, pid.error().detail);
            return;
        }
        started.push_back(m);
        children.push_back(*pid);
    }

    // Wait for a leader every member agrees on, and the cluster uuid.
    const auto deadline = t0 + o.timeout;
    std::vector<member_view> views;
    uint64_t leader = 0;
    std::string uuid;
    for (;;) {
        for (size_t i = 0; i < children.size(); ++i) {
            int status = 0;
            if (::waitpid(children[i], &status, WNOHANG) == children[i]) {
                fail_start(ctx, c, started,
                           fmt::format("controller {} exited during start-up ({})", started[i].id,
                                       WIFEXITED(status)
                                           ? fmt::format("exit status {}", WEXITSTATUS(status))
                                           : fmt::format("signal {}", WTERMSIG(status))));
                return;
            }
        }
        views = observe(c);
        uuid.clear();
        leader = agreed_leader(views, uuid, true);
        if (leader != 0) {
            break;
        }
        if (steady::now() >= deadline) {
            std::string seen;
            for (size_t i = 0; i < views.size(); ++i) {
                seen += fmt::format(
                    "  controller {}: {}\n", c.members[i].id,
                    views[i].role.empty()
                        ? views[i].error
                        : fmt::format(
                              "{}, leader {}, term {}, cluster {}", views[i].role,
                              views[i].leader_id, views[i].term,
                              views[i].cluster_uuid.empty() ? "(unknown)" : views[i].cluster_uuid));
            }
            fail_start(ctx, c, started,
                       fmt::format("the dev cluster did not agree on a leader with a cluster id "
                                   "within {} ms:\n{}",
                                   o.timeout.count(), seen));
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const double secs = std::chrono::duration<double>(steady::now() - t0).count();
    std::string path;
    if (!o.no_profile) {
        auto p = select_dev_profile(ctx, c);
        if (!p) {
            ctx.fail(exit_code::failed,
                     fmt::format("the dev cluster is running, but the profile could not be "
                                 "written: {}",
                                 p.error().detail));
            return;
        }
        path = *p;
    }
    print_started(ctx, c, views, leader, uuid, path,
                  fmt::format("{} {} controller{} in {:.1f}s; cluster {}, leader {}.",
                              fresh ? "Started" : "Restarted", started.size(),
                              started.size() == 1 ? "" : "s", secs, uuid, leader));
}

// ------------------------------------------------------------ stop, status, purge

const char* stop_text(stop_result r) {
    switch (r) {
        case stop_result::not_running:
            return "not running";
        case stop_result::stopped:
            return "stopped";
        case stop_result::killed:
            return "killed (did not stop on SIGTERM in time)";
        case stop_result::survived:
            return "still running after SIGKILL";
    }
    return "unknown";
}

/// Stops the cluster in `dir` (if any) and prints per member; false when a
/// member needed SIGKILL or survived it.
bool stop_and_report(cli_context& ctx, const fs::path& dir, const cluster& c,
                     std::chrono::milliseconds timeout, json& doc, std::string& text) {
    const auto reports = stop_members(c.members, timeout);
    bool clean = true;
    json items = json::array();
    bool any = false;
    for (const auto& r : reports) {
        json j = {{"id", r.id}, {"result", stop_text(r.result)}};
        if (r.pid != 0) {
            j["pid"] = r.pid;
            j["seconds"] = r.seconds;
            any = true;
            text += fmt::format("controller {} (pid {}): {} after {:.1f}s\n", r.id, r.pid,
                                stop_text(r.result), r.seconds);
        } else {
            text += fmt::format("controller {}: not running\n", r.id);
        }
        if (r.result == stop_result::killed || r.result == stop_result::survived) {
            clean = false;
            ctx.set_code(exit_code::failed);
        }
        items.push_back(std::move(j));
    }
    doc = {{"state_dir", dir.string()}, {"members", items}, {"was_running", any}};
    return clean;
}

void run_stop(cli_context& ctx, const dev_options& o) {
    if (!begin(ctx, stop_schema)) {
        return;
    }
    auto dir = state_dir_for(o.state_dir, ctx.env());
    if (!dir) {
        ctx.fail(exit_code::usage, dir.error().detail);
        return;
    }
    auto c = load_cluster(*dir);
    if (!c) {
        ctx.fail(exit_code::failed, c.error().detail);
        return;
    }
    if (!c->has_value()) {
        print_output(std::cout, ctx.format(),
                     {{"state_dir", dir->string()}, {"members", json::array()}},
                     [&](bool) { return fmt::format("No dev cluster in {}.\n", dir->string()); });
        return;
    }
    auto lock = lock_state(*dir);
    if (!lock) {
        ctx.fail(exit_code::failed, lock.error().detail);
        return;
    }
    json doc;
    std::string text;
    stop_and_report(ctx, *dir, **c, o.timeout, doc, text);
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        return text + fmt::format(
                          "State kept in {} (fjord dev start restarts it; fjord dev "
                          "purge removes it).\n",
                          dir->string());
    });
}

void run_status(cli_context& ctx, const dev_options& o) {
    if (!begin(ctx, status_schema)) {
        return;
    }
    auto dir = state_dir_for(o.state_dir, ctx.env());
    if (!dir) {
        ctx.fail(exit_code::usage, dir.error().detail);
        return;
    }
    auto c = load_cluster(*dir);
    if (!c) {
        ctx.fail(exit_code::failed, c.error().detail);
        return;
    }
    if (!c->has_value()) {
        ctx.set_code(exit_code::failed);
        print_output(std::cout, ctx.format(),
                     {{"state_dir", dir->string()}, {"running", false}, {"members", json::array()}},
                     [&](bool) {
                         return fmt::format("No dev cluster in {} (fjord dev start makes one).\n",
                                            dir->string());
                     });
        return;
    }
    const cluster& cl = **c;
    const auto views = observe(cl);
    std::string uuid;
    const uint64_t leader = agreed_leader(views, uuid, false);
    bool all_alive = true;
    for (const auto& v : views) {
        all_alive = all_alive && v.pid.has_value();
    }
    if (!all_alive || leader == 0) {
        ctx.set_code(exit_code::failed);
    }
    const json doc = {{"state_dir", dir->string()},
                      {"running", all_alive && leader != 0},
                      {"cluster_uuid", uuid},
                      {"leader_id", leader},
                      {"controllers", cl.controllers()},
                      {"members", members_json(cl, views)},
                      {"brokers", json::array()}};
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string head;
        if (all_alive && leader != 0) {
            head = fmt::format("dev cluster {}: running, leader {}", uuid, leader);
        } else if (std::none_of(views.begin(), views.end(),
                                [](const member_view& v) { return v.pid.has_value(); })) {
            head = "dev cluster: stopped (fjord dev start restarts it)";
        } else {
            head = fmt::format("dev cluster: degraded ({})",
                               leader == 0 ? "no agreed leader" : "a member is down");
        }
        return fmt::format("{}\nstate: {}\n\n", head, dir->string()) + members_table(cl, views) +
               brokers_note + "\n";
    });
}

void run_purge(cli_context& ctx, const dev_options& o) {
    if (!begin(ctx, purge_schema)) {
        return;
    }
    auto dir = state_dir_for(o.state_dir, ctx.env());
    if (!dir) {
        ctx.fail(exit_code::usage, dir.error().detail);
        return;
    }
    std::error_code ec;
    if (!fs::exists(*dir, ec)) {
        print_output(std::cout, ctx.format(), {{"state_dir", dir->string()}, {"removed", false}},
                     [&](bool) { return fmt::format("No dev cluster in {}.\n", dir->string()); });
        return;
    }
    auto lock = lock_state(*dir);
    if (!lock) {
        ctx.fail(exit_code::failed, lock.error().detail);
        return;
    }
    // Members are found from the controller-* directories, so a damaged
    // cluster.json does not keep processes alive.
    cluster c;
    c.state_dir = *dir;
    for (const auto& entry : fs::directory_iterator(*dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (entry.is_directory() && name.starts_with("controller-")) {
            member m;
            m.dir = entry.path();
            try {
                m.id = std::stoull(name.substr(11));
            } catch (const std::exception&) {
                continue;
            }
            c.members.push_back(std::move(m));
        }
    }
    std::sort(c.members.begin(), c.members.end(),
              [](const member& a, const member& b) { return a.id < b.id; });
    json stop_doc;
    std::string text;
    if (!stop_and_report(ctx, *dir, c, o.timeout, stop_doc, text)) {
        ctx.fail(exit_code::failed,
                 fmt::format("not removing {}: a controller did not stop", dir->string()));
        std::cout << text;
        return;
    }
    for (const auto& m : c.members) {
        fs::remove_all(m.dir, ec);
        if (ec) {
            ctx.fail(exit_code::failed,
                     fmt::format("cannot remove {}: {}", m.dir.string(), ec.message()));
            return;
        }
    }
    fs::remove(cluster_file(*dir), ec);
    fs::remove(cluster_file(*dir).string() + ".tmp", ec);
    fs::remove(*dir / "lock", ec);
    std::vector<std::string> left;
    for (const auto& entry : fs::directory_iterator(*dir, ec)) {
        left.push_back(entry.path().filename().string());
    }
    bool removed = false;
    if (left.empty()) {
        removed = fs::remove(*dir, ec);
    }
    // The dev profile goes too, if it still describes this cluster.
    bool profile_deleted = false;
    if (auto path = profile_file_path(ctx.config_flag, ctx.env())) {
        const std::string marker = fmt::format("fjord dev cluster ({})", dir->string());
        auto f = update_profile_file(*path, [&](profile_file& pf) -> result<void> {
            const profile* p = pf.find(dev_profile);
            if (p != nullptr && p->description == marker) {
                std::erase_if(pf.profiles, [](const profile& x) { return x.name == dev_profile; });
                if (pf.current == dev_profile) {
                    pf.current.clear();
                }
                profile_deleted = true;
            }
            return ok();
        });
        if (!f) {
            ctx.fail(exit_code::failed,
                     fmt::format("could not remove the dev profile: {}", f.error().detail));
        }
    }
    json doc = stop_doc;
    doc["removed"] = removed;
    doc["left"] = left;
    doc["profile_deleted"] = profile_deleted;
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string out = text;
        if (removed) {
            out += fmt::format("Removed {}.\n", dir->string());
        } else {
            std::string names;
            for (const auto& n : left) {
                names += (names.empty() ? "" : ", ") + n;
            }
            out += fmt::format("Removed the dev cluster's files; left {} (it also holds: {}).\n",
                               dir->string(), names);
        }
        if (profile_deleted) {
            out += fmt::format("Deleted profile \"{}\".\n", dev_profile);
        }
        return out;
    });
}

void add_state_dir(CLI::App* cmd, dev_options& o) {
    cmd->add_option("--state-dir", o.state_dir,
                    "State directory (default $XDG_STATE_HOME/fjord/dev, or "
                    "~/.local/state/fjord/dev)");
}

void add_timeout(CLI::App* cmd, dev_options& o, const char* help) {
    cmd->add_option_function<std::string>(
           "--timeout",
           [&o](const std::string& v) {
               auto d = parse_duration(v);
               if (!d) {
                   throw CLI::ValidationError("--timeout", d.error().detail);
               }
               o.timeout = *d;
           },
           help)
        ->default_str("30s");
}

}  // namespace

void register_dev_commands(CLI::App& root, cli_context& ctx) {
    auto* dev = root.add_subcommand("dev", "Run a local cluster of real controller processes");
    dev->require_subcommand(1);

    auto so = std::make_shared<dev_options>();
    auto* start = dev->add_subcommand(
        "start", "Start (or restart) the local cluster and select the \"dev\" profile");
    start->add_option("-n,--nodes", so->nodes, "Number of controllers (1..7; default 3)")
        ->check(CLI::Range(1, 7));
    start->add_flag("--no-profile", so->no_profile, "Do not create or select the \"dev\" profile");
    add_state_dir(start, *so);
    add_timeout(start, *so, "How long to wait for a leader");
    start->callback([&ctx, so, start] { run_start(ctx, *so, start->count("--nodes") > 0); });

    auto po = std::make_shared<dev_options>();
    auto* stop = dev->add_subcommand("stop", "Stop the local cluster's processes (state is kept)");
    add_state_dir(stop, *po);
    add_timeout(stop, *po, "How long to wait after SIGTERM before SIGKILL");
    stop->callback([&ctx, po] { run_stop(ctx, *po); });

    auto to = std::make_shared<dev_options>();
    auto* status = dev->add_subcommand(
        "status", "Show each member: pid, ports, role (exit 0 only if all run with a leader)");
    add_state_dir(status, *to);
    status->callback([&ctx, to] { run_status(ctx, *to); });

    auto uo = std::make_shared<dev_options>();
    auto* purge = dev->add_subcommand("purge", "Stop the local cluster and remove its state");
    add_state_dir(purge, *uo);
    add_timeout(purge, *uo, "How long to wait after SIGTERM before SIGKILL");
    purge->callback([&ctx, uo] { run_purge(ctx, *uo); });
}

}  // namespace fjord::cli
