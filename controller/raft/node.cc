#include "controller/raft/node.h"

#include "common/assert.h"

namespace fjord::raft {

node::node(const config& c, storage& s)
    : _raft(c, s), _max_committed_bytes(c.max_committed_size_per_ready) {
    // Compare against what storage holds, not against the core's state: a
    // brand-new member bootstraps (term 1, commit n) in the constructor, and
    // that hard state must reach the disk in the first ready.
    _prev_soft = soft_state{};
    _prev_hard = s.initial_hard_state();
}

bool node::has_ready() const {
    const raft_log& l = _raft.log();
    return _raft.current_soft_state() != _prev_soft || _raft.current_hard_state() != _prev_hard ||
           !l.unstable_entries().empty() || l.unstable_snapshot().has_value() ||
           _raft.has_output() || l.has_next_committed_entries();
}

ready node::take_ready() {
    raft_log& l = _raft.log();
    ready rd;
    const soft_state ss = _raft.current_soft_state();
    if (ss != _prev_soft) {
        rd.soft_state = ss;
        _prev_soft = ss;
    }
    const hard_state hs = _raft.current_hard_state();
    const hard_state hs_before = _prev_hard;
    if (hs != _prev_hard) {
        rd.hard_state = hs;
        rd.must_sync = hs.term != _prev_hard.term || hs.vote != _prev_hard.vote;
        _prev_hard = hs;
    }
    rd.entries = l.unstable_entries();
    if (!rd.entries.empty()) {
        rd.must_sync = true;
    }
    if (l.unstable_snapshot()) {
        rd.snapshot = *l.unstable_snapshot();
        rd.must_sync = true;
    }
    rd.committed_entries = l.next_committed_entries(_max_committed_bytes);
    if (!rd.committed_entries.empty()) {
        l.applying_to(rd.committed_entries.back().index);
    }
    for (const entry& e : rd.committed_entries) {
        if (e.type == entry_type::conf_change) {
            rd.must_sync = true;  // its commit must be durable before advance() applies it
            break;
        }
    }
    rd.messages = _raft.take_messages();
    // A leader whose term and vote are already durable may replicate before
    // persisting its own entries (step 0 of the contract).
    const bool term_or_vote_changed = rd.hard_state && (rd.hard_state->term != hs_before.term ||
                                                        rd.hard_state->vote != hs_before.vote);
    if (_raft.role() == role::leader && !term_or_vote_changed) {
        auto early = [](const message& m) {
            return m.type == message_type::append || m.type == message_type::heartbeat ||
                   m.type == message_type::snapshot;
        };
        std::vector<message> late;
        for (auto& m : rd.messages) {
            (early(m) ? rd.early_messages : late).push_back(std::move(m));
        }
        rd.messages = std::move(late);
    }
    rd.read_states = _raft.take_read_states();
    return rd;
}

void node::advance(const ready& rd) {
    raft_log& l = _raft.log();
    if (rd.snapshot) {
        l.stable_snapshot_to(rd.snapshot->meta.index);
        l.applied_to(rd.snapshot->meta.index);
    }
    if (!rd.entries.empty()) {
        l.stable_to(rd.entries.back().index, rd.entries.back().term);
        _raft.on_persisted(rd.entries.back().index, rd.entries.back().term);
    }
    for (const entry& e : rd.committed_entries) {
        l.applied_to(e.index);
        if (e.type != entry_type::conf_change) {
            continue;
        }
        auto cc = conf_change::decode(e.data);
        if (!cc) {
            // Every member decodes the same bytes, so every member skips it.
            continue;
        }
        _raft.apply_conf_change(*cc, e.index);
    }
}

}  // namespace fjord::raft
