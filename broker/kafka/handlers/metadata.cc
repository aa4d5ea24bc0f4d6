// File: broker/kafka/handlers/metadata.cc
//
// Metadata (key 3, v0-12): the brokers and topics from the metadata cache.
// An unknown topic may be auto-created (admin_forwarder::auto_create_topic);
// a Produce naming one does not trigger it: clients ask Metadata first.
//
// Authorization (Kafka's rules): a topic is listed only with DESCRIBE on it;
// "all topics" lists the describable ones, a named topic without DESCRIBE
// is TOPIC_AUTHORIZATION_FAILED whether or not it exists. Auto-creating a
// topic needs CREATE on the cluster or on the topic, else
// TOPIC_AUTHORIZATION_FAILED and nothing is created. Brokers and the cluster
// id are listed to everyone.

#include "broker/cluster/metadata_cache.h"
#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/topic_id.h"
#include "common/cluster/internal_topics.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

void fill_partitions(const v1::Topic& t, kafka::metadata_response::metadata_response_topic& out) {
    for (const auto& a : t.partitions()) {
        kafka::metadata_response::metadata_response_partition p;
        p.partition_index = a.partition();
        p.leader_id = a.leader();
        p.leader_epoch = static_cast<int32_t>(a.leader_epoch());
        p.replica_nodes.assign(a.replicas().begin(), a.replicas().end());
        if (a.leader() >= 0) {
            // Until replication between brokers lands, only the leader holds
            // the data: the ISR is the leader alone.
            p.isr_nodes.push_back(a.leader());
        } else {
            p.error_code = k::leader_not_available;
        }
        out.partitions.push_back(std::move(p));
    }
}

}  // namespace

void handlers::metadata(const request_context& ctx, kafka::metadata_request req) {
    const broker_services& s = *ctx.services;
    kafka::metadata_response resp;
    for (const auto& [id, b] : s.md.brokers()) {
        const v1::Endpoint* ep = kafka_endpoint(b);
        if (ep == nullptr) {
            continue;
        }
        kafka::metadata_response::metadata_response_broker mb;
        mb.node_id = id;
        mb.host = ep->host();
        mb.port = ep->port();
        if (!b.rack().empty()) {
            mb.rack = b.rack();
        }
        resp.brokers.push_back(std::move(mb));
    }
    resp.cluster_id = s.md.cluster_uuid();
    // No broker is a Kafka controller here (the controller is Fjord's Raft
    // group); admin requests would come to this broker.
    resp.controller_id = s.me.node_id;

    // v0: an empty list means every topic; v1+: null means every topic.
    const bool all = !req.topics.has_value() || (ctx.version == 0 && req.topics->empty());
    if (all) {
        for (const auto& [name, t] : s.md.topics()) {
            if (!ctx.allowed_on_topic(security::acl_operation::describe, name)) {
                continue;
            }
            kafka::metadata_response::metadata_response_topic mt;
            mt.name = name;
            mt.topic_id = to_kafka_uuid(t.uuid());
            fill_partitions(t, mt);
            resp.topics.push_back(std::move(mt));
        }
    } else {
        for (const auto& want : *req.topics) {
            kafka::metadata_response::metadata_response_topic mt;
            const v1::Topic* t = nullptr;
            if (want.name) {
                t = s.md.topic(*want.name);
                mt.name = *want.name;
            } else {
                for (const auto& [name, cand] : s.md.topics()) {
                    if (to_kafka_uuid(cand.uuid()) == want.topic_id) {
                        t = &cand;
                        mt.name = name;
                    }
                }
                if (t == nullptr) {
                    mt.name = std::nullopt;
                }
            }
            if (mt.name && !ctx.allowed_on_topic(security::acl_operation::describe, *mt.name)) {
                mt.error_code = k::topic_authorization_failed;
                mt.topic_id = want.topic_id;
            } else if (t == nullptr) {
                // An unknown name may be auto-created: LEADER_NOT_AVAILABLE
                // meanwhile, as Kafka answers.
                mt.error_code = k::unknown_topic_or_partition;
                mt.topic_id = want.topic_id;
                if (s.admin != nullptr && want.name && req.allow_auto_topic_creation &&
                    !cluster::is_internal_topic(*want.name) && s.admin->auto_create_enabled()) {
                    const bool may_create =
                        ctx.allowed_on_cluster(security::acl_operation::create) ||
                        ctx.allowed_on_topic(security::acl_operation::create, *want.name);
                    mt.error_code = may_create ? s.admin->auto_create_topic(*want.name)
                                               : k::topic_authorization_failed;
                }
            } else {
                mt.topic_id = to_kafka_uuid(t->uuid());
                fill_partitions(*t, mt);
            }
            resp.topics.push_back(std::move(mt));
        }
    }
    if (ctx.version >= 1) {  // is_internal exists from v1
        for (auto& mt : resp.topics) {
            mt.is_internal = mt.name && cluster::is_internal_topic(*mt.name);
        }
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
