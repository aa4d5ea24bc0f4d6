#pragma once
// File: controller/raft/raft.h
//
// The Raft state machine: one member's election, replication, snapshot,
// membership and read-index logic. Pure: inputs are peer messages, ticks and
// local requests; outputs accumulate in `_msgs` and `_read_states` and leave
// through raft::node's ready record. No sockets, disk, clock or threads.
//
// Roles and the step functions (etcd's design, Ongaro's thesis for the rules):
//
//   follower ──election timeout──▶ pre_candidate ──pre-vote quorum──▶ candidate
//      ▲                                                                 │
//      └──────────── higher term / leader seen ◀──── leader ◀──vote quorum┘
//
// Safety rules worth naming, with where they live:
//   - a vote is granted at most once per term, to an up-to-date log (step)
//   - a leader commits by counting only entries of its own term (maybe_commit)
//   - with check_quorum, a member that heard from a leader within an election
//     timeout less one tick ignores votes (the leader's lease; the tick of
//     slack covers unaligned ticks), unless the vote comes from a
//     leadership transfer; a leader that has not heard from a quorum within an
//     election timeout steps down (tick_heartbeat)
//   - one membership change at a time, proposed only after the leader has
//     committed an entry of its term (propose_conf_change); a change takes
//     effect when applied (apply_conf_change)
//
// Threading: none. The owner calls everything from one thread.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/raft/progress.h"
#include "controller/raft/raft_log.h"
#include "controller/raft/storage.h"

namespace fjord::raft {

struct config {
    node_id id;
    /// Ticks without hearing from a leader before campaigning.
    int election_tick = 10;
    /// The timeout is drawn from [election_tick, election_tick + jitter);
    /// 0 means a jitter of election_tick (etcd's range).
    int election_jitter_tick = 0;
    /// Ticks between leader heartbeats. Must be < election_tick.
    int heartbeat_tick = 1;
    bool pre_vote = true;
    bool check_quorum = true;
    /// Upper bound on the bytes of entries in one append message.
    uint64_t max_size_per_msg = 1 << 20;
    /// Pipelining depth: appends in flight to one follower.
    size_t max_inflight_msgs = 256;
    /// Upper bound on the bytes of committed entries in one ready.
    uint64_t max_committed_size_per_ready = 64 << 20;
    /// Snapshot data is sent in chunks of this many bytes.
    uint64_t snapshot_chunk_size = 1 << 20;
    /// Seed of the core's own PRNG (election jitter); the core never reads a clock.
    uint64_t seed = 0;
    /// The membership of a brand-new group, used only when storage is empty:
    /// the founding members write it as the first log entries (identical on
    /// each). A member joining an existing group passes none and learns its
    /// configuration from the leader's log or snapshot.
    std::vector<node_id> bootstrap_voters;
    std::vector<node_id> bootstrap_learners;
    /// Opaque context (e.g. addresses) for each founding member's bootstrap
    /// entry, so members added later learn it from the log. Identical on
    /// every founder, like the lists above.
    std::map<node_id, std::string> bootstrap_context;
    /// Receives one line per notable event ("became leader at term 3").
    std::function<void(const std::string&)> logger;
};

class core {
  public:
    core(const config& c, storage& s);

    // --- inputs ---
    void tick();
    /// Handles one peer message. Messages addressed to others are ignored.
    void step(message m);
    /// Starts an election now (pre-vote first when enabled).
    void campaign();
    /// Appends `data` entries to the leader's log; returns the first index.
    result<log_index> propose(std::vector<std::string> data);
    result<log_index> propose_conf_change(const conf_change& cc);
    /// Hands leadership to `to` once it has caught up (TimeoutNow).
    result<void> transfer_leadership(node_id to);
    /// Requests a linearizable read point; answered as a read_state with `ctx`.
    result<void> read_index(std::string ctx);
    /// The ready loop persisted entries through (index, t). A leader counts
    /// its own copy toward commit only from here, which is what lets it send
    /// appends before its own write is durable (thesis §10.2.1).
    void on_persisted(log_index index, term_id t);
    /// Applies the committed membership change at `index` (called by
    /// node::advance in log order; a change at or below the configuration's
    /// index is already in effect and ignored).
    void apply_conf_change(const conf_change& cc, log_index index);

    // --- state ---
    node_id id() const { return _id; }
    term_id term() const { return _term; }
    node_id vote() const { return _vote; }
    node_id leader() const { return _leader; }
    raft::role role() const { return _role; }
    node_id lead_transferee() const { return _lead_transferee; }
    const conf_state& conf() const { return _conf; }
    bool is_voter(node_id n) const;
    bool is_learner(node_id n) const;
    hard_state current_hard_state() const { return {_term, _vote, _log.committed()}; }
    soft_state current_soft_state() const { return {_leader, _role}; }
    raft_log& log() { return _log; }
    const raft_log& log() const { return _log; }
    /// Leader only: each member's progress.
    const std::map<node_id, progress>& progress_map() const { return _progress; }

    // --- outputs, drained by node ---
    std::vector<message> take_messages() { return std::exchange(_msgs, {}); }
    std::vector<read_state> take_read_states() { return std::exchange(_read_states, {}); }
    bool has_output() const { return !_msgs.empty() || !_read_states.empty(); }

  private:
    enum class campaign_kind { pre_election, election, transfer };

    void become_follower(term_id t, node_id leader);
    void become_pre_candidate();
    void become_candidate();
    void become_leader();
    void reset(term_id t);
    void bootstrap(const config& c);
    void do_campaign(campaign_kind k);
    /// A committed membership change not yet applied (blocks every campaign).
    bool conf_change_pending_apply() const;
    bool promotable() const;
    int voter_count() const { return static_cast<int>(_conf.voters.size()); }
    int quorum() const { return voter_count() / 2 + 1; }
    /// Records a vote response; returns (granted, rejected) counts so far.
    std::pair<int, int> poll(node_id from, bool granted);

    void step_leader(message& m);
    void step_candidate(message& m);
    void step_follower(message& m);
    void handle_append(message& m);
    void handle_append_response(const message& m);
    void handle_heartbeat(const message& m);
    void handle_snapshot_chunk(message& m);
    void handle_vote(const message& m);
    void handle_read_index_request(node_id from, std::string ctx);
    bool restore(snapshot s);

    void send(message m);
    /// Sends the next append (or snapshot chunk) to `to` if it is not paused.
    bool maybe_send_append(node_id to, bool send_if_empty);
    void send_snapshot_chunk(node_id to, progress& pr);
    std::shared_ptr<const snapshot> snapshot_for_send();
    void send_heartbeat(node_id to, const std::string& ctx);
    void bcast_append();
    void bcast_heartbeat();
    bool maybe_commit();
    void append_entries(std::vector<entry> ents);
    bool committed_entry_in_current_term() const;
    bool quorum_active() const;
    void tick_election();
    void tick_heartbeat();
    void abort_leader_transfer();
    void release_pending_reads();
    void reset_randomized_election_timeout();
    uint64_t next_random();
    void logf(const std::string& line) const;
    void set_conf(conf_state c);

    node_id _id;
    config _cfg;
    raft_log _log;
    term_id _term;
    node_id _vote;
    node_id _leader;
    raft::role _role = role::follower;
    conf_state _conf;
    std::map<node_id, progress> _progress;
    std::map<node_id, bool> _votes;

    int _election_elapsed = 0;
    int _heartbeat_elapsed = 0;
    int _randomized_election_timeout = 0;
    uint64_t _rng;

    node_id _lead_transferee;
    /// Index of the latest membership change the leader appended; no new
    /// change is accepted until it is applied.
    log_index _pending_conf_index;
    /// The log index of the last membership change in effect in _conf.
    log_index _conf_index;

    // ReadIndex (thesis §6.4). Each request gets a sequence number carried in
    // the heartbeat context; a follower's echo of sequence s confirms the
    // leader for every request up to s.
    struct pending_read {
        uint64_t seq;
        log_index index;
        node_id from;  // this member, or the follower that asked
        std::string ctx;
    };
    std::deque<pending_read> _pending_reads;
    std::vector<std::pair<node_id, std::string>> _reads_before_commit;
    std::map<node_id, uint64_t> _read_acked;
    uint64_t _read_seq = 0;

    /// Leader: the storage snapshot last loaded for sending, shared by all
    /// followers being caught up with it.
    std::shared_ptr<const snapshot> _snapshot_cache;
    /// Follower: snapshot chunks received so far from the current leader.
    std::optional<snapshot> _incoming_snapshot;

    std::vector<message> _msgs;
    std::vector<read_state> _read_states;
};

}  // namespace fjord::raft
