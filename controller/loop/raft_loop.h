#pragma once
// File: controller/loop/raft_loop.h
//
// The ready loop: the one thread that owns a member's Raft node, its durable
// log and the state machine's apply path, and runs the ready contract of
// controller/raft/node.h (its one copy, raft::handle_ready) for every ready:
//
//   persist (segmented_log append + hard state, one sync)  ->  send (peer
//   transport)  ->  apply (state_machine)  ->  advance
//
// Everything else reaches the node through this class's thread-safe methods,
// which post work to the loop and return futures:
//
//   gRPC threads ──propose/read_index/...──▶ inbox ──▶ loop thread ──▶ node
//   transport    ──deliver(message)───────▶ inbox        │
//   timer (tick every tick_ms) ───────────────────────────┘
//
// Every reply is definite or says it is not (safety rule: "success means
// committed; not-the-leader only when nothing was proposed; otherwise outcome
// unknown"). A proposal resolves:
//   - with the state machine's result when its entry is applied;
//   - with raft::errc::not_leader (or proposal_dropped) when nothing was
//     proposed, and with proposal_dropped when an entry of another term was
//     committed at its index (it can then never commit: indexes never move);
//   - with raft::errc::outcome_unknown when this member can no longer tell:
//     its deadline passed, the loop stopped, or a snapshot replaced the log
//     up to its index.
// A truncated log or a lost leadership alone decides nothing: the entry may
// still be committed by a later leader that holds it (Raft's Figure 8), so
// its waiter stays until the index commits. Waiters are kept per (index,
// term): a new proposal at an index where an older term's waiter still
// waits (this member was leader before, and lost that suffix) is added
// beside it, never in place of it. Reads unresolved at their deadline fail
// with std::errc::timed_out; at stop, with operation_canceled. Each request
// resolves exactly once, either through a future or through a completion
// callback. A proposal applied normally is completed on the
// completion thread, in apply order, while the loop goes on to the next
// ready (completing a write means encoding and sending its gRPC response,
// which would otherwise delay the next sync); other completions run on the
// loop thread (or, when the loop is already stopping, on the caller's).
// Completions must be quick and must not block, and may use
// controller_state::read (no lock is held when they run). stop() returns
// after every completion has run.
//
// A storage failure stops the process (FJORD_PANIC): after a failed sync the
// log's durability can no longer be known, and serving on could lose
// acknowledged writes.
//
// Deterministic driving (tests, the simulation): instead of start(), call
// run_once() whenever the loop should make progress. It runs the same steps
// the thread runs (posted work, proposals, the tick if the clock in
// raft_loop_options::now says one is due, readies) on the caller's thread,
// and runs completions inline; nothing else runs concurrently.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/metrics.h"
#include "controller/loop/loop_port.h"
#include "controller/loop/state_machine.h"
#include "controller/raft/node.h"
#include "controller/raft/transport.h"

namespace fjord::loop {

struct raft_loop_options {
    raft::config raft;
    std::chrono::milliseconds tick{100};
    /// Take a snapshot after this many entries applied since the last one.
    uint64_t snapshot_entries = 10000;
    /// Requests unresolved after this long fail with a timeout.
    std::chrono::milliseconds request_expiry{30000};
    /// The clock for deadlines and ticks; null means steady_clock::now. The
    /// loop thread waits on the real clock, so another clock is only for
    /// run_once().
    std::function<std::chrono::steady_clock::time_point()> now;
    /// Mixed into read-index request contexts so that a delayed answer meant
    /// for an earlier incarnation of this member never resolves a read of
    /// this one; 0 means random.
    uint64_t incarnation = 0;
};

/// The loop's metrics, registered in the registry given to the constructor
/// (updated on the loop thread, read by the /metrics handler).
struct loop_metrics {
    explicit loop_metrics(metrics::registry& r);
    metrics::counter& leader_changes;
    metrics::counter& syncs;
    metrics::histogram& append_seconds;  ///< append + fdatasync of one ready
    metrics::counter& applied_entries;
    metrics::histogram& apply_seconds;  ///< applying one ready's committed entries
    metrics::counter& snapshots;
};

class raft_loop final : public loop_port {
  public:
    /// Called on the loop thread after each batch of applies, and when
    /// leadership or role changes (observers must not block).
    using observer = std::function<void()>;

    raft_loop(raft_loop_options o, raft::storage& log, state_machine& sm,
              raft::transport& transport, metrics::registry& metrics);
    ~raft_loop();
    raft_loop(const raft_loop&) = delete;
    raft_loop& operator=(const raft_loop&) = delete;

    void start();
    /// One pass of the loop on the caller's thread (instead of start()).
    void run_once();
    /// Stops the thread; unresolved requests fail. Idempotent.
    void stop();

    // --- thread-safe requests ---
    void deliver(raft::message m);
    std::future<result<void>> propose(std::string data);
    /// As above, resolving through `done`, or timed_out at `deadline`.
    void propose(std::string data, clock::time_point deadline, completion<void> done) override;
    /// Resolves with a read index once this member has applied it: a read of
    /// the local state from then on is linearizable.
    std::future<result<log_index>> read_index() override;
    void read_index(clock::time_point deadline, completion<log_index> done);
    std::future<result<void>> propose_conf_change(raft::conf_change cc) override;
    std::future<result<void>> transfer_leadership(node_id to) override;
    std::future<result<log_index>> take_snapshot() override;
    std::future<loop_status> status() override;
    /// Runs `fn` on the loop thread (between readies); false (and `fn` is
    /// dropped) once the loop is stopping.
    bool post(std::function<void()> fn);

    // --- cheap, thread-safe observations (may be stale) ---
    node_id id() const { return _id; }
    node_id leader() const override { return node_id{_leader.load()}; }
    bool is_leader() const override { return _leader.load() == _id.value(); }
    term_id term() const { return term_id{_term.load()}; }
    log_index applied() const { return log_index{_applied.load()}; }
    log_index commit() const { return log_index{_commit.load()}; }

    void set_apply_observer(observer o) { _apply_observer = std::move(o); }
    void set_leader_observer(observer o) { _leader_observer = std::move(o); }

  private:
    struct proposal_waiter {
        term_id term;
        clock::time_point deadline;
        completion<void> done;
    };
    struct read_waiter {
        log_index index;  // 0 until the read state arrives
        clock::time_point deadline;
        completion<log_index> done;
    };

    void run();
    /// One pass: posted work, proposals, a due tick, every ready.
    void process(std::deque<std::function<void()>>& work);
    void run_completions();
    clock::time_point now() const { return _o.now ? _o.now() : clock::now(); }
    /// Resolves every waiter at committed index e.index: e's own proposer
    /// with `outcome`, those of other terms with proposal_dropped.
    void resolve_proposals(const raft::entry& e, result<void> outcome,
                           std::vector<std::pair<completion<void>, result<void>>>& applied);
    void flush_proposals();
    /// One ready through raft::handle_ready (the contract's one copy).
    void handle_ready();
    /// handle_ready's step 3: the snapshot and committed entries to the state
    /// machine, their proposers resolved, read states recorded.
    void apply(const raft::ready& rd);
    void resolve_reads();
    void expire(clock::time_point t);
    void maybe_snapshot(bool force);
    loop_status make_status() const;

    raft_loop_options _o;
    node_id _id;
    raft::storage& _log;
    state_machine& _sm;
    raft::transport& _transport;
    std::unique_ptr<raft::node> _node;

    std::mutex _mu;
    std::condition_variable _cv;
    std::deque<std::function<void()>> _inbox;
    bool _stopping = false;
    std::thread _thread;

    // The completion thread's queue: batches of applied proposals.
    using completed = std::vector<std::pair<completion<void>, result<void>>>;
    std::mutex _done_mu;
    std::condition_variable _done_cv;
    std::deque<completed> _done;
    bool _done_stopping = false;
    std::thread _completer;

    // Loop-thread state.
    struct pending_proposal {
        std::string data;
        clock::time_point deadline;
        completion<void> done;
    };
    std::vector<pending_proposal> _batch;
    std::multimap<log_index, proposal_waiter> _proposals;
    std::map<uint64_t, read_waiter> _reads;
    uint64_t _read_seq = 0;  // starts at the incarnation (high 32 bits)
    clock::time_point _next_tick;
    bool _threaded = false;  // start() was called: completions on their own thread
    log_index _last_snapshot;
    observer _apply_observer;
    observer _leader_observer;

    std::atomic<uint64_t> _leader{0};
    std::atomic<uint64_t> _term{0};
    std::atomic<uint64_t> _applied{0};
    std::atomic<uint64_t> _commit{0};
    loop_metrics _metrics;
};

}  // namespace fjord::loop
