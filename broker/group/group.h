#pragma once
// File: broker/group/group.h
//
// One consumer group's membership state machine: Kafka's classic group
// protocol as Kafka's GroupCoordinator / GroupMetadata implement it (2.x,
// 3.x), without static membership. Pure: no I/O, no threads, no clock (every
// call takes `now_ms`), no randomness (member ids come from the `id_fn`
// given at construction). The coordinator drives it on the io thread.
//
//            join (first member)              all members rejoined, or the
//   Empty ─────────────────────▶ Preparing ── rebalance timeout passed ──▶ Completing
//     ▲                          Rebalance ◀──────────────────────┐        Rebalance
//     │ last member gone            ▲  ▲ join / leave / expiry /  │            │ leader's
//     └─────────────────────────────┘  │ leader rejoins           │            │ SyncGroup
//                                      └──────────── Stable ◀─────┴────────────┘
//   (Dead: the coordinator gave the group up, see unload())
//
// Contract:
// - join() and sync() answer through their callback exactly once: at once
//   (errors, MEMBER_ID_REQUIRED, a follower rejoining unchanged) or when the
//   rebalance completes / the leader's assignment arrives, from inside a
//   later call (join, sync, leave, tick, unload). A second JoinGroup (or
//   SyncGroup) of a member that is still waiting answers the first one with
//   REBALANCE_IN_PROGRESS, so no reply is ever dropped.
// - Callbacks run after the group's state is updated and may not call back
//   into the group.
// - heartbeat(), leave() and validate_commit() answer with a Kafka error code
//   (broker/kafka/errors.h), kafka_errors::none on success.
// - tick(now) applies every deadline that has passed: session expiry of
//   members and of pending members (KIP-394), the initial rebalance delay,
//   and the rebalance timeout.
//
// Timing rules (Kafka's):
// - A member's session deadline is moved to now + session timeout by every
//   JoinGroup, SyncGroup, Heartbeat and OffsetCommit it sends. A member whose
//   JoinGroup or SyncGroup is waiting is never expired, except a new member
//   (not yet through one rebalance), which gets new_member_join_timeout_ms.
// - The first rebalance of an empty group waits initial_rebalance_delay_ms
//   (and again while new members keep arriving, up to the rebalance timeout)
//   so that consumers starting together land in one generation.
// - Later rebalances complete as soon as every member has rejoined (and no
//   KIP-394 pending member is outstanding), or when the largest rebalance
//   timeout of the members passes; members that did not rejoin are removed.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fjord::broker {

enum class group_state { empty, preparing_rebalance, completing_rebalance, stable, dead };

/// Kafka's name of the state ("Empty", "PreparingRebalance", ...), as
/// ListGroups and DescribeGroups report it.
std::string_view to_string(group_state s);

/// The group coordinator's timing settings (broker.yaml `group.*`).
struct group_options {
    /// Session timeouts a member may ask for (Kafka's
    /// group.min.session.timeout.ms / group.max.session.timeout.ms).
    int32_t min_session_timeout_ms = 6000;
    int32_t max_session_timeout_ms = 1800000;
    /// Kafka's group.initial.rebalance.delay.ms.
    int32_t initial_rebalance_delay_ms = 3000;
    /// How long a new member's JoinGroup may wait (Kafka's fixed 5 minutes).
    int32_t new_member_join_timeout_ms = 300000;
};

/// One protocol a member supports (for consumers: an assignor) and its
/// metadata, opaque to the coordinator.
struct group_protocol {
    std::string name;
    std::string metadata;
    bool operator==(const group_protocol&) const = default;
};

struct join_request {
    std::string member_id;  ///< "" for a member without an id yet
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::string protocol_type;
    std::vector<group_protocol> protocols;
    /// JoinGroup v4+ (KIP-394): a new member first gets MEMBER_ID_REQUIRED
    /// with its id and must join again with it.
    bool require_known_member_id = false;
};

struct join_member {
    std::string member_id;
    std::string metadata;  ///< for the generation's protocol
};

struct join_result {
    int16_t error = 0;
    int32_t generation_id = -1;
    std::string member_id;
    std::string leader_id;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    /// Every member and its metadata, for the leader only (it assigns).
    std::vector<join_member> members;
};
using join_callback = std::function<void(join_result)>;

struct sync_request {
    std::string member_id;
    int32_t generation_id = -1;
    /// SyncGroup v5+: checked against the group's when present.
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    /// The leader's assignment: member id → bytes (others send none).
    std::vector<std::pair<std::string, std::string>> assignments;
};

struct sync_result {
    int16_t error = 0;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    std::string assignment;
};
using sync_callback = std::function<void(sync_result)>;

/// A member as the group holds it (DescribeGroups reads these).
struct group_member {
    std::string id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::string protocol_type;
    std::vector<group_protocol> protocols;
    std::string assignment;
    /// When the member expires unless it is heard from (see the file comment).
    int64_t deadline_ms = 0;
    /// Not yet through a completed rebalance.
    bool is_new = true;
    /// Join order, to pick a new leader deterministically.
    uint64_t seq = 0;
    join_callback awaiting_join;  ///< set while its JoinGroup waits
    sync_callback awaiting_sync;  ///< set while its SyncGroup waits

    /// The metadata of `protocol`, "" if the member does not support it.
    const std::string& metadata(const std::string& protocol) const;
};

class group {
  public:
    /// Makes the random part of new member ids ("<client id>-<id>").
    using id_fn = std::function<std::string()>;

    group(std::string id, group_options opts, id_fn new_id);
    group(const group&) = delete;
    group& operator=(const group&) = delete;

    /// JoinGroup, after the coordinator checked the group id and the session
    /// timeout (group_manager does).
    void join(join_request req, int64_t now_ms, join_callback cb);
    /// SyncGroup; see the file comment for when `cb` runs.
    void sync(sync_request req, int64_t now_ms, sync_callback cb);
    int16_t heartbeat(const std::string& member_id, int32_t generation_id, int64_t now_ms);
    /// LeaveGroup of one member (or of a pending member).
    int16_t leave(const std::string& member_id, int64_t now_ms);
    /// Whether an OffsetCommit from (member, generation) may store offsets
    /// now (Kafka's validateOffsetCommit and the state rules that follow it).
    /// generation -1 with member "" is a commit from outside group
    /// management: allowed only while the group is Empty.
    int16_t validate_commit(const std::string& member_id, int32_t generation_id, int64_t now_ms);
    /// Applies every deadline at or before now_ms.
    void tick(int64_t now_ms);
    /// The coordinator gives the group up (it no longer leads the group's
    /// offsets partition): every waiting JoinGroup and SyncGroup is answered
    /// with `error` and the group is Dead.
    void unload(int16_t error);

    const std::string& id() const { return _id; }
    group_state state() const { return _state; }
    int32_t generation() const { return _generation; }
    const std::optional<std::string>& protocol_type() const { return _protocol_type; }
    const std::optional<std::string>& protocol_name() const { return _protocol_name; }
    /// The leader's member id; "" when there is none.
    const std::string& leader() const { return _leader; }
    const std::map<std::string, group_member>& members() const { return _members; }
    /// KIP-394 members that got their id but have not joined with it yet.
    const std::map<std::string, int64_t>& pending_members() const { return _pending; }
    /// Empty, with no member and no pending member: the coordinator may
    /// forget the group (unless it has committed offsets).
    bool idle() const;

  private:
    using callbacks = std::vector<std::function<void()>>;

    bool supports_protocols(const std::string& type,
                            const std::vector<group_protocol>& protocols) const;
    void add_member_and_rebalance(join_request&& req, std::string id, int64_t now_ms,
                                  join_callback cb, callbacks& out);
    void update_member_and_rebalance(group_member& m, join_request&& req, int64_t now_ms,
                                     join_callback cb, callbacks& out);
    void maybe_prepare_rebalance(int64_t now_ms, callbacks& out);
    void prepare_rebalance(int64_t now_ms, callbacks& out);
    void try_complete_join(int64_t now_ms, callbacks& out);
    void complete_join(int64_t now_ms, callbacks& out);
    void remove_member_and_update_group(const std::string& id, int64_t now_ms, callbacks& out);
    void remove_member(const std::string& id);
    /// The answer to a JoinGroup in the current generation.
    join_result current_join_result(const group_member& m) const;
    std::string select_protocol() const;
    int32_t rebalance_timeout() const;
    void touch(group_member& m, int64_t now_ms) const;
    /// Answers every waiting SyncGroup with `error` and clears assignments.
    void reset_assignments(int16_t error, callbacks& out);

    std::string _id;
    group_options _opts;
    id_fn _new_id;
    group_state _state = group_state::empty;
    int32_t _generation = 0;
    std::optional<std::string> _protocol_type;
    std::optional<std::string> _protocol_name;
    std::string _leader;
    std::map<std::string, group_member> _members;
    std::map<std::string, int64_t> _pending;  ///< member id → session deadline
    uint64_t _next_seq = 0;

    // PreparingRebalance: when the join completes at the latest, and the
    // initial delay (from Empty) that postpones it.
    int64_t _join_deadline = 0;
    bool _initial_delay = false;
    int64_t _initial_delay_deadline = 0;
    int64_t _initial_delay_remaining = 0;
    bool _new_member_added = false;
};

}  // namespace fjord::broker
