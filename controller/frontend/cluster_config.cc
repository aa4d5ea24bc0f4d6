// File: controller/frontend/cluster_config.cc
//
// The cluster config domain of the frontend (cluster_config.h).

#include "controller/frontend/cluster_config.h"

#include <memory>

#include "common/cluster/config_schema.h"

namespace fjord::frontend {

namespace {

/// Whether `cmd` (a SetClusterConfig with canonical values) would change
/// nothing: every upsert already holds its value, every removed key is at
/// its default.
bool changes_nothing(const stm::controller_stm& s, const v1::ControllerCommand& cmd) {
    if (cmd.command_case() != v1::ControllerCommand::kSetClusterConfig) {
        return false;
    }
    const v1::SetClusterConfig& c = cmd.set_cluster_config();
    for (const auto& [k, v] : c.upsert()) {
        const v1::ConfigValue* now = s.cluster_config().find(k);
        if (now == nullptr || now->value() != v) {
            return false;
        }
    }
    for (const auto& k : c.remove()) {
        if (s.cluster_config().find(k) != nullptr) {
            return false;
        }
    }
    return true;
}

}  // namespace

void set_cluster_config(core& c, const v1::SetClusterConfigRequest& req, const command_meta& meta,
                        then_fn<result<config_outcome>> then) {
    if (auto r = check_session(req.session()); !r) {
        then(r.error());
        return;
    }
    const auto ses = req.validate_only() ? std::nullopt : command_session(req.session(), 0);
    std::optional<result<void>> prior;
    const auto check = [&] {
        return c.state().read([&](const stm::controller_stm& s) -> result<v1::ControllerCommand> {
            if (ses && (prior = s.sessions().prior(*ses))) {
                return v1::ControllerCommand{};  // a retry: answered below
            }
            return stm::make_set_cluster_config(s, req, meta);
        });
    };
    auto cmd = check();
    std::optional<std::string> record;  // a retry's refusal, decided in the log
    if (!cmd && !req.validate_only()) {
        // A refusal must not rest on stale tables (see core::run_batch).
        if (auto barrier = c.linearize(v1::ReadOptions{}); !barrier) {
            cmd = barrier.error();
        } else if (cmd = check(); !cmd) {
            record = refusal_to_record(req.session(), 0, cmd.error(), meta);
        }
    }
    if (!cmd) {
        config_outcome out;
        out.outcome = cmd.error();
        // The builder stops at the first bad key; check the others alone.
        const auto alone = [&](const std::string& k, v1::SetClusterConfigRequest one) {
            if (k == cmd.error().field) {
                return;
            }
            auto r = c.state().read([&](const stm::controller_stm& s) {
                return stm::make_set_cluster_config(s, one, meta);
            });
            if (!r) {
                out.alone.emplace(k, r.error());
            }
        };
        for (const auto& [k, v] : req.upsert()) {
            v1::SetClusterConfigRequest one;
            (*one.mutable_upsert())[k] = v;
            alone(k, std::move(one));
        }
        for (const auto& k : req.remove()) {
            if (req.upsert().count(k) > 0) {
                continue;  // one answer per key: the upsert's
            }
            v1::SetClusterConfigRequest one;
            one.add_remove(k);
            alone(k, std::move(one));
        }
        out.revision = c.revision();
        if (!record) {
            then(std::move(out));
            return;
        }
        c.propose_record(std::move(*record), [&c, out = std::move(out),
                                              then = std::move(then)](result<void> r) mutable {
            const auto& refused = out.outcome.error();
            if (r || r.error().code != refused.code || r.error().detail != refused.detail) {
                // An earlier attempt applied first (its outcome answers), or
                // the record's own fate is unknown.
                out.outcome = std::move(r);
                out.alone.clear();
            }
            out.revision = c.revision();
            then(std::move(out));
        });
        return;
    }
    bool needs_restart = false;
    for (const auto& [k, v] : req.upsert()) {
        if (const auto* p = cluster::cluster_config_schema().find(k); p && p->needs_restart) {
            needs_restart = true;
        }
    }
    auto done = [&c, needs_restart, then = std::move(then)](result<void> outcome) {
        config_outcome out;
        out.changed = outcome.has_value();
        out.outcome = std::move(outcome);
        out.needs_restart = needs_restart && out.changed;
        out.revision = out.changed ? c.revision() : 0;
        then(std::move(out));
    };
    // Nothing to change: answered without a proposal, so `changed` can be
    // trusted. Decided on linearizable tables (a deposed leader's stale
    // tables must not claim a value is in place).
    const auto in_place = [&] {
        return c.state().read(
            [&](const stm::controller_stm& s) { return changes_nothing(s, *cmd); });
    };
    // Not for a retry (Session.retry): an earlier attempt may still be in
    // flight, and answering without the log would let it land after a later
    // writer was acknowledged; the retry is proposed and decided there.
    if (!prior && !req.validate_only() && !req.session().retry() && in_place() &&
        c.linearize(v1::ReadOptions{}) && in_place()) {
        config_outcome out;
        out.outcome = ok();
        then(std::move(out));
        return;
    }
    if (prior) {
        done(std::move(*prior));
    } else if (req.validate_only()) {
        config_outcome out;
        out.outcome = ok();
        out.needs_restart = needs_restart;
        out.revision = c.revision();
        then(std::move(out));
    } else {
        if (ses) {
            *cmd->mutable_session() = *ses;
        }
        c.propose_one(*cmd, std::move(done));
    }
}

result<v1::GetClusterConfigResponse> get_cluster_config(core& c,
                                                        const v1::GetClusterConfigRequest& req) {
    if (auto r = c.linearize(req.read()); !r) {
        return r.error();
    }
    v1::GetClusterConfigResponse resp;
    const std::vector<std::string> keys(req.keys().begin(), req.keys().end());
    auto entries = c.state().read([&](const stm::controller_stm& s) {
        resp.set_revision(s.revision().value());
        return s.cluster_config().effective(keys);
    });
    if (!entries) {
        return entries.error();
    }
    for (auto& e : *entries) {
        // Credentials never leave through this call (brokers get them by
        // Watch, which needs CLUSTER_ACTION).
        const auto* p = cluster::cluster_config_schema().find(e.key());
        if (p != nullptr && p->secret && !e.is_default() && !e.value().empty()) {
            e.set_value(std::string(cluster::redacted_value));
            e.set_redacted(true);
        }
        *resp.add_entries() = std::move(e);
    }
    if (req.include_schema()) {
        for (auto& p : cluster::cluster_config_schema().to_proto()) {
            *resp.add_schema() = std::move(p);
        }
    }
    return resp;
}

}  // namespace fjord::frontend
