// File: bench/raft_bench.cc
//
// raft_bench: a 3-member Raft group in one process, each member with its own
// ready loop thread and a real on-disk segmented_log (fdatasync per ready:
// group commit), members connected by in-memory mailboxes. Closed-loop
// proposers keep P proposals of 256 bytes outstanding against the leader;
// a proposal completes when the leader applies it.
//
//   raft_bench [--dir D] [--seconds S] [--proposers 1,16,256] [--entry-bytes 256]
//
// Prints one JSON object: per proposer count, committed entries/s and commit
// latency percentiles (ms), plus the fdatasync count per member. A benchmark,
// not a test: it asserts nothing about speed.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "controller/raft/node.h"
#include "controller/storage/segmented_log.h"

namespace {

using namespace fjord;
using clock_type = std::chrono::steady_clock;

struct tick_input {};
using input = std::variant<raft::message, tick_input>;

/// One member: its storage, its core, and the loop thread that owns both.
class member {
  public:
    member(node_id id, std::vector<node_id> voters, std::unique_ptr<storage::segmented_log> log)
        : _log(std::move(log)) {
        raft::config c;
        c.id = id;
        c.election_tick = 10;
        c.heartbeat_tick = 1;
        c.seed = id.value();
        c.bootstrap_voters = std::move(voters);
        c.max_inflight_msgs = 64;
        _node = std::make_unique<raft::node>(c, *_log);
    }

    void post(input in) {
        {
            std::lock_guard g(_mu);
            _inbox.push_back(std::move(in));
        }
        _cv.notify_one();
    }

    /// Closed-loop proposers: `outstanding` proposals kept in flight here.
    void set_proposers(int outstanding) {
        std::lock_guard g(_mu);
        _target_outstanding = outstanding;
    }

    bool is_leader() const { return _is_leader.load(); }
    uint64_t syncs() const { return _syncs.load(); }

    /// Completed proposal latencies (ns) since the last call.
    std::vector<int64_t> drain_latencies() {
        std::lock_guard g(_lat_mu);
        return std::exchange(_latencies, {});
    }

    void run(std::vector<member*>* peers, const std::atomic<bool>* stop, size_t entry_bytes) {
        const std::string payload(entry_bytes, 'x');
        while (!stop->load()) {
            std::deque<input> batch;
            int want = 0;
            {
                std::unique_lock lk(_mu);
                _cv.wait_for(lk, std::chrono::milliseconds(1), [&] {
                    return !_inbox.empty() || (_is_leader && _outstanding < _target_outstanding);
                });
                batch.swap(_inbox);
                want = _target_outstanding;
            }
            for (auto& in : batch) {
                if (auto* m = std::get_if<raft::message>(&in)) {
                    _node->step(std::move(*m));
                } else {
                    _node->tick();
                }
            }
            if (_node->current_role() == raft::role::leader) {
                const int room = want - _outstanding;
                if (room > 0 && _node->raft_core().lead_transferee() == no_node) {
                    std::vector<std::string> data(static_cast<size_t>(room), payload);
                    auto first = _node->propose(std::move(data));
                    if (first) {
                        const auto now = clock_type::now();
                        for (int i = 0; i < room; ++i) {
                            _started.emplace(*first + static_cast<uint64_t>(i), now);
                        }
                        _outstanding += room;
                    }
                }
            }
            while (_node->has_ready()) {
                handle_ready(*peers);
            }
        }
    }

  private:
    void handle_ready(std::vector<member*>& peers) {
        raft::ready rd = _node->take_ready();
        // 0. a leader replicates while it writes its own copy
        for (auto& m : rd.early_messages) {
            peers[m.to.value() - 1]->post(std::move(m));
        }
        // 1. persist (one fdatasync for the whole batch)
        if (rd.snapshot) {
            check(_log->install_snapshot(*rd.snapshot));
        }
        if (!rd.entries.empty()) {
            check(_log->append(rd.entries));
        }
        if (rd.hard_state) {
            check(_log->set_hard_state(*rd.hard_state));
        }
        if (rd.must_sync) {
            check(_log->sync());
            ++_syncs;
        }
        // 2. send
        for (auto& m : rd.messages) {
            peers[m.to.value() - 1]->post(std::move(m));
        }
        // 3. apply: completes proposals made here
        const auto now = clock_type::now();
        std::vector<int64_t> done;
        for (const auto& e : rd.committed_entries) {
            auto it = _started.find(e.index);
            if (it != _started.end()) {
                done.push_back(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(now - it->second).count());
                _started.erase(it);
                --_outstanding;
            }
        }
        if (!done.empty()) {
            std::lock_guard g(_lat_mu);
            _latencies.insert(_latencies.end(), done.begin(), done.end());
        }
        // 4. advance
        _node->advance(rd);
        _is_leader = _node->current_role() == raft::role::leader;
        if (!_is_leader && !_started.empty()) {
            _started.clear();  // lost leadership: those proposals are abandoned
            _outstanding = 0;
        }
        // Bound memory: snapshot (an empty state machine) every 20k entries.
        const log_index applied = _node->applied();
        if (applied - _log->snapshot_metadata().index > 20000) {
            check(_log->create_snapshot(applied, _node->conf(), {}));
        }
    }

    static void check(const result<void>& r) {
        if (!r) {
            fmt::print(stderr, "raft_bench: storage failed: {}\n", r.error().message());
            std::exit(1);
        }
    }

    std::unique_ptr<storage::segmented_log> _log;
    std::unique_ptr<raft::node> _node;
    std::mutex _mu;
    std::condition_variable _cv;
    std::deque<input> _inbox;
    int _target_outstanding = 0;
    int _outstanding = 0;
    std::map<log_index, clock_type::time_point> _started;
    std::atomic<bool> _is_leader{false};
    std::atomic<uint64_t> _syncs{0};
    std::mutex _lat_mu;
    std::vector<int64_t> _latencies;
};

double percentile(std::vector<int64_t>& v, double p) {
    if (v.empty()) {
        return 0;
    }
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return static_cast<double>(v[k]) / 1e6;
}

int usage(const std::string& why) {
    fmt::print(stderr,
               "raft_bench: {}\nusage: raft_bench [--dir D] [--seconds S] [--proposers 1,16,256] "
               "[--entry-bytes N]\n",
               why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir;
    double seconds = 5;
    size_t entry_bytes = 256;
    std::vector<int> proposer_counts{1, 16, 256};
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) {
            return usage("missing value for " + a);
        }
        const std::string v = argv[++i];
        try {
            if (a == "--dir") {
                dir = v;
            } else if (a == "--seconds") {
                seconds = std::stod(v);
            } else if (a == "--entry-bytes") {
                entry_bytes = std::stoul(v);
            } else if (a == "--proposers") {
                proposer_counts.clear();
                size_t pos = 0;
                while (pos <= v.size()) {
                    const size_t comma = v.find(',', pos);
                    proposer_counts.push_back(std::stoi(v.substr(pos, comma - pos)));
                    if (comma == std::string::npos) {
                        break;
                    }
                    pos = comma + 1;
                }
            } else {
                return usage("unknown argument " + a);
            }
        } catch (const std::exception&) {
            return usage("bad value for " + a + ": " + v);
        }
    }
    if (seconds <= 0 || entry_bytes == 0 || proposer_counts.empty()) {
        return usage("--seconds, --entry-bytes and --proposers must be positive");
    }
    if (dir.empty()) {
        // Default to the working directory: /tmp may be tmpfs, where fdatasync is free.
        dir = (std::filesystem::current_path() / "raft_bench_data").string();
    }
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);

    const std::vector<node_id> voters{node_id{1}, node_id{2}, node_id{3}};
    std::vector<std::unique_ptr<member>> members;
    for (node_id id : voters) {
        storage::options o;
        o.dir = fmt::format("{}/member-{}", dir, id);
        auto log = storage::segmented_log::open(o);
        if (!log) {
            fmt::print(stderr, "raft_bench: {}\n", log.error().message());
            return 1;
        }
        members.push_back(std::make_unique<member>(id, voters, std::move(*log)));
    }
    std::vector<member*> peers;
    for (auto& m : members) {
        peers.push_back(m.get());
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (auto& m : members) {
        threads.emplace_back([&, mp = m.get()] { mp->run(&peers, &stop, entry_bytes); });
    }
    std::thread ticker([&] {
        while (!stop.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            for (auto* p : peers) {
                p->post(tick_input{});
            }
        }
    });
    member* leader = nullptr;
    for (int i = 0; i < 500 && leader == nullptr; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        for (auto* p : peers) {
            if (p->is_leader()) {
                leader = p;
            }
        }
    }
    if (leader == nullptr) {
        fmt::print(stderr, "raft_bench: no leader elected within 5s\n");
        stop = true;
        ticker.join();
        for (auto& t : threads) {
            t.join();
        }
        return 1;
    }

    std::string runs;
    // Every member holds the proposer count; only the leader proposes, so a
    // leadership change mid-run moves the load instead of stalling it.
    auto set_all = [&](int n) {
        for (auto* m : peers) {
            m->set_proposers(n);
        }
    };
    auto drain_all = [&] {
        std::vector<int64_t> all;
        for (auto* m : peers) {
            auto l = m->drain_latencies();
            all.insert(all.end(), l.begin(), l.end());
        }
        return all;
    };
    for (int p : proposer_counts) {
        std::vector<uint64_t> syncs_before;
        for (auto* m : peers) {
            syncs_before.push_back(m->syncs());
        }
        set_all(p);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // warm up
        drain_all();
        const auto t0 = clock_type::now();
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        std::vector<int64_t> lat = drain_all();
        const double elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
        set_all(0);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // drain
        std::string syncs;
        for (size_t i = 0; i < peers.size(); ++i) {
            syncs += fmt::format("{}{}", i ? "," : "", peers[i]->syncs() - syncs_before[i]);
        }
        const size_t n = lat.size();
        const double p50 = percentile(lat, 0.50);
        const double p99 = percentile(lat, 0.99);
        const double mx = percentile(lat, 1.0);
        runs += fmt::format(
            "{}\n    {{\"proposers\": {}, \"committed\": {}, \"entries_per_sec\": {:.0f}, "
            "\"p50_ms\": {:.3f}, \"p99_ms\": {:.3f}, \"max_ms\": {:.3f}, \"fdatasyncs\": [{}]}}",
            runs.empty() ? "" : ",", p, n, static_cast<double>(n) / elapsed, p50, p99, mx, syncs);
    }
    stop = true;
    ticker.join();
    for (auto& t : threads) {
        t.join();
    }
    fmt::print(
        "{{\n  \"benchmark\": \"raft_bench\",\n  \"members\": 3,\n  \"entry_bytes\": {},\n"
        "  \"seconds_per_run\": {},\n  \"runs\": [{}\n  ]\n}}\n",
        entry_bytes, seconds, runs);
    std::filesystem::remove_all(dir);
    return 0;
}
