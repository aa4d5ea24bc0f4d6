// File: broker/kafka/group_gateway.cc

#include "broker/kafka/group_gateway.h"

#include "broker/group/offset_store.h"

namespace fjord::broker {

group_gateway::group_gateway(coordinator_options opts, metadata_cache& md, partition_manager& pm,
                             controller_client::client* controller,
                             group_coordinator::schedule_fn schedule,
                             group_coordinator::clock_fn now, group::id_fn new_id)
    : _coord(opts, md, pm, controller, std::move(schedule), std::move(now), std::move(new_id)) {}

void group_gateway::stop() {
    _stopped = true;
    // The listener is gone: held replies are dropped, not answered.
    for (auto& [id, ws] : _waiting) {
        for (const auto& w : ws) {
            w->done = true;
            w->ctx.reply = nullptr;
        }
    }
    _waiting.clear();
    _coord.stop();
}

bool group_gateway::admit(const request_context& ctx) {
    if (_stopped) {
        ctx.close_connection();
        return false;
    }
    _coord.refresh();
    return true;
}

std::shared_ptr<group_gateway::waiter> group_gateway::hold(const request_context& ctx) {
    auto w = std::make_shared<waiter>(waiter{ctx});
    _waiting[ctx.conn->id()].insert(w);
    return w;
}

void group_gateway::release(const std::shared_ptr<waiter>& w) {
    auto it = _waiting.find(w->ctx.conn->id());
    if (it != _waiting.end()) {
        it->second.erase(w);
        if (it->second.empty()) {
            _waiting.erase(it);
        }
    }
}

void group_gateway::on_close(const session& s) {
    auto it = _waiting.find(s.id());
    if (it == _waiting.end()) {
        return;
    }
    for (const auto& w : it->second) {
        w->done = true;
        w->ctx.reply = nullptr;  // the listener discards it anyway; free it now
    }
    _waiting.erase(it);
}

std::string client_host(const session& s) {
    const std::string& peer = s.peer();
    const auto colon = peer.rfind(':');
    return "/" + (colon == std::string::npos ? peer : peer.substr(0, colon));
}

bool group_id_too_long(const std::string& id) {
    return id.size() > offset_record_max_string;
}

}  // namespace fjord::broker
