// File: controller/loop/raft_loop_test.cc
//
// The production ready loop, three members in one process, driven
// deterministically (raft_loop::run_once with a fake clock) over an
// in-process network the test partitions at will. These tests pin down the
// loop's reply contract (raft_loop.h): every proposal is answered exactly
// once, success only when its own entry committed, a definite failure only
// when it can never commit, and "outcome unknown" otherwise.

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/metrics.h"
#include "controller/loop/raft_loop.h"
#include "controller/raft/errc.h"
#include "controller/raft/memory_storage.h"

namespace fjord::loop {
namespace {

using clock = raft_loop::clock;
using namespace std::chrono_literals;

/// Applies nothing but counts: the tests look at who was answered what.
class counting_machine final : public state_machine {
  public:
    result<void> apply(const raft::entry&) override {
        ++applied;
        return ok();
    }
    std::string snapshot() override { return {}; }
    result<void> restore(const raft::snapshot&) override { return ok(); }
    int applied = 0;
};

class cluster;

/// One member's outbound side: queues into the cluster's network.
class link final : public raft::transport {
  public:
    link(cluster& c, node_id from) : _c(c), _from(from) {}
    void send(raft::message m) override;

  private:
    cluster& _c;
    node_id _from;
};

struct member {
    raft::memory_storage disk;
    counting_machine sm;
    std::unique_ptr<metrics::registry> metrics;  // one per loop: a loop registers its series
    std::unique_ptr<link> out;
    std::unique_ptr<raft_loop> loop;
};

/// Three members with a fake clock and a network that holds messages until
/// step() delivers them, dropping those across a partition.
class cluster {
  public:
    cluster() {
        for (uint64_t id = 1; id <= 3; ++id) {
            auto m = std::make_unique<member>();
            m->out = std::make_unique<link>(*this, node_id{id});
            _members.emplace(node_id{id}, std::move(m));
            start(node_id{id}, id);
        }
    }

    /// (Re)starts a member's loop over its disk, as a new process would.
    void start(node_id id, uint64_t incarnation) {
        member& m = *_members.at(id);
        if (m.loop) {
            m.loop->stop();
            m.loop.reset();
        }
        raft_loop_options o;
        o.raft.id = id;
        o.raft.bootstrap_voters = {node_id{1}, node_id{2}, node_id{3}};
        o.raft.seed = id.value() + incarnation;
        o.tick = 10ms;
        o.request_expiry = 3600s;  // nothing expires in these tests
        o.now = [this] { return _now; };
        o.incarnation = incarnation;
        m.metrics = std::make_unique<metrics::registry>();
        m.loop = std::make_unique<raft_loop>(o, m.disk, m.sm, *m.out, *m.metrics);
    }

    /// Messages for which `pred` holds are kept off the wire until released.
    void hold(std::function<bool(const raft::message&)> pred) { _hold = std::move(pred); }
    void release_held() {
        _hold = nullptr;
        for (auto& m : std::exchange(_held, {})) {
            _members.at(m.to)->loop->deliver(std::move(m));
        }
    }
    ~cluster() {
        for (auto& [id, m] : _members) {
            m->loop->stop();
        }
    }

    raft_loop& loop(node_id id) { return *_members.at(id)->loop; }
    clock::time_point now() const { return _now; }

    void send(node_id from, raft::message m) {
        if (_hold && _hold(m)) {
            _held.push_back(std::move(m));
        } else if (!cut(from, m.to)) {
            _wire.push_back(std::move(m));
        }
    }

    /// Isolates `id` from everyone (both directions).
    void isolate(node_id id) { _isolated.insert(id); }
    void heal() { _isolated.clear(); }

    /// 5 ms of fake time: every loop runs once, then the network delivers.
    void step() {
        _now += 5ms;
        for (auto& [id, m] : _members) {
            m->loop->run_once();
        }
        auto wire = std::exchange(_wire, {});
        for (auto& m : wire) {
            if (!cut(m.from, m.to)) {
                _members.at(m.to)->loop->deliver(std::move(m));
            }
        }
    }

    template <typename Pred>
    bool run_until(Pred done, int max_steps = 20000) {
        for (int i = 0; i < max_steps; ++i) {
            if (done()) {
                return true;
            }
            step();
        }
        return done();
    }

    /// The member that leads (and is recognized by `among`), if any.
    std::optional<node_id> leader_among(const std::set<node_id>& among) {
        for (node_id id : among) {
            if (loop(id).is_leader()) {
                bool agreed = true;
                for (node_id other : among) {
                    agreed = agreed && loop(other).leader() == id;
                }
                if (agreed) {
                    return id;
                }
            }
        }
        return std::nullopt;
    }

  private:
    bool cut(node_id from, node_id to) const {
        return _isolated.count(from) > 0 || _isolated.count(to) > 0;
    }

    clock::time_point _now{};
    std::map<node_id, std::unique_ptr<member>> _members;
    std::deque<raft::message> _wire;
    std::set<node_id> _isolated;
    std::function<bool(const raft::message&)> _hold;
    std::vector<raft::message> _held;
};

void link::send(raft::message m) {
    m.from = _from;
    _c.send(_from, std::move(m));
}

/// Every answer a proposal got (it must get exactly one).
struct answers {
    std::map<std::string, std::vector<result<void>>> by_name;

    raft_loop::completion<void> expect(const std::string& name) {
        by_name[name];
        return [this, name](result<void> r) { by_name[name].push_back(std::move(r)); };
    }
    const std::vector<result<void>>& of(const std::string& name) { return by_name.at(name); }
    bool answered(const std::string& name) { return !by_name.at(name).empty(); }
};

const std::set<node_id> all{node_id{1}, node_id{2}, node_id{3}};

node_id other_than(std::initializer_list<node_id> not_these) {
    for (node_id id : all) {
        if (std::find(not_these.begin(), not_these.end(), id) == not_these.end()) {
            return id;
        }
    }
    return no_node;
}

// The schedule that lost a committed write's answer: a leader proposes five
// entries it cannot commit, loses leadership and that suffix, becomes leader
// again, and proposes at an index where a waiter of its first term still
// waits. The new proposal commits; its proposer must hear so, and each old
// waiter must hear a definite "not committed" once its index commits another
// entry.
TEST(raft_loop, no_waiter_is_dropped_when_a_former_leader_proposes_at_an_old_index) {
    answers a;  // outlives the cluster, whose loops answer into it at stop
    cluster c;
    ASSERT_TRUE(c.run_until([&] { return c.leader_among(all).has_value(); }));
    const node_id l = *c.leader_among(all);

    // 1. L, cut off, takes five proposals at term t1 that can never commit.
    c.isolate(l);
    for (int k = 0; k < 5; ++k) {
        c.loop(l).propose(fmt::format("old-{}", k), clock::time_point::max(),
                          a.expect(fmt::format("old-{}", k)));
    }
    c.loop(l).run_once();
    const term_id t1 = c.loop(l).term();

    // 2. The others elect M and commit its empty entry at old-0's index.
    const node_id x = other_than({l});
    const node_id y = other_than({l, x});
    ASSERT_TRUE(c.run_until([&] { return c.leader_among({x, y}).has_value(); }));
    const node_id m = *c.leader_among({x, y});
    const node_id n = m == x ? y : x;
    ASSERT_TRUE(c.run_until([&] { return c.loop(n).commit() == c.loop(m).commit(); }));

    // 3. M is cut off; N and L elect N (L's log is behind), and N's empty
    // entry replaces L's suffix. Two old waiters' indexes commit other
    // entries: definite failures. Three still wait, on indexes L no longer has.
    c.heal();
    c.isolate(m);
    ASSERT_TRUE(c.run_until([&] { return c.leader_among({n, l}) == n; }));
    ASSERT_TRUE(c.run_until([&] { return c.loop(l).applied() == c.loop(n).commit(); }));
    for (int k = 0; k < 2; ++k) {
        const auto& got = a.of(fmt::format("old-{}", k));
        ASSERT_EQ(got.size(), 1u) << k;
        EXPECT_EQ(got[0].code(), raft::errc::proposal_dropped) << got[0].error().message();
    }
    for (int k = 2; k < 5; ++k) {
        EXPECT_FALSE(a.answered(fmt::format("old-{}", k))) << k;
    }

    // 4. Leadership moves back to L, whose empty entry takes old-2's index;
    // then L proposes at old-3's index.
    auto moved = c.loop(n).transfer_leadership(l);
    c.loop(n).run_once();
    ASSERT_TRUE(moved.get());
    ASSERT_TRUE(c.run_until([&] { return c.leader_among({n, l}) == l; }));
    ASSERT_GT(c.loop(l).term(), t1);
    c.loop(l).propose("new", clock::time_point::max(), a.expect("new"));
    ASSERT_TRUE(c.run_until([&] { return a.answered("new"); }, 2000))
        << "a committed proposal was never answered";
    ASSERT_EQ(a.of("new").size(), 1u);
    EXPECT_TRUE(a.of("new")[0]) << a.of("new")[0].error().message();

    // Every old waiter got exactly one definite "not committed".
    c.heal();
    c.loop(l).propose("flush", clock::time_point::max(), a.expect("flush"));
    ASSERT_TRUE(c.run_until([&] { return a.answered("flush"); }));
    for (int k = 0; k < 5; ++k) {
        const auto& got = a.of(fmt::format("old-{}", k));
        ASSERT_EQ(got.size(), 1u) << k;
        EXPECT_EQ(got[0].code(), raft::errc::proposal_dropped) << got[0].error().message();
    }
}

// A leader that loses its leadership with a proposal in flight does not
// answer at once: the new leader may hold the entry and commit it. Here it
// does, and the proposer hears success.
TEST(raft_loop, a_deposed_leaders_proposal_that_commits_anyway_is_answered_success) {
    answers a;  // outlives the cluster, whose loops answer into it at stop
    cluster c;
    ASSERT_TRUE(c.run_until([&] { return c.leader_among(all).has_value(); }));
    const node_id l = *c.leader_among(all);
    c.loop(l).propose("w", clock::time_point::max(), a.expect("w"));
    // L appends and sends, then is cut off before it hears any answer; the
    // others hold the entry and one of them commits it in a new term.
    c.loop(l).run_once();
    c.step();
    c.isolate(l);
    const node_id x = other_than({l});
    const node_id y = other_than({l, x});
    ASSERT_TRUE(c.run_until([&] { return c.leader_among({x, y}).has_value(); }));
    EXPECT_FALSE(a.answered("w"));
    c.heal();
    ASSERT_TRUE(c.run_until([&] { return a.answered("w"); }));
    ASSERT_EQ(a.of("w").size(), 1u);
    EXPECT_TRUE(a.of("w")[0]) << a.of("w")[0].error().message();
}

// Stopping with a proposal in flight cannot say whether it committed.
TEST(raft_loop, stop_with_a_proposal_in_flight_is_outcome_unknown) {
    answers a;  // outlives the cluster, whose loops answer into it at stop
    cluster c;
    ASSERT_TRUE(c.run_until([&] { return c.leader_among(all).has_value(); }));
    const node_id l = *c.leader_among(all);
    c.isolate(l);
    c.loop(l).propose("w", clock::time_point::max(), a.expect("w"));
    c.loop(l).run_once();
    c.loop(l).stop();
    ASSERT_EQ(a.of("w").size(), 1u);
    EXPECT_EQ(a.of("w")[0].code(), raft::errc::outcome_unknown);
}

// A proposal past its deadline is not known to have failed either.
TEST(raft_loop, an_expired_proposal_is_outcome_unknown) {
    answers a;  // outlives the cluster, whose loops answer into it at stop
    cluster c;
    ASSERT_TRUE(c.run_until([&] { return c.leader_among(all).has_value(); }));
    const node_id l = *c.leader_among(all);
    c.isolate(l);
    c.loop(l).propose("w", c.now() + 50ms, a.expect("w"));
    c.loop(l).propose("v", clock::time_point::max(), a.expect("v"));
    ASSERT_TRUE(c.run_until([&] { return a.answered("w"); }));
    ASSERT_EQ(a.of("w").size(), 1u);
    EXPECT_EQ(a.of("w")[0].code(), raft::errc::outcome_unknown);
    EXPECT_FALSE(a.answered("v"));
}

// A follower's read-index request and the leader's answer carry a context
// the follower matches to its waiting read. A member restarted in the same
// term must not take a delayed answer meant for its previous run as the
// answer to a new read: that answer's index may predate writes the new read
// must see. Contexts carry the loop's incarnation.
TEST(raft_loop, a_read_answer_meant_for_a_previous_run_resolves_nothing) {
    std::optional<result<log_index>> first;  // outlive the cluster (see answers)
    std::optional<result<log_index>> second;
    cluster c;
    ASSERT_TRUE(c.run_until([&] { return c.leader_among(all).has_value(); }));
    const node_id l = *c.leader_among(all);
    const node_id f = other_than({l});
    c.hold([&](const raft::message& m) {
        return m.type == raft::message_type::read_index_response && m.to == f;
    });
    c.loop(f).read_index(clock::time_point::max(), [&](result<log_index> r) { first = r; });
    for (int i = 0; i < 20; ++i) {
        c.step();
    }
    ASSERT_FALSE(first.has_value());

    // The follower restarts (same term, same log) before the answer arrives,
    // learns the leader, and asks again; the old answer is delivered first.
    c.start(f, 1000);
    ASSERT_TRUE(c.run_until([&] { return c.loop(f).leader() == l; }));
    c.loop(f).read_index(clock::time_point::max(), [&](result<log_index> r) { second = r; });
    c.loop(f).run_once();
    c.release_held();
    c.loop(f).run_once();
    EXPECT_FALSE(second.has_value()) << "a previous run's answer resolved a new read";
    ASSERT_TRUE(c.run_until([&] { return second.has_value(); }));
    EXPECT_TRUE(*second) << second->error().message();
}

}  // namespace
}  // namespace fjord::loop
