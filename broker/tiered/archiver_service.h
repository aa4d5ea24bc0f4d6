#pragma once
// File: broker/tiered/archiver_service.h
//
// The upload side of tiered storage on one broker: the object store built
// from the cluster config, and an archiver (ntp_archiver.h) for each
// partition this broker leads of a tiered topic (topic_settings.h), run on
// a worker thread of its own. Also the remote half of deleting a tiered
// topic (the partition manager's remote reclaimer).
//
// Threads: everything but the object-store calls is the io thread's
// (reconcile, tick, reclaim_remote, and the completions, which the worker
// posts back through `post_to_io`). The worker runs one object-store call
// sequence at a time: each archiver has at most one job queued or running,
// so partitions take turns. Nothing here blocks the io thread on the store.
//
// The store: rebuilt (on the worker) whenever a cloud_storage_* key
// changes; while cloud_storage_enabled is false there is none and no
// archiver. A config that does not build (store_config_from or make_store:
// the error names the key) is logged once per change and uploads wait;
// a store that failed to build for another reason is retried.
//
// Stopping: stop() joins the worker after its current call (bounded by the
// store's request timeout and retries); queued work is dropped and is
// redone from the manifests at the next start.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "broker/tiered/ntp_archiver.h"
#include "common/objstore/object_store.h"
#include "common/result.h"

namespace fjord::metrics {
class registry;
}

namespace fjord::broker {
class metadata_cache;
class partition_manager;
}  // namespace fjord::broker

namespace fjord::broker::archival {

struct service_options {
    int32_t node_id = 0;
    archiver_options archiver;
    /// Wall-clock ms (segment ages, backoff).
    std::function<int64_t()> now;
    /// Builds a store (default: objstore::make_store); tests wrap theirs.
    std::function<result<std::shared_ptr<objstore::object_store>>(const objstore::store_config&)>
        make_store;
    /// Retry delay of a store that failed to build, and first backoff of a
    /// failed remote deletion.
    int64_t retry_ms = 10000;
};

/// What a deleted topic's remote data became (delete_topic_data).
enum class remote_delete_outcome {
    deleted,
    kept_mountable,   ///< a mount manifest names the location: it is an unmounted topic's
    kept_unmounted,   ///< a partition manifest has a final marker
    kept_unreadable,  ///< a partition manifest does not decode: nobody can tell
    kept_foreign,     ///< a partition manifest's owner is not this cluster (mounted elsewhere)
};

/// Deletes the objects of a deleted topic at `location` (every partition's
/// segments, then the manifests), unless the data is an unmounted topic's
/// (a mount manifest, or a final marker in any partition manifest) or a
/// manifest cannot be read. Idempotent: after a failure (a transient error,
/// returned) the next call redoes the checks and deletes what is left.
result<remote_delete_outcome> delete_topic_data(objstore::object_store& store,
                                                const std::string& location,
                                                const std::string& cluster_uuid);

class archiver_service {
  public:
    using post_fn = std::function<void(std::function<void()>)>;

    archiver_service(service_options options, post_fn post_to_io);
    ~archiver_service();
    archiver_service(const archiver_service&) = delete;
    archiver_service& operator=(const archiver_service&) = delete;

    /// io thread, after each applied revision: the store config and which
    /// partitions to archive. `md` and `pm` outlive the service.
    void reconcile(const metadata_cache& md, partition_manager& pm);
    /// io thread, from housekeeping: gives every idle archiver its next job.
    void tick();
    /// io thread: partition_manager::remote_reclaimer. Starts (or checks)
    /// the deletion of a deleted topic's remote data; true once it is done
    /// or the data is to be kept (a live topic uses the location, or
    /// delete_topic_data kept it).
    bool reclaim_remote(const std::string& topic_uuid, const std::string& location);
    /// Joins the worker (see the file comment). Idempotent.
    void stop();

    /// Registers the tiered-storage metrics; the returned function brings
    /// them up to date and must run before each render (any thread).
    std::function<void()> add_metrics(metrics::registry& reg);

    /// Archivers running, and whether a store is built (tests, logs).
    size_t archivers() const;
    bool store_ready() const;
    const archiver_stats& stats() const;

    struct impl;

  private:
    std::shared_ptr<impl> _impl;
};

}  // namespace fjord::broker::archival
