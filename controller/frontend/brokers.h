#pragma once
// File: controller/frontend/brokers.h
//
// Brokers: registration, heartbeats (liveness, leader only: no command),
// state changes, and the broker list with the leader's liveness view.

#include "controller/frontend/frontend.h"

namespace fjord::frontend {

/// A single-item write's answer: its outcome and the revision after.
struct write_outcome {
    result<void> outcome;
    uint64_t revision = 0;
};

struct registered {
    result<void> outcome;
    uint64_t revision = 0;
    std::string cluster_uuid;
};

/// A successful registration counts as the broker's first heartbeat.
void register_broker(core& c, const v1::RegisterBrokerRequest& req, const command_meta& meta,
                     then_fn<result<registered>> then);

/// Records the heartbeat when the id and incarnation are registered and not
/// decommissioned (`known`); else the broker must register again. A known
/// broker's `leaving` heartbeat releases its id instead (broker_liveness).
struct heartbeat_outcome {
    bool known = false;
    uint64_t revision = 0;  ///< the stm's
};
heartbeat_outcome heartbeat(core& c, const v1::HeartbeatRequest& req);

void set_broker_state(core& c, const v1::SetBrokerStateRequest& req, const command_meta& meta,
                      then_fn<write_outcome> then);

/// The brokers with liveness (alive, applied revision, last heartbeat) when
/// this member leads; a follower's (stale) list says it does not know.
result<v1::ListBrokersResponse> list_brokers(core& c, const v1::ListBrokersRequest& req);

}  // namespace fjord::frontend
