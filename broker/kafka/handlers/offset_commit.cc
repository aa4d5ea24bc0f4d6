// File: broker/kafka/handlers/offset_commit.cc
//
// OffsetCommit (key 8, v0-8): answered once the commit is durable in
// __consumer_offsets (group_coordinator::store_offsets). Per partition: an
// unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION, metadata over
// 4096 bytes OFFSET_METADATA_TOO_LARGE. Authorization (Kafka's): READ on
// the group (else GROUP_AUTHORIZATION_FAILED for every partition), and READ
// on each topic (else TOPIC_AUTHORIZATION_FAILED for its partitions, which
// are not committed).

#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/topic_id.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

}  // namespace

void handlers::offset_commit(const request_context& ctx, kafka::offset_commit_request req) {
    group_gateway& groups = *ctx.services->groups;
    if (!groups.admit(ctx)) {
        return;
    }
    group_coordinator& coord = groups.coordinator();
    const int16_t v = ctx.version;
    // One error for every partition of the request, when there is one.
    int16_t all = k::none;
    if (!ctx.allowed_on_group(security::acl_operation::read, req.group_id)) {
        all = k::group_authorization_failed;
    } else if (req.group_instance_id) {
        all = k::unsupported_version;
    } else if (group_id_too_long(req.group_id)) {
        all = k::invalid_group_id;
    } else {
        all = coord.check(req.group_id);
    }
    const int64_t now_ms = coord.now();
    kafka::offset_commit_response resp;
    std::vector<group_coordinator::commit> commits;
    // Where each commit's partition sits in the response, to fill in its
    // error once the batch is appended.
    std::vector<std::pair<size_t, size_t>> slots;
    for (const auto& t : req.topics) {
        kafka::offset_commit_response::offset_commit_response_topic tr;
        tr.name = t.name;
        const v1::Topic* topic = ctx.services->md.topic(t.name);
        const bool may_read = ctx.allowed_on_topic(security::acl_operation::read, t.name);
        for (const auto& p : t.partitions) {
            kafka::offset_commit_response::offset_commit_response_partition pr;
            pr.partition_index = p.partition_index;
            const bool known =
                topic != nullptr &&
                std::any_of(topic->partitions().begin(), topic->partitions().end(),
                            [&](const auto& a) { return a.partition() == p.partition_index; });
            const std::string metadata = p.committed_metadata.value_or("");
            if (all != k::none) {
                pr.error_code = all;
            } else if (!may_read) {
                pr.error_code = k::topic_authorization_failed;
            } else if (!known) {
                pr.error_code = k::unknown_topic_or_partition;
            } else if (metadata.size() > offset_metadata_max_bytes) {
                pr.error_code = k::offset_metadata_too_large;
            } else {
                group_coordinator::commit c;
                c.topic = t.name;
                c.partition = p.partition_index;
                c.value.offset = p.committed_offset;
                c.value.leader_epoch = p.committed_leader_epoch;
                c.value.topic_id = to_kafka_uuid(topic->uuid());  // the offset follows it
                c.value.metadata = metadata;
                // v1 carries the client's commit time (-1: now); later
                // versions' retention_time_ms is ignored: offsets never
                // expire here.
                c.value.commit_timestamp_ms =
                    v == 1 && p.commit_timestamp != -1 ? p.commit_timestamp : now_ms;
                commits.push_back(std::move(c));
                slots.emplace_back(resp.topics.size(), tr.partitions.size());
            }
            tr.partitions.push_back(std::move(pr));
        }
        resp.topics.push_back(std::move(tr));
    }
    auto answer = [slots = std::move(slots), resp = std::move(resp), ctx](int16_t e) mutable {
        for (const auto& [ti, pi] : slots) {
            resp.topics[ti].partitions[pi].error_code = e;
        }
        ctx.respond(resp);
    };
    if (commits.empty()) {
        answer(k::none);
        return;
    }
    const int16_t e = coord.groups().validate_commit(req.group_id, req.member_id,
                                                     req.generation_id_or_member_epoch, now_ms);
    if (e != k::none) {
        answer(e);
        return;
    }
    // Answered once the commit is durable.
    coord.store_offsets(req.group_id, commits,
                        [answer = std::move(answer)](int16_t err) mutable { answer(err); });
}

}  // namespace fjord::broker
