// File: controller/server/controller_server.cc
//
// The composition root (controller_server.h): start-up in dependency order,
// the leader's duties, shutdown in reverse.

#include "controller/server/controller_server.h"

#include <filesystem>
#include <future>
#include <random>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "common/assert.h"
#include "common/data_dir.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/security/principal_mapping.h"
#include "common/tls/grpc_tls.h"
#include "common/tls/watcher.h"
#include "common/uuid.h"
#include "controller/frontend/broker_liveness.h"
#include "controller/frontend/frontend.h"
#include "controller/frontend/members.h"
#include "controller/loop/controller_state.h"
#include "controller/loop/raft_loop.h"
#include "controller/migration/driver.h"
#include "controller/migration/store_cache.h"
#include "controller/service/controller_service.h"
#include "controller/shadow/driver.h"
#include "controller/shadow/source.h"
#include "controller/stm/commands.h"
#include "controller/storage/segmented_log.h"
#include "controller/transport/peer_transport.h"

namespace fjord::server {

using loop::controller_state;
using loop::loop_status;
using loop::raft_loop;
using loop::raft_loop_options;
namespace {

namespace v1 = fjord::controller::v1;
using clock = std::chrono::steady_clock;

/// Idle API threads kept for reuse (see the ServerBuilder below): enough for
/// the concurrency the controller is benchmarked at (512 clients).
constexpr int api_max_idle_threads = 1024;

/// How long a connection to either gRPC server may take to finish its
/// (TLS) handshake before it is closed.
constexpr int handshake_timeout_ms = 10000;

std::string listen_address(const host_port& hp) {
    return hp.to_string();
}

v1::FipsMode to_proto(tls::fips_mode m) {
    switch (m) {
        case tls::fips_mode::disabled:
            return v1::FIPS_MODE_DISABLED;
        case tls::fips_mode::permissive:
            return v1::FIPS_MODE_PERMISSIVE;
        case tls::fips_mode::enabled:
            return v1::FIPS_MODE_ENABLED;
    }
    return v1::FIPS_MODE_UNSPECIFIED;
}

/// The loop's options from the config: Raft's timing and limits, and the
/// founding members as bootstrap voters with their addresses.
raft_loop_options loop_options(const server::controller_config& cfg) {
    raft_loop_options lo;
    lo.raft.id = cfg.node_id;
    lo.raft.election_tick = static_cast<int>(cfg.raft.election_ticks);
    lo.raft.heartbeat_tick = static_cast<int>(cfg.raft.heartbeat_ticks);
    // Election timeouts in [T, 1.5 T): enough spread to avoid split votes
    // among 3-5 members (pre-vote makes a split cheap), and a failover that
    // is bounded by 1.5 T rather than etcd's 2 T.
    lo.raft.election_jitter_tick = std::max(1, static_cast<int>(cfg.raft.election_ticks) / 2);
    lo.raft.max_size_per_msg = cfg.raft.max_append_bytes;
    lo.raft.seed = std::random_device{}();
    for (const auto& m : cfg.initial_members) {
        lo.raft.bootstrap_voters.push_back(m.id);
        v1::MemberContext mc;
        mc.mutable_member()->set_id(m.id.value());
        mc.mutable_member()->set_peer_address(m.peer.to_string());
        mc.mutable_member()->set_api_address(m.api.to_string());
        lo.raft.bootstrap_context[m.id] = mc.SerializeAsString();
    }
    lo.raft.logger = [](const std::string& line) {
        fjord::log(log_level::debug, "raft", "{}", line);
    };
    lo.tick = std::chrono::milliseconds(cfg.raft.tick_ms);
    lo.snapshot_entries = cfg.raft.snapshot_entries;
    return lo;
}

/// The migration driver's view of this member (migration/driver.h): the
/// applied state under its read lock, proposals through the frontend core,
/// the store the cluster config names.
class driver_host final : public migration::driver_host {
  public:
    driver_host(raft_loop& loop, controller_state& state, frontend::core& core,
                migration::store_cache& stores)
        : _loop(loop), _state(state), _core(core), _stores(stores) {}

    void read(const std::function<void(const stm::controller_stm&)>& fn) override {
        _state.read([&](const stm::controller_stm& s) {
            fn(s);
            return 0;
        });
    }
    result<void> propose(const v1::ControllerCommand& cmd) override {
        auto p = std::make_shared<std::promise<result<void>>>();
        auto f = p->get_future();
        _core.propose_one(cmd, [p](result<void> r) { p->set_value(std::move(r)); });
        return f.get();  // the loop resolves every proposal by its deadline
    }
    bool is_leader() override { return _loop.is_leader(); }
    result<void> linearize() override { return _core.linearize(v1::ReadOptions{}); }
    result<std::shared_ptr<objstore::object_store>> store() override {
        auto keys = _state.read(
            [](const stm::controller_stm& s) { return migration::store_keys(s.cluster_config()); });
        return _stores.get(keys);
    }
    int64_t now_ms() override { return frontend::now_ms(); }
    std::string new_uuid() override { return fjord::new_uuid(); }

  private:
    raft_loop& _loop;
    controller_state& _state;
    frontend::core& _core;
    migration::store_cache& _stores;
};

/// The shadow driver's view of this member (shadow/driver.h): the applied
/// state under its read lock, proposals through the frontend core, the
/// leader's broker liveness, the source connections, and the status
/// reports the tasks' states go to.
class shadow_host final : public shadow::driver_host {
  public:
    using publish_fn = std::function<void(const std::string&, std::vector<v1::ShadowTaskStatus>)>;

    shadow_host(raft_loop& loop, controller_state& state, frontend::core& core,
                frontend::broker_liveness& liveness, std::chrono::milliseconds session_timeout)
        : _loop(loop),
          _state(state),
          _core(core),
          _liveness(liveness),
          _session_timeout(session_timeout) {}

    /// Where the tasks' states go (GetShadowLinkStatus reads them).
    publish_fn on_publish;

    void read(const std::function<void(const stm::controller_stm&)>& fn) override {
        _state.read([&](const stm::controller_stm& s) {
            fn(s);
            return 0;
        });
    }
    std::vector<v1::ShadowLink> links() override {
        return _state.read([](const stm::controller_stm& s) {
            std::vector<v1::ShadowLink> out;
            for (const auto& [name, l] : s.shadow_links().all()) {
                out.push_back(l);
            }
            return out;
        });
    }
    result<void> propose(const v1::ControllerCommand& cmd) override {
        auto p = std::make_shared<std::promise<result<void>>>();
        auto f = p->get_future();
        _core.propose_one(cmd, [p](result<void> r) { p->set_value(std::move(r)); });
        return f.get();  // the loop resolves every proposal by its deadline
    }
    bool is_leader() override { return _loop.is_leader(); }
    result<void> linearize() override { return _core.linearize(v1::ReadOptions{}); }
    int64_t now_ms() override { return frontend::now_ms(); }
    std::string new_uuid() override { return fjord::new_uuid(); }
    shadow::broker_view liveness(int32_t id, const std::string& incarnation) override {
        const auto v = _liveness.get(id, incarnation, _session_timeout, clock::now());
        return shadow::broker_view{v.alive, v.applied_revision};
    }
    result<std::unique_ptr<shadow::source_client>> connect(const v1::ShadowLink& link) override {
        return shadow::connect(link);
    }
    void publish_tasks(const std::string& link, std::vector<v1::ShadowTaskStatus> tasks) override {
        if (on_publish) {
            on_publish(link, std::move(tasks));
        }
    }

  private:
    raft_loop& _loop;
    controller_state& _state;
    frontend::core& _core;
    frontend::broker_liveness& _liveness;
    const std::chrono::milliseconds _session_timeout;
};

}  // namespace

struct controller_server::impl {
    server::controller_config cfg;
    std::optional<data_dir_lock> lock;
    /// The TLS files of the API and of the peer transport, checked and
    /// followed (reloads); null when that block is not enabled.
    std::shared_ptr<tls::credential_watcher> api_tls;
    std::shared_ptr<tls::credential_watcher> peer_tls;
    std::unique_ptr<storage::segmented_log> raft_log;
    std::unique_ptr<controller_state> state;
    std::unique_ptr<transport::peer_transport> transport;
    std::unique_ptr<raft_loop> loop;
    metrics::registry metrics;
    /// Cluster-wide figures, rendered only while this member leads (the
    /// leader hears from every member and holds the broker table).
    metrics::registry leader_metrics;
    frontend::broker_liveness liveness;
    /// The object store of tiered storage, as the cluster config names it.
    migration::store_cache stores;
    std::unique_ptr<frontend::core> frontend_core;
    std::unique_ptr<driver_host> migration_host;
    /// Moves mountable-topic migrations while this member leads.
    std::unique_ptr<migration::driver> migrations;
    std::unique_ptr<shadow_host> shadow_link_host;
    /// Runs the shadow links' controller-side tasks while this member leads.
    std::unique_ptr<shadow::driver> shadow_links;
    std::unique_ptr<service::controller_service> service;
    std::unique_ptr<grpc::Server> peer_server;
    std::unique_ptr<grpc::Server> api_server;
    int api_port = 0;
    int peer_port = 0;
    std::unique_ptr<http_server> http;
    std::thread duties;
    std::mutex duties_mu;
    std::condition_variable duties_cv;
    bool stopping = false;
    bool shut_down = false;

    metrics::gauge* g_term = nullptr;
    metrics::gauge* g_commit = nullptr;
    metrics::gauge* g_applied = nullptr;
    metrics::gauge* g_leader = nullptr;
    metrics::gauge* g_is_leader = nullptr;
    metrics::gauge* g_dropped = nullptr;
    metrics::gauge* g_non_homogenous_fips = nullptr;

    // start()'s steps (defined before start()), in order.
    result<void> open_data_dir();
    result<void> start_tls();
    result<void> open_state();
    void connect_peers();
    void build_loop_and_service();
    result<void> start_peer_server();
    result<void> start_api_server();
    result<void> start_metrics();

    void register_metrics();
    void refresh_metrics();
    void run_duties();
};

void controller_server::impl::register_metrics() {
    g_term = &metrics.add_gauge("fjord_controller_raft_term", "Current Raft term");
    g_commit = &metrics.add_gauge("fjord_controller_raft_commit_index", "Raft commit index");
    g_applied = &metrics.add_gauge("fjord_controller_raft_applied_index", "Raft applied index");
    g_leader = &metrics.add_gauge("fjord_controller_raft_leader_id", "Known leader (0: none)");
    g_is_leader = &metrics.add_gauge("fjord_controller_is_leader", "1 when this member leads");
    g_dropped = &metrics.add_gauge("fjord_controller_raft_messages_dropped",
                                   "Raft messages dropped by the peer transport");
    metrics
        .add_gauge("fjord_fips_mode",
                   "FIPS mode this process runs in: 0 disabled, 1 permissive, 2 enabled")
        .set(static_cast<double>(cfg.fips.mode));
    g_non_homogenous_fips = &leader_metrics.add_gauge(
        "fjord_cluster_non_homogenous_fips_mode",
        "Brokers and controller members whose FIPS mode differs from the most common one "
        "(exported by the leader)");
}

void controller_server::impl::refresh_metrics() {
    g_term->set(static_cast<double>(loop->term().value()));
    g_commit->set(static_cast<double>(loop->commit().value()));
    g_applied->set(static_cast<double>(loop->applied().value()));
    g_leader->set(static_cast<double>(loop->leader().value()));
    g_is_leader->set(loop->is_leader() ? 1 : 0);
    g_dropped->set(static_cast<double>(transport->dropped()));
}

/// Leader duties that must not run on the loop thread (they wait for their
/// own proposals): the first leader names the cluster.
void controller_server::impl::run_duties() {
    std::unique_lock lk(duties_mu);
    while (!stopping) {
        duties_cv.wait_for(lk, std::chrono::milliseconds(200));
        if (stopping || !loop->is_leader()) {
            continue;
        }
        lk.unlock();
        auto cmd = state->read([&](const stm::controller_stm& s) {
            return s.cluster_uuid().empty()
                       ? stm::make_init_cluster(
                             s, cfg.cluster_id.empty() ? new_uuid() : cfg.cluster_id,
                             {"controller", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count()})
                       : result<std::optional<v1::ControllerCommand>>(std::nullopt);
        });
        if (cmd && *cmd) {
            auto f = loop->propose((*cmd)->SerializeAsString());
            if (f.wait_for(std::chrono::seconds(5)) == std::future_status::ready) {
                try {
                    auto r = f.get();
                    if (!r) {
                        fjord::log(log_level::warn, "controller", "naming the cluster failed: {}",
                                   r.error().message());
                    }
                } catch (const std::future_error&) {
                }
            }
        }
        lk.lock();
    }
}

// --- start()'s steps, in order; each failure is start()'s answer.

/// The data directory: created, locked, its identity and cluster checked.
result<void> controller_server::impl::open_data_dir() {
    std::error_code ec;
    std::filesystem::create_directories(cfg.data_dir, ec);
    if (ec) {
        return error_info(
            ec, fmt::format("data_dir: cannot create {}: {}", cfg.data_dir, ec.message()));
    }
    auto acquired = data_dir_lock::acquire(cfg.data_dir);
    if (!acquired) {
        return acquired.error();
    }
    lock.emplace(std::move(*acquired));
    auto id = load_or_create_identity(cfg.data_dir, cfg.node_id);
    if (!id) {
        return id.error();
    }
    if (auto r = check_expected_cluster(*id, cfg.cluster_id); !r) {
        return r.error();
    }
    return ok();
}

/// The TLS blocks' files, loaded and checked before anything listens (a bad
/// certificate refuses the start, naming the file), then followed for
/// reloads. gRPC reads the checked live copies under <data_dir>/tls/.
result<void> controller_server::impl::start_tls() {
    if (!cfg.api_tls.enabled && !cfg.peer_tls.enabled) {
        return ok();
    }
    const std::string dir = cfg.data_dir + "/tls";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (!ec) {
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }
    if (ec) {
        return error_info(ec, fmt::format("data_dir: cannot create {}: {}", dir, ec.message()));
    }
    const auto start = [&](const tls::tls_settings& s, const char* name, const char* sub,
                           std::shared_ptr<tls::credential_watcher>& out) -> result<void> {
        if (!s.enabled) {
            return ok();
        }
        auto w = tls::credential_watcher::start(s, name, dir + "/" + sub);
        if (!w) {
            return w.error();
        }
        out = std::move(*w);
        return ok();
    };
    if (auto r = start(cfg.api_tls, "api_tls", "api", api_tls); !r) {
        return r;
    }
    if (auto r = start(cfg.peer_tls, "peer_tls", "peer", peer_tls); !r) {
        return r;
    }
    if (!cfg.principal_mapping_rules.empty() &&
        (!api_tls || api_tls->settings().truststore_file.empty())) {
        // The config refuses this combination; kept as a guard for callers
        // that build a controller_config by hand.
        return error_info(std::make_error_code(std::errc::invalid_argument),
                          "principal_mapping_rules: needs api_tls with a truststore_file (client "
                          "certificates are requested only then)");
    }
    return ok();
}

/// The durable Raft log, and the state machine restored from its snapshot.
result<void> controller_server::impl::open_state() {
    storage::options so;
    so.dir = cfg.data_dir + "/raft";
    so.segment_size = cfg.segment_bytes;
    auto opened = storage::segmented_log::open(so);
    if (!opened) {
        return opened.error();
    }
    raft_log = std::move(*opened);

    stm::stm_config sc;
    for (const auto& m : cfg.initial_members) {
        v1::Member pm;
        pm.set_id(m.id.value());
        pm.set_peer_address(m.peer.to_string());
        pm.set_api_address(m.api.to_string());
        sc.initial_members.push_back(std::move(pm));
    }
    state = std::make_unique<controller_state>(std::move(sc));
    if (raft_log->snapshot_metadata().index > log_index{0}) {
        auto snap = raft_log->load_snapshot();
        if (!snap) {
            return snap.error();
        }
        if (auto r = state->restore(*snap); !r) {
            return r.error();
        }
    }
    return ok();
}

/// The peer transport, following the members the state machine knows.
void controller_server::impl::connect_peers() {
    // With peer_tls every outgoing stream presents this member's peer
    // certificate and checks the other member's against the truststore and
    // its advertised peer address (require_client_auth on the other side).
    transport = std::make_unique<transport::peer_transport>(
        cfg.node_id, cfg.advertise.peer.to_string(),
        [this](raft::message m) { loop->deliver(std::move(m)); },
        peer_tls ? tls::grpc_channel_credentials(peer_tls) : nullptr,
        /*verify_peers=*/peer_tls != nullptr);
    transport->announce_fips_mode(std::string(tls::to_string(cfg.fips.mode)));
    const std::string data_dir = cfg.data_dir;
    const std::string expected_cluster = cfg.cluster_id;
    state->on_members = [this](const stm::members_table& members) {
        for (const auto& [mid, m] : members.all()) {
            transport->set_peer(node_id{mid}, m.peer_address());
        }
    };
    state->on_cluster_uuid = [data_dir, expected_cluster](const std::string& uuid) {
        if (auto r = record_cluster_uuid(data_dir, uuid); !r) {
            FJORD_PANIC("recording cluster uuid {}: {}", uuid, r.error().message());
        }
    };
    for (const auto& m : cfg.initial_members) {
        transport->set_peer(m.id, m.peer.to_string());
    }
    state->read([&](const stm::controller_stm& s) {
        for (const auto& [mid, m] : s.members().all()) {
            transport->set_peer(node_id{mid}, m.peer_address());
        }
        return 0;
    });
}

/// The ready loop (not started), the frontend and the gRPC service.
void controller_server::impl::build_loop_and_service() {
    const raft_loop_options lo = loop_options(cfg);
    loop = std::make_unique<raft_loop>(lo, *raft_log, *state, *transport, metrics);
    loop->set_leader_observer([this] {
        if (loop->is_leader()) {
            liveness.reset(clock::now());
            if (frontend_core) {
                // Shadow-link reports of an earlier term are not current.
                frontend_core->shadow().forget_brokers();
            }
            duties_cv.notify_all();
        }
    });

    register_metrics();
    frontend::options fo;
    fo.broker_session_timeout = std::chrono::milliseconds(cfg.broker_session_timeout_ms);
    fo.election_timeout = std::chrono::milliseconds(cfg.raft.tick_ms * cfg.raft.election_ticks);
    fo.fips_mode = to_proto(cfg.fips.mode);
    fo.min_password_length = tls::min_password_length(cfg.fips.mode);
    fo.peer_fips_modes = [this] {
        std::map<uint64_t, v1::FipsMode> out;
        for (const auto& [id, name] : transport->peer_fips_modes()) {
            const auto m = tls::parse_fips_mode(name);
            out[id.value()] = m ? to_proto(*m) : v1::FIPS_MODE_UNSPECIFIED;
        }
        return out;
    };
    fo.object_store = [this]() {
        auto keys = state->read(
            [](const stm::controller_stm& s) { return migration::store_keys(s.cluster_config()); });
        return stores.get(keys);
    };
    fo.migrations_changed = [this] {
        if (migrations) {
            migrations->poke();
        }
    };
    // Shadow links (controller/shadow): the API's create/update preflight
    // dials the source from the API thread; a link change wakes the driver.
    fo.shadow_preflight = [](const v1::ShadowLink& l) { return shadow::preflight(l); };
    fo.shadow_links_changed = [this] {
        if (shadow_links) {
            shadow_links->poke();
        }
    };
    frontend_core = std::make_unique<frontend::core>(fo, *loop, *state, liveness);
    migration_host = std::make_unique<driver_host>(*loop, *state, *frontend_core, stores);
    migrations = std::make_unique<migration::driver>(*migration_host);
    shadow_link_host =
        std::make_unique<shadow_host>(*loop, *state, *frontend_core, liveness,
                                      std::chrono::milliseconds(cfg.broker_session_timeout_ms));
    shadow_link_host->on_publish = [this](const std::string& link,
                                          std::vector<v1::ShadowTaskStatus> tasks) {
        frontend_core->shadow().set_controller_tasks(link, std::move(tasks));
    };
    shadow_links = std::make_unique<shadow::driver>(*shadow_link_host);
    service::service_tls st;
    if (api_tls) {
        // A member forwarding to the leader is a client of the leader's API:
        // it trusts api_tls's truststore (the system's CAs without one) and
        // presents its own API certificate, which also proves it a member
        // (access.cc) when the leader asks for client certificates.
        st.forward_credentials = tls::grpc_channel_credentials(api_tls);
        if (!api_tls->settings().truststore_file.empty()) {
            auto m = security::principal_mapper::parse(cfg.principal_mapping_rules);
            FJORD_ASSERT(m.has_value(), "principal_mapping_rules were validated with the config");
            st.principal_mapping = std::move(*m);
        }
    }
    service = std::make_unique<service::controller_service>(*frontend_core, metrics, std::move(st));
}

/// The peer listener (Raft messages); the loop may start after it.
result<void> controller_server::impl::start_peer_server() {
    grpc::ServerBuilder peer_builder;
    peer_builder.AddListeningPort(
        listen_address(cfg.listen.peer),
        peer_tls ? tls::grpc_server_credentials(peer_tls) : grpc::InsecureServerCredentials(),
        &peer_port);
    peer_builder.SetMaxReceiveMessageSize(256 << 20);
    // A connection that never finishes its handshake is dropped rather than
    // holding a slot until the client goes away.
    peer_builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, handshake_timeout_ms);
    peer_builder.RegisterService(transport->service());
    peer_server = peer_builder.BuildAndStart();
    if (!peer_server || peer_port == 0) {
        return error_info(
            std::make_error_code(std::errc::address_in_use),
            fmt::format("listen.peer: cannot listen on {}", listen_address(cfg.listen.peer)));
    }
    return ok();
}

/// The client API listener.
result<void> controller_server::impl::start_api_server() {
    grpc::ServerBuilder api_builder;
    api_builder.AddListeningPort(
        listen_address(cfg.listen.api),
        api_tls ? tls::grpc_server_credentials(api_tls) : grpc::InsecureServerCredentials(),
        &api_port);
    api_builder.SetMaxReceiveMessageSize(16 << 20);
    api_builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, handshake_timeout_ms);
    // The sync server runs one thread per in-flight call and, by default,
    // lets a thread exit once more than 2 are idle: under steady concurrent
    // writes that is a thread created and destroyed for most calls. Keeping
    // up to api_max_idle_threads idle threads parked removes the churn.
    api_builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                                    api_max_idle_threads);
    api_builder.RegisterService(service.get());
    api_server = api_builder.BuildAndStart();
    if (!api_server || api_port == 0) {
        return error_info(
            std::make_error_code(std::errc::address_in_use),
            fmt::format("listen.api: cannot listen on {}", listen_address(cfg.listen.api)));
    }
    return ok();
}

/// /metrics and /healthz, when listen.metrics is set.
result<void> controller_server::impl::start_metrics() {
    if (!cfg.listen.metrics) {
        return ok();
    }
    http_server_options ho;
    ho.host = cfg.listen.metrics->host;
    ho.port = cfg.listen.metrics->port;
    std::map<std::string, http_handler> handlers;
    handlers["/metrics"] = [this](const http_request&) {
        refresh_metrics();
        std::string body = metrics.render();
        if (loop->is_leader()) {
            if (auto st = frontend::status(*frontend_core); st && st->role() == "leader") {
                g_non_homogenous_fips->set(
                    static_cast<double>(frontend::non_homogenous_fips_mode(*frontend_core, *st)));
                body += leader_metrics.render();
            }
        }
        return http_response{200, std::string(fjord::metrics::content_type), std::move(body)};
    };
    handlers["/healthz"] = [this](const http_request&) {
        const bool has_leader = loop->leader() != no_node;
        return http_response{has_leader ? 200 : 503, "text/plain",
                             has_leader ? "ok\n" : "no leader\n"};
    };
    auto served = http_server::start(ho, std::move(handlers));
    if (!served) {
        return error_info(served.error().code,
                          fmt::format("listen.metrics: {}", served.error().message()));
    }
    http = std::move(*served);
    return ok();
}

result<std::unique_ptr<controller_server>> controller_server::start(
    const server::controller_config& cfg) {
    set_log_level(cfg.log_level);
    auto im = std::make_unique<impl>();
    im->cfg = cfg;
    if (auto r = im->open_data_dir(); !r) {
        return r.error();
    }
    if (auto r = im->start_tls(); !r) {
        return r.error();
    }
    if (auto r = im->open_state(); !r) {
        return r.error();
    }
    im->connect_peers();
    im->build_loop_and_service();
    if (auto r = im->start_peer_server(); !r) {
        return r.error();
    }
    im->loop->start();
    if (auto r = im->start_api_server(); !r) {
        im->loop->stop();
        return r.error();
    }
    if (auto r = im->start_metrics(); !r) {
        im->api_server->Shutdown();
        im->loop->stop();
        return r.error();
    }
    im->duties = std::thread([raw = im.get()] { raw->run_duties(); });
    im->migrations->start();
    im->shadow_links->start();
    log(log_level::info, "controller",
        "node {} serving: api {} (port {}, {}), peer {} (port {}, {}), data {}", cfg.node_id,
        listen_address(cfg.listen.api), im->api_port,
        !im->api_tls                                       ? "plaintext"
        : im->api_tls->settings().require_client_auth      ? "mutual TLS"
        : !im->api_tls->settings().truststore_file.empty() ? "TLS, client certificates optional"
                                                           : "TLS",
        listen_address(cfg.listen.peer), im->peer_port,
        !im->peer_tls                                  ? "plaintext"
        : im->peer_tls->settings().require_client_auth ? "mutual TLS"
                                                       : "TLS",
        cfg.data_dir);
    sd_notify_ready();
    return std::unique_ptr<controller_server>(new controller_server(std::move(im)));
}

controller_server::controller_server(std::unique_ptr<impl> i) : _impl(std::move(i)) {}

controller_server::~controller_server() {
    shutdown();
}

int controller_server::api_port() const {
    return _impl->api_port;
}
int controller_server::peer_port() const {
    return _impl->peer_port;
}

void controller_server::shutdown() {
    impl& im = *_impl;
    if (im.shut_down) {
        return;
    }
    im.shut_down = true;
    sd_notify_stopping();
    log(log_level::info, "controller", "node {} shutting down", im.cfg.node_id);
    // Hand leadership away first, so the group does not wait out an election.
    // The most caught-up voter goes first; a target that does not take over
    // within a few heartbeats (it may have just died) is passed over for the
    // next.
    if (im.loop->is_leader()) {
        auto st = im.loop->status();
        if (st.wait_for(std::chrono::seconds(2)) == std::future_status::ready) {
            const loop_status s = st.get();
            std::vector<loop_status::peer> candidates;
            for (const auto& p : s.progress) {
                const bool voter = std::find(s.conf.voters.begin(), s.conf.voters.end(), p.id) !=
                                   s.conf.voters.end();
                if (p.id != s.id && voter) {
                    candidates.push_back(p);
                }
            }
            std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
                return std::tie(b.match, b.active, a.id) < std::tie(a.match, a.active, b.id);
            });
            const auto per_try = std::chrono::milliseconds(
                std::max<uint32_t>(100, 3 * im.cfg.raft.tick_ms * im.cfg.raft.heartbeat_ticks));
            for (const auto& c : candidates) {
                auto f = im.loop->transfer_leadership(c.id);
                f.wait_for(std::chrono::seconds(1));
                const auto deadline = clock::now() + per_try;
                while (clock::now() < deadline && im.loop->is_leader()) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
                }
                if (!im.loop->is_leader()) {
                    break;
                }
                log(log_level::info, "controller", "{} did not take over; trying the next member",
                    c.id);
            }
            log(log_level::info, "controller", "leadership handed to {}", im.loop->leader());
        }
    }
    {
        std::lock_guard g(im.duties_mu);
        im.stopping = true;
    }
    im.duties_cv.notify_all();
    if (im.duties.joinable()) {
        im.duties.join();
    }
    im.migrations->stop();
    im.shadow_links->stop();
    im.service->stop();
    im.state->notify_all();
    // Finish the calls in flight (they may need the loop), then stop.
    im.api_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (im.http) {
        im.http->stop();
    }
    im.loop->stop();
    im.transport->stop();
    im.peer_server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    if (im.api_tls) {
        im.api_tls->stop();
    }
    if (im.peer_tls) {
        im.peer_tls->stop();
    }
    log(log_level::info, "controller", "node {} stopped", im.cfg.node_id);
}

}  // namespace fjord::server
