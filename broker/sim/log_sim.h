#pragma once
// File: broker/sim/log_sim.h
//
// The broker's power-loss simulation: one seed drives a partition log and
// the committed-offsets log through the production code paths (partition,
// with its high watermark rule, over partition_log; the log_flusher's group
// commit with its completions delivered in a random order against further
// appends; the offsets store's record format and replay) over
// memory_file_ops, which models a power loss harshly (unsynced bytes,
// creates, renames and removals lost; torn tails; a power cut in the middle
// of any sequence of file operations). At random points the power is
// cut, the machine "reboots", the logs are reopened, and the invariants are
// checked:
//
//   1. Every batch acknowledged under acks=all (its flusher callback said
//      durable) is still there, at the same offset, byte for byte.
//   2. No offset is ever served to a consumer with two different records,
//      across any number of crashes: what a read at or below the high
//      watermark returned is what every later read returns.
//   3. Every offset commit that was answered survives: the replayed offset
//      of its key is that commit or a later one.
//
// Deterministic: the seed decides everything (no threads, no clock).

#include <cstdint>
#include <string>

namespace fjord::broker::sim {

struct sim_options {
    /// Steps per seed (each one an append, a sync round, a completion, a
    /// read, a commit, a roll or a power cut).
    int steps = 400;
    /// The negative control: topics with write.caching, whose high
    /// watermark is the log end before any sync. The checker must find
    /// invariant 2 broken for some seeds, or it checks nothing.
    bool write_caching = false;
    /// Negative controls for invariants 1 and 3: the producer (the offset
    /// committer) is told "durable" when the batch is written, before the
    /// sync. The checker must catch each.
    bool unsafe_ack_on_write = false;
    bool unsafe_commit_on_write = false;
    /// Print each step.
    bool verbose = false;
};

struct sim_result {
    bool ok = true;
    std::string failure;  ///< the first invariant broken, with the step
    int crashes = 0;
    int acked_batches = 0;
    int served_batches = 0;
    int commits = 0;
};

sim_result run_seed(uint64_t seed, const sim_options& opts);

}  // namespace fjord::broker::sim
