#include "controller/raft/sim/sim.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>

#include <fmt/format.h>

#include "common/assert.h"
#include "controller/raft/memory_storage.h"
#include "controller/raft/node.h"

namespace fjord::raft::sim {
namespace {

/// A violation stops the run; thrown only inside this file and caught by run().
struct violation {
    std::string what;
};

/// xoshiro-style PRNG (splitmix64 stream): deterministic across platforms.
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

constexpr uint64_t tick_us = 10'000;     // one Raft tick = 10 ms
constexpr uint64_t snapshot_every = 40;  // entries applied between snapshots
constexpr uint64_t client_timeout_us = 400'000;
constexpr int clients = 4;
constexpr int keys = 3;

/// One simulated member: durable storage that survives crashes, and the
/// volatile parts (the core, the state machine, the ready in flight) that do not.
struct member {
    node_id id;
    bool bootstrap = false;  // an initial voter (restarts with the bootstrap config)
    bool up = false;
    bool retired = false;  // removed from the group and shut down for good
    uint64_t incarnation = 0;
    memory_storage disk;
    std::unique_ptr<node> raft;
    std::optional<ready> in_flight;  // taken; waiting for its sync to finish
    // The state machine: key -> (index of the last write, its data).
    std::map<std::string, std::pair<log_index, std::string>> kv;
    log_index sm_applied;
    std::vector<read_state> reads_waiting_apply;
    log_index last_commit;  // within this incarnation: must not go back
    role last_role = role::follower;
    uint64_t tick_interval = 0;  // this member's clock rate (clocks drift)
    uint64_t paused_until = 0;   // a paused process (GC, SIGSTOP) handles nothing
};

struct pending_write {
    int client;
    std::string data;
    std::string key;
    node_id at;
    uint64_t incarnation;
    log_index index;
    uint64_t invoked_us;
};

struct pending_read {
    int client;
    std::string ctx;
    std::string key;
    node_id at;
    uint64_t incarnation;
    uint64_t invoked_us;
    log_index floor;       // highest acked write index for key at invocation
    log_index read_floor;  // highest index any completed read observed at invocation
};

class simulation {
  public:
    explicit simulation(const options& o) : _o(o), _rng(o.seed) {}

    outcome execute() {
        outcome out;
        try {
            setup();
            const uint64_t end_faults = _o.duration_ms * 1000;
            const uint64_t end_all = end_faults + 4'000'000;
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
                drive_readies();
                check_invariants();
            }
            final_check();
        } catch (const violation& v) {
            out.ok = false;
            out.violation = fmt::format("t={}us: {}", _now, v.what);
        }
        out.trace.assign(_trace.begin(), _trace.end());
        out.events = _stats.events;
        out.writes_acked = _acked.size();
        out.reads_ok = _stats.reads_ok;
        out.elections = _stats.elections;
        out.crashes = _stats.crashes;
        out.snapshots_sent = _stats.snapshots_sent;
        out.conf_changes = _stats.conf_changes;
        out.transfers = _stats.transfers;
        return out;
    }

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

    template <typename... A>
    void trace(fmt::format_string<A...> f, A&&... args) {
        std::string line = fmt::format("[{:>9}] ", _now) + fmt::format(f, std::forward<A>(args)...);
        if (_o.verbose) {
            fmt::print("{}\n", line);
        }
        _trace.push_back(std::move(line));
        if (_trace.size() > 400) {
            _trace.pop_front();
        }
    }

    template <typename... A>
    [[noreturn]] void fail(fmt::format_string<A...> f, A&&... args) {
        throw violation{fmt::format(f, std::forward<A>(args)...)};
    }

    member& m(node_id id) { return *_members.at(id); }

    config make_config(const member& mb) {
        config c;
        c.id = mb.id;
        c.election_tick = 10;
        c.heartbeat_tick = 1;
        c.pre_vote = true;
        c.check_quorum = true;
        c.max_size_per_msg = _max_msg_bytes;
        c.max_inflight_msgs = _max_inflight;
        c.snapshot_chunk_size = _chunk_bytes;
        c.seed = _o.seed * 31 + mb.id.value() * 7 + mb.incarnation;
        if (mb.bootstrap) {
            c.bootstrap_voters = _bootstrap;
        }
        if (_o.verbose) {
            c.logger = [this](const std::string& s) { trace("  raft {}", s); };
        } else {
            c.logger = [this](const std::string& s) {
                _trace.push_back(fmt::format("[{:>9}]   raft {}", _now, s));
                if (_trace.size() > 400) {
                    _trace.pop_front();
                }
            };
        }
        return c;
    }

    void setup() {
        // Network, disk and clock character of this run.
        _drop_p = _rng.chance(0.3) ? 0.0 : static_cast<double>(_rng.below(8)) / 100.0;
        _dup_p = static_cast<double>(_rng.below(4)) / 100.0;
        _delay_lo = _rng.between(200, 1000);
        _delay_hi = _delay_lo + _rng.between(500, 8000);
        _fsync_lo = _rng.between(50, 300);
        _fsync_hi = _fsync_lo + _rng.between(100, 3000);
        // Small messages make leaders replicate old-term entries ahead of
        // their own (the Figure 8 window); small windows exercise flow control.
        _max_msg_bytes = _rng.chance(0.5) ? _rng.between(1, 200) : _rng.between(200, 8192);
        _max_inflight = static_cast<size_t>(_rng.between(1, 16));
        _chunk_bytes = _rng.between(16, 512);
        trace(
            "seed {} nodes {} drop {:.2f} dup {:.2f} delay {}-{}us fsync {}-{}us msg {}B "
            "inflight {} chunk {}B",
            _o.seed, _o.nodes, _drop_p, _dup_p, _delay_lo, _delay_hi, _fsync_lo, _fsync_hi,
            _max_msg_bytes, _max_inflight, _chunk_bytes);
        for (int i = 1; i <= _o.nodes; ++i) {
            _bootstrap.push_back(node_id{static_cast<uint64_t>(i)});
        }
        _next_id = static_cast<uint64_t>(_o.nodes) + 1;
        for (node_id id : _bootstrap) {
            auto mb = std::make_unique<member>();
            mb->id = id;
            mb->bootstrap = true;
            _members.emplace(id, std::move(mb));
            start(id);
        }
        for (int c = 0; c < clients; ++c) {
            at(_rng.between(50'000, 300'000), [this, c] { client_step(c); });
        }
        at(_rng.between(200'000, 500'000), [this] { fault_step(); });
    }

    void start(node_id id) {
        member& mb = m(id);
        mb.up = true;
        ++mb.incarnation;
        mb.in_flight.reset();
        mb.reads_waiting_apply.clear();
        mb.last_commit = log_index{0};
        mb.last_role = role::follower;
        // The state machine restarts from the durable snapshot; the core
        // re-delivers committed entries after it.
        mb.kv.clear();
        auto snap = mb.disk.load_snapshot();
        mb.sm_applied = snap->meta.index;
        decode_kv(snap->data, mb.kv);
        mb.raft = std::make_unique<node>(make_config(mb), mb.disk);
        mb.tick_interval = tick_us * _rng.between(80, 125) / 100;
        mb.paused_until = 0;
        const uint64_t inc = mb.incarnation;
        const uint64_t phase = _rng.below(tick_us);
        at(_now + phase, [this, id, inc] { tick(id, inc); });
        trace("start {} (incarnation {}) snapshot {} last {}", id, inc, snap->meta.index,
              mb.disk.last_index());
    }

    void crash(node_id id) {
        member& mb = m(id);
        if (!mb.up) {
            return;
        }
        // A crash loses what was not synced. The disk may still have written a
        // prefix of the pending entries before power went (never acknowledged,
        // so keeping them is as valid as losing them).
        if (mb.in_flight && !mb.in_flight->snapshot && !mb.in_flight->entries.empty() &&
            _rng.chance(0.5)) {
            const auto& ents = mb.in_flight->entries;
            const size_t keep = _rng.below(ents.size() + 1);
            if (keep > 0) {
                std::vector<entry> prefix(ents.begin(), ents.begin() + static_cast<long>(keep));
                (void)mb.disk.append(prefix);
                check_persisted(mb, prefix);
            }
            trace("crash {}: kept {} of {} unsynced entries", id, keep, ents.size());
        } else {
            trace("crash {}: unsynced ready lost", id);
        }
        mb.up = false;
        mb.raft.reset();
        mb.in_flight.reset();
        ++_stats.crashes;
    }

    void tick(node_id id, uint64_t inc) {
        member& mb = m(id);
        if (!mb.up || mb.incarnation != inc) {
            return;
        }
        if (_now < mb.paused_until) {
            at(mb.paused_until, [this, id, inc] { tick(id, inc); });
            return;
        }
        mb.raft->tick();
        at(_now + mb.tick_interval, [this, id, inc] { tick(id, inc); });
    }

    // ------------------------------------------------------------ network

    bool link_blocked(node_id from, node_id to) const { return _blocked.contains({from, to}); }

    void send(message msg) {
        const node_id from = msg.from;
        const node_id to = msg.to;
        if (msg.type == message_type::snapshot && msg.chunk_offset == 0) {
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

    void deliver(const message& msg, node_id from, node_id to) {
        if (link_blocked(from, to)) {
            return;
        }
        auto it = _members.find(to);
        if (it == _members.end() || !it->second->up) {
            return;
        }
        if (_now < it->second->paused_until) {
            // The kernel buffers it; the process reads it when it resumes.
            at(it->second->paused_until, [this, msg, from, to] { deliver(msg, from, to); });
            return;
        }
        if (_o.verbose) {
            trace(
                "deliver {}->{} {} term {} index {} log_term {} commit {} entries {} reject {} "
                "hint {}",
                from, to, to_string(msg.type), msg.term, msg.index, msg.log_term, msg.commit,
                msg.entries.size(), msg.reject, msg.reject_hint);
        }
        it->second->raft->step(msg);
    }

    // ------------------------------------------------------------ the ready loop

    void drive_readies() {
        for (auto& [id, mbp] : _members) {
            member& mb = *mbp;
            if (mb.up && _now < mb.paused_until) {
                at(mb.paused_until, [] {});  // wake the loop when it resumes
                continue;
            }
            while (mb.up && !mb.in_flight && mb.raft->has_ready()) {
                ready rd = mb.raft->take_ready();
                observe_soft_state(mb);
                for (const message& msg : rd.early_messages) {
                    send(msg);
                }
                if (rd.must_sync) {
                    if (_o.unsafe_send_before_sync) {
                        for (const message& msg : rd.messages) {
                            send(msg);
                        }
                        rd.messages.clear();
                    }
                    mb.in_flight = std::move(rd);
                    const uint64_t inc = mb.incarnation;
                    const node_id nid = id;
                    at(_now + _rng.between(_fsync_lo, _fsync_hi), [this, nid, inc] {
                        member& x = m(nid);
                        if (!x.up || x.incarnation != inc || !x.in_flight) {
                            return;
                        }
                        ready r = std::move(*x.in_flight);
                        x.in_flight.reset();
                        finish_ready(x, r);
                    });
                } else {
                    finish_ready(mb, rd);
                }
            }
        }
    }

    /// Steps 1-4 of the ready contract, once the sync has "completed".
    void finish_ready(member& mb, const ready& rd) {
        // 1. persist
        if (rd.snapshot) {
            auto r = mb.disk.install_snapshot(*rd.snapshot);
            if (!r) {
                fail("{} install snapshot: {}", mb.id, r.error().message());
            }
        }
        if (!rd.entries.empty()) {
            auto r = mb.disk.append(rd.entries);
            if (!r) {
                fail("{} append: {}", mb.id, r.error().message());
            }
            check_persisted(mb, rd.entries);
        }
        if (rd.hard_state) {
            check_hard_state(mb, *rd.hard_state);
            (void)mb.disk.set_hard_state(*rd.hard_state);
        }
        // 2. send
        for (const message& msg : rd.messages) {
            send(msg);
        }
        // 3. apply
        if (rd.snapshot) {
            mb.kv.clear();
            decode_kv(rd.snapshot->data, mb.kv);
            mb.sm_applied = rd.snapshot->meta.index;
            trace("{} applied snapshot at {}", mb.id, rd.snapshot->meta.index);
        }
        for (const entry& e : rd.committed_entries) {
            apply(mb, e);
        }
        for (const read_state& rs : rd.read_states) {
            mb.reads_waiting_apply.push_back(rs);
        }
        // 4. advance
        mb.raft->advance(rd);
        serve_reads(mb);
        maybe_snapshot(mb);
        observe_soft_state(mb);
    }

    void maybe_snapshot(member& mb) {
        const log_index applied = mb.raft->applied();
        const log_index snap = mb.disk.snapshot_metadata().index;
        if (applied - snap < snapshot_every || applied > mb.disk.last_index()) {
            return;
        }
        auto r = mb.disk.create_snapshot(applied, mb.raft->conf(), encode_kv(mb.kv));
        if (!r) {
            fail("{} create snapshot at {}: {}", mb.id, applied, r.error().message());
        }
        trace("{} snapshot at {}", mb.id, applied);
    }

    // ------------------------------------------------------------ state machine

    static std::string encode_kv(
        const std::map<std::string, std::pair<log_index, std::string>>& kv) {
        std::string out;
        for (const auto& [k, v] : kv) {
            out += fmt::format("{}\t{}\t{}\n", k, v.first, v.second);
        }
        return out;
    }

    static void decode_kv(const std::string& s,
                          std::map<std::string, std::pair<log_index, std::string>>& kv) {
        size_t pos = 0;
        while (pos < s.size()) {
            const size_t nl = s.find('\n', pos);
            const std::string line = s.substr(pos, nl - pos);
            pos = nl + 1;
            const size_t t1 = line.find('\t');
            const size_t t2 = line.find('\t', t1 + 1);
            kv[line.substr(0, t1)] = {log_index{std::stoull(line.substr(t1 + 1, t2 - t1 - 1))},
                                      line.substr(t2 + 1)};
        }
    }

    void apply(member& mb, const entry& e) {
        if (e.index != mb.sm_applied + 1) {
            fail("{} applied index {} after {}: gap or repeat", mb.id, e.index, mb.sm_applied);
        }
        mb.sm_applied = e.index;
        // State-machine safety: every member applies the same entry at an index.
        auto [it, fresh] =
            _applied.try_emplace(e.index, applied_entry{e.term, e.data, mb.raft->term()});
        if (!fresh && (it->second.term != e.term || it->second.data != e.data)) {
            fail(
                "state machine safety: {} applied {}/{} \"{}\" but {}/{} \"{}\" was applied "
                "before",
                mb.id, e.term, e.index, e.data, it->second.term, e.index, it->second.data);
        }
        // The entry was committed by a leader of a term no later than the term
        // of any member that applied it.
        it->second.committed_by = std::min(it->second.committed_by, mb.raft->term());
        if (auto ack = _acked.find(e.index); ack != _acked.end() && ack->second != e.data) {
            fail("acknowledged write \"{}\" at {} replaced by \"{}\" on {}", ack->second, e.index,
                 e.data, mb.id);
        }
        if (e.type == entry_type::conf_change) {
            auto cc = conf_change::decode(e.data);
            if (cc && cc->type == conf_change_type::remove_node) {
                _removed.insert(cc->node);
            }
            return;
        }
        if (e.data.starts_with("w:")) {
            const std::string key = e.data.substr(e.data.rfind(':') + 1);
            mb.kv[key] = {e.index, e.data};
        }
        // A client waiting on this member for this index learns its fate.
        for (auto it2 = _writes.begin(); it2 != _writes.end();) {
            pending_write& w = it2->second;
            if (w.at == mb.id && w.incarnation == mb.incarnation && w.index == e.index) {
                if (e.data == w.data) {
                    _acked[e.index] = w.data;
                    log_index& best = _acked_by_key[w.key];
                    best = std::max(best, e.index);
                    trace("client {} write acked at {}: {}", w.client, e.index, w.data);
                } else {
                    trace("client {} write at {} lost leadership (got {})", w.client, e.index,
                          e.data);
                }
                const int c = w.client;
                it2 = _writes.erase(it2);
                schedule_client(c);
            } else {
                ++it2;
            }
        }
    }

    void serve_reads(member& mb) {
        auto& waiting = mb.reads_waiting_apply;
        for (auto it = waiting.begin(); it != waiting.end();) {
            if (it->index > mb.sm_applied) {
                ++it;
                continue;
            }
            auto pr = _reads.find(it->context);
            if (pr != _reads.end() && pr->second.at == mb.id &&
                pr->second.incarnation == mb.incarnation) {
                pending_read& r = pr->second;
                auto kv = mb.kv.find(r.key);
                const log_index seen = kv == mb.kv.end() ? log_index{0} : kv->second.first;
                // Linearizability: the read must see every write acknowledged
                // before it began, and nothing older than what a read that
                // finished before it began saw.
                if (seen < r.floor) {
                    fail(
                        "stale read: client {} read {} at index {} on {} but a write at {} was "
                        "acknowledged before the read began",
                        r.client, r.key, seen, mb.id, r.floor);
                }
                if (seen < r.read_floor) {
                    fail(
                        "non-monotonic read: client {} read {} at index {} on {}, an earlier "
                        "read saw {}",
                        r.client, r.key, seen, mb.id, r.read_floor);
                }
                log_index& rf = _read_seen[r.key];
                rf = std::max(rf, seen);
                ++_stats.reads_ok;
                trace("client {} read {} = index {} on {} (read index {})", r.client, r.key, seen,
                      mb.id, it->index);
                const int c = r.client;
                _reads.erase(pr);
                schedule_client(c);
            }
            it = waiting.erase(it);
        }
    }

    // ------------------------------------------------------------ clients

    void schedule_client(int c) {
        at(_now + _rng.between(1'000, 30'000), [this, c] { client_step(c); });
    }

    std::optional<node_id> pick_target() {
        // Clients mostly find the leader; sometimes they ask anyone.
        std::vector<node_id> up;
        for (auto& [id, mb] : _members) {
            if (mb->up && !mb->retired) {
                up.push_back(id);
            }
        }
        if (up.empty()) {
            return std::nullopt;
        }
        if (_rng.chance(0.8)) {
            for (node_id id : up) {
                if (m(id).raft->current_role() == role::leader) {
                    return id;
                }
            }
        }
        return up[_rng.below(up.size())];
    }

    void client_step(int c) {
        const uint64_t end = _o.duration_ms * 1000 + 2'000'000;
        if (_now > end) {
            return;
        }
        auto target = pick_target();
        if (!target) {
            schedule_client(c);
            return;
        }
        const std::string key = fmt::format("k{}", _rng.below(keys));
        const uint64_t op = ++_op_seq;
        const bool write = _rng.chance(0.65);
        invoke(c, *target, key, op, write, _now);
    }

    /// Runs a client operation on `target`. `invoked` is when the client sent
    /// it; a paused target handles it only when it resumes, and the checks
    /// hold it to what was acknowledged when the client sent it.
    void invoke(int c, node_id target, const std::string& key, uint64_t op, bool write,
                uint64_t invoked) {
        member& mb = m(target);
        if (!mb.up) {
            schedule_client(c);
            return;
        }
        const log_index floor = _acked_by_key[key];
        const log_index read_floor = _read_seen[key];
        if (_now < mb.paused_until) {
            at(mb.paused_until, [this, c, target, key, op, write, invoked, floor, read_floor] {
                invoke_resumed(c, target, key, op, write, invoked, floor, read_floor);
            });
            return;
        }
        invoke_resumed(c, target, key, op, write, invoked, floor, read_floor);
    }

    void invoke_resumed(int c, node_id target, const std::string& key, uint64_t op, bool write,
                        uint64_t invoked, log_index floor, log_index read_floor) {
        member& mb = m(target);
        if (!mb.up) {
            schedule_client(c);
            return;
        }
        if (write) {
            std::string data = fmt::format("w:{}:{}:{}", c, op, key);
            auto r = mb.raft->propose({data});
            if (!r) {
                schedule_client(c);
                return;
            }
            trace("client {} proposes {} at {} on {}", c, data, *r, mb.id);
            const std::string id = data;
            _writes.emplace(id, pending_write{c, data, key, mb.id, mb.incarnation, *r, invoked});
            at(_now + client_timeout_us, [this, id, c] {
                if (_writes.erase(id) > 0) {
                    trace("client {} write {} timed out (indeterminate)", c, id);
                    schedule_client(c);
                }
            });
        } else {
            std::string ctx = fmt::format("r:{}:{}", c, op);
            auto r = mb.raft->read_index(ctx);
            if (!r) {
                schedule_client(c);
                return;
            }
            trace("client {} reads {} on {}", c, key, mb.id);
            _reads.emplace(
                ctx, pending_read{c, ctx, key, mb.id, mb.incarnation, invoked, floor, read_floor});
            at(_now + client_timeout_us, [this, ctx, c] {
                if (_reads.erase(ctx) > 0) {
                    trace("client {} read {} timed out", c, ctx);
                    schedule_client(c);
                }
            });
        }
    }

    // ------------------------------------------------------------ faults

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
            if (mb->up && mb->raft->current_role() == role::leader &&
                mb->raft->term() >= best_term) {
                best = id;
                best_term = mb->raft->term();
            }
        }
        return best;
    }

    void heal_all() {
        _blocked.clear();
        for (auto& [id, mb] : _members) {
            if (!mb->up && !mb->retired) {
                start(id);
            }
        }
        trace("heal: partitions removed, every member up");
    }

    void fault_step() {
        if (!_faults_on) {
            return;
        }
        at(_now + _rng.between(100'000, 400'000), [this] { fault_step(); });
        const auto live = live_members();
        const uint64_t pick = _rng.below(100);
        if (pick >= 15 && pick < 20) {
            // Power loss: every member crashes at the same instant, so what
            // was acknowledged must have been synced on a majority.
            for (node_id id : live) {
                if (m(id).up) {
                    crash(id);
                    at(_now + _rng.between(20'000, 300'000), [this, id] {
                        if (!m(id).up && !m(id).retired) {
                            start(id);
                        }
                    });
                }
            }
            trace("power loss: every member crashed");
        } else if (pick < 20) {
            // Crash one member (several may end up down at once).
            std::vector<node_id> up;
            for (node_id id : live) {
                if (m(id).up) {
                    up.push_back(id);
                }
            }
            if (!up.empty()) {
                const node_id victim = up[_rng.below(up.size())];
                crash(victim);
                at(_now + _rng.between(50'000, 800'000), [this, victim] {
                    if (!m(victim).up && !m(victim).retired) {
                        start(victim);
                    }
                });
            }
        } else if (pick < 30) {
            // Symmetric partition into two sides.
            _blocked.clear();
            std::set<node_id> side;
            for (node_id id : live) {
                if (_rng.chance(0.5)) {
                    side.insert(id);
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
        } else if (pick < 55) {
            _blocked.clear();
            trace("heal partitions");
        } else if (pick < 65) {
            if (auto l = current_leader()) {
                const auto& voters = m(*l).raft->conf().voters;
                const node_id to = voters[_rng.below(voters.size())];
                auto r = m(*l).raft->transfer_leadership(to);
                trace("transfer leadership {} -> {}: {}", *l, to,
                      r ? "started" : r.error().message());
                if (r) {
                    ++_stats.transfers;
                }
            }
        } else if (pick < 85) {
            membership_step();
        } else if (pick < 95) {
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
        auto l = current_leader();
        if (!l) {
            return;
        }
        member& leader = m(*l);
        const conf_state& conf = leader.raft->conf();
        const uint64_t pick = _rng.below(3);
        conf_change cc;
        if (pick == 0 && conf.learners.empty() &&
            conf.voters.size() < static_cast<size_t>(_o.nodes) + 1) {
            cc.type = conf_change_type::add_learner;
            cc.node = node_id{_next_id};
        } else if (pick == 1 && !conf.learners.empty()) {
            cc.type = conf_change_type::add_voter;
            cc.node = conf.learners.front();
        } else if (pick == 2 && conf.voters.size() > 3) {
            cc.type = conf_change_type::remove_node;
            cc.node = conf.voters[_rng.below(conf.voters.size())];
        } else {
            return;
        }
        auto r = leader.raft->propose_conf_change(cc);
        trace("leader {} proposes conf change {} {}: {}", *l, static_cast<int>(cc.type), cc.node,
              r ? "ok" : r.error().message());
        if (!r) {
            return;
        }
        ++_stats.conf_changes;
        if (cc.type == conf_change_type::add_learner) {
            auto mb = std::make_unique<member>();
            mb->id = cc.node;
            _members.emplace(cc.node, std::move(mb));
            ++_next_id;
            start(cc.node);
        }
    }

    // ------------------------------------------------------------ invariants

    void observe_soft_state(member& mb) {
        const role r = mb.raft->current_role();
        if (r == role::leader && mb.last_role != role::leader) {
            on_became_leader(mb);
        }
        mb.last_role = r;
    }

    void on_became_leader(member& mb) {
        const term_id t = mb.raft->term();
        ++_stats.elections;
        // Election safety: at most one leader per term.
        auto [it, fresh] = _leaders.try_emplace(t, mb.id);
        if (!fresh && it->second != mb.id) {
            fail("election safety: {} and {} both leaders in term {}", it->second, mb.id, t);
        }
        trace("{} became leader at term {}", mb.id, t);
        // Leader completeness: the new leader holds every entry committed in
        // an earlier term.
        const raft_log& lg = mb.raft->raft_core().log();
        for (const auto& [index, ae] : _applied) {
            if (index < lg.first_index() || ae.committed_by >= t) {
                continue;  // covered by its snapshot, or possibly committed later
            }
            auto lt = lg.term(index);
            if (!lt || *lt != ae.term) {
                fail(
                    "leader completeness: leader {} of term {} lacks entry {}/{} committed by "
                    "term {}",
                    mb.id, t, ae.term, index, ae.committed_by);
            }
        }
    }

    void check_persisted(const member& mb, const std::vector<entry>& ents) {
        // Log matching: one (index, term) names one entry, with one predecessor term.
        for (const entry& e : ents) {
            auto prev = mb.disk.term(e.index - 1);
            const term_id prev_term = prev ? *prev : term_id{0};
            auto [it, fresh] = _entries.try_emplace({e.index, e.term}, e.data, prev_term);
            if (!fresh &&
                (it->second.first != e.data || (prev && it->second.second != prev_term))) {
                fail(
                    "log matching: {} holds {}/{} \"{}\" (prev term {}) but another log holds "
                    "\"{}\" (prev term {})",
                    mb.id, e.term, e.index, e.data, prev_term, it->second.first, it->second.second);
            }
        }
    }

    void check_hard_state(member& mb, const hard_state& hs) {
        const hard_state old = mb.disk.initial_hard_state();
        if (hs.term < old.term) {
            fail("{} persisted term {} below {}", mb.id, hs.term, old.term);
        }
        if (hs.term == old.term && old.vote != no_node && hs.vote != old.vote) {
            fail("{} changed its vote in term {} from {} to {}", mb.id, hs.term, old.vote, hs.vote);
        }
        if (hs.commit < mb.last_commit) {
            fail("{} commit went back from {} to {}", mb.id, mb.last_commit, hs.commit);
        }
        mb.last_commit = hs.commit;
    }

    void check_invariants() {
        for (auto& [id, mb] : _members) {
            if (mb->up) {
                observe_soft_state(*mb);
            }
        }
        // Members removed by a committed change leave for good once a leader
        // has applied it (they are no longer needed, and keeping them would
        // only test that they stay quiet).
        if (auto l = current_leader()) {
            const conf_state& conf = m(*l).raft->conf();
            for (node_id r : _removed) {
                member& x = m(r);
                const bool member_now =
                    std::binary_search(conf.voters.begin(), conf.voters.end(), r) ||
                    std::binary_search(conf.learners.begin(), conf.learners.end(), r);
                if (!x.retired && !member_now && m(*l).raft->applied() >= x.sm_applied) {
                    if (x.up) {
                        crash(r);
                    }
                    x.retired = true;
                    trace("{} retired (removed from the group)", r);
                }
            }
        }
    }

    void final_check() {
        auto l = current_leader();
        if (!l) {
            fail("liveness: no leader {}s after faults stopped", 4);
        }
        member& leader = m(*l);
        // Every member of the final configuration converged on the leader's log.
        std::vector<node_id> members = leader.raft->conf().voters;
        for (node_id n : leader.raft->conf().learners) {
            members.push_back(n);
        }
        const log_index commit = leader.raft->committed();
        for (node_id n : members) {
            member& x = m(n);
            if (!x.up) {
                fail("liveness: member {} is down at the end", n);
            }
            if (x.sm_applied < commit) {
                const progress& pr = leader.raft->raft_core().progress_map().at(n);
                fail(
                    "liveness: member {} applied {} of leader {} commit {} (leader's progress: "
                    "state {} match {} next {} inflight {} active {}; member commit {} last {})",
                    n, x.sm_applied, *l, commit, static_cast<int>(pr.state), pr.match, pr.next,
                    pr.ins.count(), pr.recent_active, x.raft->committed(), x.raft->last_index());
            }
        }
        // No acknowledged write was lost: each is in every member's state
        // machine or superseded there by a later write to its key.
        for (const auto& [index, data] : _acked) {
            const std::string key = data.substr(data.rfind(':') + 1);
            for (node_id n : members) {
                member& x = m(n);
                auto it = x.kv.find(key);
                if (it == x.kv.end() || it->second.first < index) {
                    fail("lost write: \"{}\" acknowledged at {} is missing on {}", data, index, n);
                }
            }
        }
    }

    options _o;
    rng _rng;
    uint64_t _now = 0;
    uint64_t _seq = 0;
    std::priority_queue<event, std::vector<event>, std::greater<>> _events;
    std::deque<std::string> _trace;
    std::map<node_id, std::unique_ptr<member>> _members;
    std::vector<node_id> _bootstrap;
    uint64_t _next_id = 0;
    bool _faults_on = true;

    uint64_t _max_msg_bytes = 4096;
    size_t _max_inflight = 8;
    uint64_t _chunk_bytes = 64;
    double _drop_p = 0;
    double _dup_p = 0;
    uint64_t _delay_lo = 0, _delay_hi = 0, _fsync_lo = 0, _fsync_hi = 0;
    std::set<std::pair<node_id, node_id>> _blocked;
    std::map<std::pair<node_id, node_id>, uint64_t> _link_last;
    std::set<node_id> _removed;

    uint64_t _op_seq = 0;
    std::map<std::string, pending_write> _writes;
    std::map<std::string, pending_read> _reads;
    std::map<log_index, std::string> _acked;
    std::map<std::string, log_index> _acked_by_key;
    std::map<std::string, log_index> _read_seen;

    std::map<term_id, node_id> _leaders;
    struct applied_entry {
        term_id term;
        std::string data;
        term_id committed_by;
    };
    std::map<log_index, applied_entry> _applied;
    std::map<std::pair<log_index, term_id>, std::pair<std::string, term_id>> _entries;

    struct {
        uint64_t events = 0, reads_ok = 0, elections = 0, crashes = 0, snapshots_sent = 0,
                 conf_changes = 0, transfers = 0;
    } _stats;
};

}  // namespace

outcome run(const options& o) {
    // A broken invariant inside the core (FJORD_PANIC) is a violation like
    // any other: unwind to report the seed and trace instead of aborting.
    auto previous = set_panic_handler([](const char* file, int line, const std::string& msg) {
        throw violation{fmt::format("panic at {}:{}: {}", file, line, msg)};
    });
    outcome out = simulation(o).execute();
    set_panic_handler(previous);
    return out;
}

}  // namespace fjord::raft::sim
