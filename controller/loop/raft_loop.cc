#include "controller/loop/raft_loop.h"

#include <random>
#include <utility>

#include <fmt/format.h>

#include "common/assert.h"
#include "common/log.h"
#include "controller/raft/errc.h"
#include "controller/raft/ready_handler.h"

namespace fjord::loop {
namespace {

std::string encode_read_ctx(uint64_t seq) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) {
        s[static_cast<size_t>(i)] = static_cast<char>((seq >> (8 * i)) & 0xFFu);
    }
    return s;
}

uint64_t decode_read_ctx(const std::string& s) {
    uint64_t v = 0;
    for (size_t i = 0; i < s.size() && i < 8; ++i) {
        v |= static_cast<uint64_t>(static_cast<uint8_t>(s[i])) << (8 * i);
    }
    return v;
}

/// A completion that fulfils a promise: the future-returning requests are
/// the completion-taking ones plus this.
template <typename T>
std::pair<std::future<result<T>>, raft_loop::completion<T>> promised() {
    auto p = std::make_shared<std::promise<result<T>>>();
    auto f = p->get_future();
    return {std::move(f), [p](result<T> r) { p->set_value(std::move(r)); }};
}

error_info shutting_down() {
    return error_info(std::make_error_code(std::errc::operation_canceled),
                      "controller shutting down");
}

/// Holds a request's completion inside work posted to the loop. The work
/// takes it out when it runs; if the work is destroyed unrun (the loop
/// stopped first), the completion still resolves, with shutting_down(), so
/// that no caller waits forever.
template <typename T>
class guarded {
  public:
    explicit guarded(raft_loop::completion<T> done) : _done(std::move(done)) {}
    guarded(const guarded&) = delete;
    guarded& operator=(const guarded&) = delete;
    ~guarded() {
        if (_done) {
            _done(shutting_down());
        }
    }
    raft_loop::completion<T> take() { return std::exchange(_done, nullptr); }

  private:
    raft_loop::completion<T> _done;
};

error_info outcome_unknown(std::string why) {
    return {raft::errc::outcome_unknown, std::move(why)};
}

uint64_t random_incarnation() {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) | rd();
}

error_info not_leader(node_id leader) {
    return {raft::errc::not_leader, fmt::format("leader is {}", leader)};
}

const char* state_name(raft::progress_state s) {
    switch (s) {
        case raft::progress_state::probe:
            return "probe";
        case raft::progress_state::replicate:
            return "replicate";
        case raft::progress_state::snapshot:
            return "snapshot";
    }
    return "unknown";
}

}  // namespace

loop_metrics::loop_metrics(metrics::registry& r)
    : leader_changes(r.add_counter("fjord_controller_raft_leader_changes_total",
                                   "Leader changes seen by this member")),
      syncs(r.add_counter("fjord_controller_raft_log_syncs_total",
                          "fdatasyncs of the Raft log (one per group commit)")),
      append_seconds(r.add_histogram("fjord_controller_raft_append_seconds",
                                     "Appending one ready's entries and syncing the log",
                                     metrics::default_latency_buckets())),
      applied_entries(r.add_counter("fjord_controller_raft_applied_entries_total",
                                    "Entries applied to the state machine")),
      apply_seconds(r.add_histogram("fjord_controller_raft_apply_seconds",
                                    "Applying one ready's committed entries",
                                    metrics::default_latency_buckets())),
      snapshots(r.add_counter("fjord_controller_raft_snapshots_total",
                              "Snapshots taken by this member")) {}

raft_loop::raft_loop(raft_loop_options o, raft::storage& log, state_machine& sm,
                     raft::transport& transport, metrics::registry& metrics)
    : _o(std::move(o)),
      _id(_o.raft.id),
      _log(log),
      _sm(sm),
      _transport(transport),
      _metrics(metrics) {
    _node = std::make_unique<raft::node>(_o.raft, _log);
    _last_snapshot = _log.snapshot_metadata().index;
    _applied = _node->applied().value();
    _commit = _node->committed().value();
    _term = _node->term().value();
    // Read contexts are (incarnation << 32) + a counter: an answer meant for
    // an earlier run of this member (same term, delayed on the network)
    // matches no read of this run.
    const uint64_t inc = _o.incarnation != 0 ? _o.incarnation : random_incarnation();
    _read_seq = inc << 32;
    _next_tick = now() + _o.tick;
}

raft_loop::~raft_loop() {
    stop();
}

void raft_loop::start() {
    _threaded = true;
    _completer = std::thread([this] { run_completions(); });
    _thread = std::thread([this] { run(); });
}

void raft_loop::run_completions() {
    for (;;) {
        completed batch;
        {
            std::unique_lock lk(_done_mu);
            _done_cv.wait(lk, [&] { return _done_stopping || !_done.empty(); });
            if (_done.empty()) {
                return;  // stopping, and everything queued has run
            }
            batch = std::move(_done.front());
            _done.pop_front();
        }
        for (auto& [done, outcome] : batch) {
            done(std::move(outcome));
        }
    }
}

void raft_loop::stop() {
    {
        std::lock_guard g(_mu);
        if (_stopping && !_thread.joinable()) {
            return;
        }
        _stopping = true;
    }
    _cv.notify_all();
    if (_thread.joinable()) {
        _thread.join();
    }
    {
        std::lock_guard g(_done_mu);
        _done_stopping = true;
    }
    _done_cv.notify_all();
    if (_completer.joinable()) {
        _completer.join();  // runs what the loop handed over before it stopped
    }
    // Whatever is still waiting will never be answered by this loop. Work
    // posted but not run is dropped here: a request's work resolves it with
    // shutting_down() when destroyed unrun (see guarded).
    std::deque<std::function<void()>> unrun;
    {
        std::lock_guard g(_mu);
        unrun.swap(_inbox);
    }
    unrun.clear();  // outside the lock: completions may post (and are refused)
    for (auto& b : _batch) {
        b.done(shutting_down());
    }
    _batch.clear();
    for (auto& [index, w] : _proposals) {
        // Proposed, and perhaps committed by the others after we stop.
        w.done(outcome_unknown(
            fmt::format("controller shutting down with the write at index {} in flight", index)));
    }
    _proposals.clear();
    for (auto& [seq, w] : _reads) {
        w.done(shutting_down());
    }
    _reads.clear();
}

bool raft_loop::post(std::function<void()> fn) {
    {
        std::lock_guard g(_mu);
        if (_stopping) {
            return false;
        }
        _inbox.push_back(std::move(fn));
    }
    _cv.notify_one();
    return true;
}

void raft_loop::deliver(raft::message m) {
    post([this, m = std::move(m)]() mutable { _node->step(std::move(m)); });
}

std::future<result<void>> raft_loop::propose(std::string data) {
    auto [f, done] = promised<void>();
    propose(std::move(data), now() + _o.request_expiry, std::move(done));
    return std::move(f);
}

void raft_loop::propose(std::string data, clock::time_point deadline, completion<void> done) {
    // Proposals that arrive together are proposed together (flush_proposals):
    // one batch of entries, one append per follower.
    auto g = std::make_shared<guarded<void>>(std::move(done));
    post([this, g, deadline, data = std::move(data)]() mutable {
        _batch.push_back(pending_proposal{std::move(data), deadline, g->take()});
    });
}

void raft_loop::flush_proposals() {
    if (_batch.empty()) {
        return;
    }
    std::vector<std::string> data;
    data.reserve(_batch.size());
    for (auto& b : _batch) {
        data.push_back(std::move(b.data));
    }
    auto first = _node->propose(std::move(data));
    // Swapped out first: a completion may propose again (into a new batch).
    std::vector<pending_proposal> batch;
    batch.swap(_batch);
    for (size_t k = 0; k < batch.size(); ++k) {
        auto& done = batch[k].done;
        if (!first) {
            done(first.code() == raft::errc::not_leader ? not_leader(_node->leader())
                                                        : first.error());
            continue;
        }
        _proposals.emplace(*first + k,
                           proposal_waiter{_node->term(), batch[k].deadline, std::move(done)});
        // An older term's waiter at this index stays beside this one: its
        // entry left our log, but a later leader holding it may still commit
        // it, so only the commit of this index decides between them.
    }
}

std::future<result<log_index>> raft_loop::read_index() {
    auto [f, done] = promised<log_index>();
    read_index(now() + _o.request_expiry, std::move(done));
    return std::move(f);
}

void raft_loop::read_index(clock::time_point deadline, completion<log_index> done) {
    auto g = std::make_shared<guarded<log_index>>(std::move(done));
    post([this, g, deadline]() mutable {
        const uint64_t seq = ++_read_seq;
        auto r = _node->read_index(encode_read_ctx(seq));
        if (!r) {
            g->take()(r.code() == raft::errc::not_leader ? not_leader(_node->leader()) : r.error());
            return;
        }
        _reads.emplace(seq, read_waiter{log_index{0}, deadline, g->take()});
    });
}

std::future<result<void>> raft_loop::propose_conf_change(raft::conf_change cc) {
    auto [f, done] = promised<void>();
    auto g = std::make_shared<guarded<void>>(std::move(done));
    post([this, g, cc = std::move(cc)]() mutable {
        auto index = _node->propose_conf_change(cc);
        if (!index) {
            g->take()(index.code() == raft::errc::not_leader ? not_leader(_node->leader())
                                                             : index.error());
            return;
        }
        _proposals.emplace(*index,
                           proposal_waiter{_node->term(), now() + _o.request_expiry, g->take()});
    });
    return std::move(f);
}

std::future<result<void>> raft_loop::transfer_leadership(node_id to) {
    auto p = std::make_shared<std::promise<result<void>>>();
    auto f = p->get_future();
    post([this, p, to]() mutable {
        auto r = _node->transfer_leadership(to);
        p->set_value(r.code() == raft::errc::not_leader ? result<void>(not_leader(_node->leader()))
                                                        : r);
    });
    return f;
}

std::future<result<log_index>> raft_loop::take_snapshot() {
    auto p = std::make_shared<std::promise<result<log_index>>>();
    auto f = p->get_future();
    post([this, p]() mutable {
        maybe_snapshot(true);
        p->set_value(_last_snapshot);
    });
    return f;
}

std::future<loop_status> raft_loop::status() {
    auto p = std::make_shared<std::promise<loop_status>>();
    auto f = p->get_future();
    post([this, p]() mutable { p->set_value(make_status()); });
    return f;
}

loop_status raft_loop::make_status() const {
    loop_status s;
    s.id = _id;
    s.leader = _node->leader();
    s.role = _node->current_role();
    s.term = _node->term();
    s.commit = _node->committed();
    s.applied = _node->applied();
    s.last_index = _node->last_index();
    s.snapshot_index = _last_snapshot;
    s.conf = _node->conf();
    if (s.role == raft::role::leader) {
        for (const auto& [id, pr] : _node->raft_core().progress_map()) {
            s.progress.push_back({id, pr.match, state_name(pr.state), pr.recent_active});
        }
    }
    return s;
}

void raft_loop::run() {
    for (;;) {
        std::deque<std::function<void()>> work;
        {
            std::unique_lock lk(_mu);
            _cv.wait_until(lk, _next_tick, [&] { return _stopping || !_inbox.empty(); });
            if (_stopping) {
                return;
            }
            work.swap(_inbox);
        }
        process(work);
    }
}

void raft_loop::run_once() {
    std::deque<std::function<void()>> work;
    {
        std::lock_guard g(_mu);
        if (_stopping) {
            return;
        }
        work.swap(_inbox);
    }
    process(work);
}

void raft_loop::process(std::deque<std::function<void()>>& work) {
    for (auto& fn : work) {
        fn();
    }
    flush_proposals();
    const auto t = now();
    if (t >= _next_tick) {
        _node->tick();
        _next_tick += _o.tick;
        if (_next_tick < t) {
            _next_tick = t + _o.tick;  // fell behind (paused): do not burst ticks
        }
        expire(t);
    }
    while (_node->has_ready()) {
        handle_ready();
    }
}

void raft_loop::handle_ready() {
    raft::ready rd = _node->take_ready();

    const auto persist_start = clock::now();
    raft::ready_driver driver{
        .log = _log,
        .net = _transport,
        .apply = [&](const raft::ready& r) { apply(r); },
        .persisted =
            [&](bool synced) {
                if (rd.snapshot) {
                    _last_snapshot = rd.snapshot->meta.index;
                }
                if (synced) {
                    _metrics.syncs.inc();
                    _metrics.append_seconds.observe(
                        std::chrono::duration<double>(clock::now() - persist_start).count());
                }
            },
    };
    if (auto r = raft::handle_ready(*_node, rd, driver); !r) {
        FJORD_PANIC("{}", r.error().message());
    }

    _applied = _node->applied().value();
    _commit = _node->committed().value();
    _term = _node->term().value();
    if (rd.soft_state) {
        const uint64_t leader = rd.soft_state->leader.value();
        if (_leader.exchange(leader) != leader) {
            _metrics.leader_changes.inc();
            log(log_level::info, "raft", "{}: leader is now {} (term {}, {})", _id, leader,
                _node->term(), raft::to_string(rd.soft_state->role));
        }
        if (_leader_observer) {
            _leader_observer();
        }
    }
    resolve_reads();
    if ((!rd.committed_entries.empty() || rd.snapshot) && _apply_observer) {
        _apply_observer();
    }
    maybe_snapshot(false);
}

void raft_loop::apply(const raft::ready& rd) {
    const auto t0 = clock::now();
    if (rd.snapshot) {
        auto r = _sm.restore(*rd.snapshot);
        if (!r) {
            FJORD_PANIC("restore snapshot at {}: {}", rd.snapshot->meta.index, r.error().message());
        }
    }
    std::vector<result<void>> outcomes = _sm.apply_batch(rd.committed_entries);
    completed applied;
    if (rd.snapshot) {
        // The snapshot says what is committed up to its index, not which
        // entries: a proposal there may or may not be part of it.
        const log_index upto = rd.snapshot->meta.index;
        for (auto it = _proposals.begin(); it != _proposals.end() && it->first <= upto;) {
            auto done = std::move(it->second.done);
            const log_index index = it->first;
            it = _proposals.erase(it);
            done(outcome_unknown(fmt::format(
                "the log up to {} was replaced by a snapshot while the write at index {} was "
                "in flight",
                upto, index)));
        }
    }
    for (size_t k = 0; k < rd.committed_entries.size(); ++k) {
        resolve_proposals(rd.committed_entries[k], std::move(outcomes[k]), applied);
    }
    if (!applied.empty()) {
        if (_threaded) {
            {
                std::lock_guard g(_done_mu);
                _done.push_back(std::move(applied));
            }
            _done_cv.notify_one();
        } else {
            for (auto& [done, outcome] : applied) {
                done(std::move(outcome));
            }
        }
    }
    if (!rd.committed_entries.empty()) {
        _metrics.applied_entries.inc(rd.committed_entries.size());
        _metrics.apply_seconds.observe(std::chrono::duration<double>(clock::now() - t0).count());
    }
    for (const raft::read_state& rs : rd.read_states) {
        auto it = _reads.find(decode_read_ctx(rs.context));
        if (it != _reads.end()) {
            it->second.index = rs.index;
        }
    }
}

void raft_loop::resolve_proposals(const raft::entry& e, result<void> outcome,
                                  std::vector<std::pair<completion<void>, result<void>>>& applied) {
    auto [lo, hi] = _proposals.equal_range(e.index);
    for (auto it = lo; it != hi;) {
        proposal_waiter w = std::move(it->second);
        it = _proposals.erase(it);
        if (w.term == e.term) {
            applied.emplace_back(std::move(w.done), std::move(outcome));
        } else {
            w.done(error_info(raft::errc::proposal_dropped,
                              fmt::format("not committed: index {} holds an entry of term {}, "
                                          "proposed in term {}",
                                          e.index, e.term, w.term)));
        }
    }
}

void raft_loop::resolve_reads() {
    const log_index applied = _node->applied();
    for (auto it = _reads.begin(); it != _reads.end();) {
        if (it->second.index != log_index{0} && it->second.index <= applied) {
            auto done = std::move(it->second.done);
            const log_index index = it->second.index;
            it = _reads.erase(it);
            done(index);
        } else {
            ++it;
        }
    }
}

void raft_loop::expire(clock::time_point t) {
    const auto timed_out = [](const char* what) {
        return error_info(std::make_error_code(std::errc::timed_out),
                          fmt::format("{} not resolved in time (no quorum?)", what));
    };
    for (auto it = _proposals.begin(); it != _proposals.end();) {
        if (it->second.deadline <= t) {
            auto done = std::move(it->second.done);
            const log_index index = it->first;
            it = _proposals.erase(it);
            done(outcome_unknown(
                fmt::format("the write at index {} was not committed in time (no quorum?); it "
                            "may still be",
                            index)));
        } else {
            ++it;
        }
    }
    for (auto it = _reads.begin(); it != _reads.end();) {
        if (it->second.deadline <= t) {
            auto done = std::move(it->second.done);
            it = _reads.erase(it);
            done(timed_out("read index"));
        } else {
            ++it;
        }
    }
}

void raft_loop::maybe_snapshot(bool force) {
    const log_index applied = _node->applied();
    if (applied <= _last_snapshot) {
        return;
    }
    if (!force && applied - _last_snapshot < _o.snapshot_entries) {
        return;
    }
    auto r = _log.create_snapshot(applied, _node->conf(), _sm.snapshot());
    if (!r) {
        FJORD_PANIC("create snapshot at {}: {}", applied, r.error().message());
    }
    _last_snapshot = applied;
    _metrics.snapshots.inc();
    log(log_level::info, "raft", "{}: snapshot at {}", _id, applied);
}

}  // namespace fjord::loop
