#include "controller/raft/raft.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/assert.h"

namespace fjord::raft {
namespace {

bool is_response(message_type t) {
    return t == message_type::append_response || t == message_type::vote_response ||
           t == message_type::pre_vote_response || t == message_type::heartbeat_response ||
           t == message_type::snapshot_response || t == message_type::read_index_response;
}

std::string encode_seq(uint64_t seq) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) {
        s[static_cast<size_t>(i)] = static_cast<char>((seq >> (8 * i)) & 0xFFu);
    }
    return s;
}

std::optional<uint64_t> decode_seq(const std::string& s) {
    if (s.size() != 8) {
        return std::nullopt;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v |= static_cast<uint64_t>(static_cast<uint8_t>(s[static_cast<size_t>(i)])) << (8 * i);
    }
    return v;
}

void insert_sorted(std::vector<node_id>& v, node_id n) {
    auto it = std::lower_bound(v.begin(), v.end(), n);
    if (it == v.end() || *it != n) {
        v.insert(it, n);
    }
}

void erase_value(std::vector<node_id>& v, node_id n) {
    std::erase(v, n);
}

std::string_view to_string(conf_change_type t) {
    switch (t) {
        case conf_change_type::add_voter:
            return "add_voter";
        case conf_change_type::add_learner:
            return "add_learner";
        case conf_change_type::remove_node:
            return "remove_node";
    }
    return "unknown";
}

}  // namespace

core::core(const config& c, storage& s)
    : _id(c.id), _cfg(c), _log(s), _rng(c.seed ^ (c.id.value() * 0x9E3779B97F4A7C15ull)) {
    FJORD_ASSERT(_id != no_node, "raft member id must not be 0");
    FJORD_ASSERT(c.heartbeat_tick > 0 && c.heartbeat_tick < c.election_tick,
                 "heartbeat_tick {} must be in (0, election_tick {})", c.heartbeat_tick,
                 c.election_tick);
    const snapshot_meta snap = s.snapshot_metadata();
    set_conf(snap.conf);
    _conf_index = snap.index;
    const hard_state hs = s.initial_hard_state();
    if (!hs.empty()) {
        FJORD_ASSERT(hs.commit <= _log.last_index(),
                     "hard state commit {} beyond last log index {}: the log lost entries",
                     hs.commit, _log.last_index());
        _term = hs.term;
        _vote = hs.vote;
        _log.commit_to(hs.commit);
    }
    if (snap.index == log_index{0} && s.last_index() == log_index{0} &&
        !c.bootstrap_voters.empty()) {
        bootstrap(c);
    }
    // The configuration is the snapshot's plus every committed change after
    // it. Changes are applied again when their entries are re-delivered;
    // _conf_index makes that a no-op.
    if (_log.committed() > _conf_index) {
        auto ents = _log.slice(_conf_index + 1, _log.committed() + 1, UINT64_MAX);
        FJORD_ASSERT(ents.has_value(), "committed entries unreadable at start: {}",
                     ents.error().message());
        for (const entry& e : *ents) {
            if (e.type == entry_type::conf_change) {
                if (auto cc = conf_change::decode(e.data)) {
                    apply_conf_change(*cc, e.index);
                }
            }
        }
    }
    become_follower(_term, no_node);
}

void core::bootstrap(const config& c) {
    // Every founding member writes the same entries (term 1, indexes 1..n),
    // so their logs agree, and members added later learn the founding
    // configuration from the log like any other change (etcd does the same).
    std::vector<node_id> v(c.bootstrap_voters);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    std::vector<node_id> l(c.bootstrap_learners);
    std::sort(l.begin(), l.end());
    l.erase(std::unique(l.begin(), l.end()), l.end());
    std::vector<entry> ents;
    auto add = [&](conf_change_type t, node_id n) {
        entry e;
        e.term = term_id{1};
        e.index = log_index{ents.size() + 1};
        e.type = entry_type::conf_change;
        auto ctx = c.bootstrap_context.find(n);
        e.data = conf_change{t, n, ctx == c.bootstrap_context.end() ? std::string{} : ctx->second}
                     .encode();
        ents.push_back(std::move(e));
    };
    for (node_id n : v) {
        add(conf_change_type::add_voter, n);
    }
    for (node_id n : l) {
        add(conf_change_type::add_learner, n);
    }
    const log_index last = _log.append(std::move(ents));
    _term = std::max(_term, term_id{1});
    _log.commit_to(last);
    logf(fmt::format("bootstrapped with voters {} learners {}", fmt::join(v, ","),
                     fmt::join(l, ",")));
}

// ---------------------------------------------------------------- roles

void core::reset(term_id t) {
    if (t != _term) {
        _term = t;
        _vote = no_node;
    }
    _leader = no_node;
    _election_elapsed = 0;
    _heartbeat_elapsed = 0;
    reset_randomized_election_timeout();
    _lead_transferee = no_node;
    _votes.clear();
    _pending_conf_index = log_index{0};
    _pending_reads.clear();
    _reads_before_commit.clear();
    _read_acked.clear();
    _incoming_snapshot.reset();
    const log_index last = _log.last_index();
    for (auto& [id, pr] : _progress) {
        const bool learner = pr.is_learner;
        pr = progress(_cfg.max_inflight_msgs);
        pr.is_learner = learner;
        pr.next = last + 1;
        if (id == _id) {
            // Only what is durable counts toward commit (on_persisted).
            pr.match = _log.last_stable_index();
            pr.recent_active = true;
        }
    }
}

void core::become_follower(term_id t, node_id leader) {
    reset(t);
    _leader = leader;
    _role = role::follower;
    logf(fmt::format("became follower at term {}", _term));
}

void core::become_pre_candidate() {
    FJORD_ASSERT(_role != role::leader, "leader cannot become pre-candidate");
    _role = role::pre_candidate;
    _votes.clear();
    _leader = no_node;
    logf(fmt::format("became pre-candidate at term {}", _term));
}

void core::become_candidate() {
    FJORD_ASSERT(_role != role::leader, "leader cannot become candidate");
    reset(_term + 1);
    _vote = _id;
    _role = role::candidate;
    logf(fmt::format("became candidate at term {}", _term));
}

void core::become_leader() {
    FJORD_ASSERT(_role == role::candidate, "only a candidate becomes leader");
    reset(_term);
    _leader = _id;
    _role = role::leader;
    _progress.at(_id).become_replicate();
    // The empty entry commits everything before it (thesis §3.6.2) and, once
    // committed, lets this leader serve reads and membership changes.
    _pending_conf_index = _log.last_index();
    append_entries({entry{}});
    logf(fmt::format("became leader at term {}", _term));
}

bool core::promotable() const {
    return is_voter(_id) && !_log.unstable_snapshot().has_value();
}

bool core::is_voter(node_id n) const {
    return std::binary_search(_conf.voters.begin(), _conf.voters.end(), n);
}

bool core::is_learner(node_id n) const {
    return std::binary_search(_conf.learners.begin(), _conf.learners.end(), n);
}

// ---------------------------------------------------------------- elections

void core::campaign() {
    if (_role == role::leader) {
        logf("ignoring campaign: already leader");
        return;
    }
    if (!promotable()) {
        logf("ignoring campaign: not promotable");
        return;
    }
    if (conf_change_pending_apply()) {
        logf("ignoring campaign: membership change pending apply");
        return;
    }
    do_campaign(_cfg.pre_vote ? campaign_kind::pre_election : campaign_kind::election);
}

bool core::conf_change_pending_apply() const {
    // A committed but unapplied membership change could change who votes, so
    // no campaign (of any kind) may start until it is applied (etcd does the
    // same). An unreadable range counts as pending: refusing to campaign is
    // always safe.
    if (_log.applied() >= _log.committed()) {
        return false;
    }
    auto ents = _log.slice(_log.applied() + 1, _log.committed() + 1, UINT64_MAX);
    if (!ents) {
        return true;
    }
    return std::any_of(ents->begin(), ents->end(), [&](const entry& e) {
        return e.type == entry_type::conf_change && e.index > _conf_index;
    });
}

void core::do_campaign(campaign_kind k) {
    message_type vote_type;
    term_id vote_term;
    if (k == campaign_kind::pre_election) {
        become_pre_candidate();
        vote_type = message_type::pre_vote;
        vote_term = _term + 1;
    } else {
        become_candidate();
        vote_type = message_type::vote;
        vote_term = _term;
    }
    if (poll(_id, true).first >= quorum()) {
        if (k == campaign_kind::pre_election) {
            do_campaign(campaign_kind::election);
        } else {
            become_leader();
        }
        return;
    }
    for (node_id v : _conf.voters) {
        if (v == _id) {
            continue;
        }
        message m;
        m.type = vote_type;
        m.to = v;
        m.term = vote_term;
        m.index = _log.last_index();
        m.log_term = _log.last_term();
        m.transfer = k == campaign_kind::transfer;
        send(std::move(m));
    }
}

std::pair<int, int> core::poll(node_id from, bool granted) {
    _votes.emplace(from, granted);
    int yes = 0;
    int no = 0;
    for (node_id v : _conf.voters) {
        auto it = _votes.find(v);
        if (it == _votes.end()) {
            continue;
        }
        (it->second ? yes : no) += 1;
    }
    return {yes, no};
}

void core::handle_vote(const message& m) {
    const bool pre = m.type == message_type::pre_vote;
    const bool can_vote =
        _vote == m.from || (_vote == no_node && _leader == no_node) || (pre && m.term > _term);
    message r;
    r.type = pre ? message_type::pre_vote_response : message_type::vote_response;
    r.to = m.from;
    if (can_vote && _log.is_up_to_date(m.index, m.log_term)) {
        // A pre-vote answer carries the candidate's future term so it is not
        // mistaken for a stale reply; nothing changes here until a real vote.
        r.term = m.term;
        if (!pre) {
            _election_elapsed = 0;
            _vote = m.from;
        }
        logf(fmt::format("granted {} to {} at term {}", to_string(m.type), m.from, m.term));
    } else {
        r.term = _term;
        r.reject = true;
        logf(fmt::format("rejected {} from {} at term {}", to_string(m.type), m.from, m.term));
    }
    send(std::move(r));
}

// ---------------------------------------------------------------- step

void core::step(message m) {
    if (m.to != _id) {
        return;
    }
    if (m.term > _term) {
        if (m.type == message_type::vote || m.type == message_type::pre_vote) {
            // The lease ends one tick early: members' ticks are not aligned,
            // so when the first follower's timer fires at the shortest
            // timeout T another may have counted only T-1 ticks since the
            // leader's last heartbeat. Without the slack it ignores the
            // pre-vote and the election waits a whole new timeout (50-300 ms
            // in the failover benchmark). With a heartbeat every tick, a
            // leader silent for T-1 ticks is not one to protect.
            const bool in_lease = _cfg.check_quorum && _leader != no_node &&
                                  _election_elapsed + 1 < _cfg.election_tick;
            if (in_lease && !m.transfer) {
                logf(fmt::format("ignored {} from {} at term {}: leader {} lease",
                                 to_string(m.type), m.from, m.term, _leader));
                return;
            }
        }
        if (m.type == message_type::pre_vote ||
            (m.type == message_type::pre_vote_response && !m.reject)) {
            // Pre-votes never change anyone's term.
        } else if (m.type == message_type::append || m.type == message_type::heartbeat ||
                   m.type == message_type::snapshot) {
            become_follower(m.term, m.from);
        } else {
            become_follower(m.term, no_node);
        }
    } else if (m.term < _term) {
        if ((_cfg.check_quorum || _cfg.pre_vote) &&
            (m.type == message_type::append || m.type == message_type::heartbeat)) {
            // A deposed leader (e.g. healed from a partition) learns our term
            // from this and steps down; without it, it would keep its term
            // while we ignore it.
            message r;
            r.type = message_type::append_response;
            r.to = m.from;
            send(std::move(r));
        } else if (m.type == message_type::pre_vote) {
            message r;
            r.type = message_type::pre_vote_response;
            r.to = m.from;
            r.reject = true;
            send(std::move(r));
        }
        return;
    }

    if (m.type == message_type::vote || m.type == message_type::pre_vote) {
        handle_vote(m);
        return;
    }
    switch (_role) {
        case role::leader:
            step_leader(m);
            break;
        case role::candidate:
        case role::pre_candidate:
            step_candidate(m);
            break;
        case role::follower:
            step_follower(m);
            break;
    }
}

void core::step_follower(message& m) {
    switch (m.type) {
        case message_type::append:
            _election_elapsed = 0;
            _leader = m.from;
            handle_append(m);
            break;
        case message_type::heartbeat:
            _election_elapsed = 0;
            _leader = m.from;
            handle_heartbeat(m);
            break;
        case message_type::snapshot:
            _election_elapsed = 0;
            _leader = m.from;
            handle_snapshot_chunk(m);
            break;
        case message_type::timeout_now:
            if (promotable() && conf_change_pending_apply()) {
                logf(fmt::format("ignored timeout_now from {}: membership change pending apply",
                                 m.from));
            } else if (promotable()) {
                logf(fmt::format("received timeout_now from {}: campaigning", m.from));
                // Transfers skip pre-vote: the old leader vouches for us.
                do_campaign(campaign_kind::transfer);
            } else {
                logf(fmt::format("ignored timeout_now from {}: not promotable", m.from));
            }
            break;
        case message_type::read_index_response:
            if (!m.reject) {
                _read_states.push_back(read_state{m.index, std::move(m.context)});
            }
            break;
        default:
            break;
    }
}

void core::step_candidate(message& m) {
    switch (m.type) {
        case message_type::append:
            become_follower(_term, m.from);
            handle_append(m);
            break;
        case message_type::heartbeat:
            become_follower(_term, m.from);
            handle_heartbeat(m);
            break;
        case message_type::snapshot:
            become_follower(_term, m.from);
            handle_snapshot_chunk(m);
            break;
        case message_type::vote_response:
        case message_type::pre_vote_response: {
            const bool mine =
                (_role == role::candidate && m.type == message_type::vote_response) ||
                (_role == role::pre_candidate && m.type == message_type::pre_vote_response);
            if (!mine) {
                break;
            }
            auto [yes, no] = poll(m.from, !m.reject);
            if (yes >= quorum()) {
                if (_role == role::pre_candidate) {
                    do_campaign(campaign_kind::election);
                } else {
                    become_leader();
                    bcast_append();
                }
            } else if (no > voter_count() - quorum()) {
                become_follower(_term, no_node);
            }
            break;
        }
        default:
            break;
    }
}

void core::step_leader(message& m) {
    auto it = _progress.find(m.from);
    if (m.type == message_type::read_index) {
        handle_read_index_request(m.from, std::move(m.context));
        return;
    }
    if (it == _progress.end() || !is_response(m.type)) {
        return;
    }
    progress& pr = it->second;
    switch (m.type) {
        case message_type::append_response:
            handle_append_response(m);
            break;
        case message_type::heartbeat_response: {
            pr.recent_active = true;
            pr.probe_sent = false;
            // A full window may be full of lost appends: let one more through
            // so a follower that restarted or healed is probed again.
            if (pr.state == progress_state::replicate && pr.ins.full()) {
                pr.ins.free_first();
            }
            if (pr.state == progress_state::snapshot) {
                // Resend only when no chunk is in flight, or when the one in
                // flight has gone unanswered for a few heartbeats (lost).
                if (!pr.snapshot_chunk_inflight || ++pr.snapshot_idle >= 3) {
                    send_snapshot_chunk(m.from, pr);
                }
            } else if (pr.match < _log.last_index()) {
                // Appends (or their answers) may have been lost: an append,
                // empty if nothing is left to send, makes the follower reveal
                // where its log ends.
                maybe_send_append(m.from, true);
            }
            if (auto seq = decode_seq(m.context)) {
                uint64_t& acked = _read_acked[m.from];
                acked = std::max(acked, *seq);
                release_pending_reads();
            }
            break;
        }
        case message_type::snapshot_response: {
            pr.recent_active = true;
            if (pr.state != progress_state::snapshot || !pr.snapshot_chunk_inflight) {
                break;
            }
            const uint64_t held = m.index.value();
            // Accept the answer to the chunk in flight, or a rejection that
            // names a different resume point; anything else answers an
            // earlier (duplicate or resent) chunk and is ignored.
            const bool answer = !m.reject && held == pr.snapshot_chunk_end;
            const bool restart = m.reject && held != pr.snapshot_offset;
            if (answer || restart) {
                pr.snapshot_offset = held;
                pr.snapshot_chunk_inflight = false;
                send_snapshot_chunk(m.from, pr);
            }
            break;
        }
        default:
            break;
    }
}

void core::handle_append_response(const message& m) {
    progress& pr = _progress.at(m.from);
    pr.recent_active = true;
    if (m.reject) {
        log_index next_probe = m.reject_hint;
        if (m.log_term > term_id{0}) {
            next_probe = _log.find_conflict_by_term(m.reject_hint, m.log_term).first;
        }
        if (pr.maybe_decr_to(m.index, next_probe)) {
            if (pr.state == progress_state::replicate) {
                pr.become_probe();
            }
            maybe_send_append(m.from, false);
        }
        return;
    }
    const bool was_paused = pr.is_paused();
    const bool updated = pr.maybe_update(m.index);
    if (pr.state == progress_state::snapshot && pr.match >= pr.pending_snapshot->meta.index) {
        // The follower installed the snapshot (this may be a repeated answer).
        // Resume from the log, or from a newer snapshot if the log was
        // compacted past it meanwhile.
        pr.become_probe();
        if (pr.match + 1 >= _log.first_index()) {
            pr.become_replicate();
        }
        maybe_send_append(m.from, false);
    }
    if (!updated) {
        return;
    }
    switch (pr.state) {
        case progress_state::probe:
            pr.become_replicate();
            break;
        case progress_state::snapshot:
            break;
        case progress_state::replicate:
            pr.ins.free_le(m.index);
            break;
    }
    if (maybe_commit()) {
        bcast_append();
    } else if (was_paused) {
        maybe_send_append(m.from, false);
    }
    while (maybe_send_append(m.from, false)) {
    }
    if (m.from == _lead_transferee && pr.match == _log.last_index()) {
        message t;
        t.type = message_type::timeout_now;
        t.to = m.from;
        send(std::move(t));
        logf(fmt::format("sent timeout_now to {}: caught up", m.from));
    }
}

// ---------------------------------------------------------------- follower handlers

void core::handle_append(message& m) {
    message r;
    r.type = message_type::append_response;
    r.to = m.from;
    if (m.index < _log.committed()) {
        r.index = _log.committed();
        send(std::move(r));
        return;
    }
    if (auto last = _log.maybe_append(m.index, m.log_term, m.commit, std::move(m.entries))) {
        r.index = *last;
        send(std::move(r));
        return;
    }
    // Fast backtracking: tell the leader the last index whose term is not
    // newer than the one it probed, so one round trip skips a whole term.
    const log_index hint_index = std::min(m.index, _log.last_index());
    auto [hint, hint_term] = _log.find_conflict_by_term(hint_index, m.log_term);
    r.index = m.index;
    r.reject = true;
    r.reject_hint = hint;
    r.log_term = hint_term;
    logf(fmt::format("rejected append at ({}, {}) from {}: hint ({}, {})", m.index, m.log_term,
                     m.from, hint, hint_term));
    send(std::move(r));
}

void core::handle_heartbeat(const message& m) {
    _log.commit_to(m.commit);
    message r;
    r.type = message_type::heartbeat_response;
    r.to = m.from;
    r.context = m.context;
    send(std::move(r));
}

void core::handle_snapshot_chunk(message& m) {
    if (m.snapshot.index <= _log.committed()) {
        _incoming_snapshot.reset();
        message r;
        r.type = message_type::append_response;
        r.to = m.from;
        r.index = _log.committed();
        send(std::move(r));
        return;
    }
    const bool continues = _incoming_snapshot && _incoming_snapshot->meta == m.snapshot &&
                           _incoming_snapshot->data.size() == m.chunk_offset;
    if (m.chunk_offset == 0) {
        _incoming_snapshot = snapshot{m.snapshot, std::move(m.chunk)};
    } else if (continues) {
        _incoming_snapshot->data += m.chunk;
    } else {
        message r;
        r.type = message_type::snapshot_response;
        r.to = m.from;
        r.reject = true;
        r.index = log_index{(_incoming_snapshot && _incoming_snapshot->meta == m.snapshot)
                                ? _incoming_snapshot->data.size()
                                : 0};
        send(std::move(r));
        return;
    }
    message r;
    r.to = m.from;
    if (!m.chunk_last) {
        r.type = message_type::snapshot_response;
        r.index = log_index{_incoming_snapshot->data.size()};
        send(std::move(r));
        return;
    }
    snapshot s = std::move(*_incoming_snapshot);
    _incoming_snapshot.reset();
    r.type = message_type::append_response;
    r.index = restore(std::move(s)) ? _log.last_index() : _log.committed();
    send(std::move(r));
}

bool core::restore(snapshot s) {
    if (s.meta.index <= _log.committed() || _role != role::follower) {
        return false;
    }
    if (_log.match_term(s.meta.index, s.meta.term)) {
        // We already hold the snapshot's last entry, so we hold its prefix
        // (log matching): fast-forward commit instead of discarding the log.
        logf(fmt::format("fast-forwarded commit to {} from snapshot", s.meta.index));
        _log.commit_to(s.meta.index);
        return false;
    }
    logf(fmt::format("restored snapshot at ({}, {})", s.meta.index, s.meta.term));
    conf_state conf = s.meta.conf;
    _conf_index = s.meta.index;
    _log.restore(std::move(s));
    set_conf(std::move(conf));
    return true;
}

// ---------------------------------------------------------------- leader

void core::send(message m) {
    m.from = _id;
    if (m.term == term_id{0}) {
        m.term = _term;
    }
    _msgs.push_back(std::move(m));
}

bool core::maybe_send_append(node_id to, bool send_if_empty) {
    progress& pr = _progress.at(to);
    if (pr.is_paused()) {
        return false;
    }
    const log_index prev = pr.next - 1;
    auto prev_term = _log.term(prev);
    auto ents = _log.slice(pr.next, _log.last_index() + 1, _cfg.max_size_per_msg);
    if (!prev_term || !ents) {
        // The entries this follower needs are compacted: send a snapshot,
        // but not to a member that has gone quiet (it would be wasted work).
        if (!pr.recent_active) {
            return false;
        }
        auto snap = snapshot_for_send();
        if (!snap) {
            return false;
        }
        logf(fmt::format("sending snapshot at ({}, {}) to {}", snap->meta.index, snap->meta.term,
                         to));
        pr.become_snapshot(std::move(snap));
        send_snapshot_chunk(to, pr);
        return true;
    }
    if (ents->empty() && !send_if_empty) {
        return false;
    }
    message m;
    m.type = message_type::append;
    m.to = to;
    m.index = prev;
    m.log_term = *prev_term;
    m.commit = _log.committed();
    m.entries = std::move(*ents);
    if (!m.entries.empty() && pr.state == progress_state::replicate) {
        const log_index last = m.entries.back().index;
        pr.next = last + 1;
        pr.ins.add(last);
    }
    if (pr.state == progress_state::probe) {
        pr.probe_sent = true;
    }
    send(std::move(m));
    return true;
}

std::shared_ptr<const snapshot> core::snapshot_for_send() {
    const snapshot_meta meta = _log.stable_snapshot_metadata();
    if (meta.index == log_index{0}) {
        return nullptr;
    }
    if (!_snapshot_cache || _snapshot_cache->meta.index != meta.index) {
        auto s = _log.load_stable_snapshot();
        if (!s) {
            logf(fmt::format("cannot load snapshot to send: {}", s.error().message()));
            return nullptr;
        }
        _snapshot_cache = std::make_shared<const snapshot>(std::move(*s));
    }
    return _snapshot_cache;
}

void core::send_snapshot_chunk(node_id to, progress& pr) {
    const snapshot& s = *pr.pending_snapshot;
    const uint64_t size = s.data.size();
    const uint64_t off = std::min<uint64_t>(pr.snapshot_offset, size);
    const uint64_t len = std::min<uint64_t>(_cfg.snapshot_chunk_size, size - off);
    message m;
    m.type = message_type::snapshot;
    m.to = to;
    m.snapshot = s.meta;
    m.chunk_offset = off;
    m.chunk = s.data.substr(off, len);
    m.chunk_last = off + len == size;
    pr.snapshot_offset = off;
    pr.snapshot_chunk_end = off + len;
    pr.snapshot_chunk_inflight = true;
    pr.snapshot_idle = 0;
    send(std::move(m));
}

void core::send_heartbeat(node_id to, const std::string& ctx) {
    const progress& pr = _progress.at(to);
    message m;
    m.type = message_type::heartbeat;
    m.to = to;
    // Never tell a follower to commit past what it is known to hold.
    m.commit = std::min(pr.match, _log.committed());
    m.context = ctx;
    send(std::move(m));
}

void core::bcast_append() {
    for (auto& [id, pr] : _progress) {
        if (id != _id) {
            maybe_send_append(id, true);
        }
    }
}

void core::bcast_heartbeat() {
    const std::string ctx = _pending_reads.empty() ? std::string{} : encode_seq(_read_seq);
    for (auto& [id, pr] : _progress) {
        if (id != _id) {
            send_heartbeat(id, ctx);
        }
    }
}

bool core::maybe_commit() {
    std::vector<log_index> matches;
    matches.reserve(_conf.voters.size());
    for (node_id v : _conf.voters) {
        auto it = _progress.find(v);
        matches.push_back(it == _progress.end() ? log_index{0} : it->second.match);
    }
    if (matches.empty()) {
        return false;
    }
    std::sort(matches.begin(), matches.end(), std::greater<>());
    const log_index mci = matches[static_cast<size_t>(quorum() - 1)];
    // Only entries of the current term commit by counting (Raft §5.4.2).
    if (!_log.maybe_commit(mci, _term)) {
        return false;
    }
    if (!_reads_before_commit.empty()) {
        auto waiting = std::exchange(_reads_before_commit, {});
        for (auto& [from, ctx] : waiting) {
            handle_read_index_request(from, std::move(ctx));
        }
    }
    return true;
}

void core::append_entries(std::vector<entry> ents) {
    log_index i = _log.last_index();
    for (entry& e : ents) {
        e.term = _term;
        e.index = ++i;
    }
    _log.append(std::move(ents));
    // The leader's own copy counts once persisted (on_persisted).
}

void core::on_persisted(log_index index, term_id t) {
    if (_role != role::leader || _log.term_or_zero(index) != t) {
        return;
    }
    auto it = _progress.find(_id);
    if (it == _progress.end() || !it->second.maybe_update(index)) {
        return;
    }
    if (maybe_commit()) {
        bcast_append();
    }
}

bool core::committed_entry_in_current_term() const {
    return _log.term_or_zero(_log.committed()) == _term;
}

bool core::quorum_active() const {
    int active = 0;
    for (node_id v : _conf.voters) {
        auto it = _progress.find(v);
        if (v == _id || (it != _progress.end() && it->second.recent_active)) {
            ++active;
        }
    }
    return active >= quorum();
}

// ---------------------------------------------------------------- local requests

result<log_index> core::propose(std::vector<std::string> data) {
    if (_role != role::leader) {
        return {errc::not_leader, fmt::format("leader is {}", _leader)};
    }
    if (_lead_transferee != no_node) {
        return {errc::proposal_dropped,
                fmt::format("leadership transfer to {} in progress", _lead_transferee)};
    }
    if (!is_voter(_id)) {
        return {errc::proposal_dropped, "this leader was removed from the group"};
    }
    if (data.empty()) {
        return _log.last_index() + 1;
    }
    std::vector<entry> ents(data.size());
    for (size_t i = 0; i < data.size(); ++i) {
        ents[i].data = std::move(data[i]);
    }
    const log_index first = _log.last_index() + 1;
    append_entries(std::move(ents));
    bcast_append();
    return first;
}

result<log_index> core::propose_conf_change(const conf_change& cc) {
    if (_role != role::leader) {
        return {errc::not_leader, fmt::format("leader is {}", _leader)};
    }
    if (_lead_transferee != no_node) {
        return {errc::proposal_dropped,
                fmt::format("leadership transfer to {} in progress", _lead_transferee)};
    }
    if (_pending_conf_index > _log.applied()) {
        return {errc::conf_change_pending,
                fmt::format("change at index {} not yet applied (applied {})", _pending_conf_index,
                            _log.applied())};
    }
    if (!committed_entry_in_current_term()) {
        // Without this, a change could be committed under an older leader's
        // configuration (the single-server change bug, raft-dev 2015).
        return {errc::not_ready, "leader has not yet committed an entry in its term"};
    }
    const bool voter = is_voter(cc.node);
    const bool learner = is_learner(cc.node);
    switch (cc.type) {
        case conf_change_type::add_voter:
            if (voter) {
                return {errc::invalid_conf_change, fmt::format("{} is already a voter", cc.node)};
            }
            if (learner && _progress.at(cc.node).match < _log.committed()) {
                return {errc::learner_not_caught_up,
                        fmt::format("learner {} holds index {}, commit is {}", cc.node,
                                    _progress.at(cc.node).match, _log.committed())};
            }
            break;
        case conf_change_type::add_learner:
            if (voter || learner) {
                return {errc::invalid_conf_change,
                        fmt::format("{} is already a {}", cc.node, voter ? "voter" : "learner")};
            }
            break;
        case conf_change_type::remove_node:
            if (!voter && !learner) {
                return {errc::unknown_member, fmt::format("{} is not a member", cc.node)};
            }
            if (voter && _conf.voters.size() == 1) {
                return {errc::invalid_conf_change, "cannot remove the last voter"};
            }
            break;
    }
    entry e;
    e.type = entry_type::conf_change;
    e.data = cc.encode();
    const log_index index = _log.last_index() + 1;
    append_entries({std::move(e)});
    _pending_conf_index = index;
    bcast_append();
    logf(fmt::format("proposed {} {} at index {}", to_string(cc.type), cc.node, index));
    return index;
}

result<void> core::transfer_leadership(node_id to) {
    if (_role != role::leader) {
        return {errc::not_leader, fmt::format("leader is {}", _leader)};
    }
    if (to == _id) {
        return ok();
    }
    if (!is_voter(to)) {
        return {errc::unknown_member, fmt::format("transfer target {} is not a voter", to)};
    }
    if (_lead_transferee == to) {
        return ok();
    }
    _lead_transferee = to;
    // The transfer must finish within one election timeout or it is aborted
    // (tick_heartbeat), so proposals are not blocked forever.
    _election_elapsed = 0;
    logf(fmt::format("transferring leadership to {}", to));
    const progress& pr = _progress.at(to);
    if (pr.match == _log.last_index()) {
        message t;
        t.type = message_type::timeout_now;
        t.to = to;
        send(std::move(t));
        logf(fmt::format("sent timeout_now to {}: caught up", to));
    } else {
        maybe_send_append(to, true);
    }
    return ok();
}

result<void> core::read_index(std::string ctx) {
    if (_role == role::leader) {
        handle_read_index_request(_id, std::move(ctx));
        return ok();
    }
    if (_leader == no_node) {
        return {errc::not_leader, "no known leader"};
    }
    message m;
    m.type = message_type::read_index;
    m.to = _leader;
    m.context = std::move(ctx);
    send(std::move(m));
    return ok();
}

void core::handle_read_index_request(node_id from, std::string ctx) {
    if (!committed_entry_in_current_term()) {
        // Our commit index may lag the previous leader's until we commit in
        // our own term (thesis §6.4 step 1); answer once we have.
        _reads_before_commit.emplace_back(from, std::move(ctx));
        return;
    }
    if (voter_count() == 1 && is_voter(_id)) {
        if (from == _id) {
            _read_states.push_back(read_state{_log.committed(), std::move(ctx)});
        } else {
            message r;
            r.type = message_type::read_index_response;
            r.to = from;
            r.index = _log.committed();
            r.context = std::move(ctx);
            send(std::move(r));
        }
        return;
    }
    _pending_reads.push_back(pending_read{++_read_seq, _log.committed(), from, std::move(ctx)});
    bcast_heartbeat();
}

void core::release_pending_reads() {
    while (!_pending_reads.empty()) {
        const pending_read& front = _pending_reads.front();
        int acks = 0;
        for (node_id v : _conf.voters) {
            auto it = _read_acked.find(v);
            if (v == _id || (it != _read_acked.end() && it->second >= front.seq)) {
                ++acks;
            }
        }
        if (acks < quorum()) {
            return;
        }
        if (front.from == _id) {
            _read_states.push_back(read_state{front.index, front.ctx});
        } else {
            message r;
            r.type = message_type::read_index_response;
            r.to = front.from;
            r.index = front.index;
            r.context = front.ctx;
            send(std::move(r));
        }
        _pending_reads.pop_front();
    }
}

// ---------------------------------------------------------------- membership

void core::set_conf(conf_state c) {
    std::sort(c.voters.begin(), c.voters.end());
    std::sort(c.learners.begin(), c.learners.end());
    _conf = std::move(c);
    const log_index last = _log.last_index();
    auto ensure = [&](node_id n, bool learner) {
        auto [it, inserted] = _progress.try_emplace(n, _cfg.max_inflight_msgs);
        if (inserted) {
            it->second.next = last + 1;
            it->second.recent_active = true;
            if (n == _id) {
                it->second.match = last;
            }
        }
        it->second.is_learner = learner;
    };
    for (node_id v : _conf.voters) {
        ensure(v, false);
    }
    for (node_id l : _conf.learners) {
        ensure(l, true);
    }
    std::erase_if(_progress,
                  [&](const auto& kv) { return !is_voter(kv.first) && !is_learner(kv.first); });
}

void core::apply_conf_change(const conf_change& cc, log_index index) {
    if (index <= _conf_index) {
        return;  // already in effect (replayed at start, or part of a snapshot)
    }
    _conf_index = index;
    conf_state c = _conf;
    switch (cc.type) {
        case conf_change_type::add_voter:
            erase_value(c.learners, cc.node);
            insert_sorted(c.voters, cc.node);
            break;
        case conf_change_type::add_learner:
            if (is_voter(cc.node)) {
                // Refused at proposal; skipped the same way on every member.
                logf(fmt::format("skipped add_learner {}: already a voter", cc.node));
                return;
            }
            insert_sorted(c.learners, cc.node);
            break;
        case conf_change_type::remove_node:
            if (c.voters.size() == 1 && c.voters.front() == cc.node) {
                logf(fmt::format("skipped remove_node {}: last voter", cc.node));
                return;
            }
            erase_value(c.voters, cc.node);
            erase_value(c.learners, cc.node);
            break;
    }
    set_conf(std::move(c));
    logf(fmt::format("applied {} {}: voters {} learners {}", to_string(cc.type), cc.node,
                     fmt::join(_conf.voters, ","), fmt::join(_conf.learners, ",")));
    if (_role != role::leader) {
        return;
    }
    if (!is_voter(_id)) {
        // Removed (or demoted) leader: hand off to the most caught-up voter so
        // the group need not wait out an election timeout, then step down.
        node_id best;
        log_index best_match;
        for (node_id v : _conf.voters) {
            const progress& pr = _progress.at(v);
            if (pr.match > best_match || best == no_node) {
                best = v;
                best_match = pr.match;
            }
        }
        if (best != no_node && best_match == _log.last_index()) {
            message t;
            t.type = message_type::timeout_now;
            t.to = best;
            send(std::move(t));
        }
        logf("stepping down: removed from the group");
        become_follower(_term, no_node);
        return;
    }
    if (_lead_transferee != no_node && !is_voter(_lead_transferee)) {
        abort_leader_transfer();
    }
    if (maybe_commit()) {
        bcast_append();
    } else {
        for (auto& [id, pr] : _progress) {
            if (id != _id) {
                maybe_send_append(id, false);
            }
        }
    }
}

// ---------------------------------------------------------------- time

void core::tick() {
    if (_role == role::leader) {
        tick_heartbeat();
    } else {
        tick_election();
    }
}

void core::tick_election() {
    ++_election_elapsed;
    if (promotable() && _election_elapsed >= _randomized_election_timeout) {
        _election_elapsed = 0;
        campaign();
    }
}

void core::tick_heartbeat() {
    ++_heartbeat_elapsed;
    ++_election_elapsed;
    if (_election_elapsed >= _cfg.election_tick) {
        _election_elapsed = 0;
        if (_cfg.check_quorum) {
            if (!quorum_active()) {
                logf("stepped down: quorum not active");
                become_follower(_term, no_node);
                return;
            }
            for (auto& [id, pr] : _progress) {
                pr.recent_active = id == _id;
            }
        }
        if (_lead_transferee != no_node) {
            logf(fmt::format("aborted leadership transfer to {}: timed out", _lead_transferee));
            abort_leader_transfer();
        }
    }
    if (_heartbeat_elapsed >= _cfg.heartbeat_tick) {
        _heartbeat_elapsed = 0;
        bcast_heartbeat();
    }
}

void core::abort_leader_transfer() {
    _lead_transferee = no_node;
}

void core::reset_randomized_election_timeout() {
    const int jitter =
        _cfg.election_jitter_tick > 0 ? _cfg.election_jitter_tick : _cfg.election_tick;
    _randomized_election_timeout =
        _cfg.election_tick + static_cast<int>(next_random() % static_cast<uint64_t>(jitter));
}

uint64_t core::next_random() {
    // splitmix64: small, fast, and the same sequence on every platform.
    uint64_t z = (_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void core::logf(const std::string& line) const {
    if (_cfg.logger) {
        _cfg.logger(fmt::format("{} {}", _id, line));
    }
}

}  // namespace fjord::raft
