// File: controller/frontend/frontend.cc
//
// The shared machinery of frontend.h: read barriers, proposals, batches and
// sessions.

#include "controller/frontend/frontend.h"

#include <algorithm>
#include <atomic>
#include <memory>

#include <fmt/format.h>

#include "common/uuid.h"
#include "controller/stm/session_table.h"

namespace fjord::frontend {

using cluster::errc;

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::optional<v1::CommandSession> command_session(const v1::Session& s, size_t item) {
    if (s.client_id().empty()) {
        return std::nullopt;
    }
    v1::CommandSession c;
    c.set_client_id(s.client_id());
    c.set_seq(s.seq());
    c.set_first_outstanding(s.first_outstanding());
    c.set_item(static_cast<uint32_t>(item));
    return c;
}

std::string request_id(const v1::Session& s, size_t item) {
    if (s.client_id().empty()) {
        return new_uuid();
    }
    return fmt::format("{}/{}/{}", s.client_id(), s.seq(), item);
}

result<void> check_session(const v1::Session& s) {
    const auto c = command_session(s, 0);
    if (!c) {
        return ok();
    }
    return stm::session_table::validate(*c);
}

result<void> core::linearize(const v1::ReadOptions& read) {
    if (read.stale()) {
        return ok();
    }
    auto f = _loop.read_index();
    auto r = await(f, clock::now() + _o.read_timeout);
    if (!r) {
        return r.error();
    }
    return ok();
}

uint64_t core::revision() const {
    return _state.read([](const stm::controller_stm& s) { return s.revision().value(); });
}

void core::propose_one(const v1::ControllerCommand& cmd, then_fn<result<void>> then) {
    std::string data;
    if (!cmd.SerializeToString(&data)) {
        then(error_info{errc::internal, "command does not serialize"});
        return;
    }
    _loop.propose(std::move(data), clock::now() + _o.write_timeout, std::move(then));
}

void core::propose_record(std::string cmd, then_fn<result<void>> then) {
    _loop.propose(std::move(cmd), clock::now() + _o.write_timeout, std::move(then));
}

void core::propose_all(std::vector<std::optional<std::string>> cmds,
                       then_fn<std::vector<result<void>>> then) {
    struct batch {
        std::vector<result<void>> outcomes;
        std::atomic<size_t> pending{0};
        then_fn<std::vector<result<void>>> then;
    };
    auto b = std::make_shared<batch>();
    b->outcomes.assign(cmds.size(), ok());
    b->then = std::move(then);
    // One extra count, dropped after the loop below, so that `then` cannot
    // run before every proposal has been handed to the loop.
    b->pending = 1 + static_cast<size_t>(std::count_if(
                         cmds.begin(), cmds.end(), [](const auto& c) { return c.has_value(); }));
    const auto deadline = clock::now() + _o.write_timeout;
    auto arrive = [](const std::shared_ptr<batch>& state) {
        if (state->pending.fetch_sub(1) == 1) {
            state->then(std::move(state->outcomes));
        }
    };
    for (size_t i = 0; i < cmds.size(); ++i) {
        if (cmds[i]) {
            _loop.propose(std::move(*cmds[i]), deadline, [b, i, arrive](result<void> r) {
                b->outcomes[i] = std::move(r);
                arrive(b);
            });
        }
    }
    arrive(b);
}

std::optional<std::string> refusal_to_record(const v1::Session& session, size_t item,
                                             const result<void>& refusal,
                                             const stm::command_meta& meta) {
    const auto ses = command_session(session, item);
    if (!session.retry() || !ses || refusal) {
        return std::nullopt;
    }
    return stm::make_record_refusal(*ses, refusal.error(), meta).SerializeAsString();
}

void core::run_batch(size_t n, bool validate_only, const v1::Session& session,
                     const stm::command_meta& meta, build_fn build,
                     then_fn<std::vector<result<void>>> then) {
    std::vector<result<void>> outcomes(n, ok());
    std::vector<std::optional<std::string>> cmds(n);
    // Checks item i against the tables: answered from its session (a retry
    // whose first attempt has applied; checked first, since validated again
    // a create that succeeded would now fail with "already exists"), refused
    // (returns true), or turned into a command to propose.
    const auto check = [&](size_t i) {
        const auto ses = validate_only ? std::nullopt : command_session(session, i);
        std::optional<result<void>> prior;
        auto cmd = _state.read([&](const stm::controller_stm& s) -> result<v1::ControllerCommand> {
            if (ses && (prior = s.sessions().prior(*ses))) {
                return v1::ControllerCommand{};
            }
            return build(s, i);
        });
        if (prior) {
            outcomes[i] = std::move(*prior);
            return false;
        }
        if (!cmd) {
            outcomes[i] = cmd.error();
            return true;
        }
        outcomes[i] = ok();
        if (!validate_only && cmd->command_case() != v1::ControllerCommand::COMMAND_NOT_SET) {
            if (ses) {
                *cmd->mutable_session() = *ses;
            }
            cmds[i] = cmd->SerializeAsString();
        }
        return false;
    };
    std::vector<size_t> refused;
    for (size_t i = 0; i < n; ++i) {
        if (check(i)) {
            refused.push_back(i);
        }
    }
    if (!refused.empty() && !validate_only) {
        // A refusal is final (nothing is proposed, apply never re-checks it),
        // so it must not rest on stale tables: a new leader that has not yet
        // applied its predecessor's last commits, or a deposed one that has
        // not noticed, would refuse what the cluster allows. After a read
        // barrier the tables hold every write acknowledged before this call.
        if (auto barrier = linearize(v1::ReadOptions{}); !barrier) {
            for (size_t i : refused) {
                outcomes[i] = barrier.error();
            }
        } else {
            for (size_t i : refused) {
                if (check(i)) {
                    // Refused again, now on linearizable tables. A retry's
                    // refusal is decided in the log (Session.retry): answered
                    // from here, an earlier attempt still in flight could
                    // apply after this "no".
                    cmds[i] = refusal_to_record(session, i, outcomes[i], meta);
                }
            }
        }
    }
    std::vector<bool> proposed(n);
    for (size_t i = 0; i < n; ++i) {
        proposed[i] = cmds[i].has_value();
    }
    propose_all(std::move(cmds),
                [outcomes = std::move(outcomes), proposed = std::move(proposed),
                 then = std::move(then)](std::vector<result<void>> results) mutable {
                    for (size_t i = 0; i < results.size(); ++i) {
                        if (proposed[i]) {
                            // A recorded refusal's result is the earlier
                            // attempt's outcome when that applied first.
                            outcomes[i] = std::move(results[i]);
                        }
                    }
                    then(std::move(outcomes));
                });
}

}  // namespace fjord::frontend
