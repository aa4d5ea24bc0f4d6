// File: broker/kafka/handlers/init_producer_id.cc
//
// InitProducerId (key 22, v0-4) for idempotent producers: a new producer id
// (producer_ids.h) with epoch 0. Transactions are not supported: a
// transactional id is refused with INVALID_REQUEST.
// Authorization (Kafka's, KIP-679): a transactional id needs WRITE on it
// (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an idempotent producer needs
// IDEMPOTENT_WRITE on the cluster or WRITE on some topic (else
// CLUSTER_AUTHORIZATION_FAILED, and no id is handed out).

#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/kafka/producer_ids.h"
#include "common/log.h"

namespace fjord::broker {

void handlers::init_producer_id(const request_context& ctx, kafka::init_producer_id_request req) {
    namespace k = kafka_errors;
    kafka::init_producer_id_response resp;
    if (req.transactional_id &&
        !ctx.allowed(security::acl_operation::write, security::resource_type::transactional_id,
                     *req.transactional_id)) {
        resp.error_code = k::transactional_id_authorization_failed;
    } else if (!req.transactional_id &&
               !ctx.security->may_produce_idempotently(ctx.user, ctx.conn->host())) {
        resp.error_code = k::cluster_authorization_failed;
    } else if (req.transactional_id) {
        log(log_level::info, "kafka",
            "{} (client {}): InitProducerId with transactional id \"{}\" refused: transactions "
            "are not supported",
            ctx.peer(), ctx.client_id, *req.transactional_id);
        resp.error_code = k::invalid_request;
    } else if (auto id = ctx.services->producer_ids->next(); !id) {
        log(log_level::error, "kafka", "InitProducerId: {}", id.error().detail);
        resp.error_code = k::kafka_storage_error;
    } else {
        resp.producer_id = *id;
        resp.producer_epoch = 0;
    }
    ctx.respond(resp);
}

}  // namespace fjord::broker
