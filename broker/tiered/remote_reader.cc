// File: broker/tiered/remote_reader.cc
//
// The read side of tiered storage (remote_reader.h).

#include "broker/tiered/remote_reader.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "broker/storage/errc.h"
#include "common/log.h"
#include "common/tiered/layout.h"

namespace fjord::broker::tiered_read {

namespace layout = ::fjord::tiered;

namespace {
constexpr const char* component = "tiered";
}  // namespace

/// Threads that run jobs in submission order; the destructor drops the jobs
/// not started and joins the threads.
class remote_reader::worker_pool {
  public:
    explicit worker_pool(int threads) {
        for (int i = 0; i < threads; ++i) {
            _threads.emplace_back([this] { run(); });
        }
    }
    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;
    ~worker_pool() {
        {
            std::lock_guard lk(_mu);
            _stop = true;
            _jobs.clear();
        }
        _cv.notify_all();
        for (auto& t : _threads) {
            t.join();
        }
    }
    void submit(std::function<void()> job) {
        {
            std::lock_guard lk(_mu);
            _jobs.push_back(std::move(job));
        }
        _cv.notify_one();
    }

  private:
    void run() {
        while (true) {
            std::function<void()> job;
            {
                std::unique_lock lk(_mu);
                _cv.wait(lk, [&] { return _stop || !_jobs.empty(); });
                if (_stop) {
                    return;
                }
                job = std::move(_jobs.front());
                _jobs.pop_front();
            }
            job();
        }
    }

    std::mutex _mu;
    std::condition_variable _cv;
    std::deque<std::function<void()>> _jobs;
    bool _stop = false;
    std::vector<std::thread> _threads;
};

std::string_view to_string(read_error_kind k) {
    switch (k) {
        case read_error_kind::not_found:
            return "not_found";
        case read_error_kind::transient:
            return "transient";
        case read_error_kind::rejected:
            return "rejected";
        case read_error_kind::corrupt:
            return "corrupt";
        case read_error_kind::timeout:
            return "timeout";
        case read_error_kind::store_io:
            return "io_error";
        case read_error_kind::invalid_key:
            return "invalid_key";
        case read_error_kind::config:
            return "config";
        case read_error_kind::cache_io:
            return "cache_io";
        case read_error_kind::other:
        case read_error_kind::count_:
            break;
    }
    return "other";
}

read_error_kind kind_of(const std::error_code& ec) {
    if (ec.category() == objstore::error_category()) {
        switch (static_cast<objstore::errc>(ec.value())) {
            case objstore::errc::not_found:
                return read_error_kind::not_found;
            case objstore::errc::transient:
                return read_error_kind::transient;
            case objstore::errc::rejected:
                return read_error_kind::rejected;
            case objstore::errc::corrupt:
                return read_error_kind::corrupt;
            case objstore::errc::timeout:
                return read_error_kind::timeout;
            case objstore::errc::io_error:
                return read_error_kind::store_io;
            case objstore::errc::invalid_key:
                return read_error_kind::invalid_key;
            case objstore::errc::config:
                return read_error_kind::config;
            case objstore::errc::success:
                break;
        }
        return read_error_kind::other;
    }
    if (ec.category() == storage::error_category()) {
        return read_error_kind::cache_io;
    }
    return read_error_kind::other;
}

// --- construction ----------------------------------------------------------

result<std::unique_ptr<remote_reader>> remote_reader::open(remote_reader_options o, post_fn post,
                                                           schedule_fn schedule, clock_fn clock) {
    auto cache = segment_cache::open(o.cache_dir, o.cache_bytes);
    if (!cache) {
        return error_info(cache.error().code,
                          fmt::format("cloud cache {}: {}", o.cache_dir, cache.error().detail));
    }
    return std::unique_ptr<remote_reader>(new remote_reader(
        std::move(o), std::move(post), std::move(schedule), std::move(clock), std::move(*cache)));
}

remote_reader::remote_reader(remote_reader_options o, post_fn post, schedule_fn schedule,
                             clock_fn clock, std::unique_ptr<segment_cache> cache)
    : _o(std::move(o)),
      _post(std::move(post)),
      _schedule(std::move(schedule)),
      _clock(std::move(clock)),
      _cache(std::move(cache)),
      _stopping(std::make_shared<std::atomic<bool>>(false)),
      _self(std::make_shared<remote_reader*>(this)),
      _manifest_pool(std::make_unique<worker_pool>(1)),
      _download_pool(std::make_unique<worker_pool>(std::max(1, _o.download_workers))) {
    publish_cache_stats();
}

remote_reader::~remote_reader() {
    *_stopping = true;
    _self.reset();  // what the workers post from now on does nothing
    _download_pool.reset();
    _manifest_pool.reset();
}

void remote_reader::post_back(std::function<void(remote_reader&)> fn) {
    _post([weak = std::weak_ptr<remote_reader*>(_self), fn = std::move(fn)] {
        if (auto self = weak.lock()) {
            fn(**self);
        }
    });
}

void remote_reader::set_store(std::shared_ptr<objstore::object_store> store, std::string name) {
    if (store == _store) {
        return;
    }
    _store = std::move(store);
    _store_name = std::move(name);
    // What the old store said is not this one's word.
    _manifests.clear();
    for (auto it = _downloads.begin(); it != _downloads.end();) {
        it = it->second.running ? std::next(it) : _downloads.erase(it);
    }
    _download_queue.clear();
}

void remote_reader::configure_store(std::optional<objstore::store_config> c, std::string name) {
    const uint64_t generation = ++_store_generation;
    if (!c) {
        set_store(nullptr);
        return;
    }
    build_store(generation, std::move(*c), std::move(name));
}

void remote_reader::build_store(uint64_t generation, objstore::store_config c, std::string name) {
    _manifest_pool->submit(
        [c, name, generation, post = _post, weak = std::weak_ptr<remote_reader*>(_self)] {
            auto made = objstore::make_store(c);
            auto shared =
                std::make_shared<result<std::unique_ptr<objstore::object_store>>>(std::move(made));
            post([weak, shared, c, name, generation] {
                auto self = weak.lock();
                if (!self || generation != (*self)->_store_generation) {
                    return;  // gone, or configured again meanwhile
                }
                remote_reader& r = **self;
                if (!*shared) {
                    log(log_level::error, component,
                        "tiered storage reads: cannot build the object store: {}; trying again in "
                        "10 s",
                        shared->error().detail);
                    r.set_store(nullptr);
                    r._schedule(std::chrono::milliseconds(10000), [weak, c, name, generation] {
                        if (auto s = weak.lock(); s && generation == (*s)->_store_generation) {
                            (*s)->build_store(generation, c, name);
                        }
                    });
                    return;
                }
                std::shared_ptr<objstore::object_store> store(std::move(**shared));
                log(log_level::info, component, "tiered storage reads from {}", store->describe());
                r.set_store(std::move(store), name);
            });
        });
}

void remote_reader::set_cache_limit(uint64_t bytes) {
    if (bytes != _cache->limit()) {
        _cache->set_limit(bytes);
        publish_cache_stats();
    }
}

void remote_reader::await(std::chrono::milliseconds max_wait, std::function<void()> fn) {
    const uint64_t id = _next_awaiter++;
    _awaiters.push_back({id, std::move(fn)});
    _schedule(max_wait, [weak = std::weak_ptr<remote_reader*>(_self), id] {
        auto self = weak.lock();
        if (!self) {
            return;
        }
        auto& list = (*self)->_awaiters;
        for (auto it = list.begin(); it != list.end(); ++it) {
            if (it->id == id) {
                auto f = std::move(it->fn);
                list.erase(it);
                f();
                return;
            }
        }
    });
}

void remote_reader::progress() {
    publish_cache_stats();
    auto waiting = std::move(_awaiters);
    _awaiters.clear();
    if (_on_progress) {
        _on_progress();
    }
    for (auto& a : waiting) {
        a.fn();
    }
}

void remote_reader::publish_cache_stats() {
    _stats.cache_bytes = _cache->used_bytes();
    _stats.cache_entries = _cache->entries();
    _stats.cache_evictions = _cache->evictions();
    _stats.cache_limit = _cache->limit();
}

void remote_reader::count_error(const std::error_code& ec) {
    ++_stats.errors[static_cast<size_t>(kind_of(ec))];
}

size_t remote_reader::jobs_in_flight() const {
    return _manifest_jobs + static_cast<size_t>(_downloads_running) + _download_queue.size();
}

void remote_reader::forget_unless(const std::function<bool(const remote_partition&)>& keep) {
    for (auto it = _manifests.begin(); it != _manifests.end();) {
        it = it->second.loading || keep(it->first) ? std::next(it) : _manifests.erase(it);
    }
}

// --- manifests -------------------------------------------------------------

void remote_reader::start_manifest_load(const remote_partition& rp, manifest_state& ms) {
    if (ms.loading || !_store) {
        return;
    }
    ms.loading = true;
    ++_manifest_jobs;
    _manifest_pool->submit(
        [store = _store, rp, post = _post, weak = std::weak_ptr<remote_reader*>(_self)] {
            const std::string key = layout::partition_manifest_key(rp.location, rp.partition);
            result<layout::partition_manifest> r = [&]() -> result<layout::partition_manifest> {
                auto bytes = store->get(key);
                if (!bytes) {
                    return bytes.error();
                }
                auto m = layout::decode_partition_manifest(*bytes, key);
                if (!m) {
                    return m.error();
                }
                if (m->location != rp.location || m->partition != rp.partition) {
                    return error_info(
                        objstore::errc::corrupt,
                        fmt::format("{}: names {} partition {}", key, m->location, m->partition));
                }
                return m;
            }();
            auto shared = std::make_shared<result<layout::partition_manifest>>(std::move(r));
            post([weak, rp, shared] {
                if (auto self = weak.lock()) {
                    (*self)->on_manifest_loaded(rp, std::move(*shared));
                }
            });
        });
}

void remote_reader::on_manifest_loaded(const remote_partition& rp,
                                       result<layout::partition_manifest> r) {
    --_manifest_jobs;
    auto it = _manifests.find(rp);
    if (it != _manifests.end()) {
        manifest_state& ms = it->second;
        ms.loading = false;
        const int64_t now = _clock();
        ++_stats.manifest_loads;
        if (r) {
            ms.manifest = std::make_shared<const layout::partition_manifest>(std::move(*r));
            ms.invalidated = false;
            ms.missing = false;
            ms.loaded = true;
            ms.loaded_ms = now;
            ms.error.reset();
        } else if (r.code() == objstore::errc::not_found) {
            // No remote data (yet): not an error.
            ms.manifest.reset();
            ms.invalidated = false;
            ms.missing = true;
            ms.loaded = true;
            ms.loaded_ms = now;
            ms.error.reset();
        } else {
            count_error(r.code());
            log(log_level::warn, component, "partition manifest of {}/{}: {}", rp.location,
                rp.partition, r.error().message());
            ms.error = r.error();
            ms.error_ms = now;
        }
    }
    progress();
}

remote_answer<remote_reader::manifest_ptr> remote_reader::manifest(const remote_partition& rp) {
    using answer = remote_answer<manifest_ptr>;
    if (!_store) {
        return answer::failed(error_info(objstore::errc::config, "cloud storage is not enabled"));
    }
    manifest_state& ms = _manifests[rp];
    const int64_t now = _clock();
    if (!ms.loaded || ms.invalidated) {
        if (ms.error && !ms.loading && now - ms.error_ms < _o.retry_backoff_ms) {
            return answer::failed(*ms.error);
        }
        start_manifest_load(rp, ms);
        return answer::pending();
    }
    const bool retry_due = !ms.error || now - ms.error_ms >= _o.retry_backoff_ms;
    if (now - ms.loaded_ms >= _o.manifest_max_age_ms && retry_due) {
        start_manifest_load(rp, ms);  // in the background; this one answers meanwhile
    }
    return answer::ready(ms.manifest);
}

bool remote_reader::refresh_for_miss(const remote_partition& rp) {
    manifest_state& ms = _manifests[rp];
    if (ms.loading) {
        return true;
    }
    const int64_t now = _clock();
    if (now - ms.loaded_ms < _o.miss_refresh_ms ||
        (ms.error && now - ms.error_ms < _o.retry_backoff_ms)) {
        return false;
    }
    start_manifest_load(rp, ms);
    return ms.loading;
}

remote_answer<remote_reader::manifest_ptr> remote_reader::manifest_reaching(
    const remote_partition& rp, kafka_offset local_start) {
    auto m = manifest(rp);
    if (!m.is_ready()) {
        return m;
    }
    const bool reaches =
        m.value && !m.value->segments.empty() && m.value->next_offset() >= local_start.value();
    if (!reaches && local_start.value() > 0 && refresh_for_miss(rp)) {
        return remote_answer<manifest_ptr>::pending();
    }
    return m;
}

namespace {

remote_bounds bounds_of(const layout::partition_manifest* m) {
    remote_bounds b;
    if (m != nullptr && !m->segments.empty()) {
        b.exists = true;
        b.start = m->start_offset;
        b.next = m->next_offset();
        b.size_bytes = m->size_bytes();
        b.segments = m->segments.size();
    } else if (m != nullptr) {
        b.start = b.next = m->next_offset();
    }
    return b;
}

}  // namespace

remote_answer<remote_bounds> remote_reader::bounds(const remote_partition& rp,
                                                   kafka_offset local_start) {
    using answer = remote_answer<remote_bounds>;
    if (local_start.value() == 0) {
        // Nothing can be below offset 0: no need to wait for the store.
        if (auto k = known_bounds(rp)) {
            return answer::ready(*k);
        }
        return answer::ready(remote_bounds{});
    }
    auto m = manifest_reaching(rp, local_start);
    if (!m.is_ready()) {
        return m.is_pending() ? answer::pending() : answer::failed(m.error);
    }
    return answer::ready(bounds_of(m.value.get()));
}

remote_answer<remote_bounds> remote_reader::manifest_bounds(const remote_partition& rp) {
    using answer = remote_answer<remote_bounds>;
    auto m = manifest(rp);
    if (!m.is_ready()) {
        return m.is_pending() ? answer::pending() : answer::failed(m.error);
    }
    return answer::ready(bounds_of(m.value.get()));
}

std::optional<remote_bounds> remote_reader::known_bounds(const remote_partition& rp) {
    if (!_store) {
        return std::nullopt;
    }
    auto m = manifest(rp);  // starts a load when there is none or it is old
    if (!m.is_ready()) {
        return std::nullopt;
    }
    return bounds_of(m.value.get());
}

// --- segments --------------------------------------------------------------

remote_answer<storage::segment*> remote_reader::segment_for(const segment_ref& ref) {
    using answer = remote_answer<storage::segment*>;
    auto name = ref.entry_name();
    if (!name) {
        return answer::failed(name.error());
    }
    const int64_t now = _clock();
    auto found = _cache->find(*name, now);
    if (found && *found != nullptr) {
        ++_stats.cache_hits;
        return answer::ready(*found);
    }
    if (!found) {
        // A cached entry that no longer opens was dropped: download it again.
        ++_stats.corrupt_downloads;
        publish_cache_stats();
    }
    auto [it, fresh] = _downloads.try_emplace(*name);
    download_state& d = it->second;
    if (d.running || d.queued) {
        return answer::pending();
    }
    if (d.error && now - d.error_ms < _o.retry_backoff_ms) {
        return answer::failed(*d.error);
    }
    d.ref = ref;
    d.error.reset();
    d.queued = true;
    ++_stats.cache_misses;
    _download_queue.push_back(*name);
    start_downloads();
    return answer::pending();
}

void remote_reader::start_downloads() {
    while (_downloads_running < std::max(1, _o.download_workers) && !_download_queue.empty() &&
           _store) {
        const std::string name = _download_queue.front();
        _download_queue.pop_front();
        auto it = _downloads.find(name);
        if (it == _downloads.end() || !it->second.queued) {
            continue;
        }
        download_state& d = it->second;
        d.queued = false;
        d.running = true;
        ++_downloads_running;
        const uint64_t reserved = d.ref.meta.size;
        _cache->reserve(reserved);
        publish_cache_stats();
        _download_pool->submit([store = _store, fs = &_cache->file_ops(), dir = _cache->dir(),
                                ref = d.ref, name, reserved, chunk = _o.chunk_bytes,
                                retries = _o.corrupt_retries, stop = _stopping, post = _post,
                                weak = std::weak_ptr<remote_reader*>(_self)] {
            download_outcome outcome;
            auto r = std::make_shared<result<std::unique_ptr<storage::segment>>>(
                download_segment(*store, *fs, dir, ref, chunk, retries, outcome, stop.get()));
            post([weak, name, reserved, r, outcome] {
                if (auto self = weak.lock()) {
                    (*self)->on_downloaded(name, reserved, r, outcome);
                }
            });
        });
    }
}

void remote_reader::on_downloaded(const std::string& entry, uint64_t reserved,
                                  std::shared_ptr<result<std::unique_ptr<storage::segment>>> r,
                                  download_outcome outcome) {
    --_downloads_running;
    _cache->release(reserved);
    _stats.bytes_downloaded += outcome.bytes;
    _stats.corrupt_downloads += outcome.corrupt;
    auto it = _downloads.find(entry);
    if (*r) {
        ++_stats.downloads;
        _cache->insert(entry, std::move(**r));
        if (it != _downloads.end()) {
            _downloads.erase(it);
        }
    } else {
        count_error(r->code());
        log(log_level::warn, component, "download for the cloud cache: {}", r->error().message());
        if (it != _downloads.end()) {
            download_state& d = it->second;
            d.running = false;
            d.error = r->error();
            d.error_ms = _clock();
            if (r->code() == objstore::errc::not_found) {
                // The manifest named an object that is gone (remote
                // retention?): the next ask loads the manifest again.
                auto m = _manifests.find({d.ref.location, d.ref.partition});
                if (m != _manifests.end()) {
                    m->second.invalidated = true;
                }
            }
        }
    }
    start_downloads();
    progress();
}

// --- reads -----------------------------------------------------------------

remote_answer<remote_reader::remote_slice> remote_reader::read(const remote_partition& rp,
                                                               kafka_offset start,
                                                               kafka_offset local_start,
                                                               uint64_t max_bytes,
                                                               storage::first_batch rule) {
    using answer = remote_answer<remote_slice>;
    auto m = manifest_reaching(rp, local_start);
    if (!m.is_ready()) {
        return m.is_pending() ? answer::pending() : answer::failed(m.error);
    }
    const layout::partition_manifest* man = m.value.get();
    if (man == nullptr || man->segments.empty() || start.value() < man->start_offset) {
        return answer::failed(error_info(
            storage::errc::offset_out_of_range,
            man == nullptr || man->segments.empty()
                ? fmt::format("offset {} is below the local log start {} of {}/{}, and "
                              "nothing is in the object store",
                              start.value(), local_start.value(), rp.location, rp.partition)
                : fmt::format("offset {} is below the remote log start {} of {}/{}", start.value(),
                              man->start_offset, rp.location, rp.partition)));
    }
    const layout::segment_meta* seg = man->find(start.value());
    if (seg == nullptr) {
        // Beyond the remote end: a gap up to the local start.
        remote_slice beyond;
        beyond.slice.first_offset = beyond.slice.next_offset = start;
        beyond.beyond_remote = true;
        return answer::ready(std::move(beyond));
    }
    segment_ref ref{rp.location, rp.partition, *seg};
    auto s = segment_for(ref);
    if (!s.is_ready()) {
        return s.is_pending() ? answer::pending() : answer::failed(s.error);
    }
    remote_slice out;
    out.slice.first_offset = out.slice.next_offset = start;
    storage::read_request req{start, kafka_offset{seg->last_offset + 1}, max_bytes,
                              rule == storage::first_batch::may_exceed_max_bytes};
    auto r = s.value->read(req, out.slice);
    if (!r) {
        if (r.code() == storage::errc::corrupt) {
            // Damaged on disk since it was verified: never served; downloaded again.
            log(log_level::error, component, "cloud cache: {}; downloading it again",
                r.error().detail);
            ++_stats.corrupt_downloads;
            if (auto name = ref.entry_name()) {
                _cache->remove(*name);
            }
            auto again = segment_for(ref);
            return again.is_failed() ? answer::failed(again.error) : answer::pending();
        }
        count_error(r.code());
        return answer::failed(r.error());
    }
    return answer::ready(std::move(out));
}

remote_answer<std::optional<storage::timestamp_offset>> remote_reader::offset_for_timestamp(
    const remote_partition& rp, int64_t ts, kafka_offset below, kafka_offset floor) {
    using answer = remote_answer<std::optional<storage::timestamp_offset>>;
    auto m = manifest_reaching(rp, below);
    if (!m.is_ready()) {
        return m.is_pending() ? answer::pending() : answer::failed(m.error);
    }
    if (!m.value) {
        return answer::ready(std::nullopt);
    }
    const layout::partition_manifest& man = *m.value;
    const kafka_offset start{std::max(man.start_offset, floor.value())};
    if (start >= below) {
        return answer::ready(std::nullopt);  // nothing readable is only remote
    }
    ts = std::max<int64_t>(ts, 0);
    for (const auto& seg : man.segments) {
        if (seg.base_offset >= below.value()) {
            break;  // the local log has the rest
        }
        if (seg.last_offset < start.value()) {
            continue;
        }
        // The manifest's max_timestamp picks the segment (-1: unknown, look).
        if (seg.max_timestamp >= 0 && seg.max_timestamp < ts) {
            continue;
        }
        auto s = segment_for({rp.location, rp.partition, seg});
        if (!s.is_ready()) {
            return s.is_pending() ? answer::pending() : answer::failed(s.error);
        }
        auto found = s.value->find_timestamp(ts, kafka_offset{seg.last_offset + 1}, start);
        if (!found) {
            count_error(found.code());
            return answer::failed(found.error());
        }
        if (*found) {
            if ((*found)->offset < start) {
                (*found)->offset = start;  // the batch holding the start
            }
            return answer::ready(*found);
        }
    }
    return answer::ready(std::nullopt);
}

remote_answer<std::optional<storage::timestamp_offset>> remote_reader::max_timestamp(
    const remote_partition& rp, kafka_offset below, int64_t at_least, kafka_offset floor) {
    using answer = remote_answer<std::optional<storage::timestamp_offset>>;
    auto m = manifest_reaching(rp, below);
    if (!m.is_ready()) {
        return m.is_pending() ? answer::pending() : answer::failed(m.error);
    }
    if (!m.value) {
        return answer::ready(std::nullopt);
    }
    const kafka_offset start{std::max(m.value->start_offset, floor.value())};
    if (start >= below) {
        return answer::ready(std::nullopt);
    }
    const layout::segment_meta* best = nullptr;
    for (const auto& seg : m.value->segments) {
        if (seg.base_offset >= below.value()) {
            break;
        }
        if (seg.last_offset < start.value()) {
            continue;
        }
        if (seg.max_timestamp >= 0 &&
            (best == nullptr || seg.max_timestamp > best->max_timestamp)) {
            best = &seg;
        }
    }
    // Ties go to the remote side: its offsets come first.
    if (best == nullptr || best->max_timestamp < at_least) {
        return answer::ready(std::nullopt);
    }
    auto s = segment_for({rp.location, rp.partition, *best});
    if (!s.is_ready()) {
        return s.is_pending() ? answer::pending() : answer::failed(s.error);
    }
    auto found =
        s.value->find_timestamp(best->max_timestamp, kafka_offset{best->last_offset + 1}, start);
    if (!found) {
        count_error(found.code());
        return answer::failed(found.error());
    }
    if (*found && (*found)->offset < start) {
        (*found)->offset = start;
    }
    return answer::ready(*found);
}

}  // namespace fjord::broker::tiered_read
