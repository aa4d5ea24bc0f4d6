#include "controller/stm/session_table.h"

#include <fmt/format.h>

#include "common/cluster/errc.h"

namespace fjord::stm {

using cluster::errc;
using cluster::error_category;

result<void> session_table::validate(const v1::CommandSession& s) {
    if (s.client_id().empty() || s.client_id().size() > 64) {
        return error_info::for_field(
            errc::invalid_argument, "session.client_id",
            fmt::format("must be 1 to 64 bytes, not {}", s.client_id().size()));
    }
    if (s.seq() == 0) {
        return error_info::for_field(errc::invalid_argument, "session.seq", "must be at least 1");
    }
    if (s.first_outstanding() > s.seq()) {
        return error_info::for_field(
            errc::invalid_argument, "session.first_outstanding",
            fmt::format("{} is above seq {}", s.first_outstanding(), s.seq()));
    }
    return ok();
}

std::optional<result<void>> session_table::prior(const v1::CommandSession& s) const {
    auto it = _sessions.find(s.client_id());
    if (it == _sessions.end()) {
        return std::nullopt;
    }
    const session& ses = it->second;
    auto o = ses.outcomes.find({s.seq(), s.item()});
    if (o != ses.outcomes.end()) {
        if (o->second.code == 0) {
            return result<void>(ok());
        }
        const remembered& r = o->second;
        const std::string prefix = r.field + ": ";
        if (!r.field.empty() && r.detail.starts_with(prefix)) {
            return result<void>(error_info::for_field(static_cast<errc>(r.code), r.field,
                                                      r.detail.substr(prefix.size())));
        }
        return result<void>(error_info(static_cast<errc>(r.code), std::string(r.detail)));
    }
    if (s.seq() < ses.first_outstanding) {
        return result<void>(
            error_info::for_field(errc::outcome_unknown, "session.seq",
                                  fmt::format("request {} of client {} was given up by the client "
                                              "(it awaits {} and later); not applied",
                                              s.seq(), s.client_id(), ses.first_outstanding)));
    }
    return std::nullopt;
}

void session_table::touch(const std::string& id, session& s, int64_t time_ms) {
    _by_activity.erase({s.last_active_ms, id});
    s.last_active_ms = std::max(s.last_active_ms, time_ms);
    _by_activity.insert({s.last_active_ms, id});
}

void session_table::drop(std::map<std::string, session>::iterator it) {
    _by_activity.erase({it->second.last_active_ms, it->first});
    _sessions.erase(it);
}

void session_table::record(const v1::CommandSession& s, int64_t time_ms,
                           const result<void>& outcome) {
    // Expire first, then stamp the activity at the log clock or later: a
    // proposer whose clock lags must neither create a session that is born
    // expired nor be expired by its own command.
    tick(time_ms);
    const int64_t stamp = std::max(time_ms, _clock_ms);
    auto [it, fresh] = _sessions.try_emplace(s.client_id());
    session& ses = it->second;
    if (fresh) {
        ses.last_active_ms = stamp;
        _by_activity.insert({stamp, s.client_id()});
    } else {
        touch(s.client_id(), ses, stamp);
    }
    ses.first_outstanding = std::max(ses.first_outstanding, s.first_outstanding());
    while (!ses.outcomes.empty() && ses.outcomes.begin()->first.first < ses.first_outstanding) {
        ses.outcomes.erase(ses.outcomes.begin());
    }
    remembered o;
    if (!outcome) {
        // Only this module's codes are remembered as they are; anything else
        // would not survive the int round trip through a snapshot.
        const bool ours = outcome.error().code.category() == error_category();
        o.code = ours ? outcome.error().code.value() : static_cast<int32_t>(errc::internal);
        o.detail = outcome.error().detail;
        o.field = outcome.error().field;
    }
    ses.outcomes[{s.seq(), s.item()}] = std::move(o);
    while (ses.outcomes.size() > max_outcomes && ses.outcomes.begin()->first.first < s.seq()) {
        // Forgetting an outcome means giving up its request for the client:
        // a retry of it is then refused, never applied again. The request
        // being recorded is never given up, however many items it has.
        ses.first_outstanding =
            std::max(ses.first_outstanding, ses.outcomes.begin()->first.first + 1);
        ses.outcomes.erase(ses.outcomes.begin());
    }
    while (_sessions.size() > max_sessions) {
        drop(_sessions.find(_by_activity.begin()->second));
    }
}

void session_table::tick(int64_t time_ms) {
    _clock_ms = std::max(_clock_ms, time_ms);
    while (!_by_activity.empty() && _by_activity.begin()->first + ttl_ms < _clock_ms) {
        drop(_sessions.find(_by_activity.begin()->second));
    }
}

void session_table::save(v1::ClusterState& out) const {
    for (const auto& [id, ses] : _sessions) {
        v1::ClientSession* c = out.add_sessions();
        c->set_client_id(id);
        c->set_first_outstanding(ses.first_outstanding);
        c->set_last_active_ms(ses.last_active_ms);
        for (const auto& [key, o] : ses.outcomes) {
            v1::ClientSession::Outcome* p = c->add_outcomes();
            p->set_seq(key.first);
            p->set_item(key.second);
            p->set_code(o.code);
            p->set_detail(o.detail);
            p->set_field(o.field);
        }
    }
    out.set_session_clock_ms(_clock_ms);
}

result<void> session_table::load(const v1::ClusterState& in) {
    session_table t;
    for (const v1::ClientSession& c : in.sessions()) {
        if (c.client_id().empty()) {
            return error_info::for_field(errc::internal, "sessions",
                                         "a session has an empty client_id");
        }
        auto [it, fresh] = t._sessions.try_emplace(c.client_id());
        if (!fresh) {
            return error_info::for_field(errc::internal, "sessions",
                                         fmt::format("client {} appears twice", c.client_id()));
        }
        session& ses = it->second;
        ses.first_outstanding = c.first_outstanding();
        ses.last_active_ms = c.last_active_ms();
        for (const v1::ClientSession::Outcome& o : c.outcomes()) {
            if (o.code() < 0 || o.code() > static_cast<int32_t>(cluster::last_errc)) {
                return error_info::for_field(
                    errc::internal, "sessions",
                    fmt::format("client {} has outcome code {}", c.client_id(), o.code()));
            }
            ses.outcomes[{o.seq(), o.item()}] = remembered{o.code(), o.detail(), o.field()};
        }
        t._by_activity.insert({ses.last_active_ms, c.client_id()});
    }
    t._clock_ms = in.session_clock_ms();
    *this = std::move(t);
    return ok();
}

}  // namespace fjord::stm
