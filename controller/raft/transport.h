#pragma once
// File: controller/raft/transport.h
//
// The seam between a member's ready loop and the network, beside
// raft::storage for the disk. The loop hands every outbound message to send()
// and expects nothing back: delivery is best effort, as Raft requires of its
// network (messages may be lost, delayed, duplicated or reordered; Raft's
// terms, indexes and retries make that safe). Inbound messages reach the loop
// through raft_loop::deliver(), from whatever thread the transport reads on.
//
// Implementations: transport::peer_transport (gRPC, production) and the
// in-process networks of the loop tests and the simulation, which drop,
// delay and partition on purpose.

#include "controller/raft/types.h"

namespace fjord::raft {

class transport {
  public:
    virtual ~transport() = default;
    /// Queues `m` for m.to. Never blocks the caller (the ready loop's thread)
    /// and never fails: an undeliverable message is dropped.
    virtual void send(message m) = 0;
};

}  // namespace fjord::raft
