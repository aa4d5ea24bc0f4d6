#pragma once
// File: broker/group/group_manager.h
//
// The groups one coordinator holds, by id, and the rules that apply before
// a request reaches a group (group.h): the session timeout bounds, and what
// happens when the named group does not exist (a JoinGroup without a member
// id creates it; every other request answers as Kafka does). Pure, like
// group.h: the coordinator calls it on the io thread with `now_ms`.
//
// Not here (the coordinator's): whether this broker coordinates the group,
// loading, group id validity, and the committed offsets themselves.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "broker/group/group.h"

namespace fjord::broker {

class group_manager {
  public:
    group_manager(group_options opts, group::id_fn new_id);

    /// JoinGroup: INVALID_SESSION_TIMEOUT outside the configured bounds;
    /// a missing group is created for a member without an id, and is
    /// UNKNOWN_MEMBER_ID for one with an id.
    void join(const std::string& group_id, join_request req, int64_t now_ms, join_callback cb);
    /// A missing group: UNKNOWN_MEMBER_ID (a SyncGroup before any JoinGroup).
    void sync(const std::string& group_id, sync_request req, int64_t now_ms, sync_callback cb);
    /// A missing group: UNKNOWN_MEMBER_ID.
    int16_t heartbeat(const std::string& group_id, const std::string& member_id,
                      int32_t generation_id, int64_t now_ms);
    /// A missing group: UNKNOWN_MEMBER_ID.
    int16_t leave(const std::string& group_id, const std::string& member_id, int64_t now_ms);
    /// Whether an OffsetCommit may store offsets (group::validate_commit). A
    /// missing group is created (Empty) for a commit from outside group
    /// management (generation < 0), and is ILLEGAL_GENERATION otherwise.
    int16_t validate_commit(const std::string& group_id, const std::string& member_id,
                            int32_t generation_id, int64_t now_ms);

    /// Applies every deadline at or before now_ms, in every group.
    void tick(int64_t now_ms);

    group* find(const std::string& group_id);
    const group* find(const std::string& group_id) const;
    /// The group, created Empty if missing (a group known from its offsets).
    group& ensure(const std::string& group_id);
    const std::map<std::string, std::unique_ptr<group>>& groups() const { return _groups; }
    /// Gives up every group for which `which(id)` holds (group::unload with
    /// `error`) and forgets it.
    void unload_if(const std::function<bool(const std::string&)>& which, int16_t error);
    /// Forgets idle groups (group::idle) for which `which(id)` holds.
    void forget_idle_if(const std::function<bool(const std::string&)>& which);

    const group_options& options() const { return _opts; }

  private:
    group_options _opts;
    group::id_fn _new_id;
    std::map<std::string, std::unique_ptr<group>> _groups;
};

}  // namespace fjord::broker
