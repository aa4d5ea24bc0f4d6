#pragma once
// File: cli/dev/ports.h
//
// Port allocation for the dev cluster, on 127.0.0.1. A fresh cluster gets
// member i (0-based) the ports 9644, 33145 and 9645 plus 1000*i (rpk
// container's offset; +i would make one member's API port the next one's
// metrics port), and broker i the Kafka and metrics ports 9092 and 9093
// plus 100*i, each replaced by an ephemeral port when taken. A named
// cluster (dev start --name NAME) takes its ports from a block of its own
// instead (named_port_block), so two clusters started side by side get
// stable, distinct ports. A restart keeps the recorded ports.

#include <cstdint>
#include <string_view>

#include "cli/dev/state.h"
#include "common/result.h"

namespace fjord::cli::dev {

/// True when nothing listens on 127.0.0.1:port. The probe binds without
/// SO_REUSEPORT, so it also sees a gRPC server (which sets it) on that port.
bool port_free(uint16_t port);
/// True when something accepts TCP connections on 127.0.0.1:port. Polled
/// before the first RPC so the gRPC channel does not enter its reconnect
/// backoff (1 s and growing) while the member is still starting.
bool port_listening(uint16_t port);

/// The first port of a named cluster's block of 250: 20000 + 250 * (FNV-1a
/// of the name mod 48), so every block lies in [20000, 32000): clear of the
/// default cluster's ports (9092..9893, 9644..15645, 33145..39145) and below
/// Linux's ephemeral range (32768..). In the block, member i (0-based) has
/// api, peer and metrics at +10i, +10i+1, +10i+2 and broker i kafka and
/// metrics at +100+10i, +101+10i. Two names may share a block: a taken port
/// falls back to an ephemeral one, as for the default cluster.
uint16_t named_port_block(std::string_view name);

/// Adds `nodes` members and `brokers` brokers to `c` (ids from 1,
/// directories under c.state_dir) with their ports: the default cluster's
/// when `name` is empty, else the named block's.
result<void> assign_ports(cluster& c, int nodes, int brokers, std::string_view name = "");
/// Fails naming the first recorded port of these processes that another
/// process holds (a restart keeps its ports).
result<void> recorded_ports_free(const std::vector<member>& members,
                                 const std::vector<broker_node>& brokers);

}  // namespace fjord::cli::dev
