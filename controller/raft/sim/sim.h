#pragma once
// File: controller/raft/sim/sim.h
//
// Deterministic simulation of a Raft group (cf. Kafka's RaftEventSimulationTest,
// TigerBeetle's VOPR, FoundationDB's simulation). One process, one thread, a
// simulated clock and network, all randomness from one seed: the same seed
// replays the same run, event for event.
//
// Faults: message loss, duplication, reordering and delay; symmetric and
// asymmetric partitions; crash-restarts that lose writes not yet synced;
// membership changes (learners added and promoted, voters removed, the leader
// included); leadership transfers; snapshots and InstallSnapshot. Clients
// write and read (ReadIndex) throughout.
//
// Checked after every event: election safety, log matching, leader
// completeness, state-machine safety, that no acknowledged write is lost,
// linearizable reads, monotonic commit and at-most-one vote per term. After
// the faults stop, the group must heal and every member must hold every
// acknowledged write.

#include <cstdint>
#include <string>
#include <vector>

namespace fjord::raft::sim {

struct options {
    uint64_t seed = 1;
    int nodes = 3;                ///< initial voters: 3 or 5
    uint64_t duration_ms = 3000;  ///< faulty phase; a quiet phase follows
    bool verbose = false;         ///< print the whole trace as it happens
    /// Negative control (cf. Jepsen's --unsafe-no-fsync): send a ready's
    /// messages before its sync completes, breaking the ready contract. The
    /// checks must then find a violation; tests assert that they do.
    bool unsafe_send_before_sync = false;
};

struct outcome {
    bool ok = true;
    std::string violation;           ///< what broke, when !ok
    std::vector<std::string> trace;  ///< the last events before the violation
    // Run statistics, for the summary line.
    uint64_t events = 0;
    uint64_t writes_acked = 0;
    uint64_t reads_ok = 0;
    uint64_t elections = 0;
    uint64_t crashes = 0;
    uint64_t snapshots_sent = 0;
    uint64_t conf_changes = 0;
    uint64_t transfers = 0;
};

outcome run(const options& o);

}  // namespace fjord::raft::sim
