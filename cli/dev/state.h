#pragma once
// File: cli/dev/state.h
//
// The dev cluster's on-disk state (fjord dev, cli/dev/dev.h). State
// directory (--state-dir, else $XDG_STATE_HOME/fjord/dev, else
// ~/.local/state/fjord/dev; a cluster started with --name NAME uses
// dev-NAME there instead of dev):
//   cluster.json               what `start` created: members, brokers, ports, binaries
//   tls/ca.crt, ca.key         with --tls only: the dev CA (pki.h)
//   sasl.json                  with --sasl only, mode 0600: the superuser's name,
//                              password and mechanism, and how far the bootstrap got
//   lock                       flock held by the running dev command
//   controller-<id>/controller.yaml, data/, log, pid
//   broker-<id>/broker.yaml, data/, log, pid
// Files are replaced whole (write to .tmp, rename), so a crash leaves the
// old or the new version.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/settings.h"
#include "common/result.h"

namespace fjord::cli::dev {

namespace fs = std::filesystem;

inline constexpr const char* loopback = "127.0.0.1";
inline constexpr const char* controller_kind = "controller";
inline constexpr const char* broker_kind = "broker";

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

/// A dev cluster started with --sasl: its superuser, which the CLI (the
/// "dev" profile), the dev verbs and the brokers authenticate as.
struct sasl_state {
    /// How far the bootstrap got (start.cc): `fresh` nothing sent yet;
    /// `user_created` the superuser exists (calls may carry its credentials
    /// from now on); `secured` superusers and the switches are set.
    enum class stage { fresh, user_created, secured };
    std::string user;
    std::string password;
    std::string mechanism = "SCRAM-SHA-256";
    stage progress = stage::fresh;
};

struct cluster {
    fs::path state_dir;
    /// Set when the cluster was started with --sasl (sasl.json).
    std::optional<sasl_state> sasl;
    /// Started with --tls: every listener serves TLS with certificates
    /// from the dev CA (pki.h).
    bool tls = false;
    std::string controller_bin;
    std::string broker_bin;
    std::vector<member> members;
    std::vector<broker_node> brokers;

    /// The members' API addresses, comma-separated.
    std::string controllers() const;
    /// The brokers' Kafka addresses, comma-separated ("" without brokers).
    std::string kafka_brokers() const;
};

/// Closes its descriptor on destruction.
class fd_guard {
  public:
    explicit fd_guard(int fd = -1) : _fd(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard();
    int get() const { return _fd; }

  private:
    int _fd;
};

/// The state directory: `flag`, else from the environment (<state>/fjord/dev,
/// or <state>/fjord/dev-<name> for a named cluster); canonical, since the
/// members' command lines name their config by this path.
result<fs::path> state_dir_for(const std::string& flag, const env_map& env,
                               const std::string& name = "");
/// The fjord-<kind> binary ("controller", "broker"): $FJORD_<KIND>_BIN, else
/// fjord-<kind> next to this executable.
result<std::string> find_bin(const env_map& env, const std::string& kind);

fs::path cluster_file(const fs::path& dir);
fs::path sasl_file(const fs::path& dir);
/// Writes c.sasl to sasl.json (mode 0600, replaced whole).
result<void> save_sasl(const cluster& c);
result<void> save_cluster(const cluster& c);
/// nullopt when the state directory holds no cluster; an error when it
/// holds one that cannot be read (cluster.json, or sasl.json when present).
result<std::optional<cluster>> load_cluster(const fs::path& dir);
/// The controller-* and broker-* directories as a cluster without ports (so
/// that a damaged cluster.json keeps no process alive: purge).
cluster scan_process_dirs(const fs::path& dir);
/// Each process's config file and directory. With c.sasl, a broker's
/// config names the credential it authenticates to the controllers with
/// (mode 0600).
result<void> write_configs(const cluster& c);

/// Holds <state>/lock (flock, non-blocking) for the command's lifetime; the
/// descriptor is close-on-exec so the controllers never inherit the lock.
result<std::shared_ptr<fd_guard>> lock_state(const fs::path& dir);

}  // namespace fjord::cli::dev
