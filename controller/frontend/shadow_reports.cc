// File: controller/frontend/shadow_reports.cc
//
// shadow_reports: the brokers' last heartbeat reports and the driver's task
// statuses, by link (shadow_reports.h).

#include "controller/frontend/shadow_reports.h"

namespace fjord::frontend {

void shadow_reports::report(int32_t broker_id, std::vector<v1::ShadowPartitionStatus> partitions,
                            std::vector<v1::ShadowTaskStatus> tasks, clock::time_point now) {
    for (v1::ShadowPartitionStatus& p : partitions) {
        p.set_broker_id(broker_id);
    }
    for (v1::ShadowTaskStatus& t : tasks) {
        t.set_broker_id(broker_id);
    }
    std::lock_guard g(_mu);
    expire(now);
    if (partitions.empty() && tasks.empty()) {
        _brokers.erase(broker_id);
        return;
    }
    _brokers[broker_id] = broker_report{now, std::move(partitions), std::move(tasks)};
}

void shadow_reports::set_controller_tasks(std::string link,
                                          std::vector<v1::ShadowTaskStatus> tasks) {
    for (v1::ShadowTaskStatus& t : tasks) {
        t.set_link(link);
        t.set_broker_id(-1);
    }
    std::lock_guard g(_mu);
    if (tasks.empty()) {
        if (const auto it = _controller_tasks.find(link); it != _controller_tasks.end()) {
            _controller_tasks.erase(it);
        }
        return;
    }
    _controller_tasks[std::move(link)] = std::move(tasks);
}

shadow_reports::link_view shadow_reports::of_link(std::string_view link,
                                                  clock::time_point now) const {
    link_view out;
    std::lock_guard g(_mu);
    expire(now);
    if (const auto it = _controller_tasks.find(link); it != _controller_tasks.end()) {
        out.tasks = it->second;
    }
    for (const auto& [id, r] : _brokers) {
        for (const v1::ShadowTaskStatus& t : r.tasks) {
            if (t.link() == link) {
                out.tasks.push_back(t);
            }
        }
        for (const v1::ShadowPartitionStatus& p : r.partitions) {
            if (p.link() == link) {
                out.partitions.push_back(p);
            }
        }
    }
    return out;
}

void shadow_reports::forget_brokers() {
    std::lock_guard g(_mu);
    _brokers.clear();
}

void shadow_reports::expire(clock::time_point now) const {
    for (auto it = _brokers.begin(); it != _brokers.end();) {
        it = now - it->second.heard > _timeout ? _brokers.erase(it) : std::next(it);
    }
}

}  // namespace fjord::frontend
