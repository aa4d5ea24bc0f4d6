// File: broker/kafka/handlers/describe_log_dirs.cc
//
// DescribeLogDirs (key 35, v0-4, KIP-113): where this broker's partitions
// keep their data, and how much. What `fjord topic describe` shows as a
// partition's local and remote sizes.
//   - This broker's log directory (<data_dir>/topics): every partition it
//     has a log for, PartitionSize its log's bytes on this disk. No
//     replication between brokers yet: OffsetLag 0, no future replicas.
//     v4 adds the volume's total and usable bytes (statvfs).
//   - Tiered storage's object store, as Redpanda reports it, a directory
//     named "remote://<bucket>" (the local backend: its directory): every
//     partition this broker leads of a topic with redpanda.remote.write or
//     redpanda.remote.read (cloud_storage_enabled), PartitionSize the bytes
//     of its segments in the store (its partition manifest), OffsetLag the
//     offsets below the high watermark not uploaded yet. The two sizes
//     overlap (uploaded segments stay local until local retention removes
//     them), as in Redpanda. Reading the manifests may wait for the store
//     (the remote reader loads them on its worker, never on the io thread);
//     after max_remote_wait, or when a load failed, that directory is
//     answered KAFKA_STORAGE_ERROR with the partitions known so far.
// Topics null means every topic; a named topic or partition this broker
// has nothing of is left out, as Kafka does.
// Authorization: DESCRIBE on the cluster, else no directories (and, from
// v3, CLUSTER_AUTHORIZATION_FAILED), as Kafka answers.

#include <sys/statvfs.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "broker/cluster/metadata_cache.h"
#include "broker/cluster/partition_manager.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/handlers/led_log.h"
#include "broker/tiered/remote_reader.h"
#include "broker/tiered/topic_settings.h"
#include "common/objstore/config.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;
using response = kafka::describe_log_dirs_response;

/// How long the remote directory may wait for manifests.
constexpr int64_t max_remote_wait_ms = 20000;

bool config_true(const v1::Topic& t, const char* key) {
    auto it = t.configs().find(key);
    return it != t.configs().end() && it->second == "true";
}

/// Fills `resp`; true if the remote directory still waits for a manifest
/// (with `last`, it is answered with what is known instead).
bool fill(const request_context& ctx, const kafka::describe_log_dirs_request& req, response& resp,
          bool last) {
    const broker_services& s = *ctx.services;
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
    const bool cloud = s.remote != nullptr && s.remote->has_store() &&
                       objstore::cloud_storage_enabled(
                           [&](std::string_view key) { return s.md.config(std::string(key)); });
    response::describe_log_dirs_result local;
    local.log_dir = s.options.log_dir;
    response::describe_log_dirs_result remote;
    remote.log_dir = "remote://" + (cloud ? s.remote->store_name() : std::string());
    bool waiting = false;
    for (const auto& [name, parts] : wanted) {
        const v1::Topic* topic = s.md.topic(name);
        const bool tiered = cloud && topic != nullptr &&
                            (config_true(*topic, "redpanda.remote.write") ||
                             config_true(*topic, "redpanda.remote.read"));
        response::describe_log_dirs_topic lt;
        lt.name = name;
        response::describe_log_dirs_topic rt;
        rt.name = name;
        for (int32_t p : parts) {
            partition* part = s.pm.find(name, p);
            if (part == nullptr) {
                continue;
            }
            response::describe_log_dirs_partition lp;
            lp.partition_index = p;
            lp.partition_size = static_cast<int64_t>(part->log().size_bytes());
            lp.offset_lag = 0;
            lp.is_future_key = false;
            lt.partitions.push_back(lp);
            // The remote copy: reported by the partition's leader only.
            if (!tiered || find_led_log(s, name, p).part == nullptr) {
                continue;
            }
            auto b = s.remote->manifest_bounds({location_of(*topic, s.md.cluster_uuid()), p});
            if (b.is_pending()) {
                waiting = true;
                if (last) {
                    remote.error_code = k::kafka_storage_error;
                }
                continue;
            }
            if (b.is_failed()) {
                remote.error_code = kafka_error(b.error.code);
                continue;
            }
            response::describe_log_dirs_partition rp;
            rp.partition_index = p;
            rp.partition_size = static_cast<int64_t>(b.value.size_bytes);
            rp.offset_lag = std::max<int64_t>(0, part->high_watermark().value() - b.value.next);
            rp.is_future_key = false;
            rt.partitions.push_back(rp);
        }
        if (!lt.partitions.empty()) {
            local.topics.push_back(std::move(lt));
        }
        if (!rt.partitions.empty()) {
            remote.topics.push_back(std::move(rt));
        }
    }
    if (waiting && !last) {
        return true;
    }
    if (ctx.version >= 4) {
        struct statvfs v {};
        if (!local.log_dir.empty() && ::statvfs(local.log_dir.c_str(), &v) == 0) {
            local.total_bytes = static_cast<int64_t>(v.f_blocks) * static_cast<int64_t>(v.f_frsize);
            local.usable_bytes =
                static_cast<int64_t>(v.f_bavail) * static_cast<int64_t>(v.f_frsize);
        }
    }
    resp.results.push_back(std::move(local));
    if (cloud) {
        resp.results.push_back(std::move(remote));
    }
    return false;
}

struct pending_describe {
    request_context ctx;
    kafka::describe_log_dirs_request req;
    int64_t deadline_ms = 0;
};

void run(const std::shared_ptr<pending_describe>& d) {
    const broker_services& s = *d->ctx.services;
    const int64_t now = s.now();
    const bool last = now >= d->deadline_ms || s.remote == nullptr;
    response resp;
    if (!fill(d->ctx, d->req, resp, last)) {
        d->ctx.respond(resp);
        return;
    }
    s.remote->await(std::chrono::milliseconds(d->deadline_ms - now), [d] { run(d); });
}

}  // namespace

void handlers::describe_log_dirs(const request_context& ctx, kafka::describe_log_dirs_request req) {
    if (!ctx.allowed_on_cluster(security::acl_operation::describe)) {
        response resp;
        resp.error_code = k::cluster_authorization_failed;
        ctx.respond(resp);
        return;
    }
    run(std::make_shared<pending_describe>(
        pending_describe{ctx, std::move(req), ctx.services->now() + max_remote_wait_ms}));
}

}  // namespace fjord::broker
