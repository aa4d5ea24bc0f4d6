// File: broker/tiered/archiver_service.cc
//
// The broker's archivers, their worker thread and store (archiver_service.h).

#include "broker/tiered/archiver_service.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/tiered/migration_rules.h"
#include "broker/tiered/topic_settings.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/objstore/config.h"
#include "common/objstore/errc.h"
#include "common/tiered/layout.h"
#include "common/tiered/manifest.h"

namespace fjord::broker::archival {
namespace {

constexpr const char* component = "archiver";

/// The cluster config keys a store is built from.
constexpr const char* store_keys[] = {
    "cloud_storage_enabled",
    "cloud_storage_backend",
    "cloud_storage_local_directory",
    "cloud_storage_bucket",
    "cloud_storage_region",
    "cloud_storage_api_endpoint",
    "cloud_storage_api_endpoint_port",
    "cloud_storage_disable_tls",
    "cloud_storage_url_style",
    "cloud_storage_access_key",
    "cloud_storage_secret_key",
    "cloud_storage_request_timeout_ms",
    "cloud_storage_max_retries",
    "cloud_storage_initial_backoff_ms",
};

/// One thread running queued tasks in order.
class worker {
  public:
    worker() : _thread([this] { run(); }) {}
    ~worker() { stop(); }
    void push(std::function<void()> task) {
        {
            std::lock_guard g(_mu);
            if (_stopping) {
                return;
            }
            _tasks.push_back(std::move(task));
        }
        _cv.notify_one();
    }
    void stop() {
        {
            std::lock_guard g(_mu);
            _stopping = true;
            _tasks.clear();
        }
        _cv.notify_one();
        if (_thread.joinable()) {
            _thread.join();
        }
    }

  private:
    void run() {
        for (;;) {
            std::function<void()> task;
            {
                std::unique_lock g(_mu);
                _cv.wait(g, [this] { return _stopping || !_tasks.empty(); });
                if (_stopping) {
                    return;
                }
                task = std::move(_tasks.front());
                _tasks.pop_front();
            }
            task();
        }
    }
    std::mutex _mu;
    std::condition_variable _cv;
    std::deque<std::function<void()>> _tasks;
    bool _stopping = false;
    std::thread _thread;
};

void add(objstore::store_stats& to, const objstore::store_stats& s) {
    to.requests += s.requests;
    to.retries += s.retries;
    to.bytes_put += s.bytes_put;
    to.bytes_got += s.bytes_got;
    to.errors_not_found += s.errors_not_found;
    to.errors_transient += s.errors_transient;
    to.errors_rejected += s.errors_rejected;
    to.errors_corrupt += s.errors_corrupt;
    to.errors_timeout += s.errors_timeout;
    to.errors_io += s.errors_io;
}

bool is(const error_info& e, objstore::errc c) {
    return e.code == make_error_code(c);
}

}  // namespace

result<remote_delete_outcome> delete_topic_data(objstore::object_store& store,
                                                const std::string& location,
                                                const std::string& cluster_uuid) {
    if (auto h = store.head(tiered::mount_manifest_key(location)); h) {
        return remote_delete_outcome::kept_mountable;
    } else if (!is(h.error(), objstore::errc::not_found)) {
        return h.error();
    }
    // "topics/<location>/": every partition's prefix without its number.
    std::string prefix = tiered::partition_prefix(location, 0);
    prefix.resize(prefix.size() - 2);
    auto listed = store.list(prefix);
    if (!listed) {
        return listed.error();
    }
    std::vector<std::string> manifests;
    std::vector<std::string> others;
    for (const auto& o : *listed) {
        (o.key.ends_with("/manifest.json") ? manifests : others).push_back(o.key);
    }
    for (const auto& key : manifests) {
        auto got = store.get(key);
        if (!got) {
            if (is(got.error(), objstore::errc::not_found)) {
                continue;
            }
            return got.error();
        }
        auto m = tiered::decode_partition_manifest(*got, key);
        if (!m) {
            log(log_level::error, component, "{}; the topic's remote data at {} is kept",
                m.error().detail, location);
            return remote_delete_outcome::kept_unreadable;
        }
        if (m->final) {
            return remote_delete_outcome::kept_unmounted;
        }
        // Only the cluster that wrote the data last decides its deletion: a
        // broker that missed an unmount (and the mount into another cluster
        // that followed) must not delete what that cluster now serves.
        if (m->owner_cluster.empty() || m->owner_cluster != cluster_uuid) {
            return remote_delete_outcome::kept_foreign;
        }
    }
    // Segments first: until the manifests go, a retry decides the same way.
    for (const auto* keys : {&others, &manifests}) {
        for (const auto& key : *keys) {
            if (auto r = store.del(key); !r) {
                return r.error();
            }
        }
    }
    return remote_delete_outcome::deleted;
}

struct archiver_service::impl : std::enable_shared_from_this<impl> {
    struct key {
        std::string topic;
        int32_t partition = 0;
        auto operator<=>(const key&) const = default;
    };
    struct entry {
        std::string uuid;
        uint64_t id = 0;
        archiver_context ctx;
        std::unique_ptr<ntp_archiver> arch;
    };
    struct deletion {
        enum class state { running, done, failed } st = state::running;
        int64_t retry_at = 0;
        int failures = 0;
    };

    service_options opts;
    post_fn post;
    worker work;
    archiver_stats stats;
    const metadata_cache* md = nullptr;
    partition_manager* pm = nullptr;

    /// The store and what it was built from; guarded for metrics().
    mutable std::mutex store_mu;
    std::shared_ptr<objstore::object_store> store;
    objstore::store_stats retired;  ///< stats of replaced stores (counters stay monotonic)
    std::map<std::string, std::string> signature;
    bool enabled = false;
    std::optional<objstore::store_config> config;  ///< valid config of `signature`
    uint64_t build_generation = 0;
    bool building = false;
    int64_t build_failed_at = -1;
    bool build_error_logged = false;

    std::map<key, entry> entries;
    uint64_t next_id = 0;
    std::set<std::string> settings_errors;  ///< logged once each
    std::map<std::string, deletion> deletions;
    std::set<std::string> kept_logged;

    std::atomic<uint64_t> lag_bytes{0};
    std::atomic<int64_t> lag_offsets{0};
    std::atomic<size_t> archiver_count{0};

    int64_t now() const { return opts.now(); }

    objstore::config_lookup lookup() const {
        return [m = md](std::string_view k) { return m->config(std::string(k)); };
    }

    void set_store(std::shared_ptr<objstore::object_store> s) {
        std::lock_guard g(store_mu);
        if (store) {
            add(retired, store->stats());
        }
        store = std::move(s);
    }

    /// Runs `fn(store)` on the worker, then `done(result)` on the io thread
    /// if the service is still there.
    template <typename R>
    void on_worker(std::function<R()> fn, std::function<void(impl&, R)> done) {
        std::weak_ptr<impl> weak = weak_from_this();
        work.push([weak, fn = std::move(fn), done = std::move(done), p = post]() mutable {
            auto out = std::make_shared<R>(fn());
            p([weak, out, done = std::move(done)] {
                if (auto self = weak.lock()) {
                    done(*self, std::move(*out));
                }
            });
        });
    }

    void update_store() {
        const auto get = lookup();
        std::map<std::string, std::string> sig;
        for (const char* k : store_keys) {
            if (auto v = get(k)) {
                sig[k] = *v;
            }
        }
        if (sig == signature) {
            return;
        }
        signature = sig;
        enabled = objstore::cloud_storage_enabled(get);
        // Another store (or none): every archiver starts over from its
        // manifest in the new one, and until it has read it nothing more
        // goes locally (what the old store holds is not in the new one).
        if (pm != nullptr) {
            for (const auto& [k, e] : entries) {
                if (broker::partition* part = pm->find(k.topic, k.partition)) {
                    part->log().set_retention_limit(kafka_offset{0});
                }
            }
        }
        entries.clear();
        set_store(nullptr);
        config.reset();
        build_failed_at = -1;
        build_error_logged = false;
        ++build_generation;
        building = false;
        if (!enabled) {
            log(log_level::info, component, "cloud storage is off: nothing is uploaded");
            return;
        }
        auto c = objstore::store_config_from(get);
        if (!c) {
            log(log_level::error, component,
                "cloud storage is on but its config does not build a store: {}; uploads wait "
                "until it is fixed",
                c.error().detail);
            return;
        }
        config = *c;
        build();
    }

    void build() {
        building = true;
        const uint64_t gen = build_generation;
        auto make = opts.make_store;
        auto cfg = *config;
        on_worker<result<std::shared_ptr<objstore::object_store>>>(
            [make, cfg]() -> result<std::shared_ptr<objstore::object_store>> {
                if (make) {
                    return make(cfg);
                }
                auto s = objstore::make_store(cfg);
                if (!s) {
                    return s.error();
                }
                return std::shared_ptr<objstore::object_store>(std::move(*s));
            },
            [gen](impl& self, result<std::shared_ptr<objstore::object_store>> r) {
                if (gen != self.build_generation) {
                    return;  // the config changed meanwhile
                }
                self.building = false;
                if (!r) {
                    self.build_failed_at = self.now();
                    if (!self.build_error_logged) {
                        self.build_error_logged = true;
                        log(log_level::error, component,
                            "cannot build the object store: {}; uploads wait (retried every {} "
                            "ms)",
                            r.error().detail, self.opts.retry_ms);
                    }
                    return;
                }
                log(log_level::info, component, "object store {}: uploading tiered topics",
                    (*r)->describe());
                self.set_store(std::move(*r));
                self.refresh_entries();
                self.tick();
            });
    }

    void refresh_entries() {
        if (md == nullptr || pm == nullptr || !store) {
            entries.clear();
            archiver_count = 0;
            lag_bytes = 0;
            lag_offsets = 0;
            return;
        }
        const auto get = lookup();
        std::set<key> wanted;
        for (const auto& [name, topic] : md->topics()) {
            auto settings = tiered_settings_for(topic, md->cluster_uuid(), get);
            if (!settings) {
                if (settings_errors.insert(name + ": " + settings.error().detail).second) {
                    log(log_level::error, component, "topic {}: {}; not archived", name,
                        settings.error().detail);
                }
                continue;
            }
            if (!settings->tiered) {
                continue;
            }
            for (const auto& p : topic.partitions()) {
                if (p.leader() != opts.node_id || pm->find(name, p.partition()) == nullptr) {
                    continue;
                }
                const key k{name, p.partition()};
                wanted.insert(k);
                archiver_context ctx;
                ctx.settings = *settings;
                ctx.may_write = archiver_may_write(topic);
                ctx.final_migration = final_upload_migration(topic);
                ctx.leader_epoch = p.leader_epoch();
                ctx.cluster_uuid = md->cluster_uuid();
                auto it = entries.find(k);
                if (it != entries.end() && (it->second.uuid != topic.uuid() ||
                                            it->second.arch->location() != settings->location)) {
                    entries.erase(it);
                    it = entries.end();
                }
                if (it == entries.end()) {
                    entry e;
                    e.uuid = topic.uuid();
                    e.id = ++next_id;
                    e.arch = std::make_unique<ntp_archiver>(
                        fmt::format("{}-{}", name, p.partition()), settings->location,
                        p.partition(), stats, opts.archiver);
                    it = entries.emplace(k, std::move(e)).first;
                }
                it->second.ctx = std::move(ctx);
            }
        }
        std::erase_if(entries, [&](const auto& e) { return wanted.count(e.first) == 0; });
        archiver_count = entries.size();
    }

    void step(const key& k, entry& e) {
        broker::partition* part = pm->find(k.topic, k.partition);
        if (part == nullptr || !store) {
            return;
        }
        auto j = e.arch->next(part->log(), e.ctx, now());
        if (!j) {
            return;
        }
        const uint64_t id = e.id;
        on_worker<completion>([j = std::move(*j), s = store] { return j(*s); },
                              [k, id](impl& self, completion c) {
                                  auto it = self.entries.find(k);
                                  if (it == self.entries.end() || it->second.id != id) {
                                      return;  // dropped or replaced meanwhile
                                  }
                                  c(*it->second.arch, self.now());
                                  self.step(k, it->second);  // go on at once
                                  self.update_lag();
                              });
    }

    void update_lag() {
        uint64_t bytes = 0;
        int64_t offsets = 0;
        for (const auto& [k, e] : entries) {
            if (broker::partition* part = pm->find(k.topic, k.partition)) {
                const auto l = e.arch->lag(part->log());
                bytes += l.bytes;
                offsets += l.offsets;
            }
        }
        lag_bytes = bytes;
        lag_offsets = offsets;
    }

    void tick() {
        if (pm == nullptr) {
            return;
        }
        if (!store) {
            if (config && !building && build_failed_at >= 0 &&
                now() - build_failed_at >= opts.retry_ms) {
                build();
            }
            return;
        }
        for (auto& [k, e] : entries) {
            step(k, e);
        }
        update_lag();
    }

    bool reclaim_remote(const std::string& location) {
        if (md != nullptr) {
            for (const auto& [name, topic] : md->topics()) {
                if (location_of(topic, md->cluster_uuid()) == location) {
                    if (kept_logged.insert(location).second) {
                        log(log_level::info, component,
                            "the remote data at {} is used by topic {}: kept", location, name);
                    }
                    return true;
                }
            }
        }
        auto it = deletions.find(location);
        if (it != deletions.end()) {
            if (it->second.st == deletion::state::done) {
                deletions.erase(it);
                return true;
            }
            if (it->second.st == deletion::state::running || now() < it->second.retry_at) {
                return false;
            }
        }
        if (!store) {
            return false;
        }
        deletions[location].st = deletion::state::running;
        on_worker<result<remote_delete_outcome>>(
            [s = store, location, cluster = md != nullptr ? md->cluster_uuid() : std::string()] {
                return delete_topic_data(*s, location, cluster);
            },
            [location](impl& self, result<remote_delete_outcome> r) {
                auto& d = self.deletions[location];
                if (!r) {
                    d.st = deletion::state::failed;
                    ++d.failures;
                    const int shift = std::min(d.failures - 1, 6);
                    d.retry_at = self.now() + self.opts.retry_ms * (int64_t{1} << shift);
                    log(d.failures == 1 ? log_level::warn : log_level::debug, component,
                        "deleting the remote data of a deleted topic at {}: {}; retrying", location,
                        r.error().message());
                    return;
                }
                d.st = deletion::state::done;
                switch (*r) {
                    case remote_delete_outcome::deleted:
                        log(log_level::info, component,
                            "deleted the remote data of a deleted topic at {}", location);
                        break;
                    case remote_delete_outcome::kept_mountable:
                    case remote_delete_outcome::kept_unmounted:
                        log(log_level::info, component,
                            "the remote data at {} belongs to an unmounted topic: kept", location);
                        break;
                    case remote_delete_outcome::kept_foreign:
                        log(log_level::info, component,
                            "the remote data at {} was last written by another cluster: kept",
                            location);
                        break;
                    case remote_delete_outcome::kept_unreadable:
                        break;  // logged by delete_topic_data
                }
            });
        return false;
    }
};

archiver_service::archiver_service(service_options options, post_fn post_to_io)
    : _impl(std::make_shared<impl>()) {
    _impl->opts = std::move(options);
    _impl->post = std::move(post_to_io);
}

archiver_service::~archiver_service() {
    stop();
}

void archiver_service::stop() {
    _impl->work.stop();
}

void archiver_service::reconcile(const metadata_cache& md, partition_manager& pm) {
    _impl->md = &md;
    _impl->pm = &pm;
    _impl->update_store();
    _impl->refresh_entries();
    _impl->tick();
}

void archiver_service::tick() {
    _impl->tick();
}

bool archiver_service::reclaim_remote(const std::string&, const std::string& location) {
    return _impl->reclaim_remote(location);
}

size_t archiver_service::archivers() const {
    return _impl->archiver_count.load();
}

bool archiver_service::store_ready() const {
    std::lock_guard g(_impl->store_mu);
    return _impl->store != nullptr;
}

const archiver_stats& archiver_service::stats() const {
    return _impl->stats;
}

std::function<void()> archiver_service::add_metrics(metrics::registry& reg) {
    auto& lag_bytes = reg.add_gauge("fjord_broker_tiered_upload_lag_bytes",
                                    "Bytes of led tiered partitions not uploaded yet");
    auto& lag_offsets = reg.add_gauge("fjord_broker_tiered_upload_lag_offsets",
                                      "Offsets of led tiered partitions not uploaded yet");
    auto& partitions =
        reg.add_gauge("fjord_broker_tiered_partitions", "Tiered partitions this broker uploads");
    auto& segments = reg.add_counter("fjord_broker_tiered_uploaded_segments_total",
                                     "Segments uploaded to the object store");
    auto& bytes = reg.add_counter("fjord_broker_tiered_uploaded_bytes_total",
                                  "Bytes of segments uploaded to the object store");
    auto& manifests =
        reg.add_counter("fjord_broker_tiered_manifest_writes_total", "Partition manifests written");
    auto& deleted = reg.add_counter("fjord_broker_tiered_objects_deleted_total",
                                    "Objects deleted by remote retention");
    auto& failures = reg.add_counter("fjord_broker_tiered_upload_failures_total",
                                     "Archiver steps that failed (retried with backoff)");
    auto& requests = reg.add_counter("fjord_broker_objstore_requests_total",
                                     "Object-store requests of the archiver");
    auto& errors = reg.add_counter_family("fjord_broker_objstore_errors_total",
                                          "Object-store errors of the archiver, by kind", {"kind"});
    std::weak_ptr<impl> weak = _impl;
    return [weak, &lag_bytes, &lag_offsets, &partitions, &segments, &bytes, &manifests, &deleted,
            &failures, &requests, &errors] {
        auto self = weak.lock();
        if (!self) {
            return;
        }
        lag_bytes.set(static_cast<double>(self->lag_bytes.load()));
        lag_offsets.set(static_cast<double>(self->lag_offsets.load()));
        partitions.set(static_cast<double>(self->archiver_count.load()));
        const auto catch_up = [](metrics::counter& c, uint64_t v) {
            if (v > c.value()) {
                c.inc(v - c.value());
            }
        };
        catch_up(segments, self->stats.segments_uploaded.load());
        catch_up(bytes, self->stats.bytes_uploaded.load());
        catch_up(manifests, self->stats.manifest_writes.load());
        catch_up(deleted, self->stats.objects_deleted.load());
        catch_up(failures, self->stats.failures.load());
        objstore::store_stats s;
        {
            std::lock_guard g(self->store_mu);
            s = self->retired;
            if (self->store) {
                add(s, self->store->stats());
            }
        }
        catch_up(requests, s.requests);
        catch_up(errors.with({"not_found"}), s.errors_not_found);
        catch_up(errors.with({"transient"}), s.errors_transient);
        catch_up(errors.with({"rejected"}), s.errors_rejected);
        catch_up(errors.with({"corrupt"}), s.errors_corrupt);
        catch_up(errors.with({"timeout"}), s.errors_timeout);
        catch_up(errors.with({"io_error"}), s.errors_io);
    };
}

}  // namespace fjord::broker::archival
