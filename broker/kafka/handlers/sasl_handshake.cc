// File: broker/kafka/handlers/sasl_handshake.cc
//
// SaslHandshake (key 17, v0-1): starts a connection's SASL exchange
// (broker/security/sasl_session.h) with one of the mechanisms the cluster
// offers (sasl_mechanisms: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). After v0 the
// client sends raw SASL tokens (the dispatcher serves them); after v1,
// SaslAuthenticate requests. Kafka's answers:
//
//   the listener does not use SASL             ILLEGAL_SASL_STATE (kept open)
//   the connection is already authenticated    ILLEGAL_SASL_STATE (kept open)
//   an exchange is already under way           ILLEGAL_SASL_STATE, closed
//   a mechanism not offered                    UNSUPPORTED_SASL_MECHANISM with
//                                              the offered list, closed
// Every answer lists the offered mechanisms.

#include <memory>

#include "broker/kafka/errors.h"
#include "broker/kafka/handlers/handlers.h"
#include "broker/security/sasl_session.h"
#include "common/log.h"

namespace fjord::broker {

void handlers::sasl_handshake(const request_context& ctx, kafka::sasl_handshake_request req) {
    namespace k = kafka_errors;
    kafka::sasl_handshake_response resp;
    resp.mechanisms = ctx.security->mechanism_names();
    if (!ctx.sasl_required() || ctx.conn->authenticated()) {
        resp.error_code = k::illegal_sasl_state;
        ctx.respond(resp);
        return;
    }
    if (ctx.conn->sasl()) {
        resp.error_code = k::illegal_sasl_state;
        ctx.respond_then_close(resp);
        return;
    }
    auto sasl = std::make_shared<sasl_session>(ctx.services->options.min_password_length);
    const sasl_status st = sasl->handshake(req.mechanism, ctx.version, *ctx.security);
    if (st != sasl_status::ok) {
        log(log_level::info, "kafka",
            "{} (client {}): SASL mechanism \"{}\" is not offered; closing", ctx.peer(),
            ctx.client_id, req.mechanism);
        resp.error_code = k::unsupported_sasl_mechanism;
        ctx.respond_then_close(resp);
        return;
    }
    ctx.conn->set_sasl(std::move(sasl));
    ctx.respond(resp);
}

}  // namespace fjord::broker
