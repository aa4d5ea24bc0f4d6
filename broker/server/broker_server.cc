// File: broker/server/broker_server.cc

#include "broker/server/broker_server.h"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "broker/cluster/cluster_record.h"
#include "broker/cluster/controller_link.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/dispatcher.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/fetch.h"
#include "broker/kafka/producer_ids.h"
#include "broker/kafka/services.h"
#include "broker/security/security_snapshot.h"
#include "broker/server/kafka_listener.h"
#include "broker/shadow/fetcher_service.h"
#include "broker/shadow/group_offset_source.h"
#include "broker/shadow/group_offset_sync.h"
#include "broker/tiered/archiver_service.h"
#include "broker/tiered/remote_reader.h"
#include "broker/tiered/topic_settings.h"
#include "common/build_info.h"
#include "common/controller_client/client.h"
#include "common/data_dir.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/objstore/config.h"
#include "common/security/principal_mapping.h"
#include "common/tls/grpc_tls.h"
#include "common/tls/watcher.h"
#include "common/uuid.h"

namespace fjord::broker {
namespace {

constexpr const char* component = "broker";
constexpr std::chrono::milliseconds housekeeping_interval{1000};
/// How long a clean shutdown may spend telling the controllers it leaves.
constexpr std::chrono::milliseconds leave_budget{2000};

std::vector<std::string> controller_addresses(const broker_config& cfg) {
    std::vector<std::string> out;
    for (const auto& c : cfg.controllers) {
        out.push_back(c.to_string());
    }
    return out;
}
constexpr std::chrono::milliseconds record_interval{10000};

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int64_t monotonic_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// Every field of a store configuration, to notice a change.
std::string store_identity(const objstore::store_config& c) {
    return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
                       c.kind == objstore::store_config::backend::s3 ? "s3" : "local",
                       c.local_directory, c.bucket, c.region, c.endpoint, c.port, c.disable_tls,
                       c.path_style, c.access_key, c.secret_key, c.session_token,
                       c.request_timeout_ms, c.max_retries, c.backoff_ms);
}

/// The shadow links of the metadata cache, for the sync tasks.
std::vector<v1::ShadowLink> shadow_links_of(const metadata_cache& md) {
    std::vector<v1::ShadowLink> out;
    for (const auto& [name, link] : md.shadow_links()) {
        out.push_back(link);
    }
    return out;
}

}  // namespace

struct broker_server::impl {
    broker_config cfg;
    std::optional<data_dir_lock> lock;
    /// The certificates of the Kafka listener (kafka_tls) and of the link
    /// to the controllers (controller_tls), checked at start and followed
    /// on change and SIGHUP; null when that TLS is off.
    std::shared_ptr<tls::credential_watcher> kafka_tls;
    std::shared_ptr<tls::credential_watcher> controller_tls;
    /// The controllers' channels' transport security (plaintext: null).
    std::shared_ptr<grpc::ChannelCredentials> controller_channel;
    metadata_cache md;
    /// What the Kafka handlers enforce: rebuilt from the cache whenever its
    /// security_generation moves, published whole (security_snapshot.h).
    security_state security;
    uint64_t security_generation = 0;
    /// Group commit (acks=all means fsynced); its completions run on the io
    /// thread. Stopped right after the listener, before what it calls back.
    std::unique_ptr<log_flusher> flusher;
    std::unique_ptr<partition_manager> partitions;
    /// Tiered storage's upload side (broker/tiered): the object store and
    /// the archivers, on a worker thread of its own; stopped with the
    /// flusher, destroyed before the partitions it reads.
    std::unique_ptr<archival::archiver_service> archiver;
    /// Shadow links' fetchers (broker/shadow): a thread per link; stopped
    /// with the archiver.
    std::unique_ptr<shadow::fetcher_service> shadow_fetchers;
    /// Admin calls to the controller from request handlers.
    std::unique_ptr<controller_client::client> controller;
    std::optional<producer_id_allocator> producer_ids;
    /// The Kafka admin APIs, forwarded to the controller.
    std::unique_ptr<admin_forwarder> admin;
    /// Consumer groups and committed offsets (the group coordinator).
    std::unique_ptr<group_gateway> groups;
    /// Fetch's long poll.
    std::unique_ptr<parked_fetches> fetches;
    /// Shadow links' Consumer Group Shadowing (broker/shadow): source
    /// offsets into the groups coordinated here. Stopped first, destroyed
    /// before the coordinator and the logs it writes.
    std::unique_ptr<shadow::group_offset_sync> group_offset_sync;
    /// Its latest task statuses, one per link, for the heartbeat report.
    std::mutex shadow_tasks_mu;
    std::vector<v1::ShadowTaskStatus> shadow_tasks;
    /// Tiered storage's read side: offsets below the local log start from
    /// the object store, through <data_dir>/cloud_cache. Its store and cache
    /// size follow the cluster config (configure_remote_reader).
    std::unique_ptr<tiered_read::remote_reader> remote;
    uint64_t remote_generation = 0;
    std::string remote_store;  ///< store_identity() of the store in use; "" none
    /// What the Kafka handlers reach (services.h), and the listener's
    /// frame handler that routes requests to them.
    std::unique_ptr<broker_services> services;
    std::unique_ptr<dispatcher> api;
    std::unique_ptr<kafka_listener> listener;
    std::unique_ptr<controller_link> link;
    metrics::registry metrics;
    std::unique_ptr<http_server> http;
    std::atomic<uint64_t> applied{0};
    std::atomic<size_t> open_logs{0};  // for /metrics (the map is the io thread's)
    std::atomic<bool> ready{false};
    std::atomic<kafka_listener*> listener_ptr{nullptr};
    /// Which cluster the data belongs to and the revision acted on (the io
    /// thread's, like the cache; the partition manager advances it before
    /// it changes the disk).
    std::optional<cluster_record> record;
    /// The last Watch stream whose event the cache refused: the rest of it,
    /// already posted, is dropped.
    uint64_t dropped_stream = 0;
    /// The cluster the link checks controllers against.
    std::string linked_uuid;
    int64_t last_recorded_ms = 0;
    bool stopped = false;

    /// On the io thread: one Watch event into the cache, then the logs.
    void on_event(const v1::WatchEvent& ev, const watch_source& src) {
        if (src.stream <= dropped_stream) {
            return;
        }
        if (auto r = md.apply(ev); !r) {
            // Nothing of it was applied and nothing on disk was touched;
            // another controller (or this one, later) will do.
            if (ev.has_snapshot() && (r.error().code == watch_errc::behind ||
                                      r.error().code == watch_errc::foreign_cluster)) {
                log(log_level::error, component,
                    "controller at {} is {}: {}; refused: not applied, no data touched, not "
                    "serving its state; trying another controller",
                    src.address,
                    r.error().code == watch_errc::behind ? "behind" : "of another cluster",
                    r.error().detail);
            } else {
                log(log_level::warn, component, "watch from {}: {}; following another controller",
                    src.address, r.error().detail);
            }
            dropped_stream = src.stream;
            link->reconnect();
            return;
        }
        if (!ev.revision_complete()) {
            return;  // the rest of this revision follows
        }
        if (md.cluster_uuid() != linked_uuid) {
            linked_uuid = md.cluster_uuid();
            link->set_cluster_uuid(linked_uuid);
        }
        partitions->reconcile(md, wall_ms());
        archiver->reconcile(md, *partitions);
        shadow_fetchers->reconcile(md, *partitions);
        open_logs = partitions->open_logs();
        configure_remote_reader();
        publish_security();
        applied = md.applied_revision();
        link->set_applied_revision(md.applied_revision());
        fetches->wake();
        // Requests that arrived before the first state wait for it
        // (dispatcher.h): now they are served, under its rules.
        api->release_held();
        if (!ready.exchange(true)) {
            log(log_level::info, component,
                "broker {} ready: cluster {}, revision {}, {} topics, {} partition logs open",
                cfg.node_id, md.cluster_uuid(), md.applied_revision(), md.topics().size(),
                partitions->open_logs());
            sd_notify_ready();
        }
    }

    /// A new security snapshot when users, ACLs, roles or the cluster
    /// config changed; the next request is decided under it.
    void publish_security() {
        if (md.security_generation() == security_generation && security.current()->ready()) {
            return;
        }
        security_generation = md.security_generation();
        auto before = security.current();
        auto now = security_snapshot::build(md);
        const bool switched = !before->ready() || before->sasl_enabled() != now->sasl_enabled() ||
                              before->authorization_enabled() != now->authorization_enabled();
        log(switched ? log_level::info : log_level::debug, component,
            "security at revision {}: SASL {} (listener: {}), authorization {}, {} ACL "
            "bindings, {} users",
            md.applied_revision(), now->sasl_enabled() ? "on" : "off",
            cfg.authentication_method.kafka
                ? (*cfg.authentication_method.kafka == listener_authentication::sasl ? "sasl"
                                                                                     : "none")
                : "follows enable_sasl",
            now->authorization_enabled() ? "on" : "off", now->authorizer().binding_count(),
            md.users().size());
        security.publish(std::move(now));
    }

    /// Stops taking requests and finishes what they started: the listener
    /// first, then the controller calls (their answers are dropped by the
    /// stopped listener), then the modules that made them.
    // start()'s steps (defined below start's helpers), in order.
    result<void> open_data_dir();
    result<void> load_tls();
    result<void> open_remote_reader();
    void build_services();
    void build_group_offset_sync();
    result<void> start_listener();
    result<void> start_metrics();
    void link_to_controllers();

    /// The remote reader after a metadata change: cloud_storage_* decide its
    /// store (none while cloud_storage_enabled is false or the settings are
    /// incomplete: remote.read topics are then served from local data only,
    /// logged), cloud_storage_cache_size its cache; manifests of partitions
    /// no longer here are forgotten.
    void configure_remote_reader() {
        if (md.generation() == remote_generation) {
            return;
        }
        remote_generation = md.generation();
        const objstore::config_lookup lookup = [this](std::string_view k) {
            return md.config(std::string(k));
        };
        if (auto v = md.config("cloud_storage_cache_size")) {
            uint64_t n = 0;
            const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
            if (ec == std::errc() && end == v->data() + v->size() && n > 0) {
                remote->set_cache_limit(n);
            } else {
                log(log_level::error, component,
                    "cloud_storage_cache_size \"{}\" is not a positive integer; the cloud cache "
                    "keeps its size",
                    *v);
            }
        } else {
            remote->set_cache_limit(tiered_read::remote_reader_options{}.cache_bytes);
        }
        // The store: rebuilt (on the reader's worker) when its settings change.
        std::string wanted;
        std::optional<objstore::store_config> config;
        if (objstore::cloud_storage_enabled(lookup)) {
            auto c = objstore::store_config_from(lookup);
            if (!c) {
                wanted = "invalid: " + c.error().detail;
                if (remote_store != wanted) {
                    log(log_level::error, component,
                        "tiered storage reads: {}; nothing is read from the object store",
                        c.error().detail);
                }
            } else {
                wanted = store_identity(*c);
                config = std::move(*c);
            }
        }
        if (wanted != remote_store) {
            const std::string name = md.config("cloud_storage_backend").value_or("local") == "s3"
                                         ? md.config("cloud_storage_bucket").value_or("")
                                         : md.config("cloud_storage_local_directory").value_or("");
            remote->configure_store(std::move(config), name);
            remote_store = wanted;
        }
        std::map<std::string, int32_t> locations;
        for (const auto& [name, t] : md.topics()) {
            locations[location_of(t, md.cluster_uuid())] = t.partitions_size();
        }
        remote->forget_unless([&](const tiered_read::remote_partition& rp) {
            auto it = locations.find(rp.location);
            return it != locations.end() && rp.partition < it->second;
        });
    }

    void stop_serving() {
        group_offset_sync->stop();  // its source calls end at their timeout
        listener->stop();
        flusher->stop();
        archiver->stop();
        shadow_fetchers->stop();
        controller->stop();
        admin->stop();
        groups->stop();
    }

    /// Records the applied revision at a clean point: between events, when
    /// it has moved, at most every record_interval (and at shutdown). What
    /// changes the disk records it first anyway (partition_manager); this
    /// only narrows which older snapshots a restart would still accept.
    void record_applied(bool now) {
        const int64_t t = wall_ms();
        if (!md.ready() || md.applied_revision() <= record->revision() ||
            (!now && t - last_recorded_ms < record_interval.count())) {
            return;
        }
        last_recorded_ms = t;
        if (auto r = record->advance(md.cluster_uuid(), md.applied_revision()); !r) {
            log(log_level::error, component, "recording the applied revision: {}",
                r.error().detail);
        }
    }

    void housekeeping() {
        partitions->housekeeping(wall_ms());
        archiver->tick();
        shadow_fetchers->tick();
        record_applied(false);
        listener->post_after(housekeeping_interval, [this] { housekeeping(); });
    }
};

broker_server::broker_server(std::unique_ptr<impl> im) : _impl(std::move(im)) {}

broker_server::~broker_server() {
    shutdown();
}

// --- start()'s steps, in order; each failure is start()'s answer.

/// The data directory: its lock, the cluster it belongs to, producer ids.
result<void> broker_server::impl::open_data_dir() {
    auto acquired = data_dir_lock::acquire(cfg.data_dir);
    if (!acquired) {
        return acquired.error();
    }
    lock = std::move(*acquired);
    auto opened = cluster_record::open(cfg.data_dir);
    if (!opened) {
        return error_info(opened.error().code, fmt::format("data_dir: {}", opened.error().detail));
    }
    record = std::move(*opened);
    // Only a snapshot of this cluster, not older than what was acted on.
    md.require(record->cluster_uuid(), record->revision());
    if (record->exists()) {
        log(log_level::info, component, "data dir {} follows cluster {} (acted on revision {})",
            cfg.data_dir,
            record->cluster_uuid().empty() ? "(not known yet)" : record->cluster_uuid(),
            record->revision());
    }
    auto ids = producer_id_allocator::open(cfg.data_dir, cfg.node_id);
    if (!ids) {
        return error_info(ids.error().code, fmt::format("data_dir: {}", ids.error().detail));
    }
    producer_ids = std::move(*ids);
    return ok();
}

/// The TLS material: each enabled block's files loaded and checked (the
/// broker refuses to start on a bad one, naming the file and the reason)
/// and watched from now on. The watchers keep their checked copies under
/// <data_dir>/tls/<name>.
result<void> broker_server::impl::load_tls() {
    if (!cfg.kafka_tls.enabled && !cfg.controller_tls.enabled) {
        return ok();
    }
    const std::string dir = cfg.data_dir + "/tls";
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return error_info(std::error_code(errno, std::generic_category()),
                          fmt::format("data_dir: cannot create {}", dir));
    }
    struct block {
        const char* key;
        const char* name;
        const char* live;
        const tls::tls_settings& settings;
        std::shared_ptr<tls::credential_watcher>& out;
    };
    for (const block& b : {block{"kafka_tls", "kafka listener", "kafka", cfg.kafka_tls, kafka_tls},
                           block{"controller_tls", "controller link", "controller",
                                 cfg.controller_tls, controller_tls}}) {
        if (!b.settings.enabled) {
            continue;
        }
        auto w = tls::credential_watcher::start(b.settings, b.name, dir + "/" + b.live);
        if (!w) {
            return error_info(w.error().code, fmt::format("{}: {}", b.key, w.error().detail));
        }
        b.out = std::move(*w);
    }
    if (controller_tls) {
        controller_channel = tls::grpc_channel_credentials(controller_tls);
    }
    return ok();
}

/// Tiered storage's read side and its cache, <data_dir>/cloud_cache
/// (recovered here: half-written downloads removed). Its workers post to the
/// io thread, which exists once the listener does; they only run for
/// requests, which come after it.
result<void> broker_server::impl::open_remote_reader() {
    tiered_read::remote_reader_options o;
    o.cache_dir = cfg.data_dir + "/cloud_cache";
    auto r = tiered_read::remote_reader::open(
        o,
        [this](std::function<void()> fn) {
            kafka_listener* l = nullptr;
            while ((l = listener_ptr.load()) == nullptr) {
                std::this_thread::yield();
            }
            l->post(std::move(fn));
        },
        [this](std::chrono::milliseconds d, std::function<void()> fn) {
            if (kafka_listener* l = listener_ptr.load()) {
                l->post_after(d, std::move(fn));
            }
        },
        monotonic_ms);
    if (!r) {
        return error_info(r.error().code, fmt::format("data_dir: {}", r.error().detail));
    }
    remote = std::move(*r);
    return ok();
}

/// Group commit, the partitions, the controller client and what the Kafka
/// handlers reach (broker_services), down to the dispatcher.
void broker_server::impl::build_services() {
    // The flusher's completions go to the io thread, which exists once the
    // listener does; nothing is synced before the first request anyway.
    flusher = std::make_unique<log_flusher>(
        [this](std::function<void()> fn) {
            kafka_listener* l = nullptr;
            while ((l = listener_ptr.load()) == nullptr) {
                std::this_thread::yield();
            }
            l->post(std::move(fn));
        },
        wall_ms);
    partitions = std::make_unique<partition_manager>(
        cfg.data_dir, cfg.node_id,
        partition_defaults{static_cast<int64_t>(cfg.flush.messages),
                           static_cast<int64_t>(cfg.flush.ms),
                           static_cast<int64_t>(cfg.log_delete_delay_ms)},
        &*record, flusher.get());
    // The archiver's completions come back from its worker to the io thread
    // (the first once a store is built, after the first Watch event).
    archival::service_options aopts;
    aopts.node_id = cfg.node_id;
    aopts.now = wall_ms;
    archiver =
        std::make_unique<archival::archiver_service>(aopts, [this](std::function<void()> fn) {
            kafka_listener* l = nullptr;
            while ((l = listener_ptr.load()) == nullptr) {
                std::this_thread::yield();
            }
            l->post(std::move(fn));
        });
    shadow_fetchers = std::make_unique<shadow::fetcher_service>(shadow::fetcher_options{
        .node_id = cfg.node_id,
        .now = wall_ms,
        .post_to_io =
            [this](std::function<void()> fn) {
                kafka_listener* l = nullptr;
                while ((l = listener_ptr.load()) == nullptr) {
                    std::this_thread::yield();
                }
                l->post(std::move(fn));
            },
    });
    partitions->set_remote_reclaimer([this](const std::string& uuid, const std::string& location) {
        return archiver->reclaim_remote(uuid, location);
    });
    broker_endpoint me{cfg.node_id, cfg.advertise.kafka.host, cfg.advertise.kafka.port, cfg.rack};
    controller_client::options copts;
    copts.client_id_prefix = "broker-";
    if (cfg.controller_credentials) {
        copts.auth = controller_client::credential{cfg.controller_credentials->username,
                                                   cfg.controller_credentials->password};
    }
    copts.credentials = controller_channel;
    controller = std::make_unique<controller_client::client>(controller_addresses(cfg), copts);
    // For services whose work completes on gRPC threads (controller
    // answers) and for their timers: runs `fn` on the io thread. A request
    // can be served a moment before start() stores the listener, so an
    // answer may arrive before it: wait for that moment rather than run `fn`
    // here. (Timers start with groups->start(), after the listener is stored.)
    auto post_to_io = [this](std::chrono::milliseconds d, std::function<void()> fn) {
        kafka_listener* l = nullptr;
        while ((l = listener_ptr.load()) == nullptr) {
            std::this_thread::yield();
        }
        l->post_after(d, std::move(fn));
    };
    admin = std::make_unique<admin_forwarder>(
        admin_options{.node_id = cfg.node_id, .settings = broker_settings(cfg)}, md, *controller,
        post_to_io);
    coordinator_options go;
    go.node_id = cfg.node_id;
    go.offsets_topic_partitions = static_cast<int32_t>(cfg.group.offsets_topic_partitions);
    go.groups.min_session_timeout_ms = static_cast<int32_t>(cfg.group.min_session_timeout_ms);
    go.groups.max_session_timeout_ms = static_cast<int32_t>(cfg.group.max_session_timeout_ms);
    go.groups.initial_rebalance_delay_ms =
        static_cast<int32_t>(cfg.group.initial_rebalance_delay_ms);
    groups = std::make_unique<group_gateway>(go, md, *partitions, controller.get(), post_to_io,
                                             wall_ms, new_uuid);
    build_group_offset_sync();
    fetches = std::make_unique<parked_fetches>(
        [this](std::chrono::milliseconds d, std::function<void()> fn) {
            // Connections are served from the moment the listener starts,
            // a little before start() stores it: answer such a wait at once.
            if (kafka_listener* l = listener_ptr.load()) {
                l->post_after(d, std::move(fn));
            } else {
                fn();
            }
        });
    services = std::make_unique<broker_services>(broker_services{
        .me = me,
        .options =
            kafka_options{
                .fetch_max_bytes = static_cast<int32_t>(cfg.fetch_max_bytes),
                .require_sasl = cfg.authentication_method.kafka
                                    ? std::optional<bool>(*cfg.authentication_method.kafka ==
                                                          listener_authentication::sasl)
                                    : std::nullopt,
                .log_dir = cfg.data_dir + "/topics",
                .min_password_length = tls::min_password_length(cfg.fips.mode),
            },
        .md = md,
        .pm = *partitions,
        .fetches = *fetches,
        .now = wall_ms,
        .admin = admin.get(),
        .groups = groups.get(),
        .producer_ids = &*producer_ids,
        .security = &security,
        .remote = remote.get(),
    });
    // A download's completion wakes the Fetches waiting for it.
    remote->set_on_progress([this] { fetches->wake(); });
    api = std::make_unique<dispatcher>(*services);
}

/// The Consumer Group Shadowing of shadow links (broker/shadow/
/// group_offset_sync.h), filled with what it reads here.
void broker_server::impl::build_group_offset_sync() {
    shadow::group_sync_env env;
    env.node_id = cfg.node_id;
    env.post = [this](std::function<void()> fn) { listener->post(std::move(fn)); };
    // The links as the metadata cache holds them (with their passwords).
    env.links = [this] { return shadow_links_of(md); };
    // The shadow high watermarks the brokers reported to the controller.
    env.link_status = [this](const std::string& link_name,
                             std::function<void(result<v1::GetShadowLinkStatusResponse>)> done) {
        v1::GetShadowLinkStatusRequest req;
        req.set_name(link_name);
        controller->get_shadow_link_status(std::move(req), std::chrono::seconds(10),
                                           std::move(done));
    };
    env.publish = [this](std::vector<v1::ShadowTaskStatus> s) {
        std::lock_guard g(shadow_tasks_mu);
        shadow_tasks = std::move(s);
    };
    env.connect = shadow::connect_source;
    env.now_ms = monotonic_ms;
    env.wall_ms = wall_ms;
    group_offset_sync = std::make_unique<shadow::group_offset_sync>(std::move(env), md, *partitions,
                                                                    groups->coordinator());
}

/// The Kafka listener; from here on requests are served.
result<void> broker_server::impl::start_listener() {
    listener_options lo;
    lo.host = cfg.listen.kafka.host;
    lo.port = cfg.listen.kafka.port;
    lo.max_frame_bytes = cfg.max_request_bytes;
    lo.idle_timeout = std::chrono::milliseconds(cfg.connections_max_idle_ms);
    if (kafka_tls) {
        // A verified client certificate names the connection's user
        // (principal_mapping_rules, checked when the config was read).
        auto mapper = security::principal_mapper::parse(cfg.principal_mapping_rules);
        if (!mapper) {
            return error_info(mapper.error().code,
                              fmt::format("principal_mapping_rules: {}", mapper.error().detail));
        }
        lo.tls = tls_options{
            .credentials = kafka_tls,
            .map_subject =
                [m = std::move(*mapper)](const std::string& subject) -> result<std::string> {
                auto user = m.map(subject);
                if (!user) {
                    return error_info(user.error().code, fmt::format("principal_mapping_rules: {}",
                                                                     user.error().reason()));
                }
                return user;
            },
        };
    }
    auto started = kafka_listener::start(lo, *api);
    if (!started) {
        return error_info(started.error().code,
                          fmt::format("listen.kafka: {}", started.error().detail));
    }
    listener = std::move(*started);
    listener_ptr = listener.get();
    groups->start();
    group_offset_sync->start();
    return ok();
}

/// /metrics and /healthz, when listen.metrics is set.
result<void> broker_server::impl::start_metrics() {
    if (!cfg.listen.metrics) {
        return ok();
    }
    metrics
        .add_gauge("fjord_fips_mode",
                   "FIPS mode this process runs in: 0 disabled, 1 permissive, 2 enabled")
        .set(static_cast<double>(cfg.fips.mode));
    auto& applied_gauge = metrics.add_gauge("fjord_broker_applied_revision",
                                            "The controller revision this broker has applied");
    auto& logs_gauge = metrics.add_gauge("fjord_broker_partition_logs", "Partition logs open");
    auto& rounds_counter = metrics.add_counter(
        "fjord_broker_log_flush_rounds_total",
        "Group-commit rounds: fdatasyncs of every log written since the previous round");
    auto& syncs_counter = metrics.add_counter("fjord_broker_log_syncs_total",
                                              "Partition log fdatasyncs done by group commit");
    auto& compactions_counter =
        metrics.add_counter("fjord_broker_compaction_runs_total",
                            "Compaction passes finished (cleanup.policy=compact logs)");
    auto& compacted_counter = metrics.add_counter("fjord_broker_compaction_bytes_removed_total",
                                                  "Segment bytes compaction freed");
    auto tiered_metrics = archiver->add_metrics(metrics);
    auto shadow_metrics = shadow_fetchers->add_metrics(metrics);
    // Tiered storage's read side (remote_reader.h: remote_read_stats).
    struct tiered_read_series {
        metrics::counter& hits;
        metrics::counter& misses;
        metrics::counter& downloads;
        metrics::counter& bytes;
        metrics::counter& corrupt;
        metrics::counter& evictions;
        metrics::counter& manifests;
        metrics::gauge& cache_bytes;
        metrics::gauge& cache_limit;
        metrics::gauge& cache_segments;
        std::vector<metrics::counter*> errors;
    };
    auto tiered_read = std::make_shared<tiered_read_series>(tiered_read_series{
        metrics.add_counter("fjord_broker_tiered_cache_hits_total",
                            "Reads below the local log start served from the cloud cache"),
        metrics.add_counter("fjord_broker_tiered_cache_misses_total",
                            "Reads below the local log start that had to download a segment first"),
        metrics.add_counter("fjord_broker_tiered_downloads_total",
                            "Segments downloaded, verified and cached"),
        metrics.add_counter("fjord_broker_tiered_download_bytes_total",
                            "Bytes received from the object store for the cloud cache"),
        metrics.add_counter("fjord_broker_tiered_corrupt_downloads_total",
                            "Downloads (and cached segments) that failed their size, CRC-32C or "
                            "batch checks: never served"),
        metrics.add_counter("fjord_broker_tiered_cache_evictions_total",
                            "Cached segments evicted to stay within cloud_storage_cache_size"),
        metrics.add_counter("fjord_broker_tiered_manifest_loads_total",
                            "Partition manifests loaded by the read side"),
        metrics.add_gauge("fjord_broker_tiered_cache_bytes", "Bytes in the cloud cache"),
        metrics.add_gauge("fjord_broker_tiered_cache_limit_bytes",
                          "The cloud cache's size limit (cloud_storage_cache_size)"),
        metrics.add_gauge("fjord_broker_tiered_cache_segments", "Segments in the cloud cache"),
        {},
    });
    auto& read_errors = metrics.add_counter_family(
        "fjord_broker_tiered_read_errors_total",
        "Failed manifest loads and segment downloads of the read side, after the store's own "
        "retries, by kind",
        {"kind"});
    for (size_t i = 0; i < static_cast<size_t>(tiered_read::read_error_kind::count_); ++i) {
        tiered_read->errors.push_back(&read_errors.with(
            {std::string(tiered_read::to_string(static_cast<tiered_read::read_error_kind>(i)))}));
    }
    http_server_options ho;
    ho.host = cfg.listen.metrics->host;
    ho.port = cfg.listen.metrics->port;
    std::map<std::string, http_handler> handlers;
    handlers["/metrics"] = [this, &applied_gauge, &logs_gauge, &rounds_counter, &syncs_counter,
                            &compactions_counter, &compacted_counter, tiered_metrics,
                            shadow_metrics, tiered_read](const http_request&) {
        tiered_metrics();
        shadow_metrics();
        applied_gauge.set(static_cast<double>(applied.load()));
        logs_gauge.set(static_cast<double>(open_logs.load()));
        // Monotonic sources: catch the counters up (one scraper at a time).
        rounds_counter.inc(flusher->rounds() - rounds_counter.value());
        syncs_counter.inc(flusher->syncs() - syncs_counter.value());
        const auto& compaction = partitions->compaction();
        compactions_counter.inc(compaction.passes.load() - compactions_counter.value());
        compacted_counter.inc(compaction.bytes_removed.load() - compacted_counter.value());
        if (remote) {
            const auto& st = remote->stats();
            auto catch_up = [](metrics::counter& c, uint64_t v) {
                c.inc(v > c.value() ? v - c.value() : 0);
            };
            catch_up(tiered_read->hits, st.cache_hits.load());
            catch_up(tiered_read->misses, st.cache_misses.load());
            catch_up(tiered_read->downloads, st.downloads.load());
            catch_up(tiered_read->bytes, st.bytes_downloaded.load());
            catch_up(tiered_read->corrupt, st.corrupt_downloads.load());
            catch_up(tiered_read->evictions, st.cache_evictions.load());
            catch_up(tiered_read->manifests, st.manifest_loads.load());
            tiered_read->cache_bytes.set(static_cast<double>(st.cache_bytes.load()));
            tiered_read->cache_limit.set(static_cast<double>(st.cache_limit.load()));
            tiered_read->cache_segments.set(static_cast<double>(st.cache_entries.load()));
            for (size_t i = 0; i < tiered_read->errors.size(); ++i) {
                catch_up(*tiered_read->errors[i], st.errors[i].load());
            }
        }
        return http_response{200, std::string(fjord::metrics::content_type), metrics.render()};
    };
    handlers["/healthz"] = [this](const http_request&) {
        const bool ok = ready.load();
        return http_response{ok ? 200 : 503, "text/plain",
                             ok ? "ok\n" : "waiting for the controller's state\n"};
    };
    auto served = http_server::start(ho, std::move(handlers));
    if (!served) {
        return error_info(served.error().code,
                          fmt::format("listen.metrics: {}", served.error().message()));
    }
    http = std::move(*served);
    return ok();
}

/// Registration, heartbeats and the Watch stream (controller_link).
void broker_server::impl::link_to_controllers() {
    controller_link_options co;
    co.controllers = controller_addresses(cfg);
    co.broker.set_id(cfg.node_id);
    co.broker.set_incarnation(new_uuid());
    auto* ep = co.broker.add_endpoints();
    ep->set_name("kafka");
    ep->set_host(cfg.advertise.kafka.host);
    ep->set_port(cfg.advertise.kafka.port);
    co.broker.set_rack(cfg.rack);
    co.broker.set_version(build::version());
    co.broker.set_fips_mode(cfg.fips.mode == tls::fips_mode::enabled      ? v1::FIPS_MODE_ENABLED
                            : cfg.fips.mode == tls::fips_mode::permissive ? v1::FIPS_MODE_PERMISSIVE
                                                                          : v1::FIPS_MODE_DISABLED);
    co.credentials = controller_channel;
    if (cfg.controller_credentials) {
        co.authorization = controller_client::basic_authorization(
            {cfg.controller_credentials->username, cfg.controller_credentials->password});
    }
    link =
        std::make_unique<controller_link>(co, [this](v1::WatchEvent ev, const watch_source& src) {
            auto shared = std::make_shared<v1::WatchEvent>(std::move(ev));
            listener->post([this, shared, src] { on_event(*shared, src); });
        });
    link->set_heartbeat_report([this](v1::HeartbeatRequest& r) {
        shadow_fetchers->report(r);
        std::lock_guard g(shadow_tasks_mu);
        for (const v1::ShadowTaskStatus& t : shadow_tasks) {
            *r.add_shadow_tasks() = t;
        }
    });
    linked_uuid = record->cluster_uuid();
    link->set_cluster_uuid(linked_uuid);
    link->start();
    listener->post_after(housekeeping_interval, [this] { housekeeping(); });
}

result<std::unique_ptr<broker_server>> broker_server::start(const broker_config& cfg) {
    auto im = std::make_unique<impl>();
    im->cfg = cfg;
    if (auto r = im->open_data_dir(); !r) {
        return r.error();
    }
    if (auto r = im->load_tls(); !r) {
        return r.error();
    }
    if (auto r = im->open_remote_reader(); !r) {
        return r.error();
    }
    im->build_services();
    if (auto r = im->start_listener(); !r) {
        return r.error();
    }
    if (auto r = im->start_metrics(); !r) {
        // Requests may already have been served: stop in shutdown()'s
        // order, so that no controller answer outlives its module.
        im->stop_serving();
        return r.error();
    }
    im->link_to_controllers();
    log(log_level::info, component,
        "broker {} listening for Kafka clients on {} ({}, advertised {}); controllers over {}",
        cfg.node_id, fmt::format("{}:{}", cfg.listen.kafka.host, im->listener->port()),
        cfg.kafka_tls.enabled
            ? (cfg.kafka_tls.require_client_auth ? "TLS, client certificates required" : "TLS")
            : "plaintext",
        cfg.advertise.kafka.to_string(), cfg.controller_tls.enabled ? "TLS" : "plaintext");
    return std::unique_ptr<broker_server>(new broker_server(std::move(im)));
}

void broker_server::shutdown() {
    if (!_impl || _impl->stopped) {
        return;
    }
    _impl->stopped = true;
    sd_notify_stopping();
    log(log_level::info, component, "broker {} shutting down", _impl->cfg.node_id);
    _impl->link->stop();
    _impl->stop_serving();
    _impl->http.reset();
    // Its workers stop (a download at its next chunk); what they post is dropped.
    _impl->remote.reset();
    // The io thread has stopped: the cache, the record and the logs are
    // ours now. What acks=1 and write caching acknowledged is made durable
    // before the process goes (a power loss after a clean stop loses nothing).
    _impl->record_applied(true);
    _impl->partitions->flush_all(wall_ms());
    // Served nothing since stop_serving() and durable now: the id may go.
    _impl->link->leave(leave_budget);
    _impl->api.reset();
    _impl->fetches.reset();
    _impl->archiver.reset();
    _impl->shadow_fetchers.reset();
    _impl->partitions.reset();
}

}  // namespace fjord::broker
