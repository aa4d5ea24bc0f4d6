#pragma once
// File: broker/tiered/remote_reader.h
//
// The read side of tiered storage: serves the offsets of a partition that
// are below its local log start from the object store, for topics with
// redpanda.remote.read=true (the Fetch and ListOffsets handlers decide
// when; broker/kafka/handlers/tiered_read.h).
//
// What it reads: the partition manifest (common/tiered/manifest.h) at
// layout.h's key, cached in memory and loaded again when it is older than
// manifest_max_age_ms (in the background: the old one keeps answering) or
// when an offset it does not cover is asked for (then the asker waits);
// the segment holding an offset (manifest.find), downloaded into the
// segment cache (segment_cache.h: bounded, on disk, verified against the
// manifest's size and CRC-32C and batch by batch, never served otherwise),
// and read there with the local log's own reader: whole batches from the
// one holding the offset, capped by max bytes like local reads.
//
// Threads: every public call is the io thread's and never blocks on the
// store. Manifest loads and downloads run on worker threads (one for
// manifests, `download_workers` for segments); their outcome is posted back
// to the io thread (post_fn), which then runs the progress callback
// (set_on_progress: the broker wakes the parked Fetches) and every await()
// callback. An answer is therefore one of:
//   ready   the value (bytes from the cache, an offset, the bounds);
//   pending a load or download was started (or is under way): ask again
//           after the next progress; a Fetch parks, as it does for the high
//           watermark, within its max_wait;
//   failed  the error: the store's (objstore errc, after the backend's own
//           retries), a download that kept failing its checks
//           (objstore::errc::corrupt), storage::errc::offset_out_of_range
//           below the remote start, or the cache's disk (storage errc).
// A failure is remembered for retry_backoff_ms (asking again within it
// answers the same error at once); the next ask after it tries again.
//
// Lifetime: the destructor stops the workers (a download in progress stops
// at its next chunk) and joins them; what they had posted and not yet run
// does nothing.

#include <array>
#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "broker/storage/partition_log.h"
#include "broker/storage/types.h"
#include "broker/tiered/segment_cache.h"
#include "common/objstore/errc.h"
#include "common/objstore/object_store.h"
#include "common/result.h"
#include "common/tiered/manifest.h"

namespace fjord::broker::tiered_read {

/// One partition's remote log: its topic's location in the store (layout.h)
/// and the partition.
struct remote_partition {
    std::string location;
    int32_t partition = 0;
    auto operator<=>(const remote_partition&) const = default;
};

/// See the file comment.
template <typename T>
struct remote_answer {
    enum class state { ready, pending, failed };
    state st = state::pending;
    T value{};
    error_info error;

    static remote_answer ready(T v) { return {state::ready, std::move(v), {}}; }
    static remote_answer pending() { return {state::pending, T{}, {}}; }
    static remote_answer failed(error_info e) { return {state::failed, T{}, std::move(e)}; }
    bool is_ready() const { return st == state::ready; }
    bool is_pending() const { return st == state::pending; }
    bool is_failed() const { return st == state::failed; }
};

/// A partition's remote log as its manifest describes it.
struct remote_bounds {
    /// False: no manifest, or one without segments (nothing remote to read).
    bool exists = false;
    int64_t start = 0;  ///< the remote log start (manifest start_offset)
    int64_t next = 0;   ///< the offset after the last uploaded one
    uint64_t size_bytes = 0;
    size_t segments = 0;
};

struct remote_reader_options {
    /// <data_dir>/cloud_cache (its parent must exist).
    std::string cache_dir;
    /// cloud_storage_cache_size.
    uint64_t cache_bytes = uint64_t{1} << 30;
    /// Segment downloads at a time (each holds a worker thread).
    int download_workers = 2;
    /// A manifest older than this is loaded again in the background.
    int64_t manifest_max_age_ms = 5000;
    /// An offset the manifest does not cover makes the asker wait for a
    /// fresh manifest only if the one held is older than this.
    int64_t miss_refresh_ms = 1000;
    /// How long a failed load or download answers its error before it is
    /// tried again.
    int64_t retry_backoff_ms = 1000;
    /// Further attempts when a download's bytes fail a check.
    uint32_t corrupt_retries = 2;
    /// Byte range of one get during a download.
    uint64_t chunk_bytes = uint64_t{8} << 20;
};

/// The read side's errors, by kind, for /metrics: the object store's errc
/// values, then the cache's own disk.
enum class read_error_kind {
    not_found,
    transient,
    rejected,
    corrupt,
    timeout,
    store_io,
    invalid_key,
    config,
    cache_io,
    other,
    count_  // not a kind
};
std::string_view to_string(read_error_kind k);
read_error_kind kind_of(const std::error_code& ec);

/// What the reader did since start; read from any thread (/metrics).
struct remote_read_stats {
    /// Segment reads served from the cache.
    std::atomic<uint64_t> cache_hits{0};
    /// Segment reads that had to download first (one per download started).
    std::atomic<uint64_t> cache_misses{0};
    std::atomic<uint64_t> downloads{0};  ///< downloads that completed and were cached
    std::atomic<uint64_t> bytes_downloaded{0};
    /// Download attempts whose bytes failed a check (size, CRC, batches) and
    /// cached segments found damaged when read: never served.
    std::atomic<uint64_t> corrupt_downloads{0};
    std::atomic<uint64_t> manifest_loads{0};
    std::atomic<uint64_t> cache_bytes{0};
    std::atomic<uint64_t> cache_entries{0};
    std::atomic<uint64_t> cache_evictions{0};
    std::atomic<uint64_t> cache_limit{0};
    /// Failed manifest loads and downloads (after the backend's retries), by kind.
    std::array<std::atomic<uint64_t>, static_cast<size_t>(read_error_kind::count_)> errors{};
};

class remote_reader {
  public:
    /// Runs `fn` on the io thread (from any thread).
    using post_fn = std::function<void(std::function<void()>)>;
    /// Runs `fn` on the io thread after `delay` (io thread).
    using schedule_fn = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
    /// Monotonic milliseconds.
    using clock_fn = std::function<int64_t()>;

    /// Opens the cache (segment_cache::open) and starts the workers.
    static result<std::unique_ptr<remote_reader>> open(remote_reader_options o, post_fn post,
                                                       schedule_fn schedule, clock_fn clock);
    remote_reader(const remote_reader&) = delete;
    remote_reader& operator=(const remote_reader&) = delete;
    ~remote_reader();

    /// The store to read from (null: cloud storage is off; nothing is read).
    /// Loads and downloads under way finish with the store they began with.
    /// `name` names it for DescribeLogDirs ("remote://<name>": the bucket,
    /// or the local backend's directory).
    void set_store(std::shared_ptr<objstore::object_store> store, std::string name = {});
    /// The store `c` describes (nullopt: none), built on a worker thread
    /// (making one touches the disk or initializes libcurl), then set_store.
    /// A build that fails is logged and tried again every 10 s until a later
    /// call replaces the configuration; a later call always wins.
    void configure_store(std::optional<objstore::store_config> c, std::string name);
    bool has_store() const { return _store != nullptr; }
    const std::string& store_name() const { return _store_name; }
    /// cloud_storage_cache_size changed.
    void set_cache_limit(uint64_t bytes);
    /// Runs after each load or download completes (io thread).
    void set_on_progress(std::function<void()> fn) { _on_progress = std::move(fn); }
    /// Runs `fn` once: after the next load or download completes, or after
    /// `max_wait`, whichever comes first (io thread).
    void await(std::chrono::milliseconds max_wait, std::function<void()> fn);

    // Every call below takes the partition's local log start: the remote
    // log matters only below it, and a held manifest that does not reach
    // it (none, or one ending below it) may be stale (the archiver uploads,
    // then local retention removes): it is loaded again, and the asker
    // waits, if it is older than miss_refresh_ms.

    /// The partition's remote bounds.
    remote_answer<remote_bounds> bounds(const remote_partition& rp, kafka_offset local_start);
    /// The bounds as held now, never waiting (a load starts in the
    /// background when there are none or they are old): for answers that
    /// only mention the remote start, such as a Fetch served locally.
    std::optional<remote_bounds> known_bounds(const remote_partition& rp);
    /// The bounds the manifest gives, loading it first when there is none
    /// (pending), whatever the local log holds: for DescribeLogDirs' remote
    /// directory.
    remote_answer<remote_bounds> manifest_bounds(const remote_partition& rp);
    /// Whole batches from the one holding `start` (or the first after it),
    /// from one remote segment, up to max_bytes (the first may exceed it if
    /// `rule` allows); `start` is below `local_start`. Below the remote
    /// start, or with no remote data at all: storage::errc::offset_out_of_range.
    /// At or beyond the remote end (a gap up to the local start, as
    /// compaction leaves): an empty slice with beyond_remote set (the
    /// caller reads on locally from the local start).
    struct remote_slice {
        storage::fetch_slice slice;
        bool beyond_remote = false;
    };
    remote_answer<remote_slice> read(const remote_partition& rp, kafka_offset start,
                                     kafka_offset local_start, uint64_t max_bytes,
                                     storage::first_batch rule);
    /// The first batch (in offset order) of the remote segments below the
    /// local start whose maxTimestamp >= ts, holding offsets at or above
    /// the remote start and `floor` (the DeleteRecords start); nullopt if
    /// none (the caller looks locally). A batch holding that start answers
    /// the start, as the local log does. The manifest's max_timestamp
    /// picks the segment; only that one is read.
    remote_answer<std::optional<storage::timestamp_offset>> offset_for_timestamp(
        const remote_partition& rp, int64_t ts, kafka_offset local_start,
        kafka_offset floor = kafka_offset{0});
    /// ListOffsets' MAX_TIMESTAMP over the remote segments below the local
    /// start (and above the starts, as above): the first batch carrying
    /// their largest timestamp, if that timestamp is at least `at_least`
    /// (the local log's largest); nullopt otherwise.
    remote_answer<std::optional<storage::timestamp_offset>> max_timestamp(
        const remote_partition& rp, kafka_offset local_start, int64_t at_least,
        kafka_offset floor = kafka_offset{0});

    /// Forgets the manifests of partitions `keep` says are no longer read
    /// from here (deleted topics); the cache's entries age out by LRU.
    void forget_unless(const std::function<bool(const remote_partition&)>& keep);

    const remote_read_stats& stats() const { return _stats; }
    const segment_cache& cache() const { return *_cache; }
    /// Loads and downloads running or queued (tests).
    size_t jobs_in_flight() const;

    class worker_pool;

  private:
    struct manifest_state {
        std::shared_ptr<const ::fjord::tiered::partition_manifest> manifest;
        bool missing = false;   ///< the last load found no manifest
        bool loaded = false;    ///< a load has completed (manifest or missing)
        int64_t loaded_ms = 0;  ///< when
        bool loading = false;
        /// The held manifest named a segment the store no longer has: it
        /// is not used again before a load completes.
        bool invalidated = false;
        std::optional<error_info> error;  ///< the last load's failure
        int64_t error_ms = 0;
    };
    struct download_state {
        segment_ref ref;
        bool running = false;  ///< reserved and on a worker
        bool queued = false;   ///< waiting for a worker
        std::optional<error_info> error;
        int64_t error_ms = 0;
    };
    /// What a manifest answer gives the callers: the manifest, or null when
    /// the partition has none.
    using manifest_ptr = std::shared_ptr<const ::fjord::tiered::partition_manifest>;

    remote_reader(remote_reader_options o, post_fn post, schedule_fn schedule, clock_fn clock,
                  std::unique_ptr<segment_cache> cache);

    /// The manifest as held (loading it if there is none, refreshing it in
    /// the background when old).
    remote_answer<manifest_ptr> manifest(const remote_partition& rp);
    /// True (and a load started) if `rp`'s manifest may be too old to say
    /// that an offset is not covered: the caller answers pending.
    bool refresh_for_miss(const remote_partition& rp);
    /// manifest(), loaded again first (pending) if the held one does not
    /// reach `local_start` and may be stale (see above).
    remote_answer<manifest_ptr> manifest_reaching(const remote_partition& rp,
                                                  kafka_offset local_start);
    void start_manifest_load(const remote_partition& rp, manifest_state& ms);
    void on_manifest_loaded(const remote_partition& rp,
                            result<::fjord::tiered::partition_manifest> r);
    /// The cached segment for `ref` (a download started if it is not cached).
    remote_answer<storage::segment*> segment_for(const segment_ref& ref);
    void start_downloads();
    void on_downloaded(const std::string& entry, uint64_t reserved,
                       std::shared_ptr<result<std::unique_ptr<storage::segment>>> r,
                       download_outcome outcome);
    void count_error(const std::error_code& ec);
    void progress();
    void publish_cache_stats();
    /// Posts `fn` to the io thread unless this reader is gone by then.
    void post_back(std::function<void(remote_reader&)> fn);

    remote_reader_options _o;
    post_fn _post;
    schedule_fn _schedule;
    clock_fn _clock;
    std::unique_ptr<segment_cache> _cache;
    std::shared_ptr<objstore::object_store> _store;
    std::string _store_name;
    /// configure_store()'s calls so far: a build for an older one is dropped.
    uint64_t _store_generation = 0;
    void build_store(uint64_t generation, objstore::store_config c, std::string name);
    std::map<remote_partition, manifest_state> _manifests;
    std::map<std::string, download_state> _downloads;  ///< by cache entry name
    std::deque<std::string> _download_queue;           ///< entries waiting for a worker
    int _downloads_running = 0;
    size_t _manifest_jobs = 0;
    std::function<void()> _on_progress;
    struct awaiter {
        uint64_t id;
        std::function<void()> fn;
    };
    std::list<awaiter> _awaiters;
    uint64_t _next_awaiter = 0;
    remote_read_stats _stats;
    /// Set by the destructor: downloads stop at their next chunk.
    std::shared_ptr<std::atomic<bool>> _stopping;
    /// Expires with this reader: posted completions check it first.
    std::shared_ptr<remote_reader*> _self;
    std::unique_ptr<worker_pool> _manifest_pool;
    std::unique_ptr<worker_pool> _download_pool;
};

}  // namespace fjord::broker::tiered_read
