#pragma once
// File: broker/shadow/group_offset_sync.h
//
// A shadow link's Consumer Group Shadowing task on one shadow-cluster broker
// (rpk-reference §10.2, §10.4; docs/shadow-links.md): the committed offsets
// of the source's groups, copied into this cluster's __consumer_offsets, so
// that consumers moved here after a failover resume where they were.
// May touch: the metadata cache and partition manager (read, io thread),
// the group coordinator (its store_admin_offsets entry point, io thread),
// the source cluster (group_offset_source.h, the worker thread). Nothing
// else: links, the controller's status and the heartbeat come through
// group_sync_env's callbacks, which the composition root fills.
//
// Every effective_interval_ms(consumer_offset_sync_options.interval_ms),
// for each link that is ACTIVE and whose sync is not paused:
//
//   source: ListGroups on every broker ─▶ groups_to_sync: group_filters
//           (§10.3), and only the groups this broker coordinates
//           (abs(hashCode(G)) % N of __consumer_offsets led here)
//   source: FindCoordinator + OffsetFetch(G) ─▶ plan_group: offsets of the
//           link's ACTIVE shadow topics only, each clamped to the shadow
//           partition's high watermark
//   here:   changed_writes ─▶ group_coordinator::store_admin_offsets
//           (generation -1, no member: durable, then OffsetFetch answers it)
//
// Clamping: an offset above the shadow's high watermark would make a
// consumer skip records that have not arrived yet; clamped, it re-reads
// them at worst. The high watermark is this broker's own when it leads the
// partition, else the one its leader last reported to the controller
// (GetShadowLinkStatus: ShadowPartitionStatus.shadow_hwm), which lags and
// so is lower: conservative. A partition with no known high watermark is
// not synced in that round.
//
// Groups with members here are never written (store_admin_offsets refuses
// them): their offsets are their consumers'. They are named in the task's
// status reason. The leader epoch written is -1 (unknown): the source's
// epochs mean nothing to this cluster's leaders, and a consumer validating
// a source epoch here could truncate wrongly.
//
// The task's status per link ("Consumer Group Shadowing": ACTIVE, PAUSED,
// LINK_UNAVAILABLE, FAULTED, with a reason) goes to group_sync_env::publish
// after every pass, the whole set each time, for the heartbeat report. A
// failed pass (the source unreachable, a refusal) is tried again at the
// next interval, over a new connection; a new link, a changed
// client_options and a resumed sync run at once. A broker that leads no
// partition of __consumer_offsets does not connect at all.
//
// Threads: a worker of its own runs the passes (the source calls block);
// what reads or writes the broker's state is posted to the io thread and
// waited for. stop() ends the worker; what was posted and runs later does
// nothing.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "broker/group/offset_store.h"
#include "common/result.h"
#include "fjord/controller/v1/controller_service.pb.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::broker {
class metadata_cache;
class partition_manager;
class group_coordinator;
}  // namespace fjord::broker

namespace fjord::broker::shadow {

namespace v1 = fjord::controller::v1;

/// The task's name in status reports (rpk's).
inline constexpr std::string_view group_sync_task_name = "Consumer Group Shadowing";

using topic_partition = std::pair<std::string, int32_t>;

/// One committed offset as the source's OffsetFetch answers it.
struct source_offset {
    int64_t offset = -1;
    std::string metadata;
    bool operator==(const source_offset&) const = default;
};
using source_offsets = std::map<topic_partition, source_offset>;

// ------------------------------------------------------------------ pure rules

/// Why the task does not run for `l`, or nullopt when it runs: the link not
/// ACTIVE ("the link is PAUSED"), or consumer_offset_sync_options.paused.
std::optional<std::string> paused_reason(const v1::ShadowLink& l);

/// A shadow topic whose offsets are synced.
struct synced_topic {
    std::string name;  ///< on this cluster
    std::string uuid;  ///< of this cluster's topic (the offsets follow it)
    int32_t partitions = 0;
};
/// The link's shadow topics in state ACTIVE (Topic.shadow.link is the
/// link's name, and its link_uuid the link's uuid when both are set), by
/// their source topic's name (the names OffsetFetch answers with).
std::map<std::string, synced_topic> synced_topics(const v1::ShadowLink& l,
                                                  const std::map<std::string, v1::Topic>& topics);

/// This broker's view of __consumer_offsets: its partition count (0: no
/// such topic) and the partitions led here.
struct offsets_topic_view {
    int32_t partitions = 0;
    std::set<int32_t> led_here;
    bool operator==(const offsets_topic_view&) const = default;
};
offsets_topic_view offsets_view(const std::map<std::string, v1::Topic>& topics, int32_t node_id);
/// Whether this broker coordinates `group` (its partition is led here).
bool coordinated_here(const offsets_topic_view& v, std::string_view group);

/// The groups of `listed` (every source broker's ListGroups; duplicates
/// allowed) that pass the link's group_filters (§10.3) and that this
/// broker coordinates; ascending, unique.
std::vector<std::string> groups_to_sync(const v1::ShadowLink& l,
                                        const std::vector<std::string>& listed,
                                        const offsets_topic_view& v);

/// Known high watermarks of shadow partitions, by shadow topic.
using hwm_map = std::map<topic_partition, int64_t>;
/// Those the controller's status reports (negative values are unknown and
/// left out).
hwm_map hwms_from_status(const v1::GetShadowLinkStatusResponse& s);

/// One offset to write into a group here.
struct offset_write {
    std::string topic;  ///< the shadow topic
    int32_t partition = 0;
    int64_t offset = 0;
    std::string metadata;
    bool clamped = false;  ///< the source's offset was above the high watermark
    bool operator==(const offset_write&) const = default;
};

struct group_plan {
    std::string group;
    std::vector<offset_write> writes;  ///< ascending by topic, partition
    /// Offsets of synced topics left out because the partition's high
    /// watermark is unknown.
    size_t unknown_hwm = 0;
};

/// What group `group` should hold here, from its offsets on the source:
/// only partitions of `topics` that exist here (partition < partitions);
/// an offset < 0 (nothing committed) is left out; each offset becomes
/// min(offset, hwm).
group_plan plan_group(std::string group, const source_offsets& src,
                      const std::map<std::string, synced_topic>& topics, const hwm_map& hwms);

/// The writes of `wanted` that change what the group holds: `current` is
/// the group's committed offset of a partition now (null: none).
std::vector<offset_write> changed_writes(
    const std::vector<offset_write>& wanted,
    const std::function<const committed_offset*(const std::string&, int32_t)>& current);

/// The task's states (rpk's TaskState, ShadowTaskStatus.state).
enum class task_state { active, paused, link_unavailable, faulted };
std::string_view to_string(task_state s);

/// The state a failure to reach or read the source puts the task in:
/// FAULTED for what retrying cannot fix without a change on either side
/// (permission_denied: SASL or authorization refused; not_supported: an API
/// the source lacks; invalid_argument: client options that cannot work, the
/// source_cluster_id mismatch), LINK_UNAVAILABLE for the rest (connect,
/// timeouts, coordinators moving). The task keeps retrying either way.
task_state state_for(const error_info& e);

v1::ShadowTaskStatus task_status(const std::string& link, int32_t broker_id, task_state s,
                                 std::string reason);

// ------------------------------------------------------------------ the source

/// The source cluster as the task reads it (group_offset_source.h has the
/// Kafka one; tests fake it). Blocking; used by one thread.
class source_cluster {
  public:
    virtual ~source_cluster() = default;
    /// Every group of the source: ListGroups on every broker its Metadata
    /// names. `partial` collects the brokers that did not answer (the
    /// groups they coordinate are missed this round); an error when none
    /// did, or when Metadata itself failed.
    virtual result<std::vector<std::string>> list_groups(std::vector<std::string>& partial) = 0;
    /// The committed offsets of `group` (FindCoordinator, then OffsetFetch
    /// of every partition at the coordinator); partitions answered with an
    /// error are left out.
    virtual result<source_offsets> fetch_offsets(const std::string& group) = 0;
};
using source_factory =
    std::function<result<std::unique_ptr<source_cluster>>(const v1::ShadowLink&)>;

// ------------------------------------------------------------------ the task

struct group_sync_env {
    int32_t node_id = 0;
    /// Runs `fn` on the io thread (the cache's, the coordinator's).
    std::function<void(std::function<void()>)> post;
    /// On the io thread: the shadow links, with their passwords, as the
    /// metadata cache holds them.
    std::function<std::vector<v1::ShadowLink>()> links;
    /// The controller's GetShadowLinkStatus of a link; `done` once, on any
    /// thread. Null: only the high watermarks of partitions led here are
    /// known.
    std::function<void(const std::string& link,
                       std::function<void(result<v1::GetShadowLinkStatusResponse>)> done)>
        link_status;
    /// The task's status of every link, after every pass (worker thread).
    std::function<void(std::vector<v1::ShadowTaskStatus>)> publish;
    /// Opens a link's source (connect_source of group_offset_source.h).
    source_factory connect;
    /// Monotonic milliseconds.
    std::function<int64_t()> now_ms;
    /// Wall-clock ms since the epoch (the commits' timestamps).
    std::function<int64_t()> wall_ms;
    /// How long the worker waits for the io thread or the controller.
    int64_t wait_ms = 10000;
};

class group_offset_sync {
  public:
    group_offset_sync(group_sync_env env, const metadata_cache& md, partition_manager& pm,
                      group_coordinator& coord);
    ~group_offset_sync();
    group_offset_sync(const group_offset_sync&) = delete;
    group_offset_sync& operator=(const group_offset_sync&) = delete;

    /// Starts the worker (passes at least every second, each link's sync at
    /// its interval).
    void start();
    /// Ends the worker (a source call in flight ends at its timeout); what
    /// it posted and runs later does nothing.
    void stop();

    /// One pass on the calling thread: every link due at `now_ms` synced,
    /// the statuses published. The worker's step; tests call it directly.
    void run_once(int64_t now_ms);

  private:
    struct link_run {
        std::string config_key;  ///< uuid + client_options: a change reconnects
        std::unique_ptr<source_cluster> source;
        int64_t next_ms = 0;
        v1::ShadowTaskStatus status;
    };
    /// What a pass reads on the io thread.
    struct view {
        std::vector<v1::ShadowLink> links;
        offsets_topic_view offsets;
        std::map<std::string, std::map<std::string, synced_topic>> topics;  ///< by link
        hwm_map own_hwms;  ///< partitions of synced topics led here
    };
    struct group_outcome {
        std::string group;
        int16_t error = 0;
        size_t written = 0;
        size_t clamped = 0;
    };

    v1::ShadowTaskStatus sync_link(const v1::ShadowLink& l, link_run& run, const view& v);
    std::optional<view> read_view();
    /// Writes the plans on the io thread; a write whose topic is not, at
    /// that moment, the ACTIVE shadow topic of `link` the pass planned for
    /// (`uuids`: shadow topic name -> its uuid) is dropped: a failover or a
    /// recreated topic during the pass never gets the source's offsets over
    /// a consumer's own commit.
    std::vector<group_outcome> write_groups(std::vector<group_plan> plans, std::string link,
                                            std::map<std::string, std::string> uuids);
    /// Calls `start` with a `deliver` to answer through (once, any
    /// thread) and waits for the answer: nullopt when stopped or after
    /// env.wait_ms.
    template <typename T>
    std::optional<T> await(std::function<void(std::function<void(T)>)> start);
    /// await() with `fn` run on the io thread (nothing once stopped).
    template <typename T>
    std::optional<T> on_io(std::function<void(std::function<void(T)>)> fn);
    result<v1::GetShadowLinkStatusResponse> link_status(const std::string& link);
    void worker();

    group_sync_env _env;
    const metadata_cache& _md;
    partition_manager& _pm;
    group_coordinator& _coord;
    std::map<std::string, link_run> _runs;  ///< by link name; the worker's
    std::shared_ptr<std::atomic<bool>> _stopped = std::make_shared<std::atomic<bool>>(false);
    std::mutex _mu;
    std::condition_variable _cv;
    std::thread _thread;
};

}  // namespace fjord::broker::shadow
