#pragma once
// File: broker/group/coordinator.h
//
// The group coordinator of one broker: which groups this broker coordinates,
// their membership (group_manager) and their committed offsets
// (offset_store), kept durable in the internal topic `__consumer_offsets`.
// Runs on the listener's io thread, like the metadata cache and the
// partition manager it reads; nothing here locks.
//
//   FindCoordinator(G) ──▶ locate(G): partition p = abs(hashCode(G)) % N of
//                          __consumer_offsets (created through the
//                          controller on first use), answered with p's leader
//   group requests(G)  ──▶ check(G): NONE only if this broker leads p and has
//                          replayed p's log; else NOT_COORDINATOR /
//                          COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE
//   OffsetCommit       ──▶ store_offsets(): one record batch appended to p's
//                          log and fsynced (the flusher's group commit, as
//                          Produce with acks=all), then the in-memory offsets,
//                          then the answer
//   metadata changes   ──▶ refresh(): a partition newly led here is replayed
//                          (offsets_loader, a bounded step at a time); one no
//                          longer led here is given up (its groups' waiting
//                          requests get NOT_COORDINATOR); offsets of a topic
//                          deleted (or deleted and created again: a new uuid)
//                          are tombstoned (see "Topic identity")
//   every tick_interval ─▶ deadlines of every group (session expiry, joins)
//
// N is the partition count of the existing topic (Kafka forbids changing it;
// if it changes anyway, everything is reloaded under the new count);
// `offsets_topic_partitions` only sizes the topic this broker creates. The
// topic is created with replication factor -1 (the cluster default) and
// retention.ms = retention.bytes = -1: committed offsets never expire.
//
// Group membership is not persisted: after a restart or a move, members
// rejoin (their heartbeats answer UNKNOWN_MEMBER_ID); groups that have
// committed offsets come back Empty.
//
// Topic identity: committed offsets follow their topic, not its name, as in
// Kafka. Every commit records the topic's id (offset_store.h, value v4). An
// offset is current when its topic exists and the id is the topic's (or
// unknown: a v3 record of an older broker, taken to be the live topic's);
// OffsetFetch answers only current offsets (-1 otherwise, so the consumer's
// auto.offset.reset applies). Offsets that are not current are dropped from
// memory and tombstoned in the log (tombstone_offsets, so that a replay
// agrees):
//   - when a partition's replay ends: every offset of its groups is checked
//     (the broker was down, or the partition led elsewhere, while a topic
//     was deleted or recreated);
//   - when the metadata shows a topic gone or with another uuid than the
//     last time refresh() looked: the offsets of that name in the loaded
//     partitions whose id is not the live one (unknown ids included: they
//     were the previous topic's).
// A tombstone append that fails is retried on the next tick (unless the key
// has been committed again meanwhile); a partition given up drops its
// retries (its next coordinator checks every offset at load).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/group/group_manager.h"
#include "broker/group/offset_store.h"
#include "common/controller_client/client.h"

namespace fjord::broker {

/// Java's String.hashCode() of `utf8` read as UTF-16 (what Kafka hashes a
/// group id with). A malformed UTF-8 sequence counts as U+FFFD per byte.
int32_t java_string_hashcode(std::string_view utf8);

/// The `__consumer_offsets` partition of a group: Kafka's
/// Utils.abs(hashCode) % partitions, where Utils.abs(x) = x & 0x7fffffff.
/// `partitions` > 0.
int32_t offsets_partition_for(std::string_view group_id, int32_t partitions);

struct coordinator_options {
    int32_t node_id = 0;
    /// Partitions of `__consumer_offsets` when this broker creates it.
    int32_t offsets_topic_partitions = 16;
    group_options groups;
    /// How often group deadlines are checked.
    std::chrono::milliseconds tick_interval{100};
    /// Bytes of log replayed per step while loading a partition.
    uint64_t load_step_bytes = 4u << 20;
};

class group_coordinator {
  public:
    /// Runs `fn` on the io thread after `delay`.
    using schedule_fn = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
    /// Wall-clock milliseconds since the epoch.
    using clock_fn = std::function<int64_t()>;

    /// `controller` may be null (no topic creation: tests).
    group_coordinator(coordinator_options opts, metadata_cache& md, partition_manager& pm,
                      controller_client::client* controller, schedule_fn schedule, clock_fn now,
                      group::id_fn new_id);
    group_coordinator(const group_coordinator&) = delete;
    group_coordinator& operator=(const group_coordinator&) = delete;

    /// Starts the periodic tick (call once, when the io thread runs timers;
    /// from any thread: it only schedules). Until the first tick, a replay
    /// runs to its end within the request that starts it.
    void start();
    /// Gives every group up (waiting requests answered NOT_COORDINATOR) and
    /// stops ticking; nothing is scheduled afterwards.
    void stop();

    /// Where group G's coordinator is (FindCoordinator).
    struct location {
        int16_t error = 0;
        std::string message;
        int32_t node_id = -1;
        std::string host;
        int32_t port = -1;
    };
    location locate(const std::string& group_id);

    /// kafka_errors::none if this broker coordinates `group_id` now.
    int16_t check(const std::string& group_id);
    /// Whether some partition led here is still being replayed.
    bool loading() const;

    group_manager& groups() { return _groups; }
    const offset_store& offsets() const { return _offsets; }

    /// One commit of an OffsetCommit request, already validated.
    struct commit {
        std::string topic;
        int32_t partition = 0;
        committed_offset value;
    };
    /// Appends `commits` (at least one) of `group_id` to its offsets
    /// partition as one batch and makes it durable; then they are the
    /// group's offsets and `done` (io thread; at once when nothing was
    /// appended) gets the Kafka error code for all of them (Kafka's mapping
    /// of append errors for commits: retriable ones send the client to find
    /// the coordinator again). A failed sync leaves the in-memory offsets as
    /// they were: the client retries, and a commit is idempotent.
    void store_offsets(const std::string& group_id, const std::vector<commit>& commits,
                       std::function<void(int16_t)> done);

    /// Offsets the broker writes for a group on an administrator's behalf
    /// (a shadow link's Consumer Group Shadowing, broker/shadow/): a commit
    /// from outside group management (generation -1, no member), stored as
    /// store_offsets stores it (durable first; then OffsetFetch answers
    /// them, and a replay reads them back). Only while the group has no
    /// member and no pending member: a live group's offsets are its
    /// members' to commit, so NON_EMPTY_GROUP and nothing is written. A
    /// group not known yet is created Empty (as any commit creates it).
    /// Otherwise `done` as store_offsets' (check()'s errors included); an
    /// empty `commits` is answered NONE at once.
    void store_admin_offsets(const std::string& group_id, const std::vector<commit>& commits,
                             std::function<void(int16_t)> done);

    /// Whether `c`, committed on `topic`, belongs to the topic of that name
    /// that exists now (see "Topic identity").
    bool is_current(const std::string& topic, const committed_offset& c) const;
    /// The offset OffsetFetch answers with: null when none is committed or
    /// the committed one is not current.
    const committed_offset* fetch_offset(const std::string& group_id, const std::string& topic,
                                         int32_t partition) const;
    /// Appends a tombstone (null value) for every key in `keys` (at least
    /// one; all of groups of `partition`) to `partition` of
    /// __consumer_offsets, in batches, without touching the offsets in
    /// memory. The Kafka error code of the first failed append, as for
    /// store_offsets.
    int16_t tombstone_offsets(int32_t partition, const std::vector<offset_key>& keys);

    /// Follows the metadata cache: loads partitions newly led here, gives
    /// up the others. Cheap when nothing changed; called before every
    /// request and on every tick.
    void refresh();

    int64_t now() const { return _now(); }

  private:
    struct partition_state {
        int64_t leader_epoch = 0;
        uint64_t load_id = 0;  ///< tells a stale load continuation apart
        std::optional<offsets_loader> loader;
        bool loaded = false;
        bool failed = false;
        int64_t retry_at_ms = 0;
        int64_t load_started_ms = 0;
        /// Tombstones not appended yet (an append failed): retried on tick.
        std::vector<offset_key> pending_tombstones;
    };

    const v1::PartitionAssignment* assignment(int32_t partition) const;
    int32_t partition_for(const std::string& group_id) const;
    void start_loading(int32_t partition, int64_t leader_epoch);
    void load_step(int32_t partition, uint64_t load_id);
    void unload_partition(int32_t partition, const char* why);
    void unload_all(const char* why);
    void create_offsets_topic();
    void on_tick();
    /// Compares the metadata's topics with _topic_ids: offsets of names
    /// deleted or recreated since are dropped (loaded partitions only).
    void follow_topics();
    /// Drops the offsets of `partition`'s groups that are not current (at
    /// the end of its replay).
    void drop_stale_offsets(int32_t partition);
    /// Erases `keys` from memory and tombstones them, by partition.
    void drop_offsets(std::map<int32_t, std::vector<offset_key>> keys, const char* why);
    /// Appends the partition's pending tombstones; keeps them on failure.
    void flush_tombstones(int32_t partition);

    coordinator_options _opts;
    metadata_cache& _md;
    partition_manager& _pm;
    controller_client::client* _controller;
    schedule_fn _schedule;
    clock_fn _now;
    group_manager _groups;
    offset_store _offsets;

    std::map<int32_t, partition_state> _partitions;  ///< offsets partitions led here
    std::string _topic_uuid;                         ///< of __consumer_offsets as loaded
    int32_t _partition_count = 0;
    /// Every topic's id as follow_topics() last saw them.
    std::map<std::string, kafka::uuid> _topic_ids;
    uint64_t _seen_generation = 0;
    bool _seen_any = false;
    uint64_t _next_load_id = 1;
    bool _creating = false;
    int64_t _next_create_ms = 0;
    bool _start_requested = false;  ///< the caller of start()'s
    bool _started = false;          ///< the io thread's: ticking
    bool _stopped = false;
};

}  // namespace fjord::broker
