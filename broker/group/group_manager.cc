// File: broker/group/group_manager.cc

#include "broker/group/group_manager.h"

#include "broker/kafka/errors.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

}  // namespace

group_manager::group_manager(group_options opts, group::id_fn new_id)
    : _opts(opts), _new_id(std::move(new_id)) {}

group* group_manager::find(const std::string& group_id) {
    auto it = _groups.find(group_id);
    return it == _groups.end() ? nullptr : it->second.get();
}

const group* group_manager::find(const std::string& group_id) const {
    auto it = _groups.find(group_id);
    return it == _groups.end() ? nullptr : it->second.get();
}

group& group_manager::ensure(const std::string& group_id) {
    auto& slot = _groups[group_id];
    if (!slot) {
        slot = std::make_unique<group>(group_id, _opts, _new_id);
    }
    return *slot;
}

void group_manager::join(const std::string& group_id, join_request req, int64_t now_ms,
                         join_callback cb) {
    if (req.session_timeout_ms < _opts.min_session_timeout_ms ||
        req.session_timeout_ms > _opts.max_session_timeout_ms) {
        join_result r;
        r.error = k::invalid_session_timeout;
        r.member_id = req.member_id;
        cb(std::move(r));
        return;
    }
    group* g = find(group_id);
    if (g == nullptr) {
        if (!req.member_id.empty()) {
            join_result r;
            r.error = k::unknown_member_id;
            r.member_id = req.member_id;
            cb(std::move(r));
            return;
        }
        g = &ensure(group_id);
    }
    g->join(std::move(req), now_ms, std::move(cb));
}

void group_manager::sync(const std::string& group_id, sync_request req, int64_t now_ms,
                         sync_callback cb) {
    group* g = find(group_id);
    if (g == nullptr) {
        sync_result r;
        r.error = k::unknown_member_id;
        cb(std::move(r));
        return;
    }
    g->sync(std::move(req), now_ms, std::move(cb));
}

int16_t group_manager::heartbeat(const std::string& group_id, const std::string& member_id,
                                 int32_t generation_id, int64_t now_ms) {
    group* g = find(group_id);
    return g == nullptr ? k::unknown_member_id : g->heartbeat(member_id, generation_id, now_ms);
}

int16_t group_manager::leave(const std::string& group_id, const std::string& member_id,
                             int64_t now_ms) {
    group* g = find(group_id);
    return g == nullptr ? k::unknown_member_id : g->leave(member_id, now_ms);
}

int16_t group_manager::validate_commit(const std::string& group_id, const std::string& member_id,
                                       int32_t generation_id, int64_t now_ms) {
    group* g = find(group_id);
    if (g == nullptr) {
        if (generation_id >= 0) {
            return k::illegal_generation;
        }
        // A consumer that only uses the coordinator to store offsets.
        g = &ensure(group_id);
    }
    return g->validate_commit(member_id, generation_id, now_ms);
}

void group_manager::tick(int64_t now_ms) {
    for (auto& [id, g] : _groups) {
        g->tick(now_ms);
    }
}

void group_manager::unload_if(const std::function<bool(const std::string&)>& which, int16_t error) {
    for (auto it = _groups.begin(); it != _groups.end();) {
        if (which(it->first)) {
            // Out of the map first: a callback must not find a Dead group.
            std::unique_ptr<group> g = std::move(it->second);
            it = _groups.erase(it);
            g->unload(error);
        } else {
            ++it;
        }
    }
}

void group_manager::forget_idle_if(const std::function<bool(const std::string&)>& which) {
    for (auto it = _groups.begin(); it != _groups.end();) {
        if (it->second->idle() && which(it->first)) {
            it = _groups.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace fjord::broker
