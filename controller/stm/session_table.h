#pragma once
// File: controller/stm/session_table.h
//
// Client sessions: what makes a retried write apply at most once (Raft
// dissertation §6.3). Part of the replicated state machine, so it is pure and
// deterministic like the other tables: every member remembers the same
// outcomes and forgets them at the same log position.
//
// A client names itself with a random client_id and numbers its requests
// (seq 1, 2, ...); each item of a batch request is a command of its own,
// keyed (client_id, seq, item). The first command with a key is applied and
// its outcome kept; a later command with the same key (a retry, or a
// duplicate the network made) is answered with that outcome and changes
// nothing. A client also says which of its requests it still awaits
// (first_outstanding): outcomes below it are forgotten, and a command below
// it is never applied (errc::outcome_unknown: the client gave up on it).
//
// Expiry is by log time: each command carries its proposer's clock, the
// table's clock is the highest of them (over session commands), and a
// session idle for `ttl` of that clock is forgotten when the next session
// command applies. Activity is stamped at the table's clock when a
// proposer's clock lags it, so a lagging leader expires nothing early; a
// leader whose clock runs ahead by X shortens every idle session's life by
// X, so proposers' clocks must agree to well within `ttl` (NTP does). A
// client must stop retrying a request well within `ttl` (the CLI gives up
// after its retry timeout, 30 s by default). At most `max_sessions` are kept (the least
// recently active go first) and `max_outcomes` per session (the oldest go
// first, and first_outstanding moves past them; never those of the request
// being recorded); a retry of a forgotten request is answered
// outcome_unknown, never applied again unless its session itself was
// forgotten, in which case it is applied as a new request.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/result.h"
#include "fjord/controller/v1/commands.pb.h"
#include "fjord/controller/v1/metadata.pb.h"

namespace fjord::stm {

namespace v1 = controller::v1;

class session_table {
  public:
    static constexpr int64_t ttl_ms = 15 * 60 * 1000;
    static constexpr size_t max_sessions = 100000;
    static constexpr size_t max_outcomes = 1024;

    /// Checks the shape a proposer must send: "session.<field>: <reason>".
    static result<void> validate(const v1::CommandSession& s);

    /// The outcome to answer instead of applying, if this command is a retry
    /// (or below what its client still awaits); nullopt: apply it.
    std::optional<result<void>> prior(const v1::CommandSession& s) const;
    /// Remembers the outcome of a command just applied, at `time_ms`.
    void record(const v1::CommandSession& s, int64_t time_ms, const result<void>& outcome);
    /// Advances the log clock to `time_ms` (never back) and forgets sessions
    /// idle for longer than ttl_ms.
    void tick(int64_t time_ms);

    size_t size() const { return _sessions.size(); }
    int64_t clock_ms() const { return _clock_ms; }

    /// Snapshot image, ascending by client_id.
    void save(v1::ClusterState& out) const;
    /// Replaces the table from a snapshot image; fails (nothing changed) on a
    /// malformed one with "sessions: <reason>".
    result<void> load(const v1::ClusterState& in);

  private:
    struct remembered {
        int32_t code = 0;
        std::string detail;
        std::string field;  ///< error_info::field; detail starts with "<field>: "
    };
    struct session {
        uint64_t first_outstanding = 0;
        int64_t last_active_ms = 0;
        std::map<std::pair<uint64_t, uint32_t>, remembered> outcomes;
    };
    void touch(const std::string& id, session& s, int64_t time_ms);
    void drop(std::map<std::string, session>::iterator it);

    std::map<std::string, session> _sessions;
    std::set<std::pair<int64_t, std::string>> _by_activity;  // (last_active_ms, client_id)
    int64_t _clock_ms = 0;
};

}  // namespace fjord::stm
