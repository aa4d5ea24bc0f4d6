#pragma once
// File: broker/group/group_api.h
//
// The consumer-group APIs (an api_module, see broker/kafka/api_module.h):
// decodes each request, validates what the client sent, asks the group
// coordinator (coordinator.h), and encodes the answer for the request's
// version. Owns the coordinator. Runs on the listener's io thread.
//
//   FindCoordinator 0-4 (v4: a batch of keys; key type 0 = group only)
//   JoinGroup 0-7, SyncGroup 0-5, Heartbeat 0-4, LeaveGroup 0-4
//   OffsetCommit 0-8, OffsetFetch 0-8 (v8: a batch of groups)
//   ListGroups 0-4, DescribeGroups 0-5
//
// Every minimum is 0: librdkafka turns consumer groups on only when
// FindCoordinator, JoinGroup, SyncGroup, Heartbeat and LeaveGroup include
// v0, OffsetCommit overlaps 1-2 and OffsetFetch includes v1.
//
// Validation, answered with Kafka's errors and never by closing the
// connection (a body that does not decode is closed, as Kafka does):
// - an empty group id: INVALID_GROUP_ID for JoinGroup, SyncGroup,
//   Heartbeat and LeaveGroup (Kafka allows "" in OffsetCommit, OffsetFetch
//   and DescribeGroups); a group id longer than 32767 bytes: INVALID_GROUP_ID;
// - a session timeout outside group.min/max_session_timeout_ms:
//   INVALID_SESSION_TIMEOUT; a negative rebalance timeout: INVALID_REQUEST;
// - static membership (a group.instance.id) is not implemented: refused
//   with UNSUPPORTED_VERSION, as a Kafka broker without it does;
// - OffsetCommit: an unknown topic or partition gets
//   UNKNOWN_TOPIC_OR_PARTITION, metadata over 4096 bytes
//   OFFSET_METADATA_TOO_LARGE, each partition on its own;
// - OffsetFetch: an offset committed on a topic since deleted, or deleted
//   and created again under its name, is answered as none (-1), so that the
//   consumer's auto.offset.reset applies (coordinator.h, "Topic identity");
// - FindCoordinator key type 1 (transactions): INVALID_REQUEST, with a
//   message naming the reason (no transaction coordinator here).
//
// A JoinGroup or SyncGroup that waits holds its reply until the group
// answers; if the client's connection closes first the reply is dropped
// (on_close) and the member stays until its session times out, as in Kafka.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>

#include "broker/group/coordinator.h"
#include "broker/kafka/api_module.h"

namespace fjord::broker {

class group_api final : public api_module {
  public:
    group_api(coordinator_options opts, metadata_cache& md, partition_manager& pm,
              controller_client* controller, group_coordinator::schedule_fn schedule,
              group_coordinator::clock_fn now, group::id_fn new_id);

    std::span<const served_api> apis() const override;
    void serve(const kafka::request_view& rq, const connection_info& conn,
               const reply_fn& reply) override;
    void on_close(const connection_info& conn) override;

    /// Starts the coordinator's timers; call once the listener runs.
    void start() { _coord.start(); }
    /// After the listener stopped: waiting requests are dropped.
    void stop();

    group_coordinator& coordinator() { return _coord; }

    struct waiter;  ///< a reply held for a JoinGroup or SyncGroup (the .cc's)

  private:
    void find_coordinator(const kafka::request_view& rq, const connection_info& conn,
                          const reply_fn& reply);
    void join_group(const kafka::request_view& rq, const connection_info& conn,
                    const reply_fn& reply);
    void sync_group(const kafka::request_view& rq, const connection_info& conn,
                    const reply_fn& reply);
    void heartbeat(const kafka::request_view& rq, const connection_info& conn,
                   const reply_fn& reply);
    void leave_group(const kafka::request_view& rq, const connection_info& conn,
                     const reply_fn& reply);
    void offset_commit(const kafka::request_view& rq, const connection_info& conn,
                       const reply_fn& reply);
    void offset_fetch(const kafka::request_view& rq, const connection_info& conn,
                      const reply_fn& reply);
    void list_groups(const kafka::request_view& rq, const connection_info& conn,
                     const reply_fn& reply);
    void describe_groups(const kafka::request_view& rq, const connection_info& conn,
                         const reply_fn& reply);

    /// A reply that may wait: registered under its connection until used.
    std::shared_ptr<waiter> hold(const kafka::request_view& rq, const connection_info& conn,
                                 const reply_fn& reply);

    metadata_cache& _md;
    group_coordinator _coord;
    std::map<uint64_t, std::set<std::shared_ptr<waiter>>> _waiting;  ///< by connection id
    bool _stopped = false;
};

}  // namespace fjord::broker
