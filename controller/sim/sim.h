#pragma once
// File: controller/sim/sim.h
//
// Deterministic simulation of a controller group (cf. FoundationDB's
// simulation, TigerBeetle's VOPR, Kafka's RaftEventSimulationTest), built from
// the production pieces: each member is the real ready loop
// (loop::raft_loop, driven by run_once() on a simulated clock) applying to
// the real controller state machine (loop::controller_state) and persisting
// to the real durable log (storage::segmented_log) over an in-memory file
// system whose crash model loses exactly what a power loss would
// (fs::testing::memory_file_ops). One process, one thread, all
// randomness from one seed: the same seed replays the same run, event for
// event.
//
// Faults: message loss, duplication, reordering and delay; symmetric and
// asymmetric partitions; crash-restarts, between passes of the loop or in the
// middle of a sync (leaving torn, garbage or zeroed tails), of one member, of
// a majority right after a membership change commits, or of all (power
// loss); paused processes; drifting clocks; leadership transfers; snapshots
// and InstallSnapshot; membership changes (learners added and promoted,
// voters removed, the leader included; a removed member runs on for a while
// before it is shut down), alone or in storms of changes back to back
// followed by a power loss. Clients send controller commands in sessions and
// retry on not-leader, outcome-unknown and timeouts, and read through
// ReadIndex.
//
// Checked throughout: election safety, at most one vote per term, log
// matching, leader completeness, state-machine safety (the same entry and the
// same outcome at an index on every member), commit never going back within
// an incarnation, nothing a sync made durable lost in a crash, linearizable
// reads, a session retry never changing the state nor its outcome, every
// proposal answered at most once. At the end, after healing: a leader, every
// member of the configuration caught up with byte-identical state, every
// acknowledged write applied exactly once with the outcome its client was
// told, every proposal answered exactly once, and one voter set everywhere,
// the one the committed membership changes imply.

#include <cstdint>
#include <string>
#include <vector>

namespace fjord::sim {

struct options {
    uint64_t seed = 1;
    int nodes = 3;                ///< initial voters: 3 or 5
    uint64_t duration_ms = 3000;  ///< faulty phase; a quiet phase follows
    bool verbose = false;         ///< print the whole trace as it happens
    /// Negative control (cf. Jepsen's --unsafe-no-fsync): the disks ignore
    /// flushes, so everything the loop sends after a "sync" goes out before
    /// its data is durable. The checks must then find a violation; tests
    /// assert that they do.
    bool unsafe_no_fsync = false;
};

struct outcome {
    bool ok = true;
    std::string violation;           ///< what broke, when !ok
    std::vector<std::string> trace;  ///< the last events before the end
    uint64_t trace_hash = 0;         ///< of every trace line: equal runs, equal hashes
    // Run statistics, for the summary line.
    uint64_t events = 0;
    uint64_t writes_acked = 0;  ///< commands with a definite answer
    uint64_t retries = 0;       ///< attempts after a command's first
    uint64_t reads_ok = 0;
    uint64_t elections = 0;
    uint64_t crashes = 0;
    uint64_t snapshots_sent = 0;
    uint64_t conf_changes = 0;  ///< membership changes committed
    uint64_t transfers = 0;
};

outcome run(const options& o);

}  // namespace fjord::sim
