#pragma once
// File: broker/cluster/partition_manager.h
//
// The reconciler: makes the partition logs on this broker's disk match the
// controller's assignment (metadata_cache), and hands the partitions
// (partition.h: a log with its high watermark rule) to the Kafka handlers. Runs on the broker's io
// thread, like the cache; not thread-safe.
//
// On disk: <data_dir>/topics/<topic uuid>/<partition>/ (broker/storage's
// segment files). Keying directories by the topic's uuid means a topic
// deleted and created again under the same name never sees the old data,
// and a deleted topic's directory is recognisable without its name.
//
// reconcile():
//   - every partition of every topic whose replicas name this broker gets
//     an open log (created if missing), with the topic's configs applied;
//   - a partition no longer assigned here is closed (its data kept until
//     the topic goes: reassignment lands later);
//   - the directory of a topic the cache no longer has was deleted (see
//     below): its logs are closed and the directory is *moved* to the trash,
//     <data_dir>/trash/<topic uuid>.<revision>.<deleted at, unix ms>, where
//     the reclaimer removes it log_delete_delay_ms later (reclaim(), from
//     housekeeping; the time is in the name, so a restart changes nothing);
//   - nothing happens before the cache holds a snapshot.
// Until replication between brokers exists, only the leader's log takes
// writes; a follower's log stays empty (Metadata reports the ISR as the
// leader alone).
//
// Why "missing from the cache" proves a deletion: the cache only holds
// states of the recorded cluster at or after the recorded revision
// (metadata_cache::require, cluster_record), and the record is advanced to
// the applied revision before any topic directory is created or trashed.
// So every directory on disk belongs to a topic created at or before a
// revision the cache has reached, and one the cache lacks was deleted since
// -- by a delta applied in order, or while the broker was away (a resync
// snapshot of the same cluster, not older than what the broker acted on).
//
// Without a cluster_record file (a new data dir, or one written by an
// older broker) there is no such proof: directories of topics the first
// accepted state lacks are moved to <data_dir>/orphans/<uuid> and never
// removed (logged; the operator decides), and then the record is written.
// A manager given no cluster_record at all (tests of other modules) never
// moves a topic directory.
//
// Tiered storage (broker/tiered, topic_settings.h): a tiered topic's logs
// get the local retention (retention.local.target.*, never longer than
// retention.*) and, when opened (or when the topic becomes tiered), a
// retention limit of 0: nothing goes locally until the archiver has read
// what is uploaded and raised it; a topic that stops being tiered has the
// limit removed. A mounted partition (PartitionAssignment.start_offset N)
// whose directory is new starts its log at N. A deleted tiered topic with
// redpanda.remote.delete, whose last state this broker saw had no migration
// that keeps its data (migration_rules.h remote_delete_allowed), has a
// remote-delete intent written into its directory before it goes to the
// trash (<topic dir>/remote_delete: its location); reclaim() then asks the
// remote reclaimer (set_remote_reclaimer) and removes the tombstone only
// once that says the remote data is gone or kept; until then the tombstone's
// local data is removed and the intent alone stays.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/cluster/log_flusher.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition.h"
#include "broker/storage/partition_log.h"

namespace fjord::broker {

struct partition_defaults {
    /// Broker-level flush policy (broker.yaml flush.*) of write-caching
    /// topics: 0 = never. Other topics are fsynced before every acks=all
    /// answer and before their records become readable (log_flusher.h),
    /// so a flush policy has nothing left to do for them.
    int64_t flush_messages = 0;
    int64_t flush_ms = 0;
    /// How long a deleted topic's data stays in the trash before it is
    /// removed (broker.yaml log_delete_delay_ms); 0: at the next reclaim.
    int64_t delete_delay_ms = 60000;
};

class cluster_record;

class partition_manager {
  public:
    /// `record` (may be null: nothing is then ever moved or removed) must
    /// outlive the manager; the manager advances it before it changes the
    /// disk on the cache's word.
    /// `flusher` (not owned; null: an inline one of the manager's own) makes
    /// appends durable; the manager tells it before it closes a log.
    partition_manager(std::string data_dir, int32_t broker_id, partition_defaults d,
                      cluster_record* record = nullptr, log_flusher* flusher = nullptr);
    /// Closes the logs without syncing (see flush_all()).
    ~partition_manager();

    /// See the file comment. Failures (a log that does not open, a record
    /// that cannot be written) are logged and counted; what failed is
    /// retried on the next reconcile. `now_ms` is wall-clock time (it names
    /// tombstones).
    void reconcile(const metadata_cache& md, int64_t now_ms);

    /// Removes the tombstones in the trash whose delay has passed at
    /// `now_ms` (wall clock). Entries the manager did not name are left
    /// alone. Returns how many were removed.
    size_t reclaim(int64_t now_ms);
    /// A tombstone: the path and when it is due for removal.
    struct tombstone {
        std::string path;
        std::string topic_uuid;
        uint64_t revision = 0;
        int64_t deleted_ms = 0;
    };
    /// The trash's tombstones, oldest first (tests, logs).
    std::vector<tombstone> tombstones() const;

    /// Tiered storage: deletes (or decides to keep) a deleted topic's
    /// remote data at `location`. Called by reclaim() for a due tombstone
    /// holding a remote-delete intent; true once the remote data is gone or
    /// must stay (the tombstone is then removed), false while that is not
    /// known yet (asked again at the next reclaim).
    using remote_reclaimer =
        std::function<bool(const std::string& topic_uuid, const std::string& location)>;
    void set_remote_reclaimer(remote_reclaimer r) { _remote_reclaimer = std::move(r); }
    /// The name of the intent file in a topic directory (and its tombstone).
    static constexpr const char* remote_delete_file = "remote_delete";

    /// Group commit for the logs (log_flusher.h); appenders reach it
    /// through partition::sync().
    log_flusher& flusher() { return *_flusher; }
    /// Flushes every open log now, on this thread (a clean shutdown, after
    /// the flusher has stopped): records acknowledged with acks=1 or under
    /// write caching survive a power loss that follows a clean stop.
    void flush_all(int64_t now_ms);

    /// The served partition (its log open) of (topic, partition), or
    /// nullptr. Valid until the next reconcile().
    broker::partition* find(const std::string& topic, int32_t partition);
    size_t open_logs() const { return _logs.size(); }
    /// Logs that failed to open at the last reconcile.
    size_t failed() const { return _failed; }

    /// The log settings for `topic`: its own configs, else the cluster's
    /// defaults, else Kafka's. Errors name the config key.
    static result<storage::log_config> config_for(const v1::Topic& topic, const metadata_cache& md,
                                                  const partition_defaults& d);
    /// The settings for a new log of `topic` when config_for() fails: the
    /// cluster's defaults (else Kafka's), but compact only if the topic's
    /// raw cleanup.policy (or the cluster's default one) names compact. An
    /// open log keeps its settings instead (reconcile).
    static storage::log_config fallback_config_for(const v1::Topic& topic, const metadata_cache& md,
                                                   const partition_defaults& d);

    /// Applies time-based duties: reclaim() of the trash, and flush.ms,
    /// segment.ms (an idle partition's roll) and retention to every log,
    /// then a bounded share of compaction (compaction_budget_bytes,
    /// round-robin over the compacted logs).
    void housekeeping(int64_t now_ms);

    /// Cleaner reads one housekeeping() call may do, over all logs.
    static constexpr uint64_t compaction_budget_bytes = uint64_t{8} << 20;
    /// What compaction did since start; read from any thread (/metrics).
    struct compaction_totals {
        std::atomic<uint64_t> passes{0};           ///< passes finished
        std::atomic<uint64_t> bytes_removed{0};    ///< segment bytes compaction freed
        std::atomic<uint64_t> records_removed{0};  ///< records it removed
    };
    const compaction_totals& compaction() const { return _compaction; }

  private:
    struct key {
        std::string topic;
        int32_t partition = 0;
        auto operator<=>(const key&) const = default;
    };
    struct open_log {
        std::string uuid;
        std::unique_ptr<broker::partition> part;
    };

    /// Advances the record to the cache's applied state before the disk
    /// changes on its word; false (logged) if it could not be written.
    bool record_applied(const metadata_cache& md);
    /// Moves away every topic directory the cache lacks (see the file
    /// comment); `names` maps the uuids of logs that were open to their
    /// topic's name, for the log lines.
    void retire_deleted(const metadata_cache& md, const std::set<std::string>& live_uuids,
                        const std::map<std::string, std::string>& names, int64_t now_ms);
    /// The first state of a data dir without a record: directories it lacks
    /// go to orphans/ (kept), then the record is written.
    void adopt(const metadata_cache& md, int64_t now_ms);
    /// Writes (or removes) the remote-delete intent of the topic `uuid`
    /// into its directory, before it goes to the trash.
    void write_remote_intent(const std::string& topic_dir, const std::string& uuid);
    /// The location a tombstone's intent names; "" for a damaged one (the
    /// remote data is kept), nullopt for none.
    std::optional<std::string> remote_intent_of(const std::string& tomb);
    /// The uuids of the topic directories under <data_dir>/topics.
    std::vector<std::string> topic_dirs() const;

    /// Closes the log of `it` (tells the flusher first).
    std::map<key, open_log>::iterator close(std::map<key, open_log>::iterator it);

    std::string _data_dir;
    int32_t _broker_id;
    std::unique_ptr<log_flusher> _own_flusher;
    log_flusher* _flusher;
    partition_defaults _defaults;
    cluster_record* _record;
    std::map<key, open_log> _logs;
    size_t _failed = 0;
    /// Tombstones whose removal failed (logged once each), and those whose
    /// remote data is still pending (logged once each).
    std::set<std::string> _unremovable;
    std::set<std::string> _remote_pending;
    /// Tiered storage: per topic uuid of the cache's last state, the
    /// location whose data a deletion would delete ("" for none).
    std::map<std::string, std::string> _remote_intent;
    remote_reclaimer _remote_reclaimer;
    compaction_totals _compaction;
    /// The log compaction last worked on; the next housekeeping() goes on
    /// with it if its pass is not over, else starts after it.
    key _compacted_last;
};

}  // namespace fjord::broker
