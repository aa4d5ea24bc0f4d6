// File: broker/kafka/handlers/describe_cluster.cc
//
// DescribeCluster (key 60, v0-1): the brokers from the metadata cache.
// Authorization: DESCRIBE on the cluster, else CLUSTER_AUTHORIZATION_FAILED
// and no brokers; with include_cluster_authorized_operations, the cluster
// operations the requester may do (Kafka's AclOperation bits).

#include "broker/kafka/admin_forwarder.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"

#include <fmt/format.h>

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

/// DescribeCluster's EndpointType values.
constexpr int8_t endpoint_brokers = 1;
constexpr int8_t endpoint_controllers = 2;

}  // namespace

void handlers::describe_cluster(const request_context& ctx, kafka::describe_cluster_request req) {
    admin_forwarder* admin = ctx.services->admin;
    const metadata_cache& md = ctx.services->md;
    kafka::describe_cluster_response resp;
    resp.cluster_id = md.cluster_uuid();
    // As Metadata answers: no broker is a Kafka controller here (Fjord's
    // controller is its own Raft group), and admin requests come to any
    // broker, so each names itself.
    resp.controller_id = admin->options().node_id;
    if (!ctx.allowed_on_cluster(security::acl_operation::describe)) {
        resp.error_code = k::cluster_authorization_failed;
        resp.error_message = "DescribeCluster needs DESCRIBE on the cluster";
    } else if (ctx.version >= 1) {
        resp.endpoint_type = req.endpoint_type;
        if (req.endpoint_type == endpoint_controllers) {
            resp.error_code = k::mismatched_endpoint_type;
            resp.error_message =
                "endpoint_type: this is a broker; Fjord's controllers speak gRPC, not Kafka";
        } else if (req.endpoint_type != endpoint_brokers) {
            resp.error_code = k::unsupported_endpoint_type;
            resp.error_message =
                fmt::format("endpoint_type: {} is not 1 (brokers) or 2 (controllers)",
                            static_cast<int>(req.endpoint_type));
        }
    }
    if (resp.error_code == k::none) {
        for (const auto& [id, b] : md.brokers()) {
            const v1::Endpoint* ep = kafka_endpoint(b);
            if (ep == nullptr) {
                continue;
            }
            kafka::describe_cluster_response::describe_cluster_broker db;
            db.broker_id = id;
            db.host = ep->host();
            db.port = ep->port();
            if (!b.rack().empty()) {
                db.rack = b.rack();
            }
            resp.brokers.push_back(std::move(db));
        }
    }
    if (resp.error_code == k::none && req.include_cluster_authorized_operations) {
        namespace sec = fjord::security;
        int32_t ops = 0;
        for (auto op :
             {sec::acl_operation::create, sec::acl_operation::alter, sec::acl_operation::describe,
              sec::acl_operation::cluster_action, sec::acl_operation::describe_configs,
              sec::acl_operation::alter_configs, sec::acl_operation::idempotent_write}) {
            if (ctx.allowed_on_cluster(op)) {
                ops |= 1 << static_cast<int>(op);
            }
        }
        resp.cluster_authorized_operations = ops;
    }
    ctx.respond(resp);
}
}  // namespace fjord::broker
