// File: cli/commands/dev.cc
//
// fjord dev start|stop|status|purge: a local cluster of real fjord-controller
// and fjord-broker processes on loopback, for trying Fjord and for tests
// (rpk container's role, rpk-reference §9, without containers).
//
// State directory (--state-dir, else $XDG_STATE_HOME/fjord/dev, else
// ~/.local/state/fjord/dev):
//   cluster.json               what `start` created: members, brokers, ports, binaries
//   lock                       flock held by the running dev command
//   controller-<id>/controller.yaml, data/, log, pid
//   broker-<id>/broker.yaml, data/, log, pid
//
// Contracts:
// - start: a fresh cluster gets member i (0-based) the ports 9644, 33145 and
//   9645 plus 1000*i (rpk container's offset; +i would make one member's
//   API port the next one's metrics port), and broker i (--brokers, ids from
//   1) the Kafka and metrics ports 9092 and 9093 plus 100*i, each replaced by
//   an ephemeral port when taken. A stopped cluster restarts with its
//   recorded ports and data. Brokers start once every member answers Status
//   naming the same leader and the cluster has a uuid; start returns once
//   every broker's GET /healthz says ok. Otherwise (timeout, a process
//   exiting) it prints the log tails, stops what it started and exits 1.
//   Then it creates or updates the profile "dev" (controllers, brokers) and
//   makes it current (unless --no-profile). Already running: says so, exits 0.
// - stop: SIGTERM to each broker's, then each member's recorded pid, but only
//   if /proc/PID/cmdline is a fjord-broker (fjord-controller) run with that
//   process's config file; waits, then SIGKILL after --timeout (reported,
//   exit 1). State is kept.
// - status: exit 0 when every member runs, a leader exists and every broker
//   runs and is ready, else 1.
// - purge: stop, then remove what start created (and the "dev" profile if it
//   still points at this state directory); other files are left and named.
// The processes run in their own session, so they outlive the command and
// a Ctrl-C in the shell.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
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
constexpr uint16_t base_ports[3] = {9644, 33145, 9645};  // api, peer, metrics; +1000 per member
constexpr uint16_t broker_base_ports[2] = {9092, 9093};  // kafka, metrics; +100 per broker
constexpr const char* controller_kind = "controller";
constexpr const char* broker_kind = "broker";

struct dev_options {
    std::string state_dir;
    int nodes = 3;
    int brokers = 1;
    std::chrono::milliseconds timeout{30000};
    bool no_profile = false;
};

/// One process of the dev cluster: fjord-<kind> run with --config
/// <state>/<kind>-<id>/<kind>.yaml, output in log, pid in pid.
struct dev_process {
    std::string kind;  // controller_kind or broker_kind
    uint64_t id = 0;
    fs::path dir;  // <state>/<kind>-<id>

    std::string label() const { return fmt::format("{} {}", kind, id); }
    std::string binary_name() const { return "fjord-" + kind; }
    fs::path config() const { return dir / (kind + ".yaml"); }
    fs::path log() const { return dir / "log"; }
    fs::path pid_file() const { return dir / "pid"; }
};

struct member : dev_process {
    member() { kind = controller_kind; }
    uint16_t api = 0;
    uint16_t peer = 0;
    uint16_t metrics = 0;

    std::string api_address() const { return fmt::format("{}:{}", loopback, api); }
    std::string peer_address() const { return fmt::format("{}:{}", loopback, peer); }
    std::string metrics_address() const { return fmt::format("{}:{}", loopback, metrics); }
};

struct broker_node : dev_process {
    broker_node() { kind = broker_kind; }
    uint16_t kafka = 0;
    uint16_t metrics = 0;

    std::string kafka_address() const { return fmt::format("{}:{}", loopback, kafka); }
    std::string metrics_address() const { return fmt::format("{}:{}", loopback, metrics); }
};

template <typename T>
std::vector<dev_process> processes_of(const std::vector<T>& xs) {
    return std::vector<dev_process>(xs.begin(), xs.end());
}

struct cluster {
    fs::path state_dir;
    std::string controller_bin;
    std::string broker_bin;
    std::vector<member> members;
    std::vector<broker_node> brokers;

    std::string controllers() const {
        std::string out;
        for (const auto& m : members) {
            out += (out.empty() ? "" : ",") + m.api_address();
        }
        return out;
    }
    /// The brokers' Kafka addresses, comma-separated ("" without brokers).
    std::string kafka_brokers() const {
        std::string out;
        for (const auto& b : brokers) {
            out += (out.empty() ? "" : ",") + b.kafka_address();
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

/// The fjord-<kind> binary ("controller", "broker"): $FJORD_<KIND>_BIN, else
/// fjord-<kind> next to this executable.
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

/// True when `pid` is a live (not zombie) fjord-<kind> running with `p`'s
/// config file: the only processes this command ever signals.
bool is_our_process(pid_t pid, const dev_process& p) {
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
    if (args.empty() || fs::path(args[0]).filename() != p.binary_name()) {
        return false;
    }
    const fs::path config = p.config();
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

/// The process's pid if it is running (per is_our_process), else nullopt.
std::optional<pid_t> running_pid(const dev_process& m) {
    auto pid = read_pid(m.pid_file());
    if (pid && is_our_process(*pid, m)) {
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

/// Starts the process (`bin --config <config>`) in its own session, output
/// appended to its log. The child keeps no descriptor but 0/1/2 (all opened
/// here), so `fjord dev start | cat` returns when fjord exits.
result<pid_t> spawn(const std::string& bin, const dev_process& m) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, m.log().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    // Descriptors inherited from whoever ran fjord (a pipe a CI step waits
    // on to close, say) must not be held open by a long-lived process.
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
    log(log_level::debug, "dev", "{}: started pid {} ({} --config {})", m.label(), pid, bin,
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

/// SIGTERM to every running process, wait up to `timeout`, then SIGKILL the
/// rest (still only processes that pass is_our_process).
std::vector<stop_report> stop_processes(const std::vector<dev_process>& members,
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
        log(log_level::debug, "dev", "{}: SIGTERM to pid {}", m.label(), *pid);
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
                if (!is_our_process(r.pid, members[i])) {
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
        if (out[i].result == stop_result::survived && is_our_process(out[i].pid, members[i])) {
            log(log_level::debug, "dev", "{}: SIGKILL to pid {}", members[i].label(), out[i].pid);
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
                      {"controller_bin", c.controller_bin},
                      {"broker_bin", c.broker_bin},
                      {"members", members},
                      {"brokers", brokers}};
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
    // Version 1 (before brokers) has no "brokers": a cluster without any.
    c.broker_bin = doc.value("broker_bin", std::string());
    if (doc.contains("brokers")) {
        if (!doc["brokers"].is_array()) {
            return bad("\"brokers\" is not a list");
        }
        for (const auto& b : doc["brokers"]) {
            if (!b.is_object() || !b.contains("id") || !b["id"].is_number_unsigned()) {
                return bad("a broker without an id");
            }
            broker_node x;
            x.id = b["id"].get<uint64_t>();
            x.kafka = port_of(b.value("kafka", std::string()));
            x.metrics = port_of(b.value("metrics", std::string()));
            if (x.kafka == 0 || x.metrics == 0) {
                return bad(fmt::format("broker {}: missing or bad addresses", x.id));
            }
            x.dir = dir / fmt::format("broker-{}", x.id);
            c.brokers.push_back(std::move(x));
        }
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
    std::error_code ec;
    fs::create_directories(b.dir, ec);
    if (ec) {
        return error_info(ec, fmt::format("cannot create {}: {}", b.dir.string(), ec.message()));
    }
    return write_text(b.config(), text);
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

/// True when an HTTP server on 127.0.0.1:port answers GET /healthz with 200
/// within about a second (the broker's readiness: it has the controller's
/// state).
bool healthz_ok(uint16_t port) {
    fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (s.get() < 0) {
        return false;
    }
    const timeval tv{1, 0};
    ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
        return false;
    }
    const std::string request = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(s.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        return false;
    }
    std::string reply;
    char buf[256];
    while (reply.find('\n') == std::string::npos && reply.size() < 1024) {
        const ssize_t n = ::recv(s.get(), buf, sizeof(buf), 0);
        if (n <= 0) {
            break;
        }
        reply.append(buf, static_cast<size_t>(n));
    }
    // "HTTP/1.x 200 OK"
    return reply.starts_with("HTTP/1.") && reply.size() >= 12 && reply.compare(8, 4, " 200") == 0;
}

struct broker_view {
    std::optional<pid_t> pid;
    bool ready = false;  // GET /healthz says ok
    std::string error;   // why not ready
};

std::vector<broker_view> observe_brokers(const cluster& c) {
    std::vector<broker_view> out;
    for (const auto& b : c.brokers) {
        broker_view v;
        v.pid = running_pid(b);
        if (!v.pid) {
            v.error = "not running";
        } else if (!healthz_ok(b.metrics)) {
            v.error = "not ready";
        } else {
            v.ready = true;
        }
        out.push_back(std::move(v));
    }
    return out;
}

json brokers_json(const cluster& c, const std::vector<broker_view>& views) {
    json out = json::array();
    for (size_t i = 0; i < c.brokers.size(); ++i) {
        const auto& b = c.brokers[i];
        const auto& v = views[i];
        json j = {{"id", b.id},
                  {"pid", v.pid ? json(*v.pid) : json(nullptr)},
                  {"alive", v.pid.has_value()},
                  {"ready", v.ready},
                  {"kafka", b.kafka_address()},
                  {"metrics", b.metrics_address()},
                  {"log", b.log().string()}};
        if (!v.error.empty()) {
            j["error"] = v.error;
        }
        out.push_back(std::move(j));
    }
    return out;
}

std::string brokers_table(const cluster& c, const std::vector<broker_view>& views) {
    if (c.brokers.empty()) {
        return "brokers: none (the dev cluster was created with --brokers 0)\n";
    }
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < c.brokers.size(); ++i) {
        const auto& b = c.brokers[i];
        const auto& v = views[i];
        rows.push_back({std::to_string(b.id), v.pid ? std::to_string(*v.pid) : "-",
                        v.pid ? "yes" : "no", b.kafka_address(), b.metrics_address(),
                        v.ready ? "yes" : "no"});
    }
    return "brokers:\n" + render_table({"id", "pid", "alive", "kafka", "metrics", "ready"}, rows);
}

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
        if (c.brokers.empty()) {
            prof->values.erase("brokers");
        } else {
            prof->values["brokers"] = c.kafka_brokers();
        }
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
constexpr const char* broker_schema =
    "{\"id\": int, \"pid\": int|null, \"alive\": bool, \"ready\": bool, \"kafka\": "
    "\"host:port\", \"metrics\": \"host:port\", \"log\": path, \"error\"?: \"not "
    "running\"|\"not ready\"}";
const std::string start_schema = fmt::format(
    "{{\"state_dir\": path, \"cluster_uuid\": string, \"leader_id\": int, "
    "\"controllers\": \"host:port,...\", \"bootstrap_servers\": \"host:port,...\", "
    "\"profile\": string|null, \"members\": [{}], \"brokers\": [{}]}}\n",
    member_schema, broker_schema);
const std::string status_schema = fmt::format(
    "{{\"state_dir\": path, \"running\": bool, \"cluster_uuid\": string, \"leader_id\": int, "
    "\"controllers\": \"host:port,...\", \"bootstrap_servers\": \"host:port,...\", "
    "\"members\": [{}], \"brokers\": [{}]}}\n",
    member_schema, broker_schema);
constexpr const char* stop_item_schema =
    "{\"id\": int, \"result\": \"not running\"|\"stopped\"|\"killed ...\"|\"still running "
    "after SIGKILL\", \"pid\"?: int, \"seconds\"?: float}";
const std::string stop_schema = fmt::format(
    "{{\"state_dir\": path, \"was_running\": bool, \"brokers\": [{}], \"members\": [{}]}}\n",
    stop_item_schema, stop_item_schema);
const std::string purge_schema = fmt::format(
    "{{\"state_dir\": path, \"removed\": bool, \"left\"?: [file name], \"profile_deleted\"?: "
    "bool, \"was_running\"?: bool, \"brokers\"?: [{}], \"members\"?: [{}]}}\n",
    stop_item_schema, stop_item_schema);

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

std::string plural(size_t n, const char* noun) {
    return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

void print_started(cli_context& ctx, const cluster& c, const std::vector<member_view>& views,
                   const std::vector<broker_view>& broker_views, uint64_t leader,
                   const std::string& uuid, const std::string& profile_path,
                   const std::string& headline) {
    json doc = {{"state_dir", c.state_dir.string()},
                {"cluster_uuid", uuid},
                {"leader_id", leader},
                {"controllers", c.controllers()},
                {"bootstrap_servers", c.kafka_brokers()},
                {"profile", profile_path.empty() ? json(nullptr) : json(dev_profile)},
                {"members", members_json(c, views)},
                {"brokers", brokers_json(c, broker_views)}};
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string out = headline + "\n\ncontrollers:\n" + members_table(c, views) + "\n" +
                          brokers_table(c, broker_views) + "\n";
        if (!profile_path.empty()) {
            out +=
                fmt::format("Profile \"{}\" is selected ({}). Try:\n", dev_profile, profile_path);
        } else {
            out += fmt::format("Reach it with: export FJORD_CONTROLLERS={}\nthen try:\n",
                               c.controllers());
        }
        out += "  fjord controller status\n  fjord topic list\n";
        if (!c.brokers.empty()) {
            out += fmt::format("  kcat -b {} -L\n", c.brokers.front().kafka_address());
        }
        if (!profile_path.empty()) {
            out += fmt::format("Without the profile: -X controllers={} (or FJORD_CONTROLLERS)\n",
                               c.controllers());
        }
        if (!c.brokers.empty()) {
            out += fmt::format("Kafka clients: bootstrap servers {}\n", c.kafka_brokers());
        }
        out += fmt::format(
            "Logs: {}/{{controller,broker}}-<id>/log. Stop: fjord dev stop. Remove: fjord dev "
            "purge.\n",
            c.state_dir.string());
        return out;
    });
}

/// Stops brokers first, then controllers (a broker outliving its controllers
/// only logs reconnect attempts).
void stop_in_order(const std::vector<dev_process>& ps, std::chrono::milliseconds timeout) {
    for (const char* kind : {broker_kind, controller_kind}) {
        std::vector<dev_process> these;
        std::copy_if(ps.begin(), ps.end(), std::back_inserter(these),
                     [&](const dev_process& p) { return p.kind == kind; });
        stop_processes(these, timeout);
    }
}

/// Fails the start: prints why and the log tails of `shown`, stops what this
/// run started (state is kept for the logs).
void fail_start(cli_context& ctx, const std::vector<dev_process>& shown,
                const std::vector<dev_process>& started, const std::string& why) {
    std::string msg = why + "\n";
    for (const auto& p : shown) {
        msg += fmt::format("  {} log ({}), last lines:\n{}", p.label(), p.log().string(),
                           log_tail(p.log(), 15));
    }
    ctx.fail(exit_code::failed, msg + "  (stopping the processes this command started)");
    stop_in_order(started, std::chrono::milliseconds(10000));
}

std::string exit_text(int status) {
    return WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                             : fmt::format("signal {}", WTERMSIG(status));
}

void run_start(cli_context& ctx, const dev_options& o, bool nodes_given, bool brokers_given) {
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
        if (brokers_given && static_cast<size_t>(o.brokers) != c.brokers.size()) {
            ctx.fail(exit_code::failed,
                     fmt::format("the dev cluster in {} has {}, not {}; remove it first (fjord "
                                 "dev purge) to start a new one",
                                 dir->string(), plural(c.brokers.size(), "broker"), o.brokers));
            return;
        }
    }
    // Processes already running are left alone; the others are (re)started.
    std::vector<member> members_to_start;
    for (const auto& m : c.members) {
        if (!running_pid(m)) {
            members_to_start.push_back(m);
        }
    }
    std::vector<broker_node> brokers_to_start;
    for (const auto& b : c.brokers) {
        if (!running_pid(b)) {
            brokers_to_start.push_back(b);
        }
    }
    if (!fresh && members_to_start.empty() && brokers_to_start.empty()) {
        const auto views = observe(c);
        const auto broker_views = observe_brokers(c);
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
            ctx, c, views, broker_views, leader, uuid, path,
            fmt::format("The dev cluster in {} is already running ({}, {}, leader {}).",
                        dir->string(), plural(c.members.size(), "controller"),
                        plural(c.brokers.size(), "broker"),
                        leader == 0 ? std::string("not agreed yet") : std::to_string(leader)));
        return;
    }
    if (fresh || !members_to_start.empty()) {
        auto bin = find_bin(ctx.env(), controller_kind);
        if (!bin) {
            ctx.fail(exit_code::failed, bin.error().detail);
            return;
        }
        c.controller_bin = *bin;
    }
    if (fresh ? o.brokers > 0 : !brokers_to_start.empty()) {
        auto bin = find_bin(ctx.env(), broker_kind);
        if (!bin) {
            ctx.fail(exit_code::failed, bin.error().detail);
            return;
        }
        c.broker_bin = *bin;
    }
    c.state_dir = *dir;
    if (fresh) {
        // Leftover process directories without cluster.json: their data
        // belongs to some earlier cluster, which a new one must not adopt.
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(*dir, ec)) {
            const std::string name = entry.path().filename().string();
            if (name.starts_with("controller-") || name.starts_with("broker-")) {
                ctx.fail(exit_code::failed,
                         fmt::format("{} holds {} but no cluster.json; remove it first (fjord dev "
                                     "purge)",
                                     dir->string(), name));
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
        for (int i = 0; i < o.brokers; ++i) {
            broker_node b;
            b.id = static_cast<uint64_t>(i + 1);
            b.dir = *dir / fmt::format("broker-{}", b.id);
            uint16_t* ports[2] = {&b.kafka, &b.metrics};
            for (int k = 0; k < 2; ++k) {
                auto p = pick_port(broker_base_ports[k] + 100u * static_cast<uint32_t>(i), taken);
                if (!p) {
                    ctx.fail(exit_code::failed, p.error().detail);
                    return;
                }
                *ports[k] = *p;
            }
            log(log_level::debug, "dev", "broker {}: kafka {}, metrics {}", b.id, b.kafka,
                b.metrics);
            c.brokers.push_back(std::move(b));
        }
        for (const auto& m : c.members) {
            if (auto r = write_member_config(c, m); !r) {
                ctx.fail(exit_code::failed, r.error().detail);
                return;
            }
        }
        for (const auto& b : c.brokers) {
            if (auto r = write_broker_config(c, b); !r) {
                ctx.fail(exit_code::failed, r.error().detail);
                return;
            }
        }
        if (auto r = save_cluster(c); !r) {
            ctx.fail(exit_code::failed, r.error().detail);
            return;
        }
        members_to_start = c.members;
        brokers_to_start = c.brokers;
    } else {
        // A restart keeps the recorded ports (the members' data and the
        // brokers' registrations name them).
        std::vector<std::pair<dev_process, std::vector<uint16_t>>> wanted;
        for (const auto& m : members_to_start) {
            wanted.push_back({m, {m.api, m.peer, m.metrics}});
        }
        for (const auto& b : brokers_to_start) {
            wanted.push_back({b, {b.kafka, b.metrics}});
        }
        for (const auto& [p, ports] : wanted) {
            for (const uint16_t port : ports) {
                if (!port_free(port)) {
                    ctx.fail(exit_code::failed,
                             fmt::format("cannot restart {}: port {} is in use by another "
                                         "process; remove the dev cluster (fjord dev purge) to "
                                         "start one on new ports",
                                         p.label(), port));
                    return;
                }
            }
        }
        // Record the binaries this run uses (a rebuilt tree may have moved).
        if (auto r = save_cluster(c); !r) {
            ctx.fail(exit_code::failed, r.error().detail);
            return;
        }
    }

    const auto t0 = steady::now();
    const auto deadline = t0 + o.timeout;
    std::vector<dev_process> started;
    std::vector<pid_t> children;  // parallel to `started`
    // The first child of ours that exited, with why; nullopt while all run.
    const auto exited_child = [&]() -> std::optional<std::pair<dev_process, std::string>> {
        for (size_t i = 0; i < children.size(); ++i) {
            int status = 0;
            if (::waitpid(children[i], &status, WNOHANG) == children[i]) {
                return std::pair(started[i], fmt::format("{} exited during start-up ({})",
                                                         started[i].label(), exit_text(status)));
            }
        }
        return std::nullopt;
    };
    for (const auto& m : members_to_start) {
        auto pid = spawn(c.controller_bin, m);
        if (!pid) {
            fail_start(ctx, processes_of(c.members), started, pid.error().detail);
            return;
        }
        started.push_back(m);
        children.push_back(*pid);
    }

    // Wait for a leader every member agrees on, and the cluster uuid.
    std::vector<member_view> views;
    uint64_t leader = 0;
    std::string uuid;
    for (;;) {
        if (auto gone = exited_child()) {
            fail_start(ctx, processes_of(c.members), started, gone->second);
            return;
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
            fail_start(ctx, processes_of(c.members), started,
                       fmt::format("the dev cluster did not agree on a leader with a cluster id "
                                   "within {} ms:\n{}",
                                   o.timeout.count(), seen));
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }

    // Then the brokers, each ready once it has the controller's state.
    std::vector<broker_view> broker_views;
    if (!brokers_to_start.empty()) {
        const auto broker_failure = [&](const std::string& why,
                                        const std::optional<dev_process>& also) {
            std::vector<dev_process> shown = processes_of(c.brokers);
            if (also && also->kind != broker_kind) {
                shown.push_back(*also);
            }
            fail_start(ctx, shown, started, why);
        };
        for (const auto& b : brokers_to_start) {
            auto pid = spawn(c.broker_bin, b);
            if (!pid) {
                broker_failure(pid.error().detail, std::nullopt);
                return;
            }
            started.push_back(b);
            children.push_back(*pid);
        }
        for (;;) {
            if (auto gone = exited_child()) {
                broker_failure(gone->second, gone->first);
                return;
            }
            broker_views = observe_brokers(c);
            if (std::all_of(broker_views.begin(), broker_views.end(),
                            [](const broker_view& v) { return v.ready; })) {
                break;
            }
            if (steady::now() >= deadline) {
                std::string seen;
                for (size_t i = 0; i < broker_views.size(); ++i) {
                    seen += fmt::format("  broker {}: {}\n", c.brokers[i].id,
                                        broker_views[i].ready ? "ready" : broker_views[i].error);
                }
                broker_failure(fmt::format("the dev brokers were not ready (GET /healthz) within "
                                           "{} ms:\n{}",
                                           o.timeout.count(), seen),
                               std::nullopt);
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    } else {
        broker_views = observe_brokers(c);
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
    std::string what;
    if (!members_to_start.empty()) {
        what = plural(members_to_start.size(), "controller");
    }
    if (!brokers_to_start.empty()) {
        what += (what.empty() ? "" : " and ") + plural(brokers_to_start.size(), "broker");
    }
    print_started(ctx, c, views, broker_views, leader, uuid, path,
                  fmt::format("{} {} in {:.1f}s; cluster {}, leader {}.",
                              fresh ? "Started" : "Restarted", what, secs, uuid, leader));
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

/// Stops the cluster in `dir` (if any), brokers first, and prints per
/// process; false when a process needed SIGKILL or survived it.
bool stop_and_report(cli_context& ctx, const fs::path& dir, const cluster& c,
                     std::chrono::milliseconds timeout, json& doc, std::string& text) {
    bool clean = true;
    bool any = false;
    const auto stop_kind = [&](const std::vector<dev_process>& ps, const char* kind) {
        json items = json::array();
        for (const auto& r : stop_processes(ps, timeout)) {
            json j = {{"id", r.id}, {"result", stop_text(r.result)}};
            if (r.pid != 0) {
                j["pid"] = r.pid;
                j["seconds"] = r.seconds;
                any = true;
                text += fmt::format("{} {} (pid {}): {} after {:.1f}s\n", kind, r.id, r.pid,
                                    stop_text(r.result), r.seconds);
            } else {
                text += fmt::format("{} {}: not running\n", kind, r.id);
            }
            if (r.result == stop_result::killed || r.result == stop_result::survived) {
                clean = false;
                ctx.set_code(exit_code::failed);
            }
            items.push_back(std::move(j));
        }
        return items;
    };
    json brokers = stop_kind(processes_of(c.brokers), broker_kind);
    json members = stop_kind(processes_of(c.members), controller_kind);
    doc = {{"state_dir", dir.string()},
           {"brokers", brokers},
           {"members", members},
           {"was_running", any}};
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
                     {{"state_dir", dir->string()},
                      {"was_running", false},
                      {"brokers", json::array()},
                      {"members", json::array()}},
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
                     {{"state_dir", dir->string()},
                      {"running", false},
                      {"members", json::array()},
                      {"brokers", json::array()}},
                     [&](bool) {
                         return fmt::format("No dev cluster in {} (fjord dev start makes one).\n",
                                            dir->string());
                     });
        return;
    }
    const cluster& cl = **c;
    const auto views = observe(cl);
    const auto broker_views = observe_brokers(cl);
    std::string uuid;
    const uint64_t leader = agreed_leader(views, uuid, false);
    const bool members_alive = std::all_of(views.begin(), views.end(),
                                           [](const member_view& v) { return v.pid.has_value(); });
    const bool brokers_alive = std::all_of(broker_views.begin(), broker_views.end(),
                                           [](const broker_view& v) { return v.pid.has_value(); });
    const bool brokers_ready = std::all_of(broker_views.begin(), broker_views.end(),
                                           [](const broker_view& v) { return v.ready; });
    const bool running = members_alive && leader != 0 && brokers_alive && brokers_ready;
    if (!running) {
        ctx.set_code(exit_code::failed);
    }
    const json doc = {{"state_dir", dir->string()},
                      {"running", running},
                      {"cluster_uuid", uuid},
                      {"leader_id", leader},
                      {"controllers", cl.controllers()},
                      {"bootstrap_servers", cl.kafka_brokers()},
                      {"members", members_json(cl, views)},
                      {"brokers", brokers_json(cl, broker_views)}};
    print_output(std::cout, ctx.format(), doc, [&](bool) {
        std::string head;
        if (running) {
            head = fmt::format("dev cluster {}: running, leader {}", uuid, leader);
        } else if (std::none_of(views.begin(), views.end(),
                                [](const member_view& v) { return v.pid.has_value(); }) &&
                   std::none_of(broker_views.begin(), broker_views.end(),
                                [](const broker_view& v) { return v.pid.has_value(); })) {
            head = "dev cluster: stopped (fjord dev start restarts it)";
        } else {
            head = fmt::format("dev cluster: degraded ({})", !members_alive ? "a controller is down"
                                                             : leader == 0  ? "no agreed leader"
                                                             : !brokers_alive
                                                                 ? "a broker is down"
                                                                 : "a broker is not ready");
        }
        return fmt::format("{}\nstate: {}\n\ncontrollers:\n", head, dir->string()) +
               members_table(cl, views) + "\n" + brokers_table(cl, broker_views);
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
    // Processes are found from the controller-* and broker-* directories, so
    // a damaged cluster.json does not keep processes alive.
    cluster c;
    c.state_dir = *dir;
    const auto id_of = [](const std::string& name, const std::string& prefix) {
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
    };
    for (const auto& entry : fs::directory_iterator(*dir, ec)) {
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
    json stop_doc;
    std::string text;
    if (!stop_and_report(ctx, *dir, c, o.timeout, stop_doc, text)) {
        ctx.fail(exit_code::failed,
                 fmt::format("not removing {}: a process did not stop", dir->string()));
        std::cout << text;
        return;
    }
    std::vector<dev_process> all = processes_of(c.brokers);
    for (const auto& m : c.members) {
        all.push_back(m);
    }
    for (const auto& m : all) {
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
    auto* dev =
        root.add_subcommand("dev", "Run a local cluster of real controller and broker processes");
    dev->require_subcommand(1);

    auto so = std::make_shared<dev_options>();
    auto* start = dev->add_subcommand(
        "start", "Start (or restart) the local cluster and select the \"dev\" profile");
    start->add_option("-n,--nodes", so->nodes, "Number of controllers (1..7; default 3)")
        ->check(CLI::Range(1, 7));
    start->add_option("--brokers", so->brokers, "Number of brokers (0..9; default 1)")
        ->check(CLI::Range(0, 9));
    start->add_flag("--no-profile", so->no_profile, "Do not create or select the \"dev\" profile");
    add_state_dir(start, *so);
    add_timeout(start, *so, "How long to wait for a leader and for the brokers to be ready");
    start->callback([&ctx, so, start] {
        run_start(ctx, *so, start->count("--nodes") > 0, start->count("--brokers") > 0);
    });

    auto po = std::make_shared<dev_options>();
    auto* stop = dev->add_subcommand("stop", "Stop the local cluster's processes (state is kept)");
    add_state_dir(stop, *po);
    add_timeout(stop, *po, "How long to wait after SIGTERM before SIGKILL");
    stop->callback([&ctx, po] { run_stop(ctx, *po); });

    auto to = std::make_shared<dev_options>();
    auto* status = dev->add_subcommand(
        "status",
        "Show each controller and broker: pid, ports, role (exit 0 only if all run with a "
        "leader)");
    add_state_dir(status, *to);
    status->callback([&ctx, to] { run_status(ctx, *to); });

    auto uo = std::make_shared<dev_options>();
    auto* purge = dev->add_subcommand("purge", "Stop the local cluster and remove its state");
    add_state_dir(purge, *uo);
    add_timeout(purge, *uo, "How long to wait after SIGTERM before SIGKILL");
    purge->callback([&ctx, uo] { run_purge(ctx, *uo); });
}

}  // namespace fjord::cli
