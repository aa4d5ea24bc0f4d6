// File: controller/sim/sim.cc
//
// The simulation of sim.h. Layout: the PRNG and constants; checked_log and
// checked_state, thin decorators through which the simulation watches the
// real log and state machine (they forward every call unchanged); the
// simulation itself (event queue, members, network, clients, faults, checks).
//
// How a member runs: its raft_loop is driven by run_once() whenever a message
// or request was posted to it and at every tick of its own (drifting) clock;
// a paused member is simply not run, and a member that synced is busy for the
// simulated fsync latency before it runs again (group commit then batches
// what arrived meanwhile). A crash destroys the loop, the state machine and
// the log (the loop's stop() answers its waiters, as a dropped connection
// would), then crashes the member's in-memory disk; a restart reopens the
// log and builds fresh objects, like a process start. A crash may also hit
// in the middle of a sync: the disk's hook throws power_loss out of
// run_once, before the sync has taken effect.
//
// A violation found inside a completion (which may run inside a destructor,
// through raft_loop::stop) is recorded and raised after the event instead of
// thrown there.

#include "controller/sim/sim.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>

#include <fmt/format.h>

#include "common/assert.h"
#include "common/cluster/errc.h"
#include "common/fs/memory_file_ops.h"
#include "common/log.h"
#include "common/metrics.h"
#include "controller/loop/controller_state.h"
#include "controller/loop/raft_loop.h"
#include "controller/raft/errc.h"
#include "controller/storage/segmented_log.h"
#include "fjord/controller/v1/commands.pb.h"

namespace fjord::sim {
namespace {

namespace v1 = controller::v1;
using clock = loop::raft_loop::clock;
/// The real durable log (named so: inside a raft::storage, `storage` is the class).
using durable_log = storage::segmented_log;
using fs::testing::crash_tail;
using fs::testing::memory_file_ops;

/// A violation stops the run; thrown only inside this file and caught by run().
struct violation {
    std::string what;
};

/// Thrown by a disk's sync hook: the power went in the middle of that sync.
struct power_loss {};

/// splitmix64: deterministic across platforms.
class rng {
  public:
    explicit rng(uint64_t seed) : _s(seed) {}
    uint64_t next() {
        uint64_t z = (_s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
    uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
    bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

  private:
    uint64_t _s;
};

constexpr uint64_t tick_us = 10'000;  // one Raft tick = 10 ms of a member's clock
constexpr uint64_t quiet_us = 3'000'000;
constexpr int client_count = 4;
constexpr int broker_count = 3;
constexpr int64_t epoch_ms = 1'700'000'000'000;  // the clients' wall clock at t = 0
constexpr const char* topic_names[] = {"orders", "payments", "audit.log"};

/// The session key of a command: (client id, seq). Items are always 0 here.
using session_key = std::pair<std::string, uint64_t>;

/// A result as comparable text: "ok", or "<category>/<code>: <detail>".
std::string outcome_text(const result<void>& r) {
    if (r) {
        return "ok";
    }
    return fmt::format("{}/{}: {}", r.error().code.category().name(), r.error().code.value(),
                       r.error().detail);
}

/// An answer the state machine gave (success or one of its own errors), as
/// opposed to the loop's not-leader, dropped, unknown or shutting-down.
bool definite(const result<void>& r) {
    return r || r.error().code.category() == cluster::error_category();
}

std::string member_dir(node_id id) {
    return fmt::format("/m{}", id);
}

v1::Member member_record(node_id id) {
    v1::Member m;
    m.set_id(id.value());
    m.set_peer_address(fmt::format("sim-{}:9100", id));
    m.set_api_address(fmt::format("sim-{}:9200", id));
    return m;
}

std::string member_context(node_id id) {
    v1::MemberContext mc;
    *mc.mutable_member() = member_record(id);
    return mc.SerializeAsString();
}

const char* conf_change_name(raft::conf_change_type t) {
    switch (t) {
        case raft::conf_change_type::add_voter:
            return "add_voter";
        case raft::conf_change_type::add_learner:
            return "add_learner";
        case raft::conf_change_type::remove_node:
            return "remove_node";
    }
    return "?";
}

class simulation;

/// The real segmented_log, with every write reported to the simulation.
class checked_log final : public raft::storage {
  public:
    checked_log(simulation& sim, node_id id, std::unique_ptr<durable_log> log)
        : _sim(sim), _id(id), _log(std::move(log)) {}

    raft::hard_state initial_hard_state() const override { return _log->initial_hard_state(); }
    raft::snapshot_meta snapshot_metadata() const override { return _log->snapshot_metadata(); }
    result<std::vector<raft::entry>> entries(log_index lo, log_index hi,
                                             uint64_t max_bytes) const override {
        return _log->entries(lo, hi, max_bytes);
    }
    result<term_id> term(log_index i) const override { return _log->term(i); }
    log_index first_index() const override { return _log->first_index(); }
    log_index last_index() const override { return _log->last_index(); }
    result<raft::snapshot> load_snapshot() const override { return _log->load_snapshot(); }

    result<void> append(std::span<const raft::entry> entries) override;
    result<void> set_hard_state(const raft::hard_state& hs) override;
    result<void> sync() override;
    result<void> install_snapshot(const raft::snapshot& s) override;
    result<void> create_snapshot(log_index i, const raft::conf_state& conf,
                                 std::string data) override;

  private:
    simulation& _sim;
    node_id _id;
    std::unique_ptr<durable_log> _log;
    std::optional<raft::hard_state> _hs;  // the latest set in this incarnation
};

/// The real controller_state, with every apply reported to the simulation.
class checked_state final : public loop::state_machine {
  public:
    checked_state(simulation& sim, node_id id, stm::stm_config cfg)
        : _sim(sim), _id(id), _state(std::move(cfg)) {}

    result<void> apply(const raft::entry& e) override {
        return std::move(apply_batch(std::span<const raft::entry>(&e, 1)).front());
    }
    std::vector<result<void>> apply_batch(std::span<const raft::entry> entries) override;
    std::string snapshot() override { return _state.snapshot(); }
    result<void> restore(const raft::snapshot& s) override;

    loop::controller_state& state() { return _state; }

  private:
    simulation& _sim;
    node_id _id;
    loop::controller_state _state;
};

/// One member's outbound network.
class sim_link final : public raft::transport {
  public:
    sim_link(simulation& sim, node_id from) : _sim(sim), _from(from) {}
    void send(raft::message m) override;

  private:
    simulation& _sim;
    node_id _from;
};

/// What a member's syncs have promised: a crash must not lose it.
struct durable_promise {
    term_id term;
    node_id vote;
    log_index last;  // the log is durable through here (0: nothing promised)
    term_id last_term;
};

/// One simulated member: its disk survives crashes; the rest is a process.
struct member {
    node_id id;
    bool founder = false;
    bool up = false;
    bool retired = false;  // removed from the group and shut down for good
    uint64_t incarnation = 0;
    std::shared_ptr<memory_file_ops> disk = std::make_shared<memory_file_ops>(raft::errc::io_error);
    durable_promise promised;
    std::map<term_id, node_id> votes;  // votes made durable, across incarnations

    // The process (destroyed by a crash). The loop goes first: it refers to the rest.
    std::unique_ptr<checked_log> log;
    std::unique_ptr<checked_state> sm;
    std::unique_ptr<sim_link> link;
    std::unique_ptr<metrics::registry> metrics;
    std::unique_ptr<loop::raft_loop> loop;

    // Clock: clock_base_us at clock_since (simulated time), running at rate/1000.
    uint64_t clock_base_us = 0;
    uint64_t clock_since = 0;
    uint64_t rate = 1000;
    uint64_t paused_until = 0;
    uint64_t busy_until = 0;  // fsync latency of its last pass
    bool run_pending = false;
    int crash_at_sync = 0;  // > 0: the power goes at that many syncs from now

    log_index sm_applied;          // the state machine's applied index
    std::vector<log_index> stamp;  // applied this pass: stamped with the term after it
    term_id led_term;              // the last term it was seen leading
    log_index last_commit;         // within this incarnation: must not go back
};

struct applied_entry {
    term_id term;
    raft::entry_type type;
    std::string data;
    std::string outcome;
    term_id committed_by;  // an upper bound of the term of the leader that committed it
};

/// What the log says about one session key.
struct key_record {
    log_index first;      // the first committed entry with this key
    std::string outcome;  // what applying it answered
    int changes = 0;      // applications of the key that changed the state
};

struct client {
    int idx = 0;
    std::string id;
    uint64_t seq = 0;  // the command in progress (0: none yet)
    std::string bytes;
    std::string what;
    bool in_progress = false;
    uint64_t attempt = 0;  // the attempt awaited (0: none)
    node_id hint;
    uint64_t broker_registrations = 0;
};

struct attempt_rec {
    int client = 0;
    uint64_t seq = 0;  // 0: a read
    node_id at;
    uint64_t incarnation = 0;
    uint64_t sent_us = 0;
    int answers = 0;
    log_index read_floor;  // reads: the floor at invocation
};

class simulation {
  public:
    explicit simulation(const options& o) : _o(o), _rng(o.seed) {}

    ~simulation() {
        // Loops answer their waiters when destroyed: into this object, whose
        // members below still exist while the members are destroyed.
        _shutting_down = true;
        for (auto& [id, mb] : _members) {
            shutdown(*mb);
        }
    }

    outcome execute() {
        outcome out;
        try {
            setup();
            const uint64_t end_faults = _o.duration_ms * 1000;
            const uint64_t end_all = end_faults + quiet_us;
            bool healed = false;
            while (!_events.empty()) {
                auto ev = _events.top();
                _events.pop();
                if (ev.at > end_all) {
                    break;
                }
                _now = ev.at;
                if (!healed && _now >= end_faults) {
                    heal_all();
                    healed = true;
                }
                _faults_on = _now < end_faults;
                ev.fn();
                ++_stats.events;
                raise_deferred();
            }
            _now = end_all;
            final_check();
        } catch (const violation& v) {
            out.ok = false;
            out.violation = fmt::format("t={}us: {}", _now, v.what);
        }
        out.trace.assign(_trace.begin(), _trace.end());
        out.trace_hash = _trace_hash;
        out.events = _stats.events;
        out.writes_acked = _stats.acked;
        out.retries = _stats.retries;
        out.reads_ok = _stats.reads_ok;
        out.elections = _stats.elections;
        out.crashes = _stats.crashes;
        out.snapshots_sent = _stats.snapshots_sent;
        out.conf_changes = _stats.conf_changes;
        out.transfers = _stats.transfers;
        return out;
    }

    // ------------------------------------------------------------ hooks

    void on_append(node_id id, const durable_log& lg, std::span<const raft::entry> ents);
    void on_truncate(node_id id, log_index cut, const durable_log& lg);
    void on_set_hard_state(node_id id, const raft::hard_state& hs);
    void on_synced(node_id id, const raft::hard_state& hs, const durable_log& lg);
    void on_install_snapshot(node_id id, const raft::snapshot_meta& meta, bool done);
    void on_apply(node_id id, const raft::entry& e, const result<void>& r, bool changed);
    void on_restore(node_id id, log_index index);
    void send(node_id from, raft::message msg);

  private:
    struct event {
        uint64_t at;
        uint64_t seq;
        std::function<void()> fn;
        bool operator>(const event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
    };

    // ------------------------------------------------------------ plumbing

    void at(uint64_t when, std::function<void()> fn) {
        _events.push(event{when, _seq++, std::move(fn)});
    }

    void record_line(std::string line) {
        for (char ch : line) {  // FNV-1a
            _trace_hash = (_trace_hash ^ static_cast<uint8_t>(ch)) * 0x100000001B3ull;
        }
        _trace_hash = (_trace_hash ^ '\n') * 0x100000001B3ull;
        if (_o.verbose) {
            fmt::print("{}\n", line);
        }
        _trace.push_back(std::move(line));
        if (_trace.size() > 400) {
            _trace.pop_front();
        }
    }

    template <typename... A>
    void trace(fmt::format_string<A...> f, A&&... args) {
        record_line(fmt::format("[{:>9}] ", _now) + fmt::format(f, std::forward<A>(args)...));
    }

    template <typename... A>
    [[noreturn]] void fail(fmt::format_string<A...> f, A&&... args) {
        throw violation{fmt::format(f, std::forward<A>(args)...)};
    }

    /// For code that may run inside a destructor: raised after the event.
    template <typename... A>
    void defer_fail(fmt::format_string<A...> f, A&&... args) {
        if (_deferred.empty() && !_shutting_down) {
            _deferred = fmt::format(f, std::forward<A>(args)...);
        }
    }

    void raise_deferred() {
        if (!_deferred.empty()) {
            throw violation{std::exchange(_deferred, {})};
        }
    }

    member& m(node_id id) { return *_members.at(id); }

    uint64_t clock_us(const member& mb) const {
        return mb.clock_base_us + (_now - mb.clock_since) * mb.rate / 1000;
    }

    clock::time_point member_clock(node_id id) {
        return clock::time_point{} + std::chrono::duration_cast<clock::duration>(
                                         std::chrono::microseconds(clock_us(m(id))));
    }

    // ------------------------------------------------------------ setup

    void setup() {
        // Network, disk and clock character of this run.
        _drop_p = _rng.chance(0.3) ? 0.0 : static_cast<double>(_rng.below(8)) / 100.0;
        _dup_p = static_cast<double>(_rng.below(4)) / 100.0;
        _delay_lo = _rng.between(200, 1000);
        _delay_hi = _delay_lo + _rng.between(500, 8000);
        _fsync_lo = _rng.between(20, 300);
        _fsync_hi = _fsync_lo + _rng.between(100, 2000);
        // Small messages make leaders replicate old-term entries ahead of
        // their own (the Figure 8 window); small windows exercise flow control.
        _max_msg_bytes = _rng.chance(0.5) ? _rng.between(1, 400) : _rng.between(400, 8192);
        _max_inflight = static_cast<size_t>(_rng.between(1, 16));
        _chunk_bytes = _rng.between(16, 1024);
        // Mostly frequent snapshots (InstallSnapshot, restarts from one);
        // sometimes rare ones, so that a restart rebuilds its configuration
        // from the log.
        _snapshot_entries = _rng.chance(0.7) ? _rng.between(4, 64) : _rng.between(200, 2000);
        _segment_bytes = _rng.between(256, 16384);
        // Short deadlines make outcome-unknown answers and retries; long
        // ones keep a deposed leader's waiters alive until it leads again.
        _expiry_us = (_rng.chance(0.6) ? _rng.between(100, 800) : _rng.between(800, 3000)) * 1000;
        trace(
            "seed {} nodes {} drop {:.2f} dup {:.2f} delay {}-{}us fsync {}-{}us msg {}B "
            "inflight {} chunk {}B snapshot every {} segment {}B expiry {}ms{}",
            _o.seed, _o.nodes, _drop_p, _dup_p, _delay_lo, _delay_hi, _fsync_lo, _fsync_hi,
            _max_msg_bytes, _max_inflight, _chunk_bytes, _snapshot_entries, _segment_bytes,
            _expiry_us / 1000, _o.unsafe_no_fsync ? " UNSAFE: syncs do nothing" : "");
        for (int i = 1; i <= _o.nodes; ++i) {
            _founders.push_back(node_id{static_cast<uint64_t>(i)});
            _conf_voters.insert(node_id{static_cast<uint64_t>(i)});
        }
        for (node_id id : _founders) {
            _stm_config.initial_members.push_back(member_record(id));
        }
        _next_id = static_cast<uint64_t>(_o.nodes) + 1;
        for (node_id id : _founders) {
            add_member(id, true);
            start(id);
        }
        for (int c = 0; c < client_count; ++c) {
            client cl;
            cl.idx = c;
            cl.id = fmt::format("sim-{:x}-{}", _o.seed, c);
            _clients.push_back(cl);
            at(_rng.between(50'000, 300'000), [this, c] { client_next(c); });
        }
        at(_rng.between(200'000, 500'000), [this] { fault_step(); });
    }

    void add_member(node_id id, bool founder) {
        auto mb = std::make_unique<member>();
        mb->id = id;
        mb->founder = founder;
        mb->disk->set_syncs_durable(!_o.unsafe_no_fsync);
        member* raw = mb.get();
        mb->disk->set_before_sync([raw](const std::string&) {
            if (raw->crash_at_sync > 0 && --raw->crash_at_sync == 0) {
                throw power_loss{};
            }
        });
        _members.emplace(id, std::move(mb));
    }

    loop::raft_loop_options loop_options(member& mb) {
        loop::raft_loop_options lo;
        raft::config& c = lo.raft;
        c.id = mb.id;
        c.election_tick = 10;
        c.election_jitter_tick = 5;  // as controller_server: [T, 1.5 T)
        c.heartbeat_tick = 1;
        c.pre_vote = true;
        c.check_quorum = true;
        c.max_size_per_msg = _max_msg_bytes;
        c.max_inflight_msgs = _max_inflight;
        c.snapshot_chunk_size = _chunk_bytes;
        c.seed = _o.seed * 31 + mb.id.value() * 7 + mb.incarnation;
        if (mb.founder) {
            c.bootstrap_voters = _founders;
            for (node_id f : _founders) {
                c.bootstrap_context[f] = member_context(f);
            }
        }
        const node_id id = mb.id;
        c.logger = [this, id](const std::string& s) {
            record_line(fmt::format("[{:>9}]   {} raft {}", _now, id, s));
        };
        lo.tick = std::chrono::milliseconds(tick_us / 1000);
        lo.snapshot_entries = _snapshot_entries;
        lo.request_expiry = std::chrono::milliseconds(1500);
        lo.now = [this, id] { return member_clock(id); };
        lo.incarnation = (mb.id.value() << 16) + mb.incarnation;
        return lo;
    }

    /// A process start: reopen the log, rebuild the state, start the loop.
    void start(node_id id) {
        member& mb = m(id);
        mb.up = true;
        ++mb.incarnation;
        mb.crash_at_sync = 0;
        storage::options so;
        so.dir = member_dir(id);
        so.segment_size = _segment_bytes;
        so.fs = mb.disk;
        auto opened = durable_log::open(so);
        if (!opened) {
            fail("recovery: {} cannot open its log (incarnation {}): {}", id, mb.incarnation,
                 opened.error().message());
        }
        check_recovered(mb, **opened);
        mb.log = std::make_unique<checked_log>(*this, id, std::move(*opened));
        mb.sm = std::make_unique<checked_state>(*this, id, _stm_config);
        mb.sm_applied = mb.log->snapshot_metadata().index;
        if (mb.sm_applied > log_index{0}) {
            // As controller_server: the state restarts from the snapshot, and
            // the loop re-delivers the committed entries after it.
            auto snap = mb.log->load_snapshot();
            if (!snap) {
                fail("recovery: {} cannot load its snapshot: {}", id, snap.error().message());
            }
            if (auto r = mb.sm->state().restore(*snap); !r) {
                fail("recovery: {} cannot restore its snapshot: {}", id, r.error().message());
            }
        }
        mb.link = std::make_unique<sim_link>(*this, id);
        mb.metrics = std::make_unique<metrics::registry>();
        // The clock goes on at a new rate (a new process, perhaps another
        // machine's drift).
        mb.clock_base_us = clock_us(mb);
        mb.clock_since = _now;
        mb.rate = _rng.between(800, 1250);
        mb.paused_until = 0;
        mb.busy_until = 0;
        mb.run_pending = false;
        mb.stamp.clear();
        mb.led_term = term_id{0};
        mb.last_commit = log_index{0};
        mb.loop = std::make_unique<loop::raft_loop>(loop_options(mb), *mb.log, *mb.sm, *mb.link,
                                                    *mb.metrics);
        trace("start {} (incarnation {}) snapshot {} log [{}, {}] term {} clock x{}", id,
              mb.incarnation, mb.sm_applied, mb.log->first_index(), mb.log->last_index(),
              mb.log->initial_hard_state().term, static_cast<double>(mb.rate) / 1000.0);
        const uint64_t inc = mb.incarnation;
        at(_now + _rng.below(tick_us), [this, id, inc] { tick(id, inc); });
    }

    /// Destroys the process objects: the loop first (it answers its waiters).
    void shutdown(member& mb) {
        mb.loop.reset();
        mb.sm.reset();
        mb.log.reset();
        mb.link.reset();
        mb.metrics.reset();
        mb.up = false;
        mb.crash_at_sync = 0;
    }

    void crash(node_id id, const char* why) {
        member& mb = m(id);
        if (!mb.up) {
            return;
        }
        shutdown(mb);
        // What the disk leaves after its synced bytes.
        const crash_tail tails[] = {crash_tail::none, crash_tail::garbage, crash_tail::zeros,
                                    crash_tail::partial};
        const crash_tail tail = tails[_rng.below(4)];
        const uint64_t n = _rng.between(1, 64);
        mb.disk->crash(tail, n, static_cast<uint32_t>(_rng.next()));
        ++_stats.crashes;
        trace("crash {} ({}), tail {} of {}B", id, why, static_cast<int>(tail), n);
        poll_conf_changes();
    }

    void restart_later(node_id id, uint64_t lo, uint64_t hi) {
        at(_now + _rng.between(lo, hi), [this, id] {
            if (!m(id).up && !m(id).retired) {
                start(id);
            }
        });
    }

    // ------------------------------------------------------------ driving

    void tick(node_id id, uint64_t inc) {
        member& mb = m(id);
        if (!mb.up || mb.incarnation != inc) {
            return;
        }
        at(_now + tick_us * 1000 / mb.rate + 1, [this, id, inc] { tick(id, inc); });
        run(id);
    }

    /// Runs the member's loop soon (now, or when it resumes or finishes syncing).
    void kick(node_id id) {
        member& mb = m(id);
        if (!mb.up || mb.run_pending) {
            return;
        }
        mb.run_pending = true;
        const uint64_t inc = mb.incarnation;
        at(std::max({_now, mb.paused_until, mb.busy_until}), [this, id, inc] {
            member& x = m(id);
            if (x.up && x.incarnation == inc) {
                x.run_pending = false;
                run(id);
            }
        });
    }

    void run(node_id id) {
        member& mb = m(id);
        if (!mb.up) {
            return;
        }
        if (_now < mb.paused_until || _now < mb.busy_until) {
            kick(id);
            return;
        }
        const uint64_t syncs = mb.disk->total_syncs();
        try {
            mb.loop->run_once();
        } catch (const power_loss&) {
            crash(id, "power lost in the middle of a sync");
            restart_later(id, 20'000, 500'000);
            return;
        }
        after_run(mb);
        const uint64_t did = mb.disk->total_syncs() - syncs;
        if (did > 0) {
            mb.busy_until = _now + did * _rng.between(_fsync_lo, _fsync_hi);
        }
    }

    void after_run(member& mb) {
        const term_id t = mb.loop->term();
        for (log_index i : mb.stamp) {
            applied_entry& ae = _applied.at(i);
            ae.committed_by = std::min(ae.committed_by, t);
        }
        mb.stamp.clear();
        if (mb.loop->is_leader() && mb.led_term != t) {
            mb.led_term = t;
            on_became_leader(mb, t);
        }
        const log_index c = mb.loop->commit();
        if (c < mb.last_commit) {
            fail("commit went back on {} from {} to {} (incarnation {})", mb.id, mb.last_commit, c,
                 mb.incarnation);
        }
        mb.last_commit = c;
        poll_conf_changes();
        if (mb.loop->is_leader()) {
            retire_removed(mb);
        }
    }

    // ------------------------------------------------------------ network

    bool link_blocked(node_id from, node_id to) const { return _blocked.contains({from, to}); }

    void deliver(const raft::message& msg, node_id from, node_id to) {
        if (link_blocked(from, to)) {
            return;
        }
        auto it = _members.find(to);
        if (it == _members.end() || !it->second->up) {
            return;
        }
        // A paused member's kernel buffers it; the loop reads it when it runs.
        it->second->loop->deliver(msg);
        kick(to);
    }

    // ------------------------------------------------------------ clients

    std::optional<node_id> random_up_member() {
        std::vector<node_id> up;
        for (auto& [id, mb] : _members) {
            if (mb->up && !mb->retired) {
                up.push_back(id);
            }
        }
        if (up.empty()) {
            return std::nullopt;
        }
        return up[_rng.below(up.size())];
    }

    uint64_t client_end() const { return _o.duration_ms * 1000 + 1'500'000; }

    void client_next(int c) {
        client& cl = _clients[static_cast<size_t>(c)];
        if (_now > client_end()) {
            return;
        }
        if (cl.broker_registrations >= broker_count && _rng.chance(0.25)) {
            client_read(c);
            return;
        }
        ++cl.seq;
        v1::ControllerCommand cmd;
        cmd.set_principal(fmt::format("sim-client-{}", c));
        cmd.set_time_ms(epoch_ms + static_cast<int64_t>(_now / 1000));
        v1::CommandSession* s = cmd.mutable_session();
        s->set_client_id(cl.id);
        s->set_seq(cl.seq);
        s->set_first_outstanding(cl.seq);  // one request at a time
        s->set_item(0);
        const std::string name = topic_names[_rng.below(std::size(topic_names))];
        const uint64_t pick = _rng.below(100);
        if (c == 0 && cl.broker_registrations < broker_count) {
            const int32_t b = static_cast<int32_t>(++cl.broker_registrations);
            v1::Broker* br = cmd.mutable_register_broker()->mutable_broker();
            br->set_id(b);
            br->set_incarnation(fmt::format("broker-{}-incarnation", b));
            br->set_rack(fmt::format("rack-{}", b));
            cl.what = fmt::format("register broker {}", b);
        } else if (pick < 40) {
            v1::Topic* t = cmd.mutable_create_topic()->mutable_topic();
            t->set_name(name);
            const uint64_t u = _rng.next();
            t->set_uuid(fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", u >> 32,
                                    (u >> 16) & 0xFFFFu, u & 0xFFFu, (u >> 20) & 0xFFFu,
                                    (u * 31 + cl.seq) & 0xFFFFFFFFFFFFull));
            t->set_replication_factor(1);
            const int parts = static_cast<int>(_rng.between(1, 3));
            for (int p = 0; p < parts; ++p) {
                v1::PartitionAssignment* pa = t->add_partitions();
                pa->set_partition(p);
                pa->add_replicas(static_cast<int32_t>(1 + (p + c) % broker_count));
                pa->set_leader(-1);
            }
            cl.what = fmt::format("create {} ({} partitions)", name, parts);
        } else if (pick < 65) {
            cmd.mutable_delete_topic()->set_name(name);
            cl.what = fmt::format("delete {}", name);
        } else {
            // A value no other command sets: a success always changes the state.
            const std::string value = fmt::format("{}", 1'000'000 + c * 100'000 + cl.seq);
            auto* a = cmd.mutable_alter_topic_configs();
            a->set_name(name);
            (*a->mutable_set())["retention.ms"] = value;
            cl.what = fmt::format("alter {} retention.ms={}", name, value);
        }
        cl.bytes = cmd.SerializeAsString();
        cl.in_progress = true;
        _commands.emplace(session_key{cl.id, cl.seq}, cl.what);
        trace("client {} request {}: {}", c, cl.seq, cl.what);
        client_send(c);
    }

    void client_send(int c) {
        client& cl = _clients[static_cast<size_t>(c)];
        if (!cl.in_progress || cl.attempt != 0) {
            return;
        }
        std::optional<node_id> target;
        if (cl.hint != no_node && m(cl.hint).up && !m(cl.hint).retired) {
            target = cl.hint;
        } else {
            target = random_up_member();
        }
        if (!target) {
            at(_now + 20'000, [this, c] { client_send(c); });
            return;
        }
        member& mb = m(*target);
        const uint64_t aid = ++_attempt_seq;
        attempt_rec& rec = _attempts[aid];
        rec.client = c;
        rec.seq = cl.seq;
        rec.at = *target;
        rec.incarnation = mb.incarnation;
        rec.sent_us = _now;
        if (_attempts_by_key[{cl.id, cl.seq}]++ > 0) {
            ++_stats.retries;
        }
        cl.attempt = aid;
        const auto deadline = member_clock(*target) + std::chrono::duration_cast<clock::duration>(
                                                          std::chrono::microseconds(_expiry_us));
        trace("client {} request {} attempt {} to {}", c, cl.seq, aid, *target);
        mb.loop->propose(cl.bytes, deadline, [this, aid](result<void> r) { on_answer(aid, r); });
        kick(*target);
        // The client's own timer: the loop answers at the deadline by its
        // clock, unless it is paused or crashed; then the client moves on.
        at(_now + _expiry_us + 1'000'000, [this, c, aid] {
            client& x = _clients[static_cast<size_t>(c)];
            if (x.attempt == aid) {
                trace("client {} attempt {} timed out", c, aid);
                x.attempt = 0;
                x.hint = no_node;
                client_send(c);
            }
        });
    }

    void client_read(int c) {
        client& cl = _clients[static_cast<size_t>(c)];
        auto target = cl.hint != no_node && m(cl.hint).up ? std::optional<node_id>(cl.hint)
                                                          : random_up_member();
        if (!target) {
            at(_now + 20'000, [this, c] { client_next(c); });
            return;
        }
        const uint64_t aid = ++_attempt_seq;
        attempt_rec& rec = _attempts[aid];
        rec.client = c;
        rec.at = *target;
        rec.incarnation = m(*target).incarnation;
        rec.sent_us = _now;
        // Linearizability floor: every write acknowledged before the read began.
        rec.read_floor = std::max(_acked_floor, _read_seen);
        cl.attempt = aid;
        cl.in_progress = false;
        const auto deadline = member_clock(*target) + std::chrono::duration_cast<clock::duration>(
                                                          std::chrono::microseconds(_expiry_us));
        m(*target).loop->read_index(deadline,
                                    [this, aid](result<log_index> r) { on_read_answer(aid, r); });
        kick(*target);
        at(_now + _expiry_us + 1'000'000, [this, c, aid] {
            client& x = _clients[static_cast<size_t>(c)];
            if (x.attempt == aid) {
                x.attempt = 0;
                x.hint = no_node;
                client_next(c);
            }
        });
    }

    /// A proposal's completion: counted at once, acted on after the event.
    void on_answer(uint64_t aid, const result<void>& r) {
        attempt_rec& rec = _attempts.at(aid);
        if (++rec.answers > 1) {
            defer_fail(
                "reply contract: attempt {} (client {} request {} to {}) answered twice, "
                "now with {}",
                aid, rec.client, rec.seq, rec.at, outcome_text(r));
            return;
        }
        if (_shutting_down) {
            return;
        }
        at(_now, [this, aid, r] { client_answer(aid, r); });
    }

    void on_read_answer(uint64_t aid, const result<log_index>& r) {
        attempt_rec& rec = _attempts.at(aid);
        if (++rec.answers > 1) {
            defer_fail("reply contract: read {} answered twice", aid);
            return;
        }
        if (_shutting_down) {
            return;
        }
        std::optional<log_index> index;
        if (r) {
            index = *r;
        }
        at(_now, [this, aid, index] { client_read_answer(aid, index); });
    }

    void client_read_answer(uint64_t aid, std::optional<log_index> index) {
        attempt_rec& rec = _attempts.at(aid);
        client& cl = _clients[static_cast<size_t>(rec.client)];
        if (index) {
            // Linearizable: the read point covers every write acknowledged,
            // and every read point returned, before the read began; the
            // member has applied it.
            if (*index < rec.read_floor) {
                fail(
                    "stale read: client {} read at index {} on {}, below {} acknowledged or read "
                    "before the read began",
                    rec.client, *index, rec.at, rec.read_floor);
            }
            member& mb = m(rec.at);
            if (mb.up && mb.incarnation == rec.incarnation && mb.sm_applied < *index) {
                fail("read on {} answered at index {} with only {} applied", rec.at, *index,
                     mb.sm_applied);
            }
            _read_seen = std::max(_read_seen, *index);
            ++_stats.reads_ok;
            trace("client {} read at index {} on {}", rec.client, *index, rec.at);
        }
        if (cl.attempt == aid) {
            cl.attempt = 0;
            at(_now + _rng.between(1'000, 30'000), [this, c = rec.client] { client_next(c); });
        }
    }

    void client_answer(uint64_t aid, const result<void>& r) {
        attempt_rec& rec = _attempts.at(aid);
        client& cl = _clients[static_cast<size_t>(rec.client)];
        const session_key key{cl.id, rec.seq};
        const std::string text = outcome_text(r);
        if (definite(r)) {
            // The state machine answered: the command (this attempt's entry
            // or an earlier one with its key) was applied, and every answer
            // for the key is the outcome of its first application.
            auto k = _keys.find(key);
            if (k == _keys.end()) {
                fail(
                    "client {} request {} ({}) answered \"{}\" but no entry with its session was "
                    "applied",
                    rec.client, rec.seq, _commands.at(key), text);
            }
            if (k->second.outcome != text) {
                fail(
                    "exactly-once: client {} request {} ({}) answered \"{}\" by {} but its first "
                    "application at index {} answered \"{}\"",
                    rec.client, rec.seq, _commands.at(key), text, rec.at, k->second.first,
                    k->second.outcome);
            }
            auto [d, fresh] = _answered.try_emplace(key, text);
            if (!fresh && d->second != text) {
                fail("exactly-once: client {} request {} answered \"{}\" and \"{}\"", rec.client,
                     rec.seq, d->second, text);
            }
        }
        if (cl.attempt != aid) {
            return;  // an attempt the client gave up on; its answer was checked above
        }
        cl.attempt = 0;
        if (definite(r)) {
            const int code = r ? 0 : r.error().code.value();
            if (code == static_cast<int>(cluster::errc::outcome_unknown)) {
                fail(
                    "exactly-once: client {} request {} ({}) answered \"{}\", but the client "
                    "never gave it up",
                    rec.client, rec.seq, cl.what, text);
            }
            cl.in_progress = false;
            ++_stats.acked;
            _acked.emplace(key, text);
            _acked_floor = std::max(_acked_floor, _keys.at(key).first);
            trace("client {} request {} ({}) acknowledged by {}: {}", rec.client, rec.seq, cl.what,
                  rec.at, text);
            at(_now + _rng.between(1'000, 30'000), [this, c = rec.client] { client_next(c); });
            return;
        }
        // Not applied here, or not known: retry with the same session.
        trace("client {} request {} attempt {} on {}: {}", rec.client, rec.seq, aid, rec.at, text);
        if (r.error().code == raft::errc::not_leader) {
            member& mb = m(rec.at);
            cl.hint = mb.up ? mb.loop->leader() : no_node;
            at(_now + _rng.between(1'000, 20'000), [this, c = rec.client] { client_send(c); });
        } else {
            cl.hint = no_node;
            at(_now + _rng.between(5'000, 50'000), [this, c = rec.client] { client_send(c); });
        }
    }

    // ------------------------------------------------------------ faults

    std::vector<node_id> up_members() {
        std::vector<node_id> out;
        for (auto& [id, mb] : _members) {
            if (mb->up && !mb->retired) {
                out.push_back(id);
            }
        }
        return out;
    }

    std::vector<node_id> live_members() {
        std::vector<node_id> out;
        for (auto& [id, mb] : _members) {
            if (!mb->retired) {
                out.push_back(id);
            }
        }
        return out;
    }

    std::optional<node_id> current_leader() {
        std::optional<node_id> best;
        term_id best_term;
        for (auto& [id, mb] : _members) {
            if (mb->up && mb->loop->is_leader() && mb->loop->term() >= best_term) {
                best = id;
                best_term = mb->loop->term();
            }
        }
        return best;
    }

    void heal_all() {
        _blocked.clear();
        for (auto& [id, mb] : _members) {
            mb->paused_until = 0;
            mb->crash_at_sync = 0;
            if (!mb->up && !mb->retired) {
                start(id);
            }
        }
        trace("heal: partitions removed, every member up");
    }

    /// Crashes `count` members of the configuration at once.
    void crash_several(size_t count, const char* why) {
        std::vector<node_id> pool;
        for (node_id id : up_members()) {
            if (_conf_voters.contains(id) || _conf_learners.contains(id)) {
                pool.push_back(id);
            }
        }
        for (size_t k = 0; k < count && !pool.empty(); ++k) {
            const size_t i = _rng.below(pool.size());
            const node_id victim = pool[i];
            pool.erase(pool.begin() + static_cast<long>(i));
            crash(victim, why);
            restart_later(victim, 20'000, 400'000);
        }
    }

    void fault_step() {
        if (!_faults_on) {
            return;
        }
        at(_now + _rng.between(60'000, 300'000), [this] { fault_step(); });
        const auto live = live_members();
        const uint64_t pick = _rng.below(100);
        if (pick < 12) {
            // Crash one member: between two passes of its loop, or in the
            // middle of one of its next syncs.
            const auto up = up_members();
            if (up.empty()) {
                return;
            }
            const node_id victim = up[_rng.below(up.size())];
            if (_rng.chance(0.5)) {
                crash(victim, "killed");
                restart_later(victim, 50'000, 800'000);
            } else {
                member& v = m(victim);
                v.crash_at_sync = static_cast<int>(_rng.between(1, 5));
                const uint64_t inc = v.incarnation;
                trace("{} loses power at its sync #{} from now", victim, v.crash_at_sync);
                // If it does not sync that often soon, it crashes anyway.
                at(_now + 300'000, [this, victim, inc] {
                    member& x = m(victim);
                    if (x.up && x.incarnation == inc && x.crash_at_sync > 0) {
                        crash(victim, "killed while idle");
                        restart_later(victim, 50'000, 800'000);
                    }
                });
            }
        } else if (pick < 15) {
            // Power loss: every member at the same instant, so what was
            // acknowledged must have been durable on a majority.
            for (node_id id : live) {
                if (m(id).up) {
                    crash(id, "power loss");
                    restart_later(id, 20'000, 300'000);
                }
            }
        } else if (pick < 20) {
            crash_several(_conf_voters.size() / 2 + 1, "majority crash");
        } else if (pick < 30) {
            // Symmetric partition into two sides; often the leader alone, so
            // that it takes proposals it cannot commit and a new leader
            // overwrites them.
            _blocked.clear();
            std::set<node_id> side;
            if (auto l = current_leader(); l && _rng.chance(0.5)) {
                side.insert(*l);
            } else {
                for (node_id id : live) {
                    if (_rng.chance(0.5)) {
                        side.insert(id);
                    }
                }
            }
            for (node_id a : live) {
                for (node_id b : live) {
                    if (side.contains(a) != side.contains(b)) {
                        _blocked.insert({a, b});
                    }
                }
            }
            trace("partition: {} | rest", fmt::join(side, ","));
        } else if (pick < 40) {
            // Asymmetric: some directed links fail.
            _blocked.clear();
            std::string desc;
            for (node_id a : live) {
                for (node_id b : live) {
                    if (a != b && _rng.chance(0.2)) {
                        _blocked.insert({a, b});
                        desc += fmt::format(" {}->{}", a, b);
                    }
                }
            }
            trace("asymmetric partition:{}", desc);
        } else if (pick < 52) {
            _blocked.clear();
            trace("heal partitions");
        } else if (pick < 60) {
            if (auto l = current_leader(); l && !_conf_voters.empty()) {
                std::vector<node_id> voters(_conf_voters.begin(), _conf_voters.end());
                const node_id to = voters[_rng.below(voters.size())];
                (void)m(*l).loop->transfer_leadership(to);
                kick(*l);
                ++_stats.transfers;
                trace("transfer leadership {} -> {}", *l, to);
            }
        } else if (pick < 82) {
            if (!_conf_pending && _rng.chance(0.25)) {
                _storm = static_cast<int>(_rng.between(3, 6));
                trace("membership storm: {} changes", _storm);
            }
            membership_step();
        } else if (pick < 92) {
            // Pause a process (a long GC, SIGSTOP, a stalled disk): often the
            // leader, so that it wakes believing it still leads.
            std::optional<node_id> victim = current_leader();
            if (!victim || _rng.chance(0.3)) {
                victim = live[_rng.below(live.size())];
            }
            member& v = m(*victim);
            if (v.up) {
                v.paused_until = _now + _rng.between(50'000, 600'000);
                trace("pause {} until {}", *victim, v.paused_until);
            }
        }
    }

    void membership_step() {
        if (_conf_pending) {
            return;  // one change at a time, as an operator would
        }
        auto l = current_leader();
        if (!l) {
            return;
        }
        // The cycle an operator replacing a member goes through: add a
        // learner, promote it, remove a voter (often the leader itself).
        raft::conf_change cc;
        if (!_conf_learners.empty()) {
            cc.type = _rng.chance(0.8) ? raft::conf_change_type::add_voter
                                       : raft::conf_change_type::remove_node;
            cc.node = *_conf_learners.begin();
        } else if (_conf_voters.size() > 3 &&
                   (_conf_voters.size() >= static_cast<size_t>(_o.nodes) + 2 || _rng.chance(0.4))) {
            std::vector<node_id> voters(_conf_voters.begin(), _conf_voters.end());
            cc.type = raft::conf_change_type::remove_node;
            cc.node = _rng.chance(0.4) ? *l : voters[_rng.below(voters.size())];
        } else if (_conf_voters.size() < static_cast<size_t>(_o.nodes) + 2) {
            cc.type = raft::conf_change_type::add_learner;
            cc.node = node_id{_next_id++};
            cc.context = member_context(cc.node);
            add_member(cc.node, false);
            start(cc.node);
        } else {
            return;
        }
        _conf_pending = true;
        _conf_future = m(*l).loop->propose_conf_change(cc);
        _conf_proposed = cc;
        kick(*l);
        trace("leader {} proposes {} {}", *l, conf_change_name(cc.type), cc.node);
    }

    void poll_conf_changes() {
        if (!_conf_pending ||
            _conf_future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
            return;
        }
        _conf_pending = false;
        const result<void> r = _conf_future.get();
        trace("membership change {} {}: {}", conf_change_name(_conf_proposed.type),
              _conf_proposed.node, outcome_text(r));
        if (r) {
            _acked_confs.push_back(_conf_proposed);
        }
        if (!_faults_on) {
            return;
        }
        if (_storm > 0) {
            // A storm: changes back to back, then every member crashes. The
            // members must restart into the last configuration, although no
            // election (no hard-state write) and perhaps no snapshot came
            // between the changes.
            if (--_storm > 0) {
                at(_now + _rng.below(20'000), [this] {
                    if (_faults_on) {
                        membership_step();
                    }
                });
            } else {
                at(_now + _rng.below(30'000), [this] {
                    if (_faults_on) {
                        crash_several(SIZE_MAX, "power loss after a membership storm");
                    }
                });
            }
        } else if (r && _rng.chance(0.5)) {
            // Changes in quick succession: between two of them a crash
            // finds the most configurations not yet in any snapshot.
            at(_now + _rng.below(50'000), [this] {
                if (_faults_on) {
                    membership_step();
                }
            });
        }
    }

    /// A member removed by a committed change leaves for good once a leader
    /// other than it has applied the change and its operator got round to
    /// shutting it down: until then it runs, restarts and may vote or
    /// campaign, as a removed server may.
    void retire_removed(member& leader) {
        for (const auto& [x, removal] : _removed) {
            const auto [index, not_before] = removal;
            member& r = m(x);
            if (r.retired || x == leader.id || leader.loop->applied() < index ||
                _now < not_before) {
                continue;
            }
            shutdown(r);
            r.retired = true;
            trace("{} retired (removed at {})", x, index);
        }
    }

    // ------------------------------------------------------------ checks

    void on_became_leader(member& mb, term_id t) {
        ++_stats.elections;
        // Election safety: at most one leader per term.
        auto [it, fresh] = _leaders.try_emplace(t, mb.id);
        if (!fresh && it->second != mb.id) {
            fail("election safety: {} and {} both leaders in term {}", it->second, mb.id, t);
        }
        trace("{} leads in term {}", mb.id, t);
        // Leader completeness: the new leader holds every entry committed in
        // an earlier term (below its first index, its snapshot covers them).
        for (auto a = _applied.lower_bound(mb.log->first_index()); a != _applied.end(); ++a) {
            if (a->second.committed_by >= t) {
                continue;  // possibly committed in this term or later
            }
            auto lt = mb.log->term(a->first);
            if (!lt || *lt != a->second.term) {
                fail(
                    "leader completeness: leader {} of term {} lacks entry {}/{} committed by "
                    "term {}",
                    mb.id, t, a->second.term, a->first, a->second.committed_by);
            }
        }
    }

    /// After a restart: what the last successful syncs promised is on disk.
    void check_recovered(member& mb, const durable_log& lg) {
        const raft::hard_state hs = lg.initial_hard_state();
        const durable_promise& p = mb.promised;
        if (hs.term < p.term || (hs.term == p.term && p.vote != no_node && hs.vote != p.vote)) {
            fail(
                "durability: {} restarted with term {} vote {}, but a sync had made term {} "
                "vote {} durable",
                mb.id, hs.term, hs.vote, p.term, p.vote);
        }
        if (p.last > lg.snapshot_metadata().index) {
            auto t = lg.term(p.last);
            if (lg.last_index() < p.last || !t || *t != p.last_term) {
                fail(
                    "durability: {} restarted with its log at [{}, {}], but a sync had made "
                    "entry {}/{} durable",
                    mb.id, lg.first_index(), lg.last_index(), p.last_term, p.last);
            }
        }
    }

    void final_check() {
        auto l = current_leader();
        if (!l) {
            fail("liveness: no leader {}s after the faults stopped", quiet_us / 1'000'000);
        }
        member& leader = m(*l);
        const log_index commit = leader.loop->commit();
        std::vector<node_id> conf_members(_conf_voters.begin(), _conf_voters.end());
        conf_members.insert(conf_members.end(), _conf_learners.begin(), _conf_learners.end());
        // Every member of the configuration is up, caught up, and agrees on
        // the configuration and, byte for byte, on the state.
        std::optional<std::string> image;
        node_id image_of;
        for (node_id n : conf_members) {
            member& x = m(n);
            if (!x.up) {
                fail("liveness: member {} is down at the end", n);
            }
            auto st = x.loop->status();
            x.loop->run_once();
            const loop::loop_status s = st.get();
            if (s.applied < commit) {
                fail("liveness: member {} applied {} of leader {}'s commit {}", n, s.applied, *l,
                     commit);
            }
            const std::vector<node_id> voters(_conf_voters.begin(), _conf_voters.end());
            const std::vector<node_id> learners(_conf_learners.begin(), _conf_learners.end());
            std::vector<node_id> has_voters = s.conf.voters;
            std::vector<node_id> has_learners = s.conf.learners;
            std::sort(has_voters.begin(), has_voters.end());
            std::sort(has_learners.begin(), has_learners.end());
            if (has_voters != voters || has_learners != learners) {
                fail(
                    "membership: {} has voters [{}] learners [{}], the committed changes imply "
                    "voters [{}] learners [{}]",
                    n, fmt::join(has_voters, ","), fmt::join(has_learners, ","),
                    fmt::join(voters, ","), fmt::join(learners, ","));
            }
            const auto ids = x.sm->state().read([](const stm::controller_stm& stm) {
                std::vector<uint64_t> out;
                for (const auto& [id, rec] : stm.members().all()) {
                    out.push_back(id);
                }
                return out;
            });
            std::vector<uint64_t> want;
            for (node_id v : conf_members) {
                want.push_back(v.value());
            }
            std::sort(want.begin(), want.end());
            if (ids != want) {
                fail("membership: {}'s members table holds [{}], the configuration is [{}]", n,
                     fmt::join(ids, ","), fmt::join(want, ","));
            }
            std::string snap = x.sm->snapshot();
            if (!image) {
                image = std::move(snap);
                image_of = n;
            } else if (snap != *image) {
                fail(
                    "state divergence: {}'s state ({} bytes) differs from {}'s ({} bytes) at "
                    "applied {}",
                    n, snap.size(), image_of, image->size(), s.applied);
            }
        }
        // Every acknowledged membership change was committed, in order.
        size_t next = 0;
        for (const raft::conf_change& cc : _acked_confs) {
            while (next < _committed_confs.size() && !(_committed_confs[next] == cc)) {
                ++next;
            }
            if (next == _committed_confs.size()) {
                fail("membership: acknowledged change {} {} is not among the committed ones",
                     conf_change_name(cc.type), cc.node);
            }
            ++next;
        }
        // Exactly once: an acknowledged success changed the state exactly
        // once; an acknowledged refusal, never.
        for (const auto& [key, text] : _acked) {
            const key_record& k = _keys.at(key);
            // (Every command here changes the state when it succeeds: fresh
            // brokers, fresh config values.)
            const int want = text == "ok" ? 1 : 0;
            if (k.changes != want) {
                fail(
                    "exactly-once: {} request {} ({}) acknowledged \"{}\" changed the state {} "
                    "times",
                    key.first, key.second, _commands.at(key), text, k.changes);
            }
        }
        // The reply contract: stopping every loop answers what is still
        // waiting, so now every request has had exactly one answer.
        _shutting_down = true;
        for (auto& [id, mb] : _members) {
            shutdown(*mb);
        }
        for (const auto& [aid, rec] : _attempts) {
            if (rec.answers != 1) {
                fail(
                    "reply contract: {} {} (client {} request {}, sent to {} incarnation {} at "
                    "t={}us) was answered {} times",
                    rec.seq == 0 ? "read" : "proposal attempt", aid, rec.client, rec.seq, rec.at,
                    rec.incarnation, rec.sent_us, rec.answers);
            }
        }
    }

    options _o;
    rng _rng;
    uint64_t _now = 0;
    uint64_t _seq = 0;
    std::priority_queue<event, std::vector<event>, std::greater<>> _events;
    std::deque<std::string> _trace;
    uint64_t _trace_hash = 0xCBF29CE484222325ull;
    std::string _deferred;
    bool _shutting_down = false;
    bool _faults_on = true;

    std::vector<node_id> _founders;
    stm::stm_config _stm_config;
    uint64_t _next_id = 0;

    uint64_t _max_msg_bytes = 4096;
    size_t _max_inflight = 8;
    uint64_t _chunk_bytes = 64;
    uint64_t _snapshot_entries = 16;
    uint64_t _segment_bytes = 4096;
    uint64_t _expiry_us = 500'000;
    double _drop_p = 0;
    double _dup_p = 0;
    uint64_t _delay_lo = 0, _delay_hi = 0, _fsync_lo = 0, _fsync_hi = 0;
    std::set<std::pair<node_id, node_id>> _blocked;
    std::map<std::pair<node_id, node_id>, uint64_t> _link_last;

    // Membership: the committed configuration (folded from the committed
    // changes in log order) and the change in flight.
    std::set<node_id> _conf_voters;
    std::set<node_id> _conf_learners;
    std::vector<raft::conf_change> _committed_confs;
    std::vector<raft::conf_change> _acked_confs;
    std::map<node_id, std::pair<log_index, uint64_t>> _removed;  // index, shut down not before
    bool _conf_pending = false;
    int _storm = 0;  // changes left in a membership storm
    std::future<result<void>> _conf_future;
    raft::conf_change _conf_proposed;

    // Clients.
    std::vector<client> _clients;
    uint64_t _attempt_seq = 0;
    std::map<uint64_t, attempt_rec> _attempts;
    std::map<session_key, uint64_t> _attempts_by_key;
    std::map<session_key, std::string> _commands;  // what each request was
    std::map<session_key, key_record> _keys;
    std::map<session_key, std::string> _answered;  // the first definite answer
    std::map<session_key, std::string> _acked;     // what the client was told
    log_index _acked_floor;
    log_index _read_seen;

    // Checks.
    std::map<term_id, node_id> _leaders;
    std::map<log_index, applied_entry> _applied;
    struct logged {
        std::string data;
        raft::entry_type type;
        term_id prev_term;
    };
    std::map<std::pair<log_index, term_id>, logged> _logged;

    struct {
        uint64_t events = 0, acked = 0, retries = 0, reads_ok = 0, elections = 0, crashes = 0,
                 snapshots_sent = 0, conf_changes = 0, transfers = 0;
    } _stats;

    // Last: destroyed first, while everything their loops' completions touch
    // still exists.
    std::map<node_id, std::unique_ptr<member>> _members;

    friend class checked_log;
};

// ------------------------------------------------------------ hooks

void simulation::send(node_id from, raft::message msg) {
    const node_id to = msg.to;
    if (msg.type == raft::message_type::snapshot && msg.chunk_offset == 0) {
        ++_stats.snapshots_sent;
    }
    int copies = 1;
    if (_faults_on) {
        if (_rng.chance(_drop_p)) {
            return;
        }
        if (_rng.chance(_dup_p)) {
            copies = 2;
        }
    }
    for (int i = 0; i < copies; ++i) {
        // Links are FIFO like the TCP streams they model, except for
        // stragglers (a reconnect) while faults are on.
        uint64_t when = _now + _rng.between(_delay_lo, _delay_hi);
        if (_faults_on && _rng.chance(0.02)) {
            when += _rng.between(20'000, 150'000);
        } else {
            uint64_t& last = _link_last[{from, to}];
            when = std::max(when, last);
            last = when;
        }
        at(when, [this, msg, from, to] { deliver(msg, from, to); });
    }
}

void simulation::on_truncate(node_id id, log_index cut, const durable_log& lg) {
    // A conflicting append replaces the suffix from `cut` durably: what a
    // sync promised beyond it is withdrawn (it was never committed).
    durable_promise& p = m(id).promised;
    if (p.last >= cut) {
        p.last = cut - 1;
        auto t = lg.term(p.last);
        p.last_term = t ? *t : term_id{0};
    }
}

void simulation::on_append(node_id id, const durable_log& lg, std::span<const raft::entry> ents) {
    // Log matching: one (index, term) names one entry, with one predecessor term.
    for (const raft::entry& e : ents) {
        auto prev = lg.term(e.index - 1);
        const term_id prev_term = prev ? *prev : term_id{0};
        auto [it, fresh] =
            _logged.try_emplace({e.index, e.term}, logged{e.data, e.type, prev_term});
        if (!fresh && (it->second.data != e.data || it->second.type != e.type ||
                       (prev && it->second.prev_term != prev_term))) {
            fail(
                "log matching: {} holds entry {}/{} ({} bytes, prev term {}) but another log "
                "holds a different one ({} bytes, prev term {})",
                id, e.term, e.index, e.data.size(), prev_term, it->second.data.size(),
                it->second.prev_term);
        }
    }
}

void simulation::on_set_hard_state(node_id id, const raft::hard_state& hs) {
    member& mb = m(id);
    if (hs.term < mb.promised.term) {
        fail("{} set term {} below its durable term {}", id, hs.term, mb.promised.term);
    }
    if (hs.vote != no_node) {
        auto v = mb.votes.find(hs.term);
        if (v != mb.votes.end() && v->second != hs.vote) {
            fail("double vote: {} voted for {} in term {} and had durably voted for {}", id,
                 hs.vote, hs.term, v->second);
        }
    }
}

void simulation::on_synced(node_id id, const raft::hard_state& hs, const durable_log& lg) {
    member& mb = m(id);
    mb.promised.term = hs.term;
    mb.promised.vote = hs.vote;
    mb.promised.last = lg.last_index();
    auto t = lg.term(lg.last_index());
    mb.promised.last_term = t ? *t : term_id{0};
    if (hs.vote != no_node) {
        mb.votes.emplace(hs.term, hs.vote);
    }
}

void simulation::on_install_snapshot(node_id id, const raft::snapshot_meta& meta, bool done) {
    durable_promise& p = m(id).promised;
    if (!done) {
        // Mid-install the old entries may be partly gone: promise nothing.
        p.last = log_index{0};
        p.last_term = term_id{0};
    } else {
        p.last = meta.index;
        p.last_term = meta.term;
    }
}

void simulation::on_restore(node_id id, log_index index) {
    member& mb = m(id);
    mb.sm_applied = index;
    trace("{} restored a snapshot at {}", id, index);
}

void simulation::on_apply(node_id id, const raft::entry& e, const result<void>& r, bool changed) {
    member& mb = m(id);
    if (e.index != mb.sm_applied + 1) {
        fail("{} applied index {} after {}: gap or repeat", id, e.index, mb.sm_applied);
    }
    mb.sm_applied = e.index;
    mb.stamp.push_back(e.index);
    const std::string text = outcome_text(r);
    auto [it, fresh] = _applied.try_emplace(
        e.index, applied_entry{e.term, e.type, e.data, text, term_id{UINT64_MAX}});
    if (!fresh) {
        // State-machine safety, and determinism of what the proposer is told.
        const applied_entry& ae = it->second;
        if (ae.term != e.term || ae.data != e.data || ae.type != e.type) {
            fail("state machine safety: {} applied entry {}/{} but {}/{} was applied before", id,
                 e.term, e.index, ae.term, e.index);
        }
        if (ae.outcome != text) {
            fail("determinism: {} applying {} answered \"{}\", another member \"{}\"", id, e.index,
                 text, ae.outcome);
        }
        return;
    }
    // The first application of this index anywhere: the log's record.
    if (e.type == raft::entry_type::conf_change) {
        auto cc = raft::conf_change::decode(e.data);
        if (!cc) {
            return;
        }
        // The founders' bootstrap entries (indexes 1..n) are not changes.
        const bool bootstrap = e.index.value() <= _founders.size();
        if (!bootstrap) {
            ++_stats.conf_changes;
        }
        _committed_confs.push_back(*cc);
        switch (cc->type) {
            case raft::conf_change_type::add_learner:
                if (!_conf_voters.contains(cc->node)) {
                    _conf_learners.insert(cc->node);
                }
                break;
            case raft::conf_change_type::add_voter:
                _conf_learners.erase(cc->node);
                _conf_voters.insert(cc->node);
                break;
            case raft::conf_change_type::remove_node:
                _conf_learners.erase(cc->node);
                _conf_voters.erase(cc->node);
                _removed.emplace(cc->node, std::pair{e.index, _now + _rng.between(0, 1'500'000)});
                break;
        }
        trace("committed at {}: {} {}; voters [{}] learners [{}]", e.index,
              conf_change_name(cc->type), cc->node, fmt::join(_conf_voters, ","),
              fmt::join(_conf_learners, ","));
        if (!bootstrap && _faults_on && _rng.chance(0.3)) {
            // A majority crashes right after a membership change commits:
            // what they recover must not revive the old configuration.
            const bool all = _rng.chance(0.3);
            at(_now + _rng.below(20'000), [this, all] {
                if (_faults_on) {
                    crash_several(all ? SIZE_MAX : _conf_voters.size() / 2 + 1,
                                  all ? "power loss after a membership change"
                                      : "majority crash after a membership change");
                }
            });
        }
        return;
    }
    if (e.data.empty()) {
        return;
    }
    v1::ControllerCommand cmd;
    if (!cmd.ParseFromString(e.data) || !cmd.has_session()) {
        return;
    }
    const session_key key{cmd.session().client_id(), cmd.session().seq()};
    auto [k, first] = _keys.try_emplace(key);
    if (first) {
        k->second.first = e.index;
        k->second.outcome = text;
        k->second.changes = changed ? 1 : 0;
        return;
    }
    // A later entry with a session already applied: a retry. It must change
    // nothing and answer what the first application answered (or, if its
    // client has since moved on, that the request was given up).
    if (changed) {
        ++k->second.changes;
        fail(
            "exactly-once: entry {} retrying client {} request {} ({}) changed the state again "
            "(first applied at {})",
            e.index, key.first, key.second, _commands.count(key) ? _commands.at(key) : "?",
            k->second.first);
    }
    const bool given_up = !r && r.error().code == make_error_code(cluster::errc::outcome_unknown);
    if (text != k->second.outcome && !given_up) {
        fail(
            "exactly-once: entry {} retrying client {} request {} ({}) answered \"{}\"; its "
            "first application at {} answered \"{}\"",
            e.index, key.first, key.second, _commands.count(key) ? _commands.at(key) : "?", text,
            k->second.first, k->second.outcome);
    }
}

void sim_link::send(raft::message m) {
    m.from = _from;
    _sim.send(_from, std::move(m));
}

result<void> checked_log::append(std::span<const raft::entry> entries) {
    if (!entries.empty() && entries.front().index <= _log->last_index()) {
        _sim.on_truncate(_id, entries.front().index, *_log);
    }
    auto r = _log->append(entries);
    if (r) {
        _sim.on_append(_id, *_log, entries);
    }
    return r;
}

result<void> checked_log::set_hard_state(const raft::hard_state& hs) {
    _sim.on_set_hard_state(_id, hs);
    _hs = hs;
    return _log->set_hard_state(hs);
}

result<void> checked_log::sync() {
    auto r = _log->sync();
    if (r) {
        _sim.on_synced(_id, _hs ? *_hs : _log->initial_hard_state(), *_log);
    }
    return r;
}

result<void> checked_log::install_snapshot(const raft::snapshot& s) {
    _sim.on_install_snapshot(_id, s.meta, false);
    auto r = _log->install_snapshot(s);
    if (r) {
        _sim.on_install_snapshot(_id, s.meta, true);
    }
    return r;
}

result<void> checked_log::create_snapshot(log_index i, const raft::conf_state& conf,
                                          std::string data) {
    return _log->create_snapshot(i, conf, std::move(data));
}

std::vector<result<void>> checked_state::apply_batch(std::span<const raft::entry> entries) {
    std::vector<result<void>> out;
    out.reserve(entries.size());
    const auto revision = [this] {
        return _state.read([](const stm::controller_stm& s) { return s.revision(); });
    };
    for (const raft::entry& e : entries) {
        const revision_id before = revision();
        result<void> r = _state.apply(e);
        _sim.on_apply(_id, e, r, revision() != before);
        out.push_back(std::move(r));
    }
    return out;
}

result<void> checked_state::restore(const raft::snapshot& s) {
    auto r = _state.restore(s);
    if (r) {
        _sim.on_restore(_id, s.meta.index);
    }
    return r;
}

}  // namespace

outcome run(const options& o) {
    // A broken invariant inside the production code (FJORD_PANIC, a failed
    // FJORD_ASSERT) is a violation like any other: unwind to report the seed
    // and trace instead of aborting.
    auto previous = set_panic_handler([](const char* file, int line, const std::string& msg) {
        throw violation{fmt::format("panic at {}:{}: {}", file, line, msg)};
    });
    const log_level level = current_log_level();
    set_log_level(o.verbose ? log_level::info : log_level::off);
    outcome out = simulation(o).execute();
    set_log_level(level);
    set_panic_handler(previous);
    return out;
}

}  // namespace fjord::sim
