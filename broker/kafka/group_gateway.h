#pragma once
// File: broker/kafka/group_gateway.h
//
// What the consumer-group handlers share (handlers/find_coordinator.cc,
// join_group.cc, sync_group.cc, heartbeat.cc, leave_group.cc,
// offset_commit.cc, offset_fetch.cc, list_groups.cc, describe_groups.cc):
// the group coordinator (broker/group/coordinator.h), which it owns, and
// the replies JoinGroup and SyncGroup hold until their group answers.
// io thread only.
//
// Validation common to the group APIs, answered with Kafka's errors and
// never by closing the connection: an empty group id is INVALID_GROUP_ID
// for JoinGroup, SyncGroup, Heartbeat and LeaveGroup (Kafka allows "" in
// OffsetCommit, OffsetFetch and DescribeGroups); a group id longer than
// 32767 bytes is INVALID_GROUP_ID everywhere; a session timeout outside
// group.min/max_session_timeout_ms INVALID_SESSION_TIMEOUT.
//
// A held reply whose connection closes first is dropped (on_close), and
// the member stays until its session times out, as in Kafka.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "broker/group/coordinator.h"
#include "broker/kafka/request_context.h"

namespace fjord::broker {

class group_gateway {
  public:
    group_gateway(coordinator_options opts, metadata_cache& md, partition_manager& pm,
                  controller_client::client* controller, group_coordinator::schedule_fn schedule,
                  group_coordinator::clock_fn now, group::id_fn new_id);

    /// Starts the coordinator's timers; call once the listener runs.
    void start() { _coord.start(); }
    /// After the listener stopped: held replies are dropped.
    void stop();

    group_coordinator& coordinator() { return _coord; }

    /// Called first by every group handler: once stopped, closes the
    /// connection and returns false; else brings the coordinator up to the
    /// metadata cache (which partitions of __consumer_offsets it leads).
    bool admit(const request_context& ctx);

    /// A JoinGroup/SyncGroup reply waiting for its group; `done` once used
    /// or once its connection closed.
    struct waiter {
        request_context ctx;
        bool done = false;
    };
    /// Holds the reply of `ctx` under its connection until release().
    std::shared_ptr<waiter> hold(const request_context& ctx);
    /// The held reply was used.
    void release(const std::shared_ptr<waiter>& w);

    /// The connection is gone: its held replies are dropped.
    void on_close(const session& s);

  private:
    group_coordinator _coord;
    std::map<uint64_t, std::set<std::shared_ptr<waiter>>> _waiting;  ///< by connection id
    bool _stopped = false;
};

/// The client's address as Kafka reports it (Java's InetAddress.toString():
/// "/127.0.0.1").
std::string client_host(const session& s);

/// A group id longer than __consumer_offsets' records can carry.
bool group_id_too_long(const std::string& id);

}  // namespace fjord::broker
