// File: controller/frontend/broker_liveness.cc

#include "controller/frontend/broker_liveness.h"

namespace fjord::frontend {

void broker_liveness::reset(clock::time_point now) {
    std::lock_guard g(_mu);
    _brokers.clear();
    _since = now;
}

bool broker_liveness::heartbeat(int32_t id, const std::string& incarnation, uint64_t applied,
                                clock::time_point now) {
    std::lock_guard g(_mu);
    entry& e = _brokers[id];
    if (e.incarnation != incarnation) {
        e = entry{incarnation, now, applied};
        return true;
    }
    e.applied = std::max(e.applied, applied);
    if (!e.released) {
        e.last = now;
    }
    return !e.released;
}

void broker_liveness::release(int32_t id, const std::string& incarnation, clock::time_point now) {
    std::lock_guard g(_mu);
    entry& e = _brokers.try_emplace(id, entry{incarnation, now, 0}).first->second;
    if (e.incarnation == incarnation) {
        e.released = true;
    }
}

broker_liveness::view broker_liveness::get(int32_t id, const std::string& incarnation,
                                           std::chrono::milliseconds timeout,
                                           clock::time_point now) const {
    std::lock_guard g(_mu);
    view v;
    auto it = _brokers.find(id);
    if (it == _brokers.end() || it->second.incarnation != incarnation) {
        // Not heard from since this leader took over: assume alive for one
        // session timeout, as the previous leader may have seen it recently.
        v.alive = now - _since < timeout;
        return v;
    }
    v.applied_revision = it->second.applied;
    v.last_heartbeat_ms_ago =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second.last).count();
    v.alive = !it->second.released && now - it->second.last < timeout;
    return v;
}

}  // namespace fjord::frontend
