// File: cli/kafka/partition_storage.cc
//
// The storage facts `topic describe` asks of the partitions' leaders
// (partition_storage.h).

#include "cli/kafka/partition_storage.h"

#include <fmt/format.h>

#include "cli/kafka/wire_client.h"
#include "common/kafka/messages/describe_log_dirs.h"
#include "common/kafka/messages/list_offsets.h"

namespace fjord::cli::kafka {
namespace {

namespace k = fjord::kafka;
namespace v1 = fjord::controller::v1;

constexpr int16_t list_offsets_key = 2;
constexpr int16_t describe_log_dirs_key = 35;

void note(partition_storage& p, const std::string& why) {
    if (p.error.empty()) {
        p.error = why;
    } else if (p.error.find(why) == std::string::npos) {
        p.error += "; " + why;
    }
}

/// ListOffsets for `ts` of every partition in `parts`; `set` stores an answer.
void list_offsets(wire_client& c, int16_t version, int64_t ts, const char* what,
                  const std::map<std::string, std::vector<int32_t>>& parts,
                  std::map<topic_partition, partition_storage>& out,
                  std::optional<int64_t> partition_storage::*field) {
    k::list_offsets_request req;
    req.replica_id = -1;
    for (const auto& [topic, ps] : parts) {
        k::list_offsets_request::list_offsets_topic t;
        t.name = topic;
        for (int32_t p : ps) {
            k::list_offsets_request::list_offsets_partition lp;
            lp.partition_index = p;
            lp.timestamp = ts;
            t.partitions.push_back(lp);
        }
        req.topics.push_back(std::move(t));
    }
    auto resp = c.call<k::list_offsets_request, k::list_offsets_response>(req, version);
    if (!resp) {
        for (const auto& [topic, ps] : parts) {
            for (int32_t p : ps) {
                note(out[{topic, p}], resp.error().detail);
            }
        }
        return;
    }
    for (const auto& t : resp->topics) {
        for (const auto& p : t.partitions) {
            partition_storage& ps = out[{t.name, p.partition_index}];
            if (p.error_code != 0) {
                note(ps, fmt::format("{} from {}: error {}", what, c.address(), p.error_code));
            } else {
                ps.*field = p.offset;
            }
        }
    }
}

}  // namespace

std::map<topic_partition, partition_storage> describe_storage(
    const settings& s, const std::vector<v1::Topic>& topics,
    const std::map<int32_t, std::string>& brokers) {
    std::map<topic_partition, partition_storage> out;
    // Partitions by leader.
    std::map<int32_t, std::map<std::string, std::vector<int32_t>>> by_leader;
    for (const auto& t : topics) {
        for (const auto& p : t.partitions()) {
            partition_storage& ps = out[{t.name(), p.partition()}];
            if (p.leader() < 0) {
                note(ps, "no leader");
                continue;
            }
            by_leader[p.leader()][t.name()].push_back(p.partition());
        }
    }
    for (const auto& [leader, parts] : by_leader) {
        auto fail_all = [&](const std::string& why) {
            for (const auto& [topic, ps] : parts) {
                for (int32_t p : ps) {
                    note(out[{topic, p}], why);
                }
            }
        };
        auto addr = brokers.find(leader);
        if (addr == brokers.end()) {
            fail_all(fmt::format("leader {} has no Kafka endpoint", leader));
            continue;
        }
        auto c = open_wire_client(addr->second, s);
        if (!c) {
            fail_all(c.error().detail);
            continue;
        }
        if (auto v = (*c)->version_for(list_offsets_key, 1, 8)) {
            list_offsets(**c, *v, -2, "ListOffsets EARLIEST", parts, out,
                         &partition_storage::log_start);
            list_offsets(**c, *v, -1, "ListOffsets LATEST", parts, out,
                         &partition_storage::high_watermark);
            if (*v >= 8) {
                list_offsets(**c, *v, -4, "ListOffsets EARLIEST_LOCAL", parts, out,
                             &partition_storage::local_start);
            } else {
                fail_all(fmt::format("{} serves ListOffsets up to v{}: no EARLIEST_LOCAL",
                                     addr->second, *v));
            }
        } else {
            fail_all(fmt::format("{} does not serve ListOffsets", addr->second));
        }
        auto v = (*c)->version_for(describe_log_dirs_key, 0, 4);
        if (!v) {
            fail_all(fmt::format("{} does not serve DescribeLogDirs: no sizes", addr->second));
            continue;
        }
        k::describe_log_dirs_request req;
        req.topics = std::vector<k::describe_log_dirs_request::describable_log_dir_topic>{};
        for (const auto& [topic, ps] : parts) {
            k::describe_log_dirs_request::describable_log_dir_topic t;
            t.topic = topic;
            t.partitions = ps;
            req.topics->push_back(std::move(t));
        }
        auto resp =
            (*c)->call<k::describe_log_dirs_request, k::describe_log_dirs_response>(req, *v);
        if (!resp) {
            fail_all(resp.error().detail);
            continue;
        }
        if (resp->error_code != 0) {
            fail_all(
                fmt::format("DescribeLogDirs from {}: error {}", addr->second, resp->error_code));
            continue;
        }
        for (const auto& dir : resp->results) {
            const bool remote = dir.log_dir.starts_with("remote://");
            if (dir.error_code != 0) {
                fail_all(fmt::format("DescribeLogDirs from {}: {}: error {}", addr->second,
                                     dir.log_dir, dir.error_code));
            }
            for (const auto& t : dir.topics) {
                for (const auto& p : t.partitions) {
                    auto it = out.find({t.name, p.partition_index});
                    if (it == out.end() || p.is_future_key) {
                        continue;
                    }
                    if (remote) {
                        it->second.remote_bytes = p.partition_size;
                        it->second.remote_lag = p.offset_lag;
                    } else {
                        it->second.local_bytes = p.partition_size;
                    }
                }
            }
        }
    }
    return out;
}

}  // namespace fjord::cli::kafka
