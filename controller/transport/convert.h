#pragma once
// File: controller/transport/convert.h
//
// raft::message <-> fjord.raft.v1.Message, the one place the peer wire format
// meets the pure core. from_proto validates what a peer sent: a message the
// core could misread (unknown type, node id 0) is refused with the field named.

#include "common/result.h"
#include "controller/raft/types.h"
#include "fjord/raft/v1/raft.pb.h"

namespace fjord::transport {

void to_proto(const raft::message& m, fjord::raft::v1::Message& out);
result<raft::message> from_proto(const fjord::raft::v1::Message& p);

}  // namespace fjord::transport
