// File: controller/raft/raft_paper_test.cc
//
// Unit tests of raft::core against the rules of the Raft paper (Ongaro and
// Ousterhout, "In Search of an Understandable Consensus Algorithm", 2014),
// each citing the section it checks. They drive one core directly with
// hand-made messages, so each rule is tested in isolation; the scenarios of
// testdata/*.txt (interaction_test.cc) test the rules working together.
//
// Every member here starts from a storage holding a snapshot at (index 1,
// term 1) whose configuration is voters {1, 2, 3}, followed by entries whose
// terms the test chooses. Pre-vote and check-quorum are off unless a test
// says otherwise, so the paper's rules apply unmodified.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "controller/raft/memory_storage.h"
#include "controller/raft/raft.h"

namespace fjord::raft {
namespace {

/// A member: its storage and its core (the core keeps a reference to the
/// storage, so they live together).
struct member {
    std::unique_ptr<memory_storage> store;
    std::unique_ptr<core> r;
};

config paper_config(uint64_t id) {
    config c;
    c.id = node_id{id};
    c.election_tick = 10;
    c.heartbeat_tick = 1;
    c.pre_vote = false;
    c.check_quorum = false;
    return c;
}

/// Member `id` whose log is the snapshot at (1, 1) followed by entries of
/// `terms` at indexes 2, 3, ...; its persisted term is `term`, commit 1.
member make_member(uint64_t id, const std::vector<uint64_t>& terms, uint64_t term, config c = {}) {
    member m;
    m.store = std::make_unique<memory_storage>();
    snapshot s;
    s.meta = snapshot_meta{log_index{1}, term_id{1},
                           conf_state{{node_id{1}, node_id{2}, node_id{3}}, {}}};
    EXPECT_TRUE(m.store->install_snapshot(s));
    std::vector<entry> ents;
    for (size_t i = 0; i < terms.size(); ++i) {
        ents.push_back(entry{term_id{terms[i]}, log_index{2 + i}, entry_type::normal, "x"});
    }
    EXPECT_TRUE(m.store->append(ents));
    EXPECT_TRUE(m.store->set_hard_state(hard_state{term_id{term}, no_node, log_index{1}}));
    if (c.id == no_node) {
        c = paper_config(id);
    }
    m.r = std::make_unique<core>(c, *m.store);
    return m;
}

message msg(message_type t, uint64_t from, uint64_t to, uint64_t term) {
    message m;
    m.type = t;
    m.from = node_id{from};
    m.to = node_id{to};
    m.term = term_id{term};
    return m;
}

message vote_request(uint64_t from, uint64_t to, uint64_t term, uint64_t last_index,
                     uint64_t last_term) {
    message m = msg(message_type::vote, from, to, term);
    m.index = log_index{last_index};
    m.log_term = term_id{last_term};
    return m;
}

message append_request(uint64_t from, uint64_t to, uint64_t term, uint64_t prev_index,
                       uint64_t prev_term, const std::vector<uint64_t>& entry_terms,
                       uint64_t commit) {
    message m = msg(message_type::append, from, to, term);
    m.index = log_index{prev_index};
    m.log_term = term_id{prev_term};
    m.commit = log_index{commit};
    for (size_t i = 0; i < entry_terms.size(); ++i) {
        m.entries.push_back(
            entry{term_id{entry_terms[i]}, log_index{prev_index + 1 + i}, entry_type::normal, "y"});
    }
    return m;
}

/// The single message the core sent, of type `t`; fails the test otherwise.
message only_message(core& r, message_type t) {
    std::vector<message> out = r.take_messages();
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) {
        return {};
    }
    EXPECT_EQ(out.front().type, t);
    return out.front();
}

/// Makes member 1 leader of the next term with the vote of member 2.
void elect(member& m) {
    m.r->campaign();
    ASSERT_EQ(m.r->role(), role::candidate);
    const uint64_t t = m.r->term().value();
    m.r->take_messages();
    m.r->step(msg(message_type::vote_response, 2, 1, t));
    ASSERT_EQ(m.r->role(), role::leader);
    m.r->take_messages();
}

// ---------------------------------------------------------------- §5.1

TEST(raft_paper, follower_adopts_higher_term_from_any_message) {
    // Raft §5.1: "If a server receives a request with a higher term, it
    // updates its current term"; a leader or candidate reverts to follower.
    member m = make_member(1, {}, 1);
    elect(m);
    ASSERT_EQ(m.r->term(), term_id{2});
    message resp = msg(message_type::append_response, 2, 1, 5);
    resp.index = log_index{2};
    m.r->step(resp);
    EXPECT_EQ(m.r->role(), role::follower);
    EXPECT_EQ(m.r->term(), term_id{5});
    EXPECT_EQ(m.r->vote(), no_node);
}

TEST(raft_paper, stale_term_request_is_not_followed) {
    // Raft §5.1: "If a server receives a request with a stale term number, it
    // rejects the request." The member keeps its term and leader.
    member m = make_member(1, {2}, 3);
    m.r->step(append_request(2, 1, 2, 2, 2, {2}, 2));
    EXPECT_EQ(m.r->term(), term_id{3});
    EXPECT_EQ(m.r->leader(), no_node);
    EXPECT_EQ(m.r->log().last_index(), log_index{2});
    EXPECT_EQ(m.r->log().committed(), log_index{1});
}

// ---------------------------------------------------------------- §5.2

TEST(raft_paper, vote_granted_at_most_once_per_term) {
    // Raft §5.2: "each server will vote for at most one candidate in a given
    // term, on a first-come-first-served basis."
    member m = make_member(1, {1}, 1);
    m.r->step(vote_request(2, 1, 2, 2, 1));
    EXPECT_FALSE(only_message(*m.r, message_type::vote_response).reject);
    EXPECT_EQ(m.r->vote(), node_id{2});

    m.r->step(vote_request(3, 1, 2, 2, 1));
    EXPECT_TRUE(only_message(*m.r, message_type::vote_response).reject);
    EXPECT_EQ(m.r->vote(), node_id{2});

    // A retransmitted request from the candidate it voted for is granted
    // again (the vote is the same).
    m.r->step(vote_request(2, 1, 2, 2, 1));
    EXPECT_FALSE(only_message(*m.r, message_type::vote_response).reject);

    // A new term frees the vote.
    m.r->step(vote_request(3, 1, 3, 2, 1));
    EXPECT_FALSE(only_message(*m.r, message_type::vote_response).reject);
    EXPECT_EQ(m.r->vote(), node_id{3});
}

TEST(raft_paper, candidate_votes_for_itself_and_requests_votes) {
    // Raft §5.2: "a follower increments its current term and transitions to
    // candidate state. It then votes for itself and issues RequestVote RPCs
    // in parallel to each of the other servers."
    member m = make_member(1, {1, 1}, 1);
    m.r->campaign();
    EXPECT_EQ(m.r->role(), role::candidate);
    EXPECT_EQ(m.r->term(), term_id{2});
    EXPECT_EQ(m.r->vote(), node_id{1});
    std::vector<message> out = m.r->take_messages();
    ASSERT_EQ(out.size(), 2u);
    for (const message& v : out) {
        EXPECT_EQ(v.type, message_type::vote);
        EXPECT_EQ(v.term, term_id{2});
        EXPECT_EQ(v.index, log_index{3});
        EXPECT_EQ(v.log_term, term_id{1});
    }
}

TEST(raft_paper, candidate_steps_down_on_append_from_leader_of_same_term) {
    // Raft §5.2: "If the term in the RPC is at least as large as the
    // candidate's current term, then the candidate recognizes the leader as
    // legitimate and returns to follower state."
    member m = make_member(1, {1}, 1);
    m.r->campaign();
    ASSERT_EQ(m.r->role(), role::candidate);
    m.r->take_messages();
    m.r->step(append_request(2, 1, 2, 2, 1, {2}, 1));
    EXPECT_EQ(m.r->role(), role::follower);
    EXPECT_EQ(m.r->term(), term_id{2});
    EXPECT_EQ(m.r->leader(), node_id{2});
    EXPECT_EQ(m.r->log().last_index(), log_index{3});
}

TEST(raft_paper, candidate_with_majority_of_rejections_steps_down) {
    // Raft §5.2: a candidate that cannot win (a majority refused) does not
    // become leader. (Stepping down early is etcd's refinement; the paper
    // waits for the timeout. Either way it must not lead.)
    member m = make_member(1, {}, 1);
    m.r->campaign();
    m.r->take_messages();
    message no2 = msg(message_type::vote_response, 2, 1, 2);
    no2.reject = true;
    message no3 = msg(message_type::vote_response, 3, 1, 2);
    no3.reject = true;
    m.r->step(no2);
    m.r->step(no3);
    EXPECT_EQ(m.r->role(), role::follower);
    EXPECT_EQ(m.r->term(), term_id{2});
}

TEST(raft_paper, election_timeout_is_randomized_between_t_and_2t) {
    // Raft §5.2: "election timeouts are chosen randomly from a fixed
    // interval"; here [election_tick, 2 * election_tick).
    for (uint64_t id = 1; id <= 3; ++id) {
        member m = make_member(id, {}, 1);
        int ticks = 0;
        while (m.r->role() == role::follower && ticks < 100) {
            m.r->tick();
            ++ticks;
        }
        EXPECT_EQ(m.r->role(), role::candidate) << "member " << id;
        EXPECT_GE(ticks, 10) << "member " << id;
        EXPECT_LT(ticks, 20) << "member " << id;
    }
}

TEST(raft_paper, heartbeat_resets_follower_election_timer) {
    // Raft §5.2: a follower "remains in follower state as long as it receives
    // valid RPCs from a leader"; heartbeats keep it from campaigning.
    member m = make_member(1, {}, 2);
    for (int i = 0; i < 100; ++i) {
        m.r->tick();
        if (i % 5 == 0) {
            message hb = msg(message_type::heartbeat, 2, 1, 2);
            m.r->step(hb);
        }
    }
    EXPECT_EQ(m.r->role(), role::follower);
    EXPECT_EQ(m.r->term(), term_id{2});
    EXPECT_EQ(m.r->leader(), node_id{2});
}

TEST(raft_paper, leader_lease_protects_until_one_tick_before_the_election_timeout) {
    // Check-quorum's lease (thesis §4.2.3): a member that heard from its
    // leader within the election timeout ignores (pre-)vote requests. Ticks
    // are not aligned across members, so the lease ends one tick early: a
    // campaigner whose timer fired at the minimum timeout T is not ignored
    // by a member that has counted T-1 ticks since the leader's heartbeat.
    for (const int ticks : {8, 9}) {
        config c = paper_config(1);
        c.pre_vote = true;
        c.check_quorum = true;
        member m = make_member(1, {}, 2, c);
        m.r->step(msg(message_type::heartbeat, 2, 1, 2));
        m.r->take_messages();
        for (int i = 0; i < ticks; ++i) {
            m.r->tick();
        }
        ASSERT_EQ(m.r->role(), role::follower) << ticks;
        message pv = vote_request(3, 1, 3, 1, 1);
        pv.type = message_type::pre_vote;
        m.r->step(pv);
        std::vector<message> out = m.r->take_messages();
        if (ticks < c.election_tick - 1) {
            EXPECT_TRUE(out.empty()) << "answered a pre-vote inside the lease after " << ticks;
        } else {
            ASSERT_EQ(out.size(), 1u) << ticks;
            EXPECT_EQ(out.front().type, message_type::pre_vote_response);
            EXPECT_FALSE(out.front().reject);
        }
        EXPECT_EQ(m.r->term(), term_id{2}) << "a pre-vote never changes the term";
    }
}

// ---------------------------------------------------------------- §5.3

TEST(raft_paper, follower_rejects_append_with_mismatched_previous_term) {
    // Raft §5.3 (consistency check): "If the follower does not find an entry
    // in its log with the same index and term, then it refuses the new
    // entries."
    member m = make_member(1, {1, 2}, 3);  // log: 1/1 (snapshot), 1/2, 2/3
    m.r->step(append_request(2, 1, 3, 3, 3, {3}, 1));
    message r = only_message(*m.r, message_type::append_response);
    EXPECT_TRUE(r.reject);
    EXPECT_EQ(r.index, log_index{3});
    // The hint never points past what the follower holds (fast backtracking).
    EXPECT_LE(r.reject_hint, log_index{3});
    EXPECT_EQ(m.r->log().last_index(), log_index{3});
    EXPECT_EQ(m.r->log().term_or_zero(log_index{3}), term_id{2});

    // Missing the previous entry altogether is refused too.
    m.r->step(append_request(2, 1, 3, 7, 3, {3}, 1));
    EXPECT_TRUE(only_message(*m.r, message_type::append_response).reject);
}

TEST(raft_paper, follower_replaces_conflicting_suffix) {
    // Raft §5.3: "If an existing entry conflicts with a new one (same index
    // but different terms), delete the existing entry and all that follow
    // it" and append the new ones.
    member m = make_member(1, {1, 2, 2}, 3);  // 1/2, 2/3, 2/4
    m.r->step(append_request(2, 1, 3, 2, 1, {3, 3}, 1));
    message r = only_message(*m.r, message_type::append_response);
    EXPECT_FALSE(r.reject);
    EXPECT_EQ(r.index, log_index{4});
    EXPECT_EQ(m.r->log().last_index(), log_index{4});
    EXPECT_EQ(m.r->log().term_or_zero(log_index{3}), term_id{3});
    EXPECT_EQ(m.r->log().term_or_zero(log_index{4}), term_id{3});
}

TEST(raft_paper, follower_keeps_entries_after_a_matching_shorter_append) {
    // Raft §5.3 (Figure 2, AppendEntries step 3): only a *conflicting* entry
    // truncates. A delayed append carrying a prefix of what the follower
    // holds must not drop the later entries.
    member m = make_member(1, {2, 2, 2}, 2);  // 2/2, 2/3, 2/4
    m.r->step(append_request(2, 1, 2, 1, 1, {2}, 1));
    message r = only_message(*m.r, message_type::append_response);
    EXPECT_FALSE(r.reject);
    EXPECT_EQ(m.r->log().last_index(), log_index{4});
}

TEST(raft_paper, follower_commit_is_min_of_leader_commit_and_last_new_entry) {
    // Raft §5.3 (Figure 2): "If leaderCommit > commitIndex, set commitIndex =
    // min(leaderCommit, index of last new entry)".
    member m = make_member(1, {1, 1, 1, 1}, 2);  // 2..5 at term 1
    m.r->step(append_request(2, 1, 2, 2, 1, {1}, 9));
    EXPECT_FALSE(only_message(*m.r, message_type::append_response).reject);
    EXPECT_EQ(m.r->log().committed(), log_index{3});
}

TEST(raft_paper, leader_replicates_new_entries_to_followers) {
    // Raft §5.3: the leader "appends the command to its log as a new entry,
    // then issues AppendEntries RPCs in parallel to each of the other servers".
    member m = make_member(1, {}, 1);
    elect(m);  // term 2, empty entry at 2
    // Followers acknowledge the empty entry so they are in replicate state.
    for (uint64_t f : {2u, 3u}) {
        message ack = msg(message_type::append_response, f, 1, 2);
        ack.index = log_index{2};
        m.r->step(ack);
    }
    m.r->take_messages();
    auto first = m.r->propose({"cmd"});
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, log_index{3});
    std::vector<message> out = m.r->take_messages();
    ASSERT_EQ(out.size(), 2u);
    for (const message& a : out) {
        EXPECT_EQ(a.type, message_type::append);
        EXPECT_EQ(a.index, log_index{2});
        EXPECT_EQ(a.log_term, term_id{2});
        ASSERT_EQ(a.entries.size(), 1u);
        EXPECT_EQ(a.entries[0].index, log_index{3});
        EXPECT_EQ(a.entries[0].term, term_id{2});
        EXPECT_EQ(a.entries[0].data, "cmd");
    }
}

// ---------------------------------------------------------------- §5.4

TEST(raft_paper, vote_refused_to_candidate_with_older_last_term) {
    // Raft §5.4.1: "If the logs have last entries with different terms, then
    // the log with the later term is more up-to-date" - a longer log with an
    // older last term loses.
    member m = make_member(1, {2}, 2);  // last entry 2/2
    m.r->step(vote_request(2, 1, 3, 9, 1));
    EXPECT_TRUE(only_message(*m.r, message_type::vote_response).reject);
    EXPECT_EQ(m.r->vote(), no_node);
}

TEST(raft_paper, vote_refused_to_candidate_with_shorter_log_of_same_term) {
    // Raft §5.4.1: "If the logs end with the same term, then whichever log is
    // longer is more up-to-date."
    member m = make_member(1, {2, 2}, 2);  // last entry 2/3
    m.r->step(vote_request(2, 1, 3, 2, 2));
    EXPECT_TRUE(only_message(*m.r, message_type::vote_response).reject);
    m.r->step(vote_request(3, 1, 3, 3, 2));
    EXPECT_FALSE(only_message(*m.r, message_type::vote_response).reject);
}

TEST(raft_paper, leader_commits_previous_term_entries_only_through_current_term) {
    // Raft §5.4.2 and Figure 8: "Raft never commits log entries from previous
    // terms by counting replicas. Only log entries from the leader's current
    // term are committed by counting replicas; once an entry from the current
    // term has been committed in this way, then all prior entries are
    // committed indirectly."
    member m = make_member(1, {2}, 2);  // 2/2 from an earlier leader, uncommitted
    elect(m);                           // leader of term 3, appends 3/3
    ASSERT_EQ(m.r->term(), term_id{3});
    ASSERT_EQ(m.r->log().last_index(), log_index{3});
    // The leader's own copy counts once its ready loop has persisted it.
    m.r->on_persisted(log_index{3}, term_id{3});

    // Member 2 now holds 2/2: a majority (1, 2) stores it, but it is from
    // term 2 and must not be committed by counting.
    message ack2 = msg(message_type::append_response, 2, 1, 3);
    ack2.index = log_index{2};
    m.r->step(ack2);
    EXPECT_EQ(m.r->log().committed(), log_index{1});

    // Once 3/3 is on a majority, it commits, and 2/2 with it.
    message ack3 = msg(message_type::append_response, 2, 1, 3);
    ack3.index = log_index{3};
    m.r->step(ack3);
    EXPECT_EQ(m.r->log().committed(), log_index{3});
}

TEST(raft_paper, leader_appends_no_op_entry_of_its_term_on_election) {
    // Raft §8 (and thesis §6.4): a new leader commits a blank no-op entry of
    // its own term at the start of its term, which also commits its
    // predecessors' entries (§5.4.2).
    member m = make_member(1, {1, 1}, 1);
    elect(m);
    EXPECT_EQ(m.r->log().last_index(), log_index{4});
    EXPECT_EQ(m.r->log().term_or_zero(log_index{4}), term_id{2});
}

TEST(raft_paper, leader_never_overwrites_its_own_log) {
    // Raft §5.3 (Leader Append-Only, Figure 3): a leader never deletes or
    // overwrites entries in its log. An append from a stale leader of an
    // older term changes nothing.
    member m = make_member(1, {1}, 1);
    elect(m);
    const log_index last = m.r->log().last_index();
    m.r->step(append_request(2, 1, 1, 1, 1, {1, 1, 1}, 1));
    EXPECT_EQ(m.r->role(), role::leader);
    EXPECT_EQ(m.r->log().last_index(), last);
    EXPECT_EQ(m.r->log().term_or_zero(last), term_id{2});
}

}  // namespace
}  // namespace fjord::raft
