#pragma once
// File: broker/tiered/ntp_archiver.h
//
// The archiver of one partition this broker leads, of a tiered topic
// (topic_settings.h): uploads its sealed segments to the object store and
// keeps the partition manifest (common/tiered/manifest.h) that names them.
// A state machine owned by the io thread; the object-store work it asks for
// runs elsewhere (archiver_service: a worker thread), one job at a time:
//
//   next(log, ctx, now) ──▶ a job (or nothing due)       io thread
//   job(store)          ──▶ a completion                  worker thread
//   completion(a, now)  ──▶ state updated                 io thread
//
// Tests run the three steps inline, with a fault store in between.
//
// Rules (README.md says why each holds):
//   - First the manifest is read (missing: an empty one is written, its
//     start the local log start); objects below its start that a crash left
//     behind are deleted. Until it is read the local log may lose nothing
//     to retention (retention limit 0); from then on only what is below the
//     manifest's next offset (set_retention_limit).
//   - A sealed segment is uploaded (object first), then the manifest naming
//     it is written: a manifest never names a missing object. A failure, or
//     a lost reply, anywhere in between just repeats the upload of the same
//     object under the same name (idempotent).
//   - The active segment is rolled once it holds data older than the upload
//     interval, and for a final upload.
//   - Remote retention (the topic's retention.ms/bytes over the whole log,
//     and DeleteRecords) writes the manifest with the new start first, then
//     deletes the objects below it.
//   - A final upload (an unmount executing) rolls, uploads everything and
//     writes the manifest with final = {migration, next offset}; a manifest
//     whose final marker is not owed any more (cancelled, or a mounted
//     topic's) loses it at the next write, done at once.
//   - Nothing is written while ctx.may_write is false (a mount in progress),
//     nor over a manifest that does not decode, nor when the remote log is
//     ahead of the local one (logged once: never overwrite data).
//   - Failures back off (doubling up to max_backoff_ms) and are logged once
//     when the archiver starts failing and once when it recovers.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/storage/partition_log.h"
#include "broker/tiered/topic_settings.h"
#include "common/objstore/object_store.h"
#include "common/tiered/manifest.h"

namespace fjord::broker::archival {

/// Counters of all archivers of a broker; read from any thread (/metrics).
struct archiver_stats {
    std::atomic<uint64_t> segments_uploaded{0};
    std::atomic<uint64_t> bytes_uploaded{0};
    std::atomic<uint64_t> manifest_writes{0};
    std::atomic<uint64_t> objects_deleted{0};
    std::atomic<uint64_t> failures{0};  ///< failed jobs (errors by kind: store_stats)
};

struct archiver_options {
    int64_t initial_backoff_ms = 1000;
    int64_t max_backoff_ms = 30000;
};

/// What the archiver needs to know of its topic at each step.
struct archiver_context {
    tiered_settings settings;
    /// migration_rules.h archiver_may_write.
    bool may_write = true;
    /// migration_rules.h final_upload_migration.
    std::optional<int64_t> final_migration;
    /// The partition's leader epoch (segment names when batches carry none).
    int64_t leader_epoch = 0;
    /// This cluster's uuid: every manifest written names it as the owner.
    std::string cluster_uuid;
};

class ntp_archiver;
struct upload_plan;
/// Applied on the io thread with the time it runs at.
using completion = std::function<void(ntp_archiver&, int64_t now_ms)>;
/// Runs on the worker thread.
using job = std::function<completion(objstore::object_store&)>;

/// Upload lag: what the partition holds that the remote log does not.
struct upload_lag {
    uint64_t bytes = 0;
    int64_t offsets = 0;
};

class ntp_archiver {
  public:
    /// `name` ("topic-partition") for the logs; `stats` outlives it.
    ntp_archiver(std::string name, std::string location, int32_t partition, archiver_stats& stats,
                 archiver_options options = {});

    /// The next job due at `now_ms`, or nothing (idle, backing off, or a
    /// job in flight). May roll `log`'s active segment and sets its
    /// retention limit. A returned job must be run and its completion
    /// applied (or the archiver dropped).
    std::optional<job> next(storage::partition_log& log, const archiver_context& ctx,
                            int64_t now_ms);

    bool in_flight() const { return _in_flight; }
    bool loaded() const { return _loaded; }
    bool failing() const { return _failures > 0; }
    /// The manifest as last read or written (nullopt: none in the store, or
    /// not read yet).
    const std::optional<tiered::partition_manifest>& manifest() const { return _manifest; }
    upload_lag lag(const storage::partition_log& log) const;
    const std::string& location() const { return _location; }

  private:
    job load_job();
    job put_manifest_job(tiered::partition_manifest m, std::string why,
                         std::vector<std::string> then_delete = {});
    job upload_job(upload_plan plan);
    job delete_job(std::vector<std::string> keys);
    /// Remote retention's new manifest and the objects it lets go, if any.
    std::optional<std::pair<tiered::partition_manifest, std::vector<std::string>>> retention(
        const storage::partition_log& log, const archiver_context& ctx, int64_t now_ms) const;

    void succeeded();
    void failed(const error_info& e, const char* what, int64_t now_ms);
    tiered::partition_manifest next_manifest() const;
    /// The cluster every manifest written names as its owner (the context's).
    std::string _owner;

    std::string _name;
    std::string _location;
    int32_t _partition;
    archiver_stats& _stats;
    archiver_options _options;
    bool _in_flight = false;
    bool _loaded = false;
    std::optional<tiered::partition_manifest> _manifest;
    /// Objects a retention pass let go whose deletion failed: retried.
    std::vector<std::string> _garbage;
    int _failures = 0;
    int64_t _retry_at = 0;
    /// Logged once: the remote log is ahead of the local one; a roll failed.
    bool _ahead_logged = false;
    bool _roll_error_logged = false;
};

}  // namespace fjord::broker::archival
