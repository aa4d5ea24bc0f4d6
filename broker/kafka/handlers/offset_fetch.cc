// File: broker/kafka/handlers/offset_fetch.cc
//
// OffsetFetch (key 9, v0-8; v8: a batch of groups). An offset committed
// on a topic since deleted, or deleted and created again under its name, is
// answered as none (-1), so that the consumer's auto.offset.reset applies
// (coordinator.h, "Topic identity").
//
// Authorization (Kafka's): DESCRIBE on the group (else
// GROUP_AUTHORIZATION_FAILED), and DESCRIBE on each topic named (else
// TOPIC_AUTHORIZATION_FAILED for its partitions); asking for every
// committed offset lists only describable topics.

#include "broker/group/coordinator.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/group_gateway.h"
#include "broker/kafka/handlers/handlers.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

}  // namespace

void handlers::offset_fetch(const request_context& ctx, kafka::offset_fetch_request req) {
    group_gateway& groups = *ctx.services->groups;
    if (!groups.admit(ctx)) {
        return;
    }
    group_coordinator& coord = groups.coordinator();
    const int16_t v = ctx.version;
    // One group's answer: per topic, per partition (offset, epoch, metadata,
    // error); `topics` null asks for every committed offset.
    struct partition_answer {
        int32_t partition = 0;
        int64_t offset = -1;
        int32_t epoch = -1;
        std::string metadata;
        int16_t error = 0;
        int16_t topic_error = 0;  ///< the topic's own error, at every version
    };
    struct group_answer {
        int16_t error = 0;
        std::vector<std::pair<std::string, std::vector<partition_answer>>> topics;
    };
    using wanted_topics = std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>;
    const auto fetch = [&](const std::string& group_id, const wanted_topics& wanted) {
        group_answer ga;
        ga.error = !ctx.allowed_on_group(security::acl_operation::describe, group_id)
                       ? k::group_authorization_failed
                   : group_id_too_long(group_id) ? k::invalid_group_id
                                                 : coord.check(group_id);
        if (!wanted) {
            if (ga.error != k::none) {
                return ga;
            }
            if (const auto* all = coord.offsets().group_offsets(group_id)) {
                for (const auto& [tp, c] : *all) {
                    if (!coord.is_current(tp.first, c)) {
                        continue;  // its topic was deleted (or recreated) since
                    }
                    if (!ctx.allowed_on_topic(security::acl_operation::describe, tp.first)) {
                        continue;
                    }
                    if (ga.topics.empty() || ga.topics.back().first != tp.first) {
                        ga.topics.emplace_back(tp.first, std::vector<partition_answer>());
                    }
                    ga.topics.back().second.push_back(
                        {tp.second, c.offset, c.leader_epoch, c.metadata, k::none});
                }
            }
            return ga;
        }
        for (const auto& [topic, partitions] : *wanted) {
            std::vector<partition_answer> ps;
            const bool may = ctx.allowed_on_topic(security::acl_operation::describe, topic);
            for (int32_t p : partitions) {
                partition_answer pa;
                pa.partition = p;
                if (ga.error != k::none) {
                    pa.error = ga.error;
                } else if (!may) {
                    pa.topic_error = k::topic_authorization_failed;
                } else if (const committed_offset* c = coord.fetch_offset(group_id, topic, p)) {
                    pa.offset = c->offset;
                    pa.epoch = c->leader_epoch;
                    pa.metadata = c->metadata;
                }
                ps.push_back(std::move(pa));
            }
            ga.topics.emplace_back(topic, std::move(ps));
        }
        return ga;
    };

    kafka::offset_fetch_response resp;
    if (v < 8) {
        wanted_topics wanted;
        if (req.topics) {
            wanted.emplace();
            for (auto& t : *req.topics) {
                wanted->emplace_back(std::move(t.name), std::move(t.partition_indexes));
            }
        }
        group_answer ga = fetch(req.group_id, wanted);
        // v0-1 have no top-level error: it goes into every partition (as
        // fetch() put it); v2+ carry it at the top and clean partitions.
        resp.error_code = ga.error;
        for (auto& [topic, ps] : ga.topics) {
            kafka::offset_fetch_response::offset_fetch_response_topic tr;
            tr.name = topic;
            for (auto& pa : ps) {
                kafka::offset_fetch_response::offset_fetch_response_partition pr;
                pr.partition_index = pa.partition;
                pr.committed_offset = pa.offset;
                if (v >= 5) {
                    pr.committed_leader_epoch = pa.epoch;
                }
                pr.metadata = std::move(pa.metadata);
                pr.error_code = pa.topic_error != k::none ? pa.topic_error
                                : v >= 2                  ? k::none
                                                          : pa.error;
                tr.partitions.push_back(std::move(pr));
            }
            resp.topics.push_back(std::move(tr));
        }
    } else {
        for (auto& g : req.groups) {
            wanted_topics wanted;
            if (g.topics) {
                wanted.emplace();
                for (auto& t : *g.topics) {
                    wanted->emplace_back(std::move(t.name), std::move(t.partition_indexes));
                }
            }
            group_answer ga = fetch(g.group_id, wanted);
            kafka::offset_fetch_response::offset_fetch_response_group gr;
            gr.group_id = g.group_id;
            gr.error_code = ga.error;
            if (ga.error == k::none) {
                for (auto& [topic, ps] : ga.topics) {
                    kafka::offset_fetch_response::offset_fetch_response_topics tr;
                    tr.name = topic;
                    for (auto& pa : ps) {
                        kafka::offset_fetch_response::offset_fetch_response_partitions pr;
                        pr.partition_index = pa.partition;
                        pr.committed_offset = pa.offset;
                        pr.committed_leader_epoch = pa.epoch;
                        pr.metadata = std::move(pa.metadata);
                        pr.error_code = pa.topic_error;
                        tr.partitions.push_back(std::move(pr));
                    }
                    gr.topics.push_back(std::move(tr));
                }
            }
            resp.groups.push_back(std::move(gr));
        }
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
