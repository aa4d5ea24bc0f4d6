// File: broker/group/group_test.cc
//
// Datadriven tests of the group state machine (group.h) through the group
// manager (group_manager.h), with a fake clock. Every file in testdata/ is
// one scenario run as its own GoogleTest case, from the source directory
// broker/group.
//
// If this test fails, run with REWRITE=1 and inspect the diff. Only commit the
// changes if you understand what caused them and they are desired.
//
// The clock starts at 0 and moves only with `advance`. Member ids are
// "<client>-<n>" with n counting from 1 across the scenario. Each JoinGroup
// and SyncGroup gets a handle (join#N, sync#N); the output of a command is
// every answer given during it, in order, or "join#N: waiting".
//
// Commands (g defaults to "g"):
//   reset [initial-delay=MS] [min-session=MS] [max-session=MS] [new-member-timeout=MS]
//       a fresh manager; defaults: 0, 6000, 1800000, 300000
//   join [g=G] [member=M] [client=C] [session=MS] [rebalance=MS] [type=T]
//        [protocols=(name:metadata,...)] [v4=true]
//       defaults: client c, session 10000, rebalance 30000, type consumer,
//       protocols (range:m); v4=true asks for KIP-394's member id handshake
//   sync [g=G] member=M gen=N [assign=(member:bytes,...)] [type=T] [name=P]
//   heartbeat [g=G] member=M gen=N
//   leave [g=G] member=M
//   commit [g=G] [member=M] [gen=N]         gen defaults to -1
//   advance ms=N                            clock += N, then tick
//   describe [g=G]                          state, generation, members
//   list                                    every group and its state

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "broker/group/group_manager.h"
#include "broker/kafka/errors.h"
#include "tests/support/datadriven.h"

namespace fjord::broker {
namespace {

using datadriven::test_command;

std::string error_name(int16_t code) {
    static const std::map<int16_t, std::string> names = {
        {0, "NONE"},
        {15, "COORDINATOR_NOT_AVAILABLE"},
        {16, "NOT_COORDINATOR"},
        {22, "ILLEGAL_GENERATION"},
        {23, "INCONSISTENT_GROUP_PROTOCOL"},
        {25, "UNKNOWN_MEMBER_ID"},
        {26, "INVALID_SESSION_TIMEOUT"},
        {27, "REBALANCE_IN_PROGRESS"},
        {79, "MEMBER_ID_REQUIRED"},
    };
    auto it = names.find(code);
    return it == names.end() ? fmt::format("ERROR_{}", code) : it->second;
}

int64_t parse_int(const test_command& c, const std::string& key, int64_t def) {
    if (!c.has(key)) {
        return def;
    }
    const std::string s = c.get_string(key);
    try {
        size_t used = 0;
        const int64_t v = std::stoll(s, &used);
        if (used != s.size()) {
            c.fail(fmt::format("{}: \"{}\" is not an integer", key, s));
        }
        return v;
    } catch (const std::exception&) {
        c.fail(fmt::format("{}: \"{}\" is not an integer", key, s));
    }
}

/// "a:b" → {a, b}; "a" → {a, ""}.
std::pair<std::string, std::string> split_colon(const std::string& s) {
    const auto i = s.find(':');
    return i == std::string::npos ? std::pair(s, std::string())
                                  : std::pair(s.substr(0, i), s.substr(i + 1));
}

struct env {
    int64_t now = 0;
    uint64_t next_id = 1;
    std::unique_ptr<group_manager> groups;
    int next_join = 1;
    int next_sync = 1;
    std::vector<std::string> fired;  ///< answers given during the current command
    std::map<std::string, bool> answered;

    void reset(const group_options& o) {
        groups = std::make_unique<group_manager>(o, [this] { return std::to_string(next_id++); });
    }

    std::string format(const join_result& r) {
        if (r.error != kafka_errors::none) {
            return fmt::format("{} member={}", error_name(r.error), r.member_id);
        }
        std::string out = fmt::format("NONE gen={} member={} leader={} type={} protocol={}",
                                      r.generation_id, r.member_id, r.leader_id,
                                      r.protocol_type.value_or("-"), r.protocol_name.value_or("-"));
        if (!r.members.empty()) {
            std::vector<std::string> ms;
            for (const auto& m : r.members) {
                ms.push_back(m.member_id + ":" + m.metadata);
            }
            out += fmt::format(" members=({})", fmt::join(ms, ","));
        }
        return out;
    }

    std::string format(const sync_result& r) {
        if (r.error != kafka_errors::none) {
            return error_name(r.error);
        }
        return fmt::format("NONE assignment={}", r.assignment.empty() ? "-" : r.assignment);
    }

    std::string run(const test_command& c) {
        fired.clear();
        const std::string g = c.get_string("g", "g");
        if (c.name == "reset") {
            c.expect_keys({"initial-delay", "min-session", "max-session", "new-member-timeout"});
            group_options o;
            o.initial_rebalance_delay_ms = static_cast<int32_t>(parse_int(c, "initial-delay", 0));
            o.min_session_timeout_ms = static_cast<int32_t>(parse_int(c, "min-session", 6000));
            o.max_session_timeout_ms = static_cast<int32_t>(parse_int(c, "max-session", 1800000));
            o.new_member_join_timeout_ms =
                static_cast<int32_t>(parse_int(c, "new-member-timeout", 300000));
            now = 0;
            next_id = 1;
            next_join = next_sync = 1;
            reset(o);
            return "ok";
        }
        if (!groups) {
            c.fail("reset first");
        }
        if (c.name == "join") {
            c.expect_keys(
                {"g", "member", "client", "session", "rebalance", "type", "protocols", "v4"});
            join_request r;
            r.member_id = c.get_string("member", "");
            r.client_id = c.get_string("client", "c");
            r.client_host = "/127.0.0.1";
            r.session_timeout_ms = static_cast<int32_t>(parse_int(c, "session", 10000));
            r.rebalance_timeout_ms = static_cast<int32_t>(parse_int(c, "rebalance", 30000));
            r.protocol_type = c.get_string("type", "consumer");
            const auto protocols =
                c.has("protocols") ? c.get_list("protocols") : std::vector<std::string>{"range:m"};
            for (const auto& p : protocols) {
                auto [name, meta] = split_colon(p);
                r.protocols.push_back({name, meta});
            }
            r.require_known_member_id = c.get_bool("v4", false);
            const std::string handle = fmt::format("join#{}", next_join++);
            answered[handle] = false;
            groups->join(g, std::move(r), now, [this, handle](join_result res) {
                answered[handle] = true;
                fired.push_back(handle + ": " + format(res));
            });
            return output(handle);
        }
        if (c.name == "sync") {
            c.expect_keys({"g", "member", "gen", "assign", "type", "name"});
            sync_request r;
            r.member_id = c.get_string("member");
            r.generation_id = static_cast<int32_t>(parse_int(c, "gen", -1));
            if (c.has("type")) {
                r.protocol_type = c.get_string("type");
            }
            if (c.has("name")) {
                r.protocol_name = c.get_string("name");
            }
            for (const auto& a : c.get_list("assign")) {
                r.assignments.push_back(split_colon(a));
            }
            const std::string handle = fmt::format("sync#{}", next_sync++);
            answered[handle] = false;
            groups->sync(g, std::move(r), now, [this, handle](sync_result res) {
                answered[handle] = true;
                fired.push_back(handle + ": " + format(res));
            });
            return output(handle);
        }
        if (c.name == "heartbeat") {
            c.expect_keys({"g", "member", "gen"});
            const int16_t e = groups->heartbeat(g, c.get_string("member"),
                                                static_cast<int32_t>(parse_int(c, "gen", -1)), now);
            return output(error_name(e));
        }
        if (c.name == "leave") {
            c.expect_keys({"g", "member"});
            return output(error_name(groups->leave(g, c.get_string("member"), now)));
        }
        if (c.name == "commit") {
            c.expect_keys({"g", "member", "gen"});
            const int16_t e = groups->validate_commit(
                g, c.get_string("member", ""), static_cast<int32_t>(parse_int(c, "gen", -1)), now);
            return output(error_name(e));
        }
        if (c.name == "advance") {
            c.expect_keys({"ms"});
            now += parse_int(c, "ms", 0);
            groups->tick(now);
            std::string out = fmt::format("now {}", now);
            for (const auto& f : fired) {
                out += "\n" + f;
            }
            return out;
        }
        if (c.name == "describe") {
            c.expect_keys({"g"});
            const group* gr = groups->find(g);
            if (gr == nullptr) {
                return fmt::format("group {}: none", g);
            }
            std::string out = fmt::format(
                "group {}: {} gen={} type={} protocol={} leader={}", g, to_string(gr->state()),
                gr->generation(), gr->protocol_type().value_or("-"),
                gr->protocol_name().value_or("-"), gr->leader().empty() ? "-" : gr->leader());
            for (const auto& [id, m] : gr->members()) {
                std::vector<std::string> ps;
                for (const auto& p : m.protocols) {
                    ps.push_back(p.name);
                }
                out += fmt::format(
                    "\n  member {} client={} session={} rebalance={} deadline={}{}{}{} "
                    "assignment={} protocols=({})",
                    id, m.client_id, m.session_timeout_ms, m.rebalance_timeout_ms, m.deadline_ms,
                    m.is_new ? " new" : "", m.awaiting_join ? " joining" : "",
                    m.awaiting_sync ? " syncing" : "", m.assignment.empty() ? "-" : m.assignment,
                    fmt::join(ps, ","));
            }
            for (const auto& [id, deadline] : gr->pending_members()) {
                out += fmt::format("\n  pending {} deadline={}", id, deadline);
            }
            return out;
        }
        if (c.name == "list") {
            std::vector<std::string> lines;
            for (const auto& [id, gr] : groups->groups()) {
                lines.push_back(
                    fmt::format("{} {}{}", id, to_string(gr->state()), gr->idle() ? " idle" : ""));
            }
            return lines.empty() ? "no groups" : fmt::format("{}", fmt::join(lines, "\n"));
        }
        c.fail("unknown command");
    }

    /// The answers given during the command; a request not answered yet
    /// shows as waiting.
    std::string output(const std::string& what) {
        std::vector<std::string> lines = fired;
        if (what.rfind("join#", 0) == 0 || what.rfind("sync#", 0) == 0) {
            if (!answered[what]) {
                lines.insert(lines.begin(), what + ": waiting");
            }
        } else {
            lines.insert(lines.begin(), what);
        }
        return fmt::format("{}", fmt::join(lines, "\n"));
    }
};

class group_datadriven : public ::testing::TestWithParam<std::string> {};

TEST_P(group_datadriven, run) {
    env e;
    datadriven::run_datadriven_file(GetParam(), [&](const test_command& c) { return e.run(c); });
}

/// "testdata/join_leave.txt" -> "join_leave" (GoogleTest names are [A-Za-z0-9_]).
std::string case_name(const ::testing::TestParamInfo<std::string>& param) {
    std::string name = param.param;
    name = name.substr(name.rfind('/') + 1);
    name = name.substr(0, name.size() - 4);
    for (char& ch : name) {
        if (std::isalnum(static_cast<unsigned char>(ch)) == 0) {
            ch = '_';
        }
    }
    return name;
}

INSTANTIATE_TEST_SUITE_P(testdata, group_datadriven,
                         ::testing::ValuesIn(datadriven::list_files("testdata", ".txt")),
                         case_name);

TEST(group_datadriven_files, found) {
    // Run from the wrong directory, the scenarios would pass by not running.
    EXPECT_FALSE(datadriven::list_files("testdata", ".txt").empty())
        << "no testdata/*.txt: run from broker/group";
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(group_datadriven);

}  // namespace
}  // namespace fjord::broker
