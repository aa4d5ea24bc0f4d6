// File: controller/raft/interaction_test.cc
//
// Datadriven interaction tests for the Raft core (after etcd-io/raft's
// interaction_test.go and rafttest/interaction_env*.go). Every file in
// testdata/ is one scenario run as its own GoogleTest case, from the source
// directory controller/raft.
//
// If this test fails, run with REWRITE=1 and inspect the diff. Only commit the
// changes if you understand what caused them and they are desired.
//
// The environment: N in-memory members (raft::node over raft::memory_storage)
// and a network that is nothing but a list of pending messages. Nothing happens
// unless a command says so: process-ready takes a node's ready, prints it,
// persists it in the ready-contract order (snapshot, entries, hard state,
// sync), queues its messages, "applies" (prints) committed entries and
// advances; deliver-msgs steps queued messages into their recipients. Election
// jitter comes from a fixed per-node seed, so every trace is reproducible.
//
// Commands (names follow etcd's where etcd has one):
//   add-nodes N [voters=(1,2,3)] [learners=(4)] [index=I] [prevote=B]
//       [checkquorum=B] [election=T] [heartbeat=T] [max-inflight=N]
//       [max-size=B] [chunk=B]
//       N members with the next ids. Without index they bootstrap with
//       config.bootstrap_voters/learners (voters default to the new ids);
//       with index=I each storage starts from a snapshot at (I, term 1) whose
//       configuration is (voters, learners), and hard state term 1, commit I.
//   campaign N | propose N data... | propose-conf-change N add-voter=X |
//       add-learner=X | remove=X | transfer-leadership from=N to=M |
//       read-index N ctx
//   tick N [count] | tick-election N | tick-heartbeat N
//   process-ready [N...]            nodes with nothing to do print <empty Ready>
//   deliver-msgs [N...] [drop=true] [type=MsgApp]
//   drop-msgs [from=X] [to=Y] [type=MsgApp]
//   stabilize [N...]                process-ready + deliver-msgs until quiet
//   partition (1,2) (3) | heal      cross-group messages are dropped on
//                                   delivery; unlisted members are alone
//   raft-log N | status N | raft-state
//   compact N index                 storage.create_snapshot(index, conf,
//                                   "snap@<index>"); index <= applied
//   restart N                       rebuild the node from its storage
//   log-level none|trace|info       none prints nothing (for setup steps), trace
//                                   prints all but the core's log lines, info
//                                   (the default) prints everything
// A command with no output prints "ok"; a refused request prints "error: ...".

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "controller/raft/memory_storage.h"
#include "controller/raft/node.h"
#include "controller/raft/ready_handler.h"
#include "controller/raft/transport.h"
#include "tests/support/datadriven.h"

namespace fjord::raft {
namespace {

using datadriven::test_command;

// ---------------------------------------------------------------- formatting

std::string type_name(message_type t) {
    switch (t) {
        case message_type::append:
            return "MsgApp";
        case message_type::append_response:
            return "MsgAppResp";
        case message_type::vote:
            return "MsgVote";
        case message_type::vote_response:
            return "MsgVoteResp";
        case message_type::pre_vote:
            return "MsgPreVote";
        case message_type::pre_vote_response:
            return "MsgPreVoteResp";
        case message_type::heartbeat:
            return "MsgHeartbeat";
        case message_type::heartbeat_response:
            return "MsgHeartbeatResp";
        case message_type::snapshot:
            return "MsgSnap";
        case message_type::snapshot_response:
            return "MsgSnapResp";
        case message_type::timeout_now:
            return "MsgTimeoutNow";
        case message_type::read_index:
            return "MsgReadIndex";
        case message_type::read_index_response:
            return "MsgReadIndexResp";
    }
    return "MsgUnknown";
}

std::optional<message_type> parse_type_name(const std::string& s) {
    for (int i = 0; i <= static_cast<int>(message_type::read_index_response); ++i) {
        const auto t = static_cast<message_type>(i);
        if (type_name(t) == s) {
            return t;
        }
    }
    return std::nullopt;
}

bool printable(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

/// Printable data quoted, anything else (e.g. the core's binary read-index
/// sequence numbers in heartbeat contexts) as hex bytes.
std::string quote(const std::string& s) {
    if (printable(s)) {
        return "\"" + s + "\"";
    }
    std::string out = "0x";
    for (char c : s) {
        out += fmt::format("{:02x}", static_cast<uint8_t>(c));
    }
    return out;
}

std::string fmt_ids(const std::vector<node_id>& ids) {
    return fmt::format("({})", fmt::join(ids, ","));
}

std::string fmt_entry(const entry& e) {
    if (e.type == entry_type::conf_change) {
        auto cc = conf_change::decode(e.data);
        if (!cc) {
            return fmt::format("{}/{} EntryConfChange <undecodable {}>", e.term, e.index,
                               quote(e.data));
        }
        std::string_view t = cc->type == conf_change_type::add_voter     ? "add_voter"
                             : cc->type == conf_change_type::add_learner ? "add_learner"
                                                                         : "remove_node";
        return fmt::format("{}/{} EntryConfChange {} {}", e.term, e.index, t, cc->node);
    }
    return fmt::format("{}/{} EntryNormal {}", e.term, e.index, quote(e.data));
}

std::string fmt_conf(const conf_state& c) {
    return fmt::format("Voters:{} Learners:{}", fmt_ids(c.voters), fmt_ids(c.learners));
}

std::string fmt_context(const std::string& ctx) {
    return ctx.empty() ? std::string{} : " Context:" + quote(ctx);
}

/// One line per message, showing the fields that matter for its type.
std::string fmt_msg(const message& m) {
    std::string s = fmt::format("{}->{} {} Term:{}", m.from, m.to, type_name(m.type), m.term);
    switch (m.type) {
        case message_type::append: {
            s += fmt::format(" Log:{}/{} Commit:{}", m.log_term, m.index, m.commit);
            if (!m.entries.empty()) {
                std::vector<std::string> es;
                for (const entry& e : m.entries) {
                    es.push_back(fmt_entry(e));
                }
                s += fmt::format(" Entries:[{}]", fmt::join(es, ", "));
            }
            break;
        }
        case message_type::append_response:
            s += fmt::format(" Index:{}", m.index);
            if (m.reject) {
                s += fmt::format(" Rejected (Hint: {}/{})", m.log_term, m.reject_hint);
            }
            break;
        case message_type::vote:
        case message_type::pre_vote:
            s += fmt::format(" Log:{}/{}", m.log_term, m.index);
            if (m.transfer) {
                s += " Transfer";
            }
            break;
        case message_type::vote_response:
        case message_type::pre_vote_response:
            if (m.reject) {
                s += " Rejected";
            }
            break;
        case message_type::heartbeat:
            s += fmt::format(" Commit:{}", m.commit) + fmt_context(m.context);
            break;
        case message_type::heartbeat_response:
            s += fmt_context(m.context);
            break;
        case message_type::snapshot:
            s += fmt::format(" Snapshot:{}/{} {} Offset:{} Len:{} Last:{} Chunk:{}",
                             m.snapshot.term, m.snapshot.index, fmt_conf(m.snapshot.conf),
                             m.chunk_offset, m.chunk.size(), m.chunk_last, quote(m.chunk));
            break;
        case message_type::snapshot_response:
            s += fmt::format(" Bytes:{}", m.index);
            if (m.reject) {
                s += " Rejected";
            }
            break;
        case message_type::timeout_now:
            break;
        case message_type::read_index:
            s += fmt_context(m.context);
            break;
        case message_type::read_index_response:
            s += fmt::format(" Index:{}", m.index) + fmt_context(m.context);
            if (m.reject) {
                s += " Rejected";
            }
            break;
    }
    return s;
}

std::string_view state_name(progress_state s) {
    switch (s) {
        case progress_state::probe:
            return "StateProbe";
        case progress_state::replicate:
            return "StateReplicate";
        case progress_state::snapshot:
            return "StateSnapshot";
    }
    return "StateUnknown";
}

// ---------------------------------------------------------------- environment

/// The network of the tests: a send only queues the message; nothing moves
/// until a deliver-msgs or stabilize command delivers (or drops) it.
class pending_network final : public transport {
  public:
    explicit pending_network(std::vector<message>& pending) : _pending(pending) {}
    void send(message m) override { _pending.push_back(std::move(m)); }

  private:
    std::vector<message>& _pending;
};

struct env_node {
    config cfg;
    std::unique_ptr<memory_storage> store;
    std::unique_ptr<node> n;
};

class interaction_env {
  public:
    interaction_env() = default;
    interaction_env(const interaction_env&) = delete;
    interaction_env& operator=(const interaction_env&) = delete;

    /// Runs one command; returns its output (never with blank lines).
    std::string handle(const test_command& c) {
        _out.clear();
        _indent = 0;
        dispatch(c);
        if (_out.empty()) {
            return "ok";
        }
        return _out;
    }

  private:
    void dispatch(const test_command& c) {
        const std::string& n = c.name;
        if (n == "add-nodes") {
            add_nodes(c);
        } else if (n == "campaign") {
            c.expect_keys({});
            get(c, c.pos_uint(0)).n->campaign();
        } else if (n == "propose") {
            propose(c);
        } else if (n == "propose-conf-change") {
            propose_conf_change(c);
        } else if (n == "transfer-leadership") {
            c.expect_keys({"from", "to"});
            auto r = get(c, c.get_uint("from")).n->transfer_leadership(node_id{c.get_uint("to")});
            print_if_error(r);
        } else if (n == "read-index") {
            c.expect_keys({});
            print_if_error(get(c, c.pos_uint(0)).n->read_index(c.pos_string(1)));
        } else if (n == "tick") {
            c.expect_keys({});
            const uint64_t count = c.positional_count() > 1 ? c.pos_uint(1) : 1;
            tick(c, c.pos_uint(0), count);
        } else if (n == "tick-election") {
            c.expect_keys({});
            const uint64_t id = c.pos_uint(0);
            tick(c, id, static_cast<uint64_t>(get(c, id).cfg.election_tick));
        } else if (n == "tick-heartbeat") {
            c.expect_keys({});
            const uint64_t id = c.pos_uint(0);
            tick(c, id, static_cast<uint64_t>(get(c, id).cfg.heartbeat_tick));
        } else if (n == "process-ready") {
            c.expect_keys({});
            for (uint64_t id : ids_or_all(c)) {
                process_ready(id);
            }
        } else if (n == "deliver-msgs") {
            deliver_msgs_cmd(c);
        } else if (n == "drop-msgs") {
            drop_msgs(c);
        } else if (n == "stabilize") {
            c.expect_keys({});
            stabilize(ids_or_all(c));
        } else if (n == "partition") {
            partition(c);
        } else if (n == "heal") {
            c.expect_keys({});
            _group.clear();
        } else if (n == "raft-log") {
            c.expect_keys({});
            raft_log_cmd(c.pos_uint(0), c);
        } else if (n == "status") {
            c.expect_keys({});
            status(c, c.pos_uint(0));
        } else if (n == "raft-state") {
            c.expect_keys({});
            raft_state();
        } else if (n == "compact") {
            c.expect_keys({});
            compact(c);
        } else if (n == "restart") {
            c.expect_keys({});
            restart(c, c.pos_uint(0));
        } else if (n == "log-level") {
            c.expect_keys({});
            const std::string l = c.pos_string(0);
            if (l != "none" && l != "trace" && l != "info") {
                c.fail("expected none, trace or info");
            }
            _quiet = l == "none";
            _core_log = l == "info";
        } else {
            c.fail("unknown command");
        }
    }

    // --- output ---

    void line(const std::string& l) {
        if (_quiet) {
            return;
        }
        _out += std::string(static_cast<size_t>(_indent) * 2, ' ');
        _out += l;
        _out += '\n';
    }

    template <typename T>
    void print_if_error(const result<T>& r) {
        if (!r) {
            line("error: " + r.error().message());
        }
    }

    // --- members ---

    env_node& get(const test_command& c, uint64_t id) {
        auto it = _nodes.find(id);
        if (it == _nodes.end()) {
            c.fail(fmt::format("no node {}", id));
        }
        return it->second;
    }

    /// The node ids given as positional arguments, or every node.
    std::vector<uint64_t> ids_or_all(const test_command& c) {
        std::vector<uint64_t> ids;
        for (size_t i = 0; i < c.positional_count(); ++i) {
            const uint64_t id = c.pos_uint(i);
            get(c, id);
            ids.push_back(id);
        }
        if (ids.empty()) {
            for (const auto& [id, en] : _nodes) {
                ids.push_back(id);
            }
        }
        return ids;
    }

    void add_nodes(const test_command& c) {
        c.expect_keys({"voters", "learners", "index", "prevote", "checkquorum", "election",
                       "heartbeat", "max-inflight", "max-size", "chunk"});
        const uint64_t count = c.pos_uint(0);
        const uint64_t first = _nodes.empty() ? 1 : _nodes.rbegin()->first + 1;
        std::vector<node_id> voters;
        std::vector<node_id> learners;
        for (uint64_t v : c.get_uint_list("voters")) {
            voters.push_back(node_id{v});
        }
        for (uint64_t l : c.get_uint_list("learners")) {
            learners.push_back(node_id{l});
        }
        if (!c.has("voters")) {
            for (uint64_t i = 0; i < count; ++i) {
                voters.push_back(node_id{first + i});
            }
        }
        std::sort(voters.begin(), voters.end());
        std::sort(learners.begin(), learners.end());
        for (uint64_t i = 0; i < count; ++i) {
            const uint64_t id = first + i;
            env_node en;
            en.cfg.id = node_id{id};
            en.cfg.election_tick = static_cast<int>(c.get_uint("election", 10));
            en.cfg.heartbeat_tick = static_cast<int>(c.get_uint("heartbeat", 1));
            en.cfg.pre_vote = c.get_bool("prevote", true);
            en.cfg.check_quorum = c.get_bool("checkquorum", true);
            en.cfg.max_inflight_msgs = c.get_uint("max-inflight", 256);
            en.cfg.max_size_per_msg = c.get_uint("max-size", 1 << 20);
            en.cfg.snapshot_chunk_size = c.get_uint("chunk", 1 << 20);
            en.cfg.seed = 0;  // the core mixes in the id: distinct, fixed timeouts
            en.cfg.logger = [this](const std::string& l) {
                if (_core_log) {
                    line("INFO " + l);
                }
            };
            en.store = std::make_unique<memory_storage>();
            if (c.has("index")) {
                snapshot s;
                s.meta = snapshot_meta{log_index{c.get_uint("index")}, term_id{1},
                                       conf_state{voters, learners}};
                if (auto r = en.store->install_snapshot(s); !r) {
                    c.fail("install_snapshot: " + r.error().message());
                }
                // A member holding a snapshot of term 1 has seen term 1, and
                // the snapshot's entries are committed.
                if (auto r =
                        en.store->set_hard_state(hard_state{term_id{1}, no_node, s.meta.index});
                    !r) {
                    c.fail("set_hard_state: " + r.error().message());
                }
            } else {
                en.cfg.bootstrap_voters = voters;
                en.cfg.bootstrap_learners = learners;
            }
            en.n = std::make_unique<node>(en.cfg, *en.store);
            _nodes.emplace(id, std::move(en));
        }
    }

    void restart(const test_command& c, uint64_t id) {
        env_node& en = get(c, id);
        // A crash loses everything but storage: the node and its unpersisted
        // state go; messages already sent stay in the network.
        en.n.reset();
        en.n = std::make_unique<node>(en.cfg, *en.store);
    }

    // --- inputs ---

    void propose(const test_command& c) {
        c.expect_keys({});
        env_node& en = get(c, c.pos_uint(0));
        std::vector<std::string> data;
        for (size_t i = 1; i < c.positional_count(); ++i) {
            data.push_back(c.pos_string(i));
        }
        if (data.empty()) {
            c.fail("nothing to propose");
        }
        print_if_error(en.n->propose(std::move(data)));
    }

    void propose_conf_change(const test_command& c) {
        c.expect_keys({"add-voter", "add-learner", "remove"});
        env_node& en = get(c, c.pos_uint(0));
        conf_change cc;
        int given = 0;
        if (c.has("add-voter")) {
            cc.type = conf_change_type::add_voter;
            cc.node = node_id{c.get_uint("add-voter")};
            ++given;
        }
        if (c.has("add-learner")) {
            cc.type = conf_change_type::add_learner;
            cc.node = node_id{c.get_uint("add-learner")};
            ++given;
        }
        if (c.has("remove")) {
            cc.type = conf_change_type::remove_node;
            cc.node = node_id{c.get_uint("remove")};
            ++given;
        }
        if (given != 1) {
            c.fail("need exactly one of add-voter=, add-learner=, remove=");
        }
        print_if_error(en.n->propose_conf_change(cc));
    }

    void tick(const test_command& c, uint64_t id, uint64_t count) {
        env_node& en = get(c, id);
        for (uint64_t i = 0; i < count; ++i) {
            en.n->tick();
        }
    }

    // --- the ready loop ---

    void describe_ready(const ready& rd) {
        line(fmt::format("Ready MustSync={}:", rd.must_sync));
        if (rd.soft_state) {
            line(fmt::format("Lead:{} State:{}", rd.soft_state->leader,
                             to_string(rd.soft_state->role)));
        }
        if (rd.hard_state) {
            line(fmt::format("HardState Term:{} Vote:{} Commit:{}", rd.hard_state->term,
                             rd.hard_state->vote, rd.hard_state->commit));
        }
        if (!rd.entries.empty()) {
            line("Entries:");
            for (const entry& e : rd.entries) {
                line(fmt_entry(e));
            }
        }
        if (rd.snapshot) {
            line(fmt::format("Snapshot Index:{} Term:{} {} Data:{}", rd.snapshot->meta.index,
                             rd.snapshot->meta.term, fmt_conf(rd.snapshot->meta.conf),
                             quote(rd.snapshot->data)));
        }
        if (!rd.committed_entries.empty()) {
            line("CommittedEntries:");
            for (const entry& e : rd.committed_entries) {
                line(fmt_entry(e));
            }
        }
        if (!rd.early_messages.empty()) {
            line("EarlyMessages:");
            for (const message& m : rd.early_messages) {
                line(fmt_msg(m));
            }
        }
        if (!rd.messages.empty()) {
            line("Messages:");
            for (const message& m : rd.messages) {
                line(fmt_msg(m));
            }
        }
        if (!rd.read_states.empty()) {
            line("ReadStates:");
            for (const read_state& r : rd.read_states) {
                line(fmt::format("Index:{} Context:{}", r.index, quote(r.context)));
            }
        }
    }

    void process_ready(uint64_t id) {
        env_node& en = _nodes.at(id);
        line(fmt::format("> {} handling Ready", id));
        ++_indent;
        if (!en.n->has_ready()) {
            line("<empty Ready>");
            --_indent;
            return;
        }
        ready rd = en.n->take_ready();
        describe_ready(rd);
        // The contract's one copy (ready_handler.h), as the production loop
        // runs it: sends queue into the network, delivered only by
        // deliver-msgs; apply has nothing to do beyond the committed entries
        // printed above (an in-memory state machine).
        pending_network net(_pending);
        const ready_driver driver{.log = *en.store, .net = net, .apply = {}, .persisted = {}};
        if (auto r = handle_ready(*en.n, rd, driver); !r) {
            // The harness persisted what the core handed out; a refusal is a
            // core bug (or a harness bug), never expected behaviour.
            const std::string msg = fmt::format("STORAGE ERROR on {}: {}", id, r.error().message());
            line(msg);
            ADD_FAILURE() << msg;
        }
        --_indent;
    }

    bool partitioned(node_id a, node_id b) const {
        if (_group.empty()) {
            return false;
        }
        auto group_of = [&](node_id n) -> int64_t {
            auto it = _group.find(n.value());
            return it == _group.end() ? -static_cast<int64_t>(n.value()) : it->second;
        };
        return group_of(a) != group_of(b);
    }

    /// Delivers (or drops) the queued messages to `to` that match `type`, in
    /// queue order. Returns how many were taken off the queue.
    size_t deliver(uint64_t to, bool drop, std::optional<message_type> type) {
        std::vector<message> mine;
        std::vector<message> rest;
        for (message& m : _pending) {
            if (m.to.value() == to && (!type || m.type == *type)) {
                mine.push_back(std::move(m));
            } else {
                rest.push_back(std::move(m));
            }
        }
        _pending = std::move(rest);
        auto it = _nodes.find(to);
        for (message& m : mine) {
            if (drop || it == _nodes.end() || partitioned(m.from, m.to)) {
                line("dropped: " + fmt_msg(m));
                continue;
            }
            line(fmt_msg(m));
            it->second.n->step(std::move(m));
        }
        return mine.size();
    }

    bool has_pending_for(uint64_t to) const {
        return std::any_of(_pending.begin(), _pending.end(),
                           [&](const message& m) { return m.to.value() == to; });
    }

    /// The recipients with queued messages, restricted to `ids` when given.
    /// Recipients that are not (or no longer) nodes are included when no ids
    /// are given, so their messages are dropped rather than kept forever.
    std::vector<uint64_t> recipients(const std::vector<uint64_t>& ids) const {
        std::set<uint64_t> out;
        for (const message& m : _pending) {
            const uint64_t to = m.to.value();
            if (ids.empty() || std::find(ids.begin(), ids.end(), to) != ids.end()) {
                out.insert(to);
            }
        }
        return {out.begin(), out.end()};
    }

    void deliver_msgs_cmd(const test_command& c) {
        c.expect_keys({"drop", "type"});
        std::vector<uint64_t> ids;
        for (size_t i = 0; i < c.positional_count(); ++i) {
            ids.push_back(c.pos_uint(i));
        }
        const bool drop = c.get_bool("drop", false);
        std::optional<message_type> type;
        if (c.has("type")) {
            type = parse_type_name(c.get_string("type"));
            if (!type) {
                c.fail("unknown message type " + c.get_string("type"));
            }
        }
        for (uint64_t to : recipients(ids)) {
            const bool any = std::any_of(_pending.begin(), _pending.end(), [&](const message& m) {
                return m.to.value() == to && (!type || m.type == *type);
            });
            if (!any) {
                continue;
            }
            line(fmt::format("> {} receiving messages", to));
            ++_indent;
            deliver(to, drop, type);
            --_indent;
        }
    }

    void drop_msgs(const test_command& c) {
        c.expect_keys({"from", "to", "type"});
        std::optional<message_type> type;
        if (c.has("type")) {
            type = parse_type_name(c.get_string("type"));
            if (!type) {
                c.fail("unknown message type " + c.get_string("type"));
            }
        }
        const bool by_from = c.has("from");
        const bool by_to = c.has("to");
        const uint64_t from = c.get_uint("from", 0);
        const uint64_t to = c.get_uint("to", 0);
        std::vector<message> rest;
        for (message& m : _pending) {
            const bool match = (!by_from || m.from.value() == from) &&
                               (!by_to || m.to.value() == to) && (!type || m.type == *type);
            if (match) {
                line("dropped: " + fmt_msg(m));
            } else {
                rest.push_back(std::move(m));
            }
        }
        _pending = std::move(rest);
    }

    void stabilize(const std::vector<uint64_t>& ids) {
        // Like etcd's stabilize: all readies, then all deliveries, until a
        // round does neither. Messages to members outside `ids` stay queued.
        const bool all = ids.size() == _nodes.size();
        for (;;) {
            bool done = true;
            for (uint64_t id : ids) {
                if (_nodes.at(id).n->has_ready()) {
                    done = false;
                    process_ready(id);
                }
            }
            for (uint64_t to : recipients(all ? std::vector<uint64_t>{} : ids)) {
                if (!has_pending_for(to)) {
                    continue;
                }
                done = false;
                line(fmt::format("> {} receiving messages", to));
                ++_indent;
                deliver(to, false, std::nullopt);
                --_indent;
            }
            if (done) {
                return;
            }
        }
    }

    void partition(const test_command& c) {
        c.expect_keys({});
        _group.clear();
        for (size_t i = 0; i < c.positional_count(); ++i) {
            for (uint64_t id : c.pos_uint_list(i)) {
                get(c, id);
                if (!_group.emplace(id, static_cast<int64_t>(i) + 1).second) {
                    c.fail(fmt::format("node {} is in two groups", id));
                }
            }
        }
    }

    // --- inspection ---

    void raft_log_cmd(uint64_t id, const test_command& c) {
        const raft_log& l = get(c, id).n->raft_core().log();
        auto ents = l.slice(l.first_index(), l.last_index() + 1, UINT64_MAX);
        if (!ents) {
            line("error: " + ents.error().message());
            return;
        }
        if (ents->empty()) {
            line(fmt::format("log is empty: first index={}, last index={}", l.first_index(),
                             l.last_index()));
            return;
        }
        for (const entry& e : *ents) {
            line(fmt_entry(e));
        }
    }

    void status(const test_command& c, uint64_t id) {
        const core& r = get(c, id).n->raft_core();
        line(fmt::format("{}: {} Term:{} Vote:{} Lead:{} Commit:{} Applied:{} Last:{} {}", id,
                         to_string(r.role()), r.term(), r.vote(), r.leader(), r.log().committed(),
                         r.log().applied(), r.log().last_index(), fmt_conf(r.conf())));
        if (r.role() != role::leader) {
            return;
        }
        if (r.lead_transferee() != no_node) {
            line(fmt::format("transferring to {}", r.lead_transferee()));
        }
        for (const auto& [pid, pr] : r.progress_map()) {
            std::string s = fmt::format("{}: {} match={} next={}", pid, state_name(pr.state),
                                        pr.match, pr.next);
            if (pr.is_learner) {
                s += " learner";
            }
            if (pid != r.id() && pr.is_paused()) {
                s += " paused";
            }
            if (pr.ins.count() > 0) {
                s += fmt::format(" inflight={}", pr.ins.count());
            }
            if (pr.state == progress_state::snapshot && pr.pending_snapshot) {
                s += fmt::format(" snapshot={}/{} sent={}", pr.pending_snapshot->meta.term,
                                 pr.pending_snapshot->meta.index, pr.snapshot_offset);
            }
            if (!pr.recent_active) {
                s += " inactive";
            }
            line(s);
        }
    }

    void raft_state() {
        for (const auto& [id, en] : _nodes) {
            const core& r = en.n->raft_core();
            const std::string_view member = r.is_voter(node_id{id})     ? "voter"
                                            : r.is_learner(node_id{id}) ? "learner"
                                                                        : "non-member";
            line(fmt::format("{}: {} ({}) Term:{} Lead:{}", id, to_string(r.role()), member,
                             r.term(), r.leader()));
        }
    }

    void compact(const test_command& c) {
        const uint64_t id = c.pos_uint(0);
        env_node& en = get(c, id);
        const log_index index{c.pos_uint(1)};
        const raft_log& l = en.n->raft_core().log();
        if (index > l.applied()) {
            c.fail(fmt::format("cannot compact to {}: applied is {}", index, l.applied()));
        }
        // node.conf() is the membership as of applied(); it is the right one
        // for `index` only if no change lies in (index, applied].
        if (index < l.applied()) {
            auto ents = l.slice(index + 1, l.applied() + 1, UINT64_MAX);
            if (!ents) {
                c.fail("cannot read (index, applied]: " + ents.error().message());
            }
            for (const entry& e : *ents) {
                if (e.type == entry_type::conf_change) {
                    c.fail(fmt::format("membership change at {} lies in ({}, {}]", e.index, index,
                                       l.applied()));
                }
            }
        }
        auto r = en.store->create_snapshot(index, en.n->conf(), fmt::format("snap@{}", index));
        if (!r) {
            line("error: " + r.error().message());
            return;
        }
        raft_log_cmd(id, c);
    }

    std::map<uint64_t, env_node> _nodes;
    std::vector<message> _pending;
    std::map<uint64_t, int64_t> _group;  // partition group per node; empty = healed
    std::string _out;
    int _indent = 0;
    bool _quiet = false;    // log-level none: no output at all (setup steps)
    bool _core_log = true;  // log-level info: core log lines too, not just the trace
};

// ---------------------------------------------------------------- the test

std::vector<std::string> testdata_files() {
    return datadriven::list_files("testdata", ".txt");
}

class interaction : public ::testing::TestWithParam<std::string> {};

TEST_P(interaction, run) {
    interaction_env env;
    datadriven::run_datadriven_file(GetParam(),
                                    [&](const test_command& c) { return env.handle(c); });
}

/// "testdata/log_conflicts.txt" -> "log_conflicts" (GoogleTest names are [A-Za-z0-9_]).
std::string case_name(const ::testing::TestParamInfo<std::string>& p) {
    std::string name = p.param.substr(p.param.find_last_of('/') + 1);
    name = name.substr(0, name.size() - 4);  // ".txt"
    for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) {
            ch = '_';
        }
    }
    return name;
}

INSTANTIATE_TEST_SUITE_P(testdata, interaction, ::testing::ValuesIn(testdata_files()), case_name);

TEST(interaction_files, found) {
    // Guards against running from the wrong directory, which would otherwise
    // pass by running nothing.
    EXPECT_FALSE(testdata_files().empty())
        << "no testdata/*.txt: run from controller/raft (ctest does)";
}

// An empty testdata/ leaves the parameterized suite without cases; the
// interaction_files test reports that instead.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(interaction);

}  // namespace
}  // namespace fjord::raft
