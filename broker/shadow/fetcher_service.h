#pragma once
// File: broker/shadow/fetcher_service.h
//
// Replication on a shadow cluster's broker (docs/shadow-links.md,
// rpk-reference §10): for every shadow topic whose state replicates
// (cluster::shadow::replicates) and every partition of it this broker
// leads, copy the source's record batches, byte for byte at the source's
// offsets, into the shadow partition (partition::append_copy). One fetch
// thread per link with work here, talking the Kafka protocol to the source
// through blocking connections (common/kafka/client/wire_client.h): one
// per source broker, plus one to a bootstrap server for Metadata.
//
// A link's thread, each round (fetch_rules.h has the decisions):
//   Metadata on the source (when stale: metadata_max_age_ms, a leader
//   change, an error), checking source_cluster_id when set; partitions
//   grouped by their source leader;
//   each partition's cursor is its shadow log's end, read on the io thread
//   (never a stored cursor: a crash or restart resumes exactly there);
//   an empty shadow partition first asks ListOffsets at the topic's
//   start_at and moves its start there (partition::move_empty_start);
//   Fetch (READ_UNCOMMITTED, so aborted data and control batches copy as
//   they are; the highest version in [4, 12] both sides speak, by topic
//   name) per leader; each partition's batches are appended on the io
//   thread;
//   OFFSET_OUT_OF_RANGE: ListOffsets earliest and latest, and on from the
//   source's start (a gap) unless the shadow is beyond the source (FAULTED);
//   leader or topic errors: Metadata again after retry_backoff_ms;
//   an unreachable or refusing source: LINK_UNAVAILABLE with the reason,
//   retried with a backoff growing to 10 s.
//
// A source partition that is no longer the log the shadow copied is FAULTED
// for good (never fetched again until the task changes: another topic uuid,
// source topic id or TopicShadow.state_revision), so two histories are
// never spliced: a source topic id (Metadata v10+) other than
// TopicShadow.source_topic_id; a DivergingEpoch answer to Fetch v12's
// LastFetchedEpoch (the shadow's last batch's epoch: an unclean election
// on the source); the shadow beyond the source after OFFSET_OUT_OF_RANGE;
// a batch with impossible offsets (fetch_rules.h: plan_copy).
//
// The failover fence: an append runs on the io thread and only if, at that
// moment, the metadata cache still has the topic (same uuid) as a shadow of
// this link in a replicating state, the link active, and this broker its
// leader. Once the broker has applied FAILING_OVER, no fetched batch lands.
//
// Threads: reconcile() and tick() on the io thread (with the cache and the
// partitions they read); one thread per link; report() and the metrics on
// any thread (the status sits under a mutex). The link threads reach the
// io thread only through `post_to_io` and wait for the answer (bounded, and
// given up at stop()).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "fjord/controller/v1/controller_service.pb.h"

namespace fjord::metrics {
class registry;
}

namespace fjord::broker {
class metadata_cache;
class partition_manager;
}  // namespace fjord::broker

namespace fjord::broker::shadow {

namespace v1 = fjord::controller::v1;

struct fetcher_options {
    int32_t node_id = 0;
    /// Wall-clock ms (status times).
    std::function<int64_t()> now;
    /// Runs `fn` on the io thread.
    std::function<void(std::function<void()>)> post_to_io;
    /// The longest a link thread waits for the io thread (an append, a
    /// probe) before it gives up the round and probes again.
    int64_t io_timeout_ms = 10000;
    /// The longest backoff after failures (LINK_UNAVAILABLE).
    int64_t max_backoff_ms = 10000;
};

class fetcher_service {
  public:
    explicit fetcher_service(fetcher_options o);
    ~fetcher_service();
    fetcher_service(const fetcher_service&) = delete;
    fetcher_service& operator=(const fetcher_service&) = delete;

    /// io thread, after each applied revision: which links run here and
    /// which partitions each copies; links without work stop their thread.
    /// `md` and `pm` outlive the service (until stop()).
    void reconcile(const metadata_cache& md, partition_manager& pm);
    /// io thread, from housekeeping: the shadow high watermarks the status
    /// reports.
    void tick();
    /// Any thread: this broker's shadow partitions and tasks, the whole set
    /// (HeartbeatRequest.shadow_partitions / shadow_tasks).
    void report(v1::HeartbeatRequest& req) const;
    /// Registers the fjord_shadow_link_* series; the returned function
    /// brings them up to date and must run before each render (any thread).
    std::function<void()> add_metrics(metrics::registry& reg);
    /// Joins the link threads (each after its current call: bounded by the
    /// source client's timeout). Idempotent.
    void stop();

    struct impl;

  private:
    std::shared_ptr<impl> _impl;
};

}  // namespace fjord::broker::shadow
