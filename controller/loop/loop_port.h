#pragma once
// File: controller/loop/loop_port.h
//
// What the rest of the controller (the frontend, the gRPC service) may ask of
// the ready loop: propose, read index, membership and leadership changes,
// snapshots, status, and who leads. raft_loop implements it; start/stop,
// message delivery and observers stay with the composition root
// (controller/server). Every method is thread-safe; the contracts are
// raft_loop's (raft_loop.h: each request resolves exactly once, definite or
// saying it is not).

#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "controller/raft/types.h"

namespace fjord::loop {

/// A point-in-time view of the member, for Status and metrics.
struct loop_status {
    node_id id;
    node_id leader;
    raft::role role = raft::role::follower;
    term_id term;
    log_index commit;
    log_index applied;
    log_index last_index;
    log_index snapshot_index;
    raft::conf_state conf;
    struct peer {
        node_id id;
        log_index match;
        std::string state;
        bool active = false;  ///< heard from within the last election timeout
    };
    std::vector<peer> progress;  // leader only
};

class loop_port {
  public:
    using clock = std::chrono::steady_clock;
    template <typename T>
    using completion = std::function<void(result<T>)>;

    virtual ~loop_port() = default;

    /// Proposes `data`; `done` gets the state machine's result once applied,
    /// or an error (not_leader, proposal_dropped, outcome_unknown, timed_out
    /// at `deadline`).
    virtual void propose(std::string data, clock::time_point deadline, completion<void> done) = 0;
    /// Resolves with a read index once this member has applied it: a read of
    /// the local state from then on is linearizable.
    virtual std::future<result<log_index>> read_index() = 0;
    virtual std::future<result<void>> propose_conf_change(raft::conf_change cc) = 0;
    virtual std::future<result<void>> transfer_leadership(node_id to) = 0;
    virtual std::future<result<log_index>> take_snapshot() = 0;
    virtual std::future<loop_status> status() = 0;

    // Cheap observations (may be stale).
    virtual node_id leader() const = 0;
    virtual bool is_leader() const = 0;
};

}  // namespace fjord::loop
