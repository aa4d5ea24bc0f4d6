#include "controller/loop/controller_state.h"

#include "common/log.h"

namespace fjord::loop {

controller_state::controller_state(stm::stm_config cfg) : _stm(std::move(cfg)) {}

result<void> controller_state::apply_locked(const raft::entry& e, bool& members_changed) {
    if (e.type == raft::entry_type::conf_change) {
        auto cc = raft::conf_change::decode(e.data);
        if (cc) {
            _stm.apply_conf_change(e.index, *cc);
            members_changed = true;
        } else {
            log(log_level::error, "stm", "skipped undecodable membership change at {}: {}", e.index,
                cc.error().message());
            _stm.apply_noop(e.index);
        }
        return ok();
    }
    if (e.data.empty()) {
        _stm.apply_noop(e.index);
        return ok();
    }
    return _stm.apply_command(e.index, e.data);
}

result<void> controller_state::apply(const raft::entry& e) {
    return std::move(apply_batch(std::span<const raft::entry>(&e, 1)).front());
}

std::vector<result<void>> controller_state::apply_batch(std::span<const raft::entry> entries) {
    std::vector<result<void>> out;
    out.reserve(entries.size());
    std::string uuid_before;
    size_t members_before = 0;
    bool members_changed = false;
    {
        std::unique_lock lk(_mu);
        uuid_before = _stm.cluster_uuid();
        members_before = _stm.members().size();
        for (const raft::entry& e : entries) {
            out.push_back(apply_locked(e, members_changed));
        }
    }
    _cv.notify_all();
    after_change(uuid_before, members_before, members_changed);
    return out;
}

void controller_state::after_change(const std::string& uuid_before, size_t members_before,
                                    bool members_changed) {
    std::string uuid;
    {
        std::shared_lock lk(_mu);
        uuid = _stm.cluster_uuid();
        members_changed = members_changed || _stm.members().size() != members_before;
        if (members_changed && on_members) {
            on_members(_stm.members());
        }
    }
    if (uuid != uuid_before && !uuid.empty() && on_cluster_uuid) {
        on_cluster_uuid(uuid);
    }
}

std::string controller_state::snapshot() {
    std::shared_lock lk(_mu);
    return _stm.snapshot();
}

result<void> controller_state::restore(const raft::snapshot& s) {
    std::string uuid_before;
    result<void> r = ok();
    {
        std::unique_lock lk(_mu);
        uuid_before = _stm.cluster_uuid();
        r = _stm.restore(s.data, s.meta.index);
    }
    _cv.notify_all();
    if (r) {
        after_change(uuid_before, SIZE_MAX, true);
    }
    return r;
}

revision_id controller_state::wait_for_revision(revision_id after,
                                                std::chrono::steady_clock::time_point deadline,
                                                const std::function<bool()>& cancelled) const {
    std::shared_lock lk(_mu);
    for (;;) {
        if (_stm.revision() > after || std::chrono::steady_clock::now() >= deadline ||
            (cancelled && cancelled())) {
            return _stm.revision();
        }
        const auto slice =
            std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
        _cv.wait_until(lk, slice);
    }
}

}  // namespace fjord::loop
