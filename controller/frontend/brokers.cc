// File: controller/frontend/brokers.cc
//
// The brokers domain of the frontend (brokers.h).

#include "controller/frontend/brokers.h"

namespace fjord::frontend {

using cluster::errc;

void register_broker(core& c, const v1::RegisterBrokerRequest& req, const command_meta& meta,
                     then_fn<result<registered>> then) {
    if (!req.has_broker()) {
        then(error_info::for_field(errc::invalid_argument, "broker", "required"));
        return;
    }
    const v1::Broker& b = req.broker();
    const auto now = clock::now();
    auto cmd = c.state().read([&](const stm::controller_stm& s) {
        bool alive = false;
        if (const auto* existing = s.brokers().find(b.id())) {
            alive = c.liveness()
                        .get(b.id(), existing->incarnation(), c.opts().broker_session_timeout, now)
                        .alive;
        }
        return stm::make_register_broker(s, b, alive, meta);
    });
    auto done = [&c, &req, then = std::move(then)](result<void> outcome) {
        if (outcome) {
            c.liveness().heartbeat(req.broker().id(), req.broker().incarnation(), 0, clock::now());
        }
        registered out;
        out.outcome = std::move(outcome);
        c.state().read([&](const stm::controller_stm& s) {
            out.revision = s.revision().value();
            out.cluster_uuid = s.cluster_uuid();
            return 0;
        });
        then(std::move(out));
    };
    if (!cmd) {
        done(cmd.error());
    } else if (*cmd) {
        c.propose_one(**cmd, std::move(done));
    } else {
        done(ok());
    }
}

heartbeat_outcome heartbeat(core& c, const v1::HeartbeatRequest& req) {
    heartbeat_outcome out;
    out.known = c.state().read([&](const stm::controller_stm& s) {
        const auto* b = s.brokers().find(req.broker_id());
        out.revision = s.revision().value();
        return b != nullptr && b->incarnation() == req.incarnation() &&
               b->state() != v1::BROKER_STATE_DECOMMISSIONED;
    });
    if (out.known && req.leaving()) {
        const auto now = clock::now();
        c.liveness().release(req.broker_id(), req.incarnation(), now);
        c.shadow().report(req.broker_id(), {}, {}, now);  // its fetchers have stopped
    } else if (out.known) {
        const auto now = clock::now();
        if (c.liveness().heartbeat(req.broker_id(), req.incarnation(), req.applied_revision(),
                                   now)) {
            // Not a report sent before the leaving one and delivered after it.
            c.shadow().report(req.broker_id(),
                              {req.shadow_partitions().begin(), req.shadow_partitions().end()},
                              {req.shadow_tasks().begin(), req.shadow_tasks().end()}, now);
        }
    }
    return out;
}

void set_broker_state(core& c, const v1::SetBrokerStateRequest& req, const command_meta& meta,
                      then_fn<write_outcome> then) {
    auto cmd = c.state().read([&](const stm::controller_stm& s) {
        return stm::make_set_broker_state(s, req.id(), req.state(), meta);
    });
    auto done = [&c, then = std::move(then)](result<void> outcome) {
        then(write_outcome{std::move(outcome), c.revision()});
    };
    if (!cmd) {
        done(cmd.error());
    } else if (*cmd) {
        c.propose_one(**cmd, std::move(done));
    } else {
        done(ok());
    }
}

result<v1::ListBrokersResponse> list_brokers(core& c, const v1::ListBrokersRequest& req) {
    if (auto r = c.linearize(req.read()); !r) {
        return r.error();
    }
    v1::ListBrokersResponse resp;
    const auto now = clock::now();
    const bool leader = c.loop().is_leader();
    c.state().read([&](const stm::controller_stm& s) {
        for (const auto& [id, b] : s.brokers().all()) {
            auto* item = resp.add_brokers();
            *item->mutable_broker() = b;
            if (leader) {
                const auto v =
                    c.liveness().get(id, b.incarnation(), c.opts().broker_session_timeout, now);
                item->set_alive(v.alive && b.state() != v1::BROKER_STATE_DECOMMISSIONED);
                item->set_applied_revision(v.applied_revision);
                item->set_last_heartbeat_ms_ago(v.last_heartbeat_ms_ago);
            } else {
                item->set_last_heartbeat_ms_ago(-1);
            }
            item->set_applied(req.applied_at_least() > 0 &&
                              item->applied_revision() >= req.applied_at_least());
        }
        resp.set_revision(s.revision().value());
        return 0;
    });
    return resp;
}

}  // namespace fjord::frontend
