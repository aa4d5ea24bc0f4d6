#include "controller/raft/progress.h"

#include <algorithm>

namespace fjord::raft {

void progress::become_probe() {
    // Leaving snapshot state: resume right after the snapshot, which the
    // follower now holds (or will be probed for).
    if (state == progress_state::snapshot && pending_snapshot) {
        next = std::max(match + 1, pending_snapshot->meta.index + 1);
    } else {
        next = match + 1;
    }
    state = progress_state::probe;
    probe_sent = false;
    pending_snapshot.reset();
    snapshot_offset = 0;
    snapshot_chunk_inflight = false;
    ins.reset();
}

void progress::become_replicate() {
    state = progress_state::replicate;
    next = match + 1;
    probe_sent = false;
    pending_snapshot.reset();
    snapshot_offset = 0;
    snapshot_chunk_inflight = false;
    ins.reset();
}

void progress::become_snapshot(std::shared_ptr<const snapshot> s) {
    state = progress_state::snapshot;
    probe_sent = false;
    pending_snapshot = std::move(s);
    snapshot_offset = 0;
    snapshot_chunk_inflight = false;
    ins.reset();
}

bool progress::maybe_update(log_index n) {
    bool updated = false;
    if (match < n) {
        match = n;
        updated = true;
        probe_sent = false;
    }
    next = std::max(next, n + 1);
    return updated;
}

bool progress::maybe_decr_to(log_index rejected, log_index hint) {
    if (state == progress_state::replicate) {
        if (rejected <= match) {
            return false;  // stale: already acknowledged past it
        }
        next = match + 1;
        return true;
    }
    if (next - 1 != rejected) {
        return false;  // stale: not the probe we are waiting for
    }
    next = std::max(std::min(rejected, hint + 1), match + 1);
    probe_sent = false;
    return true;
}

bool progress::is_paused() const {
    switch (state) {
        case progress_state::probe:
            return probe_sent;
        case progress_state::replicate:
            return ins.full();
        case progress_state::snapshot:
            return true;
    }
    return true;
}

}  // namespace fjord::raft
