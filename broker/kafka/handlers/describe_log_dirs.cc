// File: broker/kafka/handlers/describe_log_dirs.cc
//
// DescribeLogDirs (key 35, v0-4, KIP-113): this broker's one log directory
// (<data_dir>/topics) and, per partition it has a log for, the log's size
// on this broker's disk: what `fjord topic describe` shows as a partition's
// local size (tiered storage keeps the rest in the object store). No
// replication between brokers yet: OffsetLag is 0 and nothing is a future
// replica. v4 adds the volume's total and usable bytes (statvfs).
// Topics null means every topic; a named topic or partition this broker
// has no log for is left out, as Kafka does.
// Authorization: DESCRIBE on the cluster, else no directories (and, from
// v3, CLUSTER_AUTHORIZATION_FAILED), as Kafka answers.

#include <sys/statvfs.h>

#include <map>
#include <set>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"

namespace fjord::broker {

void handlers::describe_log_dirs(const request_context& ctx, kafka::describe_log_dirs_request req) {
    namespace k = kafka_errors;
    const broker_services& s = *ctx.services;
    kafka::describe_log_dirs_response resp;
    if (!ctx.allowed_on_cluster(security::acl_operation::describe)) {
        resp.error_code = k::cluster_authorization_failed;
        ctx.respond(resp);
        return;
    }
    // Which partitions: the named ones, or every partition of every topic.
    std::map<std::string, std::set<int32_t>> wanted;
    if (req.topics) {
        for (const auto& t : *req.topics) {
            wanted[t.topic].insert(t.partitions.begin(), t.partitions.end());
        }
    } else {
        for (const auto& [name, t] : s.md.topics()) {
            for (const auto& p : t.partitions()) {
                wanted[name].insert(p.partition());
            }
        }
    }
    kafka::describe_log_dirs_response::describe_log_dirs_result dir;
    dir.log_dir = s.options.log_dir;
    for (const auto& [name, parts] : wanted) {
        kafka::describe_log_dirs_response::describe_log_dirs_topic tr;
        tr.name = name;
        for (int32_t p : parts) {
            partition* part = s.pm.find(name, p);
            if (part == nullptr) {
                continue;
            }
            kafka::describe_log_dirs_response::describe_log_dirs_partition pr;
            pr.partition_index = p;
            pr.partition_size = static_cast<int64_t>(part->log().size_bytes());
            pr.offset_lag = 0;
            pr.is_future_key = false;
            tr.partitions.push_back(pr);
        }
        if (!tr.partitions.empty()) {
            dir.topics.push_back(std::move(tr));
        }
    }
    if (ctx.version >= 4) {
        struct statvfs v {};
        if (!s.options.log_dir.empty() && ::statvfs(s.options.log_dir.c_str(), &v) == 0) {
            dir.total_bytes = static_cast<int64_t>(v.f_blocks) * static_cast<int64_t>(v.f_frsize);
            dir.usable_bytes = static_cast<int64_t>(v.f_bavail) * static_cast<int64_t>(v.f_frsize);
        }
    }
    resp.results.push_back(std::move(dir));
    ctx.respond(resp);
}

}  // namespace fjord::broker
