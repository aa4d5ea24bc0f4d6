// File: controller/stm/placement.cc
//
// Rack-interleaved ring plus greedy least-loaded choice; see placement.h for
// the rules. Every tie is broken by ring position, so the result depends only
// on the tables.

#include "controller/stm/placement.h"

#include <algorithm>
#include <set>
#include <string>
#include <tuple>

#include <fmt/format.h>

#include "common/cluster/errc.h"

namespace fjord::stm {

using cluster::errc;
namespace {

struct candidate {
    int32_t id = 0;
    std::string rack;
    size_t pos = 0;  // position on the ring
};

// Active brokers interleaved by rack: the first broker of each rack (racks by
// name), then the second of each, and so on.
std::vector<candidate> ring(const broker_table& brokers) {
    std::map<std::string, std::vector<const v1::Broker*>> by_rack;  // each rack's brokers by id
    for (const v1::Broker* b : brokers.active()) {
        by_rack[b->rack()].push_back(b);
    }
    std::vector<candidate> out;
    for (size_t round = 0;; ++round) {
        bool any = false;
        for (const auto& [rack, members] : by_rack) {
            if (round < members.size()) {
                out.push_back(candidate{members[round]->id(), rack, out.size()});
                any = true;
            }
        }
        if (!any) {
            break;
        }
    }
    return out;
}

}  // namespace

std::map<int32_t, broker_load> current_load(const topic_table& topics) {
    return topics.load();
}

std::map<int32_t, broker_load> count_load(const topic_table& topics) {
    std::map<int32_t, broker_load> load;
    for (const auto& [name, t] : topics.all()) {
        for (const v1::PartitionAssignment& p : t.partitions()) {
            for (int32_t r : p.replicas()) {
                ++load[r].replicas;
            }
            if (!p.replicas().empty()) {
                ++load[p.replicas(0)].leaders;
            }
        }
    }
    return load;
}

result<std::vector<v1::PartitionAssignment>> place_partitions(const broker_table& brokers,
                                                              const topic_table& topics,
                                                              int32_t first_partition,
                                                              int32_t count,
                                                              int32_t replication_factor) {
    const std::vector<candidate> cands = ring(brokers);
    const size_t n = cands.size();
    if (replication_factor < 1) {
        return error_info::for_field(errc::invalid_replication_factor, "replication_factor",
                                     fmt::format("{} is less than 1", replication_factor));
    }
    if (static_cast<size_t>(replication_factor) > n) {
        return error_info::for_field(
            errc::invalid_replication_factor, "replication_factor",
            fmt::format("{} is more than the {} active brokers", replication_factor, n));
    }
    std::map<int32_t, broker_load> load = current_load(topics);
    const auto dist = [n](size_t pos, size_t from) { return (pos + n - from % n) % n; };

    std::vector<v1::PartitionAssignment> out;
    out.reserve(static_cast<size_t>(count));
    size_t cursor = 0;  // ring position after the previous leader
    // Smaller keys win; the last element (ring distance) makes every key
    // distinct, so the choice never depends on iteration order.
    const auto leader_key = [&](const candidate& x, size_t from) {
        return std::tuple(load[x.id].leaders, load[x.id].replicas, dist(x.pos, from));
    };
    const auto follower_key = [&](const candidate& x, const std::set<std::string>& racks,
                                  const candidate& leader) {
        return std::tuple(racks.count(x.rack), load[x.id].replicas, dist(x.pos, leader.pos));
    };
    for (int32_t i = 0; i < count; ++i) {
        const candidate* leader = &cands.front();
        for (const candidate& c : cands) {
            if (leader_key(c, cursor) < leader_key(*leader, cursor)) {
                leader = &c;
            }
        }
        std::vector<const candidate*> chosen{leader};
        std::set<std::string> racks{leader->rack};
        while (chosen.size() < static_cast<size_t>(replication_factor)) {
            const candidate* best = nullptr;
            for (const candidate& c : cands) {
                if (std::find(chosen.begin(), chosen.end(), &c) != chosen.end()) {
                    continue;
                }
                if (best == nullptr ||
                    follower_key(c, racks, *leader) < follower_key(*best, racks, *leader)) {
                    best = &c;
                }
            }
            chosen.push_back(best);
            racks.insert(best->rack);
        }
        v1::PartitionAssignment p;
        p.set_partition(first_partition + i);
        for (const candidate* c : chosen) {
            p.add_replicas(c->id);
            ++load[c->id].replicas;
        }
        ++load[leader->id].leaders;
        p.set_leader(leader->id);
        p.set_leader_epoch(0);
        out.push_back(std::move(p));
        cursor = leader->pos + 1;
    }
    return out;
}

}  // namespace fjord::stm
